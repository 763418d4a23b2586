//! File access with the guarantees every command relies on: atomic writes (a temporary file
//! beside the target, synced unless it is rebuilt on every run, then renamed over it, so that readers see the old content or
//! the new, never half of it, and a failed write leaves nothing behind) and bounded reads
//! (an input over its documented size is refused without reading it all, even from a
//! device or a pipe whose size is unknown).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Name prefix and suffix of the temporary file `write_atomic` writes beside its target.
/// A process killed before the rename leaves one behind; a command that owns the directory
/// (`vendor`, under its run lock) removes them with `remove_stale_temporaries`.
pub const TMP_PREFIX: &str = ".meshgen-";
pub const TMP_SUFFIX: &str = ".tmp";

/// Whether a file name is that of a temporary file `write_atomic` writes (`.meshgen-XXXXXX.tmp`).
pub fn is_temporary(name: &str) -> bool {
    name.len() > TMP_PREFIX.len() + TMP_SUFFIX.len()
        && name.starts_with(TMP_PREFIX)
        && name.ends_with(TMP_SUFFIX)
}

/// Removes the temporary files a killed `write_atomic` left in `dir`. Only for a directory
/// no other meshgen process writes into at the same time.
pub fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_temporary(&name) {
            let path = entry.path();
            if path.is_file() {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    Ok(())
}

/// Writes `content` to `path` atomically and durably (synced before the rename). The parent
/// directory must exist (a mistyped `-o` path is an error, not a new tree: `create_parent`
/// is for the trees meshgen owns). The file keeps the mode of the file it replaces, else gets
/// 0666 less the umask, as any file a shell redirection creates.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
    write_atomic_then(path, content, || Ok(()))
}

/// As `write_atomic`, without the sync: for files rebuilt from their inputs on every run
/// (`meshgen generate`), where a sync per file would cost more than the rendering (11 s
/// against 0.1 s for 16,667 files here). Readers still see the old file or the new one,
/// whole; after a crash the next run writes what is missing.
pub fn write_atomic_unsynced(path: &Path, content: &[u8]) -> Result<()> {
    write_atomic_inner(path, content, false, || Ok(()))
}

/// `write_atomic` running `before_rename` once the content is safely in the temporary file.
pub(crate) fn write_atomic_then(
    path: &Path,
    content: &[u8],
    before_rename: impl FnOnce() -> Result<()>,
) -> Result<()> {
    write_atomic_inner(path, content, true, before_rename)
}

fn write_atomic_inner(
    path: &Path,
    content: &[u8],
    sync: bool,
    before_rename: impl FnOnce() -> Result<()>,
) -> Result<()> {
    write_atomic_with(path, fill(content, sync), before_rename)
}

/// What fills a temporary file with `content` (synced if `sync`), through the writer that
/// fails like a full disk when the failpoint is on.
fn fill(content: &[u8], sync: bool) -> impl FnOnce(&mut File) -> std::io::Result<()> + '_ {
    let budget = disk_full_failpoint().then_some(content.len() / 2);
    move |file| {
        FaultyWriter::new(&mut *file, budget).write_all(content)?;
        if sync {
            file.sync_all()?;
        }
        Ok(())
    }
}

/// The core of `write_atomic`: `write` fills (and syncs, if it should) the temporary file (a
/// test writes through a writer that fails like a full disk), and `before_rename` runs just before the rename
/// (the lock's failpoint). On any error the temporary file is removed
/// (dropping `NamedTempFile` deletes it) and the target is untouched.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
    before_rename: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let parent = parent_of(path);
    if !parent.is_dir() {
        return Err(Error::io(
            parent,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such directory (meshgen does not create it: create it first)",
            ),
        ));
    }
    let existing = std::fs::metadata(path).ok().filter(|m| m.is_file());
    through_temporary(
        path,
        existing.map(|m| m.permissions()),
        write,
        before_rename,
    )
}

