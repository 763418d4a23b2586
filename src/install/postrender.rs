//! `meshgen post-render`: a Helm post-renderer that adds what the charts cannot express for
//! high availability — the replica count and a required or preferred pod anti-affinity on the
//! Deployments whose charts have no setting for it (on 1.0 every Deployment meshgen gives
//! replicas: pilot, policy, telemetry, citadel, galley, the sidecar injector and the gateways;
//! on 1.11 istiod, whose gateways take it as values) — and the same change as kustomize patches
//! for Flux `spec.postRenderers`.
//!
//! Reading: each document is read by the positioned reader of `yaml.rs` in its Kubernetes
//! dialect, so an object means here what it means to Helm and kubectl: a key written twice in
//! one mapping (the real 0.6.0 and 1.0.9 templates write `ports:` and `containerPort:` twice)
//! is not an error, the last one wins. Kind, name and the change are decided on that reading.
//!
//! Writing: only documents that change are re-serialized, with `yaml-rust2`'s emitter (the
//! positioned document is turned into its order-keeping `Yaml`, so a changed Deployment keeps
//! its key order, less the overridden duplicates). The emitter quotes strings that would
//! otherwise read back as another type (`"false"`, `"1.0"`), which is what a re-serialized
//! Kubernetes object needs. The stream is split on `---` lines as text and every other
//! document is passed through byte-for-byte, duplicates included, so comments, quoting and
//! block scalars of untouched objects survive exactly.

use serde::Serialize;
use yaml_rust2::Yaml;

use crate::error::{Diagnostic, Error, Result};
use crate::model::platform::{AntiAffinity, HaComponent, Spreading, PREFERRED_WEIGHT};
use crate::model::release_line::ReleaseLine;
use crate::render::resolve::ResolvedPlatform;
use crate::yaml::{Dialect, Node, NodeValue, PathSegment, YamlError};

/// Name shown for the input in diagnostics.
const STDIN: &str = "<stdin>";

/// Largest manifest stream read from stdin, in bytes: a rendered Istio release with its CRDs
/// is a few megabytes.
pub const MAX_MANIFEST_BYTES: usize = 16 << 20;
/// Bounds of each document: nesting far beyond any Kubernetes object's (CRD schemas
/// included), a million nodes (an object that big is over etcd's 1.5 MiB limit), and the
/// nodes aliases may add over the whole stream (Helm output rarely has any; a few bytes of
/// aliases can stand for millions of nodes, found by fuzzing at 8 million).
pub const MANIFEST_BOUNDS: crate::yaml::Bounds = crate::yaml::Bounds {
    max_depth: 256,
    max_nodes: 1_000_000,
    max_alias_nodes: 100_000,
};

/// A control-plane Deployment the line's charts give no anti-affinity setting for, and the
/// pod-template labels its replicas are told apart by (facts/templates.md, section j).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// The `apiVersion` the chart renders the Deployment with.
    pub api_version: &'static str,
    /// `(label, value)` pairs present in the pod template: 1.0 citadel and galley pods carry
    /// no `app` label, so selecting on one would match nothing and spread nothing.
    pub pod_labels: Vec<(String, String)>,
}

