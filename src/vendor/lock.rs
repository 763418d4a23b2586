//! The vendor lock, `vendor/meshgen.lock`: which upstream commit each release line was
//! vendored from, which patches reproduced the release archive, and the digests that let
//! `meshgen vendor --check` prove later that nothing changed.
//!
//! The lock is YAML so that it reads well in review, but it is written by a tiny emitter
//! over `serde_json::Value` (every string double-quoted, keys in a fixed order) rather than
//! by a serde YAML crate: the output is then byte-stable across crate upgrades, and it is
//! read back with yaml-rust2, the YAML reader the rest of meshgen already uses.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::release_line::ReleaseLine;

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

const HEADER: &str = "# Written by `meshgen vendor`; do not edit. Fill vendor/ with `meshgen vendor --locked`,\n# verify it with `meshgen vendor --check`. The digest is defined in ARCHITECTURE.md.\n";

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
    /// One entry per vendored release line, in line order.
    pub lines: Vec<LockedLine>,
}

/// One vendored release line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockedLine {
    /// The release line, `0.6`, `1.0` or `1.11`.
    pub line: ReleaseLine,
    /// The semver range the version was resolved in, e.g. `~1.0`.
    pub range: String,
    /// The resolved release, e.g. `1.0.9`.
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
            lines: Vec::new(),
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
        let lock: Lock = serde_path_to_error::deserialize(doc.to_json()).map_err(|e| {
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
        })?;
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
        let mut seen = Vec::new();
        for entry in &self.lines {
            if seen.contains(&entry.line) {
                return Err(format!("line {} is locked twice", entry.line));
            }
            seen.push(entry.line);
            let version = semver::Version::parse(&entry.version)
                .map_err(|e| format!("line {}: version `{}`: {e}", entry.line, entry.version))?;
            if ReleaseLine::of_version(&version) != Some(entry.line) {
                return Err(format!(
                    "line {}: version {} is not in that line",
                    entry.line, entry.version
                ));
            }
            if entry.commit.len() != 40 || !entry.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "line {}: commit `{}` is not a 40-digit hex id",
                    entry.line, entry.commit
                ));
            }
            for chart in &entry.charts {
                if !chart.digest.starts_with("sha256:") {
                    return Err(format!(
                        "line {} chart {}: digest `{}` does not start with `sha256:`",
                        entry.line, chart.name, chart.digest
                    ));
                }
            }
        }
        Ok(())
    }

    /// The version locked for `line`, if any.
    pub fn version_of(&self, line: ReleaseLine) -> Option<semver::Version> {
        self.line(line)
            .and_then(|l| semver::Version::parse(&l.version).ok())
    }

    /// The locked entry of `line`, if any.
    pub fn line(&self, line: ReleaseLine) -> Option<&LockedLine> {
        self.lines.iter().find(|l| l.line == line)
    }

    /// Replaces or adds the entry of a line, keeping the lines in line order.
    pub fn upsert(&mut self, entry: LockedLine) {
        self.lines.retain(|l| l.line != entry.line);
        self.lines.push(entry);
        self.lines.sort_by_key(|l| l.line);
    }

    /// The lock as YAML text, byte-stable for equal locks.
    pub fn to_yaml(&self) -> String {
        let value = serde_json::to_value(self).expect("a lock always serializes");
        let mut out = String::from(HEADER);
        emit_map(&value, 0, &mut out);
        out
    }

    /// Writes the lock to `path` atomically: a temporary file beside it, flushed and synced,
    /// then renamed over the old lock, so a reader sees the old lock or the new one, whole.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::create_parent(path)?;
        crate::fsutil::write_atomic_then(path, self.to_yaml().as_bytes(), || {
            crate::vendor::failpoint("lock-before-rename")
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

fn emit_key(key: &str, out: &mut String) {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && key.as_bytes()[0].is_ascii_alphabetic();
    if plain {
        out.push_str(key);
    } else {
        out.push_str(&serde_json::to_string(key).expect("strings serialize"));
    }
}

fn emit_scalar(value: &Value, out: &mut String) {
    // JSON scalars are valid YAML flow scalars; double-quoted strings never change type.
    out.push_str(&serde_json::to_string(value).expect("scalars serialize"));
}

fn emit_map(value: &Value, indent: usize, out: &mut String) {
    let Value::Object(map) = value else {
        unreachable!("emit_map is called on objects")
    };
    for (key, item) in map {
        let _ = write!(out, "{:indent$}", "");
        emit_key(key, out);
        out.push(':');
        emit_value_after_key(item, indent, out);
    }
}

fn emit_value_after_key(item: &Value, indent: usize, out: &mut String) {
    match item {
        Value::Object(m) if m.is_empty() => out.push_str(" {}\n"),
        Value::Array(a) if a.is_empty() => out.push_str(" []\n"),
        Value::Object(_) => {
            out.push('\n');
            emit_map(item, indent + 2, out);
        }
        Value::Array(items) => {
            out.push('\n');
            for element in items {
                let _ = write!(out, "{:indent$}- ", "", indent = indent + 2);
                match element {
                    Value::Object(m) if !m.is_empty() => {
                        // The first key goes on the dash line, the rest aligned under it.
                        let mut nested = String::new();
                        emit_map(element, indent + 4, &mut nested);
                        out.push_str(&nested[indent + 4..]);
                    }
                    _ => {
                        emit_scalar(element, out);
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            out.push(' ');
            emit_scalar(item, out);
            out.push('\n');
        }
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
        lock.upsert(LockedLine {
            line: ReleaseLine::V1_11,
            range: "~1.11".into(),
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
        lock.upsert(LockedLine {
            line: ReleaseLine::V0_6,
            range: "~0.6".into(),
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
        lock
    }

    #[test]
    fn round_trips_through_yaml_and_keeps_line_order() {
        let lock = sample();
        assert_eq!(
            lock.lines[0].line,
            ReleaseLine::V0_6,
            "upsert keeps line order"
        );
        let text = lock.to_yaml();
        let back = Lock::parse(&text, "test").unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.to_yaml(), text, "byte-stable");
        assert_eq!(
            back.version_of(ReleaseLine::V1_11),
            Some(semver::Version::new(1, 11, 8))
        );
        assert_eq!(back.version_of(ReleaseLine::V1_0), None);
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
        assert!(err.contains("not in that line"), "{err}");
    }

    #[test]
    fn builtin_lock_pins_the_release_line_versions() {
        let lock = Lock::builtin();
        assert_eq!(lock.remote, DEFAULT_REMOTE);
        for line in ReleaseLine::ALL {
            assert_eq!(lock.version_of(line), Some(line.pinned_version()), "{line}");
            let names: Vec<&str> = lock
                .line(line)
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
            lock.lines[0].charts[0].name = name;
            lock.lines[0].charts[0].files.insert(path, "100644 sha256:00".into());
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
