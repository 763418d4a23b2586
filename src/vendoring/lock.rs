//! The vendor lock, `vendor/meshgen.lock`: which upstream commit each release line was
//! vendored from, which patches reproduced the release archive, and the digests that let
//! `meshgen vendor --check` prove later that nothing changed.
//!
//! The lock is YAML so that it reads well in review, written by meshgen's one YAML writer
//! (`yaml::emit`: every string double-quoted, keys in a fixed order) rather than by a serde
//! YAML crate: the output is then byte-stable across crate upgrades, and it is read back with
//! meshgen's own YAML reader.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::release_line::{IstioVersion, ReleaseLine};
use crate::yaml::emit::{comment, node_to_yaml, Key, Lists, Node};

/// `apiVersion` of the lock; bumped only on an incompatible change of the layout.
pub const API_VERSION: &str = "meshgen/v1alpha1";
/// `kind` of the lock.
pub const KIND: &str = "VendorLock";
/// Istio's public repository: the default remote, recorded in the built-in lock.
pub const DEFAULT_REMOTE: &str = "https://github.com/istio/istio.git";
/// File name of the lock inside the vendor directory.
pub const FILE_NAME: &str = "meshgen.lock";

/// Where the lock file lives, relative to the repository.
pub const LOCK_PATH: &str = "vendor/meshgen.lock";
/// Largest lock accepted, in bytes: the platform-file limit, some 25 times the lock of all
/// three lines' charts.
pub const MAX_LOCK_BYTES: usize = crate::yaml::MAX_INPUT_BYTES;

/// The committed lock of this repository: the built-in pins, computed against istio/istio.
const BUILTIN: &str = include_str!("../../vendor/meshgen.lock");

const HEADER: &str = "Written by `meshgen vendor`; do not edit. Fill vendor/ with `meshgen vendor --locked`,\nverify it with `meshgen vendor --check`. The digest is defined in ARCHITECTURE.md.";

/// The whole lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "meshgen vendor lock")]
pub struct Lock {
    /// Always `meshgen/v1alpha1`.
    pub api_version: String,
    /// Always `VendorLock`.
    pub kind: String,
    /// The git remote the charts were fetched from (URL, or absolute path of a local repository).
    pub remote: String,
    /// The release each line's followers render (platforms whose `spec.istio` names a line),
    /// e.g. `"1.11": "1.11.8"`; `meshgen vendor --update` moves it. Each is among `releases`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub follow: BTreeMap<ReleaseLine, String>,
    /// One entry per vendored release, in version order: several patch releases of a line
    /// sit side by side, each in `vendor/istio/<version>/`.
    pub releases: Vec<LockedRelease>,
}

/// One vendored release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockedRelease {
    /// The release line, `0.6`, `1.0` or `1.11`.
    pub line: ReleaseLine,
    /// The release, e.g. `1.0.9`.
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+\.[0-9]+$"))]
    pub version: String,
    /// The git tag the version was read from.
    pub tag: String,
    /// The commit the tag peeled to when the lock was written (40 hex digits).
    #[schemars(regex(pattern = r"^[0-9a-f]{40}$"))]
    pub commit: String,
    /// The charts vendored from that commit, in install order.
    pub charts: Vec<LockedChart>,
}

impl LockedRelease {
    /// The release as a version (checked when the lock was read).
    pub fn semver(&self) -> semver::Version {
        semver::Version::parse(&self.version).expect("lock versions are checked when read")
    }
}

/// The layout meshgen wrote before fleets (one release per line, all followed), still read:
/// `meshgen vendor` rewrites it in the current layout.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LockOneReleasePerLine {
    api_version: String,
    kind: String,
    remote: String,
    lines: Vec<OneReleasePerLine>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OneReleasePerLine {
    line: ReleaseLine,
    #[allow(dead_code)] // the line's range, implied by the line
    range: String,
    version: String,
    tag: String,
    commit: String,
    charts: Vec<LockedChart>,
}

