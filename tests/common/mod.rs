//! Builds upstream-like Istio repositories with git2 for the vendoring tests: the real
//! directory layouts of 0.6, 1.0 and 1.11 with tiny charts, annotated release tags, and
//! pre-releases that must never be picked. Nothing here reads the network or ../shared.

#![allow(dead_code)] // each test binary uses a different part of the helper

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Signature};

pub const UMBRELLA: &str = "install/kubernetes/helm/istio";
pub const TEMPLATE_06: &str = "install/kubernetes/templates/helm/istio/values.yaml.tmpl";

/// A file to commit: path, content, executable.
pub type Files = BTreeMap<String, (Vec<u8>, bool)>;

/// An upstream repository in a temporary directory.
pub struct Upstream {
    pub dir: tempfile::TempDir,
    pub repo: Repository,
}

impl Upstream {
    pub fn empty() -> Upstream {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path().join("istio.git")).unwrap();
        Upstream { dir, repo }
    }

    /// The tags of the issue: 0.6.0; 1.0.0-snapshot.1, 1.0.0, 1.0.1, 1.0.2; 1.11.0-beta.0,
    /// 1.11.0-rc.1, 1.11.0, 1.11.1, and 1.11.2-rc.1 newer than every 1.11 release.
    pub fn standard() -> Upstream {
        let up = Upstream::empty();
        up.release("0.6.0", files_06());
        for v in ["1.0.0-snapshot.1", "1.0.0", "1.0.1", "1.0.2"] {
            up.release(v, files_10(v));
        }
        for v in [
            "1.11.0-beta.0",
            "1.11.0-rc.1",
            "1.11.0",
            "1.11.1",
            "1.11.2-rc.1",
        ] {
            up.release(v, files_111(v));
        }
        up
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("istio.git")
    }

    pub fn path_str(&self) -> String {
        self.path().to_str().unwrap().to_string()
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.path_str())
    }

    /// Commits `files` as the whole tree and tags the commit `tag` (annotated).
    pub fn release(&self, tag: &str, files: Files) -> Oid {
        let tree = self.tree(&files);
        let commit = self.commit(tree, tag);
        self.tag(tag, commit);
        commit
    }

    pub fn commit(&self, tree: Oid, message: &str) -> Oid {
        let sig = sig();
        let tree = self.repo.find_tree(tree).unwrap();
        // Unparented commits: each release is its own history, which is all vendoring needs.
        self.repo
            .commit(None, &sig, &sig, message, &tree, &[])
            .unwrap()
    }

    /// An annotated tag, replacing any tag of that name (a moved tag).
    pub fn tag(&self, name: &str, commit: Oid) -> Oid {
        let object = self
            .repo
            .find_object(commit, Some(ObjectType::Commit))
            .unwrap();
        self.repo
            .tag(name, &object, &sig(), &format!("Istio {name}"), true)
            .unwrap()
    }

    /// A tree built from `files`, nested directories included.
    pub fn tree(&self, files: &Files) -> Oid {
        let mut dirs: BTreeMap<String, Files> = BTreeMap::new();
        let mut builder = self.repo.treebuilder(None).unwrap();
        for (path, (content, exec)) in files {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    dirs.entry(dir.to_string())
                        .or_default()
                        .insert(rest.to_string(), (content.clone(), *exec));
                }
                None => {
                    let blob = self.repo.blob(content).unwrap();
                    builder
                        .insert(path, blob, if *exec { 0o100755 } else { 0o100644 })
                        .unwrap();
                }
            }
        }
        for (dir, inner) in dirs {
            let sub = self.tree(&inner);
            builder.insert(dir, sub, 0o040000).unwrap();
        }
        builder.write().unwrap()
    }

    /// A tree written byte for byte, bypassing git2's name checks: how a hostile repository
    /// gets a `..` entry. `entries` are (mode, name, id), in the order given.
    pub fn raw_tree(&self, entries: &[(&str, &str, Oid)]) -> Oid {
        let mut bytes = Vec::new();
        for (mode, name, id) in entries {
            bytes.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            bytes.extend_from_slice(id.as_bytes());
        }
        self.repo
            .odb()
            .unwrap()
            .write(ObjectType::Tree, &bytes)
            .unwrap()
    }

    /// Replaces the tree at `path` (a chart directory) inside `root`.
    pub fn replace_subtree(&self, root: Oid, path: &str, subtree: Oid) -> Oid {
        let root = self.repo.find_tree(root).unwrap();
        let (head, rest) = path.split_once('/').unwrap_or((path, ""));
        let mut builder = self.repo.treebuilder(Some(&root)).unwrap();
        let new = if rest.is_empty() {
            subtree
        } else {
            let child = root.get_name(head).unwrap().id();
            self.replace_subtree(child, rest, subtree)
        };
        builder.insert(head, new, 0o040000).unwrap();
        builder.write().unwrap()
    }

    pub fn blob(&self, content: &str) -> Oid {
        self.repo.blob(content.as_bytes()).unwrap()
    }

    pub fn delete_tag(&self, name: &str) {
        self.repo.tag_delete(name).unwrap();
    }
}

