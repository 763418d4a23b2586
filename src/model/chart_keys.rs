//! What each release line's charts declare, built in from `data/chart-keys/` (facts read off
//! the pinned tags): every key path with the kind of its default as Helm reads it, the maps
//! left open to user keys, and the keys the templates read without declaring. A platform's
//! `spec.values` is checked against them here, each finding at its key or value.
//!
//! Helm reads values as YAML 1.1 and meshgen reads platform files as YAML 1.2, so a plain
//! scalar the two read differently (`on`, `no`, `1_000`) is refused wherever it stands: the
//! user says which of the two they meant.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::error::Severity;
use crate::model::release_line::ReleaseLine;
use crate::model::rules::Finding;
use crate::yaml::{Node, NodeValue, PathSegment};

/// Map keys whose defaults are open for user keys, whatever the chart puts in them.
pub const OPEN_KEYS: &[&str] = &[
    "affinity",
    "annotations",
    "dashboardProviders",
    "datasources",
    "defaultNodeSelector",
    "defaultResources",
    "deploymentAnnotations",
    "deploymentLabels",
    "env",
    "injectedAnnotations",
    "labels",
    "limits",
    "nodeSelector",
    "podAnnotations",
    "podLabels",
    "podSecurityContext",
    "proxyMetadata",
    "requests",
    "resources",
    "securityContext",
    "selector",
    "serviceAnnotations",
    "tolerations",
];

/// Known undeclared keys per line (`open PATH`, `read PATH`).
pub fn extras(line: ReleaseLine) -> &'static str {
    line.spec().chart_keys.extra
}

/// Every declared key path of a line with the kind of its default (`PATH KIND`).
fn types(line: ReleaseLine) -> &'static str {
    line.spec().chart_keys.types
}

/// The kind of a value as Helm reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A null default: the chart accepts anything here.
    Any,
    Map,
    List,
    Str,
    Bool,
    Number,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Any => "anything",
            Kind::Map => "a map",
            Kind::List => "a list",
            Kind::Str => "a string",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
        }
    }

    fn parse(word: &str) -> Option<Kind> {
        Some(match word {
            "null" => Kind::Any,
            "map" => Kind::Map,
            "list" => Kind::List,
            "string" => Kind::Str,
            "bool" => Kind::Bool,
            "number" => Kind::Number,
            _ => return None,
        })
    }
}

/// What Helm's YAML 1.1 reading makes of a plain scalar that YAML 1.2 keeps as a string.
pub fn yaml11_kind(text: &str, plain: bool) -> Option<Kind> {
    match crate::yaml::yaml11_only(text).filter(|_| plain)? {
        crate::yaml::Yaml11Scalar::Bool => Some(Kind::Bool),
        crate::yaml::Yaml11Scalar::Number => Some(Kind::Number),
    }
}

/// The kind Helm gives a value node.
pub fn kind_of(node: &Node) -> Kind {
    match &node.value {
        NodeValue::Null => Kind::Any,
        NodeValue::Bool(_) => Kind::Bool,
        NodeValue::Int(_) | NodeValue::Float(_) => Kind::Number,
        NodeValue::Str(s, plain) => yaml11_kind(s, *plain).unwrap_or(Kind::Str),
        NodeValue::Seq(_) => Kind::List,
        NodeValue::Map(_) => Kind::Map,
    }
}

/// Splits `a.b["x.y"].c` into its keys.
/// One entry of `data/chart-keys/<line>.extra.txt` (its README says what each means), as
/// key paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    Open(Vec<String>),
    Read(Vec<String>),
    Each { map: Vec<String>, like: Vec<String> },
}

