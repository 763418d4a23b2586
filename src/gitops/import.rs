//! `meshgen import`: IstioOperator resources (`install.istio.io/v1alpha1`) become one platform
//! file. The operator's merge is replayed (its `default` profile, the named profile over it,
//! then each document in order) on the leaves of the documents, each leaf keeping the file,
//! line and column it came from. Every leaf is then accounted for: left at the default (it
//! equals the `default` profile, which mirrors the charts' defaults), mapped to a typed field,
//! passed through to `spec.values`, or refused with its location and why. The platform is
//! emitted with the one YAML writer and loaded back with meshgen's own loader; a finding of the
//! loader on a passed-through value is a refusal at the input field it came from.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{Diagnostic, Error, Result};
use crate::model::gateway_ports::{default_ports, GatewayKind};
use crate::model::load::{self, Source};
use crate::model::platform::Provider;
use crate::model::provider::internal_lb_annotation;
use crate::model::release_line::IstioVersion;
use crate::render::pipeline;
use crate::render::resolve::version_for;
use crate::yaml::{self, Node, NodeValue};

/// One IstioOperator file (or a profile): its name in messages and its text.
#[derive(Debug, Clone)]
pub struct Input {
    pub display: String,
    pub text: String,
}

/// What the platform is for: the fields an IstioOperator does not say.
#[derive(Debug, Clone)]
pub struct Options {
    pub provider: Provider,
    pub istio: IstioVersion,
    pub kubernetes: Option<String>,
    pub name: String,
    /// The repository's lock, which picks the exact release a line follows (for the checks
    /// of `spec.values` against that release).
    pub lock: Option<crate::vendoring::lock::Lock>,
}

/// Where a field of the input was written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

/// What became of one field.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "fate", content = "to", rename_all = "kebab-case")]
pub enum Fate {
    /// Equal to the `default` profile (the charts' defaults): nothing to write.
    Default,
    /// Set a typed platform field (or stood for what meshgen always installs).
    Mapped(String),
    /// Written under `spec.values` at this path.
    PassedThrough(String),
    /// Not imported: why.
    Refused(String),
}

/// One leaf field of the merged input and its fate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Field {
    pub path: String,
    #[serde(flatten)]
    pub origin: Origin,
    #[serde(flatten)]
    pub fate: Fate,
}

/// The outcome: the platform file when nothing was refused, and the accounting either way.
#[derive(Debug, Clone)]
pub struct Imported {
    pub platform: Option<String>,
    pub fields: Vec<Field>,
    /// One located error per refused field (empty when `platform` is set).
    pub refusals: Vec<Diagnostic>,
}

/// The keys of an IstioOperator `spec` (1.11), for did-you-mean.
const SPEC_KEYS: [&str; 11] = [
    "profile",
    "installPackagePath",
    "hub",
    "tag",
    "namespace",
    "revision",
    "meshConfig",
    "components",
    "addonComponents",
    "values",
    "unvalidatedValues",
];

/// The components of a 1.11 IstioOperator.
const COMPONENTS: [&str; 6] = [
    "base",
    "pilot",
    "cni",
    "istiodRemote",
    "ingressGateways",
    "egressGateways",
];

/// `k8s` settings of a component that its chart has a value for (the same name in 1.11's
/// istiod and gateways charts); anything else of `k8s` has none.
const K8S_TO_VALUES: [&str; 7] = [
    "resources",
    "nodeSelector",
    "tolerations",
    "podAnnotations",
    "replicaCount",
    "env",
    "serviceAnnotations",
];

/// A leaf of a document: its value and where it was written.
#[derive(Debug, Clone)]
struct Leaf {
    value: Value,
    origin: Origin,
}

/// Leaves by path; gateway list items keyed by their name (`ingressGateways[ilb-gateway]`), as
/// the operator merges those lists by name.
type Leaves = BTreeMap<Vec<String>, Leaf>;

