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
    &["alloc", "error", "diff", "suggest", "parallel"],
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
    all_source_files()
        .into_iter()
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
        "use crate::model::load;\nuse crate::{error::Result, yaml};\nfn f() { crate::render::pipeline::render(x); }\n// crate::gitops\n",
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

// Function length and branches on named release lines (issue #25). Both are ratchets: the
// lists below hold what is left to fold, the test fails on anything new and on an entry
// that no longer needs its place, so the lists only shrink.

/// The longest a function in `src/` may be, in lines from `fn` to its closing brace.
const MAX_FUNCTION_LINES: usize = 100;

/// Functions still over `MAX_FUNCTION_LINES`: (file under `src/`, name). To be split.
const LONG_FUNCTIONS_LEFT: &[(&str, &str)] = &[];

/// The source with comments and the contents of string literals blanked (newlines kept, so
/// line numbers hold) and brace characters in char literals dropped, so that counting braces
/// follows the code.
fn code_for_braces(source: &str) -> String {
    let source = source
        .replace("'{'", "' '")
        .replace("'}'", "' '")
        .replace("'\"'", "' '");
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let keep_newline = |c: char, out: &mut String| {
        if c == '\n' {
            out.push('\n');
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                keep_newline(chars[i], &mut out);
                i += 1;
            }
            i += 2;
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && (i == 0 || !chars[i - 1].is_alphanumeric())
        {
            // A raw string: r"...", r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let closing: Vec<char> = closing.chars().collect();
            while j < chars.len() && chars[j..].iter().take(closing.len()).ne(closing.iter()) {
                keep_newline(chars[j], &mut out);
                j += 1;
            }
            out.push_str("\"\"");
            i = j + closing.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    keep_newline(ch, &mut out);
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every function with a body in `source`: (name, 1-based first line, length in lines).
/// A plain brace count from the `fn` line: string literals in this code base hold balanced
/// braces (format strings), which is all the scan needs.
fn functions(source: &str) -> Vec<(String, usize, usize)> {
    let code = code_for_braces(source);
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(at) = line.find("fn ") else { continue };
        if at > 0 && line.as_bytes()[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let name: String = line[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let declaration = line.trim_start();
        let is_item = declaration.starts_with("fn ")
            || ["pub", "const", "async", "unsafe", "extern"]
                .iter()
                .any(|w| declaration.starts_with(w));
        if name.is_empty() || !is_item {
            continue;
        }
        // From the `fn` to the first `{` (a body) or `;` (a declaration), then to the brace
        // that closes the body.
        let mut depth = 0usize;
        let mut opened = false;
        let mut end = None;
        'scan: for (i, l) in lines.iter().enumerate().skip(start) {
            let text = if i == start { &l[at..] } else { l };
            for c in text.chars() {
                match c {
                    ';' if !opened => break 'scan,
                    '{' => {
                        opened = true;
                        depth += 1;
                    }
                    '}' if opened => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(end) = end {
            found.push((name, start + 1, end - start + 1));
        }
    }
    found
}

/// Every source file under `src/` (all of it, `cli/` included), relative to `src/`.
fn all_source_files() -> Vec<(String, String)> {
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
        .collect()
}

#[test]
fn no_function_in_src_is_over_100_lines() {
    let mut new = Vec::new();
    let mut long = BTreeSet::new();
    for (rel, text) in all_source_files() {
        for (name, line, length) in functions(&text) {
            if length <= MAX_FUNCTION_LINES {
                continue;
            }
            long.insert((rel.clone(), name.clone()));
            if !LONG_FUNCTIONS_LEFT.contains(&(rel.as_str(), name.as_str())) {
                new.push(format!("src/{rel}:{line}: `{name}` is {length} lines"));
            }
        }
    }
    assert!(
        new.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines: split each into short ones\n{}",
        new.join("\n")
    );
    let stale: Vec<String> = LONG_FUNCTIONS_LEFT
        .iter()
        .filter(|(rel, name)| !long.contains(&(rel.to_string(), name.to_string())))
        .map(|(rel, name)| format!("src/{rel}: `{name}`"))
        .collect();
    assert!(
        stale.is_empty(),
        "no longer over {MAX_FUNCTION_LINES} lines: remove from LONG_FUNCTIONS_LEFT\n{}",
        stale.join("\n")
    );
}

/// Where a named release line (`ReleaseLine::V1_11`) may be compared or matched: the spec
/// of the lines. Everywhere else asks the spec or a capability.
const LINE_SPEC_FILES: &[&str] = &[
    "model/release_line.rs",
    "model/release_line/v0_6.rs",
    "model/release_line/v1_0.rs",
    "model/release_line/v1_11.rs",
];

/// Files outside the spec that still name a line, with how many times (their unit tests
/// left out). To be folded into the spec: 107 at the start of issue #25.
const NAMED_LINES_LEFT: &[(&str, usize)] = &[];

#[test]
fn no_named_release_line_outside_the_spec() {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (rel, text) in all_source_files() {
        if LINE_SPEC_FILES.contains(&rel.as_str()) {
            continue;
        }
        // A file's unit tests may name the line they test.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        let n = strip_comments(code).matches("ReleaseLine::V").count();
        if n > 0 {
            counts.insert(rel, n);
        }
    }
    let allowed: BTreeMap<String, usize> = NAMED_LINES_LEFT
        .iter()
        .map(|(rel, n)| (rel.to_string(), *n))
        .collect();
    let mut problems = Vec::new();
    for (rel, n) in &counts {
        let left = allowed.get(rel).copied().unwrap_or(0);
        if *n > left {
            problems.push(format!(
                "src/{rel}: {n} uses of a named release line (`ReleaseLine::V…`), {left} allowed: ask the line's spec or a capability"
            ));
        }
    }
    for (rel, left) in &allowed {
        let n = counts.get(rel).copied().unwrap_or(0);
        if n < *left {
            problems.push(format!(
                "src/{rel}: {n} uses of a named release line, NAMED_LINES_LEFT allows {left}: lower it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_function_scan_measures_bodies() {
    let sample = "/// fn not_code() {\npub(crate) fn short(a: u8) -> u8 {\n    let s = format!(\"{a}\");\n    if a == b'{' as u8 { 0 } else { 1 }\n}\ntrait T {\n    fn declared(&self);\n}\nfn long() {\n    // }\n    let _ = '}';\n}\n";
    let found = functions(sample);
    assert_eq!(
        found,
        [("short".to_string(), 2, 4), ("long".to_string(), 9, 4)],
        "{found:?}"
    );
}

/// The graph of the files of each folder (a folder's `mod.rs`, which declares them, left
/// out): `render/values` → `render/merge` when `values.rs` names `super::merge` or
/// `crate::render::merge`. Unit tests left out.
fn file_graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let module = |rel: &str| rel.strip_suffix(".rs").unwrap_or(rel).to_string();
    let leaves: BTreeSet<String> = files
        .iter()
        .filter(|(rel, _)| rel.contains('/') && !rel.ends_with("/mod.rs"))
        .map(|(rel, _)| module(rel))
        .collect();
    let mut graph = BTreeMap::new();
    for (rel, text) in files {
        let me = module(rel);
        if !leaves.contains(&me) {
            continue;
        }
        let folder = me.rsplit_once('/').unwrap().0;
        let code = strip_comments(text.split("#[cfg(test)]\nmod tests").next().unwrap_or(""));
        // `super::x` and `crate::<folder>::x` name a sibling `x`; rewriting the latter to
        // the former lets one reader take both.
        let code = code.replace(&format!("crate::{folder}::"), "super::");
        let mut targets = BTreeSet::new();
        for (i, _) in code.match_indices("super::") {
            let after = &code[i + "super::".len()..];
            let names: Vec<&str> = match after.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .collect(),
                None => vec![after],
            };
            for name in names {
                let name: String = name
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let sibling = format!("{folder}/{name}");
                if sibling != me && leaves.contains(&sibling) {
                    targets.insert(sibling);
                }
            }
        }
        graph.insert(me, targets);
    }
    graph
}

/// The modules that lie on some circle of `graph`.
fn on_circles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = graph
            .get(from)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if seen.insert(node) {
                stack.extend(graph.get(node).into_iter().flatten().map(String::as_str));
            }
        }
        false
    };
    graph.keys().filter(|m| reaches(m, m)).cloned().collect()
}

#[test]
fn no_circle_between_the_files_of_a_folder() {
    let graph = file_graph(&all_source_files());
    assert!(graph.contains_key("render/values") && graph.contains_key("model/rules"));
    let circles = on_circles(&graph);
    assert!(
        circles.is_empty(),
        "modules on an import circle: {circles:?}; make the arrows point one way\n{graph:#?}"
    );
    // The render pipeline's order (issue #25): each stage reaches only the ones below it.
    let render_order = [
        "render/resolve",
        "render/values",
        "render/origins",
        "render/merge",
        "render/pipeline",
        "render/explain",
    ];
    for (i, module) in render_order.iter().enumerate() {
        for target in &graph[*module] {
            let below = render_order[..i].contains(&target.as_str());
            assert!(below, "{module} reaches {target}, which is not below it");
        }
    }
}

#[test]
fn the_file_graph_sees_super_and_crate_paths() {
    let files = [
        ("render/a.rs".to_string(), "use super::b::X;\n".to_string()),
        (
            "render/b.rs".to_string(),
            "fn f() { crate::render::{c::y, a}; }\n".to_string(),
        ),
        (
            "render/c.rs".to_string(),
            "use crate::model::x;\n#[cfg(test)]\nmod tests {\n    use super::a;\n}\n".to_string(),
        ),
        ("render/mod.rs".to_string(), "pub mod a;\n".to_string()),
    ];
    let graph = file_graph(&files);
    assert_eq!(graph["render/a"], BTreeSet::from(["render/b".to_string()]));
    assert_eq!(
        graph["render/b"],
        BTreeSet::from(["render/a".to_string(), "render/c".to_string()])
    );
    assert!(graph["render/c"].is_empty(), "unit tests are left out");
    assert_eq!(
        on_circles(&graph),
        BTreeSet::from(["render/a".to_string(), "render/b".to_string()])
    );
}

/// Longest a test of the integration tests may be: one behaviour per test, the setup it shares
/// with its neighbours in a helper (issue #25 split the 353- and 226-line ones).
const MAX_TEST_FUNCTION_LINES: usize = 120;

/// Whether the function whose `fn` is on 1-based `line` carries `#[test]` among the attribute
/// and comment lines right above it.
fn is_test(lines: &[&str], line: usize) -> bool {
    lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
        .any(|l| l == "#[test]")
}

#[test]
fn no_test_in_the_tests_is_over_120_lines() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files = Vec::new();
    source_files(&dir, &mut files);
    let mut long = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (name, line, length) in functions(&text) {
            if length > MAX_TEST_FUNCTION_LINES && is_test(&lines, line) {
                let rel = path.strip_prefix(&dir).unwrap().display();
                long.push(format!("tests/{rel}:{line}: `{name}` is {length} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "tests over {MAX_TEST_FUNCTION_LINES} lines: one test per behaviour, shared setup in helpers\n{}",
        long.join("\n")
    );
}
