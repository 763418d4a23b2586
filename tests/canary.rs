//! Canary control planes on Istio 1.11 (`spec.canary`, `spec.revision`): the canary is its
//! own istiod release beside the stable one, and promotion (spec.istio and spec.revision to
//! the canary's, canary dropped) ends where a fresh install of the promoted platform starts:
//! the same release name, chart, values for istiod, HelmRelease and namespace labels.

mod common;

use std::path::Path;

use serde_json::Value;

const URL: &str = "https://git.example.com/platform/fleet.git";

const CANARY: &str = include_str!("fixtures/canary/shop-canary.yaml");
const PROMOTED: &str = include_str!("fixtures/canary/shop-promoted.yaml");

fn meshgen(dir: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = common::outcome(common::meshgen_bin().current_dir(dir).args(args));
    assert_eq!(code, Some(0), "meshgen {args:?}: {stderr}");
    stdout
}

/// A directory holding `shop.yaml` with `platform`.
fn platform_dir(platform: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.yaml"), platform).unwrap();
    dir
}

/// The header's install commands (Helm 3's, the first list).
fn installs(values: &str) -> Vec<String> {
    values
        .lines()
        .skip_while(|l| !l.starts_with("# Install, in this order"))
        .skip(1)
        .take_while(|l| l.starts_with("#   "))
        .map(|l| l.trim_start_matches("#   ").to_string())
        .collect()
}

fn parse(text: &str) -> Value {
    meshgen::yaml::parse(text).unwrap().to_json()
}

#[test]
fn a_canary_is_its_own_istiod_release_after_the_stable_one() {
    let dir = platform_dir(CANARY);
    let values = meshgen(dir.path(), &["values", "--platform", "./shop.yaml"]);
    assert_eq!(
        installs(&values),
        [
            "helm install istio-base vendor/istio/1.11.4/base --namespace istio-system --create-namespace -f values.yaml",
            "helm install istiod vendor/istio/1.11.4/istio-discovery --namespace istio-system -f values.yaml",
            "helm install istiod-1-11-8 vendor/istio/1.11.8/istio-discovery --namespace istio-system -f istiod-1-11-8.yaml",
            "meshgen manifests --platform shop | kubectl apply -f -  # after the canary's istiod: the namespaces its `istio.io/rev` label moves have no injector before it runs",
            "helm install istio-ingress vendor/istio/1.11.4/istio-ingress --namespace istio-system -f values.yaml",
            "helm install istio-egress vendor/istio/1.11.4/istio-egress --namespace istio-system -f values.yaml",
        ]
    );
    // The stable control plane and the gateways stay non-revisioned.
    assert!(parse(&values).get("revision").is_none(), "{values}");
    assert!(values.contains("#   helm uninstall istiod-1-11-8 --namespace istio-system"));

    let canary = meshgen(
        dir.path(),
        &["values", "--platform", "./shop.yaml", "--canary"],
    );
    let doc = parse(&canary);
    assert_eq!(doc["revision"], "1-11-8");
    assert_eq!(doc["global"]["tag"], "1.11.8");
    assert!(canary.starts_with("# Helm values for canary control plane istiod-1-11-8"));
}

#[test]
fn canary_namespaces_are_labelled_with_its_revision_and_lose_the_legacy_label() {
    let dir = platform_dir(CANARY);
    let manifests = meshgen(dir.path(), &["manifests", "--platform", "./shop.yaml"]);
    let objects = meshgen::install::postrender::parse_objects(&manifests).unwrap();
    let labels = |name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == name)
            .map(|o| o["metadata"]["labels"].clone())
            .unwrap()
    };
    assert_eq!(
        labels("payments"),
        serde_json::json!({"istio.io/rev": "1-11-8"})
    );
    assert_eq!(
        labels("default"),
        serde_json::json!({"istio-injection": "enabled"})
    );
}

/// Promotion: the canary's istiod release, values for istiod and HelmRelease are the promoted
/// platform's stable ones, so nothing is reinstalled; every injected namespace ends on its
/// revision.
#[test]
fn promotion_makes_the_canarys_release_the_stable_one() {
    let before = platform_dir(CANARY);
    let after = platform_dir(PROMOTED);
    let canary_file = meshgen(
        before.path(),
        &["values", "--platform", "./shop.yaml", "--canary"],
    );
    let promoted = meshgen(after.path(), &["values", "--platform", "./shop.yaml"]);
    assert_eq!(
        installs(&promoted),
        [
            "helm install istio-base vendor/istio/1.11.8/base --namespace istio-system --create-namespace -f values.yaml",
            "helm install istiod-1-11-8 vendor/istio/1.11.8/istio-discovery --namespace istio-system -f values.yaml",
            "helm install istio-ingress vendor/istio/1.11.8/istio-ingress --namespace istio-system -f values.yaml",
            "helm install istio-egress vendor/istio/1.11.8/istio-egress --namespace istio-system -f values.yaml",
        ]
    );
    assert_eq!(
        parse(&canary_file),
        parse(&promoted),
        "the values of istiod-1-11-8, before and after promotion"
    );
    assert_eq!(parse(&promoted)["revision"], "1-11-8");

    let manifests = meshgen(after.path(), &["manifests", "--platform", "./shop.yaml"]);
    assert_eq!(manifests.matches("\"istio.io/rev\": \"1-11-8\"").count(), 2);
    assert!(!manifests.contains("istio-injection"), "{manifests}");
}

