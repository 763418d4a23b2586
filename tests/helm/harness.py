#!/usr/bin/env python3
"""meshgen against real Helm: values files parsed by Helm's own values reader, miniature
charts vendored by `meshgen vendor` from a git repository laid out as istio/istio is (so the
release patches and chart fixes apply to the traps the miniatures carry) and installed through
the Helm library's install action (client dry-run), the CRDs of every custom resource installed
before it, every built-in object valid against the Kubernetes OpenAPI schema of the platform's
Kubernetes version (strictly for what meshgen writes or changes), and each release's stream
piped through `meshgen post-render`. Helm comes from the PyPI package helm-python-sdk (the Helm
Go library behind a C ABI; offline). Usage: harness.py MESHGEN_BINARY

Prints one line per failed check and per expected refusal, then `N passed, N failed, N skipped`; exits 1 on any failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import helm_python as helm
from ruamel.yaml import YAML

import k8s
import refusals

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "tests/fixtures/helm-charts"
STRESS = ROOT / "tests/fixtures/helm/stress.yaml"
BUILTINS = ["pks", "gke-internal", "aws", "azure", "kvm", "minikube"]
LINES = ["0.6", "1.0", "1.11"]
# Post-render fixtures committed for the post-render tests: HA platforms on 1.0 and 1.11.
HA_FIXTURES = sorted((ROOT / "tests/fixtures/postrender/platforms").glob("*.yaml"))
# Platforms with extra gateways (spec.gateways), on 1.0 and 1.11.
GATEWAY_FIXTURES = sorted((ROOT / "tests/fixtures/gateways").glob("*.yaml"))
# Platforms with spec.values: Helm must read each of those values as the platform file wrote it.
VALUES_FIXTURES = sorted((ROOT / "tests/fixtures/values").glob("*.yaml"))
# Platforms with spec.mtls and tracing sampling, one per line and mode meshgen renders.
MTLS_FIXTURES = sorted((ROOT / "tests/fixtures/mtls").glob("*.yaml"))
# The Deployments meshgen post-render spreads, with the pod labels it selects on: on 1.0 every
# Deployment the values give replicas (no 1.0 chart has an anti-affinity value).
TARGETS = {
    "1.0": {"istio-pilot": {"app": "pilot", "istio": "pilot"},
            "istio-policy": {"istio": "mixer", "istio-mixer-type": "policy"},
            "istio-telemetry": {"istio": "mixer", "istio-mixer-type": "telemetry"},
            "istio-citadel": {"istio": "citadel"},
            "istio-galley": {"istio": "galley"},
            "istio-sidecar-injector": {"istio": "sidecar-injector"},
            "istio-ingressgateway": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
            "istio-egressgateway": {"app": "istio-egressgateway", "istio": "egressgateway"}},
    "1.11": {"istiod": {"app": "istiod", "istio": "pilot"}},
}
# The `highAvailability.components` name of each target (1.11's istiod answers to four).
COMPONENT = {"istio-pilot": {"pilot"}, "istio-policy": {"mixer"}, "istio-telemetry": {"mixer"},
             "istio-citadel": {"citadel"}, "istio-galley": {"galley"},
             "istio-sidecar-injector": {"sidecarInjector"}, "istio-ingressgateway": {"ingressGateway"},
             "istio-egressgateway": {"egressGateway"},
             "istiod": {"pilot", "citadel", "galley", "sidecarInjector"}}
# Where each miniature chart sits in the upstream repository, per release tag.
UPSTREAM = {
    "0.6.0": {"0.6/istio": "install/kubernetes/helm/istio"},
    "1.0.9": {"1.0/istio": "install/kubernetes/helm/istio"},
    "1.11.8": {"1.11/base": "manifests/charts/base",
               "1.11/istio-discovery": "manifests/charts/istio-control/istio-discovery",
               "1.11/istio-ingress": "manifests/charts/gateways/istio-ingress",
               "1.11/istio-egress": "manifests/charts/gateways/istio-egress"},
}
# 0.6's chart has no values.yaml in git: the release build generated it from this template.
TEMPLATE_06 = "install/kubernetes/templates/helm/istio/values.yaml.tmpl"
TOPOLOGY = {"hostname": "kubernetes.io/hostname", "zone": "topology.kubernetes.io/zone"}
GATEWAYS = {"ingressGateway": "istio-ingressgateway", "egressGateway": "istio-egressgateway"}

yaml12 = YAML(typ="safe", pure=True)  # YAML 1.2: what meshgen means
VENDOR = Path()  # the vendored miniature charts, set by main()
REFUSALS = refusals.load()
tally = k8s.Tally()
check = tally.check


def same(a, b) -> bool:
    """Equal values of equal types (True is not 1, "1" is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def first_difference(a, b, path="") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'meshgen' if k in a else 'helm'}"
            if not same(a[k], b[k]):
                return first_difference(a[k], b[k], f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if not same(x, y):
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path}: meshgen meant {a!r} ({type(a).__name__}), helm read {b!r} ({type(b).__name__})"


