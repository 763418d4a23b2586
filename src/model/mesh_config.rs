//! What Istio reads from the charts' `meshConfig` value, built in from `data/mesh-config/`
//! (the fields of istio/api's `MeshConfig` and every message below it, `defaultConfig` being
//! a `ProxyConfig`, at the commit each release pins; facts written by
//! `tests/real-charts/mesh-config-fields.py`). The charts copy `meshConfig` into the `mesh`
//! ConfigMap unread, and istiod decodes it with protobuf's JSON reader, which skips a field
//! it does not know and refuses a value of the wrong type. So a misspelt key does nothing and
//! a wrong type stops istiod: both are held here, each finding at its key or value.
//!
//! Values are typed as Helm reads them (YAML 1.1, `kind_of`), then as the JSON reader takes
//! them: numbers may be quoted, an enum is a value's name or number, a duration is a string
//! Go's `time.ParseDuration` reads.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::Severity;
use crate::model::chart_keys::{kind_of, yaml11_kind, Kind};
use crate::model::rules::Finding;
use crate::yaml::{Node, NodeValue, PathSegment};

/// `RELEASE COMMIT FILE` for every release whose charts take `meshConfig`.
const RELEASES: &str = include_str!("../../data/mesh-config/releases.txt");

/// The fact files `releases.txt` names (a test holds the two together).
const FILES: &[(&str, &str)] = &[(
    "eff556fb5d8a.json",
    include_str!("../../data/mesh-config/eff556fb5d8a.json"),
)];

/// The fields of one release's mesh config messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshFields {
    /// The istio/api commit the facts were first read at.
    pub commit: String,
    /// The message `meshConfig` is (`MeshConfig`).
    pub root: String,
    /// Message name -> JSON field name -> field.
    pub messages: BTreeMap<String, BTreeMap<String, Field>>,
    /// Enum name -> its value names.
    pub enums: BTreeMap<String, Vec<String>>,
}

/// One field of a message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The field's proto name, which the JSON reader accepts beside the JSON name.
    pub proto: String,
    #[serde(rename = "type")]
    pub ty: Type,
    pub message: Option<String>,
    #[serde(rename = "enum")]
    pub enumeration: Option<String>,
    /// For `open`: the message the facts do not describe (another package's, Struct).
    pub open: Option<String>,
    #[serde(default)]
    pub list: bool,
    #[serde(default)]
    pub map: bool,
    #[serde(default)]
    pub deprecated: bool,
}

/// A field's type as the JSON reader takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Type {
    String,
    Bool,
    Integer,
    Number,
    Bytes,
    Duration,
    Enum,
    Message,
    Open,
}

/// The facts of every embedded file, parsed once.
fn files() -> &'static BTreeMap<&'static str, MeshFields> {
    static FACTS: OnceLock<BTreeMap<&'static str, MeshFields>> = OnceLock::new();
    FACTS.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, text)| {
                let facts = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("data/mesh-config/{name}: {e}"));
                (*name, facts)
            })
            .collect()
    })
}

/// `(release, file)` of every row of `releases.txt`.
fn release_rows() -> impl Iterator<Item = (&'static str, &'static str)> {
    RELEASES.lines().filter_map(|row| {
        let mut words = row.split_whitespace();
        let release = words.next()?;
        let file = words.nth(1)?;
        Some((release, file))
    })
}

/// The mesh config fields of an exact release, if its charts take `meshConfig`.
pub fn of(version: &semver::Version) -> Option<&'static MeshFields> {
    let wanted = version.to_string();
    let (_, file) = release_rows().find(|(release, _)| *release == wanted)?;
    files().get(file)
}

impl MeshFields {
    fn field(&self, message: &str, key: &str) -> Option<&Field> {
        let fields = self.messages.get(message)?;
        fields
            .get(key)
            .or_else(|| fields.values().find(|f| f.proto == key))
    }
}

/// Who reads the text the values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// A values file: Helm reads it as YAML 1.1, so a plain `yes` is the boolean it means.
    Helm,
    /// A platform file: meshgen reads YAML 1.2, so a plain scalar the two read apart (`yes`,
    /// `on`, `1_000`) is refused, with a hint fitted to the field's type.
    Meshgen,
}

