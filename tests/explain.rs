//! `meshgen explain` holds: every value of every built-in platform on every line it renders
//! for has the origin that really decides it. Each value's key says which platform field (or
//! rule) may decide it; a value explained by anything else, or by a platform file line that
//! is not that field, fails.

mod common;

use meshgen::model::load::{PlatformRequest, BUILTIN_PLATFORMS};
use meshgen::model::release_line::ReleaseLine;
use meshgen::render::origins::{explain_values, Explained};
use meshgen::render::{pipeline, resolve};

const FALLBACK: &str = "no origin recorded";

/// The platform fields (words of the quoted platform line) or phrases that may explain a
/// value, by the value's key path (indexes removed): the first rule whose pattern the path
/// ends with applies.
const RULES: &[(&str, &[&str])] = &[
    // gke-internal's extra gateway on 1.0, an entry of the gateways chart: its own fields, and
    // the ingress gateway's defaults copied (an entry gets none of the chart's).
    ("ilb-gateway.enabled", &["gateways", "name"]),
    ("ilb-gateway.namespace", &["namespace"]),
    ("ilb-gateway.labels.app", &["`app` label is its name"]),
    ("ilb-gateway.labels.istio", &["labels", "istio"]),
    (
        "ilb-gateway.replicaCount",
        &["as the chart's ingress gateway", "high availability"],
    ),
    (
        "ilb-gateway.autoscaleMin",
        &["as the chart's ingress gateway", "high availability"],
    ),
    (
        "ilb-gateway.autoscaleMax",
        &["as the chart's ingress gateway", "high availability"],
    ),
    (
        "ilb-gateway.cpu.targetAverageUtilization",
        &["as the chart's ingress gateway"],
    ),
    ("ilb-gateway.ports.name", &["ports list", "no nodePort"]),
    ("ilb-gateway.ports.port", &["ports list", "no nodePort"]),
    (
        "ilb-gateway.ports.targetPort",
        &["ports list", "no nodePort"],
    ),
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

/// Lowercase without spaces, so that a rule's words ("high availability") meet a platform
/// file's keys (`highAvailability`).
fn squash(text: &str) -> String {
    text.to_lowercase().replace(' ', "")
}

/// The key path of line `n` of a platform file: its own key under each enclosing key
/// (`spec.ingressGateway.nodePorts.http2` for `http2: 30401`).
fn key_path(source: &str, n: usize) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let key = |l: &str| {
        l.trim_start_matches([' ', '-'])
            .split(':')
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '-']).len();
    let mut path = vec![key(lines[n - 1])];
    let mut depth = indent(lines[n - 1]);
    for l in lines[..n - 1].iter().rev() {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if indent(l) < depth {
            path.push(key(l));
            depth = indent(l);
        }
    }
    path.reverse();
    path.join(".")
}

/// What an origin amounts to: its phrase, or for "platform file line N" only the key path of
/// that line, so that a value is held to the very field that decides it (no other line of
/// the file, however near, and no phrase around the citation stands in for it).
fn evidence(e: &Explained, source: &str) -> String {
    const PHRASE: &str = "platform file line ";
    let Some(start) = e.why.find(PHRASE) else {
        return squash(&e.why);
    };
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
    // A flow map on the line (`grafana: { enabled: true, serviceType: NodePort }`) is the
    // line's own fields.
    let flow = line
        .split_once(": {")
        .map(|(_, inner)| format!(" {{{inner}"))
        .unwrap_or_default();
    squash(&format!("{}{flow}", key_path(source, n)))
}

/// Why an explanation is wrong, if it is: no rule, the fallback, evidence none of the rule's
/// words name, a cited line of another gateway or add-on than the value's, or a node port
/// cited from another port's line.
fn wrong(e: &Explained, entries: &[Explained], source: &str) -> Option<String> {
    let Some(allowed) = rule(&e.path) else {
        return Some(format!("{} has no rule", e.path));
    };
    let text = evidence(e, source);
    if e.why == FALLBACK || !allowed.iter().any(|a| text.contains(&squash(a))) {
        return Some(format!(
            "{} = {} explained by `{}`, expected one of {allowed:?}",
            e.path, e.value, e.why
        ));
    }
    if !e.why.contains("platform file line ") {
        return None;
    }
    let value_path = squash(&e.path);
    for part in [
        "ingressgateway",
        "egressgateway",
        "grafana",
        "prometheus",
        "zipkin",
        "kiali",
        "servicegraph",
    ] {
        let names_one = text.contains("gateway.") || text.contains(".addons.");
        if value_path.contains(part) && names_one && !text.contains(part) {
            return Some(format!(
                "{} = {} explained by `{}`, a line of another gateway or add-on than {part}",
                e.path, e.value, e.why
            ));
        }
    }
    // `...ports[i].nodePort`: the line of the port named by `...ports[i].name`.
    if let Some(entry) = e.path.strip_suffix(".nodePort") {
        let name = entries
            .iter()
            .find(|n| n.path == format!("{entry}.name"))
            .map(|n| n.value.trim_matches('"').to_lowercase());
        if name.as_deref() != text.rsplit('.').next() {
            return Some(format!(
                "{} = {} explained by `{}`, not the line of port {name:?}",
                e.path, e.value, e.why
            ));
        }
    }
    None
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
    let (loaded, resolved) = pipeline::resolve_request(&request, empty.path(), &version_for)
        .or_else(|_| {
            let k = line.kubernetes_support().tested_from;
            let mut moved = request.clone();
            moved
                .set
                .push(format!("spec.kubernetes={}.{}", k.major, k.minor));
            pipeline::resolve_request(&moved, empty.path(), &version_for)
        })
        .ok()?;
    let text = meshgen::render::pipeline::render(&resolved).unwrap();
    Some((explain_values(&text, FALLBACK).unwrap(), loaded.source.text))
}

