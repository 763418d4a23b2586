#!/bin/sh
# Builds meshgen's release archive for one target: meshgen-<version>-<target>.tar.gz holding
# the binary, README.md and docs/platform.md, its SHA-256 in <archive>.sha256 (sha256sum's
# format), and install.sh beside them: what a release publishes.
#
#   dist/package.sh [--binary PATH] [--target TRIPLE] [--out DIR]
#
# Without --binary it runs `cargo build --release` (for --target when given); --target
# defaults to the host's triple. Prints the archive's path.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
binary=
target=
out="$root/target/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "package.sh: no version in Cargo.toml" >&2; exit 2; }
if [ -z "$target" ]; then
  target=$(rustc -vV | sed -n 's/^host: //p')
fi
if [ -z "$binary" ]; then
  if [ "$target" = "$(rustc -vV | sed -n 's/^host: //p')" ]; then
    (cd "$root" && cargo build --release --locked)
    binary="$root/target/release/meshgen"
  else
    (cd "$root" && cargo build --release --locked --target "$target")
    binary="$root/target/$target/release/meshgen"
  fi
fi
[ -x "$binary" ] || { echo "package.sh: $binary is not an executable" >&2; exit 2; }

name="meshgen-$version-$target"
mkdir -p "$out"
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/docs"
cp "$binary" "$stage/$name/meshgen"
chmod 755 "$stage/$name/meshgen"
cp "$root/README.md" "$stage/$name/"
cp "$root/docs/platform.md" "$stage/$name/docs/"
# Reproducible: sorted entries, fixed owner and times.
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00Z' \
  -czf "$stage/$name.tar.gz" "$name"
(cd "$stage" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
mv "$stage/$name.tar.gz.sha256" "$out/"
mv "$stage/$name.tar.gz" "$out/"
cp "$root/dist/install.sh" "$out/install.sh"
echo "$out/$name.tar.gz"
