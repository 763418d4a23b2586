//! `meshgen import`: IstioOperator files in, a platform file out, every field accounted for.
//! The profiles are the miniature ones under tests/fixtures/import/profiles (written for the
//! tests, with the keys of Istio 1.11's), so that the tests run offline.

mod common;

use common::{meshgen_bin, run, Run};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import");

fn import(args: &[&str]) -> Run {
    let mut cmd = meshgen_bin();
    cmd.current_dir(FIXTURES)
        .args(["import", "--profiles", "profiles"])
        .args(args);
    run(&mut cmd)
}

/// Seed 001's two files, as the README shows the command.
fn seed_001(extra: &[&str]) -> Run {
    let mut args = vec![
        "--istio",
        "1.11.4",
        "--kubernetes",
        "1.21",
        "--name",
        "seed-001",
    ];
    args.extend_from_slice(extra);
    args.extend(["seed-001/iop-egress.yaml", "seed-001/internal-gateway.yaml"]);
    import(&args)
}

/// `meshgen values` of a platform text, with extra arguments.
fn values(platform: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed-001.yaml");
    std::fs::write(&path, platform).unwrap();
    let mut cmd = meshgen_bin();
    cmd.current_dir(dir.path())
        .args(["values", "--platform", path.to_str().unwrap()])
        .args(extra);
    run(&mut cmd)
}

