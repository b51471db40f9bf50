/*
 * The public types of a cluster reference: its compute type, its agent's status, and what
 * PodIdentityCluster's factories take.
 */

/**
 * Where the cluster's pods run, as far as EKS Pod Identity is concerned.
 *
 * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html#pod-id-considerations
 */
export enum ComputeType {
  /**
   * EC2 nodes: managed node groups, self-managed nodes, Karpenter. Pod Identity works once the
   * `eks-pod-identity-agent` DaemonSet runs on the nodes.
   */
  EC2 = 'EC2',

  /**
   * EKS Auto Mode: the Pod Identity agent is built into the nodes; no add-on is installed.
   */
  AUTO_MODE = 'AUTO_MODE',

  /**
   * EKS Auto Mode and managed or self-managed node groups: the Auto Mode nodes have the agent built
   * in, the node groups need the `eks-pod-identity-agent` add-on (v1.3.4 or later), which is
   * installed.
   */
  AUTO_MODE_AND_NODE_GROUPS = 'AUTO_MODE_AND_NODE_GROUPS',

  /**
   * EKS Hybrid Nodes (machines on premises or at the edge joined to the cluster), possibly beside
   * EC2 nodes: supported, with the `eks-pod-identity-agent` add-on v1.3.3 or later, which runs a
   * DaemonSet of its own on the hybrid nodes.
   *
   * @see https://docs.aws.amazon.com/eks/latest/userguide/hybrid-nodes-add-ons.html
   */
  HYBRID_NODES = 'HYBRID_NODES',

  /**
   * Fargate only. EKS Pod Identity does not support Fargate pods: keep IRSA for them.
   */
  FARGATE = 'FARGATE',

  /**
   * An EKS local cluster on AWS Outposts. EKS Pod Identity is not supported there.
   */
  OUTPOSTS = 'OUTPOSTS',
}

/**
 * Whether the `eks-pod-identity-agent` already runs on the cluster.
 */
export enum AgentStatus {
  /**
   * The agent is not installed outside this app. A `PodIdentityAgentAddon` in the app installs it.
   */
  NOT_INSTALLED = 'NOT_INSTALLED',

  /**
   * The agent is already installed and managed outside this app (console, eksctl, another
   * stack). No add-on is created for the cluster.
   */
  PRE_INSTALLED = 'PRE_INSTALLED',

  /**
   * The agent is built into EKS Auto Mode. No add-on is created for the cluster.
   */
  AUTO_MODE = 'AUTO_MODE',
}

/**
 * What every construct of this library needs to know about a cluster beyond its name.
 */
export interface ClusterReferenceOptions {
  /**
   * Whether the Pod Identity agent already runs on the cluster.
   *
   * @default - `AgentStatus.AUTO_MODE` when `computeType` is `AUTO_MODE`, otherwise `AgentStatus.NOT_INSTALLED`
   */
  readonly agentStatus?: AgentStatus;

  /**
   * Where the cluster's pods run.
   *
   * @default - `ComputeType.EC2`; for `fromClusterV2`, `ComputeType.AUTO_MODE` when the cluster
   * enables Auto Mode compute; for `fromCluster`, `ComputeType.FARGATE` for an `eks.FargateCluster`
   */
  readonly computeType?: ComputeType;
}

/**
 * Plain attributes of an existing EKS cluster.
 */
export interface PodIdentityClusterAttributes extends ClusterReferenceOptions {
  /**
   * The cluster name.
   */
  readonly clusterName: string;

  /**
   * The cluster ARN.
   *
   * @default - `arn:<partition>:eks:<region>:<account>:cluster/<clusterName>` of the stack that uses it
   */
  readonly clusterArn?: string;

  /**
   * ARN of the cluster's IAM OIDC provider. Needed only for IRSA trust statements.
   *
   * @default - derived from `oidcIssuer` and the account of `clusterArn` when both are known; otherwise none
   * @see https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html
   */
  readonly oidcProviderArn?: string;

  /**
   * The cluster's OIDC issuer, with or without `https://`
   * (e.g. `oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`).
   *
   * @default - derived from `oidcProviderArn`; otherwise none
   */
  readonly oidcIssuer?: string;
}
