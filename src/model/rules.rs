//! The rules a JSON schema cannot express: node port ranges and clashes, service type
//! combinations, what each release line supports, and Kubernetes version limits.

use std::collections::BTreeMap;

use crate::error::Severity;
use crate::model::gateway_ports::{configurable_node_ports, GatewayKind};
use crate::model::platform::{
    AddonKind, AntiAffinity, MtlsMode, PlatformFile, ServiceType, KUBERNETES_NODE_PORTS,
};
use crate::model::provider::{defaults, internal_lb_annotation};
use crate::model::release_line::{KubeMinor, ReleaseLine};
use crate::yaml::PathSegment;

/// One broken rule, at a path of the platform file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub path: Vec<PathSegment>,
    pub message: String,
    pub hint: Option<String>,
}

fn path(parts: &[&str]) -> Vec<PathSegment> {
    parts
        .iter()
        .map(|p| PathSegment::Key((*p).to_string()))
        .collect()
}

struct Findings(Vec<Finding>);

impl Findings {
    fn error(&mut self, at: &[&str], message: impl Into<String>, hint: Option<String>) {
        self.0.push(Finding {
            severity: Severity::Error,
            path: path(at),
            message: message.into(),
            hint,
        });
    }

    fn warning(&mut self, at: &[&str], message: impl Into<String>, hint: Option<String>) {
        self.0.push(Finding {
            severity: Severity::Warning,
            path: path(at),
            message: message.into(),
            hint,
        });
    }
}

/// PodSecurityPolicy was removed from the Kubernetes API in 1.25.
pub const PSP_REMOVED_IN: KubeMinor = KubeMinor::new(1, 25);