/// The entries of an extra list, in file order; comments and unknown lines are skipped.
pub fn extra_entries(text: &str) -> impl Iterator<Item = Extra> + '_ {
    text.lines().filter_map(|entry| {
        let entry = entry.split('#').next().unwrap_or_default().trim();
        if let Some(rest) = entry.strip_prefix("each ") {
            let (map, like) = rest.split_once(" like ")?;
            return Some(Extra::Each {
                map: split_path(map.trim()),
                like: split_path(like.trim()),
            });
        }
        if let Some(path) = entry.strip_prefix("open ") {
            return Some(Extra::Open(split_path(path.trim())));
        }
        entry
            .strip_prefix("read ")
            .map(|path| Extra::Read(split_path(path.trim())))
    })
}

pub fn split_path(path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("[\"") {
            let end = r.find("\"]").unwrap_or(r.len());
            keys.push(r[..end].to_string());
            rest = r.get(end + 2..).unwrap_or("");
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            keys.push(rest[..end].to_string());
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    keys
}

/// One declared key.
#[derive(Debug, Clone)]
pub struct Key {
    pub kind: Kind,
    /// Any key is accepted below it.
    pub open: bool,
    pub children: BTreeMap<String, Key>,
}

impl Key {
    fn new(kind: Kind) -> Key {
        Key {
            kind,
            open: false,
            children: BTreeMap::new(),
        }
    }

    fn get_mut(&mut self, path: &[String]) -> Option<&mut Key> {
        let mut key = self;
        for k in path {
            key = key.children.get_mut(k)?;
        }
        Some(key)
    }

    /// An empty `{}` default and a map named like one users fill are open.
    fn open_maps(&mut self, name: Option<&str>) {
        if self.kind == Kind::Map
            && (self.children.is_empty() || name.is_some_and(|n| OPEN_KEYS.contains(&n)))
        {
            self.open = true;
        }
        for (name, child) in &mut self.children {
            child.open_maps(Some(name));
        }
    }
}

/// The keys one line's charts declare (with the extras), as one tree.
#[derive(Debug)]
pub struct ChartKeys {
    pub line: ReleaseLine,
    pub root: Key,
}

impl ChartKeys {
    /// The built-in keys of a line, parsed once.
    pub fn of(line: ReleaseLine) -> &'static ChartKeys {
        static KEYS: [OnceLock<ChartKeys>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let index = ReleaseLine::ALL
            .iter()
            .position(|l| *l == line)
            .expect("every line is in ALL");
        KEYS[index].get_or_init(|| ChartKeys::parse(line, types(line), extras(line)))
    }

    fn parse(line: ReleaseLine, types: &str, extras: &str) -> ChartKeys {
        let mut root = Key::new(Kind::Map);
        for entry in types.lines().filter(|l| !l.trim().is_empty()) {
            let (path, kind) = entry.rsplit_once(' ').expect("`PATH KIND` lines");
            let kind = Kind::parse(kind).expect("a known kind");
            let keys = split_path(path);
            let (last, parent) = keys.split_last().expect("a path");
            let parent = root.get_mut(parent).expect("parents are listed first");
            parent.children.insert(last.clone(), Key::new(kind));
        }
        root.open_maps(None);
        // The top level is the charts' own namespace, never open.
        root.open = false;
        for entry in extra_entries(extras) {
            // `spec.values` names the charts' own keys; an `each` map's further entries are
            // meshgen's (`spec.gateways`), not the user's to add.
            let (open, keys) = match entry {
                Extra::Open(keys) => (true, keys),
                Extra::Read(keys) => (false, keys),
                Extra::Each { .. } => continue,
            };
            let Some((last, parent)) = keys.split_last() else {
                continue;
            };
            let Some(parent) = root.get_mut(parent) else {
                continue;
            };
            let child = parent
                .children
                .entry(last.clone())
                .or_insert_with(|| Key::new(Kind::Any));
            child.open |= open;
        }
        ChartKeys { line, root }
    }

    /// The declared key at `path`, if any.
    pub fn get(&self, path: &[&str]) -> Option<&Key> {
        let mut key = &self.root;
        for k in path {
            key = key.children.get(*k)?;
        }
        Some(key)
    }
}

/// Checks `spec.values` (the node at `base`) against the line's chart keys: undeclared keys
/// with did-you-mean, kinds that differ from the default's, and plain scalars YAML 1.1 and
/// 1.2 read differently. Each finding comes with whether it is located at the value (else
/// at its key: an undeclared key).
pub fn check_values(
    line: ReleaseLine,
    values: &Node,
    base: &[PathSegment],
) -> Vec<(Finding, bool)> {
    let keys = ChartKeys::of(line);
    let mut out = Vec::new();
    let mut path = base.to_vec();
    walk(values, Some(&keys.root), line, &mut path, &mut out);
    out
}

/// Keys of the line's list that earlier releases of the line do not declare, each with the
/// first release from which every later one does (`data/chart-keys/<line>.since.txt`, facts
/// read off every release tag by `tests/real-charts/chart-keys-since.py`).
fn since(line: ReleaseLine) -> &'static str {
    line.spec().chart_keys.since
}

