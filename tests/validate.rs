//! `meshgen validate` and `meshgen schema` against the files under tests/invalid and
//! tests/valid. Each file states what it expects in `# expect:` comment lines:
//! `# expect: LINE:COL: FIELD-PATH: message start` and `# expect-hint: text`.

mod common;

fn expectations(text: &str, tag: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(tag))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn every_invalid_file_fails_with_its_located_messages() {
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir("tests/invalid")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let rel = format!(
            "tests/invalid/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = expectations(&text, "# expect:");
        assert!(!expected.is_empty(), "{rel} states no expectation");
        let out = common::meshgen_bin()
            .args(["validate", &rel])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{rel}: exit code\n{stderr}");
        assert!(out.stdout.is_empty(), "{rel}: nothing on stdout");
        for want in expected {
            let prefix = format!("{rel}:{want}");
            assert!(
                stderr.lines().any(|l| l.starts_with(&prefix)),
                "{rel}: expected a line starting with\n  {prefix}\ngot:\n{stderr}"
            );
        }
        for hint in expectations(&text, "# expect-hint:") {
            assert!(
                stderr
                    .lines()
                    .any(|l| l.trim_start().starts_with("hint:") && l.contains(&hint)),
                "{rel}: expected hint `{hint}`, got:\n{stderr}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} invalid files");
}

/// Every file under tests/valid validates (warnings allowed): what they show as accepted is.
#[test]
fn every_valid_file_validates() {
    let mut files: Vec<_> = std::fs::read_dir("tests/valid")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for path in files {
        let out = common::meshgen_bin()
            .arg("validate")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}:\n{stderr}", path.display());
    }
}

#[test]
fn warnings_do_not_fail_validation() {
    let rel = "tests/valid/kubernetes-outside-tested-range.yaml";
    let text = std::fs::read_to_string(rel).unwrap();
    let out = common::meshgen_bin()
        .args(["validate", rel])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for want in expectations(&text, "# expect-warning:") {
        assert!(
            stderr.contains(&format!("{rel}:{want}")),
            "missing `{want}` in\n{stderr}"
        );
    }
}

#[test]
fn builtin_platforms_validate_clean() {
    let names = ["pks", "gke-internal", "aws", "azure", "kvm", "minikube"];
    // Run outside the repository so the built-ins are used, not ./platforms.
    let dir = tempfile::tempdir().unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .arg("validate")
        .args(names)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "6 of 6 platform files valid",
        "no warnings expected"
    );
    // And the committed copies in platforms/ are the same files.
    for name in names {
        let committed = std::fs::read_to_string(format!("platforms/{name}.yaml")).unwrap();
        let builtin = meshgen::model::load::Source::builtin(name).unwrap();
        assert_eq!(committed, builtin.text);
    }
}

#[test]
fn platforms_lists_every_builtin_with_a_description() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .arg("platforms")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let builtins = meshgen::model::load::BUILTIN_PLATFORMS;
    assert_eq!(stdout.lines().count(), builtins.len(), "{stdout}");
    // Each built-in on its own line, with the description its file gives.
    for (name, text) in builtins {
        let description = text
            .lines()
            .find_map(|l| l.strip_prefix("  description: "))
            .unwrap_or_else(|| panic!("{name} has no metadata.description"));
        assert!(
            stdout.lines().any(
                |l| l.split_whitespace().next() == Some(name) && l.contains(description.trim())
            ),
            "no line `{name} ... {description}` in:\n{stdout}"
        );
    }
}