fn target(name: &str, api_version: &'static str, pod_labels: &[(&str, &str)]) -> Target {
    Target {
        name: name.to_string(),
        api_version,
        pod_labels: pod_labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// The Deployments the post-renderer changes on a line (its spec's post-render targets).
pub fn targets(line: ReleaseLine) -> Vec<Target> {
    line.spec()
        .post_render
        .targets
        .iter()
        .map(|t| target(t.name, t.api_version, t.pod_labels))
        .collect()
}

/// The Deployments the post-renderer changes for a platform: its line's, less the egress
/// gateway when it is off, each istiod named and labelled by its revision when there are two
/// control planes, plus, where the line post-renders them (1.0), each extra gateway
/// (`spec.gateways`: a gateways chart entry, its pod labels the entry's labels).
pub fn platform_targets(platform: &ResolvedPlatform) -> Vec<Target> {
    let covers = |c: HaComponent| {
        platform
            .high_availability
            .as_ref()
            .is_none_or(|ha| ha.covers(c))
    };
    let post_render = &platform.line.spec().post_render;
    let mut all: Vec<Target> = post_render
        .targets
        .iter()
        .filter(|t| t.component != HaComponent::EgressGateway || platform.egress.is_some())
        .filter(|t| covers(t.component))
        .map(|t| target(t.name, t.api_version, t.pod_labels))
        .collect();
    if let (Some(chart), true) = (
        platform.line.revisioned_chart(),
        platform.revision.is_some() || platform.canary.is_some(),
    ) {
        // Two control planes' pods both carry `istio: pilot`: each istiod is told apart by its
        // revision, and named after it.
        let stable = platform
            .revision
            .as_ref()
            .map_or("default", |r| r.value.as_str());
        for t in all.iter_mut().filter(|t| t.name == NON_REVISIONED_ISTIOD) {
            t.name = platform.release_of(chart);
            t.pod_labels = revision_labels(stable);
        }
        if let (Some(canary), true) = (&platform.canary, covers(HaComponent::Pilot)) {
            all.push(Target {
                name: crate::render::resolve::revisioned_release(&canary.revision),
                api_version: "apps/v1",
                pod_labels: revision_labels(&canary.revision),
            });
        }
    }
    if let Some(api_version) = post_render
        .extra_gateways
        .filter(|_| covers(HaComponent::Gateways))
    {
        all.extend(platform.gateways.iter().map(|g| {
            Target {
                name: g.name.clone(),
                api_version,
                pod_labels: g
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
            }
        }));
    }
    all
}

/// 1.11's istiod Deployment without a revision.
const NON_REVISIONED_ISTIOD: &str = "istiod";

/// The pod labels of the istiod of one revision (`default`: the non-revisioned one).
fn revision_labels(revision: &str) -> Vec<(String, String)> {
    vec![
        ("app".to_string(), "istiod".to_string()),
        (
            crate::render::resolve::REVISION_LABEL.to_string(),
            revision.to_string(),
        ),
    ]
}

/// What the post-renderer does to each target: `None` when the platform asks for no HA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaChange {
    pub replicas: u8,
    pub topology_key: Option<&'static str>,
    pub spreading: Spreading,
}

impl HaChange {
    pub fn for_platform(platform: &ResolvedPlatform) -> Option<HaChange> {
        platform.high_availability.as_ref().map(|ha| HaChange {
            replicas: ha.replicas,
            topology_key: AntiAffinity::topology_key(ha.anti_affinity),
            spreading: ha.spreading,
        })
    }
}

fn s(text: &str) -> Yaml {
    Yaml::String(text.to_string())
}

fn key<'a>(map: &'a Yaml, name: &str) -> Option<&'a Yaml> {
    match map {
        Yaml::Hash(h) => h.get(&s(name)),
        _ => None,
    }
}

/// The entry of the `podAntiAffinity` list for the spreading asked: the term itself when
/// required, the term with a weight when preferred.
fn anti_affinity_entry(target: &Target, topology_key: &str, spreading: Spreading) -> Yaml {
    let term = anti_affinity_term(target, topology_key);
    match spreading {
        Spreading::Required => term,
        Spreading::Preferred => {
            let mut entry = yaml_rust2::yaml::Hash::new();
            entry.insert(s("weight"), Yaml::Integer(i64::from(PREFERRED_WEIGHT)));
            entry.insert(s("podAffinityTerm"), term);
            Yaml::Hash(entry)
        }
    }
}

/// The anti-affinity term for a target: its own pods may not share a topology domain.
fn anti_affinity_term(target: &Target, topology_key: &str) -> Yaml {
    let expressions = target
        .pod_labels
        .iter()
        .map(|(label, value)| {
            let mut e = yaml_rust2::yaml::Hash::new();
            e.insert(s("key"), s(label));
            e.insert(s("operator"), s("In"));
            e.insert(s("values"), Yaml::Array(vec![s(value)]));
            Yaml::Hash(e)
        })
        .collect();
    let mut selector = yaml_rust2::yaml::Hash::new();
    selector.insert(s("matchExpressions"), Yaml::Array(expressions));
    let mut term = yaml_rust2::yaml::Hash::new();
    term.insert(s("labelSelector"), Yaml::Hash(selector));
    term.insert(s("topologyKey"), s(topology_key));
    Yaml::Hash(term)
}

