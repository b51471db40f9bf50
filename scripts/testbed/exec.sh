#!/usr/bin/env bash
# Runs a command inside the test bed: in its network namespace, with its env.sh (KUBECONFIG, the AWS
# CLI pointed at moto and the EKS stand-in, the bed's kubectl first on PATH).
# usage: scripts/testbed/exec.sh [--dir DIR] <command...>     e.g. exec.sh kubectl get pods -A
set -euo pipefail
dir="${TESTBED_DIR:-/tmp/cdk-eks-pod-identity-bed}"
if [ "${1:-}" = --dir ]; then dir="$2"; shift 2; fi
[ -r "$dir/env.sh" ] || { echo "exec.sh: no test bed in $dir (run scripts/testbed/up.sh)" >&2; exit 2; }
# shellcheck disable=SC2016 # expanded by the inner bash
exec ip netns exec "$(cat "$dir/netns")" bash -c 'source "$1/env.sh"; shift; exec "$@"' bash "$dir" "$@"
