import { Aws, Stack, Token } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as eksv2 from 'aws-cdk-lib/aws-eks-v2';
import { IConstruct } from 'constructs';
import { AgentStatus, ClusterReferenceOptions, ComputeType, PodIdentityClusterAttributes } from './cluster-types';
import { show } from './private/errors';
import {
  isConcrete,
  isValidClusterName,
  isValidIssuer,
  normalizeIssuer,
  parseClusterArn,
  parseOidcProviderArn,
} from './private/names';
import { synthesized } from './private/synthesized';

/**
 * A reference to an EKS cluster, as every construct of this library takes it.
 *
 * Build it from plain attributes, or from a cluster of `aws-cdk-lib/aws-eks` or
 * `aws-cdk-lib/aws-eks-v2`. It records what Pod Identity needs to know: the cluster's name and
 * ARN, its OIDC provider (for IRSA trust while a migration is under way), where its pods run
 * and whether the Pod Identity agent is already there.
 *
 * @example
 * const cluster = PodIdentityCluster.fromClusterAttributes({
 *   clusterName: 'platform-prod-use1-blue',
 *   clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/platform-prod-use1-blue',
 *   oidcIssuer: 'oidc.eks.us-east-1.amazonaws.com/id/DF75D6E91EF1EBC6E151576E19DDAE75',
 * });
 */
export class PodIdentityCluster {
  /**
   * Reference a cluster by its attributes.
   *
   * Concrete values are checked now: the name, the ARN (and that it names the same cluster),
   * the OIDC provider ARN and issuer (and that they agree).
   */
  public static fromClusterAttributes(attrs: PodIdentityClusterAttributes): PodIdentityCluster {
    const where = `PodIdentityCluster.fromClusterAttributes(${show(attrs.clusterName)})`;
    const { clusterName } = attrs;
    if (isConcrete(clusterName) && !isValidClusterName(clusterName)) {
      throw new Error(`${where}: invalid clusterName ${show(clusterName)}: an EKS cluster name has 1-100 letters, digits, '-' or '_' and starts with a letter or digit.`);
    }

    const { region, account, partition } = clusterArnOf(where, attrs);
    const { issuer, providerArn } = oidcOf(where, attrs, region, account, partition);
    const noOidcProvider = providerArn === undefined && issuer !== undefined
      ? `oidcIssuer ${show(issuer)} is given, but the ARN of its IAM OIDC provider also needs the cluster's account: pass clusterArn `
        + `(arn:<partition>:eks:<region>:<account>:cluster/${clusterName}) or oidcProviderArn to PodIdentityCluster.fromClusterAttributes`
      : undefined;

    const clusterArn = attrs.clusterArn
      ?? `arn:${Aws.PARTITION}:eks:${Aws.REGION}:${Aws.ACCOUNT_ID}:cluster/${clusterName}`;
    const key = isConcrete(attrs.clusterArn) ? attrs.clusterArn : `attributes:${clusterName}:${attrs.clusterArn ?? ''}`;
    return new PodIdentityCluster(where, {
      clusterName,
      clusterArn,
      region,
      account,
      key,
      computeType: attrs.computeType,
      agentStatus: attrs.agentStatus,
      oidc: () => (providerArn !== undefined && issuer !== undefined ? { providerArn, issuer } : undefined),
      noOidcProvider,
    });
  }

  /**
   * Reference a cluster of `aws-cdk-lib/aws-eks` (`eks.Cluster`, `eks.FargateCluster` or
   * `eks.Cluster.fromClusterAttributes`).
   *
   * The cluster's OIDC provider is read only when an IRSA trust needs it; on an `eks.Cluster`
   * defined in the app that read creates the provider, as `cluster.openIdConnectProvider` does.
   */
  public static fromCluster(cluster: eks.ICluster, options: ClusterReferenceOptions = {}): PodIdentityCluster {
    const defaultCompute = cluster instanceof eks.FargateCluster ? ComputeType.FARGATE : ComputeType.EC2;
    return PodIdentityCluster.fromClusterConstruct('fromCluster', cluster, defaultCompute, options,
      () => readOidcProvider(cluster, cluster instanceof eks.Cluster));
  }

