import * as fs from 'fs';
import { Annotations, Aspects, CfnDeletionPolicy, CfnResource, CfnWaitConditionHandle, IAspect, RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { IrsaInventory } from './irsa-inventory';
import { MigrationState, OidcProviderStep } from './migration-state';
import { CollectedRole, MigrationPlan } from './plan';
import { MigrationPhase } from '../migration-phase';
import { PodIdentityAgentAddon } from '../pod-identity-agent-addon';
import { PodIdentityCluster } from '../pod-identity-cluster';
import { writeArtifacts } from './private/artifacts';
import { assignmentChanges, AssignmentRecord, currentAssignments, guardAssignments } from './private/assignment-guard';
import { FleetPlan, PlannedRole } from './private/design';
import { checkPlacementNotLost, checkRetirements, checkRoleStackSizes, checkTrustLengths, chooseHomeRegion } from './private/design-checks';
import { planFleet } from './private/fleet-plan';
import { FoundationEntry } from './private/foundation-runbook';
import { providerResource, resolveProviderSteps } from './private/oidc-provider-steps';
import { PlanningError, resolvePhases, WavePhase, CONTEXT_PREFIX } from './private/phase-state';
import { parsePlacement, place, Placed, PlacementRecord, renderPlacement } from './private/placement';
import { ProviderEntry } from './private/provider-runbook';
import { foundationToRecord, recallFoundation, recallRoles, rolesToRecord } from './private/recall';
import { waveReports } from './private/reports';
import { roleInput, roleProps } from './private/role-resource';
import { CLUSTERS, deployOrder, FOUNDATION, OIDC_PROVIDERS, RESERVED_SCOPES, ROLES, StackAddress, StackLayout } from './private/stack-layout';
import { ROLE_STACK_BYTE_BUDGET, roleBoundBytes } from './private/template-size';
import { renderIndex } from './runbook';
import { AssociationRegistry, dependOnAgent } from '../private/associations';
import { clusterLabel, constructError, show } from '../private/errors';
import { hasAssociation, hasIrsaAnnotation } from '../private/phases';

/** The logical ID of a cluster's OIDC provider in its stack. */
const PROVIDER_ID = 'Provider';

/** The logical ID of a managed add-on in its stack. */
const ADDON_ID = 'Addon';

/** The context key that refuses to extend the placement file (for pipelines and CI). */
const FROZEN_PLACEMENT = 'cdk-eks-pod-identity:frozen-placement';

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
   * A manual approval before the roles and associations deploy: the review of the recorded phase
   * change (and the soak of the previous one).
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
   * The recorded phase of each wave (the state file, committed and reviewed). Context
   * `pod-identity-migration:<wave>=<PHASE>` may override it for one synthesis, one phase away at
   * most unless `pod-identity-migration:<wave>:acknowledge=<risk>,...` names the risks.
   *
   * @default - every wave at IRSA_ONLY
   */
  readonly state?: MigrationState;

  /**
   * The placement file: which stack each role and association lives in (created when missing).
   * Synthesis adds new resources to it and never changes a recorded one, so nothing ever moves
   * between stacks. Commit it like a lock file. With context
   * `cdk-eks-pod-identity:frozen-placement=true` (for pipelines), synthesis fails instead of adding.
   */
  readonly placementFile: string;

  /**
   * The region of the stacks that hold the IAM roles (IAM is global; each role is defined once).
   * Recorded in the placement file; changing it later is refused (the roles would move).
   *
   * @default - the region recorded in the placement file, or the fleet's only region
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
   * The most resources one role or association stack may hold. A new resource goes to the next
   * shard when its stack is full; a recorded one never moves.
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
   * Put the foundation, roles, clusters and each wave's record in a `Stage` of their own, so that
   * `addToPipeline()` can deploy them with CDK Pipelines. Ordering between them then comes from the
   * pipeline instead of stack dependencies.
   *
   * @default false
   */
  readonly pipelineStages?: boolean;

  /**
   * The IRSA roles as IAM holds them today (`roles.json` of the fleet folder, read with
   * `MigrationFiles.collectedRolesFromJson`). An adopted role whose plan entry (`roles`) means
   * other permissions than IAM holds fails synthesis with the difference; an adopted role without a
   * plan entry takes the collected permissions.
   *
   * @default - nothing collected: every adopted role needs its permissions in the plan
   */
  readonly collectedRoles?: CollectedRole[];

  /**
   * Clusters whose OIDC provider must no longer be used: a check only, refused while anything
   * still uses it (a role of the migration that trusts it, or a service account the plan leaves on
   * IRSA there). To take a provider over and delete it, record its steps in the state's
   * `oidcProviders`, which are checked the same way.
   *
   * @default - none
   */
  readonly retiredOidcProviders?: string[];
}