/// As `write_atomic_unsynced`, for a file a plan has just seen absent, in a directory that
/// exists (`generate`'s new files): it skips the look at the directory and at a file to
/// take the mode of, two of the five system calls a file costs.
pub fn create_atomic_unsynced(path: &Path, content: &[u8]) -> Result<()> {
    through_temporary(path, None, fill(content, false), || Ok(()))
}

/// Writes a temporary file beside `path` (with `mode`, else 0666 less the umask) and renames
/// it over `path`; on any error the temporary file is removed and `path` is untouched.
fn through_temporary(
    path: &Path,
    mode: Option<std::fs::Permissions>,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
    before_rename: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let parent = parent_of(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(TMP_PREFIX).suffix(TMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Created through open(2), so the umask applies, as to a shell redirection.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    if let Some(mode) = mode {
        // Replacing a file keeps its mode (a 0644 file stays 0644, an executable stays one).
        tmp.as_file()
            .set_permissions(mode)
            .map_err(|e| Error::io(path, e))?;
    }
    write(tmp.as_file_mut()).map_err(|e| Error::io(path, e))?;
    before_rename()?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// The directory a file is written in (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates the directories above `path`, for the trees meshgen owns (`generated/`,
/// `vendor/`, `schemas/`, a new repository of `init`).
pub fn create_parent(path: &Path) -> Result<()> {
    let parent = parent_of(path);
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))
}

/// A directory tree built beside `target` under a temporary name and renamed onto it whole:
/// readers see no tree or all of it, and a build that fails (the value dropped) leaves
/// nothing. Its files are created in place, where a file of an existing tree costs a
/// temporary file and a rename of its own (`meshgen generate` into a new tree). A killed
/// process leaves its staged tree (`.meshgen-TARGET-XXXXXX.tmp`); the next one for the same
/// target removes it.
#[derive(Debug)]
pub struct StagedDir {
    staging: tempfile::TempDir,
    target: PathBuf,
}

impl StagedDir {
    /// Starts the tree of `target`, whose parent must exist, in that parent (a rename never
    /// crosses file systems). Its mode is a new directory's: 0777 less the umask.
    pub fn new(target: &Path) -> Result<Self> {
        let parent = parent_of(target);
        let prefix = Self::prefix(target);
        Self::remove_abandoned(parent, &prefix)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(TMP_SUFFIX);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o777));
        }
        let staging = builder
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        Ok(StagedDir {
            staging,
            target: target.to_path_buf(),
        })
    }

    /// The name of a staged tree of `target` starts with this.
    fn prefix(target: &Path) -> String {
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        format!("{TMP_PREFIX}{name}-")
    }

    /// Removes the staged trees killed processes left in `parent`. (Two processes building
    /// one target at once: the later one removes the earlier one's, which then fails on its
    /// next write, naming the file; neither leaves a partial tree.)
    fn remove_abandoned(parent: &Path, prefix: &str) -> Result<()> {
        let entries = std::fs::read_dir(parent).map_err(|e| Error::io(parent, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let random = name
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(TMP_SUFFIX));
            // tempfile's six random letters and digits: not another target's tree.
            if random.is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
                && entry.file_type().is_ok_and(|t| t.is_dir())
            {
                let path = entry.path();
                std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(())
    }

    /// Where `path`, a path under the target, is while the tree is staged. A path outside
    /// the target is refused: it would be written outside the staged tree.
    fn staged(&self, path: &Path) -> Result<PathBuf> {
        let within = path.strip_prefix(&self.target).map_err(|_| {
            Error::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("not under {}", self.target.display()),
                ),
            )
        })?;
        Ok(self.staging.path().join(within))
    }

    /// Creates the directory `dir` of the tree (named as under the target, which is there
    /// already); its parent must exist. Errors name `dir`.
    pub fn create_dir(&self, dir: &Path) -> Result<()> {
        if dir == self.target {
            return Ok(());
        }
        std::fs::create_dir(self.staged(dir)?).map_err(|e| Error::io(dir, e))
    }

    /// Writes the new file `path` of the tree (named as under the target), unsynced (as
    /// `write_atomic_unsynced`: the tree is rebuilt from its inputs); its directory must
    /// exist. Errors name `path`.
    pub fn create_file(&self, path: &Path, content: &[u8]) -> Result<()> {
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(self.staged(path)?)
            .map_err(|e| Error::io(path, e))?;
        fill(content, false)(&mut file).map_err(|e| Error::io(path, e))
    }

    /// Renames the tree onto `target`. Should `target` have appeared meanwhile with anything
    /// in it, the rename fails and the staged tree is removed.
    pub fn commit(self) -> Result<()> {
        std::fs::rename(self.staging.path(), &self.target).map_err(|e| {
            Error::io(
                &self.target,
                std::io::Error::new(
                    e.kind(),
                    format!("{e} (it appeared while this run wrote it under a temporary name: run it again)"),
                ),
            )
        })?;
        // Renamed: nothing is left under the staging name to remove.
        let _ = self.staging.keep();
        Ok(())
    }
}

