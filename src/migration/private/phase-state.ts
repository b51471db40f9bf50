import { MigrationPhase } from '../../migration-phase';
import { isPhase, PHASE_ORDER, PHASES, phaseDistance, phasesSkipped, SKIP_RISK_IDS } from '../../private/phases';
import { MigrationState, PhaseRecord } from '../migration-state';

/** The context key prefix of the emergency overrides: `-c pod-identity-migration:<wave>=<PHASE>`. */
export const CONTEXT_PREFIX = 'pod-identity-migration:';
/** The suffix of the acknowledgement key: `-c pod-identity-migration:<wave>:acknowledge=<risk>,...`. */
export const ACKNOWLEDGE_SUFFIX = ':acknowledge';

/** An input error found by a planning function; the construct adds its path. */
export class PlanningError extends Error {}

/** A wave's phase, and where it came from. */
export interface WavePhase {
  readonly wave: string;
  /** The phase this synthesis builds. */
  readonly phase: MigrationPhase;
  /** The phase recorded in the state (the last entry of its history; IRSA_ONLY when none). */
  readonly recorded: MigrationPhase;
  /** The context key when a context override set `phase`. */
  readonly overriddenBy?: string;
  /**
   * The risks acknowledged for the step to `phase`: the context's with an override, else those of
   * the last entry of the wave's history.
   */
  readonly acknowledged: readonly string[];
}

/**
 * The phase of every wave: the recorded state, validated, and any context override, guarded.
 *
 * @param waves the wave names of the plan
 * @param state the recorded state
 * @param context every context value of the app (keys outside the prefix are ignored)
 */
export function resolvePhases(waves: readonly string[], state: MigrationState | undefined,
  context: { [key: string]: unknown }): Map<string, WavePhase> {
  const known = new Set(waves);
  const list = waves.join(', ');
  const histories = normalizedHistories<PhaseRecord>(state?.waves, 'phase', 'wave');
  for (const wave of Object.keys(histories)) {
    if (!known.has(wave)) {
      throw new PlanningError(`the state records wave ${JSON.stringify(wave)}, which is not in the plan; the waves are ${list}. Rename it in the state file, or add the wave to the plan.`);
    }
  }

  const overrides = new Map<string, unknown>();
  const acknowledgements = new Map<string, string[]>();
  for (const [key, value] of Object.entries(context)) {
    if (!key.startsWith(CONTEXT_PREFIX)) {
      continue;
    }
    const rest = key.slice(CONTEXT_PREFIX.length);
    const wave = rest.endsWith(ACKNOWLEDGE_SUFFIX) ? rest.slice(0, -ACKNOWLEDGE_SUFFIX.length) : rest;
    if (!known.has(wave)) {
      throw new PlanningError(`context ${key}=${String(value)} names no wave of this migration; the waves are ${list}.`);
    }
    if (wave === rest) {
      overrides.set(wave, value);
    } else {
      acknowledgements.set(wave, String(value).split(',').map((s) => s.trim()).filter((s) => s.length > 0));
    }
  }

  const result = new Map<string, WavePhase>();
  for (const wave of waves) {
    const recorded = recordedPhase(wave, histories[wave] ?? []);
    const key = `${CONTEXT_PREFIX}${wave}`;
    const value = overrides.get(wave);
    if (value === undefined) {
      if (acknowledgements.has(wave)) {
        throw new PlanningError(`context ${key}${ACKNOWLEDGE_SUFFIX} is set, but ${key} is not: an acknowledgement goes with an override of the phase.`);
      }
      const history = histories[wave] ?? [];
      result.set(wave, { wave, phase: recorded, recorded, acknowledged: history[history.length - 1]?.acknowledge ?? [] });
      continue;
    }
    if (!isPhase(value)) {
      throw new PlanningError(`wave ${JSON.stringify(wave)}: unknown phase ${JSON.stringify(value)} (from context ${key}); expected one of ${PHASE_ORDER.join(', ')}.`);
    }
    checkStep(recorded, value, acknowledgements.get(wave) ?? [],
      `wave ${JSON.stringify(wave)}: the step from ${recorded} (recorded) to ${value} (from context ${key})`,
      (ids) => `acknowledge the risks with -c ${key}${ACKNOWLEDGE_SUFFIX}=${ids.join(',')}`);
    result.set(wave, { wave, phase: value, recorded, overriddenBy: key, acknowledged: acknowledgements.get(wave) ?? [] });
  }
  return result;
}