#[test]
fn a_platform_name_resolves_to_the_local_directory_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("platforms")).unwrap();
    std::fs::write(
        dir.path().join("platforms/kvm.yaml"),
        "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: kvm\nspec:\n  provider: kvm\n  istio: \"2.0\"\n",
    )
    .unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args(["validate", "kvm"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("platforms/kvm.yaml:7:10: spec.istio:"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_platform_name_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::meshgen_bin()
        .current_dir(dir.path())
        .args(["validate", "kvmm"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("no platform named `kvmm` (did you mean `kvm`?)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("aws, azure, gke-internal, kvm, minikube, pks"),
        "{stderr}"
    );
}

#[test]
fn committed_schema_is_current() {
    // The schemas and the field reference docs/platform.md generated beside them.
    for (path, generated) in meshgen::gitops::schemas::files() {
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "{path} is stale: regenerate it with `cargo run -- schema --write .`"
        );
    }
    let out = common::meshgen_bin()
        .args(["schema", "--check", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// Every property the platform schema declares, at any depth, as `spec.gateways[].name`:
/// walked here from the schema JSON itself, not by the reference's own walk.
fn schema_properties(root: &serde_json::Value) -> Vec<String> {
    fn walk(root: &serde_json::Value, schema: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        let schema = match schema.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => root.pointer(r.trim_start_matches('#')).unwrap(),
            None => schema,
        };
        if let Some(items) = schema.get("items") {
            walk(root, items, &format!("{at}[]"), out);
        }
        for (name, property) in schema
            .get("properties")
            .and_then(|p| p.as_object())
            .into_iter()
            .flatten()
        {
            let path = if at.is_empty() {
                name.clone()
            } else {
                format!("{at}.{name}")
            };
            out.push(path.clone());
            walk(root, property, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(root, root, "", &mut out);
    out
}

#[test]
fn field_reference_names_every_property_of_the_schema() {
    let schema = meshgen::model::schema::platform_schema();
    let reference = meshgen::gitops::field_reference::markdown();
    let properties = schema_properties(schema);
    assert!(
        properties.len() > 40 && properties.contains(&"spec.gateways[].nodePorts".to_string()),
        "{properties:?}"
    );
    let missing: Vec<&String> = properties
        .iter()
        .filter(|p| !reference.contains(&format!("\n### `{p}`\n")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/platform.md has no section for {missing:?}"
    );
    // Each has its row in the index, too.
    for p in &properties {
        assert!(
            reference.contains(&format!("| [`{p}`](#")),
            "{p}: no index row"
        );
    }
}

#[test]
fn schema_check_reports_a_stale_copy_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let schema_dir = dir.path().join("schemas");
    std::fs::create_dir(&schema_dir).unwrap();
    let stale = meshgen::model::schema::platform_schema_text().replace("DNS-1123", "DNS");
    std::fs::write(schema_dir.join("platform.schema.json"), stale).unwrap();
    let out = common::meshgen_bin()
        .arg("schema")
        .arg("--check")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("+") && stdout.contains("meshgen schema --write"),
        "{stdout}"
    );
    let out = common::meshgen_bin()
        .arg("schema")
        .arg("--write")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = common::meshgen_bin()
        .arg("schema")
        .arg("--check")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_schema_is_draft_2020_12_and_describes_every_field() {
    let schema = meshgen::model::schema::platform_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    fn walk(v: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            for (k, p) in props {
                let described = p.get("description").is_some() || p.get("$ref").is_some();
                if !described {
                    missing.push(format!("{path}.{k}"));
                }
                walk(p, &format!("{path}.{k}"), missing);
            }
        }
        if let Some(defs) = v.get("$defs").and_then(|d| d.as_object()) {
            for (k, d) in defs {
                if d.get("description").is_none() {
                    missing.push(format!("$defs.{k}"));
                }
                walk(d, &format!("$defs.{k}"), missing);
            }
        }
    }
    let mut missing = Vec::new();
    walk(schema, "", &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:?}"
    );
}

/// A node port name one field gets once: the line's check says what the line lacks (with
/// `http2` for `http`, Istio's name of its plain HTTP port), the release's check only what the
/// line has and the release lacks (1.0.0 has no `tcp-dns-tls`).
#[test]
fn a_wrong_node_port_name_is_one_finding_with_the_right_hint() {
    let run = |istio: &str, port: &str| {
        let out = common::meshgen_bin()
            .args([
                "values",
                "--platform",
                "kvm",
                "--istio",
                istio,
                "--set",
                &format!("spec.ingressGateway.nodePorts.{port}=31000"),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        String::from_utf8(out.stderr).unwrap()
    };
    for istio in ["1.0.0", "1.0.9"] {
        let stderr = run(istio, "http");
        assert_eq!(stderr.matches("has no port named").count(), 1, "{stderr}");
        assert!(stderr.contains("did you mean `http2`?"), "{stderr}");
    }
    let stderr = run("1.0.0", "tcp-dns-tls");
    assert_eq!(stderr.matches("has no port named").count(), 1, "{stderr}");
    assert!(
        stderr.contains("Istio 1.0.0's ingress gateway has no port named `tcp-dns-tls`: later releases of the line added it"),
        "{stderr}"
    );
    assert!(!stderr.contains("its ports in 1.0.0: http2, https, tcp, tcp-pilot-grpc-tls, tcp-citadel-grpc-tls, tcp-dns-tls"));
}
