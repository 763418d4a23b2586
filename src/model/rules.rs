//! The rules a JSON schema cannot express: node port ranges and clashes, service type
//! combinations, what each release line supports, and Kubernetes version limits.

use std::collections::BTreeMap;

use crate::error::Severity;
use crate::model::gateway_ports::{configurable_node_ports, GatewayKind};
use crate::model::platform::{
    AddonKind, AntiAffinity, EgressGateway, ExtraGateway, HaComponent, IngressGateway, MtlsMode,
    NodePort, NodePortRange, PlatformFile, Provider, ServiceType, Spec, KUBERNETES_NODE_PORTS,
};
use crate::model::provider::{defaults, internal_lb_annotation};
use crate::model::release_line::{
    ExtraGateways, KubeMinor, LineSpec, ReleaseLine, SidecarInjector,
};
use crate::yaml::{Node, NodeValue, PathSegment};

/// One broken rule, at a path of the platform file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub path: Vec<PathSegment>,
    pub message: String,
    pub hint: Option<String>,
}

fn path(parts: &[&str]) -> Vec<PathSegment> {
    parts
        .iter()
        .map(|p| PathSegment::Key((*p).to_string()))
        .collect()
}

struct Findings(Vec<Finding>);

impl Findings {
    fn error(&mut self, at: &[&str], message: impl Into<String>, hint: Option<String>) {
        self.error_at(path(at), message, hint);
    }

    fn error_at(&mut self, at: Vec<PathSegment>, message: impl Into<String>, hint: Option<String>) {
        self.0.push(Finding {
            severity: Severity::Error,
            path: at,
            message: message.into(),
            hint,
        });
    }

    fn warning(&mut self, at: &[&str], message: impl Into<String>, hint: Option<String>) {
        self.0.push(Finding {
            severity: Severity::Warning,
            path: path(at),
            message: message.into(),
            hint,
        });
    }
}

/// A chart key of `spec.values` whose value a typed field's refusal guards: set through the
/// escape hatch, it is refused with the field's reason.
struct ValuesGuard {
    path: &'static [&'static str],
    refused: fn(&Node) -> bool,
    /// The message and hint on the line, if the line refuses the value.
    refusal: fn(&LineSpec) -> Option<(&'static str, String)>,
}

const VALUES_GUARDS: &[ValuesGuard] = &[ValuesGuard {
    path: &["sidecar-injector", "enabled"],
    refused: |n| matches!(n.value, NodeValue::Bool(true)),
    refusal: |spec| match spec.sidecar_injector {
        SidecarInjector::ByHand { why, steps } => Some((
            why,
            steps.replacen("`sidecarInjection`", "`sidecar-injector.enabled`", 1),
        )),
        SidecarInjector::Chart => None,
    },
}];

/// `spec.values` (the node at `base`) against the refusals of the typed fields: each guarded
/// key holding a refused value, located at the value.
pub fn guarded_values(
    line: ReleaseLine,
    values: &Node,
    base: &[PathSegment],
) -> Vec<(Finding, bool)> {
    VALUES_GUARDS
        .iter()
        .filter_map(|g| {
            let (message, hint) = (g.refusal)(line.spec())?;
            let keys: Vec<PathSegment> = g
                .path
                .iter()
                .map(|k| PathSegment::Key(k.to_string()))
                .collect();
            let node = values.get(&keys)?;
            (g.refused)(node).then(|| {
                let finding = Finding {
                    severity: Severity::Error,
                    path: base.iter().cloned().chain(keys).collect(),
                    message: message.to_string(),
                    hint: Some(hint),
                };
                (finding, true)
            })
        })
        .collect()
}

/// PodSecurityPolicy was removed from the Kubernetes API in 1.25.
pub const PSP_REMOVED_IN: KubeMinor = KubeMinor::new(1, 25);

/// Checks every rule and returns all findings, errors and warnings, in file order of rules.
pub fn check(file: &PlatformFile) -> Vec<Finding> {
    let mut f = Findings(Vec::new());
    let platform = Checked::new(&file.spec);
    for rule in RULES {
        rule(&mut f, &platform);
    }
    f.0
}

/// The rules `check` runs, in the order their findings are reported.
const RULES: &[fn(&mut Findings, &Checked)] = &[
    namespace,
    node_port_range,
    egress_gateway_on_line,
    internal_ingress_gateway,
    fixed_ingress_service,
    load_balancer_ip,
    gateway_annotation_keys,
    node_ports_and_extra_gateways,
    high_availability,
    permissive_mtls_on_line,
    addons,
    trace_sampling,
    zipkin_for_tracing,
    sidecar_injection_by_hand,
    kubernetes_version,
    pod_security_policy_accounts,
    kubernetes_ingress_gateway,
    revision,
    canary,
];

/// What the rules read: the spec, with what it leaves out settled as rendering settles it.
struct Checked<'a> {
    spec: &'a Spec,
    line: ReleaseLine,
    provider: Provider,
    ingress: IngressGateway,
    egress: EgressGateway,
    ingress_type: ServiceType,
    node_ports: NodePortRules,
}

impl<'a> Checked<'a> {
    fn new(spec: &'a Spec) -> Self {
        let provider = spec.provider;
        let ingress = spec.ingress_gateway.clone().unwrap_or_default();
        let ingress_type = ingress
            .service_type
            .unwrap_or_else(|| defaults::ingress_service_type(provider).0);
        let (range, range_at) = match spec.node_port_range {
            Some(r) => (r, true),
            None => (defaults::node_port_range(provider).0, false),
        };
        Checked {
            spec,
            line: spec.istio.line,
            provider,
            ingress,
            egress: spec.egress_gateway.clone().unwrap_or_default(),
            ingress_type,
            node_ports: NodePortRules {
                line: spec.istio.line,
                provider,
                range,
                range_at,
            },
        }
    }
}

