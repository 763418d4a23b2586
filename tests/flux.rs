//! `meshgen flux` run as the real binary: every built-in platform's objects are validated
//! against the schemas of Flux's CRDs kept in tests/fixtures/flux (HelmRelease v2,
//! GitRepository v1), made strict so that a misspelt field fails instead of being pruned.

mod common;

use std::path::Path;

use assert_cmd::Command;
use meshgen::install::postrender::parse_objects;
use serde_json::Value;

const URL: &str = "https://git.example.com/platform/fleet.git";
const BUILTINS: [&str; 6] = ["pks", "gke-internal", "aws", "azure", "kvm", "minikube"];

fn meshgen(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    common::outcome(
        Command::cargo_bin("meshgen")
            .unwrap()
            .current_dir(dir)
            .args(args),
    )
}

/// Flux objects of a platform, run from an empty directory (built-in pins, no lock).
fn flux(platform: &str, extra: &[&str]) -> (Vec<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["flux", "--platform", platform, "--git-url", URL];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = meshgen(dir.path(), &args);
    assert_eq!(code, Some(0), "{platform}: {stderr}");
    // The stream must read back with meshgen's own strict reader too, document by document.
    for doc in stdout.split("\n---\n").skip(1) {
        meshgen::yaml::parse(doc).unwrap_or_else(|e| panic!("{platform}: {e}\n{doc}"));
    }
    (parse_objects(&stdout).unwrap(), stderr)
}

/// Kubernetes prunes fields a structural schema does not declare; `kubectl apply` with
/// strict validation refuses them. The test is strict: a misspelt field must fail.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let open = map.contains_key("x-kubernetes-preserve-unknown-fields");
            if map.contains_key("properties") && !open && !map.contains_key("additionalProperties")
            {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for value in map.values_mut() {
                strict(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

fn validator(file: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(Path::new("tests/fixtures/flux").join(file)).unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    strict(&mut schema);
    jsonschema::validator_for(&schema).unwrap()
}

struct Schemas {
    helm_release: jsonschema::Validator,
    git_repository: jsonschema::Validator,
}

impl Schemas {
    fn new() -> Self {
        Schemas {
            helm_release: validator("helmrelease-v2.schema.json"),
            git_repository: validator("gitrepository-v1.schema.json"),
        }
    }

    /// The schema errors of one object, plus the CRD's CEL rule that matters here.
    fn errors(&self, object: &Value) -> Vec<String> {
        let validator = match (object["apiVersion"].as_str(), object["kind"].as_str()) {
            (Some("helm.toolkit.fluxcd.io/v2"), Some("HelmRelease")) => &self.helm_release,
            (Some("source.toolkit.fluxcd.io/v1"), Some("GitRepository")) => &self.git_repository,
            other => return vec![format!("not a Flux object: {other:?}")],
        };
        let mut errors: Vec<String> = validator
            .iter_errors(object)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if object["kind"] == "HelmRelease"
            && object["spec"].get("chart").is_some() == object["spec"].get("chartRef").is_some()
        {
            errors.push("either chart or chartRef must be set".into());
        }
        errors
    }
}

fn flux_objects(objects: &[Value]) -> impl Iterator<Item = &Value> {
    objects
        .iter()
        .filter(|o| o["apiVersion"].as_str().unwrap().contains(".fluxcd.io/"))
}

fn release<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == "HelmRelease" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("HelmRelease {name}"))
}

#[test]
fn every_builtin_platform_is_valid_flux() {
    let schemas = Schemas::new();
    for platform in BUILTINS {
        let (objects, _) = flux(platform, &[]);
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds[0], "GitRepository",
            "{platform}: the source comes first"
        );
        assert!(kinds[1..].contains(&"HelmRelease"), "{platform}");
        for object in flux_objects(&objects) {
            let errors = schemas.errors(object);
            assert!(errors.is_empty(), "{platform}: {errors:#?}\n{object:#}");
        }
    }
}