/**
 * The phased migration stack set. An inventory of IRSA service accounts, the fleet's clusters, a
 * plan of waves and the recorded phase of each wave become:
 *
 * - `<id>/Foundation/<account>-<region>`: the agent add-ons of the clusters there;
 * - `<id>/Roles/<account>[-<n>]`: the roles of an account, in the home region;
 * - `<id>/Clusters/<cluster>-<account>-<region>[-<n>]`: the associations of a cluster;
 * - `<id>/<wave>/<account>-<region>`: the wave's phase record (an SSM parameter), which depends on
 *   the role and association stacks of the wave, so `cdk deploy '<id>/<wave>/*'` deploys them first;
 * - `<id>/Addons/<addon>-<cluster>-<account>-<region>`: a managed add-on that uses IRSA
 *   (`serviceAccountRoleArn`), adopted with its roles and moved with the wave of its service
 *   accounts through its own `podIdentityAssociations`;
 * - `<id>/OidcProviders/<cluster>-<account>-<region>`: a cluster's IAM OIDC provider, taken over and
 *   deleted one step per deploy (`state.oidcProviders`), only once nothing uses it.
 *
 * A resource's stack and logical ID depend only on its own identity (a role on its ARN, an
 * association on its cluster, namespace and service account), and the placement file records the
 * shard of each: nothing moves between stacks when clusters, regions, service accounts or phases
 * change. The phase of each wave is recorded state (`state`), stepped one phase at a time. At
 * synthesis the cloud assembly also receives the ServiceAccount manifests
 * (`k8s/<cluster>/<wave>.yaml`), a runbook per wave (`runbooks/<wave>.md`) with its executable
 * scripts (`runbooks/<wave>/<FROM>-to-<TO>/{preflight,apply,verify,rollback}.sh`, which loop over the
 * wave's data files and deploy this cloud assembly without synthesizing again), the fleet plan
 * (`runbooks/index.md`) and import mappings (`import/<stack>.json`).
 *
 * @see https://github.com/cdk-eks-pod-identity/cdk-eks-pod-identity#running-a-step-the-runbook-scripts
 */
export class PodIdentityMigration extends Construct {
  /** The context key that overrides the phase of `wave` for one synthesis. */
  public static contextKey(wave: string): string {
    return `${CONTEXT_PREFIX}${wave}`;
  }

  /** The region of the role stacks. */
  public readonly homeRegion: string;

  private readonly props: PodIdentityMigrationProps;
  private readonly prefix: string;
  private readonly phases: Map<string, WavePhase>;
  private readonly fleet: FleetPlan;
  private readonly placed: Placed;
  private readonly layout: StackLayout;
  private readonly recordedPlacement?: string;
  private renderedPlacement?: { readonly text?: string };
  /** Where this synthesis records every migrated service account and each wave's phase. */
  private readonly assignments: AssignmentRecord;
  private readonly stackByName = new Map<string, Stack>();
  private readonly stages = new Map<string, Stage>();
  private readonly waveStacks = new Map<string, Stack[]>();
  /** stack -> `cdk import` mapping: logical ID -> the resource's identifier (RoleName, or Arn for a provider). */
  private readonly importMappings = new Map<Stack, { [logicalId: string]: { [property: string]: string } }>();
  /** cluster name -> the recorded step of its OIDC provider's retirement (clusters with a history only). */
  private readonly providerSteps: Map<string, OidcProviderStep>;
  /** The providers with a recorded retirement, their step and stack, for the runbook and the pipeline. */
  private readonly providers: ProviderEntry[] = [];
  /** stack -> the stacks it was made to depend on (one dependency per pair, not one per association). */
  private readonly dependencies = new Map<Stack, Set<Stack>>();
  /** Each association stack's first association and its cluster, to order the stack after the cluster's agent. */
  private readonly agentUsers = new Map<Stack, { cluster: PodIdentityCluster; association: eks.CfnPodIdentityAssociation }>();
  /** Each role's bytes in its stack's template at its widest trust (what placement plans with). */
  private readonly roleBytes: Map<string, number>;
  /** The stack of each role, by ARN. */
  private readonly roleStacks = new Map<string, Stack>();
  /** The foundation step: the clusters whose agent add-on the migration installs, and their stacks. */
  private foundation?: FoundationEntry;
  /** wave -> the role and add-on stacks holding what it adopts. */
  private readonly importStacksOf = new Map<string, Set<Stack>>();

