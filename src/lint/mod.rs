//! `meshgen lint`: the seeds' rules for application manifests (port names, pod labels,
//! protocols per port, pod security policy bindings, injection, the sidecar's ports), checked
//! offline against the Istio line and the platform the applications run on.

pub mod facts;
pub mod read;
pub mod rules;

use std::fmt;
use std::str::FromStr;

use crate::error::{Diagnostic, Severity};
use crate::model::platform::NodePortRange;
use crate::model::release_line::ReleaseLine;
use crate::render::resolve::ResolvedPlatform;

/// One lint rule: its id (for switching it off), severity and what it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A port name that starts like a protocol but is not `<protocol>[-<suffix>]`.
    PortName,
    /// A port without a recognised protocol: plain TCP (or sniffed, on 1.11).
    PortProtocol,
    /// A pod template without `app` and `version` labels.
    PodLabels,
    /// Workloads behind one Service with different `app` labels.
    AppLabel,
    /// Two Services selecting the same pods with one port under two protocols.
    ProtocolConflict,
    /// An injected pod whose service account the pod security policy does not bind.
    PspBinding,
    /// A pod that gets no sidecar.
    NoSidecar,
    /// An application port the sidecar takes.
    ReservedPort,
    /// A Service's nodePort outside the platform's node port range.
    NodePortRange,
}

impl Rule {
    pub const ALL: [Rule; 9] = [
        Rule::PortName,
        Rule::PortProtocol,
        Rule::PodLabels,
        Rule::AppLabel,
        Rule::ProtocolConflict,
        Rule::PspBinding,
        Rule::NoSidecar,
        Rule::ReservedPort,
        Rule::NodePortRange,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Rule::PortName => "port-name",
            Rule::PortProtocol => "port-protocol",
            Rule::PodLabels => "pod-labels",
            Rule::AppLabel => "app-label",
            Rule::ProtocolConflict => "protocol-conflict",
            Rule::PspBinding => "psp-binding",
            Rule::NoSidecar => "no-sidecar",
            Rule::ReservedPort => "reserved-port",
            Rule::NodePortRange => "node-port-range",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::PortName
            | Rule::AppLabel
            | Rule::ProtocolConflict
            | Rule::PspBinding
            | Rule::ReservedPort
            | Rule::NodePortRange => Severity::Error,
            Rule::PortProtocol | Rule::PodLabels => Severity::Warning,
            Rule::NoSidecar => Severity::Info,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Rule, String> {
        Rule::ALL.into_iter().find(|r| r.id() == s).ok_or_else(|| {
            let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
            let mut message = format!("unknown lint rule `{s}`");
            if let Some(near) = crate::suggest::did_you_mean(s, ids.iter().copied()) {
                message.push_str(&format!(" (did you mean `{near}`?)"));
            }
            format!("{message}; the rules are {}", ids.join(", "))
        })
    }
}

/// What the applications run on: the line, and what the platform says of injection and
/// pod security (unknown with `--istio` alone, and then not checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub line: ReleaseLine,
    /// The exact release, when a platform names it (its sidecar's ports differ by release).
    pub release: Option<semver::Version>,
    /// `(namespace, name)` of the service accounts bound to the pod security policy, when the
    /// platform has one.
    pub psp_accounts: Option<Vec<(String, String)>>,
    /// The namespaces the platform labels for injection; None when no platform is known.
    pub injection_namespaces: Option<Vec<String>>,
    /// The platform's name, for messages.
    pub platform: Option<String>,
    /// The node ports the platform's cluster hands out (PKS: 30400-30449), when one is known.
    pub node_port_range: Option<NodePortRange>,
}

impl Target {
    /// The line alone: the port, label and reserved-port rules.
    pub fn line(line: ReleaseLine) -> Target {
        Target {
            line,
            release: None,
            psp_accounts: None,
            injection_namespaces: None,
            platform: None,
            node_port_range: None,
        }
    }

    pub fn platform(platform: &ResolvedPlatform) -> Target {
        Target {
            line: platform.line,
            release: Some(platform.version.clone()),
            psp_accounts: platform
                .pod_security_policy
                .as_ref()
                .map(|p| p.service_accounts.clone()),
            injection_namespaces: Some(platform.injection_namespaces.clone()),
            platform: Some(platform.name.clone()),
            node_port_range: Some(platform.node_port_range.value),
        }
    }
}

/// The rules switched off for a whole repository (`meshgen.yaml`) or by the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub disabled: Vec<Rule>,
}

/// What a lint found, and what it looked at.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Diagnostic>,
    pub files: usize,
    pub objects: usize,
}

/// Lints the manifests of `files` (already read) for `target`. Input that is not YAML is an
/// error finding of its file (`Err`): nothing else can be said of it.
pub fn lint(
    files: &[read::Input],
    target: &Target,
    settings: &Settings,
) -> Result<Report, Vec<Diagnostic>> {
    let manifests = read::parse_all(files)?;
    let mut findings = rules::check(&manifests, target);
    findings.retain(|d| {
        let rule = d.rule.as_deref().and_then(|id| id.parse::<Rule>().ok());
        let Some(rule) = rule else { return true };
        let file = manifests.files.iter().find(|f| f.name == d.file);
        !settings.disabled.contains(&rule) && !file.is_some_and(|f| f.disabled.contains(&rule))
    });
    findings.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    Ok(Report {
        findings,
        files: files.len(),
        objects: manifests.objects.len(),
    })
}
