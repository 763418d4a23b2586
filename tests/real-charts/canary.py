#!/usr/bin/env python3
"""Canary control planes on the real 1.11 charts (issue #24).

Vendors the releases of the canary fixtures (tests/fixtures/canary/) with `meshgen vendor
--remote REMOTE`, then for each fixture renders every release of its values header through
the Helm library's install action (client dry-run), once with the values files `meshgen
values` writes (`--canary`, `--gateway`) and once with the values of the HelmReleases `meshgen
flux` writes, and checks on what the charts render:

1. no two releases render an object of one kind, namespace and name;
2. exactly one release ships CRDs (istio-base);
3. over every combination of namespace labels (`istio-injection` absent/enabled/disabled x
   `istio.io/rev` absent/default/each revision) and pod labels (`sidecar.istio.io/inject`
   absent/true/false x `istio.io/rev` absent/default/each revision), at most one webhook of
   the rendered MutatingWebhookConfigurations injects the pod;
4. each namespace of `sidecarInjection.namespaces`, labelled as `meshgen manifests` labels it,
   has a plain pod injected by exactly one webhook, the one of the control plane the platform
   file gives it (the canary's for the canary's namespaces);
5. each gateway's discovery address `istiod[-<rev>]` is a Service and its `istio[-<rev>]`
   ConfigMap is a ConfigMap of a rendered istiod;
6. each istiod release's raw stream passes `meshgen post-render`; with high availability, each
   istiod Deployment is spread over its own revision's pods.

Usage: canary.py MESHGEN [--remote URL|PATH] [--work DIR]
Prints one line per failed check, a table of figures, then `N passed, N failed, N skipped`;
exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import helm_python as helm

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/helm"))
import k8s  # noqa: E402

FIXTURES = sorted((ROOT / "tests/fixtures/canary").glob("*.yaml"))
tally = k8s.Tally()
check = tally.check
INJECT = "sidecar.istio.io/inject"
REV = "istio.io/rev"
LEGACY = "istio-injection"


def meshgen(binary: str, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], cwd=cwd, input=stdin, capture_output=True, text=True)


def matches(selector: dict | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against labels."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels[key] in values,
            "NotIn": not present or labels[key] not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True


def injecting(webhooks: list[tuple[str, dict]], ns: dict[str, str], pod: dict[str, str]) -> list[str]:
    """The webhooks (configuration/name -> service) that would inject a pod."""
    return [f"{config}/{w['name']}->{(w.get('clientConfig') or {}).get('service', {}).get('name')}"
            for config, w in webhooks
            if matches(w.get("namespaceSelector"), ns) and matches(w.get("objectSelector"), pod)]


def label_sets(key_values: dict[str, list[str | None]]) -> list[dict[str, str]]:
    keys = list(key_values)
    out = []
    for combo in itertools.product(*(key_values[k] for k in keys)):
        out.append({k: v for k, v in zip(keys, combo) if v is not None})
    return out


def render_releases(repo: Path, installs, values_of) -> dict[str, k8s.Install]:
    rendered = {}
    for release, chart, namespace, values_file in installs:
        rendered[release] = k8s.install(repo / chart, release, namespace, values_of(release, values_file))
    return rendered


def guarantees(label: str, platform: dict, rendered: dict[str, k8s.Install], manifests: list[dict]) -> dict:
    figures = {"releases": len(rendered), "objects": 0, "webhooks": 0, "combinations": 0}
    owners: dict[tuple, str] = {}
    for release, result in rendered.items():
        for obj in k8s.objects(result.manifest):
            figures["objects"] += 1
            meta = obj.get("metadata") or {}
            key = (obj.get("kind"), meta.get("namespace", ""), meta.get("name"))
            check(key not in owners, f"{label}: {key} rendered by {owners.get(key)} and {release}")
            owners.setdefault(key, release)
    with_crds = [r for r, result in rendered.items() if result.crds]
    check(len(with_crds) == 1, f"{label}: releases shipping CRDs: {with_crds}")

    objs = [o for result in rendered.values() for o in k8s.objects(result.manifest)]
    webhooks = [(o["metadata"]["name"], w) for o in objs if o.get("kind") == "MutatingWebhookConfiguration"
                for w in o.get("webhooks") or []]
    figures["webhooks"] = len(webhooks)
    revisions = sorted({w[1].get("clientConfig", {}).get("service", {}).get("name", "").removeprefix("istiod").lstrip("-")
                        for w in webhooks} - {""}) + ["default"]
    for ns in label_sets({LEGACY: [None, "enabled", "disabled"], REV: [None, *revisions]}):
        for pod in label_sets({INJECT: [None, "true", "false"], REV: [None, *revisions]}):
            figures["combinations"] += 1
            found = injecting(webhooks, ns, pod)
            check(len(found) <= 1, f"{label}: namespace {ns} pod {pod} injected by {found}")

    spec = platform["spec"]
    canary = spec.get("canary") or {}
    canary_rev = canary["istio"].replace(".", "-") if canary else None
    stable_service = f"istiod-{spec['revision']}" if spec.get("revision") else "istiod"
    labels = {o["metadata"]["name"]: o["metadata"].get("labels") or {} for o in manifests if o.get("kind") == "Namespace"}
    for ns in (spec.get("sidecarInjection") or {}).get("namespaces") or []:
        want = f"istiod-{canary_rev}" if ns in (canary.get("namespaces") or []) else stable_service
        found = injecting(webhooks, labels.get(ns, {}), {})
        services = [f.split("->")[1] for f in found]
        check(services == [want], f"{label}: namespace {ns} ({labels.get(ns)}) injected by {found}, wants {want}")

    services = {o["metadata"]["name"] for o in objs if o.get("kind") == "Service"}
    config_maps = {o["metadata"]["name"] for o in objs if o.get("kind") == "ConfigMap"}
    gateways = [o for o in objs if o.get("kind") == "Deployment" and "gateway" in o["metadata"]["name"]]
    check(bool(gateways), f"{label}: no gateway rendered")
    for gw in gateways:
        pod = gw["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for c in pod["containers"] for e in c.get("env") or []}
        address = env.get("CA_ADDR", "")
        check(address.split(".")[0] in services, f"{label}: {gw['metadata']['name']} connects to {address}, no such istiod Service")
        check(address.split(".")[0] == stable_service, f"{label}: {gw['metadata']['name']} connects to {address}, not the stable {stable_service}")
        mounted = [v["configMap"]["name"] for v in pod.get("volumes") or [] if "configMap" in v]
        # The mesh config of the stable control plane; istiod writes istio-ca-root-cert itself.
        mesh_config = stable_service.replace("istiod", "istio", 1)
        check(mesh_config in mounted and mesh_config in config_maps,
              f"{label}: {gw['metadata']['name']} mounts {mounted}, wants {mesh_config}, rendered {sorted(config_maps)}")
    return figures


def post_render_checks(binary: str, repo: Path, label: str, fixture: str, platform: dict,
                       installs, rendered: dict[str, k8s.Install]) -> None:
    for release, _, _, _ in installs:
        if not release.startswith("istiod"):
            continue
        out = meshgen(binary, repo, "post-render", "--platform", fixture, stdin=rendered[release].manifest)
        if not check(out.returncode == 0, f"{label} {release}: meshgen post-render exit {out.returncode}: {out.stderr.strip()[:300]}"):
            continue
        ha = platform["spec"].get("highAvailability")
        if not ha:
            continue
        rev = release.removeprefix("istiod").lstrip("-") or "default"
        deployment = next(o for o in k8s.objects(out.stdout) if o.get("kind") == "Deployment" and o["metadata"]["name"] == release)
        terms = (deployment["spec"]["template"]["spec"].get("affinity") or {}).get("podAntiAffinity", {}) \
            .get("requiredDuringSchedulingIgnoredDuringExecution") or []
        selectors = [t["labelSelector"] for t in terms]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        check(bool(selectors) and all(matches(s, pod_labels) for s in selectors),
              f"{label} {release}: anti-affinity {selectors} does not select its own pods {pod_labels}")
        other = dict(pod_labels, **{REV: "someone-else"})
        check(all(not matches(s, other) for s in selectors),
              f"{label} {release}: anti-affinity {selectors} also selects another revision's istiod")
        check(deployment["spec"].get("replicas") == ha["replicas"], f"{label} {release}: replicas {deployment['spec'].get('replicas')}")
        del rev


def run_fixture(binary: str, repo: Path, fixture: Path) -> list[dict]:
    name = fixture.stem
    rel = f"platforms/{fixture.name}"
    platform = helm.values_from_yaml((repo / rel).read_text())
    values = meshgen(binary, repo, "values", "--platform", rel)
    if not check(values.returncode == 0, f"{name}: meshgen values exit {values.returncode}: {values.stderr.strip()}"):
        return []
    installs = k8s.header_installs(values.stdout)
    manifests_out = meshgen(binary, repo, "manifests", "--platform", rel)
    check(manifests_out.returncode == 0, f"{name}: meshgen manifests: {manifests_out.stderr.strip()}")
    manifests = k8s.objects(manifests_out.stdout)

    def file_values(release: str, values_file: str) -> dict:
        if values_file == "values.yaml":
            return helm.values_from_yaml(values.stdout)
        flag = ["--canary"] if values_file.startswith("istiod-") else ["--gateway", release]
        out = meshgen(binary, repo, "values", "--platform", rel, *flag)
        if out.returncode != 0:
            raise RuntimeError(f"meshgen values {flag}: {out.stderr.strip()}")
        return helm.values_from_yaml(out.stdout)

    flux = meshgen(binary, repo, "flux", "--platform", rel, "--git-url", "https://git.example.com/fleet.git")
    check(flux.returncode == 0, f"{name}: meshgen flux: {flux.stderr.strip()}")
    releases = {o["spec"]["releaseName"]: o for o in k8s.objects(flux.stdout) if o.get("kind") == "HelmRelease"}
    check(sorted(releases) == sorted(r for r, *_ in installs),
          f"{name}: HelmReleases {sorted(releases)}, header installs {[r for r, *_ in installs]}")
    for release, chart, _, _ in installs:
        hr = releases.get(release)
        if hr:
            check(hr["spec"]["chart"]["spec"]["chart"] == f"./{chart}",
                  f"{name} {release}: HelmRelease chart {hr['spec']['chart']['spec']['chart']}, header {chart}")

    rows = []
    for path, values_of in [("helm", file_values),
                            ("flux", lambda release, _: releases[release]["spec"]["values"])]:
        label = f"{name} ({path})"
        try:
            rendered = render_releases(repo, installs, values_of)
        except (helm.HelmError, RuntimeError, KeyError) as e:
            check(False, f"{label}: {' '.join(str(e).split())[:500]}")
            continue
        figures = guarantees(label, platform, rendered, manifests)
        if path == "helm":
            post_render_checks(binary, repo, label, rel, platform, installs, rendered)
        rows.append({"case": label, **figures})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("meshgen")
    parser.add_argument("--remote", default=os.environ.get("MESHGEN_ISTIO_REMOTE", "https://github.com/istio/istio.git"))
    parser.add_argument("--work", help="a directory to vendor into (default: a temporary one)")
    opts = parser.parse_args()
    binary = str(Path(opts.meshgen).resolve())
    repo = Path(opts.work) if opts.work else k8s.scratch_dir("meshgen-canary-")
    (repo / "platforms").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for fixture in FIXTURES:
        # A repository's platform is named after its file.
        text = fixture.read_text()
        name = helm.values_from_yaml(text)["metadata"]["name"]
        (repo / "platforms" / fixture.name).write_text(
            text.replace(f"\n  name: {name}\n", f"\n  name: {fixture.stem}\n", 1))
    vendored = meshgen(binary, repo, "vendor", "--remote", opts.remote)
    if vendored.returncode != 0:
        print(f"FAIL meshgen vendor --remote {opts.remote}: {vendored.stderr.strip()}")
        print("0 passed, 1 failed, 0 skipped")
        return 1
    print(vendored.stderr.strip(), flush=True)
    rows = []
    for fixture in FIXTURES:
        try:
            rows += run_fixture(binary, repo, fixture)
        except Exception as e:  # an unexpected shape is a failed case, not a crashed run
            check(False, f"{fixture.stem}: {type(e).__name__}: {e}")
    print(f"\n{'case':<28} {'releases':>8} {'objects':>7} {'webhooks':>8} {'label combinations':>18}")
    for r in rows:
        print(f"{r['case']:<28} {r['releases']:>8} {r['objects']:>7} {r['webhooks']:>8} {r['combinations']:>18}")
    print(f"\n{time.monotonic() - started:.0f} s")
    print(tally.summary())
    return 1 if tally.failed or not tally.passed else 0


if __name__ == "__main__":
    sys.exit(main())
