//! `meshgen post-render` over rendered manifests written for the tests in the shape of the real
//! 1.0.9 and 1.11.8 charts (tests/fixtures/postrender/), run as the real binary, and the
//! agreement of the Flux kustomize patches with it.

mod common;

use std::path::Path;

use meshgen::install::postrender::{flux_patches, flux_post_renderers, parse_objects};
use meshgen::model::load::PlatformRequest;
use meshgen::render::pipeline::resolve_request;
use meshgen::render::resolve::ResolvedPlatform;
use serde_json::Value;

const FIXTURES: &str = "tests/fixtures/postrender";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap()
}

fn platform_path(name: &str) -> String {
    format!("{FIXTURES}/platforms/{name}.yaml")
}

/// Runs `meshgen post-render --platform PLATFORM` with `input` on stdin.
fn post_render(platform: &str, input: &str) -> (Option<i32>, String, String) {
    common::outcome(
        common::meshgen_bin()
            .args(["post-render", "--platform", platform])
            .write_stdin(input.to_string()),
    )
}

/// The documents of a stream as text, split on `---` lines (the fixtures start each with one).
fn documents(stream: &str) -> Vec<String> {
    let mut docs: Vec<String> = Vec::new();
    for line in stream.split_inclusive('\n') {
        if line == "---\n" || docs.is_empty() {
            docs.push(String::new());
        }
        docs.last_mut().unwrap().push_str(line);
    }
    docs
}

fn kind_and_name(objects: &[Value]) -> Vec<(String, String)> {
    objects
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_string(),
                o["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in the stream"))
}

fn resolved(platform: &str) -> ResolvedPlatform {
    let request = PlatformRequest {
        platform: platform.to_string(),
        ..Default::default()
    };
    let version_for = |istio| meshgen::render::resolve::version_for(None, istio);
    resolve_request(&request, Path::new("."), &version_for)
        .unwrap()
        .1
}

/// Every Deployment the 1.0 values give replicas, with the pod labels its chart writes.
const TARGETS_1_0: [(&str, &[(&str, &str)]); 8] = [
    ("istio-pilot", &[("app", "pilot"), ("istio", "pilot")]),
    (
        "istio-policy",
        &[("istio", "mixer"), ("istio-mixer-type", "policy")],
    ),
    (
        "istio-telemetry",
        &[("istio", "mixer"), ("istio-mixer-type", "telemetry")],
    ),
    ("istio-citadel", &[("istio", "citadel")]),
    ("istio-galley", &[("istio", "galley")]),
    ("istio-sidecar-injector", &[("istio", "sidecar-injector")]),
    (
        "istio-ingressgateway",
        &[("app", "istio-ingressgateway"), ("istio", "ingressgateway")],
    ),
    (
        "istio-egressgateway",
        &[("app", "istio-egressgateway"), ("istio", "egressgateway")],
    ),
];

