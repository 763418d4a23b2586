//! Istio release lines meshgen supports, and everything meshgen needs to know about each:
//! `LineSpec`, one per line in `release_line/<line>.rs` (charts and layout, install order,
//! release names, gateway ports, chart keys, chart fixes, post-render targets, lint facts,
//! Kubernetes range, capabilities). `ReleaseLine::spec` is the one match on the lines; the
//! rest of the code asks the spec or a capability read off it.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::parts::{AddonKind, DefaultPort, HaComponent, ServiceType};

mod v0_6;
mod v1_0;
mod v1_11;

pub use v1_0::{KIALI_SECRET_GONE_FROM, MESH_POLICY_ALWAYS_FROM};

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
    /// Why the line cannot run before `works_from`.
    pub too_old: &'static str,
    /// Why the line cannot run after `works_to`.
    pub too_new: &'static str,
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

/// A chart's `crds/` directory, relative to the chart, with the values switch of the
/// sub-chart it belongs to (Helm installs the `crds/` of an enabled sub-chart only).
pub type CrdDir = (&'static str, Option<&'static str>);

/// Everything a release line differs by, as data: one `LineSpec` per line, in
/// `model/release_line/<line>.rs`. The rest of the code asks the spec (or a capability of
/// `ReleaseLine` read off it), never which line it is.
#[derive(Debug)]
pub struct LineSpec {
    /// The name `spec.istio` gives the line (`1.0`).
    pub name: &'static str,
    pub major_minor: (u64, u64),
    /// The first and last patch of the line's releases.
    pub patches: (u64, u64),
    /// The charts, in install order.
    pub charts: &'static [ChartSource],
    /// The `crds/` directories of each chart that has some (see `ReleaseLine::crd_dirs`).
    pub crd_dirs: &'static [(&'static str, &'static [CrdDir])],
    /// The `networking.istio.io` CRDs the charts define.
    pub networking_crds: &'static [&'static str],
    /// The chart keys, built in from `data/chart-keys/`.
    pub chart_keys: ChartKeyFiles,
    /// How the vendored `values.yaml` is made from the release's files.
    pub vendored_values: VendoredValues,
    /// The fixes meshgen applies to the line's charts, in the order it applies them.
    pub chart_fixes: &'static [ChartFix],
    /// Kubernetes versions the line supports.
    pub kubernetes: KubeSupport,
    pub mtls_mechanism: MtlsMechanism,
    /// Whether `spec.mtls: permissive` exists: the authentication policies with a permissive
    /// mode came with 0.8.
    pub permissive_mtls: bool,
    /// From which release of the line the chart always applies a mesh-wide MeshPolicy
    /// (PERMISSIVE while mutual TLS is off), if the line's charts apply one.
    pub mesh_policy_always_from: Option<semver::Version>,
    pub serves_mixer_era_apis: bool,
    pub ships_addons: bool,
    /// Add-ons the charts have no (usable) chart for, each with what to do instead.
    pub addon_refusals: &'static [(AddonKind, &'static str)],
    /// Service types an add-on's chart cannot make.
    pub addon_service_types_refused: &'static [(AddonKind, &'static [ServiceType])],
    /// From which release of the line the kiali chart no longer creates the Secret its
    /// Deployment reads, if it ever did.
    pub kiali_secret_gone_from: Option<semver::Version>,
    /// Whether the release sets each component's image rather than one hub and tag.
    pub sets_component_images: bool,
    /// Whether tracing is the Zipkin add-on rather than a setting of the mesh.
    pub tracing_is_zipkin_addon: bool,
    /// Whether the charts have a trace sampling setting.
    pub trace_sampling: bool,
    pub has_autogenerated_k8s_ingress: bool,
    /// How the chart installs the sidecar injector.
    pub sidecar_injector: SidecarInjector,
    /// Whether the egress gateway exists (and is installed unless switched off).
    pub has_egress_gateway: bool,
    /// Whether the ingress Service takes annotations, a load balancer IP and ClusterIP.
    pub configurable_ingress_service: bool,
    /// The ingress port whose nodePort alone is a value, when not every port's is.
    pub only_node_port_value: Option<&'static str>,
    /// See `ReleaseLine::node_ports_on_load_balancer`.
    pub node_ports_on_load_balancer: bool,
    /// How `spec.gateways` is installed.
    pub extra_gateways: ExtraGateways,
    /// The default ports of the gateways' Services.
    pub gateway_ports: GatewayPorts,
    /// The internal load balancer annotation on GKE, if the line's Services take annotations.
    pub gke_internal_lb_annotation: Option<(&'static str, &'static str)>,
    /// The `highAvailability.components` the charts have.
    pub ha_components: &'static [HaComponent],
    /// Whether pilot, citadel, galley and the injector are one Deployment (istiod), `pilot`.
    pub control_plane_is_istiod: bool,
    /// Whether meshgen can spread replicas with pod anti-affinity (chart values or
    /// post-render).
    pub spreads_replicas: bool,
    /// What `meshgen post-render` changes.
    pub post_render: PostRender,
    /// What `meshgen check`'s lint knows of the line's proxies.
    pub lint: LintFacts,
    /// What the values header and the line's template need to know.
    pub render: RenderFacts,
}