/// `h[name]`, appended with `default` when absent. Not `entry().or_insert`: hashlink's moves
/// an existing key to the back, which would reorder the chart's keys.
fn get_or_append<'a>(h: &'a mut yaml_rust2::yaml::Hash, name: &str, default: Yaml) -> &'a mut Yaml {
    if !h.contains_key(&s(name)) {
        h.insert(s(name), default);
    }
    h.get_mut(&s(name)).expect("present or just inserted")
}

/// The mapping under `map[name]`, created (appended) when absent. `None` when the key holds
/// something other than a mapping (or null), which the caller reports.
fn child_map<'a>(map: &'a mut Yaml, name: &str) -> Option<&'a mut Yaml> {
    let Yaml::Hash(h) = map else { return None };
    let entry = get_or_append(h, name, Yaml::Hash(Default::default()));
    if matches!(entry, Yaml::Null) {
        *entry = Yaml::Hash(Default::default());
    }
    matches!(entry, Yaml::Hash(_)).then_some(entry)
}

/// Applies the change to one Deployment object; `Err` says what in the object is in the way.
fn apply(doc: &mut Yaml, target: &Target, change: HaChange) -> std::result::Result<(), String> {
    let template_labels = key(doc, "spec")
        .and_then(|v| key(v, "template"))
        .and_then(|v| key(v, "metadata"))
        .and_then(|v| key(v, "labels"));
    for (label, value) in &target.pod_labels {
        let found = template_labels.and_then(|l| key(l, label));
        if found != Some(&s(value)) {
            return Err(format!(
                "the pod template has no label `{label}: {value}`, which the anti-affinity of `{}` selects; is this the chart of the platform's Istio line?",
                target.name
            ));
        }
    }
    let spec = child_map(doc, "spec").ok_or("`spec` is not a mapping")?;
    if let Yaml::Hash(h) = spec {
        // An existing key keeps its place; a new one is appended.
        *get_or_append(h, "replicas", Yaml::Null) = Yaml::Integer(i64::from(change.replicas));
    }
    let Some(topology_key) = change.topology_key else {
        return Ok(());
    };
    let pod_spec = child_map(spec, "template")
        .and_then(|t| child_map(t, "spec"))
        .ok_or("`spec.template.spec` is not a mapping")?;
    let anti = child_map(pod_spec, "affinity")
        .and_then(|a| child_map(a, "podAntiAffinity"))
        .ok_or("`affinity.podAntiAffinity` is not a mapping")?;
    let Yaml::Hash(anti) = anti else {
        unreachable!("child_map returns mappings")
    };
    let field = change.spreading.field();
    let list = get_or_append(anti, field, Yaml::Array(Vec::new()));
    if matches!(list, Yaml::Null) {
        *list = Yaml::Array(Vec::new());
    }
    let Yaml::Array(terms) = list else {
        return Err(format!("`podAntiAffinity.{field}` is not a list"));
    };
    let entry = anti_affinity_entry(target, topology_key, change.spreading);
    // Running the post-renderer twice must not add the term twice.
    if !terms.contains(&entry) {
        terms.push(entry);
    }
    Ok(())
}

use crate::yaml::{is_document_start, split_documents as split, DocumentText as Chunk};

fn bad_input(line: usize, col: usize, message: String) -> Error {
    Diagnostic::error(STDIN, line, col, "", message).into()
}

/// A reader's error in the document `index` (1-based) of `chunk`, located in the stream.
fn bad_document(chunk: &Chunk<'_>, index: usize, e: YamlError) -> Error {
    let mut diagnostic = e.into_diagnostic(STDIN);
    diagnostic.line += chunk.first_line - 1;
    diagnostic.message = format!(
        "document {index} starting at line {}: {}",
        first_content_line(chunk),
        diagnostic.message
    );
    Error::Findings(vec![diagnostic])
}

/// The string at `path` of an object, if there is one.
fn str_at<'a>(doc: &'a Node, path: &[&str]) -> Option<&'a str> {
    let path: Vec<PathSegment> = path
        .iter()
        .map(|k| PathSegment::Key(k.to_string()))
        .collect();
    match &doc.get(&path)?.value {
        NodeValue::Str(text, _) => Some(text),
        _ => None,
    }
}

