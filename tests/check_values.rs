//! `meshgen check-values` over fixture charts written for these tests
//! (`tests/fixtures/charts/`): sub-chart values and globals, open maps, typos, wrong types,
//! YAML 1.1 traps, several charts at once, and the Istio lines' known undeclared keys.

mod common;

use std::path::{Path, PathBuf};

const SHOP: &str = "tests/fixtures/charts/shop";
const SIDE: &str = "tests/fixtures/charts/side";

fn values_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("values.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs check-values; returns (exit code, stdout, stderr).
fn check(charts: &[&str], extra: &[&str], text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = values_file(dir.path(), text);
    let mut cmd = common::meshgen_bin();
    cmd.arg("check-values");
    for c in charts {
        cmd.arg("--chart").arg(c);
    }
    cmd.args(extra).arg(&file);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr)
        .unwrap()
        .replace(&file.display().to_string(), "FILE");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout)
            .unwrap()
            .replace(&file.display().to_string(), "FILE"),
        stderr,
    )
}

#[test]
fn accepts_sub_chart_values_globals_and_open_maps() {
    let (code, stdout, stderr) = check(
        &[SHOP],
        &[],
        r#"
global:
  hub: "quay.io/me"
  cacheRegion: "us"   # declared by the sub-chart cache
  scrape: false       # declared by cache's own sub-chart metrics
gateways:
  istio-ingressgateway:
    type: "NodePort"
    serviceAnnotations:          # empty default: any key
      "cloud.google.com/load-balancer-type": "Internal"
    labels:                      # labels are open
      team: "edge"
    ports:
    - port: 80
      nodePort: 30080
extraConfig:
  any: { nested: [1, 2] }
maybe: [1, 2]                    # a null default takes anything
cache:
  size: 3
  env: { EXTRA: "1" }            # env is open although it has defaults
  podAnnotations: { "x/y": "z" }
  persistence:
    storageClass: "fast"
    enabled: null                # null resets: never a type error
  metrics:
    port: 9100
"#,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "FILE: ok\n");
}

#[test]
fn reports_undeclared_keys_with_location_and_suggestion() {
    let (code, stdout, stderr) = check(
        &[SHOP],
        &[],
        "gateways:\n  istio-ingresgateway:\n    type: \"NodePort\"\ncache:\n  persistance:\n    enabled: true\n  metrics:\n    prot: 1\nzzz: 1\n",
    );
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "FILE:2:3: gateways.istio-ingresgateway: the chart does not declare this key\n  hint: did you mean `istio-ingressgateway`?\n\
         FILE:5:3: cache.persistance: the chart does not declare this key\n  hint: did you mean `persistence`?\n\
         FILE:8:5: cache.metrics.prot: the chart does not declare this key\n  hint: did you mean `port`?\n\
         FILE:9:1: zzz: the chart does not declare this key\n"
    );
}

#[test]
fn reports_values_whose_type_differs_from_the_default() {
    let (code, _, stderr) = check(
        &[SHOP],
        &[],
        r#"global:
  hub: { registry: "x" }
  tag: 1.1
  pullPolicy: no
gateways:
  enabled: "true"
  istio-ingressgateway:
    labels: [a, b]
    ports: { http2: 80 }
    replicaCount: "2"
cache:
  size: 1_000
  persistence: true
"#,
    );
    assert_eq!(code, 1);
    let shop = "tests/fixtures/charts/shop/values.yaml";
    let cache = "tests/fixtures/charts/shop/charts/cache-dir/values.yaml";
    let expected = [
        format!("FILE:2:3: global.hub: a map where the chart has a string ({shop}:3)"),
        format!("FILE:3:8: global.tag: a number where the chart has a string ({shop}:4)\n  hint: quote it to keep it a string"),
        format!("FILE:4:15: global.pullPolicy: Helm reads `no` as a boolean (YAML 1.1), where the chart has a string ({shop}:5)\n  hint: quote it: \"no\""),
        format!("FILE:6:12: gateways.enabled: a string where the chart has a boolean ({shop}:7)"),
        format!("FILE:8:5: gateways.istio-ingressgateway.labels: a list where the chart has a map ({shop}:13)"),
        format!("FILE:9:5: gateways.istio-ingressgateway.ports: a map where the chart has a list ({shop}:15)"),
        format!("FILE:10:19: gateways.istio-ingressgateway.replicaCount: a string where the chart has a number ({shop}:11)"),
        format!("FILE:13:16: cache.persistence: a boolean where the chart has a map ({cache}:8)"),
    ];
    for e in &expected {
        assert!(stderr.contains(e.as_str()), "missing\n{e}\nin\n{stderr}");
    }
    // `1_000` is a number to Helm, as the default is: no finding.
    assert!(!stderr.contains("cache.size"), "{stderr}");
    assert_eq!(stderr.matches("FILE:").count(), expected.len(), "{stderr}");
}