/// Where 0.6's and 1.0's manifests go: after the one release, whose `crds/` (1.0) hold the
/// CRDs of their mesh policy objects.
const MANIFESTS_AFTER_ISTIO: (&str, &str) = (
    "istio",
    "after istio: its mesh policy objects need the CRDs istio installs, and replace what the charts' post-install jobs applied once",
);

/// What the values header and template of a line need: objects and CRDs Helm leaves behind,
/// add-on Service names, where the manifests go in the install order, revisions.
#[derive(Debug, Clone, Copy)]
pub struct RenderFacts {
    /// What no Helm release of the line owns and its uninstall deletes by hand:
    /// (resource, name, why).
    pub unowned_objects: &'static [(&'static str, &'static str, &'static str)],
    /// The `grep -E` pattern of the line's CRD names, when its charts keep CRDs in `crds/`
    /// (which Helm never deletes nor upgrades); None where they are templates of the release.
    pub crd_pattern: Option<&'static str>,
    /// What the charts put before an add-on's name in its Service's (`istio-` on 0.6: the
    /// release name), and the add-ons whose Service keeps its bare name anyway.
    pub addon_service_prefix: &'static str,
    pub addon_services_unprefixed: &'static [AddonKind],
    /// The release whose CRDs the custom resources of `meshgen manifests` need, and why they
    /// are applied right after it.
    pub manifests_after: (&'static str, &'static str),
    /// The chart of the control plane that takes the `revision` value (its release then
    /// `istiod-<revision>`), on a line whose charts install revisioned control planes side by
    /// side.
    pub revisioned_chart: Option<&'static str>,
}

/// A line's built-in chart key lists (`data/chart-keys/<line>.*.txt`); empty text where the
/// line has no such list.
#[derive(Debug, Clone, Copy)]
pub struct ChartKeyFiles {
    /// Every declared key path with the kind of its default (`PATH KIND`).
    pub types: &'static str,
    /// Known undeclared keys (`open PATH`, `read PATH`).
    pub extra: &'static str,
    /// Keys earlier releases do not declare, with the first release that does.
    pub since: &'static str,
    /// Keys declared throughout but read by the templates only from a release on.
    pub read_since: &'static str,
    /// Keys earlier releases declare that the pinned one does not, with the first without.
    pub until: &'static str,
}

/// How the vendored chart's `values.yaml` comes to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendoredValues {
    /// Generated at release time from a template in the repository (0.6).
    GeneratedFromTemplate,
    /// The chart's own, with the release's hub and tag set (charts with images).
    ReleaseHubTag,
}

/// How a line's chart installs the sidecar injector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarInjector {
    /// The chart installs it when asked.
    Chart,
    /// The chart cannot: `why`, and the steps to inject by hand (or outside Helm).
    ByHand {
        why: &'static str,
        steps: &'static str,
    },
}

/// How a line installs extra gateways (`spec.gateways`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraGateways {
    /// It cannot: one ingress only.
    Unsupported,
    /// As entries of the one release's `gateways` values.
    ValuesEntries,
    /// Each as a release of its own gateway chart.
    Releases,
}

