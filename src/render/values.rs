//! Rendering a resolved platform into the Helm values file of its release line.
//!
//! Rust decides every value (this module builds the view); the per-line Tera templates
//! under `templates/` only lay them out with comments. Every scalar passes through the
//! `yaml` filter, which writes strings double-quoted so that a YAML 1.1 reader such as
//! Helm keeps `no`, `on`, `1_000` or `"true"` as the strings they are. The rendered text
//! is parsed back before it is returned: malformed output is an error, never a file.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use crate::model::gateway_ports::GatewayKind;
use crate::model::platform::{AddonKind, HaComponent, MtlsMode, ResourceProfile, ServiceType};
use crate::model::release_line::{MtlsMechanism, ReleaseLine};
use crate::render::resolve::{
    revisioned_release, ResolvedCanary, ResolvedExtraGateway, ResolvedGateway, ResolvedPlatform,
    Sourced,
};
use crate::yaml::emit::{one_line, prequoted_key, prequoted_scalar, yaml_scalar};

/// The image registry of Istio's published releases.
pub const RELEASE_HUB: &str = "docker.io/istio";

const TEMPLATES: &[(&str, &str)] = &[
    ("ports", include_str!("../../templates/ports.yaml.tera")),
    ("0.6", include_str!("../../templates/values-0.6.yaml.tera")),
    ("1.0", include_str!("../../templates/values-1.0.yaml.tera")),
    (
        "1.11",
        include_str!("../../templates/values-1.11.yaml.tera"),
    ),
];

/// Rendering failed: a template bug or output that does not parse back.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template error: {0}")]
    Template(String),
    #[error("rendered values do not parse back as YAML ({0}); this is a meshgen bug")]
    Malformed(String),
}

/// The Tera engine of one line: only its template (with the ports macros it imports) is
/// parsed, since a process renders one line, and parsing costs more than rendering (Tera's
/// parser takes about 80 ns a character; BENCHMARKS.md). The header is written in Rust
/// (`header`) for the same reason.
fn engine(line: ReleaseLine) -> &'static tera::Tera {
    static TERA: [OnceLock<tera::Tera>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let index = ReleaseLine::ALL
        .iter()
        .position(|l| *l == line)
        .expect("every line is in ALL");
    TERA[index].get_or_init(|| {
        let mut tera = tera::Tera::default();
        tera.add_raw_templates(
            TEMPLATES
                .iter()
                .copied()
                .filter(|(name, _)| ["ports", line.as_str()].contains(name)),
        )
        .expect("embedded templates parse");
        tera.register_filter("yaml", yaml_filter);
        tera.register_filter("prequoted", prequoted_filter);
        tera.register_filter("prequoted_key", prequoted_key_filter);
        tera.register_filter("comment", comment_filter);
        tera.register_filter("release_name", release_name_filter);
        tera.autoescape_on(vec![]);
        tera
    })
}

fn yaml_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(yaml_scalar(value)))
}

fn prequoted_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(prequoted_scalar(value)))
}

fn prequoted_key_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let key = value
        .as_str()
        .ok_or_else(|| tera::Error::msg("prequoted_key needs a string"))?;
    Ok(Value::String(prequoted_key(key)))
}

/// Text for a `#` comment: one line, whatever the user wrote.
fn comment_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let text = match value.as_str() {
        Some(text) => one_line(text).into_owned(),
        None => one_line(&value.to_string()).into_owned(),
    };
    Ok(Value::String(text))
}

/// The Helm release name meshgen suggests for a vendored chart path.
pub fn release_name(chart_dir: &str) -> &'static str {
    let name = chart_dir.rsplit('/').next().unwrap_or_default();
    ReleaseLine::ALL
        .iter()
        .flat_map(|line| line.charts())
        .find(|c| c.name == name)
        .map_or("istio", |c| c.release)
}

fn release_name_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(
        release_name(value.as_str().unwrap_or_default()).to_string(),
    ))
}

