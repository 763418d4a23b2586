#!/usr/bin/env python3
"""Writes data/install-only/<line>.txt from a mirror of istio/istio: what the charts meshgen
vendors deliver only at install, at every release tag of each line. Helm runs a template
annotated `helm.sh/hook` only at the events it names (`post-install` never on an upgrade), and
installs a chart's `crds/` files on the first install only, never upgrading or deleting them.

Each row: the releases (a range of consecutive tags with the same finding), the chart, the file,
the hook events (`crds/` for a CRD directory) and what the file delivers: the hooked objects, and
for a Job that applies a ConfigMap's `custom-resources.yaml`, the objects of the templates that
ConfigMap includes (`when` a condition wraps the file or the inclusion); for CRDs, their number,
groups and a digest of the file, so that two releases with different CRDs read apart.

Usage: install-only-survey.py MIRROR   (a git repository holding the release tags)
"""
import hashlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UMBRELLA = "install/kubernetes/helm/istio"
# The tags surveyed and the charts meshgen vendors on each line (model/release_line.rs).
LINES = {
    "0.6": (["0.6.0"], {"istio": UMBRELLA}),
    "1.0": ([f"1.0.{i}" for i in range(10)], {"istio": UMBRELLA}),
    "1.11": ([f"1.11.{i}" for i in range(9)], {
        "base": "manifests/charts/base",
        "istio-discovery": "manifests/charts/istio-control/istio-discovery",
        "istio-ingress": "manifests/charts/gateways/istio-ingress",
        "istio-egress": "manifests/charts/gateways/istio-egress",
    }),
}
HOOK = re.compile(r"""["']?helm\.sh/hook["']?\s*:\s*["']?([^"'\n#]+)""")
DELETE = re.compile(r"""["']?helm\.sh/hook-delete-policy["']?\s*:\s*["']?([^"'\n#]+)""")


