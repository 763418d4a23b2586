//! `spec.values` merged into the rendered values file after everything meshgen sets, as Helm
//! merges values: maps key by key, lists and scalars replaced.
//!
//! The rendered text is edited, not rebuilt, so the header and every comment stay: a key
//! `spec.values` adds is inserted at the end of its parent's block (block YAML from
//! `emit`, strings double-quoted) with its origin as a comment (`# spec.values: platform file
//! line N`), which `explain` reads. The result is parsed back and must equal the deep merge.
//!
//! What meshgen sets is read off the rendered file itself (the keys the template emitted for
//! this platform, with `explain`'s reasons); `owner` names the typed field behind each. Only
//! the release's own defaults (the image hub and tags) may be replaced by `spec.values`; any
//! other emitted key, and any key `owner` does not know, is a conflict.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::Severity;
use crate::model::release_line::ReleaseLine;
use crate::model::rules::Finding;
use crate::render::resolve::{ChartValue, ChartValueNode, Origin};
use crate::render::values::RenderError;
use crate::yaml::{Node, NodeValue, PathSegment};

/// Who decides an emitted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A default of the release (its images), which `spec.values` may replace.
    ReleaseDefault,
    /// The platform field that sets it (or several, `a or b`).
    Field(String),
    /// A key no rule here knows: refused, and a test fails until it is named.
    Unknown,
}

fn gateway_field(gateway: &str) -> Option<&'static str> {
    match gateway {
        "istio-ingressgateway" => Some("spec.ingressGateway"),
        "istio-egressgateway" => Some("spec.egressGateway"),
        _ => None,
    }
}

const HA: &str = "spec.highAvailability";
const ADDONS: [&str; 5] = ["grafana", "prometheus", "kiali", "servicegraph", "zipkin"];

/// The platform field behind a key meshgen emits on `line` (a list counts as one key).
pub fn owner(line: ReleaseLine, keys: &[&str]) -> Owner {
    let field = |f: &str| Owner::Field(f.to_string());
    match keys {
        ["global", "hub" | "tag"] => Owner::ReleaseDefault,
        ["global", _, "repository" | "tag"] if line.sets_component_images() => {
            Owner::ReleaseDefault
        }
        ["global", "istioNamespace"] => field("spec.namespace"),
        ["revision"] => field("spec.revision (a canary's file: spec.canary)"),
        ["global", "k8sIngressGateway"] => field("spec.kubernetesIngressGateway"),
        ["global", "proxy", "resources", ..] => field("spec.resources"),
        ["gateways", "istio-ilbgateway", "enabled"] => field("spec.resources"),
        ["gateways", gateway, rest @ ..] => {
            // Any other gateway the template writes is an extra one (1.0's entries of
            // `spec.gateways`), every key of which meshgen writes.
            let Some(g) = gateway_field(gateway) else {
                return match rest {
                    ["resources", ..] => field("spec.resources"),
                    ["replicaCount" | "autoscaleMin" | "autoscaleMax"] => field(HA),
                    _ => field("spec.gateways"),
                };
            };
            match rest {
                ["type"] => field(&format!("{g}.serviceType")),
                ["loadBalancerIP"] => field(&format!("{g}.loadBalancerIP")),
                ["serviceAnnotations", ..] => field(&format!("{g}.annotations")),
                ["ports"] => field(&format!("{g}.nodePorts")),
                ["enabled"] => field(&format!("{g}.enabled")),
                ["resources", ..] => field("spec.resources"),
                ["autoscaleEnabled"] => field(&format!("{HA} or spec.resources")),
                ["replicaCount" | "autoscaleMin" | "autoscaleMax"] => field(HA),
                ["podAntiAffinityLabelSelector"] => field(&format!("{HA}.antiAffinity")),
                _ => Owner::Unknown,
            }
        }
        ["ingress", "service", "nodePort", "enabled"] => field("spec.ingressGateway.serviceType"),
        ["ingress", "service", "nodePort", "port"] => field("spec.ingressGateway.nodePorts"),
        [_, "replicaCount" | "autoscaleMin" | "autoscaleMax"]
        | ["mixer", "istio-policy" | "istio-telemetry", "autoscaleMin" | "autoscaleMax"] => {
            field(HA)
        }
        ["pilot", "autoscaleEnabled"] => field(&format!("{HA} or spec.resources")),
        [_, "resources", ..] => field("spec.resources"),
        ["pilot", "traceSampling"] | ["meshConfig", "enableTracing"] | ["tracing", "enabled"] => {
            field("spec.tracing")
        }
        ["zipkin", "enabled"] if line.tracing_is_zipkin_addon() => {
            field("spec.addons.zipkin.enabled or spec.tracing")
        }
        ["zipkin", "service", "type"] if line.tracing_is_zipkin_addon() => {
            field("spec.addons.zipkin.serviceType or spec.tracing")
        }
        [addon, "enabled"] if ADDONS.contains(addon) => {
            field(&format!("spec.addons.{addon}.enabled"))
        }
        [addon, "service", "type"] if ADDONS.contains(addon) => {
            field(&format!("spec.addons.{addon}.serviceType"))
        }
        ["prometheus", "service", "nodePort", "enabled"] => {
            field("spec.addons.prometheus.serviceType")
        }
        _ => Owner::Unknown,
    }
}

