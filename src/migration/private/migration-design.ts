import { assignmentChanges, AssignmentRecord, currentAssignments, guardAssignments } from './assignment-guard';
import { FleetDesign } from './design';
import { checkPlacementNotLost, checkRetirements, checkRoleStackSizes, checkTrustLengths, chooseHomeRegion } from './design-checks';
import { designFleet } from './fleet-design';
import { resolveProviderSteps } from './oidc-provider-steps';
import { PlanningError, resolvePhases, WavePhase } from './phase-state';
import { parsePlacement, place, Placed, PlacementRecord, renderPlacement } from './placement';
import { foundationToRecord, recallFoundation, recallRoles, rolesToRecord } from './recall';
import { waveReports } from './reports';
import { roleInput } from './role-resource';
import { StackGraph, stackGraph, StackNote } from './stack-graph';
import { RESERVED_SCOPES, StackLayout } from './stack-layout';
import { ROLE_STACK_BYTE_BUDGET, roleBoundBytes } from './template-size';
import { TrustLength, WaveReport } from './wave-report';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { clusterLabel, show } from '../../private/errors';
import { IrsaInventory } from '../irsa-inventory';
import { MigrationState } from '../migration-state';
import { CollectedRole, MigrationPlan } from '../plan';

/** The context key that refuses to extend the placement file (for pipelines and CI). */
export const FROZEN_PLACEMENT = 'cdk-eks-pod-identity:frozen-placement';

/** What the migration is designed from: the construct's props, its context and the placement file's text. */
export interface MigrationInputs {
  /** The migration's construct path (stack paths and messages). */
  readonly migrationPath: string;
  readonly clusters: PodIdentityCluster[];
  readonly inventory: IrsaInventory;
  readonly plan: MigrationPlan;
  readonly state?: MigrationState;
  /** The context of the synthesis (phase overrides, frozen placement). */
  readonly context: { [key: string]: any };
  /** The placement file's path (for messages) and its text when it exists. */
  readonly placementFile: string;
  readonly recordedPlacement?: string;
  readonly homeRegion?: string;
  readonly stackPrefix: string;
  readonly installAgents?: boolean;
  readonly maxResourcesPerStack: number;
  readonly trustPolicyMaxLengthByAccount?: { [account: string]: number };
  readonly collectedRoles?: CollectedRole[];
  readonly retiredOidcProviders?: string[];
  readonly pipelineStages: boolean;
}

/**
 * Every decision of the migration: the phase of each wave, where each service account goes and
 * with which role, the roles' trust and permissions, the add-ons, the shard of each resource, the
 * stacks with what they hold and their order, the import mappings, the messages for the operator,
 * the placement file's new text. The construct makes stacks and resources from it and decides
 * nothing; the renderers write files from it.
 */
export interface MigrationDesign {
  readonly phases: Map<string, WavePhase>;
  readonly fleet: FleetDesign;
  readonly homeRegion: string;
  readonly stackPrefix: string;
  /** The placement file's content after this synthesis. */
  readonly placement: PlacementRecord;
  /** The placement file's new text, when this synthesis changes it. */
  readonly placementText?: string;
  readonly graph: StackGraph;
  /** The messages of the stacks: the role stacks' lines, then the warnings the operator must act on. */
  readonly notes: StackNote[];
  /** One report per wave (runbooks, scripts, the plan index). */
  readonly reports: WaveReport[];
  /** Each role's trust policy length and its limit (the plan index). */
  readonly trustLengths: TrustLength[];
}

