//! Istio release lines meshgen supports, and the facts meshgen needs about each:
//! the built-in version pin, the semver range a line stands for, where its charts
//! live in the upstream repository, and which Kubernetes versions it runs on.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Kubernetes serves server-side apply (which Helm 4 and Flux apply with) from this minor on.
pub const SERVER_SIDE_APPLY_FROM: KubeMinor = KubeMinor::new(1, 16);

/// A supported Istio release line. Each line lays its charts out differently.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum ReleaseLine {
    /// Istio 0.6: one umbrella chart whose values.yaml is generated at release time.
    #[serde(rename = "0.6")]
    V0_6,
    /// Istio 1.0.x: one umbrella chart with sub-charts switched by conditions.
    #[serde(rename = "1.0")]
    V1_0,
    /// Istio 1.11.x: separate base, istiod and gateway charts.
    #[serde(rename = "1.11")]
    V1_11,
}

/// One chart of a release line: where it lives upstream and where it is vendored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartSource {
    /// Directory name under `vendor/istio/<version>/`.
    pub name: &'static str,
    /// Path of the chart inside the istio/istio repository.
    pub upstream_path: &'static str,
    /// The Helm release meshgen installs it as.
    pub release: &'static str,
    /// The chart of the line whose release must be installed first (the CRDs it needs, the
    /// webhook that injects its pods), if any.
    pub after: Option<&'static str>,
}

/// How a line's mesh-wide mutual TLS (`spec.mtls`) reaches the mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtlsMechanism {
    /// The chart's values alone (0.6).
    ChartValues,
    /// The chart's values, and the MeshPolicy and `*.local` DestinationRules `meshgen
    /// manifests` applies where the chart's post-install Job did (1.0).
    MeshPolicy,
    /// A PeerAuthentication in `meshgen manifests`: the charts have no switch (1.11).
    PeerAuthentication,
}

/// Kubernetes versions a line was released for, as (major, minor) pairs, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeSupport {
    /// Oldest minor the line works on at all.
    pub works_from: KubeMinor,
    /// Oldest minor the line was released and tested for.
    pub tested_from: KubeMinor,
    /// Newest minor the line was released and tested for.
    pub tested_to: KubeMinor,
    /// Newest minor whose API still serves every object the charts render.
    pub works_to: KubeMinor,
}

/// A Kubernetes `major.minor` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct KubeMinor {
    pub major: u32,
    pub minor: u32,
}

impl KubeMinor {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }
}

impl fmt::Display for KubeMinor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl ReleaseLine {
    pub const ALL: [ReleaseLine; 3] = [ReleaseLine::V0_6, ReleaseLine::V1_0, ReleaseLine::V1_11];

