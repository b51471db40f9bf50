import * as fs from 'fs';
import * as path from 'path';
import { Aspects, IAspect, RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { App as Cdk8sApp, Yaml } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { IrsaInventory, IrsaServiceAccount, ParsedRoleArn } from './irsa-inventory';
import { MigrationPlan, MigrationRolePlan, MigrationWave, ServiceAccountSelector } from './plan';
import { renderIndex, renderRunbook, TrustLength, WaveReport } from './runbook';
import { ServiceAccountChart } from './service-account-chart';
import { DualTrustRole } from '../dual-trust-role';
import { MigrationPhase } from '../migration-phase';
import { PodIdentityAgentAddon } from '../pod-identity-agent-addon';
import { PodIdentityBinding } from '../pod-identity-binding';
import { PodIdentityCluster } from '../pod-identity-cluster';
import { SESSION_TAGS } from '../private/constants';
import { constructError, show } from '../private/errors';
import { hasAssociation, hasIrsaTrust, PHASE_ORDER } from '../private/phases';
import { irsaSubject } from '../private/service-accounts';
import { checkTrustLength, IrsaStatements, measure } from '../private/trust';

/** The context key prefix that sets a wave's phase: `-c pod-identity-migration:<wave>=<PHASE>`. */
const CONTEXT_PREFIX = 'pod-identity-migration:';

/**
 * Options for the agent add-ons of the foundation stacks.
 */
export interface MigrationAgentOptions {
  /**
   * The add-on version.
   *
   * @default - EKS's default for the cluster
   */
  readonly addonVersion?: string;

  /**
   * Configuration values of the add-on.
   *
   * @default - the add-on's defaults
   */
  readonly configurationValues?: { [key: string]: any };
}

/**
 * Options for `PodIdentityMigration.addToPipeline()`.
 */
export interface MigrationPipelineOptions {
  /**
   * A manual approval before each wave after the first: the soak of the previous wave.
   *
   * @default true
   */
  readonly soakApproval?: boolean;
}

/**
 * Properties of a `PodIdentityMigration`.
 */
export interface PodIdentityMigrationProps {
  /** The clusters of the fleet. Each needs a concrete ARN (its account and region place its stacks). */
  readonly clusters: PodIdentityCluster[];

  /** Today's IRSA service accounts. */
  readonly inventory: IrsaInventory;

  /** Waves, exclusions, role permissions, consolidations and cross-account chains. */
  readonly plan: MigrationPlan;

  /**
   * The region whose wave stacks hold the IAM roles (IAM is global; each role is defined once).
   *
   * @default - the region of the first cluster
   */
  readonly homeRegion?: string;

  /**
   * Prefix of every stack name.
   *
   * @default 'PodIdentity'
   */
  readonly stackPrefix?: string;

  /**
   * Install the `eks-pod-identity-agent` add-on on every cluster that needs one (foundation stacks).
   * With false, a wave may not reach `POD_IDENTITY` on a cluster whose agent is not declared
   * `PRE_INSTALLED` or `AUTO_MODE`.
   *
   * @default true
   */
  readonly installAgents?: boolean;

  /**
   * Options for the `eks-pod-identity-agent` add-ons.
   *
   * @default - defaults
   */
  readonly agent?: MigrationAgentOptions;

  /**
   * The most resources one wave stack may hold before its associations spill into another shard
   * (`<stack>-shard2`, ...). CloudFormation allows 500.
   *
   * @default 450
   */
  readonly maxResourcesPerStack?: number;

  /**
   * The "Role trust policy length" quota of each account, where it was raised from IAM's default
   * of 2,048 (a role's own `trustPolicyMaxLength` in the plan wins).
   *
   * @default - 2,048 for every account
   */
  readonly trustPolicyMaxLengthByAccount?: { [account: string]: number };

  /**
   * Put the foundation stacks and each wave's stacks in a `Stage` of their own (`Foundation`, then
   * one per wave, under this construct), so that `addToPipeline()` can deploy them as CDK Pipelines
   * waves. Ordering between them then comes from the pipeline instead of stack dependencies.
   *
   * @default false
   */
  readonly pipelineStages?: boolean;

  /**
   * Clusters whose OIDC provider is (to be) retired. Refused while any role of the migration still
   * trusts it.
   *
   * @default - none
   */
  readonly retiredOidcProviders?: string[];
}

/** One service account's place in the migration. */
interface Placement {
  readonly sa: IrsaServiceAccount;
  readonly cluster: PodIdentityCluster;
  readonly wave: MigrationWave;
  readonly phase: MigrationPhase;
  /** The role the association names. */
  associationRoleArn?: string;
  /** The target role of a cross-account chain. */
  targetRoleArn?: string;
}

interface RoleEntry {
  readonly role: iam.Role;
  readonly stack: Stack;
  readonly wave: string;
  readonly adopted: boolean;
  readonly arn: string;
}

/**
 * The phased migration stack set: an inventory of IRSA service accounts, the fleet's clusters and
 * a plan of waves become
 *
 * - a foundation stack per account and region with the agent add-ons, and
 * - one stack per wave per account and region (sharded under CloudFormation's limit) with the
 *   wave's roles (IAM roles live in the home region's stack) and, from `POD_IDENTITY` on, its
 *   associations.
 *
 * Each wave is at a phase, given in the plan or by context
 * (`cdk deploy -c pod-identity-migration:wave1=POD_IDENTITY PodIdentity-wave1-...`). Existing IRSA
 * roles are adopted under their names with the permissions the plan declares (a resource mapping
 * for `cdk import` is written per stack). At synthesis the cloud assembly also receives the
 * ServiceAccount manifests (`k8s/<cluster>/<wave>.yaml`), a runbook per wave
 * (`runbooks/<wave>.md`) and the fleet plan (`runbooks/index.md`).
 */
export class PodIdentityMigration extends Construct {
  /** The context key that sets the phase of `wave`. */
  public static contextKey(wave: string): string {
    return `${CONTEXT_PREFIX}${wave}`;
  }

  private readonly props: PodIdentityMigrationProps;
  private readonly prefix: string;
  private readonly homeRegion: string;
  private readonly clusterByName = new Map<string, PodIdentityCluster>();
  private readonly stackByKey = new Map<string, Stack>();
  private readonly roles = new Map<string, RoleEntry>();
  private readonly placements: Placement[] = [];
  private readonly excluded: { sa: IrsaServiceAccount; reason: string }[] = [];
  private readonly unassigned: IrsaServiceAccount[] = [];
  private readonly phases = new Map<string, MigrationPhase>();
  private readonly importMappings = new Map<Stack, { [logicalId: string]: { RoleName: string } }>();
  /** `wave|account|region|cluster` -> shard number (1 = the base stack). */
  private readonly shardOf = new Map<string, number>();
  /** role ARN -> the cluster whose shard holds it. */
  private readonly anchorOf = new Map<string, string>();
  private readonly targetIrsa = new Map<iam.Role, IrsaStatements>();
  private readonly stages = new Map<string, Stage>();

  constructor(scope: Construct, id: string, props: PodIdentityMigrationProps) {
    super(scope, id);
    this.props = props;
    this.prefix = props.stackPrefix ?? 'PodIdentity';

    for (const cluster of props.clusters) {
      if (cluster.account === undefined || cluster.region === undefined) {
        throw constructError(this, 'PodIdentityMigration', `cluster ${show(cluster.clusterName)} needs a concrete clusterArn: its account and region place its stacks.`);
      }
      this.clusterByName.set(cluster.clusterName, cluster);
    }
    if (props.clusters.length === 0) {
      throw constructError(this, 'PodIdentityMigration', 'clusters is empty: list the fleet\'s clusters.');
    }
    this.homeRegion = props.homeRegion ?? props.clusters[0].region!;

    this.resolvePhases();
    this.assignWaves();
    this.planShards();
    this.buildFoundation();
    this.buildWaves();
    this.node.addValidation({ validate: () => this.validateRetirements() });
    Aspects.of(this).add(new WriteArtifacts(this));
  }

  /** The phase of each wave (after context). */
  public phaseOf(wave: string): MigrationPhase {
    const phase = this.phases.get(wave);
    if (phase === undefined) {
      throw constructError(this, 'PodIdentityMigration', `no wave ${show(wave)}; the waves are ${[...this.phases.keys()].join(', ')}.`);
    }
    return phase;
  }

  /** Every stack of the migration (foundation first). */
  public get stacks(): Stack[] {
    return [...this.stackByKey.values()];
  }

  /** The stacks of a wave. */
  public stacksOf(wave: string): Stack[] {
    this.phaseOf(wave);
    return [...this.stackByKey.entries()].filter(([k]) => k.startsWith(`${wave}|`)).map(([, s]) => s);
  }

  /**
   * The fleet plan as text: waves × clusters × service accounts × phase, then exclusions.
   */
  public describe(): string {
    return renderIndex(this.reports(), this.excluded.map((e) => ({ ...e })), this.unassigned, 'text', this.trustLengths());
  }

  // ---------------------------------------------------------------------------------------------

  private resolvePhases(): void {
    const names = new Set<string>();
    for (const wave of this.props.plan.waves) {
      if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(wave.name)) {
        throw constructError(this, 'PodIdentityMigration', `invalid wave name ${show(wave.name)}: use letters, digits and '-', starting with a letter (it is part of stack names).`);
      }
      if (names.has(wave.name)) {
        throw constructError(this, 'PodIdentityMigration', `two waves are named ${show(wave.name)}; wave names must be unique.`);
      }
      names.add(wave.name);
      const key = PodIdentityMigration.contextKey(wave.name);
      const fromContext = this.node.tryGetContext(key);
      const value = fromContext ?? wave.phase ?? MigrationPhase.IRSA_ONLY;
      if (!PHASE_ORDER.includes(value)) {
        throw constructError(this, 'PodIdentityMigration',
          `wave ${show(wave.name)}: unknown phase ${show(value)}${fromContext !== undefined ? ` (from context ${key})` : ''}; expected one of ${PHASE_ORDER.join(', ')}.`);
      }
      this.phases.set(wave.name, value);
    }
  }

  private assignWaves(): void {
    for (const sa of this.props.inventory.serviceAccounts) {
      const cluster = this.clusterByName.get(sa.cluster);
      if (!cluster) {
        throw constructError(this, 'PodIdentityMigration', `the inventory has ${sa.namespace}/${sa.serviceAccount} on cluster ${show(sa.cluster)}, which is not in clusters; add the cluster (name, ARN) or leave its output out of the inventory.`);
      }
      const exclusion = (this.props.plan.exclude ?? []).find((sel) => matches(sel, sa, cluster));
      if (exclusion) {
        this.excluded.push({ sa, reason: exclusion.reason ?? 'excluded by the plan' });
        continue;
      }
      const wave = this.props.plan.waves.find((w) => w.select.some((sel) => matches(sel, sa, cluster)));
      if (!wave) {
        this.unassigned.push(sa);
        continue;
      }
      const phase = this.phases.get(wave.name)!;
      if (!cluster.supportsPodIdentity && phase !== MigrationPhase.IRSA_ONLY) {
        throw constructError(this, 'PodIdentityMigration',
          `wave ${show(wave.name)} is at ${phase}, but it selects ${sa.namespace}/${sa.serviceAccount} on cluster ${show(cluster.clusterName)}, whose compute type ${cluster.computeType} does not support Pod Identity. Exclude it in the plan.`);
      }
      this.placements.push({ sa, cluster, wave, phase });
    }
    if (this.unassigned.length > 0) {
      const list = this.unassigned.map((sa) => `${sa.cluster}:${sa.namespace}/${sa.serviceAccount}`).join(', ');
      this.node.addMetadata('cdk-eks-pod-identity:unassigned', list);
    }
  }

  private stackFor(kind: string, account: string, region: string, dependsOnFoundation = true): Stack {
    const key = `${kind}|${account}|${region}`;
    let stack = this.stackByKey.get(key);
    if (!stack) {
      const name = `${this.prefix}-${kind}-${account}-${region}`;
      stack = new Stack(this.parentFor(kind), `${kind}-${account}-${region}`, { stackName: name, env: { account, region } });
      this.stackByKey.set(key, stack);
      const foundation = this.stackByKey.get(`Foundation|${account}|${region}`);
      if (dependsOnFoundation && foundation && foundation !== stack) {
        this.dependOn(stack, foundation, 'the agent add-ons come before the associations');
      }
    }
    return stack;
  }

  private buildFoundation(): void {
    if (this.props.installAgents === false) {
      return;
    }
    for (const cluster of this.props.clusters) {
      if (!cluster.needsAgentAddon) {
        continue;
      }
      const stack = this.stackFor('Foundation', cluster.account!, cluster.region!, false);
      new PodIdentityAgentAddon(stack, `Agent-${cluster.clusterName}`, {
        cluster,
        addonVersion: this.props.agent?.addonVersion,
        configurationValues: this.props.agent?.configurationValues,
      });
    }
  }

  private buildWaves(): void {
    const consolidations = this.props.plan.consolidate ?? [];
    const chains = this.props.plan.crossAccount ?? [];

    for (const p of this.placements) {
      const { sa, cluster, wave, phase } = p;
      const ref = { cluster, namespace: sa.namespace, serviceAccount: sa.serviceAccount };
      const consolidation = consolidations.find((c) => c.namespace === sa.namespace && c.serviceAccount === sa.serviceAccount);
      const chain = chains.find((c) => c.namespace === sa.namespace && c.serviceAccount === sa.serviceAccount);

      if (consolidation) {
        // the old per-cluster role keeps serving IRSA; the shared role serves Pod Identity
        this.adoptedRole(sa.role, wave, MigrationPhase.IRSA_ONLY, cluster).addIrsaTrust(ref);
        const shared = this.newRole(IrsaInventory.parseRoleArn(sharedRoleArn(sa.role, consolidation.roleName)),
          wave, this.permissionsFor(sa.role.roleName), `shared Pod Identity role for ${sa.namespace}/${sa.serviceAccount} (consolidates the per-cluster IRSA roles)`);
        (shared.role as DualTrustRole).addServiceAccount(ref);
        p.associationRoleArn = shared.arn;
      } else if (chain) {
        const target = IrsaInventory.parseRoleArn(chain.targetRoleArn, `plan crossAccount ${chain.namespace}/${chain.serviceAccount}`);
        const association = IrsaInventory.parseRoleArn(associationRoleArn(sa.role, cluster.account!, chain.associationRoleName));
        let associationEntry: RoleEntry;
        if (sa.role.arn === association.arn) {
          // today's IRSA role becomes the association role: dual
          associationEntry = this.roleEntry(this.adoptedRole(sa.role, wave, phase, cluster));
          (associationEntry.role as DualTrustRole).addIrsaTrust(ref);
        } else {
          associationEntry = this.newRole(association, wave, { statements: [] }, `association role for ${sa.namespace}/${sa.serviceAccount}; chains to ${target.arn}`);
          (associationEntry.role as DualTrustRole).addServiceAccount(ref);
          if (sa.role.arn !== target.arn) {
            // today's IRSA role is no longer used by Pod Identity: it keeps its IRSA trust until retired
            this.adoptedRole(sa.role, wave, MigrationPhase.IRSA_ONLY, cluster).addIrsaTrust(ref);
          }
        }
        const targetEntry = this.targetRole(target, wave, associationEntry, sa);
        if (sa.role.arn === target.arn && hasIrsaTrust(phase)) {
          // the pods assume the target directly through IRSA today: the target is dual
          this.addTargetIrsaTrust(targetEntry, target, ref.cluster, irsaSubject(ref));
        }
        associationEntry.role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'ChainToTargetRole',
          actions: ['sts:AssumeRole', 'sts:TagSession'],
          resources: [target.arn],
        }));
        p.associationRoleArn = associationEntry.arn;
        p.targetRoleArn = target.arn;
      } else {
        if (sa.role.account !== cluster.account && phase !== MigrationPhase.IRSA_ONLY) {
          throw constructError(this, 'PodIdentityMigration',
            `${sa.namespace}/${sa.serviceAccount} on cluster ${show(cluster.clusterName)} uses role ${sa.role.arn} in account ${sa.role.account}, but Pod Identity needs the association role in the cluster's account ${cluster.account}. Add a crossAccount entry for it to the plan (an association role that chains to ${sa.role.roleName}).`);
        }
        const role = this.adoptedRole(sa.role, wave, phase, cluster);
        role.addIrsaTrust(ref);
        p.associationRoleArn = this.roleEntry(role).arn;
      }
    }

    // rolesUsedBy() planned the shards from the same decisions; a role it missed would sit unplanned
    const unplanned = [...this.roles.keys()].filter((arn) => !this.anchorOf.has(arn));
    if (unplanned.length > 0) {
      throw new Error(`PodIdentityMigration: internal error: roles not planned into shards: ${unplanned.join(', ')}`);
    }
    this.buildBindings();
  }

  private buildBindings(): void {
    for (const p of this.placements.filter((x) => hasAssociation(x.phase))) {
      this.bind(this.shardedStack(p.wave.name, p.cluster.account!, p.cluster.region!, p.cluster.clusterName), p);
    }
  }

  /**
   * Shards, planned before anything is built so that no role or association ever moves between
   * stacks as the fleet grows (a role moving stacks would be deleted and recreated): per wave,
   * account and region, clusters in name order each keep their associations and the roles anchored
   * to them together; a new shard starts when `maxResourcesPerStack` would be exceeded.
   */
  private planShards(): void {
    const max = this.props.maxResourcesPerStack ?? 450;
    const ROLE_RESOURCES = 3; // the role, its permissions policy, its default policy
    const definingWave = new Map<string, string>();
    const users = new Map<string, Placement[]>();
    for (const p of this.placements) {
      for (const arn of this.rolesUsedBy(p)) {
        if (!definingWave.has(arn)) {
          definingWave.set(arn, p.wave.name);
        }
        users.set(arn, [...(users.get(arn) ?? []), p]);
      }
    }
    const load = new Map<string, Map<string, number>>();
    const add = (group: string, cluster: string, n: number) => {
      const byCluster = load.get(group) ?? new Map<string, number>();
      byCluster.set(cluster, (byCluster.get(cluster) ?? 0) + n);
      load.set(group, byCluster);
    };
    for (const [arn, list] of users) {
      const wave = definingWave.get(arn)!;
      const anchor = list.filter((p) => p.wave.name === wave).map((p) => p.cluster.clusterName).sort()[0];
      this.anchorOf.set(arn, anchor);
      add(`${wave}|${IrsaInventory.parseRoleArn(arn).account}|${this.homeRegion}`, anchor, ROLE_RESOURCES);
    }
    for (const p of this.placements.filter((x) => hasAssociation(x.phase))) {
      add(`${p.wave.name}|${p.cluster.account}|${p.cluster.region}`, p.cluster.clusterName, 1);
    }
    for (const [group, byCluster] of load) {
      let shard = 1;
      let used = 0;
      for (const cluster of [...byCluster.keys()].sort()) {
        const n = byCluster.get(cluster)!;
        if (used > 0 && used + n > max) {
          shard += 1;
          used = 0;
        }
        used += n;
        this.shardOf.set(`${group}|${cluster}`, shard);
      }
    }
  }

  /** The roles a placement uses (as buildWaves decides them). */
  private rolesUsedBy(p: Placement): string[] {
    const { sa, cluster } = p;
    const consolidation = (this.props.plan.consolidate ?? []).find((c) => c.namespace === sa.namespace && c.serviceAccount === sa.serviceAccount);
    const chain = (this.props.plan.crossAccount ?? []).find((c) => c.namespace === sa.namespace && c.serviceAccount === sa.serviceAccount);
    if (consolidation) {
      return [sa.role.arn, sharedRoleArn(sa.role, consolidation.roleName)];
    }
    if (chain) {
      const association = associationRoleArn(sa.role, cluster.account!, chain.associationRoleName);
      return [...new Set([association, chain.targetRoleArn, sa.role.arn])];
    }
    return [sa.role.arn];
  }

  private shardedStack(wave: string, account: string, region: string, cluster: string): Stack {
    const shard = this.shardOf.get(`${wave}|${account}|${region}|${cluster}`) ?? 1;
    return shard === 1 ? this.stackFor(wave, account, region) : this.shardStack(wave, account, region, shard);
  }

  private stackForRole(wave: string, arn: string, account: string): Stack {
    return this.shardedStack(wave, account, this.homeRegion, this.anchorOf.get(arn) ?? '');
  }

  private shardStack(wave: string, account: string, region: string, shard: number): Stack {
    const key = `${wave}|${account}|${region}|shard${shard}`;
    let stack = this.stackByKey.get(key);
    if (!stack) {
      stack = new Stack(this.parentFor(wave), `${wave}-${account}-${region}-shard${shard}`, {
        stackName: `${this.prefix}-${wave}-${account}-${region}-shard${shard}`,
        env: { account, region },
      });
      this.stackByKey.set(key, stack);
      const foundation = this.stackByKey.get(`Foundation|${account}|${region}`);
      if (foundation) {
        this.dependOn(stack, foundation, 'the agent add-ons come before the associations');
      }
    }
    return stack;
  }

  private bind(stack: Stack, p: Placement): void {
    const roleEntry = [...this.roles.values()].find((r) => r.arn === p.associationRoleArn)!;
    const id = `Binding-${p.cluster.clusterName}-${p.sa.namespace}-${p.sa.serviceAccount}`;
    // the role by ARN, immutable: the migration grants the chain itself in every phase, so that
    // reaching POD_IDENTITY changes nothing but the associations
    const role = iam.Role.fromRoleArn(stack, `${id}-Role`, roleEntry.arn, { mutable: false });
    const target = p.targetRoleArn ? iam.Role.fromRoleArn(stack, `${id}-Target`, p.targetRoleArn, { mutable: false }) : undefined;
    const binding = new PodIdentityBinding(stack, id, {
      cluster: p.cluster,
      namespace: p.sa.namespace,
      serviceAccount: p.sa.serviceAccount,
      role,
      targetRole: target,
    });
    for (const entry of [roleEntry, p.targetRoleArn ? this.roles.get(p.targetRoleArn) : undefined]) {
      if (entry && entry.stack !== stack) {
        this.dependOn(stack, entry.stack, `the trust of ${entry.arn} comes before its associations`);
      } else if (entry) {
        // F4: the role, its trust and its policies before the association
        binding.resource.node.addDependency(entry.role);
      }
    }
    binding.node.addMetadata('cdk-eks-pod-identity:wave', p.wave.name);
  }

  /**
   * Add the migration to a CDK Pipelines pipeline: the foundation, then one pipeline wave per
   * migration wave in plan order, with a manual approval (the soak) before every wave after the
   * first. Needs `pipelineStages: true`.
   */
  public addToPipeline(pipeline: pipelines.PipelineBase, options: MigrationPipelineOptions = {}): void {
    if (!this.props.pipelineStages) {
      throw constructError(this, 'PodIdentityMigration', 'addToPipeline() needs pipelineStages: true, so that the foundation and each wave are Stages a pipeline can deploy.');
    }
    const soak = options.soakApproval ?? true;
    const foundation = this.stages.get('Foundation');
    if (foundation) {
      pipeline.addStage(foundation);
    }
    let previous: string | undefined;
    for (const wave of this.props.plan.waves) {
      const stage = this.stages.get(wave.name);
      if (!stage) {
        continue;
      }
      const pre = soak && previous !== undefined
        ? [new pipelines.ManualApprovalStep(`Soak-${previous}`, { comment: `Soak ${previous} (${this.phaseOf(previous)}) before deploying ${wave.name} (${this.phaseOf(wave.name)}); follow runbooks/${previous}.md` })]
        : [];
      pipeline.addWave(wave.name, { pre }).addStage(stage);
      previous = wave.name;
    }
  }

  private parentFor(kind: string): Construct {
    if (!this.props.pipelineStages) {
      return this;
    }
    let stage = this.stages.get(kind);
    if (!stage) {
      stage = new Stage(this, kind);
      this.stages.set(kind, stage);
    }
    return stage;
  }

  /** A stack dependency; across pipeline stages the pipeline's order must already provide it. */
  private dependOn(stack: Stack, on: Stack, reason: string): void {
    const a = Stage.of(stack);
    const b = Stage.of(on);
    if (a === b) {
      stack.addDependency(on, reason);
      return;
    }
    const order = ['Foundation', ...this.props.plan.waves.map((w) => w.name)];
    if (order.indexOf(b!.node.id) >= order.indexOf(a!.node.id)) {
      throw constructError(this, 'PodIdentityMigration', `${stack.stackName} needs ${on.stackName} first (${reason}), but the pipeline deploys stage ${b!.node.id} after ${a!.node.id}.`);
    }
  }

  private roleEntry(role: iam.Role): RoleEntry {
    return [...this.roles.values()].find((r) => r.role === role)!;
  }

  private permissionsFor(roleName: string): MigrationRolePlan {
    const roles = this.props.plan.roles ?? {};
    if (roles[roleName]) {
      return roles[roleName];
    }
    const pattern = Object.keys(roles)
      .filter((k) => k.endsWith('*') && roleName.startsWith(k.slice(0, -1)))
      .sort((a, b) => b.length - a.length)[0];
    if (pattern === undefined) {
      throw constructError(this, 'PodIdentityMigration',
        `role ${show(roleName)} has no permissions in the plan. Adopting it would replace what it may do today with nothing: declare roles[${show(roleName)}] with its statements and managedPolicyArns (what the role may do today), or exclude its service accounts.`);
    }
    return roles[pattern];
  }

  private applyPermissions(role: iam.Role, plan: MigrationRolePlan): void {
    if (plan.statements && plan.statements.length > 0) {
      role.attachInlinePolicy(new iam.Policy(role, 'Permissions', {
        policyName: 'permissions',
        document: iam.PolicyDocument.fromJson({ Version: '2012-10-17', Statement: plan.statements }),
      }));
    }
    for (const arn of plan.managedPolicyArns ?? []) {
      role.addManagedPolicy(iam.ManagedPolicy.fromManagedPolicyArn(role, `Managed${role.node.children.length}`, arn));
    }
  }

  /** An existing IRSA role, adopted under its name and path, with the plan's permissions. */
  private adoptedRole(parsed: ParsedRoleArn, wave: MigrationWave, phase: MigrationPhase, cluster: PodIdentityCluster): DualTrustRole {
    const key = parsed.arn;
    const existing = this.roles.get(key);
    if (existing) {
      if (existing.wave !== wave.name) {
        throw constructError(this, 'PodIdentityMigration',
          `role ${show(parsed.arn)} serves service accounts in waves ${existing.wave} and ${wave.name}; a role's trust follows one phase. Put all its service accounts in one wave.`);
      }
      return existing.role as DualTrustRole;
    }
    const plan = this.permissionsFor(parsed.roleName);
    if (plan.account !== undefined && plan.account !== parsed.account) {
      throw constructError(this, 'PodIdentityMigration', `the plan puts role ${show(parsed.roleName)} in account ${plan.account}, but the inventory has it in ${parsed.account} (${parsed.arn}).`);
    }
    const stack = this.stackForRole(wave.name, parsed.arn, parsed.account);
    const role = new DualTrustRole(stack, `Role-${parsed.roleName}`, {
      phase,
      roleName: parsed.roleName,
      path: parsed.path,
      trustPolicyMaxLength: this.maxLength(parsed.account, plan),
      irsaAudienceCondition: plan.irsaAudienceCondition,
      // IRSA into another account names the cluster's OIDC provider registered in the role's account
      oidcProviderAccount: parsed.account !== cluster.account ? parsed.account : undefined,
    });
    this.register({ role, stack, wave: wave.name, adopted: true, arn: parsed.arn }, parsed.roleName, plan);
    return role;
  }

  /** A role this migration creates (shared or association role): pods.eks only. */
  private newRole(parsed: ParsedRoleArn, wave: MigrationWave, plan: MigrationRolePlan, description: string): RoleEntry {
    const existing = this.roles.get(parsed.arn);
    if (existing) {
      // its trust does not depend on a phase: later waves reference it where the first one defined it
      return existing;
    }
    const stack = this.stackForRole(wave.name, parsed.arn, parsed.account);
    const role = new DualTrustRole(stack, `Role-${parsed.roleName}`, {
      phase: MigrationPhase.POD_IDENTITY_ONLY,
      roleName: parsed.roleName,
      description,
      trustPolicyMaxLength: this.maxLength(parsed.account, plan),
    });
    return this.register({ role, stack, wave: wave.name, adopted: false, arn: parsed.arn }, parsed.roleName, plan);
  }

  /** Every role of the migration: retained, with the plan's permissions, imported when it exists today. */
  private register(entry: RoleEntry, roleName: string, plan: MigrationRolePlan): RoleEntry {
    entry.role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.applyPermissions(entry.role, plan);
    this.roles.set(entry.arn, entry);
    if (entry.adopted) {
      this.addImport(entry.stack, entry.role, roleName);
    }
    return entry;
  }

  /**
   * The target role of a cross-account chain, in the target account's stack, adopted. Its trust
   * admits the association role as AWS documents it: the association role's account as principal
   * with `aws:PrincipalArn` = the association role (which need not exist yet), with
   * `sts:AssumeRole` and `sts:TagSession`, optionally pinned to the namespace and service account.
   */
  private targetRole(target: ParsedRoleArn, wave: MigrationWave, association: RoleEntry, sa: IrsaServiceAccount): RoleEntry {
    const existing = this.roles.get(target.arn);
    if (existing) {
      return existing;
    }
    const plan = this.permissionsFor(target.roleName);
    const stack = this.stackForRole(wave.name, target.arn, target.account);
    const conditions: { [op: string]: { [key: string]: unknown } } = { ArnEquals: { 'aws:PrincipalArn': association.arn } };
    if (plan.pinTargetTrust ?? true) {
      conditions.StringEquals = {
        [`aws:RequestTag/${SESSION_TAGS.NAMESPACE}`]: sa.namespace,
        [`aws:RequestTag/${SESSION_TAGS.SERVICE_ACCOUNT}`]: sa.serviceAccount,
      };
    }
    const associationAccount = IrsaInventory.parseRoleArn(association.arn).account;
    const role = new iam.Role(stack, `Role-${target.roleName}`, {
      roleName: target.roleName,
      path: target.path,
      assumedBy: new iam.AccountPrincipal(associationAccount).withConditions(conditions).withSessionTags(),
      description: `target of the Pod Identity chain from ${association.arn}`,
    });
    const entry = this.register({ role, stack, wave: wave.name, adopted: plan.exists ?? true, arn: target.arn }, target.roleName, plan);
    const max = this.maxLength(target.account, plan) ?? 2048;
    role.node.addValidation({
      validate: () => checkTrustLength(role, `PodIdentityMigration target role '${role.node.path}'`, role.assumeRolePolicy!, max,
        this.targetIrsa.get(role)?.count ?? 0, `move wave ${wave.name} to POD_IDENTITY_ONLY once no pod uses ${target.roleName} through IRSA`),
    });
    return entry;
  }

  private maxLength(account: string, plan: MigrationRolePlan): number | undefined {
    return plan.trustPolicyMaxLength ?? this.props.trustPolicyMaxLengthByAccount?.[account];
  }

  private addTargetIrsaTrust(entry: RoleEntry, target: ParsedRoleArn, cluster: PodIdentityCluster, subject: string): void {
    const issuer = cluster.oidcIssuer;
    if (issuer === undefined) {
      throw constructError(this, 'PodIdentityMigration', `cluster ${show(cluster.clusterName)} has no OIDC issuer; the target role ${target.roleName} trusts it through IRSA.`);
    }
    let irsa = this.targetIrsa.get(entry.role);
    if (!irsa) {
      irsa = new IrsaStatements(entry.role, entry.role.assumeRolePolicy!, this.permissionsFor(target.roleName).irsaAudienceCondition ?? true);
      this.targetIrsa.set(entry.role, irsa);
    }
    irsa.add(`arn:${target.partition}:iam::${target.account}:oidc-provider/${issuer}`, issuer, subject);
  }

  private addImport(stack: Stack, role: iam.Role, roleName: string): void {
    const mapping = this.importMappings.get(stack) ?? {};
    mapping[stack.getLogicalId(role.node.defaultChild as iam.CfnRole)] = { RoleName: roleName };
    this.importMappings.set(stack, mapping);
  }

  private validateRetirements(): string[] {
    const errors: string[] = [];
    for (const name of this.props.retiredOidcProviders ?? []) {
      const cluster = this.clusterByName.get(name);
      if (!cluster) {
        errors.push(`PodIdentityMigration at '${this.node.path}': retiredOidcProviders names ${show(name)}, which is not in clusters.`);
        continue;
      }
      const issuer = cluster.oidcIssuer;
      const trusting = [...this.roles.values()].filter((r) => issuer !== undefined
        && JSON.stringify(Stack.of(r.role).resolve(r.role.assumeRolePolicy)).includes(`${issuer}:sub`));
      if (trusting.length > 0) {
        errors.push(`PodIdentityMigration at '${this.node.path}': the OIDC provider of cluster ${show(name)} cannot be retired: ${trusting.map((r) => r.arn).join(', ')} still ${trusting.length === 1 ? 'trusts' : 'trust'} it. Move every wave on the cluster to POD_IDENTITY_ONLY (and retire consolidated per-cluster roles) first.`);
      }
    }
    return errors;
  }

  /** @internal */
  public _writeArtifacts(outdir: string): void {
    const reports = this.reports();
    const k8sApp = new Cdk8sApp();
    for (const report of reports) {
      for (const cluster of report.clusters) {
        const chart = new ServiceAccountChart(k8sApp, `${cluster.name}-${report.wave}`, {
          serviceAccounts: cluster.placements.map((p) => p.sa),
          phase: report.phase,
        });
        cluster.helmManaged = chart.helmManaged;
        const file = path.join(outdir, 'k8s', cluster.name, `${report.wave}.yaml`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, chart.rendered.length > 0 ? Yaml.stringify(...chart.toJson()) : '# no ServiceAccount of this wave is rendered here (Helm-managed ones are patched through their release; see the runbook)\n');
      }
    }
    const runbooks = path.join(outdir, 'runbooks');
    fs.mkdirSync(runbooks, { recursive: true });
    for (const report of reports) {
      fs.writeFileSync(path.join(runbooks, `${report.wave}.md`), renderRunbook(report));
    }
    fs.writeFileSync(path.join(runbooks, 'index.md'), renderIndex(reports, this.excluded, this.unassigned, 'markdown', this.trustLengths()));
    const imports = path.join(outdir, 'import');
    fs.mkdirSync(imports, { recursive: true });
    for (const [stack, mapping] of this.importMappings) {
      fs.writeFileSync(path.join(imports, `${stack.stackName}.json`), JSON.stringify(mapping, null, 2) + '\n');
    }
  }

  /** The trust policy length of every role against its limit. */
  private trustLengths(): TrustLength[] {
    return [...this.roles.values()].map((r) => {
      if (r.role instanceof DualTrustRole) {
        return { arn: r.arn, length: r.role.trustPolicyLength, max: r.role.trustPolicyMaxLength };
      }
      const parsed = IrsaInventory.parseRoleArn(r.arn);
      const max = this.maxLength(parsed.account, this.permissionsFor(parsed.roleName)) ?? 2048;
      return { arn: r.arn, length: measure(r.role, r.role.assumeRolePolicy!).length, max };
    });
  }

  private reports(): WaveReport[] {
    return this.props.plan.waves.map((wave) => {
      const placements = this.placements.filter((p) => p.wave.name === wave.name);
      const clusters = [...new Set(placements.map((p) => p.cluster.clusterName))].map((name) => ({
        name,
        region: this.clusterByName.get(name)!.region!,
        placements: placements.filter((p) => p.cluster.clusterName === name).map((p) => ({
          sa: p.sa,
          associationRoleArn: p.associationRoleArn!,
          targetRoleArn: p.targetRoleArn,
        })),
        helmManaged: [] as IrsaServiceAccount[],
      }));
      return {
        wave: wave.name,
        risk: wave.risk,
        phase: this.phases.get(wave.name)!,
        contextKey: PodIdentityMigration.contextKey(wave.name),
        stacks: this.stacksOf(wave.name).map((s) => s.stackName),
        // the CDK CLI selects stacks by construct path (hierarchical id), not by stack name
        stackPattern: this.props.pipelineStages ? `${this.node.path}/${wave.name}/*` : `${this.node.path}/${wave.name}-*`,
        importStacks: this.stacksOf(wave.name).filter((s) => this.importMappings.has(s)).map((s) => ({ id: s.node.path, name: s.stackName })),
        clusters,
        adoptedRoles: [...this.roles.values()].filter((r) => r.wave === wave.name && r.adopted).map((r) => r.arn),
        newRoles: [...this.roles.values()].filter((r) => r.wave === wave.name && !r.adopted).map((r) => r.arn),
      };
    });
  }
}