/// A document as `yaml-rust2` holds it, for the change and the emitter. Keys are strings, as
/// the reader (and Kubernetes, which reads objects as JSON) makes them.
fn to_yaml(node: &Node) -> Yaml {
    match &node.value {
        NodeValue::Null => Yaml::Null,
        NodeValue::Bool(b) => Yaml::Boolean(*b),
        NodeValue::Int(i) => Yaml::Integer(*i),
        NodeValue::Float(f) => Yaml::Real(float_text(*f)),
        NodeValue::Str(text, _) => s(text),
        NodeValue::Seq(items) => Yaml::Array(items.iter().map(to_yaml).collect()),
        NodeValue::Map(entries) => Yaml::Hash(
            entries
                .iter()
                .map(|e| (s(&e.key), to_yaml(&e.value)))
                .collect(),
        ),
    }
}

/// A float as YAML writes it: `.inf`, `.nan`, else Rust's shortest round-trip text, which
/// keeps a point or an exponent (`1.0`, `1e300`) so that it reads back as a float.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.into()
    } else {
        format!("{f:?}")
    }
}

fn too_large(at_least: usize) -> Error {
    bad_input(
        1,
        1,
        format!(
            "input has at least {at_least} bytes, more than the {MAX_MANIFEST_BYTES} bytes meshgen reads"
        ),
    )
}

/// The separator line and comments before a document's content, kept when it is re-emitted.
fn header(text: &str) -> &str {
    let mut end = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim();
        let bare_separator = i == 0
            && is_document_start(line)
            && (t[3..].trim().is_empty() || t[3..].trim_start().starts_with('#'));
        let is_header = bare_separator || t.is_empty() || t.starts_with('#');
        if !is_header {
            break;
        }
        end += line.len();
    }
    &text[..end]
}

fn first_content_line(chunk: &Chunk<'_>) -> usize {
    chunk.first_line + header(chunk.text).lines().count()
}

/// Rewrites a rendered manifest stream. Without a change, or for documents that are not a
/// target, the text is passed through unchanged; every document is still parsed and checked,
/// so bad input fails the same way with or without HA. The output is returned whole, so a
/// failure never leaves half a stream on stdout.
pub fn post_render(input: &str, targets: &[Target], change: Option<HaChange>) -> Result<String> {
    let mut out = String::with_capacity(input.len() + 1024);
    let mut index = 0;
    if input.len() > MAX_MANIFEST_BYTES {
        return Err(too_large(input.len()));
    }
    let mut budget = MANIFEST_BOUNDS;
    for chunk in split(input) {
        // yaml-rust2 copies a node per alias and drops nested values recursively: refuse a
        // YAML bomb or a stack-deep nesting before it is loaded.
        let used = crate::yaml::check_bounds(chunk.text, budget)
            .map_err(|e| bad_document(&chunk, index + 1, e))?;
        budget.max_alias_nodes -= used.alias_nodes;
        let docs = crate::yaml::parse_stream(chunk.text, Dialect::Kubernetes, MANIFEST_BOUNDS)
            .map_err(|e| bad_document(&chunk, index + 1, e))?;
        let content: Vec<&Node> = docs.iter().filter(|d| d.value != NodeValue::Null).collect();
        if content.is_empty() {
            // Comments only (an empty template): Helm emits these; keep them as they are.
            out.push_str(chunk.text);
            continue;
        }
        index += 1;
        let at = first_content_line(&chunk);
        if content.len() > 1 {
            return Err(bad_input(
                at,
                1,
                format!("document {index}: holds several YAML documents (`...` without `---`)"),
            ));
        }
        let doc = content[0];
        let kind = str_at(doc, &["kind"]);
        let name = str_at(doc, &["metadata", "name"]);
        if kind == Some("List") && str_at(doc, &["apiVersion"]) == Some("v1") {
            // A `v1` List (1.0's tracing chart renders one): clients apply its items as objects.
            out.push_str(&list_document(&chunk, doc, index, targets, change)?);
            continue;
        }
        let (Some(kind), Some(name)) = (kind, name) else {
            let missing = if !matches!(doc.value, NodeValue::Map(_)) {
                "is not a mapping, so not a Kubernetes object"
            } else if kind.is_none() {
                "has no `kind`"
            } else {
                "has no `metadata.name`"
            };
            return Err(bad_input(at, 1, format!("document {index} {missing}")));
        };
        let target = targets.iter().find(|t| t.name == name);
        match (change, target) {
            (Some(change), Some(target)) if kind == "Deployment" => {
                let mut doc = to_yaml(doc);
                apply(&mut doc, target, change).map_err(|why| {
                    bad_input(
                        at,
                        1,
                        format!("document {index} (Deployment {name}): {why}"),
                    )
                })?;
                out.push_str(&reemit(&chunk, &doc));
            }
            _ => out.push_str(chunk.text),
        }
    }
    Ok(out)
}

