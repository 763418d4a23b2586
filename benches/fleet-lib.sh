# Shared by the bench scripts: `fleet DIR COUNT [spread]` writes COUNT platform files under
# DIR/platforms, the six built-ins in turn under distinct names; with `spread`, the platforms
# on a line are spread over four releases of it (three exact ones and the line itself).
fleet() {
  local dir=$1 count=$2 spread=${3:-lines}
  mkdir -p "$dir/platforms"
  python3 - "$root/platforms" "$dir/platforms" "$count" "$spread" <<'PY'
import os, sys
src, dst, n, spread = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "spread"
names = ["pks", "gke-internal", "aws", "azure", "kvm", "minikube"]
texts = {k: open(os.path.join(src, k + ".yaml")).read() for k in names}
releases = {"1.0": ["1.0.2", "1.0.5", "1.0.9", "1.0"], "1.11": ["1.11.4", "1.11.6", "1.11.8", "1.11"]}
for i in range(n):
    k = names[i % len(names)]
    text = texts[k].replace(f"  name: {k}\n", f"  name: {k}-{i:05}\n")
    if spread:
        for line, versions in releases.items():
            text = text.replace(f'  istio: "{line}"\n', f'  istio: "{versions[(i // len(names)) % 4]}"\n')
    open(os.path.join(dst, f"{k}-{i:05}.yaml"), "w").write(text)
PY
}
