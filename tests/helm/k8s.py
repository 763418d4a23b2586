"""What a cluster would make of a Helm install, offline: the install action of the Helm library
(client dry-run) with the hooks it skipped, the objects read as Kubernetes clients read them,
custom resources against the CRDs installed before them, and built-in objects against the
Kubernetes OpenAPI schema of a Kubernetes version (PyPI kubernetes-validate, 1.10 to 1.21).

Shared by the offline harness (tests/helm/harness.py) and the real-chart acceptance run
(tests/real-charts/run.py).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import helm_python as helm
import jsonschema
import kubernetes_validate
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError

# jsonschema's RefResolver still resolves the schema files' relative $refs; its successor
# needs a registry per file set for the same result.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"jsonschema|k8s")

# YAML 1.2 with duplicate keys refused: what kustomize (Flux's post-renderers) accepts.
_strict = YAML(typ="safe", pure=True)

# The Kubernetes versions each line runs on (model/release_line.rs), and the one a platform moves
# to when its own is outside them.
WORKS = {"0.6": ("1.9", "1.15"), "1.0": ("1.9", "1.15"), "1.11": ("1.16", "1.24")}
MOVE_TO = {"0.6": "1.10", "1.0": "1.11", "1.11": "1.21"}


def kubernetes_for(spec: dict, line: str) -> str:
    """The platform's Kubernetes version, or the one it moves to when the line cannot run on it."""
    kube = str(spec.get("kubernetes") or MOVE_TO[line])
    lo, hi = WORKS[line]
    return kube if minor_of(lo) <= minor_of(kube) <= minor_of(hi) else MOVE_TO[line]


def scratch_dir(prefix: str) -> Path:
    """A temporary directory removed when the run exits, passed or failed: the CI machine's disk
    is shared, and a run that leaves its vendored charts behind fills it (pass --work to keep one)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


class Tally:
    """Counts checks; prints each failed one."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.skipped = 0  # checks a runner could not make here: counted, never silent

    def check(self, ok: bool, what: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}", flush=True)
        return ok

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


SKIPPED_HOOK = re.compile(r"skipping unknown hooks?.*", re.IGNORECASE)


@dataclass
class Install:
    """One chart installed through Helm's install action in client dry-run mode."""

    manifest: str
    crds: list[dict]
    skipped_hooks: list[str] = field(default_factory=list)


def install(chart: Path, release: str, namespace: str, values: dict) -> Install:
    """Runs the install action and keeps what the Helm library logs about skipped hooks (the
    library logs to the process's stderr, so fd 2 is redirected around the call)."""
    with tempfile.TemporaryFile(mode="w+b") as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            config = helm.Config(namespace=namespace, storage_driver="memory")
            try:
                release_info = config.install(str(chart), release, values, namespace=namespace,
                                              dry_run="client", create_namespace=True)
            finally:
                config.close()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        logged = log.read().decode("utf-8", "replace")
    with helm.Chart.load(chart) as c:
        crds = [d for f in c.crds for d in objects(f["data"] if isinstance(f["data"], str) else f["data"].decode())]
    skipped = [m.group(0) for m in SKIPPED_HOOK.finditer(logged)]
    return Install(manifest=release_info["manifest"], crds=crds, skipped_hooks=skipped)


def split_documents(text: str) -> list[str]:
    parts = re.split(r"(?m)^---[ \t]*(?:#.*)?$", text)
    return [p for p in parts if p.strip() and not all(
        l.strip().startswith("#") or not l.strip() for l in p.splitlines())]


def objects(text: str) -> list[dict]:
    """The objects of a stream as a Kubernetes client reads them (sigs.k8s.io/yaml), the items
    of a `List` in its place, as kubectl and Helm apply them."""
    found = []
    for obj in (helm.values_from_yaml(p) for p in split_documents(text)):
        if obj and obj.get("kind") == "List" and obj.get("apiVersion") == "v1":
            found += [item for item in obj.get("items") or [] if item]
        elif obj:
            found.append(obj)
    return found