    /// The chart that renders the control-plane Deployments `meshgen post-render` changes:
    /// the release the post-renderer (or the Flux patches) must be attached to.
    pub fn post_render_chart(self) -> Option<&'static str> {
        match self {
            ReleaseLine::V0_6 => None,
            ReleaseLine::V1_0 => Some("istio"),
            ReleaseLine::V1_11 => Some("istio-discovery"),
        }
    }

    /// Whether the ingress chart can fix a node port on a LoadBalancer Service: 0.6's sets
    /// `nodePort` only when its `nodePort.enabled` also makes the Service a NodePort one.
    pub fn node_ports_on_load_balancer(self) -> bool {
        self != ReleaseLine::V0_6
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseLine::V0_6 => "0.6",
            ReleaseLine::V1_0 => "1.0",
            ReleaseLine::V1_11 => "1.11",
        }
    }

    /// The version meshgen uses when no lock file pins one: the newest patch of the line.
    pub fn pinned_version(self) -> semver::Version {
        self.release(*self.patches().end())
    }

    /// The patch numbers of the line's releases (pre-releases aside). Every line is past its
    /// end of life upstream, so the list is complete: 0.6.0; 1.0.0 to 1.0.9; 1.11.0 to 1.11.8.
    /// meshgen's facts (chart keys, gateway ports, release patches, rules) hold for each.
    pub fn patches(self) -> std::ops::RangeInclusive<u64> {
        match self {
            ReleaseLine::V0_6 => 0..=0,
            ReleaseLine::V1_0 => 0..=9,
            ReleaseLine::V1_11 => 0..=8,
        }
    }

    /// The release `major.minor.patch` of the line.
    pub fn release(self, patch: u64) -> semver::Version {
        let (major, minor) = self.major_minor();
        semver::Version::new(major, minor, patch)
    }

    /// The line's releases, as `1.0.0 to 1.0.9` (or the one release).
    pub fn describe_releases(self) -> String {
        let patches = self.patches();
        if patches.start() == patches.end() {
            return self.release(*patches.start()).to_string();
        }
        format!(
            "{} to {}",
            self.release(*patches.start()),
            self.release(*patches.end())
        )
    }

    /// The semver range the line stands for: the whole `major.minor` series.
    pub fn version_req(self) -> semver::VersionReq {
        let (major, minor) = self.major_minor();
        semver::VersionReq::parse(&format!("~{major}.{minor}")).expect("static range is valid")
    }

    pub fn major_minor(self) -> (u64, u64) {
        match self {
            ReleaseLine::V0_6 => (0, 6),
            ReleaseLine::V1_0 => (1, 0),
            ReleaseLine::V1_11 => (1, 11),
        }
    }

    /// The line a concrete Istio version belongs to, if meshgen supports it.
    pub fn of_version(version: &semver::Version) -> Option<ReleaseLine> {
        ReleaseLine::ALL
            .into_iter()
            .find(|line| line.major_minor() == (version.major, version.minor))
    }

    /// The charts of the line, in install order: the ones meshgen vendors, renders values for
    /// and installs (no platform field enables the CNI plugin, so its chart is not among them).
    pub fn charts(self) -> &'static [ChartSource] {
        const UMBRELLA: &[ChartSource] = &[ChartSource {
            name: "istio",
            upstream_path: "install/kubernetes/helm/istio",
            release: "istio",
            after: None,
        }];
        const SPLIT: &[ChartSource] = &[
            ChartSource {
                name: "base",
                upstream_path: "manifests/charts/base",
                release: "istio-base",
                after: None,
            },
            ChartSource {
                name: "istio-discovery",
                upstream_path: "manifests/charts/istio-control/istio-discovery",
                release: "istiod",
                after: Some("base"),
            },
            ChartSource {
                name: "istio-ingress",
                upstream_path: "manifests/charts/gateways/istio-ingress",
                release: "istio-ingress",
                after: Some("istio-discovery"),
            },
            ChartSource {
                name: "istio-egress",
                upstream_path: "manifests/charts/gateways/istio-egress",
                release: "istio-egress",
                after: Some("istio-discovery"),
            },
        ];
        match self {
            ReleaseLine::V0_6 | ReleaseLine::V1_0 => UMBRELLA,
            ReleaseLine::V1_11 => SPLIT,
        }
    }

    /// The `crds/` directories of one of the line's charts, relative to the chart: what Helm
    /// installs with the release and never upgrades, so a new release's CRDs are applied by
    /// hand. A sub-chart's comes with the values switch of its condition: Helm installs the
    /// `crds/` of an enabled sub-chart only.
    pub fn crd_dirs(self, chart: &str) -> &'static [(&'static str, Option<&'static str>)] {
        match (self, chart) {
            (ReleaseLine::V1_0, "istio") => &[
                ("crds/", None),
                ("charts/certmanager/crds/", Some("certmanager.enabled")),
            ],
            (ReleaseLine::V1_11, "base") => &[("crds/", None)],
            _ => &[],
        }
    }

    /// The `networking.istio.io` CRDs the line's charts define. Those two lines share survive a
    /// change of line with the resources in them; 0.6 kept its routing in `config.istio.io`.
    pub fn networking_crds(self) -> &'static [&'static str] {
        const V1_0: &[&str] = &[
            "virtualservices.networking.istio.io",
            "destinationrules.networking.istio.io",
            "serviceentries.networking.istio.io",
            "gateways.networking.istio.io",
            "envoyfilters.networking.istio.io",
        ];
        const V1_11: &[&str] = &[
            "virtualservices.networking.istio.io",
            "destinationrules.networking.istio.io",
            "serviceentries.networking.istio.io",
            "gateways.networking.istio.io",
            "envoyfilters.networking.istio.io",
            "sidecars.networking.istio.io",
            "workloadentries.networking.istio.io",
            "workloadgroups.networking.istio.io",
        ];
        match self {
            ReleaseLine::V0_6 => &[],
            ReleaseLine::V1_0 => V1_0,
            ReleaseLine::V1_11 => V1_11,
        }
    }

    /// Whether the line serves Mixer (`config.istio.io` policy and telemetry), `rbac.istio.io`
    /// authorization and `authentication.istio.io` policies, which later lines ignore.
    pub fn serves_mixer_era_apis(self) -> bool {
        self != ReleaseLine::V1_11
    }

    /// Whether the line's charts ship the add-ons (grafana, prometheus, tracing, ...).
    pub fn ships_addons(self) -> bool {
        self != ReleaseLine::V1_11
    }

    /// The release a chart's release waits for (Flux's `dependsOn`), by chart name.
    pub fn depends_on(self, chart: &str) -> Option<&'static str> {
        let charts = self.charts();
        let after = charts.iter().find(|c| c.name == chart)?.after?;
        charts.iter().find(|c| c.name == after).map(|c| c.release)
    }

    /// Whether each extra gateway (`spec.gateways`) is a release of its own, with its own
    /// values file (1.11's gateway charts), rather than an entry of the one release's values.
    pub fn extra_gateways_are_releases(self) -> bool {
        self == ReleaseLine::V1_11
    }

    /// Whether the release sets each component's image (`global.<component>.repository` and
    /// `tag`, 0.6's generated values) rather than one hub and tag for all.
    pub fn sets_component_images(self) -> bool {
        self == ReleaseLine::V0_6
    }

    /// Whether tracing is the Zipkin add-on (0.6) rather than a setting of the mesh.
    pub fn tracing_is_zipkin_addon(self) -> bool {
        self == ReleaseLine::V0_6
    }

    /// Whether the line's charts install revisioned control planes side by side (`revision`
    /// in istio-discovery, per-revision injection and validation webhooks): 1.11.
    pub fn has_revisions(self) -> bool {
        self.revisioned_chart().is_some()
    }

    /// The chart of the line's control plane that takes the `revision` value, its release
    /// then named `istiod-<revision>`: 1.11's istio-discovery.
    pub fn revisioned_chart(self) -> Option<&'static str> {
        match self {
            ReleaseLine::V0_6 | ReleaseLine::V1_0 => None,
            ReleaseLine::V1_11 => Some("istio-discovery"),
        }
    }

    /// How `spec.mtls` reaches the mesh on this line.
    pub fn mtls_mechanism(self) -> MtlsMechanism {
        match self {
            ReleaseLine::V0_6 => MtlsMechanism::ChartValues,
            ReleaseLine::V1_0 => MtlsMechanism::MeshPolicy,
            ReleaseLine::V1_11 => MtlsMechanism::PeerAuthentication,
        }
    }

    /// Whether the line's pilot chart creates the Gateway `istio-autogenerated-k8s-ingress`
    /// (1.0; meshgen's chart fix `k8s-ingress-gateway-switch-1.0` makes it switchable).
    pub fn has_autogenerated_k8s_ingress(self) -> bool {
        self == ReleaseLine::V1_0
    }

    /// Kubernetes versions the line supports.
    ///
    /// 0.6 needs 1.9 for the mutating webhook behind automatic sidecar injection; 0.6 and
    /// 1.0 render `extensions/v1beta1` Deployments, gone in 1.16. 1.11 renders v1 CRDs and
    /// webhooks (1.16+) and `policy/v1beta1` PodDisruptionBudgets, gone in 1.25.
    pub fn kubernetes_support(self) -> KubeSupport {
        match self {
            ReleaseLine::V0_6 => KubeSupport {
                works_from: KubeMinor::new(1, 9),
                tested_from: KubeMinor::new(1, 9),
                tested_to: KubeMinor::new(1, 10),
                works_to: KubeMinor::new(1, 15),
            },
            ReleaseLine::V1_0 => KubeSupport {
                works_from: KubeMinor::new(1, 9),
                tested_from: KubeMinor::new(1, 9),
                tested_to: KubeMinor::new(1, 11),
                works_to: KubeMinor::new(1, 15),
            },
            ReleaseLine::V1_11 => KubeSupport {
                works_from: KubeMinor::new(1, 16),
                tested_from: KubeMinor::new(1, 19),
                tested_to: KubeMinor::new(1, 22),
                works_to: KubeMinor::new(1, 24),
            },
        }
    }
}