/// A `v1` List document: each item must be an object; a target Deployment among them is
/// changed in place and the whole List re-emitted, else the text passes through.
fn list_document(
    chunk: &Chunk<'_>,
    doc: &Node,
    index: usize,
    targets: &[Target],
    change: Option<HaChange>,
) -> Result<String> {
    let at = first_content_line(chunk);
    let items = match doc
        .get(&[PathSegment::Key("items".into())])
        .map(|n| &n.value)
    {
        Some(NodeValue::Seq(items)) => items.as_slice(),
        Some(NodeValue::Null) | None => &[],
        Some(_) => {
            return Err(bad_input(
                at,
                1,
                format!("document {index} (a List): `items` is not a list"),
            ))
        }
    };
    let mut changes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (Some(kind), Some(name)) =
            (str_at(item, &["kind"]), str_at(item, &["metadata", "name"]))
        else {
            return Err(bad_input(
                item.span.line + chunk.first_line - 1,
                1,
                format!(
                    "document {index} (a List): item {} has no `kind` or `metadata.name`",
                    i + 1
                ),
            ));
        };
        if let (Some(change), Some(target), "Deployment") =
            (change, targets.iter().find(|t| t.name == name), kind)
        {
            changes.push((i, target, change, name));
        }
    }
    if changes.is_empty() {
        return Ok(chunk.text.to_string());
    }
    let mut yaml = to_yaml(doc);
    for (i, target, change, name) in changes {
        let item = match &mut yaml {
            Yaml::Hash(h) => match h.get_mut(&Yaml::String("items".into())) {
                Some(Yaml::Array(items)) => &mut items[i],
                _ => unreachable!("read as a list above"),
            },
            _ => unreachable!("a List is a mapping"),
        };
        apply(item, target, change).map_err(|why| {
            bad_input(
                at,
                1,
                format!("document {index} (a List, Deployment {name}): {why}"),
            )
        })?;
    }
    Ok(reemit(chunk, &yaml))
}

/// A changed document in place of `chunk`: its separator and header comments, then the object.
fn reemit(chunk: &Chunk<'_>, doc: &Yaml) -> String {
    let head = header(chunk.text);
    let mut text = String::new();
    // A separator carrying content (`--- !tag`) is not kept as a header: write a bare one so
    // the document stays apart from the previous one.
    if is_document_start(chunk.text) && !is_document_start(head) {
        text.push_str("---\n");
    }
    text.push_str(head);
    text.push_str(&emit(doc));
    text
}

/// Emits one object as a block-style YAML document body (no `---` line), ending in a newline,
/// through meshgen's own writer: strings a YAML 1.1 reader (Kubernetes) would take for another
/// type (`on`, `1_000`, `0b101`) stay strings, which yaml-rust2's emitter does not ensure.
fn emit(doc: &Yaml) -> String {
    crate::yaml::emit::to_yaml(&json_of(doc))
}

/// The JSON a Kubernetes client makes of a document (keys as strings, as it reads objects).
fn json_of(node: &Yaml) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| (scalar_text(k), json_of(v)))
                .collect(),
        ),
        Yaml::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Yaml::String(text) => Value::String(text.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.clone()), Value::Number),
        Yaml::Boolean(b) => Value::Bool(*b),
        _ => Value::Null,
    }
}

