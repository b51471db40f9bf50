#!/usr/bin/env bash
# Runs every test of the project from a clean clone, installing what it needs, on two aws-cdk-lib
# lines: the floor the package declares (package.json) and the newest the registries serve,
# resolved now (what a new user's `cdk init` / `pip install` gets).
#   0. shellcheck, jq, kubectl and the AWS CLI for the runbook tests (scripts/install-tools.sh);
#   1. npm ci, the full projen build on the floor (compile, jest with coverage, eslint, docgen,
#      rosetta --strict, package for js and python);
#   2. jest again on the newest aws-cdk-lib and cdk8s, installed in .cdk-lines/newest
#      (scripts/jest-cdk-line.config.js maps them in; the project's node_modules stay as they are);
#   3. the benchmarks at their smoke size: bench/run.ts --smoke (it runs, and the floor it compares
#      with writes the same CloudFormation) and bench/operator.ts --smoke (preflight, verify and apply by the
#      former scripts, bench/baseline/lib.sh, and by the operator engine, operator/, print the same lines);
#   4. the Python wheel in fresh venvs under pytest: newest aws-cdk-lib, then the floor pinned;
#   5. the acceptance suite (test/acceptance) in the test bed (scripts/testbed/), on the floor: collect
#      and the generated runbook scripts against real kube-apiservers with the real EKS pod identity
#      webhook, moto and the EKS stand-in; the bed's Go parts are built once into a cache outside the
#      clone, in the background while step 4 runs.
# Node.js: everything runs on the newest LTS line, and step 2 on the oldest supported one, each the
# official build from the npm registry (scripts/install-node.sh, cached outside the clone). Python:
# the floor's pytest runs on the oldest Python the wheel declares, the newest's on the newest the
# machine has of those it declares (pyenv's builds, else the system's python3).
# Ends with one line "N passed, N failed" adding up every report, and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# the supported Node.js LTS lines (package.json engines: >= 22): the newest release of each
NODE_NEWEST=24.22.3
NODE_OLDEST=22.23.5
node_newest=$(bash scripts/install-node.sh "$NODE_NEWEST") || exit 1
node_oldest=$(bash scripts/install-node.sh "$NODE_OLDEST") || exit 1
export PATH="$node_newest:$PATH"
echo "=== Node.js $(node --version) (newest LTS line) runs the build and every step but one; $("$node_oldest/node" --version) (oldest supported line) runs jest on the newest aws-cdk-lib"

# a Python of each minor version the wheel declares (python_requires >= 3.10), oldest and newest found
python_of() {
  local minor exe
  for minor in "$@"; do
    for exe in "$(pyenv root 2>/dev/null)"/versions/"$minor".*/bin/python"$minor" "$(command -v "python$minor" 2>/dev/null)"; do
      if [ -x "$exe" ]; then
        echo "$exe"
        return 0
      fi
    done
  done
  command -v python3
}
python_oldest=$(python_of 3.10 3.11 3.12 3.13 3.14)
python_newest=$(python_of 3.14 3.13 3.12 3.11 3.10)

