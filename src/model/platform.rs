//! The platform model: what a platform file says, as Rust types. The JSON schema in
//! `schemas/platform.schema.json` is generated from these types, so a field's doc comment
//! is its description for editors and reviewers.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::model::release_line::{IstioVersion, KubeMinor};

/// A platform file: one Kubernetes cluster and how Istio should be installed on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "meshgen platform")]
pub struct PlatformFile {
    /// Always `meshgen/v1alpha1`.
    pub api_version: ApiVersion,
    /// Always `Platform`.
    pub kind: Kind,
    pub metadata: Metadata,
    pub spec: Spec,
}

/// The version of the platform file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "meshgen/v1alpha1")]
    V1Alpha1,
}

/// The kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Kind {
    Platform,
}

/// Identifies the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// The platform's name, a DNS-1123 label: lower-case letters, digits and `-`, at most 63 characters.
    pub name: DnsLabel,
    /// One line shown by `meshgen platforms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What the cluster is and how Istio is to be installed on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    /// Where the cluster runs; supplies defaults for service types, node port range and resources.
    pub provider: Provider,
    /// The Istio to install: a release line, "0.6", "1.0" or "1.11", to follow the version
    /// vendor/meshgen.lock pins for it; or an exact release of a line, "1.0.2", which only an
    /// edit of this file moves (quote it: 1.10 unquoted is the number 1.1).
    pub istio: IstioVersion,
    /// The cluster's Kubernetes version, `MAJOR.MINOR` (quoted), checked against the release line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesVersion>,
    /// Namespace Istio is installed into; default `istio-system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<DnsLabel>,
    /// The ingress gateway Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_gateway: Option<IngressGateway>,
    /// The egress gateway (not available on 0.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_gateway: Option<EgressGateway>,
    /// More ingress gateways beside `ingressGateway` (e.g. an internal one), each its own
    /// Deployment and Service: entries of the gateways chart on 1.0, another install of the
    /// `istio-ingress` chart on 1.11 (its own release and values file); not on 0.6.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<ExtraGateway>,
    /// The node ports the cluster accepts, `FIRST-LAST`; provider default (pks: 30400-30449, others 30000-32767).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port_range: Option<NodePortRange>,
    /// Replicas and pod anti-affinity for the control plane and gateways; absent means single replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_availability: Option<HighAvailability>,
    /// Distributed tracing: Jaeger on 1.0, Zipkin on 0.6, mesh tracing settings on 1.11.
    /// `true`/`false`, or `{enabled, sampling}` to set the percentage of requests traced
    /// (1.0 and 1.11; default the chart's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Tracing>,
    /// Mutual TLS between sidecars, mesh-wide: `disabled`, `permissive` (plain text and mutual
    /// TLS accepted, the way to move a running mesh) or `strict`; absent keeps the chart's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<MtlsMode>,
    /// Optional add-ons shipped with the charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addons: Option<Addons>,
    /// A pod security policy letting injected pods run Istio's init container (privileged, NET_ADMIN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_policy: Option<PodSecurityPolicy>,
    /// Resource requests: `default`, or `small` for a 4 GiB minikube; provider default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceProfile>,
    /// Namespaces labelled `istio-injection=enabled` so their pods get sidecars automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar_injection: Option<SidecarInjection>,
    /// Install from a management cluster's Flux: the Secret, in the Flux namespace, holding this
    /// cluster's kubeconfig. `meshgen flux` then applies every object to this cluster through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config_secret: Option<KubeConfigSecret>,
    /// Raw Helm chart values for what the fields above do not name (meshConfig, access logs,
    /// a private registry's hub, tolerations, per-component resources), deep-merged after
    /// everything meshgen sets. Every key must be one the line's charts declare, with the type
    /// of its default as Helm reads it; a key a field above sets is refused (use the field).
    /// Quote strings YAML 1.1 would read otherwise (`"on"`, `"1_000"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Flux's `kubeConfig.secretRef`: a Secret of the management cluster holding a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeConfigSecret {
    /// The Secret's name, in the namespace of the Flux objects.
    pub name: DnsSubdomain,
    /// The key of the kubeconfig in the Secret's data; Flux's default: `value`, then `value.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<SecretKey>,
}

