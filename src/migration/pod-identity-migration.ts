import * as fs from 'fs';
import { Annotations, Aspects, CfnResource, CfnWaitConditionHandle, IAspect, Stack, Stage } from 'aws-cdk-lib';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { IrsaInventory } from './irsa-inventory';
import { MigrationState } from './migration-state';
import { CollectedRole, MigrationPlan } from './plan';
import { MigrationPhase } from '../migration-phase';
import { PodIdentityAgentAddon } from '../pod-identity-agent-addon';
import { PodIdentityCluster } from '../pod-identity-cluster';
import { artifactFiles } from './private/artifacts';
import { designMigration, MigrationDesign, waveStacks } from './private/migration-design';
import { addonResource, associationResource, importMappings, oidcProviderResource, recordResource, roleResource } from './private/migration-resources';
import { CONTEXT_PREFIX, PlanningError } from './private/phase-state';
import { pipelineStages } from './private/pipeline-stages';
import { writeFiles } from './private/write-files';
import { renderIndex } from './runbook';
import { AssociationRegistry, dependOnAgent } from '../private/associations';
import { constructError, show } from '../private/errors';
import { hasAssociation } from '../private/phases';

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
  /** Every decision (designMigration): this construct only makes the stacks and resources it describes. */
  private readonly design: MigrationDesign;
  private readonly stackByName = new Map<string, Stack>();
  private readonly stages = new Map<string, Stage>();
  /** Each association stack's first association and its cluster, to order the stack after the cluster's agent. */
  private readonly agentUsers = new Map<Stack, { cluster: PodIdentityCluster; association: CfnResource }>();

  constructor(scope: Construct, id: string, props: PodIdentityMigrationProps) {
    super(scope, id);
    this.props = props;
    try {
      this.design = designMigration({
        ...props,
        migrationPath: this.node.path,
        context: this.node.getAllContext(),
        recordedPlacement: fs.existsSync(props.placementFile) ? fs.readFileSync(props.placementFile, 'utf8') : undefined,
        stackPrefix: props.stackPrefix ?? 'PodIdentity',
        maxResourcesPerStack: props.maxResourcesPerStack ?? 450,
        pipelineStages: props.pipelineStages ?? false,
      });
    } catch (e) {
      throw e instanceof PlanningError ? constructError(this, 'PodIdentityMigration', e.message) : e;
    }
    this.homeRegion = this.design.homeRegion;
    this.materialize();
    // the artifacts are written at synthesis, when aspects run (before templates are rendered, while
    // memory is low): by an aspect on a leaf construct, invoked once (on the migration itself, it
    // would be invoked on each of its constructs, ~50,000 in a fleet)
    Aspects.of(new Construct(this, 'Artifacts')).add(new WriteArtifacts(this));
    this.node.addValidation({ validate: () => this.missingAgents() });
  }

  /** The phase each wave is synthesized at (the recorded one, or the context override). */
  public phaseOf(wave: string): MigrationPhase {
    const phase = this.design.phases.get(wave);
    if (phase === undefined) {
      throw constructError(this, 'PodIdentityMigration', `no wave ${show(wave)}; the waves are ${[...this.design.phases.keys()].join(', ')}.`);
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
    return waveStacks(this.design.graph, wave).map((name) => this.stackByName.get(name)!);
  }

  /**
   * The fleet plan as text: waves × clusters × service accounts × phase, then exclusions.
   */
  public describe(): string {
    const { fleet, reports } = this.design;
    return renderIndex(reports, fleet.excluded, fleet.unassigned, 'text', this.design.trustLengths);
  }

  /**
   * Add the migration to a CDK Pipelines pipeline: the foundation, the roles, the associations, the
   * add-ons, then each wave's phase record in plan order. Needs `pipelineStages: true`.
   */
  public addToPipeline(pipeline: pipelines.PipelineBase, options: MigrationPipelineOptions = {}): void {
    if (!this.props.pipelineStages) {
      throw constructError(this, 'PodIdentityMigration', 'addToPipeline() needs pipelineStages: true, so that the foundation, the roles, the associations and each wave are Stages a pipeline can deploy.');
    }
    const waves = this.props.plan.waves.map((w) => w.name);
    for (const { scope, approval } of pipelineStages(waves, this.design.graph.providers, options.soakApproval ?? true)) {
      const stage = this.stages.get(scope);
      if (stage !== undefined) {
        pipeline.addStage(stage, approval ? { pre: [new pipelines.ManualApprovalStep(approval.id, { comment: approval.comment })] } : undefined);
      }
    }
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

  /** @internal */
  public _writeArtifacts(outdir: string): void {
    const { graph, placementText, fleet, reports } = this.design;
    if (placementText !== undefined) {
      writeFiles('.', [{ path: this.props.placementFile, text: placementText, executable: false }]);
    }
    const mappings = importMappings(this.stackByName, graph.imports);
    writeFiles(outdir, artifactFiles(reports, fleet, this.design.trustLengths, mappings, graph.providers.map((p) => p.entry), graph.foundation), ['import']);
  }

  // ---------------------------------------------------------------------------------------------

  /** The stacks and resources of the design, in its order. */
  private materialize(): void {
    const { graph, notes } = this.design;
    for (const address of graph.stacks) {
      this.stackByName.set(address.stackName, new Stack(this.parentFor(address.scope), address.id, {
        stackName: address.stackName,
        env: { account: address.account, region: address.region },
      }));
    }
    const stack = (name: string) => this.stackByName.get(name)!;
    for (const { stack: name, cluster } of graph.agents) {
      new PodIdentityAgentAddon(stack(name), `Agent-${cluster.clusterName}`, {
        cluster,
        addonVersion: this.props.agent?.addonVersion,
        configurationValues: this.props.agent?.configurationValues,
      });
    }
    graph.roles.forEach((r) => roleResource(stack(r.stack), r.role));
    const registry = AssociationRegistry.of(this);
    for (const { stack: name, assignment } of graph.associations) {
      const association = associationResource(stack(name), assignment, registry);
      if (!this.agentUsers.has(stack(name))) {
        this.agentUsers.set(stack(name), { cluster: assignment.cluster, association });
      }
    }
    this._dependOnAgents();
    graph.addons.forEach((a) => addonResource(stack(a.stack), a.addon, registry));
    graph.records.forEach((r) => recordResource(stack(r.stack), this.design.stackPrefix, r.wave, r.phase));
    graph.providers.filter((p) => p.present).forEach((p) => oidcProviderResource(stack(p.entry.stackName), p));
    for (const edge of graph.edges) {
      // addStackDependency where the aws-cdk-lib line has it (addDependency is deprecated there)
      const from = stack(edge.stack);
      const add: (target: Stack, why?: string) => void = (from as any).addStackDependency ?? from.addDependency;
      add.call(from, stack(edge.on), edge.reason);
    }
    // CloudFormation rejects a template without resources: a stack whose last resource is rolled back is updated like any other
    graph.placeholders.forEach((name) => new CfnWaitConditionHandle(stack(name), 'Placeholder'));
    for (const note of notes) {
      if (note.level === 'info') {
        Annotations.of(stack(note.stack)).addInfo(note.text);
      } else {
        Annotations.of(stack(note.stack)).addWarningV2(note.id!, note.text);
      }
    }
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

  /** Clusters whose associations need an agent that no PodIdentityAgentAddon of the app provides. */
  private missingAgents(): string[] {
    const clusters = new Map<string, Set<string>>();
    for (const p of this.design.fleet.assignments) {
      if (hasAssociation(p.phase) && p.cluster.needsAgentAddon && !PodIdentityAgentAddon.forCluster(this, p.cluster)) {
        clusters.set(p.cluster.clusterName, (clusters.get(p.cluster.clusterName) ?? new Set<string>()).add(p.wave));
      }
    }
    return [...clusters].sort(([a], [b]) => a.localeCompare(b)).map(([name, waves]) => `PodIdentityMigration at '${this.node.path}': cluster ${show(name)} has no Pod Identity agent, `
      + `and the associations of ${[...waves].sort().join(', ')} need it: set installAgents (the default) or add a PodIdentityAgentAddon for it, or declare agentStatus PRE_INSTALLED if the agent is installed outside this app.`);
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
