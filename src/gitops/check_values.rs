//! `meshgen check-values`: holds a values file against the defaults of the chart(s) it is
//! meant for, as Helm would merge them, and reports every key the charts do not declare
//! (with "did you mean") and every value whose type differs from the default's.
//!
//! What a chart declares is its `values.yaml` plus each sub-chart under `charts/<dir>/`,
//! whose values live under the sub-chart's name while its `global` joins the parent's.
//! Several `--chart`s give the union (Istio 1.11 installs four charts from one values file).
//! Maps the chart leaves open for user keys accept anything below them: an empty `{}`
//! default, and keys whose name says so (annotations, labels, env, resources, ...). For
//! the vendored Istio charts, `data/chart-keys/<line>.extra.txt` adds what the templates
//! read without declaring (`read PATH`) and further open maps (`open PATH`).
//!
//! Values are typed as Helm reads them (YAML 1.1): a plain `no` is a boolean, `1_000` a
//! number, so a trap that slips into a string field is reported.
//!
//! For charts of an Istio release that take `meshConfig` (1.11), that value is held to the
//! fields istiod reads of it (`model::mesh_config`), of the release the vendored path names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Error, Result};
use crate::model::chart_keys::{extra_entries, extras, kind_of, Extra, Kind, OPEN_KEYS};
use crate::model::release_line::ReleaseLine;
use crate::yaml::{self, Node, NodeValue, PathSegment};

/// What the charts declare at one path.
#[derive(Debug, Clone)]
struct Decl {
    kind: Kind,
    /// Any key is accepted below this map.
    open: bool,
    children: BTreeMap<String, Decl>,
    /// What any key not in `children` is held to: a map whose every entry the templates
    /// read alike (1.0's `gateways`, one gateway per entry).
    each: Option<Box<Decl>>,
    /// `file:line` of the default, for messages.
    origin: String,
}

impl Decl {
    fn any(origin: String) -> Decl {
        Decl {
            kind: Kind::Any,
            open: false,
            children: BTreeMap::new(),
            each: None,
            origin,
        }
    }

    fn empty_map(origin: String) -> Decl {
        Decl {
            kind: Kind::Map,
            open: false,
            children: BTreeMap::new(),
            each: None,
            origin,
        }
    }

    /// `line` is where the default is declared: its key's line (a block map starts below it).
    fn from_node(node: &Node, name: Option<&str>, line: usize, file: &str) -> Decl {
        let origin = format!("{file}:{line}");
        let mut decl = Decl::any(origin);
        decl.kind = kind_of(node);
        if let NodeValue::Map(entries) = &node.value {
            decl.open = entries.is_empty() || name.is_some_and(|n| OPEN_KEYS.contains(&n));
            for e in entries {
                let child = Decl::from_node(&e.value, Some(&e.key), e.key_span.line, file);
                decl.children.insert(e.key.clone(), child);
            }
        }
        decl
    }

    /// Merges `other` into `self` as a union: maps merge key by key, and two different
    /// kinds at one path accept either (the charts disagree, so neither is wrong).
    fn union(&mut self, other: Decl) {
        if self.kind == Kind::Map && other.kind == Kind::Map {
            self.open |= other.open;
            self.each = self.each.take().or(other.each);
            for (key, child) in other.children {
                match self.children.get_mut(&key) {
                    Some(mine) => mine.union(child),
                    None => {
                        self.children.insert(key, child);
                    }
                }
            }
        } else if self.kind != other.kind {
            self.kind = Kind::Any;
            self.children.clear();
        }
    }

    fn get_mut(&mut self, path: &[String]) -> Option<&mut Decl> {
        let mut decl = self;
        for key in path {
            decl = decl.children.get_mut(key)?;
        }
        Some(decl)
    }
}

/// What the charts declare, ready to check values files against.
#[derive(Debug)]
pub struct Declared {
    root: Decl,
    /// The charts, for messages.
    pub charts: Vec<PathBuf>,
    /// The Istio line whose known undeclared keys were added, if any.
    pub line: Option<ReleaseLine>,
    /// The exact release `meshConfig` is held to (`model::mesh_config`): the one the vendored
    /// paths name, else the line's pin.
    pub version: Option<semver::Version>,
}

fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A file holding only comments and blank lines is an empty document, not an error.
fn is_blank(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "{}"
    })
}

fn parse_located(path: &Path, text: &str) -> Result<Option<Node>> {
    if is_blank(text) {
        return Ok(None);
    }
    yaml::parse(text)
        .map(Some)
        .map_err(|e| e.into_diagnostic(&path.display().to_string()).into())
}