/// Where the cluster runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// VMware (Cloud) PKS: node ports restricted to 30400-30449.
    Pks,
    /// Google Kubernetes Engine.
    Gke,
    /// Amazon Web Services.
    Aws,
    /// Microsoft Azure.
    Azure,
    /// On-premises KVM (Giant Swarm): no cloud load balancer, gateways on node ports.
    Kvm,
    /// A local minikube: node ports and small resources.
    Minikube,
}

impl Provider {
    pub const ALL: [Provider; 6] = [
        Provider::Pks,
        Provider::Gke,
        Provider::Aws,
        Provider::Azure,
        Provider::Kvm,
        Provider::Minikube,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Pks => "pks",
            Provider::Gke => "gke",
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Kvm => "kvm",
            Provider::Minikube => "minikube",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a Service is exposed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum ServiceType {
    LoadBalancer,
    NodePort,
    ClusterIP,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::NodePort => "NodePort",
            ServiceType::ClusterIP => "ClusterIP",
        }
    }

    /// Whether Services of this type open node ports.
    pub fn has_node_ports(self) -> bool {
        matches!(self, ServiceType::LoadBalancer | ServiceType::NodePort)
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ingress gateway Service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressGateway {
    /// Service type; provider default (kvm, minikube: NodePort; others: LoadBalancer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    /// Ask the provider for an internal load balancer (needs serviceType LoadBalancer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    /// Extra Service annotations, string to string.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// A fixed load balancer IP address (serviceType LoadBalancer).
    #[serde(
        default,
        rename = "loadBalancerIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub load_balancer_ip: Option<String>,
    /// Port name to node port. Ports not named keep the chart's node port when it lies in
    /// the node port range, else the cluster assigns one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_ports: BTreeMap<String, NodePort>,
}

/// An ingress gateway beside `ingressGateway`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraGateway {
    /// Name of its Deployment and Service (and, on 1.11, of its Helm release).
    pub name: DnsLabel,
    /// Namespace it runs in; default the Istio namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<DnsLabel>,
    /// Labels of its pods, which its Service selects and Istio `Gateway` resources select it
    /// by; `app` and `istio` default to the name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Service type; provider default, as for the ingress gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    /// Ask the provider for an internal load balancer (needs serviceType LoadBalancer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    /// Extra Service annotations, string to string.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Port name to node port, as for the ingress gateway; ports not named get one from the
    /// cluster (the chart's default node ports belong to the ingress gateway).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_ports: BTreeMap<String, NodePort>,
}

/// The egress gateway Service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgressGateway {
    /// Install the egress gateway; default true on 1.0 and 1.11.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Service type; provider default (kvm: NodePort; others: ClusterIP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    /// Extra Service annotations, string to string.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Port name to node port (serviceType NodePort or LoadBalancer).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_ports: BTreeMap<String, NodePort>,
}

/// Replicas and spreading of the control plane and gateways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HighAvailability {
    /// Replicas of each control-plane component and gateway.
    #[schemars(range(min = 2, max = 15))]
    pub replicas: u8,
    /// Spread replicas across nodes (`hostname`), zones (`zone`), or not at all (`none`); default hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<AntiAffinity>,
    /// How strictly: `required` (a replica without a free node or zone stays Pending) or
    /// `preferred` (the scheduler spreads when it can, weight 100); default required.
    /// Required spreading caps each autoscaler at the replicas, so none adds a replica the
    /// nodes or zones cannot hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spreading: Option<Spreading>,
    /// The components that get the replicas and spreading; the others keep the chart's single
    /// replica. Default: every component of the line. Seed 000 (PKS, Istio 1.0) spreads
    /// `[pilot, citadel, galley]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub components: Option<Vec<HaComponent>>,
}

/// A component `highAvailability` scales and spreads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum HaComponent {
    /// Pilot (1.11: istiod).
    Pilot,
    /// Mixer (1.0: istio-policy and istio-telemetry, which share one replica count).
    Mixer,
    /// Citadel (0.6: the CA).
    Citadel,
    /// Galley (1.0).
    Galley,
    /// The sidecar injector (0.6, 1.0).
    SidecarInjector,
    /// The ingress gateway (0.6: the ingress).
    IngressGateway,
    /// The egress gateway (1.0, 1.11).
    EgressGateway,
    /// The extra gateways of `spec.gateways` (1.0, 1.11).
    Gateways,
}

