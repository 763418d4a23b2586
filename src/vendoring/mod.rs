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
pub mod profiles;
pub mod resolve;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::release_line::{IstioVersion, ReleaseLine, VendoredValues};
use digest::ChartFile;
use lock::{Lock, LockedChart, LockedRelease};

/// What a `meshgen vendor` run is asked to do (`--check` is `check::against_lock`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// What to vendor by hand: lines (their followed release) and exact releases. When empty,
    /// what `fleet` uses; without a fleet, what the lock holds; without a lock, every line.
    pub requests: Vec<IstioVersion>,
    /// What the repository's platforms render for (each one's `spec.istio`), when there are
    /// platform files: locked releases none of them uses are reported (`Outcome::unused`).
    pub fleet: Option<Vec<IstioVersion>>,
    /// Git remote, a URL or a local repository path; else the lock's, else istio/istio.
    /// Recorded in the lock, except with `locked`: then a mirror of the lock's remote.
    pub remote: Option<String>,
    /// Vendor directory: holds meshgen.lock and istio/<version>/<chart>/.
    pub dir: PathBuf,
    /// Move the lines vendored to the newest release in their range; exact releases stay.
    pub update: bool,
    /// Exactly the locked commits; the lock is never rewritten.
    pub locked: bool,
    /// Remove the locked releases no platform of `fleet` uses (and the follow entries of lines
    /// none follows).
    pub prune: bool,
    /// Where the bare git caches live; else the user's cache directory.
    pub cache_dir: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The releases vendored, in version order.
    pub vendored: Vec<Vendored>,
    /// Releases the lock keeps although no platform renders them (`--prune` removes them).
    pub unused: Vec<String>,
    /// Releases `--prune` removed from the lock and from `vendor/istio/`.
    pub pruned: Vec<String>,
    /// Followed releases `--update` moved off, removed as no platform names them exactly:
    /// (old, new).
    pub replaced: Vec<(String, String)>,
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

/// One release a run vendored.
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
    /// Keep the lines' followed releases, resolve lines the lock does not follow.
    Keep,
    /// Move every line vendored to its newest release.
    Update,
    /// Only the locked commits; the lock is not written.
    Locked,
}

/// Vendors the releases asked for and writes the lock; returns what it did.
/// A run that fails leaves nothing behind it did not find: no run lock file, no vendor
/// directory it created empty, no empty git cache (see `fetch::Cache`).
pub fn run(args: &Options, progress: &dyn Progress) -> Result<Outcome> {
    let created = !args.dir.exists();
    let result = run_locked(args, progress);
    if result.is_err() && created {
        // Only if still empty: the run lock is gone by now, and nothing else was written.
        let _ = std::fs::remove_dir(&args.dir);
    }
    result
}

/// What a run vendors when no release is asked for by hand: what the platforms use; without
/// platform files, what the lock holds; without a lock, every line.
fn default_requests(fleet: Option<&[IstioVersion]>, old: Option<&Lock>) -> Vec<IstioVersion> {
    match (fleet, old) {
        (Some(fleet), _) if !fleet.is_empty() => fleet.to_vec(),
        (_, Some(old)) if !old.releases.is_empty() => old
            .follow
            .keys()
            .map(|l| IstioVersion::follow(*l))
            // The others stay, as exact releases: `--update` moves only what is followed.
            .chain(
                old.releases
                    .iter()
                    .filter(|r| old.follow.get(&r.line) != Some(&r.version))
                    .filter_map(|r| IstioVersion::exact(&r.semver())),
            )
            .collect(),
        _ => ReleaseLine::ALL
            .into_iter()
            .map(IstioVersion::follow)
            .collect(),
    }
}

/// Opens the git cache of `source` (under `cache_dir`, else the user's cache directory) and
/// lists the remote's tag names.
fn open_and_list(
    cache_dir: Option<&Path>,
    source: &str,
    progress: &dyn Progress,
) -> Result<(fetch::Cache, Vec<String>)> {
    let cache_root = match cache_dir {
        Some(dir) => dir.to_path_buf(),
        None => fetch::default_cache_root()?,
    };
    let cache = fetch::Cache::open(&cache_root, source, progress)?;
    progress.stage(format!("listing tags of {source}"));
    let tags = cache.list_tags()?.keys().cloned().collect();
    Ok((cache, tags))
}