fn chart_name(dir: &Path) -> Result<String> {
    let path = dir.join("Chart.yaml");
    let Some(text) = read(&path)? else {
        return Err(Error::Usage(format!(
            "{} is not a Helm chart: it has no Chart.yaml",
            dir.display()
        )));
    };
    let node = parse_located(&path, &text)?;
    match node
        .map(|n| n.to_json())
        .as_ref()
        .and_then(|j| j.get("name"))
    {
        Some(serde_json::Value::String(name)) if !name.is_empty() => Ok(name.clone()),
        _ => Err(Diagnostic::error(
            path.display().to_string(),
            1,
            1,
            "name",
            "a chart needs a name",
        )
        .into()),
    }
}

/// One chart and its sub-charts, as Helm merges their defaults.
fn load_chart(dir: &Path) -> Result<Decl> {
    chart_name(dir)?;
    let values_path = dir.join("values.yaml");
    let file = values_path.display().to_string();
    let mut root = match read(&values_path)? {
        Some(text) => match parse_located(&values_path, &text)? {
            Some(node) if matches!(node.value, NodeValue::Map(_)) => {
                let mut decl = Decl::from_node(&node, None, node.span.line, &file);
                // The top level is the chart's own namespace, never an open map.
                decl.open = false;
                decl
            }
            Some(node) => {
                return Err(Diagnostic::error(
                    file,
                    node.span.line,
                    node.span.col,
                    "",
                    "chart defaults must be a map",
                )
                .into())
            }
            None => Decl::empty_map(file.clone()),
        },
        None => Decl::empty_map(file.clone()),
    };
    let charts_dir = dir.join("charts");
    let mut subdirs = Vec::new();
    match std::fs::read_dir(&charts_dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(&charts_dir, e))?;
                subdirs.push(entry.path());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&charts_dir, e)),
    }
    subdirs.sort();
    for sub in subdirs {
        if !sub.is_dir() {
            if sub.extension().is_some_and(|x| x == "tgz") {
                return Err(Error::Usage(format!(
                    "{}: packed sub-charts are not read; unpack it into charts/ (helm pull --untar)",
                    sub.display()
                )));
            }
            continue;
        }
        let name = chart_name(&sub)?;
        let mut decl = load_chart(&sub)?;
        // A sub-chart's `global` is the parent's; the rest lives under its name.
        if let Some(global) = decl.children.remove("global") {
            match root.children.get_mut("global") {
                Some(mine) => mine.union(global),
                None => {
                    root.children.insert("global".into(), global);
                }
            }
        }
        decl.open = false;
        match root.children.get_mut(&name) {
            // The parent's section overrides the sub-chart's defaults, key by key.
            Some(mine) => mine.union(decl),
            None => {
                root.children.insert(name, decl);
            }
        }
    }
    Ok(root)
}

/// Adds a line's known undeclared keys where their parent is declared, so that a `read`
/// entry for one 1.11 chart does not open a path in another.
fn apply_extras(root: &mut Decl, line: ReleaseLine) {
    let origin = format!("data/chart-keys/{line}.extra.txt");
    for entry in extra_entries(extras(line)) {
        let (open, keys) = match entry {
            Extra::Open(keys) => (true, keys),
            Extra::Read(keys) => (false, keys),
            Extra::Each { map, like } => {
                let template = root.get_mut(&like).cloned();
                if let (Some(template), Some(map)) = (template, root.get_mut(&map)) {
                    map.each = Some(Box::new(template));
                }
                continue;
            }
        };
        let Some((last, parent)) = keys.split_last() else {
            continue;
        };
        let Some(parent) = root.get_mut(parent) else {
            continue;
        };
        if parent.kind != Kind::Map {
            continue;
        }
        let child = parent
            .children
            .entry(last.clone())
            .or_insert_with(|| Decl::any(origin.clone()));
        if open {
            child.open = true;
        }
    }
}

/// The Istio release of a vendored chart path `.../<version>/<chart>` whose chart is one of
/// that release's line's.
fn detect_version(dir: &Path, name: &str) -> Option<semver::Version> {
    let dir = dir.canonicalize().ok()?;
    let version = semver::Version::parse(dir.parent()?.file_name()?.to_str()?).ok()?;
    let line = ReleaseLine::of_version(&version)?;
    line.charts()
        .iter()
        .any(|c| c.name == name)
        .then_some(version)
}

/// Loads the charts' declared values.
pub fn load(charts: &[PathBuf], istio: Option<ReleaseLine>) -> Result<Declared> {
    let mut root: Option<Decl> = None;
    let mut detected = Vec::new();
    for dir in charts {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{}: no such chart directory",
                dir.display()
            )));
        }
        let name = chart_name(dir)?;
        detected.push(detect_version(dir, &name));
        let decl = load_chart(dir)?;
        match &mut root {
            Some(r) => r.union(decl),
            None => root = Some(decl),
        }
    }
    let mut root = root.ok_or_else(|| Error::Usage("no chart given".into()))?;
    // One release for all the charts, or none.
    let release = detected
        .first()
        .cloned()
        .flatten()
        .filter(|first| detected.iter().all(|d| d.as_ref() == Some(first)));
    let line = istio.or_else(|| ReleaseLine::of_version(release.as_ref()?));
    if let Some(line) = line {
        apply_extras(&mut root, line);
    }
    let version = line.map(|line| {
        release
            .filter(|v| ReleaseLine::of_version(v) == Some(line))
            .unwrap_or_else(|| line.pinned_version())
    });
    Ok(Declared {
        root,
        charts: charts.to_vec(),
        line,
        version,
    })
}

