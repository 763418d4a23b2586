//! Where the git objects come from. For a URL: a bare cache repository kept per remote under
//! the user's cache directory, into which just the tags a run needs are fetched (shallow
//! where the transport supports it), with git2. For a local repository path: that repository,
//! read in place; copying it into a cache would read every object it has, and a mirror may
//! lack large files that no chart needs.
//!
//! Git's `url.<base>.insteadOf` settings are applied first, so a mirror can stand in for the
//! public URL while the lock keeps recording the public URL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{AutotagOption, Direction, FetchOptions, Oid, RemoteCallbacks, Repository};
use sha2::{Digest as _, Sha256};

use super::install::FileLock;
use super::Progress;
use crate::error::{Error, Result};

/// One tag as the remote advertises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTag {
    /// The object the tag ref points at: a tag object for annotated tags.
    pub target: Oid,
}

/// The repository charts are read from: a bare cache of a URL, locked for the run so two
/// runs never update its refs at once, or a local repository read in place.
pub struct Cache {
    pub repo: Repository,
    url: String,
    /// The bare cache's directory; None when reading a local repository in place.
    git_dir: Option<PathBuf>,
    /// The cache's lock; None when reading a local repository in place.
    _lock: Option<FileLock>,
}

/// A cache that holds no ref when the run lets go of it (its first fetch failed: unreachable
/// remote, no such tag, interrupted) is removed, lock file included, so no empty or
/// half-filled cache outlives the run; one that holds refs keeps them for the next run.
impl Drop for Cache {
    fn drop(&mut self) {
        let Some(git_dir) = &self.git_dir else {
            return;
        };
        let has_refs = self
            .repo
            .references()
            .map(|mut refs| refs.next().is_some())
            .unwrap_or(false);
        if !has_refs {
            let _ = std::fs::remove_dir_all(git_dir);
        }
        // `_lock` is released after this, removing its file.
    }
}

/// Removes the `*.lock` files git leaves beside a ref, the config or `shallow` when it is
/// killed mid-write (git refuses to write such a file again while it exists). Only called
/// while holding the cache's own lock, so no live git process owns them. Objects are skipped.
fn remove_git_locks(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if file_type.is_dir() {
            if entry.file_name() != "objects" {
                remove_git_locks(&path)?;
            }
        } else if path.extension().is_some_and(|e| e == "lock") {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// `url` rewritten by git's `url.<base>.insteadOf` settings, read as git reads them for a
/// command run in `dir`: the configuration of the repository holding `dir` (found as git finds
/// it, walking up to the nearest `.git`), over the user's global and XDG files and the system
/// file. As git does, the longest matching prefix wins, whichever file says it; between equal
/// prefixes, the base git met first (system, then global, then the repository) wins, which is
/// what `git ls-remote --get-url` prints.
pub fn rewrite_url(url: &str, dir: Option<&Path>) -> String {
    let repo_config = dir
        .and_then(|d| Repository::discover(d).ok())
        .and_then(|repo| repo.config().ok());
    let Some(config) = repo_config.or_else(|| git2::Config::open_default().ok()) else {
        return url.to_string();
    };
    // (level, base, prefix), in the order git reads them: libgit2 lists the highest level first.
    let mut rules: Vec<(i32, String, String)> = Vec::new();
    if let Ok(mut entries) = config.entries(Some(r"url\..*\.insteadof")) {
        while let Some(Ok(entry)) = entries.next() {
            let (Ok(name), Ok(prefix)) = (entry.name(), entry.value()) else {
                continue;
            };
            let base = &name["url.".len()..name.len() - ".insteadof".len()];
            rules.push((entry.level() as i32, base.to_string(), prefix.to_string()));
        }
    }
    rules.sort_by_key(|r| r.0); // stable: each file's own order is kept
                                // Git groups the prefixes by base, in the order it first meets each base.
    let mut bases: Vec<&str> = Vec::new();
    for (_, base, _) in &rules {
        if !bases.contains(&base.as_str()) {
            bases.push(base);
        }
    }
    let mut best: Option<(usize, String)> = None;
    for base in bases {
        for (_, _, prefix) in rules.iter().filter(|r| r.1 == base) {
            if url.starts_with(prefix.as_str())
                && best.as_ref().is_none_or(|(len, _)| prefix.len() > *len)
            {
                best = Some((prefix.len(), format!("{base}{}", &url[prefix.len()..])));
            }
        }
    }
    best.map_or_else(|| url.to_string(), |(_, rewritten)| rewritten)
}

/// Whether git would treat `url` as a local path (not `file://`, which goes through the
/// transport like any URL).
pub fn is_local_path(url: &str) -> bool {
    !looks_like_url(url) && Path::new(url).exists()
}

/// `scheme://...` or scp-like `user@host:path`.
pub fn looks_like_url(url: &str) -> bool {
    url.contains("://") || (url.contains('@') && url.contains(':'))
}

/// Where caches live: `MESHGEN_CACHE_DIR` / `--cache-dir`, else `$XDG_CACHE_HOME/meshgen`,
/// else `~/.cache/meshgen`.
pub fn default_cache_root() -> Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
        if xdg.is_absolute() {
            return Ok(xdg.join("meshgen"));
        }
    }
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".cache").join("meshgen")),
        _ => Err(Error::Usage(
            "no cache directory: set --cache-dir or MESHGEN_CACHE_DIR (neither XDG_CACHE_HOME nor HOME is set)".into(),
        )),
    }
}