fn sig() -> Signature<'static> {
    Signature::new(
        "Upstream",
        "upstream@example.com",
        &git2::Time::new(1_500_000_000, 0),
    )
    .unwrap()
}

fn add(files: &mut Files, path: &str, content: &str) {
    files.insert(path.to_string(), (content.as_bytes().to_vec(), false));
}

/// 0.6: the umbrella chart without values.yaml, and the template the release build filled.
pub fn files_06() -> Files {
    let mut f = Files::new();
    add(&mut f, "README.md", "Istio\n");
    add(
        &mut f,
        &format!("{UMBRELLA}/Chart.yaml"),
        "name: istio\nversion: 0.5.0\n",
    );
    add(
        &mut f,
        &format!("{UMBRELLA}/templates/configmap.yaml"),
        "kind: ConfigMap\n",
    );
    add(
        &mut f,
        &format!("{UMBRELLA}/charts/pilot/Chart.yaml"),
        "name: pilot\n",
    );
    add(
        &mut f,
        &format!("{UMBRELLA}/charts/ingress/Chart.yaml"),
        "name: ingress\n",
    );
    add(&mut f, INGRESS_DEPLOYMENT_06, &trap_ingress_ports_06());
    add(&mut f, MIXER_DEPLOYMENT_06, &trap_zipkin_url_06());
    add(
        &mut f,
        TEMPLATE_06,
        "global:\n  proxy:\n    repository: {PROXY_HUB}/{PROXY_IMAGE}\n    tag: {PROXY_TAG}\n  pilot:\n    repository: {PILOT_HUB}/pilot\n    tag: {PILOT_TAG}\n  mixer:\n    repository: {MIXER_HUB}/mixer\n    tag: {MIXER_TAG}\n  security:\n    repository: {CA_HUB}/istio-ca\n    tag: {CA_TAG}\n  hyperkube:\n    repository: {HYPERKUBE_HUB}\n    tag: {HYPERKUBE_TAG}\ningress:\n  resources: {}\nmixer:\n  prometheusStatsdExporter:\n    repository: prom/statsd-exporter\n    tag: latest\nprometheus:\n  image:\n    repository: docker.io/prom/prometheus\n    tag: latest\n",
    );
    f
}

