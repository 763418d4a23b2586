//! `--set PATH=VALUE` and `--set-string PATH=VALUE` overrides, with Helm's syntax, applied
//! to a platform document before validation so that an override is validated like the file
//! itself. `--set` types values as Helm does; `--set-string` keeps every value a string.

use crate::yaml::{Entry, Node, NodeValue, PathSegment, Span, MAX_DEPTH};

/// One parsed assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The flag it came with (`--set`, `--set-string`), for messages.
    pub flag: &'static str,
    /// The expression as the user wrote it, for messages.
    pub expr: String,
    pub path: Vec<PathSegment>,
    pub value: NodeValue,
}

/// A `--set` expression that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} `{expr}`: {reason}")]
pub struct SetError {
    pub flag: &'static str,
    pub expr: String,
    pub reason: String,
}

/// Parses one `--set` argument: `a.b=1`, several separated by `,`, `\.` and `\,` escaped,
/// `name[0]=x` indexes, `{a,b}` lists. Values are typed as Helm types them: `true`,
/// `false`, integers and `null`; anything else is a string.
pub fn parse(arg: &str) -> Result<Vec<Assignment>, SetError> {
    parse_as(arg, Typing::Helm)
}

/// Parses one `--set-string` argument: the syntax of `--set`, every value a string (list
/// items too), as Helm's `--set-string` does.
pub fn parse_string(arg: &str) -> Result<Vec<Assignment>, SetError> {
    parse_as(arg, Typing::Strings)
}

/// How the values of an expression are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typing {
    /// `true`, `false`, integers and `null`, as Helm's `--set`.
    Helm,
    /// Always strings, as Helm's `--set-string`.
    Strings,
}

impl Typing {
    fn flag(self) -> &'static str {
        match self {
            Typing::Helm => "--set",
            Typing::Strings => "--set-string",
        }
    }
}

fn parse_as(arg: &str, typing: Typing) -> Result<Vec<Assignment>, SetError> {
    let exprs = split_unescaped(arg, ',', true);
    exprs
        .iter()
        .enumerate()
        .map(|(i, expr)| {
            parse_one(expr, typing).map_err(|e| match bracket_list(&exprs[..=i]) {
                Some(hint) => err(typing.flag(), arg, hint),
                None => e,
            })
        })
        .collect()
}

/// A list written in brackets (`PATH=[a,b]`), which the comma split breaks apart: Helm
/// writes lists in braces.
fn bracket_list(exprs: &[String]) -> Option<String> {
    let last = exprs.last()?;
    if split_at_unescaped_eq(last).is_some() {
        return None;
    }
    let start = exprs
        .iter()
        .rposition(|e| split_at_unescaped_eq(e).is_some())?;
    let (path, value) = split_at_unescaped_eq(&exprs[start])?;
    value.starts_with('[').then(|| {
        let items: Vec<&str> = std::iter::once(&value[1..])
            .chain(exprs[start + 1..].iter().map(String::as_str))
            .map(|x| x.trim_end_matches(']'))
            .collect();
        format!(
            "a list is written in braces, as in Helm: `{path}={{{}}}`",
            items.join(",")
        )
    })
}

fn err(flag: &'static str, expr: &str, reason: impl Into<String>) -> SetError {
    SetError {
        flag,
        expr: expr.to_string(),
        reason: reason.into(),
    }
}

