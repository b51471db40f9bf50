#!/usr/bin/env bash
# Packs the operator command (operator/, built by the library's post-compile) into dist/js next to the
# library's tarball, at the library's version and depending on exactly that version of the library,
# so that the release workflow's npm publish (every tarball of dist/js) ships the two together and
# the generated verify.sh (npx cdk-eks-pod-identity-operator@<the library's version>) finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(node -p "require('./package.json').version")"
[ -f operator/lib/cli.js ] || { echo "pack-operator: operator/lib/cli.js is missing: run npx projen compile first" >&2; exit 1; }
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -r operator/lib operator/README.md "$stage/"
cp LICENSE "$stage/"
node -e '
  const fs = require("fs");
  const [src, dst, version] = process.argv.slice(1);
  const p = JSON.parse(fs.readFileSync(src, "utf-8"));
  p.version = version;
  p.dependencies["cdk-eks-pod-identity"] = version;
  fs.writeFileSync(dst, JSON.stringify(p, undefined, 2) + "\n");
' operator/package.json "$stage/package.json" "$version"
mkdir -p dist/js
(cd "$stage" && npm pack --silent --pack-destination "$OLDPWD/dist/js" >/dev/null)
echo "dist/js/cdk-eks-pod-identity-operator-$version.tgz"