impl From<LockOneReleasePerLine> for Lock {
    fn from(old: LockOneReleasePerLine) -> Lock {
        let mut lock = Lock {
            api_version: old.api_version,
            kind: old.kind,
            remote: old.remote,
            follow: BTreeMap::new(),
            releases: Vec::new(),
        };
        for entry in old.lines {
            lock.follow.insert(entry.line, entry.version.clone());
            lock.releases.push(LockedRelease {
                line: entry.line,
                version: entry.version,
                tag: entry.tag,
                commit: entry.commit,
                charts: entry.charts,
            });
        }
        lock
    }
}

/// One vendored chart, at `<dir>/istio/<version>/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockedChart {
    /// Directory name under `<dir>/istio/<version>/`.
    pub name: String,
    /// Path of the chart in the upstream repository.
    pub source: String,
    /// Named changes applied to reproduce the release archive, in the order applied.
    pub patches: Vec<String>,
    /// `sha256:<hex>` over the chart's files, as defined in ARCHITECTURE.md.
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: String,
    /// Every file of the chart: relative path to `<octal mode> sha256:<hex of content>`, so
    /// that `--check` can name each added, removed or changed file.
    pub files: BTreeMap<String, String>,
}

impl Lock {
    /// An empty lock for `remote`.
    pub fn new(remote: impl Into<String>) -> Self {
        Lock {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            remote: remote.into(),
            follow: BTreeMap::new(),
            releases: Vec::new(),
        }
    }

    /// The lock of the built-in pins (0.6.0, 1.0.9, 1.11.8 from istio/istio), which
    /// `meshgen init` writes so that a new repository vendors with `--locked` at once.
    pub fn builtin() -> Lock {
        Lock::parse(BUILTIN, "<built-in lock>").expect("the built-in lock is valid")
    }

    /// Reads the lock at `path`; `None` when there is no such file. A lock over
    /// `MAX_LOCK_BYTES` is refused without being read whole.
    pub fn load(path: &Path) -> Result<Option<Lock>> {
        let bytes = match crate::fsutil::read_bounded(path, MAX_LOCK_BYTES) {
            Ok(bytes) => bytes,
            Err(crate::fsutil::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None)
            }
            Err(crate::fsutil::ReadError::Io(e)) => return Err(Error::io(path, e)),
            Err(crate::fsutil::ReadError::TooLarge { at_least }) => {
                return Err(Error::Vendor(format!(
                    "{}: the lock has at least {at_least} bytes, more than the {MAX_LOCK_BYTES} bytes meshgen reads",
                    path.display()
                )))
            }
        };
        let origin = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::Vendor(format!(
                "{origin}: not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Lock::parse(&text, &origin).map(Some)
    }

    /// Parses lock text; `origin` names the file in errors. The lock is read with the same
    /// bounded reader as platform files (size, depth, alias expansion, duplicate keys).
    pub fn parse(text: &str, origin: &str) -> Result<Lock> {
        let doc = crate::yaml::parse(text).map_err(|e| {
            Error::Vendor(format!(
                "{origin}:{}:{}: not a valid lock: {}",
                e.span.line, e.span.col, e.message
            ))
        })?;
        let json = doc.to_json();
        let one_per_line = json.get("lines").is_some() && json.get("releases").is_none();
        let read = |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = crate::yaml::serde_path(e.path());
            let at = doc.locate(&path);
            let field = match crate::yaml::display_path(&path) {
                p if p.is_empty() => p,
                p => format!("{p}: "),
            };
            Error::Vendor(format!(
                "{origin}:{}:{}: {field}not a meshgen lock: {}",
                at.line,
                at.col,
                e.inner()
            ))
        };
        let lock: Lock = if one_per_line {
            serde_path_to_error::deserialize::<_, LockOneReleasePerLine>(json)
                .map_err(read)?
                .into()
        } else {
            serde_path_to_error::deserialize(json).map_err(read)?
        };
        lock.validate()
            .map_err(|e| Error::Vendor(format!("{origin}: {e}")))?;
        Ok(lock)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.api_version != API_VERSION || self.kind != KIND {
            return Err(format!(
                "expected apiVersion `{API_VERSION}` and kind `{KIND}`, found `{}` and `{}`",
                self.api_version, self.kind
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for entry in &self.releases {
            if seen.contains(&entry.version.as_str()) {
                return Err(format!("release {} is locked twice", entry.version));
            }
            seen.push(&entry.version);
            let version = semver::Version::parse(&entry.version)
                .map_err(|e| format!("release `{}`: {e}", entry.version))?;
            if ReleaseLine::of_version(&version) != Some(entry.line) {
                return Err(format!(
                    "release {} is not in line {}",
                    entry.version, entry.line
                ));
            }
            if entry.commit.len() != 40 || !entry.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "release {}: commit `{}` is not a 40-digit hex id",
                    entry.version, entry.commit
                ));
            }
            for chart in &entry.charts {
                if !chart.digest.starts_with("sha256:") {
                    return Err(format!(
                        "release {} chart {}: digest `{}` does not start with `sha256:`",
                        entry.version, chart.name, chart.digest
                    ));
                }
            }
        }
        for (line, version) in &self.follow {
            match self.releases.iter().find(|r| &r.version == version) {
                Some(r) if r.line == *line => {}
                Some(_) => return Err(format!("follow: {line}: {version} is not in that line")),
                None => {
                    return Err(format!(
                        "follow: {line}: {version} is not among the locked releases"
                    ))
                }
            }
        }
        Ok(())
    }

