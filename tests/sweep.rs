//! The no-panic sweep: every bad input of `tests/corpus/` (and `tests/invalid/`), plus inputs
//! generated here (empty, huge, unreadable, missing, symlink loops, a vendored tree that no
//! longer matches its lock), runs through every command that reads that kind of input. Each
//! run must: exit 1 or 2 (never 101, never a signal, never 0), not print "panicked", name the
//! input in its message, carry the case's expected message fragment, print nothing on stdout
//! (commands whose report *is* stdout excepted), and write nothing in its working directory.
//!
//! A command joins the sweep with one line in `CONSUMERS`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What a corpus case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A platform file, placed at `platforms/<stem>.yaml`.
    Platform,
    /// A vendor lock, placed at `vendor/meshgen.lock`.
    Lock,
    /// A manifest stream for `post-render`, given on stdin.
    Manifest,
    /// A `--set` expression.
    Set,
    /// A vendored tree that differs from its (valid) lock.
    Tree,
    /// The committed schema file, placed at `schemas/platform.schema.json`.
    Schema,
}

/// One way a command consumes a kind of input. In `args`, `{path}` is the placed file,
/// `{name}` its platform name (the stem), `{set}` the `--set` expression, `{ha}` a valid
/// platform asking for high availability.
struct Consumer {
    kind: Kind,
    args: &'static [&'static str],
    /// The valid 1.0 manifest fixture on stdin; `Kind::Manifest` always sends the case.
    stdin_fixture: bool,
    /// The command's report of the problem is its stdout (`--check` modes, `platforms`).
    report_on_stdout: bool,
    /// The command reports the problem as a finding in its own words (`check`: exit 1, a
    /// located finding): the input must still be named, the case's wording is not required.
    own_wording: bool,
}

const fn run(kind: Kind, args: &'static [&'static str]) -> Consumer {
    Consumer {
        kind,
        args,
        stdin_fixture: false,
        report_on_stdout: false,
        own_wording: false,
    }
}

const fn piped(kind: Kind, args: &'static [&'static str]) -> Consumer {
    Consumer {
        stdin_fixture: true,
        ..run(kind, args)
    }
}

const fn report(kind: Kind, args: &'static [&'static str]) -> Consumer {
    Consumer {
        report_on_stdout: true,
        ..run(kind, args)
    }
}

/// `meshgen check`: every problem becomes a finding on stdout, exit 1.
const fn gate(kind: Kind, args: &'static [&'static str]) -> Consumer {
    Consumer {
        own_wording: true,
        ..report(kind, args)
    }
}

/// A command that reports the problem in its own words and exit code, on stderr
/// (`outdated`, whose exit 1 means "an update is out": invalid input is exit 2).
const fn own(kind: Kind, args: &'static [&'static str]) -> Consumer {
    Consumer {
        own_wording: true,
        ..run(kind, args)
    }
}

use Kind::*;

mod common;

/// Every command that reads platform, lock, manifest or schema input, once per way of naming it.
const CONSUMERS: &[Consumer] = &[
    run(Platform, &["validate", "{path}"]),
    run(Platform, &["validate", "{name}"]),
    run(Platform, &["values", "--platform", "{path}"]),
    run(
        Platform,
        &["values", "--platform", "{name}", "-o", "out/values.yaml"],
    ),
    run(Platform, &["manifests", "--platform", "{path}"]),
    piped(Platform, &["post-render", "--platform", "{name}"]),
    report(Platform, &["platforms"]),
    run(Lock, &["values", "--platform", "kvm"]),
    run(
        Lock,
        &["values", "--platform", "kvm", "-o", "out/values.yaml"],
    ),
    run(Lock, &["manifests", "--platform", "kvm"]),
    piped(Lock, &["post-render", "--platform", "kvm"]),
    run(Lock, &["vendor", "--check"]),
    run(Lock, &["vendor", "--locked"]),
    run(Lock, &["vendor"]),
    run(Manifest, &["post-render", "--platform", "{ha}"]),
    run(Set, &["values", "--platform", "kvm", "--set", "{set}"]),
    run(
        Set,
        &[
            "values",
            "--platform",
            "kvm",
            "--set",
            "{set}",
            "-o",
            "out/v.yaml",
        ],
    ),
    run(Set, &["manifests", "--platform", "kvm", "--set", "{set}"]),
    piped(Set, &["post-render", "--platform", "kvm", "--set", "{set}"]),
    report(Tree, &["vendor", "--check"]),
    report(Schema, &["schema", "--check", "."]),
    // The commands of the install path and the repository workflow.
    run(
        Platform,
        &["flux", "--platform", "{path}", "--git-url", "https://h/r"],
    ),
    run(Platform, &["explain", "--platform", "{path}"]),
    run(Platform, &["generate"]),
    run(Platform, &["generate", "--check"]),
    gate(Platform, &["check"]),
    run(
        Lock,
        &["flux", "--platform", "kvm", "--git-url", "https://h/r"],
    ),
    // No platform files: the lock is what these read.
    run(Lock, &["generate", "--platforms", "."]),
    gate(Lock, &["check", "--platforms", "."]),
    run(
        Set,
        &[
            "flux",
            "--platform",
            "kvm",
            "--git-url",
            "https://h/r",
            "--set",
            "{set}",
        ],
    ),
    run(Set, &["explain", "--platform", "kvm", "--set", "{set}"]),
    gate(Tree, &["check", "--platforms", "."]),
    // A remote that is not there: a platform that loads never reaches the network.
    own(Platform, &["outdated", "--remote", "no-such-remote"]),
    run(Lock, &["outdated", "--remote", "no-such-remote"]),
];