/// Imports `inputs` with the profiles `profile` returns by name (None: no such profile).
pub fn import(
    inputs: &[Input],
    profile: &dyn Fn(&str) -> Result<Option<Input>>,
    options: &Options,
) -> Result<Imported> {
    if !options.istio.line.spec().control_plane_is_istiod {
        return Err(Error::Usage(format!(
            "import reads IstioOperator resources, which install Istio 1.11's charts; --istio {} is another line",
            options.istio
        )));
    }
    if serde_json::from_value::<crate::model::platform::DnsLabel>(json!(options.name)).is_err() {
        return Err(Error::Usage(format!(
            "--name {}: a platform name is a DNS label (lower-case letters, digits and `-`)",
            options.name
        )));
    }
    let mut docs = Vec::new();
    let mut refusals = Vec::new();
    for input in inputs {
        docs.extend(read_operators(input, &mut refusals)?);
    }
    if !refusals.is_empty() {
        return Ok(refused(Vec::new(), refusals));
    }
    let (merged, defaults) = merge(&docs, profile, &mut refusals)?;
    if !refusals.is_empty() {
        return Ok(refused(Vec::new(), refusals));
    }
    let mut plan = Plan::new(options);
    let fields = account(&merged, &defaults, &mut plan);
    let files: Vec<&str> = inputs.iter().map(|i| i.display.as_str()).collect();
    let chosen = profile_origin(&docs);
    let mut refusals: Vec<Diagnostic> = fields
        .iter()
        .filter_map(|f| refusal(f, &files, &chosen))
        .collect();
    if !refusals.is_empty() {
        return Ok(refused(fields, refusals));
    }
    let text = plan.emit(options);
    let source = Source {
        display: format!("{}.yaml (imported)", options.name),
        path: None,
        text: text.clone(),
        name: None,
    };
    let lock = options.lock.as_ref();
    let checked = load::load_versioned(&source, &[], &|line| version_for(lock, line).0)
        .map_err(Error::Findings)
        .and_then(|loaded| {
            let (version, origin) = version_for(lock, loaded.file.spec.istio);
            pipeline::resolve_loaded(&loaded, version, origin)
        });
    match checked {
        Ok(_) => Ok(Imported {
            platform: Some(text),
            fields,
            refusals,
        }),
        Err(Error::Findings(diagnostics)) => {
            for d in diagnostics.iter().filter(|d| d.is_error()) {
                refusals.push(plan.blame(d)?);
            }
            Ok(refused(fields, refusals))
        }
        Err(e) => Err(e),
    }
}

fn refused(fields: Vec<Field>, refusals: Vec<Diagnostic>) -> Imported {
    Imported {
        platform: None,
        fields,
        refusals,
    }
}

/// A refused field as a located error. A field the profile set is refused at the input's
/// `profile` (the user's line to change), naming where in the profile it stands.
fn refusal(field: &Field, inputs: &[&str], profile: &Origin) -> Option<Diagnostic> {
    let Fate::Refused(why) = &field.fate else {
        return None;
    };
    let o = &field.origin;
    let d = if inputs.contains(&o.file.as_str()) {
        Diagnostic::error(o.file.clone(), o.line, o.col, field.path.clone(), why.clone())
            .with_hint("remove the field, or set what it does in the platform file by hand (see README: Coming from the Istio operator)")
    } else {
        Diagnostic::error(
            profile.file.clone(),
            profile.line,
            profile.col,
            "spec.profile",
            format!("the profile sets {} ({}:{}:{}): {why}", field.path, o.file, o.line, o.col),
        )
        .with_hint("start from a profile that installs istiod, base and the ingress gateway (default, demo), or set the field back in the file")
    };
    Some(d)
}

/// Where the first document names its profile (its `spec` when it names none: `default`).
fn profile_origin(docs: &[(Node, Origin)]) -> Origin {
    let Some((spec, origin)) = docs.first() else {
        return Origin {
            file: String::new(),
            line: 0,
            col: 0,
        };
    };
    let at = child(spec, "profile").map_or(spec.span, |p| p.span);
    Origin {
        file: origin.file.clone(),
        line: at.line,
        col: at.col,
    }
}