impl fmt::Display for ReleaseLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A release line name that meshgen does not support.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Istio release line `{given}`: expected one of 0.6, 1.0, 1.11")]
pub struct UnknownReleaseLine {
    pub given: String,
}

impl FromStr for ReleaseLine {
    type Err = UnknownReleaseLine;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().trim_start_matches('v') {
            "0.6" => Ok(ReleaseLine::V0_6),
            "1.0" => Ok(ReleaseLine::V1_0),
            "1.11" => Ok(ReleaseLine::V1_11),
            other => Err(UnknownReleaseLine {
                given: other.to_string(),
            }),
        }
    }
}

/// What a platform's `spec.istio` names: a release line to follow (the line's version in
/// `vendor/meshgen.lock`, moved by `meshgen vendor --update`), or one exact release of a line
/// (`1.0.2`), which nothing moves but an edit of the platform file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IstioVersion {
    pub line: ReleaseLine,
    /// The exact release's patch number; `None` follows the line.
    pub patch: Option<u64>,
}

impl IstioVersion {
    /// Follows `line`.
    pub const fn follow(line: ReleaseLine) -> Self {
        IstioVersion { line, patch: None }
    }

    /// The exact release `version`, if it is a release of a supported line.
    pub fn exact(version: &semver::Version) -> Option<Self> {
        let line = ReleaseLine::of_version(version)?;
        (version.pre.is_empty() && line.patches().contains(&version.patch)).then_some(
            IstioVersion {
                line,
                patch: Some(version.patch),
            },
        )
    }

