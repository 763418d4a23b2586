#!/usr/bin/env python3
"""Proof that an upgrade equals a fresh install: for pairs of platforms A -> B (one typed field
changed at a time, and patch releases), a cluster holding a fresh install of A, taken through the
steps of `meshgen plan --base <A> --format json`, must hold the objects a fresh install of B
holds, hook-applied objects included.

The cluster is a model: objects keyed by (group, kind, namespace, name), each with its owner (a
release, `manifests`, a hook, `crds`). Helm is modelled as it behaves, on the charts rendered by
the Helm library itself (helm-python-sdk's offline render):
- install: the chart's `crds/` created when absent, pre-install hooks, the rendered objects,
  post-install hooks; a hook Job applies the `custom-resources.yaml` of the ConfigMap it mounts
  (what 1.0's and 0.6's jobs run with kubectl); `crd-install` hooks are skipped, as Helm 3 does;
- upgrade: pre-/post-upgrade hooks only; the release's objects replaced by the new render, the
  ones no longer rendered deleted; `crds/` untouched;
- uninstall: the release's objects deleted (CRDs stay); a release nobody uninstalls stays;
- `kubectl apply` adds or replaces and never deletes; `kubectl delete` deletes; labels change.
Through Flux, the HelmReleases and the Kustomization of the manifests (prune: true) reconcile
B by themselves; the steps the plan marks as not Flux's are applied on top.

Offline (default): the miniature charts of tests/fixtures/helm-charts, vendored by `meshgen
vendor` as tests/helm/harness.py does. With `--remote MIRROR`: the real charts of istio/istio.
Usage: transitions.py MESHGEN_BINARY [--remote MIRROR] [--only SUBSTRING] [--self-test]
Prints one line per failed transition, then `N passed, N failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import helm_python as helm  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

import harness  # noqa: E402
import k8s  # noqa: E402

ROOT = harness.ROOT
yaml = YAML(typ="safe", pure=True)
tally = k8s.Tally()
check = tally.check

# Kinds the API server serves without a namespace (the rest are namespaced, unless their CRD
# says `scope: Cluster`).
CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                 "PodSecurityPolicy", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                 "PriorityClass", "StorageClass", "APIService", "PersistentVolume"}
# Labels and annotations Helm and Flux write for their own bookkeeping.
MANAGED = re.compile(r"^(heritage|release|app\.kubernetes\.io/managed-by|meta\.helm\.sh/.*|helm\.toolkit\.fluxcd\.io/.*"
                     r"|kustomize\.toolkit\.fluxcd\.io/.*)$")


# ---------------------------------------------------------------------------------------------
# The cluster and Helm


@dataclass
class Release:
    chart: Path
    namespace: str
    objects: set = field(default_factory=set)


@dataclass
class Cluster:
    objects: dict = field(default_factory=dict)  # key -> (owner, body)
    releases: dict = field(default_factory=dict)  # (name, namespace) -> Release
    log: list = field(default_factory=list)

    def scope_namespaced(self, obj: dict) -> bool:
        kind = obj.get("kind")
        if kind in CLUSTER_KINDS:
            return False
        for owner, crd in self.objects.values():
            spec = crd.get("spec") or {}
            if crd.get("kind") == "CustomResourceDefinition" and spec.get("group") == k8s.group_of(obj) \
                    and (spec.get("names") or {}).get("kind") == kind:
                return spec.get("scope", "Namespaced") != "Cluster"
        return True

    def key(self, obj: dict, namespace: str) -> tuple:
        meta = obj.get("metadata") or {}
        ns = (meta.get("namespace") or namespace) if self.scope_namespaced(obj) else ""
        return (k8s.group_of(obj), obj.get("kind"), ns, meta.get("name"))

    def apply(self, objs: list[dict], owner: str, namespace: str) -> list[tuple]:
        """kubectl apply: each object created or replaced, nothing deleted."""
        keys = []
        for obj in objs:
            key = self.key(obj, namespace)
            body = copy.deepcopy(obj)
            if key[2]:
                body.setdefault("metadata", {})["namespace"] = key[2]
            self.objects[key] = (owner, body)
            keys.append(key)
        return keys

    def delete(self, keys) -> None:
        for key in list(keys):
            self.objects.pop(key, None)
            if key[1] == "Namespace":
                # Deleting a namespace deletes everything in it.
                for other in [k for k in self.objects if k[2] == key[3]]:
                    self.objects.pop(other)

    def ensure_namespace(self, namespace: str) -> None:
        key = ("", "Namespace", "", namespace)
        if key not in self.objects:
            self.objects[key] = ("create-namespace", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": namespace}})


def render(chart: Path, release: str, namespace: str, values: dict, upgrade: bool,
           post_render: list[str] | None) -> tuple[list[dict], list[dict], list[dict]]:
    """(objects, hooks, crds/ objects) of a chart, rendered by the Helm library."""
    with helm.Chart.load(chart) as c:
        out = c.render(values, name=release, namespace=namespace, is_install=not upgrade, is_upgrade=upgrade)
        crds = [d for f in c.crds for d in k8s.objects(f["data"] if isinstance(f["data"], str) else f["data"].decode())]
    objs, hooks = [], []
    for path, text in sorted(out.items()):
        if path.endswith(("NOTES.txt", ".tpl")):
            continue
        for obj in k8s.objects(text):
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            (hooks if "helm.sh/hook" in annotations else objs).append(obj)
    if post_render is not None and objs:
        stream = "".join("---\n" + json.dumps(o) + "\n" for o in objs)
        done = subprocess.run(post_render, input=stream, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"post-render failed: {done.stderr.strip()}")
        objs = k8s.objects(done.stdout)
    return objs, hooks, crds


def run_hooks(cluster: Cluster, event: str, hooks: list[dict], objs: list[dict], release: str, namespace: str) -> None:
    """The hooks of one event, as Helm runs them: each hook object created; a Job applies the
    `custom-resources.yaml` (any `*.yaml` its command names) of the ConfigMaps it mounts; objects
    with `hook-succeeded` are deleted once done, the others stay (owned by no release)."""
    for hook in hooks:
        annotations = hook["metadata"].get("annotations") or {}
        events = [e.strip() for e in str(annotations.get("helm.sh/hook", "")).split(",")]
        if event not in events:
            continue
        keys = cluster.apply([hook], f"hook:{release}", namespace)
        cluster.log.append(f"hook {event} {k8s.describe(hook)}")
        if hook.get("kind") == "Job":
            spec = hook["spec"]["template"]["spec"]
            mounts = {m["name"]: m["mountPath"] for c in spec.get("containers") or [] for m in c.get("volumeMounts") or []}
            words = [w for c in spec.get("containers") or [] for w in (c.get("command") or []) + (c.get("args") or [])]
            for volume in spec.get("volumes") or []:
                name = (volume.get("configMap") or {}).get("name")
                where = mounts.get(volume.get("name"))
                if not name or not where:
                    continue
                config = next((o for o in objs + hooks if o.get("kind") == "ConfigMap" and o["metadata"]["name"] == name), None)
                for word in words:
                    if str(word).startswith(where.rstrip("/") + "/") and str(word).endswith(".yaml") and config:
                        applied = k8s.objects((config.get("data") or {}).get(Path(str(word)).name) or "")
                        cluster.apply(applied, f"hook:{release}", namespace)
                        cluster.log.append(f"hook {event} applied {[k8s.describe(o) for o in applied]}")
        if "hook-succeeded" in str(annotations.get("helm.sh/hook-delete-policy", "")):
            cluster.delete(keys)


def helm_install(cluster: Cluster, release: str, chart: Path, namespace: str, values: dict,
                 post_render: list[str] | None = None) -> None:
    if (release, namespace) in cluster.releases:
        raise RuntimeError(f"helm install {release}: the release exists already")
    objs, hooks, crds = render(chart, release, namespace, values, False, post_render)
    cluster.ensure_namespace(namespace)
    for crd in crds:  # Helm creates the CRDs of crds/ that are absent, and leaves the others
        if cluster.key(crd, "") not in cluster.objects:
            cluster.apply([crd], "crds", "")
    run_hooks(cluster, "pre-install", hooks, objs, release, namespace)
    keys = cluster.apply(objs, f"release:{release}", namespace)
    cluster.releases[(release, namespace)] = Release(chart, namespace, set(keys))
    run_hooks(cluster, "post-install", hooks, objs, release, namespace)
    cluster.log.append(f"helm install {release} {chart}")


def helm_upgrade(cluster: Cluster, release: str, chart: Path, namespace: str, values: dict,
                 post_render: list[str] | None = None, install: bool = False, crds: str = "Skip") -> None:
    """`helm upgrade`; `crds` is helm-controller's `upgrade.crds` policy: Helm itself skips
    `crds/` on upgrade, `CreateReplace` creates or replaces each of them."""
    if (release, namespace) not in cluster.releases:
        if install:
            return helm_install(cluster, release, chart, namespace, values, post_render)
        raise RuntimeError(f"helm upgrade {release}: no such release in {namespace}")
    objs, hooks, chart_crds = render(chart, release, namespace, values, True, post_render)
    if crds == "CreateReplace":
        cluster.apply(chart_crds, "crds", "")
    run_hooks(cluster, "pre-upgrade", hooks, objs, release, namespace)
    old = cluster.releases[(release, namespace)]
    keys = set(cluster.apply(objs, f"release:{release}", namespace))
    cluster.delete(old.objects - keys)
    cluster.releases[(release, namespace)] = Release(chart, namespace, keys)
    run_hooks(cluster, "post-upgrade", hooks, objs, release, namespace)
    cluster.log.append(f"helm upgrade {release} {chart}")


def helm_uninstall(cluster: Cluster, release: str, namespace: str) -> None:
    found = cluster.releases.pop((release, namespace), None)
    if found is None:
        raise RuntimeError(f"helm uninstall {release}: no such release in {namespace}")
    cluster.delete(found.objects)
    cluster.log.append(f"helm uninstall {release}")


def snapshot(cluster: Cluster) -> dict:
    """The cluster's objects as compared: Helm's and Flux's bookkeeping labels and annotations
    dropped, namespaces without labels left out (a namespace `--create-namespace` made, or one
    whose injection label came off, is the user's, not meshgen's state)."""
    out = {}
    for key, (_, body) in cluster.objects.items():
        body = copy.deepcopy(body)
        meta = body.get("metadata") or {}
        for part in ("labels", "annotations"):
            kept = {k: v for k, v in (meta.get(part) or {}).items() if not MANAGED.match(str(k))}
            if kept:
                meta[part] = kept
            else:
                meta.pop(part, None)
        if key[1] == "Namespace" and not meta.get("labels"):
            continue
        body.pop("apiVersion", None)  # one object, whichever version it was written at
        out[key] = body
    return out


def differences(got: dict, want: dict) -> list[str]:
    out = []
    for key in sorted(set(got) | set(want), key=str):
        name = f"{key[1]} {key[2] + '/' if key[2] else ''}{key[3]}"
        if key not in want:
            out.append(f"{name}: left over (fresh install of B has none)")
        elif key not in got:
            out.append(f"{name}: missing (fresh install of B has it)")
        elif not harness.same(got[key], want[key]):
            why = harness.first_difference(got[key], want[key])
            for theirs, ours in (("meshgen meant", "upgraded has"), ("helm read", "fresh B has"),
                                 ("only in meshgen", "only after the upgrade"), ("only in helm", "only in fresh B")):
                why = why.replace(theirs, ours)
            out.append(f"{name}: differs: {why}")
    return out


# ---------------------------------------------------------------------------------------------
# Repositories and meshgen


class Repo:
    """A GitOps repository of one platform: platform file, vendored charts, meshgen.yaml."""

    def __init__(self, binary: str, path: Path, remote: str, cache: Path):
        self.binary, self.path, self.remote, self.cache = binary, path, remote, cache
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        out = subprocess.run(["git", "-c", "user.name=transitions", "-c", "user.email=t@example.com", *args],
                             cwd=self.path, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout.strip()

    def meshgen(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *args], input=stdin, capture_output=True, text=True, cwd=self.path,
                              env={**__import__("os").environ, "MESHGEN_CACHE_DIR": str(self.cache)})

    def write(self, doc: dict) -> None:
        (self.path / "platforms").mkdir(exist_ok=True)
        for old in (self.path / "platforms").glob("*.yaml"):
            old.unlink()
        with open(self.path / "platforms" / f"{doc['metadata']['name']}.yaml", "w") as f:
            yaml.dump(doc, f)
        for args in (("vendor", "--remote", self.remote, "--prune"), ("generate",)):
            out = self.meshgen(*args)
            if out.returncode != 0:
                raise RuntimeError(f"meshgen {args[0]}: {out.stderr.strip()}")

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def values(self, platform: str, gateway: str | None = None, canary: bool = False) -> dict:
        args = ["values", "--platform", platform] + (["--gateway", gateway] if gateway else []) \
            + (["--canary"] if canary else [])
        out = self.meshgen(*args)
        if out.returncode != 0:
            raise RuntimeError(f"meshgen {' '.join(args)}: {out.stderr.strip()}")
        return helm.values_from_yaml(out.stdout)

    def text(self, *args: str) -> str:
        out = self.meshgen(*args)
        if out.returncode != 0:
            raise RuntimeError(f"meshgen {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout


def fresh_install(repo: Repo, platform: str) -> Cluster:
    """What the values header says, in its order: each `helm install`, and `meshgen manifests`
    where it stands (first, or right after the release whose CRDs its custom resources need)."""
    cluster = Cluster()
    header = repo.text("values", "--platform", platform)
    manifests = k8s.objects(repo.text("manifests", "--platform", platform))
    namespace = yaml.load(header).get("global", {}).get("istioNamespace") if False else None
    # Helm 3's set only: the header repeats the installs for Helm 4.
    lines = []
    for line in header.splitlines():
        if not line.startswith("#") or line.startswith(("# With Helm 4", "# Uninstall", "# Pod anti-affinity")):
            if lines:
                break
            continue
        if lines or "Install, in this order" in line or line.startswith("# First the objects"):
            lines.append(line)
    for line in lines:
        m = re.match(r"#\s+(helm install .*|meshgen manifests .*)$", line)
        if not m:
            continue
        command = m.group(1).split("  #")[0].strip()
        if command.startswith("meshgen manifests"):
            cluster.apply(manifests, "manifests", namespace or "default")
            continue
        run_helm(cluster, repo, platform, command)
    return cluster


def run_helm(cluster: Cluster, repo: Repo, platform: str, command: str) -> None:
    """A `helm install|upgrade|uninstall` command line of the header or the plan."""
    words = shlex.split(command)
    verb = words[1]
    opts = {"--namespace": "default"}
    positional = []
    i = 2
    flags = set()
    while i < len(words):
        w = words[i]
        if w in ("--namespace", "-n", "-f", "--values", "--post-renderer", "--post-renderer-args", "--version"):
            opts[{"-n": "--namespace", "--values": "-f"}.get(w, w)] = words[i + 1]
            i += 2
            continue
        if w.startswith("--namespace="):
            opts["--namespace"] = w.split("=", 1)[1]
        elif w.startswith("-"):
            flags.add(w)
        else:
            positional.append(w)
        i += 1
    namespace = opts["--namespace"]
    if verb == "uninstall":
        return helm_uninstall(cluster, positional[0], namespace)
    release, chart = positional[0], positional[1]
    values_file = Path(opts.get("-f", "values.yaml")).name
    gateway = values_file.removeprefix("gateway-").removesuffix(".yaml") if values_file.startswith("gateway-") else None
    # A canary control plane's own file: istiod-<revision>.yaml (`meshgen values --canary`).
    values = repo.values(platform, gateway, canary=values_file.startswith("istiod-"))
    post = [repo.binary, "post-render", "--platform", platform] if "--post-renderer" in opts else None
    chart_path = repo.path / chart
    if verb == "install":
        helm_install(cluster, release, chart_path, namespace, values, post)
    elif verb == "upgrade":
        helm_upgrade(cluster, release, chart_path, namespace, values, post, install="--install" in flags or "-i" in flags)
    else:
        raise RuntimeError(f"unknown helm command: {command}")


def kubectl(cluster: Cluster, repo: Repo, platform: str, step: dict) -> None:
    """A kubectl step of the plan: apply (meshgen manifests, or files of the repository),
    delete (its objects, or what the command names), label."""
    command = step.get("command") or ""
    namespace = step.get("namespace") or ""
    action = step["action"]
    if action in ("kubectl-apply", "crd-apply"):
        objs = []
        if "meshgen manifests" in command:
            objs = k8s.objects(repo.text("manifests", "--platform", platform))
        for word in shlex.split(command.replace("|", " ")):
            path = repo.path / word
            if word not in ("-", ".") and path.exists() and word not in ("apply",):
                files = sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
                objs += [o for f in files for o in k8s.objects(f.read_text())]
        owner = "crds" if action == "crd-apply" else "manifests"
        cluster.apply(objs, owner, namespace or "default")
        return
    if action == "kubectl-delete":
        targets = step.get("objects") or []
        if targets == ["CustomResourceDefinition/*"]:
            return delete_crds(cluster, command)
        keys = []
        for target in targets:
            kind, _, name = target.partition("/")
            keys += [k for k in cluster.objects if k[1].lower() == kind.lower() and k[3] == name
                     and (not namespace or k[2] in (namespace, ""))]
        if not targets:
            m = re.match(r"kubectl delete (\S+) (\S+)(?: (?:-n|--namespace)[ =](\S+))?", command)
            if m:
                for kind in m.group(1).split(","):
                    keys += [k for k in cluster.objects if k[1].lower() in (kind.lower(), kind.lower().rstrip("s"))
                             and k[3] == m.group(2) and (not m.group(3) or k[2] == m.group(3))]
        cluster.delete(keys)
        return
    if action == "kubectl-label":
        m = re.match(r"kubectl label (?:namespace|ns) (\S+) (\S+?)(-|=(\S+))?(?: |$)", command)
        if not m:
            raise RuntimeError(f"unreadable label step: {command}")
        key = ("", "Namespace", "", m.group(1))
        owner, body = cluster.objects.get(key, ("user", {"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": m.group(1)}}))
        labels = body["metadata"].setdefault("labels", {})
        if m.group(3) == "-":
            labels.pop(m.group(2), None)
        else:
            labels[m.group(2)] = m.group(4)
        cluster.objects[key] = (owner, body)
        return
    raise RuntimeError(f"not a kubectl step: {action}")


def delete_crds(cluster: Cluster, command: str) -> None:
    """`kubectl get crd -o name | grep -E A [| grep -vE B] | xargs kubectl delete`: the CRDs whose
    `customresourcedefinition.apiextensions.k8s.io/NAME` the greps pass, and with each, every
    resource of its group and kind (the API server deletes them with it)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages = [[]]
    for token in lexer:
        if token == "|":
            stages.append([])
        else:
            stages[-1].append(token)
    if stages[0][:3] != ["kubectl", "get", "crd"] or stages[-1][:3] != ["xargs", "kubectl", "delete"]:
        raise RuntimeError(f"unreadable CRD deletion: {command}")
    crds = [k for k in cluster.objects if k[1] == "CustomResourceDefinition"]
    for stage in stages[1:-1]:
        if stage[:1] != ["grep"] or stage[1] not in ("-E", "-vE"):
            raise RuntimeError(f"unreadable CRD deletion stage {stage}: {command}")
        pattern = re.compile(stage[2])
        keep = stage[1] == "-E"
        crds = [k for k in crds
                if bool(pattern.search(f"customresourcedefinition.apiextensions.k8s.io/{k[3]}")) == keep]
    doomed = set(crds)
    for key in crds:
        spec = cluster.objects[key][1].get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        doomed |= {k for k in cluster.objects if k[0] == spec.get("group") and k[1] == kind}
    cluster.delete(doomed)


