//! `meshgen explain` holds: every value of every built-in platform on every line it renders
//! for has the origin that really decides it. Each value's key says which platform field (or
//! rule) may decide it; a value explained by anything else, or by a platform file line that
//! is not that field, fails.

use meshgen::model::load::{PlatformRequest, BUILTIN_PLATFORMS};
use meshgen::model::release_line::ReleaseLine;
use meshgen::render::explain::{explain_values, Explained};
use meshgen::render::resolve;

const FALLBACK: &str = "no origin recorded";

/// The platform fields (words of the quoted platform line) or phrases that may explain a
/// value, by the value's key path (indexes removed): the first rule whose pattern the path
/// ends with applies.
const RULES: &[(&str, &[&str])] = &[
    // HA counts, or the small profile's single replica.
    (".replicaCount", &["high availability", "small resources"]),
    (".autoscaleMin", &["high availability"]),
    (".autoscaleMax", &["high availability"]),
    (
        ".autoscaleEnabled",
        &["high availability", "small resources"],
    ),
    (".traceSampling", &["tracing"]),
    ("tracing.enabled", &["tracing"]),
    ("meshConfig.enableTracing", &["tracing"]),
    ("global.istioNamespace", &["namespace"]),
    ("global.hub", &["images"]),
    ("global.tag", &["images"]),
    (".repository", &["repository and tag"]),
    (".tag", &["repository and tag"]),
    ("global.proxy.resources.requests.cpu", &["small resources"]),
    (
        "global.proxy.resources.requests.memory",
        &["small resources"],
    ),
    (".resources.requests.cpu", &["small resources"]),
    (".resources.requests.memory", &["small resources"]),
    ("istio-ilbgateway.enabled", &["small resources"]),
    ("istio-egressgateway.enabled", &["egressGateway", "enabled"]),
    ("gateway.type", &["serviceType", "default:"]),
    (
        "ingress.service.nodePort.enabled",
        &["serviceType", "default:"],
    ),
    ("ingress.service.nodePort.port", &["nodePort", "http"]),
    (".serviceAnnotations.", &["annotations", "internal"]),
    (".loadBalancerIP", &["loadBalancerIP"]),
    (
        ".ports.nodePort",
        &["nodePort", "http", "https", "tcp", "node port"],
    ),
    (".ports.name", &["ports list"]),
    (".ports.port", &["ports list"]),
    (".ports.targetPort", &["ports list"]),
    (".ports.protocol", &["ports list"]),
    (
        ".service.type",
        &["serviceType", "ClusterIP unless", "Zipkin"],
    ),
    (
        ".service.nodePort.enabled",
        &["serviceType", "prometheus-nodeport"],
    ),
    (
        ".enabled",
        &[
            "addons",
            "grafana",
            "prometheus",
            "zipkin",
            "kiali",
            "servicegraph",
            "Zipkin",
        ],
    ),
    ("pilot", &["no platform field changes pilot"]),
];

fn rule(path: &str) -> Option<&'static [&'static str]> {
    let plain: String = {
        let mut out = String::new();
        let mut skip = false;
        for c in path.chars() {
            match c {
                '[' => skip = true,
                ']' => skip = false,
                _ if !skip => out.push(c),
                _ => {}
            }
        }
        out
    };
    // `gateways.<name>.type`: the gateway's own serviceType.
    let plain = if plain.starts_with("gateways.") && plain.ends_with(".type") {
        "gateway.type".to_string()
    } else {
        plain
    };
    RULES
        .iter()
        .find(|(pattern, _)| {
            plain.ends_with(pattern) || plain.contains(pattern) && pattern.ends_with('.')
        })
        .map(|(_, allowed)| *allowed)
}