/// A writer that fails with "no space left on device" once `budget` bytes are written; with
/// no budget it passes everything through.
pub struct FaultyWriter<W> {
    inner: W,
    budget: Option<usize>,
}

impl<W: Write> FaultyWriter<W> {
    pub fn new(inner: W, budget: Option<usize>) -> Self {
        FaultyWriter { inner, budget }
    }
}

impl<W: Write> Write for FaultyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.budget {
            None => self.inner.write(buf),
            Some(0) => Err(std::io::Error::from_raw_os_error(28)), // ENOSPC
            Some(left) => {
                let n = self.inner.write(&buf[..buf.len().min(*left)])?;
                *left -= n;
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `MESHGEN_FAILPOINT=disk-full`: writes fail half-way as on a full disk. Debug builds only,
/// like the vendor failpoints, so that a released binary cannot be made to fail this way.
pub(crate) fn disk_full_failpoint() -> bool {
    cfg!(debug_assertions) && std::env::var("MESHGEN_FAILPOINT").is_ok_and(|v| v == "disk-full")
}

/// Why a bounded read did not return the bytes.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// The input has more than the limit; `at_least` is what was seen before stopping.
    TooLarge {
        at_least: u64,
    },
}

/// Reads at most `max` bytes of `path`. The size on disk is checked first (no read at all for
/// a large regular file), then the read itself stops after `max + 1` bytes, which bounds
/// devices and pipes that report no size (`/dev/zero`).
pub fn read_bounded(path: &Path, max: usize) -> std::result::Result<Vec<u8>, ReadError> {
    let file = File::open(path).map_err(ReadError::Io)?;
    let len = file.metadata().map_err(ReadError::Io)?.len();
    if len > max as u64 {
        return Err(ReadError::TooLarge { at_least: len });
    }
    // Sized from the start: an empty buffer grows through a read per doubling.
    read_to_limit_into(file, max, Vec::with_capacity(len as usize + 1))
}

/// Reads a stream to its end, refusing it once it has more than `max` bytes.
pub fn read_to_limit(reader: impl Read, max: usize) -> std::result::Result<Vec<u8>, ReadError> {
    read_to_limit_into(reader, max, Vec::new())
}

fn read_to_limit_into(
    reader: impl Read,
    max: usize,
    mut bytes: Vec<u8>,
) -> std::result::Result<Vec<u8>, ReadError> {
    reader
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() > max {
        return Err(ReadError::TooLarge {
            at_least: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_staged_tree_appears_whole_with_a_new_directory_s_mode() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let staged = StagedDir::new(&target).unwrap();
        staged.create_dir(&target).unwrap();
        staged.create_dir(&target.join("p")).unwrap();
        staged
            .create_file(&target.join("p/values.yaml"), b"a: 1\n")
            .unwrap();
        // A path outside the target is refused, not written elsewhere.
        let outside = root.path().join("elsewhere");
        let err = staged.create_file(&outside, b"x").unwrap_err().to_string();
        assert!(err.contains("not under"), "{err}");
        // Nothing at the target until the commit.
        assert!(!target.exists());
        staged.commit().unwrap();
        assert_eq!(names(root.path()), ["out"]);
        assert_eq!(
            std::fs::read_to_string(target.join("p/values.yaml")).unwrap(),
            "a: 1\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let plain = root.path().join("plain");
            std::fs::create_dir(&plain).unwrap();
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode(&target), mode(&plain));
            std::fs::write(plain.join("f"), "").unwrap();
            assert_eq!(mode(&target.join("p/values.yaml")), mode(&plain.join("f")));
        }
    }

    #[test]
    fn a_staged_tree_dropped_or_refused_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let staged = StagedDir::new(&target).unwrap();
        staged.create_file(&target.join("half"), b"x").unwrap();
        drop(staged);
        assert_eq!(names(root.path()), Vec::<String>::new());

        // The target appeared meanwhile, with something in it: it stays as it is.
        let staged = StagedDir::new(&target).unwrap();
        staged.create_file(&target.join("new"), b"x").unwrap();
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("theirs"), "kept").unwrap();
        let err = staged.commit().unwrap_err().to_string();
        assert!(err.contains("out") && err.contains("run it again"), "{err}");
        assert_eq!(names(root.path()), ["out"]);
        assert_eq!(names(&target), ["theirs"]);
    }