fn helm_releases(flux: &str) -> Vec<Value> {
    meshgen::install::postrender::parse_objects(flux)
        .unwrap()
        .into_iter()
        .filter(|o| o["kind"] == "HelmRelease")
        .collect()
}

#[test]
fn flux_installs_the_canary_after_base_and_promotion_keeps_its_helmrelease() {
    let before = platform_dir(CANARY);
    let flux = meshgen(
        before.path(),
        &["flux", "--platform", "./shop.yaml", "--git-url", URL],
    );
    let releases = helm_releases(&flux);
    let names: Vec<&str> = releases
        .iter()
        .map(|r| r["spec"]["releaseName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "istio-base",
            "istiod",
            "istiod-1-11-8",
            "istio-ingress",
            "istio-egress"
        ]
    );
    let canary = &releases[2];
    assert_eq!(canary["metadata"]["name"], "istiod-1-11-8");
    assert_eq!(canary["spec"]["dependsOn"][0]["name"], "istio-base");
    assert_eq!(
        canary["spec"]["chart"]["spec"]["chart"],
        "./vendor/istio/1.11.8/istio-discovery"
    );
    assert_eq!(canary["spec"]["values"]["revision"], "1-11-8");
    // The gateways stay on the stable istiod until promotion.
    assert_eq!(releases[3]["spec"]["dependsOn"][0]["name"], "istiod");

    let after = platform_dir(PROMOTED);
    let flux = meshgen(
        after.path(),
        &["flux", "--platform", "./shop.yaml", "--git-url", URL],
    );
    let promoted = helm_releases(&flux);
    let istiod = &promoted[1];
    assert_eq!(istiod["metadata"]["name"], canary["metadata"]["name"]);
    assert_eq!(istiod["spec"]["releaseName"], canary["spec"]["releaseName"]);
    assert_eq!(istiod["spec"]["chart"], canary["spec"]["chart"]);
    assert_eq!(istiod["spec"]["values"], canary["spec"]["values"]);
    assert_eq!(promoted[2]["spec"]["dependsOn"][0]["name"], "istiod-1-11-8");
}

#[test]
fn generate_writes_the_canarys_values_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("platforms")).unwrap();
    std::fs::write(dir.path().join("platforms/shop.yaml"), CANARY).unwrap();
    meshgen(dir.path(), &["generate"]);
    let file = std::fs::read_to_string(dir.path().join("generated/shop/istiod-1-11-8.yaml"))
        .expect("generate writes istiod-1-11-8.yaml");
    assert!(file.contains("revision: \"1-11-8\""), "{file}");
    assert!(
        file.contains("-f generated/shop/istiod-1-11-8.yaml"),
        "{file}"
    );
}

#[test]
fn values_canary_without_a_canary_is_a_usage_error() {
    let dir = platform_dir(PROMOTED);
    let (code, stdout, stderr) =
        common::outcome(common::meshgen_bin().current_dir(dir.path()).args([
            "values",
            "--platform",
            "./shop.yaml",
            "--canary",
        ]));
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(stderr.contains("has no spec.canary"), "{stderr}");
}

/// Two control planes' pods both carry `istio: pilot`: the post-renderer spreads each istiod
/// over its own pods only, found by `app: istiod` and its `istio.io/rev`.
#[test]
fn post_render_spreads_each_istiod_by_its_own_revision() {
    let platform = CANARY.replace(
        "  sidecarInjection:",
        "  highAvailability:\n    replicas: 2\n    antiAffinity: hostname\n    components: [pilot]\n  sidecarInjection:",
    );
    let dir = platform_dir(&platform);
    let istiod = |name: &str, rev: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    metadata:\n      labels:\n        app: istiod\n        istio.io/rev: {rev}\n        istio: pilot\n    spec:\n      containers: []\n")
    };
    let stream = format!(
        "---\n{}---\n{}",
        istiod("istiod", "default"),
        istiod("istiod-1-11-8", "1-11-8")
    );
    let (code, stdout, stderr) = common::outcome(
        common::meshgen_bin()
            .current_dir(dir.path())
            .args(["post-render", "--platform", "./shop.yaml"])
            .write_stdin(stream),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let objects = meshgen::install::postrender::parse_objects(&stdout).unwrap();
    for (name, rev) in [("istiod", "default"), ("istiod-1-11-8", "1-11-8")] {
        let o = objects
            .iter()
            .find(|o| o["metadata"]["name"] == name)
            .unwrap();
        assert_eq!(o["spec"]["replicas"], 2, "{name}");
        let term = &o["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"][0];
        let expressions = term["labelSelector"]["matchExpressions"]
            .as_array()
            .unwrap();
        let selected: Vec<(String, String)> = expressions
            .iter()
            .map(|e| {
                (
                    e["key"].as_str().unwrap().to_string(),
                    e["values"][0].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert!(
            selected.contains(&("istio.io/rev".to_string(), rev.to_string()))
                && !selected.iter().any(|(k, _)| k == "istio"),
            "{name}: {selected:?}"
        );
    }
}