/// What a line's template reads; fields only the header reads (`header`) are not
/// serialized, since building Tera's context costs as much as rendering it.
#[derive(Debug, Serialize)]
struct View {
    #[serde(skip)]
    meshgen_version: &'static str,
    /// The Secret the platform's Kiali needs and no chart of this release creates (1.0.6 and
    /// later), for the header's warning.
    #[serde(skip)]
    kiali_secret: Option<&'static str>,
    platform: String,
    #[serde(skip)]
    description: Option<String>,
    #[serde(skip)]
    provider: String,
    line: String,
    version: String,
    #[serde(skip)]
    version_origin: String,
    /// The `helm install`s of the file's header, in order.
    #[serde(skip)]
    installs: Vec<InstallView>,
    namespace: String,
    namespace_why: String,
    node_port_range: String,
    hub: &'static str,
    tag: String,
    ingress: GatewayView,
    egress: Option<GatewayView>,
    /// Whether the gateways chart reads a gateway's `cpu` target (1.0.1 on).
    gateway_cpu_target: bool,
    /// `spec.gateways`, as entries of this file (1.0).
    extra_gateways: Vec<ExtraGatewayView>,
    /// The extra gateway this file is for (1.11: its own `istio-ingress` release); `ingress`
    /// is then that gateway.
    gateway_release: Option<ExtraGatewayView>,
    ha: Option<HaView>,
    tracing: bool,
    tracing_why: String,
    /// `pilot.traceSampling` as YAML (always with a point: the chart's default is a float).
    trace_sampling: Option<String>,
    trace_sampling_why: String,
    mtls: Option<MtlsView>,
    /// The release whose CRDs the custom resources of `meshgen manifests` need (1.11's
    /// PeerAuthentication: `istio-base`; 1.0's MeshPolicy and the rest: `istio`): the manifests
    /// are applied right after it, for the reason given.
    #[serde(skip)]
    manifests_after: Option<String>,
    #[serde(skip)]
    manifests_why: &'static str,
    addons: BTreeMap<&'static str, AddonView>,
    small: bool,
    resources_why: String,
    /// One of the releases is installed with the post-renderer.
    #[serde(skip)]
    post_render: bool,
    /// Helm 4 must apply client-side: the cluster predates server-side apply.
    #[serde(skip)]
    helm4_client_side: bool,
    /// `meshgen manifests` has objects for this platform.
    #[serde(skip)]
    has_manifests: bool,
    /// The commands that take the platform off its cluster, in order, each with why.
    #[serde(skip)]
    uninstall: Vec<Step>,
    /// `spec.kubernetesIngressGateway` on 1.0: the switch and why.
    k8s_ingress_gateway: Option<SwitchView>,
    /// The charts' `revision` value (1.11): the stable control plane's, or the canary's in its
    /// own file; and why.
    revision: Option<String>,
    revision_why: String,
    /// The canary control plane this file is for (its own istio-discovery release). Its
    /// gateways, which istio-discovery does not read, are the ones values.yaml holds once the
    /// canary is promoted, so that promotion leaves the release's values as they are.
    canary_release: Option<String>,
    /// Where the values files are, from the directory the commands run in (`generate`'s
    /// `generated/<platform>`, from the repository root); None: beside the commands.
    #[serde(skip)]
    values_dir: Option<String>,
    /// The file's comment header (`header`), written from the rest of the view.
    header: String,
}

/// A boolean the platform sets, and where.
#[derive(Debug, Serialize)]
struct SwitchView {
    value: bool,
    why: String,
}

/// One `helm install` of the header (also what `meshgen plan` compares release by release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallView {
    pub release: String,
    /// The vendored chart directory, relative to the repository (`vendor/istio/<version>/<chart>`).
    pub chart: String,
    pub namespace: String,
    /// The values file it takes, as `generate` names it.
    pub values_file: String,
    /// Of the releases, the one the post-renderer attaches to.
    pub post_render: bool,
}

/// The releases of a platform's values header, in install order (uninstall is the reverse).
pub fn header_installs(platform: &ResolvedPlatform) -> Vec<InstallView> {
    installs(platform, None)
}

/// What no Helm release of a line owns and its uninstall deletes by hand: (resource, name, why).
pub fn unowned_objects(line: ReleaseLine) -> &'static [(&'static str, &'static str, &'static str)] {
    line.spec().render.unowned_objects
}

/// The `grep -E` pattern of a line's CRD names, when its charts keep CRDs in `crds/` (which
/// Helm never deletes nor upgrades); 0.6's charts render theirs as templates of the release.
pub fn crd_pattern(line: ReleaseLine) -> Option<&'static str> {
    line.spec().render.crd_pattern
}

/// The command deleting the CRDs of a line's `crds/` (Helm keeps them) but those named in
/// `keep`; None where the charts render their CRDs as templates of the release (0.6).
pub fn crd_delete_command(line: ReleaseLine, keep: &[&str]) -> Option<String> {
    let pattern = crd_pattern(line)?;
    Some(if keep.is_empty() {
        format!("kubectl get crd -o name | grep -E {pattern} | xargs kubectl delete")
    } else {
        format!(
            "kubectl get crd -o name | grep -E {pattern} | grep -vE '/({})$' | xargs kubectl delete",
            keep.iter()
                .map(|c| c.replace('.', "\\."))
                .collect::<Vec<_>>()
                .join("|")
        )
    })
}

/// Why the namespace is deleted by hand when a platform goes.
pub const NAMESPACE_LEFT: &str = "`--create-namespace` made it; Helm never deletes a namespace";

/// Why every CRD is deleted by hand when a platform goes.
pub const CRDS_LEFT: &str =
    "Helm keeps the CRDs of crds/; this deletes every Istio resource in the cluster";

/// An extra gateway (`spec.gateways`).
#[derive(Debug, Serialize)]
struct ExtraGatewayView {
    name: String,
    namespace: String,
    namespace_why: String,
    labels: Vec<AnnotationView>,
    /// Its `app` label, which 1.11's anti-affinity selects by.
    app: String,
    gateway: GatewayView,
}

