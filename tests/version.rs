//! `meshgen --version` names the commit it was built from: the build script's lookup
//! (build/version.rs) on real repositories, and the binary against this checkout.

mod common;

use std::path::Path;
use std::process::Command;

#[path = "../build/version.rs"]
#[allow(dead_code)]
mod version;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn commit_all(dir: &Path) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "c"]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn a_checkout_names_its_head_and_watches_what_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").unwrap();
    let first = commit_all(dir.path());
    let found = version::find(dir.path());
    assert_eq!(found.commit.as_deref(), Some(first.as_str()));
    assert!(
        found.watch.iter().any(|p| p.ends_with(".git/HEAD")),
        "{:?}",
        found.watch
    );
    assert!(found.watch.iter().all(|p| p.exists()), "{:?}", found.watch);

    std::fs::write(dir.path().join("Cargo.toml"), "[package]\n# 2\n").unwrap();
    let second = commit_all(dir.path());
    assert_ne!(first, second);
    assert_eq!(version::find(dir.path()).commit, Some(second));
}

#[test]
fn a_crate_inside_another_repository_does_not_take_its_commit() {
    let outer = tempfile::tempdir().unwrap();
    git(outer.path(), &["init", "-q"]);
    let krate = outer.path().join("vendor/meshgen");
    std::fs::create_dir_all(&krate).unwrap();
    std::fs::write(krate.join("Cargo.toml"), "[package]\n").unwrap();
    commit_all(outer.path());
    assert_eq!(version::find(&krate).commit, None);

    // A packaged crate (crates.io) carries the commit cargo recorded when it was published.
    let sha = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(
        krate.join(".cargo_vcs_info.json"),
        format!("{{\n  \"git\": {{\n    \"sha1\": \"{sha}\"\n  }},\n  \"path_in_vcs\": \"\"\n}}"),
    )
    .unwrap();
    let found = version::find(&krate);
    assert_eq!(found.commit.as_deref(), Some(sha));
    assert_eq!(found.watch, vec![krate.join(".cargo_vcs_info.json")]);
}

#[test]
fn no_git_and_no_record_give_the_plain_version() {
    let dir = tempfile::tempdir().unwrap();
    let found = version::find(dir.path());
    assert_eq!(found.commit, None);
    assert!(found.watch.is_empty());
    assert_eq!(version::long_version("1.2.3", None), "1.2.3");
    assert_eq!(
        version::long_version("1.2.3", Some("0123456789abcdef0123456789abcdef01234567")),
        "1.2.3 (commit 0123456789ab)"
    );
    assert_eq!(version::vcs_info_sha(r#"{"git":{"sha1":"xyz"}}"#), None);
    assert_eq!(version::vcs_info_sha("{}"), None);
}

#[test]
fn the_binary_names_the_commit_of_this_checkout() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = common::meshgen_process(&common::scratch_cache())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let expected = version::long_version(
        env!("CARGO_PKG_VERSION"),
        version::find(root).commit.as_deref(),
    );
    assert_eq!(stdout, format!("meshgen {expected}\n"));
}
