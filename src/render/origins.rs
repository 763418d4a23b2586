//! The origins a rendered values file carries: the templates put each value's origin
//! (`resolve::Origin::describe`) in a comment on its line, or above a group of values that
//! share one, and this reads them back per value, so that what `explain` lists and what
//! `merge` names in a conflict is exactly what is emitted.

use crate::error::{Error, Result};
use crate::yaml::{self, Node, NodeValue};

/// One emitted value: its key path in the values file, the value as YAML, the line it is on,
/// and why it has that value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub path: String,
    pub value: String,
    pub line: usize,
    pub why: String,
}

/// The comment ending a line, outside any quoted string.
fn trailing_comment(line: &str) -> Option<&str> {
    let mut in_quotes = false;
    let mut escaped = false;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'#' if !in_quotes && (i == 0 || bytes[i - 1] == b' ') => {
                return Some(line[i + 1..].trim());
            }
            _ => {}
        }
    }
    None
}

/// The comment that explains line `n` (1-based): its own trailing comment, else the block of
/// comment lines above it or above the siblings right before it (a comment heading a group of
/// keys at one indentation explains each of them, up to a blank line).
fn comment_for(lines: &[&str], n: usize) -> Option<String> {
    let line = lines.get(n.checked_sub(1)?)?;
    if let Some(c) = trailing_comment(line).filter(|c| !c.is_empty()) {
        return Some(c.to_string());
    }
    let indent = |l: &str| l.len() - l.trim_start().len();
    let own_indent = indent(line);
    if let Some(c) = closing_comment(lines, n) {
        return Some(c);
    }
    let mut above = Vec::new();
    for prev in lines[..n - 1].iter().rev() {
        let trimmed = prev.trim_start();
        if let Some(c) = trimmed.strip_prefix('#') {
            // A comment indented deeper than this line closes the entry above it (a port's
            // "no nodePort" note): it does not head this line.
            if indent(prev) > own_indent {
                break;
            }
            above.push(c.trim());
        } else if !above.is_empty()
            || trimmed.is_empty()
            || indent(prev) < own_indent
            || trimmed.starts_with("- ")
        {
            break;
        }
    }
    above.reverse();
    (!above.is_empty()).then(|| above.join(" "))
}

/// The comment that closes the list entry line `n` (1-based) belongs to: a comment at the
/// entry's field indentation after its fields, followed by the next entry or a dedent (a
/// port's "no nodePort" note). It explains every field of that entry.
fn closing_comment(lines: &[&str], n: usize) -> Option<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let line = lines.get(n.checked_sub(1)?)?;
    let trimmed = line.trim_start();
    let fields = if trimmed.starts_with("- ") {
        indent(line) + 2
    } else {
        // A field of a list entry: the entry's dash sits two columns left, with nothing
        // shallower between it and this line.
        let dash = indent(line).checked_sub(2)?;
        let entry = lines[..n - 1].iter().rev().find(|l| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#') && indent(l) < indent(line)
        })?;
        if indent(entry) != dash || !entry.trim_start().starts_with("- ") {
            return None;
        }
        indent(line)
    };
    let mut rest = lines[n..].iter();
    while let Some(next) = rest.next() {
        let t = next.trim_start();
        if t.is_empty() || indent(next) < fields {
            return None;
        }
        if indent(next) > fields {
            continue;
        }
        if let Some(c) = t.strip_prefix('#') {
            // Closing only if what follows leaves the entry; a comment followed by a sibling
            // field heads that field instead.
            let after = rest.find(|l| !l.trim_start().starts_with('#'));
            return match after {
                Some(a) if !a.trim().is_empty() && indent(a) >= fields => None,
                _ => Some(c.trim().to_string()),
            };
        }
    }
    None
}

/// Every leaf value of a rendered values file with its explanation; a value without a comment
/// of its own inherits its parent's.
pub fn explain_values(text: &str, fallback: &str) -> Result<Vec<Explained>> {
    let doc = yaml::parse(text).map_err(|e| Error::Render(e.to_string()))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    walk(&doc, String::new(), 0, fallback, &lines, &mut out);
    Ok(out)
}

fn walk(
    node: &Node,
    path: String,
    key_line: usize,
    inherited: &str,
    lines: &[&str],
    out: &mut Vec<Explained>,
) {
    let own = comment_for(lines, key_line);
    let why = own.as_deref().unwrap_or(inherited);
    match &node.value {
        NodeValue::Map(entries) if !entries.is_empty() => {
            for entry in entries {
                let child = if path.is_empty() {
                    entry.key.clone()
                } else {
                    format!("{path}.{}", entry.key)
                };
                walk(&entry.value, child, entry.key_span.line, why, lines, out);
            }
        }
        NodeValue::Seq(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                walk(
                    item,
                    format!("{path}[{i}]"),
                    item.span.line,
                    why,
                    lines,
                    out,
                );
            }
        }
        _ => out.push(Explained {
            path,
            value: crate::yaml::emit::yaml_scalar(&node.to_json()),
            line: key_line,
            why: why.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_quotes_only() {
        assert_eq!(trailing_comment(r#"  a: "x # y"  # why"#), Some("why"));
        assert_eq!(trailing_comment(r#"  a: "x \" # y""#), None);
        assert_eq!(trailing_comment("  a: 1"), None);
    }

    /// Regression: on a gateway without node ports, each port's "no nodePort" note closes its
    /// own entry; `explain` gave the next port (https after http2) the note of the one above.
    #[test]
    fn a_list_entrys_closing_comment_is_not_the_next_entrys() {
        let text = "gateway:\n  # the chart's ports\n  ports:\n  - name: http2\n    port: 80\n    # no nodePort: chart default 31380 dropped\n  - name: https\n    port: 443\n    # no nodePort: chart default 31390 dropped\n";
        let got = explain_values(text, "fallback").unwrap();
        let why = |path: &str| {
            got.iter()
                .find(|e| e.path == path)
                .map(|e| e.why.clone())
                .unwrap()
        };
        assert_eq!(
            why("gateway.ports[0].name"),
            "no nodePort: chart default 31380 dropped"
        );
        assert_eq!(
            why("gateway.ports[0].port"),
            "no nodePort: chart default 31380 dropped"
        );
        assert_eq!(
            why("gateway.ports[1].name"),
            "no nodePort: chart default 31390 dropped"
        );
        assert_eq!(
            why("gateway.ports[1].port"),
            "no nodePort: chart default 31390 dropped"
        );
    }

    #[test]
    fn own_comment_then_block_above_then_parent() {
        let text = "top:\n  # shared reason\n  a: 1\n  b: \"x\"  # own reason\n  d:\n    e: 2\n\n  f: 3\nother:\n  c: true\n";
        let got = explain_values(text, "fallback").unwrap();
        let pairs: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|e| (e.path.as_str(), e.value.as_str(), e.why.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("top.a", "1", "shared reason"),
                ("top.b", "\"x\"", "own reason"),
                ("top.d.e", "2", "shared reason"),
                ("top.f", "3", "fallback"),
                ("other.c", "true", "fallback"),
            ]
        );
    }
}