/** Writes manifests, runbooks and import mappings into the cloud assembly, once per synthesis. */
class WriteArtifacts implements IAspect {
  constructor(private readonly migration: PodIdentityMigration) {}

  public visit(node: IConstruct): void {
    if (node === this.migration) {
      this.migration._writeArtifacts(Stage.of(this.migration)!.outdir);
    }
  }
}

function matches(selector: ServiceAccountSelector, sa: IrsaServiceAccount, cluster: PodIdentityCluster): boolean {
  return (selector.namespace === undefined || selector.namespace === sa.namespace)
    && (selector.region === undefined || selector.region === cluster.region)
    && (selector.namespacePrefix === undefined || sa.namespace.startsWith(selector.namespacePrefix))
    && (selector.serviceAccount === undefined || selector.serviceAccount === sa.serviceAccount)
    && (selector.cluster === undefined || selector.cluster === sa.cluster);
}

/** The shared role of a consolidation: in the account of today's roles, at the root path. */
function sharedRoleArn(today: ParsedRoleArn, roleName: string): string {
  return `arn:${today.partition}:iam::${today.account}:role/${roleName}`;
}

/** The association role of a chain: in the cluster's account, at the root path. */
function associationRoleArn(today: ParsedRoleArn, account: string, roleName: string): string {
  return `arn:${today.partition}:iam::${account}:role/${roleName}`;
}