impl HaComponent {
    pub const ALL: [HaComponent; 8] = [
        HaComponent::Pilot,
        HaComponent::Mixer,
        HaComponent::Citadel,
        HaComponent::Galley,
        HaComponent::SidecarInjector,
        HaComponent::IngressGateway,
        HaComponent::EgressGateway,
        HaComponent::Gateways,
    ];

    /// The components a line's charts have: 0.6 has no galley, egress gateway or extra
    /// gateways; 1.11 has no mixer, and its istiod is pilot, citadel, galley and the injector
    /// in one (each of the four names it, so seed 000's set holds on every line).
    pub fn on_line(line: crate::model::release_line::ReleaseLine) -> &'static [HaComponent] {
        use crate::model::release_line::ReleaseLine;
        match line {
            ReleaseLine::V0_6 => &[
                HaComponent::Pilot,
                HaComponent::Mixer,
                HaComponent::Citadel,
                HaComponent::SidecarInjector,
                HaComponent::IngressGateway,
            ],
            ReleaseLine::V1_0 => &HaComponent::ALL,
            ReleaseLine::V1_11 => &[
                HaComponent::Pilot,
                HaComponent::Citadel,
                HaComponent::Galley,
                HaComponent::SidecarInjector,
                HaComponent::IngressGateway,
                HaComponent::EgressGateway,
                HaComponent::Gateways,
            ],
        }
    }

    /// The Deployment's component on a line: on 1.11 pilot, citadel, galley and the
    /// injector are istiod, `pilot`.
    pub fn on_line_as(self, line: crate::model::release_line::ReleaseLine) -> HaComponent {
        match self {
            HaComponent::Citadel | HaComponent::Galley | HaComponent::SidecarInjector
                if line == crate::model::release_line::ReleaseLine::V1_11 =>
            {
                HaComponent::Pilot
            }
            c => c,
        }
    }

    /// The name a platform file spells.
    pub fn as_str(self) -> &'static str {
        match self {
            HaComponent::Pilot => "pilot",
            HaComponent::Mixer => "mixer",
            HaComponent::Citadel => "citadel",
            HaComponent::Galley => "galley",
            HaComponent::SidecarInjector => "sidecarInjector",
            HaComponent::IngressGateway => "ingressGateway",
            HaComponent::EgressGateway => "egressGateway",
            HaComponent::Gateways => "gateways",
        }
    }
}

/// Whether pod anti-affinity is a scheduling requirement or a preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Spreading {
    /// `requiredDuringSchedulingIgnoredDuringExecution`.
    Required,
    /// `preferredDuringSchedulingIgnoredDuringExecution`, weight 100.
    Preferred,
}

impl Spreading {
    /// The `podAntiAffinity` field a term of this kind goes in.
    pub fn field(self) -> &'static str {
        match self {
            Spreading::Required => "requiredDuringSchedulingIgnoredDuringExecution",
            Spreading::Preferred => "preferredDuringSchedulingIgnoredDuringExecution",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Spreading::Required => "required",
            Spreading::Preferred => "preferred",
        }
    }
}

/// The weight of a preferred anti-affinity term: the most a preference can weigh, and what
/// the 1.11 gateway charts write for `podAntiAffinityTermLabelSelector`.
pub const PREFERRED_WEIGHT: u8 = 100;

/// The mesh-wide mutual TLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MtlsMode {
    /// Sidecars accept plain text only.
    Disabled,
    /// Sidecars accept plain text and mutual TLS.
    Permissive,
    /// Sidecars accept mutual TLS only.
    Strict,
}

impl MtlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Disabled => "disabled",
            MtlsMode::Permissive => "permissive",
            MtlsMode::Strict => "strict",
        }
    }
}

impl fmt::Display for MtlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `spec.tracing`: a switch, or the switch with a sampling percentage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tracing {
    /// `true` or `false`: the chart's own sampling percentage.
    Switch(bool),
    Settings(TracingSettings),
}

impl Tracing {
    pub fn enabled(self) -> bool {
        match self {
            Tracing::Switch(on) => on,
            Tracing::Settings(s) => s.enabled.unwrap_or(true),
        }
    }

