#!/usr/bin/env python3
"""The refusals the test runners expect, read from tests/expected-refusals.txt: the one list
shared by tests/helm/harness.py, tests/real-charts/run.py and tests/real-charts/every-release.sh.

A combination meshgen refuses that no entry covers fails, and so does a combination an entry
covers that meshgen renders: the list says exactly which refusals are right.

Each entry: `PLATFORM RELEASES REASON`, where PLATFORM is a built-in's name or a fixture
file's stem, RELEASES a line (`1.0`: the line and each of its releases), an exact release
(`1.0.2`) or a range of one line's releases (`1.0.0-1.0.2`), and REASON a regular expression
one of meshgen's error lines must match.

Usage from a shell: refusals.py PLATFORM RELEASE EXIT_STATUS STDERR_FILE
Prints `FAIL ...` and exits 1 when the outcome is not the expected one; exits 0 (printing
`refused ...` for an expected refusal) when it is.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

LIST = Path(__file__).resolve().parents[1] / "expected-refusals.txt"


@dataclass(frozen=True)
class Entry:
    platform: str
    releases: str
    reason: re.Pattern
    where: str  # file:line, for messages

    def covers(self, platform: str, istio: str) -> bool:
        return self.platform == platform and covers(self.releases, istio)


def version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def covers(releases: str, istio: str) -> bool:
    """Whether RELEASES names the `--istio` argument ISTIO (a line or an exact release)."""
    if "-" in releases:
        low, high = releases.split("-", 1)
        return istio.count(".") == 2 and version(low) <= version(istio) <= version(high)
    if releases.count(".") == 1:  # a line: the line itself and each of its releases
        return istio == releases or istio.startswith(releases + ".")
    return istio == releases


def load(path: Path = LIST) -> list[Entry]:
    entries = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) != 3:
            raise SystemExit(f"{path}:{n}: want `PLATFORM RELEASES REASON`, got {raw!r}")
        platform, releases, reason = parts
        try:
            entries.append(Entry(platform, releases, re.compile(reason), f"{path.name}:{n}"))
        except re.error as e:
            raise SystemExit(f"{path}:{n}: reason is not a regular expression: {e}") from None
    return entries


def errors_of(stderr: str) -> list[str]:
    """meshgen's error lines: warnings and hints left out."""
    return [l for l in stderr.splitlines() if l.strip() and ": warning: " not in l and not l.lstrip().startswith("hint")]


def judge(entries: list[Entry], platform: str, istio: str, status: int, stderr: str) -> tuple[bool, str]:
    """(as expected, what happened) for one `meshgen values` run. Exit 1 is a refusal; any
    other non-zero status is never expected."""
    listed = [e for e in entries if e.covers(platform, istio)]
    errors = errors_of(stderr)
    first = (errors or ["(no error line)"])[0]
    if status == 0:
        if listed:
            return False, (f"{platform}@{istio}: meshgen renders it, yet {listed[0].where} expects a refusal "
                           f"matching /{listed[0].reason.pattern}/ (remove the entry if that is right)")
        return True, f"{platform}@{istio}: rendered"
    if status != 1:
        return False, f"{platform}@{istio}: meshgen values exit {status}: {first}"
    if not listed:
        return False, f"{platform}@{istio}: refused, and no entry of {LIST.name} expects it: {first}"
    if not any(e.reason.search(l) for e in listed for l in errors):
        return False, (f"{platform}@{istio}: refused for another reason than {listed[0].where} "
                       f"/{listed[0].reason.pattern}/: {first}")
    return True, f"refused {platform}@{istio} as {listed[0].where} expects: {first}"


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    platform, istio, status, stderr_file = sys.argv[1:]
    ok, what = judge(load(), platform, istio, int(status), Path(stderr_file).read_text())
    if not ok:
        print(f"FAIL {what}")
        return 1
    if int(status) != 0:
        print(what)
    return 0


if __name__ == "__main__":
    sys.exit(main())
