import { FleetDesign } from './design';
import { PlanningError, WavePhase } from './phase-state';
import { MigrationPhase } from '../../migration-phase';
import { parseClusterArn } from '../../private/names';
import { PHASE_ORDER, PHASES, phasesSkipped, SKIP_RISK_IDS } from '../../private/phases';
import { ServiceAccountAcknowledgement } from '../migration-state';

/**
 * What the placement file records of each migrated service account: its wave, and the phase each
 * wave was recorded at when the file was last written. A service account's recorded effective
 * phase is its wave's; one that is not recorded is not migrated (`IRSA_ONLY`).
 */
export interface AssignmentRecord {
  /** wave -> the phase recorded in the state when the file was written (never a context override). */
  readonly waves: { [wave: string]: MigrationPhase };
  /** cluster ARN -> `namespace/serviceAccount` -> wave. */
  readonly serviceAccounts: { [clusterArn: string]: { [serviceAccount: string]: string } };
}

/** A service account of the inventory, where this synthesis puts it. */
export interface Assignment {
  readonly clusterArn: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Its wave, when the plan migrates it. */
  readonly wave?: string;
  /** Its effective phase: its wave's as synthesized, or `IRSA_ONLY` when it is in no wave. */
  readonly phase: MigrationPhase;
  /** Why it is in no wave (for messages). */
  readonly reason?: string;
}

/** What the guard reads. */
export interface GuardInput {
  /** The record of the placement file; none when the file does not record assignments yet. */
  readonly recorded?: AssignmentRecord;
  /** Every service account of the inventory. */
  readonly current: readonly Assignment[];
  /** The phase of each wave of the plan. */
  readonly waves: ReadonlyMap<string, WavePhase>;
  /** The state's `serviceAccounts`. */
  readonly acknowledgements?: readonly ServiceAccountAcknowledgement[];
  /** The placement file, for messages. */
  readonly source: string;
}

/** The most service accounts one message lists. */
const LISTED = 20;

/**
 * Guards every service account's effective phase against its record: a change of more than one
 * step (or a recorded service account that left the inventory) fails, naming each service account,
 * its recorded wave and phase, the new ones and the ways out, unless its wave's own acknowledged step
 * (it stays in its wave) or an entry of the state's `serviceAccounts` covers it. Moving between
 * waves at the same phase, or one phase apart, passes.
 *
 * @returns the record to write: every migrated service account's wave, and each wave's recorded phase
 */
export function guardAssignments(input: GuardInput): AssignmentRecord {
  const acks = checkAcknowledgements(input.acknowledgements ?? []);
  const waves: { [wave: string]: MigrationPhase } = {};
  for (const [name, phase] of input.waves) {
    waves[name] = phase.recorded;
  }
  const serviceAccounts: { [clusterArn: string]: { [serviceAccount: string]: string } } = {};
  for (const a of input.current) {
    if (a.wave !== undefined) {
      (serviceAccounts[a.clusterArn] ??= {})[`${a.namespace}/${a.serviceAccount}`] = a.wave;
    }
  }
  const recorded = input.recorded;
  if (recorded === undefined) {
    return { waves, serviceAccounts };
  }

  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const a of input.current) {
    const key = `${a.namespace}/${a.serviceAccount}`;
    seen.add(`${a.clusterArn} ${key}`);
    const wasIn = recorded.serviceAccounts[a.clusterArn]?.[key];
    const from = wasIn === undefined ? MigrationPhase.IRSA_ONLY : (recorded.waves[wasIn] ?? MigrationPhase.IRSA_ONLY);
    const risks = phasesSkipped(from, a.phase).map((p) => PHASES[p].skipRisk!.id);
    if (risks.length === 0) {
      continue;
    }
    const acknowledged = new Set<string>();
    if (wasIn !== undefined && wasIn === a.wave) {
      // it stays in its wave: the wave's own step, guarded (and acknowledged) as the wave's
      input.waves.get(a.wave)!.acknowledged.forEach((id) => acknowledged.add(id));
    }
    acks.filter((ack) => !ack.deleted && ack.from === from && ack.to === a.phase && covers(ack, a.clusterArn, a.namespace, a.serviceAccount))
      .forEach((ack) => (ack.acknowledge ?? []).forEach((id) => acknowledged.add(id)));
    const missing = risks.filter((id) => !acknowledged.has(id));
    if (missing.length > 0) {
      problems.push({ clusterArn: a.clusterArn, namespace: a.namespace, serviceAccount: a.serviceAccount, wasIn, from, now: a, risks });
    }
  }
  for (const [clusterArn, members] of Object.entries(recorded.serviceAccounts)) {
    for (const [key, wasIn] of Object.entries(members)) {
      if (seen.has(`${clusterArn} ${key}`)) {
        continue;
      }
      const [namespace, serviceAccount] = splitKey(key);
      const from = recorded.waves[wasIn] ?? MigrationPhase.IRSA_ONLY;
      const deleted = acks.some((ack) => ack.deleted && (ack.from === undefined || ack.from === from)
        && covers(ack, clusterArn, namespace, serviceAccount));
      if (!deleted) {
        problems.push({ clusterArn, namespace, serviceAccount, wasIn, from, risks: [] });
      }
    }
  }
  if (problems.length > 0) {
    throw new PlanningError(describeProblems(problems, input));
  }
  return { waves, serviceAccounts };
}