/// Checks the `meshConfig` value (the node at `at`, the last segment being its key) against
/// the release's `MeshConfig`. Each finding comes with whether it is located at the value
/// (else at its key: an unknown field). Nothing for a release without the facts, or a
/// `meshConfig` that is not a map (the chart keys say that).
pub fn check(
    version: &semver::Version,
    node: &Node,
    at: &[PathSegment],
    reader: Reader,
) -> Vec<(Finding, bool)> {
    let Some(facts) = of(version) else {
        return Vec::new();
    };
    let mut walk = Walk {
        facts,
        version,
        reader,
        shown_from: at.len().saturating_sub(1),
        path: at.to_vec(),
        out: Vec::new(),
    };
    if matches!(node.value, NodeValue::Map(_)) {
        walk.message(node, &facts.root);
    }
    walk.out
}

struct Walk<'a> {
    facts: &'a MeshFields,
    version: &'a semver::Version,
    reader: Reader,
    /// Segments of `path` before `meshConfig`, left out of messages.
    shown_from: usize,
    path: Vec<PathSegment>,
    out: Vec<(Finding, bool)>,
}

impl Walk<'_> {
    fn shown(&self, path: &[PathSegment]) -> String {
        crate::yaml::display_path(path.iter().skip(self.shown_from))
    }

    fn push(&mut self, message: String, hint: Option<String>, at_value: bool) {
        let finding = Finding {
            severity: Severity::Error,
            path: self.path.clone(),
            message,
            hint,
        };
        self.out.push((finding, at_value));
    }

    /// A map read as `message`: each key a field of it.
    fn message(&mut self, node: &Node, message: &str) {
        let NodeValue::Map(entries) = &node.value else {
            return;
        };
        for entry in entries {
            self.path.push(PathSegment::Key(entry.key.clone()));
            match self.facts.field(message, &entry.key) {
                Some(field) => self.field(&entry.value, message, field),
                None => self.unknown(&entry.key, message),
            }
            self.path.pop();
        }
    }

    fn unknown(&mut self, key: &str, message: &str) {
        let known = self.facts.messages[message].keys().map(String::as_str);
        let hint = match crate::suggest::did_you_mean(key, known) {
            Some(near) => {
                let mut path = self.path[..self.path.len() - 1].to_vec();
                path.push(PathSegment::Key(near.to_string()));
                format!("did you mean `{}`?", self.shown(&path))
            }
            None => format!("see data/mesh-config/ for the fields of {message}"),
        };
        let message = format!(
            "`{}` is no field of Istio {}'s {message}: istiod ignores it",
            self.shown(&self.path),
            self.version
        );
        self.push(message, Some(hint), false);
    }

    /// A field's value: a list or map of its type, or one value of it.
    fn field(&mut self, node: &Node, message: &str, field: &Field) {
        let given = kind_of(node);
        if given == Kind::Any {
            return; // null: the field keeps its default
        }
        let (want, items): (Kind, Vec<(PathSegment, &Node)>) = match &node.value {
            NodeValue::Seq(items) if field.list => (
                Kind::List,
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (PathSegment::Index(i), n))
                    .collect(),
            ),
            NodeValue::Map(entries) if field.map => (
                Kind::Map,
                entries
                    .iter()
                    .map(|e| (PathSegment::Key(e.key.clone()), &e.value))
                    .collect(),
            ),
            _ if field.list || field.map => {
                let container = if field.list { "a list" } else { "a map" };
                let want = format!("{container} of {}", self.noun(field, true));
                self.wrong(node, message, &want, None);
                return;
            }
            _ => return self.value(node, message, field),
        };
        debug_assert!(given == want);
        for (segment, item) in items {
            self.path.push(segment);
            self.value(item, message, field);
            self.path.pop();
        }
    }

    /// What a field's values are, for messages.
    fn noun(&self, field: &Field, plural: bool) -> String {
        let one = match field.ty {
            Type::String | Type::Bytes => "a string",
            Type::Bool => "a boolean",
            Type::Integer => "an integer",
            Type::Number => "a number",
            Type::Duration => "a duration such as `10s`",
            Type::Enum => {
                let name = field.enumeration.as_deref().unwrap_or_default();
                let values = self.facts.enums.get(name).map(|v| v.join(", "));
                return format!(
                    "{} {name} ({})",
                    if plural { "values of" } else { "a value of" },
                    values.unwrap_or_default()
                );
            }
            Type::Message => {
                let name = field.message.as_deref().unwrap_or_default();
                return format!("{} ({name})", if plural { "maps" } else { "a map" });
            }
            Type::Open => "a map",
        };
        if plural {
            let bare = one.trim_start_matches("an ").trim_start_matches("a ");
            match bare.split_once(' ') {
                Some((noun, rest)) => format!("{noun}s {rest}"),
                None => format!("{bare}s"),
            }
        } else {
            one.to_string()
        }
    }

    /// One value of the field's type.
    fn value(&mut self, node: &Node, message: &str, field: &Field) {
        if let (Reader::Meshgen, NodeValue::Str(text, true)) = (self.reader, &node.value) {
            if let Some(helm) = yaml11_kind(text, true) {
                return self.ambiguous(text, helm, message, field);
            }
        }
        let given = kind_of(node);
        let text = match &node.value {
            NodeValue::Str(s, _) if given == Kind::Str => Some(s.as_str()),
            _ => None,
        };
        let fits = match field.ty {
            _ if given == Kind::Any => true,
            Type::String | Type::Bytes => given == Kind::Str,
            Type::Bool => given == Kind::Bool,
            // The JSON reader takes numbers quoted too.
            Type::Integer => match &node.value {
                NodeValue::Int(_) => true,
                NodeValue::Float(f) => f.fract() == 0.0,
                _ => text.is_some_and(|t| t.parse::<i64>().is_ok() || t.parse::<u64>().is_ok()),
            },
            Type::Number => {
                given == Kind::Number
                    || text.is_some_and(|t| {
                        t.parse::<f64>().is_ok() || ["NaN", "Infinity", "-Infinity"].contains(&t)
                    })
            }
            Type::Duration => {
                if let Some(t) = text.filter(|t| !go_duration(t)) {
                    self.bad_duration(t, message);
                }
                text.is_some()
            }
            Type::Enum => match (&node.value, text) {
                (NodeValue::Int(_), _) => true,
                (_, Some(t)) => {
                    self.enum_name(t, field);
                    true
                }
                _ => false,
            },
            Type::Message => {
                if given == Kind::Map {
                    let name = field.message.as_deref().unwrap_or_default();
                    self.message(node, name);
                }
                given == Kind::Map
            }
            Type::Open => {
                given == Kind::Map
                    || field.open.as_deref() == Some("google.protobuf.Value")
                    || (given == Kind::List
                        && field.open.as_deref() == Some("google.protobuf.ListValue"))
            }
        };
        if !fits {
            let takes_text = matches!(
                field.ty,
                Type::String | Type::Bytes | Type::Duration | Type::Enum
            );
            let hint = match (field.ty, &node.value) {
                // `OFF` is an enum value and a YAML 1.1 boolean.
                (_, NodeValue::Str(s, true)) if takes_text && given != Kind::Str => {
                    Some(format!("quote it: \"{s}\""))
                }
                (Type::Duration, NodeValue::Int(_) | NodeValue::Float(_)) => Some(format!(
                    "write it as a string with its unit: \"{}s\" for seconds",
                    match &node.value {
                        NodeValue::Int(n) => n.to_string(),
                        NodeValue::Float(f) => f.to_string(),
                        _ => String::new(),
                    }
                )),
                (Type::String, _) if matches!(given, Kind::Number | Kind::Bool) => {
                    Some("quote it to make it a string".to_string())
                }
                _ => None,
            };
            let want = self.noun(field, false);
            self.wrong(node, message, &want, hint);
        }
    }

    fn bad_duration(&mut self, text: &str, message: &str) {
        let message = format!(
            "`{text}` is no duration Go reads, where Istio {}'s {message} has a duration (`{}`)",
            self.version,
            self.shown(&self.path)
        );
        let hint = "write a number with a unit: ns, us, ms, s, m, h (`10s`, `1m30s`, `0.5s`)";
        self.push(message, Some(hint.into()), true);
    }

    /// An enum given by name: one of its values' names, or reported.
    fn enum_name(&mut self, text: &str, field: &Field) {
        let name = field.enumeration.as_deref().unwrap_or_default();
        let values = self.facts.enums.get(name).map(Vec::as_slice).unwrap_or(&[]);
        if values.iter().any(|v| v == text) {
            return;
        }
        let hint = match crate::suggest::did_you_mean(text, values.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("one of {}", values.join(", ")),
        };
        let message = format!(
            "`{text}` is no value of {name} in Istio {} (`{}`): istiod cannot read the mesh config",
            self.version,
            self.shown(&self.path)
        );
        self.push(message, Some(hint), true);
    }

    /// A plain scalar Helm reads as `helm` and meshgen as a string: the hint follows what the
    /// field takes.
    fn ambiguous(&mut self, text: &str, helm: Kind, message: &str, field: &Field) {
        let hint = match (field.ty, helm) {
            (Type::Bool, Kind::Bool) => "write true or false".to_string(),
            (Type::Integer | Type::Number, Kind::Number) => {
                "write the number without `_`, `0b`, `0x` or `:`, as YAML 1.2 reads it".to_string()
            }
            _ => format!("quote it: \"{text}\""),
        };
        let text = format!(
            "Helm reads `{text}` as {} (YAML 1.1), meshgen as a string (YAML 1.2); Istio {}'s {message} has {} here (`{}`)",
            helm.noun(),
            self.version,
            self.noun(field, false),
            self.shown(&self.path)
        );
        self.push(text, Some(hint), true);
    }

    fn wrong(&mut self, node: &Node, message: &str, want: &str, hint: Option<String>) {
        let given = kind_of(node);
        let helm = match &node.value {
            NodeValue::Str(s, true) if yaml11_kind(s, true).is_some() => {
                format!("Helm reads `{s}` as {} (YAML 1.1)", given.noun())
            }
            _ => given.noun().to_string(),
        };
        let text = format!(
            "{helm} where Istio {}'s {message} has {want} (`{}`): istiod cannot read the mesh config",
            self.version,
            self.shown(&self.path)
        );
        self.push(text, hint, true);
    }
}

