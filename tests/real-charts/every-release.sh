#!/usr/bin/env bash
# Every release of every line, vendored from a mirror of istio/istio: each built-in platform
# and each fixture of the line rendered at that release (`--istio VERSION`, extra gateways'
# own files too), and every values file held against the charts it installs
# (`meshgen check-values`). The keys and types side of the facts, at every patch release;
# tests/real-charts/run.py installs the seeds' releases through Helm.
#
# Usage: tests/real-charts/every-release.sh MESHGEN MIRROR
# Prints a line per failure and `N checked, N failed`; exits 1 on any failure.
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
  cat "$work/vendor.err"; echo "0 checked, 1 failed"; exit 1
fi
platforms=("$root"/platforms/*.yaml "$root"/tests/fixtures/{postrender/platforms,gateways,mtls,values}/*.yaml)
checked=0 failed=0 refused=0
for release in "${releases[@]}"; do
  line=${release%.*}
  for file in "${platforms[@]}"; do
    own=$(sed -n 's/^  istio: "\([0-9.]*\)".*/\1/p' "$file")
    [ "${own%.*}" = "$line" ] || [ "$own" = "$line" ] || continue
    name=$(basename "$file" .yaml)
    if ! "$meshgen" values -q --platform "$file" --istio "$release" >"$work/values.yaml" 2>"$work/err"; then
      # A rule of the exact release (1.0's permissive mtls before 1.0.3) refuses, located.
      if grep -q "Istio $release" "$work/err"; then refused=$((refused + 1)); continue; fi
      echo "FAIL $name@$release: meshgen values: $(head -c 400 "$work/err")"; failed=$((failed + 1)); continue
    fi
    charts=$(sed -n 's/^#   helm install [^ ]* \(vendor\/istio\/[^ ]*\) .*-f values.yaml.*/\1/p' "$work/values.yaml" | sort -u)
    args=()
    for c in $charts; do args+=(--chart "$c"); done
    checked=$((checked + 1))
    if ! "$meshgen" check-values -q "${args[@]}" "$work/values.yaml" >"$work/out" 2>&1; then
      echo "FAIL $name@$release: check-values ${charts//$'\n'/ }: $(head -c 600 "$work/out")"; failed=$((failed + 1))
    fi
    for gateway in $(sed -n 's/^#   helm install \([^ ]*\) vendor\/istio\/[^ ]*\/istio-ingress .*-f gateway-.*/\1/p' "$work/values.yaml" | sort -u); do
      "$meshgen" values -q --platform "$file" --istio "$release" --gateway "$gateway" >"$work/gw.yaml" 2>"$work/err"
      checked=$((checked + 1))
      if ! "$meshgen" check-values -q --chart "vendor/istio/$release/istio-ingress" "$work/gw.yaml" >"$work/out" 2>&1; then
        echo "FAIL $name@$release gateway $gateway: $(head -c 600 "$work/out")"; failed=$((failed + 1))
      fi
    done
  done
done
echo "${#releases[@]} releases; $refused refused by a rule of the release; $checked checked, $failed failed"
[ "$failed" -eq 0 ]
