import { MigrationPhase } from '../migration-phase';

/**
 * One recorded phase of a wave: an entry of its history in the migration state file.
 */
export interface PhaseRecord {
  /** The phase. */
  readonly phase: MigrationPhase;

  /**
   * The risks a step of more than one phase takes, by id, one for each phase it jumps over
   * (`trust-with-associations` for DUAL_TRUST, `associations-with-annotation` for POD_IDENTITY,
   * `irsa-pods-lose-credentials` for ANNOTATION_REMOVED). Without them such a step fails synthesis.
   *
   * @default - none: the entry must be one phase from the one before it
   */
  readonly acknowledge?: string[];

  /**
   * Free text: the change ticket, who, when.
   *
   * @default - none
   */
  readonly note?: string;
}

/**
 * The recorded phases of a migration (the state file, committed and reviewed beside the plan).
 *
 * Each wave has its history of phases, oldest first; the last entry is the phase the wave is
 * deployed at. Changing a wave's phase is one reviewed change: append the next phase, review,
 * `cdk deploy`. Each entry must be one phase from the one before it, in either direction, unless it
 * acknowledges the risks of the phases it jumps over.
 *
 * @example
 * // migration-state.json
 * // { "waves": { "wave1": ["IRSA_ONLY", "DUAL_TRUST", { "phase": "POD_IDENTITY", "note": "CHG-1234" }] } }
 */
export interface MigrationState {
  /**
   * The history of each wave's phases, oldest first. A wave not listed is at `IRSA_ONLY`.
   *
   * @default - every wave at IRSA_ONLY
   */
  readonly waves?: { [wave: string]: PhaseRecord[] };
}
