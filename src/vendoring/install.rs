//! Writing a release into the vendor tree so that a run killed at any moment leaves the
//! previous tree intact: files go into a temporary directory beside the target, which is then
//! renamed into place. Also the advisory lock that serialises runs on one vendor directory.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::digest::{ChartFile, MODE_EXEC};
use super::Progress;
use crate::error::{Error, Result};

const TMP_PREFIX: &str = ".tmp-";
const OLD_PREFIX: &str = ".old-";

/// An exclusive advisory lock on a file, released when dropped (or when the process dies,
/// so a killed run never leaves a stale lock behind). The file itself is removed when the
/// lock is released, so a run, failed or not, leaves no lock file behind; `acquire` checks
/// that the file it locked is still the one at the path, so removing it never lets two runs
/// hold the lock at once.
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Removed while still held, then unlocked by closing: a run waiting on this file
        // finds it gone once it gets the lock, and starts over on a new one.
        if cfg!(unix) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `file` (open) is the file now at `path`: a holder may have removed it meanwhile.
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at(_file: &File, _path: &Path) -> bool {
    true
}

impl FileLock {
    /// Takes the lock, waiting for another holder for up to `MESHGEN_LOCK_TIMEOUT` seconds
    /// (default 600), telling `progress` once that it waits, then failing with an error that
    /// names the file.
    pub fn acquire(path: &Path, what: &str, progress: &dyn Progress) -> Result<FileLock> {
        let open = || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, e))
        };
        let mut file = open()?;
        let timeout = std::env::var("MESHGEN_LOCK_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(600);
        let start = Instant::now();
        let mut told = false;
        loop {
            // Fully qualified: std's inherent `File::try_lock` (Rust 1.89+) would shadow it.
            match fs4::FileExt::try_lock(&file) {
                Ok(()) if still_at(&file, path) => {
                    return Ok(FileLock {
                        _file: file,
                        path: path.to_path_buf(),
                    })
                }
                // The holder removed the file as it let go: lock the one now at the path.
                Ok(()) => {
                    file = open()?;
                    continue;
                }
                Err(fs4::TryLockError::WouldBlock) => {}
                Err(fs4::TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
            if start.elapsed() >= Duration::from_secs(timeout) {
                return Err(Error::Vendor(format!(
                    "{what} is locked by another meshgen run ({} held for over {timeout}s); wait for it to finish, or raise MESHGEN_LOCK_TIMEOUT",
                    path.display()
                )));
            }
            if !told {
                progress.waiting(path);
                told = true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Undoes what a killed run may have left in `istio_dir`: removes unfinished temporary
/// releases, and puts back a release moved aside but never replaced.
pub fn recover(istio_dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(istio_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(istio_dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(istio_dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(TMP_PREFIX) {
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        } else if let Some(rest) = name.strip_prefix(OLD_PREFIX) {
            let version = rest.rsplit_once('-').map_or(rest, |(v, _)| v);
            let target = istio_dir.join(version);
            if target.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            } else {
                std::fs::rename(&path, &target).map_err(|e| Error::io(&target, e))?;
            }
        }
    }
    Ok(())
}

/// Writes the charts of one release to `istio_dir/<version>/<chart>/`, replacing what was
/// there only once every file is written.
pub fn install_release(
    istio_dir: &Path,
    version: &str,
    charts: &[(String, Vec<ChartFile>)],
) -> Result<PathBuf> {
    std::fs::create_dir_all(istio_dir).map_err(|e| Error::io(istio_dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{TMP_PREFIX}{version}-"))
        .tempdir_in(istio_dir)
        .map_err(|e| Error::io(istio_dir, e))?;
    let total: usize = charts.iter().map(|(_, files)| files.len()).sum();
    let mut written = 0;
    for (chart, files) in charts {
        for file in files {
            // Paths were checked component by component when read from git.
            let path = tmp.path().join(chart).join(&file.path);
            write_file(&path, file)?;
            written += 1;
            if written == total / 2 {
                super::failpoint("install-mid-write")?;
            }
        }
    }
    set_dir_mode(tmp.path())?;
    super::failpoint("install-before-rename")?;
    let target = istio_dir.join(version);
    let staged = tmp.keep();
    if target.exists() {
        // Same version rewritten (a repaired tree): move the old one aside first. A run killed
        // between the two renames is undone by `recover` on the next run.
        let aside = istio_dir.join(format!("{OLD_PREFIX}{version}-{}", std::process::id()));
        std::fs::rename(&target, &aside).map_err(|e| Error::io(&target, e))?;
        std::fs::rename(&staged, &target).map_err(|e| Error::io(&target, e))?;
        std::fs::remove_dir_all(&aside).map_err(|e| Error::io(&aside, e))?;
    } else {
        std::fs::rename(&staged, &target).map_err(|e| Error::io(&target, e))?;
    }
    Ok(target)
}

fn write_file(path: &Path, file: &ChartFile) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let budget = crate::fsutil::disk_full_failpoint().then_some(file.content.len() / 2);
    crate::fsutil::FaultyWriter::new(&mut out, budget)
        .write_all(&file.content)
        .map_err(|e| Error::io(path, e))?;
    set_file_mode(&out, file.mode == MODE_EXEC).map_err(|e| Error::io(path, e))
}

/// 0644 or 0755 whatever the umask, so the digest recomputed from disk is reproducible.
#[cfg(unix)]
fn set_file_mode(file: &File, exec: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(if exec {
        0o755
    } else {
        0o644
    }))
}

#[cfg(not(unix))]
fn set_file_mode(_file: &File, _exec: bool) -> std::io::Result<()> {
    Ok(())
}

/// The temporary directory is created 0700; the release directory should read like any other.
#[cfg(unix)]
fn set_dir_mode(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(dir, e))
}

#[cfg(not(unix))]
fn set_dir_mode(_dir: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendoring::digest::{chart_digest, read_dir, MODE_FILE};

    #[test]
    fn installs_then_replaces_a_release_and_reads_back_the_same_digest() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            ChartFile {
                path: "Chart.yaml".into(),
                mode: MODE_FILE,
                content: b"name: x\n".to_vec(),
            },
            ChartFile {
                path: "bin/run.sh".into(),
                mode: MODE_EXEC,
                content: b"#!/bin/sh\n".to_vec(),
            },
        ];
        let target =
            install_release(dir.path(), "1.0.9", &[("istio".into(), files.clone())]).unwrap();
        assert_eq!(
            chart_digest(&read_dir(&target.join("istio")).unwrap()),
            chart_digest(&files)
        );
        let changed = vec![files[0].clone()];
        install_release(dir.path(), "1.0.9", &[("istio".into(), changed.clone())]).unwrap();
        assert_eq!(
            chart_digest(&read_dir(&target.join("istio")).unwrap()),
            chart_digest(&changed)
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("1.0.9")],
            "nothing left beside it"
        );
    }

    #[test]
    fn recover_puts_back_a_release_moved_aside_and_drops_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".old-1.0.9-42/istio")).unwrap();
        std::fs::create_dir_all(dir.path().join(".tmp-1.0.9-abc/istio")).unwrap();
        recover(dir.path()).unwrap();
        assert!(dir.path().join("1.0.9/istio").is_dir());
        assert!(!dir.path().join(".tmp-1.0.9-abc").exists());
    }
}
