#!/usr/bin/env bash
# The acceptance suite in a fresh test bed: builds the bed's parts if the cache lacks them, starts the
# bed, runs test/acceptance inside it (jest, scripts/jest-acceptance.config.js), stops the bed.
# usage: scripts/testbed/run-acceptance.sh [jest arguments...]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.." || exit 1
dir="$(mktemp -d /tmp/cdk-eks-pi-bed.XXXXXX)"
netns="cdk-eks-pi-bed-$(basename "$dir" | cut -d. -f2)"
trap 'bash "$here/down.sh" --dir "$dir"' EXIT
# the suite runs the packages as built: lib/collect/cli.js (collect) and operator/lib/cli.js (the
# operator command the generated verify.sh and oidc-providers/preflight.sh run)
if [ "${SKIP_COMPILE:-}" != 1 ]; then
  npx projen compile >/dev/null || exit 1
  npx projen operator >/dev/null || exit 1
fi
start=$(date +%s)
bash "$here/up.sh" --dir "$dir" --netns "$netns" || exit 1
echo "test bed: built and up in $(($(date +%s) - start)) s"
bash "$here/exec.sh" --dir "$dir" npx jest -c scripts/jest-acceptance.config.js "$@"
