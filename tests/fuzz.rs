//! The fuzz targets on stable: every committed crash regression (`fuzz/regressions/<target>/`)
//! and seed runs through the target bodies of `fuzz/bodies.rs`, then a bounded-time mutation
//! driver feeds them mutated seeds. libFuzzer (`cargo +nightly fuzz run <target>`) runs the same
//! bodies coverage-guided; this keeps them, and every crash ever found, in `cargo test`.
//!
//! `MESHGEN_FUZZ_SECS` sets the time per target (default 3), `MESHGEN_FUZZ_SEED` replays a run.
//! An input that fails is written to `target/fuzz-failures/` to be committed as a regression.

#[path = "../fuzz/bodies.rs"]
mod bodies;
mod common;

use common::Rng;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

type Body = fn(&[u8]);

/// Each target, its body and where its seeds come from (directories of files, or for `set`
/// the expressions of tests/corpus/set.txt).
const TARGETS: &[(&str, Body, &[&str])] = &[
    (
        "platform",
        bodies::platform,
        &[
            "platforms",
            "tests/valid",
            "tests/invalid",
            "tests/corpus/platform",
            "tests/fixtures/values",
        ],
    ),
    ("set", bodies::set, &[]),
    (
        "post_render",
        bodies::post_render,
        &["tests/fixtures/postrender", "tests/corpus/manifest"],
    ),
];

const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "[",
    "]",
    "{",
    "}",
    "---\n",
    "...\n",
    "\t",
    ": ",
    "- ",
    "!!str ",
    "!!int ",
    "!!map ",
    "? ",
    "|\n",
    ">-\n",
    "\"",
    "'",
    "#",
    "\n",
    "  ",
    "\u{feff}",
    "0x",
    "1e9",
    "-1",
    "99999",
    "null",
    "~",
    "true",
    "yes",
    ".inf",
    "<<: ",
    "30080",
    "\"1.0\"",
    "\"1.11\"",
    "\"0.6\"",
    "nodePorts",
    "highAvailability:\n  replicas: 3\n",
    "antiAffinity: zone",
    "kind: Deployment\n",
    "name: istiod\n",
    "name: istio-pilot\n",
    "\\",
    ",",
    "=",
    ".",
    "[0]",
    "{a,b}",
    "spec.",
    "metadata.name=",
    "spec.ingressGateway.nodePorts.http2=",
    "\r\n",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        let at = rng.below(len + 1);
        match rng.below(8) {
            0 if len > 0 => input[at.min(len - 1)] = rng.next() as u8,
            1 => input.insert(at, rng.next() as u8),
            2 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                input.drain(at.min(len - 1)..end);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                let chunk = input[start..end].to_vec();
                input.splice(at..at, chunk);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(256)).min(other.len());
                    input.splice(at..at, other[start..end].iter().copied());
                }
            }
            5 => input.truncate(at),
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                input.splice(at..at, token.iter().copied());
            }
        }
    }
    input.truncate(256 << 10);
}

fn seeds(target: &str, dirs: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    if target == "set" {
        let text = std::fs::read_to_string(root.join("tests/corpus/set.txt")).unwrap();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            out.push(line.split('\t').nth(1).unwrap().as_bytes().to_vec());
        }
        for ok in [
            "spec.tracing=true",
            "spec.ingressGateway.nodePorts.http2=30080,spec.istio=1.11",
            "spec.sidecarInjection.namespaces={a,b}",
            "spec.ingressGateway.annotations.example\\.com/x=on",
            "spec.highAvailability.replicas=3",
        ] {
            out.push(ok.as_bytes().to_vec());
        }
    }
    for dir in dirs {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        out.extend(paths.iter().map(|p| std::fs::read(p).unwrap()));
    }
    out
}

fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Runs `body` on `input`; on a panic, saves the input and returns a report.
fn run_one(target: &str, body: Body, input: &[u8]) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| body(input))) {
        Ok(()) => Ok(()),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let name = format!("{target}-{:016x}", fxhash(input));
            std::fs::write(dir.join(&name), input).unwrap();
            Err(format!(
                "{target}: panicked: {why}\n  input saved to target/fuzz-failures/{name}: {:?}",
                String::from_utf8_lossy(&input[..input.len().min(2000)])
            ))
        }
    }
}

fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn committed_regressions_and_seeds_pass() {
    for (target, body, dirs) in TARGETS {
        for (name, input) in regressions(target) {
            // Timeouts found by libFuzzer are regressions too: each input must be quick.
            let start = Instant::now();
            run_one(target, *body, &input).unwrap_or_else(|e| panic!("{name}: {e}"));
            let took = start.elapsed();
            assert!(took < Duration::from_secs(5), "{name} took {took:?}");
        }
        for input in seeds(target, dirs) {
            run_one(target, *body, &input).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn mutated_inputs_never_break_an_invariant() {
    let secs: f64 = std::env::var("MESHGEN_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let seed = common::seed_from_env("MESHGEN_FUZZ_SEED");
    // Quiet the default hook: expected panics are caught and reported with their input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for (i, (target, body, dirs)) in TARGETS.iter().enumerate() {
        let mut rng = Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let seeds = seeds(target, dirs);
        let start = Instant::now();
        let mut runs = 0u64;
        while start.elapsed() < Duration::from_secs_f64(secs) {
            let mut input = seeds[rng.below(seeds.len())].clone();
            mutate(&mut rng, &seeds, &mut input);
            runs += 1;
            if let Err(e) = run_one(target, *body, &input) {
                failures.push(e);
                break;
            }
        }
        eprintln!(
            "{target}: {runs} mutated inputs in {:?} (seed {seed})",
            start.elapsed()
        );
    }
    std::panic::set_hook(hook);
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
}
