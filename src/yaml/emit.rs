//! meshgen's one YAML writer: block-style YAML for every document meshgen writes whole — the
//! Flux objects, post-rendered objects and their kustomize patches, the manifests, the vendor
//! lock — and the quoting of the values templates (`prequoted`, `prequoted_key`).
//!
//! Data strings are written double-quoted (or as a literal block when they span lines). A key,
//! or a word meshgen chose itself (an `apiVersion`, a `kind`), is written plain only when
//! [`may_be_plain`] allows it: Helm and the Kubernetes API server read YAML 1.1, where `on`,
//! `y` or `1_000` are not strings, and meshgen reads YAML 1.2. A writer may quote more than
//! the rule asks (a [`Key::quoted`]), never less.

use std::borrow::Cow;

use serde_json::Value;

/// THE rule for a plain scalar (key or value): every YAML reader, 1.1 or 1.2, reads it back as
/// this very string, and it needs no escaping. It holds only ASCII letters, digits and
/// `_ - . /`, and either holds a `/` (no implicit type of YAML 1.1 or 1.2 does) and does not
/// start with `-` (a document marker or list item), or starts with
/// a letter or `_` (so no number, date or `.inf`) and is no boolean or null word
/// ([`crate::yaml::unquoted_reads_as`], with the one list of YAML 1.1 words).
pub fn may_be_plain(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
        && ((text.contains('/') && !text.starts_with('-'))
            || (text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && crate::yaml::unquoted_reads_as(text).is_none()))
}

/// A node of a document written by hand (the manifests, the lock, patches): JSON data, words
/// meshgen chose, and maps whose keys say whether they may be plain.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// JSON data: strings double-quoted or literal blocks, numbers, booleans and null plain,
    /// map keys plain where [`may_be_plain`] allows.
    Data(Value),
    /// A word meshgen chose (an `apiVersion`, a `kind`, a name from its tables): plain where
    /// [`may_be_plain`] allows, else double-quoted.
    Word(String),
    /// A map, in this order.
    Map(Vec<(Key, Node)>),
    /// A list.
    Seq(Vec<Node>),
}

impl Node {
    /// A data string (always quoted).
    pub fn str(text: impl Into<String>) -> Node {
        Node::Data(Value::String(text.into()))
    }

    /// A word (plain where the rule allows).
    pub fn word(text: impl Into<String>) -> Node {
        Node::Word(text.into())
    }

    /// A map of keys that may be plain.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Node)>) -> Node {
        Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Key::plain(k), v))
                .collect(),
        )
    }

    /// A list of data strings.
    pub fn strs<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Node {
        Node::Seq(items.into_iter().map(Node::str).collect())
    }
}

/// A map key of a [`Node::Map`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    text: String,
    plain: bool,
}

impl Key {
    /// Plain where [`may_be_plain`] allows.
    pub fn plain(text: impl Into<String>) -> Key {
        Key {
            text: text.into(),
            plain: true,
        }
    }

    /// Always double-quoted (a writer keeping data keys, such as file paths, visibly strings).
    pub fn quoted(text: impl Into<String>) -> Key {
        Key {
            text: text.into(),
            plain: false,
        }
    }
}

/// Where a list under a map key starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lists {
    /// Two columns right of the key (`key:\n  - a`).
    Indented,
    /// At the key's column (`key:\n- a`), as kubectl writes objects.
    AtKey,
}

/// A scalar as YAML that every reader, YAML 1.1 or 1.2, reads back as the same value:
/// strings double-quoted (JSON escaping is valid YAML), numbers and booleans plain.
pub fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Null => "null".to_string(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(_) | Value::Object(_) => {
            serde_json::to_string(value).expect("values serialize")
        }
    }
}

/// `text` double-quoted: JSON string syntax is valid YAML double-quoted syntax.
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

/// `text` plain where [`may_be_plain`] allows, else double-quoted.
fn plain_or_quoted(text: &str) -> Cow<'_, str> {
    if may_be_plain(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(quote(text))
    }
}

/// For a scalar the chart prints unquoted (`{{ $value }}`): the YAML of a string holding the
/// value's quoted form, so that the printed text is the value as a string.
pub fn prequoted_scalar(value: &Value) -> String {
    let inner = match value {
        Value::String(s) => quote(s),
        other => quote(&other.to_string()),
    };
    quote(&inner)
}

/// For a map key the chart prints unquoted (`{{ $key }}:` in the 1.0 and 1.11 gateway Services
/// and labels): a key the rule does not let be plain carries its own quotes. Any other key
/// stays plain, so that a template can still look it up by name (`$spec.labels.istio` in the
/// 1.0 gateways chart). Valid label keys (`prefix/name`) only need quotes when they are YAML
/// 1.1 words (`on`, `y`) or start with a digit (`012`, `2001-12-14`).
pub fn prequoted_key(key: &str) -> String {
    if may_be_plain(key) {
        quote(key)
    } else {
        prequoted_scalar(&Value::String(key.to_string()))
    }
}