    #[test]
    fn a_new_staged_tree_removes_what_a_killed_one_left_of_its_target_only() {
        let root = tempfile::tempdir().unwrap();
        let killed = root.path().join(".meshgen-out-Ab12Cd.tmp");
        std::fs::create_dir_all(killed.join("p")).unwrap();
        std::fs::write(killed.join("p/values.yaml"), "half").unwrap();
        let others = [
            ".meshgen-out-other-Ab12Cd.tmp", // the tree of a target named `out-other`
            ".meshgen-output-Ab12Cd.tmp",
            ".meshgen-out-Ab12.tmp",
        ];
        for name in others {
            std::fs::create_dir(root.path().join(name)).unwrap();
        }
        std::fs::write(root.path().join(".meshgen-out-Zz99Yy.tmp"), "a file").unwrap();
        let staged = StagedDir::new(&root.path().join("out")).unwrap();
        staged.commit().unwrap();
        let mut expected: Vec<&str> = others.to_vec();
        expected.extend([".meshgen-out-Zz99Yy.tmp", "out"]);
        expected.sort();
        assert_eq!(names(root.path()), expected);
    }

    #[test]
    fn a_full_disk_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("values.yaml");
        std::fs::write(&path, "old\n").unwrap();
        let content = vec![b'x'; 100_000];
        for budget in [0, 1, 4096, 99_999] {
            let err = write_atomic_with(
                &path,
                |f| FaultyWriter::new(f, Some(budget)).write_all(&content),
                || Ok(()),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("values.yaml"), "{err}");
            assert!(err.contains("No space left on device"), "{err}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
            assert_eq!(names(dir.path()), ["values.yaml"], "budget {budget}");
        }
        // A failure just before the rename also leaves nothing behind.
        let err = write_atomic_with(
            &path,
            |f| f.write_all(b"new\n"),
            || Err(Error::Usage("stop".into())),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "stop");
        assert_eq!(names(dir.path()), ["values.yaml"]);
        write_atomic(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(names(dir.path()), ["values.yaml"]);
    }

    #[test]
    fn bounded_reads_stop_at_the_limit_even_without_a_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'a'; 11]).unwrap();
        assert!(matches!(
            read_bounded(&path, 10),
            Err(ReadError::TooLarge { at_least: 11 })
        ));
        assert_eq!(read_bounded(&path, 11).unwrap().len(), 11);
        // A device that never ends: refused after max + 1 bytes.
        if Path::new("/dev/zero").exists() {
            assert!(matches!(
                read_bounded(Path::new("/dev/zero"), 1 << 16),
                Err(ReadError::TooLarge { .. })
            ));
        }
    }
}
