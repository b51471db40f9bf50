import { MigrationPhase } from '../migration-phase';

/** The phases in order. */
export const PHASE_ORDER: readonly MigrationPhase[] = [
  MigrationPhase.IRSA_ONLY,
  MigrationPhase.DUAL_TRUST,
  MigrationPhase.POD_IDENTITY,
  MigrationPhase.ANNOTATION_REMOVED,
  MigrationPhase.POD_IDENTITY_ONLY,
];

/** Whether the role trust holds the OIDC (IRSA) statements in this phase. */
export function hasIrsaTrust(phase: MigrationPhase): boolean {
  return phase !== MigrationPhase.POD_IDENTITY_ONLY;
}

/** Whether the role trusts pods.eks.amazonaws.com in this phase. */
export function hasPodIdentityTrust(phase: MigrationPhase): boolean {
  return phase !== MigrationPhase.IRSA_ONLY;
}

/** Whether the association exists in this phase. */
export function hasAssociation(phase: MigrationPhase): boolean {
  return PHASE_ORDER.indexOf(phase) >= PHASE_ORDER.indexOf(MigrationPhase.POD_IDENTITY);
}

/** Whether the ServiceAccount keeps the IRSA annotation in this phase. */
export function hasIrsaAnnotation(phase: MigrationPhase): boolean {
  return PHASE_ORDER.indexOf(phase) <= PHASE_ORDER.indexOf(MigrationPhase.POD_IDENTITY);
}