/// Checks every rule and returns all findings, errors and warnings, in file order of rules.
pub fn check(file: &PlatformFile) -> Vec<Finding> {
    let mut f = Findings(Vec::new());
    let spec = &file.spec;
    let line = spec.istio;
    let provider = spec.provider;
    let other_lines = |keep: fn(ReleaseLine) -> bool| -> String {
        ReleaseLine::ALL
            .into_iter()
            .filter(|l| keep(*l))
            .map(|l| format!("\"{l}\""))
            .collect::<Vec<_>>()
            .join(" or ")
    };

    // The charts print the namespace unquoted (`namespace: {{ .Release.Namespace }}`), so a
    // name YAML reads as another type reaches Kubernetes as that type and the install fails.
    if let Some(namespace) = &spec.namespace {
        if let Some(reads_as) = crate::yaml::unquoted_reads_as(namespace.as_str()) {
            f.error(
                &["spec", "namespace"],
                format!("namespace `{namespace}` would reach Kubernetes as {reads_as}: Istio's charts print it without quotes"),
                Some(format!("choose a name YAML keeps as text, e.g. `istio-{namespace}`")),
            );
        }
    }

    // Node port range.
    let (range, range_at) = match spec.node_port_range {
        Some(r) => (r, true),
        None => (defaults::node_port_range(provider).0, false),
    };
    if range_at {
        if range.first > range.last {
            f.error(
                &["spec", "nodePortRange"],
                format!("range {range} is empty: the first port is above the last"),
                None,
            );
        } else if !KUBERNETES_NODE_PORTS.contains(range.first)
            || !KUBERNETES_NODE_PORTS.contains(range.last)
        {
            f.error(
                &["spec", "nodePortRange"],
                format!("range {range} leaves Kubernetes' node port range {KUBERNETES_NODE_PORTS}"),
                None,
            );
        }
    }

    // Gateways.
    let ingress = spec.ingress_gateway.clone().unwrap_or_default();
    let egress = spec.egress_gateway.clone().unwrap_or_default();
    let ingress_type = ingress
        .service_type
        .unwrap_or_else(|| defaults::ingress_service_type(provider).0);
    let egress_enabled = defaults::egress_enabled(&egress, line);
    let egress_type = egress
        .service_type
        .unwrap_or_else(|| defaults::egress_service_type(provider).0);

    if line == ReleaseLine::V0_6 && egress.enabled == Some(true) {
        f.error(
            &["spec", "egressGateway", "enabled"],
            "Istio 0.6 has no egress gateway",
            Some(format!(
                "use istio {} for an egress gateway, or remove egressGateway",
                other_lines(|l| l != ReleaseLine::V0_6)
            )),
        );
    }

    if ingress.internal == Some(true) {
        if ingress_type != ServiceType::LoadBalancer {
            f.error(
                &["spec", "ingressGateway", "internal"],
                format!(
                    "an internal load balancer needs serviceType LoadBalancer, not {ingress_type}"
                ),
                Some(
                    "set ingressGateway.serviceType: LoadBalancer, or internal: false".to_string(),
                ),
            );
        } else if line == ReleaseLine::V0_6 {
            f.error(
                &["spec", "ingressGateway", "internal"],
                "Istio 0.6's ingress chart has no Service annotations, so it cannot ask for an internal load balancer",
                Some(format!("use istio {}", other_lines(|l| l != ReleaseLine::V0_6))),
            );
        } else if internal_lb_annotation(provider, line).is_none() {
            f.error(
                &["spec", "ingressGateway", "internal"],
                format!("provider {provider} has no internal load balancer meshgen knows how to ask for"),
                Some("internal load balancers are supported on gke, aws and azure".to_string()),
            );
        }
    }

    if line == ReleaseLine::V0_6 {
        if !ingress.annotations.is_empty() {
            f.error(
                &["spec", "ingressGateway", "annotations"],
                "Istio 0.6's ingress Service takes no annotations",
                Some(format!(
                    "use istio {}",
                    other_lines(|l| l != ReleaseLine::V0_6)
                )),
            );
        }
        if ingress
            .load_balancer_ip
            .as_deref()
            .is_some_and(|ip| !ip.is_empty())
        {
            f.error(
                &["spec", "ingressGateway", "loadBalancerIP"],
                "Istio 0.6's ingress Service takes no loadBalancerIP",
                Some(format!(
                    "use istio {}",
                    other_lines(|l| l != ReleaseLine::V0_6)
                )),
            );
        }
        if ingress_type == ServiceType::ClusterIP {
            f.error(
                &["spec", "ingressGateway", "serviceType"],
                "Istio 0.6's ingress Service is LoadBalancer or NodePort, never ClusterIP",
                None,
            );
        }
    }

    if let Some(ip) = ingress
        .load_balancer_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
    {
        if ip.parse::<std::net::IpAddr>().is_err() {
            f.error(
                &["spec", "ingressGateway", "loadBalancerIP"],
                format!("`{ip}` is not an IP address"),
                None,
            );
        } else if ingress_type != ServiceType::LoadBalancer {
            f.error(
                &["spec", "ingressGateway", "loadBalancerIP"],
                format!("loadBalancerIP needs serviceType LoadBalancer, not {ingress_type}"),
                None,
            );
        }
    }

    for (field, annotations) in [
        ("ingressGateway", &ingress.annotations),
        ("egressGateway", &egress.annotations),
    ] {
        for key in annotations.keys() {
            if let Err(why) = check_annotation_key(key) {
                f.error(
                    &["spec", field, "annotations", key],
                    format!("`{key}` is not a valid annotation key: {why}"),
                    Some("an annotation key is `name` or `prefix/name`, e.g. `service.beta.kubernetes.io/aws-load-balancer-type`".to_string()),
                );
            }
        }
    }

    // Node ports: service type, known port names, ranges, clashes.
    let mut used: BTreeMap<u16, String> = BTreeMap::new();
    let gateways = [
        (
            GatewayKind::Ingress,
            ingress_type,
            &ingress.node_ports,
            true,
        ),
        (
            GatewayKind::Egress,
            egress_type,
            &egress.node_ports,
            egress_enabled,
        ),
    ];
    for (kind, service_type, node_ports, enabled) in gateways {
        let field = kind.spec_field();
        if node_ports.is_empty() || !enabled {
            continue;
        }
        if !service_type.has_node_ports() {
            f.error(
                &["spec", field, "nodePorts"],
                format!("nodePorts need serviceType NodePort or LoadBalancer, not {service_type}"),
                Some(format!(
                    "set {field}.serviceType: NodePort, or remove nodePorts"
                )),
            );
            continue;
        }
        let known = configurable_node_ports(line, kind);
        for (name, port) in node_ports {
            let at = ["spec", field, "nodePorts", name.as_str()];
            if !known.contains(&name.as_str()) {
                let hint = match crate::suggest::did_you_mean(name, known.iter().copied()) {
                    Some(s) => format!(
                        "did you mean `{s}`? ports of this gateway on Istio {line}: {}",
                        known.join(", ")
                    ),
                    None => format!(
                        "ports of this gateway on Istio {line}: {}",
                        known.join(", ")
                    ),
                };
                f.error(
                    &at,
                    format!("Istio {line}'s {field} has no port named `{name}`"),
                    Some(hint),
                );
                continue;
            }
            let port = port.0;
            if !KUBERNETES_NODE_PORTS.contains(port) {
                f.error(
                    &at,
                    format!("nodePort {port} is outside Kubernetes' node port range {KUBERNETES_NODE_PORTS}"),
                    None,
                );
            } else if !range.contains(port) {
                let why = if range_at {
                    "the platform's nodePortRange".to_string()
                } else {
                    format!(
                        "the {provider} default: {}",
                        defaults::node_port_range(provider).1
                    )
                };
                f.error(
                    &at,
                    format!("nodePort {port} is outside the node port range {range}"),
                    Some(format!("{range} is {why}")),
                );
            }
            let here = format!("{field}.nodePorts.{name}");
            if let Some(first) = used.get(&port) {
                f.error(
                    &at,
                    format!("nodePort {port} is used twice"),
                    Some(format!("{first} already uses it")),
                );
            } else {
                used.insert(port, here);
            }
        }
    }

    // High availability.
    if let Some(ha) = &spec.high_availability {
        if line == ReleaseLine::V0_6
            && ha.anti_affinity.unwrap_or(AntiAffinity::Hostname) != AntiAffinity::None
        {
            f.error(
                &["spec", "highAvailability", "antiAffinity"],
                "meshgen can spread replicas with pod anti-affinity on Istio 1.0 and 1.11, not on 0.6",
                Some("set antiAffinity: none on 0.6, or use istio \"1.0\" or \"1.11\"".to_string()),
            );
        }
        if ha.spreading.is_some() && ha.anti_affinity == Some(AntiAffinity::None) {
            f.warning(
                &["spec", "highAvailability", "spreading"],
                "spreading has no effect with antiAffinity: none",
                Some("remove spreading, or set antiAffinity: hostname or zone".to_string()),
            );
        }
    }

    // Mutual TLS. 0.6's only switch is `global.securityEnabled`: mutual TLS for every
    // service, or none; the authentication policies with a permissive mode came with 0.8.
    if spec.mtls == Some(MtlsMode::Permissive) && line == ReleaseLine::V0_6 {
        f.error(
            &["spec", "mtls"],
            "Istio 0.6 has no permissive mutual TLS: its chart switches mutual TLS on for every service (global.securityEnabled) or off",
            Some(format!(
                "use mtls: strict or disabled on 0.6, or istio {} to move through permissive",
                other_lines(|l| l != ReleaseLine::V0_6)
            )),
        );
    }

    // Tracing and add-ons.
    if let Some(addons) = &spec.addons {
        for kind in AddonKind::ALL {
            let Some(addon) = addons.get(kind) else {
                continue;
            };
            let at = ["spec", "addons", kind.as_str()];
            let unsupported = match (line, kind) {
                (ReleaseLine::V1_11, _) => Some("the 1.11 charts ship no add-ons; install Istio's samples/addons manifests instead".to_string()),
                (ReleaseLine::V0_6, AddonKind::Kiali) => Some("Istio 0.6 has no Kiali chart; use istio \"1.0\"".to_string()),
                (ReleaseLine::V1_0, AddonKind::Zipkin) => Some("on Istio 1.0 set tracing: true instead: Jaeger serves the Zipkin API".to_string()),
                _ => None,
            };
            if let (true, Some(why)) = (addon.enabled, unsupported) {
                f.error(
                    &at,
                    format!("add-on {} is not available on Istio {line}", kind.as_str()),
                    Some(why),
                );
                continue;
            }
            if let Some(t) = addon.service_type {
                let fixed = matches!((line, kind), (ReleaseLine::V1_0, AddonKind::Kiali))
                    || (line == ReleaseLine::V1_0
                        && kind == AddonKind::Prometheus
                        && t == ServiceType::LoadBalancer);
                if fixed && t != ServiceType::ClusterIP {
                    f.error(
                        &["spec", "addons", kind.as_str(), "serviceType"],
                        format!(
                            "Istio {line}'s {} chart cannot make its Service {t}",
                            kind.as_str()
                        ),
                        Some(if kind == AddonKind::Prometheus {
                            "use NodePort (a second prometheus-nodeport Service) or ClusterIP"
                                .to_string()
                        } else {
                            "use ClusterIP and kubectl port-forward".to_string()
                        }),
                    );
                }
            }
        }
    }
    if let Some(tracing) = spec.tracing {
        let at = ["spec", "tracing", "sampling"];
        match tracing.sampling() {
            Some(_) if line == ReleaseLine::V0_6 => f.error(
                &at,
                "Istio 0.6's chart has no trace sampling setting (Zipkin receives what the proxies send)",
                Some(format!(
                    "remove sampling on 0.6, or use istio {}",
                    other_lines(|l| l != ReleaseLine::V0_6)
                )),
            ),
            Some(p) if p.value() == 0.0 => f.error(
                &at,
                "a sampling of 0 does not reach pilot: the chart skips a zero traceSampling, so pilot's own default applies",
                Some("to trace nothing, set tracing: false; else give a percentage from 0.01 to 100".to_string()),
            ),
            Some(_) if !tracing.enabled() => f.warning(
                &at,
                "sampling has no effect while tracing is disabled",
                Some("set tracing.enabled: true, or remove sampling".to_string()),
            ),
            _ => {}
        }
    }
    if spec.tracing.is_some_and(|t| t.enabled()) && line == ReleaseLine::V0_6 {
        if let Some(z) = spec.addons.as_ref().and_then(|a| a.zipkin.as_ref()) {
            if !z.enabled {
                f.error(
                    &["spec", "addons", "zipkin", "enabled"],
                    "tracing on Istio 0.6 is the Zipkin add-on: it cannot be off while tracing is true",
                    None,
                );
            }
        }
    }

    // Kubernetes version.
    if let Some(kube) = &spec.kubernetes {
        let v = kube.minor;
        let support = line.kubernetes_support();
        let at = ["spec", "kubernetes"];
        if v < support.works_from || v > support.works_to {
            let why = match line {
                ReleaseLine::V0_6 if v < support.works_from => "automatic sidecar injection needs the mutating webhooks of Kubernetes 1.9",
                ReleaseLine::V0_6 | ReleaseLine::V1_0 if v > support.works_to => "its charts render extensions/v1beta1 Deployments, removed in Kubernetes 1.16",
                ReleaseLine::V1_11 if v < support.works_from => "its charts need v1 CRDs and admission webhooks (Kubernetes 1.16)",
                ReleaseLine::V1_11 => "its charts render policy/v1beta1 PodDisruptionBudgets, removed in Kubernetes 1.25",
                _ => "its charts use APIs this version does not serve",
            };
            f.error(
                &at,
                format!("Istio {line} cannot run on Kubernetes {v}: {why}"),
                Some(format!(
                    "Istio {line} works on Kubernetes {} to {}",
                    support.works_from, support.works_to
                )),
            );
        } else if v < support.tested_from || v > support.tested_to {
            f.warning(
                &at,
                format!(
                    "Istio {line} was released for Kubernetes {} to {}, not {v}",
                    support.tested_from, support.tested_to
                ),
                None,
            );
        }
        if v >= PSP_REMOVED_IN && spec.pod_security_policy.as_ref().is_some_and(|p| p.enabled) {
            f.error(
                &["spec", "podSecurityPolicy", "enabled"],
                format!("Kubernetes {v} has no PodSecurityPolicy API (removed in {PSP_REMOVED_IN})"),
                Some("use Pod Security Admission labels on the namespace, or the Istio CNI plugin, instead".to_string()),
            );
        }
    }

    if let Some(psp) = &spec.pod_security_policy {
        if !psp.enabled && !psp.service_accounts.is_empty() {
            f.warning(
                &["spec", "podSecurityPolicy", "serviceAccounts"],
                "service accounts are listed but the policy is disabled",
                Some("set podSecurityPolicy.enabled: true to bind them".to_string()),
            );
        }
    }

    f.0
}

