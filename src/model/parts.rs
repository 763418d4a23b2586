//! The parts of a mesh that both a release line's spec and the platform model name: Service
//! types, the components `highAvailability` scales, the add-ons, a gateway's default ports.
//! They sit below both, so the spec can hold them without importing the platform model.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// One entry of a chart's default ports list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultPort {
    pub name: &'static str,
    pub port: u16,
    pub target_port: Option<u16>,
    pub node_port: Option<u16>,
    pub protocol: Option<&'static str>,
}

impl DefaultPort {
    pub const fn new(
        name: &'static str,
        port: u16,
        target_port: Option<u16>,
        node_port: Option<u16>,
        protocol: Option<&'static str>,
    ) -> Self {
        DefaultPort {
            name,
            port,
            target_port,
            node_port,
            protocol,
        }
    }
}