/// The value as a block YAML document body (no `---`), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    write(&Item::Json(value), Lists::Indented)
}

/// A hand-written node as a block YAML document body (no `---`), ending in a newline.
pub fn node_to_yaml(node: &Node, lists: Lists) -> String {
    write(&Item::Node(node), lists)
}

/// `# text` lines, one per line of `text`, control characters as spaces: a comment stays a
/// comment whatever it quotes.
pub fn comment(text: &str) -> String {
    let mut out = String::new();
    for line in text.split('\n') {
        out.push_str("# ");
        out.push_str(&one_line(line));
        out.push('\n');
    }
    out
}

/// Text for a `#` comment: control characters (a newline above all) become spaces.
pub fn one_line(text: &str) -> Cow<'_, str> {
    // The control characters are C0, DEL and C1 (U+0080-U+009F, each encoded after a 0xC2
    // byte): a text without those bytes, nearly every one, is returned as it is, uncopied.
    if !text.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    )
}

/// `key: value` as a block entry indented by `indent`, ending in a newline: the value on the
/// same line, or as a block below it.
pub fn entry(key: &str, value: &Value, indent: usize) -> String {
    let mut out = " ".repeat(indent);
    out.push_str(&plain_or_quoted(key));
    out.push(':');
    Writer {
        out: &mut out,
        lists: Lists::Indented,
    }
    .value(Item::Json(value), indent);
    out
}

/// A node or a JSON value seen alike by the writer, without copying the JSON.
#[derive(Clone, Copy)]
enum Item<'a> {
    Json(&'a Value),
    Node(&'a Node),
}

enum Shape<'a> {
    Map(Vec<(Cow<'a, str>, Item<'a>)>),
    Seq(Vec<Item<'a>>),
    /// A scalar or an empty collection, as written on its line (`None` for a data string).
    Inline(Option<String>, &'a Value),
}

impl<'a> Item<'a> {
    fn shape(self) -> Shape<'a> {
        let key = |text: &'a str| plain_or_quoted(text);
        match self {
            Item::Json(Value::Object(map)) if !map.is_empty() => {
                Shape::Map(map.iter().map(|(k, v)| (key(k), Item::Json(v))).collect())
            }
            Item::Json(Value::Array(items)) if !items.is_empty() => {
                Shape::Seq(items.iter().map(Item::Json).collect())
            }
            Item::Json(value) => Shape::Inline(None, value),
            Item::Node(Node::Data(value)) => Item::Json(value).shape(),
            Item::Node(Node::Word(text)) => {
                Shape::Inline(Some(plain_or_quoted(text).into_owned()), &Value::Null)
            }
            Item::Node(Node::Map(entries)) if entries.is_empty() => {
                Shape::Inline(Some("{}".to_string()), &Value::Null)
            }
            Item::Node(Node::Seq(items)) if items.is_empty() => {
                Shape::Inline(Some("[]".to_string()), &Value::Null)
            }
            Item::Node(Node::Map(entries)) => Shape::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let text = if k.plain {
                            key(&k.text)
                        } else {
                            Cow::Owned(quote(&k.text))
                        };
                        (text, Item::Node(v))
                    })
                    .collect(),
            ),
            Item::Node(Node::Seq(items)) => Shape::Seq(items.iter().map(Item::Node).collect()),
        }
    }
}

fn write(item: &Item<'_>, lists: Lists) -> String {
    let mut out = String::new();
    let mut writer = Writer {
        out: &mut out,
        lists,
    };
    match item.shape() {
        Shape::Map(entries) => writer.map(entries, 0),
        Shape::Seq(items) => writer.seq(items, 0),
        Shape::Inline(text, value) => {
            let text = text.unwrap_or_else(|| inline(value, 0));
            writer.out.push_str(&text);
            writer.out.push('\n');
        }
    }
    out
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

/// A JSON scalar or an empty collection, written on the current line.
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

struct Writer<'o> {
    out: &'o mut String,
    lists: Lists,
}

