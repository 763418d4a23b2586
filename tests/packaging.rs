//! The release archive and its installer (dist/): a fresh prefix gets meshgen from a locally
//! built archive through install.sh, and the installed binary runs the main job; a tampered
//! archive installs nothing. The archive is built from the binary under test (no cargo run).

use std::path::Path;
use std::process::Command;

use sha2::Digest;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `dist/package.sh` of the binary under test into `out`; the archive's path.
fn package(out: &Path) -> std::path::PathBuf {
    let run = Command::new("sh")
        .arg(root().join("dist/package.sh"))
        .args([
            "--binary",
            env!("CARGO_BIN_EXE_meshgen"),
            "--target",
            "test-target",
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