/// `spec.namespace` as text (`namespace_as_text`).
fn namespace(f: &mut Findings, p: &Checked) {
    if let Some(namespace) = &p.spec.namespace {
        namespace_as_text(f, path(&["spec", "namespace"]), namespace.as_str());
    }
}

/// The charts print a namespace unquoted (`namespace: {{ .Release.Namespace }}`), so a name
/// YAML reads as another type reaches Kubernetes as that type and the install fails.
fn namespace_as_text(f: &mut Findings, at: Vec<PathSegment>, namespace: &str) {
    if let Some(reads_as) = crate::yaml::unquoted_reads_as(namespace) {
        f.error_at(
            at,
            format!("namespace `{namespace}` would reach Kubernetes as {reads_as}: Istio's charts print it without quotes"),
            Some(format!("choose a name YAML keeps as text, e.g. `istio-{namespace}`")),
        );
    }
}

/// The platform's own node port range: not empty, inside Kubernetes'.
fn node_port_range(f: &mut Findings, p: &Checked) {
    let Some(range) = p.spec.node_port_range else {
        return;
    };
    if range.first > range.last {
        f.error(
            &["spec", "nodePortRange"],
            format!("range {range} is empty: the first port is above the last"),
            None,
        );
    } else if !KUBERNETES_NODE_PORTS.contains(range.first)
        || !KUBERNETES_NODE_PORTS.contains(range.last)
    {
        f.error(
            &["spec", "nodePortRange"],
            format!("range {range} leaves Kubernetes' node port range {KUBERNETES_NODE_PORTS}"),
            None,
        );
    }
}

fn egress_gateway_on_line(f: &mut Findings, p: &Checked) {
    if !p.line.spec().has_egress_gateway && p.egress.enabled == Some(true) {
        f.error(
            &["spec", "egressGateway", "enabled"],
            format!("Istio {} has no egress gateway", p.line),
            Some(format!(
                "use istio {} for an egress gateway, or remove egressGateway",
                lines_where(|l| l.has_egress_gateway)
            )),
        );
    }
}

fn internal_ingress_gateway(f: &mut Findings, p: &Checked) {
    if p.ingress.internal == Some(true) {
        check_internal(
            f,
            &path(&["spec", "ingressGateway"]),
            "ingressGateway",
            p.ingress_type,
            p.provider,
            p.line,
        );
    }
}

/// What a fixed ingress Service (0.6's) cannot take: annotations, a load balancer IP,
/// ClusterIP.
fn fixed_ingress_service(f: &mut Findings, p: &Checked) {
    if p.line.spec().configurable_ingress_service {
        return;
    }
    let line = p.line;
    if !p.ingress.annotations.is_empty() {
        f.error(
            &["spec", "ingressGateway", "annotations"],
            format!("Istio {line}'s ingress Service takes no annotations"),
            Some(format!("use istio {}", configurable_ingress_lines())),
        );
    }
    if p.ingress
        .load_balancer_ip
        .as_deref()
        .is_some_and(|ip| !ip.is_empty())
    {
        f.error(
            &["spec", "ingressGateway", "loadBalancerIP"],
            format!("Istio {line}'s ingress Service takes no loadBalancerIP"),
            Some(format!("use istio {}", configurable_ingress_lines())),
        );
    }
    if p.ingress_type == ServiceType::ClusterIP {
        f.error(
            &["spec", "ingressGateway", "serviceType"],
            format!("Istio {line}'s ingress Service is LoadBalancer or NodePort, never ClusterIP"),
            None,
        );
    }
}

/// The ingress gateway's load balancer IP: an IP address, on a LoadBalancer Service.
fn load_balancer_ip(f: &mut Findings, p: &Checked) {
    let Some(ip) = p
        .ingress
        .load_balancer_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
    else {
        return;
    };
    if ip.parse::<std::net::IpAddr>().is_err() {
        f.error(
            &["spec", "ingressGateway", "loadBalancerIP"],
            format!("`{ip}` is not an IP address"),
            None,
        );
    } else if p.ingress_type != ServiceType::LoadBalancer {
        f.error(
            &["spec", "ingressGateway", "loadBalancerIP"],
            format!(
                "loadBalancerIP needs serviceType LoadBalancer, not {}",
                p.ingress_type
            ),
            None,
        );
    }
}

fn gateway_annotation_keys(f: &mut Findings, p: &Checked) {
    annotation_keys(
        f,
        &path(&["spec", "ingressGateway"]),
        &p.ingress.annotations,
    );
    annotation_keys(f, &path(&["spec", "egressGateway"]), &p.egress.annotations);
}

/// The annotation keys of the gateway at `base`: Kubernetes' rule (`check_annotation_key`).
fn annotation_keys(f: &mut Findings, base: &[PathSegment], annotations: &BTreeMap<String, String>) {
    for key in annotations.keys() {
        if let Err(why) = check_annotation_key(key) {
            f.error_at(
                under(base, &["annotations", key]),
                format!("`{key}` is not a valid annotation key: {why}"),
                Some("an annotation key is `name` or `prefix/name`, e.g. `service.beta.kubernetes.io/aws-load-balancer-type`".to_string()),
            );
        }
    }
}

