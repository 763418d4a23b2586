//! `docs/platform.md`: every field of a platform file, generated rather than written. Paths,
//! types and descriptions come from the schema (whose descriptions are the model's doc
//! comments); defaults from resolving probe platforms on each release line and provider;
//! per-line notes from running the rules on probe platforms; the gateway ports from the
//! chart port tables. So the reference says what meshgen does, and `meshgen schema --check`
//! fails when it no longer does.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::Severity;
use crate::model::gateway_ports::{configurable_node_ports, default_ports, GatewayKind};
use crate::model::platform::{AddonKind, HaComponent, PlatformFile, Provider};
use crate::model::release_line::{IstioVersion, ReleaseLine};
use crate::render::resolve::{Origin, ResolvedPlatform, Sourced};
use crate::yaml::PathSegment;

/// Where the reference lives, relative to the repository root.
pub const FIELD_REFERENCE_PATH: &str = "docs/platform.md";

/// One step of a field's path: a property, or each entry of a list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Key(String),
    Items,
}

/// A field of the schema: its path and its property schema.
struct Field {
    steps: Vec<Step>,
    property: &'static Value,
    required: bool,
}

impl Field {
    fn path(&self) -> String {
        path_text(&self.steps)
    }
}

fn path_text(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Items => out.push_str("[]"),
        }
    }
    out
}

/// Every field of the schema, parents before their fields, in the schema's order.
fn fields_of(root: &'static Value) -> Vec<Field> {
    let mut out = Vec::new();
    walk(root, root, &[], &mut out);
    out
}

fn walk(root: &'static Value, object: &'static Value, prefix: &[Step], out: &mut Vec<Field>) {
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = object.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        let mut steps = prefix.to_vec();
        steps.push(Step::Key(name.clone()));
        out.push(Field {
            steps: steps.clone(),
            property,
            required: required.contains(&name.as_str()),
        });
        let target = deref(root, property);
        if target.get("properties").is_some() {
            walk(root, target, &steps, out);
        } else if let Some(items) = target.get("items") {
            let items = deref(root, items);
            if items.get("properties").is_some() {
                steps.push(Step::Items);
                walk(root, items, &steps, out);
            }
        }
    }
}

/// The definition a `$ref` points at, else the schema itself.
fn deref<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
        .unwrap_or(schema)
}

/// The reference as Markdown, generated from the schema and the model.
pub fn markdown() -> String {
    let root = crate::model::schema::platform_schema();
    let fields = fields_of(root);
    let probes = Probes::run();
    let mut out = String::new();
    out.push_str(HEADER);
    out.push_str("| field | type | required |\n|---|---|---|\n");
    for field in &fields {
        let path = field.path();
        out.push_str(&format!(
            "| [`{path}`](#{}) | {} | {} |\n",
            anchor(&path),
            short_type(root, field.property),
            if field.required { "yes" } else { "" }
        ));
    }
    out.push_str("\n## Fields\n");
    for field in &fields {
        out.push_str(&section(root, field, &probes));
    }
    out.push_str(&gateway_ports());
    out
}

const HEADER: &str = "# Platform file reference

<!-- Generated from meshgen's model by `meshgen schema --write .`: do not edit.
`meshgen schema --check .` fails when this file is stale. -->

Every field of a platform file (`platforms/<name>.yaml`; its JSON schema is
`schemas/platform.schema.json`). A path starts at the document's root; `[]` stands for each
entry of a list. Where a default or a note holds only for some release lines (`0.6`, `1.0`,
`1.11`), releases or providers, it names them. Defaults are what meshgen resolves when the
field is absent; notes are what its rules refuse or warn about on each line.

";

