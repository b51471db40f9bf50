import { Annotations, Stack, Stage } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import { Construct, IConstruct } from 'constructs';
import { AgentStatus, ComputeType } from './cluster-types';
import { nodeGroupsOf, PodIdentityCluster } from './pod-identity-cluster';
import { appRegistry } from './private/app-registry';
import { checkClusterEnvironment } from './private/environment';
import { clusterLabel, constructError, show } from './private/errors';
import { isConcrete, isValidAddonVersion } from './private/names';
import { Synthesized, synthesizedUnder } from './private/synthesized';

/** The EKS add-on name of the Pod Identity agent. */
const AGENT_ADDON_NAME = 'eks-pod-identity-agent';

/** Registry of the agent add-ons of an app, keyed by cluster. */
const REGISTRY = 'cdk-eks-pod-identity.PodIdentityAgentAddon';

/**
 * Per Stage (or App) holding agent add-ons: every `eks-pod-identity-agent` add-on of the app, as it
 * synthesizes, found by one walk of the app per validation pass (not one per add-on).
 */
const AGENT_ADDONS_OF_APP = new WeakMap<IConstruct, Synthesized[]>();

/**
 * Makes the validation pass of `stage` start by indexing the agent add-ons of the whole app:
 * CDK validates a Stage's tree root first, so the add-ons' own validations read a fresh index.
 */
function indexAgentAddonsOnValidation(stage: IConstruct): void {
  if (AGENT_ADDONS_OF_APP.has(stage)) {
    return;
  }
  AGENT_ADDONS_OF_APP.set(stage, []);
  stage.node.addValidation({
    validate: () => {
      AGENT_ADDONS_OF_APP.set(stage, synthesizedUnder(stage.node.root, 'AWS::EKS::Addon').filter((a) => a.properties.AddonName === AGENT_ADDON_NAME));
      return [];
    },
  });
}

/**
 * How EKS resolves conflicts between the add-on's configuration and what is already on the cluster.
 *
 * @see https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAddon.html#AmazonEKS-CreateAddon-request-resolveConflicts
 */
export enum AddonConflictResolution {
  /** Overwrite values changed on the cluster (including a self-managed agent) with the add-on's. */
  OVERWRITE = 'OVERWRITE',
  /** Leave conflicting values alone; the create or update fails if there is a conflict. */
  NONE = 'NONE',
  /** Keep the values on the cluster (valid when updating an add-on). */
  PRESERVE = 'PRESERVE',
}

/** The first add-on version that serves each compute type that needs a recent one (F11). */
const MINIMUM_ADDON_VERSION: { [compute: string]: { version: string; what: string } } = {
  [ComputeType.AUTO_MODE_AND_NODE_GROUPS]: { version: 'v1.3.4', what: 'node groups beside EKS Auto Mode' },
  [ComputeType.HYBRID_NODES]: { version: 'v1.3.3', what: 'EKS Hybrid Nodes' },
};

/** Whether add-on version `a` (`v1.3.2-eksbuild.1`) is older than `b` (`v1.3.4`). */
function olderThan(a: string, b: string): boolean {
  const parts = (v: string) => v.replace(/^v/, '').split(/[.-]/).slice(0, 3).map((x) => parseInt(x, 10));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    if (x[i] !== y[i]) {
      return x[i] < y[i];
    }
  }
  return false;
}

/**
 * Properties of a `PodIdentityAgentAddon`.
 */
export interface PodIdentityAgentAddonProps {
  /**
   * The cluster to install the agent on. The add-on belongs in a stack of the cluster's account
   * and region.
   */
  readonly cluster: PodIdentityCluster;

  /**
   * The add-on version, e.g. `v1.3.4-eksbuild.1`.
   *
   * @default - the default version EKS picks for the cluster's Kubernetes version
   * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html
   */
  readonly addonVersion?: string;

  /**
   * How to resolve conflicts with what is already on the cluster.
   *
   * @default AddonConflictResolution.OVERWRITE
   */
  readonly resolveConflicts?: AddonConflictResolution;

  /**
   * Keep the agent running on the cluster when the add-on resource is deleted.
   *
   * Deleting the agent cuts off credentials for every pod that uses Pod Identity on the cluster,
   * so the default keeps it.
   *
   * @default true
   */
  readonly preserveOnDelete?: boolean;