/// Node ports of every gateway (service type, known port names, ranges, clashes) and the
/// extra gateways' other rules: one family, as a port may clash with any gateway's.
fn node_ports_and_extra_gateways(f: &mut Findings, p: &Checked) {
    let mut used: BTreeMap<u16, String> = BTreeMap::new();
    if !p.ingress.node_ports.is_empty() {
        p.node_ports.check(
            f,
            &path(&["spec", "ingressGateway"]),
            "ingressGateway",
            GatewayKind::Ingress,
            p.ingress_type,
            &p.ingress.node_ports,
            &mut used,
        );
    }
    let egress_enabled = defaults::egress_enabled(&p.egress, p.line);
    if egress_enabled && !p.egress.node_ports.is_empty() {
        let egress_type = p
            .egress
            .service_type
            .unwrap_or_else(|| defaults::egress_service_type(p.provider).0);
        p.node_ports.check(
            f,
            &path(&["spec", "egressGateway"]),
            "egressGateway",
            GatewayKind::Egress,
            egress_type,
            &p.egress.node_ports,
            &mut used,
        );
    }
    extra_gateways(f, p.spec, &p.node_ports, &mut used);
}

fn high_availability(f: &mut Findings, p: &Checked) {
    let Some(ha) = &p.spec.high_availability else {
        return;
    };
    let line = p.line;
    if !line.spec().spreads_replicas
        && ha.anti_affinity.unwrap_or(AntiAffinity::Hostname) != AntiAffinity::None
    {
        f.error(
            &["spec", "highAvailability", "antiAffinity"],
            format!(
                "meshgen can spread replicas with pod anti-affinity on Istio {}, not on {line}",
                ReleaseLine::listed_where(|l| l.spreads_replicas, " and ")
            ),
            Some(format!(
                "set antiAffinity: none on {line}, or use istio {}",
                lines_where(|l| l.spreads_replicas)
            )),
        );
    }
    if ha.spreading.is_some() && ha.anti_affinity == Some(AntiAffinity::None) {
        f.warning(
            &["spec", "highAvailability", "spreading"],
            "spreading has no effect with antiAffinity: none",
            Some("remove spreading, or set antiAffinity: hostname or zone".to_string()),
        );
    }
    ha_components(f, p.line, ha.components.as_deref());
}

/// 0.6's only switch is `global.securityEnabled`: mutual TLS for every service, or none;
/// the authentication policies with a permissive mode came with 0.8.
fn permissive_mtls_on_line(f: &mut Findings, p: &Checked) {
    let line = p.line;
    if p.spec.mtls == Some(MtlsMode::Permissive) && !line.spec().permissive_mtls {
        f.error(
            &["spec", "mtls"],
            format!("Istio {line} has no permissive mutual TLS: its chart switches mutual TLS on for every service (global.securityEnabled) or off"),
            Some(format!(
                "use mtls: strict or disabled on {line}, or istio {} to move through permissive",
                lines_where(|l| l.permissive_mtls)
            )),
        );
    }
}

/// Each add-on: its line has its chart, and the chart can make its Service the type asked.
fn addons(f: &mut Findings, p: &Checked) {
    let Some(addons) = &p.spec.addons else {
        return;
    };
    let line = p.line;
    for kind in AddonKind::ALL {
        let Some(addon) = addons.get(kind) else {
            continue;
        };
        let at = ["spec", "addons", kind.as_str()];
        let unsupported = if line.ships_addons() {
            line.spec()
                .addon_refusals
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, why)| why.to_string())
        } else {
            Some(format!(
                "the {line} charts ship no add-ons; install Istio's samples/addons manifests instead"
            ))
        };
        if let (true, Some(why)) = (addon.enabled, unsupported) {
            f.error(
                &at,
                format!("add-on {} is not available on Istio {line}", kind.as_str()),
                Some(why),
            );
            continue;
        }
        if let Some(t) = addon.service_type {
            addon_service_type(f, line, kind, t);
        }
    }
}

/// The Service types an add-on's chart cannot make (1.0's kiali and prometheus).
fn addon_service_type(f: &mut Findings, line: ReleaseLine, kind: AddonKind, t: ServiceType) {
    let refused = line
        .spec()
        .addon_service_types_refused
        .iter()
        .any(|(k, types)| *k == kind && types.contains(&t));
    if refused {
        f.error(
            &["spec", "addons", kind.as_str(), "serviceType"],
            format!(
                "Istio {line}'s {} chart cannot make its Service {t}",
                kind.as_str()
            ),
            Some(if kind == AddonKind::Prometheus {
                "use NodePort (a second prometheus-nodeport Service) or ClusterIP".to_string()
            } else {
                "use ClusterIP and kubectl port-forward".to_string()
            }),
        );
    }
}

fn trace_sampling(f: &mut Findings, p: &Checked) {
    let Some(tracing) = p.spec.tracing else {
        return;
    };
    let at = ["spec", "tracing", "sampling"];
    match tracing.sampling() {
        Some(_) if !p.line.spec().trace_sampling => f.error(
            &at,
            format!("Istio {}'s chart has no trace sampling setting (Zipkin receives what the proxies send)", p.line),
            Some(format!(
                "remove sampling on {}, or use istio {}",
                p.line,
                lines_where(|l| l.trace_sampling)
            )),
        ),
        Some(percent) if percent.value() == 0.0 => f.error(
            &at,
            "a sampling of 0 does not reach pilot: the chart skips a zero traceSampling, so pilot's own default applies",
            Some("to trace nothing, set tracing: false; else give a percentage from 0.01 to 100".to_string()),
        ),
        Some(_) if !tracing.enabled() => f.warning(
            &at,
            "sampling has no effect while tracing is disabled",
            Some("set tracing.enabled: true, or remove sampling".to_string()),
        ),
        _ => {}
    }
}