    /// The version the followers of `line` render, if the lock pins one.
    pub fn followed(&self, line: ReleaseLine) -> Option<semver::Version> {
        self.followed_release(line).map(LockedRelease::semver)
    }

    /// The locked release the followers of `line` render, if any.
    pub fn followed_release(&self, line: ReleaseLine) -> Option<&LockedRelease> {
        let version = self.follow.get(&line)?;
        self.releases.iter().find(|r| &r.version == version)
    }

    /// The locked release `version`, if any.
    pub fn release(&self, version: &semver::Version) -> Option<&LockedRelease> {
        self.releases.iter().find(|r| r.semver() == *version)
    }

    /// The release `spec.istio` renders for with this lock: the exact release it names, or
    /// its line's followed release; `None` when the lock pins neither.
    pub fn version_for(&self, istio: IstioVersion) -> Option<semver::Version> {
        match istio.exact_version() {
            Some(v) => self.release(&v).map(|_| v),
            None => self.followed(istio.line),
        }
    }

    /// Replaces or adds the entry of a release, keeping the releases in version order.
    pub fn upsert(&mut self, entry: LockedRelease) {
        self.releases.retain(|r| r.version != entry.version);
        self.releases.push(entry);
        self.releases.sort_by_key(LockedRelease::semver);
    }

    /// Removes a release, and the follow entry naming it.
    pub fn remove(&mut self, version: &str) {
        self.releases.retain(|r| r.version != version);
        self.follow.retain(|_, v| v != version);
    }

    /// The lock with only the releases of `lines` (and their follow entries).
    pub fn only_lines(&self, lines: &[ReleaseLine]) -> Lock {
        let mut lock = self.clone();
        lock.releases.retain(|r| lines.contains(&r.line));
        lock.follow.retain(|l, _| lines.contains(l));
        lock
    }

    /// The lock as YAML text, byte-stable for equal locks.
    pub fn to_yaml(&self) -> String {
        let value = serde_json::to_value(self).expect("a lock always serializes");
        let mut out = comment(HEADER);
        out.push_str(&node_to_yaml(&lock_node(&value), Lists::Indented));
        out
    }