/// The tags of `remote` (a URL or a local path), else of the remote of `lock` (the lock of
/// the vendor directory `dir`), else of istio/istio, after git's `insteadOf` as read from
/// `dir`'s repository: (where they were read, tag names). Fetches nothing.
pub fn remote_tags(
    dir: &Path,
    lock: Option<&Lock>,
    remote: Option<&str>,
    cache_dir: Option<&Path>,
    progress: &dyn Progress,
) -> Result<(String, Vec<String>)> {
    let remote = match (remote, lock) {
        (Some(given), _) => normalize_remote(given)?,
        (None, Some(lock)) => lock.remote.clone(),
        (None, None) => lock::DEFAULT_REMOTE.to_string(),
    };
    let source = fetch::rewrite_url(&remote, Some(dir));
    let listed = open_and_list(cache_dir, &source, progress);
    progress.finish();
    let (_, tags) = listed?;
    Ok((source, tags))
}

/// Whether a platform of `fleet` renders `version` when the lines follow `follow`.
fn is_used(
    version: &semver::Version,
    follow: &BTreeMap<ReleaseLine, String>,
    fleet: &[IstioVersion],
) -> bool {
    fleet.iter().any(|v| match v.exact_version() {
        Some(exact) => exact == *version,
        None => follow.get(&v.line) == Some(&version.to_string()),
    })
}

/// The releases of `lock` no platform of `fleet` renders, in version order.
pub fn unused_releases(lock: &Lock, fleet: &[IstioVersion]) -> Vec<String> {
    lock.releases
        .iter()
        .filter(|r| !is_used(&r.semver(), &lock.follow, fleet))
        .map(|r| r.version.clone())
        .collect()
}

/// One release a run builds: where its tag is, and what the lock said of it.
struct Planned<'a> {
    version: semver::Version,
    tag: String,
    /// The old lock's entry, when it came from the same remote.
    locked: Option<&'a LockedRelease>,
    /// `--locked` reads the locked commit without its tag (a mirror with the commit only).
    by_commit: Option<git2::Oid>,
}

impl Mode {
    fn of(args: &Options) -> Mode {
        if args.locked {
            Mode::Locked
        } else if args.update {
            Mode::Update
        } else {
            Mode::Keep
        }
    }
}

/// The remote a run records in the lock and where it reads the objects from.
struct Remotes {
    /// `--remote`, normalized.
    given: Option<String>,
    /// What the lock records.
    remote: String,
    /// Where the objects come from, after git's `url.<base>.insteadOf`.
    source: String,
    /// Whether the old lock was made from `remote`: only then do its commits bind.
    same_remote: bool,
}

impl Remotes {
    fn decide(args: &Options, mode: Mode, old: Option<&Lock>) -> Result<Remotes> {
        let given = args.remote.as_deref().map(normalize_remote).transpose()?;
        // `--locked` never changes the lock: `--remote` then only says where the locked
        // commits are fetched from (a mirror). Otherwise `--remote` is recorded.
        let remote = match (mode, &given, old) {
            (Mode::Locked, _, Some(old)) => old.remote.clone(),
            (_, Some(given), _) => given.clone(),
            (_, None, Some(old)) => old.remote.clone(),
            (_, None, None) => lock::DEFAULT_REMOTE.to_string(),
        };
        // The repository holding the vendor directory is asked first, then the user's and
        // the system's settings.
        let source = fetch::rewrite_url(given.as_deref().unwrap_or(&remote), Some(&args.dir));
        let same_remote = old.is_some_and(|o| o.remote == remote);
        Ok(Remotes {
            given,
            remote,
            source,
            same_remote,
        })
    }

    /// How errors name where the objects came from when it is not the lock's remote.
    fn served_by(&self) -> String {
        if self.source == self.remote {
            format!("`{}`", self.source)
        } else {
            format!(
                "the mirror `{}` (standing in for `{}`)",
                self.source, self.remote
            )
        }
    }
}

/// What a run wants: the releases, which release each line follows, and what leaves the
/// lock.
struct Wanted {
    versions: BTreeSet<semver::Version>,
    follow: BTreeMap<ReleaseLine, String>,
    /// Releases `--prune` removes.
    pruned: Vec<String>,
    /// Followed releases `--update` moves off: (old, new).
    replaced: Vec<(String, String)>,
}