fn zipkin_for_tracing(f: &mut Findings, p: &Checked) {
    let spec = p.spec;
    if spec.tracing.is_some_and(|t| t.enabled()) && p.line.tracing_is_zipkin_addon() {
        if let Some(z) = spec.addons.as_ref().and_then(|a| a.zipkin.as_ref()) {
            if !z.enabled {
                f.error(
                    &["spec", "addons", "zipkin", "enabled"],
                    format!("tracing on Istio {} is the Zipkin add-on: it cannot be off while tracing is true", p.line),
                    None,
                );
            }
        }
    }
}

/// The 0.6 chart's injector is off, its webhook's `caBundle` is the literal `${CA_BUNDLE}`
/// (the API server refuses it) and its certificate secret is made by a script against the
/// cluster's CA: no values can make it work, and a label for an injector that is not there
/// would promise sidecars that never come.
fn sidecar_injection_by_hand(f: &mut Findings, p: &Checked) {
    let SidecarInjector::ByHand { why, steps } = p.line.spec().sidecar_injector else {
        return;
    };
    if p.spec
        .sidecar_injection
        .as_ref()
        .is_some_and(|s| !s.namespaces.is_empty())
    {
        f.error(
            &["spec", "sidecarInjection", "namespaces"],
            why,
            Some(steps.to_string()),
        );
    }
}

/// `spec.revision` only where the charts have revisions.
fn revision(f: &mut Findings, p: &Checked) {
    if p.spec.revision.is_some() && !p.line.has_revisions() {
        f.error(
            &["spec", "revision"],
            format!("Istio {}'s charts have no control plane revisions", p.line),
            Some("remove spec.revision: revisions come with Istio 1.11".to_string()),
        );
    }
}

/// A canary: on a line with revisions, an exact release of the stable one's line other than
/// the stable release, a revision other than the stable one's, injecting namespaces of
/// `sidecarInjection.namespaces`.
fn canary(f: &mut Findings, p: &Checked) {
    let Some(canary) = &p.spec.canary else {
        return;
    };
    if !p.line.has_revisions() {
        f.error(
            &["spec", "canary"],
            format!("Istio {}'s charts have no control plane revisions, so no canary can run beside the stable control plane", p.line),
            Some("remove spec.canary and upgrade in place (meshgen plan shows the steps), or move the platform to Istio 1.11 first".to_string()),
        );
        return;
    }
    if canary.istio.line != p.line {
        f.error(
            &["spec", "canary", "istio"],
            format!("a canary of Istio {} beside a stable control plane of Istio {}: Istio supports a canary of the same line (and at most one minor apart, which meshgen's lines are not)", canary.istio.line, p.line),
            Some(format!("name a release of {} ({}), or move the platform to the other line with meshgen's staged rollout", p.line, p.line.describe_releases())),
        );
        return;
    }
    let Some(version) = canary.istio.exact_version() else {
        f.error(
            &["spec", "canary", "istio"],
            format!(
                "a canary names an exact release, not the line {}: its revision is named after it",
                canary.istio.line
            ),
            Some(format!(
                "write the release, e.g. \"{}\"",
                p.line.pinned_version()
            )),
        );
        return;
    };
    if p.spec.istio.exact_version().as_ref() == Some(&version) {
        f.error(
            &["spec", "canary", "istio"],
            format!("the canary is Istio {version}, the stable control plane's own release"),
            Some("name another release of the line, or remove spec.canary".to_string()),
        );
    }
    if let (Some(stable), Some(rev)) = (&p.spec.revision, canary.revision()) {
        if *stable == rev {
            f.error(
                &["spec", "revision"],
                format!("the stable control plane's revision `{stable}` is the canary's: after a promotion, spec.canary goes"),
                Some("remove spec.canary (promoted), or set spec.revision back to the stable release's".to_string()),
            );
        }
    }
    let injected: Vec<&crate::model::platform::DnsLabel> = p
        .spec
        .sidecar_injection
        .iter()
        .flat_map(|s| &s.namespaces)
        .collect();
    for (i, namespace) in canary.namespaces.iter().enumerate() {
        if !injected.contains(&namespace) {
            f.error_at(
                vec![
                    PathSegment::Key("spec".into()),
                    PathSegment::Key("canary".into()),
                    PathSegment::Key("namespaces".into()),
                    PathSegment::Index(i),
                ],
                format!("namespace `{namespace}` is not in sidecarInjection.namespaces: the canary only takes over namespaces the platform injects"),
                Some(format!("add `{namespace}` to spec.sidecarInjection.namespaces, or remove it here")),
            );
        }
    }
}

/// The Kubernetes version: one the line runs on (else an error), was released for (else a
/// warning), and one with PodSecurityPolicy when the platform asks for one.
fn kubernetes_version(f: &mut Findings, p: &Checked) {
    let Some(kube) = &p.spec.kubernetes else {
        return;
    };
    let line = p.line;
    let v = kube.minor;
    let support = line.kubernetes_support();
    let at = ["spec", "kubernetes"];
    if v < support.works_from || v > support.works_to {
        let why = if v < support.works_from {
            support.too_old
        } else {
            support.too_new
        };
        f.error(
            &at,
            format!("Istio {line} cannot run on Kubernetes {v}: {why}"),
            Some(format!(
                "Istio {line} works on Kubernetes {} to {}",
                support.works_from, support.works_to
            )),
        );
    } else if v < support.tested_from || v > support.tested_to {
        f.warning(
            &at,
            format!(
                "Istio {line} was released for Kubernetes {} to {}, not {v}",
                support.tested_from, support.tested_to
            ),
            None,
        );
    }
    if v >= PSP_REMOVED_IN
        && p.spec
            .pod_security_policy
            .as_ref()
            .is_some_and(|psp| psp.enabled)
    {
        f.error(
            &["spec", "podSecurityPolicy", "enabled"],
            format!("Kubernetes {v} has no PodSecurityPolicy API (removed in {PSP_REMOVED_IN})"),
            Some("use Pod Security Admission labels on the namespace, or the Istio CNI plugin, instead".to_string()),
        );
    }
}

