//! The GitOps repository workflow end to end: `init` a repository, add platforms, vendor from
//! an upstream repository built here, `generate`, commit, then break one thing at a time and
//! see `check` fail with the located message in each of its three formats.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{upstream_with_builtin_pins, values_of_release, Upstream};
use serde_json::Value;

/// Line numbers below refer to this file: 13 holds the nodePort, 11 the serviceType key.
const EDGE: &str = include_str!("fixtures/workflow/edge.yaml");

struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    cache: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("fleet");
        let cache = tmp.path().join("cache");
        fs::create_dir_all(&cache).unwrap();
        Repo {
            _tmp: tmp,
            root,
            cache,
        }
    }

    fn meshgen(&self, args: &[&str]) -> Output {
        // Before `init` creates it, run beside the repository.
        let cwd = if self.root.is_dir() {
            self.root.as_path()
        } else {
            self.root.parent().unwrap()
        };
        self.run_in(cwd, args)
    }

    /// `meshgen ARGS` run in `cwd`, without colour.
    fn run_in(&self, cwd: &Path, args: &[&str]) -> Output {
        let out = common::meshgen(&self.cache)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Every file under `rel`, with its content.
    fn tree(&self, rel: &str) -> BTreeMap<String, Vec<u8>> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            let Ok(entries) = fs::read_dir(dir) else {
                return;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else {
                    let rel = p.strip_prefix(root).unwrap().display().to_string();
                    out.insert(rel, fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.path(rel), &self.root, &mut out);
        out
    }

    fn commit_all(&self) -> git2::Repository {
        let repo = git2::Repository::init(&self.root).unwrap();
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("Fleet", "fleet@example.com").unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "fleet", &tree, &parents)
            .unwrap();
        drop(parent);
        drop(tree);
        repo
    }

    /// Runs `check` in the three formats, asserts exit 1 each time, returns the outputs.
    fn check_fails(&self) -> (String, Value, String) {
        let text = self.meshgen(&["check"]);
        assert_eq!(text.code, 1, "{text:?}");
        let json = self.meshgen(&["check", "--format", "json"]);
        assert_eq!(json.code, 1, "{json:?}");
        let json: Value = serde_json::from_str(&json.stdout).unwrap();
        let github = self.meshgen(&["check", "--format", "github"]);
        assert_eq!(github.code, 1, "{github:?}");
        (text.stdout, json, github.stdout)
    }
}

#[derive(Debug)]
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn has_finding(json: &Value, file: &str, line: usize, col: usize, path: &str, message: &str) {
    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["file"] == file
            && f["line"] == line
            && f["col"] == col
            && f["path"] == path
            && f["severity"] == "error"
            && f["message"].as_str().unwrap().contains(message)),
        "no {file}:{line}:{col} {path} {message:?} in {json:#}"
    );
}

/// A repository `init` scaffolded, in `fleet.root`.
fn initialized_fleet() -> Repo {
    let fleet = Repo::new();
    let init = fleet.meshgen(&["init", fleet.root.to_str().unwrap()]);
    assert_eq!(init.code, 0, "{init:?}");
    fleet
}

/// What every breakage below starts from: an initialized repository with a platform written
/// here (edge) and two built-ins (kvm, pks), vendored from a test upstream, generated and
/// committed, `check` clean.
struct Committed {
    fleet: Repo,
    _up: Upstream,
}

fn committed_fleet() -> Committed {
    let fleet = initialized_fleet();
    let up = upstream_with_builtin_pins();
    // Add platforms: one written here, two built-ins.
    fleet.write("platforms/edge.yaml", EDGE);
    for (name, text) in meshgen::model::load::BUILTIN_PLATFORMS {
        if ["kvm", "pks"].contains(name) {
            fleet.write(&format!("platforms/{name}.yaml"), text);
        }
    }

    // Vendor the pinned releases from the test upstream.
    let vendor = fleet.meshgen(&["vendor", "--remote", &up.path_str()]);
    assert_eq!(vendor.code, 0, "{vendor:?}");
    assert!(fleet.path("vendor/istio/1.0.9/istio/values.yaml").is_file());

    let gen = fleet.meshgen(&["generate"]);
    assert_eq!(gen.code, 0, "{gen:?}");
    fleet.commit_all();
    Committed { fleet, _up: up }
}

/// init scaffolds the repository; the example platform validates against the rules.
#[test]
fn init_scaffolds_a_repository_whose_example_validates() {
    let fleet = initialized_fleet();
    for rel in [
        "platforms/example.yaml",
        "schemas/platform.schema.json",
        "schemas/lock.schema.json",
        meshgen::gitops::field_reference::FIELD_REFERENCE_PATH,
        "vendor/meshgen.lock",
        ".github/workflows/meshgen.yml",
        ".pre-commit-config.yaml",
        "README.md",
        meshgen::gitops::init::HELM_PLUGIN_PATH,
    ] {
        assert!(fleet.path(rel).is_file(), "{rel} missing");
    }
    assert!(fleet
        .read("platforms/example.yaml")
        .starts_with("# yaml-language-server: $schema=../schemas/platform.schema.json\n"));
    assert!(fleet
        .read(".github/workflows/meshgen.yml")
        .contains("meshgen check --format github"));
    assert!(fleet
        .read(".pre-commit-config.yaml")
        .contains("entry: meshgen check"));
    let schema = fleet.meshgen(&["schema", "--check", "."]);
    assert_eq!(schema.code, 0, "init writes current schemas: {schema:?}");
    let valid = fleet.meshgen(&["validate", "platforms/example.yaml"]);
    assert_eq!(valid.code, 0, "{valid:?}");
}

/// Helm 4's post-renderer plugin: the type Helm 4 requires of `--post-renderer`, the name the
/// values header's Helm 4 commands give it, and meshgen's post-render as its command.
#[test]
fn init_writes_the_helm_4_post_renderer_plugin() {
    let fleet = initialized_fleet();
    let plugin = fleet.read(meshgen::gitops::init::HELM_PLUGIN_PATH);
    let doc = meshgen::yaml::parse(&plugin).unwrap();
    let doc = doc.to_json();
    assert_eq!(doc["apiVersion"], "v1", "{plugin}");
    assert_eq!(doc["type"], "postrenderer/v1", "{plugin}");
    assert_eq!(doc["runtime"], "subprocess", "{plugin}");
    assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"), "{plugin}");
    let command = &doc["runtimeConfig"]["platformCommand"][0];
    assert_eq!(command["command"], "meshgen", "{plugin}");
    assert_eq!(
        command["args"],
        serde_json::json!(["post-render"]),
        "{plugin}"
    );
    let values = fleet.meshgen(&["values", "--platform", "pks"]);
    let name = doc["name"].as_str().unwrap();
    assert!(
        values
            .stdout
            .contains(&format!("--post-renderer {name} --post-renderer-args"))
            && values
                .stdout
                .contains("helm plugin install ./helm-plugins/meshgen"),
        "{}",
        values.stdout
    );
}

