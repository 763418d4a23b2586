//! A YAML reader that keeps the position of every node, for errors that land the
//! reviewer on the offending line.
//!
//! Input files are read with YAML 1.2 core-schema rules (`yes` is a string, not a
//! boolean), refuse duplicate keys, several documents, unknown tags, and are bounded in
//! size, nesting depth and alias expansion so that hostile input fails fast.
//!
//! The same reader reads rendered manifests in the [`Dialect::Kubernetes`] dialect
//! ([`parse_stream`]): there a duplicate key is not refused but read as Kubernetes clients
//! read it (the last one wins), and tags other than YAML's core ones are read as text.

pub mod emit;

use std::fmt;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Largest input accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 1 << 20;
/// Deepest nesting of maps and lists accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to once aliases are resolved.
pub const MAX_NODES: usize = 100_000;
/// The bounds of a file written for meshgen (platform files, the lock, `meshgen.yaml`).
const FILE_BOUNDS: Bounds = Bounds {
    max_depth: MAX_DEPTH,
    max_nodes: MAX_NODES,
    max_alias_nodes: MAX_NODES,
};

/// Whose reading of YAML a text gets: what a duplicate key or an unknown tag means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Files written for meshgen (platform files, the lock, `meshgen.yaml`): a key written
    /// twice or a tag other than YAML's core ones is a mistake there, so both are refused.
    Meshgen,
    /// Manifests a chart rendered, read as Kubernetes clients read them (sigs.k8s.io/yaml,
    /// not strict, as Helm and kubectl do): of keys written twice in one mapping the last one
    /// wins, whole (maps are not merged), and the earlier ones are dropped; the winner keeps
    /// its own place. Any other tag is read as its text (a local `!tag` gives a string there
    /// too). The real Istio 0.6.0 and 1.0.9 templates write `containerPort:` and `ports:`
    /// twice.
    Kubernetes,
}

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Span {
    pub line: usize,
    pub col: usize,
}

impl Span {
    fn from_marker(mark: &Marker) -> Self {
        Span {
            line: mark.line(),
            col: mark.col() + 1,
        }
    }
}

/// A YAML value with where it stands in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: NodeValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string, and whether the source wrote it as a plain (unquoted) scalar.
    Str(String, bool),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

impl Node {
    /// Moves the node and everything in it `lines` lines down (a document read apart from
    /// the stream it stands in).
    fn shift_lines(&mut self, lines: usize) {
        if lines == 0 {
            return;
        }
        self.span.line += lines;
        match &mut self.value {
            NodeValue::Seq(items) => items.iter_mut().for_each(|n| n.shift_lines(lines)),
            NodeValue::Map(entries) => entries.iter_mut().for_each(|e| {
                e.key_span.line += lines;
                e.value.shift_lines(lines);
            }),
            _ => {}
        }
    }
}

/// One key of a mapping, with the key's own position.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// The path serde reports an error at, as a document path.
pub fn serde_path(path: &serde_path_to_error::Path) -> Vec<PathSegment> {
    path.iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Map { key } => Some(PathSegment::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(PathSegment::Index(*index)),
            _ => None,
        })
        .collect()
}

/// Renders a path the way users write it: `spec.ingressGateway.nodePorts.http2`, `a[0].b`.
pub fn display_path<'a>(segments: impl IntoIterator<Item = &'a PathSegment>) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            PathSegment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            PathSegment::Index(i) => {
                out.push_str(&format!("[{i}]"));
            }
        }
    }
    out
}

/// Why a text is not a YAML document meshgen accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub span: Span,
    pub message: String,
    pub hint: Option<String>,
}

impl YamlError {
    /// The error as a located diagnostic of `file` (no field path: the text is not YAML).
    pub fn into_diagnostic(self, file: &str) -> crate::error::Diagnostic {
        crate::error::Diagnostic {
            severity: crate::error::Severity::Error,
            file: file.to_string(),
            line: self.span.line,
            col: self.span.col,
            path: String::new(),
            message: self.message,
            hint: self.hint,
            rule: None,
        }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.span.line, self.span.col, self.message)
    }
}

impl YamlError {
    fn at(span: Span, message: impl Into<String>) -> Self {
        YamlError {
            span,
            message: message.into(),
            hint: None,
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Parses exactly one YAML document. An empty text is an error: there is nothing to read.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(YamlError::at(
            Span { line: 1, col: 1 },
            format!(
                "file is {} bytes, more than the {} bytes meshgen reads",
                text.len(),
                MAX_INPUT_BYTES
            ),
        ));
    }
    // A leading byte-order mark is legal YAML; the scanner does not skip it everywhere.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\0') {
        return Err(YamlError::at(
            Span { line: 1, col: 1 },
            "file contains NUL bytes: it is binary, not YAML",
        ));
    }
    let Read {
        mut documents,
        second_document_at,
        ..
    } = read(text, Dialect::Meshgen, FILE_BOUNDS, 0)?;
    match documents.len() {
        0 => Err(YamlError::at(Span { line: 1, col: 1 }, "file is empty")
            .with_hint("a platform file starts with `apiVersion: meshgen/v1alpha1`")),
        1 => Ok(documents.pop().expect("one document")),
        _ => Err(YamlError::at(
            second_document_at.unwrap_or(Span { line: 1, col: 1 }),
            "file holds several YAML documents; meshgen reads exactly one",
        )
        .with_hint("split the documents into one file each")),
    }
}