def meshgen(binary: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, cwd=ROOT)


def platform_doc(ref: str) -> dict:
    """The platform file as meshgen reads it (YAML 1.2)."""
    path = ROOT / ref if (ROOT / ref).exists() else ROOT / "platforms" / f"{ref}.yaml"
    return yaml12.load(path.read_text())


def vendor_miniatures(binary: str, work: Path) -> Path:
    """Commits the miniature charts at their upstream paths under annotated release tags and
    vendors them with `meshgen vendor`; returns the vendor directory."""
    repo = work / "istio.git"
    git = lambda *a, cwd=work: subprocess.run(["git", "-c", "user.name=harness", "-c", "user.email=h@example.com", *a],
                                             cwd=cwd, check=True, capture_output=True)
    git("init", "-q", str(repo))
    for tag, charts in UPSTREAM.items():
        for path in repo.iterdir():
            if path.name != ".git":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        for fixture, upstream in charts.items():
            shutil.copytree(CHARTS / fixture, repo / upstream)
            if tag == "0.6.0":
                template = repo / TEMPLATE_06
                template.parent.mkdir(parents=True, exist_ok=True)
                (repo / upstream / "values.yaml").rename(template)
        git("add", "-A", cwd=repo)
        git("commit", "-q", "-m", tag, cwd=repo)
        git("tag", "-a", tag, "-m", tag, cwd=repo)
    vendor = work / "vendor"
    out = subprocess.run([binary, "vendor", "--remote", str(repo), "--dir", str(vendor),
                          "--cache-dir", str(work / "cache")], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"meshgen vendor of the miniature charts failed: {out.stderr}")
    return vendor


def installs_of(values_text: str, vendor: Path) -> list[tuple[str, Path, str, str]]:
    """(release, vendored chart, namespace, values file) of each `helm install` of the header."""
    return [(release, vendor / chart.removeprefix("vendor/"), namespace, values_file)
            for release, chart, namespace, values_file in k8s.header_installs(values_text)]


def check_values_parse(label: str, text: str, helm_values: dict) -> None:
    meant = yaml12.load(text) or {}
    check(same(meant, helm_values), f"{label}: Helm reads the values as meshgen meant them: "
          + ("" if same(meant, helm_values) else first_difference(meant, helm_values)))


def check_stress_values(label: str, line: str, doc: dict, helm_values: dict) -> None:
    """Every trap string reaches Helm's values as the string it is (keys, and 1.0's values,
    inside their own quotes)."""
    for field, key in GATEWAYS.items():
        want = (doc["spec"].get(field) or {}).get("annotations") or {}
        got = helm_values.get("gateways", {}).get(key, {}).get("serviceAnnotations", {}) or {}
        # The charts print keys raw: a key is the one meant once the template has printed it.
        got = {printed_key(k): v for k, v in got.items()}
        for k, v in want.items():
            seen = got.get(k)
            if line == "1.0" and isinstance(seen, str):
                # 1.0's template prints it raw: what Helm then reads is the value meant.
                seen = helm.values_from_yaml(f"k: {seen}\n").get("k")
            check(isinstance(seen, str) and seen == v,
                  f"{label}: values {key}.serviceAnnotations[{k!r}]: meant {v!r}, Helm reads {seen!r}")


def printed_key(key: str):
    """The key Kubernetes reads once a chart has printed `key` unquoted."""
    try:
        return next(iter(helm.values_from_yaml(f"{key}: 0\n")))
    except helm.HelmError as e:
        return f"<unreadable: {e}>"