/// Only 1.0's pilot chart creates the autogenerated Kubernetes Ingress Gateway.
fn kubernetes_ingress_gateway(f: &mut Findings, p: &Checked) {
    if p.spec.kubernetes_ingress_gateway.is_some() && !p.line.has_autogenerated_k8s_ingress() {
        f.error(
            &["spec", "kubernetesIngressGateway"],
            format!(
                "Istio {}'s charts create no istio-autogenerated-k8s-ingress Gateway",
                p.line
            ),
            Some("remove kubernetesIngressGateway: only Istio 1.0's pilot chart creates that Gateway".to_string()),
        );
    }
}

fn pod_security_policy_accounts(f: &mut Findings, p: &Checked) {
    if let Some(psp) = &p.spec.pod_security_policy {
        if !psp.enabled && !psp.service_accounts.is_empty() {
            f.warning(
                &["spec", "podSecurityPolicy", "serviceAccounts"],
                "service accounts are listed but the policy is disabled",
                Some("set podSecurityPolicy.enabled: true to bind them".to_string()),
            );
        }
    }
}

pub use crate::model::release_line::MESH_POLICY_ALWAYS_FROM;

/// The 1.0 tag from which the gateways chart reads each gateway's
/// `cpu.targetAverageUtilization` (1.0.0's autoscaler has a fixed target and declares none).
pub const GATEWAY_CPU_TARGET_FROM: semver::Version = semver::Version::new(1, 0, 1);

/// Rules that depend on the exact Istio version the platform is rendered for (the lock's pin,
/// else meshgen's), checked once it is known.
pub fn check_version(file: &PlatformFile, version: &semver::Version) -> Vec<Finding> {
    let mut f = Findings(Vec::new());
    let spec = &file.spec;
    let line = spec.istio.line;
    if let Some(always_from) = &line.spec().mesh_policy_always_from {
        let always = version >= always_from;
        let before =
            semver::Version::new(always_from.major, always_from.minor, always_from.patch - 1);
        match spec.mtls {
            Some(MtlsMode::Disabled) if always => f.error(
                &["spec", "mtls"],
                format!(
                    "Istio {version}'s chart cannot switch mutual TLS off: with global.mtls.enabled false its post-install job still applies a mesh-wide MeshPolicy in PERMISSIVE mode"
                ),
                Some(format!("use mtls: permissive (sidecars then accept plain text, and clients send it unless a DestinationRule asks for ISTIO_MUTUAL), or set spec.istio to a release from {} to {before}", line.release(*line.patches().start()))),
            ),
            Some(MtlsMode::Permissive) if !always => f.error(
                &["spec", "mtls"],
                format!(
                    "Istio {version}'s chart has no permissive mutual TLS: with global.mtls.enabled false it applies no MeshPolicy, so sidecars accept plain text only"
                ),
                Some(format!("set spec.istio to {always_from} or later, whose chart applies a PERMISSIVE MeshPolicy, or use mtls: disabled or strict")),
            ),
            _ => {}
        }
    }
    release_node_ports(&mut f, spec, version);
    kiali_secret(&mut f, spec, version);
    canary_release(&mut f, spec, version);
    f.0
}

/// The line's port names are its newest release's; an earlier release may lack one (1.0.0
/// has no `tcp-dns-tls`), and a nodePort for it would vanish from the values.
fn release_node_ports(f: &mut Findings, spec: &Spec, version: &semver::Version) {
    let ports = crate::model::gateway_ports::default_ports(version, GatewayKind::Ingress);
    let gateways = spec
        .ingress_gateway
        .iter()
        .map(|g| {
            (
                vec![PathSegment::Key("ingressGateway".into())],
                &g.node_ports,
            )
        })
        .chain(spec.gateways.iter().enumerate().map(|(i, g)| {
            (
                vec![PathSegment::Key("gateways".into()), PathSegment::Index(i)],
                &g.node_ports,
            )
        }));
    for (at, node_ports) in gateways {
        // A name the line has no port of is the line's finding (`check`); here, the ports
        // the line has that this release does not.
        let line_ports = configurable_node_ports(spec.istio.line, GatewayKind::Ingress);
        for name in node_ports
            .keys()
            .filter(|n| !ports.iter().any(|p| p.name == *n) && line_ports.contains(&n.as_str()))
        {
            let mut path = vec![PathSegment::Key("spec".into())];
            path.extend(at.iter().cloned());
            path.extend([
                PathSegment::Key("nodePorts".into()),
                PathSegment::Key(name.clone()),
            ]);
            f.error_at(
                path,
                format!("Istio {version}'s ingress gateway has no port named `{name}`: later releases of the line added it"),
                Some(format!(
                    "remove it, or use a release that has it; its ports in {version}: {}",
                    ports.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
                )),
            );
        }
    }
}

/// A canary of the release the stable control plane renders for (a follower of the line
/// resolves only here, through the lock or the pin).
fn canary_release(f: &mut Findings, spec: &Spec, version: &semver::Version) {
    let canary = spec.canary.as_ref().and_then(|c| c.istio.exact_version());
    if canary.as_ref() == Some(version) && spec.istio.exact_version().is_none() {
        f.error(
            &["spec", "canary", "istio"],
            format!("the canary is Istio {version}, the release the stable control plane follows `{}` to", spec.istio),
            Some("name another release of the line, or remove spec.canary".to_string()),
        );
    }
}

pub use crate::model::release_line::KIALI_SECRET_GONE_FROM;