  /**
   * Reference a cluster of `aws-cdk-lib/aws-eks-v2` (`eksv2.Cluster` or
   * `eksv2.Cluster.fromClusterAttributes`).
   *
   * The compute type is read from what the cluster synthesizes: Auto Mode compute (the default of
   * `eksv2.Cluster`) is `ComputeType.AUTO_MODE`, so no agent add-on is created for it; Auto Mode
   * with node groups or Auto Scaling groups (added before this call) is
   * `AUTO_MODE_AND_NODE_GROUPS`, which gets the add-on; remote node networks (Hybrid Nodes) are
   * `HYBRID_NODES`. An imported cluster is `EC2` unless `computeType` says otherwise.
   */
  public static fromClusterV2(cluster: eksv2.ICluster, options: ClusterReferenceOptions = {}): PodIdentityCluster {
    return PodIdentityCluster.fromClusterConstruct('fromClusterV2', cluster, computeOfV2(cluster), options,
      () => readOidcProvider(cluster, ownedV2(cluster)));
  }

  private static fromClusterConstruct(
    factory: string,
    cluster: IConstruct & { readonly clusterName: string; readonly clusterArn: string },
    defaultCompute: ComputeType,
    options: ClusterReferenceOptions,
    oidc: () => OidcInfo | undefined,
  ): PodIdentityCluster {
    const parsed = isConcrete(cluster.clusterArn) ? parseClusterArn(cluster.clusterArn) : undefined;
    const stack = Stack.of(cluster);
    const key = isConcrete(cluster.clusterArn)
      ? cluster.clusterArn
      : `construct:${stack.node.path}:${JSON.stringify(stack.resolve(cluster.clusterArn))}`;
    return new PodIdentityCluster(`PodIdentityCluster.${factory}('${cluster.node.path}')`, {
      clusterName: cluster.clusterName,
      clusterArn: cluster.clusterArn,
      region: parsed?.region ?? (Token.isUnresolved(stack.region) ? undefined : stack.region),
      account: parsed?.account ?? (Token.isUnresolved(stack.account) ? undefined : stack.account),
      key,
      computeType: options.computeType ?? defaultCompute,
      agentStatus: options.agentStatus,
      oidc,
      construct: cluster,
    });
  }

  /** The cluster name. */
  public readonly clusterName: string;

  /** The cluster ARN (may be a token). */
  public readonly clusterArn: string;

  /**
   * The cluster's region, when known at synth time.
   *
   * @default - unknown (a token or an environment-agnostic stack)
   */
  public readonly region?: string;

  /**
   * The cluster's account, when known at synth time.
   *
   * @default - unknown (a token or an environment-agnostic stack)
   */
  public readonly account?: string;

  /** Where the cluster's pods run. */
  public readonly computeType: ComputeType;

  /** Whether the Pod Identity agent already runs on the cluster without this app. */
  public readonly agentStatus: AgentStatus;

  /**
   * The construct of the referenced cluster, for a reference made by `fromCluster` or `fromClusterV2`.
   *
   * @default - none (a reference from attributes)
   */
  public readonly clusterConstruct?: IConstruct;

  /** @internal */
  public readonly _key: string;

  /** @internal */
  public readonly _description: string;

  /**
   * Why the reference has no OIDC provider, when it was given part of one (for messages).
   *
   * @internal
   */
  public readonly _noOidcProvider?: string;

  private readonly oidc: () => OidcInfo | undefined;

  private constructor(description: string, props: ClusterReferenceProps) {
    const computeType = props.computeType ?? ComputeType.EC2;
    let agentStatus = props.agentStatus;
    if (computeType === ComputeType.AUTO_MODE_AND_NODE_GROUPS && agentStatus === AgentStatus.AUTO_MODE) {
      throw new Error(`${description}: agentStatus AUTO_MODE contradicts computeType AUTO_MODE_AND_NODE_GROUPS: the agent is built into Auto Mode nodes only, and pods on the node groups need the eks-pod-identity-agent add-on. Omit agentStatus (the add-on is installed) or set AgentStatus.PRE_INSTALLED.`);
    }
    if (computeType === ComputeType.AUTO_MODE) {
      if (agentStatus !== undefined && agentStatus !== AgentStatus.AUTO_MODE) {
        throw new Error(`${description}: agentStatus ${agentStatus} contradicts computeType AUTO_MODE: EKS Auto Mode has the Pod Identity agent built in. Omit agentStatus or set AgentStatus.AUTO_MODE.`);
      }
      agentStatus = AgentStatus.AUTO_MODE;
    }
    this._description = description;
    this.clusterName = props.clusterName;
    this.clusterArn = props.clusterArn;
    this.region = props.region;
    this.account = props.account;
    this.computeType = computeType;
    this.agentStatus = agentStatus ?? AgentStatus.NOT_INSTALLED;
    this.clusterConstruct = props.construct;
    this._key = props.key;
    this._noOidcProvider = props.noOidcProvider;
    this.oidc = props.oidc;
  }