def service_checks(label: str, line: str, doc: dict, chart: Path, svc: dict, gateway: str | None) -> None:
    name = svc["metadata"]["name"]
    meta = svc["metadata"]
    for part in ("annotations", "labels"):
        for k, v in (meta.get(part) or {}).items():
            check(isinstance(v, str), f"{label}: Service {name} {part}[{k!r}] is {v!r} ({type(v).__name__}), not a string")
    if not gateway:
        return
    spec_gw = doc["spec"].get(gateway) or {}
    ports = {p.get("name"): p for p in svc["spec"].get("ports") or []}
    # Where the platform put nodePorts, the Service has them.
    for port_name, node_port in (spec_gw.get("nodePorts") or {}).items():
        got = ports.get(port_name, {}).get("nodePort")
        check(got == node_port, f"{label}: Service {name} port {port_name} nodePort {got!r}, platform says {node_port}")
    if spec_gw.get("serviceType"):
        check(svc["spec"].get("type") == spec_gw["serviceType"],
              f"{label}: Service {name} type {svc['spec'].get('type')!r}, platform says {spec_gw['serviceType']}")
    # Every default port of the chart is still there.
    with helm.Chart.load(chart) as c:
        defaults = c.values
    if line == "0.6":
        default_ports = [{"name": "http", "port": 80}, {"name": "https", "port": 443}]
    else:
        default_ports = defaults.get("gateways", {}).get(name, {}).get("ports", [])
    for p in default_ports:
        got = ports.get(p["name"], {}).get("port")
        check(got == p["port"], f"{label}: Service {name} lost default port {p['name']}/{p['port']} (has {got!r})")
    if gateway and line != "0.6":
        want = spec_gw.get("annotations") or {}
        got = meta.get("annotations") or {}
        for k, v in want.items():
            check(got.get(k) == v and isinstance(got.get(k), str),
                  f"{label}: Service {name} annotation {k!r} rendered {got.get(k)!r}, platform says {v!r}")
        extra = [k for k in got if not isinstance(k, str) or (k not in want and not k.startswith(("cloud.google.com", "networking.gke.io", "service.beta.kubernetes.io")))]
        check(not extra, f"{label}: Service {name} has annotations the platform never set: {extra!r}")


def post_render_checks(binary: str, label: str, args: list[str], line: str, doc: dict, kube: str,
                       streams: list[tuple[str, str]]) -> None:
    """Each release's stream through `meshgen post-render`, as Helm hands it over."""
    ha = doc["spec"].get("highAvailability")
    rendered = []
    for release, stream in streams:
        out = meshgen(binary, "post-render", *args, stdin=stream)
        if not check(out.returncode == 0, f"{label} {release}: post-render exit {out.returncode}: {out.stderr.strip()}"):
            return
        if not ha or line == "0.6":
            check(out.stdout == stream, f"{label} {release}: post-render changed a stream it had no reason to change")
            continue
        try:
            after = k8s.objects(out.stdout)
        except helm.HelmError as e:
            check(False, f"{label} {release}: post-render output is not readable: {e}")
            return
        before = k8s.objects(stream)
        for obj in after:
            if obj not in before:
                errors = k8s.schema_errors(obj, kube, strict=True)
                check(not errors, f"{label} {release}: post-rendered {k8s.describe(obj)} against Kubernetes {kube}: {errors}")
        rendered += after
    if not ha or line == "0.6":
        return
    deployments = {d["metadata"]["name"]: d for d in rendered if d.get("kind") == "Deployment"}
    egress_on = (doc["spec"].get("egressGateway") or {}).get("enabled", True)
    targets = dict(TARGETS[line])
    if line == "1.0":
        # Extra gateways are entries of the gateways chart: spread by their own pod labels.
        for name, want in k8s.gateway_expectations(doc["spec"], "").items():
            targets[name] = want["selector"]
    if ha.get("components"):
        named = set(ha["components"])
        targets = {n: l for n, l in targets.items() if COMPONENT.get(n, {"gateways"}) & named}
    if line == "1.0":
        # Every Deployment the values scale is spread: none is left out of the targets.
        scaled = sorted(n for n, d in deployments.items() if d["spec"].get("replicas") == ha["replicas"])
        check(scaled == sorted(n for n in targets if egress_on or n != "istio-egressgateway"),
              f"{label}: Deployments with {ha['replicas']} replicas {scaled}, targets {sorted(targets)}")
    spreading = ha.get("spreading", "required")
    for name, labels in targets.items():
        if name == "istio-egressgateway" and not egress_on:
            check(name not in deployments, f"{label}: the egress gateway is off, yet rendered")
            continue
        d = deployments.get(name)
        if not check(d is not None, f"{label}: post-render output has no Deployment {name}"):
            continue
        check(d["spec"].get("replicas") == ha["replicas"],
              f"{label}: {name} replicas {d['spec'].get('replicas')!r}, platform asks {ha['replicas']}")
        affinity = d["spec"]["template"]["spec"].get("affinity") or {}
        if line == "1.0":
            check("nodeAffinity" in affinity, f"{label}: {name} lost the chart's nodeAffinity")
        topology = TOPOLOGY.get(ha.get("antiAffinity", "hostname"))
        anti = affinity.get("podAntiAffinity") or {}
        required = anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []
        preferred = anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        if topology is None:
            check(not required and not preferred, f"{label}: {name} has anti-affinity although the platform says none")
            continue
        if spreading == "preferred":
            check(not required, f"{label}: {name} has required anti-affinity although the platform prefers")
            terms = [t.get("podAffinityTerm") or {} for t in preferred if t.get("weight") == 100]
        else:
            check(not preferred, f"{label}: {name} has preferred anti-affinity although the platform requires")
            terms = required
        ok = any(t.get("topologyKey") == topology and selects(t.get("labelSelector") or {}, labels) for t in terms)
        check(ok, f"{label}: {name} lacks {spreading} anti-affinity on {topology} selecting {labels}: {anti!r}")


