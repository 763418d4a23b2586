//! Atomic file writes: a temporary file beside the target, synced, then renamed over it,
//! so that readers see the old content or the new, never half of it.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `content` to `path` atomically, creating parent directories.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<()> {
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
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
