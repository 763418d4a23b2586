//! The IstioOperator profiles of a release (`manifests/profiles/<name>.yaml`), for `meshgen
//! import`: read from git at the commit the lock pins for the release (else at its tag), through
//! the vendoring cache. They are not vendored: only import reads them, and the lock's digests
//! stay the charts'.

use std::path::Path;

use git2::Oid;

use super::fetch::{self, Cache};
use super::lock::{self, Lock};
use super::{extract, resolve, Progress};
use crate::error::{Error, Result};

/// One release's profiles, its commit fetched.
pub struct Profiles {
    cache: Cache,
    commit: Oid,
    tag: String,
}

impl Profiles {
    /// Opens the remote (`remote`, else the lock's, else istio/istio, after git's `insteadOf`
    /// as read from `dir`'s repository) and fetches the release's commit if the cache lacks it.
    pub fn open(
        dir: &Path,
        lock: Option<&Lock>,
        remote: Option<&str>,
        version: &semver::Version,
        progress: &dyn Progress,
    ) -> Result<Profiles> {
        let remote = match (remote, lock) {
            (Some(given), _) => given.to_string(),
            (None, Some(lock)) => lock.remote.clone(),
            (None, None) => lock::DEFAULT_REMOTE.to_string(),
        };
        let source = fetch::rewrite_url(&remote, Some(dir));
        let cache = Cache::open(&fetch::default_cache_root()?, &source, progress)?;
        let locked = lock.and_then(|l| l.release(version));
        if let Some(commit) = locked.and_then(|r| cache.has_commit(&r.commit)) {
            let tag = locked.map(|r| r.tag.clone()).unwrap_or_default();
            return Ok(Profiles { cache, commit, tag });
        }
        let tags: Vec<String> = cache.list_tags()?.keys().cloned().collect();
        let tag = resolve::tag_for(version, &tags)
            .ok_or_else(|| Error::Vendor(format!("{source} has no tag for Istio {version}")))?;
        cache.fetch_tags(std::slice::from_ref(&tag), progress)?;
        let commit = cache.peel(&tag)?;
        if let Some(l) = locked.filter(|l| l.commit != commit.to_string()) {
            // The lock binds: a tag moved since is not read silently.
            return Err(Error::Vendor(format!(
                "tag {tag} of {source} is at {commit}, the lock pins {}",
                l.commit
            )));
        }
        progress.finish();
        Ok(Profiles { cache, commit, tag })
    }

    /// The profile `name`; None when the release has none of that name.
    pub fn read(&self, name: &str) -> Result<Option<(String, String)>> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Ok(None);
        }
        let path = format!("manifests/profiles/{name}.yaml");
        let Ok(bytes) = extract::blob_at(&self.cache.repo, self.commit, &path, &self.tag) else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Vendor(format!("{}:{path}: not UTF-8", self.tag)))?;
        Ok(Some((format!("{}:{path}", self.tag), text)))
    }
}