/// The default ports of a line's gateway Services, field for field.
#[derive(Debug)]
pub struct GatewayPorts {
    pub ingress: &'static [DefaultPort],
    /// The ingress list of releases before a given one, where it differed.
    pub ingress_before: Option<(semver::Version, &'static [DefaultPort])>,
    /// Empty when the line has no egress gateway.
    pub egress: &'static [DefaultPort],
}

/// A Deployment `meshgen post-render` changes, with the pod labels its template writes.
#[derive(Debug, Clone, Copy)]
pub struct PostRenderTarget {
    pub name: &'static str,
    /// The `highAvailability.components` entry that scales it.
    pub component: HaComponent,
    pub api_version: &'static str,
    pub pod_labels: &'static [(&'static str, &'static str)],
}

/// What `meshgen post-render` changes on a line.
#[derive(Debug, Clone, Copy)]
pub struct PostRender {
    /// The chart that renders the Deployments, if there are any.
    pub chart: Option<&'static str>,
    /// The Deployments; the egress gateway's is left out when the platform switches it off.
    pub targets: &'static [PostRenderTarget],
    /// The apiVersion of extra gateways' Deployments when they are targets too.
    pub extra_gateways: Option<&'static str>,
}

/// A port the sidecar listens on in the pod's network namespace, and what for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedPort {
    pub port: i64,
    pub what: &'static str,
}

impl ReservedPort {
    pub const fn new(port: i64, what: &'static str) -> Self {
        ReservedPort { port, what }
    }
}

/// What the line's proxies make of Service ports, read off the tag meshgen pins.
#[derive(Debug)]
pub struct LintFacts {
    /// Port-name prefixes naming a protocol (or TCP itself).
    pub protocols: &'static [&'static str],
    /// Whether a port's `appProtocol` is read (before its name).
    pub reads_app_protocol: bool,
    /// Whether an unnamed (or unknown) port's protocol is sniffed rather than plain TCP: if
    /// so, the well-known ports still taken as TCP.
    pub sniffs_unnamed_ports: Option<&'static [i64]>,
    /// The ports the sidecar takes in every injected pod, at the newest release.
    pub reserved_ports: &'static [ReservedPort],
    /// The reserved ports of releases before a given one, where they differed.
    pub reserved_ports_before: Option<(semver::Version, &'static [ReservedPort])>,
    /// Whether the injector follows a pod label in a namespace not labelled for injection.
    pub injects_by_pod_label: bool,
}

/// A narrow fix of upstream chart files, for the releases of a line that carry the trap it
/// removes. Without these the charts do not install with Helm 3 and 4, or read differently in
/// kustomize than in Kubernetes. ARCHITECTURE.md lists each one and why.
#[derive(Debug)]
pub struct ChartFix {
    /// Recorded in the lock beside the chart it changed.
    pub name: &'static str,
    /// The chart directory it applies to, as vendored (`istio`).
    pub chart: &'static str,
    /// The releases of the line that carry the trap (a semver requirement).
    pub versions: &'static str,
    pub edits: &'static [Edit],
}

/// One change to one file; each checks its anchor so that an upstream that differs fails
/// loudly instead of being vendored half-fixed.
#[derive(Debug)]
pub enum Edit {
    /// Replace `anchor`, which must occur exactly `count` times in `file`.
    Replace {
        file: &'static str,
        anchor: &'static str,
        with: &'static str,
        count: usize,
    },
    /// Move CRDs that Helm 2 created through the `crd-install` hook into the chart's `crds/`
    /// directory, which Helm 3 and 4 (and Flux) install before rendering the release. Helm
    /// does not template `crds/`, so the file may hold template actions only in comments.
    MoveCrds {
        from: &'static str,
        to: &'static str,
    },
    /// Remove a template whose only hook is the `post-install` Job that applies `applies` with
    /// kubectl (with the account, role and binding the file gives that Job): what it delivered
    /// at install only, `meshgen manifests` now reapplies on every change.
    DropInstallJob {
        file: &'static str,
        applies: &'static str,
    },
}

