#!/usr/bin/env bash
# Runs every test of the project from a clean clone, installing what it needs:
#   npm ci, the full projen build (compile, jest with coverage, eslint, docgen, rosetta --strict,
#   package for js and python), then the Python wheel in a fresh venv under pytest (which also runs
#   cfn-lint over the example's templates). Ends with one line "N passed, N failed" that adds up
#   jest's and pytest's counts, and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${CI:-}" = "true" ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund || exit 1
fi

rm -rf test-reports dist
mkdir -p test-reports
status=0

echo "=== projen build (compile, jest, eslint, docgen, rosetta, package js + python)"
npx projen build || status=$?

# Under CI=true projen's build packages js only (its workflow packages other languages in
# separate jobs); package Python here so the wheel exists in every environment.
if [ "$status" -eq 0 ] && ! ls dist/python/*.whl >/dev/null 2>&1; then
  echo "=== package:python (jsii-pacmak)"
  npx projen package:python || status=$?
fi

if [ "$status" -eq 0 ]; then
  echo "=== pytest against the installed wheel"
  bash scripts/test-python.sh || status=$?
else
  echo "projen build failed (exit $status); skipping the Python tests"
fi

python3 scripts/summarize-tests.py test-reports/junit.xml test-reports/pytest.xml || status=1
exit "$status"