/// A key the rendered file sets: its path (to a scalar, a list or a non-empty map's leaf), who
/// decides it and `explain`'s reason.
#[derive(Debug, Clone)]
pub struct Emitted {
    pub keys: Vec<String>,
    pub owner: Owner,
    pub why: String,
}

impl Emitted {
    pub fn path(&self) -> String {
        self.keys.join(".")
    }
}

/// Every key a rendered values file sets, lists counted as one key.
pub fn emitted(text: &str, line: ReleaseLine) -> Result<Vec<Emitted>, RenderError> {
    let doc = crate::yaml::parse(text).map_err(|e| RenderError::Malformed(e.to_string()))?;
    let whys = whys(text)?;
    let mut out = Vec::new();
    leaves(&doc, &mut Vec::new(), line, &whys, &mut out);
    Ok(out)
}

/// `explain`'s reason of each emitted path (its `a.b[0].c` spelling).
fn whys(text: &str) -> Result<HashMap<String, String>, RenderError> {
    let explained = crate::render::origins::explain_values(text, "meshgen's template")
        .map_err(|e| RenderError::Malformed(e.to_string()))?;
    Ok(explained.into_iter().map(|e| (e.path, e.why)).collect())
}

fn why_of(whys: &HashMap<String, String>, path: &str) -> String {
    whys.get(path)
        .or_else(|| {
            let prefix = format!("{path}[");
            whys.iter()
                .filter(|(p, _)| p.starts_with(&prefix))
                .min_by_key(|(p, _)| p.len())
                .map(|(_, w)| w)
        })
        .cloned()
        .unwrap_or_default()
}

fn leaves(
    node: &Node,
    keys: &mut Vec<String>,
    line: ReleaseLine,
    whys: &HashMap<String, String>,
    out: &mut Vec<Emitted>,
) {
    match &node.value {
        NodeValue::Map(entries) => {
            for e in entries {
                keys.push(e.key.clone());
                leaves(&e.value, keys, line, whys, out);
                keys.pop();
            }
        }
        _ => {
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            out.push(Emitted {
                keys: keys.clone(),
                owner: owner(line, &refs),
                why: why_of(whys, &keys.join(".")),
            });
        }
    }
}

/// A key of `spec.values` that meets one meshgen sets.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// The key's path below `spec.values`.
    pub keys: Vec<String>,
    /// What meshgen sets there (or below it).
    pub emitted: Vec<Emitted>,
}

impl Conflict {
    /// The finding at `spec.values.<keys>`, naming the field to use instead.
    pub fn finding(&self) -> Finding {
        let mut path = vec![
            PathSegment::Key("spec".into()),
            PathSegment::Key("values".into()),
        ];
        path.extend(self.keys.iter().cloned().map(PathSegment::Key));
        let mut fields: Vec<&str> = Vec::new();
        let mut parts = Vec::new();
        for e in &self.emitted {
            let by = match &e.owner {
                Owner::Field(f) => {
                    if !fields.contains(&f.as_str()) {
                        fields.push(f);
                    }
                    format!("from `{f}`")
                }
                Owner::ReleaseDefault => "as the release's default".to_string(),
                Owner::Unknown => "by its template".to_string(),
            };
            let why = if e.why.is_empty() {
                String::new()
            } else {
                format!(" ({})", e.why)
            };
            parts.push(format!("`{}` {by}{why}", e.path()));
        }
        let message = format!(
            "meshgen sets {}; spec.values may not change it",
            parts.join(", ")
        );
        let hint = if self
            .emitted
            .iter()
            .all(|e| e.owner == Owner::ReleaseDefault)
        {
            "set the keys inside it one by one".to_string()
        } else if fields.is_empty() {
            "remove this key: meshgen's template decides it".to_string()
        } else {
            format!("set {} instead", fields.join(", "))
        };
        Finding {
            severity: Severity::Error,
            path,
            message,
            hint: Some(hint),
        }
    }
}