/// Splits on `sep` outside `{...}` and not after a backslash; keeps escapes when `keep_escapes`.
fn split_unescaped(text: &str, sep: char, keep_escapes: bool) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    let last = parts.last_mut().expect("one part");
                    if keep_escapes || next != sep {
                        last.push('\\');
                    }
                    last.push(next);
                }
            }
            '{' => {
                depth += 1;
                parts.last_mut().expect("one part").push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                parts.last_mut().expect("one part").push(c);
            }
            c if c == sep && depth == 0 => parts.push(String::new()),
            c => parts.last_mut().expect("one part").push(c),
        }
    }
    parts
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_one(expr: &str, typing: Typing) -> Result<Assignment, SetError> {
    let flag = typing.flag();
    let err = |expr: &str, reason: String| err(flag, expr, reason);
    let Some((raw_path, raw_value)) = split_at_unescaped_eq(expr) else {
        return Err(err(expr, "expected PATH=VALUE".into()));
    };
    if raw_path.trim().is_empty() {
        return Err(err(expr, "the path before `=` is empty".into()));
    }
    let mut path = Vec::new();
    for part in split_unescaped(raw_path, '.', false) {
        let (name, indexes) = split_indexes(&part)
            .ok_or_else(|| err(expr, format!("`{part}` has a malformed [index]")))?;
        let name = unescape(name);
        if name.is_empty() {
            return Err(err(expr, "the path has an empty segment".into()));
        }
        path.push(PathSegment::Key(name));
        for i in indexes {
            if i > 1000 {
                return Err(err(expr, format!("index {i} is too large")));
            }
            path.push(PathSegment::Index(i));
        }
    }
    if path.len() > MAX_DEPTH {
        return Err(err(
            expr,
            format!("the path is deeper than {MAX_DEPTH} levels"),
        ));
    }
    let value = typed_value(raw_value, 0, typing).map_err(|reason| err(expr, reason))?;
    Ok(Assignment {
        flag,
        expr: expr.to_string(),
        path,
        value,
    })
}

fn split_at_unescaped_eq(expr: &str) -> Option<(&str, &str)> {
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' => return Some((&expr[..i], &expr[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

fn split_indexes(part: &str) -> Option<(&str, Vec<usize>)> {
    let Some(open) = part.find('[') else {
        return Some((part, Vec::new()));
    };
    let name = &part[..open];
    let mut rest = &part[open..];
    let mut indexes = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        indexes.push(inner[..close].parse().ok()?);
        rest = &inner[close + 1..];
    }
    Some((name, indexes))
}

fn typed_value(raw: &str, depth: usize, typing: Typing) -> Result<NodeValue, String> {
    if let Some(inner) = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        // The same bound as a file's nesting: deeper lists would only overflow the stack.
        if depth >= MAX_DEPTH {
            return Err(format!("lists nested deeper than {MAX_DEPTH} levels"));
        }
        let items = if inner.is_empty() {
            Vec::new()
        } else {
            split_unescaped(inner, ',', false)
                .iter()
                .map(|item| {
                    Ok(Node {
                        span: Span::default(),
                        value: typed_value(&unescape(item), depth + 1, typing)?,
                    })
                })
                .collect::<Result<_, String>>()?
        };
        return Ok(NodeValue::Seq(items));
    }
    let raw = unescape(raw);
    if typing == Typing::Strings {
        return Ok(NodeValue::Str(raw, false));
    }
    Ok(match raw.as_str() {
        "true" => NodeValue::Bool(true),
        "false" => NodeValue::Bool(false),
        "null" => NodeValue::Null,
        _ => match raw.parse::<i64>() {
            Ok(i) if !(raw.starts_with('+') || raw.len() > 1 && raw.starts_with('0')) => {
                NodeValue::Int(i)
            }
            _ => NodeValue::Str(raw, false),
        },
    })
}

/// Applies assignments to a document; positions of what they write are line 0.
pub fn apply(doc: &mut Node, assignments: &[Assignment]) -> Result<(), SetError> {
    for a in assignments {
        let value = Node {
            span: Span::default(),
            value: a.value.clone(),
        };
        assign(doc, &a.path, value).map_err(|reason| err(a.flag, &a.expr, reason))?;
    }
    Ok(())
}