/// The IstioOperator documents of a file, each as its `spec` node with the line the document
/// starts on. A document of another kind is refused at its `kind`.
fn read_operators(input: &Input, refusals: &mut Vec<Diagnostic>) -> Result<Vec<(Node, Origin)>> {
    let mut out = Vec::new();
    for doc in yaml::split_documents(&input.text) {
        let shift = doc.first_line - 1;
        let node = match yaml::parse(doc.text) {
            Ok(node) => node,
            Err(e) => {
                let mut d = e.into_diagnostic(&input.display);
                d.line += shift;
                return Err(Error::Findings(vec![d]));
            }
        };
        if node.value == NodeValue::Null {
            continue;
        }
        let at = |n: &Node| Origin {
            file: input.display.clone(),
            line: n.span.line + shift,
            col: n.span.col,
        };
        let api = str_at(&node, "apiVersion");
        let kind = str_at(&node, "kind");
        if api.as_deref() != Some("install.istio.io/v1alpha1")
            || kind.as_deref() != Some("IstioOperator")
        {
            let o = at(&node);
            refusals.push(Diagnostic::error(o.file, o.line, o.col, "", format!(
                "not an IstioOperator (apiVersion install.istio.io/v1alpha1, kind IstioOperator): apiVersion {}, kind {}",
                api.as_deref().unwrap_or("missing"), kind.as_deref().unwrap_or("missing"))));
            continue;
        }
        let mut spec = child(&node, "spec").cloned().unwrap_or(Node {
            span: node.span,
            value: NodeValue::Map(Vec::new()),
        });
        shift_node(&mut spec, shift);
        out.push((
            spec,
            Origin {
                file: input.display.clone(),
                line: 0,
                col: 0,
            },
        ));
    }
    Ok(out)
}

fn shift_node(node: &mut Node, lines: usize) {
    node.span.line += lines;
    match &mut node.value {
        NodeValue::Seq(items) => items.iter_mut().for_each(|n| shift_node(n, lines)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|e| {
            e.key_span.line += lines;
            shift_node(&mut e.value, lines)
        }),
        _ => {}
    }
}

fn child<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.value {
        NodeValue::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
        _ => None,
    }
}

fn str_at(node: &Node, key: &str) -> Option<String> {
    match child(node, key).map(|n| &n.value) {
        Some(NodeValue::Str(s, _)) => Some(s.clone()),
        _ => None,
    }
}

/// The operator's merge: `default`, the first document's profile, then every document. A later
/// document naming another profile than the first's (or `empty`, which adds only what it
/// lists) is refused: the operator would install it as a second, separate mesh.
fn merge(
    docs: &[(Node, Origin)],
    profile: &dyn Fn(&str) -> Result<Option<Input>>,
    refusals: &mut Vec<Diagnostic>,
) -> Result<(Leaves, Leaves)> {
    let first = docs
        .first()
        .and_then(|(spec, _)| child(spec, "profile").map(str_of))
        .unwrap_or_else(|| "default".to_string());
    let defaults = profile_leaves("default", profile)?;
    let mut merged = defaults.clone();
    if first != "default" {
        merged.extend(profile_leaves(&first, profile)?);
    }
    for (spec, origin) in docs {
        if let NodeValue::Map(entries) = &spec.value {
            if let Some(p) = entries.iter().find(|e| e.key == "profile") {
                let named = str_of(&p.value);
                if named != first && named != "empty" {
                    refusals.push(Diagnostic::error(origin.file.clone(), p.value.span.line, p.value.span.col, "spec.profile",
                        format!("profile {named} after profile {first}: the operator installs each IstioOperator on its own; meshgen imports one profile, and later files with profile empty")));
                }
            }
        }
        unknown_keys(spec, &origin.file, refusals);
        flatten(spec, &mut Vec::new(), &origin.file, &mut merged);
    }
    merged.remove(&vec!["profile".to_string()]);
    Ok((merged, defaults))
}

/// A misspelt key of `spec` or `spec.components`, refused at the key itself (once, not at
/// every field below it), with did-you-mean.
fn unknown_keys(spec: &Node, file: &str, refusals: &mut Vec<Diagnostic>) {
    let mut check = |node: &Node, prefix: &str, what: &str, known: &[&str]| {
        if let NodeValue::Map(entries) = &node.value {
            for e in entries.iter().filter(|e| !known.contains(&e.key.as_str())) {
                refusals.push(Diagnostic::error(
                    file,
                    e.key_span.line,
                    e.key_span.col,
                    format!("{prefix}.{}", e.key),
                    unknown(what, &e.key, known.iter().copied()),
                ));
            }
        }
    };
    check(spec, "spec", "IstioOperator spec field", &SPEC_KEYS);
    if let Some(components) = child(spec, "components") {
        check(components, "spec.components", "component", &COMPONENTS);
    }
}

fn str_of(node: &Node) -> String {
    match &node.value {
        NodeValue::Str(s, _) => s.clone(),
        _ => node.to_json().to_string(),
    }
}

