//! What each Istio release line makes of a Service port, and the ports its sidecar keeps for
//! itself: facts read off the istio/istio tags meshgen pins (0.6.0, 1.0.9, 1.11.8), each with
//! the file it was read from.

use crate::model::release_line::ReleaseLine;

/// The port-name prefixes (before the first `-`, compared without case) the line gives a
/// protocol other than plain TCP, or that name TCP itself.
///
/// - 0.6.0: `pilot/pkg/model/service.go` `ConvertCaseInsensitiveStringToProtocol`, read by
///   `pilot/pkg/serviceregistry/kube/conversion.go` `ConvertProtocol` (which ignores `udp`).
/// - 1.0.9: `pilot/pkg/model/service.go` `ParseProtocol` (adds `tls`), same `ConvertProtocol`.
/// - 1.11.8: `pkg/config/protocol/instance.go` `Parse`, read by `pkg/config/kube/conversion.go`
///   `ConvertProtocol`, which takes `appProtocol` before the name and matches `grpc-web` whole.
pub fn protocols(line: ReleaseLine) -> &'static [&'static str] {
    match line {
        ReleaseLine::V0_6 => &["grpc", "http", "http2", "https", "mongo", "redis", "tcp"],
        ReleaseLine::V1_0 => &[
            "grpc", "http", "http2", "https", "mongo", "redis", "tcp", "tls",
        ],
        ReleaseLine::V1_11 => &[
            "grpc",
            "grpc-web",
            "http",
            "http2",
            "http_proxy",
            "https",
            "mongo",
            "mysql",
            "redis",
            "tcp",
            "thrift",
            "tls",
        ],
    }
}

/// Whether the line reads a port's `appProtocol` (1.11.8 `pkg/config/kube/conversion.go`;
/// 0.6.0 and 1.0.9 read the name only).
pub fn reads_app_protocol(line: ReleaseLine) -> bool {
    line == ReleaseLine::V1_11
}

/// Ports 1.11 treats as TCP when their protocol is not named, instead of sniffing it
/// (1.11.8 `pkg/config/kube/conversion.go` `wellKnownPorts`: SMTP, DNS, MySQL, MongoDB).
pub const WELL_KNOWN_TCP_PORTS: [i64; 4] = [25, 53, 3306, 27017];

/// What an unnamed or unknown port becomes on the line.
pub fn unnamed_reads_as(line: ReleaseLine, port: Option<i64>) -> &'static str {
    match line {
        ReleaseLine::V1_11 if !port.is_some_and(|p| WELL_KNOWN_TCP_PORTS.contains(&p)) => {
            "Istio 1.11 sniffs its protocol from the first bytes (automatic protocol selection)"
        }
        _ => "Istio treats it as plain TCP: no HTTP routing, retries or HTTP metrics",
    }
}

/// A port the sidecar listens on in the pod's network namespace, and what for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedPort {
    pub port: i64,
    pub what: &'static str,
}

const fn reserved(port: i64, what: &'static str) -> ReservedPort {
    ReservedPort { port, what }
}

/// The ports the line's sidecar takes in every injected pod.
///
/// - 0.6.0: 15000 `ProxyAdminPort` (`pilot/pkg/model/context.go`), 15001 the redirect
///   target (`tools/deb/istio-iptables.sh`).
/// - 1.0.9: the same, and 15090 Envoy's Prometheus port (`pilot/pkg/kube/inject/mesh.go`).
/// - 1.11.8: 15000 admin, 15001 outbound and 15020 status (`pkg/config/mesh/mesh.go`),
///   15006 inbound (`pilot/pkg/networking/core/v1alpha3/listener.go`), 15021 health and 15090
///   Prometheus (`manifests/charts/istio-control/istio-discovery/files/injection-template.yaml`),
///   15053 DNS proxy (`tools/istio-iptables/pkg/constants/constants.go`).
///
/// At an exact release: 1.0.0 to 1.0.2's injector publishes no Prometheus port (1.0.3 added
/// 15090), so those releases reserve 0.6's two.
pub fn reserved_ports_at(
    line: ReleaseLine,
    release: Option<&semver::Version>,
) -> &'static [ReservedPort] {
    const PROMETHEUS_FROM: semver::Version = semver::Version::new(1, 0, 3);
    match (line, release) {
        (ReleaseLine::V1_0, Some(v)) if *v < PROMETHEUS_FROM => reserved_ports(ReleaseLine::V0_6),
        _ => reserved_ports(line),
    }
}

/// The line's reserved ports at its newest release.
pub fn reserved_ports(line: ReleaseLine) -> &'static [ReservedPort] {
    const ADMIN: ReservedPort = reserved(15000, "Envoy's admin port");
    const OUTBOUND: ReservedPort = reserved(15001, "the port iptables redirects traffic to");
    const PROMETHEUS: ReservedPort = reserved(15090, "Envoy's Prometheus port");
    const V0_6: &[ReservedPort] = &[ADMIN, OUTBOUND];
    const V1_0: &[ReservedPort] = &[ADMIN, OUTBOUND, PROMETHEUS];
    const V1_11: &[ReservedPort] = &[
        ADMIN,
        reserved(15001, "the outbound capture port"),
        reserved(15006, "the inbound capture port"),
        reserved(15020, "the agent's status and merged metrics port"),
        reserved(15021, "the health check port"),
        reserved(15053, "the DNS proxy port"),
        PROMETHEUS,
    ];
    match line {
        ReleaseLine::V0_6 => V0_6,
        ReleaseLine::V1_0 => V1_0,
        ReleaseLine::V1_11 => V1_11,
    }
}

/// Whether the line's injector also follows a pod *label* `sidecar.istio.io/inject: "true"`
/// in a namespace without `istio-injection` (1.11.8
/// `manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml`, the
/// `object.` webhook); 0.6 and 1.0 only see labelled namespaces.
pub fn injects_by_pod_label(line: ReleaseLine) -> bool {
    line == ReleaseLine::V1_11
}