/// GitHub's anchor of a heading that is a code span: lower case, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// One line of a description: the doc comments wrap theirs.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn section(root: &Value, field: &Field, probes: &Probes) -> String {
    let path = field.path();
    let target = deref(root, field.property);
    let mut out = format!("\n### `{path}`\n\n");
    let description = field
        .property
        .get("description")
        .or_else(|| target.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !description.is_empty() {
        out.push_str(&one_line(description));
        out.push_str("\n\n");
    }
    out.push_str(&format!("- Type: {}\n", long_type(root, field.property)));
    if field.required {
        out.push_str("- Required\n");
    }
    if let Some(values) = value_descriptions(target) {
        out.push_str(&values);
    }
    if holds_node_ports(root, target) {
        out.push_str(
            "- Port names: each line's and release's in [Gateway ports](#gateway-ports)\n",
        );
    }
    if let Some(default) = probes.default_of(&field.steps) {
        // Several defaults go one a line, below.
        out.push_str(&format!(
            "- Default:{}{default}\n",
            if default.starts_with('\n') { "" } else { " " }
        ));
    }
    let notes = probes.notes_of(&field.steps);
    if !notes.is_empty() {
        out.push_str("- By line:\n");
        for note in notes {
            out.push_str(&format!("  - {note}\n"));
        }
    }
    out
}

/// The JSON type of a property, in a word.
fn short_type(root: &Value, property: &Value) -> String {
    let target = deref(root, property);
    if target.get("enum").is_some() || target.get("oneOf").is_some() {
        return "string".to_string();
    }
    match target.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        Some(Value::String(t)) if t == "array" => "list".to_string(),
        Some(Value::String(t)) if t == "object" && target.get("properties").is_none() => {
            "map".to_string()
        }
        Some(Value::String(t)) => t.clone(),
        _ => "any".to_string(),
    }
}

/// The type of a property with its constraints: values, pattern, range, items.
fn long_type(root: &Value, property: &Value) -> String {
    let target = deref(root, property);
    let constants = constants(target);
    if !constants.is_empty() {
        let quoted: Vec<String> = constants.iter().map(|c| format!("`{c}`")).collect();
        return format!("one of {}", quoted.join(", "));
    }
    let kind = short_type(root, property);
    let mut parts = vec![kind.clone()];
    match kind.as_str() {
        "list" => {
            if let Some(items) = target.get("items") {
                parts = vec![format!("list of {}", long_type(root, items))];
            }
            if let Some(min) = target.get("minItems") {
                parts.push(format!("at least {min} entries"));
            }
            if target.get("uniqueItems") == Some(&Value::Bool(true)) {
                parts.push("no repeats".to_string());
            }
        }
        "map" => match target.get("additionalProperties") {
            Some(Value::Object(_)) => {
                let values = long_type(root, &target["additionalProperties"]);
                parts = vec![format!("map of string to {values}")];
            }
            _ => parts = vec!["map of any values".to_string()],
        },
        _ => {}
    }
    if let Some(pattern) = target.get("pattern").and_then(Value::as_str) {
        parts.push(format!("matching `{pattern}`"));
    }
    if let Some(max) = target.get("maxLength") {
        parts.push(format!("at most {max} characters"));
    }
    match (target.get("minimum"), target.get("maximum")) {
        (Some(min), Some(max)) => parts.push(format!("from {min} to {max}")),
        (Some(min), None) => parts.push(format!("at least {min}")),
        (None, Some(max)) => parts.push(format!("at most {max}")),
        (None, None) => {}
    }
    parts.join(", ")
}