/// Keys every release of the line declares but whose templates read them only from a later
/// release (`data/chart-keys/<line>.read-since.txt`, facts read off the templates of each tag):
/// set earlier, they would change nothing.
fn read_since(line: ReleaseLine) -> &'static str {
    line.spec().chart_keys.read_since
}

/// The entries of a `since` list: (key path, first release declaring it).
fn since_entries(line: ReleaseLine) -> impl Iterator<Item = (&'static str, semver::Version)> {
    entries(since(line))
}

/// `PATH VERSION` lines (a `#` starts a comment).
fn entries(text: &'static str) -> impl Iterator<Item = (&'static str, semver::Version)> {
    text.lines().filter_map(|entry| {
        let entry = entry.split('#').next()?.trim();
        let (path, from) = entry.rsplit_once(' ')?;
        Some((path.trim(), semver::Version::parse(from).ok()?))
    })
}

/// Keys earlier releases of the line declare that its pinned release does not (or declares
/// with another kind), each with the first release without them
/// (`data/chart-keys/<line>.until.txt`, written with the since list).
fn until(line: ReleaseLine) -> &'static str {
    line.spec().chart_keys.until
}

/// The key paths (split) that `version`'s charts declare although the line's list does not
/// (or not with that kind): findings of `check_values` at or below them do not hold there.
pub fn declared_only_before(version: &semver::Version) -> Vec<Vec<String>> {
    let Some(line) = ReleaseLine::of_version(version) else {
        return Vec::new();
    };
    until(line)
        .lines()
        .filter_map(|entry| {
            let mut words = entry.split(' ');
            let path = words.next()?;
            let gone = semver::Version::parse(words.nth(1)?).ok()?;
            (version < &gone).then(|| split_path(path))
        })
        .collect()
}

/// `spec.values` (at `base`) against the exact release: a key of the line's list that this
/// release's charts do not declare yet is an error (only the outermost such key).
pub fn check_release(
    version: &semver::Version,
    values: &Node,
    base: &[PathSegment],
) -> Vec<(Finding, bool)> {
    let Some(line) = ReleaseLine::of_version(version) else {
        return Vec::new();
    };
    let mut reported: Vec<Vec<String>> = Vec::new();
    let mut out = Vec::new();
    let declared = since_entries(line).map(|(p, v)| (p, v, "declare"));
    let read = entries(read_since(line)).map(|(p, v)| (p, v, "read"));
    for (path, from, what) in declared.chain(read).filter(|(_, from, _)| version < from) {
        let keys = split_path(path);
        if reported.iter().any(|r| keys.starts_with(r)) {
            continue;
        }
        let segments: Vec<PathSegment> = keys.iter().cloned().map(PathSegment::Key).collect();
        if values.get(&segments).is_none() {
            continue;
        }
        let at: Vec<PathSegment> = base.iter().cloned().chain(segments).collect();
        out.push((
            error(
                &at,
                format!(
                    "Istio {version}'s charts do not {what} `{path}`: the line's charts {what} it from {from} on"
                ),
                Some(format!(
                    "remove it, or set spec.istio to {from} or a later release of {line}"
                )),
            ),
            false,
        ));
        reported.push(keys);
    }
    out
}