def selects(selector: dict, labels: dict) -> bool:
    """Whether a label selector matches exactly the pods with these labels (and no fewer keys)."""
    match = dict(selector.get("matchLabels") or {})
    for e in selector.get("matchExpressions") or []:
        if e.get("operator") == "In" and len(e.get("values") or []) == 1:
            match[e["key"]] = e["values"][0]
    return match and all(labels.get(k) == v for k, v in match.items())


def check_spec_values(label: str, meant: dict, read, path: str = "") -> None:
    """Every key of spec.values reaches Helm as written (YAML 1.2), types included: maps merged
    into what meshgen sets, lists and scalars as given."""
    for key, value in meant.items():
        where = f"{path}.{key}" if path else key
        got = read.get(key) if isinstance(read, dict) else None
        if isinstance(value, dict) and value:
            if check(isinstance(got, dict), f"{label}: spec.values {where} reaches Helm as a map, got {got!r}"):
                check_spec_values(label, value, got, where)
        else:
            check(same(value, got), f"{label}: spec.values {where}: meant {value!r}, Helm reads {got!r}")


def run_case(binary: str, label: str, *rest) -> None:
    try:
        run_case_checks(binary, label, *rest)
    except Exception as e:  # an unexpected shape is a failed case, not a crashed harness
        check(False, f"{label}: {type(e).__name__}: {e}")


