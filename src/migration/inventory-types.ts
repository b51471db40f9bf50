/*
 * The inventory's public types: what IrsaInventory reads from a fleet (service accounts, their
 * workloads, managed add-ons and their configurations) and a parsed role ARN.
 */

/**
 * An IAM role ARN, parsed.
 */
export interface ParsedRoleArn {
  /** The ARN. */
  readonly arn: string;
  /** The partition, e.g. `aws`. */
  readonly partition: string;
  /** The account. */
  readonly account: string;
  /** The role path, `/` when none. */
  readonly path: string;
  /** The role name. */
  readonly roleName: string;
}

/**
 * A workload (Deployment, StatefulSet, DaemonSet, CronJob, Job or bare Pod) that runs with an IRSA
 * service account.
 */
export interface InventoryWorkload {
  /** The kind: `Deployment`, `StatefulSet`, `DaemonSet`, `CronJob`, `Job` or `Pod`. */
  readonly kind: string;
  /** The name. */
  readonly name: string;
  /** Whether a container sets `HTTP_PROXY` or `HTTPS_PROXY`. */
  readonly usesProxy: boolean;
  /**
   * The agent addresses missing from `NO_PROXY` while a proxy is set: pods would send their Pod
   * Identity credential requests to the proxy and silently fall back to the node role (F12).
   */
  readonly noProxyMissing: string[];
  /**
   * The `NO_PROXY` value of the first container that sets a proxy.
   *
   * @default - none
   */
  readonly noProxy?: string;
  /**
   * Proxy settings the workload takes from ConfigMaps or Secrets (`valueFrom`, `envFrom`), whose
   * values the inventory cannot see: e.g. `HTTPS_PROXY (valueFrom)`, `envFrom configMap proxy`.
   * The runbook's preflight resolves them on the live cluster (F12).
   *
   * @default - none
   */
  readonly unresolvedProxySettings?: string[];
}

/**
 * A ServiceAccount given explicitly.
 */
export interface IrsaServiceAccountEntry {
  /** The cluster name. */
  readonly cluster: string;
  /** The namespace. */
  readonly namespace: string;
  /** The service account name. */
  readonly serviceAccount: string;
  /** The IRSA role ARN (the `eks.amazonaws.com/role-arn` annotation). */
  readonly roleArn: string;
  /**
   * Labels of the ServiceAccount.
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };
  /**
   * Annotations of the ServiceAccount other than the role ARN.
   *
   * @default - none
   */
  readonly annotations?: { [key: string]: string };
  /**
   * `automountServiceAccountToken` of the ServiceAccount.
   *
   * @default - not set (Kubernetes mounts the token)
   */
  readonly automountServiceAccountToken?: boolean;
}

/**
 * An IRSA service account of the inventory.
 */
export interface IrsaServiceAccount extends IrsaServiceAccountEntry {
  /** The role ARN, parsed. */
  readonly role: ParsedRoleArn;
  /**
   * The Helm release that manages the ServiceAccount (`meta.helm.sh/release-name`).
   *
   * @default - not managed by Helm
   */
  readonly helmRelease?: string;
  /** The workloads that run with this service account (from workloads input). */
  readonly workloads: InventoryWorkload[];
  /** Where the entry came from (a file name, or `entries`). */
  readonly source: string;
}

/**
 * A managed EKS add-on of a cluster, from `aws eks describe-addon` output.
 */
export interface InventoryAddon {
  /** The cluster name. */
  readonly cluster: string;
  /** The add-on name, e.g. `vpc-cni`. */
  readonly addonName: string;
  /** The add-on version, e.g. `v1.19.2-eksbuild.1`. */
  readonly addonVersion: string;
  /**
   * The IAM role of the add-on's service accounts through IRSA (`serviceAccountRoleArn`).
   *
   * @default - none: the add-on uses the node role or Pod Identity, and the migration leaves it alone
   */
  readonly serviceAccountRoleArn?: string;
  /** The ARNs of the Pod Identity associations the add-on owns today. */
  readonly podIdentityAssociations: string[];
  /**
   * The add-on's configuration values (JSON or YAML text), kept when the add-on is adopted.
   *
   * @default - none
   */
  readonly configurationValues?: string;
  /**
   * The add-on's tags, kept when the add-on is adopted.
   *
   * @default - none
   */
  readonly tags?: { [key: string]: string };
  /**
   * The namespace the add-on installs into (`namespaceConfig.namespace`).
   *
   * @default - the add-on's own namespace (unknown to the inventory)
   */
  readonly namespace?: string;
  /** Where the entry came from. */
  readonly source: string;
}

/**
 * What `aws eks describe-addon-configuration` says about one version of an add-on: whether it
 * supports Pod Identity, and for which service accounts.
 */
export interface AddonConfiguration {
  /** The add-on name. */
  readonly addonName: string;
  /** The add-on version. */
  readonly addonVersion: string;
  /**
   * The service accounts that can take a Pod Identity association (`podIdentityConfiguration`);
   * empty when this version does not support Pod Identity.
   */
  readonly podIdentityServiceAccounts: string[];
  /** Where the entry came from. */
  readonly source: string;
}