def duplicate_keys(text: str) -> list[str]:
    """Each document holding a duplicate mapping key (kustomize refuses such a stream)."""
    found = []
    for part in split_documents(text):
        try:
            _strict.load(part)
        except DuplicateKeyError as e:
            found.append(" ".join(str(e).split())[:300])
    return found


def crd_kinds(crds: list[dict]) -> set[tuple[str, str]]:
    """(group, kind) of each CustomResourceDefinition."""
    kinds = set()
    for crd in crds:
        if crd.get("kind") == "CustomResourceDefinition":
            spec = crd.get("spec") or {}
            kinds.add((spec.get("group"), (spec.get("names") or {}).get("kind")))
    return kinds


def group_of(obj: dict) -> str:
    api = obj.get("apiVersion", "")
    return api.split("/")[0] if "/" in api else ""


SCHEMA_DIR = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
# Every version ships a strict set (no unknown fields); the lax reading is derived from it, as
# 1.10 ships no lax set.
def minor_of(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split(".")[:2])


SCHEMA_VERSIONS = sorted({m.group(1) for d in SCHEMA_DIR.iterdir()
                          if (m := re.match(r"v(\d+\.\d+)\.0-local-strict$", d.name))}, key=minor_of)


def schema_version(kubernetes: str) -> str:
    """The newest schema set not newer than `kubernetes` (the oldest one for older clusters)."""
    older = [v for v in SCHEMA_VERSIONS if minor_of(v) <= minor_of(kubernetes)]
    return older[-1] if older else SCHEMA_VERSIONS[0]


@functools.lru_cache(maxsize=None)
def _load(path: Path, strict: bool):
    schema = json.loads(path.read_text())
    return schema if strict else _lax(schema)


def _lax(node):
    if isinstance(node, dict):
        return {k: _lax(v) for k, v in node.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(node, list):
        return [_lax(v) for v in node]
    return node


def _schema_file(obj: dict, kubernetes: str) -> Path:
    # rbac.authorization.k8s.io/v1 -> rbac-v1, as the schema files are named.
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj.get("apiVersion", ""))
    return SCHEMA_DIR / f"v{schema_version(kubernetes)}.0-local-strict" / f"{str(obj.get('kind')).lower()}-{api}.json"


def is_builtin(obj: dict, kubernetes: str) -> bool:
    """Whether the API server of that version serves the object's kind at its apiVersion."""
    return _schema_file(obj, kubernetes).is_file()