  /**
   * The same cluster (the same identity: `_key`) with another agent status, for a migration whose
   * own foundation stack installed the agent that the cluster now shows.
   *
   * @internal
   */
  public _withAgentStatus(agentStatus: AgentStatus): PodIdentityCluster {
    return new PodIdentityCluster(this._description, {
      clusterName: this.clusterName,
      clusterArn: this.clusterArn,
      region: this.region,
      account: this.account,
      key: this._key,
      computeType: this.computeType,
      agentStatus,
      construct: this.clusterConstruct,
      oidc: this.oidc,
      noOidcProvider: this._noOidcProvider,
    });
  }

  /**
   * Whether EKS Pod Identity can serve pods on this cluster.
   *
   * False for Fargate-only and Outposts clusters.
   */
  public get supportsPodIdentity(): boolean {
    return this.computeType !== ComputeType.FARGATE && this.computeType !== ComputeType.OUTPOSTS;
  }

  /**
   * Whether the app must install the `eks-pod-identity-agent` add-on for Pod Identity to work:
   * true only for a supported cluster whose agent is `NOT_INSTALLED`.
   */
  public get needsAgentAddon(): boolean {
    return this.supportsPodIdentity && this.agentStatus === AgentStatus.NOT_INSTALLED;
  }

  /**
   * ARN of the cluster's IAM OIDC provider, used for IRSA trust statements.
   *
   * Reading it on a reference made from an `aws-eks` or `aws-eks-v2` cluster reads
   * `cluster.openIdConnectProvider`, which creates the provider on a cluster defined in the app.
   *
   * @default - none: the reference was made from attributes without an OIDC provider or issuer
   */
  public get oidcProviderArn(): string | undefined {
    return this.oidc()?.providerArn;
  }

  /**
   * The cluster's OIDC issuer without `https://`, the prefix of the `:sub` and `:aud` condition keys.
   *
   * @default - none: the reference was made from attributes without an OIDC provider or issuer
   */
  public get oidcIssuer(): string | undefined {
    return this.oidc()?.issuer;
  }
}

interface OidcInfo {
  readonly providerArn: string;
  readonly issuer: string;
}

interface ClusterReferenceProps {
  readonly clusterName: string;
  readonly clusterArn: string;
  readonly region?: string;
  readonly account?: string;
  readonly key: string;
  readonly computeType?: ComputeType;
  readonly agentStatus?: AgentStatus;
  readonly oidc: () => OidcInfo | undefined;
  readonly construct?: IConstruct;
  /** Why there is no OIDC provider although part of one was given. */
  readonly noOidcProvider?: string;
}

interface ClusterWithOidcProvider {
  readonly openIdConnectProvider: { readonly openIdConnectProviderArn: string; readonly openIdConnectProviderIssuer: string };
}

/**
 * The OIDC provider of an aws-eks or aws-eks-v2 cluster. An owned cluster creates it on first
 * read; an imported cluster without `openIdConnectProvider` throws on read, which here means "none".
 */
