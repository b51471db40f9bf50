/**
 * The migration phase of a role, a wave or a service account: what its trust, its association
 * and its ServiceAccount annotation look like. Each phase is one `cdk deploy` away from its
 * neighbours, in both directions.
 *
 * | Phase | Role trust | Association | SA annotation |
 * |---|---|---|---|
 * | `IRSA_ONLY` | OIDC | none | present |
 * | `DUAL_TRUST` | OIDC + pods.eks | none | present |
 * | `POD_IDENTITY` | OIDC + pods.eks | present | present |
 * | `ANNOTATION_REMOVED` | OIDC + pods.eks | present | removed |
 * | `POD_IDENTITY_ONLY` | pods.eks | present | removed |
 */
export enum MigrationPhase {
  /** Today's state described as code: IRSA only. */
  IRSA_ONLY = 'IRSA_ONLY',
  /** The role also trusts pods.eks.amazonaws.com; no association yet, so no pod changes. */
  DUAL_TRUST = 'DUAL_TRUST',
  /** The association exists: every pod created from now on gets Pod Identity credentials. */
  POD_IDENTITY = 'POD_IDENTITY',
  /** The IRSA annotation is removed from the ServiceAccount; the OIDC trust stays for old pods. */
  ANNOTATION_REMOVED = 'ANNOTATION_REMOVED',
  /** The OIDC trust is removed: Pod Identity only. */
  POD_IDENTITY_ONLY = 'POD_IDENTITY_ONLY',
}