#[test]
fn several_charts_declare_the_union() {
    let text = "global:\n  meshID: \"m\"\n  cacheRegion: \"eu\"\nsidecar:\n  enabled: false\ngateways:\n  istio-egressgateway:\n    type: \"NodePort\"\n";
    let (code, _, stderr) = check(&[SHOP, SIDE], &[], text);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = check(&[SHOP], &[], text);
    assert_eq!(code, 1);
    assert!(stderr.contains("FILE:2:3: global.meshID: the chart does not declare this key"));
    assert!(stderr.contains("FILE:7:3: gateways.istio-egressgateway: the chart does not declare this key\n  hint: did you mean `istio-ingressgateway`?"));
}

/// A chart laid out as `meshgen vendor` does picks up its line's known undeclared keys.
#[test]
fn vendored_istio_chart_accepts_keys_its_templates_read() {
    let root = tempfile::tempdir().unwrap();
    let chart = root.path().join("vendor/istio/1.0.9/istio");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "name: istio\nversion: 1.0.6\n").unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "mixer:\n  enabled: true\ningress:\n  enabled: false\n",
    )
    .unwrap();
    let chart = chart.to_str().unwrap();
    // mixer.nodeSelector is read by 1.0's mixer template without a default.
    let text = "mixer:\n  nodeSelector:\n    disk: \"ssd\"\n";
    let (code, _, stderr) = check(&[chart], &[], text);
    assert_eq!(code, 0, "{stderr}");

    // The same chart elsewhere is not known to be Istio 1.0 ...
    let other = root.path().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    for f in ["Chart.yaml", "values.yaml"] {
        std::fs::copy(Path::new(chart).join(f), other.join(f)).unwrap();
    }
    let other = other.to_str().unwrap();
    let (code, _, stderr) = check(&[other], &[], text);
    assert_eq!(code, 1);
    assert!(stderr.contains("FILE:2:3: mixer.nodeSelector: the chart does not declare this key"));
    // ... unless told, and an entry whose parent the chart lacks opens nothing.
    let (code, _, stderr) = check(&[other], &["--istio", "1.0"], text);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = check(
        &[other],
        &["--istio", "1.0"],
        "certmanager:\n  nodeSelector: {}\n",
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("certmanager: the chart does not declare this key"));
}

#[test]
fn empty_values_pass_and_bad_input_is_located() {
    let (code, stdout, _) = check(&[SHOP], &[], "# nothing set\n");
    assert_eq!((code, stdout.as_str()), (0, "FILE: ok\n"));

    let (code, stdout, stderr) = check(&[SHOP], &[], "global:\n  hub: [\n");
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(stderr.starts_with("FILE:"), "{stderr}");
    assert!(stderr.contains("invalid YAML"), "{stderr}");

    let (code, _, stderr) = check(&[SHOP], &[], "- a\n- b\n");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("FILE:1:1: values must be a map, found a list"),
        "{stderr}"
    );

    let (code, _, stderr) = check(&[SHOP], &[], "a: 1\na: 2\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("FILE:2:1: duplicate key `a`"), "{stderr}");
}

#[test]
fn a_missing_chart_or_file_is_a_usage_error() {
    let (code, _, stderr) = check(&["tests/fixtures/charts/nope"], &[], "a: 1\n");
    assert_eq!(code, 2);
    assert!(stderr.contains("tests/fixtures/charts/nope: no such chart directory"));

    let (code, _, stderr) = check(&["tests/fixtures"], &[], "a: 1\n");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is not a Helm chart: it has no Chart.yaml"),
        "{stderr}"
    );

    common::meshgen_bin()
        .args(["check-values", "--chart", SHOP, "/nonexistent/values.yaml"])
        .assert()
        .code(2)
        .stdout("");
}

/// A chart under `dir` declaring every key path `data/chart-keys/<line>.txt` lists (the real
/// charts are not vendored in the repository), at the line's pinned version.
fn chart_from_key_list(dir: &Path, line: &str) -> PathBuf {
    let keys = std::fs::read_to_string(format!("data/chart-keys/{line}.txt")).unwrap();
    let version = match line {
        "0.6" => "0.6.0",
        "1.0" => "1.0.9",
        _ => "1.11.8",
    };
    let chart = dir.join(format!("vendor/istio/{version}/chart"));
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "name: chart\n").unwrap();
    std::fs::write(chart.join("values.yaml"), null_tree(&keys)).unwrap();
    chart
}

