//! From a validated platform file to a resolved platform: provider defaults applied,
//! internal load balancer annotations chosen for the line, nodePorts settled, and for
//! every value the reason it has (a line of the file, a provider default, a line rule).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::model::gateway_ports::{default_ports, GatewayKind};
use crate::model::load::{self, LoadedPlatform, PlatformRequest};
use crate::model::platform::{
    AddonKind, AntiAffinity, ExtraGateway, HaComponent, KubeConfigSecret, MtlsMode, NodePort,
    NodePortRange, PlatformFile, Provider, ResourceProfile, ServiceType, Spec, Spreading,
};
use crate::model::provider::{defaults, internal_lb_annotation};
use crate::model::release_line::{ChartSource, IstioVersion, KubeMinor, ReleaseLine};
use crate::vendoring::lock::{Lock, LOCK_PATH};
use crate::yaml::{Node, PathSegment};

/// Where a resolved value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum Origin {
    /// Written in the platform file at this line (0 for a `--set` override).
    File { line: usize },
    /// The provider's default, with the reason.
    ProviderDefault { provider: Provider, why: String },
    /// A rule of the release line, with the reason.
    LineRule { line: ReleaseLine, why: String },
    /// meshgen's own default when nothing else decides.
    Default { why: String },
}

impl Origin {
    /// A short phrase for comments in generated files.
    pub fn describe(&self) -> String {
        match self {
            Origin::File { line: 0 } => "set with --set".to_string(),
            Origin::File { line } => format!("platform file line {line}"),
            Origin::ProviderDefault { provider, why } => format!("{provider} default: {why}"),
            Origin::LineRule { line, why } => format!("Istio {line}: {why}"),
            Origin::Default { why } => why.clone(),
        }
    }
}

/// A value and why it is what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// A platform with every default applied, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPlatform {
    pub name: String,
    pub description: Option<String>,
    pub provider: Provider,
    pub line: ReleaseLine,
    /// The exact Istio version rendered for.
    pub version: semver::Version,
    pub version_origin: Origin,
    pub kubernetes: Option<KubeMinor>,
    pub namespace: Sourced<String>,
    pub node_port_range: Sourced<NodePortRange>,
    pub ingress: ResolvedGateway,
    /// None when the egress gateway is off or the line has none.
    pub egress: Option<ResolvedGateway>,
    /// `spec.gateways`: more ingress gateways.
    pub gateways: Vec<ResolvedExtraGateway>,
    pub high_availability: Option<ResolvedHa>,
    pub tracing: Sourced<bool>,
    /// The percentage of requests traced, when the platform sets it (else the chart's own).
    pub trace_sampling: Option<Sourced<f64>>,
    /// The mesh-wide mutual TLS mode, when the platform sets it (else the chart's own).
    pub mtls: Option<Sourced<MtlsMode>>,
    pub addons: Vec<ResolvedAddon>,
    pub resources: Sourced<ResourceProfile>,
    pub pod_security_policy: Option<ResolvedPsp>,
    pub injection_namespaces: Vec<String>,
    /// Where a management cluster's Flux finds this cluster's kubeconfig, when it installs there.
    pub kube_config_secret: Option<KubeConfigSecret>,
    /// `spec.values`: raw chart values, merged after everything meshgen sets.
    pub values: Vec<ChartValue>,
}

/// One key of `spec.values`, with where it was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartValue {
    pub key: String,
    pub origin: Origin,
    pub value: ChartValueNode,
}

/// A map of further keys (merged key by key, as Helm merges maps), or any other value
/// (which replaces what is there, as Helm replaces lists and scalars).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ChartValueNode {
    Map(Vec<ChartValue>),
    Value(serde_json::Value),
}

impl ChartValue {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            ChartValueNode::Value(v) => v.clone(),
            ChartValueNode::Map(children) => serde_json::Value::Object(
                children
                    .iter()
                    .map(|c| (c.key.clone(), c.to_json()))
                    .collect(),
            ),
        }
    }
}

