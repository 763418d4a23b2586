// The commit `meshgen --version` names, found at build time. Shared by `build.rs` (through
// `include!`) and `tests/version.rs` (as a module), so the lookup is tested on real
// repositories. Only std: a build dependency would be compiled once more for the host.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the commit came from, and the files whose change must rerun the build script.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    pub commit: Option<String>,
    pub watch: Vec<PathBuf>,
}

/// The commit of the source tree at `manifest_dir`: `git rev-parse HEAD` when that directory
/// is the top of a git checkout (not merely inside someone else's repository, as a vendored
/// copy of the crate would be), else the `sha1` cargo records in `.cargo_vcs_info.json` when
/// it packages a crate (crates.io, `cargo binstall`'s source fallback), else none.
pub fn find(manifest_dir: &Path) -> Found {
    // Cargo reruns a build script every time for a watched path that does not exist, so only
    // paths that do are watched.
    let mut watch = Vec::new();
    if let Some(top) = git(manifest_dir, &["rev-parse", "--show-toplevel"]) {
        if same_dir(Path::new(&top), manifest_dir) {
            // HEAD moves on checkout; a branch moves on commit (a loose ref, or packed).
            if let Some(dir) = git(manifest_dir, &["rev-parse", "--git-dir"]) {
                watch.push(manifest_dir.join(dir).join("HEAD"));
            }
            if let Some(dir) = git(manifest_dir, &["rev-parse", "--git-common-dir"]) {
                let common = manifest_dir.join(dir);
                watch.push(common.join("packed-refs"));
                watch.push(common.join("refs/heads"));
            }
            let commit = git(manifest_dir, &["rev-parse", "HEAD"]).filter(|c| is_sha(c));
            watch.retain(|p| p.exists());
            return Found { commit, watch };
        }
    }
    let commit = std::fs::read_to_string(manifest_dir.join(".cargo_vcs_info.json"))
        .ok()
        .and_then(|text| vcs_info_sha(&text));
    if commit.is_some() {
        watch.push(manifest_dir.join(".cargo_vcs_info.json"));
    }
    Found { commit, watch }
}

/// The version text after `meshgen `: the package version, and the commit's first 12 hex
/// digits when one is known.
pub fn long_version(pkg_version: &str, commit: Option<&str>) -> String {
    match commit {
        Some(c) => format!("{pkg_version} (commit {})", &c[..12]),
        None => pkg_version.to_string(),
    }
}

/// `"sha1": "<40 hex>"` out of `.cargo_vcs_info.json` (a fixed layout cargo writes; a JSON
/// parser would be a build dependency).
pub fn vcs_info_sha(text: &str) -> Option<String> {
    let rest = &text[text.find("\"sha1\"")? + "\"sha1\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let sha = &rest[..rest.find('"')?];
    is_sha(sha).then(|| sha.to_string())
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A git command's trimmed output, or none when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}
