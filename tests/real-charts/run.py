#!/usr/bin/env python3
"""The real-chart acceptance run: meshgen against the upstream Istio charts.

Vendors the real charts with `meshgen vendor --remote REMOTE` (a URL, or the path of a mirror
of istio/istio), then for every built-in platform on its own release line and on the other
lines (the Kubernetes version moved to one the line supports, where the platform's is not):

1. installs each chart in the order the values header gives, through the Helm library's install
   action (client dry-run, helm-python-sdk), and checks that no hook was skipped;
2. checks that every custom resource's CRD is installed before it (the chart's `crds/`, an
   earlier chart's, or `meshgen manifests`);
3. validates every built-in object against the Kubernetes OpenAPI schema of the platform's
   Kubernetes version (kubernetes-validate), strictly for the objects meshgen writes or changes
   (`meshgen manifests`, the post-rendered Deployments);
4. pipes the raw stream of each release through `meshgen post-render`, which must accept it;
5. applies the Flux HelmRelease's post-renderer patches with real kustomize (`kubectl
   kustomize`, or `kustomize`), which must accept the stream and agree with `meshgen post-render`.

Each check also runs at the seed documents' exact releases (1.0.0, 1.0.2, 1.11.4; `--release`)
for the platforms of their line, and holds every values file against the charts it installs
(`meshgen check-values`).

Usage: run.py MESHGEN [--remote URL|PATH] [--work DIR] [--line LINE]... [--platform NAME]...
              [--release VERSION]...
Prints one line per failed check and per expected refusal, a table of figures, then
`N passed, N failed, N skipped`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import helm_python as helm

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/helm"))
import k8s  # noqa: E402
import refusals  # noqa: E402

BUILTINS = ["pks", "gke-internal", "aws", "azure", "kvm", "minikube"]
# HA platforms of the post-render tests, on their own line: the Flux patches through kustomize.
HA_FIXTURES = sorted(str(p) for p in (ROOT / "tests/fixtures/postrender/platforms").glob("*.yaml"))
GATEWAY_FIXTURES = sorted(str(p) for p in (ROOT / "tests/fixtures/gateways").glob("*.yaml"))
# Platforms with spec.values (a private registry on 1.0, mesh config on 1.11).
VALUES_FIXTURES = sorted(str(p) for p in (ROOT / "tests/fixtures/values").glob("*.yaml"))
# Platforms with spec.mtls and tracing sampling, on their own line.
MTLS_FIXTURES = sorted(str(p) for p in (ROOT / "tests/fixtures/mtls").glob("*.yaml"))
LINES = ["0.6", "1.0", "1.11"]
# The exact releases the seed documents run (0.6.0 is the line's one release, run as 0.6).
SEED_RELEASES = ["1.0.0", "1.0.2", "1.11.4"]
REFUSALS = refusals.load()
tally = k8s.Tally()
check = tally.check
figures: list[dict] = []


def meshgen(binary: str, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, cwd=cwd)


def kustomize_command() -> list[str] | None:
    """Real kustomize: on PATH, or the kubectl .ci/run installs into the Helm venv."""
    path = f"{os.environ.get('PATH', '')}{os.pathsep}{Path(sys.executable).parent}"
    if found := shutil.which("kustomize", path=path):
        return [found, "build"]
    if found := shutil.which("kubectl", path=path):
        return [found, "kustomize"]
    return None


def kustomize(cmd: list[str], manifest: str, patches: list[dict]) -> subprocess.CompletedProcess:
    """What Flux's helm-controller does with spec.postRenderers[].kustomize.patches."""
    with tempfile.TemporaryDirectory() as d:
        Path(d, "all.yaml").write_text(manifest)
        Path(d, "kustomization.yaml").write_text(json.dumps({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["all.yaml"],
            "patches": patches,
        }))
        return subprocess.run([*cmd, d], capture_output=True, text=True)