/// The values an enumeration allows, in order.
fn constants(schema: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(text).collect();
    }
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|branches| {
            branches
                .iter()
                .filter_map(|b| b.get("const"))
                .map(text)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a field is a map of port names to node ports.
fn holds_node_ports(root: &Value, schema: &Value) -> bool {
    let node_port = root.pointer("/$defs/NodePort");
    schema
        .get("additionalProperties")
        .is_some_and(|values| node_port.is_some() && Some(deref(root, values)) == node_port)
}

/// The description of each value of a `oneOf` of constants, as bullets.
fn value_descriptions(schema: &Value) -> Option<String> {
    let branches = schema.get("oneOf")?.as_array()?;
    let mut out = String::new();
    for branch in branches {
        let (Some(value), Some(description)) = (
            branch.get("const").and_then(Value::as_str),
            branch.get("description").and_then(Value::as_str),
        ) else {
            continue;
        };
        out.push_str(&format!("  - `{value}`: {}\n", one_line(description)));
    }
    (!out.is_empty()).then(|| format!("- Values:\n{out}"))
}

// ---- probes --------------------------------------------------------------------------

/// A point the model is asked at: an exact release and a provider.
type Point = (semver::Version, Provider);

/// Every release of every line, oldest first.
fn releases() -> Vec<semver::Version> {
    ReleaseLine::ALL
        .into_iter()
        .flat_map(|line| line.patches().map(move |p| line.release(p)))
        .collect()
}

/// What the model says at each point: each field's default, and the rules' findings.
struct Probes {
    /// Field path → rendered default → the points it holds at.
    defaults: BTreeMap<Vec<Step>, Vec<(String, BTreeSet<Point>)>>,
    /// Field path → rendered finding → the points it is found at.
    notes: BTreeMap<Vec<Step>, Vec<(String, BTreeSet<Point>)>>,
}

/// Probe platforms for the rules: each sets one field (or a few that only work together)
/// to a value a user would write, under `spec`.
fn rule_probes() -> Vec<Value> {
    let all_addons = |addon: Value| -> Value {
        AddonKind::ALL
            .into_iter()
            .map(|k| (k.as_str().to_string(), addon.clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let components: Vec<&str> = HaComponent::ALL.iter().map(|c| c.as_str()).collect();
    vec![
        json!({"ingressGateway": {"serviceType": "ClusterIP"}}),
        json!({"ingressGateway": {"internal": true}}),
        json!({"ingressGateway": {"annotations": {"example.com/owner": "platform-team"}}}),
        json!({"ingressGateway": {"loadBalancerIP": "10.0.0.10"}}),
        json!({"egressGateway": {"enabled": true}}),
        json!({"gateways": [{"name": "ilb-gateway"}]}),
        json!({"gateways": [{"name": "ilb-gateway", "internal": true}]}),
        json!({"highAvailability": {"replicas": 2}}),
        json!({"highAvailability": {"replicas": 2, "antiAffinity": "none", "components": components}}),
        json!({"tracing": {"enabled": true, "sampling": 10}}),
        json!({"mtls": "disabled"}),
        json!({"mtls": "permissive"}),
        json!({"mtls": "strict"}),
        json!({"addons": all_addons(json!({"enabled": true}))}),
        json!({"addons": all_addons(json!({"enabled": false, "serviceType": "NodePort"}))}),
        json!({"addons": all_addons(json!({"enabled": false, "serviceType": "LoadBalancer"}))}),
        json!({"sidecarInjection": {"namespaces": ["apps"]}}),
    ]
}

/// The platform a probe's `spec` fields make at a line and provider.
fn probe_file(spec: &Value, line: ReleaseLine, provider: Provider) -> PlatformFile {
    let mut full = json!({
        "apiVersion": "meshgen/v1alpha1",
        "kind": "Platform",
        "metadata": {"name": "probe"},
        "spec": {"provider": provider.as_str(), "istio": line.as_str()},
    });
    for (k, v) in spec.as_object().into_iter().flatten() {
        full["spec"][k] = v.clone();
    }
    serde_json::from_value(full).expect("a probe platform is a platform file")
}

/// The field a finding at `path` is about: its steps, list indexes as `[]`.
fn steps_of(path: &[PathSegment]) -> Vec<Step> {
    path.iter()
        .map(|s| match s {
            PathSegment::Key(k) => Step::Key(k.clone()),
            PathSegment::Index(_) => Step::Items,
        })
        .collect()
}

/// Adds `point` to the points of `text` in `entries`, keeping first-seen order.
fn add(entries: &mut Vec<(String, BTreeSet<Point>)>, text: String, point: Point) {
    match entries.iter_mut().find(|(t, _)| *t == text) {
        Some((_, points)) => {
            points.insert(point);
        }
        None => entries.push((text, BTreeSet::from([point]))),
    }
}

impl Probes {
    fn run() -> Probes {
        let fields: Vec<Vec<Step>> = fields_of(crate::model::schema::platform_schema())
            .into_iter()
            .map(|f| f.steps)
            .collect();
        let mut probes = Probes {
            defaults: BTreeMap::new(),
            notes: BTreeMap::new(),
        };
        for line in ReleaseLine::ALL {
            for provider in Provider::ALL {
                probes.find_notes(&fields, line, provider);
                probes.find_defaults(line, provider);
            }
            probes.kubernetes_support(line);
        }
        probes
    }

    /// The Kubernetes versions a line runs on, which the rules hold `spec.kubernetes` to.
    fn kubernetes_support(&mut self, line: ReleaseLine) {
        let support = line.kubernetes_support();
        let text = format!(
            "runs on Kubernetes {} to {} (refused outside), released for {} to {} (a warning outside)",
            support.works_from, support.works_to, support.tested_from, support.tested_to
        );
        let entries = self.notes.entry(path_steps("spec.kubernetes")).or_default();
        for patch in line.patches() {
            for provider in Provider::ALL {
                add(entries, text.clone(), (line.release(patch), provider));
            }
        }
    }

    /// The rules' findings on each probe, each under the deepest field its path names. A
    /// version's message names the version: as `{release}`, the releases group into one note.
    fn find_notes(&mut self, fields: &[Vec<Step>], line: ReleaseLine, provider: Provider) {
        for spec in rule_probes() {
            let file = probe_file(&spec, line, provider);
            let line_findings = crate::model::rules::check(&file);
            for patch in line.patches() {
                let version = line.release(patch);
                let findings = line_findings
                    .iter()
                    .cloned()
                    .chain(crate::model::rules::check_version(&file, &version));
                for finding in findings {
                    let steps = steps_of(&finding.path);
                    let Some(field) = fields
                        .iter()
                        .filter(|f| steps.starts_with(f))
                        .max_by_key(|f| f.len())
                    else {
                        continue;
                    };
                    let what = match finding.severity {
                        Severity::Error => "refused",
                        _ => "warning",
                    };
                    let message = finding
                        .message
                        .replace(&format!("{version}'s"), "{release}'s");
                    let text = match &finding.hint {
                        Some(hint) => format!("{what}: {message} ({hint})"),
                        None => format!("{what}: {message}"),
                    };
                    let entries = self.notes.entry(field.clone()).or_default();
                    add(entries, text, (version.clone(), provider));
                }
            }
        }
    }

    /// Each default at a line and provider: what resolving a platform that leaves the field
    /// out gives (for a field inside an object or list, one holding an entry with nothing
    /// else set).
    fn find_defaults(&mut self, line: ReleaseLine, provider: Provider) {
        let bare = resolve(&json!({}), line, provider);
        let full = resolve(&entries_probe(), line, provider);
        let found = spec_defaults(&bare)
            .into_iter()
            .chain(entry_defaults(&full))
            .filter_map(|(path, value)| Some((path, value?)));
        for (path, value) in found {
            let entries = self.defaults.entry(path_steps(&path)).or_default();
            for patch in line.patches() {
                add(entries, value.clone(), (line.release(patch), provider));
            }
        }
    }

    /// The default of a field, at every point where the field is not refused.
    fn default_of(&self, steps: &[Step]) -> Option<String> {
        let entries = self.defaults.get(steps)?;
        let refused = self.refused_at(steps);
        let entries: Vec<(String, BTreeSet<Point>)> = entries
            .iter()
            .map(|(text, points)| (text.clone(), points - &refused))
            .filter(|(_, points)| !points.is_empty())
            .collect();
        match entries.as_slice() {
            [] => None,
            [(text, _)] => Some(text.clone()),
            _ => Some(
                entries
                    .iter()
                    .map(|(text, points)| format!("\n  - {}: {text}", scope(points)))
                    .collect(),
            ),
        }
    }

    /// Where a probe of the field or of the object or list holding it was refused outright:
    /// its defaults mean nothing there.
    fn refused_at(&self, steps: &[Step]) -> BTreeSet<Point> {
        self.notes
            .iter()
            .filter(|(field, _)| steps.starts_with(field) && field.len() < steps.len())
            .flat_map(|(_, entries)| entries)
            .filter(|(text, _)| text.starts_with("refused"))
            .flat_map(|(_, points)| points.iter().cloned())
            .collect()
    }

    fn notes_of(&self, steps: &[Step]) -> Vec<String> {
        self.notes
            .get(steps)
            .into_iter()
            .flatten()
            .map(|(text, points)| {
                let scope = scope(points);
                format!("{scope}: {}", text.replace("{release}", &scope))
            })
            .collect()
    }
}

/// A probe holding an entry of each optional object and list, with only what it requires.
fn entries_probe() -> Value {
    let addons: serde_json::Map<String, Value> = AddonKind::ALL
        .into_iter()
        .map(|k| (k.as_str().to_string(), json!({"enabled": true})))
        .collect();
    json!({
        "gateways": [{"name": "probe-gateway"}],
        "highAvailability": {"replicas": 2},
        "tracing": {},
        "addons": addons,
        "podSecurityPolicy": {"enabled": true},
    })
}

/// The defaults of the fields a bare platform resolves: (field path, default if any).
fn spec_defaults(bare: &ResolvedPlatform) -> Vec<(String, Option<String>)> {
    let (kubernetes, why) = bare.cluster_kubernetes();
    let egress_enabled = match &bare.egress {
        Some(egress) => with_origin("true", &egress.enabled_origin),
        None => "false".to_string(),
    };
    [
        (
            "spec.kubernetes",
            Some(format!("meshgen assumes `\"{kubernetes}\"` ({why})")),
        ),
        ("spec.namespace", Some(sourced(&bare.namespace))),
        ("spec.nodePortRange", Some(sourced(&bare.node_port_range))),
        (
            "spec.ingressGateway.serviceType",
            Some(sourced(&bare.ingress.service_type)),
        ),
        (
            "spec.ingressGateway.internal",
            Some(show(&bare.ingress.internal)),
        ),
        ("spec.egressGateway.enabled", Some(egress_enabled)),
        (
            "spec.egressGateway.serviceType",
            bare.egress.as_ref().map(|e| sourced(&e.service_type)),
        ),
        ("spec.tracing", Some(sourced(&bare.tracing))),
        ("spec.resources", Some(sourced(&bare.resources))),
    ]
    .into_iter()
    .map(|(path, value)| (path.to_string(), value))
    .collect()
}

/// The defaults of the fields inside the entries of `entries_probe`, resolved.
fn entry_defaults(full: &ResolvedPlatform) -> Vec<(String, Option<String>)> {
    let gateway = full.gateways.first();
    let mut found: Vec<(String, Option<String>)> = [
        (
            "spec.gateways[].namespace",
            gateway.map(|g| sourced(&g.namespace)),
        ),
        (
            "spec.gateways[].serviceType",
            gateway.map(|g| sourced(&g.gateway.service_type)),
        ),
        (
            "spec.gateways[].internal",
            gateway.map(|g| show(&g.gateway.internal)),
        ),
        ("spec.tracing.enabled", Some(sourced(&full.tracing))),
    ]
    .into_iter()
    .map(|(path, value)| (path.to_string(), value))
    .collect();
    if let Some(ha) = &full.high_availability {
        let components: Vec<&str> = ha.components.iter().map(|c| c.as_str()).collect();
        found.extend([
            (
                "spec.highAvailability.antiAffinity".to_string(),
                Some(show(&ha.anti_affinity)),
            ),
            (
                "spec.highAvailability.spreading".to_string(),
                Some(show(&ha.spreading)),
            ),
            (
                "spec.highAvailability.components".to_string(),
                Some(format!("`[{}]`", components.join(", "))),
            ),
        ]);
    }
    if let Some(psp) = &full.pod_security_policy {
        let accounts: Vec<String> = psp
            .service_accounts
            .iter()
            .map(|(ns, name)| format!("{ns}:{name}"))
            .collect();
        found.push((
            "spec.podSecurityPolicy.serviceAccounts".to_string(),
            Some(format!("`[{}]`", accounts.join(", "))),
        ));
    }
    for addon in &full.addons {
        let path = format!("spec.addons.{}.serviceType", addon.kind.as_str());
        found.push((path, Some(sourced(&addon.service_type))));
    }
    found
}

fn path_steps(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        match part.strip_suffix("[]") {
            Some(key) => {
                steps.push(Step::Key(key.to_string()));
                steps.push(Step::Items);
            }
            None => steps.push(Step::Key(part.to_string())),
        }
    }
    steps
}

/// Resolves the probe platform with these `spec` fields, at the line's newest release.
fn resolve(spec: &Value, line: ReleaseLine, provider: Provider) -> ResolvedPlatform {
    let file = probe_file(spec, line, provider);
    let text = serde_json::to_string(&file).expect("a platform file serializes");
    let doc = crate::yaml::parse(&text).expect("JSON is YAML");
    let (version, origin) = crate::render::resolve::version_for(None, IstioVersion::follow(line));
    crate::render::resolve::resolve(&file, &doc, version, origin)
}

/// A value as a platform file spells it.
fn show<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value).expect("a value serializes") {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn sourced<T: Serialize>(value: &Sourced<T>) -> String {
    with_origin(&show(&value.value), &value.origin)
}

fn with_origin(value: &str, origin: &Origin) -> String {
    match origin {
        Origin::ProviderDefault { why, .. }
        | Origin::LineRule { why, .. }
        | Origin::Default { why } => format!("{value} ({why})"),
        Origin::File { .. } => value.to_string(),
    }
}

/// The releases and providers `points` cover, in words: `0.6`, `1.0.3 to 1.0.9`,
/// `1.0, 1.11 on kvm, minikube`, `pks`.
fn scope(points: &BTreeSet<Point>) -> String {
    let all_releases = releases();
    let mut by_release: BTreeMap<semver::Version, BTreeSet<Provider>> = BTreeMap::new();
    for (version, provider) in points {
        by_release
            .entry(version.clone())
            .or_default()
            .insert(*provider);
    }
    // Releases that share their providers, in the order of their first release.
    let mut groups: Vec<(BTreeSet<Provider>, Vec<semver::Version>)> = Vec::new();
    for (version, providers) in by_release {
        match groups.iter_mut().find(|(p, _)| *p == providers) {
            Some((_, versions)) => versions.push(version),
            None => groups.push((providers, vec![version])),
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(providers, versions)| {
            let lines = if versions.len() == all_releases.len() {
                String::new()
            } else {
                describe_releases(versions)
            };
            let providers = if providers.len() == Provider::ALL.len() {
                String::new()
            } else {
                providers
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            match (lines.is_empty(), providers.is_empty()) {
                (false, false) => format!("{lines} on {providers}"),
                (false, true) => lines,
                (true, false) => providers,
                (true, true) => "every line".to_string(),
            }
        })
        .collect();
    parts.join("; ")
}

/// Releases in words: a whole line by its name, else runs of releases.
fn describe_releases(versions: &[semver::Version]) -> String {
    let mut parts = Vec::new();
    for line in ReleaseLine::ALL {
        let of_line: Vec<u64> = versions
            .iter()
            .filter(|v| ReleaseLine::of_version(v) == Some(line))
            .map(|v| v.patch)
            .collect();
        if of_line.is_empty() {
            continue;
        }
        if of_line.len() == line.patches().count() {
            parts.push(line.as_str().to_string());
            continue;
        }
        let mut start = 0;
        for i in 1..=of_line.len() {
            if i == of_line.len() || of_line[i] != of_line[i - 1] + 1 {
                let (first, last) = (of_line[start], of_line[i - 1]);
                parts.push(if first == last {
                    line.release(first).to_string()
                } else {
                    format!("{} to {}", line.release(first), line.release(last))
                });
                start = i;
            }
        }
    }
    parts.join(", ")
}

// ---- gateway ports -------------------------------------------------------------------

/// The chart's ports of each gateway, per line and run of releases with the same ports.
fn gateway_ports() -> String {
    let mut out = String::from(
        "\n## Gateway ports\n\nThe ports of each line's gateway Services, as its charts declare them: the names\n`spec.ingressGateway.nodePorts` and `spec.egressGateway.nodePorts` take (the gateways of\n`spec.gateways` have the ingress gateway's ports), and the node port the chart gives each.\n",
    );
    for line in ReleaseLine::ALL {
        let mut runs: Vec<(Vec<semver::Version>, Vec<PortRow>)> = Vec::new();
        for patch in line.patches() {
            let version = line.release(patch);
            let rows = port_rows(line, &version);
            match runs.last_mut() {
                Some((versions, last)) if *last == rows => versions.push(version),
                _ => runs.push((vec![version], rows)),
            }
        }
        for (versions, rows) in runs {
            out.push_str(&format!(
                "\n### Istio {}\n\n| gateway | port name | port | targetPort | chart's nodePort | in `nodePorts` |\n|---|---|---|---|---|---|\n",
                describe_releases(&versions)
            ));
            for row in rows {
                out.push_str(&row.markdown());
            }
        }
    }
    out
}

#[derive(PartialEq)]
struct PortRow {
    gateway: GatewayKind,
    port: crate::model::gateway_ports::DefaultPort,
    settable: bool,
}

impl PortRow {
    fn markdown(&self) -> String {
        let optional = |v: Option<u16>| v.map_or_else(String::new, |v| v.to_string());
        format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            self.gateway.spec_field(),
            self.port.name,
            self.port.port,
            optional(self.port.target_port),
            optional(self.port.node_port),
            if self.settable { "yes" } else { "no" }
        )
    }
}

fn port_rows(line: ReleaseLine, version: &semver::Version) -> Vec<PortRow> {
    [GatewayKind::Ingress, GatewayKind::Egress]
        .into_iter()
        .flat_map(|gateway| {
            let settable = configurable_node_ports(line, gateway);
            default_ports(version, gateway)
                .iter()
                .map(move |port| PortRow {
                    gateway,
                    port: *port,
                    settable: settable.contains(&port.name),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_lines_runs_and_providers() {
        let line = |l: ReleaseLine, providers: &[Provider]| -> BTreeSet<Point> {
            l.patches()
                .flat_map(|p| providers.iter().map(move |pr| (l.release(p), *pr)))
                .collect()
        };
        let every: Vec<Provider> = Provider::ALL.to_vec();
        assert_eq!(scope(&line(ReleaseLine::ALL[0], &every)), "0.6");
        let all: BTreeSet<Point> = ReleaseLine::ALL
            .into_iter()
            .flat_map(|l| line(l, &every))
            .collect();
        assert_eq!(scope(&all), "every line");
        let some: BTreeSet<Point> = ReleaseLine::ALL[1..]
            .iter()
            .flat_map(|l| line(*l, &[Provider::Kvm, Provider::Minikube]))
            .collect();
        assert_eq!(scope(&some), "1.0, 1.11 on kvm, minikube");
        let run: BTreeSet<Point> = (3..=9)
            .map(|p| (ReleaseLine::ALL[1].release(p), Provider::Pks))
            .chain(std::iter::once((
                ReleaseLine::ALL[1].release(0),
                Provider::Pks,
            )))
            .collect();
        assert_eq!(scope(&run), "1.0.0, 1.0.3 to 1.0.9 on pks");
    }

    /// A default or note under a path the schema lacks would never be shown.
    #[test]
    fn every_default_and_note_is_under_a_field_of_the_schema() {
        let fields: Vec<Vec<Step>> = fields_of(crate::model::schema::platform_schema())
            .into_iter()
            .map(|f| f.steps)
            .collect();
        let probes = Probes::run();
        assert!(probes.defaults.len() > 20, "{}", probes.defaults.len());
        for steps in probes.defaults.keys().chain(probes.notes.keys()) {
            assert!(fields.contains(steps), "{}", path_text(steps));
        }
    }

    #[test]
    fn paths_round_trip_through_steps() {
        for path in ["spec.gateways[].name", "spec.tracing", "apiVersion"] {
            assert_eq!(path_text(&path_steps(path)), path);
        }
    }
}
