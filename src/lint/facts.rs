//! What each Istio release line makes of a Service port, and the ports its sidecar keeps for
//! itself: facts read off the istio/istio tags meshgen pins (0.6.0, 1.0.9, 1.11.8), kept in
//! each line's spec (`LintFacts`, with the file each was read from).

use crate::model::release_line::ReleaseLine;
pub use crate::model::release_line::ReservedPort;

/// The port-name prefixes (before the first `-`, compared without case) the line gives a
/// protocol other than plain TCP, or that name TCP itself.
pub fn protocols(line: ReleaseLine) -> &'static [&'static str] {
    line.spec().lint.protocols
}

/// Whether the line reads a port's `appProtocol` (before its name).
pub fn reads_app_protocol(line: ReleaseLine) -> bool {
    line.spec().lint.reads_app_protocol
}

/// Whether an unnamed or unknown port is plain TCP on the line (rather than sniffed).
pub fn unnamed_is_tcp(line: ReleaseLine, port: Option<i64>) -> bool {
    match line.spec().lint.sniffs_unnamed_ports {
        None => true,
        Some(tcp_ports) => port.is_some_and(|p| tcp_ports.contains(&p)),
    }
}

/// What an unnamed or unknown port becomes on the line.
pub fn unnamed_reads_as(line: ReleaseLine, port: Option<i64>) -> String {
    if unnamed_is_tcp(line, port) {
        "Istio treats it as plain TCP: no HTTP routing, retries or HTTP metrics".to_string()
    } else {
        format!(
            "Istio {line} sniffs its protocol from the first bytes (automatic protocol selection)"
        )
    }
}

/// The ports the line's sidecar takes in every injected pod, at an exact release if one is
/// given (some releases reserve fewer than the line's newest).
pub fn reserved_ports_at(
    line: ReleaseLine,
    release: Option<&semver::Version>,
) -> &'static [ReservedPort] {
    let lint = &line.spec().lint;
    match (&lint.reserved_ports_before, release) {
        (Some((until, before)), Some(v)) if v < until => before,
        _ => lint.reserved_ports,
    }
}

/// The line's reserved ports at its newest release.
pub fn reserved_ports(line: ReleaseLine) -> &'static [ReservedPort] {
    line.spec().lint.reserved_ports
}

/// Whether the line's injector also follows a pod *label* `sidecar.istio.io/inject: "true"`
/// in a namespace without `istio-injection` (0.6 and 1.0 only see labelled namespaces).
pub fn injects_by_pod_label(line: ReleaseLine) -> bool {
    line.spec().lint.injects_by_pod_label
}
