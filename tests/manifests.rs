//! `meshgen manifests`: golden output for the built-in kvm platform, the PodSecurityPolicy API
//! chosen per Kubernetes version, and the refusal where the API is gone.

mod common;

use std::path::Path;

use meshgen::model::load::PlatformRequest;
use meshgen::model::release_line::KubeMinor;
use meshgen::render::pipeline::resolve_request;

fn manifests(args: &[&str]) -> (Option<i32>, String, String) {
    common::outcome(common::meshgen_bin().arg("manifests").args(args))
}

#[test]
fn kvm_golden() {
    let (code, stdout, stderr) = manifests(&["--platform", "kvm"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!("manifests_kvm", stdout);
    // Deterministic: a second run prints the same bytes.
    assert_eq!(manifests(&["--platform", "kvm"]).1, stdout);
}

#[test]
fn psp_api_follows_the_kubernetes_version() {
    let (code, stdout, stderr) = manifests(&["--platform", "kvm", "--set", "spec.kubernetes=1.9"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("apiVersion: extensions/v1beta1\nkind: PodSecurityPolicy\n"));
    let (code, stdout, stderr) = manifests(&["--platform", "kvm", "--set", "spec.kubernetes=1.10"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\n"));
}

#[test]
fn one_subject_per_service_account() {
    let (code, stdout, stderr) = manifests(&[
        "--platform",
        "kvm",
        "--set",
        "spec.podSecurityPolicy.serviceAccounts={default:default,shop:true}",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(
            "subjects:\n\
         - kind: \"ServiceAccount\"\n  name: \"default\"\n  namespace: \"default\"\n\
         - kind: \"ServiceAccount\"\n  name: \"true\"\n  namespace: \"shop\"\n\
         ---\n"
        ),
        "{stdout}"
    );
}

#[test]
fn a_platform_without_extras_prints_nothing() {
    // 1.0.0 to 1.0.2 apply no MeshPolicy unless mtls is strict.
    let (code, stdout, stderr) = manifests(&["--platform", "pks", "--istio", "1.0.2"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("needs no objects besides the charts"));
}

#[test]
fn refused_where_kubernetes_has_no_psp_api() {
    // Validation refuses it first, with the field's position.
    let (code, stdout, stderr) = manifests(&[
        "--platform",
        "kvm",
        "--istio",
        "1.11",
        "--set",
        "spec.kubernetes=1.25",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("has no PodSecurityPolicy API (removed in 1.25)"),
        "{stderr}"
    );

    // The renderer's own guard, for a resolved platform that bypassed validation.
    let version_for = |istio| meshgen::render::resolve::version_for(None, istio);
    let request = PlatformRequest {
        platform: "kvm".into(),
        ..Default::default()
    };
    let (_, mut platform) = resolve_request(&request, Path::new("."), &version_for).unwrap();
    platform.kubernetes = Some(KubeMinor::new(1, 25));
    let err = meshgen::install::manifests::render(&platform, "builtin:kvm").unwrap_err();
    assert_eq!(meshgen::cli::exit_code(&err), 1);
    assert!(err
        .to_string()
        .contains("Kubernetes 1.25 has no PodSecurityPolicy API"));
}

/// On 1.11 `spec.mtls` is a PeerAuthentication named `default` in the Istio namespace, one per
/// mode; 0.6 and 1.0 carry the mode in their values, so their manifests hold none.
#[test]
fn mtls_on_1_11_is_a_mesh_wide_peer_authentication() {
    let (code, stdout, stderr) =
        manifests(&["--platform", "tests/fixtures/mtls/mtls-111-strict.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!("manifests_mtls_111_strict", stdout);
    for (mode, want) in [
        ("disabled", "DISABLE"),
        ("permissive", "PERMISSIVE"),
        ("strict", "STRICT"),
    ] {
        let (code, stdout, stderr) = manifests(&[
            "--platform",
            "tests/fixtures/mtls/mtls-111-strict.yaml",
            "--set",
            &format!("spec.mtls={mode}"),
            "--set",
            "spec.namespace=mesh",
        ]);
        assert_eq!(code, Some(0), "{stderr}");
        let objects = meshgen::install::postrender::parse_objects(&stdout).unwrap();
        assert_eq!(objects.len(), 1, "{stdout}");
        let policy = &objects[0];
        assert_eq!(policy["apiVersion"], "security.istio.io/v1beta1");
        assert_eq!(policy["kind"], "PeerAuthentication");
        assert_eq!(policy["metadata"]["name"], "default");
        assert_eq!(
            policy["metadata"]["namespace"], "mesh",
            "the root namespace"
        );
        assert_eq!(policy["spec"], serde_json::json!({"mtls": {"mode": want}}));
    }
    // Beside the pod security policy and in a stable order: the policy, then the namespaces.
    let (code, stdout, stderr) = manifests(&[
        "--platform",
        "tests/fixtures/mtls/mtls-111-permissive.yaml",
        "--set",
        "spec.sidecarInjection.namespaces={shop}",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let kinds: Vec<String> = meshgen::install::postrender::parse_objects(&stdout)
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "PodSecurityPolicy",
            "ClusterRole",
            "ClusterRoleBinding",
            "PeerAuthentication",
            "Namespace"
        ]
    );
    let (code, stdout, stderr) =
        manifests(&["--platform", "tests/fixtures/mtls/mtls-06-strict.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.is_empty(), "0.6: the chart's values set the mode");
}

/// 1.0: what the security chart's post-install job applied once (its hook removed by the chart
/// fix custom-resources-jobs-1.0), for the exact release, and grafana's Policy.
#[test]
fn mtls_on_1_0_is_what_the_charts_jobs_applied() {
    let kinds = |args: &[&str]| -> Vec<(String, String)> {
        let (code, stdout, stderr) = manifests(args);
        assert_eq!(code, Some(0), "{stderr}");
        meshgen::install::postrender::parse_objects(&stdout)
            .unwrap()
            .iter()
            .filter(|o| {
                o["kind"] != "Namespace" && !o["kind"].as_str().unwrap().contains("Cluster")
            })
            .filter(|o| o["kind"] != "PodSecurityPolicy")
            .map(|o| {
                let mode = match o["kind"].as_str().unwrap() {
                    "MeshPolicy" => o["spec"]["peers"][0]["mtls"]["mode"]
                        .as_str()
                        .unwrap_or("STRICT")
                        .to_string(),
                    "DestinationRule" => o["spec"]["trafficPolicy"]["tls"]["mode"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    _ => o["spec"]["targets"][0]["ports"][0]["number"].to_string(),
                };
                (
                    format!(
                        "{}/{}",
                        o["kind"].as_str().unwrap(),
                        o["metadata"]["name"].as_str().unwrap()
                    ),
                    mode,
                )
            })
            .collect()
    };
    let pair = |k: &str, m: &str| (k.to_string(), m.to_string());
    let strict = "tests/fixtures/mtls/mtls-10-strict.yaml";
    assert_eq!(
        kinds(&["--platform", strict]),
        [
            pair("MeshPolicy/default", "STRICT"),
            pair("DestinationRule/default", "ISTIO_MUTUAL"),
            pair("DestinationRule/api-server", "DISABLE")
        ]
    );
    assert_eq!(
        kinds(&["--platform", "tests/fixtures/mtls/mtls-10-permissive.yaml"]),
        [pair("MeshPolicy/default", "PERMISSIVE")]
    );
    // Unset: the chart's default, PERMISSIVE from 1.0.3, nothing before; strict through
    // spec.values follows the chart switch the same way.
    assert_eq!(
        kinds(&["--platform", "pks"]),
        [pair("MeshPolicy/default", "PERMISSIVE")]
    );
    assert_eq!(kinds(&["--platform", "pks", "--istio", "1.0.2"]), []);
    assert_eq!(
        kinds(&[
            "--platform",
            "pks",
            "--istio",
            "1.0.2",
            "--set",
            "spec.values.global.mtls.enabled=true"
        ])[0],
        pair("MeshPolicy/default", "STRICT")
    );
    // Grafana on: its port without mutual TLS, whatever the mode (and the port spec.values sets).
    assert_eq!(
        kinds(&[
            "--platform",
            strict,
            "--set",
            "spec.addons.grafana.enabled=true"
        ])[3],
        pair("Policy/grafana-ports-mtls-disabled", "3000")
    );
    assert_eq!(
        kinds(&[
            "--platform",
            "pks",
            "--istio",
            "1.0.2",
            "--set",
            "spec.addons.grafana.enabled=true",
            "--set",
            "spec.values.grafana.service.externalPort=3001"
        ]),
        [pair("Policy/grafana-ports-mtls-disabled", "3001")]
    );
}