/// The text an origin amounts to: its phrase, and for "platform file line N" that line.
fn evidence(e: &Explained, source: &str) -> String {
    const PHRASE: &str = "platform file line ";
    let mut text = e.why.clone();
    if let Some(start) = e.why.find(PHRASE) {
        let digits: String = e.why[start + PHRASE.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let n: usize = digits.parse().unwrap();
        let line = source
            .lines()
            .nth(n - 1)
            .unwrap_or_else(|| panic!("{}: line {n} is past the file's end", e.path));
        assert!(
            !line.trim().is_empty() && !line.trim_start().starts_with('#'),
            "{}: line {n} is blank or a comment",
            e.path
        );
        // Keys above it (its enclosing fields) name it too: `http2: 30401` is a nodePort.
        let above: Vec<&str> = source.lines().take(n).collect();
        text.push(' ');
        text.push_str(&above.join(" "));
    }
    text
}

fn explained(platform: &str, line: ReleaseLine, set: &[&str]) -> Option<(Vec<Explained>, String)> {
    let empty = tempfile::tempdir().unwrap();
    let request = PlatformRequest {
        platform: platform.to_string(),
        istio: Some(line.into()),
        set: set.iter().map(ToString::to_string).collect(),
        ..Default::default()
    };
    let version_for = |l| resolve::version_for(None, l);
    // A platform's Kubernetes version outside the line is moved into its range (as the
    // real-chart run does); combinations meshgen still refuses explain nothing.
    let (loaded, resolved) = resolve::resolve_request(&request, empty.path(), &version_for)
        .or_else(|_| {
            let k = line.kubernetes_support().tested_from;
            let mut moved = request.clone();
            moved
                .set
                .push(format!("spec.kubernetes={}.{}", k.major, k.minor));
            resolve::resolve_request(&moved, empty.path(), &version_for)
        })
        .ok()?;
    let text = meshgen::render::values::render(&resolved).unwrap();
    Some((explain_values(&text, FALLBACK).unwrap(), loaded.source.text))
}

fn check(platform: &str, line: ReleaseLine, set: &[&str], failures: &mut Vec<String>) -> bool {
    let Some((entries, source)) = explained(platform, line, set) else {
        return false;
    };
    for e in &entries {
        let Some(allowed) = rule(&e.path) else {
            failures.push(format!("{platform}@{line}: {} has no rule", e.path));
            continue;
        };
        let text = evidence(e, &source);
        // A field --set wrote has no line; the test below holds which ones.
        if !set.is_empty() && e.why.contains("set with --set") {
            continue;
        }
        if e.why == FALLBACK || !allowed.iter().any(|a| text.contains(a)) {
            failures.push(format!(
                "{platform}@{line}: {} = {} explained by `{}`, expected one of {allowed:?}",
                e.path, e.value, e.why
            ));
        }
    }
    true
}

#[test]
fn every_origin_of_every_builtin_is_the_field_that_decides_it() {
    let mut failures = Vec::new();
    let mut rendered = 0;
    for (name, _) in BUILTIN_PLATFORMS {
        for line in ReleaseLine::ALL {
            rendered += usize::from(check(name, line, &[], &mut failures));
        }
    }
    assert!(
        rendered >= 10,
        "only {rendered} platform/line pairs rendered"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn values_written_with_set_are_explained_as_set() {
    let set = [
        "spec.addons.grafana.enabled=true",
        "spec.addons.grafana.serviceType=NodePort",
        "spec.addons.prometheus.enabled=true",
        "spec.addons.prometheus.serviceType=NodePort",
    ];
    // kvm has an egress gateway, which 0.6 has not: minikube there.
    for (platform, line) in [("minikube", ReleaseLine::V0_6), ("kvm", ReleaseLine::V1_0)] {
        let mut failures = Vec::new();
        assert!(check(platform, line, &set, &mut failures));
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let (entries, _) = explained(platform, line, &set).unwrap();
        let e = entries
            .iter()
            .find(|e| e.path == "grafana.service.type")
            .unwrap();
        assert_eq!(e.why, "set with --set", "{line}");
    }
    let (entries, _) = explained(
        "kvm",
        ReleaseLine::V1_0,
        &["spec.egressGateway.enabled=true"],
    )
    .unwrap();
    let egress = entries
        .iter()
        .find(|e| e.path == "gateways.istio-egressgateway.enabled")
        .unwrap();
    assert_eq!(egress.why, "set with --set");
}

#[test]
fn the_test_catches_a_wrong_origin() {
    // The 1.11 namespace once inherited the images' comment: such an origin is refused.
    let wrong = Explained {
        path: "global.istioNamespace".into(),
        value: "\"istio-system\"".into(),
        line: 9,
        why: "The images of the Istio 1.11.8 release".into(),
    };
    let allowed = rule(&wrong.path).unwrap();
    assert!(!allowed.iter().any(|a| evidence(&wrong, "").contains(a)));
}