/// 1.0.x: the umbrella chart with sub-charts, and the daily-build hub and tag in values.yaml.
pub fn files_10(version: &str) -> Files {
    let mut f = Files::new();
    add(&mut f, "README.md", "Istio\n");
    add(
        &mut f,
        &format!("{UMBRELLA}/Chart.yaml"),
        &format!("name: istio\nversion: {version}\n"),
    );
    add(
        &mut f,
        &format!("{UMBRELLA}/values.yaml"),
        "# Common settings.\nglobal:\n  # Default hub for Istio images.\n  hub: gcr.io/istio-release\n\n  # Default tag for Istio images.\n  tag: release-1.0-latest-daily\n  proxy:\n    image: proxyv2\ngrafana:\n  image:\n    hub: docker.io/grafana\n    tag: 5.2.3\n",
    );
    add(
        &mut f,
        &format!("{UMBRELLA}/requirements.yaml"),
        "dependencies:\n  - name: galley\n    condition: galley.enabled\n",
    );
    add(
        &mut f,
        &format!("{UMBRELLA}/charts/galley/Chart.yaml"),
        "name: galley\n",
    );
    add(
        &mut f,
        &format!("{UMBRELLA}/templates/_helpers.tpl"),
        "{{/* helpers */}}\n",
    );
    f.insert(
        format!("{UMBRELLA}/files/probe.sh"),
        (b"#!/bin/sh\nexit 0\n".to_vec(), true),
    );
    // The traps meshgen's chart fixes remove, as the 1.0 tags carry them, in their sub-charts.
    for sub in [
        "certmanager",
        "tracing",
        "mixer",
        "gateways",
        "security",
        "grafana",
    ] {
        add(
            &mut f,
            &format!("{UMBRELLA}/charts/{sub}/Chart.yaml"),
            &format!("name: {sub}\n"),
        );
    }
    add(&mut f, CRDS_10, &trap_crds_10());
    add(&mut f, CERTMANAGER_CRDS_10, &trap_certmanager_crds_10());
    add(&mut f, JAEGER_INGRESS_10, &trap_jaeger_condition_10());
    add(
        &mut f,
        &format!("{UMBRELLA}/charts/pilot/Chart.yaml"),
        "name: pilot\n",
    );
    add(&mut f, PILOT_GATEWAY_10, &trap_k8s_ingress_gateway_10());
    add(&mut f, SECURITY_JOB_10, &install_job_10("security"));
    add(&mut f, GRAFANA_JOB_10, &install_job_10("grafana"));
    let patch: u64 = version
        .split(['.', '-'])
        .nth(2)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    if patch >= 3 {
        add(&mut f, MIXER_DEPLOYMENT_10, &trap_mixer_ports_10());
    }
    if patch < 1 {
        add(&mut f, GATEWAY_DEPLOYMENT_10, TRAP_GATEWAY_APP_LABEL_10);
    }
    if patch < 2 {
        add(
            &mut f,
            &format!("{UMBRELLA}/charts/telemetry-gateway/Chart.yaml"),
            "name: telemetry-gateway\n",
        );
        add(&mut f, TELEMETRY_GATEWAY_10, TRAP_TELEMETRY_CONDITION_10);
    }
    f
}

pub const MIXER_DEPLOYMENT_06: &str =
    "install/kubernetes/helm/istio/charts/mixer/templates/deployment.yaml";
pub const INGRESS_DEPLOYMENT_06: &str =
    "install/kubernetes/helm/istio/charts/ingress/templates/deployment.yaml";
pub const CRDS_10: &str = "install/kubernetes/helm/istio/templates/crds.yaml";
pub const CERTMANAGER_CRDS_10: &str =
    "install/kubernetes/helm/istio/charts/certmanager/templates/crds.yaml";
pub const PILOT_GATEWAY_10: &str =
    "install/kubernetes/helm/istio/charts/pilot/templates/gateway.yaml";
pub const JAEGER_INGRESS_10: &str =
    "install/kubernetes/helm/istio/charts/tracing/templates/ingress-jaeger.yaml";
pub const TELEMETRY_GATEWAY_10: &str =
    "install/kubernetes/helm/istio/charts/telemetry-gateway/templates/gateway.yaml";