def post_render_args(values_text: str) -> list[str] | None:
    """The post-renderer arguments the header's Helm 3 command passes, if it has any."""
    for line in values_text.splitlines():
        if "--post-renderer meshgen" in line and "--post-renderer-args post-render" in line:
            return re.findall(r"--post-renderer-args (\S+)", line)[1:]
    return None


def line_of(istio: str) -> str:
    """The release line of a `spec.istio` value: `1.0.2` -> `1.0`, `1.11` -> `1.11`."""
    return ".".join(istio.split(".")[:2])


def run_case(binary: str, repo: Path, platform: str, istio: str, kustomize_cmd: list[str] | None) -> None:
    label = f"{Path(platform).stem}@{istio}"
    line = line_of(istio)
    own = read_platform(repo, platform)
    kube = k8s.kubernetes_for(own, line)
    own_line = line_of(str(own["istio"])) == line
    sets = ["--istio", istio, "--set", f"spec.kubernetes={kube}"]
    out = meshgen(binary, repo, "values", "--platform", platform, *sets)
    # Refused only where tests/expected-refusals.txt says (another line's platform, a rule of
    # the exact release such as 1.0's mtls before 1.0.3); a listed refusal that stops, fails.
    expected, what = refusals.judge(REFUSALS, Path(platform).stem, istio, out.returncode, out.stderr)
    if not check(expected, what) or out.returncode != 0:
        if expected:
            print(f"{what} (Kubernetes {kube})", flush=True)
            figures.append({"case": label, "kubernetes": kube, "refused": True})
        return
    values_text = out.stdout
    values = helm.values_from_yaml(values_text)
    row = {"case": label, "kubernetes": kube, "charts": 0, "objects": 0, "custom": 0, "crds": 0,
           "skipped_hooks": 0, "schema_errors": 0, "uncovered": 0, "post_render": "ok", "kustomize": "-",
           "mtls": "-", "keys": "-"}
    figures.append(row)

    manifests = meshgen(binary, repo, "manifests", "--platform", platform, *sets)
    if not check(manifests.returncode == 0, f"{label}: meshgen manifests exit {manifests.returncode}: {manifests.stderr.strip()}"):
        return
    installed_kinds: set[tuple[str, str]] = set()
    crds: list[dict] = []
    # Custom resources of the manifests (1.11's PeerAuthentication) are applied after the
    # first chart, istio-base, as the values header says: checked against its CRDs.
    pending = []
    for obj in k8s.objects(manifests.stdout):
        if not k8s.is_builtin(obj, kube):
            pending.append(obj)
            continue
        errors = k8s.schema_errors(obj, kube, strict=True)
        row["schema_errors"] += len(errors)
        check(not errors, f"{label}: meshgen manifests {k8s.describe(obj)}: {errors}")
    mtls = own.get("mtls") if own_line else None
    if line == "1.11" and mtls:
        modes = [o["spec"]["mtls"]["mode"] for o in pending if o.get("kind") == "PeerAuthentication"]
        check(modes == [k8s.PEER_AUTHENTICATION_1_11[mtls]], f"{label}: PeerAuthentication modes {modes}, platform says {mtls}")
        check("after istio-base and before istiod" in values_text, f"{label}: the header does not order the manifests after istio-base")
    elif line == "1.0" and pending:
        # What the charts' post-install jobs applied once (the chart fix custom-resources-jobs-1.0
        # removes them): applied right after the istio release, whose crds/ hold their CRDs.
        check(re.search(r"(?m)^#   helm install istio .*\n#   meshgen manifests ", values_text) is not None,
              f"{label}: the header does not apply the manifests right after the istio release")
    else:
        check(not pending, f"{label}: meshgen manifests holds custom resources on {line}: {[k8s.describe(o) for o in pending]}")
    manifest_crs = list(pending)

    installs = k8s.header_installs(values_text)
    if not check(bool(installs), f"{label}: the values header names no helm install"):
        return
    # Every key of the values file is one the charts of this exact release declare.
    shared = [chart for _, chart, _, values_file in installs if values_file == "values.yaml"]
    if istio != line:
        check(all(f"istio/{istio}/" in chart for chart in shared), f"{label}: the header installs {shared}, not Istio {istio}'s charts")
    values_path = repo / f".values-{Path(platform).stem}-{istio}.yaml"
    values_path.write_text(values_text)
    keys = meshgen(binary, repo, "check-values", *[a for c in shared for a in ("--chart", c)], str(values_path))
    row["keys"] = "ok" if keys.returncode == 0 else "FAIL"
    check(keys.returncode == 0, f"{label}: meshgen check-values against {shared}: {(keys.stdout + keys.stderr).strip()[:600]}")
    pr_args = post_render_args(values_text)
    flux = meshgen(binary, repo, "flux", "--platform", platform, *sets, "--git-url", "https://git.example.com/fleet.git")
    check(flux.returncode == 0, f"{label}: meshgen flux exit {flux.returncode}: {flux.stderr.strip()}")
    releases = {o["metadata"]["name"]: o for o in k8s.objects(flux.stdout) if o.get("kind") == "HelmRelease"}

    services: set[str] = set()
    services_seen: list[dict] = []
    post_rendered: list[dict] = []
    for release, chart, namespace, values_file in installs:
        row["charts"] += 1
        where = f"{label} {release}"
        release_values = values
        if values_file != "values.yaml":
            # An extra gateway's own release (1.11), with its own values file.
            gateway_file = meshgen(binary, repo, "values", "--platform", platform, *sets, "--gateway", release)
            if not check(gateway_file.returncode == 0, f"{where}: meshgen values --gateway exit {gateway_file.returncode}: {gateway_file.stderr.strip()}"):
                continue
            release_values = helm.values_from_yaml(gateway_file.stdout)
        try:
            result = k8s.install(repo / chart, release, namespace, release_values)
        except helm.HelmError as e:
            check(False, f"{where}: Helm install fails: {' '.join(str(e).split())[:500]}")
            continue
        row["skipped_hooks"] += len(result.skipped_hooks)
        check(not result.skipped_hooks, f"{where}: Helm skipped hooks: {result.skipped_hooks[:3]}")
        installed_kinds |= k8s.crd_kinds(result.crds)
        crds += result.crds
        for obj in pending:
            errors = k8s.custom_resource_errors(obj, crds)
            row["schema_errors"] += len(errors)
            check(not errors, f"{where}: meshgen manifests {k8s.describe(obj)}, applied after it: {errors}")
            if obj.get("kind") == "PeerAuthentication":
                row["mtls"] = obj["spec"]["mtls"]["mode"]
        pending = []
        row["crds"] += len(result.crds)
        for crd in result.crds:
            errors = k8s.schema_errors(crd, kube, strict=False)
            row["schema_errors"] += len(errors)
            check(not errors, f"{where}: chart CRD {k8s.describe(crd)}: {errors}")
        duplicates = k8s.duplicate_keys(result.manifest)
        check(not duplicates, f"{where}: {len(duplicates)} document(s) with duplicate keys, which kustomize refuses: {duplicates[:2]}")
        objs = k8s.objects(result.manifest)
        row["objects"] += len(objs)
        services |= {o["metadata"]["name"] for o in objs if o.get("kind") == "Service"}
        services_seen += [o for o in objs if o.get("kind") == "Service"]
        applied = k8s.mesh_policy_objects(objs) if line == "1.0" else None
        if applied is not None:
            # 1.0: what the security chart's post-install job applied (its ConfigMap's
            # custom-resources.yaml) and grafana's Policy come from meshgen manifests, object for
            # object; no post-install hook of the vendored chart renders any more.
            for obj in objs:
                if obj.get("kind") == "ConfigMap" and obj["metadata"]["name"] == "istio-grafana-custom-resources":
                    applied += k8s.objects((obj.get("data") or {}).get("custom-resources.yaml") or "")
            ours = {(o.get("kind"), o["metadata"]["name"]): o for o in manifest_crs
                    if o.get("kind") in ("MeshPolicy", "DestinationRule", "Policy")}
            theirs = {(o.get("kind"), o["metadata"]["name"]): o for o in applied}
            check(sorted(ours) == sorted(theirs), f"{where}: meshgen manifests holds {sorted(ours)}, the chart's jobs applied {sorted(theirs)}")
            for key, obj in theirs.items():
                check(key not in ours or ours[key].get("spec") == obj.get("spec"),
                      f"{where}: meshgen manifests {key} spec {ours.get(key, {}).get('spec')}, the chart's {obj.get('spec')}")
            with helm.Chart.load(repo / chart) as c:
                rendered = c.render(release_values, name=release, namespace=namespace, is_install=True)
            hooks = [f"{path}: {k8s.describe(o)}" for path, text in rendered.items() if not path.endswith("crds.yaml")
                     for o in k8s.objects(text)
                     if "post-install" in str(((o.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", ""))]
            check(not hooks, f"{where}: post-install hooks still render: {hooks}")
            modes = [k8s.mesh_policy_mode(o) for o in ours.values() if o.get("kind") == "MeshPolicy"]
            row["mtls"] = ",".join(modes) or "none"
            want = k8s.MESH_POLICY_1_0.get(mtls or "permissive")
            if version_of(chart) >= (1, 0, 3) or mtls == "strict":
                check(modes == [want], f"{where}: meshgen manifests MeshPolicy modes {modes}, platform wants {want}")
            else:
                check(modes == [], f"{where}: before 1.0.3 the chart applies no MeshPolicy without mtls, yet {modes}")
            for obj in ours.values():
                covered = (k8s.group_of(obj), obj.get("kind")) in installed_kinds
                check(covered, f"{where}: meshgen manifests applies {k8s.describe(obj)} without its CRD")
        for obj in objs:
            if k8s.is_builtin(obj, kube):
                errors = k8s.schema_errors(obj, kube, strict=False)
                row["schema_errors"] += len(errors)
                check(not errors, f"{where}: {k8s.describe(obj)}: {errors}")
            else:
                row["custom"] += 1
                covered = (k8s.group_of(obj), obj.get("kind")) in installed_kinds
                row["uncovered"] += 0 if covered else 1
                check(covered, f"{where}: custom resource {k8s.describe(obj)} has no CRD installed before it")
        installed_kinds |= k8s.crd_kinds(objs)

        # Helm hands the post-renderer the release's stream; meshgen must read every real one.
        # A file outside ./platforms is named by its path (the header names the platform).
        args = pr_args if pr_args is not None and platform in BUILTINS else ["--platform", platform]
        rendered = meshgen(binary, repo, "post-render", *args, *sets, stdin=result.manifest)
        if not check(rendered.returncode == 0, f"{where}: meshgen post-render exit {rendered.returncode}: {rendered.stderr.strip()[:400]}"):
            row["post_render"] = "REFUSED"
            continue
        before = {(o.get("kind"), o["metadata"]["name"]): o for o in objs}
        after = k8s.objects(rendered.stdout)
        post_rendered += after
        changed = [o for o in after if before.get((o.get("kind"), o["metadata"]["name"])) != o]
        for obj in changed:
            errors = k8s.schema_errors(obj, kube, strict=True)
            row["schema_errors"] += len(errors)
            check(not errors, f"{where}: post-rendered {k8s.describe(obj)}: {errors}")
        hr = releases.get(release)
        renderers = (hr or {}).get("spec", {}).get("postRenderers") or []
        patches = [p for r in renderers for p in (r.get("kustomize") or {}).get("patches") or []]
        if not patches:
            continue
        # A required check: without kustomize the Flux patches are unproven, a failure.
        if not check(kustomize_cmd is not None, f"{where}: kustomize is not installed (kubectl or kustomize, "
                     "as .ci/run installs): the Flux post-renderer patches cannot be checked"):
            row["kustomize"] = "not installed"
            continue
        built = kustomize(kustomize_cmd, result.manifest, patches)
        row["kustomize"] = "ok" if built.returncode == 0 else "REFUSED"
        if not check(built.returncode == 0, f"{where}: kustomize refuses the Flux post-renderer patches: {built.stderr.strip()[:400]}"):
            continue
        # Every object, not only those meshgen changed: a patch meshgen leaves out shows too.
        # kustomize drops null fields (`nodePort: null`), as Kubernetes reads them: both sides
        # are compared without them.
        by_kustomize = {(o.get("kind"), o["metadata"]["name"]): k8s.without_nulls(o) for o in k8s.objects(built.stdout)}
        by_meshgen = {(o.get("kind"), o["metadata"]["name"]): k8s.without_nulls(o) for o in after}
        check(by_kustomize.keys() == by_meshgen.keys(),
              f"{where}: Flux's kustomize and meshgen post-render output other objects: "
              f"{sorted(by_kustomize.keys() ^ by_meshgen.keys(), key=str)[:4]}")
        for key in sorted(by_kustomize.keys() & by_meshgen.keys(), key=str):
            check(by_kustomize[key] == by_meshgen[key], f"{where}: Flux's kustomize patches and meshgen post-render disagree on {key}")
    fidelity_checks(label, Path(platform).stem, line, post_rendered, services)
    for name in k8s.services_named(values_text):
        check(name in services, f"{label}: the values comments name a Service `{name}` the charts do not create")
    clashes = k8s.node_port_clashes(services_seen)
    check(not clashes, f"{label}: Services ask for the same node port: {clashes}")
    by_name = {o["metadata"]["name"]: o for o in services_seen}
    for name, want in k8s.gateway_expectations(own, own.get("namespace", "istio-system")).items():
        svc = by_name.get(name)
        if not check(svc is not None, f"{label}: gateway {name} has no Service"):
            continue
        check(svc["metadata"].get("namespace") == want["namespace"], f"{label}: gateway {name} Service in {svc['metadata'].get('namespace')}, platform says {want['namespace']}")
        check(svc["spec"].get("selector") == want["selector"], f"{label}: gateway {name} selects {svc['spec'].get('selector')}, platform says {want['selector']}")


def chart_keys_checks(work: Path, lines: list[str]) -> None:
    """Each line's key list, read off the charts this run vendored (by chart-keys-since.py's
    reading of the tags), is the one data/chart-keys/ compiles into meshgen: the run does not
    take meshgen's own list on trust."""
    spec = importlib.util.spec_from_file_location("chart_keys_since", ROOT / "tests/real-charts/chart-keys-since.py")
    since = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(since)
    for line in lines:
        versions = sorted((d for d in (work / "vendor/istio").iterdir() if line_of(d.name) == line),
                          key=lambda d: tuple(map(int, d.name.split("."))))
        if not check(bool(versions), f"chart keys {line}: nothing vendored for the line"):
            continue
        top = versions[-1]
        read = lambda path, top=top: (top / path).read_text() if (top / path).is_file() else None
        listdir = lambda path, top=top: sorted(p.name for p in (top / path).iterdir()) if (top / path).is_dir() else []
        split = None if line in ("0.6", "1.0") else ["base", "istio-discovery", "istio-ingress", "istio-egress"]
        derived = since.declared_by(read, listdir, "istio" if split is None else None, split)
        pinned = [k for k in (ROOT / f"data/chart-keys/{line}.txt").read_text().splitlines() if k]
        check(sorted(derived) == sorted(pinned),
              f"chart keys {line}: the charts of {top.name} declare {len(derived)} key paths, data/chart-keys/{line}.txt "
              f"{len(pinned)}; only in the charts {sorted(set(derived) - set(pinned))[:5]}, "
              f"only in the list {sorted(set(pinned) - set(derived))[:5]}")
        # `null` in the list is "anything" (or charts of the line that disagree).
        kinds = dict(l.rsplit(" ", 1) for l in (ROOT / f"data/chart-keys/{line}.types.txt").read_text().splitlines() if l)
        wrong = [(k, derived[k], kinds[k]) for k in sorted(derived) if kinds.get(k, "null") != "null" and derived[k] != kinds[k]]
        check(not wrong, f"chart keys {line}: kinds of {top.name}'s defaults (path, charts, list) differ from "
              f"data/chart-keys/{line}.types.txt: {wrong[:5]}")


# Seed 000 (the pks built-in) spreads these Deployments only, on 1.0.
SEED_SPREAD = {"pks": {"1.0": {"istio-pilot", "istio-citadel", "istio-galley"}}}
# Add-on images 0.6 must not run as `latest` (the 0.6.0 release's pins).
PINNED_06 = {"prom/prometheus": "v2.0.0", "prom/statsd-exporter": "v0.5.0"}


def fidelity_checks(label: str, name: str, line: str, objs: list[dict], services: set[str]) -> None:
    """The seeds' HA layout, the autoscaler rule and 0.6's pinned add-ons, on the post-rendered
    objects of every release of a case."""
    deployments = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "Deployment"}
    required = {n for n, d in deployments.items()
                if ((d["spec"]["template"]["spec"].get("affinity") or {}).get("podAntiAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution")}
    want = SEED_SPREAD.get(name, {}).get(line)
    if want is not None:
        check(required == want, f"{label}: required anti-affinity on {sorted(required)}, the seed spreads {sorted(want)}")
    # No autoscaler may scale a required-spread Deployment past its replicas.
    for hpa in (o for o in objs if o.get("kind") == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target in required:
            # 1.11's gateway Deployments leave replicas to their autoscaler's minimum.
            replicas = deployments[target]["spec"].get("replicas") or hpa["spec"].get("minReplicas", 1)
            check(hpa["spec"]["maxReplicas"] <= replicas,
                  f"{label}: autoscaler {hpa['metadata']['name']} may scale {target} to {hpa['spec']['maxReplicas']}, past its {replicas} required-spread replicas")
    if line != "0.6":
        return
    for d in deployments.values():
        for c in d["spec"]["template"]["spec"].get("containers", []):
            repo, _, tag = c.get("image", "").rpartition(":")
            for image, pin in PINNED_06.items():
                if repo.endswith(image):
                    check(tag == pin, f"{label}: {d['metadata']['name']} runs {c['image']}, the 0.6.0 release pinned {pin}")
            for arg in c.get("args", []):
                m = re.match(r"--zipkinURL=http://([^:/]+)", arg)
                if m and any(o.get("kind") == "Deployment" and "zipkin" in o["metadata"]["name"] for o in objs):
                    check(m.group(1) in services, f"{label}: mixer sends spans to `{m.group(1)}`, a Service the charts do not create")


def version_of(chart: str) -> tuple[int, ...]:
    """The Istio version of a vendored chart path (vendor/istio/<version>/<chart>)."""
    m = re.search(r"istio/(\d+)\.(\d+)\.(\d+)/", chart)
    return tuple(int(x) for x in m.groups()) if m else (0,)


def read_platform(repo: Path, ref: str) -> dict:
    path = Path(ref) if ref.endswith(".yaml") else ROOT / "platforms" / f"{ref}.yaml"
    return helm.values_from_yaml(path.read_text())["spec"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("meshgen")
    parser.add_argument("--remote", default=os.environ.get("MESHGEN_ISTIO_REMOTE", "https://github.com/istio/istio.git"),
                        help="a URL, or the path of a mirror of istio/istio [default: $MESHGEN_ISTIO_REMOTE, else "
                             "the public URL, which git's url.<mirror>.insteadOf can redirect]")
    parser.add_argument("--work", help="a directory to vendor into (default: a temporary one)")
    parser.add_argument("--line", action="append", choices=LINES, help="only these release lines")
    parser.add_argument("--platform", action="append", choices=BUILTINS, help="only these platforms")
    parser.add_argument("--release", action="append",
                        help="also run the platforms of this exact release's line at it (repeatable) "
                             f"[default: the seeds' releases {', '.join(SEED_RELEASES)}]")
    opts = parser.parse_args()
    binary = str(Path(opts.meshgen).resolve())
    work = Path(opts.work) if opts.work else k8s.scratch_dir("meshgen-real-")
    work.mkdir(parents=True, exist_ok=True)
    lines = opts.line or LINES
    releases = [r for r in (opts.release or SEED_RELEASES) if line_of(r) in lines]
    started = time.monotonic()
    vendored = meshgen(binary, work, "vendor", "--remote", opts.remote, *lines, *releases)
    if vendored.returncode != 0:
        print(f"FAIL meshgen vendor --remote {opts.remote}: {vendored.stderr.strip()}")
        print("0 passed, 1 failed, 0 skipped")
        return 1
    print(vendored.stderr.strip(), flush=True)
    chart_keys_checks(work, lines)
    # The platforms under test are the built-ins, found by name from the work directory.
    kustomize_cmd = kustomize_command()
    print(f"Helm library {helm.helm_sdk_version()}; kustomize: {' '.join(kustomize_cmd) if kustomize_cmd else 'not installed'}")
    cases = [(p, l) for p in opts.platform or BUILTINS for l in lines]
    fixtures = [] if opts.platform else HA_FIXTURES + GATEWAY_FIXTURES + MTLS_FIXTURES + VALUES_FIXTURES
    cases += [(f, read_platform(work, f)["istio"]) for f in fixtures]
    # Each exact release: the built-ins and fixtures of its line, at that release.
    for release in releases:
        cases += [(p, release) for p in opts.platform or BUILTINS
                  if line_of(str(read_platform(work, p)["istio"])) == line_of(release)]
        cases += [(f, release) for f in fixtures if line_of(str(read_platform(work, f)["istio"])) == line_of(release)]
    for platform, line in cases:
        if line_of(line) not in lines:
            continue
        try:
            run_case(binary, work, platform, line, kustomize_cmd)
        except Exception as e:  # an unexpected shape is a failed case, not a crashed run
            check(False, f"{Path(platform).stem}@{line}: {type(e).__name__}: {e}")
    print(f"\n{'case':<20} {'k8s':<5} {'charts':>6} {'objects':>7} {'CRs':>4} {'CRDs':>4} {'hooks skipped':>13} "
          f"{'CR w/o CRD':>10} {'schema err':>10} {'post-render':>11} {'kustomize':>13} {'mtls':>10} {'keys':>5}")
    for r in figures:
        if r.get("refused"):
            print(f"{r['case']:<20} {r['kubernetes']:<5} refused by meshgen")
            continue
        print(f"{r['case']:<20} {r['kubernetes']:<5} {r['charts']:>6} {r['objects']:>7} {r['custom']:>4} {r['crds']:>4} "
              f"{r['skipped_hooks']:>13} {r['uncovered']:>10} {r['schema_errors']:>10} {r['post_render']:>11} {r['kustomize']:>13} {r['mtls']:>10} {r['keys']:>5}")
    print(f"\n{time.monotonic() - started:.0f} s")
    print(tally.summary())
    return 1 if tally.failed or not tally.passed else 0


if __name__ == "__main__":
    sys.exit(main())
