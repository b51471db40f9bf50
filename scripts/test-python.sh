#!/usr/bin/env bash
# Installs the wheel built by jsii-pacmak (dist/python) into a fresh venv and runs pytest over
# test-python/. Needs `npx projen build` (or `npx projen package-all`) to have run.
#
#   scripts/test-python.sh [LABEL] [PIP_PINS...]
#
# LABEL names the venv (.venv-LABEL) and the report (test-reports/pytest-LABEL.xml); PIP_PINS
# (e.g. aws-cdk-lib==2.241.0) hold the aws-cdk-lib line under test. Without pins pip resolves the
# newest aws-cdk-lib the wheel's range allows, as a new user's `pip install` does. PYTHON names the
# interpreter of the venv (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
label="${1:-newest}"
shift || true

wheel=$(ls dist/python/*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "no wheel under dist/python: run 'npx projen build' first" >&2
  exit 1
fi
tarball=$(ls dist/js/cdk-eks-pod-identity-[0-9]*.tgz 2>/dev/null | head -n 1 || true)
echo "packages: $tarball $wheel"

venv=".venv-$label"
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$wheel" -r test-python/requirements.txt "$@"
echo "aws-cdk-lib line '$label': $("$venv/bin/python" -m pip show aws-cdk-lib | sed -n 's/^Version: //p') (Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'), Node.js $(node --version))"
"$venv/bin/python" -m pytest test-python -v --junitxml="test-reports/pytest-$label.xml"
