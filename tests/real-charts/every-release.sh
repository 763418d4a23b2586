#!/usr/bin/env bash
# Every release of every line, vendored from a mirror of istio/istio: each built-in platform
# and each fixture of the line rendered at that release (`--istio VERSION`, extra gateways'
# own files too), and every values file held against the charts it installs
# (`meshgen check-values`). The keys and types side of the facts, at every patch release;
# tests/real-charts/run.py installs the seeds' releases through Helm.
#
# Usage: tests/real-charts/every-release.sh MESHGEN MIRROR
# Prints a line per failure and per expected refusal, then `N passed, N failed, N skipped`;
# exits 1 on any failure.
set -uo pipefail
meshgen=$(realpath "$1")
mirror=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
releases=(0.6.0 1.0.0 1.0.1 1.0.2 1.0.3 1.0.4 1.0.5 1.0.6 1.0.7 1.0.8 1.0.9
          1.11.0 1.11.1 1.11.2 1.11.3 1.11.4 1.11.5 1.11.6 1.11.7 1.11.8)
cd "$work"
if ! "$meshgen" vendor --remote "$mirror" "${releases[@]}" 2>"$work/vendor.err"; then
  cat "$work/vendor.err"; echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
platforms=("$root"/platforms/*.yaml "$root"/tests/fixtures/{postrender/platforms,gateways,mtls,values}/*.yaml)
passed=0 failed=0 refused=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
for release in "${releases[@]}"; do
  line=${release%.*}
  for file in "${platforms[@]}"; do
    name=$(basename "$file" .yaml)
    own=$(sed -n 's/^  istio: "\([0-9.]*\)".*/\1/p' "$file")
    if [ -z "$own" ]; then fail "$name: no quoted spec.istio to place it on a line"; continue; fi
    [ "${own%.*}" = "$line" ] || [ "$own" = "$line" ] || continue
    "$meshgen" values -q --platform "$file" --istio "$release" >"$work/values.yaml" 2>"$work/err"
    status=$?
    # Refused or rendered as tests/expected-refusals.txt says (1.0's permissive mtls before
    # 1.0.3 is refused), else a failure.
    if ! python3 "$root/tests/helm/refusals.py" "$name" "$release" "$status" "$work/err" >"$work/judged"; then
      cat "$work/judged"; failed=$((failed + 1)); continue
    fi
    if [ "$status" -ne 0 ]; then refused=$((refused + 1)); passed=$((passed + 1)); cat "$work/judged"; continue; fi
    charts=$(sed -n 's/^#   helm install [^ ]* \(vendor\/istio\/[^ ]*\) .*-f values.yaml.*/\1/p' "$work/values.yaml" | sort -u)
    # An empty or headless file passes check-values with no chart to hold it against.
    if [ -z "$charts" ]; then fail "$name@$release: the values file names no chart installed with values.yaml"; continue; fi
    args=()
    for c in $charts; do args+=(--chart "$c"); done
    if "$meshgen" check-values -q "${args[@]}" "$work/values.yaml" >"$work/out" 2>&1; then
      passed=$((passed + 1))
    else
      fail "$name@$release: check-values ${charts//$'\n'/ }: $(head -c 600 "$work/out")"
    fi
    for gateway in $(sed -n 's/^#   helm install \([^ ]*\) vendor\/istio\/[^ ]*\/istio-ingress .*-f gateway-.*/\1/p' "$work/values.yaml" | sort -u); do
      if ! "$meshgen" values -q --platform "$file" --istio "$release" --gateway "$gateway" >"$work/gw.yaml" 2>"$work/err"; then
        fail "$name@$release gateway $gateway: meshgen values --gateway: $(head -c 400 "$work/err")"; continue
      fi
      # An empty file passes check-values (no key to be unknown): a gateway's file has values.
      if ! grep -q '^[^#[:space:]]' "$work/gw.yaml"; then
        fail "$name@$release gateway $gateway: meshgen values --gateway wrote no value"; continue
      fi
      if "$meshgen" check-values -q --chart "vendor/istio/$release/istio-ingress" "$work/gw.yaml" >"$work/out" 2>&1; then
        passed=$((passed + 1))
      else
        fail "$name@$release gateway $gateway: $(head -c 600 "$work/out")"
      fi
    done
  done
done
echo "${#releases[@]} releases, $refused refused as tests/expected-refusals.txt expects; $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
