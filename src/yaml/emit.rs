//! Block-style YAML from JSON values, for the objects meshgen writes as whole documents
//! (Flux's HelmRelease with inline values).
//!
//! Every string value is written double-quoted (or as a literal block when it spans lines),
//! and a key is written plain only when no YAML 1.1 or 1.2 reader could take it for anything
//! but that string: Helm and the Kubernetes API server read YAML 1.1, where `on`, `y` or
//! `1_000` are not strings.

use serde_json::Value;

/// A scalar as YAML that every reader, YAML 1.1 or 1.2, reads back as the same value:
/// strings double-quoted (JSON escaping is valid YAML), numbers and booleans plain.
pub fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::String(s) => serde_json::to_string(s).expect("strings serialize"),
        Value::Null => "null".to_string(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(_) | Value::Object(_) => {
            serde_json::to_string(value).expect("values serialize")
        }
    }
}

/// The value as a block YAML document body (no `---`), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&inline(scalar, 0));
            out.push('\n');
        }
    }
    out
}

/// `key: value` as a block entry indented by `indent`, ending in a newline: the value on the
/// same line, or as a block below it.
pub fn entry(key: &str, value: &Value, indent: usize) -> String {
    let mut out = " ".repeat(indent);
    out.push_str(&key_text(key));
    out.push(':');
    write_value(&mut out, value, indent);
    out
}

/// YAML 1.1 words that read back as booleans or null.
const YAML11_WORDS: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

fn plain_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !YAML11_WORDS.contains(&key.to_ascii_lowercase().as_str())
}

fn key_text(key: &str) -> String {
    if plain_key(key) {
        key.to_string()
    } else {
        yaml_scalar(&Value::String(key.to_string()))
    }
}

/// A literal block keeps a multi-line text (a kustomize patch) readable. Only for text a
/// literal block reproduces exactly: printable lines, the first not indented (the block's
/// indentation is taken from it), no trailing spaces, one final newline at most.
fn literal_block(text: &str) -> bool {
    text.contains('\n')
        && !text.starts_with([' ', '\n'])
        && !text.ends_with("\n\n")
        && text
            .chars()
            .all(|c| c == '\n' || (!c.is_control() && c != '\u{feff}'))
        && text.split('\n').all(|line| !line.ends_with([' ', '\t']))
}

/// A scalar or an empty collection, written on the current line.
fn inline(value: &Value, indent: usize) -> String {
    match value {
        Value::String(text) if literal_block(text) => {
            let pad = " ".repeat(indent + 2);
            let (body, chomp) = match text.strip_suffix('\n') {
                Some(body) => (body, ""),
                None => (text.as_str(), "-"),
            };
            let mut out = format!("|{chomp}");
            for line in body.split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    out.push_str(&pad);
                    out.push_str(line);
                }
            }
            out
        }
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        Value::Array(items) if items.is_empty() => "[]".to_string(),
        other => yaml_scalar(other),
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first entry of a map inside a list item continues the `- ` line.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&key_text(key));
        out.push(':');
        write_value(out, value, indent);
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, indent + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, indent + 2),
            scalar => {
                out.push_str(&inline(scalar, indent));
                out.push('\n');
            }
        }
    }
}

/// The value after `key:`, on the same line or as an indented block below it.
fn write_value(out: &mut String, value: &Value, indent: usize) {
    if is_block(value) {
        out.push('\n');
        match value {
            Value::Object(map) => write_map(out, map, indent + 2),
            Value::Array(items) => write_seq(out, items, indent + 2),
            _ => unreachable!("is_block holds only for collections"),
        }
    } else {
        out.push(' ');
        out.push_str(&inline(value, indent));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: &Value) {
        let text = to_yaml(value);
        let back = crate::yaml::parse(&text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .to_json();
        assert_eq!(&back, value, "{text}");
    }

    #[test]
    fn writes_block_style_and_reads_back() {
        let value = json!({
            "apiVersion": "v1",
            "spec": {
                "list": [{"a": 1, "b": [true, null]}, "x", [], {}],
                "nested": [[1, 2], [{"k": "v"}]],
                "empty": {},
                "patch": "kind: Deployment\nmetadata:\n  name: x\n",
                "no_newline": "a\n  b",
            }
        });
        round_trip(&value);
        let text = to_yaml(&value);
        assert!(text.contains("  patch: |\n    kind: Deployment\n    metadata:\n      name: x\n"));
        assert!(
            text.contains("    - a: 1\n      b:\n        - true\n        - null\n"),
            "{text}"
        );
    }

    #[test]
    fn yaml11_traps_stay_strings() {
        let traps = [
            "no",
            "on",
            "Y",
            "1_000",
            "true",
            "~",
            "0x1F",
            "2001-12-14",
            "<<",
            "1e3",
        ];
        let mut map = serde_json::Map::new();
        for t in traps {
            map.insert(t.to_string(), Value::String(t.to_string()));
        }
        let value = Value::Object(map);
        round_trip(&value);
        let text = to_yaml(&value);
        for t in traps {
            let quoted = serde_json::to_string(t).unwrap();
            assert!(text.contains(&format!("{quoted}: {quoted}\n")), "{text}");
        }
    }

    #[test]
    fn awkward_text_is_quoted_not_a_block() {
        for text in [" lead\nx", "trail \nx", "a\n\n", "tab\there\nx", "\nx"] {
            let value = json!({ "k": text });
            round_trip(&value);
            assert!(!to_yaml(&value).contains('|'), "{text:?}");
        }
    }
}
