//! `meshgen outdated` end to end: a repository of platform files locked by `meshgen vendor`
//! against an upstream built by the tests (tests/common), so everything runs offline.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{meshgen, Run, Upstream};
use serde_json::{json, Value};

/// A repository: `platforms/`, `vendor/`, and a private git cache beside it.
struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    cache: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let cache = tmp.path().join("cache");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&cache).unwrap();
        Repo {
            _tmp: tmp,
            root,
            cache,
        }
    }

    /// Writes `platforms/<name>.yaml`, shaped like platforms/kvm.yaml, naming `istio`.
    fn platform(&self, name: &str, istio: &str) {
        let dir = self.root.join("platforms");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("{name}.yaml")), platform(name, istio)).unwrap();
    }

    fn meshgen_in(&self, dir: &Path, args: &[&str]) -> Run {
        common::run(meshgen(&self.cache).current_dir(dir).args(args))
    }

    fn meshgen(&self, args: &[&str]) -> Run {
        self.meshgen_in(&self.root, args)
    }

    fn lock(&self) -> String {
        fs::read_to_string(self.root.join("vendor/meshgen.lock")).unwrap()
    }
}

/// A platform file in the shape of platforms/kvm.yaml; Kubernetes 1.21 for Istio 1.11, and
/// neither egress gateway nor injection on 0.6, which has neither.
fn platform(name: &str, istio: &str) -> String {
    let kubernetes = if istio.starts_with("1.11") {
        "1.21"
    } else {
        "1.11"
    };
    let mut text = format!(
        r#"apiVersion: meshgen/v1alpha1
kind: Platform
metadata:
  name: {name}
  description: On-prem KVM, NodePort gateways
spec:
  provider: kvm
  istio: "{istio}"
  kubernetes: "{kubernetes}"
  ingressGateway:
    serviceType: NodePort
"#
    );
    if !istio.starts_with("0.6") {
        text.push_str(
            "  egressGateway:\n    enabled: true\n    serviceType: NodePort\n  sidecarInjection:\n    namespaces: [default]\n",
        );
    }
    text
}

/// Tags `versions` in `up`, each with the charts of its line.
fn release(up: &Upstream, versions: &[&str]) {
    for v in versions {
        let files = if v.starts_with("1.11.") {
            common::files_111(v)
        } else {
            common::files_10(v)
        };
        up.release(v, files);
    }
}

/// The fleet: on 1.0, kvm follows the line and pks is pinned to 1.0.2; on 1.11, staging
/// follows the line and prod is pinned to 1.11.4. Vendored when upstream had 1.0.2, 1.0.9
/// and 1.11.4, so the lock follows 1.0.9 and 1.11.4.
fn fleet() -> (Repo, Upstream) {
    let repo = Repo::new();
    let up = Upstream::empty();
    release(&up, &["1.0.2", "1.0.9", "1.11.4"]);
    repo.platform("kvm", "1.0");
    repo.platform("pks", "1.0.2");
    repo.platform("staging", "1.11");
    repo.platform("prod", "1.11.4");
    let vendor = repo.meshgen(&["vendor", "--remote", &up.path_str()]);
    assert_eq!(vendor.code, Some(0), "{vendor:?}");
    assert!(
        repo.lock()
            .contains("follow:\n  \"1.0\": \"1.0.9\"\n  \"1.11\": \"1.11.4\"\n"),
        "{}",
        repo.lock()
    );
    (repo, up)
}

