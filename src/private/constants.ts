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
