//! The generated schema files a repository keeps (`meshgen schema --write`, `init`): the
//! platform schema and the lock's, the field reference generated beside them, and which of
//! them are stale on disk.

use std::path::Path;

use crate::error::{Error, Result};

/// The generated files `meshgen schema --write` keeps current: (path, content).
pub fn files() -> Vec<(&'static str, String)> {
    vec![
        (
            crate::model::schema::PLATFORM_SCHEMA_PATH,
            crate::model::schema::platform_schema_text(),
        ),
        (
            "schemas/lock.schema.json",
            crate::vendoring::lock::json_schema(),
        ),
        (
            crate::gitops::field_reference::FIELD_REFERENCE_PATH,
            crate::gitops::field_reference::markdown(),
        ),
    ]
}

/// Refuses a `DIR` that is the `schemas/` directory itself (it holds the schema files and no
/// `schemas/` of its own): the files go under `DIR/schemas/`, so `schemas` would mean
/// `schemas/schemas/`. The error names the directory to give instead.
pub fn check_dir(dir: &Path, flag: &str) -> Result<()> {
    let Some((first, _)) = files().into_iter().next() else {
        return Ok(());
    };
    let name = Path::new(first).file_name().unwrap_or_default();
    if dir.join(name).is_file() && !dir.join("schemas").is_dir() {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
            _ => ".".to_string(),
        };
        return Err(Error::Usage(format!(
            "{} holds the schema files itself, but {flag} takes the directory above `schemas/`: run `meshgen schema {flag} {parent}`",
            dir.display()
        )));
    }
    Ok(())
}

/// A unified diff for each schema file under `dir` that differs from what meshgen generates
/// (a missing file differs in full); empty when all are current.
pub fn stale(dir: &Path) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for (rel, content) in files() {
        let path = dir.join(rel);
        let current = read_generated(&path, content.len())?;
        if current != content {
            stale.push(crate::diff::unified(
                &path.display().to_string(),
                &current,
                &content,
            ));
        }
    }
    Ok(stale)
}

/// A generated file as it is on disk for `--check`: empty when absent (all of it is then
/// stale), an error naming it when it cannot be read. Only a little more than the expected
/// length is read: anything longer is stale whatever it holds.
fn read_generated(path: &Path, expected_len: usize) -> Result<String> {
    let limit = expected_len + 1;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let bytes = match crate::fsutil::read_to_limit(file, limit) {
        Ok(bytes) => bytes,
        Err(crate::fsutil::ReadError::Io(e)) => return Err(Error::io(path, e)),
        Err(crate::fsutil::ReadError::TooLarge { .. }) => {
            return Ok(format!("(more than {limit} bytes)\n"))
        }
    };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