fn assign(node: &mut Node, path: &[PathSegment], value: Node) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    match first {
        PathSegment::Key(key) => {
            if !matches!(node.value, NodeValue::Map(_)) {
                if matches!(node.value, NodeValue::Null) {
                    node.value = NodeValue::Map(Vec::new());
                } else {
                    return Err(format!(
                        "cannot set `{key}` inside a value that is not a map"
                    ));
                }
            }
            let NodeValue::Map(entries) = &mut node.value else {
                unreachable!()
            };
            if rest.is_empty() && matches!(value.value, NodeValue::Null) {
                entries.retain(|e| &e.key != key);
                return Ok(());
            }
            let idx = match entries.iter().position(|e| &e.key == key) {
                Some(i) => i,
                None => {
                    entries.push(Entry {
                        key: key.clone(),
                        key_span: Span::default(),
                        value: Node {
                            span: Span::default(),
                            value: NodeValue::Null,
                        },
                    });
                    entries.len() - 1
                }
            };
            assign(&mut entries[idx].value, rest, value)
        }
        PathSegment::Index(i) => {
            if matches!(node.value, NodeValue::Null) {
                node.value = NodeValue::Seq(Vec::new());
            }
            let NodeValue::Seq(items) = &mut node.value else {
                return Err(format!(
                    "cannot index [{i}] into a value that is not a list"
                ));
            };
            while items.len() <= *i {
                items.push(Node {
                    span: Span::default(),
                    value: NodeValue::Null,
                });
            }
            assign(&mut items[*i], rest, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_helm_style_expressions() {
        let a =
            parse("spec.ingressGateway.annotations.cloud\\.google\\.com/x=on,spec.tracing=true")
                .unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(
            a[0].path,
            vec![
                PathSegment::Key("spec".into()),
                PathSegment::Key("ingressGateway".into()),
                PathSegment::Key("annotations".into()),
                PathSegment::Key("cloud.google.com/x".into()),
            ]
        );
        assert_eq!(a[0].value, NodeValue::Str("on".into(), false));
        assert_eq!(a[1].value, NodeValue::Bool(true));
        let list = parse("spec.x={a,b}").unwrap();
        assert!(matches!(&list[0].value, NodeValue::Seq(items) if items.len() == 2));
        assert_eq!(
            parse("a=007").unwrap()[0].value,
            NodeValue::Str("007".into(), false)
        );
        assert_eq!(parse("a[2].b=1").unwrap()[0].path.len(), 3);
    }

    #[test]
    fn set_string_keeps_every_value_a_string() {
        let a =
            parse_string("spec.values.a=true,spec.values.b=007,spec.values.c={1,null}").unwrap();
        assert_eq!(a[0].flag, "--set-string");
        assert_eq!(a[0].value, NodeValue::Str("true".into(), false));
        assert_eq!(a[1].value, NodeValue::Str("007".into(), false));
        let NodeValue::Seq(items) = &a[2].value else {
            panic!("a list")
        };
        assert_eq!(items[1].value, NodeValue::Str("null".into(), false));
        let e = parse("spec.sidecarInjection.namespaces=[default,shop]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--set `spec.sidecarInjection.namespaces=[default,shop]`: a list is written in braces, as in Helm: `spec.sidecarInjection.namespaces={default,shop}`"
        );
        let e = parse_string("x").unwrap_err();
        assert_eq!(e.to_string(), "--set-string `x`: expected PATH=VALUE");
        assert_eq!(
            parse("spec.values.a=true").unwrap()[0].value,
            NodeValue::Bool(true)
        );
    }

    #[test]
    fn refuses_malformed_expressions() {
        assert!(parse("novalue").is_err());
        assert!(parse("=x").is_err());
        assert!(parse("a..b=1").is_err());
        assert!(parse("a[x]=1").is_err());
        // Nesting is bounded like a file's, before anything recurses on it.
        let deep_list = format!("a={}{}", "{".repeat(100_000), "}".repeat(100_000));
        assert!(parse(&deep_list)
            .unwrap_err()
            .reason
            .contains("nested deeper"));
        let deep_path = format!("{}=1", vec!["a"; 100_000].join("."));
        assert!(parse(&deep_path)
            .unwrap_err()
            .reason
            .contains("deeper than"));
    }

    #[test]
    fn applies_into_a_document() {
        let mut doc = crate::yaml::parse("spec:\n  istio: \"1.0\"\n").unwrap();
        apply(
            &mut doc,
            &parse("spec.istio=1.11,spec.tracing=true").unwrap(),
        )
        .unwrap();
        let json = doc.to_json();
        assert_eq!(json["spec"]["istio"], "1.11");
        assert_eq!(json["spec"]["tracing"], true);
        assert!(apply(&mut doc, &parse("spec.istio.x=1").unwrap()).is_err());
    }
}