impl ReleaseLine {
    pub const ALL: [ReleaseLine; 3] = [ReleaseLine::V0_6, ReleaseLine::V1_0, ReleaseLine::V1_11];

    /// The newest line meshgen supports.
    pub const NEWEST: ReleaseLine = ReleaseLine::V1_11;

    /// Everything the line differs by: the one place that names a line.
    pub fn spec(self) -> &'static LineSpec {
        match self {
            ReleaseLine::V0_6 => &v0_6::SPEC,
            ReleaseLine::V1_0 => &v1_0::SPEC,
            ReleaseLine::V1_11 => &v1_11::SPEC,
        }
    }

    /// The lines whose spec has `property`, as `"1.0" or "1.11"` (for hints).
    pub fn quoted_where(property: impl Fn(&LineSpec) -> bool, join: &str) -> String {
        ReleaseLine::ALL
            .into_iter()
            .filter(|l| property(l.spec()))
            .map(|l| format!("\"{l}\""))
            .collect::<Vec<_>>()
            .join(join)
    }

    /// The lines whose spec has `property`, as `1.0 and 1.11` (for messages).
    pub fn listed_where(property: impl Fn(&LineSpec) -> bool, join: &str) -> String {
        ReleaseLine::ALL
            .into_iter()
            .filter(|l| property(l.spec()))
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(join)
    }

    /// The chart that renders the control-plane Deployments `meshgen post-render` changes:
    /// the release the post-renderer (or the Flux patches) must be attached to.
    pub fn post_render_chart(self) -> Option<&'static str> {
        self.spec().post_render.chart
    }

    /// Whether the ingress chart can fix a node port on a LoadBalancer Service: 0.6's sets
    /// `nodePort` only when its `nodePort.enabled` also makes the Service a NodePort one.
    pub fn node_ports_on_load_balancer(self) -> bool {
        self.spec().node_ports_on_load_balancer
    }

    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The version meshgen uses when no lock file pins one: the newest patch of the line.
    pub fn pinned_version(self) -> semver::Version {
        self.release(*self.patches().end())
    }

    /// The patch numbers of the line's releases (pre-releases aside). Every line is past its
    /// end of life upstream, so the list is complete: 0.6.0; 1.0.0 to 1.0.9; 1.11.0 to 1.11.8.
    /// meshgen's facts (chart keys, gateway ports, release patches, rules) hold for each.
    pub fn patches(self) -> std::ops::RangeInclusive<u64> {
        let (first, last) = self.spec().patches;
        first..=last
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
        self.spec().major_minor
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
        self.spec().charts
    }

    /// The `crds/` directories of one of the line's charts, relative to the chart: what Helm
    /// installs with the release and never upgrades, so a new release's CRDs are applied by
    /// hand. A sub-chart's comes with the values switch of its condition: Helm installs the
    /// `crds/` of an enabled sub-chart only.
    pub fn crd_dirs(self, chart: &str) -> &'static [CrdDir] {
        self.spec()
            .crd_dirs
            .iter()
            .find(|(name, _)| *name == chart)
            .map_or(&[], |(_, dirs)| dirs)
    }

    /// The `networking.istio.io` CRDs the line's charts define. Those two lines share survive a
    /// change of line with the resources in them; 0.6 kept its routing in `config.istio.io`.
    pub fn networking_crds(self) -> &'static [&'static str] {
        self.spec().networking_crds
    }

    /// Whether the line serves Mixer (`config.istio.io` policy and telemetry), `rbac.istio.io`
    /// authorization and `authentication.istio.io` policies, which later lines ignore.
    pub fn serves_mixer_era_apis(self) -> bool {
        self.spec().serves_mixer_era_apis
    }

    /// Whether the line's charts ship the add-ons (grafana, prometheus, tracing, ...).
    pub fn ships_addons(self) -> bool {
        self.spec().ships_addons
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
        self.spec().extra_gateways == ExtraGateways::Releases
    }

    /// Whether the release sets each component's image (`global.<component>.repository` and
    /// `tag`, 0.6's generated values) rather than one hub and tag for all.
    pub fn sets_component_images(self) -> bool {
        self.spec().sets_component_images
    }

    /// Whether tracing is the Zipkin add-on (0.6) rather than a setting of the mesh.
    pub fn tracing_is_zipkin_addon(self) -> bool {
        self.spec().tracing_is_zipkin_addon
    }

    /// Whether the line's charts install revisioned control planes side by side (`revision`
    /// in istio-discovery, per-revision injection and validation webhooks): 1.11.
    pub fn has_revisions(self) -> bool {
        self.revisioned_chart().is_some()
    }

    /// The chart of the line's control plane that takes the `revision` value, its release
    /// then named `istiod-<revision>`: 1.11's istio-discovery.
    pub fn revisioned_chart(self) -> Option<&'static str> {
        self.spec().render.revisioned_chart
    }

    /// How `spec.mtls` reaches the mesh on this line.
    pub fn mtls_mechanism(self) -> MtlsMechanism {
        self.spec().mtls_mechanism
    }

    /// Whether the line's pilot chart creates the Gateway `istio-autogenerated-k8s-ingress`
    /// (1.0; meshgen's chart fix `k8s-ingress-gateway-switch-1.0` makes it switchable).
    pub fn has_autogenerated_k8s_ingress(self) -> bool {
        self.spec().has_autogenerated_k8s_ingress
    }

    /// Kubernetes versions the line supports.
    pub fn kubernetes_support(self) -> KubeSupport {
        self.spec().kubernetes
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
        let given = s.trim().trim_start_matches('v');
        ReleaseLine::ALL
            .into_iter()
            .find(|line| line.as_str() == given)
            .ok_or_else(|| UnknownReleaseLine {
                given: given.to_string(),
            })
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

    /// Each spec agrees with itself: what it names exists in it, and what holds "before" a
    /// release is about a release of the line.
    #[test]
    fn every_spec_is_coherent() {
        for line in ReleaseLine::ALL {
            let spec = line.spec();
            let chart = |name: &str| spec.charts.iter().any(|c| c.name == name);
            assert_eq!(spec.name.parse::<ReleaseLine>().unwrap(), line);
            for c in spec.charts {
                assert!(
                    c.after.is_none_or(chart),
                    "{line}: {} after {:?}",
                    c.name,
                    c.after
                );
            }
            for (name, _) in spec.crd_dirs {
                assert!(chart(name), "{line}: crd_dirs of {name}");
            }
            for fix in spec.chart_fixes {
                assert!(
                    chart(fix.chart),
                    "{line}: fix {} on {}",
                    fix.name,
                    fix.chart
                );
                assert!(fix.name.ends_with(&format!("-{line}")), "{}", fix.name);
            }
            assert!(spec.post_render.chart.is_none_or(chart), "{line}");
            assert!(spec.render.revisioned_chart.is_none_or(chart), "{line}");
            assert_eq!(
                spec.post_render.chart.is_none(),
                spec.post_render.targets.is_empty()
            );
            for t in spec.post_render.targets {
                assert!(
                    spec.ha_components.contains(&t.component),
                    "{line}: {}",
                    t.name
                );
            }
            let releases = line.patches();
            let of_line = |v: &semver::Version| {
                ReleaseLine::of_version(v) == Some(line) && releases.contains(&v.patch)
            };
            if let Some((until, _)) = &spec.gateway_ports.ingress_before {
                assert!(of_line(until), "{line}: ingress ports until {until}");
            }
            if let Some((until, _)) = &spec.lint.reserved_ports_before {
                assert!(of_line(until), "{line}: reserved ports until {until}");
            }
            for v in [&spec.mesh_policy_always_from, &spec.kiali_secret_gone_from] {
                assert!(v.as_ref().is_none_or(of_line), "{line}: {v:?}");
            }
            assert_eq!(
                spec.gateway_ports.egress.is_empty(),
                !spec.has_egress_gateway
            );
            if let Some(only) = spec.only_node_port_value {
                assert!(spec.gateway_ports.ingress.iter().any(|p| p.name == only));
            }
            let k = spec.kubernetes;
            assert!(k.works_from <= k.tested_from && k.tested_from <= k.tested_to);
            assert!(k.tested_to <= k.works_to, "{line}");
            assert!(!spec.chart_keys.types.is_empty(), "{line}");
        }
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