    /// Writes the lock to `path` atomically: a temporary file beside it, flushed and synced,
    /// then renamed over the old lock, so a reader sees the old lock or the new one, whole.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::create_parent(path)?;
        crate::fsutil::write_atomic_then(path, self.to_yaml().as_bytes(), || {
            crate::vendoring::failpoint("lock-before-rename")
        })
    }
}

/// The JSON schema of the lock, as committed in `schemas/lock.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Lock);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// The lock as a node for the one writer: field names plain, file paths and versions (keys
/// holding a `.` or `/`, or not starting with a letter) quoted so they read as data.
fn lock_node(value: &Value) -> Node {
    match value {
        Value::Object(map) => Node::Map(
            map.iter()
                .map(|(k, v)| {
                    let name =
                        k.starts_with(|c: char| c.is_ascii_alphabetic()) && !k.contains(['.', '/']);
                    let key = if name {
                        Key::plain(k.as_str())
                    } else {
                        Key::quoted(k.as_str())
                    };
                    (key, lock_node(v))
                })
                .collect(),
        ),
        Value::Array(items) => Node::Seq(items.iter().map(lock_node).collect()),
        scalar => Node::Data(scalar.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Lock {
        let mut lock = Lock::new("https://example.com/istio.git");
        let mut files = BTreeMap::new();
        files.insert(
            "Chart.yaml".to_string(),
            format!("100644 sha256:{}", "a".repeat(64)),
        );
        files.insert(
            "templates/a b.yaml".to_string(),
            format!("100755 sha256:{}", "b".repeat(64)),
        );
        lock.upsert(LockedRelease {
            line: ReleaseLine::V1_11,
            version: "1.11.8".into(),
            tag: "1.11.8".into(),
            commit: "0".repeat(40),
            charts: vec![LockedChart {
                name: "base".into(),
                source: "manifests/charts/base".into(),
                patches: vec![],
                digest: format!("sha256:{}", "c".repeat(64)),
                files: files.clone(),
            }],
        });
        lock.upsert(LockedRelease {
            line: ReleaseLine::V0_6,
            version: "0.6.0".into(),
            tag: "0.6.0".into(),
            commit: "1".repeat(40),
            charts: vec![LockedChart {
                name: "istio".into(),
                source: "install/kubernetes/helm/istio".into(),
                patches: vec!["generate-values-0.6".into()],
                digest: format!("sha256:{}", "d".repeat(64)),
                files,
            }],
        });
        lock.follow.insert(ReleaseLine::V1_11, "1.11.8".into());
        lock
    }

    #[test]
    fn round_trips_through_yaml_and_keeps_line_order() {
        let lock = sample();
        assert_eq!(
            lock.releases[0].line,
            ReleaseLine::V0_6,
            "upsert keeps version order"
        );
        let text = lock.to_yaml();
        let back = Lock::parse(&text, "test").unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.to_yaml(), text, "byte-stable");
        assert_eq!(
            back.followed(ReleaseLine::V1_11),
            Some(semver::Version::new(1, 11, 8))
        );
        assert_eq!(
            back.followed(ReleaseLine::V0_6),
            None,
            "locked, not followed"
        );
        assert_eq!(
            back.version_for("0.6.0".parse().unwrap()),
            Some(semver::Version::new(0, 6, 0))
        );
        assert_eq!(back.version_for("0.6".parse().unwrap()), None);
        assert_eq!(back.version_for("1.11.4".parse().unwrap()), None);
    }

    #[test]
    fn save_and_load_round_trip_and_absent_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(Lock::load(&path).unwrap(), None);
        sample().save(&path).unwrap();
        assert_eq!(Lock::load(&path).unwrap(), Some(sample()));
    }

    #[test]
    fn rejects_wrong_header_and_foreign_versions() {
        let text = sample().to_yaml().replace("VendorLock", "Other");
        let err = Lock::parse(&text, "x.lock").unwrap_err().to_string();
        assert!(err.contains("x.lock") && err.contains("Other"), "{err}");
        let text = sample().to_yaml().replace("\"1.11.8\"", "\"1.12.0\"");
        let err = Lock::parse(&text, "x.lock").unwrap_err().to_string();
        assert!(err.contains("is not in line 1.11"), "{err}");
        let text = sample()
            .to_yaml()
            .replace("\"1.11\": \"1.11.8\"", "\"1.11\": \"1.11.4\"");
        let err = Lock::parse(&text, "x.lock").unwrap_err().to_string();
        assert!(
            err.contains("1.11.4 is not among the locked releases"),
            "{err}"
        );
    }

    /// A lock written before fleets (`lines:`, one release per line) reads as a lock whose
    /// every line follows its one release.
    #[test]
    fn reads_the_one_release_per_line_layout() {
        let lock = sample();
        let lines: Vec<Value> = lock
            .releases
            .iter()
            .map(|r| {
                let mut entry = serde_json::to_value(r).unwrap();
                entry
                    .as_object_mut()
                    .unwrap()
                    .insert("range".into(), "~x".into());
                entry
            })
            .collect();
        let old = serde_json::json!({
            "apiVersion": API_VERSION, "kind": KIND, "remote": "r", "lines": lines,
        });
        let text = comment(HEADER) + &node_to_yaml(&lock_node(&old), Lists::Indented);
        let read = Lock::parse(&text, "old.lock").unwrap();
        assert_eq!(read.releases, lock.releases);
        assert_eq!(
            read.followed(ReleaseLine::V0_6),
            Some(semver::Version::new(0, 6, 0))
        );
        assert_eq!(
            read.followed(ReleaseLine::V1_11),
            Some(semver::Version::new(1, 11, 8))
        );
        assert!(
            read.to_yaml().contains("\nreleases:\n"),
            "written in the current layout"
        );
    }

    #[test]
    fn builtin_lock_pins_the_release_line_versions() {
        let lock = Lock::builtin();
        assert_eq!(lock.remote, DEFAULT_REMOTE);
        for line in ReleaseLine::ALL {
            assert_eq!(lock.followed(line), Some(line.pinned_version()), "{line}");
            let names: Vec<&str> = lock
                .followed_release(line)
                .unwrap()
                .charts
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            let expected: Vec<&str> = line.charts().iter().map(|c| c.name).collect();
            assert_eq!(names, expected);
        }
    }

    #[test]
    fn committed_lock_is_exactly_what_meshgen_writes() {
        assert_eq!(Lock::builtin().to_yaml(), BUILTIN);
    }

    proptest::proptest! {
        /// Paths and names are user data as far as the emitter is concerned: any string must
        /// come back unchanged.
        #[test]
        fn any_strings_round_trip(path in "\\PC{0,40}", name in ".{0,20}", remote in "\\PC{0,40}") {
            let mut lock = sample();
            lock.remote = remote;
            lock.releases[0].charts[0].name = name;
            lock.releases[0].charts[0].files.insert(path, "100644 sha256:00".into());
            let back = Lock::parse(&lock.to_yaml(), "prop").unwrap();
            proptest::prop_assert_eq!(back, lock);
        }
    }

    /// The committed schema must match the types; regenerate with
    /// `MESHGEN_REGENERATE=1 cargo test --lib lock::`.
    #[test]
    fn committed_schema_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/lock.schema.json");
        let fresh = json_schema();
        if std::env::var_os("MESHGEN_REGENERATE").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "schemas/lock.schema.json is stale: run `MESHGEN_REGENERATE=1 cargo test --lib lock::`"
        );
    }

    #[test]
    fn committed_schema_accepts_the_builtin_lock() {
        let schema: Value = serde_json::from_str(&json_schema()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let instance = serde_json::to_value(Lock::builtin()).unwrap();
        assert!(validator.is_valid(&instance));
    }
}
