//! `meshgen flux` run as the real binary: every built-in platform's objects are validated
//! against the schemas of Flux's CRDs kept in tests/fixtures/flux (HelmRelease v2,
//! GitRepository v1, Kustomization v1), made strict so that a misspelt field fails instead of
//! being pruned.

mod common;

use std::path::Path;

use meshgen::install::postrender::parse_objects;
use serde_json::Value;

const URL: &str = "https://git.example.com/platform/fleet.git";
const BUILTINS: [&str; 6] = ["pks", "gke-internal", "aws", "azure", "kvm", "minikube"];

fn meshgen(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    common::outcome(common::meshgen_bin().current_dir(dir).args(args))
}

/// `meshgen vendor` of the platforms of `root` from a test upstream (flux.yaml installs from
/// `vendor/`, which `check` holds); keep both returned values alive while `root` is used.
fn vendor_from_test_upstream(root: &Path) -> (common::Upstream, tempfile::TempDir) {
    let up = common::upstream_with_builtin_pins();
    let cache = tempfile::tempdir().unwrap();
    let (code, _, stderr) =
        common::outcome(common::meshgen(cache.path()).current_dir(root).args([
            "vendor",
            "--remote",
            &up.path_str(),
        ]));
    assert_eq!(code, Some(0), "{stderr}");
    (up, cache)
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
    kustomization: jsonschema::Validator,
}

impl Schemas {
    fn new() -> Self {
        Schemas {
            helm_release: validator("helmrelease-v2.schema.json"),
            git_repository: validator("gitrepository-v1.schema.json"),
            kustomization: validator("kustomization-v1.schema.json"),
        }
    }