/// generate writes each platform's files, those of `meshgen values`; the commit checks clean.
#[test]
fn generate_writes_what_values_prints_and_the_commit_checks_clean() {
    let fleet = committed_fleet().fleet;
    for rel in [
        "generated/edge/values.yaml",
        "generated/example/values.yaml",
        "generated/kvm/values.yaml",
        "generated/kvm/manifests.yaml",
        "generated/pks/values.yaml",
    ] {
        let text = fleet.read(rel);
        assert!(text.starts_with(meshgen::gitops::generate::MARKER), "{rel}");
    }
    // Values are those of `meshgen values`, under the marker line, the header's commands
    // taking the values file where it is from the repository root.
    let values = fleet.meshgen(&["values", "--platform", "kvm"]);
    assert!(values.stdout.contains(" -f values.yaml"));
    assert_eq!(
        fleet
            .read("generated/kvm/values.yaml")
            .split_once('\n')
            .unwrap()
            .1,
        values
            .stdout
            .replace(" -f values.yaml", " -f generated/kvm/values.yaml")
    );
    assert!(values
        .stdout
        .contains("Istio 1.0.9: pinned by vendor/meshgen.lock"));
    let again = fleet.meshgen(&["generate", "--check"]);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "{again:?}");

    let clean = fleet.meshgen(&["check"]);
    assert_eq!((clean.code, clean.stdout.as_str()), (0, ""), "{clean:?}");
    let clean: Value =
        serde_json::from_str(&fleet.meshgen(&["check", "--format", "json"]).stdout).unwrap();
    assert_eq!(clean["errors"], 0);
    assert_eq!(clean["checked"]["platforms"], 4);
    // What the platforms use: 1.0's umbrella chart and 1.11's four; no 0.6 chart.
    assert_eq!(clean["checked"]["vendoredCharts"], 5);
    assert!(!fleet.path("vendor/istio/0.6.0").exists());
}

