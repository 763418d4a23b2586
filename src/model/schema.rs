//! The published JSON schema of platform files, generated from the model, and validation
//! of a parsed document against it with errors mapped back to source positions.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::model::platform::PlatformFile;
use crate::yaml::PathSegment;

/// Where the committed schema lives, relative to the repository root.
pub const PLATFORM_SCHEMA_PATH: &str = "schemas/platform.schema.json";
/// The `$id` of the schema.
pub const PLATFORM_SCHEMA_ID: &str = "https://meshgen.dev/schemas/platform.schema.json";

/// The schema as JSON (draft 2020-12), generated from the model.
pub fn platform_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema = schemars::schema_for!(PlatformFile);
        let mut value = serde_json::to_value(schema).expect("schema serializes");
        drop_null_branches(&mut value);
        if let Value::Object(map) = &mut value {
            map.insert("$id".into(), Value::String(PLATFORM_SCHEMA_ID.into()));
        }
        value
    })
}

/// The committed schema, built into the binary: what validation uses, because parsing it
/// costs a fraction of deriving it at every start. A test holds it equal to the generated
/// one (`meshgen schema --check`), so both are the same schema.
fn committed_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(include_str!("../../schemas/platform.schema.json"))
            .expect("the committed schema is JSON")
    })
}

/// Optional fields are optional by being absent; an explicit `null` is refused. Removing
/// the `null` alternatives schemars adds for `Option` also lets validation report the
/// precise error inside a value instead of "matches no alternative".
fn drop_null_branches(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let single = types.remove(0);
                    map.insert("type".into(), single);
                }
            }
            let single_branch = match map.get_mut("anyOf") {
                Some(Value::Array(branches)) => {
                    branches.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
                    (branches.len() == 1).then(|| branches.remove(0))
                }
                _ => None,
            };
            if let Some(Value::Object(inner)) = single_branch {
                map.remove("anyOf");
                for (k, v) in inner {
                    map.entry(k).or_insert(v);
                }
            }
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            map.values_mut().for_each(drop_null_branches);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_branches),
        _ => {}
    }
}

/// The schema as the text committed in `schemas/platform.schema.json`.
pub fn platform_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(platform_schema()).expect("schema prints");
    text.push('\n');
    text
}

/// The validator of the committed schema, generated at build time by jsonschema's macro:
/// a process compiles no schema (nor the draft 2020-12 meta-schema) at start. A test holds
/// it to the same verdicts as a validator compiled at run time from the generated schema.
#[jsonschema::validator(path = "schemas/platform.schema.json", draft = Draft202012)]
pub struct CommittedSchema;

/// One way a document breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// Path of the offending value (for an unknown field, the field itself).
    pub path: Vec<PathSegment>,
    pub message: String,
    pub hint: Option<String>,
}

/// Every way `instance` breaks the platform schema, most specific first, without repeats.
pub fn validate(instance: &Value) -> Vec<SchemaViolation> {
    let mut out: Vec<SchemaViolation> = Vec::new();
    for error in CommittedSchema::iter_errors(instance) {
        let path: Vec<PathSegment> = error
            .instance_path()
            .iter()
            .map(|seg| match seg {
                jsonschema::paths::LocationSegment::Property(p) => PathSegment::Key(p.to_string()),
                jsonschema::paths::LocationSegment::Index(i) => PathSegment::Index(i),
            })
            .collect();
        for violation in describe(error.kind(), path, error.instance()) {
            if !out.contains(&violation) {
                out.push(violation);
            }
        }
    }
    // An error inside a value makes its parent's `oneOf`/`anyOf` fail too: keep the inner one.
    let paths: Vec<Vec<PathSegment>> = out.iter().map(|v| v.path.clone()).collect();
    out.retain(|v| {
        !(v.message.starts_with("invalid value")
            && paths
                .iter()
                .any(|p| p.len() > v.path.len() && p.starts_with(&v.path)))
    });
    out
}

fn describe(
    kind: &ValidationErrorKind,
    path: Vec<PathSegment>,
    instance: &Value,
) -> Vec<SchemaViolation> {
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            unknown_fields(&path, unexpected)
        }
        ValidationErrorKind::Type { kind } => wrong_type(path, kind, instance),
        ValidationErrorKind::Enum { options } => enum_violation(path, instance, options),
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            no_alternative(path, instance)
        }
        other => vec![SchemaViolation {
            message: message(other, &path, instance),
            path,
            hint: None,
        }],
    }
}