/// The Secret Kiali's Deployment needs, keys `username` and `passphrase`.
pub const KIALI_SECRET: &str = "kiali";

/// Kiali on 1.0.6 and later: its pod waits for a Secret nothing installs.
fn kiali_secret(f: &mut Findings, spec: &Spec, version: &semver::Version) {
    let kiali = spec.addons.as_ref().and_then(|a| a.kiali.as_ref());
    let gone = spec.istio.line.spec().kiali_secret_gone_from.as_ref();
    if gone.is_some_and(|from| version >= from) && kiali.is_some_and(|k| k.enabled) {
        let namespace = spec
            .namespace
            .as_ref()
            .map_or("istio-system", |n| n.as_str());
        f.warning(
            &["spec", "addons", "kiali", "enabled"],
            format!("Istio {version}'s kiali chart does not create the Secret `{KIALI_SECRET}` its Deployment reads the dashboard's username and passphrase from: the pod stays in CreateContainerConfigError until it exists"),
            Some(format!("create it before installing: `kubectl -n {namespace} create secret generic {KIALI_SECRET} --from-literal=username=admin --from-literal=passphrase=CHANGE-ME`")),
        );
    }
}

/// Kubernetes' rule for annotation keys: an optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 characters of alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
/// Names an extra gateway cannot take: the gateway entries of the 1.0 chart's values (which
/// reads every key of `gateways` but `global` and `enabled` as a gateway), and the releases
/// of 1.11's charts.
const RESERVED_GATEWAY_NAMES: &[(&str, &str)] = &[
    ("istio-ingressgateway", "the ingress gateway's"),
    ("istio-egressgateway", "the egress gateway's"),
    (
        "istio-ilbgateway",
        "the 1.0 chart's mesh-expansion gateway's",
    ),
    ("global", "a key the 1.0 gateways chart reads as settings"),
    ("enabled", "a key the 1.0 gateways chart reads as settings"),
    ("istio", "the 1.0 release's"),
    ("istio-base", "the 1.11 base release's"),
    ("istiod", "the 1.11 istiod release's"),
    ("istio-ingress", "the 1.11 ingress gateway release's"),
    ("istio-egress", "the 1.11 egress gateway release's"),
];

/// The pod labels of the charts' own gateways: an extra gateway whose selector labels equal
/// one of them would take that gateway's traffic.
const BUILT_IN_GATEWAY_LABELS: &[(&str, &str)] = &[
    ("istio-ingressgateway", "ingressgateway"),
    ("istio-egressgateway", "egressgateway"),
    ("istio-ilbgateway", "ilbgateway"),
];

/// `highAvailability.components`: each one the line's charts have.
fn ha_components(f: &mut Findings, line: ReleaseLine, components: Option<&[HaComponent]>) {
    let on_line = HaComponent::on_line(line);
    for (i, component) in components.unwrap_or_default().iter().enumerate() {
        if !on_line.contains(component) {
            let mut at = path(&["spec", "highAvailability", "components"]);
            at.push(PathSegment::Index(i));
            let names: Vec<&str> = on_line.iter().map(|c| c.as_str()).collect();
            f.error_at(
                at,
                format!(
                    "Istio {line} has no component `{}` to scale",
                    component.as_str()
                ),
                Some(format!("the components of {line}: {}", names.join(", "))),
            );
        }
    }
}

/// `spec.gateways`: lines that have them, names, namespaces, labels, and the same Service
/// rules as the ingress gateway.
fn extra_gateways(
    f: &mut Findings,
    spec: &Spec,
    node_ports: &NodePortRules,
    used: &mut BTreeMap<u16, String>,
) {
    if spec.gateways.is_empty() {
        return;
    }
    let line = node_ports.line;
    if line.spec().extra_gateways == ExtraGateways::Unsupported {
        f.error(
            &["spec", "gateways"],
            format!("Istio {line}'s chart installs one ingress and cannot install another gateway"),
            Some(format!(
                "use istio {}",
                lines_where(|l| l.extra_gateways != ExtraGateways::Unsupported)
            )),
        );
        return;
    }
    // Where each name and each selector was first seen: a second one is an error.
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut selectors: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, gateway) in spec.gateways.iter().enumerate() {
        let base = vec![
            PathSegment::Key("spec".into()),
            PathSegment::Key("gateways".into()),
            PathSegment::Index(i),
        ];
        extra_gateway_name(f, &base, gateway, i, &mut names);
        // Both lines' charts print the namespace without quotes.
        if let Some(namespace) = &gateway.namespace {
            namespace_as_text(f, under(&base, &["namespace"]), namespace.as_str());
        }
        extra_gateway_labels(f, &base, gateway);
        extra_gateway_selector(f, &base, gateway, i, &mut selectors);
        extra_gateway_service(f, &base, gateway, i, node_ports, used);
    }
}

/// Not a name the charts reserve, nor another extra gateway's.
fn extra_gateway_name<'a>(
    f: &mut Findings,
    base: &[PathSegment],
    gateway: &'a ExtraGateway,
    index: usize,
    names: &mut BTreeMap<&'a str, usize>,
) {
    let name = gateway.name.as_str();
    if let Some((_, whose)) = RESERVED_GATEWAY_NAMES.iter().find(|(n, _)| *n == name) {
        f.error_at(
            under(base, &["name"]),
            format!("`{name}` is {whose} name"),
            Some("name the gateway after its role, e.g. `ilb-gateway`".to_string()),
        );
    } else if let Some(first) = names.insert(name, index) {
        f.error_at(
            under(base, &["name"]),
            format!("gateway name `{name}` is used twice"),
            Some(format!("gateways[{first}] already has it")),
        );
    }
}

