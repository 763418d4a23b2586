//! The default ports of each release line's gateway Services, as the charts declare them.
//!
//! Helm replaces lists instead of merging them, so when meshgen changes one nodePort it
//! must emit the whole list; these tables are that list, field for field.

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

/// One entry of a chart's default ports list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultPort {
    pub name: &'static str,
    pub port: u16,
    pub target_port: Option<u16>,
    pub node_port: Option<u16>,
    pub protocol: Option<&'static str>,
}

const fn p(
    name: &'static str,
    port: u16,
    target_port: Option<u16>,
    node_port: Option<u16>,
    protocol: Option<&'static str>,
) -> DefaultPort {
    DefaultPort {
        name,
        port,
        target_port,
        node_port,
        protocol,
    }
}

// 0.6 hard-codes its ingress ports in the Service template; only http's nodePort is a value.
const INGRESS_0_6: &[DefaultPort] = &[
    p("http", 80, None, Some(32000), None),
    p("https", 443, None, None, None),
];

const INGRESS_1_0: &[DefaultPort] = &[
    p("http2", 80, Some(80), Some(31380), None),
    p("https", 443, None, Some(31390), None),
    p("tcp", 31400, None, Some(31400), None),
    p("tcp-pilot-grpc-tls", 15011, Some(15011), None, None),
    p("tcp-citadel-grpc-tls", 8060, Some(8060), None, None),
    p("tcp-dns-tls", 853, Some(853), None, None),
    p("http2-prometheus", 15030, Some(15030), None, None),
    p("http2-grafana", 15031, Some(15031), None, None),
];

/// 1.0.0's ingress gateway: 1.0.1 added `tcp-dns-tls` (853), otherwise the same list.
fn ingress_1_0_0() -> &'static [DefaultPort] {
    static PORTS: std::sync::OnceLock<Vec<DefaultPort>> = std::sync::OnceLock::new();
    PORTS.get_or_init(|| {
        INGRESS_1_0
            .iter()
            .filter(|p| p.name != "tcp-dns-tls")
            .copied()
            .collect()
    })
}

/// The 1.0 release from which the ingress gateway lists `tcp-dns-tls`.
pub const DNS_TLS_PORT_FROM: semver::Version = semver::Version::new(1, 0, 1);

const EGRESS_1_0: &[DefaultPort] = &[
    p("http2", 80, None, None, None),
    p("https", 443, None, None, None),
];

const INGRESS_1_11: &[DefaultPort] = &[
    p("status-port", 15021, Some(15021), None, Some("TCP")),
    p("http2", 80, Some(8080), None, Some("TCP")),
    p("https", 443, Some(8443), None, Some("TCP")),
];

const EGRESS_1_11: &[DefaultPort] = &[
    p("http2", 80, Some(8080), None, Some("TCP")),
    p("https", 443, Some(8443), None, Some("TCP")),
];

/// The chart's default ports of a gateway at a release (checked against every release of
/// each line: only 1.0.0 differs); empty when the line has no such gateway.
pub fn default_ports(version: &semver::Version, gateway: GatewayKind) -> &'static [DefaultPort] {
    let line = ReleaseLine::of_version(version).unwrap_or(ReleaseLine::V1_11);
    match (line, gateway) {
        (ReleaseLine::V0_6, GatewayKind::Ingress) => INGRESS_0_6,
        (ReleaseLine::V0_6, GatewayKind::Egress) => &[],
        (ReleaseLine::V1_0, GatewayKind::Ingress) if *version < DNS_TLS_PORT_FROM => {
            ingress_1_0_0()
        }
        (ReleaseLine::V1_0, GatewayKind::Ingress) => INGRESS_1_0,
        (ReleaseLine::V1_0, GatewayKind::Egress) => EGRESS_1_0,
        (ReleaseLine::V1_11, GatewayKind::Ingress) => INGRESS_1_11,
        (ReleaseLine::V1_11, GatewayKind::Egress) => EGRESS_1_11,
    }
}

/// Ports whose nodePort the platform may set on this line, at its newest release (0.6 can
/// only set http's).
pub fn configurable_node_ports(line: ReleaseLine, gateway: GatewayKind) -> Vec<&'static str> {
    let ports = default_ports(&line.pinned_version(), gateway).iter();
    match line {
        ReleaseLine::V0_6 => ports.filter(|p| p.name == "http").map(|p| p.name).collect(),
        _ => ports.map(|p| p.name).collect(),
    }
}
