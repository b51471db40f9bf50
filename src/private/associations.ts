import { CfnResource, Stack, Stage } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { appRegistry } from './app-registry';
import { clusterLabel, constructError } from './errors';
import { isConcrete } from './names';
import { describeServiceAccount } from './service-accounts';
import { PodIdentityAgentAddon } from '../pod-identity-agent-addon';
import { PodIdentityCluster } from '../pod-identity-cluster';
import { ServiceAccountRef } from '../service-account-ref';

/** EKS allows 5,000 Pod Identity associations per cluster (a fixed quota). */
export const MAX_ASSOCIATIONS_PER_CLUSTER = 5000;

const BY_SERVICE_ACCOUNT = 'cdk-eks-pod-identity.associations.byServiceAccount';
const PER_CLUSTER = 'cdk-eks-pod-identity.associations.perCluster';

/**
 * The Pod Identity associations of one app, whoever defines them (a `PodIdentityBinding`, or a
 * `PodIdentityMigration` for each migrated service account): EKS allows one association per
 * service account and 5,000 per cluster, and a second one fails at deploy time.
 */
export class AssociationRegistry {
  /** The registry of the app that holds `scope`. */
  public static of(scope: IConstruct): AssociationRegistry {
    return new AssociationRegistry(
      appRegistry<IConstruct>(scope, BY_SERVICE_ACCOUNT),
      appRegistry<number>(scope, PER_CLUSTER));
  }

  private constructor(
    private readonly byServiceAccount: Map<string, IConstruct>,
    private readonly perCluster: Map<string, number>) {}

  /**
   * Records that `owner` (the construct `kind` names in errors) defines the association of `ref`;
   * throws when the service account already has one in the app, or the cluster would have more
   * than EKS allows.
   */
  public claim(owner: IConstruct, kind: string, ref: ServiceAccountRef): void {
    const cluster = clusterIdentity(ref.cluster, owner);
    const key = `${cluster}|${ref.namespace}|${ref.serviceAccount}`;
    const first = this.byServiceAccount.get(key);
    if (first) {
      throw constructError(owner, kind,
        `${describeServiceAccount(ref)} already has a binding at '${first.node.path}'; EKS allows one association per service account (a second fails with ResourceInUseException). Bind each service account once, and use targetRole for a role in another account.`);
    }
    const count = (this.perCluster.get(cluster) ?? 0) + 1;
    if (count > MAX_ASSOCIATIONS_PER_CLUSTER) {
      throw constructError(owner, kind,
        `cluster ${clusterLabel(ref.cluster)} would get association number ${count.toLocaleString('en-US')}, over EKS's fixed limit of ${MAX_ASSOCIATIONS_PER_CLUSTER.toLocaleString('en-US')} per cluster. Share roles between service accounts that need the same access, or keep some on IRSA.`);
    }
    this.byServiceAccount.set(key, owner);
    this.perCluster.set(cluster, count);
  }
}

/**
 * Which EKS cluster a reference names, whatever form it has: its name, account and region, an
 * unknown account or region being the stack's (where the association is deployed, as the default
 * cluster ARN resolves). A reference whose name is known only at deploy time is itself.
 */
function clusterIdentity(cluster: PodIdentityCluster, owner: IConstruct): string {
  if (!isConcrete(cluster.clusterName)) {
    return cluster._key;
  }
  let { account, region } = cluster;
  if (account === undefined || region === undefined) {
    const stack = Stack.of(owner);
    account = account ?? (isConcrete(stack.account) ? stack.account : '?');
    region = region ?? (isConcrete(stack.region) ? stack.region : '?');
  }
  return `${cluster.clusterName}@${account}/${region}`;
}

/** Top-level stacks already made to depend on the stack of an agent add-on (one call per pair). */
const STACKS_AFTER_AGENTS = new WeakMap<Stack, WeakSet<Stack>>();

/**
 * Makes the association `resource` wait for `agent`'s add-on, within one Stage (across Stages,
 * the deployment order, e.g. a pipeline, provides it). Between two top-level stacks, what CDK makes
 * of a resource dependency is a stack dependency: it is added once per pair of stacks, not once per
 * association (10,000 in a fleet).
 */
export function dependOnAgent(resource: CfnResource, agent: PodIdentityAgentAddon): void {
  if (!agent.resource || Stage.of(agent) !== Stage.of(resource)) {
    return;
  }
  const [from, to] = [Stack.of(resource), Stack.of(agent)];
  if (from === to || from.nested || to.nested) {
    resource.node.addDependency(agent.resource);
    return;
  }
  const done = STACKS_AFTER_AGENTS.get(from) ?? new WeakSet<Stack>();
  STACKS_AFTER_AGENTS.set(from, done);
  if (!done.has(to)) {
    done.add(to);
    resource.node.addDependency(agent.resource);
  }
}