/// Parses every document of a stream in `dialect`, within `bounds`: `max_depth` and
/// `max_nodes` per document with aliases expanded, `max_alias_nodes` over the whole stream.
/// An empty document (`---` alone, or comments only after it) is a null node; a text of
/// comments alone has no document.
///
/// Each document is read on its own, as Kubernetes clients read a stream (they split it on
/// `---` lines first), so an alias cannot reach into another document. A long stream is read
/// on every core, its documents spread over threads; positions are those of the whole text.
pub fn parse_stream(text: &str, dialect: Dialect, bounds: Bounds) -> Result<Vec<Node>, YamlError> {
    let documents = split_documents(text);
    // The stream's alias budget, shared: a thread reads with what the others left.
    let alias_nodes_used = std::sync::atomic::AtomicUsize::new(0);
    let read_one = |document: &DocumentText<'_>, alias_nodes_before: usize| {
        read(document.text, dialect, bounds, alias_nodes_before).map(|read| {
            let mut nodes = read.documents;
            for node in &mut nodes {
                node.shift_lines(document.first_line - 1);
            }
            (nodes, read.alias_nodes)
        })
    };
    let shares = crate::parallel::split(&documents, "YAML reader", |share| {
        share
            .map(|(i, document)| {
                use std::sync::atomic::Ordering::Relaxed;
                let before = alias_nodes_used.load(Relaxed);
                let read = read_one(document, before);
                if let Ok((_, after)) = &read {
                    alias_nodes_used.fetch_add(after - before, Relaxed);
                }
                (i, read.map(|(nodes, _)| nodes))
            })
            .collect::<Vec<_>>()
    });
    let mut read: Vec<_> = shares.into_iter().flatten().collect();
    read.sort_by_key(|(i, _)| *i);
    if read.iter().all(|(_, r)| r.is_ok()) {
        return Ok(read
            .into_iter()
            .flat_map(|(_, r)| r.expect("checked above"))
            .collect());
    }
    // Which document crosses the alias budget depends on the threads' timing: read again in
    // order for the first error a reader going through the stream meets.
    let mut alias_nodes = 0;
    for document in &documents {
        (_, alias_nodes) = read_one(document, alias_nodes).map_err(|mut e| {
            e.span.line += document.first_line - 1;
            e
        })?;
    }
    // Not reached: a thread's budget is never more than the in-order one.
    let (i, first_error) = read
        .into_iter()
        .find_map(|(i, r)| r.err().map(|e| (i, e)))
        .expect("a document failed");
    Err(YamlError {
        span: Span {
            line: first_error.span.line + documents[i].first_line - 1,
            ..first_error.span
        },
        ..first_error
    })
}

/// One document's text in a stream (its `---` line, comments and content), and the line it
/// starts on (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentText<'a> {
    pub text: &'a str,
    pub first_line: usize,
}

/// Whether a line starts a new document: `---` alone or followed by blanks or content.
pub fn is_document_start(line: &str) -> bool {
    let line = line
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    line == "---" || line.starts_with("--- ") || line.starts_with("---\t")
}

/// Splits a stream on document-start lines, as Kubernetes' own stream reader does. A `---` in
/// column 0 always starts a document in YAML (block scalar content is indented), so splitting
/// the text here agrees with the parser.
pub fn split_documents(input: &str) -> Vec<DocumentText<'_>> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in input.split_inclusive('\n').enumerate() {
        if is_document_start(line) && offset > start {
            documents.push(DocumentText {
                text: &input[start..offset],
                first_line: start_line,
            });
            start = offset;
            start_line = i + 1;
        }
        offset += line.len();
    }
    if offset > start {
        documents.push(DocumentText {
            text: &input[start..],
            first_line: start_line,
        });
    }
    documents
}

/// What `read` found in a text.
struct Read {
    documents: Vec<Node>,
    /// Where the second document starts (if any).
    second_document_at: Option<Span>,
    /// Nodes aliases added, in this text and before it (`alias_nodes_before`).
    alias_nodes: usize,
}