    /// The schema errors of one object, plus the CRDs' CEL rules that matter here.
    fn errors(&self, object: &Value) -> Vec<String> {
        let validator = match (object["apiVersion"].as_str(), object["kind"].as_str()) {
            (Some("helm.toolkit.fluxcd.io/v2"), Some("HelmRelease")) => &self.helm_release,
            (Some("source.toolkit.fluxcd.io/v1"), Some("GitRepository")) => &self.git_repository,
            (Some("kustomize.toolkit.fluxcd.io/v1"), Some("Kustomization")) => &self.kustomization,
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
        if let Some(kube_config) = object["spec"].get("kubeConfig") {
            if kube_config.get("secretRef").is_some() == kube_config.get("configMapRef").is_some() {
                errors
                    .push("exactly one of kubeConfig.configMapRef or kubeConfig.secretRef".into());
            }
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
    // The Kustomization of a management cluster's platform, likewise.
    let repo = repository(&[("edge-111", EDGE_111)]);
    let (objects, _, _) = flux_in(repo.path(), &["--platform", "edge-111"]);
    let kustomization = &objects[1];
    assert!(schemas.errors(kustomization).is_empty());
    let mut broken = kustomization.clone();
    broken["spec"]["kubeConfig"]["secretRef"]["keys"] = Value::String("value".into());
    assert!(!schemas.errors(&broken).is_empty());
    let mut broken = kustomization.clone();
    broken["spec"]["kubeConfig"]["configMapRef"] = serde_json::json!({ "name": "x" });
    assert!(!schemas.errors(&broken).is_empty());
    let mut broken = kustomization.clone();
    broken["spec"].as_object_mut().unwrap().remove("prune");
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
        // An extra gateway's release takes its own values file, in its own namespace (see
        // extra_gateways_on_1_11_are_releases_of_their_own).
        let own_release = |hr: &&Value| hr["spec"]["releaseName"] != "ilb-gateway";
        for hr in objects
            .iter()
            .filter(|o| o["kind"] == "HelmRelease")
            .filter(own_release)
        {
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
    let (objects, _) = flux(
        "gke-internal",
        &["--set", "spec.egressGateway.enabled=true"],
    );
    assert_eq!(
        common::helm_release_names(&objects),
        [
            "istio-base",
            "istiod",
            "istio-ingress",
            "istio-egress",
            "ilb-gateway"
        ]
    );
    let depends = |name| release(&objects, name)["spec"].get("dependsOn").cloned();
    assert_eq!(depends("istio-base"), None);
    assert_eq!(depends("istiod").unwrap()[0]["name"], "istio-base");
    assert_eq!(depends("istio-ingress").unwrap()[0]["name"], "istiod");
    assert_eq!(depends("istio-egress").unwrap()[0]["name"], "istiod");
    assert_eq!(depends("ilb-gateway").unwrap()[0]["name"], "istiod");
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
    // pks has HA on 1.0: the umbrella release carries a patch for every Deployment its values
    // scale; without the egress gateway, none for it.
    let targets = |set: &[&str]| -> Vec<String> {
        let (objects, _) = flux("pks", set);
        let patches =
            &release(&objects, "istio")["spec"]["postRenderers"][0]["kustomize"]["patches"];
        patches
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["target"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let all = [
        "istio-pilot",
        "istio-policy",
        "istio-telemetry",
        "istio-citadel",
        "istio-galley",
        "istio-sidecar-injector",
        "istio-ingressgateway",
        "istio-egressgateway",
    ];
    // The built-in spreads seed 000's set; naming every component patches every Deployment.
    assert_eq!(
        targets(&[]),
        ["istio-pilot", "istio-citadel", "istio-galley"]
    );
    const EVERY: &str = "spec.highAvailability.components={pilot,mixer,citadel,galley,sidecarInjector,ingressGateway,egressGateway,gateways}";
    assert_eq!(targets(&["--set", EVERY]), all);
    assert_eq!(
        targets(&["--set", EVERY, "--set", "spec.egressGateway.enabled=false"]),
        all[..7]
    );
    // Preferred spreading: a weighted term in the preferred list, none required.
    let (objects, _) = flux(
        "pks",
        &["--set", "spec.highAvailability.spreading=preferred"],
    );
    let patches = &release(&objects, "istio")["spec"]["postRenderers"][0]["kustomize"]["patches"];
    for p in patches.as_array().unwrap() {
        let patch = meshgen::yaml::parse(p["patch"].as_str().unwrap())
            .unwrap()
            .to_json();
        let anti = &patch["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"];
        assert!(anti
            .get("requiredDuringSchedulingIgnoredDuringExecution")
            .is_none());
        assert_eq!(
            anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"],
            100
        );
    }
    // No HA, no post-renderers.
    let (objects, _) = flux("minikube", &[]);
    assert!(release(&objects, "istio")["spec"]
        .get("postRenderers")
        .is_none());
}

#[test]
fn the_platform_manifests_come_along() {
    let dir = tempfile::tempdir().unwrap();
    // On 1.11 without mtls the manifests hold no Istio custom resource: flux.yaml carries them.
    let on_111 = ["--istio", "1.11", "--set", "spec.kubernetes=1.21"];
    let mut args = vec!["manifests", "--platform", "kvm"];
    args.extend_from_slice(&on_111);
    let (code, manifests, stderr) = meshgen(dir.path(), &args);
    assert_eq!(code, Some(0), "{stderr}");
    let manifests = parse_objects(&manifests).unwrap();
    assert!(manifests.iter().any(|o| o["kind"] == "PodSecurityPolicy"));
    let (objects, _) = flux("kvm", &on_111);
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

/// A platform installed from a management cluster: kvm's (Istio 1.0, pod security policy and
/// an injection namespace) with `kubeConfigSecret`, as `platforms/edge.yaml` of a repository.
const EDGE: &str = include_str!("fixtures/flux/edge.yaml");

/// The same on Istio 1.11 and Kubernetes 1.21, the Secret's key left to Flux.
const EDGE_111: &str = include_str!("fixtures/flux/edge-111.yaml");

/// A repository directory holding `platforms/<name>.yaml` for each file.
fn repository(platforms: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("platforms")).unwrap();
    for (name, text) in platforms {
        std::fs::write(dir.path().join(format!("platforms/{name}.yaml")), text).unwrap();
    }
    dir
}

fn flux_in(dir: &Path, args: &[&str]) -> (Vec<Value>, String, String) {
    let mut all = vec!["flux", "--git-url", URL];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = meshgen(dir, &all);
    assert_eq!(code, Some(0), "{stderr}");
    (parse_objects(&stdout).unwrap(), stdout, stderr)
}

#[test]
fn from_a_management_cluster_every_object_targets_the_platform_cluster() {
    let schemas = Schemas::new();
    let repo = repository(&[("edge", EDGE), ("edge-111", EDGE_111)]);
    for (platform, secret_ref, releases) in [
        (
            "edge",
            serde_json::json!({ "name": "edge-kubeconfig", "key": "value.yaml" }),
            vec!["edge-istio"],
        ),
        (
            "edge-111",
            serde_json::json!({ "name": "edge-111.kubeconfig" }),
            vec![
                "edge-111-istio-base",
                "edge-111-istiod",
                "edge-111-istio-ingress",
                "edge-111-istio-egress",
            ],
        ),
    ] {
        let (objects, _, stderr) =
            flux_in(repo.path(), &["--platform", platform, "--path", "mesh"]);
        for object in &objects {
            let errors = schemas.errors(object);
            assert!(errors.is_empty(), "{platform}: {errors:#?}\n{object:#}");
        }
        // Nothing is applied raw to the management cluster: no PodSecurityPolicy, no Namespace.
        // Kubernetes 1.11 (edge) serves no server-side apply, the only way a Kustomization
        // applies to a remote cluster: its manifests are left to kubectl, out of Flux.
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        let remote_kustomization = platform == "edge-111";
        let mut expected = vec!["GitRepository"];
        if remote_kustomization {
            expected.push("Kustomization");
        }
        expected.extend(std::iter::repeat_n("HelmRelease", releases.len()));
        assert_eq!(
            kinds, expected,
            "{platform}: the manifests before the charts"
        );
        assert_eq!(flux_objects(&objects).count(), objects.len());

        // Each object carries its platform's name: the management cluster holds every
        // platform's objects in one namespace. The Helm release keeps the chart's name.
        assert_eq!(common::helm_release_names(&objects), releases);
        for hr in objects.iter().filter(|o| o["kind"] == "HelmRelease") {
            assert_eq!(hr["spec"]["kubeConfig"]["secretRef"], secret_ref, "{hr:#}");
            let name = hr["metadata"]["name"].as_str().unwrap();
            assert_eq!(
                format!("{platform}-{}", hr["spec"]["releaseName"].as_str().unwrap()),
                name
            );
            if let Some(dependency) = hr["spec"].get("dependsOn") {
                let dependency = dependency[0]["name"].as_str().unwrap();
                assert!(releases.contains(&dependency), "{name} after {dependency}");
            }
        }
        if !remote_kustomization {
            assert!(
                stderr.contains("meshgen leaves them out of Flux; apply manifests.yaml to that cluster with kubectl"),
                "{stderr}"
            );
            assert!(!stderr.contains("note: the Kustomization"), "{stderr}");
            continue;
        }
        let kustomization = &objects[1];
        assert_eq!(
            kustomization["metadata"]["name"],
            format!("{platform}-manifests")
        );
        let spec = &kustomization["spec"];
        assert_eq!(spec["kubeConfig"]["secretRef"], secret_ref);
        assert_eq!(spec["path"], format!("./mesh/generated/{platform}"));
        assert_eq!(spec["prune"], true);
        assert_eq!(spec["sourceRef"]["kind"], "GitRepository");
        assert_eq!(spec["sourceRef"]["name"], objects[0]["metadata"]["name"]);
        // Run alone, it says where the Kustomization reads from, as a note.
        assert!(
            stderr.contains(&format!(
                "note: the Kustomization {platform}-manifests applies generated/{platform}/"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("Kubernetes 1.28"), "{stderr}");
    }
}

#[test]
fn the_flux_version_warning_is_the_management_cluster_s_no_more() {
    let repo = repository(&[("edge", EDGE), ("edge-111", EDGE_111)]);
    // Istio 1.11 on Kubernetes 1.21: nothing to warn about.
    let (_, stdout, stderr) = flux_in(repo.path(), &["--platform", "edge-111"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(!stdout.contains("warning"), "{stdout}");
    // Kubernetes 1.11 serves no server-side apply, which Flux applies with.
    let (_, stdout, stderr) = flux_in(repo.path(), &["--platform", "edge"]);
    assert!(!stderr.contains("Kubernetes 1.28"), "{stderr}");
    assert!(stderr.contains("server-side apply"), "{stderr}");
    assert!(stderr.contains("serves from 1.16"), "{stderr}");
    assert!(stdout.contains(
        "# warning: a Flux Kustomization would apply the manifests to the cluster of Secret edge-kubeconfig"
    ));
    assert!(!stdout.contains("kind: \"Kustomization\""), "{stdout}");
    assert!(
        stderr.contains("apply manifests.yaml to that cluster with kubectl"),
        "{stderr}"
    );
    // The HelmReleases themselves apply client-side there, as `helm --server-side=false` does.
    let objects = meshgen::install::postrender::parse_objects(&stdout).unwrap();
    let releases: Vec<_> = objects
        .iter()
        .filter(|o| o["kind"] == "HelmRelease")
        .collect();
    assert!(!releases.is_empty());
    for release in &releases {
        assert_eq!(
            release["spec"]["install"]["serverSideApply"], false,
            "{release}"
        );
        assert_eq!(
            release["spec"]["upgrade"]["serverSideApply"], "disabled",
            "{release}"
        );
    }
    // From 1.16 on, Flux's defaults stand.
    let (_, stdout, _) = flux_in(repo.path(), &["--platform", "edge-111"]);
    let objects = meshgen::install::postrender::parse_objects(&stdout).unwrap();
    for release in objects.iter().filter(|o| o["kind"] == "HelmRelease") {
        assert!(
            release["spec"]["install"].get("serverSideApply").is_none(),
            "{release}"
        );
    }
    // Without kubeConfigSecret the Flux running beside Istio must serve HelmRelease v2.
    let (_, stdout, stderr) = flux_in(repo.path(), &["--platform", "gke-internal"]);
    assert!(stderr.contains("Kubernetes 1.28"), "{stderr}");
    assert!(stdout.contains("Kubernetes 1.28"));
}

#[test]
fn a_platform_without_manifests_gets_no_kustomization() {
    let repo = repository(&[]);
    let (objects, _, stderr) = flux_in(
        repo.path(),
        &[
            "--platform",
            "minikube",
            "--set",
            "spec.kubeConfigSecret.name=mini",
        ],
    );
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["GitRepository", "HelmRelease"]);
    assert_eq!(objects[1]["metadata"]["name"], "minikube-istio");
    assert_eq!(
        objects[1]["spec"]["kubeConfig"]["secretRef"]["name"],
        "mini"
    );
    assert!(!stderr.contains("Kustomization"), "{stderr}");
}

#[test]
fn namespaces_a_kustomization_applies_are_never_pruned() {
    let repo = repository(&[("edge", EDGE)]);
    let (code, stdout, stderr) = meshgen(repo.path(), &["manifests", "--platform", "edge"]);
    assert_eq!(code, Some(0), "{stderr}");
    let objects = parse_objects(&stdout).unwrap();
    let namespaces: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .collect();
    assert_eq!(namespaces.len(), 2);
    for namespace in namespaces {
        assert_eq!(
            namespace["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"],
            "disabled"
        );
    }
    // The objects meshgen owns outright are pruned with the rest.
    let psp = objects
        .iter()
        .find(|o| o["kind"] == "PodSecurityPolicy")
        .unwrap();
    assert!(psp["metadata"].get("annotations").is_none());
}

#[test]
fn bad_kube_config_secrets_are_located() {
    let dir = tempfile::tempdir().unwrap();
    for (line, bad, fragment) in [
        (
            "  kubeConfigSecret:\n    name: Edge_Kubeconfig\n",
            "edge.yaml:8:11: spec.kubeConfigSecret.name:",
            "does not match",
        ),
        (
            "  kubeConfigSecret:\n    name: edge\n    key: a/b\n",
            "edge.yaml:9:10: spec.kubeConfigSecret.key:",
            "does not match",
        ),
        (
            "  kubeConfigSecret:\n    name: edge\n    key: ..\n",
            "edge.yaml:9:10: spec.kubeConfigSecret.key:",
            "`..` is not a Secret data key",
        ),
        (
            "  kubeConfigSecret:\n    nme: edge\n",
            "edge.yaml:8:5: spec.kubeConfigSecret.nme:",
            "unknown field",
        ),
        (
            "  kubeConfigSecret: edge\n",
            "edge.yaml:7:21: spec.kubeConfigSecret:",
            "expected an object",
        ),
    ] {
        std::fs::write(
            dir.path().join("edge.yaml"),
            format!("apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: edge\nspec:\n  provider: kvm\n{line}  istio: \"1.0\"\n"),
        )
        .unwrap();
        let (code, stdout, stderr) = meshgen(
            dir.path(),
            &["flux", "--platform", "edge.yaml", "--git-url", URL],
        );
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(bad), "{stderr}");
        assert!(stderr.contains(fragment), "{stderr}");
    }
}

#[test]
fn a_private_repository_takes_a_secret() {
    let repo = repository(&[]);
    let (objects, _, _) = flux_in(
        repo.path(),
        &["--platform", "kvm", "--git-secret", "fleet-git"],
    );
    assert_eq!(
        objects[0]["spec"]["secretRef"],
        serde_json::json!({ "name": "fleet-git" })
    );
    Schemas::new()
        .errors(&objects[0])
        .is_empty()
        .then_some(())
        .unwrap();
    let (objects, _, _) = flux_in(repo.path(), &["--platform", "kvm"]);
    assert!(
        objects[0]["spec"].get("secretRef").is_none(),
        "a public repository needs none"
    );

    std::fs::write(
        repo.path().join("meshgen.yaml"),
        "flux:\n  gitUrl: ssh://git@git.example.com/fleet.git\n  gitSecret: fleet-ssh\n",
    )
    .unwrap();
    let (code, stdout, stderr) = meshgen(repo.path(), &["flux", "--platform", "kvm"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        parse_objects(&stdout).unwrap()[0]["spec"]["secretRef"]["name"],
        "fleet-ssh"
    );
    // The flag wins over the file.
    let (objects, _, _) = flux_in(repo.path(), &["--platform", "kvm", "--git-secret", "other"]);
    assert_eq!(objects[0]["spec"]["secretRef"]["name"], "other");

    // Not a Secret name: refused before any output, the flag or the file's line named.
    let (code, stdout, stderr) = meshgen(
        repo.path(),
        &["flux", "--platform", "kvm", "--git-secret", "Fleet Git"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("--git-secret `Fleet Git` is not a Secret name"),
        "{stderr}"
    );
    std::fs::write(
        repo.path().join("meshgen.yaml"),
        "flux:\n  gitUrl: https://h/r.git\n  gitSecret: -creds\n",
    )
    .unwrap();
    let (code, stdout, stderr) = meshgen(repo.path(), &["flux", "--platform", "kvm"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("meshgen.yaml:3:14: flux.gitSecret: `-creds` is not a Secret name"),
        "{stderr}"
    );
}

/// A repository of three platforms on Flux (`meshgen.yaml` names the source), vendored and
/// generated: edge from a management cluster to a target serving server-side apply (1.11 on
/// 1.21), plain and local without a management cluster (1.11, and 1.0 with its MeshPolicy).
struct KustomizeRepo {
    repo: tempfile::TempDir,
    _vendored: (common::Upstream, tempfile::TempDir),
}

fn kustomize_repo() -> KustomizeRepo {
    // From a management cluster, to a target serving server-side apply (1.11 on 1.21).
    let edge = EDGE
        .replace("istio: \"1.0\"", "istio: \"1.11\"")
        .replace("kubernetes: \"1.11\"", "kubernetes: \"1.21\"");
    let repo = repository(&[
        ("edge", &edge),
        (
            "plain",
            &common::renamed(
                &EDGE_111.replace("  kubeConfigSecret:\n    name: edge-111.kubeconfig\n", ""),
                "plain",
            ),
        ),
        (
            "local",
            &common::renamed(
                &EDGE.replace(
                    "  kubeConfigSecret:\n    name: edge-kubeconfig\n    key: value.yaml\n",
                    "",
                ),
                "local",
            ),
        ),
    ]);
    std::fs::write(
        repo.path().join("meshgen.yaml"),
        format!("flux:\n  gitUrl: {URL}\n"),
    )
    .unwrap();
    let _vendored = vendor_from_test_upstream(repo.path());
    let (code, _, stderr) = meshgen(repo.path(), &["generate"]);
    assert_eq!(code, Some(0), "{stderr}");
    KustomizeRepo { repo, _vendored }
}

#[test]
fn generate_writes_the_kustomization_file_where_a_kustomization_reads_the_directory() {
    let fleet = kustomize_repo();
    let root = fleet.repo.path();
    let run = |args: &[&str]| meshgen(root, args);
    let kustomize_path = root.join("generated/edge/kustomization.yaml");
    let text = std::fs::read_to_string(&kustomize_path).unwrap();
    assert!(
        text.starts_with(meshgen::gitops::generate::MARKER),
        "{text}"
    );
    let kustomize = meshgen::yaml::parse(&text).unwrap().to_json();
    assert_eq!(
        kustomize,
        serde_json::json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["manifests.yaml"],
        })
    );
    // Only where a Kustomization reads the directory: not for manifests without Istio custom
    // resources in the cluster itself, but for 1.0's MeshPolicy, whose CRD a HelmRelease
    // installs (a Kustomization without kubeConfig: the cluster Flux runs in).
    assert!(!root.join("generated/plain/kustomization.yaml").exists());
    let local_kustomize =
        std::fs::read_to_string(root.join("generated/local/kustomization.yaml")).unwrap();
    assert_eq!(
        meshgen::yaml::parse(&local_kustomize).unwrap().to_json(),
        kustomize
    );
    let local =
        parse_objects(&std::fs::read_to_string(root.join("generated/local/flux.yaml")).unwrap())
            .unwrap();
    assert_eq!(local[1]["kind"], "Kustomization");
    assert_eq!(local[1]["spec"]["path"], "./generated/local");
    assert_eq!(local[1]["spec"]["prune"], true);
    assert!(local[1]["spec"].get("kubeConfig").is_none());
    assert!(local.iter().all(|o| o["kind"] != "MeshPolicy"));
    // flux.yaml holds the Kustomization and no raw manifests; manifests.yaml holds those.
    let flux =
        parse_objects(&std::fs::read_to_string(root.join("generated/edge/flux.yaml")).unwrap())
            .unwrap();
    assert_eq!(flux[1]["spec"]["path"], "./generated/edge");
    assert!(flux
        .iter()
        .all(|o| o["apiVersion"].as_str().unwrap().contains(".fluxcd.io/")));
    let manifests = std::fs::read_to_string(root.join("generated/edge/manifests.yaml")).unwrap();
    assert!(manifests.contains("kind: PodSecurityPolicy"), "{manifests}");
    let (code, _, stderr) = run(&["check"]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn check_holds_the_kustomization_file_and_generate_rewrites_it() {
    let fleet = kustomize_repo();
    let root = fleet.repo.path();
    let run = |args: &[&str]| meshgen(root, args);
    let kustomize_path = root.join("generated/edge/kustomization.yaml");
    let text = std::fs::read_to_string(&kustomize_path).unwrap();
    // Edited by hand: stale.
    std::fs::write(
        &kustomize_path,
        text.replace("- manifests.yaml", "- manifests.yaml\n- flux.yaml"),
    )
    .unwrap();
    let (code, stdout, _) = run(&["check"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("generated/edge/kustomization.yaml:"),
        "{stdout}"
    );
    assert!(stdout.contains("stale"), "{stdout}");
    // Missing.
    std::fs::remove_file(&kustomize_path).unwrap();
    let (code, stdout, _) = run(&["check"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("generated/edge/kustomization.yaml: missing"),
        "{stdout}"
    );
    let (code, _, stderr) = run(&["generate"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(std::fs::read_to_string(&kustomize_path).unwrap(), text);
}

#[test]
fn a_kustomization_file_no_longer_needed_is_an_orphan_generate_removes() {
    let fleet = kustomize_repo();
    let root = fleet.repo.path();
    let run = |args: &[&str]| meshgen(root, args);
    let kustomize_path = root.join("generated/edge/kustomization.yaml");
    // The platform no longer installs from a management cluster, and its manifests hold no
    // Istio custom resource (1.0.2 without mtls applies no MeshPolicy): the file is an orphan,
    // and generate removes it (the raw manifests return to flux.yaml).
    let plain_edge = EDGE
        .replace(
            "  kubeConfigSecret:\n    name: edge-kubeconfig\n    key: value.yaml\n",
            "",
        )
        .replace("istio: \"1.0\"", "istio: \"1.0.2\"");
    std::fs::write(root.join("platforms/edge.yaml"), plain_edge).unwrap();
    let (code, stdout, _) = run(&["check"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("generated/edge/kustomization.yaml: orphaned"),
        "{stdout}"
    );
    let (code, _, stderr) = run(&["generate"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!kustomize_path.exists());
    let flux = std::fs::read_to_string(root.join("generated/edge/flux.yaml")).unwrap();
    assert!(flux.contains("kind: PodSecurityPolicy"), "{flux}");
    // What is left is the one release the test upstream lacks.
    let (code, stdout, stderr) = run(&["check"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stdout.contains("Istio 1.0.2 is not vendored") && stderr.contains("check: 1 error"),
        "{stdout}{stderr}"
    );
}

/// An extra gateway on 1.11 is its own release of the istio-ingress chart, after istiod, in
/// its own namespace, with its own values file's values; on 1.0 it is part of the one release.
#[test]
fn an_extra_gateway_on_1_11_is_a_release_of_its_own() {
    let fixture = format!(
        "{}/tests/fixtures/gateways/ilb-111.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let (objects, _) = flux(&fixture, &[]);
    assert_eq!(
        common::helm_release_names(&objects),
        [
            "istio-base",
            "istiod",
            "istio-ingress",
            "istio-egress",
            "ilb-gateway"
        ]
    );
    let spec = &release(&objects, "ilb-gateway")["spec"];
    assert_eq!(spec["releaseName"], "ilb-gateway");
    assert_eq!(spec["targetNamespace"], "default");
    assert_eq!(spec["storageNamespace"], "default");
    assert_eq!(spec["dependsOn"][0]["name"], "istiod");
    assert!(spec["chart"]["spec"]["chart"]
        .as_str()
        .unwrap()
        .ends_with("/istio-ingress"));
    let dir = tempfile::tempdir().unwrap();
    let (code, own, stderr) = meshgen(
        dir.path(),
        &["values", "--platform", &fixture, "--gateway", "ilb-gateway"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        spec["values"],
        meshgen::yaml::parse(&own).unwrap().to_json()
    );
    assert_eq!(
        spec["values"]["gateways"]["istio-ingressgateway"]["name"],
        "ilb-gateway"
    );

    let fixture = format!(
        "{}/tests/fixtures/gateways/ilb-10.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let (objects, _) = flux(&fixture, &[]);
    assert_eq!(common::helm_release_names(&objects), ["istio"]);
    let values = &release(&objects, "istio")["spec"]["values"]["gateways"];
    assert_eq!(values["ilb-gateway"]["namespace"], "default");
}

/// On 1.0 an extra gateway is a Deployment of the gateways chart like the others: high
/// availability spreads it by its own pod labels, in `post-render` and the Flux patches alike.
#[test]
fn extra_gateways_on_1_0_are_spread_by_their_own_labels() {
    let fixture = format!(
        "{}/tests/fixtures/gateways/ilb-10.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let (objects, _) = flux(&fixture, &[]);
    let patches = release(&objects, "istio")["spec"]["postRenderers"][0]["kustomize"]["patches"]
        .as_array()
        .unwrap()
        .clone();
    let patch = patches
        .iter()
        .find(|p| p["target"]["name"] == "ilb-gateway")
        .expect("a patch for the extra gateway");
    let text = patch["patch"].as_str().unwrap();
    for label in ["app", "istio", "tier"] {
        assert!(text.contains(&format!("key: \"{label}\"")), "{text}");
    }
    assert!(text.contains("replicas: 2"), "{text}");
    assert!(patches
        .iter()
        .any(|p| p["target"]["name"] == "internal-gateway"));
}

/// A management cluster's platform on Kubernetes before 1.16: kustomize-controller cannot
/// apply its manifests there, so neither `flux.yaml` nor a `kustomization.yaml` carries them,
/// and `generate` and `check` repeat the warning the values header gives, located.
#[test]
fn manifests_a_flux_cannot_apply_are_left_out_and_generate_and_check_say_so() {
    let repo = repository(&[("edge", EDGE)]);
    let root = repo.path();
    std::fs::write(
        root.join("meshgen.yaml"),
        format!("flux:\n  gitUrl: {URL}\n"),
    )
    .unwrap();
    let warning = "platforms/edge.yaml:13:3: warning: spec.kubeConfigSecret: a Flux Kustomization would apply the manifests";
    // Without vendor/, flux.yaml's HelmReleases have no chart: an error check reports.
    let (code, _, stderr) = meshgen(root, &["generate"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, _) = meshgen(root, &["check"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("platforms/edge.yaml:7:10: spec.istio: Istio 1.0.9 is not vendored: flux.yaml installs it from vendor/istio/1.0.9/"),
        "{stdout}"
    );
    let _vendored = vendor_from_test_upstream(root);
    let (code, _, stderr) = meshgen(root, &["generate"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(warning), "{stderr}");
    assert!(!root.join("generated/edge/kustomization.yaml").exists());
    assert!(root.join("generated/edge/manifests.yaml").is_file());
    let flux =
        parse_objects(&std::fs::read_to_string(root.join("generated/edge/flux.yaml")).unwrap())
            .unwrap();
    let kinds: Vec<&str> = flux.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["GitRepository", "HelmRelease"]);
    let (code, stdout, stderr) = meshgen(root, &["check"]);
    assert_eq!(code, Some(0), "a warning: {stdout}{stderr}");
    assert!(
        stdout.contains(warning) || stderr.contains(warning),
        "{stdout}{stderr}"
    );
}