/** The migration's design: pure (no construct, no file system); fails with a `PlanningError` that says what to fix. */
export function designMigration(inputs: MigrationInputs): MigrationDesign {
  checkInputs(inputs);
  const waves = inputs.plan.waves.map((w) => w.name);
  const phases = resolvePhases(waves, inputs.state, inputs.context);
  const providerSteps = resolveProviderSteps(inputs.clusters.map((c) => c.clusterName), inputs.state?.oidcProviders);
  const record = inputs.recordedPlacement === undefined ? undefined : parsePlacement(inputs.recordedPlacement, inputs.placementFile);
  // a cluster whose agent the foundation installed shows it now: it stays the foundation's
  const clusters = recallFoundation(inputs.clusters, record, inputs.installAgents);
  const fleet = designFleet({
    clusters,
    // the IRSA roles the recorded phases took off the clusters (ANNOTATION_REMOVED on) come from the record
    inventory: recallRoles(inputs.inventory, record, clusters, `the placement file ${inputs.placementFile}`),
    plan: inputs.plan,
    phases,
    trustPolicyMaxLengthByAccount: inputs.trustPolicyMaxLengthByAccount,
    collectedRoles: inputs.collectedRoles,
  });
  checkPlacementNotLost(record, phases, inputs.state, inputs.placementFile);
  const assignments = guardAssignments({
    recorded: record?.serviceAccounts !== undefined && record.waves !== undefined
      ? { waves: record.waves, serviceAccounts: record.serviceAccounts } : undefined,
    current: currentAssignments(fleet),
    waves: phases,
    acknowledgements: inputs.state?.serviceAccounts,
    source: `the placement file ${inputs.placementFile}`,
  });
  checkTrustLengths(fleet);
  checkRetirements(fleet, providerSteps, inputs.retiredOidcProviders);
  const homeRegion = chooseHomeRegion(inputs.homeRegion, record, clusters);
  const layout = new StackLayout(inputs.stackPrefix, homeRegion);
  const roleBytes = new Map([...fleet.roles].map(([arn, role]) =>
    [arn, roleBoundBytes(roleInput(role, {}), role.widestTrust, role.trustMax, role.widestTrustLength)]));
  const placed = placeResources(inputs, fleet, layout, roleBytes, record);
  const placement = { ...placed.record, ...assignments, ...rolesToRecord(fleet), ...foundationToRecord(clusters, inputs.installAgents) };
  const text = renderPlacement(placement);
  const placementText = text === inputs.recordedPlacement ? undefined : text;
  if (frozen(inputs) && record !== undefined && placementText !== undefined) {
    throw unrecordedAssignments(inputs.placementFile, record, placement, assignments);
  }
  checkRoleStackSizes(fleet, layout, placement.roles, roleBytes);
  const graph = stackGraph({
    migrationPath: inputs.migrationPath,
    layout,
    fleet,
    clusters,
    phases,
    waves,
    placement,
    providerSteps,
    installAgents: inputs.installAgents,
    pipelineStages: inputs.pipelineStages,
  });
  const reports = reportsOf(inputs, fleet, phases, graph);
  const warnings = operatorWarnings({ inputs, graph, phases, record, assignments, added: placed.added.length, placementText });
  const notes = [...graph.notes, ...warnings];
  const trustLengths = [...fleet.roles].map(([arn, r]) => ({ arn, length: r.trustLength, max: r.trustMax }));
  return { phases, fleet, homeRegion, stackPrefix: inputs.stackPrefix, placement, placementText, graph, notes, reports, trustLengths };
}

/** One report per wave: what the runbooks, the scripts and the plan index are rendered from. */
function reportsOf(inputs: MigrationInputs, fleet: FleetDesign, phases: Map<string, WavePhase>, graph: StackGraph): WaveReport[] {
  const pathOf = new Map(graph.stacks.map((s) => [s.stackName, s.path]));
  return waveReports({
    plan: inputs.plan,
    fleet,
    phases,
    migrationPath: inputs.migrationPath,
    stacksOf: (wave) => waveStacks(graph, wave).sort(),
    importStacks: (wave) => (graph.importStacks.get(wave) ?? []).map((name) => ({ id: pathOf.get(name)!, name })),
  });
}