/// The entries of a `spec.values` map node, each with its line (0 when `--set` wrote it).
fn chart_values(node: &Node) -> Vec<ChartValue> {
    let crate::yaml::NodeValue::Map(entries) = &node.value else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|e| ChartValue {
            key: e.key.clone(),
            origin: Origin::File {
                line: e.key_span.line,
            },
            value: match &e.value.value {
                crate::yaml::NodeValue::Map(_) => ChartValueNode::Map(chart_values(&e.value)),
                _ => ChartValueNode::Value(e.value.to_json()),
            },
        })
        .collect()
}

impl ResolvedPlatform {
    /// The Kubernetes version the platform's cluster runs, and how that is known: the
    /// platform's own, else the newest its line runs on.
    pub fn cluster_kubernetes(&self) -> (KubeMinor, String) {
        match self.kubernetes {
            Some(v) => (v, format!("this platform targets Kubernetes {v}")),
            None => {
                let newest = self.line.kubernetes_support().works_to;
                (
                    newest,
                    format!("Istio {} runs on Kubernetes {newest} at most", self.line),
                )
            }
        }
    }

    /// Whether the cluster predates server-side apply, so Helm 4 and Flux must apply client-side.
    pub fn predates_server_side_apply(&self) -> bool {
        self.cluster_kubernetes().0 < crate::model::release_line::SERVER_SIDE_APPLY_FROM
    }

    /// Whether `meshgen manifests` has objects for this platform (its pod security policy,
    /// its injection namespaces, 1.11's PeerAuthentication, 1.0's mesh policy objects).
    pub fn has_manifests(&self) -> bool {
        self.pod_security_policy.is_some()
            || !self.injection_namespaces.is_empty()
            || self.has_custom_resources()
    }

    /// Whether `meshgen manifests` holds Istio custom resources, whose CRDs a release installs
    /// (1.11's PeerAuthentication: `istio-base`; 1.0's MeshPolicy, DestinationRules and
    /// grafana's Policy: `istio`), so the manifests are applied after that release.
    pub fn has_custom_resources(&self) -> bool {
        match self.line {
            ReleaseLine::V1_11 => self.mtls.is_some(),
            ReleaseLine::V1_0 => {
                self.chart_mtls_enabled()
                    || self.version >= crate::model::rules::MESH_POLICY_ALWAYS_FROM
                    || self.addon_enabled(AddonKind::Grafana)
            }
            ReleaseLine::V0_6 => false,
        }
    }

