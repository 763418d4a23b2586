//! The layering of `src/` (ARCHITECTURE.md, "Layers"), held by scanning the sources:
//!
//! - only `src/cli/` and `src/main.rs` use clap, print, touch the terminal or colour, and no
//!   library module reaches up into `crate::cli`;
//! - the library's top-level modules depend on each other downwards only (`LAYERS`), so
//!   there is no cycle between them;
//! - ARCHITECTURE.md names every source file.
//!
//! The scans are plain text (no parser): comments are dropped first, so prose may mention
//! `println!`; anything else that matches is a finding.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's top-level modules, bottom layer first. A module may use its own layer's and
/// lower layers' modules, never a higher one's. `cli` sits above all of them.
const LAYERS: &[&[&str]] = &[
    &["error", "diff", "suggest", "parallel"],
    &["fsutil", "yaml"],
    &["model"],
    &["vendoring"],
    &["render"],
    &["install"],
    &["lint"],
    &["gitops"],
];

/// Text that marks a use of clap, of the terminal or of colour.
const FRONT_END_MARKS: &[&str] = &[
    "clap::",
    "clap_complete",
    "clap_mangen",
    "#[arg(",
    "#[command(",
    "#[value(",
    "print!",
    "println!",
    "eprint!",
    "eprintln!",
    "stdout()",
    "stderr()",
    "anstream",
    "anstyle",
    "indicatif",
    "is_terminal",
    "crate::cli",
];

/// Derives that only a command line needs.
const FRONT_END_DERIVES: &[&str] = &["Args", "Parser", "Subcommand", "ValueEnum"];

/// The source without `//` comments (doc comments included). Naive about `//` inside string
/// literals, which only ever removes text and so cannot invent a finding.
fn strip_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every way `source` uses clap, prints or touches the terminal: (1-based line, what).
fn front_end_uses(source: &str) -> Vec<(usize, String)> {
    let code = strip_comments(source);
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        for mark in FRONT_END_MARKS {
            if line.contains(mark) {
                found.push((i + 1, format!("`{mark}`")));
            }
        }
    }
    // `#[derive(...)]` may span lines: take each from its opening to its closing bracket.
    let mut rest = code.as_str();
    while let Some(start) = rest.find("#[derive(") {
        let after = &rest[start + "#[derive(".len()..];
        let end = after.find(")]").unwrap_or(after.len());
        let line = code.len() - rest.len() + start;
        let line = code[..line].matches('\n').count() + 1;
        for word in after[..end].split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if FRONT_END_DERIVES.contains(&word) {
                found.push((line, format!("derive({word})")));
            }
        }
        rest = &after[end..];
    }
    found.sort();
    found
}

/// The top-level modules `source` names through `crate::` (`crate::model::load`,
/// `crate::{error, yaml}`).
fn crate_references(source: &str) -> BTreeSet<String> {
    let code = strip_comments(source);
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let after = &code[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            // Only the first segment of each item: `crate::{model::load, error}`.
            found.extend(
                inner
                    .split(',')
                    .map(|item| ident(item.trim()))
                    .filter(|name| !name.is_empty()),
            );
        } else {
            let name = ident(after);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// The layer index of a top-level library module, None for one `LAYERS` does not list.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Edges that point up the layers, and modules no layer lists: a message each.
fn layering_problems(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    for (from, targets) in graph {
        let Some(from_layer) = layer_of(from) else {
            problems.push(format!(
                "module `{from}` is in no layer: add it to LAYERS in tests/layers.rs and to ARCHITECTURE.md"
            ));
            continue;
        };
        for to in targets.iter().filter(|to| *to != from) {
            match layer_of(to) {
                Some(to_layer) if to_layer > from_layer => problems.push(format!(
                    "`{from}` uses `{to}`, a higher layer: arrows only point down"
                )),
                Some(_) => {}
                None => problems.push(format!("`{from}` uses `{to}`, which is in no layer")),
            }
        }
    }
    problems
}

/// A cycle of the dependency graph, if it has one (as the modules along it).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if next != node {
                if let Some(cycle) = visit(next, graph, path, done) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library's files, relative to `src/`, with their text (`cli/`, `main.rs` and `lib.rs`,
/// which only lists the modules, left out).
fn library_files() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&path).unwrap())
        })
        .filter(|(rel, _)| !rel.starts_with("cli/") && rel != "main.rs" && rel != "lib.rs")
        .collect()
}