def run_case_checks(binary: str, label: str, args: list[str], doc: dict, line: str, stress: bool) -> None:
    kube = k8s.kubernetes_for(doc["spec"], line)
    if kube != str(doc["spec"].get("kubernetes")):
        args = [*args, "--set", f"spec.kubernetes={kube}"]
    out = meshgen(binary, "values", *args)
    # A refusal passes only where tests/expected-refusals.txt lists it, for the reason listed;
    # a listed one that stops happening fails.
    expected, what = refusals.judge(REFUSALS, label.split("@")[0], line, out.returncode, out.stderr)
    if not check(expected, what) or out.returncode != 0:
        if expected:
            print(what)
        return
    text = out.stdout
    try:
        helm_values = helm.values_from_yaml(text)
    except helm.HelmError as e:
        check(False, f"{label}: Helm cannot read the values: {e}")
        return
    check_values_parse(label, text, helm_values)
    if doc["spec"].get("values"):
        check_spec_values(label, doc["spec"]["values"], helm_values)
    if stress:
        check_stress_values(label, line, doc, helm_values)

    # What meshgen writes besides the charts is held to the schema strictly, and its CRDs count.
    # Its custom resources (1.11's PeerAuthentication) are applied after the first chart, as
    # the header says (after istio-base, which installs their CRDs): checked against the CRDs
    # installed by then, and against their schema.
    extra = meshgen(binary, "manifests", *args)
    if not check(extra.returncode == 0, f"{label}: meshgen manifests exit {extra.returncode}: {extra.stderr.strip()}"):
        return
    installed_kinds: set = set()
    crds: list = []
    pending = []
    for obj in k8s.objects(extra.stdout):
        if not k8s.is_builtin(obj, kube):
            pending.append(obj)
            continue
        errors = k8s.schema_errors(obj, kube, strict=True)
        check(not errors, f"{label}: meshgen manifests {k8s.describe(obj)} against Kubernetes {kube}: {errors}")
        installed_kinds |= k8s.crd_kinds([obj])
    mtls = doc["spec"].get("mtls")
    custom_resources = list(pending)
    if line == "1.11" and mtls:
        modes = [o["spec"]["mtls"]["mode"] for o in pending if o.get("kind") == "PeerAuthentication"]
        check(modes == [k8s.PEER_AUTHENTICATION_1_11[mtls]],
              f"{label}: meshgen manifests PeerAuthentication modes {modes}, platform says {mtls}")
        if "after istio-base and before istiod" not in text:
            check(False, f"{label}: the values header does not order the manifests after istio-base")
    elif line == "1.0" and pending:
        # What the charts' post-install jobs applied once: applied after the istio release,
        # whose crds/ hold their CRDs.
        check(re.search(r"(?m)^#   helm install istio .*\n#   meshgen manifests ", text) is not None,
              f"{label}: the values header does not apply the manifests right after the istio release")
    else:
        check(not pending, f"{label}: meshgen manifests holds custom resources on {line}: {[k8s.describe(o) for o in pending]}")

    installs = installs_of(text, VENDOR)
    check(bool(installs), f"{label}: the values header names no helm install")
    streams = []
    services_seen = []
    own_values: dict[str, dict] = {}
    for release, chart, namespace, values_file in installs:
        where = f"{label} {release}"
        release_values = helm_values
        if values_file != "values.yaml":
            # An extra gateway's own release (1.11): its own values file.
            own = meshgen(binary, "values", *args, "--gateway", release)
            if not check(own.returncode == 0, f"{where}: meshgen values --gateway exit {own.returncode}: {own.stderr.strip()}"):
                continue
            release_values = helm.values_from_yaml(own.stdout)
            own_values[release] = release_values
            check_values_parse(where, own.stdout, release_values)
            check(values_file == f"gateway-{release}.yaml", f"{where}: values file {values_file}")
        try:
            result = k8s.install(chart, release, namespace, release_values)
        except helm.HelmError as e:
            check(False, f"{where}: Helm install fails: {' '.join(str(e).split())[:400]}")
            continue
        check(not result.skipped_hooks, f"{where}: Helm skipped hooks: {result.skipped_hooks[:3]}")
        installed_kinds |= k8s.crd_kinds(result.crds)
        crds += result.crds
        for obj in pending:
            errors = k8s.custom_resource_errors(obj, crds)
            check(not errors, f"{where}: meshgen manifests {k8s.describe(obj)}, applied after it: {errors}")
        pending = []
        mesh_policy_checks(where, line, mtls, k8s.objects(result.manifest), installed_kinds,
                           custom_resources, chart, release_values, release, namespace)
        dups = k8s.duplicate_keys(result.manifest)
        check(not dups, f"{where}: documents with duplicate keys, which kustomize refuses: {dups[:2]}")
        streams.append((release, result.manifest))
        objects = k8s.objects(result.manifest)
        for d in objects:
            if not k8s.is_builtin(d, kube):
                check((k8s.group_of(d), d.get("kind")) in installed_kinds,
                      f"{where}: custom resource {k8s.describe(d)} has no CRD installed before it")
                continue
            errors = k8s.schema_errors(d, kube, strict=False)
            check(not errors, f"{where}: {k8s.describe(d)} against Kubernetes {kube}: {errors}")
            # The schema check reads a null as absent; a label Kubernetes gets as null is not.
            bad = {k: v for k, v in (d["metadata"].get("labels") or {}).items() if not isinstance(v, str)}
            check(not bad, f"{where}: {k8s.describe(d)} labels that are not strings: {bad}")
            if d.get("kind") != "Service":
                continue
            services_seen.append(d)
            name = d["metadata"]["name"]
            gateway = next((f for f, k in GATEWAYS.items() if k == name), None)
            if line == "0.6" and name.endswith("-ingress"):
                gateway = "ingressGateway"
            service_checks(label, line, doc, chart, d, gateway)
        installed_kinds |= k8s.crd_kinds(objects)
    check(any(s.strip() for _, s in streams), f"{label}: the charts rendered nothing")
    clashes = k8s.node_port_clashes(services_seen)
    check(not clashes, f"{label}: Services ask for the same node port: {clashes}")
    by_name = {d["metadata"]["name"]: d for d in services_seen}
    for name, want in k8s.gateway_expectations(doc["spec"], doc["spec"].get("namespace", "istio-system")).items():
        svc = by_name.get(name)
        if not check(svc is not None, f"{label}: gateway {name} has no Service"):
            continue
        got_ns = svc["metadata"].get("namespace", "istio-system")
        check(got_ns == want["namespace"], f"{label}: gateway {name} Service in {got_ns}, platform says {want['namespace']}")
        check(svc["spec"].get("selector") == want["selector"], f"{label}: gateway {name} selects {svc['spec'].get('selector')}, platform says {want['selector']}")
        if want["type"]:
            check(svc["spec"].get("type") == want["type"], f"{label}: gateway {name} type {svc['spec'].get('type')}")
    # 1.0's pilot renders its Kubernetes Ingress Gateway unless spec.kubernetesIngressGateway is false.
    if line == "1.0":
        gateways = {d["metadata"]["name"] for _, s in streams for d in k8s.objects(s) if d.get("kind") == "Gateway"}
        wanted = doc["spec"].get("kubernetesIngressGateway", True) is not False
        check(("istio-autogenerated-k8s-ingress" in gateways) == wanted,
              f"{label}: istio-autogenerated-k8s-ingress {'missing' if wanted else 'rendered'} "
              f"(kubernetesIngressGateway {doc['spec'].get('kubernetesIngressGateway')})")
    services = {d["metadata"]["name"] for _, s in streams for d in k8s.objects(s) if d.get("kind") == "Service"}
    for name in k8s.services_named(text):
        check(name in services, f"{label}: the values comments name a Service `{name}` the charts do not create")
    post_render_checks(binary, label, args, line, doc, kube, streams)
    flux_checks(binary, label, args, helm_values, own_values)