/// `meshgen ARGS`: (exit code, stdout, stderr).
fn meshgen_output(args: &[&str]) -> (i32, String, String) {
    let o = common::meshgen_bin().args(args).output().unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

/// `check-values` of `text` against `chart` for `line`: (exit code, stderr).
fn check_values_text(chart: &Path, line: &str, text: &str) -> (i32, String) {
    let file = chart.parent().unwrap().join("values-under-test.yaml");
    std::fs::write(&file, text).unwrap();
    let (code, _, stderr) = meshgen_output(&[
        "check-values",
        "--chart",
        chart.to_str().unwrap(),
        "--istio",
        line,
        file.to_str().unwrap(),
    ]);
    (code, stderr)
}

/// Every built-in platform's values, on every line it supports, fit the line's charts as
/// far as the fixture facts know.
#[test]
fn every_built_in_values_file_fits_a_chart_built_from_the_key_lists() {
    let mut checked = std::collections::BTreeMap::new();
    for line in ["0.6", "1.0", "1.11"] {
        let dir = tempfile::tempdir().unwrap();
        let chart = chart_from_key_list(dir.path(), line);
        for platform in ["pks", "gke-internal", "aws", "azure", "kvm", "minikube"] {
            let (code, values, _) =
                meshgen_output(&["values", "--platform", platform, "--istio", line]);
            if code != 0 {
                continue;
            }
            let (code, stderr) = check_values_text(&chart, line, &values);
            assert_eq!(code, 0, "{platform} on {line}:\n{stderr}");
            *checked.entry(line).or_insert(0) += 1;
        }
    }
    // The built-ins on their own lines, and the ones other lines accept.
    let counts: Vec<_> = checked.into_iter().collect();
    assert_eq!(counts, [("0.6", 1), ("1.0", 4), ("1.11", 1)]);
}

/// Extra gateways fit the charts: on 1.0 each entry is held to the ingress gateway's keys (a
/// typo is still caught), on 1.11 its own file to the istio-ingress chart.
#[test]
fn extra_gateways_fit_the_charts_built_from_the_key_lists() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (line, fixture, gateway) in [
        ("1.0", "ilb-10", None),
        ("1.11", "ilb-111", None),
        ("1.11", "ilb-111", Some("ilb-gateway")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let chart = chart_from_key_list(dir.path(), line);
        let platform = format!("{root}/tests/fixtures/gateways/{fixture}.yaml");
        let mut args = vec!["values", "--platform", platform.as_str()];
        if let Some(g) = gateway {
            args.extend(["--gateway", g]);
        }
        let (code, text, stderr) = meshgen_output(&args);
        assert_eq!(code, 0, "{fixture}: {stderr}");
        let (code, stderr) = check_values_text(&chart, line, &text);
        assert_eq!(code, 0, "{fixture} {gateway:?}:\n{stderr}");
        if line == "1.0" {
            let (code, stderr) =
                check_values_text(&chart, line, &text.replace("    cpu:\n", "    cpuu:\n"));
            assert_eq!(code, 1);
            assert!(
                stderr.contains("gateways.ilb-gateway.cpuu: the chart does not declare this key"),
                "{stderr}"
            );
            assert!(stderr.contains("did you mean `cpu`?"), "{stderr}");
        }
    }
}

/// A values.yaml declaring each listed key path with a null (accept-anything) leaf.
fn null_tree(keys: &str) -> String {
    let mut root = serde_json::Map::new();
    for path in keys.lines().filter(|l| !l.trim().is_empty()) {
        let mut node = &mut root;
        let parts = split(path);
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let entry = node.entry(part.clone()).or_insert_with(|| {
                if last {
                    serde_json::Value::Null
                } else {
                    serde_json::json!({})
                }
            });
            if last {
                break;
            }
            if !entry.is_object() {
                *entry = serde_json::json!({});
            }
            node = entry.as_object_mut().unwrap();
        }
    }
    serde_json::to_string(&serde_json::Value::Object(root)).unwrap()
}