/// The `(label, value)` pairs a label selector's `matchExpressions` select, each `In` one value.
fn selected(selector: &Value) -> Vec<(String, String)> {
    selector["matchExpressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["operator"], "In");
            assert_eq!(e["values"].as_array().unwrap().len(), 1);
            (
                e["key"].as_str().unwrap().to_string(),
                e["values"][0].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn istio_1_0_hostname_spreads_every_replicated_deployment() {
    let input = fixture("v1.0.9.yaml");
    let (code, stdout, stderr) = post_render(&platform_path("ha-10-hostname"), &input);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!("post_render_1_0_hostname", stdout);

    // Untouched documents come out byte for byte, in the same places.
    let before = documents(&input);
    let after = documents(&stdout);
    assert_eq!(before.len(), after.len());
    let changed: Vec<&str> = TARGETS_1_0.iter().map(|(n, _)| *n).collect();
    for (b, a) in before.iter().zip(&after) {
        let is_target = b.contains("kind: Deployment")
            && changed
                .iter()
                .any(|n| b.contains(&format!("\n  name: {n}\n")));
        if is_target {
            assert_ne!(b, a);
        } else {
            assert_eq!(b, a, "an untouched document changed");
        }
    }

    let objects_before = parse_objects(&input).unwrap();
    let objects_after = parse_objects(&stdout).unwrap();
    assert_eq!(
        kind_and_name(&objects_before),
        kind_and_name(&objects_after)
    );
    for (name, labels) in TARGETS_1_0 {
        let b = object(&objects_before, "Deployment", name);
        let a = object(&objects_after, "Deployment", name);
        assert_eq!(a["spec"]["replicas"], 3);
        let affinity = &a["spec"]["template"]["spec"]["affinity"];
        // The chart's nodeAffinity survives as it was.
        assert_eq!(
            affinity["nodeAffinity"],
            b["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
        );
        let terms = &affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
        assert_eq!(terms.as_array().unwrap().len(), 1);
        assert_eq!(terms[0]["topologyKey"], "kubernetes.io/hostname");
        let selected = selected(&terms[0]["labelSelector"]);
        let want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(selected, want, "{name} selects its own pod labels");
        // Every selected label exists in the pod template, or the rule would select nothing.
        for (k, v) in &want {
            assert_eq!(&a["spec"]["template"]["metadata"]["labels"][k], v.as_str());
        }
        // Nothing else in the object changed.
        let mut a = a.clone();
        let mut b = b.clone();
        a["spec"]["template"]["spec"]["affinity"]
            .as_object_mut()
            .unwrap()
            .remove("podAntiAffinity");
        a["spec"]["replicas"] = Value::Null;
        b["spec"]["replicas"] = Value::Null;
        assert_eq!(a, b, "{name}: only replicas and podAntiAffinity change");
    }
    // Nothing else is a target: every Deployment of the stream is one of them.
    let deployments = objects_after.iter().filter(|o| o["kind"] == "Deployment");
    assert_eq!(deployments.count(), TARGETS_1_0.len());
}

/// `spreading: preferred`: each target gets one weighted term instead of a required one, the
/// mixers' selectors keep policy and telemetry apart, and a stream without the egress gateway
/// (switched off) is no error.
#[test]
fn preferred_spreading_writes_weighted_terms() {
    let input = fixture("v1.0.9.yaml");
    let without_egress: String = documents(&input)
        .into_iter()
        .filter(|d| !d.contains("\n  name: istio-egressgateway\n"))
        .collect();
    let (code, stdout, stderr) = post_render(&platform_path("ha-10-preferred"), &without_egress);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!("post_render_1_0_preferred", stdout);
    let objects = parse_objects(&stdout).unwrap();
    for (name, labels) in TARGETS_1_0
        .iter()
        .filter(|(n, _)| *n != "istio-egressgateway")
    {
        let d = object(&objects, "Deployment", name);
        assert_eq!(d["spec"]["replicas"], 2, "{name}");
        let anti = &d["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"];
        assert!(anti
            .get("requiredDuringSchedulingIgnoredDuringExecution")
            .is_none());
        let terms = anti["preferredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .unwrap();
        assert_eq!(terms.len(), 1, "{name}");
        assert_eq!(terms[0]["weight"], 100);
        let term = &terms[0]["podAffinityTerm"];
        assert_eq!(term["topologyKey"], "topology.kubernetes.io/zone");
        let want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(selected(&term["labelSelector"]), want, "{name}");
    }
    let (_, istiod, stderr) =
        post_render(&platform_path("ha-111-preferred"), &fixture("v1.11.8.yaml"));
    let istiod = object(&parse_objects(&istiod).unwrap(), "Deployment", "istiod").clone();
    let terms = &istiod["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        ["preferredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(terms[0]["weight"], 100, "{stderr}");
    assert_eq!(
        terms[0]["podAffinityTerm"]["topologyKey"],
        "kubernetes.io/hostname"
    );
}

#[test]
fn istio_1_11_zone_adds_affinity_to_istiod() {
    let input = fixture("v1.11.8.yaml");
    let (code, stdout, stderr) = post_render(&platform_path("ha-111-zone"), &input);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!("post_render_1_11_zone", stdout);
    let before = documents(&input);
    let after = documents(&stdout);
    assert_eq!(before[0], after[0], "Service untouched");
    assert_eq!(before[2], after[2], "PodDisruptionBudget untouched");
    let objects = parse_objects(&stdout).unwrap();
    let istiod = object(&objects, "Deployment", "istiod");
    let term = &istiod["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        ["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(term["topologyKey"], "topology.kubernetes.io/zone");
}

#[test]
fn anti_affinity_none_sets_replicas_only() {
    let input = fixture("v1.0.9.yaml");
    let (code, stdout, stderr) = post_render(&platform_path("ha-10-none"), &input);
    assert_eq!(code, Some(0), "{stderr}");
    let objects = parse_objects(&stdout).unwrap();
    for (name, _) in TARGETS_1_0 {
        let d = object(&objects, "Deployment", name);
        assert_eq!(d["spec"]["replicas"], 2);
        assert!(d["spec"]["template"]["spec"]["affinity"]
            .get("podAntiAffinity")
            .is_none());
    }
}

#[test]
fn without_high_availability_the_stream_passes_through() {
    for file in ["v1.0.9.yaml", "v1.11.8.yaml"] {
        let input = fixture(file);
        let (code, stdout, stderr) = post_render("kvm", &input);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(stdout, input, "{file}");
    }
}

#[test]
fn running_twice_changes_nothing_more() {
    let input = fixture("v1.0.9.yaml");
    let platform = platform_path("ha-10-hostname");
    let (_, once, _) = post_render(&platform, &input);
    let (code, twice, stderr) = post_render(&platform, &once);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(once, twice);
}

#[test]
fn bad_input_fails_with_the_document_and_line_and_prints_nothing() {
    let good = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n";
    let cases = [
        (
            format!("{good}---\n# Source: x\nkind: Deployment\nmetadata: {{name: [b\n"),
            "<stdin>:",
            "document 2 starting at line 8: invalid YAML",
        ),
        (
            format!("{good}---\napiVersion: v1\nmetadata:\n  name: b\n"),
            "<stdin>:7:1:",
            "document 2 has no `kind`",
        ),
        (
            format!("{good}---\napiVersion: v1\nkind: Service\nmetadata:\n  labels: {{}}\n"),
            "<stdin>:7:1:",
            "document 2 has no `metadata.name`",
        ),
        (
            format!("{good}---\n- a list\n"),
            "<stdin>:7:1:",
            "document 2 is not a mapping",
        ),
    ];
    for platform in [platform_path("ha-10-hostname").as_str(), "kvm"] {
        for (input, at, message) in &cases {
            let (code, stdout, stderr) = post_render(platform, input);
            assert_eq!(code, Some(1), "{input}\n{stderr}");
            assert!(stdout.is_empty(), "nothing on stdout for {input}");
            assert!(stderr.starts_with(at), "{stderr}");
            assert!(stderr.contains(message), "{stderr}");
        }
    }
}

#[test]
fn a_target_whose_pod_labels_differ_is_refused() {
    let input = fixture("v1.0.9.yaml").replace(
        "        istio: citadel\n      annotations",
        "        istio: ca\n      annotations",
    );
    let (code, stdout, stderr) = post_render(&platform_path("ha-10-hostname"), &input);
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty());
    assert!(
        stderr
            .contains("(Deployment istio-citadel): the pod template has no label `istio: citadel`"),
        "{stderr}"
    );
}

/// Applies a strategic-merge patch for the narrow case the patches use: maps merge key by key,
/// lists and scalars replace (no merge keys are involved: the anti-affinity term list has none).
fn strategic_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        strategic_merge(existing, v)
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[test]
fn flux_patches_agree_with_post_render() {
    for (platform, file) in [
        ("ha-10-hostname", "v1.0.9.yaml"),
        ("ha-10-none", "v1.0.9.yaml"),
        ("ha-10-preferred", "v1.0.9.yaml"),
        ("ha-111-zone", "v1.11.8.yaml"),
        ("ha-111-preferred", "v1.11.8.yaml"),
    ] {
        let path = platform_path(platform);
        let mut input = fixture(file);
        if platform == "ha-10-preferred" {
            // Its egress gateway is off: the chart renders no Deployment, Flux gets no patch.
            input = documents(&input)
                .into_iter()
                .filter(|d| !d.contains("\n  name: istio-egressgateway\n"))
                .collect();
        }
        let (code, stdout, stderr) = post_render(&path, &input);
        assert_eq!(code, Some(0), "{stderr}");
        let want = parse_objects(&stdout).unwrap();

        let resolved = resolved(&path);
        let patches = flux_patches(&resolved);
        assert!(!patches.is_empty());
        let mut got = parse_objects(&input).unwrap();
        for patch in &patches {
            let patch_object = &parse_objects(&patch.patch).unwrap()[0];
            assert_eq!(patch_object["kind"], patch.target.kind);
            assert_eq!(patch_object["metadata"]["name"], patch.target.name.as_str());
            let targets: Vec<&mut Value> = got
                .iter_mut()
                .filter(|o| {
                    o["kind"] == patch.target.kind
                        && o["metadata"]["name"] == patch.target.name.as_str()
                })
                .collect();
            assert_eq!(
                targets.len(),
                1,
                "{platform}: one {} {}",
                patch.target.kind,
                patch.target.name
            );
            for t in targets {
                // The patch's own apiVersion is only for kustomize; the object keeps its own.
                let api = t["apiVersion"].clone();
                strategic_merge(t, patch_object);
                assert_eq!(t["apiVersion"], api, "patch apiVersion matches the chart's");
            }
        }
        assert_eq!(got, want, "{platform}: patches and post-render agree");
    }
}

#[test]
fn flux_post_renderers_golden() {
    let value = flux_post_renderers(&resolved(&platform_path("ha-10-hostname"))).unwrap();
    insta::assert_yaml_snapshot!("flux_post_renderers_1_0_hostname", value);
    let value = flux_post_renderers(&resolved(&platform_path("ha-10-preferred"))).unwrap();
    insta::assert_yaml_snapshot!("flux_post_renderers_1_0_preferred", value);
    assert!(flux_post_renderers(&resolved("kvm")).is_none());
}

/// The Istio 0.6.0 and 1.0.9 templates render keys twice (`ports:` in the mixer containers,
/// `containerPort:` in one port); Kubernetes reads the last one. Documents the post-renderer
/// does not change come out byte for byte, duplicates and all.
#[test]
fn duplicate_keys_in_untouched_documents_pass_through() {
    for (platform, file) in [
        ("kvm", "duplicates-1.0.yaml"),
        ("minikube", "duplicates-0.6.yaml"),
    ] {
        let input = fixture(file);
        let (code, stdout, stderr) = post_render(platform, &input);
        assert_eq!(code, Some(0), "{file}: {stderr}");
        assert_eq!(stdout, input, "{file}");
    }
    let input = fixture("duplicates-1.0.yaml");
    let (code, stdout, stderr) = post_render(&platform_path("ha-10-hostname"), &input);
    assert_eq!(code, Some(0), "{stderr}");
    let (before, after) = (documents(&input), documents(&stdout));
    assert_eq!(before.len(), 3);
    assert_eq!(before.len(), after.len());
    assert_ne!(before[0], after[0], "the mixer Deployment is a target");
    assert_ne!(before[1], after[1], "pilot is a target");
    assert_eq!(before[2], after[2], "the Service is untouched");
    // The mixer is read as Kubernetes reads it, the second `ports:` list, and written back
    // with that list only: no duplicate key left for kustomize to refuse.
    let read = |stream: &str| {
        let objects = parse_objects(stream).unwrap();
        object(&objects, "Deployment", "istio-policy")["spec"]["template"]["spec"]["containers"][0]
            ["ports"]
            .clone()
    };
    let last_wins = serde_json::json!([{"containerPort": 9091}, {"containerPort": 15004}]);
    assert_eq!(read(&input), last_wins);
    assert_eq!(read(&stdout), last_wins);
    let keys = after[0].lines().filter(|l| l.trim() == "ports:").count();
    assert_eq!(keys, 1, "{}", after[0]);
    meshgen::yaml::parse(after[0].trim_start_matches("---\n")).expect("no duplicate keys");
}

/// A target carrying duplicate keys is found, checked and changed on the object Kubernetes
/// reads (its name, pod labels and ports the last ones written), and written back without the
/// overridden entries.
#[test]
fn a_target_with_duplicate_keys_is_changed_as_kubernetes_reads_it() {
    let input = fixture("duplicates-1.0.yaml");
    let (code, stdout, stderr) = post_render(&platform_path("ha-10-hostname"), &input);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!("post_render_1_0_duplicates", stdout);

    let pilot = &documents(&stdout)[1];
    // meshgen's strict reader refuses any key written twice: none is left.
    let strict = meshgen::yaml::parse(pilot).unwrap_or_else(|e| panic!("{e}\n{pilot}"));
    assert!(!pilot.contains("istio-pilot-canary"), "{pilot}");
    assert_eq!(pilot.matches("replicas:").count(), 1, "{pilot}");

    let before = parse_objects(&input).unwrap();
    let b = object(&before, "Deployment", "istio-pilot");
    let mut a = strict.to_json();
    assert_eq!(
        a,
        *object(
            &parse_objects(&stdout).unwrap(),
            "Deployment",
            "istio-pilot"
        )
    );
    assert_eq!(a["metadata"]["name"], "istio-pilot");
    assert_eq!(a["spec"]["replicas"], 3);
    let pod = &a["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"],
        serde_json::json!({"istio": "pilot", "app": "pilot"})
    );
    assert_eq!(
        pod["spec"]["containers"][0]["ports"],
        serde_json::json!([{"containerPort": 15010}, {"containerPort": 15011}])
    );
    assert_eq!(
        pod["spec"]["affinity"]["podAntiAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"],
        "kubernetes.io/hostname"
    );
    // The winners keep their own places: `replicas` was written last in `spec`.
    let spec_keys: Vec<&String> = a["spec"].as_object().unwrap().keys().collect();
    assert_eq!(spec_keys, ["template", "replicas"]);
    // Nothing else of the object Kubernetes reads changed.
    a["spec"]["template"]["spec"]["affinity"]
        .as_object_mut()
        .unwrap()
        .remove("podAntiAffinity");
    a["spec"]["replicas"] = b["spec"]["replicas"].clone();
    assert_eq!(&a, b);
}

/// Every message about bad input is in plain words, names `<stdin>` with a line, and names
/// the document when there is one: never Rust's debug text of a library type.
/// A `v1` List, as 1.0's tracing chart renders its Services: passed through when no target is
/// among its items, its target Deployments changed in place otherwise, refused when an item is
/// not an object.
#[test]
fn a_list_document_is_read_item_by_item() {
    let platform = platform_path("ha-10-hostname");
    let services = "---\n# Source: istio/charts/tracing/templates/service-jaeger.yaml\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: jaeger-query\n    annotations:\n  spec:\n    ports:\n    - port: 16686\n";
    let (code, stdout, stderr) = post_render(&platform, services);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout, services,
        "an untouched List passes through byte for byte"
    );

    let pilot = "---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: extensions/v1beta1\n  kind: Deployment\n  metadata:\n    name: istio-pilot\n  spec:\n    replicas: 1\n    template:\n      metadata:\n        labels:\n          app: pilot\n          istio: pilot\n      spec:\n        containers: []\n";
    let (code, stdout, stderr) = post_render(&platform, pilot);
    assert_eq!(code, Some(0), "{stderr}");
    let objects = parse_objects(&stdout).unwrap();
    let deployment = &objects[0]["items"][0];
    assert_eq!(deployment["spec"]["replicas"], 3, "{stdout}");
    let terms = &deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        ["requiredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(
        terms[0]["topologyKey"], "kubernetes.io/hostname",
        "{stdout}"
    );

    let (code, stdout, stderr) = post_render(
        &platform,
        "---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  metadata: {}\n",
    );
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty());
    assert!(
        stderr
            .contains("<stdin>:5:1: document 1 (a List): item 1 has no `kind` or `metadata.name`"),
        "{stderr}"
    );
}

/// A changed Deployment is re-emitted with its strings quoted where a YAML 1.1 reader
/// (Kubernetes) would take them for a boolean or a number.
#[test]
fn re_emitted_strings_stay_strings_for_kubernetes() {
    let input = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: istio-pilot\n  labels:\n    version: \"on\"\n    build: \"1_000\"\n    flag: \"0b101\"\n    y: \"y\"\nspec:\n  template:\n    metadata:\n      labels:\n        app: pilot\n        istio: pilot\n    spec:\n      containers: []\n";
    let (code, stdout, stderr) = post_render(&platform_path("ha-10-hostname"), input);
    assert_eq!(code, Some(0), "{stderr}");
    for quoted in [
        "version: \"on\"",
        "build: \"1_000\"",
        "flag: \"0b101\"",
        "\"y\": \"y\"",
    ] {
        assert!(stdout.contains(quoted), "{quoted} in\n{stdout}");
    }
}

#[test]
fn bad_input_messages_are_plain_words() {
    let good = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n";
    let pilot_head =
        "---\napiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: istio-pilot\n";
    let mut inputs: Vec<String> = [
        "kind: Service\nkind: [x\n",
        "kind: Service\nmetadata:\n  name: a\n  name: {}\n",
        "kind: Service\nkind:\n- Service\nmetadata:\n  name: a\n",
        "? [a, b]\n: c\nkind: Service\nmetadata:\n  name: a\n",
        "kind: Service\nmetadata:\n  name: a\nspec:\n  port: !!int eighty\n",
        "kind: Service\nmetadata:\n  name: *nowhere\n",
        "kind: Service\nmetadata:\n\tname: a\n",
        "ports: 1\nports: 2\n",
        "\"unterminated: a\n",
    ]
    .iter()
    .map(|doc| format!("{good}---\n{doc}"))
    .collect();
    inputs.push(format!(
        "{pilot_head}spec:\n  template:\n    metadata:\n      labels: {{app: pilot, istio: pilot}}\n      labels: {{app: pilot}}\n"
    ));
    inputs.push(format!("{pilot_head}spec:\n  template:\n    metadata:\n      labels: {{app: pilot, istio: pilot}}\n    spec: []\n"));
    inputs.push(format!("{pilot_head}spec: 1\nspec: []\n"));
    let corpus = Path::new("tests/corpus/manifest");
    let mut files: Vec<_> = std::fs::read_dir(corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        // Not-UTF-8 and NUL cases go through the binary as bytes below.
        if let Ok(text) = String::from_utf8(bytes) {
            inputs.push(text);
        }
    }
    assert!(inputs.len() > 30);
    let debug_text = [
        "String(",
        "Some(",
        "None",
        "Integer(",
        "Real(",
        "Hash(",
        "Array(",
        "Boolean(",
        "BadValue",
        "Marker",
        "ScanError",
        "EmitError",
        "Error {",
        "\\\"",
    ];
    let located = regex_lite_located();
    for input in &inputs {
        for platform in [platform_path("ha-10-hostname"), "kvm".to_string()] {
            let (code, stdout, stderr) = post_render(&platform, input);
            // A target that cannot be changed is refused only where it is changed.
            if platform == "kvm" && code == Some(0) {
                assert!(input.contains("name: istio-pilot"), "{input}");
                continue;
            }
            assert_eq!(code, Some(1), "{platform}: {input}\n{stderr}");
            assert!(stdout.is_empty());
            for text in debug_text {
                assert!(!stderr.contains(text), "debug text `{text}` in: {stderr}");
            }
            assert!(located(&stderr), "not located: {stderr}");
            assert!(stderr.contains("document "), "no document named: {stderr}");
        }
    }
}

/// `<stdin>:LINE:COL: ` with a line of at least 1.
fn regex_lite_located() -> impl Fn(&str) -> bool {
    |stderr: &str| {
        let Some(rest) = stderr.strip_prefix("<stdin>:") else {
            return false;
        };
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().and_then(|l| l.parse::<usize>().ok());
        let col = parts.next().and_then(|c| c.parse::<usize>().ok());
        matches!((line, col), (Some(l), Some(_)) if l >= 1)
    }
}

mod last_wins {
    //! For streams with keys written twice anywhere, the object post-render decides on and
    //! changes is the object a last-wins reader (Kubernetes') sees, modelled here on its own.

    use meshgen::install::postrender::{parse_objects, post_render, HaChange};
    use meshgen::model::release_line::ReleaseLine;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    #[derive(Debug, Clone)]
    enum Tree {
        Int(i64),
        Str(String),
        List(Vec<Tree>),
        Map(Vec<(String, Tree)>),
    }

    fn tree() -> impl Strategy<Value = Tree> {
        let leaf = prop_oneof![
            (0i64..100).prop_map(Tree::Int),
            "s[a-z]{0,4}".prop_map(Tree::Str),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Tree::List),
                // Three key names for up to five entries: most maps repeat a key.
                prop::collection::vec(("[abc]", inner), 1..6).prop_map(Tree::Map),
            ]
        })
    }

    /// Block YAML for the mapping entries at `indent`; lists in flow style.
    fn write_map(out: &mut String, entries: &[(String, Tree)], indent: usize) {
        for (key, value) in entries {
            out.push_str(&" ".repeat(indent));
            out.push_str(key);
            out.push(':');
            match value {
                Tree::Map(inner) => {
                    out.push('\n');
                    write_map(out, inner, indent + 2);
                }
                other => {
                    out.push(' ');
                    out.push_str(&flow(other));
                    out.push('\n');
                }
            }
        }
    }

    fn flow(tree: &Tree) -> String {
        match tree {
            Tree::Int(i) => i.to_string(),
            Tree::Str(s) => s.clone(),
            Tree::List(items) => {
                format!(
                    "[{}]",
                    items.iter().map(flow).collect::<Vec<_>>().join(", ")
                )
            }
            Tree::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", flow(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The last-wins reading: a later entry replaces an earlier one whole and takes its
    /// own place.
    fn model(tree: &Tree) -> Value {
        match tree {
            Tree::Int(i) => Value::from(*i),
            Tree::Str(s) => Value::from(s.as_str()),
            Tree::List(items) => Value::Array(items.iter().map(model).collect()),
            Tree::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.shift_remove(k);
                    map.insert(k.clone(), model(v));
                }
                Value::Object(map)
            }
        }
    }

    fn kinds() -> impl Strategy<Value = Vec<&'static str>> {
        prop::collection::vec(prop_oneof![Just("Deployment"), Just("Service")], 1..4)
    }

    fn names() -> impl Strategy<Value = Vec<&'static str>> {
        prop::collection::vec(prop_oneof![Just("istio-pilot"), Just("prometheus")], 1..4)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn post_render_decides_and_changes_on_the_last_wins_reading(
            kinds in kinds(),
            names in names(),
            extra in prop::collection::vec(("[abc]", tree()), 1..6),
        ) {
            let mut input = String::from("apiVersion: extensions/v1beta1\n");
            for kind in &kinds {
                input.push_str(&format!("kind: {kind}\n"));
            }
            input.push_str("metadata:\n");
            for name in &names {
                input.push_str(&format!("  name: {name}\n"));
            }
            input.push_str("spec:\n  replicas: 1\n  extra:\n");
            write_map(&mut input, &extra, 4);
            input.push_str("  template:\n    metadata:\n      labels:\n        app: pilot\n        istio: pilot\n");
            let (kind, name) = (*kinds.last().unwrap(), *names.last().unwrap());
            let want_extra = model(&Tree::Map(extra.clone()));

            // The reading itself, key order included.
            let read = &parse_objects(&input).unwrap()[0];
            prop_assert_eq!(&read["kind"], kind);
            prop_assert_eq!(&read["metadata"]["name"], name);
            prop_assert_eq!(read["spec"]["extra"].to_string(), want_extra.to_string());

            let change = HaChange {
                replicas: 3,
                topology_key: Some("kubernetes.io/hostname"),
                spreading: meshgen::model::platform::Spreading::Required,
            };
            let out = post_render(&input, &meshgen::install::postrender::targets(ReleaseLine::V1_0), Some(change)).unwrap();
            if kind == "Deployment" && name == "istio-pilot" {
                // Changed, on that reading, and written without any duplicate.
                let strict = meshgen::yaml::parse(&out)
                    .unwrap_or_else(|e| panic!("{e}\n{out}"))
                    .to_json();
                prop_assert_eq!(&strict["kind"], kind);
                prop_assert_eq!(&strict["metadata"]["name"], name);
                prop_assert_eq!(&strict["spec"]["replicas"], 3);
                prop_assert_eq!(strict["spec"]["extra"].to_string(), want_extra.to_string());
            } else {
                prop_assert_eq!(out, input);
            }
        }
    }
}
