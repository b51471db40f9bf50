#!/usr/bin/env bash
# The real tools the tests need, installed once into .tools/ (and shellcheck, jq system-wide):
#   ShellCheck and jq from Debian's packages (the generated scripts are checked with shellcheck and use jq);
#   kubectl from Debian's kubernetes-client package, unpacked into .tools/kubernetes-client (not installed,
#     so it cannot conflict with a kubectl already on the machine): pytest runs the wheel's command with it;
#   the AWS CLI from PyPI in .tools/awscli (the operator's client in the test bed);
#   moto's server from PyPI in .tools/moto (IAM, STS and SSM of the test bed).
set -euo pipefail
cd "$(dirname "$0")/.."
AWSCLI_VERSION=1.46.3
MOTO_VERSION=5.2.5
sudo=''
if [ "$(id -u)" != 0 ]; then sudo='sudo'; fi
missing=''
for t in shellcheck jq; do
  command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ] || [ ! -x .tools/kubernetes-client/usr/bin/kubectl ]; then
  $sudo apt-get update -qq
fi
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
if [ ! -x .tools/kubernetes-client/usr/bin/kubectl ]; then
  mkdir -p .tools/debs
  (cd .tools/debs && apt-get download kubernetes-client >/dev/null)
  dpkg-deb -x .tools/debs/kubernetes-client_*.deb .tools/kubernetes-client
fi
if [ ! -x .tools/awscli/bin/aws ] || ! .tools/awscli/bin/aws --version 2>&1 | grep -q "aws-cli/$AWSCLI_VERSION "; then
  python3 -m venv .tools/awscli
  .tools/awscli/bin/python -m pip install --quiet --upgrade pip
  .tools/awscli/bin/python -m pip install --quiet "awscli==$AWSCLI_VERSION"
fi
if [ ! -x .tools/moto/bin/moto_server ] || ! .tools/moto/bin/python -m pip show moto 2>/dev/null | grep -q "^Version: $MOTO_VERSION$"; then
  python3 -m venv .tools/moto
  .tools/moto/bin/python -m pip install --quiet --upgrade pip
  .tools/moto/bin/python -m pip install --quiet "moto[server]==$MOTO_VERSION"
fi
echo "tools: $(shellcheck --version | sed -n 2p), jq $(jq --version), kubectl $(.tools/kubernetes-client/usr/bin/kubectl version --client --short 2>/dev/null || .tools/kubernetes-client/usr/bin/kubectl version --client | head -1), $(.tools/awscli/bin/aws --version 2>&1), moto $MOTO_VERSION"