  /**
   * Configuration values for the add-on, as the JSON object its configuration schema accepts
   * (`aws eks describe-addon-configuration --addon-name eks-pod-identity-agent --addon-version <v>`),
   * e.g. `{ tolerations: [{ operator: 'Exists' }] }` so the DaemonSet also runs on tainted nodes.
   *
   * @default - the add-on's defaults
   * @see https://docs.aws.amazon.com/eks/latest/userguide/eks-add-ons.html#add-on-config
   */
  readonly configurationValues?: { [key: string]: any };
}

/**
 * The `eks-pod-identity-agent` EKS add-on for one cluster.
 *
 * The agent is the DaemonSet that serves Pod Identity credentials to pods
 * (`169.254.170.23` and `[fd00:ec2::23]`). An app holds at most one `PodIdentityAgentAddon` per
 * cluster: a second one for the same cluster fails synthesis and names the first;
 * `PodIdentityAgentAddon.forCluster()` finds it. Clusters that do not need an add-on produce no
 * resource: EKS Auto Mode clusters (the agent is built in) and clusters declared
 * `AgentStatus.PRE_INSTALLED`; `installed` is then false. Fargate-only and Outposts clusters cannot
 * run Pod Identity and fail synthesis.
 *
 * @resource AWS::EKS::Addon
 * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html
 */
export class PodIdentityAgentAddon extends Construct {
  /**
   * The agent add-on of this app for `cluster`, if one was defined.
   *
   * @param scope any construct of the app
   * @param cluster the cluster
   */
  public static forCluster(scope: IConstruct, cluster: PodIdentityCluster): PodIdentityAgentAddon | undefined {
    return appRegistry<PodIdentityAgentAddon>(scope, REGISTRY).get(cluster._key);
  }

  /** The cluster the agent is for. */
  public readonly cluster: PodIdentityCluster;

  /**
   * Whether this construct creates the add-on. False for Auto Mode clusters and clusters whose
   * agent is declared `PRE_INSTALLED`.
   */
  public readonly installed: boolean;

  /**
   * The `AWS::EKS::Addon` resource.
   *
   * @default - none when `installed` is false
   */
  public readonly resource?: eks.CfnAddon;

  constructor(scope: Construct, id: string, props: PodIdentityAgentAddonProps) {
    super(scope, id);
    const { cluster } = props;
    this.cluster = cluster;

    if (cluster.computeType === ComputeType.FARGATE || cluster.computeType === ComputeType.OUTPOSTS) {
      throw constructError(this, 'PodIdentityAgentAddon',
        `cluster ${clusterLabel(cluster)} is declared computeType ${cluster.computeType}; EKS Pod Identity does not support ${cluster.computeType === ComputeType.FARGATE ? 'Fargate pods (the agent is a DaemonSet on EC2 nodes)' : 'EKS local clusters on Outposts'}. Keep IRSA for this cluster's workloads, or, if it also runs EC2 nodes, declare computeType: ComputeType.EC2.`);
    }

    const registry = appRegistry<PodIdentityAgentAddon>(this, REGISTRY);
    const first = registry.get(cluster._key);
    if (first) {
      throw constructError(this, 'PodIdentityAgentAddon',
        `cluster ${clusterLabel(cluster)} already has a PodIdentityAgentAddon at '${first.node.path}'; an app holds at most one per cluster (EKS allows one add-on of a name per cluster). Use PodIdentityAgentAddon.forCluster(scope, cluster) to reuse it.`);
    }
    registry.set(cluster._key, this);

    checkClusterEnvironment(this, 'PodIdentityAgentAddon', cluster, 'the add-on');

    if (props.addonVersion !== undefined && isConcrete(props.addonVersion) && !isValidAddonVersion(props.addonVersion)) {
      throw constructError(this, 'PodIdentityAgentAddon',
        `invalid addonVersion ${show(props.addonVersion)}: expected an EKS add-on version such as "v1.3.4-eksbuild.1" (list them with \`aws eks describe-addon-versions --addon-name eks-pod-identity-agent\`).`);
    }

    const minimum = MINIMUM_ADDON_VERSION[cluster.computeType];
    if (minimum && props.addonVersion !== undefined && isConcrete(props.addonVersion) && olderThan(props.addonVersion, minimum.version)) {
      throw constructError(this, 'PodIdentityAgentAddon',
        `addonVersion ${show(props.addonVersion)} is older than ${minimum.version}, the first that serves ${minimum.what} (cluster ${clusterLabel(cluster)} is ${cluster.computeType}). Use ${minimum.version} or later, or leave addonVersion unset for EKS's default.`);
    }

    if (cluster.agentStatus !== AgentStatus.NOT_INSTALLED) {
      this.installed = false;
      if (cluster.computeType === ComputeType.AUTO_MODE && cluster.clusterConstruct) {
        // node groups added to the cluster after it was referenced need the add-on after all
        const construct = cluster.clusterConstruct;
        this.node.addValidation({
          validate: () => nodeGroupsOf(construct).map((path) =>
            `PodIdentityAgentAddon at '${this.node.path}': cluster ${clusterLabel(cluster)} was referenced as Auto Mode only, but it also runs '${path}': pods there need the eks-pod-identity-agent add-on. Reference the cluster (PodIdentityCluster.fromClusterV2) after adding its node groups, or declare computeType AUTO_MODE_AND_NODE_GROUPS.`),
        });
      }
      Annotations.of(this).addInfo(
        `No eks-pod-identity-agent add-on for cluster ${clusterLabel(cluster)}: ${cluster.agentStatus === AgentStatus.AUTO_MODE ? 'EKS Auto Mode has the agent built in' : 'the agent is declared PRE_INSTALLED'}.`);
      return;
    }

    this.installed = true;
    this.resource = new eks.CfnAddon(this, 'Resource', {
      addonName: AGENT_ADDON_NAME,
      clusterName: cluster.clusterName,
      addonVersion: props.addonVersion,
      resolveConflicts: props.resolveConflicts ?? AddonConflictResolution.OVERWRITE,
      preserveOnDelete: props.preserveOnDelete ?? true,
      configurationValues: this.renderConfigurationValues(props.configurationValues),
    });

    indexAgentAddonsOnValidation(this.validationRoot);
    this.node.addValidation({ validate: () => this.findForeignAgentAddons() });
  }

