//! `meshgen lint`: each case of `tests/lint/cases/` (the seeds' examples and our own) states
//! its arguments and every finding it must produce, as `# expect: RULE LINE:COL` (or `none`),
//! and its exit code; plus stdin, directories, formats, `--deny warnings`, and the property
//! that breaking a valid port name gives exactly one finding.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

fn findings(json: &Value) -> BTreeSet<(String, u64, u64)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap(),
                f["col"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_case_gives_exactly_its_findings_at_their_lines() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/cases");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut rules_seen = BTreeSet::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).unwrap();
        let header = |key: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.strip_prefix(&format!("# {key}: ")))
                .map(str::to_string)
                .collect()
        };
        let args: Vec<String> = header("args")[0].split(' ').map(str::to_string).collect();
        let exit: i32 = header("exit").first().map_or(-1, |e| e.parse().unwrap());
        let expected: BTreeSet<(String, u64, u64)> = header("expect")
            .iter()
            .filter(|e| *e != "none")
            .map(|e| {
                let (rule, at) = e.split_once(' ').unwrap();
                let (line, col) = at.split_once(':').unwrap();
                (
                    rule.to_string(),
                    line.parse().unwrap(),
                    col.parse().unwrap(),
                )
            })
            .collect();
        let out = common::meshgen_bin()
            .current_dir(&dir)
            .args(["lint", "--format", "json"])
            .args(&args)
            .arg(case)
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        let name = case.file_name().unwrap().to_string_lossy();
        if exit == 2 {
            assert_eq!(code, 2, "{name}");
            assert!(out.stdout.is_empty(), "{name}: output on unusable input");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(&*name),
                "{name}"
            );
            continue;
        }
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let found = findings(&json);
        assert_eq!(found, expected, "{name}: {json:#}");
        let errors = json["errors"].as_u64().unwrap();
        assert_eq!(code, i32::from(errors > 0), "{name}: exit code");
        for f in json["findings"].as_array().unwrap() {
            assert!(f["hint"].is_string(), "{name}: a finding without a hint");
        }
        rules_seen.extend(expected.into_iter().map(|(rule, _, _)| rule));
    }
    let all: BTreeSet<String> = meshgen_rules();
    assert_eq!(
        rules_seen, all,
        "every rule has a corpus case that fires it"
    );
}

fn meshgen_rules() -> BTreeSet<String> {
    meshgen::lint::Rule::ALL
        .iter()
        .map(|r| r.id().to_string())
        .collect()
}