/// Nothing new upstream: exit 0. A pin behind the newest release (pks on 1.0.2) is listed,
/// and does not count: its pin is a choice.
#[test]
fn up_to_date_followers_exit_0_and_pins_behind_are_listed() {
    let (repo, _up) = fleet();
    let out = repo.meshgen(&["outdated"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        "Istio 1.0 (follows 1.0.9, newest 1.0.9): followers up to date\n\
         \x20 1.0.2    pinned: pks\n\
         \x20 1.0.9    following: kvm\n\
         \x20 pinned behind 1.0.9, moved only by editing their spec.istio: pks (1.0.2)\n\
         Istio 1.11 (follows 1.11.4, newest 1.11.4): followers up to date\n\
         \x20 1.11.4   following: staging; pinned: prod\n"
    );
    assert_eq!(out.stderr, "");
    let json = repo.meshgen(&["outdated", "--format", "json"]);
    assert_eq!(json.code, Some(0), "{json:?}");
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["outdated"], false);
    assert_eq!(json["lines"][0]["wouldMove"], json!([]));
    assert_eq!(
        json["lines"][0]["pinnedBehind"],
        json!([{"platform": "pks", "version": "1.0.2"}])
    );
}

/// Upstream ships 1.11.8: staging (following 1.11, locked at 1.11.4) would move, prod (pinned
/// to "1.11.4") is pinned behind; exit 1, in text and JSON. `outdated` changes nothing: the
/// lock and the vendored tree stay. After `meshgen vendor --update` the followers are current
/// (exit 0) and prod is still listed as pinned behind.
#[test]
fn a_new_release_moves_followers_and_leaves_pins_behind_until_update() {
    let (repo, up) = fleet();
    release(&up, &["1.11.8"]);
    let lock_before = repo.lock();

    let out = repo.meshgen(&["outdated"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        out.stdout,
        "Istio 1.0 (follows 1.0.9, newest 1.0.9): followers up to date\n\
         \x20 1.0.2    pinned: pks\n\
         \x20 1.0.9    following: kvm\n\
         \x20 pinned behind 1.0.9, moved only by editing their spec.istio: pks (1.0.2)\n\
         Istio 1.11 (follows 1.11.4, newest 1.11.8): 1.11.8 is out\n\
         \x20 1.11.4   following: staging; pinned: prod\n\
         \x20 `meshgen vendor --update` moves to 1.11.8: staging\n\
         \x20 pinned behind 1.11.8, moved only by editing their spec.istio: prod (1.11.4)\n"
    );

    let out = repo.meshgen(&["outdated", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let remote = fs::canonicalize(up.path())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        json,
        json!({
            "remote": remote,
            "lines": [
                {
                    "line": "1.0",
                    "followed": "1.0.9",
                    "newest": "1.0.9",
                    "inUse": [
                        {"version": "1.0.2", "following": [], "pinned": ["pks"]},
                        {"version": "1.0.9", "following": ["kvm"], "pinned": []},
                    ],
                    "wouldMove": [],
                    "pinnedBehind": [{"platform": "pks", "version": "1.0.2"}],
                },
                {
                    "line": "1.11",
                    "followed": "1.11.4",
                    "newest": "1.11.8",
                    "inUse": [
                        {"version": "1.11.4", "following": ["staging"], "pinned": ["prod"]},
                    ],
                    "wouldMove": ["staging"],
                    "pinnedBehind": [{"platform": "prod", "version": "1.11.4"}],
                },
            ],
            "outdated": true,
        })
    );
    // The keys in a stable order, as documented.
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["remote", "lines", "outdated"]);
    assert_eq!(repo.lock(), lock_before, "outdated never writes the lock");
    assert!(!repo.root.join("vendor/istio/1.11.8").exists());

    let update = repo.meshgen(&["vendor", "--update"]);
    assert_eq!(update.code, Some(0), "{update:?}");
    let out = repo.meshgen(&["outdated"]);
    assert_eq!(out.code, Some(0), "followers moved: {out:?}");
    assert!(
        out.stdout.ends_with(
            "Istio 1.11 (follows 1.11.8, newest 1.11.8): followers up to date\n\
             \x20 1.11.4   pinned: prod\n\
             \x20 1.11.8   following: staging\n\
             \x20 pinned behind 1.11.8, moved only by editing their spec.istio: prod (1.11.4)\n"
        ),
        "{}",
        out.stdout
    );
    let out = repo.meshgen(&["outdated", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["outdated"], false);
    assert_eq!(json["lines"][1]["wouldMove"], json!([]));
    assert_eq!(
        json["lines"][1]["pinnedBehind"],
        json!([{"platform": "prod", "version": "1.11.4"}])
    );
}

/// `--platforms`, `--dir` and `--remote` from another directory; without a lock the report
/// lists the remote given, says the lock follows no release (JSON `null`) and counts no pin.
#[test]
fn flags_name_the_directories_and_a_repository_without_a_lock_is_reported() {
    let repo = Repo::new();
    let up = Upstream::empty();
    release(&up, &["1.11.4", "1.11.8"]);
    repo.platform("prod", "1.11.4");
    let elsewhere = repo.root.parent().unwrap().to_path_buf();
    let platforms = repo.root.join("platforms");
    let vendor = repo.root.join("vendor");
    let args = [
        "outdated",
        "--platforms",
        platforms.to_str().unwrap(),
        "--dir",
        vendor.to_str().unwrap(),
        "--remote",
        &up.path_str(),
    ];
    let out = repo.meshgen_in(&elsewhere, &args);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        "Istio 1.11 (the lock follows no release, newest 1.11.8): no platform follows the line\n\
         \x20 1.11.4   pinned: prod\n\
         \x20 pinned behind 1.11.8, moved only by editing their spec.istio: prod (1.11.4)\n"
    );
    let out = repo.meshgen_in(&elsewhere, &[&args[..], &["--format", "json"]].concat());
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["lines"][0]["followed"], Value::Null);
    assert_eq!(json["outdated"], false);
    assert!(!vendor.exists(), "outdated creates no vendor directory");
}