/// How a case is put in place in the working directory.
#[derive(Clone)]
enum Setup {
    /// Bytes written at the kind's place.
    Bytes(Vec<u8>),
    /// Builds the input at the kind's place (the path given).
    At(fn(&Path)),
    /// Builds the input in the working directory (the path given).
    Dir(fn(&Path)),
}

#[derive(Clone)]
struct Case {
    kind: Kind,
    label: String,
    setup: Setup,
    exit: i32,
    fragment: String,
    /// The text that names the input; the kind's place when `None`.
    names: Option<String>,
    /// Which consumers the case applies to (by their first two arguments); all when empty.
    only: &'static [&'static str],
    skip: &'static [&'static str],
    /// Staged by file modes, which root ignores: run as `nobody` when the test runs as root.
    unprivileged: bool,
}

impl Case {
    fn new(kind: Kind, label: &str, setup: Setup, exit: i32, fragment: &str) -> Case {
        Case {
            kind,
            label: label.to_string(),
            setup,
            exit,
            fragment: fragment.to_string(),
            names: None,
            only: &[],
            skip: &[],
            unprivileged: false,
        }
    }
}

const STEM: &str = "bad-input";

fn place(kind: Kind) -> &'static str {
    match kind {
        Platform => "platforms/bad-input.yaml",
        Lock | Tree => "vendor/meshgen.lock",
        Schema => "schemas/platform.schema.json",
        Manifest => "<stdin>",
        Set => "--set",
    }
}

/// `# exit: N` and `# expect: fragment` from a corpus file's first lines (after a BOM).
fn header(path: &Path, bytes: &[u8]) -> (i32, String) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let mut exit = None;
    let mut expect = None;
    for line in text.lines().take(3) {
        let line = line.trim_end_matches('\r');
        if let Some(v) = line.strip_prefix("# exit: ") {
            exit = Some(v.trim().parse().unwrap());
        } else if let Some(v) = line.strip_prefix("# expect: ") {
            expect = Some(v.to_string());
        }
    }
    match (exit, expect) {
        (Some(e), Some(x)) => (e, x),
        _ => panic!("{}: no `# exit:` and `# expect:` header", path.display()),
    }
}

