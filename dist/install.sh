#!/bin/sh
# Installs meshgen from a release archive (dist/package.sh makes them): checks the archive
# against its .sha256, then puts the binary at PREFIX/bin/meshgen, replacing an older one in
# one rename. Nothing is installed when the checksum does not match.
#
#   sh install.sh --archive PATH|URL [--prefix DIR]
#
# URL: https://… or file://…/meshgen-<version>-<target>.tar.gz, its checksum at the same URL
# + .sha256 (downloaded with curl). PREFIX defaults to ~/.local.
set -eu

archive=
prefix="${HOME:-.}/.local"
while [ $# -gt 0 ]; do
  case "$1" in
    --archive) archive=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$archive" ] || { echo "install.sh: --archive PATH|URL is required" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
file="$work/$(basename "$archive")"
case "$archive" in
  http://*|https://*|file://*)
    # https only over the network (a plain http URL is refused); file:// for a local mirror.
    curl --proto '=https,file' --tlsv1.2 -fsSL "$archive" -o "$file"
    curl --proto '=https,file' --tlsv1.2 -fsSL "$archive.sha256" -o "$file.sha256" ;;
  *)
    cp "$archive" "$file"
    cp "$archive.sha256" "$file.sha256" ;;
esac

expected=$(cut -d' ' -f1 < "$file.sha256")
if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$file" | cut -d' ' -f1)
else
  actual=$(shasum -a 256 "$file" | cut -d' ' -f1)
fi
if [ "$expected" != "$actual" ]; then
  echo "install.sh: $(basename "$archive"): checksum $actual, expected $expected: not installed" >&2
  exit 1
fi

tar -C "$work" -xzf "$file"
binary=$(find "$work" -mindepth 2 -maxdepth 2 -type f -name meshgen | head -n 1)
[ -n "$binary" ] || { echo "install.sh: no meshgen in $(basename "$archive")" >&2; exit 1; }
mkdir -p "$prefix/bin"
cp "$binary" "$prefix/bin/.meshgen.new"
chmod 755 "$prefix/bin/.meshgen.new"
mv -f "$prefix/bin/.meshgen.new" "$prefix/bin/meshgen"
echo "installed $("$prefix/bin/meshgen" --version) at $prefix/bin/meshgen"
