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
 * The retirement of a cluster's IAM OIDC provider, one `cdk deploy` per step, in either direction.
 * CloudFormation deletes a resource removed from a template only if the template deployed before
 * held it with `DeletionPolicy: Delete`, and it applies a change of `DeletionPolicy` only together
 * with another change; hence a step that arms the deletion before the step that deletes.
 *
 * | Step | The provider in the app | Deploy with | Back by |
 * |---|---|---|---|
 * | `KEPT` | not in the app (today) | — | — |
 * | `ADOPTED` | imported; `DeletionPolicy: Retain` | `cdk import` (mapping in `import/`) | deploying `KEPT`: it leaves the app, kept |
 * | `RETIRING` | `DeletionPolicy: Delete`, still there | `cdk deploy` | deploying `ADOPTED` |
 * | `RETIRED` | removed: CloudFormation deletes it | `cdk deploy` | deploying `RETIRING`, which creates it again (same ARN) |
 */
export enum OidcProviderStep {
  /** The provider is not in the app: IRSA roles outside the migration may still use it. */
  KEPT = 'KEPT',
  /** The provider is imported into its stack and retained if it leaves the app. */
  ADOPTED = 'ADOPTED',
  /** The provider is still there, with its deletion armed (`DeletionPolicy: Delete`). */
  RETIRING = 'RETIRING',
  /** The provider is removed from its stack, so CloudFormation deletes it. */
  RETIRED = 'RETIRED',
}

/**
 * One recorded step of an OIDC provider's retirement: an entry of its history in the state file.
 */
export interface OidcProviderRecord {
  /** The step. */
  readonly step: OidcProviderStep;

  /**
   * Free text: the change ticket, who, when.
   *
   * @default - none
   */
  readonly note?: string;
}

/**
 * A recorded acknowledgement, in the state file's `serviceAccounts`, that service accounts change
 * their effective phase by more than one step, or leave the inventory.
 *
 * Each service account's wave and phase are recorded in the placement file at every synthesis. A
 * change of plan, inventory or state that moves a service account's effective phase by more than
 * one step (leaving the migration counts as going back to `IRSA_ONLY`) fails synthesis, and so does
 * a recorded service account that is no longer in the inventory, unless an entry here covers it.
 * An entry covers the service accounts it names (a whole namespace or cluster when those fields are
 * left out) for the change it names, and nothing else; once synthesis has recorded the change it
 * covers nothing more.
 *
 * @example
 * // migration-state.json
 * // { "serviceAccounts": [
 * //   { "cluster": "prod-use1", "namespace": "legacy", "serviceAccount": "reporter", "deleted": true, "note": "CHG-1301: app retired" },
 * //   { "cluster": "prod-use1", "namespace": "batch", "serviceAccount": "etl", "from": "POD_IDENTITY", "to": "IRSA_ONLY",
 * //     "acknowledge": ["trust-with-associations"], "note": "CHG-1302: back to IRSA, its pods restarted" } ] }
 */
export interface ServiceAccountAcknowledgement {
  /** The name of the service account's cluster. */
  readonly cluster: string;

  /**
   * The namespace.
   *
   * @default - every namespace of the cluster
   */
  readonly namespace?: string;

  /**
   * The service account.
   *
   * @default - every service account of the namespace (or of the cluster)
   */
  readonly serviceAccount?: string;

  /**
   * The service accounts were deleted from the cluster (or the cluster was): they left the
   * inventory, and the migration deletes what it had for them (associations, trust statements).
   *
   * @default false
   */
  readonly deleted?: boolean;

  /**
   * The effective phase recorded for them before the change (the placement file). Required unless
   * `deleted`.
   *
   * @default - only with `deleted`: any phase
   */
  readonly from?: MigrationPhase;

  /**
   * Their effective phase after the change: their new wave's phase, or `IRSA_ONLY` when they leave
   * the migration (excluded, or selected by no wave). Required unless `deleted`.
   *
   * @default - only with `deleted`
   */
  readonly to?: MigrationPhase;

  /**
   * The risks of the phases the change jumps over, by id (as in `PhaseRecord.acknowledge`).
   *
   * @default - none
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
 * // { "waves": { "wave1": ["IRSA_ONLY", "DUAL_TRUST", { "phase": "POD_IDENTITY", "note": "CHG-1234" }] },
 * //   "oidcProviders": { "prod-use1": ["ADOPTED", "RETIRING"] } }
 */
export interface MigrationState {
  /**
   * The history of each wave's phases, oldest first. A wave not listed is at `IRSA_ONLY`.
   *
   * Each entry is a `PhaseRecord`, or a phase alone (a `MigrationPhase`, or its name:
   * `"DUAL_TRUST"`), e.g. in Python `MigrationState(waves={"apps": ["IRSA_ONLY", "DUAL_TRUST"]})`.
   * Anything else fails synthesis naming the wave and the entry.
   *
   * @default - every wave at IRSA_ONLY
   */
  readonly waves?: { [wave: string]: any[] };

  /**
   * The history of the retirement of each cluster's IAM OIDC provider, by cluster name, oldest
   * first: one step at a time (KEPT, ADOPTED, RETIRING, RETIRED), in either direction. Every step
   * other than KEPT is refused while anything still uses the provider: a role of the migration
   * that trusts it, or a service account the plan leaves on IRSA on the cluster.
   *
   * Each entry is an `OidcProviderRecord`, or a step alone (an `OidcProviderStep`, or its name:
   * `"ADOPTED"`). Anything else fails synthesis naming the cluster and the entry.
   *
   * @default - every cluster's provider KEPT (not in the app)
   */
  readonly oidcProviders?: { [cluster: string]: any[] };

  /**
   * Acknowledged changes of single service accounts: a change of more than one step of a service
   * account's effective phase that is not its wave's own recorded step (it moved to a wave at
   * another phase, or left the migration), or a service account deleted from its cluster.
   *
   * @default - none
   */
  readonly serviceAccounts?: ServiceAccountAcknowledgement[];
}