def without_nulls(node):
    """The API server reads a null field as an absent one."""
    if isinstance(node, dict):
        return {k: without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [without_nulls(v) for v in node]
    return node


def schema_errors(obj: dict, kubernetes: str, strict: bool) -> list[str]:
    """Problems of a built-in object against the OpenAPI schema (strict: no unknown fields)."""
    path = _schema_file(obj, kubernetes)
    resolver = jsonschema.RefResolver(
        base_uri=path.parent.as_uri() + "/", referrer=_load(path, strict),
        handlers={"file": lambda uri: _load(Path(uri[len("file://"):]), strict)})
    validator = jsonschema.Draft4Validator(resolver.referrer, resolver=resolver)
    errors = sorted(validator.iter_errors(without_nulls(obj)), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(object)'}: {e.message[:300]}" for e in errors[:5]]


def describe(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {meta.get('name')} ({obj.get('apiVersion')})"


def services_named(values_text: str) -> list[str]:
    """The Services a values file's comments say the charts create (`its Service `name``)."""
    return re.findall(r"its Service `([^`]+)`", values_text)


def header_installs(values_text: str) -> list[tuple[str, str, str, str]]:
    """(release, chart path, namespace, values file) of each `helm install` line of a values
    header, once each (the header prints one set per Helm major)."""
    installs = []
    for line in values_text.splitlines():
        if not line.startswith("#"):
            break
        m = re.match(r"#\s+helm install (\S+) (\S+) --namespace (\S+).* -f (\S+)", line)
        if m and m.groups() not in installs:
            installs.append(m.groups())
    return installs


def gateway_expectations(spec: dict, namespace: str) -> dict[str, dict]:
    """What each `spec.gateways` entry must become: its Service's namespace and selector."""
    expected = {}
    for gateway in spec.get("gateways") or []:
        labels = {"app": gateway["name"], "istio": gateway["name"], **(gateway.get("labels") or {})}
        expected[gateway["name"]] = {"namespace": gateway.get("namespace", namespace), "selector": labels,
                                     "type": gateway.get("serviceType")}
    return expected


def node_port_clashes(services: list[dict]) -> list[str]:
    """Node ports two Services ask for (the second cannot be created)."""
    seen: dict[int, str] = {}
    clashes = []
    for svc in services:
        for port in svc.get("spec", {}).get("ports") or []:
            node_port = port.get("nodePort")
            if node_port is None:
                continue
            owner = f"{svc['metadata']['name']}/{port.get('name')}"
            if node_port in seen:
                clashes.append(f"{node_port}: {seen[node_port]} and {owner}")
            else:
                seen[node_port] = owner
    return clashes


def crd_of(crds: list[dict], obj: dict) -> dict | None:
    """The CustomResourceDefinition among `crds` that serves `obj`'s group and kind."""
    for crd in crds:
        spec = crd.get("spec") or {}
        if crd.get("kind") == "CustomResourceDefinition" and spec.get("group") == group_of(obj) \
                and (spec.get("names") or {}).get("kind") == obj.get("kind"):
            return crd
    return None


def custom_resource_errors(obj: dict, crds: list[dict]) -> list[str]:
    """A custom resource against its CRD: the version served, and the version's
    openAPIV3Schema where the CRD has one (v1 CRDs; 1.0's v1beta1 ones carry none)."""
    crd = crd_of(crds, obj)
    if crd is None:
        return [f"no CRD for {describe(obj)}"]
    version = obj.get("apiVersion", "").split("/")[-1]
    spec = crd["spec"]
    versions = spec.get("versions") or [{"name": spec.get("version"), "served": True}]
    served = [v for v in versions if v.get("name") == version and v.get("served")]
    if not served:
        return [f"{describe(obj)}: CRD {crd['metadata']['name']} serves no version {version}"]
    schema = (served[0].get("schema") or spec.get("validation") or {}).get("openAPIV3Schema")
    if not schema:
        return []
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(object)'}: {e.message[:300]}"
            for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))[:5]]


# What each mode of `spec.mtls` makes the 1.0 chart apply (the MeshPolicy's peer mode: a peer
# `mtls` without mode is STRICT), and the 1.11 PeerAuthentication mode meshgen writes.
MESH_POLICY_1_0 = {"strict": "STRICT", "permissive": "PERMISSIVE"}
PEER_AUTHENTICATION_1_11 = {"disabled": "DISABLE", "permissive": "PERMISSIVE", "strict": "STRICT"}


def mesh_policy_objects(objs: list[dict]) -> list[dict] | None:
    """The objects 1.0's security post-install job applies: the `custom-resources.yaml` of the
    ConfigMap istio-security-custom-resources; None when the chart renders no such ConfigMap."""
    for obj in objs:
        if obj.get("kind") == "ConfigMap" and obj["metadata"]["name"] == "istio-security-custom-resources":
            return objects((obj.get("data") or {}).get("custom-resources.yaml") or "")
    return None


def mesh_policy_mode(policy: dict) -> str:
    """The peer mode of a 1.0 MeshPolicy: STRICT for `mtls: {}`, else its mode; NONE without peers."""
    peers = (policy.get("spec") or {}).get("peers") or []
    for peer in peers:
        if "mtls" in peer:
            return (peer.get("mtls") or {}).get("mode") or "STRICT"
    return "NONE"