/// A command of the header, and what it is for.
#[derive(Debug, Serialize)]
struct Step {
    command: String,
    why: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct GatewayView {
    key: &'static str,
    /// The `highAvailability.components` name that scales it.
    ha_component: &'static str,
    enabled_why: String,
    service_type: String,
    service_type_why: String,
    annotations: Vec<AnnotationView>,
    load_balancer_ip: Option<String>,
    load_balancer_ip_why: String,
    ports_changed: bool,
    ports: Vec<PortView>,
}

#[derive(Debug, Clone, Serialize)]
struct AnnotationView {
    key: String,
    value: String,
    why: String,
}

#[derive(Debug, Clone, Serialize)]
struct PortView {
    name: String,
    port: u16,
    target_port: Option<u16>,
    protocol: Option<String>,
    node_port: Option<u16>,
    why: String,
}

#[derive(Debug, Serialize)]
struct HaView {
    replicas: u8,
    autoscale_max: u8,
    /// The components scaled, as the platform file spells them.
    components: Vec<&'static str>,
    /// Why the autoscaler's maximum is what it is, when spreading caps it (ends in "; ").
    max_why: &'static str,
    topology_key: Option<&'static str>,
    spreading: &'static str,
    why: String,
}

/// The chart switch of the platform's mutual TLS mode: 0.6's `global.securityEnabled`, 1.0's
/// `global.mtls.enabled` (1.11 has none: `meshgen manifests` writes a PeerAuthentication).
#[derive(Debug, Serialize)]
struct MtlsView {
    mode: &'static str,
    enabled: bool,
    /// What the chart does with the switch, for the comment.
    effect: String,
    why: String,
}

#[derive(Debug, Serialize)]
struct AddonView {
    enabled: bool,
    /// The Service the add-on's chart creates.
    service: String,
    service_type: String,
    service_type_why: String,
    why: String,
}

/// The Service an add-on's chart creates in the `istio` release: 0.6's charts put the release
/// name before the chart's (`istio-grafana`), except Prometheus's; 1.0's name it after the
/// add-on.
fn addon_service(kind: AddonKind, line: ReleaseLine) -> String {
    let render = &line.spec().render;
    if render.addon_services_unprefixed.contains(&kind) {
        return kind.as_str().to_string();
    }
    format!("{}{}", render.addon_service_prefix, kind.as_str())
}

impl AnnotationView {
    /// A key and its sourced value (an annotation or a label).
    fn of((key, value): (&String, &Sourced<String>)) -> Self {
        AnnotationView {
            key: key.clone(),
            value: value.value.clone(),
            why: value.origin.describe(),
        }
    }
}

fn gateway_view(gateway: &ResolvedGateway, version: &semver::Version) -> GatewayView {
    GatewayView {
        key: gateway.kind.values_key(),
        ha_component: gateway.kind.spec_field(),
        enabled_why: gateway.enabled_origin.describe(),
        service_type: gateway.service_type.value.to_string(),
        service_type_why: gateway.service_type.origin.describe(),
        annotations: gateway.annotations.iter().map(AnnotationView::of).collect(),
        load_balancer_ip: gateway.load_balancer_ip.as_ref().map(|ip| ip.value.clone()),
        load_balancer_ip_why: gateway
            .load_balancer_ip
            .as_ref()
            .map(|ip| ip.origin.describe())
            .unwrap_or_default(),
        ports_changed: gateway.ports_changed(version),
        ports: gateway
            .ports
            .iter()
            .map(|p| PortView {
                name: p.name.clone(),
                port: p.port,
                target_port: p.target_port,
                protocol: p.protocol.clone(),
                node_port: p.node_port.as_ref().map(|n| n.value),
                why: match (&p.node_port, &p.dropped_default) {
                    (Some(n), _) => n.origin.describe(),
                    (None, Some(dropped)) => dropped.clone(),
                    (None, None) => String::new(),
                },
            })
            .collect(),
    }
}

/// The node port range and why, preferring the provider's reason when the file repeats it.
fn node_port_range_text(platform: &ResolvedPlatform) -> String {
    let range = platform.node_port_range.value;
    let (provider_range, provider_why) =
        crate::model::provider::defaults::node_port_range(platform.provider);
    let why = if range == provider_range {
        provider_why.to_string()
    } else {
        platform.node_port_range.origin.describe()
    };
    format!("{range} ({why})")
}

/// The release whose CRDs the custom resources of `meshgen manifests` need, and why they
/// are applied right after it.
pub fn manifests_after(line: ReleaseLine) -> (&'static str, &'static str) {
    line.spec().render.manifests_after
}

/// Why the manifests of a platform with a canary follow the canary's istiod.
const AFTER_CANARY: &str = "after the canary's istiod: the namespaces its `istio.io/rev` label moves have no injector before it runs";

/// The release `meshgen manifests` is applied right after, and why; None: before every
/// release (nothing in them needs a release first).
pub fn manifests_after_release(platform: &ResolvedPlatform) -> Option<(String, &'static str)> {
    if let Some(canary) = &platform.canary {
        return Some((revisioned_release(&canary.revision), AFTER_CANARY));
    }
    let (release, why) = manifests_after(platform.line);
    platform
        .has_custom_resources()
        .then(|| (release.to_string(), why))
}

/// The add-ons' switches, Services and reasons; on 0.6, tracing is the Zipkin add-on.
fn addons_view(platform: &ResolvedPlatform) -> BTreeMap<&'static str, AddonView> {
    let line = platform.line;
    let mut addons = BTreeMap::new();
    for addon in &platform.addons {
        addons.insert(
            addon.kind.as_str(),
            AddonView {
                enabled: addon.enabled,
                service: addon_service(addon.kind, line),
                service_type: addon.service_type.value.to_string(),
                service_type_why: addon.service_type.origin.describe(),
                why: addon.origin.describe(),
            },
        );
    }
    // Tracing on 0.6 is the Zipkin add-on.
    if line.tracing_is_zipkin_addon() && platform.tracing.value && !addons.contains_key("zipkin") {
        let why = format!(
            "tracing on Istio 0.6 is Zipkin ({})",
            platform.tracing.origin.describe()
        );
        addons.insert(
            AddonKind::Zipkin.as_str(),
            AddonView {
                enabled: true,
                service: addon_service(AddonKind::Zipkin, line),
                service_type: ServiceType::ClusterIP.to_string(),
                service_type_why: why.clone(),
                why,
            },
        );
    }
    addons
}

