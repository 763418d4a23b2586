//! `meshgen vendor --check`: recomputes every vendored chart from disk and compares it with
//! the lock, listing each added, removed and changed file. Changes nothing, needs no network.
//! `meshgen check` reuses `differences` and reports them as findings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::digest;
use crate::error::{Error, Result};
use crate::model::release_line::IstioVersion;
use crate::vendoring::lock::{self, Lock};

/// One way the vendored tree differs from the lock: the path concerned and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// Every difference between the charts under `dir` and `lock`, for the releases `only` names
/// (a line names each of its releases; all when empty), and how many charts were compared.
pub fn differences(dir: &Path, lock: &Lock, only: &[IstioVersion]) -> (Vec<Difference>, usize) {
    let mut out = Vec::new();
    let mut charts = 0;
    let mut diff = |path: PathBuf, message: &str| {
        out.push(Difference {
            path,
            message: message.to_string(),
        })
    };
    for entry in &lock.releases {
        let named = |v: &IstioVersion| match v.exact_version() {
            Some(exact) => exact == entry.semver(),
            None => v.line == entry.line,
        };
        if !only.is_empty() && !only.iter().any(named) {
            continue;
        }
        let release = dir.join("istio").join(&entry.version);
        if let Ok(listing) = std::fs::read_dir(&release) {
            let mut extra: Vec<String> = listing
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !entry.charts.iter().any(|c| &c.name == name))
                .collect();
            extra.sort();
            for name in extra {
                diff(release.join(name), "added (not in the lock)");
            }
        }
        for chart in &entry.charts {
            charts += 1;
            let root = release.join(&chart.name);
            if !root.is_dir() {
                diff(root, "missing; run `meshgen vendor --locked`");
                continue;
            }
            let files = match digest::read_dir(&root) {
                Ok(files) => files,
                Err(Error::Io { path, source }) => {
                    diff(path, &source.to_string());
                    continue;
                }
                Err(e) => {
                    // Vendor errors from the walk start with the path they concern.
                    let text = e.to_string();
                    match text.split_once(": ") {
                        Some((path, message)) => diff(PathBuf::from(path), message),
                        None => diff(root, &text),
                    }
                    continue;
                }
            };
            let on_disk: BTreeMap<&str, String> = files
                .iter()
                .map(|f| (f.path.as_str(), digest::file_entry(f)))
                .collect();
            let mut found = 0;
            for (path, want) in &chart.files {
                match on_disk.get(path.as_str()) {
                    None => {
                        found += 1;
                        diff(root.join(path), "removed");
                    }
                    Some(got) if got != want => {
                        found += 1;
                        let what = if got[..6] != want[..6] {
                            "mode changed"
                        } else {
                            "changed"
                        };
                        diff(root.join(path), what);
                    }
                    Some(_) => {}
                }
            }
            for path in on_disk.keys().filter(|p| !chart.files.contains_key(**p)) {
                found += 1;
                diff(root.join(path), "added");
            }
            if found == 0 && digest::chart_digest(&files) != chart.digest {
                // The files match their entries but not the chart digest: the lock was edited.
                diff(
                    root,
                    &format!(
                        "files match the lock but the chart digest {} does not; the lock was edited",
                        chart.digest
                    ),
                );
            }
        }
    }
    (out, charts)
}

/// What `meshgen vendor --check` found: the differences, how many charts were compared,
/// and the lock they were compared with.
#[derive(Debug)]
pub struct Report {
    pub differences: Vec<Difference>,
    pub charts: usize,
    pub lock_path: PathBuf,
}

/// Compares the charts under `dir` with its lock, for the releases `only` names (all when empty).
pub fn against_lock(dir: &Path, only: &[IstioVersion]) -> Result<Report> {
    let lock_path = dir.join(lock::FILE_NAME);
    let lock = Lock::load(&lock_path)?.ok_or_else(|| {
        Error::Vendor(format!(
            "--check: no lock at {}; run `meshgen vendor` first",
            lock_path.display()
        ))
    })?;
    let (differences, charts) = differences(dir, &lock, only);
    Ok(Report {
        differences,
        charts,
        lock_path,
    })
}