/** The stacks `cdk deploy '<migration>/<wave>/*'` deploys: the wave's record stacks, then the stacks they depend on. */
export function waveStacks(graph: StackGraph, wave: string): string[] {
  const records = graph.recordStacks.get(wave) ?? [];
  const all = new Set<string>(records);
  for (const record of records) {
    graph.edges.filter((e) => e.stack === record).forEach((e) => all.add(e.on));
  }
  return [...all];
}

function checkInputs(inputs: MigrationInputs): void {
  if (inputs.clusters.length === 0) {
    throw new PlanningError('clusters is empty: list the fleet\'s clusters.');
  }
  for (const cluster of inputs.clusters) {
    if (cluster.account === undefined || cluster.region === undefined) {
      throw new PlanningError(`cluster ${clusterLabel(cluster)} needs a concrete clusterArn: its account and region place its stacks.`);
    }
  }
  const names = new Set<string>();
  for (const wave of inputs.plan.waves) {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(wave.name)) {
      throw new PlanningError(`invalid wave name ${show(wave.name)}: use letters, digits and '-', starting with a letter (it is part of stack names).`);
    }
    const reserved = RESERVED_SCOPES.find((r) => r.toLowerCase() === wave.name.toLowerCase());
    if (reserved) {
      throw new PlanningError(`wave name ${show(wave.name)} is reserved: '${inputs.migrationPath}/${reserved}' holds the ${reserved.toLowerCase()} stacks. Name the wave differently.`);
    }
    if (names.has(wave.name)) {
      throw new PlanningError(`two waves are named ${show(wave.name)}; wave names must be unique.`);
    }
    names.add(wave.name);
  }
}

function frozen(inputs: MigrationInputs): boolean {
  return inputs.context[FROZEN_PLACEMENT] === 'true' || inputs.context[FROZEN_PLACEMENT] === true;
}

/**
 * The shard of every role and association. A role stack's template stays under CloudFormation's
 * 1 MB in every phase: roles are placed by their size at their widest trust (roleBytes), within a
 * budget that leaves room for their trust to grow. With frozen placement nothing may be added.
 */
function placeResources(inputs: MigrationInputs, fleet: FleetDesign, layout: StackLayout, roleBytes: Map<string, number>,
  record: PlacementRecord | undefined): Placed {
  const roles = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, group: string, item: string) => (map.get(group) ?? map.set(group, []).get(group)!).push(item);
  for (const [arn, role] of fleet.roles) {
    add(roles, role.parsed.account, arn);
  }
  // every migrated service account has its association's place from the start, whatever its phase
  const associations = new Map<string, string[]>();
  for (const p of fleet.assignments.filter((x) => x.addon === undefined)) {
    add(associations, p.cluster.clusterArn, `${p.sa.namespace}/${p.sa.serviceAccount}`);
  }
  const placed = place(record, { stackPrefix: inputs.stackPrefix, homeRegion: layout.homeRegion, roles, associations, roleBytes },
    inputs.maxResourcesPerStack,
    (kind, group, shard) => (kind === 'roles' ? layout.roles(group, shard) : layout.cluster(group, shard)).stackName,
    ROLE_STACK_BYTE_BUDGET);
  if (frozen(inputs) && (record === undefined || placed.added.length > 0)) {
    const missing = record === undefined ? 'is missing'
      : `lacks ${placed.added.length} resources (${placed.added.slice(0, 5).join(', ')}${placed.added.length > 5 ? ', ...' : ''})`;
    throw new PlanningError(`the placement file ${inputs.placementFile} ${missing}, and context ${FROZEN_PLACEMENT} forbids adding them here. Synthesize without it, review and commit the file.`);
  }
  return placed;
}

/**
 * With frozen placement (pipelines), the committed file must also record each wave and service
 * account as this synthesis puts them: a record that is not committed guards nothing.
 */