if [ "${CI:-}" = "true" ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund || exit 1
fi

echo "=== tools the runbook tests run: shellcheck, jq, kubectl (Debian), the AWS CLI (PyPI)"
bash scripts/install-tools.sh || exit 1

rm -rf test-reports dist
mkdir -p test-reports
status=0
floor=$(node -p "require('./package.json').devDependencies['aws-cdk-lib']")
constructs_floor=$(node -p "require('./package.json').devDependencies['constructs']")

echo "=== [floor: aws-cdk-lib $floor] projen build (compile, jest, eslint, docgen, rosetta, package js + python)"
npx projen build || status=$?

# Under CI=true projen's build packages js only (its workflow packages other languages in
# separate jobs); package Python here so the wheel exists in every environment.
if [ "$status" -eq 0 ] && ! ls dist/python/*.whl >/dev/null 2>&1; then
  echo "=== package:python (jsii-pacmak)"
  npx projen package:python || status=$?
fi

if ls dist/js/*.tgz dist/python/*.whl >/dev/null 2>&1; then
  echo "=== the packages hold only the library"
  python3 scripts/check-packages.py || status=1
fi

echo "=== bench smoke (bench/run.ts --smoke): library and raw-L1 floor synthesize the same CloudFormation, within CloudFormation's limits"
if [ -f lib/index.js ]; then
  (npx tsc -p bench/tsconfig.json && node .bench/run.js --smoke) || status=1
  echo "=== operator bench smoke (bench/operator.ts --smoke): preflight, verify and apply by lib.sh (the baseline) and by the operator engine print the same lines"
  node .bench/operator.js --smoke || status=1
else
  echo "no compiled library (lib/); the build failed"
  status=1
fi

newest=$(npm view aws-cdk-lib version 2>/dev/null || true)
newest_cdk8s=$(npm view cdk8s version 2>/dev/null || true)
if [ -z "$newest" ] || [ -z "$newest_cdk8s" ]; then
  echo "could not resolve the newest aws-cdk-lib / cdk8s from the registry" >&2
  status=1
else
  echo "=== [newest: aws-cdk-lib $newest, cdk8s $newest_cdk8s; Node.js $("$node_oldest/node" --version)] jest"
  line=.cdk-lines/newest
  rm -rf "$line" && mkdir -p "$line"
  echo '{ "name": "cdk-line-newest", "private": true }' > "$line/package.json"
  (cd "$line" && npm install --no-audit --no-fund --silent "aws-cdk-lib@$newest" "cdk8s@$newest_cdk8s" "constructs@^10") || status=1
  PATH="$node_oldest:$PATH" CDK_LINE_DIR="$line" CDK_LINE_LABEL=newest npx jest --ci -c scripts/jest-cdk-line.config.js || status=$?
fi

# The bed's Go parts build in the background while pytest runs (pytest leaves a core and the
# network mostly idle; a new machine spends about 13 minutes on them); the acceptance step waits.
# On a machine that has them in its cache this takes seconds.
echo "=== the test bed's parts build in the background (scripts/testbed/build.sh) while pytest runs"
bash scripts/testbed/build.sh >/dev/null 2>test-reports/testbed-build.log &
bed_build=$!

if ls dist/python/*.whl >/dev/null 2>&1; then
  echo "=== [newest; $("$python_newest" --version)] pytest against the installed wheel"
  PYTHON="$python_newest" bash scripts/test-python.sh newest || status=$?
  echo "=== [floor: aws-cdk-lib $floor; $("$python_oldest" --version)] pytest against the installed wheel"
  PYTHON="$python_oldest" bash scripts/test-python.sh floor "aws-cdk-lib==$floor" "constructs==$constructs_floor" || status=$?
else
  echo "no wheel was built; skipping the Python tests"
  status=1
fi

echo "=== the test bed's parts (built in the background since pytest began)"
bed_build_status=0
wait "$bed_build" || bed_build_status=$?
cat test-reports/testbed-build.log
if [ "$bed_build_status" -ne 0 ]; then
  echo "building the test bed's parts failed ($bed_build_status); the acceptance step tries again"
fi

echo "=== [floor] the acceptance suite in the test bed (scripts/testbed/: real Kubernetes, the real EKS pod identity webhook, moto, the EKS stand-in)"
if [ -f lib/collect/cli.js ]; then
  SKIP_COMPILE=1 bash scripts/testbed/run-acceptance.sh --ci || status=$?
else
  echo "no compiled library (lib/); the build failed"
  status=1
fi

python3 scripts/summarize-tests.py test-reports/junit.xml test-reports/junit-newest.xml \
  test-reports/pytest-newest.xml test-reports/pytest-floor.xml test-reports/junit-acceptance.xml || status=1
exit "$status"
