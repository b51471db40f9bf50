#!/usr/bin/env bash
# Stops the test bed's processes in reverse start order (by PID) and removes its network namespace.
# usage: scripts/testbed/down.sh [--dir DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${TESTBED_DIR:-/tmp/cdk-eks-pod-identity-bed}"
if [ "${1:-}" = --dir ]; then dir="$2"; fi
exec python3 "$here/bed.py" down --dir "$dir"
