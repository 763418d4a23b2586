//! The default ports of each release line's gateway Services, as the charts declare them.
//!
//! Helm replaces lists instead of merging them, so when meshgen changes one nodePort it
//! must emit the whole list; these tables are that list, field for field.

pub use crate::model::parts::DefaultPort;
use crate::model::release_line::ReleaseLine;

/// Which gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    Ingress,
    Egress,
}

impl GatewayKind {
    /// The gateway's key under `gateways.` in the charts' values.
    pub fn values_key(self) -> &'static str {
        match self {
            GatewayKind::Ingress => "istio-ingressgateway",
            GatewayKind::Egress => "istio-egressgateway",
        }
    }

    /// The platform file field that configures it.
    pub fn spec_field(self) -> &'static str {
        match self {
            GatewayKind::Ingress => "ingressGateway",
            GatewayKind::Egress => "egressGateway",
        }
    }
}

/// The chart's default ports of a gateway at a release (checked against every release of
/// each line: only 1.0.0 differs); empty when the line has no such gateway.
pub fn default_ports(version: &semver::Version, gateway: GatewayKind) -> &'static [DefaultPort] {
    let line = ReleaseLine::of_version(version).unwrap_or(ReleaseLine::NEWEST);
    let ports = &line.spec().gateway_ports;
    match gateway {
        GatewayKind::Ingress => match &ports.ingress_before {
            Some((until, before)) if version < until => before,
            _ => ports.ingress,
        },
        GatewayKind::Egress => ports.egress,
    }
}

/// Ports whose nodePort the platform may set on this line, at its newest release (0.6 can
/// only set http's).
pub fn configurable_node_ports(line: ReleaseLine, gateway: GatewayKind) -> Vec<&'static str> {
    let ports = default_ports(&line.pinned_version(), gateway).iter();
    match line.spec().only_node_port_value {
        Some(only) => ports.filter(|p| p.name == only).map(|p| p.name).collect(),
        None => ports.map(|p| p.name).collect(),
    }
}