    /// A key of `spec.values` (`["global", "mtls", "enabled"]`), if the platform sets it.
    pub fn chart_value(&self, path: &[&str]) -> Option<&serde_json::Value> {
        fn find<'a>(values: &'a [ChartValue], path: &[&str]) -> Option<&'a serde_json::Value> {
            let (first, rest) = path.split_first()?;
            let entry = values.iter().rev().find(|v| v.key == *first)?;
            match (&entry.value, rest.is_empty()) {
                (ChartValueNode::Value(v), true) => Some(v),
                (ChartValueNode::Map(children), false) => find(children, rest),
                _ => None,
            }
        }
        find(&self.values, path)
    }

    /// 0.6 and 1.0: the chart's mutual TLS switch as the values set it: `spec.mtls` strict, else
    /// a `spec.values` `global.mtls.enabled`, else the chart's default (off).
    pub fn chart_mtls_enabled(&self) -> bool {
        match &self.mtls {
            Some(mode) => mode.value == MtlsMode::Strict,
            None => self
                .chart_value(&["global", "mtls", "enabled"])
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// Whether an add-on's chart is on: `spec.addons`, else `spec.values` `<addon>.enabled`,
    /// else off (every line's default for the add-ons meshgen types).
    pub fn addon_enabled(&self, kind: AddonKind) -> bool {
        self.addons
            .iter()
            .find(|a| a.kind == kind)
            .map(|a| a.enabled)
            .or_else(|| {
                self.chart_value(&[kind.as_str(), "enabled"])
                    .and_then(serde_json::Value::as_bool)
            })
            .unwrap_or(false)
    }

    /// The charts to install, in order: the line's default charts, without the egress
    /// gateway's when the platform turns it off.
    pub fn install_charts(&self) -> impl Iterator<Item = &'static ChartSource> + '_ {
        self.line
            .charts()
            .iter()
            .filter(|c| c.name != "istio-egress" || self.egress.is_some())
    }

    /// Where `meshgen vendor` puts a chart of this platform's version, relative to the repository.
    pub fn chart_dir(&self, chart: &str) -> String {
        format!("vendor/{}", self.vendored_chart(chart))
    }

    /// The same chart relative to the vendor directory (`vendor --dir`).
    pub fn vendored_chart(&self, chart: &str) -> String {
        format!("istio/{}/{chart}", self.version)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedGateway {
    pub kind: GatewayKind,
    pub service_type: Sourced<ServiceType>,
    pub internal: bool,
    /// Why the gateway is installed (the egress gateway can be switched off).
    pub enabled_origin: Origin,
    /// Service annotations: the user's, plus the internal load balancer's.
    pub annotations: BTreeMap<String, Sourced<String>>,
    pub load_balancer_ip: Option<Sourced<String>>,
    /// The chart's complete ports list with the nodePorts meshgen settled.
    pub ports: Vec<ResolvedPort>,
}

/// An ingress gateway beside the chart's own.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedExtraGateway {
    pub name: String,
    pub namespace: Sourced<String>,
    /// Pod and selector labels, `app` and `istio` included.
    pub labels: BTreeMap<String, Sourced<String>>,
    pub gateway: ResolvedGateway,
}

impl ResolvedExtraGateway {
    /// The `app` label, which 1.11's anti-affinity selects the gateway's pods by.
    pub fn app(&self) -> &str {
        self.labels.get("app").map_or(&self.name, |l| &l.value)
    }
}

impl ResolvedGateway {
    /// Whether the ports list differs from the chart's default (and so must be emitted whole).
    pub fn ports_changed(&self, version: &semver::Version) -> bool {
        let defaults = default_ports(version, self.kind);
        self.ports
            .iter()
            .zip(defaults)
            .any(|(p, d)| p.node_port.as_ref().map(|n| n.value) != d.node_port)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPort {
    pub name: String,
    pub port: u16,
    pub target_port: Option<u16>,
    pub protocol: Option<String>,
    pub node_port: Option<Sourced<u16>>,
    /// Why the chart's default nodePort was dropped, when it was.
    pub dropped_default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedHa {
    pub replicas: u8,
    pub anti_affinity: AntiAffinity,
    pub spreading: Spreading,
    /// The components scaled and spread: those `components` names, else all of the line's.
    pub components: Vec<HaComponent>,
    pub origin: Origin,
}

impl ResolvedHa {
    pub fn covers(&self, component: HaComponent) -> bool {
        self.components.contains(&component)
    }

    /// The most replicas an autoscaler may run: the replicas when spreading is required
    /// (a replica past the nodes or zones would stay Pending), else the chart's 5 or more.
    pub fn autoscale_max(&self) -> u8 {
        if self.spreading == Spreading::Required && self.anti_affinity.topology_key().is_some() {
            self.replicas
        } else {
            self.replicas.max(5)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedAddon {
    pub kind: AddonKind,
    pub enabled: bool,
    pub service_type: Sourced<ServiceType>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPsp {
    /// `(namespace, name)` of each bound service account.
    pub service_accounts: Vec<(String, String)>,
}

/// The exact version a platform's `spec.istio` renders for: an exact release as named; a
/// line at the release the lock file's `follow` pins, else at the version built into meshgen.
pub fn version_for(lock: Option<&Lock>, istio: IstioVersion) -> (semver::Version, Origin) {
    if let Some(version) = istio.exact_version() {
        return (
            version,
            Origin::Default {
                why: "the exact release spec.istio names".to_string(),
            },
        );
    }
    match lock.and_then(|l| l.followed(istio.line)) {
        Some(v) => (
            v,
            Origin::Default {
                why: format!("pinned by {LOCK_PATH}"),
            },
        ),
        None => (
            istio.line.pinned_version(),
            Origin::Default {
                why: format!("the version built into meshgen (no {LOCK_PATH} pins it)"),
            },
        ),
    }
}

/// Finds, validates and resolves the platform a command asked for. The exact Istio
/// version comes from `version_for` (the lock file, else the built-in pin).
pub fn resolve_request(
    request: &PlatformRequest,
    dir: &std::path::Path,
    version_for: &dyn Fn(IstioVersion) -> (semver::Version, Origin),
) -> Result<(LoadedPlatform, ResolvedPlatform)> {
    let loaded = load::load_request(request, dir, &|istio| version_for(istio).0)?;
    let (version, origin) = version_for(loaded.file.spec.istio);
    let resolved = resolve_loaded(&loaded, version, origin)?;
    Ok((loaded, resolved))
}

/// Resolves a loaded platform and holds its `spec.values` against what meshgen sets
/// (`merge::conflicts`): every key a typed field sets is a located error.
pub fn resolve_loaded(
    loaded: &LoadedPlatform,
    version: semver::Version,
    version_origin: Origin,
) -> Result<ResolvedPlatform> {
    let resolved = resolve(&loaded.file, &loaded.doc, version, version_origin);
    let found = crate::render::merge::conflicts(&resolved)
        .map_err(|e| crate::error::Error::Render(e.to_string()))?;
    if found.is_empty() {
        return Ok(resolved);
    }
    Err(crate::error::Error::Findings(
        found.into_iter().map(|f| loaded.locate(f)).collect(),
    ))
}

/// Resolves a platform file that passed validation. `doc` is its YAML source, for origins.
pub fn resolve(
    file: &PlatformFile,
    doc: &Node,
    version: semver::Version,
    version_origin: Origin,
) -> ResolvedPlatform {
    let spec = &file.spec;
    let resolver = Resolver::new(spec, doc, &version);
    let namespace = resolver.namespace();
    let (tracing, trace_sampling) = resolver.tracing();
    ResolvedPlatform {
        name: file.metadata.name.to_string(),
        description: file.metadata.description.clone(),
        provider: spec.provider,
        line: spec.istio.line,
        kubernetes: spec.kubernetes.as_ref().map(|k| k.minor),
        ingress: resolver.ingress(),
        egress: resolver.egress(),
        gateways: resolver.extra_gateways(&namespace),
        high_availability: resolver.high_availability(),
        tracing,
        trace_sampling,
        mtls: spec.mtls.map(|mode| Sourced {
            value: mode,
            origin: resolver.at(&["spec", "mtls"]),
        }),
        addons: resolver.addons(),
        resources: file_or_provider(
            spec.resources,
            resolver.at(&["spec", "resources"]),
            spec.provider,
            defaults::resources(spec.provider),
        ),
        pod_security_policy: pod_security_policy(spec),
        injection_namespaces: spec
            .sidecar_injection
            .as_ref()
            .map(|s| s.namespaces.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        kube_config_secret: spec.kube_config_secret.clone(),
        values: doc
            .get(&[
                PathSegment::Key("spec".into()),
                PathSegment::Key("values".into()),
            ])
            .map(chart_values)
            .unwrap_or_default(),
        node_port_range: resolver.node_port_range.clone(),
        namespace,
        version,
        version_origin,
    }
}

/// What each concern of `resolve` reads: the spec, its YAML source for origins, and the
/// facts every gateway's ports depend on.
struct Resolver<'a> {
    spec: &'a Spec,
    doc: &'a Node,
    version: &'a semver::Version,
    node_port_range: Sourced<NodePortRange>,
    /// Node ports the platform names on any gateway (see `node_ports_named`).
    taken: Vec<u16>,
}

impl<'a> Resolver<'a> {
    fn new(spec: &'a Spec, doc: &'a Node, version: &'a semver::Version) -> Self {
        let node_port_range = file_or_provider(
            spec.node_port_range,
            file_line(doc, &keys(&["spec", "nodePortRange"])),
            spec.provider,
            defaults::node_port_range(spec.provider),
        );
        Resolver {
            spec,
            doc,
            version,
            node_port_range,
            taken: node_ports_named(spec),
        }
    }

    fn provider(&self) -> Provider {
        self.spec.provider
    }

    fn line(&self) -> ReleaseLine {
        self.spec.istio.line
    }

    /// The platform file line of a value.
    fn locate(&self, segments: &[PathSegment]) -> Origin {
        file_line(self.doc, segments)
    }

    /// The platform file line of a value under keys only.
    fn at(&self, path: &[&str]) -> Origin {
        self.locate(&keys(path))
    }

    fn namespace(&self) -> Sourced<String> {
        match &self.spec.namespace {
            Some(ns) => Sourced {
                value: ns.to_string(),
                origin: self.at(&["spec", "namespace"]),
            },
            None => Sourced {
                value: "istio-system".to_string(),
                origin: Origin::Default {
                    why: "Istio's conventional namespace".to_string(),
                },
            },
        }
    }

    /// The chart's ports of a gateway with nodePorts settled (`settle_ports`).
    fn ports(
        &self,
        kind: GatewayKind,
        service_type: ServiceType,
        explicit: &BTreeMap<String, NodePort>,
        chart_node_ports: ChartNodePorts<'_>,
        gateway: &[PathSegment],
    ) -> Vec<ResolvedPort> {
        settle_ports(
            self.version,
            kind,
            service_type,
            explicit,
            self.node_port_range.value,
            chart_node_ports,
            gateway,
            &|segments| self.locate(segments),
        )
    }

    /// A gateway's annotations: the user's, plus the provider's internal load balancer
    /// annotation when `internal` asks for one.
    fn annotations(
        &self,
        user: &BTreeMap<String, String>,
        gateway: &[PathSegment],
        internal: bool,
    ) -> BTreeMap<String, Sourced<String>> {
        let mut annotations = user_annotations(user, gateway, &|segments| self.locate(segments));
        if internal {
            annotations.extend(internal_annotation(self.provider(), self.line()));
        }
        annotations
    }

    fn ingress(&self) -> ResolvedGateway {
        let ingress_spec = self.spec.ingress_gateway.clone().unwrap_or_default();
        let service_type = file_or_provider(
            ingress_spec.service_type,
            self.at(&["spec", "ingressGateway", "serviceType"]),
            self.provider(),
            defaults::ingress_service_type(self.provider()),
        );
        let internal = ingress_spec.internal.unwrap_or(false);
        let base = keys(&["spec", "ingressGateway"]);
        ResolvedGateway {
            kind: GatewayKind::Ingress,
            ports: self.ports(
                GatewayKind::Ingress,
                service_type.value,
                &ingress_spec.node_ports,
                ChartNodePorts::Keep { taken: &self.taken },
                &base,
            ),
            service_type,
            internal,
            enabled_origin: Origin::Default {
                why: "every platform has an ingress gateway".to_string(),
            },
            annotations: self.annotations(&ingress_spec.annotations, &base, internal),
            load_balancer_ip: ingress_spec
                .load_balancer_ip
                .as_ref()
                .filter(|ip| !ip.is_empty())
                .map(|ip| Sourced {
                    value: ip.clone(),
                    origin: self.at(&["spec", "ingressGateway", "loadBalancerIP"]),
                }),
        }
    }

    /// None when the platform turns the egress gateway off or the line has none.
    fn egress(&self) -> Option<ResolvedGateway> {
        let egress_spec = self.spec.egress_gateway.clone().unwrap_or_default();
        if !defaults::egress_enabled(&egress_spec, self.line()) {
            return None;
        }
        let base = keys(&["spec", "egressGateway"]);
        let service_type = file_or_provider(
            egress_spec.service_type,
            self.at(&["spec", "egressGateway", "serviceType"]),
            self.provider(),
            defaults::egress_service_type(self.provider()),
        );
        Some(ResolvedGateway {
            kind: GatewayKind::Egress,
            ports: self.ports(
                GatewayKind::Egress,
                service_type.value,
                &egress_spec.node_ports,
                ChartNodePorts::Keep { taken: &self.taken },
                &base,
            ),
            service_type,
            internal: false,
            enabled_origin: match egress_spec.enabled {
                Some(_) => self.at(&["spec", "egressGateway", "enabled"]),
                None => Origin::LineRule {
                    line: self.line(),
                    why: "the egress gateway is on unless egressGateway.enabled is false"
                        .to_string(),
                },
            },
            annotations: self.annotations(&egress_spec.annotations, &base, false),
            load_balancer_ip: None,
        })
    }

    /// `spec.gateways`, each in the Istio namespace unless it names its own.
    fn extra_gateways(&self, namespace: &Sourced<String>) -> Vec<ResolvedExtraGateway> {
        self.spec
            .gateways
            .iter()
            .enumerate()
            .map(|(i, g)| self.extra_gateway(i, g, namespace))
            .collect()
    }

    fn extra_gateway(
        &self,
        index: usize,
        g: &ExtraGateway,
        namespace: &Sourced<String>,
    ) -> ResolvedExtraGateway {
        let base = [keys(&["spec", "gateways"]), vec![PathSegment::Index(index)]].concat();
        let field = |rest: &[&str]| self.locate(&[base.as_slice(), &keys(rest)].concat());
        let service_type = file_or_provider(
            g.service_type,
            field(&["serviceType"]),
            self.provider(),
            defaults::ingress_service_type(self.provider()),
        );
        let internal = g.internal.unwrap_or(false);
        ResolvedExtraGateway {
            name: g.name.to_string(),
            namespace: match &g.namespace {
                Some(ns) => Sourced {
                    value: ns.to_string(),
                    origin: field(&["namespace"]),
                },
                None => Sourced {
                    value: namespace.value.clone(),
                    origin: Origin::Default {
                        why: "the Istio namespace".to_string(),
                    },
                },
            },
            labels: extra_gateway_labels(g, &field),
            gateway: ResolvedGateway {
                kind: GatewayKind::Ingress,
                ports: self.ports(
                    GatewayKind::Ingress,
                    service_type.value,
                    &g.node_ports,
                    ChartNodePorts::Drop,
                    &base,
                ),
                service_type,
                internal,
                enabled_origin: field(&["name"]),
                annotations: self.annotations(&g.annotations, &base, internal),
                load_balancer_ip: None,
            },
        }
    }

    fn high_availability(&self) -> Option<ResolvedHa> {
        let line = self.line();
        self.spec.high_availability.as_ref().map(|ha| ResolvedHa {
            replicas: ha.replicas,
            anti_affinity: ha.anti_affinity.unwrap_or(AntiAffinity::Hostname),
            spreading: ha.spreading.unwrap_or(Spreading::Required),
            components: {
                let named = ha
                    .components
                    .as_deref()
                    .unwrap_or(HaComponent::on_line(line));
                let mut on_line: Vec<HaComponent> =
                    named.iter().map(|c| c.on_line_as(line)).collect();
                on_line.dedup();
                on_line
            },
            origin: self.at(&["spec", "highAvailability"]),
        })
    }

    /// Whether tracing is on, and the sampling percentage when the platform sets one.
    fn tracing(&self) -> (Sourced<bool>, Option<Sourced<f64>>) {
        let tracing = match self.spec.tracing {
            Some(t) => Sourced {
                value: t.enabled(),
                origin: self.at(&["spec", "tracing"]),
            },
            None => Sourced {
                value: false,
                origin: Origin::Default {
                    why: "tracing is off unless asked for".to_string(),
                },
            },
        };
        let sampling = self
            .spec
            .tracing
            .filter(|t| t.enabled())
            .and_then(|t| t.sampling())
            .map(|p| Sourced {
                value: p.value(),
                origin: self.at(&["spec", "tracing", "sampling"]),
            });
        (tracing, sampling)
    }

    /// The add-ons `spec.addons` names, in `AddonKind::ALL`'s order.
    fn addons(&self) -> Vec<ResolvedAddon> {
        let Some(addons) = self.spec.addons.as_ref() else {
            return Vec::new();
        };
        AddonKind::ALL
            .into_iter()
            .filter_map(|kind| {
                addons.get(kind).map(|a| ResolvedAddon {
                    kind,
                    enabled: a.enabled,
                    service_type: match a.service_type {
                        Some(t) => Sourced {
                            value: t,
                            origin: self.at(&["spec", "addons", kind.as_str(), "serviceType"]),
                        },
                        None => Sourced {
                            value: ServiceType::ClusterIP,
                            origin: Origin::Default {
                                why: "an add-on is ClusterIP unless its serviceType says otherwise"
                                    .to_string(),
                            },
                        },
                    },
                    origin: self.at(&["spec", "addons", kind.as_str()]),
                })
            })
            .collect()
    }
}

/// The platform file line of a value.
fn file_line(doc: &Node, segments: &[PathSegment]) -> Origin {
    Origin::File {
        line: doc.locate_value(segments).line,
    }
}

/// The node ports the platform names on any gateway. A chart default nodePort yields to
/// them: two Services cannot hold one node port.
fn node_ports_named(spec: &Spec) -> Vec<u16> {
    spec.ingress_gateway
        .iter()
        .map(|i| &i.node_ports)
        .chain(spec.egress_gateway.iter().map(|e| &e.node_ports))
        .chain(spec.gateways.iter().map(|g| &g.node_ports))
        .flat_map(|ports| ports.values().map(|p| p.0))
        .collect()
}

/// An extra gateway's pod and selector labels: `app` and `istio` are its name unless its
/// `labels` say otherwise.
fn extra_gateway_labels(
    g: &ExtraGateway,
    field: &dyn Fn(&[&str]) -> Origin,
) -> BTreeMap<String, Sourced<String>> {
    let mut labels: BTreeMap<String, Sourced<String>> = ["app", "istio"]
        .into_iter()
        .map(|key| {
            let value = Sourced {
                value: g.name.to_string(),
                origin: Origin::Default {
                    why: format!("a gateway's `{key}` label is its name"),
                },
            };
            (key.to_string(), value)
        })
        .collect();
    labels.extend(g.labels.iter().map(|(k, v)| {
        let value = Sourced {
            value: v.clone(),
            origin: field(&["labels", k]),
        };
        (k.clone(), value)
    }));
    labels
}

/// The pod security policy when it is on, binding the default service account unless it
/// names others.
fn pod_security_policy(spec: &Spec) -> Option<ResolvedPsp> {
    spec.pod_security_policy
        .as_ref()
        .filter(|p| p.enabled)
        .map(|p| ResolvedPsp {
            service_accounts: if p.service_accounts.is_empty() {
                vec![("default".to_string(), "default".to_string())]
            } else {
                p.service_accounts
                    .iter()
                    .map(|sa| (sa.namespace.to_string(), sa.name.clone()))
                    .collect()
            },
        })
}

/// The file's value with its line, else the provider's default with its reason.
fn file_or_provider<T>(
    value: Option<T>,
    at: Origin,
    provider: Provider,
    default: (T, &'static str),
) -> Sourced<T> {
    match value {
        Some(value) => Sourced { value, origin: at },
        None => Sourced {
            value: default.0,
            origin: Origin::ProviderDefault {
                provider,
                why: default.1.to_string(),
            },
        },
    }
}

fn user_annotations(
    annotations: &BTreeMap<String, String>,
    gateway: &[PathSegment],
    locate: &dyn Fn(&[PathSegment]) -> Origin,
) -> BTreeMap<String, Sourced<String>> {
    annotations
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Sourced {
                    value: v.clone(),
                    origin: locate(&[gateway, &keys(&["annotations", k])].concat()),
                },
            )
        })
        .collect()
}

/// The provider's internal load balancer annotation on the line, for `internal: true`.
fn internal_annotation(provider: Provider, line: ReleaseLine) -> Option<(String, Sourced<String>)> {
    internal_lb_annotation(provider, line).map(|(key, value)| {
        (
            key.to_string(),
            Sourced {
                value: value.to_string(),
                origin: Origin::LineRule {
                    line,
                    why: format!("{provider}'s internal load balancer annotation (internal: true)"),
                },
            },
        )
    })
}

/// Path segments of keys.
fn keys(path: &[&str]) -> Vec<PathSegment> {
    path.iter()
        .map(|s| PathSegment::Key((*s).to_string()))
        .collect()
}

/// What becomes of the nodePorts the chart's ports list carries.
#[derive(Clone, Copy)]
enum ChartNodePorts<'a> {
    /// Kept where they fit, unless a port the platform names anywhere (`taken`) is one.
    Keep { taken: &'a [u16] },
    /// Dropped: they belong to the chart's own gateway (an extra gateway's list).
    Drop,
}

/// The chart's ports with nodePorts settled: the platform's explicit ones; a chart default
/// only where the Service type opens node ports, it lies in the range and no other port
/// uses it; otherwise none, so the cluster assigns one from its own range.
#[allow(clippy::too_many_arguments)]
fn settle_ports(
    version: &semver::Version,
    kind: GatewayKind,
    service_type: ServiceType,
    explicit: &BTreeMap<String, NodePort>,
    range: NodePortRange,
    chart_node_ports: ChartNodePorts<'_>,
    gateway: &[PathSegment],
    locate: &dyn Fn(&[PathSegment]) -> Origin,
) -> Vec<ResolvedPort> {
    let line = ReleaseLine::of_version(version).expect("a release of a line");
    let defaults = default_ports(version, kind);
    defaults
        .iter()
        .map(|d| {
            let mut dropped_default = None;
            let node_port = if let Some(port) = explicit.get(d.name) {
                Some(Sourced {
                    value: port.0,
                    origin: locate(&[gateway, &keys(&["nodePorts", d.name])].concat()),
                })
            } else if let Some(default) = d.node_port {
                let taken = match chart_node_ports {
                    ChartNodePorts::Keep { taken } => Some(taken),
                    ChartNodePorts::Drop => None,
                };
                if taken.is_none() {
                    dropped_default = Some(format!(
                        "chart default {default} is the ingress gateway's; the cluster assigns one"
                    ));
                    None
                } else if !service_type.has_node_ports() {
                    dropped_default = Some(format!("a {service_type} Service has no node ports"));
                    None
                } else if !range.contains(default) {
                    dropped_default = Some(format!(
                        "chart default {default} is outside {range}; the cluster assigns one"
                    ));
                    None
                } else if taken.is_some_and(|t| t.contains(&default)) {
                    dropped_default = Some(format!(
                        "chart default {default} is taken by another port; the cluster assigns one"
                    ));
                    None
                } else {
                    Some(Sourced {
                        value: default,
                        origin: Origin::LineRule {
                            line,
                            why: "the chart's default nodePort".to_string(),
                        },
                    })
                }
            } else {
                None
            };
            ResolvedPort {
                name: d.name.to_string(),
                port: d.port,
                target_port: d.target_port,
                protocol: d.protocol.map(str::to_string),
                node_port,
                dropped_default,
            }
        })
        .collect()
}