fn view(platform: &ResolvedPlatform) -> View {
    let line = platform.line;
    let addons = addons_view(platform);
    let ha = platform.high_availability.as_ref().map(|ha| HaView {
        replicas: ha.replicas,
        autoscale_max: ha.autoscale_max(),
        components: ha.components.iter().map(|c| c.as_str()).collect(),
        max_why: if ha.autoscale_max() == ha.replicas && ha.replicas < 5 {
            "no more than the replicas: required anti-affinity leaves a replica beyond the nodes or zones Pending; "
        } else {
            ""
        },
        topology_key: ha.anti_affinity.topology_key(),
        spreading: ha.spreading.as_str(),
        why: ha.origin.describe(),
    });
    let mtls = platform
        .mtls
        .as_ref()
        .and_then(|m| mtls_view(line, &platform.version, m.value, m.origin.describe()));
    let installs = installs(platform, None);
    let post_render = installs.iter().any(|i| i.post_render);
    let manifests_after = manifests_after_release(platform);
    View {
        meshgen_version: env!("CARGO_PKG_VERSION"),
        platform: platform.name.clone(),
        description: platform.description.clone(),
        provider: platform.provider.to_string(),
        line: line.to_string(),
        version: platform.version.to_string(),
        version_origin: platform.version_origin.describe(),
        installs,
        namespace: platform.namespace.value.clone(),
        namespace_why: platform.namespace.origin.describe(),
        node_port_range: node_port_range_text(platform),
        hub: RELEASE_HUB,
        tag: platform.version.to_string(),
        kiali_secret: (line
            .spec()
            .kiali_secret_gone_from
            .as_ref()
            .is_some_and(|gone| platform.version >= *gone)
            && platform
                .addons
                .iter()
                .any(|a| a.kind == AddonKind::Kiali && a.enabled))
        .then_some(crate::model::rules::KIALI_SECRET),
        ingress: gateway_view(&platform.ingress, &platform.version),
        egress: platform
            .egress
            .as_ref()
            .map(|g| gateway_view(g, &platform.version)),
        gateway_cpu_target: platform.version >= crate::model::rules::GATEWAY_CPU_TARGET_FROM,
        extra_gateways: platform
            .gateways
            .iter()
            .map(|g| extra_gateway_view(g, &platform.version))
            .collect(),
        gateway_release: None,
        post_render,
        helm4_client_side: platform.predates_server_side_apply(),
        has_manifests: platform.has_manifests(),
        uninstall: uninstall_steps(platform, None),
        ha,
        tracing: platform.tracing.value,
        tracing_why: platform.tracing.origin.describe(),
        trace_sampling: platform
            .trace_sampling
            .as_ref()
            .map(|p| format!("{:?}", p.value)),
        trace_sampling_why: platform
            .trace_sampling
            .as_ref()
            .map(|p| p.origin.describe())
            .unwrap_or_default(),
        mtls,
        manifests_why: manifests_after.as_ref().map_or("", |m| m.1),
        manifests_after: manifests_after.map(|m| m.0),
        addons,
        small: platform.resources.value == ResourceProfile::Small,
        resources_why: platform.resources.origin.describe(),
        values_dir: None,
        header: String::new(),
        revision: platform.revision.as_ref().map(|r| r.value.clone()),
        revision_why: platform
            .revision
            .as_ref()
            .map(|r| r.origin.describe())
            .unwrap_or_default(),
        canary_release: None,
        k8s_ingress_gateway: platform
            .kubernetes_ingress_gateway
            .as_ref()
            .map(|s| SwitchView {
                value: s.value,
                why: s.origin.describe(),
            }),
    }
}

