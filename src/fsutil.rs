//! Atomic file writes: a temporary file beside the target, then renamed over it, so that
//! readers see the old content or the new, never half of it.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `content` to `path` atomically and durably (synced before the rename), creating
/// parent directories.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
    write(path, content, true)
}

/// As `write_atomic`, without the sync: for files rebuilt from their inputs on every run
/// (`meshgen generate`), where a sync per file would cost more than the rendering (11 s
/// against 0.1 s for 16,667 files here). Readers still see the old file or the new one,
/// whole; after a crash the next run writes what is missing.
pub fn write_atomic_unsynced(path: &Path, content: &[u8]) -> Result<()> {
    write(path, content, false)
}

fn write(path: &Path, content: &[u8], sync: bool) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".meshgen-")
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    tmp.write_all(content)
        .and_then(|()| {
            if sync {
                tmp.as_file().sync_all()
            } else {
                Ok(())
            }
        })
        .map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
