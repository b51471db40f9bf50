import { MigrationPhase } from '../migration-phase';

/** What a phase means: the one table every file reads (no other file compares phases). */
export interface PhaseSpec {
  /** Position in the migration, from 0 (`IRSA_ONLY`). */
  readonly order: number;
  /** The role trust holds the OIDC (IRSA) statements. */
  readonly irsaTrust: boolean;
  /** The role trusts pods.eks.amazonaws.com. */
  readonly podIdentityTrust: boolean;
  /** The Pod Identity association exists. */
  readonly association: boolean;
  /** The ServiceAccount keeps the IRSA annotation. */
  readonly irsaAnnotation: boolean;
  /**
   * What a step of more than one phase risks when it jumps over this phase (in either direction):
   * an id the acknowledgement must name, and what happens.
   */
  readonly skipRisk?: { readonly id: string; readonly what: string };
}

/** The migration phases (DESIGN.md, "Migration phases"). */
export const PHASES: Readonly<Record<MigrationPhase, PhaseSpec>> = {
  [MigrationPhase.IRSA_ONLY]: {
    order: 0, irsaTrust: true, podIdentityTrust: false, association: false, irsaAnnotation: true,
  },
  [MigrationPhase.DUAL_TRUST]: {
    order: 1,
    irsaTrust: true,
    podIdentityTrust: true,
    association: false,
    irsaAnnotation: true,
    skipRisk: {
      id: 'trust-with-associations',
      what: 'the pods.eks.amazonaws.com trust and the associations change in one deploy; IAM trust changes are eventually consistent, so pods created right after the associations appear (forward), or still running on Pod Identity (back), get AccessDenied',
    },
  },
  [MigrationPhase.POD_IDENTITY]: {
    order: 2,
    irsaTrust: true,
    podIdentityTrust: true,
    association: true,
    irsaAnnotation: true,
    skipRisk: {
      id: 'associations-with-annotation',
      what: 'the associations and the ServiceAccount annotation change in one step; pods created between the two get no AWS credentials at all',
    },
  },
  [MigrationPhase.ANNOTATION_REMOVED]: {
    order: 3,
    irsaTrust: true,
    podIdentityTrust: true,
    association: true,
    irsaAnnotation: false,
    skipRisk: {
      id: 'irsa-pods-lose-credentials',
      what: 'the OIDC trust is removed without the soak in which every pod is recreated; pods still on IRSA credentials fail at their next refresh, within the hour (F5)',
    },
  },
  [MigrationPhase.POD_IDENTITY_ONLY]: {
    order: 4, irsaTrust: false, podIdentityTrust: true, association: true, irsaAnnotation: false,
  },
};

/** The phases in order. */
export const PHASE_ORDER: readonly MigrationPhase[] = (Object.keys(PHASES) as MigrationPhase[])
  .sort((a, b) => PHASES[a].order - PHASES[b].order);

/** The ids of the risks a step of more than one phase can acknowledge, in phase order. */
export const SKIP_RISK_IDS: readonly string[] = PHASE_ORDER.map((p) => PHASES[p].skipRisk?.id).filter((id): id is string => id !== undefined);

/** Whether `value` names a phase. */
export function isPhase(value: unknown): value is MigrationPhase {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PHASES, value);
}

/** Whether the role trust holds the OIDC (IRSA) statements in this phase. */
export function hasIrsaTrust(phase: MigrationPhase): boolean {
  return PHASES[phase].irsaTrust;
}

/** Whether the role trusts pods.eks.amazonaws.com in this phase. */
export function hasPodIdentityTrust(phase: MigrationPhase): boolean {
  return PHASES[phase].podIdentityTrust;
}

/** Whether the association exists in this phase. */
export function hasAssociation(phase: MigrationPhase): boolean {
  return PHASES[phase].association;
}

/** Whether the ServiceAccount keeps the IRSA annotation in this phase. */
export function hasIrsaAnnotation(phase: MigrationPhase): boolean {
  return PHASES[phase].irsaAnnotation;
}

/** The next phase, if any. */
export function nextPhase(phase: MigrationPhase): MigrationPhase | undefined {
  return PHASE_ORDER[PHASES[phase].order + 1];
}

/** The previous phase, if any. */
export function previousPhase(phase: MigrationPhase): MigrationPhase | undefined {
  return PHASE_ORDER[PHASES[phase].order - 1];
}

/** How many steps apart two phases are. */
export function phaseDistance(a: MigrationPhase, b: MigrationPhase): number {
  return Math.abs(PHASES[a].order - PHASES[b].order);
}

/** The phases strictly between two phases (either direction), in order from `from`. */
export function phasesSkipped(from: MigrationPhase, to: MigrationPhase): MigrationPhase[] {
  const [lo, hi] = [PHASES[from].order, PHASES[to].order].sort((x, y) => x - y);
  const between = PHASE_ORDER.slice(lo + 1, hi);
  return PHASES[from].order <= PHASES[to].order ? [...between] : [...between].reverse();
}