fn corpus_dir(sub: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// The committed corpus: tests/corpus/{platform,lock,manifest}, tests/invalid, set.txt.
fn committed_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (sub, kind) in [
        ("tests/corpus/platform", Platform),
        ("tests/corpus/lock", Lock),
        ("tests/corpus/manifest", Manifest),
    ] {
        for path in corpus_dir(sub) {
            let bytes = std::fs::read(&path).unwrap();
            let (exit, fragment) = header(&path, &bytes);
            let label = format!("{sub}/{}", path.file_name().unwrap().to_string_lossy());
            cases.push(Case::new(
                kind,
                &label,
                Setup::Bytes(bytes),
                exit,
                &fragment,
            ));
        }
    }
    // tests/invalid states `# expect: LINE:COL: FIELD: message` for validate: the same
    // findings, so exit 1 and the first expectation, from every platform command.
    for path in corpus_dir("tests/invalid") {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let fragment = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no expectation", path.display()))
            .to_string();
        let label = format!(
            "tests/invalid/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        // spec.values meeting a key meshgen sets is found when the platform is resolved, after
        // it loads: named as the sweep places it, so that no load error comes first, and not
        // for `platforms` nor `outdated`, which read what loads without rendering it.
        let conflict = fragment.contains("meshgen sets");
        let bytes = if conflict {
            text.replace("\n  name: t\n", &format!("\n  name: {STEM}\n"))
                .into_bytes()
        } else {
            bytes
        };
        let mut case = Case::new(Platform, &label, Setup::Bytes(bytes), 1, &fragment);
        if conflict {
            case.skip = &["platforms", "outdated"];
        }
        cases.push(case);
    }
    let sets =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/set.txt"))
            .unwrap();
    for line in sets
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut parts = line.splitn(3, '\t');
        let exit: i32 = parts.next().unwrap().parse().unwrap();
        let expr = parts.next().unwrap();
        let fragment = parts.next().expect("EXIT<TAB>EXPR<TAB>FRAGMENT");
        let mut case = Case::new(
            Set,
            &format!("set.txt: {expr}"),
            Setup::Bytes(expr.as_bytes().to_vec()),
            exit,
            fragment,
        );
        // A parse error names the expression; an invalid result names the file and the
        // --set it came from.
        case.names = Some("--set".to_string());
        cases.push(case);
    }
    cases
}

fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn mkparent(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
}

/// Inputs that cannot, or should not, be committed: built in the working directory.
fn generated_cases() -> Vec<Case> {
    let max = meshgen::yaml::MAX_INPUT_BYTES;
    let mut huge = b"# comment\n".repeat(max / 10 + 1);
    huge.extend_from_slice(b"apiVersion: x\n");
    let mut cases = Vec::new();
    for kind in [Platform, Lock, Schema] {
        let at = place(kind);
        let empty_msg = match kind {
            Schema => "schemas/platform.schema.json",
            _ => "file is empty",
        };
        let (findings, io) = match kind {
            Platform => (1, 2),
            Lock => (2, 2),
            _ => (1, 2),
        };
        cases.push(Case::new(
            kind,
            "empty file",
            Setup::Bytes(Vec::new()),
            findings,
            empty_msg,
        ));
        if kind != Schema {
            cases.push(Case::new(
                kind,
                "one byte over the size limit",
                Setup::Bytes(huge.clone()),
                findings,
                &format!("more than the {max} bytes meshgen reads"),
            ));
            // 16 GiB that take no disk: refused from its size, unread.
            cases.push(Case::new(
                kind,
                "sparse 16 GiB file",
                Setup::At(|path| {
                    let f = std::fs::File::create(path).unwrap();
                    f.set_len(16 << 30).unwrap();
                }),
                findings,
                "17179869184 bytes, more than the",
            ));
            cases.push(Case::new(
                kind,
                "a link to /dev/zero (no size, never ends)",
                Setup::At(|path| symlink("/dev/zero", path)),
                findings,
                &format!("at least {} bytes", max + 1),
            ));
        }
        cases.push(Case::new(
            kind,
            "a directory",
            Setup::At(|path| std::fs::create_dir_all(path).unwrap()),
            io,
            if kind == Platform {
                "is a directory"
            } else {
                "Is a directory"
            },
        ));
        let mut looped = Case::new(
            kind,
            "a symlink loop",
            Setup::At(|path| symlink(path.file_name().unwrap().to_str().unwrap(), path)),
            io,
            "Too many levels of symbolic links",
        );
        looped.names = Some(at.to_string());
        cases.push(looped);
        if kind == Platform {
            // (An absent lock is no lock; only a platform must exist.)
            cases.push(Case::new(
                kind,
                "a dangling symlink",
                Setup::At(|path| symlink("gone.yaml", path)),
                io,
                "No such file or directory",
            ));
        }
        let mut unreadable = Case::new(
            kind,
            "unreadable (mode 000)",
            Setup::At(|path| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::write(path, "a: 1\n").unwrap();
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
            }),
            io,
            "Permission denied",
        );
        unreadable.unprivileged = true;
        cases.push(unreadable);
    }
    // A missing platform file: a path names it, a name lists the platforms that exist.
    let mut missing = Case::new(
        Platform,
        "missing file, by path",
        Setup::Dir(|_| {}),
        2,
        "No such file or directory",
    );
    missing.only = &[
        "validate {path}",
        "values --platform {path}",
        "manifests --platform {path}",
    ];
    cases.push(missing);
    let mut unknown = Case::new(
        Platform,
        "a platform name that does not exist",
        Setup::Dir(|_| {}),
        2,
        "known platforms: aws, azure, gke-internal, kvm, minikube, pks",
    );
    unknown.names = Some(format!("no platform named `{STEM}`"));
    unknown.only = &[
        "validate {name}",
        "values --platform {name}",
        "post-render --platform {name}",
    ];
    cases.push(unknown);
    // A BOM is accepted: a BOM and then an error reports the error.
    cases.push(Case::new(
        Lock,
        "a byte-order mark, then a duplicate key",
        Setup::Bytes(
            "\u{feff}apiVersion: \"meshgen/v1alpha1\"\nkind: \"VendorLock\"\nkind: \"VendorLock\"\n"
                .into(),
        ),
        2,
        "3:1: not a valid lock: duplicate key `kind`",
    ));
    cases.push(Case::new(
        Schema,
        "not the schema",
        Setup::Bytes(b"{\"$schema\": \"stale\"}\n".to_vec()),
        1,
        "schema files are stale",
    ));
    cases.extend(tree_cases());
    cases
}