/// The documents of `text`, of a stream whose aliases added `alias_nodes_before` nodes before
/// it.
fn read(
    text: &str,
    dialect: Dialect,
    bounds: Bounds,
    alias_nodes_before: usize,
) -> Result<Read, YamlError> {
    let mut builder = Builder::new(dialect, bounds);
    builder.alias_nodes = alias_nodes_before;
    let mut parser = Parser::new_from_str(text);
    if let Err(err) = parser.load(&mut builder, true) {
        if let Some(e) = builder.error {
            return Err(e);
        }
        let span = Span::from_marker(err.marker());
        let mut e = YamlError::at(span, format!("invalid YAML: {}", err.info()));
        if line_has_tab_indent(text, span.line) {
            e = e.with_hint("indent with spaces: YAML does not allow tabs for indentation");
        } else if line_has_tab_after_colon(text, span.line) {
            e = e.with_hint("put a space after the `:`: meshgen reads YAML that separates a key from its value with a tab as invalid");
        }
        return Err(e);
    }
    match builder.error {
        Some(e) => Err(e),
        None => Ok(Read {
            documents: builder.documents,
            second_document_at: builder.second_document_at,
            alias_nodes: builder.alias_nodes,
        }),
    }
}

/// How big a text may be once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub max_depth: usize,
    /// Nodes in all, aliases expanded.
    pub max_nodes: usize,
    /// Nodes that aliases add: a few bytes of aliases can stand for millions of nodes.
    pub max_alias_nodes: usize,
}

/// What `check_bounds` counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub nodes: usize,
    pub alias_nodes: usize,
}

/// Checks, without building anything, that a YAML stream stays within `bounds` once its
/// aliases are expanded. For readers that build the whole tree (yaml-rust2's loader copies a
/// node for every alias, and drops nested values recursively), so that a YAML bomb or a
/// nesting deep enough to overflow the stack is refused before it is loaded. Syntax errors
/// are left to the loader: this returns the counts up to the error.
pub fn check_bounds(text: &str, bounds: Bounds) -> Result<Counts, YamlError> {
    let mut counter = BoundsCounter {
        bounds,
        counts: Counts::default(),
        stack: Vec::new(),
        sizes: std::collections::HashMap::new(),
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    let _ = parser.load(&mut counter, true);
    match counter.error {
        Some(e) => Err(e),
        None => Ok(counter.counts),
    }
}

struct BoundsCounter {
    bounds: Bounds,
    counts: Counts,
    /// Open collections: their anchor and the node count when they started.
    stack: Vec<(usize, usize)>,
    /// Expanded size of each anchored node.
    sizes: std::collections::HashMap<usize, usize>,
    error: Option<YamlError>,
}

const BOMB_HINT: &str = "aliases that expand into themselves many times (a YAML bomb) are refused";

/// The error of a document (or stream) whose aliases expand past the budget: the one place
/// both the bounds counter and the tree builder take it from.
fn alias_budget_error(span: Span, max_alias_nodes: usize) -> YamlError {
    YamlError::at(
        span,
        format!("aliases expand to more than {max_alias_nodes} nodes"),
    )
    .with_hint(BOMB_HINT)
}

impl BoundsCounter {
    fn add(&mut self, n: usize, from_alias: bool, span: Span) {
        self.counts.nodes = self.counts.nodes.saturating_add(n);
        if from_alias {
            self.counts.alias_nodes = self.counts.alias_nodes.saturating_add(n);
        }
        if self.counts.alias_nodes > self.bounds.max_alias_nodes {
            self.error = Some(alias_budget_error(span, self.bounds.max_alias_nodes));
        } else if self.counts.nodes > self.bounds.max_nodes {
            self.error = Some(
                YamlError::at(
                    span,
                    format!("input expands to more than {} nodes", self.bounds.max_nodes),
                )
                .with_hint(BOMB_HINT),
            );
        }
    }
}

impl MarkedEventReceiver for BoundsCounter {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let span = Span::from_marker(&mark);
        match ev {
            Event::Scalar(_, _, anchor, _) => {
                self.add(1, false, span);
                if anchor > 0 {
                    self.sizes.insert(anchor, 1);
                }
            }
            Event::Alias(id) => {
                let size = self.sizes.get(&id).copied().unwrap_or(1);
                self.add(size, true, span);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= self.bounds.max_depth {
                    self.error = Some(YamlError::at(
                        span,
                        format!("nesting deeper than {} levels", self.bounds.max_depth),
                    ));
                    return;
                }
                self.stack.push((anchor, self.counts.nodes));
                self.add(1, false, span);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = self.stack.pop() {
                    if anchor > 0 {
                        self.sizes.insert(anchor, self.counts.nodes - start);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether the (1-based) line has a key followed by `:` and a tab.
fn line_has_tab_after_colon(text: &str, line: usize) -> bool {
    line.checked_sub(1)
        .and_then(|i| text.lines().nth(i))
        .is_some_and(|l| l.contains(":\t"))
}

fn line_has_tab_indent(text: &str, line: usize) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let around = line.saturating_sub(1)..=line;
    around
        .filter_map(|l| l.checked_sub(1).and_then(|i| lines.get(i)))
        .any(|l| l.starts_with('\t') || l.trim_start_matches(' ').starts_with('\t'))
}

enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        anchor: usize,
        entries: Vec<Entry>,
        index: KeyIndex,
        /// Entries a later one of the same key overrides (`Dialect::Kubernetes`), dropped
        /// when the mapping ends.
        superseded: Vec<usize>,
        pending_key: Option<(String, Span)>,
    },
}

/// Where the keys of a mapping being read are, to find a key written twice: a scan while the
/// mapping is small (most are), a hash index once it is wide, where a scan per key would
/// make reading it quadratic.
#[derive(Default)]
struct KeyIndex(Option<std::collections::HashMap<String, usize>>);

impl KeyIndex {
    /// Mappings with this many keys get the hash index.
    const WIDE: usize = 16;

    /// The position of the live (latest) entry with `key`.
    fn find(&self, entries: &[Entry], key: &str) -> Option<usize> {
        match &self.0 {
            Some(index) => index.get(key).copied(),
            None => entries.iter().rposition(|e| e.key == key),
        }
    }

    /// Records the entry just pushed onto `entries`.
    fn added(&mut self, entries: &[Entry]) {
        match &mut self.0 {
            Some(index) => {
                let last = entries.len() - 1;
                index.insert(entries[last].key.clone(), last);
            }
            // A later entry of a key overwrites an earlier one: the index holds the live one.
            None if entries.len() >= Self::WIDE => {
                self.0 = Some(
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, e)| (e.key.clone(), i))
                        .collect(),
                );
            }
            None => {}
        }
    }
}

struct Builder {
    dialect: Dialect,
    bounds: Bounds,
    stack: Vec<Frame>,
    documents: Vec<Node>,
    anchors: std::collections::HashMap<usize, Node>,
    /// Nodes of the current document, aliases expanded.
    nodes: usize,
    /// Nodes aliases added, over the whole stream.
    alias_nodes: usize,
    error: Option<YamlError>,
    second_document_at: Option<Span>,
}

impl Builder {
    fn new(dialect: Dialect, bounds: Bounds) -> Self {
        Builder {
            dialect,
            bounds,
            stack: Vec::new(),
            documents: Vec::new(),
            anchors: std::collections::HashMap::new(),
            nodes: 0,
            alias_nodes: 0,
            error: None,
            second_document_at: None,
        }
    }

    fn fail(&mut self, err: YamlError) {
        if self.error.is_none() {
            self.error = Some(err);
        }
    }

    fn count(&mut self, n: usize, span: Span) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        let max_nodes = self.bounds.max_nodes;
        if self.nodes > max_nodes {
            self.fail(
                YamlError::at(
                    span,
                    format!("document expands to more than {max_nodes} nodes"),
                )
                .with_hint(
                    "aliases that expand into themselves many times (a YAML bomb) are refused",
                ),
            );
            return false;
        }
        true
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let dialect = self.dialect;
        match self.stack.last_mut() {
            None => {
                if self.documents.len() == 1 && self.second_document_at.is_none() {
                    self.second_document_at = Some(node.span);
                }
                self.documents.push(node);
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                index,
                superseded,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match scalar_key(&node) {
                        Some(k) => k,
                        None => {
                            let span = node.span;
                            self.fail(YamlError::at(
                                span,
                                "a mapping key must be a plain value, not a list or a map",
                            ));
                            return;
                        }
                    };
                    if let Some(earlier) = index.find(entries, &key) {
                        match dialect {
                            Dialect::Kubernetes => superseded.push(earlier),
                            Dialect::Meshgen => {
                                let first_line = entries[earlier].key_span.line;
                                let span = node.span;
                                self.fail(
                                    YamlError::at(span, format!("duplicate key `{key}`"))
                                        .with_hint(format!(
                                            "`{key}` is already set on line {first_line}"
                                        )),
                                );
                                return;
                            }
                        }
                    }
                    *pending_key = Some((key, node.span));
                }
                Some((key, key_span)) => {
                    entries.push(Entry {
                        key,
                        key_span,
                        value: node,
                    });
                    index.added(entries);
                }
            },
        }
    }
}