fn scalar_text(key: &Yaml) -> String {
    match key {
        Yaml::String(text) | Yaml::Real(text) => text.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

/// One kustomize patch of a Flux HelmRelease's `spec.postRenderers[].kustomize.patches`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KustomizePatch {
    pub target: PatchTarget,
    /// A strategic-merge patch, as YAML text.
    pub patch: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchTarget {
    pub kind: String,
    pub name: String,
}

/// The post-renderer's change as kustomize strategic-merge patches, one per target.
///
/// Strategic merge rather than JSON6902: a JSON patch `add` needs its parent to exist, and
/// istiod renders no `affinity` while the 1.0 Deployments do, so each would need its own
/// op list; a merge patch creates what is missing and merges maps, keeping the nodeAffinity.
/// `requiredDuringSchedulingIgnoredDuringExecution` (and its preferred sibling) has no merge
/// key, so the patch replaces that list: the charts render none, so the result equals
/// `post-render`'s append. A platform without the egress gateway gets no patch for it (its
/// Deployment is not rendered).
pub fn flux_patches(platform: &ResolvedPlatform) -> Vec<KustomizePatch> {
    let Some(change) = HaChange::for_platform(platform) else {
        return Vec::new();
    };
    platform_targets(platform)
        .iter()
        .map(|target| {
            use crate::yaml::emit::{node_to_yaml, Lists, Node as Out};
            let mut spec = vec![("replicas", Out::Data(change.replicas.into()))];
            if let Some(topology_key) = change.topology_key {
                let mut doc = yaml_rust2::yaml::Hash::new();
                let mut anti = yaml_rust2::yaml::Hash::new();
                anti.insert(
                    s(change.spreading.field()),
                    Yaml::Array(vec![anti_affinity_entry(
                        target,
                        topology_key,
                        change.spreading,
                    )]),
                );
                let mut affinity = yaml_rust2::yaml::Hash::new();
                affinity.insert(s("podAntiAffinity"), Yaml::Hash(anti));
                doc.insert(s("affinity"), Yaml::Hash(affinity));
                let pod_spec = Out::Data(json_of(&Yaml::Hash(doc)));
                spec.push(("template", Out::map([("spec", pod_spec)])));
            }
            let patch = Out::map([
                ("apiVersion", Out::word(target.api_version)),
                ("kind", Out::word("Deployment")),
                (
                    "metadata",
                    Out::map([("name", Out::word(target.name.as_str()))]),
                ),
                ("spec", Out::map(spec)),
            ]);
            let patch = node_to_yaml(&patch, Lists::Indented);
            KustomizePatch {
                target: PatchTarget {
                    kind: "Deployment".to_string(),
                    name: target.name.to_string(),
                },
                patch,
            }
        })
        .collect()
}

/// `spec.postRenderers` of a HelmRelease carrying the patches, or `None` without HA.
pub fn flux_post_renderers(platform: &ResolvedPlatform) -> Option<serde_json::Value> {
    let patches = flux_patches(platform);
    if patches.is_empty() {
        return None;
    }
    Some(serde_json::json!([{ "kustomize": { "patches": patches } }]))
}

/// Parses a whole manifest stream into JSON objects (empty documents dropped), for tests and
/// for comparing the post-renderer with the Flux patches. Read as `post-render` reads each
/// document (Kubernetes' reading: of duplicate keys the last wins), so that both see the same
/// objects.
pub fn parse_objects(input: &str) -> Result<Vec<serde_json::Value>> {
    let docs = crate::yaml::parse_stream(input, Dialect::Kubernetes, MANIFEST_BOUNDS)
        .map_err(|e| Error::Findings(vec![e.into_diagnostic(STDIN)]))?;
    Ok(docs
        .iter()
        .filter(|d| d.value != NodeValue::Null)
        .map(Node::to_json)
        .collect())
}

/// Reads the manifest stream to post-render (Helm's, on stdin): at most `MAX_MANIFEST_BYTES`,
/// UTF-8, each problem reported against `<stdin>`.
pub fn read_input(input: impl std::io::Read) -> Result<String> {
    let bytes = match crate::fsutil::read_to_limit(input, MAX_MANIFEST_BYTES) {
        Ok(bytes) => bytes,
        Err(crate::fsutil::ReadError::Io(e)) => return Err(Error::io(STDIN, e)),
        Err(crate::fsutil::ReadError::TooLarge { at_least }) => {
            return Err(too_large(at_least as usize))
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        bad_input(
            0,
            0,
            format!(
                "input is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_column_zero_separators_only() {
        let input = "a: 1\n---\nb: |\n  ---\n  x\n--- # c\nc: 3\n";
        let chunks = split(input);
        let texts: Vec<&str> = chunks.iter().map(|c| c.text).collect();
        assert_eq!(
            texts,
            ["a: 1\n", "---\nb: |\n  ---\n  x\n", "--- # c\nc: 3\n"]
        );
        assert_eq!(chunks[2].first_line, 6);
    }

    #[test]
    fn passes_through_without_change() {
        let input =
            "---\n# Source: x\napiVersion: v1\nkind: Service\nmetadata:\n  name: a   # kept\n";
        assert_eq!(
            post_render(input, &targets(ReleaseLine::V1_0), None).unwrap(),
            input
        );
    }

    #[test]
    fn twice_is_once() {
        let input = "kind: Deployment\nmetadata:\n  name: istiod\nspec:\n  template:\n    metadata:\n      labels:\n        app: istiod\n        istio: pilot\n";
        let change = Some(HaChange {
            replicas: 2,
            topology_key: Some("kubernetes.io/hostname"),
            spreading: Spreading::Required,
        });
        let once = post_render(input, &targets(ReleaseLine::V1_11), change).unwrap();
        let twice = post_render(&once, &targets(ReleaseLine::V1_11), change).unwrap();
        assert_eq!(once, twice);
        let preferred = change.map(|c| HaChange {
            spreading: Spreading::Preferred,
            ..c
        });
        let once = post_render(input, &targets(ReleaseLine::V1_11), preferred).unwrap();
        assert!(once.contains("preferredDuringSchedulingIgnoredDuringExecution"));
        assert!(once.contains("weight: 100") && !once.contains("required"));
        assert_eq!(
            post_render(&once, &targets(ReleaseLine::V1_11), preferred).unwrap(),
            once
        );
    }
}

#[cfg(test)]
mod to_yaml_tests {
    use super::*;

    #[test]
    fn floats_read_back_as_the_same_float() {
        let k = [PathSegment::Key("k".into())];
        for f in [
            1.0,
            0.1,
            -2.5,
            1e300,
            1e-7,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let text = format!("k: {}\n", float_text(f));
            let back = crate::yaml::parse(&text).unwrap();
            assert_eq!(back.get(&k).unwrap().value, NodeValue::Float(f), "{text}");
        }
        let nan = crate::yaml::parse(&format!("k: {}\n", float_text(f64::NAN))).unwrap();
        assert!(matches!(nan.get(&k).unwrap().value, NodeValue::Float(f) if f.is_nan()));
    }
}

#[cfg(test)]
mod roundtrip_tests {
    use super::*;

    /// A changed Deployment is re-emitted: every scalar must read back as what it was.
    #[test]
    fn re_emitted_scalars_keep_their_type_and_text() {
        let input = r##"kind: Deployment
metadata:
  name: istiod
  annotations:
    a: "true"
    b: "1.0"
    c: "a: b"
    d: "#x"
    e: ""
    f: "~"
    g: "null"
    h: "trailing  "
    i: |
      line one
        indented
      last
    j: |-
      no final newline
    k: "0755"
    l: 'it''s'
    m: "- dash"
    n: 1.10
    o: 0x10
    p: "yes"
spec:
  template:
    metadata:
      labels:
        app: istiod
        istio: pilot
"##;
        let change = Some(HaChange {
            replicas: 2,
            topology_key: None,
            spreading: Spreading::Required,
        });
        let out = post_render(input, &targets(ReleaseLine::V1_11), change).unwrap();
        let before = parse_objects(input).unwrap();
        let after = parse_objects(&out).unwrap();
        assert_eq!(
            before[0]["metadata"], after[0]["metadata"],
            "re-emitted:\n{out}"
        );
    }
}