/// Label keys and values Kubernetes takes.
fn extra_gateway_labels(f: &mut Findings, base: &[PathSegment], gateway: &ExtraGateway) {
    for (key, value) in &gateway.labels {
        if let Err(why) = check_annotation_key(key) {
            f.error_at(
                under(base, &["labels", key]),
                format!("`{key}` is not a valid label key: {why}"),
                Some("a label key is `name` or `prefix/name`, e.g. `istio`".to_string()),
            );
        } else if let Err(why) = check_label_value(value) {
            f.error_at(
                under(base, &["labels", key]),
                format!("`{value}` is not a valid label value: {why}"),
                None,
            );
        }
    }
}

/// The `app` and `istio` labels the gateway's Service selects by: neither a chart gateway's
/// nor another extra gateway's, or one Service would take another gateway's traffic.
fn extra_gateway_selector(
    f: &mut Findings,
    base: &[PathSegment],
    gateway: &ExtraGateway,
    index: usize,
    selectors: &mut BTreeMap<(String, String), usize>,
) {
    let name = gateway.name.as_str();
    let label = |key: &str| gateway.labels.get(key).map_or(name, String::as_str);
    let selector = (label("app").to_string(), label("istio").to_string());
    if let Some((app, _)) = BUILT_IN_GATEWAY_LABELS
        .iter()
        .find(|(app, istio)| selector.0 == *app || selector.1 == *istio)
    {
        f.error_at(
            under(base, &["labels"]),
            format!(
                "labels `app: {}`, `istio: {}` select the pods of the chart's {app}",
                selector.0, selector.1
            ),
            Some(
                "give the gateway labels of its own (`app` and `istio` default to its name)"
                    .to_string(),
            ),
        );
    } else if let Some(first) = selectors.insert(selector.clone(), index) {
        f.error_at(
            under(base, &["labels"]),
            format!("labels `app: {}`, `istio: {}` are gateways[{first}]'s too: each Service would select both gateways' pods", selector.0, selector.1),
            None,
        );
    }
}

/// The ingress gateway's Service rules: internal load balancer, annotation keys, node ports.
fn extra_gateway_service(
    f: &mut Findings,
    base: &[PathSegment],
    gateway: &ExtraGateway,
    index: usize,
    node_ports: &NodePortRules,
    used: &mut BTreeMap<u16, String>,
) {
    let field = format!("gateways[{index}]");
    let provider = node_ports.provider;
    let service_type = gateway
        .service_type
        .unwrap_or(defaults::ingress_service_type(provider).0);
    if gateway.internal == Some(true) {
        check_internal(f, base, &field, service_type, provider, node_ports.line);
    }
    annotation_keys(f, base, &gateway.annotations);
    if !gateway.node_ports.is_empty() {
        node_ports.check(
            f,
            base,
            &field,
            GatewayKind::Ingress,
            service_type,
            &gateway.node_ports,
            used,
        );
    }
}

/// The path `rest` under `base`.
fn under(base: &[PathSegment], rest: &[&str]) -> Vec<PathSegment> {
    [base, &path(rest)].concat()
}

/// A Kubernetes label value: at most 63 characters, alphanumerics with `-`, `_` or `.`
/// inside, or empty.
fn check_label_value(value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    if bytes.len() > 63 {
        return Err("a label value is at most 63 characters".to_string());
    }
    let inner_ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    match (bytes.first(), bytes.last()) {
        (None, _) => Ok(()),
        (Some(first), Some(last))
            if first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(inner_ok) =>
        {
            Ok(())
        }
        _ => Err(
            "letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
                .to_string(),
        ),
    }
}

/// What node ports of a gateway are checked against.
struct NodePortRules {
    line: ReleaseLine,
    provider: Provider,
    range: NodePortRange,
    /// Whether the range is the platform's own (else the provider's default).
    range_at: bool,
}

impl NodePortRules {
    /// The `nodePorts` of the gateway at `base` (`field` in messages): a Service type with node
    /// ports, port names the line's chart has, in range, none used twice in the platform.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        f: &mut Findings,
        base: &[PathSegment],
        field: &str,
        kind: GatewayKind,
        service_type: ServiceType,
        node_ports: &BTreeMap<String, NodePort>,
        used: &mut BTreeMap<u16, String>,
    ) {
        let NodePortRules {
            line,
            provider,
            range,
            range_at,
        } = *self;
        let at_node_ports = [base, &path(&["nodePorts"])].concat();
        if !service_type.has_node_ports() {
            f.error_at(
                at_node_ports,
                format!("nodePorts need serviceType NodePort or LoadBalancer, not {service_type}"),
                Some(format!(
                    "set {field}.serviceType: NodePort, or remove nodePorts"
                )),
            );
            return;
        }
        if service_type == ServiceType::LoadBalancer && !line.node_ports_on_load_balancer() {
            f.error_at(
                at_node_ports.clone(),
                format!(
                    "Istio {line}'s chart sets a node port only on a NodePort Service, not on a LoadBalancer"
                ),
                Some(format!(
                    "set {field}.serviceType: NodePort, or remove nodePorts"
                )),
            );
        }
        let known = configurable_node_ports(line, kind);
        for (name, port) in node_ports {
            let at = [at_node_ports.as_slice(), &path(&[name.as_str()])].concat();
            if !known.contains(&name.as_str()) {
                f.error_at(
                    at,
                    format!("Istio {line}'s {field} has no port named `{name}`"),
                    Some(unknown_port_hint(name, &known, line)),
                );
                continue;
            }
            let port = port.0;
            if !KUBERNETES_NODE_PORTS.contains(port) {
                f.error_at(
                    at.clone(),
                    format!("nodePort {port} is outside Kubernetes' node port range {KUBERNETES_NODE_PORTS}"),
                    None,
                );
            } else if !range.contains(port) {
                let why = if range_at {
                    "the platform's nodePortRange".to_string()
                } else {
                    format!(
                        "the {provider} default: {}",
                        defaults::node_port_range(provider).1
                    )
                };
                f.error_at(
                    at.clone(),
                    format!("nodePort {port} is outside the node port range {range}"),
                    Some(format!("{range} is {why}")),
                );
            }
            let here = format!("{field}.nodePorts.{name}");
            if let Some(first) = used.get(&port) {
                f.error_at(
                    at,
                    format!("nodePort {port} is used twice"),
                    Some(format!("{first} already uses it")),
                );
            } else {
                used.insert(port, here);
            }
        }
    }
}

