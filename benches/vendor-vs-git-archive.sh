#!/usr/bin/env bash
# Compares `meshgen vendor` of one release line from a local istio/istio repository with
# `git archive` of the same chart subtree piped into tar, and prints the ratio of the means.
# git archive is the floor: it reads the same tree objects and writes the same files, without
# resolving tags, patching values, hashing or the atomic rename.
#
# Usage: benches/vendor-vs-git-archive.sh /path/to/istio.git [LINE|fleet]
#   LINE is 1.0 (default), 0.6 or 1.11; `fleet` vendors four releases side by side (1.0.2,
#   1.0.9, 1.11.4, 1.11.8) against `git archive` of the same subtrees of the four tags.
#   Needs hyperfine and python3; builds meshgen --release.
set -euo pipefail

repo=${1:?usage: $0 /path/to/istio.git [LINE]}
line=${2:-1.0}
case "$line" in
  0.6) tag=0.6.0; paths=(install/kubernetes/helm/istio) ;;
  1.0) tag=1.0.9; paths=(install/kubernetes/helm/istio) ;;
  1.11) tag=1.11.8; paths=(manifests/charts/base manifests/charts/istio-control/istio-discovery
        manifests/charts/gateways/istio-ingress manifests/charts/gateways/istio-egress) ;;
  fleet) ;;
  *) echo "unknown line $line" >&2; exit 2 ;;
esac
split=(manifests/charts/base manifests/charts/istio-control/istio-discovery
       manifests/charts/gateways/istio-ingress manifests/charts/gateways/istio-egress)

root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
meshgen="$root/target/release/meshgen"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MESHGEN_CACHE_DIR="$work/cache"

if [ "$line" = fleet ]; then
  # One directory per release, as meshgen writes them.
  archive="for t in 1.0.2 1.0.9; do mkdir -p '$work/archive/'\$t && git -C '$repo' archive \$t install/kubernetes/helm/istio | tar -x -C '$work/archive/'\$t; done;"
  archive+=" for t in 1.11.4 1.11.8; do mkdir -p '$work/archive/'\$t && git -C '$repo' archive \$t ${split[*]} | tar -x -C '$work/archive/'\$t; done"
  hyperfine --warmup 3 --min-runs 20 --export-json "$work/result.json" \
    --prepare "rm -rf '$work/vendor' '$work/archive'; mkdir -p '$work/archive'" \
    -n "meshgen vendor 1.0.2 1.0.9 1.11.4 1.11.8" "'$meshgen' vendor 1.0.2 1.0.9 1.11.4 1.11.8 --remote '$repo' --dir '$work/vendor' --platforms '$work/none'" \
    -n "git archive of the four tags" "$archive"
else
  hyperfine --warmup 3 --min-runs 20 --export-json "$work/result.json" \
    --prepare "rm -rf '$work/vendor' '$work/archive'; mkdir -p '$work/archive'" \
    -n "meshgen vendor $line" "'$meshgen' vendor $line --remote '$repo' --dir '$work/vendor' --platforms '$work/none'" \
    -n "git archive $tag" "git -C '$repo' archive $tag ${paths[*]} | tar -x -C '$work/archive'"
fi

python3 - "$work/result.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["results"]
meshgen, archive = runs[0]["mean"], runs[1]["mean"]
print(f"meshgen vendor: {meshgen*1000:.1f} ms, git archive | tar: {archive*1000:.1f} ms, ratio {meshgen/archive:.2f}x")
PY
