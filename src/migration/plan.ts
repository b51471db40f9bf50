import { MigrationState, PhaseRecord } from './migration-state';
import { AgentStatus, ComputeType, PodIdentityCluster } from '../pod-identity-cluster';
import { isPhase, PHASE_ORDER } from '../private/phases';

/**
 * Selects service accounts for a wave (or for exclusion). Every field given must match.
 */
export interface ServiceAccountSelector {
  /**
   * The namespace, exactly.
   *
   * @default - any namespace (subject to `namespacePrefix`)
   */
  readonly namespace?: string;

  /**
   * A namespace prefix, e.g. `tenant-`.
   *
   * @default - any namespace (subject to `namespace`)
   */
  readonly namespacePrefix?: string;

  /**
   * The service account name.
   *
   * @default - any service account
   */
  readonly serviceAccount?: string;

  /**
   * The cluster name.
   *
   * @default - any cluster
   */
  readonly cluster?: string;

  /**
   * The cluster's region.
   *
   * @default - any region
   */
  readonly region?: string;

  /**
   * Why (for exclusions; shown in the plan index).
   *
   * @default - none
   */
  readonly reason?: string;
}

/**
 * A migration wave.
 */
export interface MigrationWave {
  /** The wave name (used in stack names and the context key). Letters, digits and '-'. */
  readonly name: string;

  /**
   * The service accounts of the wave; the first wave that selects an account gets it. A selector
   * with `cluster` makes a canary: the same service account on other clusters can be in a later
   * wave, even when they share a role (its trust follows the phase of each cluster).
   */
  readonly select: ServiceAccountSelector[];

  /**
   * Risk, shown in the plan index.
   *
   * @default - none
   */
  readonly risk?: string;
}

/**
 * What an existing IRSA role may do today: adopted roles get exactly these permissions.
 */
export interface MigrationRolePlan {
  /**
   * The account of the role (a check against the inventory's role ARNs).
   *
   * @default - not checked
   */
  readonly account?: string;

  /**
   * Policy statements, as IAM JSON (`{ Effect, Action, Resource, Condition }`).
   *
   * @default - none
   */
  readonly statements?: any[];

  /**
   * Managed policy ARNs.
   *
   * @default - none
   */
  readonly managedPolicyArns?: string[];

  /**
   * The role's trust policy length limit (the account's quota, if raised).
   *
   * @default 2048
   */
  readonly trustPolicyMaxLength?: number;

  /**
   * Keep the `<issuer>:aud` condition in the role's IRSA statements.
   *
   * @default true
   */
  readonly irsaAudienceCondition?: boolean;

  /**
   * Pin the trust of a cross-account target role to the namespace and service account with
   * `aws:RequestTag` (in addition to the association role's ARN).
   *
   * @default true
   */
  readonly pinTargetTrust?: boolean;

  /**
   * Whether the role exists today. Existing roles are adopted (`cdk import`, removal policy
   * RETAIN); a role that does not exist yet (e.g. a new cross-account target) is created.
   *
   * @default true
   */
  readonly exists?: boolean;

  /**
   * Free text.
   *
   * @default - none
   */
  readonly note?: string;
}

/**
 * Several per-cluster IRSA roles of one service account become one shared Pod Identity role.
 *
 * The shared role gets the permissions of `roles[roleName]` when the plan declares them;
 * otherwise those of the per-cluster roles, which must then all be the same.
 */
export interface ConsolidationPlan {
  /** The namespace. */
  readonly namespace: string;
  /** The service account. */
  readonly serviceAccount: string;
  /** The name of the shared role. */
  readonly roleName: string;
  /**
   * Free text.
   *
   * @default - none
   */
  readonly note?: string;
}

/**
 * A service account whose pods reach a role in another account: after the move, EKS chains from
 * an association role to the target role.
 */
export interface CrossAccountPlan {
  /** The namespace. */
  readonly namespace: string;
  /** The service account. */
  readonly serviceAccount: string;
  /** The association role's name (in the cluster's account). */
  readonly associationRoleName: string;
  /** The target role's ARN. */
  readonly targetRoleArn: string;
  /**
   * Free text.
   *
   * @default - none
   */
  readonly note?: string;
}

/**
 * A migration plan: waves, exclusions, what each IRSA role may do, consolidations and
 * cross-account chains (the shape of `plan.json` in the Northwind example).
 */
export interface MigrationPlan {
  /** The waves, in order. */
  readonly waves: MigrationWave[];
  /**
   * Service accounts never migrated here.
   *
   * @default - none
   */
  readonly exclude?: ServiceAccountSelector[];
  /**
   * Permissions per IRSA role name; a key may end in `*` to cover several roles.
   *
   * @default - none
   */
  readonly roles?: { [roleName: string]: MigrationRolePlan };
  /**
   * Consolidations.
   *
   * @default - none
   */
  readonly consolidate?: ConsolidationPlan[];
  /**
   * Cross-account chains.
   *
   * @default - none
   */
  readonly crossAccount?: CrossAccountPlan[];
}

/**
 * A cluster as listed in a fleet file (`clusters.json`).
 */
interface FleetClusterJson {
  readonly name: string;
  readonly clusterArn: string;
  readonly oidcIssuer?: string;
  readonly oidcProviderArn?: string;
  readonly computeType?: string;
  readonly podIdentityAgent?: string;
}

/**
 * Readers for the plan and fleet files.
 */