#[test]
fn check_locates_a_bad_field_and_generate_refuses_whole() {
    let fleet = committed_fleet().fleet;
    // A bad field: a nodePort outside Kubernetes' range.
    fleet.write(
        "platforms/edge.yaml",
        &EDGE.replace("http2: 31380", "http2: 29000"),
    );
    let (text, json, github) = fleet.check_fails();
    let message = "nodePort 29000 is outside Kubernetes' node port range 30000-32767";
    assert!(
        text.contains(&format!(
            "platforms/edge.yaml:13:14: spec.ingressGateway.nodePorts.http2: {message}"
        )),
        "{text}"
    );
    has_finding(
        &json,
        "platforms/edge.yaml",
        13,
        14,
        "spec.ingressGateway.nodePorts.http2",
        message,
    );
    assert!(
        github.contains(&format!("::error file=platforms/edge.yaml,line=13,col=14,title=meshgen check::spec.ingressGateway.nodePorts.http2: {message}")),
        "{github}"
    );
    // generate refuses and writes nothing, not even the other platforms' stale files.
    fs::remove_file(fleet.path("generated/kvm/values.yaml")).unwrap();
    let before = fleet.tree("generated");
    let refused = fleet.meshgen(&["generate"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("platforms/edge.yaml:13:14:"));
    assert_eq!(fleet.tree("generated"), before);
}

#[test]
fn check_finds_a_hand_edited_values_file_stale() {
    let fleet = committed_fleet().fleet;
    // A stale values file: edited by hand.
    let stale = fleet.read("generated/edge/values.yaml");
    let line = stale
        .lines()
        .position(|l| l.contains("type: \"NodePort\""))
        .unwrap()
        + 1;
    fleet.write(
        "generated/edge/values.yaml",
        &stale.replacen("type: \"NodePort\"", "type: \"LoadBalancer\"", 1),
    );
    let (text, json, github) = fleet.check_fails();
    assert!(
        text.contains(&format!("generated/edge/values.yaml:{line}:1: stale: differs from what `meshgen generate` writes")),
        "{text}"
    );
    has_finding(&json, "generated/edge/values.yaml", line, 1, "", "stale");
    assert!(github.contains(&format!(
        "::error file=generated/edge/values.yaml,line={line},col=1,title=meshgen check::stale:"
    )));
    let diff = fleet.meshgen(&["generate", "--check"]);
    assert_eq!(diff.code, 1);
    assert!(
        diff.stdout.contains("-    type: \"LoadBalancer\""),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("+    type: \"NodePort\""));
}

#[test]
fn check_finds_a_tampered_vendored_chart() {
    let fleet = committed_fleet().fleet;
    // A tampered vendored chart.
    let chart = "vendor/istio/1.0.9/istio/values.yaml";
    fleet.write(chart, &format!("{}evil: true\n", fleet.read(chart)));
    let (text, json, github) = fleet.check_fails();
    assert!(
        text.contains(&format!(
            "{chart}: vendored chart differs from vendor/meshgen.lock: changed"
        )),
        "{text}"
    );
    has_finding(
        &json,
        chart,
        0,
        0,
        "",
        "differs from vendor/meshgen.lock: changed",
    );
    assert!(
        github.contains(&format!(
            "::error file={chart},title=meshgen check::vendored chart differs from vendor/meshgen.lock: changed"
        )),
        "{github}"
    );
}

#[test]
fn check_locates_a_typo_d_key_with_a_hint() {
    let fleet = committed_fleet().fleet;
    // A typo'd key.
    fleet.write(
        "platforms/edge.yaml",
        &EDGE.replace("serviceType:", "servceType:"),
    );
    let (text, json, github) = fleet.check_fails();
    assert!(
        text.contains("platforms/edge.yaml:11:5: spec.ingressGateway.servceType: unknown field `servceType`\n  hint: did you mean `serviceType`?"),
        "{text}"
    );
    has_finding(
        &json,
        "platforms/edge.yaml",
        11,
        5,
        "spec.ingressGateway.servceType",
        "unknown field `servceType`",
    );
    assert!(
        github.contains("::error file=platforms/edge.yaml,line=11,col=5,title=meshgen check::spec.ingressGateway.servceType: unknown field `servceType`%0Ahint: did you mean `serviceType`?"),
        "{github}"
    );
}

#[test]
fn check_finds_a_key_typo_d_into_generated_values_stale_from_its_line() {
    let fleet = committed_fleet().fleet;
    // A typo'd key hand-edited into a generated values file, where Helm would silently
    // ignore it: the file is stale from that very line (`generate` writes it back); a stale
    // file is not also held against the charts (see a_stale_values_file_is_not_held_against_the_charts).
    let values = "generated/kvm/values.yaml";
    let original = fleet.read(values);
    let line = original
        .lines()
        .position(|l| l.trim_start().starts_with("istio-ingressgateway:"))
        .unwrap()
        + 1;
    fleet.write(
        values,
        &original.replacen("istio-ingressgateway:", "istio-ingresgateway:", 1),
    );
    let (text, json, github) = fleet.check_fails();
    let located = format!(
        "{values}:{line}:1: stale: differs from what `meshgen generate` writes, from line {line} on"
    );
    assert!(text.contains(&located), "{text}");
    assert!(!text.contains("does not declare"), "{text}");
    has_finding(&json, values, line, 1, "", "stale:");
    assert!(
        github.contains(&format!(
            "::error file={values},line={line},col=1,title=meshgen check::stale:"
        )),
        "{github}"
    );
}

#[test]
fn check_locates_a_misspelt_mesh_config_field_in_the_platform_file() {
    let fleet = committed_fleet().fleet;
    // A misspelt meshConfig field, which istiod would skip, located in the platform file.
    // (The clean check above held the example's generated meshConfig to the vendored 1.11.8's
    // MeshConfig through check-values; tests/check_values.rs shows its findings.)
    let example = fleet.read("platforms/example.yaml");
    let line = example
        .lines()
        .position(|l| l.contains("accessLogFile:"))
        .unwrap()
        + 1;
    fleet.write(
        "platforms/example.yaml",
        &example.replacen("accessLogFile:", "acessLogFile:", 1),
    );
    let (text, json, _) = fleet.check_fails();
    let message =
        "`meshConfig.acessLogFile` is no field of Istio 1.11.8's MeshConfig: istiod ignores it";
    assert!(
        text.contains(&format!("platforms/example.yaml:{line}:7: spec.values.meshConfig.acessLogFile: {message}\n  hint: did you mean `meshConfig.accessLogFile`?")),
        "{text}"
    );
    has_finding(
        &json,
        "platforms/example.yaml",
        line,
        7,
        "spec.values.meshConfig.acessLogFile",
        message,
    );
}

#[test]
fn a_flux_source_in_meshgen_yaml_adds_flux_yaml_held_current() {
    let fleet = committed_fleet().fleet;
    // With the Flux source in meshgen.yaml, each platform also gets flux.yaml, which
    // check then holds current like the rest.
    fleet.write(
        "meshgen.yaml",
        "flux:\n  gitUrl: https://git.example.com/fleet.git\n",
    );
    let (text, _, _) = fleet.check_fails();
    assert!(text.contains("generated/kvm/flux.yaml: missing"), "{text}");
    let gen = fleet.meshgen(&["generate"]);
    assert_eq!(gen.code, 0, "{gen:?}");
    let flux = fleet.read("generated/kvm/flux.yaml");
    assert!(flux.starts_with(meshgen::gitops::generate::MARKER));
    assert!(flux.contains("kind: \"HelmRelease\""), "{flux}");
    assert!(
        flux.contains("chart: \"./vendor/istio/1.0.9/istio\""),
        "{flux}"
    );
    assert_eq!(fleet.meshgen(&["check"]).code, 0);
    fleet.write(
        "meshgen.yaml",
        "flux:\n  gitUrl: https://git.example.com/fleet.git\n  branch: prod\n",
    );
    let (text, _, _) = fleet.check_fails();
    assert!(text.contains("generated/kvm/flux.yaml:"), "{text}");
    assert!(text.contains("stale"), "{text}");
    fs::remove_file(fleet.path("meshgen.yaml")).unwrap();
    let gen = fleet.meshgen(&["generate"]);
    assert_eq!(gen.code, 0, "{gen:?}");
    assert!(
        !fleet.path("generated/kvm/flux.yaml").exists(),
        "flux.yaml removed with its source"
    );
}

#[test]
fn a_removed_platform_s_generated_files_are_orphans_generate_deletes() {
    let fleet = committed_fleet().fleet;
    // A platform removed: its generated files are orphans; generate deletes only those.
    fs::remove_file(fleet.path("platforms/pks.yaml")).unwrap();
    fs::remove_file(fleet.path("platforms/kvm.yaml")).unwrap();
    fleet.write("generated/pks/NOTES.md", "kept: not generated\n");
    let (text, _, _) = fleet.check_fails();
    assert!(
        text.contains("generated/pks/values.yaml: orphaned"),
        "{text}"
    );
    assert!(
        text.contains("generated/kvm/manifests.yaml: orphaned"),
        "{text}"
    );
    let gen = fleet.meshgen(&["generate"]);
    assert_eq!(gen.code, 0, "{gen:?}");
    assert!(!fleet.path("generated/pks/values.yaml").exists());
    assert_eq!(
        fleet.read("generated/pks/NOTES.md"),
        "kept: not generated\n"
    );
    assert!(
        !fleet.path("generated/kvm").exists(),
        "emptied directory removed"
    );
    assert!(fleet.path("generated/edge/values.yaml").is_file());
}

#[test]
fn init_refuses_to_overwrite_and_force_replaces() {
    let fleet = Repo::new();
    fleet.write("README.md", "# Our fleet\n");
    fleet.write("platforms/example.yaml", "mine\n");
    let refused = fleet.meshgen(&["init"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("platforms/example.yaml"),
        "{refused:?}"
    );
    assert!(!refused.stderr.contains("README.md"), "{refused:?}");
    // Nothing written.
    assert_eq!(fleet.tree("").len(), 2);

    let forced = fleet.meshgen(&["init", "--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert_eq!(
        fleet.read("README.md"),
        "# Our fleet\n",
        "the user's README stays"
    );
    assert!(fleet.read("MESHGEN.md").contains("## Workflow"));
    assert_eq!(
        fleet.read("platforms/example.yaml"),
        meshgen::gitops::init::EXAMPLE_PLATFORM
    );
}

#[test]
fn init_with_a_git_url_sets_up_flux() {
    let fleet = Repo::new();
    let refused = fleet.meshgen(&[
        "init",
        fleet.root.to_str().unwrap(),
        "--git-url",
        "git@example.com:acme/fleet.git",
    ]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("ssh://git@example.com/acme/fleet.git"),
        "{refused:?}"
    );
    assert!(!fleet.root.exists(), "nothing written");

    let url = "ssh://git@example.com/acme/fleet.git";
    let init = fleet.meshgen(&["init", fleet.root.to_str().unwrap(), "--git-url", url]);
    assert_eq!(init.code, 0, "{init:?}");
    let gen = fleet.meshgen(&["generate"]);
    assert_eq!(gen.code, 0, "{gen:?}");
    let flux =
        meshgen::install::postrender::parse_objects(&fleet.read("generated/example/flux.yaml"))
            .unwrap();
    assert_eq!(flux[0]["spec"]["url"], url);
    assert_eq!(
        common::helm_release_names(&flux),
        ["istio-base", "istiod", "istio-ingress", "istio-egress"]
    );
}

#[test]
fn explain_names_the_origin_of_each_value() {
    let fleet = Repo::new();
    fleet.write("platforms/edge.yaml", EDGE);
    let out = fleet.meshgen(&["explain", "--platform", "edge"]);
    assert_eq!(out.code, 0, "{out:?}");
    let s = &out.stdout;
    // A value from a line of the file, shown with that line.
    assert!(
        s.contains("gateways.istio-ingressgateway.ports[1].nodePort = 31380\n    platform file line 13 (platforms/edge.yaml:13: `http2: 31380`)"),
        "{s}"
    );
    // A provider default.
    assert!(
        s.contains("gateways.istio-egressgateway.type = \"NodePort\"\n    kvm default:"),
        "{s}"
    );
    // A --set override.
    let set = fleet.meshgen(&[
        "explain",
        "--platform",
        "edge",
        "--set",
        "spec.tracing=true",
    ]);
    assert_eq!(set.code, 0, "{set:?}");
    assert!(set.stdout.contains("set with --set"), "{}", set.stdout);
}

#[test]
fn completions_man_and_colour() {
    let fleet = Repo::new();
    fs::create_dir_all(&fleet.root).unwrap();
    let bash = fleet.meshgen(&["completions", "bash"]);
    assert_eq!(bash.code, 0);
    assert!(bash.stdout.contains("generate") && bash.stdout.contains("complete"));
    let man = fleet.meshgen(&["man"]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.contains(".TH meshgen"), "{}", man.stdout);
    let pages = fleet.meshgen(&["man", "--out-dir", "man"]);
    assert_eq!(pages.code, 0, "{pages:?}");
    assert!(fleet.path("man/meshgen-check.1").is_file());
    // Not a terminal: no escapes, even for errors.
    let err = fleet.meshgen(&["values", "--platform", "nope"]);
    assert_eq!(err.code, 2);
    assert!(
        err.stderr.starts_with("error: no platform named `nope`"),
        "{err:?}"
    );
    assert!(!err.stderr.contains('\u{1b}'));
    // -q silences the summary, not the findings.
    fleet.write("platforms/edge.yaml", EDGE);
    let quiet = fleet.meshgen(&["-q", "generate"]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""), "{quiet:?}");
    let verbose = fleet.meshgen(&["generate", "-v"]);
    assert!(verbose.stderr.contains("time: plan"), "{verbose:?}");
}

#[test]
fn init_with_a_git_secret_makes_the_source_private() {
    let fleet = Repo::new();
    let dir = fleet.root.to_str().unwrap();
    let url = "ssh://git@example.com/acme/fleet.git";
    let refused = fleet.meshgen(&["init", dir, "--git-url", url, "--git-secret", "Fleet_SSH"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("--git-secret `Fleet_SSH` is not a Secret name"),
        "{refused:?}"
    );
    assert!(!fleet.root.exists(), "nothing written");
    // Only with the repository's URL.
    let refused = fleet.meshgen(&["init", dir, "--git-secret", "fleet-ssh"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--git-url"), "{refused:?}");

    let init = fleet.meshgen(&["init", dir, "--git-url", url, "--git-secret", "fleet-ssh"]);
    assert_eq!(init.code, 0, "{init:?}");
    assert!(fleet
        .read("meshgen.yaml")
        .contains("gitSecret: \"fleet-ssh\""));
    let gen = fleet.meshgen(&["generate"]);
    assert_eq!(gen.code, 0, "{gen:?}");
    let flux =
        meshgen::install::postrender::parse_objects(&fleet.read("generated/example/flux.yaml"))
            .unwrap();
    assert_eq!(flux[0]["spec"]["secretRef"]["name"], "fleet-ssh");

    // Without it, meshgen.yaml names no Secret.
    let public = Repo::new();
    let init = public.meshgen(&["init", public.root.to_str().unwrap(), "--git-url", url]);
    assert_eq!(init.code, 0, "{init:?}");
    assert!(!public.read("meshgen.yaml").contains("gitSecret"));
}

impl Repo {
    /// `meshgen` run from a subdirectory of the repository.
    fn meshgen_in(&self, sub: &str, args: &[&str]) -> Output {
        let cwd = self.path(sub);
        fs::create_dir_all(&cwd).unwrap();
        self.run_in(&cwd, args)
    }
}

/// A platform's name is its file name, `.yaml` or `.yml`, for every command; the header's
/// post-renderer command names a platform `--platform` finds; two files of one name and a
/// `metadata.name` that differs are errors.
#[test]
fn one_platform_name_rule_everywhere() {
    let fleet = Repo::new();
    let edge = common::renamed(EDGE, "edge-yml");
    fleet.write("platforms/edge-yml.yml", &edge);
    let values = fleet.meshgen(&["values", "--platform", "edge-yml"]);
    assert_eq!(values.code, 0, "{values:?}");
    let platforms = fleet.meshgen(&["platforms"]);
    assert!(
        platforms
            .stdout
            .starts_with("edge-yml      platforms/edge-yml.yml  "),
        "{platforms:?}"
    );
    let generate = fleet.meshgen(&["generate"]);
    assert_eq!(generate.code, 0, "{generate:?}");
    assert!(fleet.path("generated/edge-yml/values.yaml").is_file());

    // An HA platform's header names itself for the post-renderer: that name resolves.
    let pks = meshgen::model::load::BUILTIN_PLATFORMS
        .iter()
        .find(|(n, _)| *n == "pks")
        .unwrap()
        .1;
    fleet.write("platforms/ha.yml", &common::renamed(pks, "ha"));
    let header = fleet.meshgen(&["values", "--platform", "ha"]);
    assert!(
        header.stdout.contains("--post-renderer-args --platform=ha"),
        "{header:?}"
    );

    // metadata.name differing from the file name: located, for every command.
    fleet.write("platforms/other.yaml", EDGE);
    for args in [
        &["values", "--platform", "other"][..],
        &["validate", "other"],
        &["validate", "platforms/other.yaml"],
        &["generate"],
        &["check"],
    ] {
        let out = fleet.meshgen(args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            all.contains(
                "platforms/other.yaml:5:9: metadata.name: the platform `other` is named `edge`"
            ),
            "{args:?}: {all}"
        );
    }
    let listed = fleet.meshgen(&["platforms"]);
    assert_eq!(listed.code, 1, "{listed:?}");
    fs::remove_file(fleet.path("platforms/other.yaml")).unwrap();

    // Two files of one name.
    fleet.write("platforms/edge-yml.yaml", &edge);
    for args in [
        &["values", "--platform", "edge-yml"][..],
        &["platforms"],
        &["generate"],
    ] {
        let out = fleet.meshgen(args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("both define the platform `edge-yml`"),
            "{args:?}: {out:?}"
        );
    }
}

/// `generate`, `check`, `values --platform NAME` work from a subdirectory: the repository root
/// is found as git finds it.
#[test]
fn commands_find_the_repository_root_from_a_subdirectory() {
    let fleet = Repo::new();
    fleet.write("platforms/edge.yaml", EDGE);
    let generate = fleet.meshgen_in("generated/deep", &["generate"]);
    assert_eq!(generate.code, 0, "{generate:?}");
    assert!(fleet.path("generated/edge/values.yaml").is_file());
    assert!(!fleet.path("generated/deep/generated").exists());
    let check = fleet.meshgen_in("platforms", &["check"]);
    assert!(
        !check.stdout.contains("generated/edge/values.yaml"),
        "current from a subdirectory: {check:?}"
    );
    let values = fleet.meshgen_in("generated", &["values", "--platform", "edge"]);
    assert_eq!(values.code, 0, "{values:?}");
    assert!(values.stdout.contains("platform: edge"), "{values:?}");
}

/// `schema --check schemas` names the directory to give; it never suggests writing
/// `schemas/schemas/`.
#[test]
fn schema_refuses_the_schemas_directory_itself() {
    let fleet = Repo::new();
    fs::create_dir_all(&fleet.root).unwrap();
    assert_eq!(fleet.meshgen(&["schema", "--write", "."]).code, 0);
    for flag in ["--check", "--write"] {
        let out = fleet.meshgen(&["schema", flag, "schemas"]);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(
            out.stderr
                .contains(&format!("run `meshgen schema {flag} .`")),
            "{out:?}"
        );
        assert!(!fleet.path("schemas/schemas").exists());
    }
    assert_eq!(fleet.meshgen(&["schema", "--check", "."]).code, 0);
}

/// `lines` lists only charts meshgen vendors and renders values for.
#[test]
fn lines_lists_no_chart_nothing_can_enable() {
    let fleet = Repo::new();
    fs::create_dir_all(&fleet.root).unwrap();
    let out = fleet.meshgen(&["lines"]);
    assert_eq!(out.code, 0);
    assert!(!out.stdout.contains("istio-cni"), "{}", out.stdout);
    assert!(out.stdout.contains("istio-egress"), "{}", out.stdout);
    assert!(out.stdout.contains("1.0.0 to 1.0.9"), "{}", out.stdout);
}

/// A `--set` problem is located at the argument, never at `FILE:0:0`.
#[test]
fn set_errors_point_at_the_argument() {
    let fleet = Repo::new();
    fs::create_dir_all(&fleet.root).unwrap();
    let out = fleet.meshgen(&["values", "--platform", "kvm", "--set", "spec.provider.x=1"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "--set spec.provider.x=1: cannot set `x` inside a value that is not a map"
        ),
        "{out:?}"
    );
    let out = fleet.meshgen(&[
        "values",
        "--platform",
        "kvm",
        "--set",
        "spec.ingressGateway.nodePorts[0]=1",
    ]);
    assert!(
        out.stderr.contains("--set spec.ingressGateway.nodePorts[0]=1: spec.ingressGateway.nodePorts: expected an object"),
        "{out:?}"
    );
    assert!(!out.stderr.contains(":0:0"), "{out:?}");
}

/// A 1.11 extra gateway's values file is generated beside values.yaml, `check` holds it
/// current, and it goes when the gateway goes.
#[test]
fn generate_writes_and_check_holds_each_gateway_file() {
    let repo = Repo::new();
    let fixture = fs::read_to_string(format!(
        "{}/tests/fixtures/gateways/ilb-111.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    repo.write("platforms/ilb-111.yaml", &fixture);
    let out = repo.meshgen(&["generate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let file = "generated/ilb-111/gateway-ilb-gateway.yaml";
    let own = repo.meshgen(&[
        "values",
        "--platform",
        "ilb-111",
        "--gateway",
        "ilb-gateway",
    ]);
    assert!(
        repo.read(file).ends_with(&own.stdout.replace(
            " -f gateway-ilb-gateway.yaml",
            " -f generated/ilb-111/gateway-ilb-gateway.yaml"
        )),
        "the file is the gateway's values, its install command run from the repository root"
    );
    assert!(repo
        .read(file)
        .contains(" -f generated/ilb-111/gateway-ilb-gateway.yaml"));
    assert_eq!(repo.meshgen(&["check"]).code, 0);

    repo.write(file, &repo.read(file).replace("ilb-gateway", "ilb"));
    let out = repo.meshgen(&["check"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("gateway-ilb-gateway.yaml"),
        "{}",
        out.stdout
    );

    let cut = fixture.find("  gateways:").unwrap();
    repo.write("platforms/ilb-111.yaml", &fixture[..cut]);
    assert_eq!(repo.meshgen(&["generate"]).code, 0);
    assert!(
        !repo.path(file).exists(),
        "a vanished gateway's file is deleted"
    );
    assert_eq!(repo.meshgen(&["check"]).code, 0);
}

/// An upstream with the fleet's four releases (1.11.8 only when `with_1_11_8`), each with
/// charts declaring what the real ones do.
fn upstream_of_fleet(up: &Upstream, versions: &[&str]) {
    for v in versions {
        if v.starts_with("1.0.") {
            let mut files = common::files_10(v);
            files.insert(
                format!("{}/values.yaml", common::UMBRELLA),
                (values_of_release("1.0", Some(v)), false),
            );
            up.release(v, files);
        } else {
            let mut files = common::files_111(v);
            files.insert(
                "manifests/charts/istio-control/istio-discovery/values.yaml".into(),
                (values_of_release("1.11", Some(v)), false),
            );
            up.release(v, files);
        }
    }
}

fn platform_at(builtin_or_edge: &str, name: &str, istio: &str) -> String {
    let text = match builtin_or_edge {
        "edge" => EDGE.to_string(),
        builtin => meshgen::model::load::BUILTIN_PLATFORMS
            .iter()
            .find(|(n, _)| *n == builtin)
            .unwrap()
            .1
            .to_string(),
    };
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("istio: "))
        .unwrap()
        .to_string();
    let name_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("name: "))
        .unwrap()
        .to_string();
    text.replacen(&line, &format!("  istio: \"{istio}\""), 1)
        .replacen(&name_line, &format!("  name: {name}"), 1)
}

fn vendored_releases(fleet: &Repo) -> Vec<String> {
    let mut found: Vec<String> = fs::read_dir(fleet.path("vendor/istio"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    found
}

/// The fleet: platforms on 1.0.2 (pinned), 1.0 (following, at 1.0.9), 1.11 (staging,
/// following) and 1.11.4 (production, pinned), vendored, generated and committed. Upstream
/// then ships 1.11.8 and the rollout is two pull requests that `check` verifies: staging moves
/// with `vendor --update` (pins stay), then production is edited to follow, and the release
/// nobody uses any more is pruned.
struct FourReleases {
    fleet: Repo,
    up: Upstream,
}

fn fleet_on_four_releases() -> FourReleases {
    let fleet = Repo::new();
    let up = Upstream::empty();
    upstream_of_fleet(&up, &["1.0.2", "1.0.9", "1.11.4"]);
    fs::create_dir_all(&fleet.root).unwrap();
    fleet.write("platforms/pks.yaml", &platform_at("pks", "pks", "1.0.2"));
    fleet.write("platforms/kvm.yaml", &platform_at("kvm", "kvm", "1.0"));
    fleet.write(
        "platforms/staging.yaml",
        &platform_at("edge", "staging", "1.11"),
    );
    fleet.write(
        "platforms/prod.yaml",
        &platform_at("edge", "prod", "1.11.4"),
    );
    let vendor = fleet.meshgen(&["vendor", "--remote", &up.path_str()]);
    assert_eq!(vendor.code, 0, "{vendor:?}");
    let gen = fleet.meshgen(&["generate"]);
    assert_eq!(gen.code, 0, "{gen:?}");
    fleet.commit_all();
    FourReleases { fleet, up }
}

/// Pull request 1 of the rollout: upstream ships 1.11.8, `vendor --update` moves the
/// followers, generate.
fn staging_moved_to_1_11_8(four: &FourReleases) {
    upstream_of_fleet(&four.up, &["1.11.8"]);
    let update = four.fleet.meshgen(&["vendor", "--update"]);
    assert_eq!(update.code, 0, "{update:?}");
    four.fleet.meshgen(&["generate"]);
}

/// `meshgen vendor` vendors exactly the releases the platforms use; each platform renders for
/// its own; the commit checks clean.
#[test]
fn a_fleet_on_four_releases_vendors_each_and_renders_each_platform_for_its_own() {
    let four = fleet_on_four_releases();
    let fleet = &four.fleet;
    assert_eq!(vendored_releases(fleet), ["1.0.2", "1.0.9", "1.11.4"]);
    let lock = fleet.read("vendor/meshgen.lock");
    assert!(
        lock.contains("follow:\n  \"1.0\": \"1.0.9\"\n  \"1.11\": \"1.11.4\"\n"),
        "{lock}"
    );
    // Each platform renders for its own release: images, chart paths, header.
    for (name, version) in [
        ("pks", "1.0.2"),
        ("kvm", "1.0.9"),
        ("staging", "1.11.4"),
        ("prod", "1.11.4"),
    ] {
        let values = fleet.read(&format!("generated/{name}/values.yaml"));
        assert!(
            values.contains(&format!("tag: \"{version}\"")),
            "{name}: {values}"
        );
        assert!(
            values.contains(&format!("vendor/istio/{version}/")),
            "{name}: {values}"
        );
    }
    assert!(fleet
        .read("generated/pks/values.yaml")
        .contains("Istio 1.0.2: the exact release spec.istio names"));
    // Flux installs the exact release's vendored chart, with its images.
    let flux = fleet.meshgen(&[
        "flux",
        "--platform",
        "pks",
        "--git-url",
        "https://git.example.com/f.git",
    ]);
    assert_eq!(flux.code, 0, "{flux:?}");
    assert!(
        flux.stdout
            .contains("chart: \"./vendor/istio/1.0.2/istio\""),
        "{}",
        flux.stdout
    );
    assert!(flux.stdout.contains("tag: \"1.0.2\""), "{}", flux.stdout);
    let clean = fleet.meshgen(&["check", "--format", "json"]);
    assert_eq!(clean.code, 0, "{clean:?}");
    let json: Value = serde_json::from_str(&clean.stdout).unwrap();
    assert_eq!(
        (json["errors"].as_u64(), json["warnings"].as_u64()),
        (Some(0), Some(0)),
        "{json:#}"
    );
    assert_eq!(json["checked"]["valuesAgainstCharts"], 4, "{json:#}");
    assert_eq!(json["checked"]["vendoredCharts"], 2 + 4, "{json:#}");
}

#[test]
fn a_chart_value_is_refused_before_the_release_that_declares_it() {
    let four = fleet_on_four_releases();
    let fleet = &four.fleet;
    // A chart value 1.0.2's charts do not declare yet (1.0.3 added it): refused at 1.0.2 by
    // the model, located; accepted at 1.0.9, where check-values finds it in the chart.
    let with_value = |istio: &str| {
        platform_at("pks", "pks", istio).replace(
            "spec:\n",
            "spec:\n  values:\n    global:\n      proxy:\n        statusPort: 15020\n",
        )
    };
    fleet.write("platforms/pks.yaml", &with_value("1.0.2"));
    let refused = fleet.meshgen(&["check"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stdout.contains("spec.values.global.proxy.statusPort: Istio 1.0.2's charts do not declare `global.proxy.statusPort`: the line's charts declare it from 1.0.3 on"),
        "{}",
        refused.stdout
    );
    fleet.write("platforms/pks.yaml", &with_value("1.0.9"));
    fleet.meshgen(&["generate"]);
    let accepted = fleet.meshgen(&["check"]);
    assert_eq!(accepted.code, 0, "{accepted:?}");
}

#[test]
fn a_pin_to_a_release_not_vendored_is_located_at_spec_istio() {
    let four = fleet_on_four_releases();
    let fleet = &four.fleet;
    // A pin to a release not vendored is an error at spec.istio.
    fleet.write(
        "platforms/prod.yaml",
        &platform_at("edge", "prod", "1.11.6"),
    );
    fleet.meshgen(&["generate"]);
    let text = fleet.meshgen(&["check"]);
    assert_eq!(text.code, 1, "{text:?}");
    assert!(
        text.stdout
            .contains("platforms/prod.yaml:8:10: spec.istio: Istio 1.11.6 is not vendored"),
        "{}",
        text.stdout
    );
}

#[test]
fn outdated_lists_a_deliberate_pin_and_nothing_to_move() {
    let four = fleet_on_four_releases();
    let fleet = &four.fleet;
    // Nothing to move yet: pks is pinned behind 1.0.9 on purpose, and listed so.
    let outdated = fleet.meshgen(&["outdated"]);
    assert_eq!(outdated.code, 0, "{outdated:?}");
    assert!(
        outdated
            .stdout
            .contains("pinned behind 1.0.9, moved only by editing their spec.istio: pks (1.0.2)"),
        "{}",
        outdated.stdout
    );
}

/// Upstream releases 1.11.8: outdated names what `vendor --update` would move and what is
/// pinned behind, in text and JSON.
#[test]
fn outdated_reports_a_new_release_and_whom_it_would_move() {
    let four = fleet_on_four_releases();
    let fleet = &four.fleet;
    upstream_of_fleet(&four.up, &["1.11.8"]);
    let outdated = fleet.meshgen(&["outdated"]);
    assert_eq!(outdated.code, 1, "{outdated:?}");
    assert!(
        outdated.stdout.contains("Istio 1.11 (follows 1.11.4, newest 1.11.8): 1.11.8 is out\n  1.11.4   following: staging; pinned: prod\n  `meshgen vendor --update` moves to 1.11.8: staging\n  pinned behind 1.11.8, moved only by editing their spec.istio: prod (1.11.4)\n"),
        "{}",
        outdated.stdout
    );
    let json = fleet.meshgen(&["outdated", "--format", "json"]);
    assert_eq!(json.code, 1, "{json:?}");
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["outdated"], true);
    let line_111 = &json["lines"][1];
    assert_eq!(
        (line_111["line"].as_str(), line_111["newest"].as_str()),
        (Some("1.11"), Some("1.11.8")),
        "{json:#}"
    );
    assert_eq!(
        line_111["wouldMove"],
        serde_json::json!(["staging"]),
        "{json:#}"
    );
    assert_eq!(
        line_111["pinnedBehind"],
        serde_json::json!([{"platform": "prod", "version": "1.11.4"}]),
        "{json:#}"
    );
    assert_eq!(
        line_111["inUse"][0]["pinned"],
        serde_json::json!(["prod"]),
        "{json:#}"
    );
}

/// Pull request 1: `vendor --update` moves staging; prod's pinned release stays beside it.
#[test]
fn vendor_update_moves_the_followers_and_keeps_the_pinned_release() {
    let four = fleet_on_four_releases();
    let fleet = &four.fleet;
    upstream_of_fleet(&four.up, &["1.11.8"]);
    let update = fleet.meshgen(&["vendor", "--update"]);
    assert_eq!(update.code, 0, "{update:?}");
    assert_eq!(
        vendored_releases(fleet),
        ["1.0.2", "1.0.9", "1.11.4", "1.11.8"],
        "the pinned 1.11.4 stays beside the new release"
    );
    let stale = fleet.meshgen(&["check"]);
    assert_eq!(stale.code, 1, "{stale:?}");
    assert!(
        stale.stdout.contains("generated/staging/values.yaml"),
        "{}",
        stale.stdout
    );
    assert!(
        !stale.stdout.contains("generated/prod/"),
        "{}",
        stale.stdout
    );
    assert!(!stale.stdout.contains("generated/pks/"), "{}", stale.stdout);
    fleet.meshgen(&["generate"]);
    assert!(fleet
        .read("generated/staging/values.yaml")
        .contains("tag: \"1.11.8\""));
    assert!(fleet
        .read("generated/prod/values.yaml")
        .contains("tag: \"1.11.4\""));
    assert!(fleet
        .read("generated/pks/values.yaml")
        .contains("tag: \"1.0.2\""));
    let pr1 = fleet.meshgen(&["check"]);
    assert_eq!(pr1.code, 0, "{pr1:?}");
    let outdated = fleet.meshgen(&["outdated"]);
    assert_eq!(outdated.code, 0, "staging moved: {outdated:?}");
}

/// Pull request 2, after staging moved: production follows the line too; the release nobody
/// uses is reported, then pruned.
#[test]
fn production_follows_next_and_the_unused_release_is_pruned() {
    let four = fleet_on_four_releases();
    let fleet = &four.fleet;
    staging_moved_to_1_11_8(&four);
    fleet.commit_all();
    fleet.write("platforms/prod.yaml", &platform_at("edge", "prod", "1.11"));
    let stale = fleet.meshgen(&["check"]);
    assert_eq!(stale.code, 1, "values not regenerated: {stale:?}");
    fleet.meshgen(&["generate"]);
    let pr2 = fleet.meshgen(&["check"]);
    assert_eq!(pr2.code, 0, "{pr2:?}");
    assert!(
        pr2.stdout.contains(
            "Istio 1.11.4 is vendored in vendor/istio/1.11.4 but no platform in platforms uses it"
        ),
        "{}",
        pr2.stdout
    );
    let prune = fleet.meshgen(&["vendor", "--prune"]);
    assert_eq!(prune.code, 0, "{prune:?}");
    assert!(
        prune.stderr.contains("pruned Istio 1.11.4"),
        "{}",
        prune.stderr
    );
    assert_eq!(vendored_releases(fleet), ["1.0.2", "1.0.9", "1.11.8"]);
    let pruned = fleet.meshgen(&["check", "--format", "json"]);
    let json: Value = serde_json::from_str(&pruned.stdout).unwrap();
    assert_eq!(
        (pruned.code, json["warnings"].as_u64()),
        (0, Some(0)),
        "{json:#}"
    );
}

/// A repository whose platforms are all on 1.11 vendors and commits only 1.11 charts, and
/// `check` passes; the lock follows no other line.
#[test]
fn a_repository_on_one_line_vendors_only_that_line() {
    let fleet = Repo::new();
    let up = Upstream::empty();
    upstream_of_fleet(&up, &["1.0.9", "1.11.8"]);
    up.release("0.6.0", common::files_06());
    fs::create_dir_all(&fleet.root).unwrap();
    fleet.write("platforms/edge.yaml", EDGE);
    let vendor = fleet.meshgen(&["vendor", "--remote", &up.path_str()]);
    assert_eq!(vendor.code, 0, "{vendor:?}");
    assert_eq!(vendored_releases(&fleet), ["1.11.8"]);
    let lock = fleet.read("vendor/meshgen.lock");
    assert!(
        lock.contains("follow:\n  \"1.11\": \"1.11.8\"\nreleases:\n"),
        "{lock}"
    );
    assert_eq!(lock.matches("  - line: ").count(), 1, "{lock}");
    assert_eq!(fleet.meshgen(&["generate"]).code, 0);
    let check = fleet.meshgen(&["check"]);
    assert_eq!((check.code, check.stdout.as_str()), (0, ""), "{check:?}");
}

/// A `lint.paths` entry whose platform file was deleted is a finding at the entry (exit 1),
/// not a usage error that names no file (exit 2).
#[test]
fn check_locates_a_lint_entry_whose_platform_is_gone() {
    let fleet = Repo::new();
    let init = fleet.meshgen(&["init", fleet.root.to_str().unwrap()]);
    assert_eq!(init.code, 0, "{init:?}");
    fs::remove_file(fleet.path("platforms/example.yaml")).unwrap();
    let check = fleet.meshgen(&["check", "--format", "json"]);
    assert_eq!(check.code, 1, "{check:?}");
    let json: Value = serde_json::from_str(&check.stdout).unwrap();
    has_finding(
        &json,
        "meshgen.yaml",
        8,
        15,
        "lint.paths[0].platform",
        "no platform named `example`",
    );
    fs::remove_dir_all(fleet.path("apps/example")).unwrap();
    let check = fleet.meshgen(&["check", "--format", "json"]);
    let json: Value = serde_json::from_str(&check.stdout).unwrap();
    has_finding(
        &json,
        "meshgen.yaml",
        7,
        11,
        "lint.paths[0].path",
        "lint path `apps/example` does not exist",
    );
}

/// `generate` writes a platform whose release is not vendored, and says so (check fails on it).
#[test]
fn generate_warns_of_a_release_not_vendored() {
    let fleet = Repo::new();
    let init = fleet.meshgen(&["init", fleet.root.to_str().unwrap()]);
    assert_eq!(init.code, 0, "{init:?}");
    fleet.write(
        "platforms/onprem.yaml",
        "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: onprem\nspec:\n  provider: kvm\n  istio: \"1.0\"\n",
    );
    let generate = fleet.meshgen(&["generate"]);
    assert_eq!(generate.code, 0, "{generate:?}");
    assert!(
        generate.stderr.contains(
            "platforms/onprem.yaml:7:10: warning: spec.istio: line 1.0 follows no release in vendor/meshgen.lock"
        ) && generate.stderr.contains("run `meshgen vendor`"),
        "{}",
        generate.stderr
    );
    assert!(fleet.path("generated/onprem/values.yaml").is_file());
    assert!(fleet
        .read("README.md")
        .contains("meshgen vendor               # after adding a platform"));
}

/// A values file left stale by a change (the egress gateway switched off) is one finding,
/// "stale"; it is not also held against the charts, where its old keys would get hints that
/// do harm (`did you mean istio-ingressgateway?`).
#[test]
fn a_stale_values_file_is_not_held_against_the_charts() {
    let fleet = Repo::new();
    let init = fleet.meshgen(&["init", fleet.root.to_str().unwrap()]);
    assert_eq!(init.code, 0, "{init:?}");
    let cloud = "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: cloud\nspec:\n  provider: aws\n  istio: \"1.11\"\n  egressGateway:\n    enabled: true\n";
    fleet.write("platforms/cloud.yaml", cloud);
    // As upstream lays them out: `gateways.istio-egressgateway` is declared by the egress
    // chart alone.
    let up = Upstream::empty();
    let mut files = common::files_111("1.11.8");
    let every_key = String::from_utf8(common::values_declaring_every_key("1.11")).unwrap();
    let every_key: serde_json::Value =
        serde_json::to_value(meshgen::yaml::parse(&every_key).unwrap().to_json()).unwrap();
    let mut discovery = every_key.clone();
    let egress = discovery["gateways"]
        .as_object_mut()
        .unwrap()
        .remove("istio-egressgateway")
        .unwrap();
    let egress_chart = serde_json::json!({
        "global": { "hub": "gcr.io/istio-testing", "tag": "latest" },
        "gateways": { "istio-egressgateway": egress },
    });
    for (chart, values) in [
        ("istio-control/istio-discovery", discovery),
        ("gateways/istio-egress", egress_chart),
    ] {
        files.insert(
            format!("manifests/charts/{chart}/values.yaml"),
            (meshgen::yaml::emit::to_yaml(&values).into_bytes(), false),
        );
    }
    up.release("1.11.8", files);
    let vendor = fleet.meshgen(&["vendor", "--remote", &up.path_str()]);
    assert_eq!(vendor.code, 0, "{vendor:?}");
    let generate = fleet.meshgen(&["generate"]);
    assert_eq!(generate.code, 0, "{generate:?}");
    let check = fleet.meshgen(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    // On 1.11 the egress gateway is a release of its own chart: switched off, its chart is no
    // longer among those the values file is held against.
    fleet.write(
        "platforms/cloud.yaml",
        &cloud.replace("enabled: true", "enabled: false"),
    );
    let check = fleet.meshgen(&["check", "--format", "json"]);
    assert_eq!(check.code, 1, "{check:?}");
    let json: Value = serde_json::from_str(&check.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["file"] == "generated/cloud/values.yaml"
                && f["message"].as_str().unwrap().starts_with("stale:")),
        "{json:#}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("does not declare")),
        "{json:#}"
    );
}