/// The 1.0 tag from which the security chart always applies a mesh-wide MeshPolicy,
/// PERMISSIVE while `global.mtls.enabled` is false; before it, that case applied none.
pub const MESH_POLICY_ALWAYS_FROM: semver::Version = semver::Version::new(1, 0, 3);

/// Rules that depend on the exact Istio version the platform is rendered for (the lock's pin,
/// else meshgen's), checked once it is known.
pub fn check_version(file: &PlatformFile, version: &semver::Version) -> Vec<Finding> {
    let mut f = Findings(Vec::new());
    let spec = &file.spec;
    if spec.istio == ReleaseLine::V1_0 {
        let always = *version >= MESH_POLICY_ALWAYS_FROM;
        match spec.mtls {
            Some(MtlsMode::Disabled) if always => f.error(
                &["spec", "mtls"],
                format!(
                    "Istio {version}'s chart cannot switch mutual TLS off: with global.mtls.enabled false its post-install job still applies a mesh-wide MeshPolicy in PERMISSIVE mode"
                ),
                Some("use mtls: permissive (sidecars then accept plain text, and clients send it unless a DestinationRule asks for ISTIO_MUTUAL), or pin 1.0.0 to 1.0.2 in vendor/meshgen.lock".to_string()),
            ),
            Some(MtlsMode::Permissive) if !always => f.error(
                &["spec", "mtls"],
                format!(
                    "Istio {version}'s chart has no permissive mutual TLS: with global.mtls.enabled false it applies no MeshPolicy, so sidecars accept plain text only"
                ),
                Some("vendor 1.0.3 or later (`meshgen vendor --update 1.0`), whose chart applies a PERMISSIVE MeshPolicy, or use mtls: disabled or strict".to_string()),
            ),
            _ => {}
        }
    }
    f.0
}