    pub fn sampling(self) -> Option<Percentage> {
        match self {
            Tracing::Switch(_) => None,
            Tracing::Settings(s) => s.sampling,
        }
    }
}

/// The schema is one object-or-boolean schema rather than an `anyOf` of both: the object
/// keywords only apply to objects, and a validator then reports the field at fault (an
/// `anyOf` only says that no branch matched).
impl JsonSchema for Tracing {
    fn schema_name() -> Cow<'static, str> {
        "Tracing".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut sampling = generator.subschema_for::<Percentage>();
        sampling.ensure_object().insert(
            "description".into(),
            "The percentage of requests traced, 0.01 to 100 (pilot's `traceSampling`); default the chart's own (1.0.9 and 1.11.8: 1 %; 1.0.0 to 1.0.2: 100 %).".into(),
        );
        json_schema!({
            "description": "`true` or `false`, or `{enabled, sampling}`: tracing with the percentage of requests traced (1.0 and 1.11).",
            "type": ["boolean", "object"],
            "properties": {
                "enabled": {
                    "description": "Trace requests; default true.",
                    "type": "boolean"
                },
                "sampling": sampling
            },
            "additionalProperties": false
        })
    }
}

/// Tracing with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TracingSettings {
    /// Trace requests; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The percentage of requests traced, 0.01 to 100 (pilot's `traceSampling`); default the
    /// chart's own (1.0.9 and 1.11.8: 1 %; 1.0.0 to 1.0.2: 100 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Percentage>,
}

/// A percentage, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Percentage(f64);

impl Percentage {
    pub fn value(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Percentage {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if (0.0..=100.0).contains(&value) {
            Ok(Percentage(value))
        } else {
            Err(format!("{value} is not a percentage from 0 to 100"))
        }
    }
}

impl From<Percentage> for f64 {
    fn from(p: Percentage) -> f64 {
        p.0
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} %", self.0)
    }
}

impl JsonSchema for Percentage {
    fn schema_name() -> Cow<'static, str> {
        "Percentage".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A percentage, from 0 to 100.",
            "type": "number",
            "minimum": 0,
            "maximum": 100
        })
    }
}

/// Which topology replicas are spread over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    Hostname,
    Zone,
    None,
}

impl AntiAffinity {
    /// The node label Kubernetes spreads pods over, if any.
    pub fn topology_key(self) -> Option<&'static str> {
        match self {
            AntiAffinity::Hostname => Some("kubernetes.io/hostname"),
            AntiAffinity::Zone => Some("topology.kubernetes.io/zone"),
            AntiAffinity::None => None,
        }
    }
}

/// The add-ons the charts can install.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Addons {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grafana: Option<Addon>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<Addon>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiali: Option<Addon>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servicegraph: Option<Addon>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipkin: Option<Addon>,
}

/// The add-ons by name, in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddonKind {
    Grafana,
    Prometheus,
    Kiali,
    Servicegraph,
    Zipkin,
}

impl AddonKind {
    pub const ALL: [AddonKind; 5] = [
        AddonKind::Grafana,
        AddonKind::Prometheus,
        AddonKind::Kiali,
        AddonKind::Servicegraph,
        AddonKind::Zipkin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AddonKind::Grafana => "grafana",
            AddonKind::Prometheus => "prometheus",
            AddonKind::Kiali => "kiali",
            AddonKind::Servicegraph => "servicegraph",
            AddonKind::Zipkin => "zipkin",
        }
    }
}

impl Addons {
    pub fn get(&self, kind: AddonKind) -> Option<&Addon> {
        match kind {
            AddonKind::Grafana => self.grafana.as_ref(),
            AddonKind::Prometheus => self.prometheus.as_ref(),
            AddonKind::Kiali => self.kiali.as_ref(),
            AddonKind::Servicegraph => self.servicegraph.as_ref(),
            AddonKind::Zipkin => self.zipkin.as_ref(),
        }
    }
}

/// One add-on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Addon {
    /// Install the add-on.
    pub enabled: bool,
    /// Service type of the add-on's UI; default ClusterIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
}