/// A run's decision, taken before anything is fetched or written: what is wanted, and for
/// each release where it is read.
struct Plan<'a> {
    wanted: Wanted,
    releases: Vec<Planned<'a>>,
}

/// What every step of a run reads.
struct Run<'a> {
    args: &'a Options,
    mode: Mode,
    /// The lock as the run found it.
    old: Option<&'a Lock>,
    lock_path: PathBuf,
    istio_dir: PathBuf,
    remotes: Remotes,
    progress: &'a dyn Progress,
}

/// `run`'s work: under the vendor directory's run lock, decides the plan, then carries it
/// out.
fn run_locked(args: &Options, progress: &dyn Progress) -> Result<Outcome> {
    let mode = Mode::of(args);
    if args.prune && args.fleet.is_none() {
        return Err(Error::Usage(
            "--prune needs the repository's platform files, to know which releases they use, and there are none".into(),
        ));
    }
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
    let remotes = Remotes::decide(args, mode, old.as_ref())?;
    let run = Run {
        args,
        mode,
        old: old.as_ref(),
        lock_path,
        istio_dir,
        remotes,
        progress,
    };
    run.warn_of_a_new_remote();
    // Checked before the network is asked: a `--locked` run needs nothing but the lock.
    let locked = match mode {
        Mode::Locked => Some(run.locked_releases()?),
        _ => None,
    };
    let (cache, tag_names) =
        open_and_list(args.cache_dir.as_deref(), &run.remotes.source, progress)?;
    let wanted = match locked {
        Some(versions) => Wanted {
            versions,
            follow: run.old.map(|o| o.follow.clone()).unwrap_or_default(),
            pruned: Vec::new(),
            replaced: Vec::new(),
        },
        None => run.wanted(&tag_names)?,
    };
    let plan = run.plan(wanted, &cache, &tag_names)?;
    run.execute(plan, &cache)
}

impl<'a> Run<'a> {
    fn warn_of_a_new_remote(&self) {
        let Remotes { given, remote, .. } = &self.remotes;
        if let (Some(old), Some(given)) = (self.old.filter(|_| !self.remotes.same_remote), given) {
            self.progress.warning(format!(
                "the lock's remote changes from `{}` to `{remote}`: every release is fetched again from it and recorded so; to fetch from a mirror and keep the lock's remote, run `meshgen vendor --locked --remote {given}` or set git's url.<mirror>.insteadOf",
                old.remote
            ));
        }
    }

    /// `--locked`: every release of the lock, or the ones asked for, which must be locked.
    fn locked_releases(&self) -> Result<BTreeSet<semver::Version>> {
        let lock_path = &self.lock_path;
        let Some(old) = self.old else {
            return Err(Error::Vendor(format!(
                "--locked needs a lock, and {} does not exist; run `meshgen vendor` first",
                lock_path.display()
            )));
        };
        let mut wanted = BTreeSet::new();
        if self.args.requests.is_empty() {
            wanted.extend(old.releases.iter().map(LockedRelease::semver));
        }
        for request in &self.args.requests {
            let Some(version) = old.version_for(*request) else {
                let what = match request.exact_version() {
                    Some(v) => format!("release {v} is not in {}", lock_path.display()),
                    None => format!(
                        "{} follows no release of line {request}",
                        lock_path.display()
                    ),
                };
                return Err(Error::Vendor(format!(
                    "--locked: {what}; run `meshgen vendor {request}` to add it"
                )));
            };
            wanted.insert(version);
        }
        Ok(wanted)
    }

    /// The releases asked for by hand, else by default (`default_requests`).
    fn requests(&self) -> Vec<IstioVersion> {
        if self.args.requests.is_empty() {
            default_requests(self.args.fleet.as_deref(), self.old)
        } else {
            self.args.requests.clone()
        }
    }