/// The chart switch for a mutual TLS mode and what the chart makes of it. Validation refused
/// what a chart cannot express (0.6 permissive; on 1.0, disabled from 1.0.3 and permissive
/// before), so each remaining mode has its switch here.
fn mtls_view(
    line: ReleaseLine,
    version: &semver::Version,
    mode: MtlsMode,
    why: String,
) -> Option<MtlsView> {
    let strict = mode == MtlsMode::Strict;
    let mesh_policy_always = line
        .spec()
        .mesh_policy_always_from
        .as_ref()
        .is_some_and(|from| version >= from);
    let effect = match line.mtls_mechanism() {
        MtlsMechanism::ChartValues if strict => {
            "the mesh config's authPolicy MUTUAL_TLS for every service (the Kubernetes API excluded) and mutual TLS to the control plane".to_string()
        }
        MtlsMechanism::ChartValues => "no mutual TLS, the chart's default".to_string(),
        MtlsMechanism::MeshPolicy if strict => {
            "`meshgen manifests` applies a MeshPolicy without mode (STRICT) and DestinationRules asking ISTIO_MUTUAL (the Kubernetes API excluded), as the security chart's post-install job did at install only".to_string()
        }
        MtlsMechanism::MeshPolicy if mesh_policy_always => {
            "the chart's default: `meshgen manifests` applies a PERMISSIVE MeshPolicy, as the security chart's post-install job did at install only".to_string()
        }
        MtlsMechanism::MeshPolicy => {
            "the chart's default: no MeshPolicy, so sidecars accept plain text only".to_string()
        }
        MtlsMechanism::PeerAuthentication => return None,
    };
    Some(MtlsView {
        mode: mode.as_str(),
        enabled: strict,
        effect,
        why,
    })
}

/// How a platform comes off its cluster: the releases in reverse order, then what Helm does not
/// own, last what deletes every Istio resource of the cluster (the CRDs) or everything in the
/// namespace.
fn uninstall_steps(
    platform: &ResolvedPlatform,
    gateway: Option<&ResolvedExtraGateway>,
) -> Vec<Step> {
    let namespace = &platform.namespace.value;
    let mut steps: Vec<Step> = installs(platform, gateway)
        .iter()
        .rev()
        .map(|install| Step {
            command: format!(
                "helm uninstall {} --namespace {}",
                install.release, install.namespace
            ),
            why: "",
        })
        .collect();
    if gateway.is_some() {
        return steps;
    }
    if platform.pod_security_policy.is_some() {
        steps.push(Step {
            command: format!(
                "kubectl delete podsecuritypolicy,clusterrole,clusterrolebinding {}",
                crate::model::platform::PodSecurityPolicy::OBJECT_NAME
            ),
            why: "the pod security policy of `meshgen manifests`",
        });
    }
    for injected in &platform.injection_namespaces {
        steps.push(Step {
            command: format!(
                "kubectl label namespace {injected} {}-",
                platform.injection_label(injected).0
            ),
            why: "the injection label; the namespace and its workloads stay",
        });
    }
    for (resource, name, why) in unowned_objects(platform.line) {
        steps.push(Step {
            command: format!("kubectl delete {resource} {name}"),
            why,
        });
    }
    steps.push(Step {
        command: format!("kubectl delete namespace {namespace}"),
        why: NAMESPACE_LEFT,
    });
    // 0.6's charts render their CRDs as templates: the releases took them.
    if let Some(command) = crd_delete_command(platform.line, &[]) {
        steps.push(Step {
            command,
            why: CRDS_LEFT,
        });
    }
    steps
}

/// The releases to install for a platform's values file, in order: its line's charts, then
/// (1.11) one `istio-ingress` release per extra gateway with that gateway's values file. For
/// an extra gateway's own file, that release alone.
fn installs(
    platform: &ResolvedPlatform,
    gateway: Option<&ResolvedExtraGateway>,
) -> Vec<InstallView> {
    let gateway_install = |g: &ResolvedExtraGateway| InstallView {
        release: g.name.clone(),
        chart: platform.chart_dir(EXTRA_GATEWAY_CHART),
        namespace: g.namespace.value.clone(),
        values_file: gateway_values_file(&g.name),
        post_render: false,
    };
    if let Some(g) = gateway {
        return vec![gateway_install(g)];
    }
    let post_render_chart = platform.line.post_render_chart().filter(|_| {
        platform
            .high_availability
            .as_ref()
            .is_some_and(|ha| ha.anti_affinity.topology_key().is_some())
    });
    let revisioned = platform.line.revisioned_chart();
    let mut installs: Vec<InstallView> = Vec::new();
    for c in platform.install_charts() {
        let chart = platform.chart_dir(c.name);
        installs.push(InstallView {
            release: platform.release_of(c.name),
            namespace: platform.namespace.value.clone(),
            values_file: "values.yaml".to_string(),
            post_render: post_render_chart == Some(c.name),
            chart,
        });
        if let (Some(canary), true) = (&platform.canary, revisioned == Some(c.name)) {
            installs.push(canary_install(
                platform,
                canary,
                post_render_chart == Some(c.name),
            ));
        }
    }
    if platform.line.extra_gateways_are_releases() {
        installs.extend(platform.gateways.iter().map(gateway_install));
    }
    installs
}

/// The file a canary control plane's values go to (`meshgen values --canary`).
pub fn canary_values_file(canary: &ResolvedCanary) -> String {
    format!("{}.yaml", revisioned_release(&canary.revision))
}

/// The canary's release: the revisioned chart of its own release, with its own values file.
fn canary_install(
    platform: &ResolvedPlatform,
    canary: &ResolvedCanary,
    post_render: bool,
) -> InstallView {
    let chart = platform
        .line
        .revisioned_chart()
        .expect("validation refuses a canary where the line has no revisions");
    InstallView {
        release: revisioned_release(&canary.revision),
        chart: format!("vendor/istio/{}/{chart}", canary.version),
        namespace: platform.namespace.value.clone(),
        values_file: canary_values_file(canary),
        post_render,
    }
}

