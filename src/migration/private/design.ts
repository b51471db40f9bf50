import { WavePhase } from './phase-state';
import { MigrationPhase } from '../../migration-phase';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { InventoryAddon, IrsaServiceAccount, ParsedRoleArn } from '../inventory-types';
import { IrsaInventory } from '../irsa-inventory';
import { CollectedRole, MigrationPlan } from '../plan';

/*
 * The migration's decisions, as the planner makes them from its inputs: where each service account
 * goes (wave, phase, roles), the roles with their trust and permissions, the add-ons. Types only:
 * the planner (fleet-design.ts) makes them, the construct builds from them, the renderers read them.
 */

/** One service account's assignment: its wave, its phase, the roles it gets. */
export interface PlannedAssignment {
  readonly sa: IrsaServiceAccount;
  readonly cluster: PodIdentityCluster;
  readonly wave: string;
  readonly phase: MigrationPhase;
  /** The role the association names. */
  readonly associationRoleArn: string;
  /** The target role of a cross-account chain. */
  readonly targetRoleArn?: string;
  /**
   * The managed add-on that owns the service account: its association is one of the add-on's
   * `podIdentityAssociations` and its annotation follows the add-on's `serviceAccountRoleArn`.
   */
  readonly addon?: InventoryAddon;
}

/**
 * A managed add-on that uses IRSA (`serviceAccountRoleArn`): it moves with the wave of its service
 * accounts, through its own `podIdentityAssociations`.
 */
export interface PlannedAddon {
  readonly addon: InventoryAddon;
  readonly cluster: PodIdentityCluster;
  /** The service accounts it owns (those of its cluster that carry its role), sorted. */
  readonly serviceAccounts: IrsaServiceAccount[];
  /** The wave and phase of its service accounts; none when they are excluded or in no wave. */
  readonly wave?: string;
  readonly phase?: MigrationPhase;
  /** Its role today (`serviceAccountRoleArn`), which the migration makes dual. */
  readonly roleArn: string;
}

/** A role of the migration, with everything its resource needs. */
export interface PlannedRole {
  readonly parsed: ParsedRoleArn;
  /**
   * How it is used: `dual` (IRSA today, Pod Identity too), `created` (a new Pod Identity role),
   * `irsa-only` (an IRSA role kept until retired), `target` (the target of a chain).
   */
  readonly kind: 'dual' | 'created' | 'irsa-only' | 'target';
  /** It exists today: imported (`cdk import`), never created. */
  readonly adopted: boolean;
  readonly description?: string;
  /** The trust policy document. */
  readonly trust: any;
  /** Its length as IAM counts it, and the limit. */
  readonly trustLength: number;
  readonly trustMax: number;
  /**
   * The trust the role has in the phase where it is widest: every IRSA use and every Pod Identity
   * use trusted at once (what its stack's size is planned with, whatever the phase now).
   */
  readonly widestTrust: any;
  /** The length of `widestTrust` as IAM counts it. */
  readonly widestTrustLength: number;
  /** The permissions (inline policy `permissions`) and managed policies. */
  readonly statements: any[];
  readonly managedPolicyArns: string[];
  /** Target roles it chains to (inline policy `chain`). */
  readonly chainsTo: string[];
  /** The waves whose assignments use it. */
  readonly waves: string[];
  /** The clusters whose OIDC provider its trust names. */
  readonly irsaClusters: string[];
}

/** A service account the migration leaves on IRSA. */
export interface LeftOnIrsa {
  readonly sa: IrsaServiceAccount;
  readonly reason: string;
}

/**
 * The fleet's part of the migration's design (designMigration adds the placement of resources and
 * the stack graph): the assignment of every service account, the roles, the add-ons, decided once.
 */
export interface FleetDesign {
  readonly assignments: PlannedAssignment[];
  readonly excluded: LeftOnIrsa[];
  readonly unassigned: IrsaServiceAccount[];
  /** The managed add-ons that use IRSA, by cluster and name. */
  readonly addons: PlannedAddon[];
  /** By ARN, in ARN order. */
  readonly roles: Map<string, PlannedRole>;
  readonly clusters: Map<string, PodIdentityCluster>;
}

/** What planning needs besides the plan. */
export interface FleetInputs {
  readonly clusters: PodIdentityCluster[];
  readonly inventory: IrsaInventory;
  readonly plan: MigrationPlan;
  readonly phases: Map<string, WavePhase>;
  readonly trustPolicyMaxLengthByAccount?: { [account: string]: number };
  /** The roles as IAM holds them today: adopted roles are checked against them, or take their permissions. */
  readonly collectedRoles?: CollectedRole[];
}