// The two traps below only tags before 1.0.2 carry; the miniature charts are 1.0.9's, whose
// Helm install they would break, so they are written here, once.
/// 1.0.0 and 1.0.1's telemetry gateway condition, `(x) or (y)`.
pub const TRAP_TELEMETRY_CONDITION_10: &str =
    include_str!("../fixtures/traps/1.0.0-telemetry-gateway-condition.yaml");
pub const GATEWAY_DEPLOYMENT_10: &str =
    "install/kubernetes/helm/istio/charts/gateways/templates/deployment.yaml";
/// 1.0.0's gateway Deployment labels: `app` from `labels.istio`, then every label again.
pub const TRAP_GATEWAY_APP_LABEL_10: &str =
    include_str!("../fixtures/traps/1.0.0-gateway-app-label.yaml");
pub const SECURITY_JOB_10: &str =
    "install/kubernetes/helm/istio/charts/security/templates/create-custom-resources-job.yaml";
pub const GRAFANA_JOB_10: &str =
    "install/kubernetes/helm/istio/charts/grafana/templates/create-custom-resources-job.yaml";
/// 1.0's post-install Job applying a ConfigMap's custom resources (security: the MeshPolicy and
/// DestinationRules; grafana: its Policy), as the miniature chart carries it.
pub fn install_job_10(chart: &str) -> String {
    miniature(&format!(
        "1.0/istio/charts/{chart}/templates/create-custom-resources-job.yaml"
    ))
}
pub const MIXER_DEPLOYMENT_10: &str =
    "install/kubernetes/helm/istio/charts/mixer/templates/deployment.yaml";