def apply_step(cluster: Cluster, repo: Repo, platform: str, step: dict) -> None:
    action = step["action"]
    if action in ("helm-install", "helm-upgrade", "helm-uninstall"):
        return run_helm(cluster, repo, platform, step["command"].split("  #")[0].strip())
    if action.startswith("kubectl-") or action == "crd-apply":
        return kubectl(cluster, repo, platform, step)
    if action in ("restart", "backup", "kubernetes-upgrade", "manual"):
        cluster.log.append(f"{action}: {step.get('command') or step.get('why')}")
        return
    raise RuntimeError(f"unknown plan action {action}")


def flux_reconcile(cluster: Cluster, repo: Repo, platform: str, manifests_before: set) -> None:
    """What Flux does by itself with B's objects: each HelmRelease installed or upgraded (a
    HelmRelease gone from git is pruned and its release uninstalled) and the Kustomization of the
    manifests applied, pruning what it applied before and no longer holds. Without such a
    Kustomization, the manifests are part of flux.yaml, applied (and pruned) alike."""
    flux = k8s.objects(repo.text("flux", "--platform", platform, "--git-url", "https://git.example.com/fleet.git"))
    wanted = {}
    for hr in (o for o in flux if o.get("kind") == "HelmRelease"):
        spec = hr["spec"]
        name = spec.get("releaseName") or hr["metadata"]["name"]
        namespace = spec.get("targetNamespace") or hr["metadata"].get("namespace")
        wanted[(name, namespace)] = (repo.path / spec["chart"]["spec"]["chart"], spec.get("values") or {},
                                     bool(spec.get("postRenderers")), (spec.get("upgrade") or {}).get("crds", "Skip"))
    for key in [k for k in cluster.releases if k not in wanted]:
        helm_uninstall(cluster, *key)
    # Flux's dependsOn: base, istiod, gateways; the header's order is the same.
    for (name, namespace), (chart, values, post, crds) in wanted.items():
        post_cmd = [repo.binary, "post-render", "--platform", platform] if post else None
        helm_upgrade(cluster, name, chart, namespace, values, post_cmd, install=True, crds=crds)
    manifests = k8s.objects(repo.text("manifests", "--platform", platform))
    keys = set(cluster.apply(manifests, "manifests", "default"))
    cluster.delete({k for k in manifests_before - keys if cluster.objects.get(k, ("",))[0] == "manifests"
                    and k[1] != "Namespace"})


