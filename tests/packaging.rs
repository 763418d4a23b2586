//! The release archive and its installer (dist/): a fresh prefix gets meshgen from a locally
//! built archive through install.sh, and the installed binary runs the main job; a tampered
//! archive installs nothing. The archive is built from the binary under test (no cargo run).

mod common;

use std::path::Path;
use std::process::Command;

use sha2::Digest;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `dist/package.sh` of the binary under test into `out`; the archive's path.
fn package(out: &Path) -> std::path::PathBuf {
    package_for(out, "test-target")
}

/// `package`, for the target triple `target`.
fn package_for(out: &Path, target: &str) -> std::path::PathBuf {
    let run = Command::new("sh")
        .arg(root().join("dist/package.sh"))
        .args([
            "--binary",
            env!("CARGO_BIN_EXE_meshgen"),
            "--target",
            target,
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).unwrap();
    std::path::PathBuf::from(stdout.lines().last().unwrap())
}

fn install(archive: &Path, prefix: &Path) -> std::process::Output {
    Command::new("sh")
        .arg(archive.parent().unwrap().join("install.sh"))
        .arg("--archive")
        .arg(archive)
        .arg("--prefix")
        .arg(prefix)
        .output()
        .unwrap()
}

#[test]
fn an_archive_installs_through_the_installer_and_runs_the_main_job() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = package(&tmp.path().join("dist"));
    let name = archive.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        name,
        format!("meshgen-{}-test-target.tar.gz", env!("CARGO_PKG_VERSION"))
    );
    // The checksum file is sha256sum's line for the archive.
    let bytes = std::fs::read(&archive).unwrap();
    let digest = format!("{:x}", sha2::Sha256::digest(&bytes));
    let listed = std::fs::read_to_string(format!("{}.sha256", archive.display())).unwrap();
    assert_eq!(listed, format!("{digest}  {name}\n"));

    let prefix = tmp.path().join("prefix");
    let installed = install(&archive, &prefix);
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    let binary = prefix.join("bin/meshgen");
    let values = Command::new(&binary)
        .args(["values", "--platform", "kvm"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(values.status.success());
    let text = String::from_utf8(values.stdout).unwrap();
    assert!(text.starts_with("# Helm values for Istio 1.0.9"), "{text}");

    // The same inputs give the same archive, byte for byte.
    let again = package(&tmp.path().join("again"));
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
}

#[test]
fn a_tampered_archive_installs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = package(&tmp.path().join("dist"));
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let prefix = tmp.path().join("prefix");
    let installed = install(&archive, &prefix);
    assert_eq!(installed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&installed.stderr);
    assert!(
        stderr.contains("checksum") && stderr.contains("not installed"),
        "{stderr}"
    );
    assert!(!prefix.join("bin/meshgen").exists());
}

/// `[package.metadata.binstall]` of Cargo.toml: (pkg-url, bin-dir, pkg-fmt).
fn binstall_metadata() -> (String, String, String) {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let section = manifest
        .split("[package.metadata.binstall]\n")
        .nth(1)
        .expect("Cargo.toml has binstall metadata");
    let value = |key: &str| {
        section
            .lines()
            .take_while(|l| !l.starts_with('['))
            .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("binstall metadata has no {key}"))
            .to_string()
    };
    (value("pkg-url"), value("bin-dir"), value("pkg-fmt"))
}

/// cargo-binstall's template filled in for one target.
fn binstall_fill(template: &str, repo: &str, target: &str) -> String {
    template
        .replace("{ repo }", repo)
        .replace("{ name }", "meshgen")
        .replace("{ version }", env!("CARGO_PKG_VERSION"))
        .replace("{ target }", target)
        .replace("{ bin }", "meshgen")
        .replace("{ binary-ext }", "")
}

#[test]
fn binstall_metadata_names_the_archive_and_the_binary_in_it() {
    let (pkg_url, bin_dir, pkg_fmt) = binstall_metadata();
    assert_eq!(pkg_fmt, "tgz");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let url = binstall_fill(&pkg_url, &repo.display().to_string(), "test-target");
    let release = Path::new(&url).parent().unwrap();
    let archive = package(release);
    assert_eq!(
        archive.display().to_string(),
        url,
        "the archive is where binstall looks"
    );
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    let binary = binstall_fill(&bin_dir, "", "test-target");
    assert!(
        listing.lines().any(|l| l == binary),
        "{binary} not in the archive:\n{listing}"
    );
}

/// The workflow `meshgen init` writes installs the release of the meshgen that wrote it:
/// its install steps, run as written against a release directory served as file://, put a
/// working meshgen on the PATH.
#[test]
fn init_workflow_installs_the_pinned_release() {
    let tmp = tempfile::tempdir().unwrap();
    let releases = tmp.path().join("releases");
    let url = format!("file://{}", releases.display());
    let repo = tmp.path().join("fleet");
    let init = common::meshgen_process(&tmp.path().join("cache"))
        .args(["init", "--releases", &url])
        .arg(&repo)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let workflow = std::fs::read_to_string(repo.join(".github/workflows/meshgen.yml")).unwrap();
    let doc = meshgen::yaml::parse(&workflow).unwrap().to_json();
    let job = &doc["jobs"]["check"];
    assert_eq!(job["env"]["MESHGEN_VERSION"], env!("CARGO_PKG_VERSION"));
    assert_eq!(job["env"]["MESHGEN_RELEASES"], url.as_str());
    let steps = job["steps"].as_array().unwrap();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name}:\n{workflow}"))
    };
    let cache = step("Cache meshgen");
    assert_eq!(cache["with"]["path"], "~/.local/bin/meshgen");
    assert!(cache["with"]["key"]
        .as_str()
        .unwrap()
        .contains("${{ env.MESHGEN_VERSION }}"));
    assert!(
        !workflow.contains("cargo install --locked --git \"${{"),
        "{workflow}"
    );

    // The release as dist/package.sh publishes it, for this machine's target.
    let host = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8(host.stdout).unwrap();
    let target = host.lines().find_map(|l| l.strip_prefix("host: ")).unwrap();
    package_for(
        &releases.join(format!("v{}", env!("CARGO_PKG_VERSION"))),
        target,
    );

    let home = tmp.path().join("home");
    let runner_temp = tmp.path().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let github_path = tmp.path().join("github-path");
    for name in ["Install meshgen", "Put meshgen on the PATH"] {
        let run = Command::new("bash")
            .args(["-e", "-c", step(name)["run"].as_str().unwrap()])
            .env("HOME", &home)
            .env("RUNNER_TEMP", &runner_temp)
            .env("GITHUB_PATH", &github_path)
            .env("MESHGEN_VERSION", env!("CARGO_PKG_VERSION"))
            .env("MESHGEN_RELEASES", &url)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let path = std::fs::read_to_string(&github_path).unwrap();
    let installed = Path::new(path.trim()).join("meshgen");
    assert_eq!(installed, home.join(".local/bin/meshgen"));
    let values = Command::new(&installed)
        .args(["values", "--platform", "kvm"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(values.status.success());
    assert!(String::from_utf8(values.stdout)
        .unwrap()
        .starts_with("# Helm values for Istio 1.0.9"));
}