  /**
   * ARN of the add-on.
   *
   * @attribute
   * @throws when `installed` is false
   */
  public get addonArn(): string {
    if (!this.resource) {
      throw constructError(this, 'PodIdentityAgentAddon',
        `no add-on is created for cluster ${clusterLabel(this.cluster)} (agentStatus ${this.cluster.agentStatus}), so it has no addonArn; check \`installed\` first.`);
    }
    return this.resource.attrArn;
  }

  private renderConfigurationValues(values: { [key: string]: any } | undefined): string | undefined {
    if (values === undefined) {
      return undefined;
    }
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw constructError(this, 'PodIdentityAgentAddon',
        `configurationValues must be a JSON object such as { tolerations: [{ operator: 'Exists' }] }; got ${show(values)}.`);
    }
    return Stack.of(this).toJsonString(values);
  }

  /**
   * Add-ons named eks-pod-identity-agent for the same cluster created by anything else in the app
   * (e.g. `cluster.eksPodIdentityAgent` of aws-eks or aws-eks-v2, or a plain `CfnResource`),
   * recognised by the `AWS::EKS::Addon` they synthesize.
   */
  /** The root of the tree CDK validates this add-on in: its Stage (or App). */
  private get validationRoot(): IConstruct {
    return Stage.of(this) ?? this.node.root;
  }

  private findForeignAgentAddons(): string[] {
    const stack = Stack.of(this);
    const ours = JSON.stringify(stack.resolve(this.cluster.clusterName));
    const others = AGENT_ADDONS_OF_APP.get(this.validationRoot)!
      .filter((a) => a.resource !== this.resource)
      .filter((a) => Stack.of(a.resource) === stack
        ? JSON.stringify(a.properties.ClusterName) === ours
        : typeof a.properties.ClusterName === 'string' && a.properties.ClusterName === this.cluster.clusterName
          && Stack.of(a.resource).region === stack.region && Stack.of(a.resource).account === stack.account)
      .map((a) => a.resource);
    return others.map((c) =>
      `PodIdentityAgentAddon at '${this.node.path}': another eks-pod-identity-agent add-on for cluster ${clusterLabel(this.cluster)} exists at '${c.node.path}' (for example from \`cluster.eksPodIdentityAgent\` or aws-eks ServiceAccount with POD_IDENTITY). Keep one: remove this PodIdentityAgentAddon and declare the cluster with agentStatus PRE_INSTALLED, or remove the other add-on.`);
  }
}