def manifest_keys(cluster: Cluster) -> set:
    return {k for k, (owner, _) in cluster.objects.items() if owner == "manifests"}


# ---------------------------------------------------------------------------------------------
# The transitions


def variants(doc: dict, line: str) -> list[tuple[str, dict, dict]]:
    """(label, A, B) pairs: one typed field of `doc` changed at a time, both ways."""
    spec = doc["spec"]
    pairs = []

    def pair(label: str, change_a, change_b):
        a, b = copy.deepcopy(doc), copy.deepcopy(doc)
        change_a(a["spec"])
        change_b(b["spec"])
        pairs.append((label, a, b))
        pairs.append((label + " (back)", copy.deepcopy(b), copy.deepcopy(a)))

    def setter(**kv):
        def apply(s):
            for k, v in kv.items():
                if v is None:
                    s.pop(k, None)
                else:
                    s[k] = copy.deepcopy(v)
        return apply

    if line == "1.0":
        pair("mtls permissive -> strict", setter(mtls="permissive"), setter(mtls="strict"))
        pair("grafana on", setter(addons=None), setter(addons={"grafana": {"enabled": True}}))
        pair("k8s ingress gateway off", setter(kubernetesIngressGateway=None), setter(kubernetesIngressGateway=False))
    if line == "1.11":
        pair("mtls disabled -> strict", setter(mtls="disabled"), setter(mtls="strict"))
        pair("mtls unset -> permissive", setter(mtls=None), setter(mtls="permissive"))
    pair("egress off", setter(egressGateway={"enabled": True}), setter(egressGateway={"enabled": False}))
    pair("extra gateway", setter(gateways=None),
         setter(gateways=[{"name": "internal-gateway", "serviceType": "ClusterIP"}]))
    pair("high availability", setter(highAvailability=None), setter(highAvailability={"replicas": 2}))
    pair("pod security policy", setter(podSecurityPolicy=None),
         setter(podSecurityPolicy={"enabled": True, "serviceAccounts": ["default:default"]}))
    pair("injection namespaces", setter(sidecarInjection={"namespaces": ["default", "shop"]}),
         setter(sidecarInjection={"namespaces": ["default"]}))
    pair("tracing", setter(tracing=False), setter(tracing=True))
    ingress = copy.deepcopy(spec.get("ingressGateway") or {})
    pair("node ports", setter(ingressGateway={**ingress, "serviceType": "NodePort", "nodePorts": {"http2": 31380}}),
         setter(ingressGateway={**ingress, "serviceType": "NodePort", "nodePorts": {"http2": 31480}}))
    # The images' registry: every chart, the miniatures too, renders it.
    pair("spec.values", setter(values=None), setter(values={"global": {"hub": "registry.example.com/istio"}}))
    return pairs