    /// What a run other than `--locked` wants: the exact releases asked for, each line's
    /// followed release, what the lock held (all of it again with a new remote), less what
    /// `--update` moved off and `--prune` removes.
    fn wanted(&self, tag_names: &[String]) -> Result<Wanted> {
        let requests = self.requests();
        let mut wanted = Wanted {
            versions: requests.iter().filter_map(|r| r.exact_version()).collect(),
            follow: self.old.map(|o| o.follow.clone()).unwrap_or_default(),
            pruned: Vec::new(),
            replaced: Vec::new(),
        };
        for line in requests
            .iter()
            .filter(|r| r.patch.is_none())
            .map(|r| r.line)
        {
            self.follow_line(line, &requests, tag_names, &mut wanted)?;
        }
        if let Some(old) = self.old.filter(|_| !self.remotes.same_remote) {
            wanted
                .versions
                .extend(old.releases.iter().map(LockedRelease::semver));
        }
        wanted
            .versions
            .retain(|v| !wanted.replaced.iter().any(|(old, _)| *old == v.to_string()));
        if self.args.prune {
            self.prune(&mut wanted);
        }
        Ok(wanted)
    }

    /// Settles the release `line` follows (its newest with `--update` or when the lock
    /// follows none) and wants it.
    fn follow_line(
        &self,
        line: ReleaseLine,
        requests: &[IstioVersion],
        tag_names: &[String],
        wanted: &mut Wanted,
    ) -> Result<()> {
        if self.mode == Mode::Update || !wanted.follow.contains_key(&line) {
            let (version, _) = resolve::newest(line, tag_names, &self.remotes.source)?;
            if let Some(before) = wanted.follow.insert(line, version.to_string()) {
                // The release the line leaves stays only for the platforms pinned to it.
                let before_version =
                    semver::Version::parse(&before).expect("followed versions are checked");
                let pinned = self
                    .args
                    .fleet
                    .iter()
                    .flatten()
                    .chain(requests)
                    .any(|v| v.exact_version().as_ref() == Some(&before_version));
                if before != version.to_string() && !pinned {
                    wanted.replaced.push((before, version.to_string()));
                }
            }
        }
        wanted.versions.insert(
            semver::Version::parse(&wanted.follow[&line]).expect("followed versions are checked"),
        );
        Ok(())
    }

    /// `--prune`: drops the follow entries of lines no platform follows and the releases
    /// no platform renders, the lock's included.
    fn prune(&self, wanted: &mut Wanted) {
        let fleet = self.args.fleet.as_deref().unwrap_or_default();
        wanted
            .follow
            .retain(|line, _| fleet.iter().any(|v| v.patch.is_none() && v.line == *line));
        let kept = self
            .old
            .iter()
            .flat_map(|o| o.releases.iter().map(LockedRelease::semver));
        let mut candidates: BTreeSet<semver::Version> = wanted.versions.clone();
        candidates.extend(kept);
        for version in candidates {
            if !is_used(&version, &wanted.follow, fleet) {
                wanted.versions.remove(&version);
                wanted.pruned.push(version.to_string());
            }
        }
    }