/// A file of the miniature charts in tests/fixtures/helm-charts, which the Helm harness
/// vendors and installs: the one place the upstream traps that tag 1.0.9 (and 0.6.0) carries
/// are written, so the vendoring tests and the harness cannot drift apart.
fn miniature(path: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helm-charts");
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// 1.0's pilot Gateway for Kubernetes Ingress resources, rendered unconditionally.
pub fn trap_k8s_ingress_gateway_10() -> String {
    miniature("1.0/istio/charts/pilot/templates/gateway.yaml")
}

/// 0.6.0's ingress container: port 443 as a second `containerPort` key of port 80's entry.
pub fn trap_ingress_ports_06() -> String {
    miniature("0.6/istio/charts/ingress/templates/deployment.yaml")
}

/// 0.6.0's mixer sends spans to `zipkin`, a Service the chart names `<release>-zipkin`.
pub fn trap_zipkin_url_06() -> String {
    miniature("0.6/istio/charts/mixer/templates/deployment.yaml")
}

/// 1.0's jaeger ingress condition, which today's Go templates refuse to run.
pub fn trap_jaeger_condition_10() -> String {
    miniature("1.0/istio/charts/tracing/templates/ingress-jaeger.yaml")
}

/// 1.0.3 and later: mixer's two proxy containers open `ports:` twice.
pub fn trap_mixer_ports_10() -> String {
    miniature("1.0/istio/charts/mixer/templates/deployment.yaml")
}

/// 1.0's CRDs behind Helm 2's `crd-install` hook, gated in a comment as 1.0's files are.
pub fn trap_crds_10() -> String {
    miniature("1.0/istio/templates/crds.yaml")
}

/// The certmanager sub-chart's CRD behind the same hook.
pub fn trap_certmanager_crds_10() -> String {
    miniature("1.0/istio/charts/certmanager/templates/crds.yaml")
}

/// 1.11.x: the split charts under manifests/charts/.
pub fn files_111(version: &str) -> Files {
    let mut f = Files::new();
    add(&mut f, "README.md", "Istio\n");
    let with_images = |name: &str| {
        format!("# {name}\n_internal_defaults_do_not_set:\n  x: 1\nglobal:\n  # Default hub for Istio images.\n  hub: gcr.io/istio-testing\n\n  # Default tag for Istio images.\n  tag: latest\n  proxy:\n    image: proxyv2\n")
    };
    add(
        &mut f,
        "manifests/charts/base/Chart.yaml",
        &format!("name: base\nversion: {version}\n"),
    );
    add(
        &mut f,
        "manifests/charts/base/values.yaml",
        "global:\n  istioNamespace: istio-system\nbase:\n  enableCRDTemplates: false\n",
    );
    add(
        &mut f,
        "manifests/charts/base/crds/crd-all.gen.yaml",
        "kind: CustomResourceDefinition\n",
    );
    for (dir, name) in [
        ("istio-control/istio-discovery", "istiod"),
        ("gateways/istio-ingress", "istio-ingress"),
        ("gateways/istio-egress", "istio-egress"),
        // Upstream has it; meshgen neither vendors nor lists it.
        ("istio-cni", "cni"),
    ] {
        add(
            &mut f,
            &format!("manifests/charts/{dir}/Chart.yaml"),
            &format!("name: {name}\nversion: {version}\n"),
        );
        add(
            &mut f,
            &format!("manifests/charts/{dir}/values.yaml"),
            &with_images(name),
        );
        add(
            &mut f,
            &format!("manifests/charts/{dir}/templates/deployment.yaml"),
            "kind: Deployment\n",
        );
    }
    // A discovery chart also has an empty pilot hub that must not be touched.
    let values = f
        .get_mut("manifests/charts/istio-control/istio-discovery/values.yaml")
        .unwrap();
    values.0 = format!(
        "pilot:\n  hub: \"\"\n  tag: \"\"\n{}",
        String::from_utf8_lossy(&values.0)
    )
    .into_bytes();
    f
}

/// The one way every test binary starts meshgen: the built binary with a private cache, HOME
/// and XDG config (no user git config or cache reaches a test) and no failpoint. Callers add
/// their arguments, directory and environment.
pub fn meshgen_process(cache: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_meshgen"));
    cmd.env("MESHGEN_CACHE_DIR", cache)
        .env("HOME", cache)
        .env("XDG_CONFIG_HOME", cache)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("MESHGEN_FAILPOINT")
        .env_remove("XDG_CACHE_HOME");
    cmd
}

/// [`meshgen_process`] as an `assert_cmd` command.
pub fn meshgen(cache: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(meshgen_process(cache))
}

/// [`meshgen`] with the test binary's scratch cache under the target directory, for runs that
/// fetch nothing (or need no cache of their own).
pub fn meshgen_bin() -> assert_cmd::Command {
    meshgen(&scratch_cache())
}

/// The test binary's scratch cache directory, under the target directory.
pub fn scratch_cache() -> PathBuf {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("meshgen-test-cache");
    std::fs::create_dir_all(&cache).unwrap();
    cache
}

/// What a run printed, and how it ended (None: killed by a signal).
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command to the end, as a `Run`.
pub fn run(cmd: &mut assert_cmd::Command) -> Run {
    let (code, stdout, stderr) = outcome(cmd);
    Run {
        code,
        stdout,
        stderr,
    }
}

/// Runs a command to the end: exit code (None when killed by a signal), stdout, stderr.
pub fn outcome(cmd: &mut assert_cmd::Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A small deterministic generator (xorshift64*) for the fault and fuzz drivers: their seed
/// is printed, so a failing run can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The seed a randomised test runs with: `var` from the environment to replay a run, else the
/// clock (the test prints it).
pub fn seed_from_env(var: &str) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// The names of the HelmReleases in a stream of objects, in order.
pub fn helm_release_names(objects: &[serde_json::Value]) -> Vec<&str> {
    objects
        .iter()
        .filter(|o| o["kind"] == "HelmRelease")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect()
}

/// A platform file's text with `metadata.name` set to `name`, for a copy saved as
/// `platforms/<name>.yaml` (a platform's name is its file name).
pub fn renamed(text: &str, name: &str) -> String {
    let start = text.find("\n  name: ").expect("a metadata.name line") + "\n  name: ".len();
    let end = start + text[start..].find('\n').unwrap();
    format!("{}{name}{}", &text[..start], &text[end..])
}

/// Whether this process is root, who reads and writes whatever the modes say: a permission
/// case cannot be staged for it, so such cases run as `nobody` (see `as_nobody`).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The meshgen binary as `nobody` runs it (through setpriv, root only): the test's own when
/// nobody may run it there, else a copy in a directory nobody reaches (made once).
pub fn as_nobody() -> std::process::Command {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let binary = BINARY.get_or_init(|| {
        let own = PathBuf::from(env!("CARGO_BIN_EXE_meshgen"));
        let runs = setpriv().arg(&own).arg("--version").output();
        if runs.is_ok_and(|o| o.status.success()) {
            return own;
        }
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("meshgen-as-nobody-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("meshgen");
        std::fs::copy(&own, &copy).unwrap();
        copy
    });
    let mut cmd = setpriv();
    cmd.arg(binary);
    cmd
}

fn setpriv() -> std::process::Command {
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]);
    cmd
}

/// Gives `dir` and everything below it to `nobody` (for a case run `as_nobody`); the
/// directories above it are opened for traversal.
pub fn give_to_nobody(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    const NOBODY: u32 = 65534;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        std::os::unix::fs::lchown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
    }
    for parent in dir.ancestors().skip(1) {
        let meta = std::fs::metadata(parent).unwrap();
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(mode | 0o001))
                .unwrap();
        }
    }
}

