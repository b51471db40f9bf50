#!/usr/bin/env bash
# Installs the wheel built by jsii-pacmak (dist/python) into a fresh venv and runs pytest over
# test-python/. Needs `npx projen build` (or `npx projen package-all`) to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

wheel=$(ls dist/python/*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "no wheel under dist/python: run 'npx projen build' first" >&2
  exit 1
fi
tarball=$(ls dist/js/*.tgz 2>/dev/null | head -n 1 || true)
echo "packages: $tarball $wheel"

venv=.venv
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$wheel" -r test-python/requirements.txt
"$venv/bin/python" -m pytest test-python -v --junitxml=test-reports/pytest.xml
