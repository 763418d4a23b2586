//! `meshgen values`: golden files for every built-in platform on every release line,
//! key paths checked against each line's chart defaults, determinism, and properties
//! over random valid platforms.

mod common;

use std::collections::BTreeSet;

use meshgen::model::release_line::ReleaseLine;
use serde_json::Value;

const BUILTINS: [&str; 6] = ["pks", "gke-internal", "aws", "azure", "kvm", "minikube"];

/// Runs `meshgen values` for a built-in on a line, in an empty directory (no lock, no
/// ./platforms), returning (exit code, stdout, stderr).
fn values(platform: &str, line: ReleaseLine) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args(["values", "--platform", platform, "--istio", line.as_str()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn golden_values_for_every_builtin_on_every_line() {
    for platform in BUILTINS {
        for line in ReleaseLine::ALL {
            let (code, stdout, stderr) = values(platform, line);
            let name = format!("values__{platform}__{}", line.as_str().replace('.', "_"));
            if code == 0 {
                insta::assert_snapshot!(name, stdout);
            } else {
                assert_eq!(code, 1, "{platform} on {line}: {stderr}");
                assert!(stdout.is_empty(), "no values when the platform is invalid");
                assert!(
                    stderr.contains(&format!("Istio {line}")),
                    "message names the line: {stderr}"
                );
                insta::assert_snapshot!(name, format!("exit {code}\n{stderr}"));
            }
        }
    }
}

/// Every key path of a YAML document, maps only (a list is one path).
/// The `helm install` flags each Helm major accepts (facts, read off `helm install`'s flag
/// definitions at v3.21.4 and v4.2.4) among those meshgen prints.
const HELM3_INSTALL_FLAGS: &[&str] = &[
    "--namespace",
    "--create-namespace",
    "-f",
    "--post-renderer",
    "--post-renderer-args",
];
const HELM4_INSTALL_FLAGS: &[&str] = &[
    "--namespace",
    "--create-namespace",
    "-f",
    "--post-renderer",
    "--post-renderer-args",
    "--server-side",
];

/// The values file of every built-in on every line meshgen renders it for.
fn rendered_builtins() -> Vec<(&'static str, ReleaseLine, String)> {
    let mut rendered = Vec::new();
    for platform in BUILTINS {
        for line in ReleaseLine::ALL {
            let (code, stdout, _) = values(platform, line);
            if code == 0 {
                rendered.push((platform, line, stdout));
            }
        }
    }
    rendered
}

/// The header's install commands grouped under the Helm majors their heading names.
fn install_commands(values: &str) -> Vec<(Vec<u8>, Vec<Vec<String>>)> {
    let mut groups: Vec<(Vec<u8>, Vec<Vec<String>>)> = Vec::new();
    for line in values.lines().take_while(|l| l.starts_with('#')) {
        if let Some(command) = line.strip_prefix("#   helm install ") {
            let words = command.split_whitespace().map(str::to_string).collect();
            groups.last_mut().expect("a heading first").1.push(words);
        } else if line.contains("Helm 3") || line.contains("Helm 4") {
            let majors = [3, 4]
                .into_iter()
                .filter(|m| line.contains(&format!("Helm {m}")));
            groups.push((majors.collect(), Vec::new()));
        }
    }
    groups
}

/// Every printed command uses only flags its Helm accepts: Helm 3 has no `--server-side`,
/// Helm 4 applies server-side unless `--server-side=false`, which clusters before 1.16 need,
/// and takes its post-renderer as a plugin (no `post-render` argument to name the command).
#[test]
fn install_commands_suit_the_helm_they_are_printed_for() {
    let mut checked = 0;
    for (platform, line, stdout) in rendered_builtins() {
        let groups = install_commands(&stdout);
        let majors: Vec<u8> = groups.iter().flat_map(|g| g.0.clone()).collect();
        assert_eq!(
            majors,
            [3, 4],
            "{platform}@{line}: one command set per Helm major"
        );
        let charts = |cmds: &Vec<Vec<String>>| -> Vec<String> {
            cmds.iter().map(|c| c[1].clone()).collect()
        };
        assert!(
            groups
                .windows(2)
                .all(|w| charts(&w[0].1) == charts(&w[1].1)),
            "{platform}@{line}: the same charts in the same order for each Helm"
        );
        let old_cluster = line != ReleaseLine::V1_11;
        for (group_majors, commands) in &groups {
            for major in group_majors {
                let accepted = if *major == 3 {
                    HELM3_INSTALL_FLAGS
                } else {
                    HELM4_INSTALL_FLAGS
                };
                for command in commands {
                    // A word after `--post-renderer-args` is the post-renderer's, not Helm's.
                    let helm_words = command
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i == 0 || command[i - 1] != "--post-renderer-args");
                    for (_, flag) in helm_words.filter(|(_, w)| w.starts_with('-')) {
                        let name = flag.split('=').next().unwrap();
                        assert!(
                            accepted.contains(&name),
                            "{platform}@{line}: Helm {major} has no flag {name}: {command:?}"
                        );
                    }
                    let pr_args: Vec<&String> = command
                        .windows(2)
                        .filter(|w| w[0] == "--post-renderer-args")
                        .map(|w| &w[1])
                        .collect();
                    if *major == 3 && !pr_args.is_empty() {
                        assert_eq!(pr_args[0], "post-render", "{platform}@{line}");
                    }
                    if *major == 4 {
                        assert!(
                            !pr_args.iter().any(|a| *a == "post-render"),
                            "{platform}@{line}"
                        );
                        assert_eq!(
                            command.contains(&"--server-side=false".to_string()),
                            old_cluster,
                            "{platform}@{line}: {command:?}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 16, "only {checked} commands checked");
}

/// The header's commands that follow `heading` (a line containing it), up to the next heading.
fn header_commands<'a>(values: &'a str, heading: &str) -> Vec<&'a str> {
    values
        .lines()
        .take_while(|l| l.starts_with('#'))
        .skip_while(|l| !l.contains(heading))
        .skip(1)
        .map_while(|l| l.strip_prefix("#   "))
        .map(|c| c.split("  # ").next().unwrap())
        .collect()
}

/// The uninstall commands undo the install: every release, in reverse order, in its namespace;
/// every object `meshgen manifests` applies (deleted, or a namespace's label removed, never
/// the namespace); and what Helm leaves on each line.
#[test]
fn uninstall_undoes_the_install_in_reverse() {
    let mut checked = 0;
    for (platform, line, stdout) in rendered_builtins() {
        let steps = header_commands(&stdout, "with Helm 3");
        let installs: Vec<&str> = steps
            .iter()
            .copied()
            .filter(|c| c.starts_with("helm install"))
            .collect();
        let uninstall = header_commands(&stdout, "Uninstall, in this order");
        let releases: Vec<String> = installs
            .iter()
            .map(|c| {
                let words: Vec<&str> = c.split_whitespace().collect();
                format!("helm uninstall {} --namespace {}", words[2], words[5])
            })
            .rev()
            .collect();
        assert!(!releases.is_empty(), "{platform}@{line}");
        assert_eq!(uninstall[..releases.len()], releases, "{platform}@{line}");
        let rest = &uninstall[releases.len()..];

        let manifests = manifests_of(platform, line);
        let apply = format!("meshgen manifests --platform {platform} | kubectl apply -f -");
        // First, or (custom resources: 1.0's mesh policy, 1.11's PeerAuthentication) right
        // after the release that installs their CRDs.
        let first = header_commands(&stdout, "objects besides the charts") == [apply.as_str()];
        let after = steps.iter().position(|c| *c == apply);
        assert_eq!(
            first || after.is_some(),
            !manifests.is_empty(),
            "{platform}@{line}: the header applies the manifests exactly when there are some"
        );
        if let Some(at) = after {
            assert!(
                !first && at > 0,
                "{platform}@{line}: applied once, after a release"
            );
            let release = steps[at - 1].split_whitespace().nth(2).unwrap();
            let custom = manifests.contains("kind: MeshPolicy")
                || manifests.contains("kind: PeerAuthentication");
            assert!(
                custom,
                "{platform}@{line}: after {release}, yet no custom resource"
            );
            assert_eq!(
                release,
                if line == ReleaseLine::V1_11 {
                    "istio-base"
                } else {
                    "istio"
                }
            );
        }
        let expected = cleanup_after_uninstall(&manifests, line);
        assert_eq!(rest, expected, "{platform}@{line}");
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} platforms checked");
}

/// `meshgen manifests` of a built-in platform on a line, run in an empty directory.
fn manifests_of(platform: &str, line: ReleaseLine) -> String {
    let dir = tempfile::tempdir().unwrap();
    let run = common::meshgen_bin()
        .current_dir(dir.path())
        .args([
            "manifests",
            "--platform",
            platform,
            "--istio",
            line.as_str(),
        ])
        .output()
        .unwrap();
    assert!(run.status.success(), "{platform}@{line}");
    String::from_utf8(run.stdout).unwrap()
}

/// The uninstall commands after the releases', for the objects `manifests` applies on `line`:
/// cluster objects deleted, injection labels removed (never the namespace), then what Helm
/// leaves on the line.
fn cleanup_after_uninstall(manifests: &str, line: ReleaseLine) -> Vec<String> {
    let mut expected = Vec::new();
    let objects: Vec<(&str, &str)> = manifests
        .split("---\n")
        .filter_map(|doc| {
            let field = |key: &str| {
                doc.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim().trim_matches('"'))
            };
            Some((field("kind: ")?, field("  name: ")?))
        })
        .collect();
    // Istio's custom resources go with their CRDs (the last command).
    let cluster: Vec<&str> = objects
        .iter()
        .filter(|(k, _)| {
            !matches!(
                *k,
                "Namespace" | "MeshPolicy" | "DestinationRule" | "Policy" | "PeerAuthentication"
            )
        })
        .map(|(k, _)| *k)
        .collect();
    if !cluster.is_empty() {
        assert_eq!(
            cluster,
            ["PodSecurityPolicy", "ClusterRole", "ClusterRoleBinding"]
        );
        expected.push(
            "kubectl delete podsecuritypolicy,clusterrole,clusterrolebinding istio-sidecar"
                .to_string(),
        );
    }
    for (_, namespace) in objects.iter().filter(|(k, _)| *k == "Namespace") {
        expected.push(format!(
            "kubectl label namespace {namespace} istio-injection-"
        ));
    }
    if line == ReleaseLine::V1_0 {
        expected.push("kubectl delete validatingwebhookconfiguration istio-galley".into());
    }
    expected.push("kubectl delete namespace istio-system".into());
    match line {
        ReleaseLine::V0_6 => {}
        ReleaseLine::V1_0 => expected.push(r"kubectl get crd -o name | grep -E '\.(istio\.io|certmanager\.k8s\.io)$' | xargs kubectl delete".into()),
        ReleaseLine::V1_11 => expected.push(r"kubectl get crd -o name | grep -E '\.istio\.io$' | xargs kubectl delete".into()),
    }
    expected
}

fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = if k.contains('.') {
                format!("{prefix}[\"{k}\"]")
            } else if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(path.clone());
            key_paths(v, &path, out);
        }
    }
}

fn chart_keys(line: ReleaseLine) -> (BTreeSet<String>, Vec<String>) {
    let keys = std::fs::read_to_string(format!("data/chart-keys/{line}.txt")).unwrap();
    let extra = std::fs::read_to_string(format!("data/chart-keys/{line}.extra.txt")).unwrap();
    let mut declared: BTreeSet<String> = keys.lines().map(str::to_string).collect();
    let mut open = Vec::new();
    for l in extra.lines() {
        let l = l.split('#').next().unwrap().trim();
        if let Some(p) = l.strip_prefix("open ") {
            open.push(p.trim().to_string());
        } else if let Some(p) = l.strip_prefix("read ") {
            declared.insert(p.trim().to_string());
        }
    }
    (declared, open)
}

/// The values file of each fixture platform with the fields beyond the built-ins (mtls,
/// tracing sampling, HA spreading), rendered from the repository root (its lock pins 1.0.9).
fn rendered_fixtures() -> Vec<(String, ReleaseLine, String)> {
    let mut out = Vec::new();
    for dir in ["tests/fixtures/mtls", "tests/fixtures/postrender/platforms"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let path = path.to_string_lossy().into_owned();
            let run = common::meshgen_bin()
                .args(["values", "--platform", &path])
                .output()
                .unwrap();
            let stdout = String::from_utf8(run.stdout).unwrap();
            assert!(
                run.status.success(),
                "{path}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            let doc = meshgen::yaml::parse(&stdout).unwrap().to_json();
            let line = if doc["pilot"].is_null() && !doc["ingress"].is_null() {
                ReleaseLine::V0_6
            } else if doc["global"]["istioNamespace"].is_null() {
                ReleaseLine::V1_0
            } else {
                ReleaseLine::V1_11
            };
            out.push((path, line, stdout));
        }
    }
    out
}

/// `spec.mtls` reaches each line's own switch (0.6 `global.securityEnabled`, 1.0
/// `global.mtls.enabled`; 1.11 none, its header sends to `meshgen manifests`), and
/// `tracing.sampling` is `pilot.traceSampling` as a float, absent at the chart's default.
#[test]
fn mtls_and_trace_sampling_reach_the_chart_switches() {
    let fixtures = rendered_fixtures();
    let mut seen = 0;
    for (path, _, stdout) in &fixtures {
        let Some(stem) = path
            .strip_prefix("tests/fixtures/mtls/")
            .and_then(|p| p.strip_suffix(".yaml"))
        else {
            continue;
        };
        seen += 1;
        insta::assert_snapshot!(format!("values__{stem}"), stdout);
        let doc = meshgen::yaml::parse(stdout).unwrap().to_json();
        let sampling = &doc["pilot"]["traceSampling"];
        // The manifests step stands between the istio-base and istiod installs, for each Helm.
        let header: Vec<&str> = stdout.lines().take_while(|l| l.starts_with('#')).collect();
        let at = |what: &str| header.iter().position(|l| l.contains(what));
        let after_base = match (
            at("helm install istio-base"),
            at("meshgen manifests"),
            at("helm install istiod"),
        ) {
            (Some(base), Some(manifests), Some(istiod)) => base < manifests && manifests < istiod,
            _ => false,
        };
        match stem {
            "mtls-06-strict" => {
                assert_eq!(doc["global"]["securityEnabled"], true);
            }
            "mtls-10-strict" => {
                assert_eq!(doc["global"]["mtls"]["enabled"], true);
                assert_eq!(sampling.as_f64(), Some(10.0));
                assert!(stdout.contains("traceSampling: 10.0 "), "a float for Helm");
            }
            "mtls-10-permissive" => {
                assert_eq!(doc["global"]["mtls"]["enabled"], false);
                assert!(stdout.contains("a PERMISSIVE MeshPolicy"));
                assert_eq!(doc["tracing"]["enabled"], true);
                assert!(
                    sampling.is_null(),
                    "tracing: true keeps the chart's sampling"
                );
            }
            "mtls-111-strict" => {
                assert_eq!(sampling.as_f64(), Some(2.5));
                assert_eq!(doc["meshConfig"]["enableTracing"], true);
            }
            "mtls-111-permissive" | "mtls-111-disabled" => assert!(sampling.is_null()),
            other => panic!("no expectation for {other}"),
        }
        if stem.starts_with("mtls-111") {
            assert!(doc["global"].get("mtls").is_none(), "{stem}");
            assert!(after_base, "{stem}: the header orders the manifests");
        } else {
            assert!(!after_base, "{stem}");
        }
    }
    assert_eq!(seen, 6);
    // The built-ins set no mtls: their headers say nothing of it.
    for (platform, line, stdout) in rendered_builtins() {
        assert!(
            !stdout.contains("mtls") && !stdout.contains("securityEnabled"),
            "{platform} on {line}"
        );
        assert!(
            !stdout.contains("traceSampling"),
            "{platform} on {line}: the chart's sampling"
        );
    }
}

/// `spreading: preferred` on 1.11 puts the gateways' selector in the chart's preferred list.
#[test]
fn preferred_spreading_uses_the_gateways_preferred_selector() {
    let fixtures = rendered_fixtures();
    let (_, _, stdout) = fixtures
        .iter()
        .find(|(p, _, _)| p.ends_with("ha-111-preferred.yaml"))
        .unwrap();
    let doc = meshgen::yaml::parse(stdout).unwrap().to_json();
    for gateway in ["istio-ingressgateway", "istio-egressgateway"] {
        let g = &doc["gateways"][gateway];
        assert!(g.get("podAntiAffinityLabelSelector").is_none(), "{gateway}");
        let term = &g["podAntiAffinityTermLabelSelector"][0];
        assert_eq!(term["values"], gateway);
        assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
    }
    let (_, _, zone) = fixtures
        .iter()
        .find(|(p, _, _)| p.ends_with("ha-111-zone.yaml"))
        .unwrap();
    let doc = meshgen::yaml::parse(zone).unwrap().to_json();
    assert!(doc["gateways"]["istio-ingressgateway"]
        .get("podAntiAffinityTermLabelSelector")
        .is_none());
}

#[test]
fn every_emitted_key_exists_in_the_line_charts() {
    let mut checked = 0;
    let fixtures = rendered_fixtures();
    let builtins = rendered_builtins()
        .into_iter()
        .map(|(p, l, s)| (p.to_string(), l, s));
    for (platform, line, stdout) in builtins.chain(fixtures) {
        let doc = meshgen::yaml::parse(&stdout).unwrap().to_json();
        let mut paths = BTreeSet::new();
        key_paths(&doc, "", &mut paths);
        let (declared, open) = chart_keys(line);
        for path in paths {
            let ok = declared.contains(&path)
                || open.iter().any(|o| {
                    path.starts_with(&format!("{o}."))
                        || path.starts_with(&format!("{o}["))
                        || &path == o
                });
            assert!(
                ok,
                "{platform} on {line}: `{path}` is not a key of the {line} charts"
            );
            checked += 1;
        }
    }
    assert!(checked > 50);
}

#[test]
fn a_typo_in_a_key_would_be_caught() {
    let (declared, _) = chart_keys(ReleaseLine::V1_0);
    assert!(declared.contains("gateways.istio-ingressgateway.ports"));
    assert!(!declared.contains("gateways.istio-ingresgateway.ports"));
}

#[test]
fn output_is_deterministic_and_written_atomically() {
    let (_, first, _) = values("pks", ReleaseLine::V1_0);
    let (_, second, _) = values("pks", ReleaseLine::V1_0);
    assert_eq!(first, second);
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist is an error, not a new tree.
    let missing = common::meshgen_bin()
        .current_dir(dir.path())
        .args(["values", "--platform", "pks", "-o", "out/values.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("out: no such directory"), "{stderr}");
    assert!(!dir.path().join("out").exists(), "no directory created");

    std::fs::create_dir(dir.path().join("out")).unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args(["values", "--platform", "pks", "-o", "out/values.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/values.yaml")).unwrap(),
        first
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

/// `values -o` keeps the mode of the file it replaces, else gives 0666 less the umask, as a
/// shell redirection would (it once wrote 0600 over a 0644 file).
#[cfg(unix)]
#[test]
fn values_output_keeps_the_mode_or_follows_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let write = |name: &str, umask: &str| {
        // The umask of the child is set by a shell, so the test does not change its own.
        let bin = env!("CARGO_BIN_EXE_meshgen");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec '{bin}' values --platform kvm -o {name}"
            ))
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    };
    write("new-022.yaml", "022");
    assert_eq!(mode("new-022.yaml"), 0o644);
    write("new-027.yaml", "027");
    assert_eq!(mode("new-027.yaml"), 0o640);
    std::fs::write(dir.path().join("kept.yaml"), "old").unwrap();
    std::fs::set_permissions(
        dir.path().join("kept.yaml"),
        std::fs::Permissions::from_mode(0o664),
    )
    .unwrap();
    write("kept.yaml", "077");
    assert_eq!(mode("kept.yaml"), 0o664, "the replaced file's mode is kept");
}

#[test]
fn an_invalid_platform_prints_the_located_errors_and_no_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args([
            "values",
            "--platform",
            "kvm",
            "--set",
            "spec.ingressGateway.nodePorts.http2=29000",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--set spec.ingressGateway.nodePorts.http2=29000: spec.ingressGateway.nodePorts.http2: nodePort 29000 is outside Kubernetes' node port range 30000-32767"),
        "{stderr}"
    );
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args(["values", "--platform", "kvm", "--set", "spec..x=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn set_overrides_reach_the_values_as_the_same_strings() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args([
            "values",
            "--platform",
            "aws",
            "--set",
            "spec.ingressGateway.annotations.example\\.com/flag=on",
            "--set",
            "spec.ingressGateway.annotations.example\\.com/count=1_000",
        ])
        .output()
        .unwrap();
    let doc = json_of(out);
    let annotations = &doc["gateways"]["istio-ingressgateway"]["serviceAnnotations"];
    // 1.0 prints annotation values raw, so the values hold a quoted YAML string.
    assert_eq!(annotations["example.com/flag"], "\"on\"");
    assert_eq!(annotations["example.com/count"], "\"1_000\"");
}

#[test]
fn kvm_renders_from_a_fresh_directory_with_nothing_vendored() {
    let (code, stdout, stderr) = values("kvm", ReleaseLine::V1_0);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("type: \"NodePort\""));
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A platform and what it asks for: the node ports and annotations of its ingress.
    #[derive(Debug, Clone)]
    struct Asked {
        text: String,
        node_ports: BTreeMap<&'static str, u16>,
        annotations: Vec<&'static str>,
    }

    /// Valid platforms only, built per line from what the line accepts (no input is
    /// discarded): node ports only on ports the line's ingress lets a platform set, inside
    /// the provider's range and clear of the chart defaults, on a NodePort or LoadBalancer
    /// Service (never ClusterIP on 0.6); annotations and an egress gateway only from 1.0; no
    /// anti-affinity on 0.6.
    fn platform_yaml() -> impl Strategy<Value = Asked> {
        use meshgen::model::gateway_ports::{configurable_node_ports, GatewayKind};
        let lines = prop::sample::select(vec![
            ReleaseLine::V0_6,
            ReleaseLine::V1_0,
            ReleaseLine::V1_11,
        ]);
        lines.prop_flat_map(|line| {
            let providers = prop::sample::select(vec!["pks", "gke", "aws", "azure", "kvm", "minikube"]);
            // 0.6's ingress Service is never ClusterIP.
            let types = if line == ReleaseLine::V0_6 {
                prop::sample::select(vec!["LoadBalancer", "NodePort"])
            } else {
                prop::sample::select(vec!["LoadBalancer", "NodePort", "ClusterIP"])
            };
            let names = configurable_node_ports(line, GatewayKind::Ingress);
            let wanted = prop::sample::subsequence(names.clone(), 0..=names.len());
            // Offsets into the provider's range, distinct; PKS's range is 30400-30449.
            let offsets = prop::collection::btree_set(0u16..50, names.len());
            let annotation_values = prop::collection::vec(
                prop::sample::select(vec![
                    "no", "on", "y", "1_000", "true", "~", "0x10", "2024-01-01", "plain", "a: b",
                ]),
                if line == ReleaseLine::V0_6 { 0..1 } else { 0..3 },
            );
            let egress = if line == ReleaseLine::V0_6 { Just(false).boxed() } else { any::<bool>().boxed() };
            (
                providers,
                types,
                wanted,
                offsets,
                prop::option::of(2u8..6),
                any::<bool>(),
                annotation_values,
                egress,
            )
                .prop_map(move |(provider, ingress_type, wanted, offsets, replicas, tracing, annotations, egress)| {
                    let mut text = format!(
                        "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: prop\nspec:\n  provider: {provider}\n  istio: \"{line}\"\n  tracing: {tracing}\n  ingressGateway:\n    serviceType: {ingress_type}\n"
                    );
                    if !annotations.is_empty() {
                        text.push_str("    annotations:\n");
                        for (i, v) in annotations.iter().enumerate() {
                            text.push_str(&format!("      example.com/a{i}: {}\n", serde_json::to_string(v).unwrap()));
                        }
                    }
                    // Below every chart default (31380 and up), so none is used twice.
                    let base = if provider == "pks" { 30400 } else { 30000 };
                    // On 0.6 only a NodePort Service takes node ports: meshgen refuses them on
                    // 0.6's LoadBalancer (the test below).
                    let no_node_ports = ingress_type == "ClusterIP"
                        || line == ReleaseLine::V0_6 && ingress_type != "NodePort";
                    let node_ports: BTreeMap<&'static str, u16> = if no_node_ports {
                        BTreeMap::new()
                    } else {
                        wanted.iter().zip(&offsets).map(|(n, o)| (*n, base + o)).collect()
                    };
                    if !node_ports.is_empty() {
                        text.push_str("    nodePorts:\n");
                        for (name, port) in &node_ports {
                            text.push_str(&format!("      {name}: {port}\n"));
                        }
                    }
                    text.push_str(&format!("  egressGateway:\n    enabled: {egress}\n"));
                    if let Some(r) = replicas {
                        text.push_str(&format!("  highAvailability:\n    replicas: {r}\n    antiAffinity: none\n"));
                    }
                    Asked { text, node_ports, annotations }
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn valid_platforms_render_values_that_keep_their_invariants(asked in platform_yaml()) {
            let source = meshgen::model::load::Source { display: "prop.yaml".into(), path: None, text: asked.text.clone(), name: None };
            let loaded = meshgen::model::load::load(&source, &[]);
            prop_assert!(loaded.is_ok(), "a valid platform refused: {:?}\n{}", loaded.err(), asked.text);
            let loaded = loaded.unwrap();
            let line = loaded.file.spec.istio.line;
            let (version, _) = meshgen::render::resolve::version_for(None, loaded.file.spec.istio);
            let resolved = meshgen::render::resolve::resolve(&loaded.file, &loaded.doc, version, meshgen::render::resolve::Origin::Default { why: "test".into() });
            let rendered = meshgen::render::pipeline::render(&resolved).expect("valid platforms render");
            let doc = meshgen::yaml::parse(&rendered).expect("output parses").to_json();
            let range = resolved.node_port_range.value;
            let mut seen = BTreeSet::new();
            for kind in ["istio-ingressgateway", "istio-egressgateway"] {
                let gateway = &doc["gateways"][kind];
                if let Some(ports) = gateway["ports"].as_array() {
                    let gk = meshgen::render::values::gateway_of(kind).unwrap();
                    let names: Vec<&str> = ports.iter().map(|p| p["name"].as_str().unwrap()).collect();
                    for default in meshgen::model::gateway_ports::default_ports(&resolved.version, gk) {
                        prop_assert!(names.contains(&default.name), "{kind} lost port {}", default.name);
                    }
                    for p in ports {
                        if let Some(n) = p["nodePort"].as_u64() {
                            let n = n as u16;
                            prop_assert!(range.contains(n), "nodePort {n} outside {range}");
                            prop_assert!(seen.insert(n), "nodePort {n} used twice");
                        }
                    }
                }
                if let Some(annotations) = gateway["serviceAnnotations"].as_object() {
                    for (k, v) in annotations {
                        let v = v.as_str();
                        prop_assert!(v.is_some(), "annotation {k} is not a string");
                        if line == ReleaseLine::V1_0 {
                            // What the raw chart template prints must read back as a string.
                            let printed = meshgen::yaml::parse(&format!("k: {}\n", v.unwrap())).unwrap().to_json();
                            prop_assert!(printed["k"].is_string(), "{k} renders as a non-string");
                        }
                    }
                }
            }
            if line == ReleaseLine::V0_6 {
                if let Some(n) = doc["ingress"]["service"]["nodePort"]["port"].as_u64() {
                    prop_assert!(range.contains(n as u16));
                }
            }
            // Each node port asked for is the one its port gets.
            for (name, port) in &asked.node_ports {
                let got = if line == ReleaseLine::V0_6 {
                    prop_assert_eq!(*name, "http");
                    doc["ingress"]["service"]["nodePort"]["port"].as_u64()
                } else {
                    doc["gateways"]["istio-ingressgateway"]["ports"]
                        .as_array()
                        .and_then(|ports| ports.iter().find(|p| p["name"] == *name))
                        .and_then(|p| p["nodePort"].as_u64())
                };
                prop_assert_eq!(got, Some(u64::from(*port)), "node port of {}", name);
            }
            // Each annotation asked for reaches the Service annotations as the string it is.
            let annotations = &doc["gateways"]["istio-ingressgateway"]["serviceAnnotations"];
            for (i, want) in asked.annotations.iter().enumerate() {
                let key = format!("example.com/a{i}");
                let got = annotations[&key].as_str();
                prop_assert!(got.is_some(), "annotation {} missing: {}", key, annotations);
                let got = got.unwrap().to_string();
                // 1.0's template prints the value raw: what it prints reads back as the value.
                let read = if line == ReleaseLine::V1_0 {
                    meshgen::yaml::parse(&format!("k: {got}\n")).unwrap().to_json()["k"].as_str().map(str::to_string)
                } else {
                    Some(got)
                };
                prop_assert_eq!(read.as_deref(), Some(*want), "annotation {}", key);
            }
        }
    }
}

/// A node port asked for on 0.6's LoadBalancer ingress: the 0.6 chart sets the node port only
/// on a NodePort Service, so meshgen refuses it at the field (it used to drop it silently).
#[test]
fn a_node_port_on_0_6_s_load_balancer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lb-06.yaml");
    std::fs::write(
        &path,
        "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: lb-06\nspec:\n  provider: pks\n  istio: \"0.6\"\n  ingressGateway:\n    serviceType: LoadBalancer\n    nodePorts:\n      http: 30400\n",
    )
    .unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args(["values", "--platform", "lb-06.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("lb-06.yaml:10:5: spec.ingressGateway.nodePorts: Istio 0.6's chart sets a node port only on a NodePort Service"),
        "{stderr}"
    );
}

#[test]
fn the_locked_version_pins_the_images() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("vendor")).unwrap();
    let lock = std::fs::read_to_string("vendor/meshgen.lock")
        .unwrap()
        .replace("\"1.0.9\"", "\"1.0.8\"");
    std::fs::write(dir.path().join("vendor/meshgen.lock"), lock).unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args(["values", "--platform", "kvm"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("tag: \"1.0.8\""), "{stdout}");
    assert!(
        stdout.contains("Istio 1.0.8: pinned by vendor/meshgen.lock"),
        "{stdout}"
    );
    assert!(stdout.contains("vendor/istio/1.0.8/istio"), "{stdout}");
}

/// The seed's second gateway on each line that has them: on 1.0 an entry of the gateways
/// chart with every key written, on 1.11 its own values file; node ports never shared.
#[test]
fn extra_gateways_render_on_each_line() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run_in(dir.path(), args);
    let ilb10 = format!("{root}/tests/fixtures/gateways/ilb-10.yaml");
    let (code, stdout, stderr) = run(&["values", "--platform", &ilb10]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("gateways_ilb_10", stdout);
    // The chart's default node ports stay the ingress gateway's; one the platform gives an
    // extra gateway is taken from the ingress gateway's defaults.
    let values = meshgen::yaml::parse(&stdout).unwrap().to_json();
    let node_ports: Vec<u64> = ["istio-ingressgateway", "ilb-gateway", "internal-gateway"]
        .iter()
        .flat_map(|g| {
            values["gateways"][g]["ports"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p["nodePort"].as_u64())
        .collect();
    let unique: BTreeSet<u64> = node_ports.iter().copied().collect();
    assert_eq!(unique.len(), node_ports.len(), "{node_ports:?}");
    assert!(node_ports.contains(&31390));
    let (code, _, stderr) = run(&["values", "--platform", &ilb10, "--gateway", "ilb-gateway"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("an entry of the platform's values.yaml"),
        "{stderr}"
    );

    let ilb111 = format!("{root}/tests/fixtures/gateways/ilb-111.yaml");
    let (code, stdout, stderr) = run(&["values", "--platform", &ilb111]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("#   helm install ilb-gateway vendor/istio/1.11.8/istio-ingress --namespace default --create-namespace -f gateway-ilb-gateway.yaml\n"), "{stdout}");
    assert!(stdout.contains("#   helm uninstall ilb-gateway --namespace default\n"));
    assert!(
        !stdout.contains("ilb-gateway:"),
        "no entry of its own on 1.11"
    );
    let (code, own, stderr) = run(&["values", "--platform", &ilb111, "--gateway", "ilb-gateway"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("gateways_ilb_111_gateway_file", own);
    let (code, _, stderr) = run(&["values", "--platform", &ilb111, "--gateway", "ilb-gatewya"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("(it has ilb-gateway)"), "{stderr}");
}

// ---- spec.values ------------------------------------------------------------------------

fn run_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = common::meshgen_bin()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn fixture(name: &str) -> String {
    std::fs::canonicalize(format!("tests/fixtures/values/{name}.yaml"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn spec_values_seed_uses_render_on_1_0_and_1_11() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) =
        run_in(dir.path(), &["values", "--platform", &fixture("registry")]);
    assert_eq!(code, 0, "{stderr}");
    let doc = meshgen::yaml::parse(&stdout).unwrap().to_json();
    assert_eq!(doc["global"]["hub"], "registry.example.com/istio");
    assert_eq!(doc["global"]["tag"], "1.0.9", "the release tag stays");
    assert_eq!(doc["global"]["proxy"]["accessLogFile"], "/dev/stdout");
    assert_eq!(
        doc["gateways"]["istio-ingressgateway"]["resources"]["limits"]["memory"],
        "1Gi"
    );
    assert_eq!(
        doc["gateways"]["istio-ingressgateway"]["labels"]["tier"],
        "edge"
    );
    // What meshgen sets beside them is untouched.
    assert_eq!(doc["gateways"]["istio-ingressgateway"]["type"], "NodePort");
    assert!(
        stdout.starts_with("# Helm values for Istio 1.0.9"),
        "header kept"
    );
    assert!(
        stdout.contains(
            "  hub: \"registry.example.com/istio\"  # spec.values: platform file line 15\n"
        ),
        "{stdout}"
    );
    insta::assert_snapshot!("spec_values_registry_1_0", stdout);

    let (code, stdout, stderr) = run_in(dir.path(), &["values", "--platform", &fixture("mesh")]);
    assert_eq!(code, 0, "{stderr}");
    let doc = meshgen::yaml::parse(&stdout).unwrap().to_json();
    assert_eq!(doc["global"]["hub"], "registry.example.com/istio");
    assert_eq!(doc["meshConfig"]["accessLogFile"], "/dev/stdout");
    let gateway = &doc["gateways"]["istio-ingressgateway"];
    assert_eq!(gateway["type"], "LoadBalancer");
    assert_eq!(gateway["tolerations"][0]["value"], "no");
    assert_eq!(gateway["resources"]["limits"]["memory"], "1_024Mi");
    assert_eq!(gateway["nodeSelector"]["ingress"], "yes");
    // YAML 1.1 traps stay strings: written double-quoted.
    for trap in ["\"no\"", "\"1_024Mi\"", "\"yes\"", "\"on\""] {
        assert!(stdout.contains(trap), "{trap} quoted in\n{stdout}");
    }
    insta::assert_snapshot!("spec_values_mesh_1_11", stdout);
}

#[test]
fn spec_values_on_0_6_replace_the_release_images() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("p.yaml");
    std::fs::write(
        &platform,
        "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: p\nspec:\n  provider: kvm\n  istio: \"0.6\"\n  values:\n    global:\n      proxy:\n        repository: \"registry.example.com/istio/proxy\"\n    pilot:\n      nodeSelector:\n        pool: \"on\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_in(
        dir.path(),
        &["values", "--platform", platform.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let doc = meshgen::yaml::parse(&stdout).unwrap().to_json();
    assert_eq!(
        doc["global"]["proxy"]["repository"],
        "registry.example.com/istio/proxy"
    );
    assert_eq!(doc["global"]["proxy"]["tag"], "0.6.0");
    assert_eq!(doc["pilot"]["nodeSelector"]["pool"], "on");
    assert!(stdout.contains("pool: \"on\""), "{stdout}");
}

#[test]
fn spec_values_through_set_and_set_string() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_in(
        dir.path(),
        &[
            "values",
            "--platform",
            "kvm",
            "--set",
            "spec.values.global.proxy.accessLogFile=/dev/stdout,spec.values.pilot.env.COUNT=100",
            "--set-string",
            "spec.values.pilot.env.FLAG=true,spec.values.pilot.env.SWITCH=on",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let doc = meshgen::yaml::parse(&stdout).unwrap().to_json();
    assert_eq!(doc["global"]["proxy"]["accessLogFile"], "/dev/stdout");
    assert_eq!(
        doc["pilot"]["env"]["COUNT"], 100,
        "--set types as Helm does"
    );
    assert_eq!(
        doc["pilot"]["env"]["FLAG"], "true",
        "--set-string keeps strings"
    );
    assert_eq!(doc["pilot"]["env"]["SWITCH"], "on");
    assert!(stdout.contains("# spec.values: set with --set"), "{stdout}");

    // A key a typed field sets is refused at the argument, naming the field.
    let (code, stdout, stderr) = run_in(
        dir.path(),
        &[
            "values",
            "--platform",
            "kvm",
            "--set",
            "spec.values.gateways.istio-ingressgateway.type=LoadBalancer",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("--set spec.values.gateways.istio-ingressgateway.type=LoadBalancer: spec.values.gateways.istio-ingressgateway.type: meshgen sets `gateways.istio-ingressgateway.type` from `spec.ingressGateway.serviceType`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: set spec.ingressGateway.serviceType instead"),
        "{stderr}"
    );
    // An unknown key, through --set-string, is located at that argument.
    let (code, _, stderr) = run_in(
        dir.path(),
        &[
            "values",
            "--platform",
            "kvm",
            "--set-string",
            "spec.values.global.hubb=x",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--set-string spec.values.global.hubb=x: spec.values.global.hubb: the Istio 1.0 charts do not declare `global.hubb`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `global.hub`?"), "{stderr}");
    // A malformed --set-string is a usage error naming the flag.
    let (code, _, stderr) = run_in(
        dir.path(),
        &["values", "--platform", "kvm", "--set-string", "novalue"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--set-string `novalue`: expected PATH=VALUE"),
        "{stderr}"
    );
}

#[test]
fn spec_values_yaml_1_1_trap_stays_the_string() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("p.yaml");
    let head = "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: p\nspec:\n  provider: kvm\n  istio: \"1.0\"\n  values:\n    global:\n      proxy:\n";
    std::fs::write(&platform, format!("{head}        accessLogFile: \"on\"\n")).unwrap();
    let (code, stdout, stderr) = run_in(
        dir.path(),
        &["values", "--platform", platform.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("    accessLogFile: \"on\"\n"), "{stdout}");
    // Read as Helm reads it (YAML 1.1): the quoted scalar is the string.
    let doc = meshgen::yaml::parse(&stdout).unwrap().to_json();
    assert_eq!(doc["global"]["proxy"]["accessLogFile"], "on");

    // Unquoted, YAML 1.1 and 1.2 disagree: refused at the value, with both ways out.
    std::fs::write(&platform, format!("{head}        accessLogFile: on\n")).unwrap();
    let (code, stdout, stderr) = run_in(
        dir.path(),
        &["values", "--platform", platform.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(":11:24: spec.values.global.proxy.accessLogFile: Helm reads `on` as a boolean (YAML 1.1), meshgen as a string (YAML 1.2); the chart has a string here"),
        "{stderr}"
    );
    assert!(
        stderr.contains("quote it (\"on\")") && stderr.contains("--set-string"),
        "{stderr}"
    );
}

#[test]
fn explain_names_spec_values_as_the_origin() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["explain", "--platform", &fixture("mesh")]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let why = |path: &str| {
        let i = lines
            .iter()
            .position(|l| l.starts_with(&format!("{path} = ")))
            .unwrap_or_else(|| panic!("{path} in\n{stdout}"));
        lines[i + 1].trim().to_string()
    };
    assert!(
        why("global.hub").starts_with("spec.values: platform file line 14 ("),
        "{}",
        why("global.hub")
    );
    assert!(why("global.hub").ends_with(":14: `hub: \"registry.example.com/istio\"`)"));
    assert!(why("meshConfig.accessLogFile").starts_with("spec.values: platform file line 15"));
    assert!(why("gateways.istio-ingressgateway.tolerations[0].key")
        .starts_with("spec.values: platform file line 24"));
    // What meshgen sets keeps its own origin.
    assert!(!why("gateways.istio-ingressgateway.type").contains("spec.values"));
    assert!(why("global.tag").contains("images"));
}

#[test]
fn spec_values_flow_through_flux_and_generate() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_in(
        dir.path(),
        &[
            "flux",
            "--platform",
            &fixture("mesh"),
            "--git-url",
            "https://git.example.com/fleet.git",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let mut releases = 0;
    for doc in meshgen::yaml::parse_stream(
        &stdout,
        meshgen::yaml::Dialect::Kubernetes,
        meshgen::install::postrender::MANIFEST_BOUNDS,
    )
    .unwrap()
    {
        let doc = doc.to_json();
        if doc["kind"] == "HelmRelease" {
            releases += 1;
            let values = &doc["spec"]["values"];
            assert_eq!(values["global"]["hub"], "registry.example.com/istio");
            assert_eq!(values["meshConfig"]["accessLogFile"], "/dev/stdout");
            assert_eq!(
                values["gateways"]["istio-ingressgateway"]["tolerations"][0]["value"],
                "no"
            );
        }
    }
    assert_eq!(releases, 4, "{stdout}");

    // generate writes the merged values; check finds them current; a conflict fails both.
    std::fs::create_dir(dir.path().join("platforms")).unwrap();
    std::fs::copy(fixture("mesh"), dir.path().join("platforms/mesh.yaml")).unwrap();
    let (code, _, stderr) = run_in(dir.path(), &["generate"]);
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(dir.path().join("generated/mesh/values.yaml")).unwrap();
    assert!(written.contains("\nmeshConfig:  # spec.values: platform file line 15\n  accessLogFile: \"/dev/stdout\"\n"), "{written}");
    let (_, stdout, stderr) = run_in(dir.path(), &["check", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let findings = report["findings"].as_array().unwrap();
    assert!(
        !findings
            .iter()
            .any(|f| f["file"].as_str().unwrap_or("").contains("mesh")),
        "{findings:?}"
    );
    let text = std::fs::read_to_string(fixture("mesh")).unwrap().replace(
        "      accessLogEncoding: \"JSON\"\n",
        "      enableTracing: true\n",
    );
    let text = text.replace(
        "  kubernetes: \"1.21\"\n",
        "  kubernetes: \"1.21\"\n  tracing: true\n",
    );
    std::fs::write(dir.path().join("platforms/mesh.yaml"), text).unwrap();
    let (code, _, stderr) = run_in(dir.path(), &["generate"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("platforms/mesh.yaml:18:7: spec.values.meshConfig.enableTracing: meshgen sets `meshConfig.enableTracing` from `spec.tracing`"),
        "{stderr}"
    );
    let (code, stdout, _) = run_in(dir.path(), &["check", "--format", "json"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("spec.values.meshConfig.enableTracing"),
        "{stdout}"
    );
}

/// `spec.values` holding `keys` = `value`.
fn chart_value(keys: &[String], value: Value) -> meshgen::render::resolve::ChartValue {
    use meshgen::render::resolve::{ChartValue, ChartValueNode, Origin};
    let (first, rest) = keys.split_first().unwrap();
    ChartValue {
        key: first.clone(),
        origin: Origin::File { line: 0 },
        value: if rest.is_empty() {
            ChartValueNode::Value(value)
        } else {
            ChartValueNode::Map(vec![chart_value(rest, value)])
        },
    }
}

/// Every key the templates emit, on every line, for platforms that exercise every field, is
/// named by `merge::owner`; only the release's images may be replaced through `spec.values`,
/// and every other emitted key set through `spec.values` is refused. A template that starts
/// setting a new key fails here until its owner is named, and is refused meanwhile.
#[test]
fn every_key_the_templates_set_is_owned_and_refused_in_spec_values() {
    use meshgen::model::load::{load, Source};
    use meshgen::model::set;
    use meshgen::render::merge::{self, Owner};
    use meshgen::render::{resolve, values};
    let variants: &[&str] = &[
        "",
        "spec.highAvailability.replicas=3",
        "spec.highAvailability.replicas=3,spec.highAvailability.components={pilot,mixer,citadel,galley,sidecarInjector,ingressGateway,egressGateway,gateways}",
        "spec.highAvailability.replicas=2,spec.highAvailability.antiAffinity=none",
        "spec.tracing=true",
        "spec.resources=small",
        "spec.ingressGateway.loadBalancerIP=10.0.0.1,spec.ingressGateway.annotations.a=b,spec.egressGateway.annotations.c=d",
        "spec.ingressGateway.serviceType=NodePort,spec.ingressGateway.nodePorts.http2=30080",
        "spec.egressGateway.enabled=false",
        "spec.addons.grafana.enabled=true,spec.addons.grafana.serviceType=NodePort,spec.addons.prometheus.enabled=true,spec.addons.prometheus.serviceType=NodePort,spec.addons.kiali.enabled=true,spec.addons.servicegraph.enabled=true,spec.addons.zipkin.enabled=true",
        "spec.namespace=mesh",
    ];
    let mut release_defaults = BTreeSet::new();
    let mut fields = BTreeSet::new();
    let mut checked = 0;
    for name in BUILTINS {
        for line in ReleaseLine::ALL {
            for variant in variants {
                let source = Source::builtin(name).unwrap();
                let mut overrides = set::parse_string(&format!("spec.istio={line}")).unwrap();
                // A Kubernetes the line runs on, so that a built-in written for another line
                // (gke-internal's 1.21) is checked on this one too.
                let kubernetes = line.kubernetes_support().tested_to;
                overrides
                    .extend(set::parse_string(&format!("spec.kubernetes={kubernetes}")).unwrap());
                if !variant.is_empty() {
                    overrides.extend(set::parse(variant).unwrap());
                }
                let Ok(loaded) = load(&source, &overrides) else {
                    continue;
                };
                let (version, origin) = resolve::version_for(None, line.into());
                let mut resolved = resolve::resolve(&loaded.file, &loaded.doc, version, origin);
                let text = values::template(&resolved, None).unwrap();
                for e in merge::emitted(&text, line).unwrap() {
                    let path = e.path();
                    resolved.values = vec![chart_value(&e.keys, Value::from("x"))];
                    let conflicts = meshgen::render::pipeline::conflicts(&resolved).unwrap();
                    let merged = meshgen::render::pipeline::render(&resolved);
                    match &e.owner {
                        Owner::Unknown => panic!(
                            "{name} {variant} on {line}: the template sets `{path}` ({}), which merge::owner does not name",
                            e.why
                        ),
                        Owner::ReleaseDefault => {
                            release_defaults.insert(format!("{line} {path}"));
                            assert!(conflicts.is_empty(), "{path}: {conflicts:?}");
                            let doc = meshgen::yaml::parse(&merged.unwrap()).unwrap().to_json();
                            let got = e.keys.iter().fold(&doc, |v, k| &v[k.as_str()]);
                            assert_eq!(got, "x", "{path} replaced");
                        }
                        Owner::Field(field) => {
                            fields.insert(field.clone());
                            assert_eq!(conflicts.len(), 1, "{name} {variant} on {line}: {path}");
                            assert!(
                                conflicts[0].hint.as_deref() == Some(&format!("set {field} instead")),
                                "{conflicts:?}"
                            );
                            assert!(merged.is_err(), "{path} never merged over");
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 700, "only {checked} keys checked");
    let mut expected: BTreeSet<String> = ["1.0", "1.11"]
        .iter()
        .flat_map(|l| [format!("{l} global.hub"), format!("{l} global.tag")])
        .collect();
    for component in [
        "proxy",
        "proxyInit",
        "sidecarInjector",
        "mixer",
        "pilot",
        "security",
        "grafana",
        "servicegraph",
    ] {
        expected.insert(format!("0.6 global.{component}.repository"));
        expected.insert(format!("0.6 global.{component}.tag"));
    }
    assert_eq!(
        release_defaults, expected,
        "the keys spec.values may replace"
    );
    // Every typed field that reaches the values file was met.
    for field in [
        "spec.ingressGateway.serviceType",
        "spec.ingressGateway.loadBalancerIP",
        "spec.ingressGateway.annotations",
        "spec.ingressGateway.nodePorts",
        "spec.egressGateway.enabled",
        "spec.highAvailability",
        "spec.highAvailability.antiAffinity",
        "spec.resources",
        "spec.tracing",
        "spec.namespace",
        "spec.addons.grafana.serviceType",
    ] {
        assert!(fields.contains(field), "{field} not met: {fields:?}");
    }
}

/// What the 1.0 chart can say depends on the tag: from 1.0.3 its security chart always applies
/// a MeshPolicy (PERMISSIVE unless `global.mtls.enabled`), before it none unless enabled. So
/// `permissive` is refused on a lock pinning 1.0.2 and `disabled` on 1.0.9, located at the field.
#[test]
fn mtls_on_1_0_follows_the_pinned_tag() {
    use meshgen::error::Error;
    use meshgen::model::load::PlatformRequest;
    use meshgen::render::pipeline::resolve_request;
    use meshgen::render::resolve::Origin;
    let at = |version: &'static str| {
        move |_: meshgen::model::release_line::IstioVersion| {
            (
                semver::Version::parse(version).unwrap(),
                Origin::Default {
                    why: "test pin".into(),
                },
            )
        }
    };
    let request = |mode: &str| PlatformRequest {
        platform: "tests/fixtures/mtls/mtls-10-permissive.yaml".into(),
        set: vec![format!("spec.mtls={mode}")],
        ..Default::default()
    };
    let refused = |mode: &str, version: &'static str, message: &str| {
        match resolve_request(&request(mode), std::path::Path::new("."), &at(version)) {
            Err(Error::Findings(found)) => {
                assert_eq!(found.len(), 1, "{found:?}");
                let d = &found[0];
                assert!(d.message.contains(message), "{}", d.message);
                assert_eq!(d.path, "spec.mtls");
                // Written by --set: the diagnostic names the argument.
                assert!(
                    d.file == format!("--set spec.mtls={mode}")
                        || d.message.contains(&format!("from --set spec.mtls={mode}")),
                    "{d:?}"
                );
            }
            other => panic!("{mode} on {version}: {other:?}"),
        }
    };
    refused(
        "permissive",
        "1.0.2",
        "Istio 1.0.2's chart has no permissive mutual TLS",
    );
    refused(
        "disabled",
        "1.0.9",
        "Istio 1.0.9's chart cannot switch mutual TLS off",
    );
    refused(
        "disabled",
        "1.0.3",
        "Istio 1.0.3's chart cannot switch mutual TLS off",
    );
    for (mode, version, enabled, effect) in [
        (
            "disabled",
            "1.0.2",
            false,
            "no MeshPolicy, so sidecars accept plain text only",
        ),
        (
            "permissive",
            "1.0.3",
            false,
            "applies a PERMISSIVE MeshPolicy",
        ),
        (
            "strict",
            "1.0.0",
            true,
            "a MeshPolicy without mode (STRICT)",
        ),
        (
            "strict",
            "1.0.9",
            true,
            "a MeshPolicy without mode (STRICT)",
        ),
    ] {
        let (_, platform) =
            resolve_request(&request(mode), std::path::Path::new("."), &at(version))
                .unwrap_or_else(|e| panic!("{mode} on {version}: {e}"));
        let text = meshgen::render::pipeline::render(&platform).unwrap();
        let doc = meshgen::yaml::parse(&text).unwrap().to_json();
        assert_eq!(
            doc["global"]["mtls"]["enabled"], enabled,
            "{mode} on {version}"
        );
        assert!(text.contains(effect), "{mode} on {version}:\n{text}");
    }
}

/// Helm replaces lists, so a changed nodePort means emitting the release's whole ports list:
/// 1.0.0's ingress gateway has no `tcp-dns-tls` (853), which 1.0.1 added. Each release gets
/// exactly its own list, as its values.yaml declares it.
#[test]
fn each_release_gets_its_own_gateway_ports_list() {
    let names = |istio: &str| -> Vec<String> {
        let doc = values_json(&["values", "--platform", "pks", "--istio", istio]);
        doc["gateways"]["istio-ingressgateway"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let base = [
        "http2",
        "https",
        "tcp",
        "tcp-pilot-grpc-tls",
        "tcp-citadel-grpc-tls",
        "http2-prometheus",
        "http2-grafana",
    ];
    assert_eq!(names("1.0.0"), base);
    let mut with_dns = base.to_vec();
    with_dns.insert(5, "tcp-dns-tls");
    for release in ["1.0.1", "1.0.2", "1.0.9"] {
        assert_eq!(names(release), with_dns, "{release}");
    }
}

/// A successful meshgen run's stdout (a values file) as JSON.
fn json_of(out: std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    meshgen::yaml::parse(&String::from_utf8(out.stdout).unwrap())
        .unwrap()
        .to_json()
}

/// `meshgen ARGS`' values file as JSON.
fn values_json(args: &[&str]) -> Value {
    json_of(common::meshgen_bin().args(args).output().unwrap())
}

/// Kiali on 1.0.6 and later: the chart no longer creates the Secret its Deployment reads, so
/// the values header and a warning say to create it; 1.0.5's chart still does, and says nothing.
#[test]
fn kiali_s_secret_is_in_the_header_and_a_warning_from_1_0_6() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kiali.yaml"),
        "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: kiali\nspec:\n  provider: aws\n  istio: \"1.0\"\n  kubernetes: \"1.11\"\n  addons:\n    kiali:\n      enabled: true\n",
    )
    .unwrap();
    for (istio, warned) in [("1.0.6", true), ("1.0.9", true), ("1.0.5", false)] {
        let out = common::meshgen_bin()
            .current_dir(dir.path())
            .args(["values", "--platform", "kiali.yaml", "--istio", istio])
            .output()
            .unwrap();
        assert!(out.status.success());
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        let header: String = stdout.lines().take_while(|l| l.starts_with('#')).collect();
        assert_eq!(
            header.contains("create secret generic kiali"),
            warned,
            "{istio}: {stdout}"
        );
        assert_eq!(
            stderr.contains("warning: spec.addons.kiali.enabled"),
            warned,
            "{istio}: {stderr}"
        );
    }
}
