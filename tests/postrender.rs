//! `meshgen post-render` over rendered manifests written for the tests in the shape of the real
//! 1.0.9 and 1.11.8 charts (tests/fixtures/postrender/), run as the real binary, and the
//! agreement of the Flux kustomize patches with it.

use std::path::Path;

use assert_cmd::Command;
use meshgen::load::{resolve_request, PlatformRequest};
use meshgen::postrender::{flux_patches, flux_post_renderers, parse_objects};
use meshgen::resolve::{Origin, ResolvedPlatform};
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
    let out = Command::cargo_bin("meshgen")
        .unwrap()
        .args(["post-render", "--platform", platform])
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
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
    let version_for = |line: meshgen::release_line::ReleaseLine| {
        (
            line.pinned_version(),
            Origin::Default {
                why: "built-in pin".into(),
            },
        )
    };
    resolve_request(&request, Path::new("."), &version_for)
        .unwrap()
        .1
}

#[test]
fn istio_1_0_hostname_spreads_pilot_citadel_galley() {
    let input = fixture("v1.0.9.yaml");
    let (code, stdout, stderr) = post_render(&platform_path("ha-10-hostname"), &input);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!("post_render_1_0_hostname", stdout);

    // Untouched documents come out byte for byte, in the same places.
    let before = documents(&input);
    let after = documents(&stdout);
    assert_eq!(before.len(), after.len());
    let changed = ["istio-galley", "istio-pilot", "istio-citadel"];
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
    for (name, labels) in [
        ("istio-pilot", vec![("app", "pilot"), ("istio", "pilot")]),
        ("istio-citadel", vec![("istio", "citadel")]),
        ("istio-galley", vec![("istio", "galley")]),
    ] {
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
        let selected: Vec<(String, String)> = terms[0]["labelSelector"]["matchExpressions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                assert_eq!(e["operator"], "In");
                (
                    e["key"].as_str().unwrap().to_string(),
                    e["values"][0].as_str().unwrap().to_string(),
                )
            })
            .collect();
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
    // istio-policy is not a target: the chart scales it.
    assert_eq!(
        object(&objects_after, "Deployment", "istio-policy")["spec"]["replicas"],
        1
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
    for name in ["istio-pilot", "istio-citadel", "istio-galley"] {
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
        ("ha-111-zone", "v1.11.8.yaml"),
    ] {
        let path = platform_path(platform);
        let input = fixture(file);
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
    assert!(flux_post_renderers(&resolved("kvm")).is_none());
}