impl Builder {
    fn start(&mut self, span: Span, anchor: usize, tag: Option<Tag>, is_seq: bool) {
        if let Some(tag) = tag.filter(|_| self.dialect == Dialect::Meshgen) {
            let want = if is_seq { "seq" } else { "map" };
            if !is_core_tag(&tag, want) {
                self.fail(YamlError::at(
                    span,
                    format!("unsupported YAML tag `{}{}`", tag.handle, tag.suffix),
                ));
                return;
            }
        }
        let max_depth = self.bounds.max_depth;
        if self.stack.len() >= max_depth {
            self.fail(YamlError::at(
                span,
                format!("nesting deeper than {max_depth} levels"),
            ));
            return;
        }
        if !self.count(1, span) {
            return;
        }
        self.stack.push(if is_seq {
            Frame::Seq {
                span,
                anchor,
                items: Vec::new(),
            }
        } else {
            Frame::Map {
                span,
                anchor,
                entries: Vec::new(),
                index: KeyIndex::default(),
                superseded: Vec::new(),
                pending_key: None,
            }
        });
    }
}

fn is_core_tag(tag: &Tag, suffix: &str) -> bool {
    (tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!") && tag.suffix == suffix
}

fn scalar_key(node: &Node) -> Option<String> {
    Some(match &node.value {
        NodeValue::Null => "null".to_string(),
        NodeValue::Bool(b) => b.to_string(),
        NodeValue::Int(i) => i.to_string(),
        NodeValue::Float(f) => f.to_string(),
        NodeValue::Str(s, _) => s.clone(),
        NodeValue::Seq(_) | NodeValue::Map(_) => return None,
    })
}

/// `entries` less those at the `superseded` positions, in order.
fn without(entries: Vec<Entry>, superseded: &[usize]) -> Vec<Entry> {
    if superseded.is_empty() {
        return entries;
    }
    let mut dropped = vec![false; entries.len()];
    for &i in superseded {
        dropped[i] = true;
    }
    entries
        .into_iter()
        .zip(dropped)
        .filter_map(|(entry, dropped)| (!dropped).then_some(entry))
        .collect()
}

fn node_count(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        NodeValue::Map(entries) => 1 + entries.iter().map(|e| node_count(&e.value)).sum::<usize>(),
        _ => 1,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let span = Span::from_marker(&mark);
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart => self.nodes = 0,
            Event::Alias(id) => {
                let Some(size) = self.anchors.get(&id).map(node_count) else {
                    self.fail(YamlError::at(span, "alias refers to an unknown anchor"));
                    return;
                };
                // Counted before the copy, so that a YAML bomb never gets built.
                self.alias_nodes = self.alias_nodes.saturating_add(size);
                let max_alias_nodes = self.bounds.max_alias_nodes;
                if self.alias_nodes > max_alias_nodes {
                    self.fail(alias_budget_error(span, max_alias_nodes));
                    return;
                }
                if self.count(size, span) {
                    let node = self.anchors[&id].clone();
                    self.push_value(Node { span, ..node }, 0);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if !self.count(1, span) {
                    return;
                }
                match resolve_scalar(text, style, tag.as_ref(), self.dialect) {
                    Ok(value) => self.push_value(Node { span, value }, anchor),
                    Err(message) => self.fail(YamlError::at(span, message)),
                }
            }
            Event::SequenceStart(anchor, tag) => self.start(span, anchor, tag, true),
            Event::MappingStart(anchor, tag) => self.start(span, anchor, tag, false),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return;
                };
                let (node, anchor) = match frame {
                    Frame::Seq {
                        span,
                        anchor,
                        items,
                    } => (
                        Node {
                            span,
                            value: NodeValue::Seq(items),
                        },
                        anchor,
                    ),
                    Frame::Map {
                        span,
                        anchor,
                        entries,
                        superseded,
                        ..
                    } => (
                        Node {
                            span,
                            value: NodeValue::Map(without(entries, &superseded)),
                        },
                        anchor,
                    ),
                };
                self.push_value(node, anchor);
            }
        }
    }
}