/// A change to the rendered lines (1-based line numbers).
#[derive(Debug)]
enum Edit {
    /// Text (whole lines) after line `after` (0: before the first).
    Insert { after: usize, text: String },
    /// Line `line` replaced by text.
    Replace { line: usize, text: String },
    /// Line `line`'s `key: {}` opened into `key:`, so that keys can go below it.
    Open { line: usize },
}

#[derive(Debug, Default)]
struct Plan {
    edits: Vec<Edit>,
    conflicts: Vec<Conflict>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The last line of the block of the key on line `key_line` at indentation `key_indent`.
fn block_end(lines: &[&str], key_line: usize, key_indent: usize) -> usize {
    let mut last = key_line;
    for (i, text) in lines.iter().enumerate().skip(key_line) {
        if text.trim().is_empty() {
            continue;
        }
        if indent(text) > key_indent {
            last = i + 1;
        } else {
            break;
        }
    }
    last
}

fn comment(origin: &Origin) -> String {
    let text: String = origin
        .describe()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("spec.values: {text}")
}

/// `key: value` at `indent` as block YAML, the comment on its first line.
fn entry_text(value: &ChartValue, indent: usize) -> String {
    let text = crate::yaml::emit::entry(&value.key, &value.to_json(), indent);
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    format!("{first}  # {}\n{rest}", comment(&value.origin))
}

struct Walk<'a> {
    lines: Vec<&'a str>,
    line: ReleaseLine,
    whys: HashMap<String, String>,
    plan: Plan,
}

impl Walk<'_> {
    /// Merges `user` into the map `node`, whose key is on `key_line` at `key_indent` (the
    /// document itself for `key_line` None).
    fn map(
        &mut self,
        node: &Node,
        key_line: Option<usize>,
        key_indent: usize,
        user: &[ChartValue],
        keys: &mut Vec<String>,
    ) {
        let NodeValue::Map(entries) = &node.value else {
            return;
        };
        let child_indent = match (entries.first(), key_line) {
            (Some(e), _) => e.key_span.col - 1,
            (None, None) => 0,
            (None, Some(_)) => key_indent + 2,
        };
        let end = match key_line {
            Some(l) => block_end(&self.lines, l, key_indent),
            None => self.lines.len(),
        };
        let mut opened = false;
        for value in user {
            keys.push(value.key.clone());
            match entries.iter().find(|e| e.key == value.key) {
                None => {
                    if let (true, Some(l), false) = (entries.is_empty(), key_line, opened) {
                        self.plan.edits.push(Edit::Open { line: l });
                        opened = true;
                    }
                    let mut text = entry_text(value, child_indent);
                    if key_line.is_none() {
                        text.insert(0, '\n');
                    }
                    self.plan.edits.push(Edit::Insert { after: end, text });
                }
                Some(e) => match (&value.value, &e.value.value) {
                    (ChartValueNode::Map(children), NodeValue::Map(_)) => {
                        let at = e.key_span.col - 1;
                        self.map(&e.value, Some(e.key_span.line), at, children, keys);
                    }
                    (user_value, rendered) => {
                        let mut below = Vec::new();
                        leaves_at(&e.value, keys, self.line, &self.whys, &mut below);
                        let scalar = !matches!(rendered, NodeValue::Map(_) | NodeValue::Seq(_));
                        let replaceable = below.iter().all(|b| b.owner == Owner::ReleaseDefault)
                            && (below.is_empty()
                                || (scalar && matches!(user_value, ChartValueNode::Value(_))));
                        if replaceable {
                            self.plan.edits.push(Edit::Replace {
                                line: e.key_span.line,
                                text: entry_text(value, e.key_span.col - 1),
                            });
                        } else {
                            // Name the typed fields; a map of release defaults only (a value
                            // over `global`) names those.
                            let typed: Vec<Emitted> = below
                                .iter()
                                .filter(|b| b.owner != Owner::ReleaseDefault)
                                .cloned()
                                .collect();
                            self.plan.conflicts.push(Conflict {
                                keys: keys.clone(),
                                emitted: if typed.is_empty() { below } else { typed },
                            });
                        }
                    }
                },
            }
            keys.pop();
        }
    }
}

