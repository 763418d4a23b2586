#!/usr/bin/env bash
# Whole-process figures for BENCHMARKS.md: `meshgen values --platform kvm`, `generate` and
# `check` over a fleet of platform files (fresh, and up to date), the floor (process start,
# `meshgen --version`), and peak memory of generate/check at 1k and 10k platforms.
#
# Usage: benches/fleet.sh [N]   (N platform files, default 10000). Needs hyperfine and GNU
# time (/usr/bin/time); builds meshgen --release.
set -euo pipefail

n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
meshgen="$root/target/release/meshgen"
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

cd "$work/empty"
hyperfine -N --warmup 20 --min-runs 200 --export-markdown "$work/values.md" \
  -n "floor: meshgen --version" "$meshgen --version" \
  -n "values --platform kvm" "$meshgen values --platform kvm"

cd "$work/fleet"
hyperfine --warmup 1 --min-runs 5 --export-markdown "$work/fleet.md" \
  --prepare "rm -rf generated" \
  -n "generate, $n platforms, fresh" "$meshgen generate -q"
"$meshgen" generate -q
hyperfine --warmup 1 --min-runs 10 --export-markdown "$work/fleet2.md" \
  -n "generate, $n platforms, up to date" "$meshgen generate -q" \
  -n "generate --check, $n platforms" "$meshgen generate --check -q" \
  -n "check, $n platforms" "$meshgen check -q"

echo
echo "== where the time goes (generate -v, fresh; phase times summed over threads)"
rm -rf generated && "$meshgen" generate -v 2>&1 | tail -1
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