#[test]
fn the_schema_check_catches_a_misspelt_field() {
    let schemas = Schemas::new();
    let (objects, _) = flux("kvm", &[]);
    let mut broken = release(&objects, "istio").clone();
    broken["spec"]["install"]["createNamespaces"] = Value::Bool(true);
    assert!(!schemas.errors(&broken).is_empty());
    let mut broken = release(&objects, "istio").clone();
    broken["spec"]["install"]["crds"] = Value::String("Replace".into());
    assert!(!schemas.errors(&broken).is_empty());
    let mut broken = objects[0].clone();
    broken["spec"]["url"] = Value::String("git@example.com:fleet.git".into());
    assert!(!schemas.errors(&broken).is_empty());
}

#[test]
fn releases_take_vendored_charts_with_the_values_inline() {
    for platform in BUILTINS {
        let dir = tempfile::tempdir().unwrap();
        let (code, values, stderr) = meshgen(dir.path(), &["values", "--platform", platform]);
        assert_eq!(code, Some(0), "{stderr}");
        // "# Helm values for Istio 1.0.9 (release line 1.0), ..."
        let version = values.split_whitespace().nth(5).unwrap().to_string();
        let values = meshgen::yaml::parse(&values).unwrap().to_json();
        let (objects, _) = flux(platform, &["--path", "./clusters/prod/"]);
        let source = &objects[0];
        assert_eq!(source["spec"]["url"], URL);
        assert_eq!(source["spec"]["ref"]["branch"], "main");
        for hr in objects.iter().filter(|o| o["kind"] == "HelmRelease") {
            let spec = &hr["spec"];
            let chart = &spec["chart"]["spec"];
            let path = chart["chart"].as_str().unwrap();
            assert!(
                path.starts_with(&format!("./clusters/prod/vendor/istio/{version}/")),
                "{platform}: {path}"
            );
            assert_eq!(chart["reconcileStrategy"], "Revision");
            assert_eq!(chart["sourceRef"]["kind"], "GitRepository");
            assert_eq!(chart["sourceRef"]["name"], source["metadata"]["name"]);
            assert_eq!(spec["install"]["createNamespace"], true);
            assert_eq!(spec["install"]["crds"], "CreateReplace");
            assert_eq!(spec["upgrade"]["crds"], "CreateReplace");
            assert_eq!(spec["targetNamespace"], "istio-system");
            assert_eq!(spec["releaseName"], hr["metadata"]["name"]);
            assert_eq!(
                spec["values"], values,
                "{platform}: values inline, as `meshgen values`"
            );
        }
    }
}

#[test]
fn istio_1_11_installs_base_then_istiod_then_gateways() {
    let (objects, _) = flux("gke-internal", &[]);
    assert_eq!(
        common::helm_release_names(&objects),
        ["istio-base", "istiod", "istio-ingress", "istio-egress"]
    );
    let depends = |name| release(&objects, name)["spec"].get("dependsOn").cloned();
    assert_eq!(depends("istio-base"), None);
    assert_eq!(depends("istiod").unwrap()[0]["name"], "istio-base");
    assert_eq!(depends("istio-ingress").unwrap()[0]["name"], "istiod");
    assert_eq!(depends("istio-egress").unwrap()[0]["name"], "istiod");
    // The umbrella chart of 1.0 is a single release with nothing to wait for.
    let (objects, _) = flux("kvm", &[]);
    assert!(release(&objects, "istio")["spec"]
        .get("dependsOn")
        .is_none());
}

#[test]
fn post_renderers_ride_on_the_release_with_the_control_plane() {
    let ha_111 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/postrender/platforms/ha-111-zone.yaml"
    );
    let (objects, _) = flux(ha_111, &[]);
    for hr in objects.iter().filter(|o| o["kind"] == "HelmRelease") {
        let has = hr["spec"].get("postRenderers").is_some();
        assert_eq!(has, hr["metadata"]["name"] == "istiod", "{hr:#}");
    }
    let patches = &release(&objects, "istiod")["spec"]["postRenderers"][0]["kustomize"]["patches"];
    assert_eq!(patches[0]["target"]["name"], "istiod");
    let patch = meshgen::yaml::parse(patches[0]["patch"].as_str().unwrap())
        .unwrap()
        .to_json();
    assert_eq!(
        patch["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"],
        "topology.kubernetes.io/zone"
    );
    // pks has HA on 1.0: the umbrella release carries pilot, citadel and galley patches.
    let (objects, _) = flux("pks", &[]);
    let patches = &release(&objects, "istio")["spec"]["postRenderers"][0]["kustomize"]["patches"];
    let targets: Vec<&str> = patches
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["target"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["istio-pilot", "istio-citadel", "istio-galley"]);
    // No HA, no post-renderers.
    let (objects, _) = flux("minikube", &[]);
    assert!(release(&objects, "istio")["spec"]
        .get("postRenderers")
        .is_none());
}