/// A chart `values.yaml` declaring every key path the line's real charts declare
/// (`data/chart-keys/<line>.txt`, facts read off the releases), each with a null default
/// (which takes any type), and the dev hub and tag the release patch replaces.
pub fn values_declaring_every_key(line: &str) -> Vec<u8> {
    values_of_release(line, None)
}

/// The same, for one release: without the keys `data/chart-keys/<line>.since.txt` says the
/// line's charts declare only from a later release.
pub fn values_of_release(line: &str, release: Option<&str>) -> Vec<u8> {
    let since = std::fs::read_to_string(format!("data/chart-keys/{line}.since.txt")).unwrap();
    let later: Vec<&str> = match release {
        Some(release) => {
            let release = semver::Version::parse(release).unwrap();
            since
                .lines()
                .filter_map(|l| l.rsplit_once(' '))
                .filter(|(_, from)| semver::Version::parse(from).unwrap() > release)
                .map(|(path, _)| path)
                .collect()
        }
        None => Vec::new(),
    };
    let keys = std::fs::read_to_string(format!("data/chart-keys/{line}.txt")).unwrap();
    let keys: String = keys
        .lines()
        .filter(|k| !later.contains(k))
        .map(|k| format!("{k}\n"))
        .collect();
    let mut tree =
        serde_json::json!({ "global": { "hub": "gcr.io/istio-testing", "tag": "latest" } });
    for key in keys.lines().filter(|k| !k.is_empty()) {
        let mut node = &mut tree;
        for part in key.split('.') {
            if !node.is_object() {
                *node = serde_json::json!({});
            }
            node = node
                .as_object_mut()
                .unwrap()
                .entry(part.to_string())
                .or_insert(serde_json::Value::Null);
        }
    }
    meshgen::yaml::emit::to_yaml(&tree).into_bytes()
}

/// The upstream with exactly the built-in pins, so the lock `init` writes keeps its versions,
/// and charts that declare what the real ones do, so `check` can hold values against them.
pub fn upstream_with_builtin_pins() -> Upstream {
    let up = Upstream::empty();
    up.release("0.6.0", files_06());
    let mut files = files_10("1.0.9");
    files.insert(
        format!("{}/values.yaml", UMBRELLA),
        (values_declaring_every_key("1.0"), false),
    );
    up.release("1.0.9", files);
    let mut files = files_111("1.11.8");
    files.insert(
        "manifests/charts/istio-control/istio-discovery/values.yaml".into(),
        (values_declaring_every_key("1.11"), false),
    );
    up.release("1.11.8", files);
    up
}