  constructor(scope: Construct, id: string, props: PodIdentityMigrationProps) {
    super(scope, id);
    this.props = props;
    this.prefix = props.stackPrefix ?? 'PodIdentity';
    this.checkInputs();

    const recorded = fs.existsSync(props.placementFile) ? fs.readFileSync(props.placementFile, 'utf8') : undefined;
    this.recordedPlacement = recorded;
    let record: PlacementRecord | undefined;
    try {
      this.phases = resolvePhases(props.plan.waves.map((w) => w.name), props.state, this.node.getAllContext());
      this.providerSteps = resolveProviderSteps(props.clusters.map((c) => c.clusterName), props.state?.oidcProviders);
      record = recorded === undefined ? undefined : parsePlacement(recorded, props.placementFile);
      // a cluster whose agent the foundation installed shows it now: it stays the foundation's
      props = this.props = { ...props, clusters: recallFoundation(props.clusters, record, props.installAgents) };
      this.fleet = planFleet({
        clusters: props.clusters,
        // the IRSA roles the recorded phases took off the clusters (ANNOTATION_REMOVED on) come from the record
        inventory: recallRoles(props.inventory, record, props.clusters, `the placement file ${props.placementFile}`),
        plan: props.plan,
        phases: this.phases,
        trustPolicyMaxLengthByAccount: props.trustPolicyMaxLengthByAccount,
        collectedRoles: props.collectedRoles,
      });
      checkPlacementNotLost(record, this.phases, props.state, props.placementFile);
      this.assignments = this.guardAssignments(record);
      checkTrustLengths(this.fleet);
      checkRetirements(this.fleet, this.providerSteps, props.retiredOidcProviders);
      this.homeRegion = chooseHomeRegion(props.homeRegion, record, props.clusters);
      this.layout = new StackLayout(this.prefix, this.homeRegion);
      this.roleBytes = new Map([...this.fleet.roles].map(([arn, role]) =>
        [arn, roleBoundBytes(roleInput(role, {}), role.widestTrust, role.trustMax, role.widestTrustLength)]));
      const placed = this.placeResources(record);
      const recalled = { ...rolesToRecord(this.fleet), ...foundationToRecord(props.clusters, props.installAgents) };
      this.placed = { ...placed, record: { ...placed.record, ...this.assignments, ...recalled } };
      this.checkFrozenAssignments(record);
      checkRoleStackSizes(this.fleet, this.layout, this.placed.record.roles, this.roleBytes);
    } catch (e) {
      if (e instanceof PlanningError) {
        throw constructError(this, 'PodIdentityMigration', e.message);
      }
      throw e;
    }

    this.buildFoundation();
    this.buildRoles();
    this.buildAssociations();
    this.buildAddons();
    this.buildWaveRecords();
    this.buildOidcProviders();
    this.keepDeployable();
    this.warnInStacks(record);
    // the artifacts are written at synthesis, when aspects run (before templates are rendered, while
    // memory is low): by an aspect on a leaf construct, invoked once (on the migration itself, it
    // would be invoked on each of its constructs, ~50,000 in a fleet)
    Aspects.of(new Construct(this, 'Artifacts')).add(new WriteArtifacts(this));
    this.node.addValidation({ validate: () => this.missingAgents() });
  }

  /** The phase each wave is synthesized at (the recorded one, or the context override). */
  public phaseOf(wave: string): MigrationPhase {
    const phase = this.phases.get(wave);
    if (phase === undefined) {
      throw constructError(this, 'PodIdentityMigration', `no wave ${show(wave)}; the waves are ${[...this.phases.keys()].join(', ')}.`);
    }
    return phase.phase;
  }

  /** Every stack of the migration. */
  public get stacks(): Stack[] {
    return [...this.stackByName.values()];
  }

  /**
   * The stacks `cdk deploy '<id>/<wave>/*'` deploys: the wave's phase records and the role and
   * association stacks they depend on.
   */
  public stacksOf(wave: string): Stack[] {
    this.phaseOf(wave);
    const records = this.waveStacks.get(wave) ?? [];
    const all = new Set<Stack>(records);
    for (const record of records) {
      record.dependencies.forEach((d) => all.add(d));
    }
    return [...all];
  }

  /**
   * The fleet plan as text: waves × clusters × service accounts × phase, then exclusions.
   */
  public describe(): string {
    return renderIndex(this.reports(), this.fleet.excluded, this.fleet.unassigned, 'text', this.trustLengths());
  }

  // ---------------------------------------------------------------------------------------------