/// Exit 2, nothing on stdout, when the report cannot be made: no platform files, an invalid
/// one (exit 1 would read as "an update is out"), an unreadable lock, a remote without a
/// release of a line in use, a remote that is not there.
#[test]
fn errors_exit_2_with_nothing_on_stdout() {
    let (repo, up) = fleet();
    let remote = up.path_str();

    let none = repo.meshgen(&["outdated", "--platforms", "nowhere"]);
    assert_eq!(none.code, Some(2), "{none:?}");
    assert!(
        none.stderr.contains("no platform files in nowhere"),
        "{none:?}"
    );

    let missing = repo.meshgen(&["outdated", "--remote", "no-such-repository"]);
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert!(
        missing.stderr.contains("--remote no-such-repository"),
        "{missing:?}"
    );

    repo.platform("old", "0.6");
    let no_release = repo.meshgen(&["outdated", "--remote", &remote]);
    assert_eq!(no_release.code, Some(2), "{no_release:?}");
    assert!(
        no_release.stderr.contains("no release tag of line 0.6"),
        "{no_release:?}"
    );
    fs::remove_file(repo.root.join("platforms/old.yaml")).unwrap();

    fs::write(
        repo.root.join("platforms/broken.yaml"),
        platform("broken", "1.11").replace("provider: kvm", "provider: kmv"),
    )
    .unwrap();
    let invalid = repo.meshgen(&["outdated"]);
    assert_eq!(invalid.code, Some(2), "{invalid:?}");
    assert!(invalid.stderr.contains("broken.yaml:"), "{invalid:?}");
    assert!(
        invalid.stderr.contains("do not load, so which releases"),
        "{invalid:?}"
    );
    fs::remove_file(repo.root.join("platforms/broken.yaml")).unwrap();

    fs::write(repo.root.join("vendor/meshgen.lock"), "follow: [").unwrap();
    let lock = repo.meshgen(&["outdated"]);
    assert_eq!(lock.code, Some(2), "{lock:?}");
    assert!(lock.stderr.contains("meshgen.lock"), "{lock:?}");

    for run in [none, missing, no_release, invalid, lock] {
        assert_eq!(run.stdout, "", "{run:?}");
    }
}