fn leaves_at(
    node: &Node,
    keys: &[String],
    line: ReleaseLine,
    whys: &HashMap<String, String>,
    out: &mut Vec<Emitted>,
) {
    let mut keys = keys.to_vec();
    leaves(node, &mut keys, line, whys, out);
}

fn plan(text: &str, line: ReleaseLine, values: &[ChartValue]) -> Result<Plan, RenderError> {
    let doc = crate::yaml::parse(text).map_err(|e| RenderError::Malformed(e.to_string()))?;
    let mut walk = Walk {
        lines: text.lines().collect(),
        line,
        whys: whys(text)?,
        plan: Plan::default(),
    };
    walk.map(&doc, None, 0, values, &mut Vec::new());
    Ok(walk.plan)
}

/// The keys of `values` that meet one the template's `text` sets, as findings at
/// `spec.values.<key>`.
pub fn conflicts(
    text: &str,
    line: ReleaseLine,
    values: &[ChartValue],
) -> Result<Vec<Finding>, RenderError> {
    let plan = plan(text, line, values)?;
    Ok(plan.conflicts.iter().map(Conflict::finding).collect())
}

/// Helm's merge of values: maps key by key, anything else replaced.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                match base.get_mut(k) {
                    Some(b) if b.is_object() && v.is_object() => deep_merge(b, v),
                    _ => {
                        base.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// The rendered text with `values` merged in. A conflict here is a bug: `conflicts` refuses
/// the platform first.
pub fn merge(text: &str, line: ReleaseLine, values: &[ChartValue]) -> Result<String, RenderError> {
    if values.is_empty() {
        return Ok(text.to_string());
    }
    let plan = plan(text, line, values)?;
    if let Some(c) = plan.conflicts.first() {
        return Err(RenderError::Template(format!(
            "spec.values.{}: {}",
            c.keys.join("."),
            c.finding().message
        )));
    }
    let mut out = String::with_capacity(text.len() * 2);
    let inserts_after = |n: usize, out: &mut String| {
        for edit in &plan.edits {
            if let Edit::Insert { after, text } = edit {
                if *after == n {
                    out.push_str(text);
                }
            }
        }
    };
    inserts_after(0, &mut out);
    for (i, original) in text.lines().enumerate() {
        let n = i + 1;
        let mut written = false;
        for edit in &plan.edits {
            match edit {
                Edit::Replace { line, text } if *line == n => {
                    out.push_str(text);
                    written = true;
                }
                Edit::Open { line } if *line == n => {
                    out.push_str(&original.replacen(": {}", ":", 1));
                    out.push('\n');
                    written = true;
                }
                _ => {}
            }
        }
        if !written {
            out.push_str(original);
            out.push('\n');
        }
        inserts_after(n, &mut out);
    }
    // The merged file must say exactly what Helm's merge would.
    let mut expected = crate::yaml::parse(text)
        .map_err(|e| RenderError::Malformed(e.to_string()))?
        .to_json();
    let over = Value::Object(
        values
            .iter()
            .map(|v| (v.key.clone(), v.to_json()))
            .collect(),
    );
    deep_merge(&mut expected, &over);
    let got = crate::yaml::parse(&out)
        .map_err(|e| RenderError::Malformed(e.to_string()))?
        .to_json();
    if got != expected {
        return Err(RenderError::Malformed(
            "spec.values did not merge as Helm merges values".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(key: &str, line: usize, json: Value) -> ChartValue {
        ChartValue {
            key: key.into(),
            origin: Origin::File { line },
            value: match json {
                Value::Object(map) => ChartValueNode::Map(
                    map.into_iter()
                        .map(|(k, v)| value(&k, line + 1, v))
                        .collect(),
                ),
                other => ChartValueNode::Value(other),
            },
        }
    }

    const RENDERED: &str = "# header\n\nglobal:\n  # The images\n  hub: \"docker.io/istio\"\n  tag: \"1.0.9\"\n\ngateways:\n  istio-ingressgateway:\n    type: \"NodePort\"  # kvm default\n    ports:\n    - name: \"http2\"\n      nodePort: 31380  # why\n  istio-egressgateway:\n    enabled: false  # egressGateway.enabled is false\n\npilot: {}  # the chart's own settings\n";

    #[test]
    fn inserts_replaces_and_opens_keeping_comments() {
        let values = vec![
            value(
                "global",
                20,
                serde_json::json!({"hub": "my.registry/istio", "proxy": {"accessLogFile": "on"}}),
            ),
            value(
                "gateways",
                30,
                serde_json::json!({"istio-ingressgateway": {"nodeSelector": {"on": "y"}}}),
            ),
            value("pilot", 40, serde_json::json!({"env": {"A": "1_000"}})),
            value(
                "meshConfig",
                0,
                serde_json::json!({"accessLogFile": "/dev/stdout"}),
            ),
        ];
        let out = merge(RENDERED, ReleaseLine::V1_0, &values).unwrap();
        assert_eq!(
            out,
            "# header\n\nglobal:\n  # The images\n  hub: \"my.registry/istio\"  # spec.values: platform file line 21\n  tag: \"1.0.9\"\n  proxy:  # spec.values: platform file line 21\n    accessLogFile: \"on\"\n\ngateways:\n  istio-ingressgateway:\n    type: \"NodePort\"  # kvm default\n    ports:\n    - name: \"http2\"\n      nodePort: 31380  # why\n    nodeSelector:  # spec.values: platform file line 32\n      \"on\": \"y\"\n  istio-egressgateway:\n    enabled: false  # egressGateway.enabled is false\n\npilot:  # the chart's own settings\n  env:  # spec.values: platform file line 41\n    A: \"1_000\"\n\nmeshConfig:  # spec.values: set with --set\n  accessLogFile: \"/dev/stdout\"\n"
        );
        let explained = crate::render::origins::explain_values(&out, "fallback").unwrap();
        let why = |p: &str| explained.iter().find(|e| e.path == p).unwrap().why.clone();
        assert_eq!(
            why("global.proxy.accessLogFile"),
            "spec.values: platform file line 21"
        );
        assert_eq!(why("pilot.env.A"), "spec.values: platform file line 41");
        assert_eq!(why("global.tag"), "The images");
    }

    #[test]
    fn keys_meshgen_sets_are_conflicts() {
        let values = vec![
            value(
                "gateways",
                30,
                serde_json::json!({"istio-ingressgateway": {"type": "LoadBalancer", "ports": []}}),
            ),
            value("global", 20, serde_json::json!("x")),
        ];
        let plan = plan(RENDERED, ReleaseLine::V1_0, &values).unwrap();
        let found: Vec<Finding> = plan.conflicts.iter().map(Conflict::finding).collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].message.contains(
            "`gateways.istio-ingressgateway.type` from `spec.ingressGateway.serviceType` (kvm default)"
        ), "{}", found[0].message);
        assert_eq!(
            found[0].hint.as_deref(),
            Some("set spec.ingressGateway.serviceType instead")
        );
        assert!(found[1].message.contains("spec.ingressGateway.nodePorts"));
        // A value over a map of release defaults would drop them whole: set them one by one.
        assert!(found[2]
            .message
            .contains("`global.hub` as the release's default"));
        assert_eq!(
            found[2].hint.as_deref(),
            Some("set the keys inside it one by one")
        );
        assert!(merge(RENDERED, ReleaseLine::V1_0, &values).is_err());
    }

    #[test]
    fn owners_of_what_the_templates_set() {
        assert_eq!(
            owner(ReleaseLine::V1_0, &["global", "hub"]),
            Owner::ReleaseDefault
        );
        assert_eq!(
            owner(ReleaseLine::V0_6, &["global", "proxy", "repository"]),
            Owner::ReleaseDefault
        );
        assert_eq!(
            owner(ReleaseLine::V1_11, &["global", "proxy", "repository"]),
            Owner::Unknown
        );
        assert_eq!(
            owner(ReleaseLine::V1_0, &["pilot", "replicaCount"]),
            Owner::Field(HA.into())
        );
        assert_eq!(owner(ReleaseLine::V1_0, &["pilot", "foo"]), Owner::Unknown);
    }
}