impl Declared {
    /// Checks the values file at `path`, read whole.
    pub fn check_file(&self, path: &Path) -> Result<Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        self.check(&path.display().to_string(), &text)
    }

    /// Every finding in one values file (a file that is not YAML is one finding); `file`
    /// names it in the diagnostics.
    pub fn check(&self, file: &str, text: &str) -> Result<Vec<Diagnostic>> {
        let node = match parse_located(Path::new(file), text) {
            Ok(Some(node)) => node,
            Ok(None) => return Ok(Vec::new()),
            Err(Error::Findings(found)) => return Ok(found),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        let mut path = Vec::new();
        if !matches!(node.value, NodeValue::Map(_)) {
            out.push(finding(
                file,
                node.span,
                &path,
                format!("values must be a map, found {}", kind_of(&node).noun()),
                None,
            ));
            return Ok(out);
        }
        walk(&node, &self.root, file, &mut path, &mut out);
        out.extend(self.mesh_config(file, &node));
        // Stable: the walk's findings are in document order already.
        out.sort_by_key(|d| (d.line, d.col));
        Ok(out)
    }

    /// `meshConfig` against the fields Istio reads from it, when the charts are an Istio
    /// release's that take it.
    fn mesh_config(&self, file: &str, node: &Node) -> Vec<Diagnostic> {
        let at = [PathSegment::Key("meshConfig".into())];
        let (Some(version), Some(mesh)) = (&self.version, node.get(&at)) else {
            return Vec::new();
        };
        crate::model::mesh_config::check(
            version,
            mesh,
            &at,
            crate::model::mesh_config::Reader::Helm,
        )
        .into_iter()
        .map(|(f, at_value)| {
            let span = if at_value {
                node.locate_value(&f.path)
            } else {
                node.locate(&f.path)
            };
            finding(file, span, &f.path, f.message, f.hint)
        })
        .collect()
    }
}

fn finding(
    file: &str,
    span: yaml::Span,
    path: &[PathSegment],
    message: String,
    hint: Option<String>,
) -> Diagnostic {
    Diagnostic {
        hint,
        ..Diagnostic::error(file, span.line, span.col, yaml::display_path(path), message)
    }
}

fn walk(
    node: &Node,
    decl: &Decl,
    file: &str,
    path: &mut Vec<PathSegment>,
    out: &mut Vec<Diagnostic>,
) {
    let NodeValue::Map(entries) = &node.value else {
        return;
    };
    if decl.open {
        return;
    }
    for entry in entries {
        path.push(PathSegment::Key(entry.key.clone()));
        // An entry the chart reads like its siblings only counts when it is switched on: the
        // chart skips one without `enabled`, so a misspelt gateway name is still reported.
        let enabled =
            matches!(&entry.value.value, NodeValue::Map(e) if e.iter().any(|e| e.key == "enabled"));
        let each = decl.each.as_deref().filter(|_| enabled);
        match decl.children.get(&entry.key).or(each) {
            None => {
                let hint = crate::suggest::did_you_mean(
                    &entry.key,
                    decl.children.keys().map(String::as_str),
                )
                .map(|s| format!("did you mean `{s}`?"));
                out.push(finding(
                    file,
                    entry.key_span,
                    path,
                    "the chart does not declare this key".into(),
                    hint,
                ));
            }
            Some(child) => {
                let given = kind_of(&entry.value);
                // A null value resets the key to the chart's default; null defaults take anything.
                if given == Kind::Any || child.kind == Kind::Any {
                } else if given != child.kind {
                    let span = match entry.value.value {
                        NodeValue::Map(_) | NodeValue::Seq(_) => entry.key_span,
                        _ => entry.value.span,
                    };
                    let mut message = format!(
                        "{} where the chart has {} ({})",
                        given.noun(),
                        child.kind.noun(),
                        child.origin
                    );
                    let mut hint = None;
                    if let NodeValue::Str(s, true) = &entry.value.value {
                        if given != Kind::Str {
                            message = format!(
                                "Helm reads `{s}` as {} (YAML 1.1), where the chart has {} ({})",
                                given.noun(),
                                child.kind.noun(),
                                child.origin
                            );
                            if child.kind == Kind::Str {
                                hint = Some(format!("quote it: \"{s}\""));
                            }
                        }
                    } else if given == Kind::Number && child.kind == Kind::Str {
                        hint = Some("quote it to keep it a string".into());
                    }
                    out.push(finding(file, span, path, message, hint));
                } else if given == Kind::Map {
                    walk(&entry.value, child, file, path, out);
                }
            }
        }
        path.pop();
    }
}