fn profile_leaves(name: &str, profile: &dyn Fn(&str) -> Result<Option<Input>>) -> Result<Leaves> {
    let input = profile(name)?.ok_or_else(|| {
        Error::Usage(format!(
            "no IstioOperator profile {name} at the target release"
        ))
    })?;
    let mut refusals = Vec::new();
    let docs = read_operators(&input, &mut refusals)?;
    if let Some(d) = refusals.into_iter().next() {
        return Err(Error::Findings(vec![d]));
    }
    let mut leaves = Leaves::new();
    for (spec, _) in &docs {
        flatten(spec, &mut Vec::new(), &input.display, &mut leaves);
    }
    Ok(leaves)
}

/// The leaves below `node`: maps are walked, gateway lists walked by item name, other lists
/// and scalars are leaves (Helm replaces lists whole).
fn flatten(node: &Node, path: &mut Vec<String>, file: &str, out: &mut Leaves) {
    let gateway_list = is_gateway_list(path);
    match &node.value {
        NodeValue::Map(entries) if !entries.is_empty() => {
            for e in entries {
                path.push(e.key.clone());
                if e.value.value == NodeValue::Null {
                    // `values:` with nothing below sets nothing, as in the operator.
                } else if matches!(&e.value.value, NodeValue::Map(m) if !m.is_empty())
                    || (matches!(e.value.value, NodeValue::Seq(_)) && is_gateway_list(path))
                {
                    flatten(&e.value, path, file, out);
                } else {
                    let origin = Origin {
                        file: file.to_string(),
                        line: e.key_span.line,
                        col: e.key_span.col,
                    };
                    out.insert(
                        path.clone(),
                        Leaf {
                            value: e.value.to_json(),
                            origin,
                        },
                    );
                }
                path.pop();
            }
        }
        NodeValue::Seq(items) if gateway_list => {
            for (i, item) in items.iter().enumerate() {
                let name = str_at(item, "name").unwrap_or_else(|| format!("#{i}"));
                path.push(format!("[{name}]"));
                flatten(item, path, file, out);
                path.pop();
            }
        }
        NodeValue::Null if path.is_empty() => {}
        _ => {
            let origin = Origin {
                file: file.to_string(),
                line: node.span.line,
                col: node.span.col,
            };
            out.insert(
                path.clone(),
                Leaf {
                    value: node.to_json(),
                    origin,
                },
            );
        }
    }
}

/// `components.ingressGateways` and `components.egressGateways`: lists merged by name.
fn is_gateway_list(path: &[String]) -> bool {
    matches!(path, [c, g] if c == "components" && g.ends_with("Gateways"))
}

/// The platform being built, and where each passed-through value came from.
struct Plan {
    provider: Provider,
    istio: IstioVersion,
    /// The exact release rendered (the lock's, else meshgen's pin).
    version: semver::Version,
    spec: Map<String, Value>,
    gateways: BTreeMap<String, Map<String, Value>>,
    /// The extra gateways in the order they were written (the loader names them by index).
    gateway_names: Vec<String>,
    values: Value,
    sources: Vec<(String, Origin, String)>,
}

impl Plan {
    fn new(options: &Options) -> Plan {
        Plan {
            provider: options.provider,
            istio: options.istio,
            version: version_for(options.lock.as_ref(), options.istio).0,
            spec: Map::new(),
            gateways: BTreeMap::new(),
            gateway_names: Vec::new(),
            values: json!({}),
            sources: Vec::new(),
        }
    }

    /// Writes `value` under `spec.values` at the dotted `path`.
    fn pass(&mut self, path: &[&str], value: &Value, leaf: &Leaf, field: &str) -> Fate {
        let mut at = &mut self.values;
        for key in path {
            at = at
                .as_object_mut()
                .expect("values paths are maps")
                .entry(key.to_string())
                .or_insert_with(|| json!({}));
        }
        *at = value.clone();
        let dotted = path.join(".");
        self.sources.push((
            format!("spec.values.{dotted}"),
            leaf.origin.clone(),
            field.to_string(),
        ));
        Fate::PassedThrough(format!("spec.values.{dotted}"))
    }

    fn set(&mut self, path: &[&str], value: Value) {
        let mut at = &mut self.spec;
        for key in &path[..path.len() - 1] {
            at = at
                .entry(key.to_string())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("spec paths are maps");
        }
        at.insert(path[path.len() - 1].to_string(), value);
    }

