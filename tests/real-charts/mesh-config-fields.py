#!/usr/bin/env python3
"""Writes data/mesh-config/ from mirrors of istio/istio and istio/api: the fields of the
`MeshConfig` message (what the 1.11 charts' `meshConfig` value becomes: the `mesh` ConfigMap
istiod reads) and of every message below it (`defaultConfig` is a `ProxyConfig`), at the
istio/api commit each Istio release pins.

For each release of the lines whose charts take `meshConfig` as a value (1.11.0 to 1.11.8;
the 0.6 and 1.0 charts build the mesh ConfigMap from their own keys), the script reads the
`istio.io/api` requirement of `go.mod` at the release tag (a pseudo-version ending in a commit
hash), then `mesh/v1alpha1/config.proto`, `proxy.proto` and `network.proto` at that commit,
and parses them with the small proto3 parser below (messages, nested messages and enums,
`oneof`, `map<K, V>`, `repeated`, `reserved`, field options; comments dropped, never copied).
The parse is then held to the OpenAPI schema istio/api generates from the same protos at that
commit (`istio.mesh.v1alpha1.gen.json`: field names, lists, maps, scalar kinds); any
disagreement stops the script before it writes anything.

Output, written whole each run:
- `data/mesh-config/<commit>.json`, one per distinct set of facts (named by the first
  commit, 12 hex digits, that gives it; a later commit with the same fields shares the file):
  `messages` maps each message reachable from `MeshConfig` (named relative to the package
  `istio.mesh.v1alpha1`, nested ones as `Outer.Inner`) to its fields by JSON name
  (protobuf's lowerCamelCase `json_name`), each with `proto` (the field's name in the proto,
  which Istio's JSON reader accepts too), `type` and, where they apply, `list` (repeated),
  `map` (a map<string, type>), `enum`/`message` (the name), `deprecated`. `enums` maps each
  enum to its value names. Types: `string`, `bool`, `integer` (every int and uint, and their
  google.protobuf wrappers), `number` (float, double and wrappers), `bytes` (base64 text),
  `duration` (google.protobuf.Duration: a string Go's time.ParseDuration reads, `10s`),
  `enum`, `message`, and `open` for what the file does not describe: google.protobuf.Struct
  and Any, and messages of other packages (istio.networking.v1alpha3, k8s.io): `open` names
  that message.
- `data/mesh-config/releases.txt`: `RELEASE COMMIT FILE` for every release, the commit being
  the full istio/api hash the release pins.

Usage: mesh-config-fields.py ISTIO_MIRROR API_MIRROR
       (git repositories holding istio/istio's release tags and istio/api's commits; no network)
Re-run it after adding a release to LINES; `cargo test --lib mesh_config` then checks that
every release meshgen knows of a line with `meshConfig` has its facts.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data/mesh-config"
RELEASES = [f"1.11.{i}" for i in range(9)]
PACKAGE = "istio.mesh.v1alpha1"
FILES = ["mesh/v1alpha1/config.proto", "mesh/v1alpha1/proxy.proto", "mesh/v1alpha1/network.proto"]
ROOT_MESSAGE = "MeshConfig"

SCALARS = {
    "string": "string", "bool": "bool", "bytes": "bytes",
    "double": "number", "float": "number",
    **{t: "integer" for t in ["int32", "int64", "uint32", "uint64", "sint32", "sint64",
                              "fixed32", "fixed64", "sfixed32", "sfixed64"]},
}
WELL_KNOWN = {
    "google.protobuf.BoolValue": "bool", "google.protobuf.StringValue": "string",
    "google.protobuf.BytesValue": "bytes",
    "google.protobuf.DoubleValue": "number", "google.protobuf.FloatValue": "number",
    "google.protobuf.Int32Value": "integer", "google.protobuf.Int64Value": "integer",
    "google.protobuf.UInt32Value": "integer", "google.protobuf.UInt64Value": "integer",
    "google.protobuf.Duration": "duration",
}


def git(repo: str, *args: str) -> str:
    out = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} in {repo}: {out.stderr.strip()}")
    return out.stdout


def pinned_api(istio: str, tag: str, api: str) -> str:
    """The full istio/api commit `go.mod` at `tag` requires (a replace directive wins)."""
    text = git(istio, "show", f"{tag}:go.mod")
    version = None
    for line in text.splitlines():
        words = line.split("//")[0].split()
        if "istio.io/api" in words:
            at = words.index("istio.io/api")
            if "=>" in words:
                raise SystemExit(f"{tag}: go.mod replaces istio.io/api: {line.strip()}")
            version = words[at + 1]
    if version is None:
        raise SystemExit(f"{tag}: go.mod does not require istio.io/api")
    match = re.search(r"-([0-9a-f]{12})$", version)
    if not match:
        raise SystemExit(f"{tag}: istio.io/api {version} is not a pseudo-version")
    return git(api, "rev-parse", "--verify", f"{match.group(1)}^{{commit}}").strip()


TOKEN = re.compile(r"""\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_][\w.]*|\.[A-Za-z_][\w.]*|-?\d[\w.]*|[{}()\[\]<>;=,:]""", re.S)


def tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise SystemExit(f"cannot read the proto at: {text[pos:pos + 40]!r}")
        tok = m.group(0)
        pos = m.end()
        if not (tok.isspace() or tok.startswith("//") or tok.startswith("/*")):
            out.append(tok)
    return out


class Parser:
    """proto3 as the mesh protos write it: enough to list messages, fields and enums. Anything
    it does not know stops it with the token it met, rather than guessing."""

    def __init__(self, toks: list[str]):
        self.toks, self.i = toks, 0
        self.package = None
        self.messages: dict[str, list[dict]] = {}
        self.enums: dict[str, list[str]] = {}

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expect: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expect is not None and tok != expect):
            raise SystemExit(f"proto: expected {expect!r}, found {tok!r} (token {self.i})")
        self.i += 1
        return tok

    def until(self, end: str) -> list[str]:
        """The tokens up to `end` (taken), skipping nested brackets."""
        depth, out = 0, []
        while True:
            tok = self.take()
            if tok == end and depth == 0:
                return out
            if tok in "{[(":
                depth += 1
            elif tok in "}])":
                depth -= 1
            out.append(tok)

    def file(self) -> None:
        while self.peek() is not None:
            tok = self.take()
            if tok in ("syntax", "import", "option"):
                self.until(";")
            elif tok == "package":
                self.package = self.take()
                self.take(";")
            elif tok == "message":
                self.message("")
            elif tok == "enum":
                self.enum("")
            elif tok in ("service", "extend"):
                self.take()
                self.take("{")
                self.until("}")
            elif tok != ";":
                raise SystemExit(f"proto: unexpected {tok!r} at the top level")

    def message(self, scope: str) -> None:
        name = scope + self.take()
        self.take("{")
        fields = self.messages.setdefault(name, [])
        self.body(name, fields, in_oneof=False)

    def body(self, name: str, fields: list[dict], in_oneof: bool) -> None:
        while (tok := self.take()) != "}":
            if tok == "message" and not in_oneof:
                self.message(name + ".")
            elif tok == "enum" and not in_oneof:
                self.enum(name + ".")
            elif tok == "oneof" and not in_oneof:
                self.take()
                self.take("{")
                self.body(name, fields, in_oneof=True)
            elif tok in ("option", "reserved", "extensions"):
                self.until(";")
            elif tok == ";":
                continue
            elif tok == "map":
                self.take("<")
                self.take()  # the key type: JSON keys are strings whatever it is
                self.take(",")
                value = self.take()
                self.take(">")
                fields.append(self.field(name, value, list_=False, map_=True))
            elif tok in ("repeated", "optional"):
                fields.append(self.field(name, self.take(), list_=tok == "repeated", map_=False))
            else:
                fields.append(self.field(name, tok, list_=False, map_=False))

    def field(self, scope: str, type_: str, list_: bool, map_: bool) -> dict:
        name = self.take()
        self.take("=")
        self.take()  # the field number
        options = self.until("]") if self.peek() == "[" and self.take("[") else []
        self.take(";")
        opts, group, depth = {}, [], 0
        for tok in options + [","]:
            depth += tok in "([{" and 1 or tok in ")]}" and -1 or 0
            if tok == "," and depth == 0:
                if "=" in group:
                    at = group.index("=")
                    opts["".join(group[:at])] = "".join(group[at + 1:])
                group = []
            else:
                group.append(tok)
        json_name = opts.get("json_name", "").strip('"') or json_of(name)
        return {"name": json_name, "proto": name, "type": type_, "scope": scope, "list": list_,
                "map": map_, "deprecated": opts.get("deprecated") == "true"}

    def enum(self, scope: str) -> None:
        name = scope + self.take()
        self.take("{")
        values = self.enums.setdefault(name, [])
        while (tok := self.take()) != "}":
            if tok in ("option", "reserved"):
                self.until(";")
            elif tok != ";":
                self.take("=")
                self.until(";")
                values.append(tok)


def json_of(name: str) -> str:
    """protoc's default json_name: each `_` dropped and the letter after it upper-cased."""
    out, upper = [], False
    for ch in name:
        if ch == "_":
            upper = True
        else:
            out.append(ch.upper() if upper else ch)
            upper = False
    return "".join(out)