impl Cache {
    /// Opens (creating it if needed) the cache of `url` under `root`. The directory name is
    /// readable and unique: the last path segment of the URL and a hash of the whole URL.
    pub fn open(root: &Path, url: &str, progress: &dyn Progress) -> Result<Cache> {
        if is_local_path(url) {
            let repo = Repository::open(url).map_err(|e| {
                Error::Vendor(format!(
                    "remote {url}: not a git repository: {}",
                    e.message()
                ))
            })?;
            return Ok(Cache {
                repo,
                url: url.to_string(),
                git_dir: None,
                _lock: None,
            });
        }
        let tail: String = url
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .rsplit(['/', '\\', ':'])
            .next()
            .unwrap_or("remote")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let hash: String = Sha256::digest(url.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let git_dir = root.join("git").join(format!("{tail}-{hash}.git"));
        std::fs::create_dir_all(root.join("git")).map_err(|e| Error::io(root.join("git"), e))?;
        let lock = FileLock::acquire(
            &git_dir.with_extension("git.lock"),
            "the git cache",
            progress,
        )?;
        // We hold the cache: whatever a killed or failed run left is ours to repair.
        let repo = match Repository::open_bare(&git_dir) {
            Ok(repo) => {
                remove_git_locks(&git_dir)?;
                repo
            }
            Err(_) => {
                // Missing, empty or half-initialised: start it over.
                if git_dir.exists() {
                    std::fs::remove_dir_all(&git_dir).map_err(|e| Error::io(&git_dir, e))?;
                }
                Repository::init_bare(&git_dir).map_err(|e| {
                    Error::Vendor(format!(
                        "creating the git cache {}: {}",
                        git_dir.display(),
                        e.message()
                    ))
                })?
            }
        };
        Ok(Cache {
            repo,
            url: url.to_string(),
            git_dir: Some(git_dir),
            _lock: Some(lock),
        })
    }

    /// The URL or path the objects come from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the repository holds `commit` (a hex id) as a commit.
    pub fn has_commit(&self, commit: &str) -> Option<Oid> {
        let oid = Oid::from_str(commit).ok()?;
        self.repo.find_commit(oid).ok().map(|c| c.id())
    }

    /// The tags the remote advertises, by name (`refs/tags/` stripped, peeled `^{}` entries
    /// dropped: peeling is done on the fetched objects, which we can trust).
    pub fn list_tags(&self) -> Result<BTreeMap<String, RemoteTag>> {
        if self.git_dir.is_none() {
            return self.local_tags();
        }
        let mut remote = self.remote()?;
        remote
            .connect(Direction::Fetch)
            .map_err(|e| self.unreachable(e))?;
        let heads = remote.list().map_err(|e| self.unreachable(e))?;
        let tags = heads
            .iter()
            .filter_map(|head| {
                let name = head.name().strip_prefix("refs/tags/")?;
                (!name.ends_with("^{}"))
                    .then(|| (name.to_string(), RemoteTag { target: head.oid() }))
            })
            .collect();
        let _ = remote.disconnect();
        Ok(tags)
    }

    /// Fetches exactly `tags` (forced, so a moved tag is seen as moved), depth 1 where the
    /// transport supports shallow fetches and in full where it does not (local paths).
    pub fn fetch_tags(&self, tags: &[String], progress: &dyn Progress) -> Result<()> {
        if tags.is_empty() || self.git_dir.is_none() {
            return Ok(());
        }
        let refspecs: Vec<String> = tags
            .iter()
            .map(|t| format!("+refs/tags/{t}:refs/tags/{t}"))
            .collect();
        match self.fetch(&refspecs, Some(1), progress) {
            Err(e) if is_shallow_unsupported(&e) => self.fetch(&refspecs, None, progress),
            other => other,
        }
        .map_err(|e| {
            Error::Vendor(format!(
                "fetching tags {} from {}: {}",
                tags.join(", "),
                self.url,
                e.message()
            ))
        })
    }

    fn fetch(
        &self,
        refspecs: &[String],
        depth: Option<i32>,
        progress: &dyn Progress,
    ) -> Result<(), git2::Error> {
        let mut callbacks = RemoteCallbacks::new();
        callbacks.transfer_progress(|stats| {
            progress.transfer(
                stats.received_objects() as u64,
                stats.total_objects() as u64,
            );
            true
        });
        let mut options = FetchOptions::new();
        options
            .remote_callbacks(callbacks)
            .download_tags(AutotagOption::None)
            .update_fetchhead(false);
        if let Some(depth) = depth {
            options.depth(depth);
        }
        let mut remote = self.repo.remote_anonymous(&self.url)?;
        remote.fetch(refspecs, Some(&mut options), None)
    }

    /// The commit a fetched tag peels to.
    pub fn peel(&self, tag: &str) -> Result<Oid> {
        self.repo
            .revparse_single(&format!("refs/tags/{tag}"))
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| {
                Error::Vendor(format!(
                    "tag {tag} does not peel to a commit: {}",
                    e.message()
                ))
            })
    }

    fn local_tags(&self) -> Result<BTreeMap<String, RemoteTag>> {
        let refs = self.repo.references_glob("refs/tags/*").map_err(|e| {
            Error::Vendor(format!("listing the tags of {}: {}", self.url, e.message()))
        })?;
        Ok(refs
            .filter_map(|r| r.ok())
            .filter_map(|r| {
                let name = r.name().ok()?.strip_prefix("refs/tags/")?.to_string();
                let target = r.target()?;
                Some((name, RemoteTag { target }))
            })
            .collect())
    }

    fn remote(&self) -> Result<git2::Remote<'_>> {
        self.repo
            .remote_anonymous(&self.url)
            .map_err(|e| Error::Vendor(format!("remote `{}`: {}", self.url, e.message())))
    }

    fn unreachable(&self, e: git2::Error) -> Error {
        Error::Vendor(format!(
            "cannot read the tags of remote `{}`: {} (check --remote, or the network)",
            self.url,
            e.message()
        ))
    }
}

fn is_shallow_unsupported(e: &git2::Error) -> bool {
    let message = e.message().to_ascii_lowercase();
    message.contains("shallow") || message.contains("depth")
}