/// The chart an extra gateway installs from on 1.11.
pub const EXTRA_GATEWAY_CHART: &str = "istio-ingress";

/// The file an extra gateway's values go to on 1.11 (`meshgen values --gateway NAME`).
pub fn gateway_values_file(name: &str) -> String {
    format!("gateway-{name}.yaml")
}

fn extra_gateway_view(
    gateway: &ResolvedExtraGateway,
    version: &semver::Version,
) -> ExtraGatewayView {
    let mut view = gateway_view(&gateway.gateway, version);
    view.ports_changed = true;
    view.ha_component = HaComponent::Gateways.as_str();
    ExtraGatewayView {
        name: gateway.name.clone(),
        namespace: gateway.namespace.value.clone(),
        namespace_why: gateway.namespace.origin.describe(),
        labels: gateway.labels.iter().map(AnnotationView::of).collect(),
        app: gateway.app().to_string(),
        gateway: view,
    }
}

/// Why a platform has no extra gateway of a name.
#[derive(Debug, thiserror::Error)]
pub enum GatewayFileError {
    #[error("platform {platform} has no gateway `{name}` in spec.gateways{}", match .known.is_empty() { true => String::new(), false => format!(" (it has {})", .known.join(", ")) })]
    Unknown {
        platform: String,
        name: String,
        known: Vec<String>,
    },
    #[error("on Istio {line} the gateway `{name}` is an entry of the platform's values.yaml, not a file of its own (1.11 installs each extra gateway as a release)")]
    NotARelease { line: ReleaseLine, name: String },
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// A gateway the platform does not have (as a file) is the user's mistake; a render error is not.
impl From<GatewayFileError> for crate::error::Error {
    fn from(e: GatewayFileError) -> Self {
        match e {
            GatewayFileError::Render(e) => crate::error::Error::Render(e.to_string()),
            other => crate::error::Error::Usage(other.to_string()),
        }
    }
}

/// What the line's template renders for an extra gateway's own release (1.11): the
/// platform's values with that gateway in the `istio-ingress` chart's place, its name and
/// labels, without `spec.values`; the header's commands take the values file from
/// `values_dir`.
pub fn gateway_template(
    platform: &ResolvedPlatform,
    name: &str,
    values_dir: Option<&str>,
) -> Result<String, GatewayFileError> {
    let Some(gateway) = platform.gateways.iter().find(|g| g.name == name) else {
        return Err(GatewayFileError::Unknown {
            platform: platform.name.clone(),
            name: name.to_string(),
            known: platform.gateways.iter().map(|g| g.name.clone()).collect(),
        });
    };
    if !platform.line.extra_gateways_are_releases() {
        return Err(GatewayFileError::NotARelease {
            line: platform.line,
            name: name.to_string(),
        });
    }
    let mut view = view(platform);
    view.values_dir = values_dir.map(str::to_string);
    view.installs = installs(platform, Some(gateway));
    view.uninstall = uninstall_steps(platform, Some(gateway));
    view.has_manifests = false;
    view.manifests_after = None;
    view.post_render = false;
    view.egress = None;
    view.extra_gateways = Vec::new();
    let release = extra_gateway_view(gateway, &platform.version);
    view.ingress = release.gateway.clone();
    view.gateway_release = Some(release);
    Ok(render_view(platform.line, view)?)
}

/// What the line's template renders for a canary control plane's own release (1.11): the
/// platform's values at the canary's release, with its revision, for the istio-discovery
/// chart alone (the gateways stay on the stable control plane), without `spec.values`: what
/// values.yaml holds once the canary is promoted.
pub fn canary_template(
    platform: &ResolvedPlatform,
    values_dir: Option<&str>,
) -> Result<String, RenderError> {
    let Some(canary) = &platform.canary else {
        return Err(RenderError::Template(format!(
            "platform {} has no spec.canary",
            platform.name
        )));
    };
    let mut at_canary = platform.clone();
    at_canary.version = canary.version.clone();
    at_canary.version_origin = canary.origin.clone();
    let post_render = installs(platform, None)
        .iter()
        .any(|i| i.post_render && i.values_file == canary_values_file(canary));
    let mut view = view(&at_canary);
    view.values_dir = values_dir.map(str::to_string);
    view.installs = vec![canary_install(platform, canary, post_render)];
    view.uninstall = vec![Step {
        command: format!(
            "helm uninstall {} --namespace {}",
            revisioned_release(&canary.revision),
            platform.namespace.value
        ),
        why: "",
    }];
    view.has_manifests = false;
    view.manifests_after = None;
    view.post_render = post_render;
    view.kiali_secret = None;
    view.revision = Some(canary.revision.clone());
    view.revision_why = format!("canary: {}", canary.origin.describe());
    view.canary_release = Some(revisioned_release(&canary.revision));
    render_view(platform.line, view)
}

/// What the line's template alone renders: everything meshgen sets, without `spec.values`;
/// the header's commands take the values file from `values_dir` (what `generate` writes,
/// whose commands run from the repository root).
pub fn template(
    platform: &ResolvedPlatform,
    values_dir: Option<&str>,
) -> Result<String, RenderError> {
    let mut view = view(platform);
    view.values_dir = values_dir.map(str::to_string);
    render_view(platform.line, view)
}

fn render_view(line: ReleaseLine, mut view: View) -> Result<String, RenderError> {
    view.header = header(&view);
    let context =
        tera::Context::from_serialize(view).map_err(|e| RenderError::Template(e.to_string()))?;
    let text = engine(line).render(line.as_str(), &context).map_err(|e| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        RenderError::Template(message)
    })?;
    let text = tidy(&text);
    parse_back(&text)?;
    Ok(text)
}