    /// A loader finding on the imported platform: a refusal at the input field whose
    /// passed-through value it is about, else a meshgen bug.
    fn blame(&self, d: &Diagnostic) -> Result<Diagnostic> {
        let mut at = d.path.clone();
        for (i, name) in self.gateway_names.iter().enumerate() {
            at = at.replace(
                &format!("spec.gateways[{i}]"),
                &format!("spec.gateways[{name}]"),
            );
        }
        let source = self
            .sources
            .iter()
            .filter(|(path, _, _)| {
                at == *path
                    || at.starts_with(&format!("{path}."))
                    || path.starts_with(&format!("{at}."))
            })
            .max_by_key(|(path, _, _)| path.len());
        match source {
            Some((_, origin, field)) => {
                let mut out = Diagnostic::error(
                    origin.file.clone(),
                    origin.line,
                    origin.col,
                    field.clone(),
                    format!("imported as {}: {}", d.path, d.message),
                );
                out.hint = d.hint.clone();
                Ok(out)
            }
            None => Err(Error::Render(format!(
                "the imported platform does not validate (a meshgen bug): {}: {}",
                d.path, d.message
            ))),
        }
    }

    /// The platform file: the schema modeline, a note of what it came from, the data.
    fn emit(&mut self, options: &Options) -> String {
        let mut spec = Map::new();
        spec.insert("provider".into(), json!(options.provider.to_string()));
        spec.insert("istio".into(), json!(options.istio.to_string()));
        if let Some(k) = &options.kubernetes {
            spec.insert("kubernetes".into(), json!(k));
        }
        spec.append(&mut self.spec);
        self.gateway_names = self.gateways.keys().cloned().collect();
        let gateways: Vec<Value> = std::mem::take(&mut self.gateways)
            .into_values()
            .map(Value::Object)
            .collect();
        if !gateways.is_empty() {
            spec.insert("gateways".into(), Value::Array(gateways));
        }
        if self.values.as_object().is_some_and(|m| !m.is_empty()) {
            spec.insert("values".into(), self.values.take());
        }
        let doc = json!({
            "apiVersion": "meshgen/v1alpha1",
            "kind": "Platform",
            "metadata": {"name": options.name},
            "spec": spec,
        });
        format!(
            "# yaml-language-server: $schema=../schemas/platform.schema.json\n{}{}",
            yaml::emit::comment("Imported from IstioOperator resources by `meshgen import`."),
            yaml::emit::to_yaml(&doc)
        )
    }
}

/// The fate of every leaf of the merged input, in path order.
fn account(merged: &Leaves, defaults: &Leaves, plan: &mut Plan) -> Vec<Field> {
    let egress_on = merged
        .get(&key(&[
            "components",
            "egressGateways",
            "[istio-egressgateway]",
            "enabled",
        ]))
        .is_some_and(|l| l.value == json!(true))
        // The operator's "values enablement": the chart value switches the component on too.
        || merged
            .get(&key(&["values", "gateways", "istio-egressgateway", "enabled"]))
            .is_some_and(|l| l.value == json!(true));
    let mut fields = Vec::new();
    for (path, leaf) in merged {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let fate = if defaults.get(path).is_some_and(|d| d.value == leaf.value) {
            Fate::Default
        } else if p.first() == Some(&"components")
            && p.last() == Some(&"enabled")
            && !leaf.value.is_boolean()
        {
            Fate::Refused(format!("enabled is {}: true or false", leaf.value))
        } else {
            classify(&p, leaf, merged, egress_on, plan)
        };
        if let Fate::Mapped(to) = &fate {
            // A typed value the loader refuses is refused at this field.
            for to in to.split(", ").filter(|t| t.starts_with("spec.")) {
                plan.sources
                    .push((to.to_string(), leaf.origin.clone(), display(&p)));
            }
        }
        fields.push(Field {
            path: display(&p),
            origin: leaf.origin.clone(),
            fate,
        });
    }
    // Written even where it equals the default profile: the platform says what is installed.
    plan.set(&["egressGateway", "enabled"], json!(egress_on));
    fields
}

fn key(path: &[&str]) -> Vec<String> {
    path.iter().map(|s| s.to_string()).collect()
}

fn display(path: &[&str]) -> String {
    let mut out = String::from("spec");
    for seg in path {
        if !seg.starts_with('[') {
            out.push('.');
        }
        out.push_str(seg);
    }
    out
}