const CHART: &str = "vendor/istio/1.0.9/istio";

/// A vendored 1.0.9 chart and its lock, as `meshgen vendor` writes them.
fn vendored_tree(dir: &Path) {
    use meshgen::vendoring::digest::{chart_digest, file_entry, read_dir};
    use meshgen::vendoring::lock::{Lock, LockedChart, LockedRelease};
    let chart = dir.join(CHART);
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "name: istio\nversion: 1.0.9\n").unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "global:\n  hub: docker.io/istio\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/a.yaml"), "kind: ConfigMap\n").unwrap();
    let files = read_dir(&chart).unwrap();
    let mut lock = Lock::new("/nonexistent/istio.git");
    lock.upsert(LockedRelease {
        line: meshgen::model::release_line::ReleaseLine::V1_0,
        version: "1.0.9".into(),
        tag: "1.0.9".into(),
        commit: "0".repeat(40),
        charts: vec![LockedChart {
            name: "istio".into(),
            source: "install/kubernetes/helm/istio".into(),
            patches: vec![],
            digest: chart_digest(&files),
            files: files
                .iter()
                .map(|f| (f.path.clone(), file_entry(f)))
                .collect(),
        }],
    });
    lock.follow.insert(
        meshgen::model::release_line::ReleaseLine::V1_0,
        "1.0.9".into(),
    );
    lock.save(&dir.join("vendor/meshgen.lock")).unwrap();
}

fn tree_case(label: &str, change: fn(&Path), fragment: &str) -> Case {
    Case::new(Tree, label, Setup::Dir(change), 1, fragment)
}

fn tree_cases() -> Vec<Case> {
    vec![
        tree_case(
            "a changed file",
            |d| {
                vendored_tree(d);
                std::fs::write(d.join(CHART).join("values.yaml"), "tampered\n").unwrap();
            },
            "istio/values.yaml: changed",
        ),
        tree_case(
            "a removed file",
            |d| {
                vendored_tree(d);
                std::fs::remove_file(d.join(CHART).join("templates/a.yaml")).unwrap();
            },
            "istio/templates/a.yaml: removed",
        ),
        tree_case(
            "an added file",
            |d| {
                vendored_tree(d);
                std::fs::write(d.join(CHART).join("templates/extra.yaml"), "x\n").unwrap();
            },
            "istio/templates/extra.yaml: added",
        ),
        tree_case(
            "a changed mode",
            |d| {
                use std::os::unix::fs::PermissionsExt;
                vendored_tree(d);
                let p = d.join(CHART).join("Chart.yaml");
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            },
            "istio/Chart.yaml: mode changed",
        ),
        tree_case(
            "the lock names a chart that is missing",
            |d| {
                vendored_tree(d);
                std::fs::remove_dir_all(d.join(CHART)).unwrap();
            },
            "1.0.9/istio: missing",
        ),
        tree_case(
            "an extra chart directory",
            |d| {
                vendored_tree(d);
                std::fs::create_dir_all(d.join("vendor/istio/1.0.9/extra")).unwrap();
            },
            "1.0.9/extra: added (not in the lock)",
        ),
        tree_case(
            "a planted symlink",
            |d| {
                vendored_tree(d);
                symlink("/etc/passwd", &d.join(CHART).join("templates/link.yaml"));
            },
            "link.yaml",
        ),
        tree_case(
            "an edited chart digest",
            |d| {
                vendored_tree(d);
                let path = d.join("vendor/meshgen.lock");
                let text = std::fs::read_to_string(&path).unwrap();
                let at = text.find("digest: \"sha256:").unwrap() + 16;
                let mut edited = text.clone();
                let c = if &text[at..at + 1] == "0" { "1" } else { "0" };
                edited.replace_range(at..at + 1, c);
                std::fs::write(&path, edited).unwrap();
            },
            "the lock was edited",
        ),
    ]
}

