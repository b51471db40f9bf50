import { PodIdentityCluster } from './pod-identity-cluster';

/**
 * A Kubernetes service account on a cluster: `(cluster, namespace, serviceAccount)`.
 */
export interface ServiceAccountRef {
  /** The cluster. */
  readonly cluster: PodIdentityCluster;

  /**
   * The namespace (a DNS-1123 label).
   *
   * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names
   */
  readonly namespace: string;

  /**
   * The service account name (a DNS-1123 subdomain).
   *
   * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names
   */
  readonly serviceAccount: string;
}
