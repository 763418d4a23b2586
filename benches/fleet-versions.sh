#!/usr/bin/env bash
# `generate` and `check` over N platform files on release lines (today's fleet of
# benches/fleet.sh), against the same fleet spread over four exact releases of each line
# (1.0.2, 1.0.5, 1.0.9 and "1.0"; 1.11.4, 1.11.6, 1.11.8 and "1.11"), in one hyperfine run
# so both sides see the same machine. Target: the spread fleet within 10 % of the line fleet.
# No vendored charts: the lock is not in the way of either side.
#
# Usage: benches/fleet-versions.sh [N]   (default 10000). Needs hyperfine; builds --release.
set -euo pipefail

n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
meshgen="$root/target/release/meshgen"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=benches/fleet-lib.sh
source "$root/benches/fleet-lib.sh"

fleet "$work/lines" "$n" lines
fleet "$work/spread" "$n" spread
(cd "$work/lines" && "$meshgen" generate -q)
(cd "$work/spread" && "$meshgen" generate -q)
echo "releases in the spread fleet:"
grep -h '^  istio:' "$work/spread/platforms/"*.yaml | sort | uniq -c

hyperfine --warmup 1 --min-runs 10 --export-json "$work/result.json" \
  -n "generate, $n platforms on lines" "cd '$work/lines' && '$meshgen' generate -q" \
  -n "generate, $n platforms on 4 releases per line" "cd '$work/spread' && '$meshgen' generate -q" \
  -n "check, $n platforms on lines" "cd '$work/lines' && '$meshgen' check -q" \
  -n "check, $n platforms on 4 releases per line" "cd '$work/spread' && '$meshgen' check -q"

python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
names = list(r)
for a, b in ((names[0], names[1]), (names[2], names[3])):
    print(f"{b}: {r[b]*1000:.0f} ms against {r[a]*1000:.0f} ms, ratio {r[b]/r[a]:.3f}")
PY