#[test]
fn seed_001_imports_into_one_platform_that_validates_and_renders_the_mesh() {
    let out = seed_001(&[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out
        .stdout
        .starts_with("# yaml-language-server: $schema=../schemas/platform.schema.json\n"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seed-001.yaml"), &out.stdout).unwrap();
    let mut validate = meshgen_bin();
    validate
        .current_dir(dir.path())
        .args(["validate", "seed-001.yaml"]);
    let validated = run(&mut validate);
    assert_eq!(validated.code, Some(0), "{}", validated.stderr);

    let control = values(&out.stdout, &[]);
    assert_eq!(control.code, Some(0), "{}", control.stderr);
    let v = &control.stdout;
    assert!(v.contains("accessLogFile: \"/dev/stdout\""), "{v}");
    assert!(v.contains("traceSampling: 100"), "{v}");
    // No egress gateway: demo's is switched off by the first file.
    assert!(
        !v.contains("istio-egressgateway:\n    enabled: true"),
        "{v}"
    );
    assert!(v.contains("1.11.4"), "{v}");

    let ilb = values(&out.stdout, &["--gateway", "ilb-gateway"]);
    assert_eq!(ilb.code, Some(0), "{}", ilb.stderr);
    let g = &ilb.stdout;
    assert!(g.contains("--namespace default"), "{g}");
    assert!(g.contains("name: \"ilb-gateway\""), "{g}");
    assert!(
        g.contains("\"networking.gke.io/load-balancer-type\": \"Internal\""),
        "{g}"
    );
}

#[test]
fn seed_001_platform_has_the_typed_fields() {
    let out = seed_001(&[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let p = &out.stdout;
    for expected in [
        "  egressGateway:\n    enabled: false\n",
        "  tracing:\n    enabled: true\n    sampling: 100.0\n",
        "    - name: \"ilb-gateway\"\n      internal: true\n      labels:\n        istio: \"ilb-gateway\"\n      namespace: \"default\"\n",
        "    meshConfig:\n      accessLogFile: \"/dev/stdout\"\n",
    ] {
        assert!(p.contains(expected), "{expected:?} not in\n{p}");
    }
    // The annotation became `internal: true`, not an annotation besides it.
    assert!(!p.contains("load-balancer-type"), "{p}");
}

/// Each refusal kind: exit 1, nothing on stdout, the field's FILE:LINE:COL and why.
#[test]
fn every_refusal_is_located_and_prints_nothing_on_stdout() {
    let cases = [
        ("overlays", "refuse/overlays.yaml:11:9: spec.components.ingressGateways[istio-ingressgateway].k8s.overlays: k8s.overlays: patches of rendered objects have no chart value"),
        ("cni", "refuse/cni.yaml:8:7: spec.components.cni.enabled: components.cni: meshgen does not install istio-cni"),
        ("istiod-remote", "refuse/istiod-remote.yaml:8:7: spec.components.istiodRemote.enabled: components.istiodRemote (istiod_remote)"),
        ("no-chart-value", "refuse/no-chart-value.yaml:11:13: spec.components.pilot.k8s.strategy.rollingUpdate.maxSurge: components.pilot.k8s.strategy: the istiod chart has no value for it"),
        ("misspelt", "refuse/misspelt.yaml:7:3: spec.compnents: unknown IstioOperator spec field compnents: did you mean components?\n"),
        ("misspelt-component", "refuse/misspelt-component.yaml:7:5: spec.components.ingresGateways: unknown component ingresGateways: did you mean ingressGateways?\n"),
        ("chart-key", "refuse/chart-key.yaml:8:7: spec.values.pilot.autoscaleEnabld: imported as spec.values.pilot.autoscaleEnabld: the Istio 1.11 charts do not declare `pilot.autoscaleEnabld`\n  hint: did you mean `pilot.autoscaleEnabled`?"),
        ("empty-profile", "refuse/empty-profile.yaml:6:12: spec.profile: the profile sets spec.components.base.enabled (profiles/empty.yaml:7:7): base: meshgen always installs base and istiod"),
        ("mesh-config", "refuse/mesh-config.yaml:7:5: spec.meshConfig.accessLogFle: imported as spec.values.meshConfig.accessLogFle: `meshConfig.accessLogFle` is no field of Istio 1.11.4's MeshConfig: istiod ignores it\n  hint: did you mean `meshConfig.accessLogFile`?"),
    ];
    for (name, expected) in cases {
        let file = format!("refuse/{name}.yaml");
        let out = import(&["--istio", "1.11.4", &file]);
        assert_eq!(out.code, Some(1), "{name}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{name}");
        assert!(out.stderr.starts_with(expected), "{name}: {}", out.stderr);
    }
}

/// A later file naming another profile than the first one's is refused at its `profile`.
#[test]
fn a_second_profile_is_refused_at_its_field() {
    let out = import(&["seed-001/internal-gateway.yaml", "seed-001/iop-egress.yaml"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with(
            "seed-001/iop-egress.yaml:7:12: spec.profile: profile demo after profile empty"
        ),
        "{}",
        out.stderr
    );
}

/// `--report json` on stderr: every leaf of the merged input with its location and fate.
#[test]
fn the_report_accounts_for_every_field() {
    let out = seed_001(&["--report", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let fields: Vec<serde_json::Value> = serde_json::from_str(&out.stderr).unwrap();
    let fate = |path: &str| -> serde_json::Value {
        fields
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} not in the report: {}", out.stderr))
            .clone()
    };
    let f = fate("spec.components.ingressGateways[ilb-gateway].k8s.serviceAnnotations.networking.gke.io/load-balancer-type");
    assert_eq!(f["file"], "seed-001/internal-gateway.yaml");
    assert_eq!(
        (f["line"].as_u64(), f["col"].as_u64()),
        (Some(17), Some(12))
    );
    assert_eq!(f["fate"], "mapped");
    assert_eq!(f["to"], "spec.gateways[ilb-gateway].internal");
    let f = fate("spec.meshConfig.accessLogFile");
    assert_eq!(f["file"], "profiles/demo.yaml");
    assert_eq!(f["fate"], "passed-through");
    assert_eq!(f["to"], "spec.values.meshConfig.accessLogFile");
    assert_eq!(
        fate("spec.components.pilot.k8s.env")["to"],
        "spec.tracing.sampling"
    );
    assert_eq!(fate("spec.hub")["fate"], "default");
    let f = fate("spec.components.egressGateways[istio-egressgateway].k8s.resources.requests.cpu");
    assert_eq!(f["to"], "nothing: istio-egressgateway is disabled");
    // Every leaf of the two files and the two profiles is there, once: default 18, demo 7 more,
    // the first file none (it switches demo's egress gateway off), the second 5.
    let paths: std::collections::BTreeSet<&str> =
        fields.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), fields.len());
    assert_eq!(fields.len(), 30, "{}", out.stderr);
}

/// The text report: one line per field, `FILE:LINE:COL: path: fate`.
#[test]
fn the_text_report_is_one_line_per_field() {
    let out = seed_001(&["--report", "text"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains(
        "seed-001/iop-egress.yaml:11:7: spec.components.egressGateways[istio-egressgateway].enabled: default\n"
    ), "{}", out.stderr);
    assert!(out.stderr.contains(
        "seed-001/internal-gateway.yaml:10:8: spec.components.ingressGateways[ilb-gateway].namespace: mapped to spec.gateways[ilb-gateway].namespace\n"
    ), "{}", out.stderr);
}

/// The README's "Coming from the Istio operator" shows seed 001's files and the platform
/// `meshgen import` prints for them, byte for byte.
#[test]
fn readme_import_example_is_what_meshgen_prints() {
    let readme = include_str!("../README.md");
    let section = &readme[readme
        .find("## Coming from the Istio operator")
        .expect("README has the import section")..];
    let block = |after: &str| -> &str {
        let at = section.find(after).unwrap_or_else(|| panic!("{after}"));
        let start = at + section[at..].find("```yaml\n").unwrap() + "```yaml\n".len();
        &section[start..start + section[start..].find("```\n").unwrap()]
    };
    for file in ["iop-egress.yaml", "internal-gateway.yaml"] {
        let text = std::fs::read_to_string(format!("{FIXTURES}/seed-001/{file}")).unwrap();
        assert_eq!(
            block(&format!("`{file}`:")),
            text,
            "README's {file} is not the fixture"
        );
    }
    let out = seed_001(&[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        block("`platforms/seed-001.yaml`:") == out.stdout,
        "README's imported platform is stale; replace it with:\n{}",
        out.stdout
    );
}

/// Without `--profiles`, the profiles are read from git at the release's tag (a local
/// upstream here, through a private cache): the same platform as from the directory.
#[test]
fn profiles_are_read_from_git_at_the_release() {
    let up = common::Upstream::empty();
    let mut files = common::Files::new();
    for name in ["default", "demo", "empty"] {
        let text = std::fs::read(format!("{FIXTURES}/profiles/{name}.yaml")).unwrap();
        files.insert(format!("manifests/profiles/{name}.yaml"), (text, false));
    }
    up.release("1.11.4", files);
    let cache = tempfile::tempdir().unwrap();
    let from_git = run(common::meshgen(cache.path())
        .current_dir(FIXTURES)
        .args(["import", "--remote", &up.file_url(), "--istio", "1.11.4"])
        .args(["--kubernetes", "1.21", "--name", "seed-001"])
        .args(["seed-001/iop-egress.yaml", "seed-001/internal-gateway.yaml"]));
    assert_eq!(from_git.code, Some(0), "{}", from_git.stderr);
    assert_eq!(from_git.stdout, seed_001(&[]).stdout);
    // A profile the release lacks is an error naming it, nothing on stdout.
    let missing = run(common::meshgen(cache.path())
        .current_dir(FIXTURES)
        .args(["import", "--remote", &up.file_url(), "--istio", "1.11.4"])
        .arg("refuse/unknown-profile.yaml"));
    assert_eq!(missing.code, Some(2), "{}", missing.stderr);
    assert_eq!(missing.stdout, "");
    assert!(
        missing.stderr.contains("no IstioOperator profile preview"),
        "{}",
        missing.stderr
    );
}

/// A ports list equal to the chart's is left to the chart; another is passed through whole
/// (Helm replaces lists). Two documents of one file merge in order.
#[test]
fn a_ports_list_is_the_chart_s_or_passed_through() {
    let out = import(&["--istio", "1.11.4", "--report", "json", "ports.yaml"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let fields: Vec<serde_json::Value> = serde_json::from_str(&out.stderr).unwrap();
    let fate = |path: &str| {
        fields
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path}: {}", out.stderr))
            .clone()
    };
    let ingress = fate("spec.components.ingressGateways[istio-ingressgateway].k8s.service.ports");
    assert_eq!(ingress["fate"], "default");
    assert_eq!(ingress["line"], 10);
    let egress = fate("spec.components.egressGateways[istio-egressgateway].k8s.service.ports");
    assert_eq!(egress["fate"], "passed-through");
    assert_eq!(egress["line"], 30);
    assert!(
        out.stdout.contains("  egressGateway:\n    enabled: true\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("      istio-egressgateway:\n        ports:\n          - port: 80\n"),
        "{}",
        out.stdout
    );
}

/// Malformed or out-of-range input is refused at the field, never imported halfway nor
/// reported as meshgen's own failure: a typed value the loader refuses is blamed on the
/// IstioOperator field it came from.
#[test]
fn malformed_fields_are_refused_where_they_stand() {
    let head = "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n";
    let cases = [
        ("  components: 5\n", "4:3: spec.components: components is not a map"),
        ("  values: 5\n", "4:3: spec.values: values is not a map"),
        ("  components:\n    ingressGateways:\n    - 5\n", "6:7: spec.components.ingressGateways[#0]: a gateway without a name"),
        ("  components:\n    ingressGateways:\n    - name: a\n      enabled: true\n      namespace: 7\n",
         "8:7: spec.components.ingressGateways[a].namespace: imported as spec.gateways[0].namespace: expected a string"),
        ("  components:\n    ingressGateways:\n    - name: Bad_Name\n      enabled: true\n",
         "6:7: spec.components.ingressGateways[Bad_Name].name: imported as spec.gateways[0].name: the string \"Bad_Name\" does not match"),
        ("  components:\n    egressGateways:\n    - name: istio-egressgateway\n      enabled: \"true\"\n",
         "7:7: spec.components.egressGateways[istio-egressgateway].enabled: enabled is \"true\": true or false"),
        ("  components:\n    pilot:\n      k8s:\n        env:\n        - name: PILOT_TRACE_SAMPLING\n          value: abc\n",
         "7:9: spec.components.pilot.k8s.env: trace sampling \"abc\" is not a percentage"),
        ("  values:\n    pilot:\n      traceSampling: 250\n", "6:7: spec.values.pilot.traceSampling: imported as spec.tracing.sampling: 250.0 is above the maximum 100"),
        ("  namespace: Bad_NS\n", "4:3: spec.namespace: imported as spec.namespace: the string \"Bad_NS\" does not match"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (body, expected)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("case-{i}.yaml"));
        std::fs::write(&file, format!("{head}{body}")).unwrap();
        let out = import(&["--istio", "1.11.4", file.to_str().unwrap()]);
        assert_eq!(out.code, Some(1), "{body}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{body}");
        let expected = format!("{}:{expected}", file.display());
        assert!(out.stderr.starts_with(&expected), "{body}: {}", out.stderr);
    }
}

/// The operator's "values enablement": `values.gateways.istio-egressgateway.enabled` switches
/// the egress gateway on as `components.egressGateways` does.
#[test]
fn values_enablement_switches_the_egress_gateway_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("enable.yaml");
    std::fs::write(
        &file,
        "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  values:\n    gateways:\n      istio-egressgateway:\n        enabled: true\n",
    )
    .unwrap();
    let out = import(&[
        "--istio",
        "1.11.4",
        "--report",
        "text",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("  egressGateway:\n    enabled: true\n"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains(&format!(
        "{}:7:9: spec.values.gateways.istio-egressgateway.enabled: mapped to spec.egressGateway.enabled\n",
        file.display()
    )), "{}", out.stderr);
}
