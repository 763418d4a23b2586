//! The manifests `lint` reads: files, directories (`*.yaml`/`*.yml`, recursively, in name
//! order) or stdin, each a stream of documents read as Kubernetes reads them (the last of
//! duplicate keys wins), positions kept; and the rules a file switches off in a comment.

use std::path::{Path, PathBuf};

use super::Rule;
use crate::error::{Diagnostic, Error, Result};
use crate::yaml::{self, Node, NodeValue};

/// Largest input read from one file or stdin: `helm template` of many applications.
pub const MAX_INPUT_BYTES: usize = 64 << 20;

/// The comment that switches rules off for the file it is in:
/// `# meshgen-lint-disable: port-protocol, pod-labels`.
pub const DISABLE_COMMENT: &str = "meshgen-lint-disable:";

/// Name shown for stdin in findings.
pub const STDIN: &str = "<stdin>";

/// One input's text and the name findings give it.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub text: String,
}

/// Reads every input `paths` names: `-` is stdin (read from `stdin`), a directory its
/// `*.yaml`/`*.yml` files. A missing path, an unreadable file or a directory without
/// manifests is an error (the command cannot run on what was asked).
pub fn collect(paths: &[PathBuf], stdin: &mut dyn std::io::Read) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let bytes = bounded(
                crate::fsutil::read_to_limit(&mut *stdin, MAX_INPUT_BYTES),
                STDIN,
            )?;
            inputs.push(text_of(STDIN, bytes)?);
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)?;
            if files.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: no *.yaml or *.yml files in this directory",
                    path.display()
                )));
            }
            for file in files {
                inputs.push(read_file(&file)?);
            }
        } else {
            inputs.push(read_file(path)?);
        }
    }
    Ok(inputs)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<_>>()?;
    entries.sort();
    for path in entries {
        // Symlinked directories are not followed: a loop would never end.
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Input> {
    let name = path.display().to_string();
    let bytes = bounded(crate::fsutil::read_bounded(path, MAX_INPUT_BYTES), &name)?;
    text_of(&name, bytes)
}

fn bounded(
    read: std::result::Result<Vec<u8>, crate::fsutil::ReadError>,
    name: &str,
) -> Result<Vec<u8>> {
    match read {
        Ok(bytes) => Ok(bytes),
        Err(crate::fsutil::ReadError::Io(e)) => Err(Error::io(name, e)),
        Err(crate::fsutil::ReadError::TooLarge { at_least }) => Err(Diagnostic::error(
            name,
            0,
            0,
            "",
            format!("input is at least {at_least} bytes, more than the {MAX_INPUT_BYTES} bytes `meshgen lint` reads"),
        )
        .into()),
    }
}

fn text_of(name: &str, bytes: Vec<u8>) -> Result<Input> {
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(
            name,
            0,
            0,
            "",
            format!(
                "input is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(Input {
        name: name.to_string(),
        text,
    })
}

/// A file's name and the rules its comments switch off.
#[derive(Debug)]
pub struct FileInfo {
    pub name: String,
    pub disabled: Vec<Rule>,
}

/// One Kubernetes object of the input.
#[derive(Debug)]
pub struct Object {
    /// Index into `Manifests::files`.
    pub file: usize,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace`, else `default` (where `kubectl apply` puts it).
    pub namespace: String,
    pub node: Node,
}

/// Every object of every input.
#[derive(Debug, Default)]
pub struct Manifests {
    pub files: Vec<FileInfo>,
    pub objects: Vec<Object>,
}

/// Parses every input; any that is not YAML (or names an unknown rule) is reported, all of
/// them at once, and nothing else is.
pub fn parse_all(inputs: &[Input]) -> std::result::Result<Manifests, Vec<Diagnostic>> {
    let mut manifests = Manifests::default();
    let mut errors = Vec::new();
    for input in inputs {
        let file = manifests.files.len();
        let disabled = match disabled_rules(&input.text, &input.name) {
            Ok(rules) => rules,
            Err(e) => {
                errors.push(*e);
                Vec::new()
            }
        };
        manifests.files.push(FileInfo {
            name: input.name.clone(),
            disabled,
        });
        let documents = yaml::parse_stream(
            input.text.strip_prefix('\u{feff}').unwrap_or(&input.text),
            yaml::Dialect::Kubernetes,
            crate::install::postrender::MANIFEST_BOUNDS,
        );
        match documents {
            Ok(documents) => {
                for node in documents {
                    push_object(&mut manifests.objects, file, node);
                }
            }
            Err(e) => errors.push(e.into_diagnostic(&input.name)),
        }
    }
    if errors.is_empty() {
        Ok(manifests)
    } else {
        Err(errors)
    }
}

/// Adds a document's object (or a `List`'s items); documents without `kind` are not objects
/// a cluster would take, and are left to `kubectl`.
fn push_object(objects: &mut Vec<Object>, file: usize, node: Node) {
    let kind = str_at(&node, &["kind"]).unwrap_or_default();
    if kind == "List" {
        if let Some(NodeValue::Seq(items)) = get(&node, &["items"]).map(|n| n.value.clone()) {
            for item in items {
                push_object(objects, file, item);
            }
        }
        return;
    }
    if kind.is_empty() {
        return;
    }
    objects.push(Object {
        file,
        name: str_at(&node, &["metadata", "name"]).unwrap_or_default(),
        namespace: str_at(&node, &["metadata", "namespace"]).unwrap_or_else(|| "default".into()),
        kind,
        node,
    });
}

/// The rules a file's `# meshgen-lint-disable: a, b` comments switch off.
fn disabled_rules(text: &str, file: &str) -> std::result::Result<Vec<Rule>, Box<Diagnostic>> {
    let mut rules = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(at) = line.find(DISABLE_COMMENT) else {
            continue;
        };
        if !line[..at].trim_end().ends_with('#') {
            continue;
        }
        let list = &line[at + DISABLE_COMMENT.len()..];
        for id in list
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match id.parse::<Rule>() {
                Ok(rule) => rules.push(rule),
                Err(message) => {
                    let hint =
                        format!("write `# {DISABLE_COMMENT} RULE[, RULE]` with the rules' ids");
                    return Err(Box::new(
                        Diagnostic::error(file, i + 1, at + 1, "", message).with_hint(hint),
                    ));
                }
            }
        }
    }
    Ok(rules)
}

/// The node at a path of keys.
pub fn get<'a>(node: &'a Node, keys: &[&str]) -> Option<&'a Node> {
    keys.iter().try_fold(node, |node, key| match &node.value {
        NodeValue::Map(entries) => entries.iter().find(|e| e.key == *key).map(|e| &e.value),
        _ => None,
    })
}

/// A scalar as the string Kubernetes would hold (label values, names).
pub fn scalar(node: &Node) -> Option<String> {
    Some(match &node.value {
        NodeValue::Str(s, _) => s.clone(),
        NodeValue::Int(i) => i.to_string(),
        NodeValue::Bool(b) => b.to_string(),
        NodeValue::Float(f) => f.to_string(),
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => return None,
    })
}

pub fn str_at(node: &Node, keys: &[&str]) -> Option<String> {
    get(node, keys).and_then(scalar)
}
