//! The chart digest recorded in the lock, and reading a vendored chart back from disk to
//! recompute it. The definition is in ARCHITECTURE.md ("Lock digest") so that another tool
//! can recompute it; keep the two in step.

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Git's mode of a regular file.
pub const MODE_FILE: u32 = 0o100644;
/// Git's mode of an executable file.
pub const MODE_EXEC: u32 = 0o100755;

/// One file of a chart: its path relative to the chart directory (forward slashes), its git
/// mode (`0o100644` or `0o100755`) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    pub path: String,
    pub mode: u32,
    pub content: Vec<u8>,
}

/// `sha256:<hex>` over the files sorted by path bytes, each contributing
/// `<mode in octal>\0<path>\0<length in decimal>\0<content>`. The length makes the
/// encoding unambiguous, so no two different charts share the byte stream.
pub fn chart_digest(files: &[ChartFile]) -> String {
    let mut sorted: Vec<&ChartFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut hasher = Sha256::new();
    for file in sorted {
        hasher.update(format!(
            "{:o}\0{}\0{}\0",
            file.mode,
            file.path,
            file.content.len()
        ));
        hasher.update(&file.content);
    }
    format!("sha256:{}", hex(&hasher.finalize()))
}

/// The per-file entry of the lock: `<mode in octal> sha256:<hex of the content>`.
pub fn file_entry(file: &ChartFile) -> String {
    format!(
        "{:o} sha256:{}",
        file.mode,
        hex(&Sha256::digest(&file.content))
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a vendored chart directory back as chart files. Anything that is not a regular file
/// or a directory (a symlink, say) is reported as an error naming it: vendoring never writes
/// one, so its presence is tampering.
pub fn read_dir(root: &Path) -> Result<Vec<ChartFile>> {
    let mut files = Vec::new();
    walk(root, "", &mut files)?;
    Ok(files)
}

fn walk(dir: &Path, prefix: &str, files: &mut Vec<ChartFile>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().into_string().map_err(|name| {
            Error::Vendor(format!(
                "{}: file name {name:?} is not UTF-8",
                dir.display()
            ))
        })?;
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, &rel, files)?;
        } else if meta.is_file() {
            let content = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            files.push(ChartFile {
                path: rel,
                mode: disk_mode(&meta),
                content,
            });
        } else {
            return Err(Error::Vendor(format!(
                "{}: not a regular file or directory (vendoring never writes one)",
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn disk_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    // Only the executable bit is meaningful, as in git: umask and group bits are not.
    if meta.permissions().mode() & 0o111 != 0 {
        MODE_EXEC
    } else {
        MODE_FILE
    }
}

#[cfg(not(unix))]
fn disk_mode(_meta: &std::fs::Metadata) -> u32 {
    MODE_FILE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: u32, content: &str) -> ChartFile {
        ChartFile {
            path: path.into(),
            mode,
            content: content.as_bytes().to_vec(),
        }
    }

    #[test]
    fn digest_matches_the_documented_byte_stream() {
        let files = vec![
            file("values.yaml", MODE_FILE, "a: 1\n"),
            file("Chart.yaml", MODE_EXEC, "name: x\n"),
        ];
        let stream = b"100755\0Chart.yaml\x008\0name: x\n100644\0values.yaml\x005\0a: 1\n";
        let expected = format!("sha256:{}", hex(&Sha256::digest(stream)));
        assert_eq!(chart_digest(&files), expected);
    }

    #[test]
    fn digest_is_order_independent_and_sensitive_to_mode_path_and_content() {
        let a = vec![file("a", MODE_FILE, "x"), file("b", MODE_FILE, "y")];
        let b = vec![file("b", MODE_FILE, "y"), file("a", MODE_FILE, "x")];
        assert_eq!(chart_digest(&a), chart_digest(&b));
        let mode = vec![file("a", MODE_EXEC, "x"), file("b", MODE_FILE, "y")];
        let moved = vec![file("a", MODE_FILE, "xy"), file("b", MODE_FILE, "")];
        assert_ne!(chart_digest(&a), chart_digest(&mode));
        assert_ne!(chart_digest(&a), chart_digest(&moved));
    }
}