/// A type YAML 1.1 gives a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Yaml11Scalar {
    Bool,
    Number,
}

/// YAML 1.1 (Helm) reads some plain scalars that YAML 1.2 keeps as strings as booleans or
/// numbers: `yes`/`no`/`on`/`off`/`y`/`n`, `1_000`, `0b101`, `1:20`.
pub fn yaml11_only(text: &str) -> Option<Yaml11Scalar> {
    const BOOLS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF",
    ];
    if BOOLS.contains(&text) {
        return Some(Yaml11Scalar::Bool);
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let digits =
        |s: &str, ok: fn(u8) -> bool| !s.is_empty() && s.bytes().all(|b| ok(b) || b == b'_');
    let number = body.starts_with(|c: char| c.is_ascii_digit())
        && (digits(body, |b| b.is_ascii_digit())
            || body
                .strip_prefix("0b")
                .is_some_and(|s| digits(s, |b| b == b'0' || b == b'1'))
            || body
                .strip_prefix("0x")
                .is_some_and(|s| digits(s, |b| b.is_ascii_hexdigit()))
            || (body.contains(':')
                && body
                    .split(':')
                    .all(|part| digits(part, |b| b.is_ascii_digit())))
            || (body.contains('_')
                && body.split_once('.').is_some_and(|(i, f)| {
                    digits(i, |b| b.is_ascii_digit())
                        && (f.is_empty() || digits(f, |b| b.is_ascii_digit()))
                })));
    number.then_some(Yaml11Scalar::Number)
}

/// What Helm and Kubernetes (go-yaml, YAML 1.1 with 1.2's number forms) read `text` as when a
/// template prints it unquoted: None for a string, else a description (`a boolean`).
pub fn unquoted_reads_as(text: &str) -> Option<&'static str> {
    match resolve_scalar(
        text.to_string(),
        TScalarStyle::Plain,
        None,
        Dialect::Meshgen,
    ) {
        Ok(NodeValue::Null) => Some("null"),
        Ok(NodeValue::Bool(_)) => Some("a boolean"),
        Ok(NodeValue::Int(_) | NodeValue::Float(_)) => Some("a number"),
        _ => match yaml11_only(text)? {
            Yaml11Scalar::Bool => Some("a boolean"),
            Yaml11Scalar::Number => Some("a number"),
        },
    }
}