def base_platform(line: str) -> dict:
    doc = harness.platform_doc("kvm")
    doc["metadata"] = {"name": "kvm"}
    doc["spec"]["istio"] = line
    doc["spec"]["kubernetes"] = k8s.kubernetes_for(doc["spec"], line)
    if line == "1.11":
        doc["spec"].pop("podSecurityPolicy", None)
    return doc


USER_GATEWAY = {"apiVersion": "networking.istio.io/v1alpha3", "kind": "Gateway",
                "metadata": {"name": "shop", "namespace": "default"},
                "spec": {"selector": {"istio": "ingressgateway"},
                         "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}


def transition(binary: str, remote: str, work: Path, label: str, a: dict, b: dict, flux: bool) -> None:
    name = a["metadata"]["name"]
    where = f"{label}{' (flux)' if flux else ''}"
    case = work / re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")
    repo = Repo(binary, case / "repo", remote, work / "cache")
    repo.write(a)
    base = repo.commit("A")
    cluster = fresh_install(repo, name)
    # A user's routing, in a CRD both lines define: a change of line must keep it.
    users = [USER_GATEWAY] if label.startswith("reinstall") else []
    cluster.apply(users, "user", "default")
    before = manifest_keys(cluster)
    repo.write(b)
    plan = repo.meshgen("plan", "--base", base, "--format", "json")
    if not check(plan.returncode == 0, f"{where}: meshgen plan exit {plan.returncode}: {plan.stderr.strip()[:400]}"):
        return
    platforms = json.loads(plan.stdout).get("platforms") or []
    steps = [s for p in platforms if p.get("name") == name for s in p.get("steps") or []]
    if flux:
        flux_reconcile(cluster, repo, name, before)
        steps = [s for s in steps if s.get("flux") != "automatic"]
    for step in steps:
        apply_step(cluster, repo, name, step)
    want = fresh_install(repo, name)
    want.apply(users, "user", "default")
    diffs = differences(snapshot(cluster), snapshot(want))
    check(not diffs, f"{where}: after the plan's {len(steps)} step(s) ({', '.join(s['action'] for s in steps)}) "
                     f"the cluster differs from a fresh install of B: {diffs[:4]}")


def self_test(binary: str, remote: str, work: Path, real: bool) -> None:
    """The Helm model against what Helm is known to do, with no plan: an upgrade alone keeps
    `crds/` and runs no post-install hook; an unlisted release stays; kubectl apply deletes
    nothing. Each must make the cluster differ from a fresh install where Helm leaves state
    behind, so that the transitions can fail."""
    doc = base_platform("1.0")
    a, b = copy.deepcopy(doc), copy.deepcopy(doc)
    a["spec"]["egressGateway"] = {"enabled": True}
    b["spec"]["egressGateway"] = {"enabled": False}
    b["spec"]["sidecarInjection"] = {"namespaces": []}
    repo = Repo(binary, work / "self-test" / "repo", remote, work / "cache")
    repo.write(a)
    cluster = fresh_install(repo, "kvm")
    check(("", "Namespace", "", "default") in cluster.objects, "self-test: the injection namespace is applied")
    repo.write(b)
    for command in [l.split("  #")[0].strip()[2:].strip() for l in repo.text("values", "--platform", "kvm").splitlines()
                    if l.startswith("#   helm install") and "--server-side" not in l]:
        run_helm(cluster, repo, "kvm", command.replace("helm install", "helm upgrade", 1))
    cluster.apply(k8s.objects(repo.text("manifests", "--platform", "kvm")), "manifests", "default")
    got, want = snapshot(cluster), snapshot(fresh_install(repo, "kvm"))
    diffs = differences(got, want)
    check(not any(k[3] == "istio-egressgateway" for k in cluster.objects),
          "self-test: helm upgrade deletes what the new render drops (the egress gateway)")
    check(not any("egressgateway" in d for d in diffs), f"self-test: egress off by upgrade equals a fresh install: {diffs[:3]}")
    check(any("Namespace default" in d and "left over" in d for d in diffs),
          f"self-test: kubectl apply leaves the dropped injection namespace's label: {diffs[:3]}")
    # Every change of a transition reaches the fresh install: else its transition proves nothing.
    for line in ("1.0", "1.11"):
        for label, a, b in variants(base_platform(line), line):
            if label.endswith("(back)"):
                continue
            pair = Repo(binary, work / "self-test" / re.sub(r"[^a-z0-9]+", "-", f"{line} {label}"), remote, work / "cache")
            pair.write(a)
            before = snapshot(fresh_install(pair, "kvm"))
            pair.write(b)
            changed = bool(differences(before, snapshot(fresh_install(pair, "kvm"))))
            if real:
                check(changed, f"self-test: {line}: {label}: a fresh install of B differs from one of A")
            elif not changed:
                print(f"note: {line}: {label}: the miniature charts render no difference (the real ones do)")
    # Flux installing a platform from nothing reaches what the header's commands reach.
    for line in ("1.0", "1.11"):
        flux_repo = Repo(binary, work / "self-test" / f"flux-{line}", remote, work / "cache")
        doc = base_platform(line)
        doc["spec"]["gateways"] = [{"name": "internal-gateway", "serviceType": "ClusterIP"}]
        flux_repo.write(doc)
        by_flux = Cluster()
        flux_reconcile(by_flux, flux_repo, "kvm", set())
        diffs = differences(snapshot(by_flux), snapshot(fresh_install(flux_repo, "kvm")))
        check(not diffs, f"self-test: {line}: Flux's install equals the header's: {diffs[:3]}")
    # Hooks: a post-install hook Job's custom resources come at install and never at upgrade.
    hooked = Cluster()
    chart = harness.CHARTS / "1.0/istio"
    helm_install(hooked, "istio", chart, "istio-system", {"global": {"mtls": {"enabled": False}}})
    mode = lambda c: [k8s.mesh_policy_mode(body) for (_, kind, _, _), (_, body) in c.objects.items() if kind == "MeshPolicy"]
    check(mode(hooked) == ["PERMISSIVE"], f"self-test: the unfixed chart's post-install job applies PERMISSIVE: {mode(hooked)}")
    helm_upgrade(hooked, "istio", chart, "istio-system", {"global": {"mtls": {"enabled": True}}})
    check(mode(hooked) == ["PERMISSIVE"], f"self-test: helm upgrade runs no post-install hook: {mode(hooked)}")
    # crds/ (the vendored chart's, moved there by crds-dir-1.0): installed, kept by uninstall.
    vendored = Cluster()
    helm_install(vendored, "istio", repo.path / "vendor/istio/1.0.9/istio", "istio-system", {})
    crds = {k for k, (owner, _) in vendored.objects.items() if owner == "crds"}
    helm_uninstall(vendored, "istio", "istio-system")
    check(bool(crds) and crds <= set(vendored.objects) and len(vendored.objects) == len(crds) + 1,
          f"self-test: helm uninstall leaves crds/ (and the namespace) only: {sorted(vendored.objects)[:5]}")


def miniature_remote(binary: str, work: Path) -> str:
    """The miniature charts committed at their istio/istio paths under release tags, as the
    harness does, plus 1.0.2 and 1.11.4: the same charts, 1.0.2 with its security chart as 1.0.0
    to 1.0.2 write it (no MeshPolicy while mtls is off), and each older tag's CRDs labelled with
    it, so that a patch upgrade has other `crds/` to apply, as the real tags have."""
    harness.vendor_miniatures(binary, work)  # builds work/istio.git with 0.6.0, 1.0.9, 1.11.8
    repo = work / "istio.git"
    git = lambda *a: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *a], cwd=repo,
                                    check=True, capture_output=True)
    for tag, base in (("1.0.2", "1.0.9"), ("1.11.4", "1.11.8")):
        git("checkout", "-q", base)
        for chart in [*repo.rglob("Chart.yaml"), *repo.rglob("requirements.yaml")]:
            chart.write_text(chart.read_text().replace(f"version: {base}", f"version: {tag}"))
        if tag == "1.0.2":
            cm = repo / "install/kubernetes/helm/istio/charts/security/templates/configmap.yaml"
            cm.write_text(cm.read_text().replace('{{- include "mini.meshPermissive" . | indent 4 }}\n', ""))
        for crds in [*repo.glob("install/kubernetes/helm/istio/**/crds.yaml"), *repo.glob("manifests/charts/base/crds/*.yaml")]:
            crds.write_text(crds.read_text().replace("metadata:\n  name:", f"metadata:\n  labels:\n    crds-of: \"{tag}\"\n  name:"))
        git("commit", "-q", "-am", tag)
        git("tag", "-a", tag, "-m", tag)
    return str(repo)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("meshgen")
    parser.add_argument("--remote", help="a mirror of istio/istio: the real charts (default: the miniatures)")
    parser.add_argument("--only", help="only transitions whose label holds this text")
    parser.add_argument("--self-test", action="store_true", help="only the Helm model's own checks")
    opts = parser.parse_args()
    binary = str(Path(opts.meshgen).resolve())
    work = k8s.scratch_dir("meshgen-transitions-")
    remote = opts.remote or miniature_remote(binary, work)
    print(f"Helm library {helm.helm_sdk_version()}, meshgen {binary}, charts from {opts.remote or 'the miniatures'}")
    self_test(binary, remote, work, opts.remote is not None)
    if not opts.self_test:
        cases = []
        for line in ("1.0", "1.11"):
            cases += [(f"{line}: {label}", a, b) for label, a, b in variants(base_platform(line), line)]
        for line, old, new in (("1.0", "1.0.2", "1.0.9"), ("1.11", "1.11.4", "1.11.8")):
            a = base_platform(line)
            a["spec"]["istio"] = old
            a["spec"].pop("mtls", None)
            b = copy.deepcopy(a)
            b["spec"]["istio"] = new
            cases.append((f"{line}: {old} -> {new}", a, b))
        # A canary control plane added beside 1.11.4, then promoted (issue #24).
        stable = base_platform("1.11")
        stable["spec"]["istio"] = "1.11.4"
        stable["spec"].pop("mtls", None)
        stable["spec"]["sidecarInjection"] = {"namespaces": ["default", "shop"]}
        with_canary = copy.deepcopy(stable)
        with_canary["spec"]["canary"] = {"istio": "1.11.8", "namespaces": ["shop"]}
        promoted = copy.deepcopy(stable)
        promoted["spec"]["istio"] = "1.11.8"
        promoted["spec"]["revision"] = "1-11-8"
        cases.append(("1.11: canary added", stable, with_canary))
        cases.append(("1.11: canary promoted", with_canary, promoted))
        # A change of line is a reinstall. On the Flux path every step of it is a person's
        # (the Kustomization suspended meanwhile), so the helm path is the one to run.
        for old, new in (("1.0", "1.11"), ("1.11", "1.0")):
            a, b = base_platform(old), base_platform(new)
            cases.append((f"reinstall: {old} -> {new}", a, b))
        for label, a, b in cases:
            if opts.only and opts.only not in label:
                continue
            for flux in (False,) if label.startswith("reinstall") else (False, True):
                try:
                    transition(binary, remote, work, label, a, b, flux)
                except Exception as e:  # an unexpected shape is a failed transition, not a crash
                    check(False, f"{label}{' (flux)' if flux else ''}: {type(e).__name__}: {str(e)[:400]}")
    print(tally.summary())
    return 1 if tally.failed or not tally.passed else 0


if __name__ == "__main__":
    sys.exit(main())