fn check(platform: &str, line: ReleaseLine, set: &[&str], failures: &mut Vec<String>) -> bool {
    let Some((entries, source)) = explained(platform, line, set) else {
        return false;
    };
    for e in &entries {
        // A field --set wrote has no line; the test below holds which ones.
        if !set.is_empty() && e.why.contains("set with --set") {
            continue;
        }
        if let Some(problem) = wrong(e, &entries, &source) {
            failures.push(format!("{platform}@{line}: {problem}"));
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
    assert!(!allowed
        .iter()
        .any(|a| evidence(&wrong, "").contains(&squash(a))));
}

#[test]
fn the_test_holds_each_value_to_its_own_line() {
    // pks's node ports, explained by a line of the file that is not theirs: `tracing: true`,
    // and the line of another port, both fail; the port's own line passes.
    let source = meshgen::model::load::Source::builtin("pks").unwrap().text;
    let at = |needle: &str| source.lines().position(|l| l.trim() == needle).unwrap() + 1;
    let entry = |path: &str, value: &str, why: String| Explained {
        path: path.into(),
        value: value.into(),
        line: 0,
        why,
    };
    let name = entry(
        "gateways.istio-ingressgateway.ports[1].name",
        "\"https\"",
        "The chart's complete ports list".into(),
    );
    let cited = |n: usize| {
        entry(
            "gateways.istio-ingressgateway.ports[1].nodePort",
            "30402",
            format!("platform file line {n}"),
        )
    };
    let entries = |e: &Explained| vec![name.clone(), e.clone()];
    let tracing = cited(at("tracing: true"));
    assert!(wrong(&tracing, &entries(&tracing), &source).is_some());
    let http2 = cited(at("http2: 30401"));
    assert!(wrong(&http2, &entries(&http2), &source).is_some());
    let https = cited(at("https: 30402"));
    assert_eq!(wrong(&https, &entries(&https), &source), None);
    // The replicas explained by the tracing line, whatever phrase comes before it.
    let replicas = entry(
        "pilot.replicaCount",
        "3",
        format!(
            "high availability: platform file line {}",
            at("tracing: true")
        ),
    );
    assert!(wrong(&replicas, &[], &source).is_some());
}

/// A gateway port the platform gives no node port (its chart default lies outside the
/// platform's range) is explained by its own default, not the port's before it. The chart
/// defaults of 1.0's ingress gateway: http2 31380, https 31390, tcp 31400.
#[test]
fn a_port_without_a_node_port_is_explained_by_its_own_default() {
    let text = meshgen::model::load::Source::builtin("pks").unwrap().text;
    let start = text.find("    nodePorts:").unwrap();
    let end = text.find("  nodePortRange").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pks-no-node-ports.yaml");
    std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let request = PlatformRequest {
        platform: path.to_string_lossy().into_owned(),
        ..Default::default()
    };
    let version_for = |l| resolve::version_for(None, l);
    let (_, resolved) = pipeline::resolve_request(&request, dir.path(), &version_for).unwrap();
    let values = meshgen::render::pipeline::render(&resolved).unwrap();
    let entries = explain_values(&values, FALLBACK).unwrap();
    let defaults = [("http2", 31380), ("https", 31390), ("tcp", 31400)];
    let mut checked = 0;
    for (port, default) in defaults {
        let name = entries
            .iter()
            .find(|e| {
                e.path.starts_with("gateways.istio-ingressgateway.ports[")
                    && e.path.ends_with(".name")
                    && e.value == format!("\"{port}\"")
            })
            .unwrap_or_else(|| panic!("no port {port}"));
        // Every value of the port's entry: one names its own default, none another's.
        let entry = name.path.strip_suffix("name").unwrap();
        let whys: Vec<&str> = entries
            .iter()
            .filter(|e| e.path.starts_with(entry))
            .map(|e| e.why.as_str())
            .collect();
        let cites = |n: u32| {
            whys.iter()
                .any(|w| w.contains(&format!("chart default {n} ")))
        };
        assert!(
            cites(default) && defaults.iter().all(|(p, n)| *p == port || !cites(*n)),
            "port {port}'s entry {entry}* is explained by {whys:?}, expected its own default {default}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// `explain --gateway NAME` explains an extra gateway's own values file (1.11), as
/// `values --gateway NAME` prints it: its name from the platform file's line.
#[test]
fn explain_gateway_explains_the_gateways_own_file() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gateways/ilb-111.yaml"
    );
    let run = |args: &[&str]| common::outcome(common::meshgen_bin().args(args));
    let (code, out, err) = run(&["explain", "--platform", fixture, "--gateway", "ilb-gateway"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("# gateway-ilb-gateway.yaml of platform ilb-111"),
        "{out}"
    );
    let name = out
        .split("\ngateways.istio-ingressgateway.name = \"ilb-gateway\"\n    ")
        .nth(1)
        .expect("the gateway's name is explained");
    assert!(name.starts_with("platform file line 15 ("), "{name}");
    let (_, values, _) = run(&["values", "--platform", fixture, "--gateway", "ilb-gateway"]);
    let explained = out
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
        .count();
    let header = out.lines().next().unwrap();
    assert!(
        header.ends_with(&format!(", {explained} values")),
        "{header}"
    );
    assert!(values.contains("name: \"ilb-gateway\""), "{values}");

    let (code, _, err) = run(&["explain", "--platform", fixture, "--gateway", "nope"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("has no gateway `nope`"), "{err}");
}