/// A pod security policy for clusters that enforce PSP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSecurityPolicy {
    /// Create the policy, its ClusterRole and the bindings (`meshgen manifests`).
    pub enabled: bool,
    /// Service accounts bound to the policy, each `namespace:name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<ServiceAccountRef>,
}

impl PodSecurityPolicy {
    /// Name of the PodSecurityPolicy `meshgen manifests` writes, its ClusterRole and binding.
    pub const OBJECT_NAME: &'static str = "istio-sidecar";
}

/// Namespaces that get automatic sidecar injection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SidecarInjection {
    /// Each namespace is labelled `istio-injection=enabled` by `meshgen manifests`.
    pub namespaces: Vec<DnsLabel>,
}

/// Resource request profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceProfile {
    /// The charts' own requests.
    Default,
    /// Requests small enough for a 4 GiB minikube.
    Small,
}

// ---- newtypes -------------------------------------------------------------------------

/// A string newtype that only holds what `is_valid` accepts: serde goes through `TryFrom`
/// (the error names `$what`), and the JSON schema states the same rule for editors.
macro_rules! validated_string {
    (
        $(#[$doc:meta])*
        $name:ident, what: $what:literal, pattern: $pattern:ident, max: $max:literal,
        description: $description:literal,
        fn is_valid($s:ident) $valid:block
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn is_valid($s: &str) -> bool $valid
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                if $name::is_valid(&s) {
                    Ok($name(s))
                } else {
                    Err(format!(concat!("`{}` is not ", $what), s))
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "description": $description,
                    "type": "string",
                    "pattern": $pattern,
                    "maxLength": $max
                })
            }
        }
    };
}

pub const DNS_LABEL_PATTERN: &str = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";

validated_string! {
    /// A DNS-1123 label: a Kubernetes namespace or object name.
    DnsLabel, what: "a DNS-1123 label", pattern: DNS_LABEL_PATTERN, max: 63,
    description: "A DNS-1123 label: lower-case letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters.",
    fn is_valid(s) {
        let bytes = s.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
    }
}

pub const DNS_SUBDOMAIN_PATTERN: &str =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

validated_string! {
    /// A DNS-1123 subdomain: the name of most Kubernetes objects, a Secret's among them;
    /// dot-separated labels of lower-case letters, digits and `-`, at most 253 characters.
    DnsSubdomain, what: "a DNS-1123 subdomain", pattern: DNS_SUBDOMAIN_PATTERN, max: 253,
    description: "A DNS-1123 subdomain: dot-separated parts of lower-case letters, digits and `-`, each starting and ending with a letter or digit, at most 253 characters.",
    fn is_valid(s) {
        s.len() <= 253
            && s.split('.').all(|label| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                    && b[0] != b'-'
                    && b[b.len() - 1] != b'-'
            })
    }
}

pub const SECRET_KEY_PATTERN: &str = "^[-._a-zA-Z0-9]+$";

validated_string! {
    /// A key of a Secret's data: what Kubernetes accepts, letters, digits, `-`, `_` and `.`,
    /// at most 253 characters, and neither `.` nor `..`.
    SecretKey, what: "a Secret data key", pattern: SECRET_KEY_PATTERN, max: 253,
    description: "A key of a Secret's data: letters, digits, `-`, `_` and `.`, at most 253 characters.",
    fn is_valid(s) {
        !s.is_empty()
            && s.len() <= 253
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._".contains(&c))
    }
}

/// A Service node port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodePort(pub u16);

impl JsonSchema for NodePort {
    fn schema_name() -> Cow<'static, str> {
        "NodePort".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A node port; it must lie in the platform's nodePortRange and in Kubernetes' 30000-32767.",
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
        })
    }
}

/// The Kubernetes default node port range.
pub const KUBERNETES_NODE_PORTS: NodePortRange = NodePortRange {
    first: 30000,
    last: 32767,
};

/// An inclusive range of node ports, written `FIRST-LAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodePortRange {
    pub first: u16,
    pub last: u16,
}

impl NodePortRange {
    pub fn contains(self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for NodePortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl FromStr for NodePortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let err = || format!("`{s}` is not a node port range like 30000-32767");
        let (a, b) = s.split_once('-').ok_or_else(err)?;
        let first: u16 = a.trim().parse().map_err(|_| err())?;
        let last: u16 = b.trim().parse().map_err(|_| err())?;
        Ok(NodePortRange { first, last })
    }
}