fn error(path: &[PathSegment], message: String, hint: Option<String>) -> Finding {
    Finding {
        severity: Severity::Error,
        path: path.to_vec(),
        message,
        hint,
    }
}

/// The chart key path of a finding, for messages (`global.proxy.accessLogFile`).
fn chart_path(path: &[PathSegment]) -> String {
    crate::yaml::display_path(path.iter().skip(2))
}

/// `decl` is the declared key at `path` when there is one to hold the node against; None
/// below an open map, an anything default or inside a list.
fn walk(
    node: &Node,
    decl: Option<&Key>,
    line: ReleaseLine,
    path: &mut Vec<PathSegment>,
    out: &mut Vec<(Finding, bool)>,
) {
    match &node.value {
        NodeValue::Str(text, true) if yaml11_kind(text, true).is_some() => {
            out.push((ambiguous(text, decl.map(|d| d.kind), path), true));
        }
        NodeValue::Map(entries) => {
            let checked = decl.filter(|d| !d.open && d.kind == Kind::Map);
            for entry in entries {
                path.push(PathSegment::Key(entry.key.clone()));
                let child = match checked {
                    None => None,
                    Some(d) => match d.children.get(&entry.key) {
                        Some(child) => Some(child),
                        None => {
                            let hint = crate::suggest::did_you_mean(
                                &entry.key,
                                d.children.keys().map(String::as_str),
                            )
                            .map(|s| {
                                let mut near = path[..path.len() - 1].to_vec();
                                near.push(PathSegment::Key(s.to_string()));
                                format!("did you mean `{}`?", chart_path(&near))
                            });
                            out.push((
                                error(
                                    path,
                                    format!(
                                        "the Istio {line} charts do not declare `{}`",
                                        chart_path(path)
                                    ),
                                    hint.or_else(|| {
                                        Some("see data/chart-keys/ for the keys of the line".into())
                                    }),
                                ),
                                false,
                            ));
                            path.pop();
                            continue;
                        }
                    },
                };
                let given = kind_of(&entry.value);
                let ambiguous_scalar = matches!(&entry.value.value, NodeValue::Str(s, true) if yaml11_kind(s, true).is_some());
                match child {
                    Some(c)
                        if !ambiguous_scalar
                            && given != Kind::Any
                            && c.kind != Kind::Any
                            && given != c.kind =>
                    {
                        let hint = (given == Kind::Number && c.kind == Kind::Str)
                            .then(|| "quote it to keep it a string".to_string());
                        out.push((
                            error(
                                path,
                                format!(
                                    "{} where the Istio {line} charts have {} (`{}`)",
                                    given.noun(),
                                    c.kind.noun(),
                                    chart_path(path)
                                ),
                                hint,
                            ),
                            true,
                        ));
                    }
                    _ => walk(&entry.value, child, line, path, out),
                }
                path.pop();
            }
        }
        NodeValue::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathSegment::Index(i));
                walk(item, None, line, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// A plain scalar Helm (YAML 1.1) reads as a boolean or number and meshgen (YAML 1.2) as a
/// string: which one is meant depends on the user, so they say it.
fn ambiguous(text: &str, chart: Option<Kind>, path: &[PathSegment]) -> Finding {
    let helm = yaml11_kind(text, true).unwrap_or(Kind::Str);
    let hint = match chart {
        Some(Kind::Bool) if helm == Kind::Bool => "write true or false".to_string(),
        Some(Kind::Number) if helm == Kind::Number => {
            "write the number without `_`, `0b`, `0x` or `:`, as YAML 1.2 reads it".to_string()
        }
        _ => format!("quote it (\"{text}\") to pass the string, or use --set-string"),
    };
    let chart_says = match chart {
        Some(k) if k != Kind::Any => format!("; the chart has {} here", k.noun()),
        _ => String::new(),
    };
    error(
        path,
        format!(
            "Helm reads `{text}` as {} (YAML 1.1), meshgen as a string (YAML 1.2){chart_says}",
            helm.noun()
        ),
        Some(hint),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::release_line::IstioVersion;

    #[test]
    fn yaml_1_1_kinds() {
        for s in ["no", "on", "y", "OFF", "Yes"] {
            assert_eq!(yaml11_kind(s, true), Some(Kind::Bool), "{s}");
        }
        for s in ["1_000", "0b101", "1:20", "0x1_F", "1_0.5"] {
            assert_eq!(yaml11_kind(s, true), Some(Kind::Number), "{s}");
        }
        for s in ["none", "2001-12-14", "=", "<<", "1.0.9", "_1", "a:b"] {
            assert_eq!(yaml11_kind(s, true), None, "{s}");
        }
        assert_eq!(yaml11_kind("no", false), None);
    }

    #[test]
    fn since_lists_name_keys_of_the_line_and_its_releases() {
        for line in [ReleaseLine::V1_0, ReleaseLine::V1_11] {
            let keys = ChartKeys::of(line);
            let mut count = 0;
            for (path, from) in since_entries(line) {
                count += 1;
                let parts = split_path(path);
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                assert!(
                    keys.get(&parts).is_some(),
                    "{line}: {path} is not in the key list"
                );
                assert!(
                    IstioVersion::exact(&from).is_some_and(|v| v.line == line),
                    "{path} {from}"
                );
                assert!(from <= line.pinned_version(), "{path} {from}");
            }
            assert_eq!(
                count,
                since(line).lines().count(),
                "{line}: every entry parses"
            );
        }
    }

    /// Keys only earlier releases declare: 1.0.0 to 1.0.5's `grafana.security.adminUser`,
    /// and 1.0.0 to 1.0.2's string `grafana.image` (a map from 1.0.3).
    #[test]
    fn keys_of_earlier_releases_are_theirs() {
        let before = |v: &str| declared_only_before(&semver::Version::parse(v).unwrap());
        let at_102 = before("1.0.2");
        assert!(
            at_102.contains(&vec!["grafana".to_string(), "image".to_string()]),
            "{at_102:?}"
        );
        assert!(at_102.contains(&split_path("grafana.security.adminUser")));
        let at_105 = before("1.0.5");
        assert!(!at_105.contains(&vec!["grafana".to_string(), "image".to_string()]));
        assert!(at_105.contains(&split_path("kiali.dashboard.username")));
        assert!(before("1.0.6").is_empty());
        assert!(before("1.0.9").is_empty());
        assert!(before("1.11.0").is_empty());
    }

    /// A key the line declares from 1.0.3 on is refused at 1.0.2, located, and accepted at
    /// 1.0.3; only the outermost of nested new keys is reported.
    #[test]
    fn spec_values_are_held_to_the_exact_release() {
        let doc = crate::yaml::parse("global:\n  proxy:\n    statusPort: 15020\n    stats:\n      prometheusPort: 15090\n  hub: x\n").unwrap();
        let base = [
            PathSegment::Key("spec".into()),
            PathSegment::Key("values".into()),
        ];
        let at = |v: &str| check_release(&semver::Version::parse(v).unwrap(), &doc, &base);
        let found = at("1.0.2");
        let messages: Vec<String> = found.iter().map(|(f, _)| f.message.clone()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("Istio 1.0.2's charts do not declare `global.proxy.stats`: the line's charts declare it from 1.0.3 on"), "{messages:?}");
        assert!(
            messages[1].contains("`global.proxy.statusPort`"),
            "{messages:?}"
        );
        assert!(at("1.0.3").is_empty());
        assert!(at("1.0.9").is_empty());
    }

    #[test]
    fn splits_bracketed_paths() {
        assert_eq!(
            split_path(r#"a.b["cloud.google.com/x"].c"#),
            ["a", "b", "cloud.google.com/x", "c"]
        );
        assert_eq!(
            split_path("gateways.istio-ingressgateway"),
            ["gateways", "istio-ingressgateway"]
        );
    }

    #[test]
    fn types_list_exactly_the_key_files_paths() {
        for (line, keys) in [
            (
                ReleaseLine::V0_6,
                include_str!("../../data/chart-keys/0.6.txt"),
            ),
            (
                ReleaseLine::V1_0,
                include_str!("../../data/chart-keys/1.0.txt"),
            ),
            (
                ReleaseLine::V1_11,
                include_str!("../../data/chart-keys/1.11.txt"),
            ),
        ] {
            let listed: Vec<&str> = keys.lines().filter(|l| !l.is_empty()).collect();
            let typed: Vec<&str> = types(line)
                .lines()
                .map(|l| l.rsplit_once(' ').unwrap().0)
                .collect();
            assert_eq!(listed, typed, "{line}");
        }
    }

    #[test]
    fn built_in_keys_know_kinds_and_open_maps() {
        let k = ChartKeys::of(ReleaseLine::V1_0);
        assert_eq!(
            k.get(&["global", "proxy", "accessLogFile"]).unwrap().kind,
            Kind::Str
        );
        assert!(k.get(&["pilot", "resources"]).unwrap().open);
        assert!(!k.get(&["global"]).unwrap().open);
        let k = ChartKeys::of(ReleaseLine::V1_11);
        assert!(k.get(&["meshConfig"]).unwrap().open);
        assert_eq!(
            k.get(&["gateways", "istio-ingressgateway", "tolerations"])
                .unwrap()
                .kind,
            Kind::List
        );
    }

    fn findings(line: ReleaseLine, text: &str) -> Vec<(String, String, Option<String>)> {
        let node = crate::yaml::parse(text).unwrap();
        check_values(
            line,
            &node,
            &[
                PathSegment::Key("spec".into()),
                PathSegment::Key("values".into()),
            ],
        )
        .into_iter()
        .map(|(f, _)| (crate::yaml::display_path(&f.path), f.message, f.hint))
        .collect()
    }

    #[test]
    fn checks_keys_kinds_and_yaml_1_1_traps() {
        let ok = "global:\n  hub: \"my.registry/istio\"\n  proxy:\n    accessLogFile: \"/dev/stdout\"\npilot:\n  resources:\n    limits:\n      memory: \"1Gi\"\n";
        assert_eq!(findings(ReleaseLine::V1_0, ok), []);
        let got = findings(
            ReleaseLine::V1_0,
            "global:\n  hubb: x\n  proxy:\n    accessLogFile: on\npilot:\n  replicaCount: \"2\"\n",
        );
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, "spec.values.global.hubb");
        assert_eq!(got[0].2.as_deref(), Some("did you mean `global.hub`?"));
        assert!(got[1].1.contains("Helm reads `on` as a boolean"), "{got:?}");
        assert!(got[1].2.as_ref().unwrap().contains("--set-string"));
        assert_eq!(got[2].0, "spec.values.pilot.replicaCount");
        assert!(got[2]
            .1
            .starts_with("a string where the Istio 1.0 charts have a number"));
        // Traps are refused in open maps and lists too; quoted, they are strings.
        let got = findings(
            ReleaseLine::V1_11,
            "meshConfig:\n  x: yes\n  y: \"yes\"\ngateways:\n  istio-ingressgateway:\n    tolerations:\n    - effect: NoSchedule\n      operator: Exists\n      z: 1_000\n",
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "spec.values.meshConfig.x");
        assert_eq!(
            got[1].0,
            "spec.values.gateways.istio-ingressgateway.tolerations[0].z"
        );
    }
}
