//! `meshgen vendor`: fetches the Istio charts of each release line from git, reproduces what
//! the release archive shipped, writes them under `vendor/istio/<version>/` and pins them in
//! `vendor/meshgen.lock`; `--check` proves later that the tree still matches the lock.
//!
//! Submodules: `resolve` (tags to versions), `fetch` (the git2 cache), `extract` (tree
//! objects to files), `patches` (release-archive changes), `digest`, `install` (atomic
//! writes and the run lock), `check`.

pub mod check;
pub mod digest;
pub mod extract;
pub mod fetch;
pub mod install;
pub mod lock;
pub mod patches;
pub mod resolve;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::release_line::ReleaseLine;
use digest::ChartFile;
use lock::{Lock, LockedChart, LockedLine};

/// What a `meshgen vendor` run is asked to do (`--check` is `check::against_lock`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Release lines to vendor; all three when empty.
    pub lines: Vec<ReleaseLine>,
    /// Git remote, a URL or a local repository path; else the lock's, else istio/istio.
    /// Recorded in the lock, except with `locked`: then a mirror of the lock's remote.
    pub remote: Option<String>,
    /// Vendor directory: holds meshgen.lock and istio/<version>/<chart>/.
    pub dir: PathBuf,
    /// Re-resolve every line to the newest release in its range.
    pub update: bool,
    /// Exactly the locked commits; the lock is never rewritten.
    pub locked: bool,
    /// Where the bare git caches live; else the user's cache directory.
    pub cache_dir: Option<PathBuf>,
}

/// What a run tells while it works, for a front end to show: the CLI draws a progress bar
/// and prints the rest on stderr. Each call happens at the moment it describes.
pub trait Progress {
    /// What the run does now ("listing tags of URL", "fetching TAGS", "reading TAG", ...).
    fn stage(&self, message: String);
    /// Git objects received so far, and how many the fetch needs.
    fn transfer(&self, received: u64, total: u64);
    /// Another meshgen run holds `path` locked: this one waits for it.
    fn waiting(&self, path: &Path);
    /// A warning that does not stop the run, in the words to print.
    fn warning(&self, text: String);
    /// The network and disk work is over.
    fn finish(&self);
}

/// A `Progress` that shows nothing, for callers without a terminal.
pub struct Silent;

impl Progress for Silent {
    fn stage(&self, _: String) {}
    fn transfer(&self, _: u64, _: u64) {}
    fn waiting(&self, _: &Path) {}
    fn warning(&self, _: String) {}
    fn finish(&self) {}
}

/// One release a run vendored, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vendored {
    pub version: String,
    pub tag: String,
    pub commit: String,
    /// `vendor/istio/<version>`.
    pub dir: PathBuf,
    /// False when it was already on disk byte for byte.
    pub written: bool,
}

/// The charts of one release: directory name and files, in install order.
pub type ReleaseCharts = Vec<(String, Vec<ChartFile>)>;

/// How a run treats the versions already in the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Keep locked versions, resolve lines not in the lock.
    Keep,
    /// Resolve every line again.
    Update,
    /// Only the locked commits; the lock is not written.
    Locked,
}

/// Vendors the charts of the asked lines and writes the lock; returns what it vendored.
/// A run that fails leaves nothing behind it did not find: no run lock file, no vendor
/// directory it created empty, no empty git cache (see `fetch::Cache`).
pub fn run(args: &Options, progress: &dyn Progress) -> Result<Vec<Vendored>> {
    let created = !args.dir.exists();
    let result = run_locked(args, progress);
    if result.is_err() && created {
        // Only if still empty: the run lock is gone by now, and nothing else was written.
        let _ = std::fs::remove_dir(&args.dir);
    }
    result
}