/// Resolves a scalar with the YAML 1.2 core schema. Quoted scalars are always strings. A tag
/// other than the core ones is refused (`Dialect::Meshgen`) or gives the text as a string.
fn resolve_scalar(
    text: String,
    style: TScalarStyle,
    tag: Option<&Tag>,
    dialect: Dialect,
) -> Result<NodeValue, String> {
    let plain = style == TScalarStyle::Plain;
    if let Some(tag) = tag {
        let suffix = tag.suffix.as_str();
        let core = (tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:")
            && matches!(suffix, "str" | "int" | "float" | "bool" | "null");
        if !core && dialect == Dialect::Kubernetes {
            return Ok(NodeValue::Str(text, false));
        }
        if !(tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:") {
            return Err(format!("unsupported YAML tag `{}{}`", tag.handle, suffix));
        }
        return match suffix {
            "str" => Ok(NodeValue::Str(text, false)),
            "int" => parse_int(&text)
                .map(NodeValue::Int)
                .ok_or_else(|| format!("`{text}` is not an integer")),
            "float" => parse_float(&text)
                .map(NodeValue::Float)
                .ok_or_else(|| format!("`{text}` is not a number")),
            "bool" => match text.as_str() {
                "true" | "True" | "TRUE" => Ok(NodeValue::Bool(true)),
                "false" | "False" | "FALSE" => Ok(NodeValue::Bool(false)),
                _ => Err(format!("`{text}` is not a boolean")),
            },
            "null" => Ok(NodeValue::Null),
            other => Err(format!("unsupported YAML tag `!!{other}`")),
        };
    }
    if !plain {
        return Ok(NodeValue::Str(text, false));
    }
    Ok(match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => NodeValue::Null,
        "true" | "True" | "TRUE" => NodeValue::Bool(true),
        "false" | "False" | "FALSE" => NodeValue::Bool(false),
        _ => {
            if let Some(i) = parse_int(&text) {
                NodeValue::Int(i)
            } else if let Some(f) = parse_float(&text) {
                NodeValue::Float(f)
            } else {
                NodeValue::Str(text, true)
            }
        }
    })
}

fn parse_int(text: &str) -> Option<i64> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        if sign < 0 || text.starts_with('+') {
            return None;
        }
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        if sign < 0 || text.starts_with('+') {
            return None;
        }
        i64::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(sign * magnitude)
}

fn parse_float(text: &str) -> Option<f64> {
    // Most plain scalars are words: one look at the first byte spares them the comparisons
    // below (a fifth of the parse-back's scalar resolution, BENCHMARKS.md).
    if !text
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
    {
        return None;
    }
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            digits_ok(int) && digits_ok(frac) && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && digits_ok(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits_ok(e)
    });
    if mantissa_ok && exponent_ok {
        text.parse::<f64>().ok()
    } else {
        None
    }
}