/// One leaf's fate, by where it stands.
fn classify(p: &[&str], leaf: &Leaf, merged: &Leaves, egress_on: bool, plan: &mut Plan) -> Fate {
    let field = display(p);
    let v = &leaf.value;
    match p {
        ["hub"] | ["tag"] => plan.pass(&["global", p[0]], v, leaf, &field),
        ["namespace"] => {
            plan.set(&["namespace"], v.clone());
            Fate::Mapped("spec.namespace".into())
        }
        ["revision"] => Fate::Refused("spec.revision: set the platform's spec.revision (or spec.canary), which also names meshgen's releases".into()),
        ["meshConfig", rest @ ..] => {
            let mut path = vec!["meshConfig"];
            path.extend_from_slice(rest);
            plan.pass(&path, v, leaf, &field)
        }
        ["values", "pilot", "traceSampling"] => tracing(v, plan),
        ["values", "gateways", "istio-egressgateway", "enabled"] if v.is_boolean() => {
            Fate::Mapped("spec.egressGateway.enabled".into())
        }
        ["values", rest @ ..] if !rest.is_empty() => plan.pass(rest, v, leaf, &field),
        ["values"] => Fate::Refused("values is not a map of chart values".into()),
        ["components", rest @ ..] => component(rest, leaf, merged, egress_on, plan, &field),
        [top, ..] => Fate::Refused(unknown("IstioOperator spec field", top, SPEC_KEYS.iter().copied())),
        [] => Fate::Refused("an empty spec".into()),
    }
}

fn unknown<'a>(
    what: &str,
    given: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    match crate::suggest::did_you_mean(given, known.clone()) {
        Some(near) => format!("unknown {what} {given}: did you mean {near}?"),
        None => match given {
            "unvalidatedValues" | "installPackagePath" | "addonComponents" => {
                format!("{given}: meshgen renders the vendored charts of the release and checks every value; there is no place for it")
            }
            _ => format!(
                "unknown {what} {given} (known: {})",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ),
        },
    }
}

fn tracing(v: &Value, plan: &mut Plan) -> Fate {
    let sampling = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match sampling {
        Some(s) => {
            plan.set(&["tracing", "enabled"], json!(true));
            plan.set(&["tracing", "sampling"], json!(s));
            Fate::Mapped("spec.tracing.sampling".into())
        }
        None => Fate::Refused(format!("trace sampling {v} is not a percentage")),
    }
}

/// `components.*`.
fn component(
    p: &[&str],
    leaf: &Leaf,
    merged: &Leaves,
    egress_on: bool,
    plan: &mut Plan,
    field: &str,
) -> Fate {
    let v = &leaf.value;
    let on = *v == json!(true);
    match p {
        ["base" | "pilot", "enabled"] if on => Fate::Mapped("installed: meshgen always installs base and istiod".into()),
        ["base" | "pilot", "enabled"] => Fate::Refused(format!("{}: meshgen always installs base and istiod; a platform without them is not one meshgen renders", p[0])),
        ["cni", "enabled"] | ["istiodRemote", "enabled"] if !on => Fate::Default,
        ["cni", ..] => Fate::Refused("components.cni: meshgen does not install istio-cni (the sidecars keep their init container)".into()),
        ["istiodRemote", ..] => Fate::Refused("components.istiodRemote (istiod_remote): meshgen installs a control plane in the cluster, not a remote one".into()),
        [_, "k8s", "overlays", ..] => Fate::Refused(overlays()),
        ["pilot", "k8s", "env"] => pilot_env(v, leaf, plan, field),
        ["pilot", "k8s", k, rest @ ..] if K8S_TO_VALUES.contains(k) && *k != "serviceAnnotations" => {
            let mut path = vec!["pilot", *k];
            path.extend_from_slice(rest);
            plan.pass(&path, v, leaf, field)
        }
        ["pilot", "k8s", k, ..] => Fate::Refused(format!("components.pilot.k8s.{k}: the istiod chart has no value for it")),
        ["pilot" | "base", "hub" | "tag"] => plan.pass(&["pilot", p[1]], v, leaf, field),
        ["ingressGateways" | "egressGateways", name, ..] if name.starts_with("[#") => {
            Fate::Refused("a gateway without a name".into())
        }
        ["ingressGateways" | "egressGateways", name, rest @ ..] => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            gateway(p[0] == "ingressGateways", name, rest, leaf, merged, egress_on, plan, field)
        }
        [c, ..] if !COMPONENTS.contains(c) => Fate::Refused(unknown("component", c, COMPONENTS.iter().copied())),
        [c, rest @ ..] => Fate::Refused(format!("components.{c}.{}: no chart value for it", rest.join("."))),
        [] => Fate::Refused("components is not a map of components".into()),
    }
}