/// Kubernetes' rule for annotation keys: an optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 characters of alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
fn check_annotation_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() || prefix.len() > 253 {
            return Err("the prefix must be 1 to 253 characters".to_string());
        }
        let ok = prefix.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if !ok {
            return Err("the prefix must be a lower-case DNS subdomain".to_string());
        }
    }
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 63 {
        return Err("the name must be 1 to 63 characters".to_string());
    }
    let edge_ok = |b: u8| b.is_ascii_alphanumeric();
    if !edge_ok(bytes[0]) || !edge_ok(bytes[bytes.len() - 1]) {
        return Err("the name must start and end with a letter or digit".to_string());
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("the name may hold only letters, digits, `-`, `_` and `.`".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(line: &str, mtls: &str) -> PlatformFile {
        let json = serde_json::json!({
            "apiVersion": "meshgen/v1alpha1",
            "kind": "Platform",
            "metadata": {"name": "t"},
            "spec": {"provider": "kvm", "istio": line, "mtls": mtls},
        });
        serde_json::from_value(json).unwrap()
    }

    fn errors(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.message.clone())
            .collect()
    }

    /// Each line and tag refuses exactly the modes its chart cannot express.
    #[test]
    fn mtls_modes_each_line_and_tag_can_express() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        let refused = |line: &str, mode: &str, version: &str| {
            let file = platform(line, mode);
            let mut found = errors(&check(&file));
            found.extend(errors(&check_version(&file, &v(version))));
            !found.is_empty()
        };
        for (line, version, disabled, permissive, strict) in [
            ("0.6", "0.6.0", false, true, false),
            ("1.0", "1.0.0", false, true, false),
            ("1.0", "1.0.2", false, true, false),
            ("1.0", "1.0.3", true, false, false),
            ("1.0", "1.0.9", true, false, false),
            ("1.11", "1.11.8", false, false, false),
        ] {
            assert_eq!(refused(line, "disabled", version), disabled, "{version}");
            assert_eq!(
                refused(line, "permissive", version),
                permissive,
                "{version}"
            );
            assert_eq!(refused(line, "strict", version), strict, "{version}");
        }
    }

    #[test]
    fn annotation_keys_follow_kubernetes() {
        assert!(check_annotation_key("cloud.google.com/load-balancer-type").is_ok());
        assert!(check_annotation_key("simple").is_ok());
        assert!(check_annotation_key("Bad Prefix/x").is_err());
        assert!(check_annotation_key("x/").is_err());
        assert!(check_annotation_key("-x").is_err());
    }
}