impl Node {
    /// The node at `path`, if every step exists.
    pub fn get(&self, path: &[PathSegment]) -> Option<&Node> {
        let mut node = self;
        for segment in path {
            node = match (&node.value, segment) {
                (NodeValue::Map(entries), PathSegment::Key(k)) => {
                    &entries.iter().find(|e| &e.key == k)?.value
                }
                (NodeValue::Seq(items), PathSegment::Index(i)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The best position for a problem at `path`: the key of the last step when the path
    /// names a key, else the deepest node that exists on the way.
    pub fn locate(&self, path: &[PathSegment]) -> Span {
        let mut node = self;
        let mut span = self.span;
        for segment in path {
            match (&node.value, segment) {
                (NodeValue::Map(entries), PathSegment::Key(k)) => {
                    match entries.iter().find(|e| &e.key == k) {
                        Some(e) => {
                            span = e.key_span;
                            node = &e.value;
                        }
                        None => return span,
                    }
                }
                (NodeValue::Seq(items), PathSegment::Index(i)) => match items.get(*i) {
                    Some(item) => {
                        span = item.span;
                        node = item;
                    }
                    None => return span,
                },
                _ => return span,
            }
        }
        span
    }

    /// The position of the value at `path` when it is a scalar; for a map or list, and
    /// for a missing value, the position `locate` gives.
    pub fn locate_value(&self, path: &[PathSegment]) -> Span {
        match self.get(path) {
            Some(node) if !matches!(node.value, NodeValue::Map(_) | NodeValue::Seq(_)) => node.span,
            _ => self.locate(path),
        }
    }

    /// The document as JSON, for schema validation and typed deserialization.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::Number(Number::from(*i)),
            NodeValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            NodeValue::Str(s, _) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> PathSegment {
        PathSegment::Key(k.to_string())
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let doc = parse("a:\n  b: 1\n  c:\n    - x\n    - y\n").unwrap();
        assert_eq!(doc.locate(&[key("a"), key("c")]), Span { line: 3, col: 3 });
        assert_eq!(
            doc.locate(&[key("a"), key("c"), PathSegment::Index(1)]),
            Span { line: 5, col: 7 }
        );
        assert_eq!(
            doc.locate_value(&[key("a"), key("b")]),
            Span { line: 2, col: 6 }
        );
        // a missing key lands on its parent
        assert_eq!(doc.locate(&[key("a"), key("zz")]), Span { line: 1, col: 1 });
    }

    #[test]
    fn resolves_scalars_with_yaml_1_2_rules() {
        let doc =
            parse("a: yes\nb: on\nc: 1_000\nd: 012\ne: 1.10\nf: ~\ng: '1'\nh: 0x1f\n").unwrap();
        let json = doc.to_json();
        assert_eq!(json["a"], "yes");
        assert_eq!(json["b"], "on");
        assert_eq!(json["c"], "1_000");
        assert_eq!(json["d"], 12);
        assert_eq!(json["e"], 1.1);
        assert_eq!(json["f"], Value::Null);
        assert_eq!(json["g"], "1");
        assert_eq!(json["h"], 31);
    }

    #[test]
    fn resolves_floats_of_the_core_schema_and_nothing_else() {
        for (text, expected) in [
            ("1.5", Some(1.5)),
            ("-1e3", Some(-1000.0)),
            ("+.5", Some(0.5)),
            ("1.", Some(1.0)),
            ("2E-2", Some(0.02)),
            (".inf", Some(f64::INFINITY)),
            ("+.INF", Some(f64::INFINITY)),
            ("-.Inf", Some(f64::NEG_INFINITY)),
        ] {
            assert_eq!(parse_float(text), expected, "{text}");
        }
        assert!(parse_float(".NaN").is_some_and(f64::is_nan));
        for word in [
            "", ".", "e5", "1_000.5", "inf", "nan", "1.5x", "0x1p3", "-", "+.", "v1.0",
        ] {
            assert_eq!(parse_float(word), None, "{word}");
        }
    }

    #[test]
    fn refuses_duplicate_keys_naming_the_first() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.span.line, 3);
        assert!(err.message.contains("duplicate key `a`"));
        assert!(err.hint.unwrap().contains("line 1"));
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        let err = parse("a:\n  b:\n    c: 1\n    c: 2\n").unwrap_err();
        assert_eq!(err.span.line, 4);
        assert!(err.message.contains("duplicate key `c`"), "{err}");
    }

    fn kubernetes(text: &str) -> Vec<Node> {
        let bounds = Bounds {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_alias_nodes: MAX_NODES,
        };
        parse_stream(text, Dialect::Kubernetes, bounds).unwrap()
    }

    #[test]
    fn kubernetes_reads_the_last_of_duplicate_keys_in_its_own_place() {
        let docs = kubernetes(
            "a: 1\nb:\n  x: {p: 1, q: 2}\n  y: 0\n  x: {r: 3}\nc: 2\na: 3\n---\nb: [1]\nb: [2]\n",
        );
        assert_eq!(docs.len(), 2);
        // Replaced whole (not merged), in the place the winner was written.
        assert_eq!(
            serde_json::to_string(&docs[0].to_json()).unwrap(),
            r#"{"b":{"y":0,"x":{"r":3}},"c":2,"a":3}"#
        );
        assert_eq!(docs[1].to_json(), serde_json::json!({"b": [2]}));
        // Positions are the winner's.
        let a = [PathSegment::Key("a".into())];
        assert_eq!(docs[0].locate(&a), Span { line: 7, col: 1 });
        // Three times: only the last is left.
        let docs = kubernetes("k: 1\nk: 2\nk: 3\n");
        assert_eq!(docs[0].to_json(), serde_json::json!({"k": 3}));
    }

    #[test]
    fn wide_mappings_find_keys_written_twice_too() {
        // Past `KeyIndex::WIDE` keys the lookup is a hash index: the same answers as a scan.
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!("k{}: {i}\n", i % 25));
        }
        let docs = kubernetes(&text);
        let NodeValue::Map(entries) = &docs[0].value else {
            panic!("a map")
        };
        let read: Vec<(String, i64)> = entries
            .iter()
            .map(|e| match e.value.value {
                NodeValue::Int(i) => (e.key.clone(), i),
                _ => panic!("an int"),
            })
            .collect();
        // k0..k14 were written again as 25..39 and moved there; k15..k24 kept their place.
        let want: Vec<(String, i64)> = (15..40).map(|i| (format!("k{}", i % 25), i)).collect();
        assert_eq!(read, want);
        let err = parse(&text).unwrap_err();
        assert_eq!(err.span.line, 26);
        assert!(err.hint.unwrap().contains("line 1"));
    }

    #[test]
    fn kubernetes_reads_other_tags_as_text_where_meshgen_refuses_them() {
        let text = "a: !foo 12\nb: !!binary aGk=\nc: !custom {d: 1}\ne: !!str 1\n";
        assert_eq!(
            kubernetes(text)[0].to_json(),
            serde_json::json!({"a": "12", "b": "aGk=", "c": {"d": 1}, "e": "1"})
        );
        assert!(parse(text)
            .unwrap_err()
            .message
            .contains("unsupported YAML tag"));
        // A core tag on a value that does not fit it is refused by both (and by Kubernetes).
        let bad = parse_stream("a: !!int x\n", Dialect::Kubernetes, FILE_BOUNDS).unwrap_err();
        assert!(bad.message.contains("`x` is not an integer"), "{bad}");
    }