impl TryFrom<String> for NodePortRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<NodePortRange> for String {
    fn from(r: NodePortRange) -> String {
        r.to_string()
    }
}

impl JsonSchema for NodePortRange {
    fn schema_name() -> Cow<'static, str> {
        "NodePortRange".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An inclusive node port range `FIRST-LAST`, inside 30000-32767.",
            "type": "string",
            "pattern": "^[0-9]{1,5}-[0-9]{1,5}$"
        })
    }
}

/// A Kubernetes version `MAJOR.MINOR[.PATCH]`, optionally with a leading `v`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KubernetesVersion {
    pub text: String,
    pub minor: KubeMinor,
}

pub const KUBERNETES_VERSION_PATTERN: &str =
    "^v?[0-9]+\\.[0-9]+(\\.[0-9]+)?([-+][0-9A-Za-z.+-]*)?$";

impl TryFrom<String> for KubernetesVersion {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let err = || format!("`{s}` is not a Kubernetes version like \"1.10\"");
        let body = s.strip_prefix('v').unwrap_or(&s);
        let core = body.split(['-', '+']).next().unwrap_or_default();
        let mut parts = core.split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        Ok(KubernetesVersion {
            minor: KubeMinor::new(major, minor),
            text: s,
        })
    }
}

impl From<KubernetesVersion> for String {
    fn from(v: KubernetesVersion) -> String {
        v.text
    }
}

impl JsonSchema for KubernetesVersion {
    fn schema_name() -> Cow<'static, str> {
        "KubernetesVersion".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes version, `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, as a quoted string.",
            "type": "string",
            "pattern": KUBERNETES_VERSION_PATTERN
        })
    }
}

/// A service account `namespace:name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceAccountRef {
    pub namespace: DnsLabel,
    pub name: String,
}

impl TryFrom<String> for ServiceAccountRef {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let err = || format!("`{s}` is not a service account `namespace:name`");
        let (ns, name) = s.split_once(':').ok_or_else(err)?;
        let namespace = DnsLabel::try_from(ns.to_string()).map_err(|_| err())?;
        if name.is_empty() || name.contains(':') {
            return Err(err());
        }
        Ok(ServiceAccountRef {
            namespace,
            name: name.to_string(),
        })
    }
}

impl From<ServiceAccountRef> for String {
    fn from(r: ServiceAccountRef) -> String {
        format!("{}:{}", r.namespace, r.name)
    }
}

impl JsonSchema for ServiceAccountRef {
    fn schema_name() -> Cow<'static, str> {
        "ServiceAccountRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A service account as `namespace:name`.",
            "type": "string",
            "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newtypes_round_trip_through_their_text() {
        let r: NodePortRange = "30400-30449".parse().unwrap();
        assert!(r.contains(30400) && r.contains(30449) && !r.contains(30450));
        assert_eq!(String::from(r), "30400-30449");
        let v = KubernetesVersion::try_from("v1.10.2-80".to_string()).unwrap();
        assert_eq!(v.minor, KubeMinor::new(1, 10));
        let sa = ServiceAccountRef::try_from("default:default".to_string()).unwrap();
        assert_eq!(String::from(sa), "default:default");
        assert!(DnsLabel::try_from("Bad_Name".to_string()).is_err());
        assert!(DnsLabel::try_from("-x".to_string()).is_err());
        for good in [
            "prod-kubeconfig",
            "a",
            "edge.kubeconfig.v1",
            &"a".repeat(253),
        ] {
            assert!(DnsSubdomain::is_valid(good), "{good}");
        }
        for bad in [
            "",
            "Prod",
            "a..b",
            ".a",
            "a.",
            "-a",
            "a-.b",
            "a_b",
            &"a".repeat(254),
        ] {
            assert!(!DnsSubdomain::is_valid(bad), "{bad}");
        }
        assert!(SecretKey::is_valid("value.yaml") && SecretKey::is_valid("KUBE_CONFIG"));
        for bad in ["", ".", "..", "a/b", "a b"] {
            assert!(!SecretKey::is_valid(bad), "{bad}");
        }
    }
}