fn overlays() -> String {
    "k8s.overlays: patches of rendered objects have no chart value; meshgen renders the charts as they are".into()
}

/// `PILOT_TRACE_SAMPLING` is the tracing sampling; the other variables are the istiod chart's
/// `pilot.env` map.
fn pilot_env(v: &Value, leaf: &Leaf, plan: &mut Plan, field: &str) -> Fate {
    let Some(items) = v.as_array() else {
        return Fate::Refused("components.pilot.k8s.env is not a list".into());
    };
    let mut env = Map::new();
    let mut mapped = Vec::new();
    for item in items {
        let (Some(name), Some(value)) =
            (item.get("name").and_then(Value::as_str), item.get("value"))
        else {
            return Fate::Refused("components.pilot.k8s.env: only name/value variables have a chart value (pilot.env)".into());
        };
        if name == "PILOT_TRACE_SAMPLING" {
            if let refused @ Fate::Refused(_) = tracing(value, plan) {
                return refused;
            }
            mapped.push("spec.tracing.sampling".to_string());
        } else {
            env.insert(name.to_string(), value.clone());
        }
    }
    if !env.is_empty() {
        if let Fate::PassedThrough(to) =
            plan.pass(&["pilot", "env"], &Value::Object(env), leaf, field)
        {
            mapped.push(to);
        }
    }
    Fate::Mapped(mapped.join(", "))
}

/// A gateway's field: the chart's own gateways (`istio-ingressgateway`, `istio-egressgateway`)
/// map to `ingressGateway`/`egressGateway`, other ingress gateways to `spec.gateways`.
#[allow(clippy::too_many_arguments)]
fn gateway(
    ingress: bool,
    name: &str,
    p: &[&str],
    leaf: &Leaf,
    merged: &Leaves,
    egress_on: bool,
    plan: &mut Plan,
    field: &str,
) -> Fate {
    let v = &leaf.value;
    let main = if ingress {
        name == "istio-ingressgateway"
    } else {
        name == "istio-egressgateway"
    };
    let enabled = merged
        .get(&key(&[
            "components",
            if ingress {
                "ingressGateways"
            } else {
                "egressGateways"
            },
            &format!("[{name}]"),
            "enabled",
        ]))
        .is_some_and(|l| l.value == json!(true));
    if !ingress && !main {
        return Fate::Refused(format!(
            "egress gateway {name}: a platform has one egress gateway, istio-egressgateway"
        ));
    }
    if p == ["name"] {
        return Fate::Mapped(if main {
            "the chart's gateway".into()
        } else {
            format!("spec.gateways[{name}].name")
        });
    }
    if p == ["enabled"] {
        return match (ingress, main) {
            (false, _) => {
                plan.set(&["egressGateway", "enabled"], json!(egress_on));
                Fate::Mapped("spec.egressGateway.enabled".into())
            }
            (true, true) if enabled => Fate::Mapped("spec.ingressGateway".into()),
            (true, true) => Fate::Refused(
                "istio-ingressgateway disabled: meshgen always installs the ingress gateway".into(),
            ),
            (true, false) if enabled => {
                plan.gateways
                    .entry(name.to_string())
                    .or_default()
                    .insert("name".into(), json!(name));
                Fate::Mapped(format!("spec.gateways[{name}]"))
            }
            (true, false) => Fate::Mapped(format!("nothing: {name} is disabled")),
        };
    }
    if !enabled {
        return Fate::Mapped(format!("nothing: {name} is disabled"));
    }
    gateway_setting(ingress && main, name, p, leaf, plan, field, v)
}