function unrecordedAssignments(file: string, before: PlacementRecord, after: PlacementRecord, assignments: AssignmentRecord): PlanningError {
  const { phases, moved } = assignmentChanges(before, assignments);
  const differ = (now: { [group: string]: { [member: string]: string } } | undefined, was: typeof now) =>
    Object.entries(now ?? {}).flatMap(([g, members]) => Object.entries(members).filter(([m, v]) => was?.[g]?.[m] !== v)).length;
  const unrecorded = differ(after.irsaRoles, before.irsaRoles) + differ(after.addonRoles, before.addonRoles);
  const what = [
    ...phases.map((w) => `wave ${w} at ${assignments.waves[w]}${before.waves?.[w] ? ` (recorded ${before.waves[w]})` : ''}`),
    ...(moved > 0 ? [`${moved} service accounts in a new wave`] : []),
    ...(unrecorded > 0 ? [`the IRSA roles of ${unrecorded} migrated service accounts and add-ons (irsaRoles, addonRoles)`] : []),
  ];
  return new PlanningError(`the placement file ${file} does not record ${what.length > 0 ? what.join(', ') : 'the waves and service accounts as this synthesis puts them'}, `
    + `and context ${FROZEN_PLACEMENT} forbids recording it here. Synthesize without it, review and commit the file with the change of state or plan.`);
}

/**
 * Warnings the operator must act on, on the stacks they concern (the CDK CLI prints the messages
 * of stacks, not of constructs outside them): a wave synthesized at a phase from context, on the
 * wave's record stacks; the placement file written, on the record stacks of the waves whose
 * recorded phase or service accounts it changed (on the first stack when it is created).
 */
function operatorWarnings(at: {
  inputs: MigrationInputs;
  graph: StackGraph;
  phases: Map<string, WavePhase>;
  record: PlacementRecord | undefined;
  assignments: AssignmentRecord;
  added: number;
  placementText: string | undefined;
}): StackNote[] {
  const { graph, record } = at;
  const notes: StackNote[] = [];
  const recordStacks = (waves: Iterable<string>) => [...new Set([...waves].flatMap((w) => graph.recordStacks.get(w) ?? []))];
  const fallback = (stacks: string[]) => (stacks.length > 0 ? stacks : graph.stacks.slice(0, 1).map((s) => s.stackName));
  const warn = (stacks: string[], id: string, text: string) => fallback(stacks).forEach((stack) => notes.push({ stack, level: 'warning', id, text }));
  for (const phase of at.phases.values()) {
    if (phase.overriddenBy) {
      warn(recordStacks([phase.wave]), 'cdk-eks-pod-identity:phaseOverride',
        `wave ${phase.wave} is synthesized at ${phase.phase} from context ${phase.overriddenBy}, but the state records ${phase.recorded}: `
        + 'record the step in the state file, so that the next plain deploy does not undo it.');
    }
  }
  if (at.placementText === undefined) {
    return notes;
  }
  const upgraded = record !== undefined && (record.waves === undefined || record.serviceAccounts === undefined);
  const changes = assignmentChanges(record, at.assignments);
  // a resource is placed when a service account enters a wave: the wave's record stacks (what
  // `cdk deploy '<id>/<wave>/*'` selects) carry the message
  const what = record === undefined ? 'created' : `updated (${at.added} resources placed, ${changes.moved} service accounts recorded in a new wave`
    + `${changes.waves.length > 0 ? `, waves ${changes.waves.join(', ')} recorded` : ''})`;
  warn(record === undefined ? [] : recordStacks(changes.waves), 'cdk-eks-pod-identity:placementFile',
    `placement file ${at.inputs.placementFile} ${what}: review and commit it with the change that caused it`
    + (upgraded ? '. It did not record the wave of each service account yet (written by an earlier version): this synthesis records them as the plan puts them now; '
      + 'check in runbooks/index.md that every service account is in the wave you expect.' : '.'));
  return notes;
}