def mesh_policy_checks(where: str, line: str, mtls: str | None, objs: list[dict], installed_kinds: set,
                       manifests: list[dict], chart: Path, values: dict, release: str, namespace: str) -> None:
    """1.0: what the security chart's post-install job applied once (the `custom-resources.yaml`
    of its ConfigMap: the MeshPolicy of the platform's mode, PERMISSIVE by default, and strict's
    DestinationRules) and grafana's Policy now come from `meshgen manifests`, object for object,
    with their CRDs installed by the release; no post-install hook of the vendored chart
    delivers anything any more (the chart fix `custom-resources-jobs-1.0`)."""
    if line != "1.0":
        return
    with helm.Chart.load(chart) as c:
        rendered = c.render(values, name=release, namespace=namespace, is_install=True)
    hooks = [f"{path}: {k8s.describe(o)}" for path, text in rendered.items() if not path.endswith("crds.yaml")
             for o in k8s.objects(text)
             if "post-install" in str(((o.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", ""))]
    check(not hooks, f"{where}: post-install hooks still render: {hooks}")
    applied = k8s.mesh_policy_objects(objs) or []
    for obj in objs:
        if obj.get("kind") == "ConfigMap" and obj["metadata"]["name"] == "istio-grafana-custom-resources":
            applied += k8s.objects((obj.get("data") or {}).get("custom-resources.yaml") or "")
    identity = lambda o: (o.get("kind"), o["metadata"]["name"])
    ours = {identity(o): o for o in manifests if o.get("kind") in ("MeshPolicy", "DestinationRule", "Policy")}
    theirs = {identity(o): o for o in applied}
    check(sorted(ours) == sorted(theirs),
          f"{where}: meshgen manifests holds {sorted(ours)}, the chart's jobs applied {sorted(theirs)}")
    for key, obj in theirs.items():
        if key in ours:
            check(same(ours[key].get("spec"), obj.get("spec")),
                  f"{where}: meshgen manifests {key} differs from the chart's: {first_difference(ours[key].get('spec'), obj.get('spec'))}")
    policies = [o for o in ours.values() if o.get("kind") == "MeshPolicy"]
    want = k8s.MESH_POLICY_1_0[mtls or "permissive"]
    check([k8s.mesh_policy_mode(p) for p in policies] == [want],
          f"{where}: meshgen manifests MeshPolicy modes {[k8s.mesh_policy_mode(p) for p in policies]}, platform wants {want}")
    for obj in ours.values():
        check((k8s.group_of(obj), obj.get("kind")) in installed_kinds,
              f"{where}: meshgen manifests applies {k8s.describe(obj)} without its CRD")
    rules = [o["spec"]["trafficPolicy"]["tls"]["mode"] for o in ours.values() if o.get("kind") == "DestinationRule"]
    check(("ISTIO_MUTUAL" in rules) == (mtls == "strict"),
          f"{where}: DestinationRule modes {rules} for mtls {mtls}")


def flux_checks(binary: str, label: str, args: list[str], helm_values: dict, release_values: dict[str, dict]) -> None:
    """`meshgen flux` objects read as Kubernetes clients read them (sigs.k8s.io/yaml, YAML 1.1
    rules) are the objects meant, and every HelmRelease carries the values Helm reads from the
    values file."""
    out = meshgen(binary, "flux", *args, "--git-url", "https://git.example.com/fleet.git")
    if not check(out.returncode == 0, f"{label}: meshgen flux exit {out.returncode}: {out.stderr.strip()}"):
        return
    parts = [p for p in re.split(r"(?m)^---\s*$", out.stdout)
             if p.strip() and not all(l.strip().startswith("#") or not l.strip() for l in p.splitlines())]
    releases = 0
    for part in parts:
        read = helm.values_from_yaml(part)
        meant = yaml12.load(part)
        check(same(meant, read), f"{label}: flux object read as meant: "
              + ("" if same(meant, read) else first_difference(meant, read)))
        if read.get("kind") == "HelmRelease":
            releases += 1
            values = read["spec"]["values"]
            want = release_values.get(read["spec"]["releaseName"], helm_values)
            check(same(values, want), f"{label}: HelmRelease {read['metadata']['name']} carries its values file's values: "
                  + ("" if same(values, want) else first_difference(values, want)))
    check(releases > 0, f"{label}: meshgen flux printed no HelmRelease")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = str(Path(sys.argv[1]).resolve())
    print(f"Helm library {helm.helm_sdk_version()}, meshgen {binary}")
    global VENDOR
    work = k8s.scratch_dir("meshgen-harness-")
    VENDOR = vendor_miniatures(binary, work)
    for name in BUILTINS:
        doc = platform_doc(name)
        for line in LINES:
            run_case(binary, f"{name}@{line}", ["--platform", name, "--istio", line], doc, line, False)
    for path in HA_FIXTURES + GATEWAY_FIXTURES + MTLS_FIXTURES:
        doc = platform_doc(str(path.relative_to(ROOT)))
        line = doc["spec"]["istio"]
        run_case(binary, path.stem, ["--platform", str(path)], doc, line, False)
    for path in VALUES_FIXTURES:
        doc = platform_doc(str(path.relative_to(ROOT)))
        run_case(binary, path.stem, ["--platform", str(path)], doc, doc["spec"]["istio"], False)
    stress = json.loads(STRESS.read_text())
    for line in ["1.0", "1.11"]:
        run_case(binary, f"stress@{line}", ["--platform", str(STRESS), "--istio", line], stress, line, True)
    print(tally.summary())
    return 1 if tally.failed or not tally.passed else 0


if __name__ == "__main__":
    sys.exit(main())