export class MigrationFiles {
  /**
   * Parse a migration plan (JSON text).
   *
   * @param json the plan
   * @param source a name for error messages
   */
  public static planFromJson(json: string, source: string = 'plan'): MigrationPlan {
    let plan: any;
    try {
      plan = JSON.parse(json);
    } catch (e) {
      throw new Error(`MigrationFiles: ${source}: not JSON (${(e as Error).message}).`);
    }
    if (!plan || !Array.isArray(plan.waves)) {
      throw new Error(`MigrationFiles: ${source}: a plan needs "waves": [{ "name": ..., "select": [...] }].`);
    }
    plan.waves.forEach((w: any, i: number) => {
      if (typeof w?.name !== 'string' || !Array.isArray(w.select)) {
        throw new Error(`MigrationFiles: ${source}: waves[${i}] needs a "name" and a "select" list; got ${JSON.stringify(w)}.`);
      }
    });
    return {
      waves: plan.waves,
      exclude: plan.exclude,
      roles: plan.roles,
      consolidate: plan.consolidate,
      crossAccount: plan.crossAccount,
    };
  }

  /**
   * Parse a migration state file: `{ "waves": { "<wave>": [<entry>, ...] } }`, each entry a phase
   * (`"DUAL_TRUST"`) or `{ "phase": ..., "acknowledge": [...], "note": ... }`, oldest first.
   *
   * @param json the state
   * @param source a name for error messages
   */
  public static stateFromJson(json: string, source: string = 'state'): MigrationState {
    let state: any;
    try {
      state = JSON.parse(json);
    } catch (e) {
      throw new Error(`MigrationFiles: ${source}: not JSON (${(e as Error).message}).`);
    }
    const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!isMap(state) || (state.waves !== undefined && !isMap(state.waves))) {
      throw new Error(`MigrationFiles: ${source}: expected { "waves": { "<wave>": ["IRSA_ONLY", "DUAL_TRUST", ...] } }.`);
    }
    const unknownKeys = Object.keys(state).filter((k) => k !== 'waves' && k !== '$schema' && k !== 'description');
    if (unknownKeys.length > 0) {
      throw new Error(`MigrationFiles: ${source}: unknown key ${JSON.stringify(unknownKeys[0])}; a state file has "waves" (and optionally "description").`);
    }
    const waves: { [wave: string]: PhaseRecord[] } = {};
    for (const [wave, history] of Object.entries<any>(state.waves ?? {})) {
      if (!Array.isArray(history)) {
        throw new Error(`MigrationFiles: ${source}: waves.${wave} must be a list of phases, oldest first; got ${JSON.stringify(history)}.`);
      }
      waves[wave] = history.map((entry: any, i: number) => {
        const where = `${source}: waves.${wave}[${i}]`;
        const record = typeof entry === 'string' ? { phase: entry } : entry;
        if (!isMap(record) || !isPhase(record.phase)) {
          throw new Error(`MigrationFiles: ${where}: expected a phase (${PHASE_ORDER.join(', ')}) or { "phase", "acknowledge", "note" }; got ${JSON.stringify(entry)}.`);
        }
        const extra = Object.keys(record).filter((k) => !['phase', 'acknowledge', 'note'].includes(k));
        if (extra.length > 0) {
          throw new Error(`MigrationFiles: ${where}: unknown key ${JSON.stringify(extra[0])}; an entry has "phase", "acknowledge" and "note".`);
        }
        if (record.acknowledge !== undefined && (!Array.isArray(record.acknowledge) || !record.acknowledge.every((a: unknown) => typeof a === 'string'))) {
          throw new Error(`MigrationFiles: ${where}: "acknowledge" must be a list of risk ids; got ${JSON.stringify(record.acknowledge)}.`);
        }
        return { phase: record.phase, acknowledge: record.acknowledge, note: record.note };
      });
    }
    return { waves };
  }

  /**
   * Parse a fleet file: a JSON list of `{ name, clusterArn, oidcIssuer, computeType, podIdentityAgent }`.
   *
   * @param json the fleet
   * @param source a name for error messages
   */
  public static clustersFromJson(json: string, source: string = 'clusters'): PodIdentityCluster[] {
    let list: FleetClusterJson[];
    try {
      list = JSON.parse(json);
    } catch (e) {
      throw new Error(`MigrationFiles: ${source}: not JSON (${(e as Error).message}).`);
    }
    if (!Array.isArray(list)) {
      throw new Error(`MigrationFiles: ${source}: expected a list of clusters.`);
    }
    return list.map((c, i) => {
      const computeType = c.computeType === undefined ? undefined : (ComputeType as any)[c.computeType];
      const agentStatus = c.podIdentityAgent === undefined ? undefined : (AgentStatus as any)[c.podIdentityAgent];
      if (c.computeType !== undefined && computeType === undefined) {
        throw new Error(`MigrationFiles: ${source}[${i}] (${c.name}): unknown computeType ${JSON.stringify(c.computeType)}; expected one of ${Object.keys(ComputeType).join(', ')}.`);
      }
      if (c.podIdentityAgent !== undefined && agentStatus === undefined) {
        throw new Error(`MigrationFiles: ${source}[${i}] (${c.name}): unknown podIdentityAgent ${JSON.stringify(c.podIdentityAgent)}; expected one of ${Object.keys(AgentStatus).join(', ')}.`);
      }
      return PodIdentityCluster.fromClusterAttributes({
        clusterName: c.name,
        clusterArn: c.clusterArn,
        oidcIssuer: c.oidcIssuer,
        oidcProviderArn: c.oidcProviderArn,
        computeType,
        agentStatus,
      });
    });
  }
}
