//! Faults: `meshgen vendor` killed with SIGKILL at random moments, and writes that fail
//! (full disk, read-only or impossible target). Whatever happens, the previous tree and lock
//! stay intact, `vendor --check` passes on them, and no partial or temporary file remains.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{meshgen, Rng, Upstream};

fn copy_tree(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap(); // keeps the mode
        }
    }
}

/// Names under `dir`, recursively, that a run leaves only when it is cut short.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".meshgen-") && name.ends_with(".tmp")
                || name.starts_with(".tmp-")
                || name.starts_with(".old-")
            {
                found.push(entry.path());
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    found
}

fn vendor_cmd(cache: &Path, vendor: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = common::meshgen_process(cache);
    cmd.arg("vendor")
        .arg("--dir")
        .arg(vendor)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn check_passes(cache: &Path, vendor: &Path) -> Result<(), String> {
    let out = meshgen(cache)
        .arg("vendor")
        .arg("--check")
        .arg("--dir")
        .arg(vendor)
        .output()
        .unwrap();
    if out.status.code() == Some(0) {
        Ok(())
    } else {
        Err(format!(
            "vendor --check: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn vendor_killed_at_random_moments_leaves_the_old_tree_or_the_new() {
    let up = Upstream::standard();
    let root = tempfile::tempdir().unwrap();
    let baseline = root.path().join("baseline");
    let vendor = root.path().join("vendor");
    let warm_cache = root.path().join("cache");
    std::fs::create_dir_all(&warm_cache).unwrap();

    // The previous state: every line vendored and locked.
    let out = vendor_cmd(&warm_cache, &baseline, &["--remote", &up.path_str()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let old_lock = std::fs::read(baseline.join("meshgen.lock")).unwrap();
    // Upstream moves on: an --update rewrites two releases and the lock.
    up.release("1.0.3", common::files_10("1.0.3"));
    up.release("1.11.3", common::files_111("1.11.3"));

    // How long an uninterrupted update takes, from a cold cache (fetch included).
    copy_tree(&baseline, &vendor);
    let cold = root.path().join("cold");
    let start = Instant::now();
    let out = vendor_cmd(&cold, &vendor, &["--update"]).output().unwrap();
    let full = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_lock = std::fs::read(vendor.join("meshgen.lock")).unwrap();
    assert_ne!(old_lock, new_lock);

    let seed = common::seed_from_env("MESHGEN_FAULT_SEED");
    let iterations: usize = std::env::var("MESHGEN_FAULT_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    eprintln!("seed {seed}, {iterations} kills, an uninterrupted update takes {full:?}");
    // The tree without the run lock, which every run creates first, killed or not.
    let charts = |dir: &Path| {
        let mut files = contents(dir);
        files.remove(Path::new(".meshgen-vendor.flock"));
        files
    };
    let baseline_files = charts(&baseline);
    // One kill after `delay`; whether it landed mid-write (temporaries left, or the tree
    // changed under the old lock), before any write (`Some(false)`) or after the lock.
    let kill_at = |i: usize, delay: Duration| -> Option<bool> {
        copy_tree(&baseline, &vendor);
        // Every third run starts from an empty cache, so that kills also land in the fetch.
        let cache = if i % 3 == 0 {
            let c = root.path().join(format!("cache-{i}"));
            std::fs::create_dir_all(&c).unwrap();
            c
        } else {
            warm_cache.clone()
        };
        let mut child = vendor_cmd(&cache, &vendor, &["--update"]).spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL; a run that already finished is simply reaped
        let status = child.wait().unwrap();

        let lock = std::fs::read(vendor.join("meshgen.lock")).unwrap();
        let landed = if lock == old_lock {
            Some(!leftovers(&vendor).is_empty() || charts(&vendor) != baseline_files)
        } else if lock == new_lock {
            None
        } else {
            panic!("kill {i} after {delay:?}: the lock is neither the old nor the new one");
        };
        let which = if landed.is_some() { "old" } else { "new" };
        if let Err(e) = check_passes(&cache, &vendor) {
            panic!("kill {i} after {delay:?} ({status}, {which} lock): {e}");
        }
        // The next run recovers what the killed one left and completes.
        let out = vendor_cmd(&cache, &vendor, &["--update"]).output().unwrap();
        assert!(
            out.status.success(),
            "run after kill {i} ({delay:?}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(vendor.join("meshgen.lock")).unwrap(),
            new_lock
        );
        check_passes(&cache, &vendor).unwrap();
        let left = leftovers(&vendor);
        assert!(left.is_empty(), "after the recovering run: {left:?}");
        landed
    };
    let kills = kill_until_torn(full, seed, iterations, kill_at);
    eprintln!(
        "{} kills: {} left the old lock ({} of them mid-write), {} the new one",
        kills.total,
        kills.before + kills.part_way,
        kills.part_way,
        kills.after
    );
}

/// Where the kills of `kill_until_torn` landed.
#[derive(Debug, Default)]
struct Kills {
    total: usize,
    /// Before any write (`Some(false)`).
    before: usize,
    /// Part-way (`Some(true)`).
    part_way: usize,
    /// After the last write (`None`).
    after: usize,
}

impl Kills {
    fn count(&mut self, landed: Option<bool>) {
        self.total += 1;
        match landed {
            Some(false) => self.before += 1,
            Some(true) => self.part_way += 1,
            None => self.after += 1,
        }
    }
}

/// Kills `iterations` runs after random delays in a run of `full` uninterrupted, then aimed
/// ones (at most 120) until one lands part-way (`kill_at` gives `Some(true)`); returns where
/// they landed. Without a kill part-way the test proved nothing about torn writes: it fails
/// naming the seed.
fn kill_until_torn(
    full: Duration,
    seed: u64,
    iterations: usize,
    mut kill_at: impl FnMut(usize, Duration) -> Option<bool>,
) -> Kills {
    let mut kills = Kills::default();
    let mut rng = Rng(seed);
    let mut window = Window::new(full);
    let mut landed_mid_write = false;
    for i in 0..iterations {
        let delay = window.any(&mut rng);
        let landed = kill_at(i, delay);
        kills.count(landed);
        landed_mid_write |= landed == Some(true);
        window.learn(delay, landed);
    }
    // Aim between the latest kill that came too early and the earliest that came too late.
    let mut extra = 0;
    while !landed_mid_write {
        assert!(
            extra < 120,
            "seed {seed}: no kill of {} landed part-way (last window {window:?})",
            iterations + extra
        );
        let delay = window.aimed(&mut rng);
        let landed = kill_at(iterations + extra, delay);
        kills.count(landed);
        landed_mid_write = landed == Some(true);
        window.learn(delay, landed);
        extra += 1;
    }
    kills
}

/// Where kills land in a run that takes `full` uninterrupted: the latest delay that came
/// before any write, the earliest that came after the last; aimed kills go between them,
/// widening the window when timing noise crosses the two.
#[derive(Debug)]
struct Window {
    full: Duration,
    early: Duration,
    late: Duration,
}

impl Window {
    fn new(full: Duration) -> Window {
        Window {
            full,
            early: Duration::ZERO,
            late: full * 6 / 5,
        }
    }

    /// Anywhere from the start to a little past the uninterrupted run's end.
    fn any(&self, rng: &mut Rng) -> Duration {
        Duration::from_micros(rng.next() % (self.full.as_micros() as u64 * 6 / 5 + 1))
    }

    fn aimed(&mut self, rng: &mut Rng) -> Duration {
        if self.late <= self.early {
            let widen = self.full / 10;
            (self.early, self.late) = (self.late.saturating_sub(widen), self.early + widen);
        }
        let span = (self.late - self.early).as_micros() as u64;
        self.early + Duration::from_micros(rng.next() % (span + 1))
    }

    /// `Some(false)`: before any write; `Some(true)`: mid-write; `None`: after the last.
    fn learn(&mut self, delay: Duration, landed: Option<bool>) {
        match landed {
            Some(false) => self.early = self.early.max(delay),
            None => self.late = self.late.min(delay),
            Some(true) => {}
        }
    }
}

/// Every file under `dir` (recursively) with its content, temporaries left out.
fn contents(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else if !meshgen::fsutil::is_temporary(&entry.file_name().to_string_lossy()) {
                found.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    found
}

fn generate_cmd(repo: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = common::meshgen_process(&common::scratch_cache());
    cmd.arg("generate")
        .args(args)
        .current_dir(repo)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `generate` in `repo`; it must succeed.
fn generate_succeeds(repo: &Path) {
    let out = generate_cmd(repo, &[]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository under `root` with 120 platform files (the built-ins in turn), returning it and
/// what rewrites them with `tag` in every description.
fn fleet_repo(root: &Path) -> (PathBuf, impl Fn(&str)) {
    let repo = root.join("repo");
    let platforms = repo.join("platforms");
    std::fs::create_dir_all(&platforms).unwrap();
    let builtins = meshgen::model::load::BUILTIN_PLATFORMS;
    let write_platforms = move |tag: &str| {
        for i in 0..120 {
            let (_, text) = builtins[i % builtins.len()];
            // The description reaches every values header: a new tag changes every file.
            let text = text.replacen("  description: ", &format!("  description: {tag} "), 1);
            let text = common::renamed(&text, &format!("p{i:03}"));
            std::fs::write(platforms.join(format!("p{i:03}.yaml")), text).unwrap();
        }
    };
    write_platforms("old");
    (repo, write_platforms)
}

#[test]
fn generate_killed_at_random_moments_leaves_only_whole_files() {
    let root = tempfile::tempdir().unwrap();
    let (repo, write_platforms) = fleet_repo(root.path());
    assert!(generate_cmd(&repo, &[]).status().unwrap().success());
    let old = contents(&repo.join("generated"));
    let baseline = root.path().join("baseline");
    copy_tree(&repo.join("generated"), &baseline);

    write_platforms("new");
    let start = Instant::now();
    assert!(generate_cmd(&repo, &[]).status().unwrap().success());
    let full = start.elapsed();
    let new = contents(&repo.join("generated"));
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>()
    );
    // Values files carry the description; manifests do not, and stay the same.
    let changing: Vec<&PathBuf> = old.keys().filter(|p| old[*p] != new[*p]).collect();
    assert!(
        old.keys()
            .filter(|p| p.ends_with("values.yaml"))
            .all(|p| changing.contains(&p)),
        "every values file changes"
    );

    let seed = common::seed_from_env("MESHGEN_FAULT_SEED");
    eprintln!("generate kills: seed {seed}");
    let iterations: usize = std::env::var("MESHGEN_FAULT_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    // One kill after `delay`: `Some(false)` before any write, `Some(true)` part-way (old and
    // new files, each whole), `None` after the last write.
    let kill_at = |i: usize, delay: Duration| -> Option<bool> {
        copy_tree(&baseline, &repo.join("generated"));
        let mut child = generate_cmd(&repo, &[]).spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        // Each file is the old one or the new one, whole: never a mix, never cut short.
        let now = contents(&repo.join("generated"));
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            old.keys().collect::<Vec<_>>(),
            "kill {i}"
        );
        let renewed = changing.iter().filter(|p| now[**p] == new[**p]).count();
        for (path, text) in &now {
            assert!(
                *text == old[path] || *text == new[path],
                "kill {i} after {delay:?}: {} is neither the old nor the new file",
                path.display()
            );
        }
        let temporaries = !leftovers(&repo.join("generated")).is_empty();
        let landed = match renewed {
            0 if !temporaries => Some(false),
            n if n == changing.len() && !temporaries => None,
            _ => Some(true),
        };
        // The next run completes the tree and removes the killed run's temporaries.
        generate_succeeds(&repo);
        assert_eq!(
            contents(&repo.join("generated")),
            new,
            "after the run following kill {i}"
        );
        let left = leftovers(&repo.join("generated"));
        assert!(left.is_empty(), "after the recovering run: {left:?}");
        assert!(generate_cmd(&repo, &["--check"])
            .status()
            .unwrap()
            .success());
        landed
    };
    let kills = kill_until_torn(full, seed, iterations, kill_at);
    eprintln!(
        "{} kills of generate ({full:?} uninterrupted): {} before any write, {} part-way (old \
         and new files, each whole), {} after the last write",
        kills.total, kills.before, kills.part_way, kills.after
    );
}

/// A new output tree is written under a temporary name and renamed into place: a full disk,
/// an invalid platform or a kill leaves no `generated/` at all, or all of it; what a killed run
/// staged is removed by the next.
#[test]
fn a_new_generated_tree_appears_whole_or_not_at_all() {
    let root = tempfile::tempdir().unwrap();
    let (repo, _) = fleet_repo(root.path());
    let platforms = repo.join("platforms");
    let start = Instant::now();
    assert!(generate_cmd(&repo, &[]).status().unwrap().success());
    let full = start.elapsed();
    let whole = contents(&repo.join("generated"));
    assert_eq!(listing(&repo), ["generated", "platforms"]);
    std::fs::remove_dir_all(repo.join("generated")).unwrap();

    fails_on_a_full_disk(
        &mut assert_cmd::Command::from_std(generate_cmd(&repo, &[])),
        "generated/p",
    );
    assert_eq!(listing(&repo), ["platforms"]);

    std::fs::write(platforms.join("zz.yaml"), "spec: [\n").unwrap();
    let out = generate_cmd(&repo, &[]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(listing(&repo), ["platforms"]);
    std::fs::remove_file(platforms.join("zz.yaml")).unwrap();

    let seed = common::seed_from_env("MESHGEN_FAULT_SEED");
    eprintln!("fresh generate kills: seed {seed}");
    // `Some(false)`: killed before any file was staged; `Some(true)`: part-way, a staged
    // tree and no `generated/`; `None`: after the rename.
    let kill_at = |i: usize, delay: Duration| -> Option<bool> {
        let _ = std::fs::remove_dir_all(repo.join("generated"));
        let mut child = generate_cmd(&repo, &[]).spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        let generated = repo.join("generated");
        let landed = if generated.exists() {
            assert_eq!(contents(&generated), whole, "kill {i} after {delay:?}");
            None
        } else {
            let staged = leftovers(&repo);
            Some(staged.iter().any(|dir| !contents(dir).is_empty()))
        };
        generate_succeeds(&repo);
        assert_eq!(
            contents(&generated),
            whole,
            "after the run following kill {i}"
        );
        assert_eq!(listing(&repo), ["generated", "platforms"], "after kill {i}");
        landed
    };
    let kills = kill_until_torn(full, seed, 12, kill_at);
    eprintln!(
        "{} kills of a fresh generate ({full:?} uninterrupted): {} before any file, {} part-way \
         (a staged tree, no generated/), {} after the rename",
        kills.total, kills.before, kills.part_way, kills.after
    );
}

/// A temporary a killed run left (planted, as a kill rarely lands inside a write): `check`
/// names it, `generate` removes it.
#[test]
fn a_killed_run_s_temporary_is_named_by_check_and_removed_by_generate() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    let platforms = repo.join("platforms");
    std::fs::create_dir_all(&platforms).unwrap();
    let (_, text) = meshgen::model::load::BUILTIN_PLATFORMS[0];
    std::fs::write(platforms.join("p000.yaml"), common::renamed(text, "p000")).unwrap();
    assert!(generate_cmd(&repo, &[]).status().unwrap().success());
    let planted = repo.join("generated/p000/.meshgen-Ab12Cd.tmp");
    std::fs::write(
        &planted,
        "# Generated by meshgen generate from platform file p0",
    )
    .unwrap();
    let check = meshgen(root.path())
        .arg("check")
        .current_dir(&repo)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains(".meshgen-Ab12Cd.tmp"));
    assert!(generate_cmd(&repo, &[]).status().unwrap().success());
    assert!(!planted.exists());
}

/// Runs `cmd` with the disk made full at its first write: it must exit 2 and say so, naming
/// `names` (a file, or the file with the error after it).
fn fails_on_a_full_disk(cmd: &mut assert_cmd::Command, names: &str) -> std::process::Output {
    let out = cmd.env("MESHGEN_FAILPOINT", "disk-full").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains(names), "names {names}: {stderr}");
    out
}

/// The files in `dir` (not recursive), for "nothing else was written".
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_full_disk_fails_clearly_and_leaves_the_old_files() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();

    // values -o over an existing file.
    let out_file = dir.path().join("values.yaml");
    std::fs::write(&out_file, "old\n").unwrap();
    let out = fails_on_a_full_disk(
        meshgen(&cache).current_dir(dir.path()).args([
            "values",
            "--platform",
            "kvm",
            "-o",
            "values.yaml",
        ]),
        "values.yaml: No space left on device",
    );
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "old\n");
    assert_eq!(listing(dir.path()), ["cache", "values.yaml"]);

    // schema --write: the committed schema stays as it was.
    let schemas = dir.path().join("schemas");
    std::fs::create_dir_all(&schemas).unwrap();
    std::fs::write(schemas.join("platform.schema.json"), "{}\n").unwrap();
    fails_on_a_full_disk(
        meshgen(&cache).args(["schema", "--write"]).arg(dir.path()),
        "platform.schema.json: No space left on device",
    );
    assert_eq!(
        std::fs::read_to_string(schemas.join("platform.schema.json")).unwrap(),
        "{}\n"
    );
    assert_eq!(listing(&schemas), ["platform.schema.json"]);

    // vendor: the chart files fail half-way; the old tree and lock stay, nothing is left.
    let up = Upstream::standard();
    let vendor = dir.path().join("vendor");
    let run = || {
        let mut cmd = meshgen(&cache);
        cmd.args(["vendor", "--remote", &up.path_str(), "--dir"])
            .arg(&vendor);
        cmd
    };
    run().arg("1.0").assert().success();
    let lock = std::fs::read(vendor.join("meshgen.lock")).unwrap();
    up.release("1.0.3", common::files_10("1.0.3"));
    fails_on_a_full_disk(run().args(["--update", "1.0"]), ".tmp-1.0.3-");
    assert_eq!(std::fs::read(vendor.join("meshgen.lock")).unwrap(), lock);
    assert_eq!(leftovers(&vendor), Vec::<PathBuf>::new());
    assert_eq!(listing(&vendor.join("istio")), ["1.0.2"]);
    check_passes(&cache, &vendor).unwrap();
}

#[test]
fn a_lock_that_cannot_be_written_leaves_the_old_one() {
    // The charts are written, then writing the lock fails like a full disk: the lock is
    // the old one and --check still passes on the old release.
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let up = Upstream::standard();
    let vendor = dir.path().join("vendor");
    meshgen(&cache)
        .args(["vendor", "--remote", &up.path_str(), "--dir"])
        .arg(&vendor)
        .arg("0.6")
        .assert()
        .success();
    let lock = std::fs::read(vendor.join("meshgen.lock")).unwrap();
    let out = meshgen(&cache)
        .args(["vendor", "--dir"])
        .arg(&vendor)
        .arg("1.0")
        .env("MESHGEN_FAILPOINT", "lock-before-rename")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(vendor.join("meshgen.lock")).unwrap(), lock);
    assert_eq!(leftovers(&vendor), Vec::<PathBuf>::new());
    check_passes(&cache, &vendor).unwrap();

    // Killed there instead (no destructor runs): the temporary lock stays behind until the
    // next run, which removes it (found by the SIGKILL test above).
    let out = meshgen(&cache)
        .args(["vendor", "--dir"])
        .arg(&vendor)
        .arg("1.0")
        .env("MESHGEN_FAILPOINT", "lock-before-rename:abort")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(std::fs::read(vendor.join("meshgen.lock")).unwrap(), lock);
    assert_eq!(
        leftovers(&vendor).len(),
        1,
        "the killed run's temporary lock"
    );
    check_passes(&cache, &vendor).unwrap();
    meshgen(&cache)
        .args(["vendor", "--dir"])
        .arg(&vendor)
        .arg("1.0")
        .assert()
        .success();
    assert_eq!(leftovers(&vendor), Vec::<PathBuf>::new());
    check_passes(&cache, &vendor).unwrap();
}

#[test]
fn an_impossible_target_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    // A parent that is a file: refused whoever runs the test, root included.
    std::fs::write(dir.path().join("file"), "x\n").unwrap();
    let out = meshgen(&cache)
        .current_dir(dir.path())
        .args(["values", "--platform", "kvm", "-o", "file/values.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("file"), "{stderr}");
    assert!(out.stdout.is_empty());
    let out = meshgen(&cache)
        .args(["schema", "--write"])
        .arg(dir.path().join("file"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(listing(dir.path()), ["cache", "file"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("file")).unwrap(),
        "x\n"
    );

    // A read-only directory. Root writes there whatever the mode says: as root the command
    // runs as `nobody`, who owns the directory and may not write into it.
    use std::os::unix::fs::PermissionsExt;
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join("values.yaml"), "old\n").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = if common::is_root() {
        common::give_to_nobody(dir.path());
        common::as_nobody()
    } else {
        common::meshgen_process(&cache)
    };
    let out = cmd
        .current_dir(dir.path())
        .env("MESHGEN_CACHE_DIR", &cache)
        .env("HOME", &cache)
        .env_remove("MESHGEN_FAILPOINT")
        .args(["values", "--platform", "kvm", "-o", "ro/values.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ro: Permission denied"), "{stderr}");
    assert_eq!(listing(&ro), ["values.yaml"]);
    assert_eq!(
        std::fs::read_to_string(ro.join("values.yaml")).unwrap(),
        "old\n"
    );
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}