def resolve(ref: str, scope: str, known) -> str | None:
    """A type name as protobuf scopes it: innermost enclosing scope first, then outwards."""
    if ref.startswith("."):
        ref = ref[1:]
        return ref[len(PACKAGE) + 1:] if ref.startswith(PACKAGE + ".") and known(ref[len(PACKAGE) + 1:]) else None
    parts = scope.split(".") if scope else []
    for n in range(len(parts), -1, -1):
        candidate = ".".join(parts[:n] + [ref])
        if known(candidate):
            return candidate
    if ref.startswith(PACKAGE + ".") and known(ref[len(PACKAGE) + 1:]):
        return ref[len(PACKAGE) + 1:]
    return None


def facts(api: str, commit: str) -> dict:
    parser = Parser([])
    for path in FILES:
        sub = Parser(tokens(git(api, "show", f"{commit}:{path}")))
        sub.file()
        if sub.package != PACKAGE:
            raise SystemExit(f"{commit}:{path}: package {sub.package}, not {PACKAGE}")
        parser.messages.update(sub.messages)
        parser.enums.update(sub.enums)
    messages, enums = {}, {}
    todo = [ROOT_MESSAGE]
    while todo:
        name = todo.pop()
        if name in messages:
            continue
        out = messages[name] = {}
        for f in parser.messages[name]:
            entry = {"proto": f["proto"]}
            ref = f["type"]
            if ref in SCALARS:
                entry["type"] = SCALARS[ref]
            elif ref.lstrip(".") in WELL_KNOWN:
                entry["type"] = WELL_KNOWN[ref.lstrip(".")]
            elif (m := resolve(ref, f["scope"], parser.messages.__contains__)) is not None:
                entry["type"], entry["message"] = "message", m
                todo.append(m)
            elif (e := resolve(ref, f["scope"], parser.enums.__contains__)) is not None:
                entry["type"], entry["enum"] = "enum", e
                enums[e] = parser.enums[e]
            elif "." in ref and not ref.lstrip(".").startswith(PACKAGE + "."):
                # google.protobuf.Struct/Any, istio.networking.v1alpha3.*, k8s.io.*
                entry["type"], entry["open"] = "open", ref.lstrip(".")
            else:
                raise SystemExit(f"{commit}: {name}.{f['proto']}: type {ref} not found")
            if f["list"]:
                entry["list"] = True
            if f["map"]:
                entry["map"] = True
            if f["deprecated"]:
                entry["deprecated"] = True
            if f["name"] in out:
                raise SystemExit(f"{commit}: {name}: two fields named {f['name']}")
            out[f["name"]] = entry
    return {
        "root": ROOT_MESSAGE,
        "messages": {k: dict(sorted(v.items())) for k, v in sorted(messages.items())},
        "enums": dict(sorted(enums.items())),
    }