/** The last phase of a wave's history, after checking every step of it. */
function recordedPhase(wave: string, history: PhaseRecord[]): MigrationPhase {
  let previous: MigrationPhase = MigrationPhase.IRSA_ONLY;
  history.forEach((entry, i) => {
    const where = `the state of wave ${JSON.stringify(wave)}, entry ${i + 1}`;
    if (!isPhase(entry?.phase)) {
      throw new PlanningError(`${where}: unknown phase ${JSON.stringify(entry?.phase)}; expected one of ${PHASE_ORDER.join(', ')}.`);
    }
    checkStep(previous, entry.phase, entry.acknowledge ?? [], `${where}: the step from ${previous} to ${entry.phase}`,
      (ids) => `add "acknowledge": ${JSON.stringify(ids)} to the entry`);
    previous = entry.phase;
  });
  return previous;
}

/**
 * A step of one phase (or none) passes; a bigger one only with every skipped phase's risk
 * acknowledged by id.
 */
function checkStep(from: MigrationPhase, to: MigrationPhase, acknowledged: string[], what: string,
  howToAcknowledge: (ids: string[]) => string): void {
  const valid = SKIP_RISK_IDS;
  const unknown = acknowledged.filter((id) => !valid.includes(id));
  if (unknown.length > 0) {
    throw new PlanningError(`${what} acknowledges ${unknown.map((id) => JSON.stringify(id)).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not a risk; the risks are ${valid.join(', ')}.`);
  }
  if (phaseDistance(from, to) <= 1) {
    return;
  }
  const skipped = phasesSkipped(from, to);
  const risks = skipped.map((p) => PHASES[p].skipRisk!);
  const missing = risks.filter((r) => !acknowledged.includes(r.id));
  if (missing.length === 0) {
    return;
  }
  const towards = PHASE_ORDER[PHASES[from].order + (PHASES[to].order > PHASES[from].order ? 1 : -1)];
  throw new PlanningError(`${what} jumps over ${skipped.join(' and ')}. `
    + `Risks: ${risks.map((r) => `${r.id}: ${r.what}`).join('; ')}. `
    + `Step one phase at a time (next: ${towards}), or ${howToAcknowledge(risks.map((r) => r.id))}.`);
}

/**
 * Each history of the state with its entries as records: an entry given as the value alone (a
 * phase or step name, what a Python user writes first) becomes `{ [field]: value }`. A history that
 * is not a list, or an entry that is neither, fails naming it.
 */
export function normalizedHistories<T>(histories: { [name: string]: any[] } | undefined, field: string, what: string): { [name: string]: T[] } {
  const out: { [name: string]: T[] } = {};
  for (const [name, history] of Object.entries(histories ?? {})) {
    if (!Array.isArray(history)) {
      throw new PlanningError(`the state of ${what} ${JSON.stringify(name)}: expected a list of entries, oldest first; got ${JSON.stringify(history)}.`);
    }
    out[name] = history.map((entry, i) => {
      if (typeof entry === 'string') {
        return { [field]: entry } as T;
      }
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        throw new PlanningError(`the state of ${what} ${JSON.stringify(name)}, entry ${i + 1}: expected a ${field} name or { "${field}": ..., "note"?: ... }; got ${JSON.stringify(entry)}.`);
      }
      return entry as T;
    });
  }
  return out;
}