#[test]
fn the_platform_manifests_come_along() {
    let dir = tempfile::tempdir().unwrap();
    let (code, manifests, stderr) = meshgen(dir.path(), &["manifests", "--platform", "kvm"]);
    assert_eq!(code, Some(0), "{stderr}");
    let manifests = parse_objects(&manifests).unwrap();
    assert!(manifests.iter().any(|o| o["kind"] == "PodSecurityPolicy"));
    let (objects, _) = flux("kvm", &[]);
    let others: Vec<Value> = objects
        .iter()
        .filter(|o| !o["apiVersion"].as_str().unwrap().contains(".fluxcd.io/"))
        .cloned()
        .collect();
    assert_eq!(others, manifests);
}

#[test]
fn flux_older_than_the_cluster_is_a_warning() {
    let (_, stderr) = flux("kvm", &[]);
    assert!(stderr.contains("Kubernetes 1.28"), "{stderr}");
}

#[test]
fn bad_source_arguments_are_refused_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    for (args, fragment) in [
        (
            vec!["--git-url", "git@github.com:acme/fleet.git"],
            "ssh://git@github.com/acme/fleet.git",
        ),
        (
            vec!["--git-url", "ftp://h/r"],
            "http://, https:// or ssh://",
        ),
        (
            vec!["--git-url", URL, "--path", "../x"],
            "leaves the repository",
        ),
        (
            vec!["--git-url", URL, "--branch", "a b"],
            "not a valid git branch",
        ),
        (
            vec!["--git-url", URL, "--flux-namespace", "Flux"],
            "not a Kubernetes namespace",
        ),
    ] {
        let mut all = vec!["flux", "--platform", "kvm"];
        all.extend(args);
        let (code, stdout, stderr) = meshgen(dir.path(), &all);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(fragment), "{stderr}");
    }
    // An invalid platform is located, exit 1, nothing printed.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: bad\nspec:\n  provider: kvm\n  istio: \"2.0\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = meshgen(
        dir.path(),
        &["flux", "--platform", "bad.yaml", "--git-url", URL],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("bad.yaml:7:"), "{stderr}");
}

#[test]
fn the_repository_settings_supply_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = meshgen(dir.path(), &["flux", "--platform", "kvm"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("give --git-url URL, or set flux.gitUrl in meshgen.yaml"),
        "{stderr}"
    );
    std::fs::write(
        dir.path().join("meshgen.yaml"),
        "flux:\n  gitUrl: ssh://git@git.example.com/fleet.git\n  branch: prod\n  path: mesh\n",
    )
    .unwrap();
    let (code, stdout, stderr) = meshgen(dir.path(), &["flux", "--platform", "kvm"]);
    assert_eq!(code, Some(0), "{stderr}");
    let objects = parse_objects(&stdout).unwrap();
    assert_eq!(
        objects[0]["spec"]["url"],
        "ssh://git@git.example.com/fleet.git"
    );
    assert_eq!(objects[0]["spec"]["ref"]["branch"], "prod");
    let chart = &release(&objects, "istio")["spec"]["chart"]["spec"]["chart"];
    assert!(
        chart.as_str().unwrap().starts_with("./mesh/vendor/"),
        "{chart}"
    );
    // A flag wins over the file.
    let (_, stdout, _) = meshgen(dir.path(), &["flux", "--platform", "kvm", "--branch", "x"]);
    assert_eq!(
        parse_objects(&stdout).unwrap()[0]["spec"]["ref"]["branch"],
        "x"
    );
    // A broken settings file is located.
    std::fs::write(
        dir.path().join("meshgen.yaml"),
        "flux:\n  gitUrl: ftp://x/y\n",
    )
    .unwrap();
    let (code, stdout, stderr) = meshgen(dir.path(), &["flux", "--platform", "kvm"]);
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("meshgen.yaml:2:11: flux.gitUrl:"),
        "{stderr}"
    );
}
