import { MigrationPhase } from '../../migration-phase';
import { IrsaServiceAccount } from '../inventory-types';

/*
 * What the runbooks and the wave scripts are rendered from: the wave's data as the migration decided
 * it. Types only, so the renderers (runbook.ts, wave-scripts.ts) import it and not each other.
 */

/** What the runbook of a wave is rendered from. */
export interface WaveReport {
  readonly wave: string;
  readonly risk?: string;
  /** The phase this synthesis builds. */
  readonly phase: MigrationPhase;
  /** The phase the state records. */
  readonly recorded: MigrationPhase;
  /** The context key, when a context override set `phase`. */
  readonly overriddenBy?: string;
  readonly contextKey: string;
  /** The stacks `cdk deploy <stackPattern>` deploys (the wave's records and their dependencies). */
  readonly stacks: string[];
  /** The construct path pattern that selects the wave: `<migration>/<wave>/*`. */
  readonly stackPattern: string;
  /** The stacks with roles to adopt (construct path for the CLI, stack name for the mapping file). */
  readonly importStacks: { readonly id: string; readonly name: string }[];
  readonly clusters: ClusterReport[];
  readonly adoptedRoles: string[];
}

export interface ClusterReport {
  readonly name: string;
  readonly region: string;
  readonly account: string;
  readonly arn: string;
  readonly computeType: string;
  readonly assignments: PlacementReport[];
  readonly helmManaged: IrsaServiceAccount[];
}

/** One service account of a wave, with what its checks expect. */
export interface PlacementReport {
  readonly sa: IrsaServiceAccount;
  readonly associationRoleArn: string;
  readonly targetRoleArn?: string;
  /**
   * `ends`: the IRSA role's OIDC statement for this service account goes at POD_IDENTITY_ONLY;
   * `kept`: the IRSA role is kept as it is until retired (consolidation, chains).
   */
  readonly irsaTrust: 'ends' | 'kept';
  /** `phased`: pods.eks is trusted from DUAL_TRUST; `always`: a new role, trusted from the start. */
  readonly podTrust: 'phased' | 'always';
  /** The OIDC provider the IRSA role's trust names (in the role's account). */
  readonly oidcProviderArn: string;
  readonly issuer: string;
  /**
   * The managed add-on that owns the service account, and its version: its association is the
   * add-on's and its annotation follows the add-on's serviceAccountRoleArn (no kubectl annotate).
   */
  readonly addon?: { readonly name: string; readonly version: string };
}

/** A role's trust policy length against its limit. */
export interface TrustLength {
  readonly arn: string;
  readonly length: number;
  readonly max: number;
}