/// What to write instead of a port name the line's gateway does not have.
fn unknown_port_hint(name: &str, known: &[&str], line: ReleaseLine) -> String {
    // Istio's gateways name their plain HTTP port `http2`: `http` means that one, though
    // `https` is as near a spelling.
    let suggestion = known
        .iter()
        .copied()
        .find(|k| name == "http" && *k == "http2")
        .or_else(|| crate::suggest::did_you_mean(name, known.iter().copied()));
    match suggestion {
        Some(s) => format!(
            "did you mean `{s}`? ports of this gateway on Istio {line}: {}",
            known.join(", ")
        ),
        None => format!(
            "ports of this gateway on Istio {line}: {}",
            known.join(", ")
        ),
    }
}

/// `internal: true` of a gateway at `base` (`field` in messages): a LoadBalancer Service, a
/// line whose chart takes Service annotations, a provider meshgen knows the annotation of.
fn check_internal(
    f: &mut Findings,
    base: &[PathSegment],
    field: &str,
    service_type: ServiceType,
    provider: Provider,
    line: ReleaseLine,
) {
    let at = [base, &path(&["internal"])].concat();
    if service_type != ServiceType::LoadBalancer {
        f.error_at(
            at,
            format!("an internal load balancer needs serviceType LoadBalancer, not {service_type}"),
            Some(format!(
                "set {field}.serviceType: LoadBalancer, or internal: false"
            )),
        );
    } else if !line.spec().configurable_ingress_service {
        f.error_at(
            at,
            format!("Istio {line}'s ingress chart has no Service annotations, so it cannot ask for an internal load balancer"),
            Some(format!("use istio {}", configurable_ingress_lines())),
        );
    } else if internal_lb_annotation(provider, line).is_none() {
        f.error_at(
            at,
            format!(
                "provider {provider} has no internal load balancer meshgen knows how to ask for"
            ),
            Some("internal load balancers are supported on gke, aws and azure".to_string()),
        );
    }
}

/// The other release lines, as a hint writes them: `"1.0" or "1.11"`.
/// The lines whose spec has `property`, as `"1.0" or "1.11"`.
fn lines_where(property: impl Fn(&LineSpec) -> bool) -> String {
    ReleaseLine::quoted_where(property, " or ")
}

/// The lines whose ingress Service takes annotations, a load balancer IP and any type.
fn configurable_ingress_lines() -> String {
    lines_where(|l| l.configurable_ingress_service)
}

fn check_annotation_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() || prefix.len() > 253 {
            return Err("the prefix must be 1 to 253 characters".to_string());
        }
        let ok = prefix.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if !ok {
            return Err("the prefix must be a lower-case DNS subdomain".to_string());
        }
    }
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 63 {
        return Err("the name must be 1 to 63 characters".to_string());
    }
    let edge_ok = |b: u8| b.is_ascii_alphanumeric();
    if !edge_ok(bytes[0]) || !edge_ok(bytes[bytes.len() - 1]) {
        return Err("the name must start and end with a letter or digit".to_string());
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("the name may hold only letters, digits, `-`, `_` and `.`".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(line: &str, mtls: &str) -> PlatformFile {
        let json = serde_json::json!({
            "apiVersion": "meshgen/v1alpha1",
            "kind": "Platform",
            "metadata": {"name": "t"},
            "spec": {"provider": "kvm", "istio": line, "mtls": mtls},
        });
        serde_json::from_value(json).unwrap()
    }

    fn errors(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.message.clone())
            .collect()
    }

    /// Each line and tag refuses exactly the modes its chart cannot express.
    #[test]
    fn mtls_modes_each_line_and_tag_can_express() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        let refused = |line: &str, mode: &str, version: &str| {
            let file = platform(line, mode);
            let mut found = errors(&check(&file));
            found.extend(errors(&check_version(&file, &v(version))));
            !found.is_empty()
        };
        for (line, version, disabled, permissive, strict) in [
            ("0.6", "0.6.0", false, true, false),
            ("1.0", "1.0.0", false, true, false),
            ("1.0", "1.0.2", false, true, false),
            ("1.0", "1.0.3", true, false, false),
            ("1.0", "1.0.9", true, false, false),
            ("1.11", "1.11.8", false, false, false),
        ] {
            assert_eq!(refused(line, "disabled", version), disabled, "{version}");
            assert_eq!(
                refused(line, "permissive", version),
                permissive,
                "{version}"
            );
            assert_eq!(refused(line, "strict", version), strict, "{version}");
        }
    }

    #[test]
    fn annotation_keys_follow_kubernetes() {
        assert!(check_annotation_key("cloud.google.com/load-balancer-type").is_ok());
        assert!(check_annotation_key("simple").is_ok());
        assert!(check_annotation_key("Bad Prefix/x").is_err());
        assert!(check_annotation_key("x/").is_err());
        assert!(check_annotation_key("-x").is_err());
    }
}