fn split(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("[\"") {
            let end = r.find("\"]").unwrap();
            out.push(r[..end].to_string());
            rest = &r[end + 2..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    out
}

/// 1.0.0's gateways chart has a fixed autoscaling target and declares no `cpu` under a gateway
/// (1.0.1 added `cpu.targetAverageUtilization`, read per gateway). An extra gateway rendered
/// for 1.0.0 carries no `cpu`, so its values hold against a 1.0.0-shaped chart; at 1.0.1 it
/// carries the chart's 80 %.
#[test]
fn extra_gateways_at_1_0_0_write_no_cpu_target() {
    let dir = tempfile::tempdir().unwrap();
    let keys = std::fs::read_to_string("data/chart-keys/1.0.txt").unwrap();
    let keys_100: String = keys
        .lines()
        .filter(|k| {
            !k.starts_with("gateways.istio-ingressgateway.cpu")
                && !k.starts_with("gateways.istio-egressgateway.cpu")
                && !k.starts_with("gateways.istio-ilbgateway.cpu")
        })
        .map(|k| format!("{k}\n"))
        .collect();
    assert!(
        keys_100.len() < keys.len(),
        "the key list has gateway cpu keys"
    );
    let chart = dir.path().join("vendor/istio/1.0.0/istio");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "name: istio\n").unwrap();
    std::fs::write(chart.join("values.yaml"), null_tree(&keys_100)).unwrap();
    let render = |istio: &str| {
        let (code, stdout, stderr) = meshgen_output(&[
            "values",
            "--platform",
            "tests/fixtures/gateways/ilb-10.yaml",
            "--istio",
            istio,
        ]);
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let at_100 = render("1.0.0");
    let (code, stderr) = check_values_text(&chart, "1.0", &at_100);
    assert_eq!(code, 0, "{stderr}");
    let at_101 = render("1.0.1");
    assert!(at_101.contains("targetAverageUtilization: 80"), "{at_101}");
    let (code, stderr) = check_values_text(&chart, "1.0", &at_101);
    assert_eq!(code, 1, "1.0.1's values against a 1.0.0 chart: {stderr}");
    assert!(
        stderr.contains(".cpu: the chart does not declare this key"),
        "{stderr}"
    );
}

/// `meshConfig` is held to the MeshConfig fields of the release a vendored path names, or
/// of the line's pin with `--istio`; a chart not known to be Istio's leaves it to its defaults.
#[test]
fn mesh_config_is_held_to_the_release_fields() {
    let root = tempfile::tempdir().unwrap();
    let chart = root.path().join("vendor/istio/1.11.3/istio-discovery");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "name: istio-discovery\n").unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "meshConfig:\n  enablePrometheusMerge: true\n  defaultConfig:\n    proxyMetadata: {}\n",
    )
    .unwrap();
    let text = "meshConfig:\n  accessLogFile: \"/dev/stdout\"\n  acessLogEncoding: JSON\n  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n  defaultConfig:\n    holdApplicationUntilProxyStart: true\n    concurrency: \"two\"\n";
    let (code, _, stderr) = check(&[chart.to_str().unwrap()], &[], text);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "FILE:3:3: meshConfig.acessLogEncoding: `meshConfig.acessLogEncoding` is no field of Istio 1.11.3's MeshConfig: istiod ignores it",
            "  hint: did you mean `meshConfig.accessLogEncoding`?",
            "FILE:7:5: meshConfig.defaultConfig.holdApplicationUntilProxyStart: `meshConfig.defaultConfig.holdApplicationUntilProxyStart` is no field of Istio 1.11.3's ProxyConfig: istiod ignores it",
            "  hint: did you mean `meshConfig.defaultConfig.holdApplicationUntilProxyStarts`?",
            "FILE:8:18: meshConfig.defaultConfig.concurrency: a string where Istio 1.11.3's ProxyConfig has an integer (`meshConfig.defaultConfig.concurrency`): istiod cannot read the mesh config",
        ],
        "{stderr}"
    );
    let fixed = "meshConfig:\n  accessLogEncoding: JSON\n  defaultConfig:\n    holdApplicationUntilProxyStarts: true\n    concurrency: \"2\"\n";
    let (code, stdout, stderr) = check(&[chart.to_str().unwrap()], &[], fixed);
    assert_eq!((code, stdout.as_str()), (0, "FILE: ok\n"), "{stderr}");

    // Elsewhere, the line's pin when told the line, else the chart's own open map.
    let other = root.path().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    for f in ["Chart.yaml", "values.yaml"] {
        std::fs::copy(chart.join(f), other.join(f)).unwrap();
    }
    let other = other.to_str().unwrap();
    let (code, _, stderr) = check(&[other], &["--istio", "1.11"], text);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("is no field of Istio 1.11.8's MeshConfig"),
        "{stderr}"
    );
    let (code, _, stderr) = check(
        &[other],
        &[],
        "meshConfig:\n  defaultConfig:\n    proxyMetadata:\n      A: \"b\"\n",
    );
    assert_eq!(code, 0, "{stderr}");
}