    #[test]
    fn bounds_are_the_callers() {
        let bounds = |max_depth, max_nodes| Bounds {
            max_depth,
            max_nodes,
            max_alias_nodes: max_nodes,
        };
        let deep = parse_stream("a: {b: {c: {d: 1}}}\n", Dialect::Kubernetes, bounds(3, 100));
        let deep = deep.unwrap_err();
        assert!(
            deep.message.contains("nesting deeper than 3 levels"),
            "{deep}"
        );
        let wide = parse_stream("[1, 2, 3, 4, 5]\n", Dialect::Kubernetes, bounds(64, 5));
        let wide = wide.unwrap_err();
        assert!(wide.message.contains("more than 5 nodes"), "{wide}");
        let bounds = bounds(64, 5);
        // Counted per document.
        let docs = parse_stream("[1, 2]\n---\n[3, 4]\n", Dialect::Kubernetes, bounds).unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn refuses_several_documents_and_empty_files() {
        assert!(parse("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .message
            .contains("several"));
        assert!(parse("").unwrap_err().message.contains("empty"));
        assert!(parse("# only a comment\n")
            .unwrap_err()
            .message
            .contains("empty"));
    }

    #[test]
    fn refuses_alias_bombs() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("to more than 100000 nodes"), "{err}");
    }

    const STREAM_BOUNDS: Bounds = Bounds {
        max_depth: 64,
        max_nodes: 1_000,
        max_alias_nodes: 1_000,
    };

    #[test]
    fn a_stream_read_in_pieces_keeps_the_positions_of_the_whole() {
        let mut text = String::from("# comments before the first document\n");
        for i in 0..500 {
            text.push_str(&format!(
                "---\nkind: K\nmetadata:\n  name: n{i}\n---\n# empty\n"
            ));
        }
        let documents = parse_stream(&text, Dialect::Kubernetes, STREAM_BOUNDS).unwrap();
        assert_eq!(documents.len(), 1000);
        for (i, pair) in documents.chunks(2).enumerate() {
            let line = 2 + 6 * i;
            assert_eq!(pair[0].span.line, line + 1, "document {i}");
            let NodeValue::Map(entries) = &pair[0].value else {
                panic!("a map")
            };
            assert_eq!(entries[1].key_span.line, line + 2);
            let NodeValue::Map(meta) = &entries[1].value.value else {
                panic!("a map")
            };
            assert_eq!(
                meta[0].key_span,
                Span {
                    line: line + 3,
                    col: 3
                }
            );
            assert_eq!(meta[0].value.value, NodeValue::Str(format!("n{i}"), true));
            assert_eq!(pair[1].value, NodeValue::Null);
        }
        let err = parse_stream(
            &format!("{text}---\na: [\n"),
            Dialect::Kubernetes,
            STREAM_BOUNDS,
        )
        .unwrap_err();
        assert_eq!(err.span.line, 3004, "{err}");
    }

    #[test]
    fn the_alias_budget_is_the_streams() {
        // Every document within the budget, the stream over it: refused at the same
        // document on every run, whatever the threads did.
        let document =
            "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n";
        let text = document.repeat(40);
        for _ in 0..20 {
            let err = parse_stream(&text, Dialect::Kubernetes, STREAM_BOUNDS).unwrap_err();
            assert!(
                err.message.contains("aliases expand to more than 1000"),
                "{err}"
            );
            // 10 aliases of 10 nodes per document: the 11th document crosses 1,000.
            assert_eq!(err.span, Span { line: 33, col: 5 }, "{err}");
        }
        let fewer = document.repeat(10);
        assert_eq!(
            parse_stream(&fewer, Dialect::Kubernetes, STREAM_BOUNDS)
                .unwrap()
                .len(),
            10
        );
        // Anchors belong to their document, as in a Kubernetes client's reading.
        let err = parse_stream(
            "---\na: &a 1\n---\nb: *a\n",
            Dialect::Kubernetes,
            STREAM_BOUNDS,
        )
        .unwrap_err();
        assert_eq!(err.span.line, 4, "{err}");
        assert!(err.message.contains("unknown anchor"), "{err}");
    }

    #[test]
    fn refuses_deep_nesting_and_tabs() {
        let deep = "[".repeat(MAX_DEPTH + 5) + &"]".repeat(MAX_DEPTH + 5);
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
        let err = parse("a:\n\tb: 1\n").unwrap_err();
        assert!(
            err.hint.unwrap_or_default().contains("tabs"),
            "{}",
            err.message
        );
    }

    #[test]
    fn accepts_a_byte_order_mark() {
        let doc = parse("\u{feff}a: 1\n").unwrap();
        assert_eq!(doc.to_json()["a"], 1);
    }
}