function readOidcProvider(cluster: ClusterWithOidcProvider, owned: boolean): OidcInfo | undefined {
  const read = (): OidcInfo => {
    const provider = cluster.openIdConnectProvider;
    return { providerArn: provider.openIdConnectProviderArn, issuer: provider.openIdConnectProviderIssuer };
  };
  if (owned) {
    return read();
  }
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The `AWS::EKS::Cluster` an aws-eks-v2 cluster defined in the app synthesizes (none when imported). */
function clusterResourceOf(cluster: IConstruct) {
  const resource = cluster.node.tryFindChild('Resource');
  return resource ? synthesized(resource, 'AWS::EKS::Cluster') : undefined;
}

function ownedV2(cluster: IConstruct): boolean {
  return clusterResourceOf(cluster) !== undefined;
}

/**
 * The compute type of an aws-eks-v2 cluster, from what it synthesizes: `ComputeConfig.Enabled`
 * (Auto Mode), node groups and Auto Scaling groups under it, `RemoteNetworkConfig` (Hybrid Nodes).
 */
function computeOfV2(cluster: IConstruct): ComputeType {
  const cfn = clusterResourceOf(cluster);
  if (!cfn) {
    return ComputeType.EC2; // imported: the caller declares computeType
  }
  const autoMode = cfn.properties.ComputeConfig?.Enabled === true;
  const hybrid = (cfn.properties.RemoteNetworkConfig?.RemoteNodeNetworks ?? []).length > 0;
  if (autoMode) {
    return hybrid || nodeGroupsOf(cluster).length > 0 ? ComputeType.AUTO_MODE_AND_NODE_GROUPS : ComputeType.AUTO_MODE;
  }
  return hybrid ? ComputeType.HYBRID_NODES : ComputeType.EC2;
}

/**
 * The node groups and Auto Scaling groups defined under a cluster construct (paths).
 *
 * @internal
 */
export function nodeGroupsOf(cluster: IConstruct): string[] {
  return cluster.node.findAll()
    .filter((c) => synthesized(c, 'AWS::EKS::Nodegroup', 'AWS::AutoScaling::AutoScalingGroup') !== undefined)
    .map((c) => c.node.path);
}

/** The region, account and partition of a cluster's ARN when it is concrete, checked against its name. */
function clusterArnOf(where: string, attrs: PodIdentityClusterAttributes): { region?: string; account?: string; partition?: string } {
  if (!isConcrete(attrs.clusterArn)) {
    return {};
  }
  const parsed = parseClusterArn(attrs.clusterArn);
  if (!parsed) {
    throw new Error(`${where}: invalid clusterArn ${show(attrs.clusterArn)}: expected arn:<partition>:eks:<region>:<account>:cluster/<name>.`);
  }
  if (isConcrete(attrs.clusterName) && parsed.clusterName !== attrs.clusterName) {
    throw new Error(`${where}: clusterArn ${show(attrs.clusterArn)} names cluster ${show(parsed.clusterName)}, not ${show(attrs.clusterName)}: pass the ARN of the same cluster.`);
  }
  return { region: parsed.region, account: parsed.account, partition: parsed.partition };
}

/**
 * The cluster's OIDC issuer and provider ARN, each checked, against each other and against the
 * cluster's region and account; the provider ARN made from the issuer and the account when not given.
 */
function oidcOf(where: string, attrs: PodIdentityClusterAttributes, region?: string, account?: string,
  partition?: string): { issuer?: string; providerArn?: string } {
  const { clusterName } = attrs;
  let issuer = attrs.oidcIssuer !== undefined && isConcrete(attrs.oidcIssuer) ? normalizeIssuer(attrs.oidcIssuer) : attrs.oidcIssuer;
  if (isConcrete(issuer) && !isValidIssuer(issuer)) {
    throw new Error(`${where}: invalid oidcIssuer ${show(attrs.oidcIssuer)}: expected the issuer URL of the cluster, e.g. "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" (see \`aws eks describe-cluster --query cluster.identity.oidc.issuer\`).`);
  }
  const issuerRegion = isConcrete(issuer) ? /^oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com/.exec(issuer)?.[1] : undefined;
  if (issuerRegion !== undefined && region !== undefined && issuerRegion !== region) {
    throw new Error(`${where}: oidcIssuer ${show(issuer)} is in region ${issuerRegion}, but clusterArn ${show(attrs.clusterArn)} is in ${region}: `
      + `an EKS cluster's issuer is in its own region, so this one was taken from another cluster. Use this cluster's issuer (aws eks describe-cluster --name ${clusterName} --region ${region} --query cluster.identity.oidc.issuer).`);
  }
  let providerArn = attrs.oidcProviderArn;
  if (isConcrete(providerArn)) {
    const parsed = parseOidcProviderArn(providerArn);
    if (!parsed) {
      throw new Error(`${where}: invalid oidcProviderArn ${show(providerArn)}: expected arn:<partition>:iam::<account>:oidc-provider/<issuer>.`);
    }
    if (isConcrete(issuer) && parsed.issuer !== issuer) {
      throw new Error(`${where}: oidcProviderArn ${show(providerArn)} is for issuer ${show(parsed.issuer)} but oidcIssuer is ${show(issuer)}: they must name the same provider (or pass only one of them).`);
    }
    if (account !== undefined && parsed.account !== account) {
      throw new Error(`${where}: oidcProviderArn ${show(providerArn)} is in account ${parsed.account} but the cluster is in account ${account}: IRSA trusts the OIDC provider of the cluster's own account.`);
    }
    issuer = issuer ?? parsed.issuer;
  } else if (providerArn === undefined && isConcrete(issuer) && account !== undefined) {
    providerArn = `arn:${partition}:iam::${account}:oidc-provider/${issuer}`;
  }
  return { issuer, providerArn };
}