    /// Which tag (or, for `--locked` from a mirror without it, which commit) each wanted
    /// release is read from.
    fn plan(&self, wanted: Wanted, cache: &fetch::Cache, tag_names: &[String]) -> Result<Plan<'a>> {
        let releases = wanted
            .versions
            .iter()
            .map(|version| self.plan_release(version.clone(), cache, tag_names))
            .collect::<Result<_>>()?;
        Ok(Plan { wanted, releases })
    }

    fn plan_release(
        &self,
        version: semver::Version,
        cache: &fetch::Cache,
        tag_names: &[String],
    ) -> Result<Planned<'a>> {
        let source = &self.remotes.source;
        // The tag is kept across a change of remote; the commit check needs the same remote.
        let prior = self.old.and_then(|o| o.release(&version));
        let locked = prior.filter(|_| self.remotes.same_remote);
        let line = ReleaseLine::of_version(&version).expect("wanted releases are of a line");
        let mut by_commit = None;
        let tag = match (self.mode, prior) {
            (Mode::Locked | Mode::Keep, Some(entry)) if tag_names.contains(&entry.tag) => {
                entry.tag.clone()
            }
            (Mode::Locked, Some(entry)) => {
                // The lock pins the commit; the tag only names it.
                let Some(commit) = cache.has_commit(&entry.commit) else {
                    return Err(Error::Vendor(format!(
                        "--locked: {} does not serve Istio {} locked for line {line}: neither tag `{}` nor commit {} is there ({}); nothing was written",
                        self.remotes.served_by(),
                        entry.version,
                        entry.tag,
                        entry.commit,
                        resolve::describe_tags(line, tag_names)
                    )));
                };
                by_commit = Some(commit);
                entry.tag.clone()
            }
            (Mode::Keep, Some(entry)) => {
                return Err(Error::Vendor(format!(
                    "tag `{}` locked for Istio {version} is not at {source}; {}",
                    entry.tag,
                    resolve::describe_tags(line, tag_names)
                )));
            }
            _ => resolve::tag_for(&version, tag_names).ok_or_else(|| {
                Error::Vendor(format!(
                    "Istio {version} has no tag at {source}; {}",
                    resolve::describe_tags(line, tag_names)
                ))
            })?,
        };
        Ok(Planned {
            version,
            tag,
            locked,
            by_commit,
        })
    }

    /// Carries the plan out: fetches, builds every release in memory, writes them, then
    /// the lock.
    fn execute(&self, plan: Plan<'a>, cache: &fetch::Cache) -> Result<Outcome> {
        let Plan { wanted, releases } = plan;
        self.progress.stage(format!(
            "fetching {}",
            releases
                .iter()
                .map(|p| p.tag.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let fetched: Vec<String> = releases
            .iter()
            .filter(|p| p.by_commit.is_none())
            .map(|p| p.tag.clone())
            .collect();
        cache.fetch_tags(&fetched, self.progress)?;
        // Nothing is written unless every release builds.
        let built = releases
            .into_iter()
            .map(|planned| self.build(planned, cache))
            .collect::<Result<Vec<_>>>()?;
        let written = self.write_releases(&built)?;
        self.progress.finish();
        let new = self.write_lock(&wanted, &built)?;
        let unused = match &self.args.fleet {
            Some(fleet) => unused_releases(&new, fleet),
            None => Vec::new(),
        };
        let vendored = built
            .iter()
            .zip(written)
            .map(|((entry, _), written)| Vendored {
                version: entry.version.clone(),
                tag: entry.tag.clone(),
                commit: entry.commit.clone(),
                dir: self.istio_dir.join(&entry.version),
                written,
            })
            .collect();
        Ok(Outcome {
            vendored,
            unused,
            pruned: wanted.pruned,
            replaced: wanted.replaced,
        })
    }

    /// Reads one planned release from the cache, held to its lock entry.
    fn build(
        &self,
        planned: Planned<'_>,
        cache: &fetch::Cache,
    ) -> Result<(LockedRelease, ReleaseCharts)> {
        let Planned {
            version,
            tag,
            locked,
            by_commit,
        } = planned;
        let line = ReleaseLine::of_version(&version).expect("planned releases are of a line");
        let commit = match by_commit {
            Some(commit) => commit,
            None => cache.peel(&tag)?,
        };
        if let Some(entry) = locked.filter(|e| e.tag == tag) {
            self.check_tag_commit(entry, &version, &tag, commit)?;
        }
        self.progress.stage(format!("reading {tag}"));
        let (entry, charts) = build_release(&cache.repo, &version, &tag, commit)?;
        if self.mode == Mode::Locked {
            let expected = locked.expect("--locked releases are in the lock");
            if let Some(diff) = first_difference(expected, &entry) {
                return Err(Error::Vendor(format!(
                    "--locked: Istio {version} at {tag} no longer produces the locked charts ({diff}); run `meshgen vendor --update {line}` to review the change"
                )));
            }
        }
        Ok((entry, charts))
    }

    /// A locked tag found at another commit: a mirror that is no copy under `--locked`,
    /// accepted with a warning under `--update`, else an error.
    fn check_tag_commit(
        &self,
        entry: &LockedRelease,
        version: &semver::Version,
        tag: &str,
        commit: git2::Oid,
    ) -> Result<()> {
        if entry.commit == commit.to_string() {
            return Ok(());
        }
        let line = ReleaseLine::of_version(version).expect("planned releases are of a line");
        if self.mode == Mode::Locked && self.remotes.source != self.remotes.remote {
            // Not upstream moving a tag: the mirror is not a copy of the locked remote.
            return Err(Error::Vendor(format!(
                "--locked: {} does not serve Istio {} locked for line {line}: its tag `{tag}` is at {commit}, the lock has commit {}; nothing was written",
                self.remotes.served_by(),
                entry.version,
                entry.commit
            )));
        }
        if self.mode == Mode::Update {
            self.progress.warning(format!(
                "warning: tag {tag} of Istio {version} moved from {} to {commit}; --update accepts it",
                entry.commit
            ));
            return Ok(());
        }
        Err(Error::MovedTag {
            line: line.to_string(),
            tag: tag.to_string(),
            locked: entry.commit.clone(),
            found: commit.to_string(),
        })
    }

    /// Writes the built releases not already on disk byte for byte: whether each was.
    fn write_releases(&self, built: &[(LockedRelease, ReleaseCharts)]) -> Result<Vec<bool>> {
        let mut written = Vec::new();
        for (entry, charts) in built {
            if release_matches(&self.istio_dir, entry) {
                written.push(false);
                continue;
            }
            self.progress.stage(format!("writing {}", entry.version));
            install::install_release(&self.istio_dir, &entry.version, charts)?;
            written.push(true);
        }
        Ok(written)
    }

    /// The lock after the run, saved when it changed (never under `--locked`), and then
    /// the releases it no longer names removed from disk.
    fn write_lock(
        &self,
        wanted: &Wanted,
        built: &[(LockedRelease, ReleaseCharts)],
    ) -> Result<Lock> {
        let mut new = match self.old.filter(|_| self.remotes.same_remote) {
            Some(lock) => lock.clone(),
            None => Lock::new(self.remotes.remote.clone()),
        };
        if self.mode == Mode::Locked {
            return Ok(new);
        }
        new.follow = wanted.follow.clone();
        for (entry, _) in built {
            new.upsert(entry.clone());
        }
        for version in wanted
            .pruned
            .iter()
            .chain(wanted.replaced.iter().map(|(old, _)| old))
        {
            new.remove(version);
        }
        // Also when only the layout changes: a lock of the one-release-per-line layout is
        // rewritten.
        let rewrite = self.old != Some(&new)
            || std::fs::read_to_string(&self.lock_path).ok().as_deref()
                != Some(new.to_yaml().as_str());
        if !rewrite {
            return Ok(new);
        }
        new.save(&self.lock_path)?;
        // Only after the new lock is in place: releases the old lock named and the new does not.
        for gone in self
            .old
            .iter()
            .flat_map(|old| old.releases.iter())
            .filter(|o| !new.releases.iter().any(|n| n.version == o.version))
        {
            let path = self.istio_dir.join(&gone.version);
            if path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(new)
    }
}

/// Reads the charts of one release at `commit`, applies the release-archive patches and
/// computes the lock entry.
pub fn build_release(
    repo: &git2::Repository,
    version: &semver::Version,
    tag: &str,
    commit: git2::Oid,
) -> Result<(LockedRelease, ReleaseCharts)> {
    let line = ReleaseLine::of_version(version).ok_or_else(|| {
        Error::Vendor(format!("Istio {version} is not on a line meshgen supports"))
    })?;
    let mut charts = Vec::new();
    let mut locked_charts = Vec::new();
    for chart in line.charts().iter() {
        let mut files = extract::chart_files(repo, commit, chart.upstream_path, tag)?;
        let mut applied = Vec::new();
        match line.spec().vendored_values {
            VendoredValues::GeneratedFromTemplate => {
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
            // base carries no images, hence no global.hub to set.
            VendoredValues::ReleaseHubTag if chart.name != "base" => {
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
            VendoredValues::ReleaseHubTag => {}
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
    let entry = LockedRelease {
        line,
        version: version.to_string(),
        tag: tag.to_string(),
        commit: commit.to_string(),
        charts: locked_charts,
    };
    Ok((entry, charts))
}

/// The first way `got` differs from the locked entry, for the `--locked` error.
fn first_difference(locked: &LockedRelease, got: &LockedRelease) -> Option<String> {
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
    (locked != got).then(|| "release metadata differs".to_string())
}

/// Whether every chart of `entry` is already on disk with the right digest and nothing else
/// sits in the release directory.
fn release_matches(istio_dir: &Path, entry: &LockedRelease) -> bool {
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