impl Writer<'_> {
    fn map(&mut self, entries: Vec<(Cow<'_, str>, Item<'_>)>, indent: usize) {
        for (i, (key, value)) in entries.into_iter().enumerate() {
            // The first entry of a map inside a list item continues the `- ` line.
            if i > 0 || !self.out.ends_with("- ") {
                self.out.push_str(&" ".repeat(indent));
            }
            self.out.push_str(&key);
            self.out.push(':');
            self.value(value, indent);
        }
    }

    fn seq(&mut self, items: Vec<Item<'_>>, indent: usize) {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 || !self.out.ends_with("- ") {
                self.out.push_str(&" ".repeat(indent));
            }
            self.out.push_str("- ");
            match item.shape() {
                Shape::Map(entries) => self.map(entries, indent + 2),
                Shape::Seq(inner) => self.seq(inner, indent + 2),
                Shape::Inline(text, value) => {
                    let text = text.unwrap_or_else(|| inline(value, indent));
                    self.out.push_str(&text);
                    self.out.push('\n');
                }
            }
        }
    }

    /// The value after `key:`, on the same line or as an indented block below it.
    fn value(&mut self, value: Item<'_>, indent: usize) {
        match value.shape() {
            Shape::Map(entries) => {
                self.out.push('\n');
                self.map(entries, indent + 2);
            }
            Shape::Seq(items) => {
                self.out.push('\n');
                let at = match self.lists {
                    Lists::Indented => indent + 2,
                    Lists::AtKey => indent,
                };
                self.seq(items, at);
            }
            Shape::Inline(text, scalar) => {
                let text = text.unwrap_or_else(|| inline(scalar, indent));
                self.out.push(' ');
                self.out.push_str(&text);
                self.out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_line_blanks_every_control_character_and_nothing_else() {
        assert!(matches!(one_line("plain é text"), Cow::Borrowed(_)));
        assert_eq!(one_line("a\nb\tc\rd\u{7f}e"), "a b c d e");
        // C1 controls (after a 0xC2 byte) go; a non-breaking space (also after 0xC2) stays.
        assert_eq!(one_line("x\u{85}y\u{9f}z\u{a0}w"), "x y z\u{a0}w");
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let text = c.to_string();
            let expected = if c.is_control() {
                " ".to_string()
            } else {
                text.clone()
            };
            assert_eq!(one_line(&text), expected, "U+{:04X}", c as u32);
        }
    }

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

    #[test]
    fn one_rule_for_plain_keys_and_words() {
        let plain = [
            "apiVersion",
            "istio-injection",
            "Chart.yaml",
            "kubernetes.io/os",
            "1x.example.com/app", // no implicit type holds a `/`
            "_internal",
            "yEs", // not one of YAML 1.1's spellings
            "nope",
        ];
        let quoted = [
            "",
            "no",
            "No",
            "NO",
            "on",
            "Off",
            "y",
            "Y",
            "n",
            "yes",
            "true",
            "True",
            "FALSE",
            "null",
            "Null",
            "~",
            "1_000",
            "0x1F",
            "0b101",
            "012",
            "1e3",
            "1.0",
            ".inf",
            "-.inf",
            ".nan",
            "2001-12-14",
            "1:20",
            "a:b",
            "a: b",
            "a b",
            "#x",
            "<<",
            "-/x",
            "-x",
            "é",
        ];
        for text in plain {
            assert!(may_be_plain(text), "{text:?} should be plain");
        }
        for text in quoted {
            assert!(!may_be_plain(text), "{text:?} should be quoted");
            let value = json!({ text: text });
            assert_eq!(
                to_yaml(&value),
                format!("{}: {}\n", quote(text), quote(text))
            );
            round_trip(&value);
        }
    }

    #[test]
    fn hand_written_nodes_choose_quotes_and_list_layout() {
        let node = Node::Map(vec![
            (Key::plain("apiVersion"), Node::word("policy/v1beta1")),
            (Key::plain("kind"), Node::word("on")),
            (Key::quoted("app"), Node::str("x")),
            (Key::plain("list"), Node::strs(["a"])),
            (Key::plain("data"), Node::Data(json!({"k": [1, {"a": []}]}))),
            (Key::plain("empty"), Node::Seq(vec![])),
        ]);
        assert_eq!(
            node_to_yaml(&node, Lists::AtKey),
            "apiVersion: policy/v1beta1\nkind: \"on\"\n\"app\": \"x\"\nlist:\n- \"a\"\n\
             data:\n  k:\n  - 1\n  - a: []\nempty: []\n"
        );
        assert_eq!(
            node_to_yaml(&node, Lists::Indented),
            "apiVersion: policy/v1beta1\nkind: \"on\"\n\"app\": \"x\"\nlist:\n  - \"a\"\n\
             data:\n  k:\n    - 1\n    - a: []\nempty: []\n"
        );
        assert_eq!(comment("a\nb\tc"), "# a\n# b c\n");
    }

    #[test]
    fn prequoted_keys_follow_the_rule() {
        assert_eq!(prequoted_key("istio"), r#""istio""#);
        assert_eq!(prequoted_key("y"), r#""\"y\"""#);
        assert_eq!(prequoted_key("012"), r#""\"012\"""#);
    }

    proptest::proptest! {
        /// Whatever the text, a key and value written by the writer read back as that text, and
        /// what the rule lets be plain is a string to YAML 1.1 too.
        #[test]
        fn any_text_reads_back(text in "[a-zA-Z0-9_./: #~-]{0,8}|(y|n|yes|no|on|off|true|null|[0-9_.xoe+-]{1,6})") {
            let value = json!({ text.as_str(): [text.as_str(), { "k": text.as_str() }] });
            round_trip(&value);
            if may_be_plain(&text) {
                proptest::prop_assert!(crate::yaml::yaml11_only(&text).is_none());
                proptest::prop_assert!(crate::yaml::unquoted_reads_as(&text).is_none());
                let back = crate::yaml::parse(&format!("{text}: {text}\n")).unwrap().to_json();
                proptest::prop_assert_eq!(back, json!({ text.as_str(): text.as_str() }));
            }
        }
    }
}