/** What changed between two records: waves whose recorded phase differs, and service accounts in a new wave. */
export interface AssignmentChanges {
  /** Waves whose recorded phase is new or different, sorted. */
  readonly phases: string[];
  /** How many service accounts are recorded in another wave than before (or for the first time). */
  readonly moved: number;
  /** Every wave a moved service account left or joined, and every wave of `phases`, sorted. */
  readonly waves: string[];
}

/** The changes from `before` (a record, or nothing recorded) to `after`. */
export function assignmentChanges(before: Partial<AssignmentRecord> | undefined, after: AssignmentRecord): AssignmentChanges {
  const phases = Object.keys(after.waves).filter((w) => before?.waves?.[w] !== after.waves[w]).sort();
  const waves = new Set(phases);
  let moved = 0;
  for (const [clusterArn, members] of Object.entries(after.serviceAccounts)) {
    for (const [key, wave] of Object.entries(members)) {
      const was = before?.serviceAccounts?.[clusterArn]?.[key];
      if (was !== wave) {
        moved += 1;
        waves.add(wave);
        if (was !== undefined) {
          waves.add(was);
        }
      }
    }
  }
  return { phases, moved, waves: [...waves].sort() };
}

/** A service account whose change is not allowed. */
interface Problem {
  readonly clusterArn: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly wasIn?: string;
  readonly from: MigrationPhase;
  /** Where it is now; none when it left the inventory. */
  readonly now?: Assignment;
  /** The risks of the phases it jumps over. */
  readonly risks: string[];
}

function describeProblems(problems: Problem[], input: GuardInput): string {
  const lines = problems.slice(0, LISTED).map((p) => {
    const before = p.wasIn === undefined ? `not migrated (${p.from})` : `wave ${JSON.stringify(p.wasIn)} at ${p.from}`;
    if (p.now === undefined) {
      return `  - ${clusterNameOf(p.clusterArn)} ${p.namespace}/${p.serviceAccount}: ${before} -> no longer in the inventory: what the migration holds for it (association, trust statements, manifest) would be deleted`;
    }
    const after = p.now.wave === undefined
      ? `in no wave (${p.now.reason ?? 'no wave selects it'}), back on ${p.now.phase}`
      : `wave ${JSON.stringify(p.now.wave)} at ${p.now.phase}`;
    return `  - ${clusterNameOf(p.clusterArn)} ${p.namespace}/${p.serviceAccount}: ${before} -> ${after}: jumps over ${phasesSkipped(p.from, p.now.phase).join(', ')} (risks ${p.risks.join(', ')})`;
  });
  if (problems.length > LISTED) {
    lines.push(`  - and ${problems.length - LISTED} more`);
  }
  const jump = problems.find((p) => p.now !== undefined);
  const gone = problems.find((p) => p.now === undefined);
  const ways: string[] = [];
  if (jump) {
    const { namespace, serviceAccount, from, risks } = jump;
    const example = { cluster: clusterNameOf(jump.clusterArn), namespace, serviceAccount, from, to: jump.now!.phase, acknowledge: risks };
    ways.push(`Step back first, one phase per deploy: undo the edit, step the wave (or move the service account to a wave) one phase towards ${jump.now!.phase}, deploy, then repeat; `
      + 'leaving the migration means going back to IRSA_ONLY (annotation and OIDC trust restored), which one deploy cannot do past DUAL_TRUST. '
      + `Or, if the jump is intended, record it in the state file's "serviceAccounts", e.g. ${JSON.stringify(example)}.`);
  }
  if (gone) {
    const example = { cluster: clusterNameOf(gone.clusterArn), namespace: gone.namespace, serviceAccount: gone.serviceAccount, deleted: true };
    ways.push(`A service account no longer in the inventory: if it was deleted from its cluster (or the cluster was), record it in the state file's "serviceAccounts", e.g. ${JSON.stringify(example)} `
      + '(leave out serviceAccount or namespace for all of a namespace or cluster); if it still exists, collect the inventory again; '
      + 'if its cluster shows it without its IRSA role (the annotation or the add-on\'s serviceAccountRoleArn its phase removed) and the placement file\'s '
      + '"irsaRoles" do not record that role (a file written before they were recorded), add it to the inventory with its role (IrsaInventory addEntry) '
      + 'and synthesize once: the file then records it.');
  }
  return `${problems.length} service account${problems.length === 1 ? '' : 's'} would change ${problems.length === 1 ? 'its' : 'their'} effective phase by more than one step from what ${input.source} records:\n`
    + `${lines.join('\n')}\n${ways.join('\n')}`;
}