/// The message of a violation that has no hint.
fn message(kind: &ValidationErrorKind, path: &[PathSegment], instance: &Value) -> String {
    match kind {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default().to_string();
            format!("missing required field `{name}`")
        }
        ValidationErrorKind::Constant { expected_value } => format!(
            "expected {expected_value}, found {}",
            describe_value(instance)
        ),
        ValidationErrorKind::Pattern { .. } => {
            let what = description_at(path).unwrap_or_else(|| "the expected format".to_string());
            format!("{} does not match: {what}", describe_value(instance))
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("{instance} is below the minimum {limit}")
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("{instance} is above the maximum {limit}")
        }
        ValidationErrorKind::MaxLength { limit } => format!("longer than {limit} characters"),
        other => format!("invalid value {}: {other:?}", describe_value(instance)),
    }
}

/// Each unexpected field at `path`, with the field it was probably meant to be.
fn unknown_fields(path: &[PathSegment], unexpected: &[String]) -> Vec<SchemaViolation> {
    let known = properties_at(path);
    unexpected
        .iter()
        .map(|field| {
            let mut p = path.to_vec();
            p.push(PathSegment::Key(field.clone()));
            let hint = match crate::suggest::did_you_mean(field, known.iter().map(String::as_str)) {
                Some(s) => Some(format!("did you mean `{s}`?")),
                None if !known.is_empty() => Some(format!("known fields: {}", known.join(", "))),
                None => None,
            };
            SchemaViolation {
                path: p,
                message: format!("unknown field `{field}`"),
                hint,
            }
        })
        .collect()
}

fn wrong_type(path: Vec<PathSegment>, kind: &TypeKind, instance: &Value) -> Vec<SchemaViolation> {
    let expected = match kind {
        TypeKind::Single(t) => t.to_string(),
        TypeKind::Multiple(set) => set
            .iter()
            .map(|t| t.to_string())
            .filter(|t| t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
    };
    vec![SchemaViolation {
        path,
        message: format!(
            "expected {}, found {}",
            article(&expected),
            describe_value(instance)
        ),
        hint: type_hint(&expected, instance),
    }]
}

/// A value that matches none of a `oneOf`/`anyOf`: the options when they are constants.
fn no_alternative(path: Vec<PathSegment>, instance: &Value) -> Vec<SchemaViolation> {
    let options = enum_options_at(&path);
    if options.is_empty() {
        vec![SchemaViolation {
            path,
            message: format!("invalid value {}", describe_value(instance)),
            hint: None,
        }]
    } else {
        enum_violation(path, instance, &Value::Array(options))
    }
}

fn enum_violation(
    path: Vec<PathSegment>,
    instance: &Value,
    options: &Value,
) -> Vec<SchemaViolation> {
    // `spec.istio` lists 23 values: say instead what is wrong with the one given.
    if path
        == [
            PathSegment::Key("spec".into()),
            PathSegment::Key("istio".into()),
        ]
    {
        if let Some(given) = instance.as_str() {
            if let Err(e) = given.parse::<crate::model::release_line::IstioVersion>() {
                let known = options
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str);
                return vec![SchemaViolation {
                    path,
                    message: e.to_string(),
                    hint: istio_hint(given).or_else(|| {
                        crate::suggest::did_you_mean(given, known)
                            .map(|s| format!("did you mean `{s}`?"))
                    }),
                }];
            }
        }
    }
    let names: Vec<String> = options
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let given = instance
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| instance.to_string());
    let hint = if instance.is_number() && names.iter().any(|n| n.contains('.')) {
        Some("quote the version, e.g. \"1.0\": unquoted, 1.10 is the number 1.1".to_string())
    } else if let Some(provider) = provider_alias(&path, &given) {
        Some(provider)
    } else {
        crate::suggest::did_you_mean(&given, names.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
    };
    // An unquoted version that is a valid one as text (`istio: 1.0`): the number is the
    // problem, not the value.
    if instance.is_number() && names.contains(&given) {
        return vec![SchemaViolation {
            path,
            message: format!("{given} is read as a number here: versions are strings"),
            hint: Some(format!(
                "quote it: \"{given}\" (unquoted, 1.10 is the number 1.1)"
            )),
        }];
    }
    vec![SchemaViolation {
        path,
        message: format!(
            "{} is not one of: {}",
            describe_value(instance),
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        hint,
    }]
}

/// The provider of a managed Kubernetes service named by its product (`eks`), which edit
/// distance cannot find.
fn provider_alias(path: &[PathSegment], given: &str) -> Option<String> {
    let at_provider = path
        == [
            PathSegment::Key("spec".into()),
            PathSegment::Key("provider".into()),
        ];
    let provider = match given.to_ascii_lowercase().as_str() {
        "eks" | "amazon" => "aws",
        "aks" | "microsoft" => "azure",
        "gcp" | "google" => "gke",
        "vmware" | "tkg" | "tanzu" => "pks",
        _ => return None,
    };
    at_provider
        .then(|| format!("`{given}` runs on provider `{provider}`: write `provider: {provider}`"))
}

/// For a version past a line's last release (`1.0.10`) or past the newest line (`1.12`): the
/// last release there is, which edit distance would not find (it offers `1.0.1`, `1.11.2`).
fn istio_hint(given: &str) -> Option<String> {
    use crate::model::release_line::ReleaseLine;
    let mut parts = given.split('.').map(str::parse::<u64>);
    let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) else {
        return None;
    };
    let patch = parts.next();
    let last = |l: ReleaseLine| l.release(*l.patches().end());
    if let Some(line) = ReleaseLine::ALL
        .into_iter()
        .find(|l| l.major_minor() == (major, minor))
    {
        return matches!(patch, Some(Ok(_))).then(|| {
            format!(
                "line {line} has no such release; its last is {}: write \"{line}\" to follow the line, or \"{}\"",
                last(line),
                last(line)
            )
        });
    }
    let newest = ReleaseLine::ALL[ReleaseLine::ALL.len() - 1];
    ((major, minor) > newest.major_minor()).then(|| {
        format!(
            "the newest line meshgen supports is {newest} (its last release {}): write \"{newest}\"",
            last(newest)
        )
    })
}

