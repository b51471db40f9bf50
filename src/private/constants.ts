/** The service principal of EKS Pod Identity. */
export const POD_IDENTITY_PRINCIPAL = 'pods.eks.amazonaws.com';

/** The session tags EKS Pod Identity attaches to every assume (F6). */
export const SESSION_TAGS = {
  CLUSTER_ARN: 'eks-cluster-arn',
  CLUSTER_NAME: 'eks-cluster-name',
  NAMESPACE: 'kubernetes-namespace',
  SERVICE_ACCOUNT: 'kubernetes-service-account',
  POD_NAME: 'kubernetes-pod-name',
  POD_UID: 'kubernetes-pod-uid',
} as const;

/** The addresses of the Pod Identity agent, IPv4 and IPv6, which a proxied workload's NO_PROXY must list. */
export const AGENT_ADDRESSES = ['169.254.170.23', '[fd00:ec2::23]'];

/**
 * Annotations and labels that a client or the server writes on a ServiceAccount as bookkeeping of
 * its own (never part of what the owner declared). A manifest that copied them would carry a stale
 * record: `kubectl.kubernetes.io/last-applied-configuration` still holds the role annotation after
 * ANNOTATION_REMOVED, and `kubectl apply` would compute its next patch from it (F17). The inventory
 * drops them; the GitOps tool that applies the manifests writes its own again.
 */
export const CLIENT_WRITTEN_METADATA: { readonly annotations: readonly string[]; readonly labels: readonly string[] } = {
  annotations: [
    // kubectl apply (client-side apply)
    'kubectl.kubernetes.io/last-applied-configuration',
    // Argo CD's resource tracking
    'argocd.argoproj.io/tracking-id',
    // kapp
    'kapp.k14s.io/identity',
    'kapp.k14s.io/original',
    'kapp.k14s.io/original-diff-md5',
  ],
  labels: [
    // Flux's kustomize-controller
    'kustomize.toolkit.fluxcd.io/name',
    'kustomize.toolkit.fluxcd.io/namespace',
    // kapp
    'kapp.k14s.io/app',
    'kapp.k14s.io/association',
  ],
};