def cross_check(api: str, commit: str, out: dict) -> list[str]:
    """Holds the parse to the OpenAPI schema istio/api generates from the same protos
    (`mesh/v1alpha1/istio.mesh.v1alpha1.gen.json`, when the commit has it): the same field
    names in every message, lists and maps where it has arrays and objects, and the same
    scalar kinds. Returns the disagreements."""
    text = subprocess.run(["git", "-C", api, "show", f"{commit}:mesh/v1alpha1/istio.mesh.v1alpha1.gen.json"],
                          capture_output=True, text=True)
    if text.returncode != 0:
        return []
    schemas = json.loads(text.stdout)["components"]["schemas"]

    def properties(schema: dict) -> dict:
        found = dict(schema.get("properties", {}))
        for branch in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(branch, []):
                found.update(properties(sub))
        return found

    scalar = {"string": "string", "duration": "string", "bytes": "string", "bool": "boolean",
              "integer": "integer", "number": "number"}
    problems = []
    for name, fields in out["messages"].items():
        schema = schemas.get(f"{PACKAGE}.{name}")
        if schema is None:
            problems.append(f"{name}: not in the generated schema")
            continue
        theirs = properties(schema)
        if set(theirs) != set(fields):
            problems.append(f"{name}: fields {sorted(set(fields) ^ set(theirs))} differ")
            continue
        for key, field in fields.items():
            spec = theirs[key]
            if field.get("list"):
                kind, spec = "array", spec.get("items", {})
            elif field.get("map"):
                kind, spec = "object", spec.get("additionalProperties", {})
            else:
                kind = None
            if kind and theirs[key].get("type") != kind:
                problems.append(f"{name}.{key}: {theirs[key].get('type')} there, {kind} here")
            want = scalar.get(field["type"])
            if want and spec.get("type") not in (want, None):
                problems.append(f"{name}.{key}: {spec.get('type')} there, {field['type']} here")
    return problems


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    istio, api = sys.argv[1:]
    files: dict[str, tuple[str, str, dict]] = {}  # the facts as JSON -> (file, first commit, facts)
    rows = []
    for tag in RELEASES:
        commit = pinned_api(istio, tag, api)
        found = facts(api, commit)
        problems = cross_check(api, commit, found)
        if problems:
            print(f"{tag} ({commit}): the parse disagrees with istio/api's generated schema:",
                  *problems, sep="\n  ", file=sys.stderr)
            return 1
        key = json.dumps(found)
        files.setdefault(key, (f"{commit[:12]}.json", commit, found))
        rows.append(f"{tag} {commit} {files[key][0]}\n")
    # Written only once every release has parsed and agreed.
    OUT.mkdir(parents=True, exist_ok=True)
    for name, commit, found in files.values():
        (OUT / name).write_text(json.dumps({"commit": commit, **found}, indent=1) + "\n")
    (OUT / "releases.txt").write_text("".join(rows))
    for stale in set(p.name for p in OUT.glob("*.json")) - {name for name, _, _ in files.values()}:
        (OUT / stale).unlink()
    print(f"{len(rows)} releases, {len(files)} distinct sets of fields in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