/// A setting of an enabled gateway.
#[allow(clippy::too_many_arguments)]
fn gateway_setting(
    ingress_main: bool,
    name: &str,
    p: &[&str],
    leaf: &Leaf,
    plan: &mut Plan,
    field: &str,
    v: &Value,
) -> Fate {
    let chart = if ingress_main || name == "istio-egressgateway" {
        Some(name)
    } else {
        None
    };
    let typed = if ingress_main {
        "ingressGateway"
    } else if chart.is_some() {
        "egressGateway"
    } else {
        ""
    };
    match (p, chart) {
        (["namespace"], None) => set_gateway(plan, name, "namespace", v.clone()),
        (["label", k], None) => {
            let mut labels = plan.gateways.entry(name.to_string()).or_default().get("labels").cloned().unwrap_or(json!({}));
            labels[*k] = v.clone();
            set_gateway(plan, name, "labels", labels)
        }
        (["namespace"], Some(_)) if *v == json!("istio-system") => Fate::Default,
        (["k8s", "serviceAnnotations", k], _) => annotation(typed, name, k, v, plan),
        (["k8s", "service", "type"], _) => {
            if chart.is_some() { plan.set(&[typed, "serviceType"], v.clone()); Fate::Mapped(format!("spec.{typed}.serviceType")) } else { set_gateway(plan, name, "serviceType", v.clone()) }
        }
        (["k8s", "service", "loadBalancerIP"], Some(_)) if ingress_main => {
            plan.set(&["ingressGateway", "loadBalancerIP"], v.clone());
            Fate::Mapped("spec.ingressGateway.loadBalancerIP".into())
        }
        (["k8s", "service", "ports"], Some(_)) if chart_ports(plan, ingress_main, v) => Fate::Default,
        (["k8s", "service", "ports"], Some(g)) => plan.pass(&["gateways", g, "ports"], v, leaf, field),
        (["k8s", "overlays", ..], _) => Fate::Refused(overlays()),
        (["label", k], Some(g)) => plan.pass(&["gateways", g, "labels", k], v, leaf, field),
        (["k8s", k, rest @ ..], Some(g)) if K8S_TO_VALUES.contains(k) => {
            let mut path = vec!["gateways", g, *k];
            path.extend_from_slice(rest);
            plan.pass(&path, v, leaf, field)
        }
        (["k8s", k, ..], _) => Fate::Refused(format!("k8s.{k} of gateway {name}: no chart value (or typed field) for it")),
        (_, None) => Fate::Refused(format!("{} of gateway {name}: a gateway of spec.gateways has name, namespace, labels, service type and annotations", p.join("."))),
        (_, Some(_)) => Fate::Refused(format!("{} of gateway {name}: no chart value for it", p.join("."))),
    }
}

fn set_gateway(plan: &mut Plan, name: &str, key: &str, v: Value) -> Fate {
    plan.gateways
        .entry(name.to_string())
        .or_default()
        .insert(key.into(), v);
    Fate::Mapped(format!("spec.gateways[{name}].{key}"))
}

/// The provider's internal load balancer annotation is `internal: true`; others are kept.
fn annotation(typed: &str, name: &str, k: &str, v: &Value, plan: &mut Plan) -> Fate {
    let internal = internal_lb_annotation(plan.provider, plan.istio.line)
        .is_some_and(|(ak, av)| ak == k && Some(av) == v.as_str());
    let extra = typed.is_empty();
    let field = if internal { "internal" } else { "annotations" };
    let at = if extra {
        format!("spec.gateways[{name}].{field}")
    } else {
        format!("spec.{typed}.{field}")
    };
    let value = if internal { json!(true) } else { v.clone() };
    match (extra, internal) {
        (true, true) => {
            set_gateway(plan, name, "internal", value);
        }
        (true, false) => {
            let mut all = plan
                .gateways
                .entry(name.to_string())
                .or_default()
                .get("annotations")
                .cloned()
                .unwrap_or(json!({}));
            all[k] = value;
            set_gateway(plan, name, "annotations", all);
        }
        (false, true) => plan.set(&[typed, "internal"], value),
        (false, false) => plan.set(&[typed, "annotations", k], value),
    }
    Fate::Mapped(at)
}

/// Whether a gateway's ports list is the chart's own (the demo profile repeats it): then it
/// is left to the chart and meshgen, which writes the list whole when it sets a node port.
fn chart_ports(plan: &Plan, ingress: bool, v: &Value) -> bool {
    let kind = if ingress {
        GatewayKind::Ingress
    } else {
        GatewayKind::Egress
    };
    let defaults = default_ports(&plan.version, kind);
    let Some(given) = v.as_array() else {
        return false;
    };
    given.len() == defaults.len()
        && given.iter().zip(defaults).all(|(g, d)| {
            g.get("name").and_then(Value::as_str) == Some(d.name)
                && g.get("port").and_then(Value::as_u64) == Some(u64::from(d.port))
                && g.get("targetPort").and_then(Value::as_u64) == d.target_port.map(u64::from)
                && g.get("nodePort").is_none()
                && g.get("protocol")
                    .and_then(Value::as_str)
                    .is_none_or(|p| Some(p) == d.protocol)
        })
}