  private checkInputs(): void {
    const fail = (message: string) => constructError(this, 'PodIdentityMigration', message);
    if (this.props.clusters.length === 0) {
      throw fail('clusters is empty: list the fleet\'s clusters.');
    }
    for (const cluster of this.props.clusters) {
      if (cluster.account === undefined || cluster.region === undefined) {
        throw fail(`cluster ${clusterLabel(cluster)} needs a concrete clusterArn: its account and region place its stacks.`);
      }
    }
    const names = new Set<string>();
    for (const wave of this.props.plan.waves) {
      if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(wave.name)) {
        throw fail(`invalid wave name ${show(wave.name)}: use letters, digits and '-', starting with a letter (it is part of stack names).`);
      }
      const reserved = RESERVED_SCOPES.find((r) => r.toLowerCase() === wave.name.toLowerCase());
      if (reserved) {
        throw fail(`wave name ${show(wave.name)} is reserved: '${this.node.path}/${reserved}' holds the ${reserved.toLowerCase()} stacks. Name the wave differently.`);
      }
      if (names.has(wave.name)) {
        throw fail(`two waves are named ${show(wave.name)}; wave names must be unique.`);
      }
      names.add(wave.name);
    }
  }

  /**
   * Every service account's effective phase against what the placement file records (F20): a
   * change of more than one step fails unless acknowledged. A file written before the record
   * existed (version 1) gets it from this synthesis.
   */
  private guardAssignments(record: PlacementRecord | undefined): AssignmentRecord {
    const current = currentAssignments(this.fleet);
    const known = record?.serviceAccounts !== undefined && record.waves !== undefined;
    return guardAssignments({
      recorded: known ? { waves: record!.waves!, serviceAccounts: record!.serviceAccounts! } : undefined,
      current,
      waves: this.phases,
      acknowledgements: this.props.state?.serviceAccounts,
      source: `the placement file ${this.props.placementFile}`,
    });
  }

  /**
   * Warnings the operator must act on, on the stacks they concern (the CDK CLI prints the messages
   * of stacks, not of constructs outside them): a wave synthesized at a phase from context, on the
   * wave's record stacks; the placement file written, on the record stacks of the waves whose
   * recorded phase or service accounts it changed (on the first stack when it is created).
   */
  private warnInStacks(before: PlacementRecord | undefined): void {
    const recordStacks = (waves: Iterable<string>) => [...new Set([...waves].flatMap((w) => this.waveStacks.get(w) ?? []))];
    const fallback = (stacks: Stack[]) => (stacks.length > 0 ? stacks : this.stacks.slice(0, 1));
    for (const phase of this.phases.values()) {
      if (phase.overriddenBy) {
        const text = `wave ${phase.wave} is synthesized at ${phase.phase} from context ${phase.overriddenBy}, but the state records ${phase.recorded}: `
          + 'record the step in the state file, so that the next plain deploy does not undo it.';
        fallback(recordStacks([phase.wave])).forEach((stack) => Annotations.of(stack).addWarningV2('cdk-eks-pod-identity:phaseOverride', text));
      }
    }
    if (this.placementText === undefined) {
      return;
    }
    const upgraded = before !== undefined && (before.waves === undefined || before.serviceAccounts === undefined);
    const changes = assignmentChanges(before, this.assignments);
    // a resource is placed when a service account enters a wave: the wave's record stacks (what
    // `cdk deploy '<id>/<wave>/*'` selects) carry the message
    const stacks = before === undefined ? [] : recordStacks(changes.waves);
    const what = before === undefined ? 'created' : `updated (${this.placed.added.length} resources placed, ${changes.moved} service accounts recorded in a new wave`
      + `${changes.waves.length > 0 ? `, waves ${changes.waves.join(', ')} recorded` : ''})`;
    const text = `placement file ${this.props.placementFile} ${what}: review and commit it with the change that caused it`
      + (upgraded ? '. It did not record the wave of each service account yet (written by an earlier version): this synthesis records them as the plan puts them now; check in runbooks/index.md that every service account is in the wave you expect.' : '.');
    fallback(stacks).forEach((stack) => Annotations.of(stack).addWarningV2('cdk-eks-pod-identity:placementFile', text));
  }

  /**
   * With frozen placement (pipelines), the committed file must also record each wave and service
   * account as this synthesis puts them: a record that is not committed guards nothing.
   */
  private checkFrozenAssignments(before: PlacementRecord | undefined): void {
    if (!this.frozen || before === undefined || this.placementText === undefined) {
      return;
    }
    const { phases, moved } = assignmentChanges(before, this.assignments);
    const differ = (now: { [group: string]: { [member: string]: string } } | undefined, was: typeof now) =>
      Object.entries(now ?? {}).flatMap(([g, members]) => Object.entries(members).filter(([m, v]) => was?.[g]?.[m] !== v)).length;
    const unrecorded = differ(this.placed.record.irsaRoles, before.irsaRoles) + differ(this.placed.record.addonRoles, before.addonRoles);
    const what = [
      ...phases.map((w) => `wave ${w} at ${this.assignments.waves[w]}${before.waves?.[w] ? ` (recorded ${before.waves[w]})` : ''}`),
      ...(moved > 0 ? [`${moved} service accounts in a new wave`] : []),
      ...(unrecorded > 0 ? [`the IRSA roles of ${unrecorded} migrated service accounts and add-ons (irsaRoles, addonRoles)`] : []),
    ];
    throw new PlanningError(`the placement file ${this.props.placementFile} does not record ${what.length > 0 ? what.join(', ') : 'the waves and service accounts as this synthesis puts them'}, `
      + `and context ${FROZEN_PLACEMENT} forbids recording it here. Synthesize without it, review and commit the file with the change of state or plan.`);
  }

  private get frozen(): boolean {
    return this.node.tryGetContext(FROZEN_PLACEMENT) === 'true' || this.node.tryGetContext(FROZEN_PLACEMENT) === true;
  }

  private placeResources(record: PlacementRecord | undefined): Placed {
    const roles = new Map<string, string[]>();
    const add = (map: Map<string, string[]>, group: string, item: string) => (map.get(group) ?? map.set(group, []).get(group)!).push(item);
    for (const [arn, role] of this.fleet.roles) {
      add(roles, role.parsed.account, arn);
    }
    // every migrated service account has its association's place from the start, whatever its phase
    const associations = new Map<string, string[]>();
    for (const p of this.fleet.placements.filter((x) => x.addon === undefined)) {
      add(associations, p.cluster.clusterArn, `${p.sa.namespace}/${p.sa.serviceAccount}`);
    }
    // a role stack's template stays under CloudFormation's 1 MB in every phase: roles are placed by
    // their size at their widest trust (roleBytes), within a budget that leaves room for their trust to grow
    const placed = place(record, { stackPrefix: this.prefix, homeRegion: this.homeRegion, roles, associations, roleBytes: this.roleBytes },
      this.props.maxResourcesPerStack ?? 450,
      (kind, group, shard) => (kind === 'roles' ? this.layout.roles(group, shard) : this.layout.cluster(group, shard)).stackName,
      ROLE_STACK_BYTE_BUDGET);
    if (this.frozen) {
      if (record === undefined || placed.added.length > 0) {
        throw new PlanningError(`the placement file ${this.props.placementFile} ${record === undefined ? 'is missing' : `lacks ${placed.added.length} resources (${placed.added.slice(0, 5).join(', ')}${placed.added.length > 5 ? ', ...' : ''})`}, and context ${FROZEN_PLACEMENT} forbids adding them here. Synthesize without it, review and commit the file.`);
      }
    }
    return placed;
  }

  /** The file's new text when synthesis changes it (rendered once). */
  private get placementText(): string | undefined {
    if (this.renderedPlacement === undefined) {
      const text = renderPlacement(this.placed.record);
      this.renderedPlacement = { text: text === this.recordedPlacement ? undefined : text };
    }
    return this.renderedPlacement.text;
  }

  private stackAt(address: StackAddress): Stack {
    let stack = this.stackByName.get(address.stackName);
    if (!stack) {
      stack = new Stack(this.parentFor(address.scope), address.id, {
        stackName: address.stackName,
        env: { account: address.account, region: address.region },
      });
      this.stackByName.set(address.stackName, stack);
    }
    return stack;
  }

  private parentFor(scope: string): Construct {
    const existing = this.stages.get(scope) ?? this.node.tryFindChild(scope);
    if (existing) {
      return existing as Construct;
    }
    const parent = this.props.pipelineStages ? new Stage(this, scope) : new Construct(this, scope);
    if (parent instanceof Stage) {
      this.stages.set(scope, parent);
    }
    return parent;
  }

  private buildFoundation(): void {
    if (this.props.installAgents === false) {
      return;
    }
    const clusters = this.props.clusters.filter((c) => c.needsAgentAddon);
    const stacks = new Set<Stack>();
    for (const cluster of clusters) {
      const stack = this.stackAt(this.layout.foundation(cluster.account!, cluster.region!));
      stacks.add(stack);
      new PodIdentityAgentAddon(stack, `Agent-${cluster.clusterName}`, {
        cluster,
        addonVersion: this.props.agent?.addonVersion,
        configurationValues: this.props.agent?.configurationValues,
      });
    }
    if (clusters.length > 0) {
      this.foundation = {
        stackPattern: `${this.node.path}/${FOUNDATION}/*`,
        stacks: [...stacks].map((s) => s.stackName).sort(),
        clusters: clusters.map((c) => ({
          name: c.clusterName, region: c.region!, account: c.account!, arn: c.clusterArn, computeType: c.computeType,
        })),
      };
    }
  }

  /** Every role as one `AWS::IAM::Role`: trust, inline permissions and chain, managed policies; retained. */
  private buildRoles(): void {
    const byStack = new Map<Stack, PlannedRole[]>();
    const { roles } = this.placed.record;
    for (const [account, shards] of Object.entries(roles)) {
      // recorded stacks stay in the app, even when they hold nothing now: a deploy then removes what they held
      new Set(Object.values(shards)).forEach((shard) => this.stackAt(this.layout.roles(account, shard)));
    }
    for (const [arn, role] of this.fleet.roles) {
      const stack = this.stackAt(this.layout.roles(role.parsed.account, roles[role.parsed.account][arn]));
      const resource = new iam.CfnRole(new Construct(stack, role.parsed.roleName), 'Resource', roleProps(roleInput(role, role.trust)));
      // IAM replacement or deletion breaks running pods; adopted roles outlive the app
      resource.applyRemovalPolicy(RemovalPolicy.RETAIN);
      (byStack.get(stack) ?? byStack.set(stack, []).get(stack)!).push(role);
      if (role.adopted) {
        const mapping = this.importMappings.get(stack) ?? {};
        mapping[stack.getLogicalId(resource)] = { RoleName: role.parsed.roleName };
        this.importMappings.set(stack, mapping);
        role.waves.forEach((w) => this.importStacksOf.set(w, (this.importStacksOf.get(w) ?? new Set<Stack>()).add(stack)));
      }
    }
    // one line per stack (the plan index lists every role near its limit)
    for (const [stack, list] of byStack) {
      const fullest = [...list].sort((a, b) => b.trustLength / b.trustMax - a.trustLength / a.trustMax)[0];
      Annotations.of(stack).addInfo(`${list.length} roles (${list.filter((r) => r.adopted).length} adopted); fullest trust policy: ${fullest.parsed.roleName}, `
        + `${fullest.trustLength.toLocaleString('en-US')} of ${fullest.trustMax.toLocaleString('en-US')} characters. Every role: runbooks/index.md.`);
    }
  }

  private buildAssociations(): void {
    const { associations } = this.placed.record;
    for (const [clusterArn, shards] of Object.entries(associations)) {
      new Set(Object.values(shards)).forEach((shard) => this.stackAt(this.layout.cluster(clusterArn, shard)));
    }
    const stacks = new Map<string, Stack>();
    const stackOf = (clusterArn: string, shard: number) => {
      const key = `${clusterArn} ${shard}`;
      const stack = stacks.get(key) ?? this.stackAt(this.layout.cluster(clusterArn, shard));
      stacks.set(key, stack);
      return stack;
    };
    // an add-on's service accounts get their associations from the add-on (buildAddons)
    const registry = AssociationRegistry.of(this);
    for (const p of this.fleet.placements.filter((x) => hasAssociation(x.phase) && x.addon === undefined)) {
      const stack = stackOf(p.cluster.clusterArn, associations[p.cluster.clusterArn][`${p.sa.namespace}/${p.sa.serviceAccount}`]);
      const scope = (stack.node.tryFindChild(p.sa.namespace) as Construct | undefined) ?? new Construct(stack, p.sa.namespace);
      // what a PodIdentityBinding with its defaults synthesizes (session tags on, no session policy,
      // no tags), at the same path: its checks are the plan's (the inventory's names, one entry per
      // service account, the compute type), and the roles are literal ARNs that create nothing here
      const owner = new Construct(scope, p.sa.serviceAccount);
      registry.claim(owner, 'PodIdentityMigration', { cluster: p.cluster, namespace: p.sa.namespace, serviceAccount: p.sa.serviceAccount });
      const association = new eks.CfnPodIdentityAssociation(owner, 'Resource', {
        clusterName: p.cluster.clusterName,
        namespace: p.sa.namespace,
        serviceAccount: p.sa.serviceAccount,
        roleArn: p.associationRoleArn,
        targetRoleArn: p.targetRoleArn,
      });
      if (!this.agentUsers.has(stack)) {
        this.agentUsers.set(stack, { cluster: p.cluster, association });
      }
      // F4: the role, its trust and its policies before the association
      this.dependOn(stack, this.roleStackOf(p.associationRoleArn), `the trust of ${p.associationRoleArn} comes before its associations`);
      if (p.targetRoleArn !== undefined) {
        this.dependOn(stack, this.roleStackOf(p.targetRoleArn), `the trust of ${p.targetRoleArn} comes before its associations`);
      }
    }
    this._dependOnAgents();
  }

  /**
   * Each association stack waits for its cluster's agent add-on: the migration's own (foundation
   * stacks), or one the app defines elsewhere, looked up again at synthesis when it comes later.
   *
   * @internal
   */
  public _dependOnAgents(): void {
    for (const [stack, { cluster, association }] of this.agentUsers) {
      const agent = PodIdentityAgentAddon.forCluster(this, cluster);
      if (agent) {
        dependOnAgent(association, agent);
        this.agentUsers.delete(stack);
      }
    }
  }

  /** Clusters whose associations need an agent that no PodIdentityAgentAddon of the app provides. */
  private missingAgents(): string[] {
    const clusters = new Map<string, Set<string>>();
    for (const p of this.fleet.placements) {
      if (hasAssociation(p.phase) && p.cluster.needsAgentAddon && !PodIdentityAgentAddon.forCluster(this, p.cluster)) {
        clusters.set(p.cluster.clusterName, (clusters.get(p.cluster.clusterName) ?? new Set<string>()).add(p.wave));
      }
    }
    return [...clusters].sort(([a], [b]) => a.localeCompare(b)).map(([name, waves]) => `PodIdentityMigration at '${this.node.path}': cluster ${show(name)} has no Pod Identity agent, `
      + `and the associations of ${[...waves].sort().join(', ')} need it: set installAgents (the default) or add a PodIdentityAgentAddon for it, or declare agentStatus PRE_INSTALLED if the agent is installed outside this app.`);
  }

  /**
   * Each managed add-on that uses IRSA and whose service accounts are in a wave, as one
   * `AWS::EKS::Addon` in a stack of its own (cluster account and region), adopted (imported) in
   * every phase and retained: the same version, configuration and tags as recorded; the role as
   * `ServiceAccountRoleArn` while the phase keeps the annotation; a Pod Identity association per
   * service account (`PodIdentityAssociations`) from POD_IDENTITY on. It deploys after the stack of
   * its role, whose pods.eks trust must come first (F4).
   */
  private buildAddons(): void {
    for (const planned of this.fleet.addons.filter((a) => a.wave !== undefined)) {
      const { addon, cluster, wave, phase } = planned;
      const stack = this.stackAt(this.layout.addon(cluster.clusterArn, addon.addonName));
      const resource = new eks.CfnAddon(stack, ADDON_ID, {
        clusterName: cluster.clusterName,
        addonName: addon.addonName,
        addonVersion: addon.addonVersion,
        configurationValues: addon.configurationValues,
        resolveConflicts: 'PRESERVE',
        serviceAccountRoleArn: hasIrsaAnnotation(phase!) ? planned.roleArn : undefined,
        // explicit when empty, so that stepping back clears them
        podIdentityAssociations: hasAssociation(phase!)
          ? planned.serviceAccounts.map((sa) => ({ serviceAccount: sa.serviceAccount, roleArn: planned.roleArn }))
          : [],
        tags: addon.tags ? Object.keys(addon.tags).sort().map((key) => ({ key, value: addon.tags![key] })) : undefined,
      });
      // deleting an add-on such as vpc-cni takes the cluster's networking with it: never
      resource.applyRemovalPolicy(RemovalPolicy.RETAIN);
      if (hasAssociation(phase!)) {
        const registry = AssociationRegistry.of(this);
        planned.serviceAccounts.forEach((sa) => registry.claim(resource, 'PodIdentityMigration', { cluster, namespace: sa.namespace, serviceAccount: sa.serviceAccount }));
      }
      this.importMappings.set(stack, { [stack.getLogicalId(resource)]: { ClusterName: cluster.clusterName, AddonName: addon.addonName } });
      this.importStacksOf.set(wave!, (this.importStacksOf.get(wave!) ?? new Set<Stack>()).add(stack));
      this.dependOn(stack, this.roleStackOf(planned.roleArn), `the trust of ${planned.roleArn} comes before the add-on's associations`);
    }
  }

  /** The stack that holds the role `arn`. */
  private roleStackOf(arn: string): Stack {
    let stack = this.roleStacks.get(arn);
    if (!stack) {
      const role = this.fleet.roles.get(arn)!;
      stack = this.stackAt(this.layout.roles(role.parsed.account, this.placed.record.roles[role.parsed.account][arn]));
      this.roleStacks.set(arn, stack);
    }
    return stack;
  }

  /**
   * Per wave and environment, an SSM parameter that records the phase deployed, in a stack that
   * depends on the wave's role and association stacks: `cdk deploy '<id>/<wave>/*'` deploys those
   * first and writes the record last.
   */
  private buildWaveRecords(): void {
    const { associations, roles } = this.placed.record;
    for (const wave of this.props.plan.waves) {
      const placements = this.fleet.placements.filter((p) => p.wave === wave.name);
      const envs = new Map<string, PodIdentityCluster>();
      placements.forEach((p) => envs.set(`${p.cluster.account}|${p.cluster.region}`, p.cluster));
      const records: Stack[] = [];
      for (const key of [...envs.keys()].sort()) {
        const { account, region } = envs.get(key)!;
        const stack = this.stackAt(this.layout.wave(wave.name, account!, region!));
        const phase = this.phaseOf(wave.name);
        new ssm.CfnParameter(stack, 'Phase', {
          name: `/cdk-eks-pod-identity/${this.prefix}/${wave.name}/phase`,
          type: 'String',
          value: phase,
          description: `Phase of migration wave ${wave.name}, written after its roles and associations deployed`,
        });
        for (const [arn, role] of this.fleet.roles) {
          if (role.waves.includes(wave.name)) {
            this.dependOn(stack, this.stackAt(this.layout.roles(role.parsed.account, roles[role.parsed.account][arn])), `the roles of ${wave.name}`);
          }
        }
        const here = placements.filter((p) => p.cluster.account === account && p.cluster.region === region);
        const clusters = new Set(here.filter((p) => p.addon === undefined).map((p) => p.cluster.clusterArn));
        for (const clusterArn of clusters) {
          new Set(Object.values(associations[clusterArn])).forEach((shard) =>
            this.dependOn(stack, this.stackAt(this.layout.cluster(clusterArn, shard)), `the associations of ${wave.name}`));
        }
        for (const a of this.fleet.addons.filter((x) => x.wave === wave.name && x.cluster.account === account && x.cluster.region === region)) {
          this.dependOn(stack, this.stackAt(this.layout.addon(a.cluster.clusterArn, a.addon.addonName)), `the add-ons of ${wave.name}`);
        }
        records.push(stack);
      }
      this.waveStacks.set(wave.name, records);
    }
  }

  /**
   * Per cluster whose provider has a recorded retirement, a stack in the cluster's account: the
   * `AWS::IAM::OIDCProvider` while ADOPTED (imported, retained) or RETIRING (deletion armed), none
   * at KEPT and RETIRED. The stack stays once it has a history, so that stepping back, or the
   * deletion, is a deploy of it. It deploys after the role stacks of its account, whose OIDC
   * statements for the provider must be gone first.
   */
  private buildOidcProviders(): void {
    for (const [name, step] of [...this.providerSteps].sort(([a], [b]) => a.localeCompare(b))) {
      const cluster = this.fleet.clusters.get(name)!;
      const stack = this.stackAt(this.layout.oidcProvider(cluster.clusterArn));
      const { present, deletionPolicy, imported } = providerResource(step);
      this.providers.push({
        cluster: name,
        clusterArn: cluster.clusterArn,
        region: cluster.region!,
        account: cluster.account!,
        computeType: cluster.computeType,
        providerArn: cluster.oidcProviderArn!,
        step,
        stackName: stack.stackName,
        stackRegion: stack.region,
        stackId: stack.node.path,
        logicalId: PROVIDER_ID,
      });
      for (const [, shards] of Object.entries(this.placed.record.roles).filter(([account]) => account === cluster.account)) {
        new Set(Object.values(shards)).forEach((shard) =>
          this.dependOn(stack, this.stackAt(this.layout.roles(cluster.account!, shard)), `the trust of the roles of ${cluster.account} drops ${name}'s provider first`));
      }
      if (!present) {
        continue;
      }
      const provider = new iam.CfnOIDCProvider(stack, PROVIDER_ID, {
        url: `https://${cluster.oidcIssuer}`,
        clientIdList: ['sts.amazonaws.com'],
      });
      provider.cfnOptions.deletionPolicy = deletionPolicy === 'Retain' ? CfnDeletionPolicy.RETAIN : CfnDeletionPolicy.DELETE;
      provider.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
      // a change of DeletionPolicy alone is not applied: the step in the metadata changes with it
      provider.cfnOptions.metadata = { 'cdk-eks-pod-identity:oidcProviderStep': step };
      if (imported) {
        this.importMappings.set(stack, { [stack.getLogicalId(provider)]: { Arn: cluster.oidcProviderArn! } });
      }
    }
  }

  /**
   * A cluster's association stack holds a placeholder resource at all times, and any other stack
   * one while it is empty: CloudFormation rejects a template without resources, so a stack whose
   * last association is rolled back is updated (the association deleted) like any other.
   */
  private keepDeployable(): void {
    for (const stack of this.stackByName.values()) {
      const isClusterStack = stack.node.scope?.node.id === CLUSTERS;
      if (isClusterStack || !stack.node.findAll().some((c) => c instanceof CfnResource)) {
        new CfnWaitConditionHandle(stack, 'Placeholder');
      }
    }
  }

  /** A stack dependency; across pipeline stages the pipeline's order must already provide it. */
  private dependOn(stack: Stack, on: Stack, reason: string): void {
    const done = this.dependencies.get(stack) ?? new Set<Stack>();
    this.dependencies.set(stack, done);
    if (done.has(on)) {
      return;
    }
    done.add(on);
    const a = Stage.of(stack)!;
    const b = Stage.of(on)!;
    if (a === b) {
      // addStackDependency where the aws-cdk-lib line has it (addDependency is deprecated there)
      const add: (target: Stack, why?: string) => void = (stack as any).addStackDependency ?? stack.addDependency;
      add.call(stack, on, reason);
      return;
    }
    const order = deployOrder(this.props.plan.waves.map((w) => w.name));
    if (order.indexOf(b.node.id) >= order.indexOf(a.node.id)) {
      throw constructError(this, 'PodIdentityMigration', `${stack.stackName} needs ${on.stackName} first (${reason}), but the pipeline deploys stage ${b.node.id} after ${a.node.id}.`);
    }
  }

  /**
   * Add the migration to a CDK Pipelines pipeline: the foundation, the roles, the associations, the
   * add-ons, then each wave's phase record in plan order. Needs `pipelineStages: true`.
   */
  public addToPipeline(pipeline: pipelines.PipelineBase, options: MigrationPipelineOptions = {}): void {
    if (!this.props.pipelineStages) {
      throw constructError(this, 'PodIdentityMigration', 'addToPipeline() needs pipelineStages: true, so that the foundation, the roles, the associations and each wave are Stages a pipeline can deploy.');
    }
    // the stages in deploy order; the roles wait for a review of the phase change (and the soak), the
    // OIDC providers for their import or review
    for (const scope of deployOrder(this.props.plan.waves.map((w) => w.name))) {
      const stage = this.stages.get(scope);
      if (stage === undefined) {
        continue;
      }
      if (scope === ROLES && (options.soakApproval ?? true)) {
        pipeline.addStage(stage, {
          pre: [new pipelines.ManualApprovalStep('ReviewPhaseChange', { comment: 'Review the recorded phase change (cdk diff) and the soak of the previous one; see runbooks/index.md' })],
        });
      } else if (scope === OIDC_PROVIDERS) {
        // a pipeline cannot import: an ADOPTED provider is imported by hand, which the approval waits for
        const adopted = this.providers.filter((p) => p.step === OidcProviderStep.ADOPTED).map((p) => p.stackName);
        pipeline.addStage(stage, {
          pre: [new pipelines.ManualApprovalStep('ReviewOidcProviders', {
            comment: adopted.length > 0
              ? `Import the adopted OIDC providers first (cdk import, see runbooks/oidc-providers.md): ${adopted.join(', ')}`
              : 'Review the OIDC provider steps (runbooks/oidc-providers.md); RETIRED deletes a provider',
          })],
        });
      } else {
        pipeline.addStage(stage);
      }
    }
  }

  /** @internal */
  public _writeArtifacts(outdir: string): void {
    const placement = this.placementText;
    if (placement !== undefined) {
      fs.writeFileSync(this.props.placementFile, placement);
    }
    const imports = [...this.importMappings].map(([stack, mapping]) => ({ stackName: stack.stackName, mapping }));
    writeArtifacts(outdir, this.reports(), this.fleet, this.trustLengths(), imports, this.providers, this.foundation);
  }

  private trustLengths() {
    return [...this.fleet.roles].map(([arn, r]) => ({ arn, length: r.trustLength, max: r.trustMax }));
  }

  private reports() {
    return waveReports({
      plan: this.props.plan,
      fleet: this.fleet,
      phases: this.phases,
      migrationPath: this.node.path,
      stacksOf: (wave) => this.stacksOf(wave).map((s) => s.stackName).sort(),
      importStacks: (wave) => [...(this.importStacksOf.get(wave) ?? [])].map((s) => ({ id: s.node.path, name: s.stackName })),
    });
  }
}

/**
 * Once per synthesis: orders association stacks after agents the app defined after the migration,
 * and writes the placement file, manifests, runbooks and import mappings.
 */
class WriteArtifacts implements IAspect {
  constructor(private readonly migration: PodIdentityMigration) {}

  public visit(): void {
    this.migration._dependOnAgents();
    this.migration._writeArtifacts(Stage.of(this.migration)!.outdir);
  }
}
