#!/usr/bin/env bash
# Starts the test bed (builds its parts first when the cache lacks them): every cluster of
# scripts/testbed/fleet.json with the real EKS pod identity webhook, moto and the EKS stand-in, in a
# network namespace with loopback only. Then: scripts/testbed/exec.sh <command> runs a command in it.
# usage: scripts/testbed/up.sh [--dir DIR] [--fleet FILE] [--delay SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${TESTBED_DIR:-/tmp/cdk-eks-pod-identity-bed}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
bash "$here/../install-tools.sh" >/dev/null
if ! command -v openssl >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl curl >/dev/null
fi
bin="$(bash "$here/build.sh")"
exec python3 "$here/bed.py" up --bin "$bin" --dir "$dir" "${args[@]}"