    /// The exact release named, if one is.
    pub fn exact_version(self) -> Option<semver::Version> {
        self.patch.map(|patch| self.line.release(patch))
    }

    /// Every value `spec.istio` accepts: the lines, then every release of each.
    pub fn all() -> impl Iterator<Item = IstioVersion> {
        ReleaseLine::ALL
            .into_iter()
            .map(IstioVersion::follow)
            .chain(ReleaseLine::ALL.into_iter().flat_map(|line| {
                line.patches().map(move |patch| IstioVersion {
                    line,
                    patch: Some(patch),
                })
            }))
    }
}

impl From<ReleaseLine> for IstioVersion {
    fn from(line: ReleaseLine) -> Self {
        IstioVersion::follow(line)
    }
}

impl fmt::Display for IstioVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            None => f.write_str(self.line.as_str()),
            Some(patch) => write!(f, "{}.{patch}", self.line),
        }
    }
}

/// A `spec.istio` (or `--istio`) that names no supported line nor any release of one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UnknownIstioVersion {
    pub given: String,
    pub reason: String,
}

impl FromStr for IstioVersion {
    type Err = UnknownIstioVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let given = s.trim().trim_start_matches('v');
        if let Ok(line) = given.parse::<ReleaseLine>() {
            return Ok(IstioVersion::follow(line));
        }
        let known = || {
            ReleaseLine::ALL
                .iter()
                .map(|l| format!("{l} ({})", l.describe_releases()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let refuse = |reason: String| UnknownIstioVersion {
            given: s.to_string(),
            reason,
        };
        let line_like = given
            .split_once('.')
            .is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok());
        if line_like {
            return Err(refuse(format!(
                "Istio {given} is not a line meshgen supports; the lines and their releases: {}",
                known()
            )));
        }
        let Ok(version) = semver::Version::parse(given) else {
            return Err(refuse(format!(
                "`{s}` is neither a release line nor a release: expected a line or one of its releases: {}",
                known()
            )));
        };
        let Some(line) = ReleaseLine::of_version(&version) else {
            return Err(refuse(format!(
                "Istio {version} is not on a line meshgen supports; the lines and their releases: {}",
                known()
            )));
        };
        if !version.pre.is_empty() || !version.build.is_empty() {
            return Err(refuse(format!(
                "Istio {version} is a pre-release (or carries build metadata); meshgen installs releases only: {line} has {}",
                line.describe_releases()
            )));
        }
        IstioVersion::exact(&version).ok_or_else(|| {
            refuse(format!(
                "Istio {version} was never released: line {line} has {}",
                line.describe_releases()
            ))
        })
    }
}

impl Serialize for IstioVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IstioVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for IstioVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IstioVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let values: Vec<String> = IstioVersion::all().map(|v| v.to_string()).collect();
        schemars::json_schema!({
            "description": "A release line to follow (its version in vendor/meshgen.lock), or an exact release of a line.",
            "enum": values
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_exclude_neighbouring_lines_and_prereleases() {
        let req = ReleaseLine::V1_0.version_req();
        assert!(req.matches(&semver::Version::parse("1.0.9").unwrap()));
        assert!(!req.matches(&semver::Version::parse("1.1.0").unwrap()));
        assert!(!req.matches(&semver::Version::parse("1.0.0-snapshot.2").unwrap()));
        let req = ReleaseLine::V1_11.version_req();
        assert!(!req.matches(&semver::Version::parse("1.11.0-rc.1").unwrap()));
        assert!(req.matches(&semver::Version::parse("1.11.0").unwrap()));
    }

    #[test]
    fn parses_and_prints_round_trip() {
        for line in ReleaseLine::ALL {
            assert_eq!(line.as_str().parse::<ReleaseLine>().unwrap(), line);
            assert_eq!(ReleaseLine::of_version(&line.pinned_version()), Some(line));
        }
        assert!("1.1".parse::<ReleaseLine>().is_err());
    }

    #[test]
    fn istio_versions_are_lines_or_known_releases() {
        let v: IstioVersion = "1.0.2".parse().unwrap();
        assert_eq!(v.line, ReleaseLine::V1_0);
        assert_eq!(v.exact_version(), Some(semver::Version::new(1, 0, 2)));
        assert_eq!(v.to_string(), "1.0.2");
        let v: IstioVersion = "1.11".parse().unwrap();
        assert_eq!(v, IstioVersion::follow(ReleaseLine::V1_11));
        assert_eq!(v.exact_version(), None);
        for (given, says) in [
            ("1.11.0-rc.1", "pre-release"),
            ("1.0.10", "never released: line 1.0 has 1.0.0 to 1.0.9"),
            ("1.5.2", "not on a line meshgen supports"),
            ("1.2", "Istio 1.2 is not a line meshgen supports"),
            ("latest", "`latest` is neither a release line nor a release"),
            ("0.6.1", "line 0.6 has 0.6.0"),
        ] {
            let e = given.parse::<IstioVersion>().unwrap_err().to_string();
            assert!(e.contains(says), "{given}: {e}");
        }
        assert!("1.5.2"
            .parse::<IstioVersion>()
            .unwrap_err()
            .to_string()
            .contains("1.11 (1.11.0 to 1.11.8)"));
        assert_eq!(IstioVersion::all().count(), 3 + 1 + 10 + 9);
        for v in IstioVersion::all() {
            assert_eq!(v.to_string().parse::<IstioVersion>().unwrap(), v);
        }
    }
}