def git(mirror: str, *args: str) -> str:
    out = subprocess.run(["git", "-C", mirror, *args], capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else ""


def files_of(mirror: str, tag: str, path: str) -> dict[str, str]:
    names = git(mirror, "ls-tree", "-r", "--name-only", tag, "--", path).split("\n")
    return {n[len(path) + 1:]: git(mirror, "show", f"{tag}:{n}") for n in names if n}


def documents(text: str) -> list[str]:
    return [d for d in re.split(r"(?m)^---[ \t]*$", text) if d.strip()]


def kind_name(doc: str) -> str:
    """`Kind/name` of a template document, read off its lines (template actions kept as text)."""
    kind = re.search(r"(?m)^kind:\s*[\"']?([A-Za-z]+)", doc)
    name = re.search(r"(?m)^metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:[ \t]*(.+)", doc)
    return f"{kind.group(1) if kind else '?'}/{name.group(1).strip().strip(chr(34) + chr(39)) if name else '?'}"


def condition(text: str) -> str | None:
    """The condition of an `if` that wraps the whole file, if one does."""
    m = re.match(r"\s*\{\{-?\s*if\s+(.+?)\s*-?\}\}", text)
    return m.group(1) if m else None


def defines(files: dict[str, str]) -> dict[str, str]:
    found = {}
    for text in files.values():
        for m in re.finditer(r'\{\{-?\s*define\s+"([^"]+)"\s*-?\}\}(.*?)\{\{-?\s*end\s*-?\}\}', text, re.S):
            found[m.group(1)] = m.group(2)
    return found


def applied_by(job: str, files: dict[str, str], defined: dict[str, str]) -> list[str]:
    """What a hook Job applies from a mounted ConfigMap's `custom-resources.yaml`."""
    out = []
    for cm_name in re.findall(r"configMap:\s*\n\s+name:\s*(\S+)", job):
        for path, text in files.items():
            for doc in documents(text):
                if "kind: ConfigMap" not in doc or "custom-resources.yaml" not in doc:
                    continue
                shown = kind_name(doc).split("/", 1)[1]
                if shown != cm_name and not cm_name.startswith("{{"):
                    continue
                body = doc.split("custom-resources.yaml", 1)[1].split("run.sh", 1)[0]
                branches = re.split(r"\{\{-?\s*else\s*-?\}\}", body)
                cond = re.search(r"\{\{-?\s*if\s+(.+?)\s*-?\}\}", body)
                for i, branch in enumerate(branches):
                    objs = []
                    for inc in re.findall(r'include\s+"([^"]+)"', branch):
                        objs += [kind_name(d) for d in documents(defined.get(inc, ""))
                                 if re.search(r"(?m)^kind:", d)]
                    if not objs:
                        continue
                    when = (f" when {cond.group(1)}" if i == 0 else f" unless {cond.group(1)}") if cond else ""
                    out.append(f"{' '.join(objs)}{when} (from ConfigMap {shown}, {path})")
    return out


def crd_summary(text: str) -> str:
    """How many CRDs a file holds, per group, and a digest telling two versions of it apart."""
    groups: dict[str, int] = {}
    for d in documents(text):
        if re.search(r"(?m)^kind:\s*CustomResourceDefinition", d):
            g = re.search(r"(?m)^\s+group:\s*(\S+)", d)
            groups[g.group(1) if g else "?"] = groups.get(g.group(1) if g else "?", 0) + 1
    summary = ", ".join(f"{g} {n}" for g, n in sorted(groups.items()))
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{sum(groups.values())} CustomResourceDefinition ({summary}); sha256:{digest}"


def survey(mirror: str, tag: str, chart: str, path: str) -> list[str]:
    files = files_of(mirror, tag, path)
    defined = defines(files)
    rows = []
    for name, text in sorted(files.items()):
        if "/crds/" in f"/{name}" and name.endswith((".yaml", ".yml")):
            rows.append(f"{chart}\t{name}\tcrds/\t{crd_summary(text)}")
            continue
        if not name.startswith(("templates/", "charts/")) or "helm.sh/hook" not in text:
            continue
        hooks, delivered = set(), []
        for doc in documents(text):
            m = HOOK.search(doc)
            if not m:
                continue
            events = [e.strip() for e in m.group(1).split(",")]
            hooks.update(events)
            item = kind_name(doc)
            d = DELETE.search(doc)
            if "crd-install" in events:
                delivered.append(item)
                continue
            if item.startswith("Job/"):
                what = applied_by(doc, files, defined)
                item += f" applies {'; '.join(what)}" if what else ""
            delivered.append(item + (f" [delete: {d.group(1).strip()}]" if d else ""))
        if any(i.startswith("CustomResourceDefinition/") for i in delivered):
            rest = [i for i in delivered if not i.startswith("CustomResourceDefinition/")]
            delivered = [crd_summary(text), *rest]
        cond = condition(text)
        when = f" when {cond}" if cond else ""
        rows.append(f"{chart}\t{name}\t{','.join(sorted(hooks))}\t{'; '.join(delivered)}{when}")
    return rows


def ranges(tags: list[str], by_tag: dict[str, list[str]]) -> list[str]:
    """Rows with the run of consecutive tags carrying them, `a-b` or a single tag."""
    out = []
    seen = set()
    for i, tag in enumerate(tags):
        for row in by_tag[tag]:
            if (row, i) in seen:
                continue
            j = i
            while j + 1 < len(tags) and row in by_tag[tags[j + 1]]:
                j += 1
                seen.add((row, j))
            span = tag if j == i else f"{tag}-{tags[j]}"
            out.append(f"{span}\t{row}\n")
    return out


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    mirror = sys.argv[1]
    out_dir = ROOT / "data/install-only"
    out_dir.mkdir(parents=True, exist_ok=True)
    for line, (tags, charts) in LINES.items():
        by_tag = {t: [r for chart, path in charts.items() for r in survey(mirror, t, chart, path)] for t in tags}
        if not any(by_tag.values()):
            print(f"{line}: nothing read: is {mirror} a mirror of istio/istio with its tags?")
            return 1
        rows = ranges(tags, by_tag)
        header = ("# What the charts meshgen vendors deliver only at install, per release range: written by\n"
                  "# tests/real-charts/install-only-survey.py from the istio/istio tags (facts, not code).\n"
                  "# releases\tchart\tfile\thook events (crds/: installed once, never upgraded)\twhat it delivers\n")
        (out_dir / f"{line}.txt").write_text(header + "".join(rows))
        print(f"{line}: {len(rows)} install-only pieces over {tags[0]}..{tags[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
