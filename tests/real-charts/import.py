#!/usr/bin/env python3
"""`meshgen import` against Istio's own operator inputs and the real 1.11 charts (issue #22).

1. The corpus: every `operator/cmd/mesh/testdata/manifest-generate/input/*.yaml` of istio/istio
   1.11.8, imported with the IstioOperator profiles of that tag. Each must either import (exit
   0, a platform that `meshgen validate` and `meshgen values` accept) or be refused (exit 1,
   nothing on stdout, the first error located `FILE:LINE:COL`): never a crash, never half
   output. Prints the counts: imported, refused by reason.
2. Seed 001's two IstioOperators (tests/fixtures/import/seed-001/), imported for Istio 1.11.4
   with that tag's profiles read from git (no --profiles), vendored with `meshgen vendor --remote` and rendered through the
   real charts (the Helm library's install action, client dry-run): a public
   `istio-ingressgateway` Service, an internal `ilb-gateway` Service in `default` with GKE's
   internal load balancer annotation, no egress gateway, the demo profile's mesh config
   (access log to /dev/stdout) and trace sampling 100.

Usage: import.py MESHGEN [--remote URL|PATH] [--work DIR]
Prints one line per failed check, the counts, then `N passed, N failed, N skipped`; exits 1 on
any failure.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tarfile
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/helm"))
import k8s  # noqa: E402  (the harness's module: Helm's install action, the shared tally)

CORPUS = "operator/cmd/mesh/testdata/manifest-generate/input"
SEED = ROOT / "tests/fixtures/import/seed-001"
LOCATED = re.compile(r"^(?P<file>[^\n:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): (?P<why>.*)$")


tally = k8s.Tally()
check = tally.check


def meshgen(binary: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)


def extract(remote: str, tag: str, paths: list[str], into: Path) -> None:
    """The files under `paths` at `tag` of the remote, through a shallow fetch of the tag."""
    git = into / ".git-fetch"
    subprocess.run(["git", "init", "-q", "--bare", str(git)], check=True)
    subprocess.run(["git", "-C", str(git), "fetch", "-q", "--depth", "1", "--no-tags", remote,
                    f"refs/tags/{tag}:refs/tags/{tag}"], check=True)
    archive = subprocess.run(["git", "-C", str(git), "archive", "--format=tar", tag, *paths],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def reason(why: str) -> str:
    """A refusal's reason without the field's own words: what it was refused as."""
    why = re.sub(r"^the profile sets (\S+) \([^)]*\): ", r"profile sets \1: ", why)
    why = re.sub(r"^imported as \S+: ", "value checks: ", why)
    why = re.sub(r"`[^`]*`", "`...`", why)
    return why.split(":")[0] if not why.startswith("value checks") else "value checks: " + why.split(": ")[1][:60]


FATES = {"default", "mapped", "passed-through", "refused"}


def account(binary: str, src: Path, path: Path, rel: str, name: str, profiles: Path, code: int) -> None:
    """The accounting of one input (`--report json`, on stderr beside any errors): every field
    located in the input with one fate; an imported input refuses none, a refused one some."""
    out = meshgen(binary, src, "import", "--profiles", str(profiles), "--istio", "1.11.8",
                  "--kubernetes", "1.21", "--name", name, "--report", "json", rel)
    start = 0 if out.stderr.startswith("[") else out.stderr.find("\n[") + 1
    try:
        fields = json.JSONDecoder().raw_decode(out.stderr, start)[0] if start or out.stderr[:1] == "[" else []
    except json.JSONDecodeError as e:
        check(False, f"{path.name}: --report json does not parse: {e}")
        return
    fates = collections.Counter(f.get("fate") for f in fields)
    check(out.returncode == code, f"{path.name}: --report changed the exit code")
    check(set(fates) <= FATES, f"{path.name}: unknown fates {set(fates) - FATES}")
    located = all(f.get("file") and f.get("line", 0) >= 1 and f.get("col", 0) >= 1 for f in fields)
    check(located, f"{path.name}: a field of the report is not located")
    if code == 0:
        check(len(fields) > 0 and fates["refused"] == 0, f"{path.name}: imported, but the report has {dict(fates)}")
    if code == 1 and fields:
        check(fates["refused"] > 0, f"{path.name}: refused, but its report refuses no field")
    summary = ", ".join(f"{fates[f]} {f}" for f in sorted(FATES) if fates[f])
    print(f"  {path.name}: {len(fields)} fields: {summary or 'refused before the fields were read'}")


def corpus(binary: str, work: Path, remote: str) -> None:
    src = work / "corpus"
    src.mkdir()
    extract(remote, "1.11.8", ["manifests/profiles", CORPUS], src)
    profiles = src / "manifests/profiles"
    repo = work / "corpus-repo"
    (repo / "platforms").mkdir(parents=True)
    imported, refused = [], collections.Counter()
    inputs = sorted((src / CORPUS).glob("*.yaml"))
    check(len(inputs) > 0, f"no inputs under {CORPUS}")
    for path in inputs:
        rel = f"{CORPUS}/{path.name}"
        name = path.stem.replace("_", "-")
        out = meshgen(binary, src, "import", "--profiles", str(profiles), "--istio", "1.11.8",
                      "--kubernetes", "1.21", "--name", name, rel)
        if out.returncode == 0:
            platform = repo / "platforms" / f"{name}.yaml"
            platform.write_text(out.stdout)
            ok = check(out.stdout.startswith("# yaml-language-server: $schema="),
                       f"{path.name}: imported without the schema modeline")
            valid = meshgen(binary, repo, "validate", f"platforms/{name}.yaml")
            ok &= check(valid.returncode == 0, f"{path.name}: imported but invalid: {valid.stderr.strip()}")
            values = meshgen(binary, repo, "values", "--platform", f"platforms/{name}.yaml")
            ok &= check(values.returncode == 0, f"{path.name}: imported but no values: {values.stderr.strip()}")
            if ok:
                imported.append(path.name)
        elif out.returncode == 1:
            first = out.stderr.splitlines()[0] if out.stderr else ""
            m = LOCATED.match(first)
            check(out.stdout == "", f"{path.name}: refused with output on stdout")
            if check(m is not None,
                     f"{path.name}: refusal not located: {first!r}"):
                refused[reason(m["why"])] += 1
        else:
            check(False, f"{path.name}: exit {out.returncode}: {out.stderr.strip()[:300]}")
        account(binary, src, path, rel, name, profiles, out.returncode)
    print(f"\ncorpus (istio 1.11.8, {len(inputs)} inputs): {len(imported)} imported, {sum(refused.values())} refused")
    for name in imported:
        print(f"  imported  {name}")
    for why, n in refused.most_common():
        print(f"  refused {n:>3}  {why}")


def seed_001(binary: str, work: Path, remote: str) -> None:
    import helm_python as helm

    repo = work / "seed-repo"
    (repo / "platforms").mkdir(parents=True)
    # The profiles read from git at the tag, as a user runs it (no --profiles).
    out = meshgen(binary, repo, "import", "--remote", remote, "--istio", "1.11.4",
                  "--kubernetes", "1.21", "--name", "seed-001",
                  str(SEED / "iop-egress.yaml"), str(SEED / "internal-gateway.yaml"))
    if not check(out.returncode == 0, f"seed 001: import exit {out.returncode}: {out.stderr.strip()}"):
        return
    (repo / "platforms/seed-001.yaml").write_text(out.stdout)
    vendored = meshgen(binary, repo, "vendor", "--remote", remote)
    if not check(vendored.returncode == 0, f"seed 001: meshgen vendor: {vendored.stderr.strip()}"):
        return
    rel = "platforms/seed-001.yaml"
    values = meshgen(binary, repo, "values", "--platform", rel)
    if not check(values.returncode == 0, f"seed 001: meshgen values: {values.stderr.strip()}"):
        return
    objs = []
    for release, chart, namespace, values_file in k8s.header_installs(values.stdout):
        text = values.stdout
        if values_file != "values.yaml":
            text = meshgen(binary, repo, "values", "--platform", rel, "--gateway", release).stdout
        rendered = k8s.install(repo / chart, release, namespace, helm.values_from_yaml(text))
        for o in k8s.objects(rendered.manifest):
            o.setdefault("metadata", {}).setdefault("namespace", namespace)
            objs.append(o)
    services = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs if o.get("kind") == "Service"}
    public = services.get(("istio-system", "istio-ingressgateway"))
    check(public is not None and public["spec"].get("type") == "LoadBalancer"
          and not (public["metadata"].get("annotations") or {}),
          f"seed 001: public istio-ingressgateway Service: {public and public['spec'].get('type')}")
    ilb = services.get(("default", "ilb-gateway"))
    check(ilb is not None and (ilb["metadata"].get("annotations") or {}).get("networking.gke.io/load-balancer-type") == "Internal",
          f"seed 001: internal ilb-gateway Service in default: {ilb and ilb['metadata']}")
    check(not [o for o in objs if "egressgateway" in o["metadata"].get("name", "")],
          "seed 001: an egress gateway object was rendered")
    mesh = [o for o in objs if o.get("kind") == "ConfigMap" and o["metadata"]["name"] == "istio"]
    check(bool(mesh) and "accessLogFile: /dev/stdout" in mesh[0]["data"]["mesh"],
          f"seed 001: mesh config without the demo access log: {mesh and mesh[0]['data']}")
    istiod = [o for o in objs if o.get("kind") == "Deployment" and o["metadata"]["name"] == "istiod"]
    env = {e["name"]: e.get("value") for e in istiod[0]["spec"]["template"]["spec"]["containers"][0].get("env", [])} if istiod else {}
    check(env.get("PILOT_TRACE_SAMPLING") in ("100", "100.0"),
          f"seed 001: istiod PILOT_TRACE_SAMPLING {env.get('PILOT_TRACE_SAMPLING')}")
    print(f"seed 001 through the real 1.11.4 charts: {len(objs)} objects, services {sorted(services)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("meshgen")
    parser.add_argument("--remote", default=os.environ.get("MESHGEN_ISTIO_REMOTE", "https://github.com/istio/istio.git"))
    parser.add_argument("--work", help="a directory to work in (default: a temporary one)")
    parser.add_argument("--corpus-only", action="store_true", help="skip seed 001's real-chart render")
    opts = parser.parse_args()
    binary = str(Path(opts.meshgen).resolve())
    work = Path(opts.work) if opts.work else k8s.scratch_dir("meshgen-import-")
    for part in [corpus] + ([] if opts.corpus_only else [seed_001]):
        try:
            part(binary, work, opts.remote)
        except Exception as e:  # an unexpected shape is a failed check, not a crashed run
            check(False, f"{part.__name__}: {type(e).__name__}: {e}")
    print(tally.summary())
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
