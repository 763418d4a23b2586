//! Reading a chart subtree straight from git tree objects. There is no working-tree checkout
//! and no blob outside the chart path is read, so a mirror that lacks unrelated large files
//! still vendors, and nothing in the repository can make meshgen write outside the chart.

use git2::{ObjectType, Oid, Repository};

use super::digest::{ChartFile, MODE_EXEC, MODE_FILE};
use crate::error::{Error, Result};

/// The files of the tree at `path` in `commit`, with paths relative to it.
///
/// Refuses, naming the entry as `<tag>:<path>`: symlinks (they could point anywhere once
/// written), gitlinks (submodule content is not in this repository), and names that are
/// absolute, contain `..` or a separator, or are not UTF-8 (they could escape the chart
/// directory when written).
pub fn chart_files(
    repo: &Repository,
    commit: Oid,
    path: &str,
    tag: &str,
) -> Result<Vec<ChartFile>> {
    let git_err =
        |what: &str, e: git2::Error| Error::Vendor(format!("{tag}: {what}: {}", e.message()));
    let commit = repo
        .find_commit(commit)
        .map_err(|e| git_err("reading the commit", e))?;
    let root = commit.tree().map_err(|e| git_err("reading the tree", e))?;
    let entry = root.get_path(std::path::Path::new(path)).map_err(|_| {
        Error::Vendor(format!(
            "{tag}: no chart at `{path}` (the path is absent at that tag)"
        ))
    })?;
    if entry.kind() != Some(ObjectType::Tree) {
        return Err(Error::Vendor(format!("{tag}:{path}: expected a directory")));
    }
    let mut files = Vec::new();
    walk(repo, entry.id(), "", &format!("{tag}:{path}"), &mut files)?;
    Ok(files)
}

/// Reads a single file of `commit` (the 0.6 values template, which lives outside the chart).
pub fn blob_at(repo: &Repository, commit: Oid, path: &str, tag: &str) -> Result<Vec<u8>> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| Error::Vendor(format!("{tag}: reading the tree: {}", e.message())))?;
    let entry = tree
        .get_path(std::path::Path::new(path))
        .map_err(|_| Error::Vendor(format!("{tag}: `{path}` is absent at that tag")))?;
    if entry.filemode() != MODE_FILE as i32 && entry.filemode() != MODE_EXEC as i32 {
        return Err(Error::Vendor(format!("{tag}:{path}: not a regular file")));
    }
    let blob = repo
        .find_blob(entry.id())
        .map_err(|e| Error::Vendor(format!("{tag}:{path}: {}", e.message())))?;
    Ok(blob.content().to_vec())
}

fn walk(
    repo: &Repository,
    tree: Oid,
    prefix: &str,
    origin: &str,
    files: &mut Vec<ChartFile>,
) -> Result<()> {
    let tree = repo
        .find_tree(tree)
        .map_err(|e| Error::Vendor(format!("{origin}/{prefix}: {}", e.message())))?;
    for entry in tree.iter() {
        let raw = entry.name_bytes();
        let shown = String::from_utf8_lossy(raw);
        let located = if prefix.is_empty() {
            format!("{origin}/{shown}")
        } else {
            format!("{origin}/{prefix}/{shown}")
        };
        let name = std::str::from_utf8(raw)
            .map_err(|_| Error::Vendor(format!("unsafe entry {located}: name is not UTF-8")))?;
        check_name(name).map_err(|why| Error::Vendor(format!("unsafe entry {located}: {why}")))?;
        let rel = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        match entry.filemode() {
            0o040000 => walk(repo, entry.id(), &rel, origin, files)?,
            // 100664 is a legacy git mode for a plain file.
            0o100644 | 0o100664 | 0o100755 => {
                let blob = repo
                    .find_blob(entry.id())
                    .map_err(|e| Error::Vendor(format!("{located}: {}", e.message())))?;
                let mode = if entry.filemode() == 0o100755 {
                    MODE_EXEC
                } else {
                    MODE_FILE
                };
                files.push(ChartFile {
                    path: rel,
                    mode,
                    content: blob.content().to_vec(),
                });
            }
            0o120000 => {
                return Err(Error::Vendor(format!(
                    "unsafe entry {located}: a symlink; charts are vendored as regular files only"
                )))
            }
            0o160000 => {
                return Err(Error::Vendor(format!(
                    "unsafe entry {located}: a gitlink (submodule); its content is not in this repository"
                )))
            }
            other => {
                return Err(Error::Vendor(format!(
                    "unsafe entry {located}: unexpected git mode {other:o}"
                )))
            }
        }
    }
    Ok(())
}

/// Why a tree entry name could not be written safely, if it could not.
fn check_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.starts_with('/') || name.starts_with('\\') {
        Err("absolute path")
    } else if name == ".." || name.split(['/', '\\']).any(|part| part == "..") {
        Err("path contains `..`")
    } else if name.is_empty() || name == "." {
        Err("empty or `.` name")
    } else if name.contains(['/', '\\', '\0']) {
        Err("name contains a path separator")
    } else if name.eq_ignore_ascii_case(".git") {
        Err("a `.git` entry")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_that_could_escape_are_refused() {
        for bad in ["..", "/etc", "a/../b", "a/b", "", ".", ".git", "\\x"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["values.yaml", "..data", "a..b", "_helpers.tpl"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }
}
