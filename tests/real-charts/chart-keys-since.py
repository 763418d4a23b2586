#!/usr/bin/env python3
"""Writes data/chart-keys/<line>.since.txt from a mirror of istio/istio: each key path of the
line's pinned list (data/chart-keys/<line>.txt) that some earlier release of the line does
not declare, with the first release from which every release up to the pin declares it.
Writes data/chart-keys/<line>.until.txt too: each key path earlier releases declare that the
pin does not (or declares with another kind: a string where the pin has a map), with the
first release from which it is gone.

Usage: chart-keys-since.py MIRROR   (a git repository holding the release tags)
Key paths are written as in the key lists: a key holding a dot is bracketed, `a["b.c"]`;
lists are not descended into.
"""
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LINES = {
    "1.0": ([f"1.0.{i}" for i in range(10)], "install/kubernetes/helm/istio", None),
    "1.11": ([f"1.11.{i}" for i in range(9)], None, ["base", "istio-control/istio-discovery",
                                                    "gateways/istio-ingress", "gateways/istio-egress"]),
}


def show(mirror: str, tag: str, path: str) -> str | None:
    out = subprocess.run(["git", "-C", mirror, "show", f"{tag}:{path}"], capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else None


def kind(value) -> str:
    return {dict: "map", list: "list", str: "string", bool: "bool", int: "number", float: "number"}.get(type(value), "null")


def flatten(node, prefix: str, out: dict) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            key = str(key)
            part = f'["{key}"]' if "." in key else key
            path = f"{prefix}{part}" if part.startswith("[") or not prefix else f"{prefix}.{part}"
            out[path] = kind(value)
            flatten(value, path, out)


def declared_by(read, listdir, umbrella: str | None, split: list[str] | None) -> dict:
    """Key path -> kind of the charts' default values: an umbrella chart's values and its
    sub-charts' under `<subchart>.`, or the union of split charts. `read(path)` gives a file's
    text (None when absent), `listdir(path)` a directory's names: from git tags here, from a
    vendored tree in tests/real-charts/run.py."""
    keys: dict = {}
    if umbrella:
        flatten(yaml.safe_load(read(f"{umbrella}/values.yaml")) or {}, "", keys)
        for sub in listdir(f"{umbrella}/charts"):
            text = read(f"{umbrella}/charts/{sub}/values.yaml")
            if text:
                flatten(yaml.safe_load(text) or {}, sub, keys)
    else:
        for chart in split:
            flatten(yaml.safe_load(read(f"{chart}/values.yaml")) or {}, "", keys)
    return keys


def declared(mirror: str, line: str, tag: str) -> dict:
    _, umbrella, split = LINES[line]
    listdir = lambda path: subprocess.run(["git", "-C", mirror, "ls-tree", "--name-only", f"{tag}:{path}"],
                                          capture_output=True, text=True).stdout.split()
    return declared_by(lambda path: show(mirror, tag, path), listdir, umbrella,
                       split and [f"manifests/charts/{chart}" for chart in split])


def main() -> int:
    mirror = sys.argv[1]
    for line, (tags, _, _) in LINES.items():
        pinned = [k for k in (ROOT / f"data/chart-keys/{line}.txt").read_text().splitlines() if k]
        by_tag = {t: declared(mirror, line, t) for t in tags}
        missing = set(pinned) - set(by_tag[tags[-1]])
        if missing:
            print(f"{line}: the pinned list has keys {tags[-1]} does not declare: {sorted(missing)[:5]}")
            return 1
        rows = []
        for key in pinned:
            since = tags[-1]
            for tag in reversed(tags):
                if key not in by_tag[tag]:
                    break
                since = tag
            if since != tags[0]:
                rows.append(f"{key} {since}\n")
        (ROOT / f"data/chart-keys/{line}.since.txt").write_text("".join(rows))
        print(f"{line}: {len(rows)} keys declared only from a later release than {tags[0]}")
        pin = by_tag[tags[-1]]
        until = {}
        for i, tag in enumerate(tags[:-1]):
            for key, k in by_tag[tag].items():
                if pin.get(key) != k:
                    # Gone (or of another kind) from the first later release that differs.
                    gone = next(t for t in tags[i + 1:] if by_tag[t].get(key) != k)
                    until[(key, k)] = max(until.get((key, k), tags[0]), gone, key=lambda t: tuple(map(int, t.split("."))))
        # Only the outermost of nested keys: a key below one that is listed comes with it.
        listed = sorted(until.items())
        kept = [(key, k, u) for (key, k), u in listed
                if not any(key.startswith(other + ".") or key.startswith(other + "[") for (other, _), _ in listed if other != key)]
        (ROOT / f"data/chart-keys/{line}.until.txt").write_text("".join(f"{key} {k} {u}\n" for key, k, u in kept))
        print(f"{line}: {len(kept)} keys declared (or of another kind) only before a later release")
    return 0


if __name__ == "__main__":
    sys.exit(main())