/// The rendered text must read back as YAML (meshgen's reading: no duplicate key), so that a
/// template bug never reaches a file.
fn parse_back(text: &str) -> Result<(), RenderError> {
    crate::yaml::parse(&comment_lines_blanked(text))
        .map(drop)
        .map_err(|e| RenderError::Malformed(e.to_string()))
}

/// `text` with each whole-line comment emptied, for the parse-back: a comment line never
/// makes YAML valid or invalid, and the reader scans comments a character at a time (a fifth
/// of `generate`'s parse-back went to the header's). Line numbers stay as they are.
fn comment_lines_blanked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in lines_with_ends(text) {
        if line.trim_start_matches(' ').starts_with('#') {
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The lines of `text`, each with its `\n` (the last without one if the text does not end in
/// a newline; none after a final newline): `str::split_inclusive`, found with `memchr`,
/// which costs a fifth of the per-line search of a `char` pattern on short lines.
fn lines_with_ends(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', text.as_bytes())
        .map(|newline| newline + 1)
        .chain((!text.ends_with('\n')).then_some(text.len()))
        .filter(|end| *end > 0)
        .map(move |end| {
            let line = &text[start..end];
            start = end;
            line
        })
}

/// The values file's comment header: what it is for, where its version comes from, the
/// install commands in order (Helm 3, and Helm 4 where it differs), the uninstall steps.
/// Written here rather than in a template: it is most of a line's template text, and Tera
/// parses about 80 ns a character at every process start (BENCHMARKS.md).
fn header(view: &View) -> String {
    let mut out = String::with_capacity(4096);
    let platform = &view.platform;
    let (what, regenerate) = match (&view.gateway_release, &view.canary_release) {
        (Some(g), _) => (
            format!(
                "gateway {} (its own release of the istio-ingress chart), ",
                g.name
            ),
            format!(" --gateway {}", g.name),
        ),
        (None, Some(c)) if !c.is_empty() => (
            format!("canary control plane {c} (its own release of the istio-discovery chart), "),
            " --canary".to_string(),
        ),
        _ => (String::new(), String::new()),
    };
    let description = match view.description.as_deref() {
        Some(d) if !d.is_empty() => format!(": {}", one_line(d)),
        _ => String::new(),
    };
    let _ = write!(
        out,
        "# Helm values for {what}Istio {} (release line {}), generated by meshgen {}.\n\
         # Do not edit by hand: change the platform file and regenerate with `meshgen values{regenerate}`.\n\
         # platform: {} (provider {}){description}\n\
         # Istio {}: {}",
        view.version,
        view.line,
        view.meshgen_version,
        one_line(platform),
        view.provider,
        view.version,
        one_line(&view.version_origin),
    );
    if view.has_manifests && view.manifests_after.as_deref().is_none_or(str::is_empty) {
        let _ = write!(
            out,
            "\n# First the objects besides the charts (pod security policy, injection labels):\n\
             #   meshgen manifests --platform {platform} | kubectl apply -f -"
        );
    }
    if let Some(secret) = view.kiali_secret {
        let _ = write!(
            out,
            "\n# WARNING: Istio {}'s kiali chart does not create the Secret `{secret}` (keys\n\
             # `username`, `passphrase`) its Deployment reads; create it first, or Kiali never starts:\n\
             #   kubectl -n {} create secret generic {secret} --from-literal=username=admin --from-literal=passphrase=CHANGE-ME",
            view.version, view.namespace
        );
    }
    header_installs_text(view, &mut out);
    if view.post_render {
        out.push_str(
            "\n# Pod anti-affinity of the control plane is not a chart value on this line: the\n\
             # post-renderer (`meshgen post-render`) adds it; Flux users get it from `meshgen flux`.",
        );
    }
    out.push_str(
        "\n# Uninstall, in this order (the last commands remove what Helm leaves behind):",
    );
    for step in &view.uninstall {
        let _ = write!(out, "\n#   {}", step.command);
        if !step.why.is_empty() {
            let _ = write!(out, "  # {}", step.why);
        }
    }
    out.push('\n');
    out
}

/// The header's `helm install` commands: with Helm 3, then with Helm 4 where they differ.
fn header_installs_text(view: &View, out: &mut String) {
    let helm4_differs = view.helm4_client_side || view.post_render;
    out.push_str(if helm4_differs {
        "\n# Install, in this order, with Helm 3:"
    } else {
        "\n# Install, in this order, with Helm 3 or Helm 4:"
    });
    install_commands(view, out, |i| {
        if i.post_render {
            format!(" --post-renderer meshgen --post-renderer-args post-render --post-renderer-args --platform={}", view.platform)
        } else {
            String::new()
        }
    });
    if !helm4_differs {
        return;
    }
    let client_side = "server-side apply off: Kubernetes serves it from 1.16";
    let plugin = "meshgen as a post-renderer plugin: helm plugin install ./helm-plugins/meshgen, from meshgen init";
    let why = match (view.helm4_client_side, view.post_render) {
        (true, true) => format!("{client_side}; {plugin}"),
        (true, false) => client_side.to_string(),
        _ => plugin.to_string(),
    };
    let _ = write!(out, "\n# With Helm 4 ({why}):");
    install_commands(view, out, |i| {
        let mut flags = String::new();
        if view.helm4_client_side {
            flags.push_str(" --server-side=false");
        }
        if i.post_render {
            let _ = write!(
                flags,
                " --post-renderer meshgen --post-renderer-args --platform={}",
                view.platform
            );
        }
        flags
    });
}

/// One `helm install` line per release (and the manifests after the release they follow),
/// `flags` giving each install's last flags.
fn install_commands(view: &View, out: &mut String, flags: impl Fn(&InstallView) -> String) {
    let values_dir = match view.values_dir.as_deref() {
        Some(dir) if !dir.is_empty() => format!("{dir}/"),
        _ => String::new(),
    };
    for (n, i) in view.installs.iter().enumerate() {
        let create = if n == 0 || i.namespace != view.namespace {
            " --create-namespace"
        } else {
            ""
        };
        let _ = write!(
            out,
            "\n#   helm install {} {} --namespace {}{create} -f {values_dir}{}{}",
            i.release,
            i.chart,
            i.namespace,
            i.values_file,
            flags(i)
        );
        if view.manifests_after.as_deref() == Some(i.release.as_str()) {
            let _ = write!(
                out,
                "\n#   meshgen manifests --platform {} | kubectl apply -f -  # {}",
                view.platform, view.manifests_why
            );
        }
    }
}

/// Drops trailing spaces and runs of blank lines the template conditionals leave.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in lines_with_ends(text) {
        // The trim takes the `\n` and a `\r` before it, as `str::lines` would.
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Which gateway a values path belongs to (used by tests and `explain`).
pub fn gateway_of(key: &str) -> Option<GatewayKind> {
    match key {
        "istio-ingressgateway" => Some(GatewayKind::Ingress),
        "istio-egressgateway" => Some(GatewayKind::Egress),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parse_back_sees_past_comment_lines_and_keeps_their_line_numbers() {
        assert!(parse_back("# a header\na: 1  # why\n  # indented\nb: [x]\n").is_ok());
        let err = parse_back("# one\n# two\na: 1\na: 2\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("duplicate key `a`") && err.contains('4'),
            "{err}"
        );
        let err = parse_back("# one\nb: [\n").unwrap_err().to_string();
        assert!(err.contains("do not parse back"), "{err}");
        assert_eq!(
            comment_lines_blanked("# x\na: 1 # y\n  # z\n\t# tab\n"),
            "\na: 1 # y\n\n\t# tab\n"
        );
    }

    #[test]
    fn lines_with_ends_are_split_inclusive() {
        for text in ["", "\n", "a", "a\n", "a\nb", "\n\na\r\n\nb\n", "é\nü"] {
            assert_eq!(
                lines_with_ends(text).collect::<Vec<_>>(),
                text.split_inclusive('\n').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn strings_stay_strings_for_yaml_1_1_readers() {
        for s in [
            "no",
            "on",
            "y",
            "1_000",
            "true",
            "0x1F",
            "2021-01-01",
            "~",
            "",
            "a: b",
            "#x",
            "\"q\"\n",
        ] {
            let out = yaml_scalar(&Value::String(s.to_string()));
            assert!(out.starts_with('"') && out.ends_with('"'), "{out}");
            let back = crate::yaml::parse(&format!("k: {out}\n"))
                .unwrap()
                .to_json();
            assert_eq!(back["k"], s);
        }
        assert_eq!(yaml_scalar(&Value::from(30401)), "30401");
        assert_eq!(yaml_scalar(&Value::Bool(true)), "true");
    }

    #[test]
    fn keys_a_chart_prints_raw_stay_string_keys() {
        assert_eq!(prequoted_key("on"), r#""\"on\"""#);
        assert_eq!(prequoted_key("null"), r#""\"null\"""#);
        // A prefixed key is never another type: kept readable.
        assert_eq!(
            prequoted_key("cloud.google.com/load-balancer-type"),
            r#""cloud.google.com/load-balancer-type""#
        );
    }

    #[test]
    fn prequoted_values_render_to_a_quoted_string() {
        let out = prequoted_scalar(&Value::String("true".into()));
        assert_eq!(out, r#""\"true\"""#);
        // What the chart template sees is the inner text, which is itself a YAML string.
        let seen = crate::yaml::parse(&format!("k: {out}\n"))
            .unwrap()
            .to_json();
        let rendered = crate::yaml::parse(&format!("k: {}\n", seen["k"].as_str().unwrap()))
            .unwrap()
            .to_json();
        assert_eq!(rendered["k"], "true");
    }
}