/** Whether an acknowledgement names a service account (a missing field matches any). */
function covers(ack: ServiceAccountAcknowledgement, clusterArn: string, namespace: string, serviceAccount: string): boolean {
  return ack.cluster === clusterNameOf(clusterArn)
    && (ack.namespace === undefined || ack.namespace === namespace)
    && (ack.serviceAccount === undefined || ack.serviceAccount === serviceAccount);
}

/** The state's acknowledgements, checked: each names a cluster, and a change (`from` and `to`) or `deleted`. */
function checkAcknowledgements(acks: readonly ServiceAccountAcknowledgement[]): readonly ServiceAccountAcknowledgement[] {
  acks.forEach((ack, i) => {
    const where = `the state's serviceAccounts[${i}]`;
    if (ack === null || typeof ack !== 'object' || typeof ack.cluster !== 'string' || ack.cluster.length === 0) {
      throw new PlanningError(`${where} needs "cluster", the name of the service account's cluster; got ${JSON.stringify(ack)}.`);
    }
    if (ack.serviceAccount !== undefined && ack.namespace === undefined) {
      throw new PlanningError(`${where} names serviceAccount ${JSON.stringify(ack.serviceAccount)} without its namespace: give "namespace" too.`);
    }
    if (!ack.deleted && (ack.from === undefined || ack.to === undefined)) {
      throw new PlanningError(`${where} (cluster ${JSON.stringify(ack.cluster)}) needs "from" and "to", the effective phases before and after the change it acknowledges, or "deleted": true for service accounts deleted from the cluster.`);
    }
    for (const phase of [ack.from, ack.to]) {
      if (phase !== undefined && !PHASE_ORDER.includes(phase)) {
        throw new PlanningError(`${where}: unknown phase ${JSON.stringify(phase)}; expected one of ${PHASE_ORDER.join(', ')}.`);
      }
    }
    const unknown = (ack.acknowledge ?? []).filter((id) => !SKIP_RISK_IDS.includes(id));
    if (unknown.length > 0) {
      throw new PlanningError(`${where} acknowledges ${unknown.map((id) => JSON.stringify(id)).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not a risk; the risks are ${SKIP_RISK_IDS.join(', ')}.`);
    }
  });
  return acks;
}

/** `namespace/serviceAccount` split at its first '/' (a namespace has none). */
function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** The name in a cluster ARN (the migration's clusters have concrete ARNs). */
function clusterNameOf(clusterArn: string): string {
  return parseClusterArn(clusterArn)?.clusterName ?? clusterArn;
}

/**
 * Where the design puts each service account of the inventory: its wave and phase when placed, or
 * IRSA_ONLY with the reason (excluded, or no wave selects it).
 */
export function currentAssignments(fleet: FleetDesign): Assignment[] {
  const current: Assignment[] = [];
  for (const p of fleet.assignments) {
    const { namespace, serviceAccount } = p.sa;
    current.push({ clusterArn: p.cluster.clusterArn, namespace, serviceAccount, wave: p.wave, phase: p.phase });
  }
  const left = [
    ...fleet.excluded.map((e) => ({ sa: e.sa, reason: `excluded: ${e.reason}` })),
    ...fleet.unassigned.map((sa) => ({ sa, reason: 'no wave selects it' })),
  ];
  for (const { sa, reason } of left) {
    const cluster = fleet.clusters.get(sa.cluster)!;
    const { namespace, serviceAccount } = sa;
    current.push({ clusterArn: cluster.clusterArn, namespace, serviceAccount, phase: MigrationPhase.IRSA_ONLY, reason });
  }
  return current;
}