/// `model/load.rs` and `model/mod.rs` are in `model`; `yaml.rs` is `yaml`.
fn top_level_module(rel: &str) -> String {
    let first = rel.split('/').next().unwrap();
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

#[test]
fn only_the_cli_uses_clap_prints_or_colours() {
    let files = library_files();
    assert!(
        files.len() > 20,
        "the scan found too few files: {}",
        files.len()
    );
    let findings: Vec<String> = files
        .iter()
        .flat_map(|(rel, text)| {
            front_end_uses(text)
                .into_iter()
                .map(move |(line, what)| format!("src/{rel}:{line}: {what}"))
        })
        .collect();
    assert!(
        findings.is_empty(),
        "library modules must return data, and leave clap, printing and colour to src/cli/:\n{}",
        findings.join("\n")
    );
}

#[test]
fn library_layers_only_point_down() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in library_files() {
        graph
            .entry(top_level_module(&rel))
            .or_default()
            .extend(crate_references(&text));
    }
    assert!(graph.contains_key("model") && graph.contains_key("gitops"));
    let problems = layering_problems(&graph);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(find_cycle(&graph), None, "a dependency cycle");
}

#[test]
fn architecture_names_every_source_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut files = Vec::new();
    source_files(&root.join("src"), &mut files);
    let missing: Vec<String> = files
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root.join("src"))
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // A folder's mod.rs is described as the folder.
            rel.strip_suffix("mod.rs")
                .map_or(rel.clone(), str::to_string)
        })
        .filter(|rel| !architecture.contains(&format!("`{rel}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md has no line for: {}",
        missing.join(", ")
    );
}

// The checks themselves, on sources written to fail them.

#[test]
fn the_scan_catches_clap_printing_and_colour() {
    let sample = r#"
use crate::error::Result;
/// Prints with println!, says the comment: no finding.
#[derive(Debug, Clone,
         clap::Args)]
pub struct A {
    #[arg(long)]
    pub x: bool,
}
#[derive(Debug, ValueEnum)]
enum F { A }
fn f() {
    eprintln!("warning");
    let _ = std::io::stdout().lock();
    anstream::eprint!("x");
    crate::cli::stdout_write("x");
}
"#;
    let found = front_end_uses(sample);
    let whats: Vec<&str> = found.iter().map(|(_, w)| w.as_str()).collect();
    for expected in [
        "`clap::`",
        "`#[arg(`",
        "derive(Args)",
        "derive(ValueEnum)",
        "`eprintln!`",
        "`stdout()`",
        "`anstream`",
        "`eprint!`",
        "`crate::cli`",
    ] {
        assert!(
            whats.contains(&expected),
            "{expected} not caught: {found:?}"
        );
    }
    assert!(
        !found.iter().any(|(line, _)| *line == 3),
        "a comment is not code: {found:?}"
    );
    assert!(
        found.contains(&(4, "derive(Args)".to_string())),
        "{found:?}"
    );
    let clean = "use std::fmt::Write as _;\n#[derive(Debug, Clone, serde::Serialize)]\nstruct Report;\nfn f(out: &mut String) { let _ = writeln!(out, \"x\"); }\n";
    assert_eq!(front_end_uses(clean), []);
}

#[test]
fn the_graph_check_catches_upward_arrows_and_cycles() {
    let refs = crate_references(
        "use crate::model::load;\nuse crate::{error::Result, yaml};\nfn f() { crate::render::values::render(x); }\n// crate::gitops\n",
    );
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["error", "model", "render", "yaml"]
    );

    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            g.entry(from.to_string())
                .or_default()
                .insert(to.to_string());
            g.entry(to.to_string()).or_default();
        }
        g
    };
    let down = graph(&[
        ("gitops", "install"),
        ("install", "render"),
        ("render", "model"),
    ]);
    assert!(layering_problems(&down).is_empty());
    assert_eq!(find_cycle(&down), None);

    let up = graph(&[("render", "model"), ("model", "render")]);
    let problems = layering_problems(&up);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("`model` uses `render`"),
        "{problems:?}"
    );
    assert_eq!(
        find_cycle(&up),
        Some(vec!["model".into(), "render".into(), "model".into()])
    );

    let stray = graph(&[("helpers", "model")]);
    assert!(layering_problems(&stray)[0].contains("`helpers` is in no layer"));
}