fn run_locked(args: &Options, progress: &dyn Progress) -> Result<Vec<Vendored>> {
    let mode = if args.locked {
        Mode::Locked
    } else if args.update {
        Mode::Update
    } else {
        Mode::Keep
    };
    let dir = &args.dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let _run_lock = install::FileLock::acquire(
        &dir.join(".meshgen-vendor.flock"),
        "the vendor directory",
        progress,
    )?;
    let istio_dir = dir.join("istio");
    install::recover(&istio_dir)?;
    // A lock write killed before its rename leaves its temporary file; we hold the run lock.
    crate::fsutil::remove_stale_temporaries(dir)?;
    let lock_path = dir.join(lock::FILE_NAME);
    let old = Lock::load(&lock_path)?;

    let given = args.remote.as_deref().map(normalize_remote).transpose()?;
    // What the lock records. `--locked` never changes it: `--remote` then only says where the
    // locked commits are fetched from (a mirror). Otherwise `--remote` is recorded.
    let remote = match (mode, &given, &old) {
        (Mode::Locked, _, Some(old)) => old.remote.clone(),
        (_, Some(given), _) => given.clone(),
        (_, None, Some(old)) => old.remote.clone(),
        (_, None, None) => lock::DEFAULT_REMOTE.to_string(),
    };
    // Where the objects come from, after git's `url.<base>.insteadOf` (the repository holding
    // the vendor directory first, then the user's and the system's settings).
    let source = fetch::rewrite_url(given.as_deref().unwrap_or(&remote), Some(dir));
    let same_remote = old.as_ref().is_some_and(|o| o.remote == remote);
    let mut lines: BTreeSet<ReleaseLine> = if args.lines.is_empty() {
        ReleaseLine::ALL.into_iter().collect()
    } else {
        args.lines.iter().copied().collect()
    };
    if mode == Mode::Locked {
        let Some(old) = &old else {
            return Err(Error::Vendor(format!(
                "--locked needs a lock, and {} does not exist; run `meshgen vendor` first",
                lock_path.display()
            )));
        };
        if args.lines.is_empty() {
            lines = old.lines.iter().map(|l| l.line).collect();
        }
        if let Some(missing) = lines.iter().find(|l| old.line(**l).is_none()) {
            return Err(Error::Vendor(format!(
                "--locked: line {missing} is not in {}; run `meshgen vendor {missing}` to add it",
                lock_path.display()
            )));
        }
    } else if let Some(old) = old.as_ref().filter(|_| !same_remote) {
        // One lock, one remote: lines locked from the old remote are vendored again from the new.
        lines.extend(old.lines.iter().map(|l| l.line));
    }

    let cache_root = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => fetch::default_cache_root()?,
    };
    let cache = fetch::Cache::open(&cache_root, &source, progress)?;
    // How errors name where the objects came from when it is not the lock's remote.
    let served_by = if source == remote {
        format!("`{source}`")
    } else {
        format!("the mirror `{source}` (standing in for `{remote}`)")
    };
    progress.stage(format!("listing tags of {source}"));
    let remote_tags = cache.list_tags()?;
    let tag_names: Vec<String> = remote_tags.keys().cloned().collect();

    // Which tag each line is read from.
    // Line, version, tag, lock entry, and the locked commit when `--locked` reads it without
    // its tag (a mirror that has the commit but not the tag).
    #[allow(clippy::type_complexity)]
    let mut plan: Vec<(
        ReleaseLine,
        semver::Version,
        String,
        Option<&LockedLine>,
        Option<git2::Oid>,
    )> = Vec::new();
    for &line in &lines {
        // The version is kept across a change of remote; the commit check needs the same remote.
        let prior = old.as_ref().and_then(|o| o.line(line));
        let locked = prior.filter(|_| same_remote);
        let (version, tag) = match (mode, prior) {
            (Mode::Locked | Mode::Keep, Some(entry)) => {
                let version = semver::Version::parse(&entry.version).map_err(|e| {
                    Error::Vendor(format!("{}: line {line}: {e}", lock_path.display()))
                })?;
                if !remote_tags.contains_key(&entry.tag) {
                    if mode == Mode::Locked {
                        // The lock pins the commit; the tag only names it.
                        let Some(commit) = cache.has_commit(&entry.commit) else {
                            return Err(Error::Vendor(format!(
                                "--locked: {served_by} does not serve Istio {} locked for line {line}: neither tag `{}` nor commit {} is there ({}); nothing was written",
                                entry.version,
                                entry.tag,
                                entry.commit,
                                resolve::describe_tags(line, &tag_names)
                            )));
                        };
                        plan.push((line, version, entry.tag.clone(), locked, Some(commit)));
                        continue;
                    }
                    return Err(Error::Vendor(format!(
                        "tag `{}` locked for line {line} is not at {source}; {}",
                        entry.tag,
                        resolve::describe_tags(line, &tag_names)
                    )));
                }
                (version, entry.tag.clone())
            }
            _ => resolve::newest(line, &tag_names, &source)?,
        };
        plan.push((line, version, tag, locked, None));
    }

    progress.stage(format!(
        "fetching {}",
        plan.iter()
            .map(|p| p.2.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let wanted: Vec<String> = plan
        .iter()
        .filter(|p| p.4.is_none())
        .map(|p| p.2.clone())
        .collect();
    cache.fetch_tags(&wanted, progress)?;

    // Build every release in memory first: nothing is written unless all lines succeed.
    let mut built = Vec::new();
    for (line, version, tag, locked, by_commit) in plan {
        let commit = match by_commit {
            Some(commit) => commit,
            None => cache.peel(&tag)?,
        };
        if let Some(entry) = locked.filter(|e| e.tag == tag) {
            if entry.commit != commit.to_string() {
                if mode == Mode::Locked && source != remote {
                    // Not upstream moving a tag: the mirror is not a copy of the locked remote.
                    return Err(Error::Vendor(format!(
                        "--locked: {served_by} does not serve Istio {} locked for line {line}: its tag `{tag}` is at {commit}, the lock has commit {}; nothing was written",
                        entry.version, entry.commit
                    )));
                }
                if mode == Mode::Update {
                    progress.warning(format!(
                        "warning: tag {tag} of line {line} moved from {} to {commit}; --update accepts it",
                        entry.commit
                    ));
                } else {
                    return Err(Error::MovedTag {
                        line: line.to_string(),
                        tag,
                        locked: entry.commit.clone(),
                        found: commit.to_string(),
                    });
                }
            }
        }
        progress.stage(format!("reading {tag}"));
        let (entry, charts) = build_line(&cache.repo, line, &version, &tag, commit)?;
        if mode == Mode::Locked {
            let expected = locked.expect("--locked lines are in the lock");
            if let Some(diff) = first_difference(expected, &entry) {
                return Err(Error::Vendor(format!(
                    "--locked: line {line} at {tag} no longer produces the locked charts ({diff}); run `meshgen vendor --update {line}` to review the change"
                )));
            }
        }
        built.push((entry, charts));
    }

    let mut written = Vec::new();
    for (entry, charts) in &built {
        if release_matches(&istio_dir, entry) {
            written.push(false); // already on disk byte for byte: nothing to rewrite
            continue;
        }
        progress.stage(format!("writing {}", entry.version));
        install::install_release(&istio_dir, &entry.version, charts)?;
        written.push(true);
    }
    progress.finish();

    let mut new = match old.clone().filter(|_| same_remote) {
        Some(lock) => lock,
        None => Lock::new(remote.clone()),
    };
    for (entry, _) in &built {
        new.upsert(entry.clone());
    }
    if mode != Mode::Locked && old.as_ref() != Some(&new) {
        new.save(&lock_path)?;
        // Only after the new lock is in place: releases the old lock named and the new does not.
        if let Some(old) = &old {
            for gone in old
                .lines
                .iter()
                .filter(|o| !new.lines.iter().any(|n| n.version == o.version))
            {
                let path = istio_dir.join(&gone.version);
                if path.is_dir() {
                    std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
                }
            }
        }
    }
    Ok(built
        .iter()
        .zip(written)
        .map(|((entry, _), written)| Vendored {
            version: entry.version.clone(),
            tag: entry.tag.clone(),
            commit: entry.commit.clone(),
            dir: istio_dir.join(&entry.version),
            written,
        })
        .collect())
}

/// Reads the charts of one line at `commit`, applies the release-archive patches and
/// computes the lock entry.
pub fn build_line(
    repo: &git2::Repository,
    line: ReleaseLine,
    version: &semver::Version,
    tag: &str,
    commit: git2::Oid,
) -> Result<(LockedLine, ReleaseCharts)> {
    let mut charts = Vec::new();
    let mut locked_charts = Vec::new();
    for chart in line.charts().iter() {
        let mut files = extract::chart_files(repo, commit, chart.upstream_path, tag)?;
        let mut applied = Vec::new();
        match line {
            ReleaseLine::V0_6 => {
                if files.iter().any(|f| f.path == "values.yaml") {
                    return Err(Error::Vendor(format!(
                        "{tag}:{}/values.yaml exists in git; meshgen expected to generate it from {}",
                        chart.upstream_path,
                        patches::VALUES_TEMPLATE_06
                    )));
                }
                let origin = format!("{tag}:{}", patches::VALUES_TEMPLATE_06);
                let template = extract::blob_at(repo, commit, patches::VALUES_TEMPLATE_06, tag)?;
                let template = String::from_utf8(template)
                    .map_err(|_| Error::Vendor(format!("{origin}: not UTF-8")))?;
                files.push(ChartFile {
                    path: "values.yaml".into(),
                    mode: digest::MODE_FILE,
                    content: patches::generate_values_06(&template, version, &origin)?.into_bytes(),
                });
                applied.push(patches::GENERATE_VALUES_06.to_string());
            }
            ReleaseLine::V1_0 | ReleaseLine::V1_11 if chart.name != "base" => {
                // base carries no images, hence no global.hub to set.
                let origin = format!("{tag}:{}/values.yaml", chart.upstream_path);
                let values = files
                    .iter_mut()
                    .find(|f| f.path == "values.yaml")
                    .ok_or_else(|| Error::Vendor(format!("{origin}: missing")))?;
                let text = std::str::from_utf8(&values.content)
                    .map_err(|_| Error::Vendor(format!("{origin}: not UTF-8")))?;
                values.content = patches::release_hub_tag(text, version, &origin)?.into_bytes();
                applied.push(patches::RELEASE_HUB_TAG.to_string());
            }
            _ => {}
        }
        let origin = format!("{tag}:{}", chart.upstream_path);
        applied.extend(patches::apply_chart_fixes(
            line, chart.name, version, &mut files, &origin,
        )?);
        files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        locked_charts.push(LockedChart {
            name: chart.name.to_string(),
            source: chart.upstream_path.to_string(),
            patches: applied,
            digest: digest::chart_digest(&files),
            files: files
                .iter()
                .map(|f| (f.path.clone(), digest::file_entry(f)))
                .collect(),
        });
        charts.push((chart.name.to_string(), files));
    }
    let entry = LockedLine {
        line,
        range: line.version_req().to_string(),
        version: version.to_string(),
        tag: tag.to_string(),
        commit: commit.to_string(),
        charts: locked_charts,
    };
    Ok((entry, charts))
}

/// The first way `got` differs from the locked entry, for the `--locked` error.
fn first_difference(locked: &LockedLine, got: &LockedLine) -> Option<String> {
    if locked.charts.len() != got.charts.len() {
        return Some(format!(
            "{} charts locked, {} produced",
            locked.charts.len(),
            got.charts.len()
        ));
    }
    for (a, b) in locked.charts.iter().zip(&got.charts) {
        if a != b {
            return Some(format!(
                "chart {}: locked {}, produced {}",
                a.name, a.digest, b.digest
            ));
        }
    }
    (locked != got).then(|| "line metadata differs".to_string())
}

/// Whether every chart of `entry` is already on disk with the right digest and nothing else
/// sits in the release directory.
fn release_matches(istio_dir: &Path, entry: &LockedLine) -> bool {
    let release = istio_dir.join(&entry.version);
    let Ok(listing) = std::fs::read_dir(&release) else {
        return false;
    };
    if listing.count() != entry.charts.len() {
        return false;
    }
    entry.charts.iter().all(|chart| {
        digest::read_dir(&release.join(&chart.name))
            .map(|files| digest::chart_digest(&files) == chart.digest)
            .unwrap_or(false)
    })
}

/// A local path becomes its absolute form, so the lock means the same from any directory;
/// anything else is taken as a URL for git.
fn normalize_remote(given: &str) -> Result<String> {
    if fetch::looks_like_url(given) {
        return Ok(given.to_string());
    }
    let path = Path::new(given);
    match std::fs::canonicalize(path) {
        Ok(abs) => abs.into_os_string().into_string().map_err(|p| {
            Error::Usage(format!(
                "--remote {}: path is not UTF-8",
                Path::new(&p).display()
            ))
        }),
        Err(e) => Err(Error::Vendor(format!(
            "--remote {given}: no such repository ({e}); give a URL or the path of a git repository"
        ))),
    }
}

/// A test hook: with `MESHGEN_FAILPOINT=<name>` the run fails at that point, and with
/// `<name>:abort` the process aborts there as if killed. Honoured only in debug builds (what
/// `cargo test` runs), so a release binary cannot be made to fail by its environment.
pub(crate) fn failpoint(name: &str) -> Result<()> {
    if !cfg!(debug_assertions) {
        return Ok(());
    }
    match std::env::var("MESHGEN_FAILPOINT") {
        Ok(v) if v == name => Err(Error::Vendor(format!("injected failure at {name}"))),
        Ok(v) if v.strip_suffix(":abort") == Some(name) => std::process::abort(),
        _ => Ok(()),
    }
}
