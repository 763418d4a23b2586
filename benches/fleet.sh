#!/usr/bin/env bash
# Whole-process figures for BENCHMARKS.md: `meshgen values --platform kvm`, `generate` and
# `check` over a fleet of platform files (fresh, and up to date), the floor (process start,
# `meshgen --version`), and peak memory of generate/check at 1k and 10k platforms.
#
# Usage: benches/fleet.sh [N]   (N platform files, default 10000). Needs hyperfine and GNU
# time (/usr/bin/time); builds meshgen --release unless MESHGEN names a binary. BEFORE=path
# measures an earlier build beside it in each run.
set -euo pipefail

n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
# MESHGEN=path measures another build than this tree's.
if [ -z "${MESHGEN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
fi
meshgen=${MESHGEN:-$root/target/release/meshgen}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=benches/fleet-lib.sh
source "$root/benches/fleet-lib.sh"

echo "== machine"
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo || true
grep MemTotal /proc/meminfo
echo

mkdir -p "$work/empty"
fleet "$work/fleet" "$n"
fleet "$work/fleet1k" 1000

# Each figure with the build under test, and with BEFORE=path (an earlier build) beside it in
# the same hyperfine run, so that a before/after table shares the machine's state.
commands() { # NAME ARGS...: hyperfine's -n/command pairs for each build
  local name=$1
  shift
  printf '%s\n' -n "$name" "$meshgen $*"
  if [ -n "${BEFORE:-}" ]; then
    printf '%s\n' -n "$name (before)" "$BEFORE $*"
  fi
}
mapfile -t values < <(commands "meshgen --version" --version; commands "values --platform kvm" values --platform kvm)
cd "$work/empty"
hyperfine -N --warmup 30 --min-runs 300 --export-markdown "$work/values.md" \
  --export-json "$work/values.json" -n "floor: /bin/true" /bin/true "${values[@]}"

# A fresh run writes into an empty generated/: the previous tree is moved aside, not deleted.
# Right after an `rm -rf` of thousands of files, ext4 allocates inodes slowly for minutes (its
# inode allocator skips recently deleted inodes, scanning them: `recently_deleted` in a
# profile), which measures the file system's recovery, not meshgen.
mkdir -p "$work/old"
cd "$work/fleet"
mapfile -t fresh < <(commands "generate, $n platforms, fresh" generate -q)
hyperfine -N --warmup 1 --min-runs 8 --export-markdown "$work/fleet.md" \
  --export-json "$work/fleet.json" \
  --prepare "sh -c 'mv generated $work/old/\$(date +%s%N) 2>/dev/null; sync; sleep 1'" \
  "${fresh[@]}"
"$meshgen" generate -q
mapfile -t current < <(
  commands "generate, $n platforms, up to date" generate -q
  commands "generate --check, $n platforms" generate --check -q
  commands "check, $n platforms" check -q
)
hyperfine -N --warmup 1 --min-runs 10 --export-markdown "$work/fleet2.md" \
  --export-json "$work/fleet2.json" "${current[@]}"

echo
echo "== where the time goes (generate -v, fresh; phase times summed over threads)"
mv generated "$work/old/split" && sync && "$meshgen" generate -v 2>&1 | tail -1
"$meshgen" generate -v 2>&1 | tail -1

echo
echo "== peak memory (max RSS, KiB)"
for dir in fleet1k fleet; do
  cd "$work/$dir"
  count=$(ls platforms | wc -l)
  rm -rf generated
  gen=$(/usr/bin/time -f %M "$meshgen" generate -q 2>&1 >/dev/null | tail -1)
  noop=$(/usr/bin/time -f %M "$meshgen" generate -q 2>&1 >/dev/null | tail -1)
  chk=$(/usr/bin/time -f %M "$meshgen" check -q 2>&1 >/dev/null | tail -1)
  out=$(du -sk generated | cut -f1)
  echo "$count platforms: generate fresh $gen, generate up to date $noop, check $chk; output on disk $out KiB"
done

echo
cat "$work/values.md" "$work/fleet.md" "$work/fleet2.md"
echo
echo "== medians"
python3 - "$work"/values.json "$work"/fleet.json "$work"/fleet2.json <<'PY'
import json, sys
for path in sys.argv[1:]:
    for r in json.load(open(path))["results"]:
        print(f"{r['command']}: median {r['median'] * 1000:.2f} ms")
PY