/// Whether Go's `time.ParseDuration` reads `text`: `0`, or an optional sign and one or more
/// decimal numbers, each with a unit.
fn go_duration(text: &str) -> bool {
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    if rest == "0" {
        return true;
    }
    let mut rest = rest;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (whole, after) = rest.split_at(digits);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => {
                let n = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                after.split_at(n)
            }
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return false;
        }
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .into_iter()
            .filter(|u| after.starts_with(u))
            .max_by_key(|u| u.len());
        match unit {
            Some(u) => rest = &after[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chart_keys::ChartKeys;
    use crate::model::release_line::ReleaseLine;

    /// Every release of a line whose charts declare `meshConfig` has its facts, every fact
    /// file is embedded and named, and no other release has any.
    #[test]
    fn every_release_taking_mesh_config_has_its_fields() {
        let mut covered = 0;
        for line in ReleaseLine::ALL {
            let takes = ChartKeys::of(line).get(&["meshConfig"]).is_some();
            for patch in line.patches() {
                let version = line.release(patch);
                let facts = of(&version);
                assert_eq!(facts.is_some(), takes, "{version}");
                if let Some(facts) = facts {
                    covered += 1;
                    let root = &facts.messages[&facts.root];
                    assert!(root.contains_key("accessLogFile"), "{version}");
                    assert!(root.contains_key("defaultConfig"), "{version}");
                }
            }
        }
        assert!(covered >= 9, "{covered} releases");
        let named: Vec<&str> = release_rows().map(|(_, file)| file).collect();
        for (file, _) in FILES {
            assert!(named.contains(file), "{file} is named by no release");
        }
        for file in named {
            assert!(files().contains_key(file), "{file} is not embedded");
        }
    }

    /// Every message and enum a field names is described.
    #[test]
    fn facts_are_closed() {
        for facts in files().values() {
            assert!(facts.messages.contains_key(&facts.root));
            for (name, fields) in &facts.messages {
                for (key, field) in fields {
                    let ok = match field.ty {
                        Type::Message => field
                            .message
                            .as_ref()
                            .is_some_and(|m| facts.messages.contains_key(m)),
                        Type::Enum => field
                            .enumeration
                            .as_ref()
                            .is_some_and(|e| facts.enums.contains_key(e)),
                        Type::Open => field.open.is_some(),
                        _ => true,
                    };
                    assert!(ok, "{name}.{key}");
                }
            }
        }
    }

    fn findings(text: &str) -> Vec<(String, String, Option<String>, bool)> {
        let node = crate::yaml::parse(text).unwrap();
        let at = [PathSegment::Key("meshConfig".into())];
        let version = semver::Version::new(1, 11, 8);
        check(&version, node.get(&at).unwrap(), &at, Reader::Helm)
            .into_iter()
            .map(|(f, v)| (crate::yaml::display_path(&f.path), f.message, f.hint, v))
            .collect()
    }

    #[test]
    fn accepts_real_fields_at_every_depth() {
        let ok = "meshConfig:\n  accessLogFile: /dev/stdout\n  access_log_encoding: JSON\n  enableTracing: true\n  enablePrometheusMerge: null\n  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n  connectTimeout: 1m30s\n  proxyListenPort: \"15001\"\n  h2UpgradePolicy: 1\n  defaultConfig:\n    holdApplicationUntilProxyStarts: true\n    concurrency: 2\n    proxyMetadata:\n      ISTIO_META_DNS_CAPTURE: \"true\"\n    tracing:\n      sampling: 1.5\n      zipkin:\n        address: zipkin:9411\n      customTags:\n        env:\n          literal:\n            value: prod\n  localityLbSetting:\n    enabled: true\n  extensionProviders:\n  - name: otel\n    envoyExtAuthzHttp:\n      service: authz\n      port: 9000\n      timeout: 5s\n  defaultProviders:\n    tracing: [otel]\n";
        assert_eq!(findings(ok), []);
    }

    #[test]
    fn reports_unknown_fields_with_the_near_one() {
        let got = findings("meshConfig:\n  acessLogFile: /dev/stdout\n  defaultConfig:\n    holdApplicationUntilProxyStart: true\n  zzz: 1\n");
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, "meshConfig.acessLogFile");
        assert_eq!(
            got[0].1,
            "`meshConfig.acessLogFile` is no field of Istio 1.11.8's MeshConfig: istiod ignores it"
        );
        assert_eq!(
            got[0].2.as_deref(),
            Some("did you mean `meshConfig.accessLogFile`?")
        );
        assert!(!got[0].3, "located at the key");
        assert_eq!(
            got[1].0,
            "meshConfig.defaultConfig.holdApplicationUntilProxyStart"
        );
        assert!(got[1].1.contains("Istio 1.11.8's ProxyConfig"), "{got:?}");
        assert_eq!(
            got[1].2.as_deref(),
            Some("did you mean `meshConfig.defaultConfig.holdApplicationUntilProxyStarts`?")
        );
        assert_eq!(
            got[2].2.as_deref(),
            Some("see data/mesh-config/ for the fields of MeshConfig")
        );
    }

    #[test]
    fn reports_types_as_helm_and_istio_read_them() {
        let got = findings("meshConfig:\n  enableTracing: \"yes\"\n  accessLogFile: on\n  proxyListenPort: 15001.5\n  connectTimeout: 10\n  protocolDetectionTimeout: 10x\n  outboundTrafficPolicy:\n    mode: REGISTRY\n  trustDomainAliases: a\n  defaultConfig: []\n  extensionProviders:\n  - name: x\n    zipkin:\n      port: \"p\"\n");
        let paths: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "meshConfig.enableTracing",
                "meshConfig.accessLogFile",
                "meshConfig.proxyListenPort",
                "meshConfig.connectTimeout",
                "meshConfig.protocolDetectionTimeout",
                "meshConfig.outboundTrafficPolicy.mode",
                "meshConfig.trustDomainAliases",
                "meshConfig.defaultConfig",
                "meshConfig.extensionProviders[0].zipkin.port",
            ]
        );
        assert_eq!(got[0].1, "a string where Istio 1.11.8's MeshConfig has a boolean (`meshConfig.enableTracing`): istiod cannot read the mesh config");
        assert!(got[1].1.starts_with("Helm reads `on` as a boolean (YAML 1.1) where Istio 1.11.8's MeshConfig has a string"), "{got:?}");
        assert!(got[2].1.contains("has an integer"), "{got:?}");
        assert_eq!(
            got[3].2.as_deref(),
            Some("write it as a string with its unit: \"10s\" for seconds")
        );
        assert!(
            got[4].1.starts_with("`10x` is no duration Go reads"),
            "{got:?}"
        );
        assert!(
            got[5]
                .1
                .starts_with("`REGISTRY` is no value of MeshConfig.OutboundTrafficPolicy.Mode"),
            "{got:?}"
        );
        assert_eq!(got[5].2.as_deref(), Some("did you mean `REGISTRY_ONLY`?"));
        assert!(got[6].1.contains("has a list of strings"), "{got:?}");
        assert!(
            got[7]
                .1
                .starts_with("a list where Istio 1.11.8's MeshConfig has a map (ProxyConfig)"),
            "{got:?}"
        );
        assert!(got.iter().all(|g| g.3), "located at values");

        // Read by Helm, a plain `OFF` is a boolean: quoted, the enum value it means.
        let got = findings("meshConfig:\n  ingressControllerMode: OFF\n");
        assert!(got[0].1.starts_with("Helm reads `OFF` as a boolean (YAML 1.1) where Istio 1.11.8's MeshConfig has a value of MeshConfig.IngressControllerMode (UNSPECIFIED, OFF, DEFAULT, STRICT)"), "{got:?}");
        assert_eq!(got[0].2.as_deref(), Some("quote it: \"OFF\""));
        assert_eq!(
            findings("meshConfig:\n  ingressControllerMode: \"OFF\"\n"),
            []
        );
    }

    /// Read by meshgen (a platform file), a plain `yes` is neither: the hint follows the field.
    #[test]
    fn platform_files_say_which_ambiguous_scalar_is_meant() {
        let node =
            crate::yaml::parse("meshConfig:\n  enableTracing: yes\n  accessLogFile: on\n  enablePrometheusMerge: true\n")
                .unwrap();
        let at = [PathSegment::Key("meshConfig".into())];
        let got = check(
            &semver::Version::new(1, 11, 8),
            node.get(&at).unwrap(),
            &at,
            Reader::Meshgen,
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0.message, "Helm reads `yes` as a boolean (YAML 1.1), meshgen as a string (YAML 1.2); Istio 1.11.8's MeshConfig has a boolean here (`meshConfig.enableTracing`)");
        assert_eq!(got[0].0.hint.as_deref(), Some("write true or false"));
        assert_eq!(got[1].0.hint.as_deref(), Some("quote it: \"on\""));
    }

    #[test]
    fn go_durations() {
        for ok in [
            "0", "10s", "1m30s", "1.5h", ".5s", "-2ms", "300us", "1µs", "2h45m",
        ] {
            assert!(go_duration(ok), "{ok}");
        }
        for bad in ["", "10", "s", "1x", "1.s.", ".s", "+", "1 s", "0s0"] {
            assert!(!go_duration(bad), "{bad}");
        }
    }

    #[test]
    fn no_facts_for_lines_without_mesh_config() {
        let node = crate::yaml::parse("meshConfig:\n  x: 1\n").unwrap();
        let at = [PathSegment::Key("meshConfig".into())];
        let inner = node.get(&at).unwrap();
        assert!(check(&semver::Version::new(1, 0, 9), inner, &at, Reader::Helm).is_empty());
        assert_eq!(
            check(&semver::Version::new(1, 11, 0), inner, &at, Reader::Helm).len(),
            1
        );
    }
}