/// Every file and directory under `dir`: path to (mode, content). Unreadable files are
/// recorded as such.
fn snapshot(dir: &Path) -> BTreeMap<String, (u32, Option<Vec<u8>>)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let content = if meta.file_type().is_symlink() {
                Some(
                    std::fs::read_link(&path)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            } else if meta.is_dir() {
                stack.push(path.clone());
                None
            } else if meta.len() > 4 << 20 {
                Some(meta.len().to_le_bytes().to_vec()) // sparse giants: size only
            } else {
                std::fs::read(&path).ok()
            };
            out.insert(rel, (meta.mode(), content));
        }
    }
    out
}

/// The advisory lock `meshgen vendor` takes (empty, kept by design, like git's index.lock
/// is not): the one file a refused vendor run may leave.
const RUN_LOCK: &str = "vendor/.meshgen-vendor.flock";

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn exec(dir: &Path, args: &[String], stdin: Vec<u8>, as_nobody: bool) -> Outcome {
    let start = Instant::now();
    let mut cmd = if as_nobody {
        common::as_nobody()
    } else {
        common::meshgen_process(&dir.join("../cache"))
    };
    let mut child = cmd
        .args(args)
        .current_dir(dir)
        .env("MESHGEN_CACHE_DIR", dir.join("../cache"))
        .env("HOME", dir.join("../home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("MESHGEN_LOCK_TIMEOUT", "0")
        .env_remove("MESHGEN_FAILPOINT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The command may refuse before reading stdin: a broken pipe here is expected.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > deadline {
            child.kill().unwrap();
            panic!("meshgen {args:?} ran for more than {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = writer.join();
    Outcome {
        code: status.code(),
        stdout: String::from_utf8_lossy(&reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
        elapsed: start.elapsed(),
    }
}

fn consumer_key(c: &Consumer) -> String {
    c.args.iter().take(3).copied().collect::<Vec<_>>().join(" ")
}

fn applies(case: &Case, c: &Consumer) -> bool {
    let key = consumer_key(c);
    let matches = |list: &[&str]| list.iter().any(|k| key.starts_with(k));
    (case.only.is_empty() || matches(case.only)) && !matches(case.skip)
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// Runs every case of `kind` through every consumer of it; returns how many runs.
fn sweep(kind: Kind) -> usize {
    let cases: Vec<Case> = committed_cases()
        .into_iter()
        .chain(generated_cases())
        .filter(|c| c.kind == kind)
        .collect();
    let consumers: Vec<&Consumer> = CONSUMERS.iter().filter(|c| c.kind == kind).collect();
    assert!(!cases.is_empty() && !consumers.is_empty());
    let ha = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/postrender/platforms/ha-10-hostname.yaml");
    let manifest_fixture = fixture("tests/fixtures/postrender/v1.0.9.yaml");
    let mut failures = Vec::new();
    let mut runs = 0;
    for case in &cases {
        for consumer in consumers.iter().filter(|c| applies(case, c)) {
            let root = tempfile::tempdir().unwrap();
            let dir = root.path().join("work");
            std::fs::create_dir_all(&dir).unwrap();
            let mut stdin = Vec::new();
            let mut set_expr = String::new();
            match &case.setup {
                Setup::Bytes(bytes) => match kind {
                    Manifest => stdin = bytes.clone(),
                    Set => set_expr = String::from_utf8(bytes.clone()).unwrap(),
                    _ => {
                        let path = dir.join(place(kind));
                        mkparent(&path);
                        std::fs::write(&path, bytes).unwrap();
                    }
                },
                Setup::At(f) => {
                    let path = dir.join(place(kind));
                    mkparent(&path);
                    f(&path)
                }
                Setup::Dir(f) => f(&dir),
            }
            if consumer.stdin_fixture {
                stdin = manifest_fixture.clone();
            }
            let args: Vec<String> = consumer
                .args
                .iter()
                .map(|a| {
                    a.replace("{path}", place(Platform))
                        .replace("{name}", STEM)
                        .replace("{set}", &set_expr)
                        .replace("{ha}", ha.to_str().unwrap())
                })
                .collect();
            let as_nobody = case.unprivileged && common::is_root();
            if as_nobody {
                common::give_to_nobody(root.path());
            }
            let before = snapshot(&dir);
            let out = exec(&dir, &args, stdin, as_nobody);
            runs += 1;
            let mut after = snapshot(&dir);
            if args[0] == "vendor" && !before.contains_key(RUN_LOCK) {
                after.remove(RUN_LOCK);
            }
            let who = format!("{} | meshgen {}", case.label, args.join(" "));
            let mut problems = Vec::new();
            match out.code {
                Some(1) | Some(2) => {}
                other => problems.push(format!("exit {other:?}, want 1 or 2")),
            }
            if out.code != Some(case.exit) && !consumer.own_wording {
                problems.push(format!(
                    "exit {:?}, the case expects {}",
                    out.code, case.exit
                ));
            }
            if out.stderr.contains("panicked") {
                problems.push("panicked".to_string());
            }
            let message = if consumer.report_on_stdout {
                format!("{}{}", out.stdout, out.stderr)
            } else {
                if !out.stdout.is_empty() {
                    problems.push(format!("stdout not empty: {:.200}", out.stdout));
                }
                out.stderr.clone()
            };
            let names = case.names.as_deref().unwrap_or(place(kind));
            if !message.contains(names) {
                problems.push(format!("the message does not name `{names}`"));
            }
            if !message.contains(&case.fragment) && !consumer.own_wording {
                problems.push(format!("the message lacks `{}`", case.fragment));
            }
            if before != after {
                let changed: Vec<&String> = after
                    .keys()
                    .chain(before.keys())
                    .filter(|k| before.get(*k) != after.get(*k))
                    .collect();
                problems.push(format!("files changed: {changed:?}"));
            }
            if out.elapsed > Duration::from_secs(10) {
                problems.push(format!("took {:?}", out.elapsed));
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{who}\n  {}\n  stderr: {:.400}",
                    problems.join("\n  "),
                    out.stderr
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{kind:?}: {} cases, {runs} runs", cases.len());
    runs
}

#[test]
fn corpus_is_large_enough() {
    let committed = committed_cases().len();
    let generated = generated_cases().len();
    eprintln!("corpus: {committed} committed cases, {generated} generated");
    assert!(committed >= 100, "{committed}");
}

#[test]
fn platform_files() {
    sweep(Platform);
}

#[test]
fn locks() {
    sweep(Lock);
}

#[test]
fn manifests_on_stdin() {
    sweep(Manifest);
}

#[test]
fn set_expressions() {
    sweep(Set);
}

#[test]
fn vendored_trees() {
    sweep(Tree);
}

#[test]
fn schema_files() {
    sweep(Schema);
}

/// Usage errors: clap's and meshgen's own, exit 2 with a message, nothing on stdout.
#[test]
fn usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["values"], "--platform"),
        (&["values", "--platform", "kvm", "--istio", "2.0"], "2.0"),
        (&["values", "--platform", "kvm", "--bogus"], "--bogus"),
        (&["vendor", "--check", "--update"], "--update"),
        (&["vendor", "9.9"], "9.9"),
        (&["outdated", "--format", "yaml"], "yaml"),
        (&["outdated"], "no platform files in platforms"),
        (&["schema", "--write", "a", "--check", "b"], "--check"),
        (&["lines", "extra"], "extra"),
        (&["validate"], "FILE"),
        (&["post-render"], "--platform"),
        (&["nosuchcommand"], "nosuchcommand"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    for (args, fragment) in cases {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = exec(&work, &args, Vec::new(), false);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(out.stderr.contains(fragment), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{args:?}");
    }
    // `lines` reads no input: it must simply work.
    let out = exec(&work, &["lines".to_string()], Vec::new(), false);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("1.11"));
}