fn article(word: &str) -> String {
    let vowel = word.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {word}", if vowel { "an" } else { "a" })
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a map".to_string(),
    }
}

fn type_hint(expected: &str, instance: &Value) -> Option<String> {
    match (expected, instance) {
        (expected, Value::String(s))
            if expected.split(" or ").any(|t| t == "boolean")
                && crate::yaml::yaml11_only(s) == Some(crate::yaml::Yaml11Scalar::Bool) =>
        {
            Some(format!(
                "write `true` or `false`: meshgen reads YAML 1.2, where `{s}` is a string"
            ))
        }
        ("string", Value::Number(_) | Value::Bool(_)) => {
            Some("quote the value to make it a string".to_string())
        }
        ("integer", Value::String(s)) if s.parse::<i64>().is_ok() => {
            Some("remove the quotes".to_string())
        }
        _ => None,
    }
}

/// Resolves the sub-schema that applies at `path`, following `$ref`, properties,
/// additionalProperties, items and the non-null branch of `anyOf`.
fn subschema_at(path: &[PathSegment]) -> Option<&'static Value> {
    let root = committed_schema();
    let mut schema = resolve(root, root)?;
    for segment in path {
        schema = match segment {
            PathSegment::Key(k) => schema
                .get("properties")
                .and_then(|p| p.get(k))
                .or_else(|| schema.get("additionalProperties").filter(|v| v.is_object()))?,
            PathSegment::Index(_) => schema.get("items")?,
        };
        schema = resolve(root, schema)?;
    }
    Some(schema)
}

fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> Option<&'a Value> {
    for _ in 0..16 {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let pointer = r.strip_prefix('#')?;
            schema = root.pointer(pointer)?;
            continue;
        }
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            if let Some(non_null) = branches
                .iter()
                .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            {
                schema = non_null;
                continue;
            }
        }
        return Some(schema);
    }
    None
}

/// The field names the schema knows at `path` (a map's properties).
pub fn properties_at(path: &[PathSegment]) -> Vec<String> {
    subschema_at(path)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn enum_options_at(path: &[PathSegment]) -> Vec<Value> {
    let Some(schema) = subschema_at(path) else {
        return Vec::new();
    };
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.clone();
    }
    let mut out = Vec::new();
    for key in ["oneOf", "anyOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(c) = branch.get("const") {
                out.push(c.clone());
            }
            if let Some(values) = branch.get("enum").and_then(Value::as_array) {
                out.extend(values.iter().cloned());
            }
        }
    }
    out
}

fn description_at(path: &[PathSegment]) -> Option<String> {
    subschema_at(path)
        .and_then(|s| s.get("description"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(found: impl Iterator<Item = String>) -> Vec<String> {
        let mut found: Vec<String> = found.collect();
        found.sort();
        found
    }

    /// The build-time validator gives the verdicts of a validator compiled at run time from
    /// the schema the model generates (the committed file equals it: `committed_schema_is_current`),
    /// over every platform file the tests hold, valid and not.
    #[test]
    fn build_time_validator_agrees_with_a_runtime_one() {
        assert!(jsonschema::meta::is_valid(platform_schema()));
        let runtime = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(platform_schema())
            .unwrap();
        let mut compared = 0;
        for dir in [
            "tests/invalid",
            "tests/valid",
            "tests/corpus/platform",
            "platforms",
        ] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let Ok(doc) = crate::yaml::parse(&text) else {
                    continue;
                };
                let instance = doc.to_json();
                let describe =
                    |e: jsonschema::ValidationError<'_>| format!("{}: {e}", e.instance_path());
                assert_eq!(
                    errors(CommittedSchema::iter_errors(&instance).map(describe)),
                    errors(runtime.iter_errors(&instance).map(describe)),
                    "{}",
                    path.display()
                );
                compared += 1;
            }
        }
        assert!(compared > 100, "{compared} files compared");
    }
}