#[test]
fn reads_stdin_and_directories_and_prints_github_annotations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/cases");
    let glued = std::fs::read_to_string(dir.join("port-glued.yaml")).unwrap();
    let out = common::meshgen_bin()
        .args(["lint", "--istio", "1.0", "--format", "github", "-"])
        .write_stdin(glued)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("::error file=<stdin>,line=10,col=11,title=meshgen lint port-name::spec.ports[0].name: `http2foo`"),
        "{text}"
    );

    // A tree with a nested directory and a file that is not YAML by name.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
    std::fs::copy(
        dir.join("port-unnamed.yaml"),
        tmp.path().join("a/b/svc.yml"),
    )
    .unwrap();
    std::fs::write(tmp.path().join("a/notes.txt"), "not: [yaml").unwrap();
    let out = common::meshgen_bin()
        .args(["lint", "--istio", "1.0"])
        .arg(tmp.path())
        .output()
        .unwrap();
    // A warning only: exit 0, and 1 with --deny warnings.
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("svc.yml:10:5: warning: spec.ports[0].port: port 8080"),
        "{text}"
    );
    assert!(text.contains("[port-protocol]"), "{text}");
    let out = common::meshgen_bin()
        .args(["lint", "--istio", "1.0", "--deny", "warnings"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // --disable switches the rule off.
    let out = common::meshgen_bin()
        .args([
            "lint",
            "--istio",
            "1.0",
            "--deny",
            "warnings",
            "--disable",
            "port-protocol",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn unusable_input_exits_2() {
    let out = common::meshgen_bin()
        .args(["lint", "--istio", "1.0", "/nonexistent/apps"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = common::meshgen_bin()
        .args(["lint", "--istio", "1.0", "-"])
        .write_stdin("# meshgen-lint-disable: port-nam\nkind: Service\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("<stdin>:1:3:") && err.contains("did you mean `port-name`"),
        "{err}"
    );
}

fn lint_one(
    port_name: &str,
    line: meshgen::model::release_line::ReleaseLine,
) -> Vec<meshgen::error::Diagnostic> {
    let text = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - name: {port_name}\n    port: 8080\n  selector:\n    app: s\n"
    );
    let inputs = [meshgen::lint::read::Input {
        name: "s.yaml".into(),
        text,
    }];
    let target = meshgen::lint::Target::line(line);
    meshgen::lint::lint(&inputs, &target, &Default::default())
        .unwrap()
        .findings
}

proptest! {
    /// A valid `<protocol>-<suffix>` name, broken by gluing the suffix on, by an unknown
    /// prefix, or by dropping the name, gives exactly one finding, on the port.
    #[test]
    fn breaking_a_valid_port_name_gives_exactly_one_finding(
        line in prop::sample::select(meshgen::model::release_line::ReleaseLine::ALL.to_vec()),
        protocol_index in 0usize..16,
        suffix in "[a-z][a-z0-9]{0,10}",
        unknown in "[a-z]{1,8}",
        form in 0u8..3,
    ) {
        let protocols: Vec<&str> = meshgen::lint::facts::protocols(line)
            .iter()
            .copied()
            .filter(|p| !p.contains('-'))
            .collect();
        let protocol = protocols[protocol_index % protocols.len()];
        let valid = format!("{protocol}-{suffix}");
        prop_assert!(lint_one(&valid, line).is_empty());
        let broken = match form {
            0 => {
                // `http` + `s` is `https`, a protocol of its own.
                let glued = format!("{protocol}{suffix}");
                prop_assume!(!meshgen::lint::facts::protocols(line).contains(&glued.as_str()));
                glued
            }
            1 => {
                prop_assume!(!meshgen::lint::facts::protocols(line).iter().any(|p| unknown.starts_with(p)));
                format!("{unknown}-{suffix}")
            }
            _ => "\"\"".to_string(),
        };
        // `http` with the suffix `s` glued on is `https`, itself a valid name.
        prop_assume!(!meshgen::lint::facts::protocols(line).contains(&broken.as_str()));
        let found = lint_one(&broken, line);
        prop_assert_eq!(found.len(), 1, "{}: {:?}", broken, found);
        prop_assert_eq!(found[0].line, if form == 2 { 8 } else { 7 });
    }
}

#[test]
fn check_lints_the_paths_meshgen_yaml_lists_in_every_format() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/cases");
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    std::fs::create_dir_all(root.join("platforms")).unwrap();
    std::fs::create_dir_all(root.join("apps/shop")).unwrap();
    std::fs::copy(
        cases.join("seed-wrong-protocols.yaml"),
        root.join("apps/shop/svc.yaml"),
    )
    .unwrap();
    std::fs::copy(
        cases.join("psp-custom-account.yaml"),
        root.join("apps/app.yaml"),
    )
    .unwrap();
    std::fs::copy(
        cases.join("port-unnamed.yaml"),
        root.join("apps/unnamed.yaml"),
    )
    .unwrap();
    std::fs::write(
        root.join("meshgen.yaml"),
        "lint:\n  disable: [port-protocol]\n  paths:\n  - {path: apps, platform: kvm}\n",
    )
    .unwrap();
    let run = |format: &str| {
        let out = common::meshgen_bin()
            .current_dir(root)
            .args(["check", "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("text");
    assert!(
        text.contains("apps/app.yaml:18:27: spec.template.spec.serviceAccountName: "),
        "{text}"
    );
    assert!(
        text.contains("apps/shop/svc.yaml:22:11: spec.ports[0].name: "),
        "{text}"
    );
    assert!(
        !text.contains("port-protocol"),
        "meshgen.yaml switched it off: {text}"
    );
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    let found = findings(&json);
    assert!(found.contains(&("psp-binding".into(), 18, 27)), "{json:#}");
    assert!(
        found.contains(&("protocol-conflict".into(), 22, 11)),
        "{json:#}"
    );
    assert_eq!(json["checked"]["applicationFiles"], 3);
    let github = run("github");
    assert!(
        github
            .contains("::error file=apps/app.yaml,line=18,col=27,title=meshgen lint psp-binding::"),
        "{github}"
    );
}

/// The sidecar's ports depend on the exact release: 1.0.0 to 1.0.2's injector publishes no
/// Prometheus port (1.0.3 added 15090), so a Service on 15090 is fine there.
#[test]
fn reserved_ports_follow_the_exact_release() {
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: m\nspec:\n  selector: {app: m}\n  ports:\n  - name: http-metrics\n    port: 15090\n";
    let run = |istio: &str| {
        let out = common::meshgen_bin()
            .args(["lint", "--istio", istio, "--format", "json", "-"])
            .write_stdin(service)
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "reserved-port")
            .count()
    };
    assert_eq!(run("1.0.2"), 0);
    assert_eq!(run("1.0.3"), 1);
    assert_eq!(run("1.0"), 1);
}

/// On 0.6 (minikube), whose chart cannot install the injector, the no-sidecar hint does not
/// send the user to `sidecarInjection`, which 0.6 refuses.
#[test]
fn no_sidecar_on_0_6_hints_at_manual_injection() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/cases");
    let out = common::meshgen_bin()
        .current_dir(&dir)
        .args([
            "lint",
            "--format",
            "json",
            "--platform",
            "minikube",
            "no-sidecar.yaml",
        ])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hints: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "no-sidecar")
        .map(|f| f["hint"].as_str().unwrap())
        .collect();
    assert!(!hints.is_empty(), "{json:#}");
    for hint in hints {
        assert!(!hint.contains("sidecarInjection"), "{hint}");
        assert!(hint.contains("istioctl kube-inject"), "{hint}");
    }
}
