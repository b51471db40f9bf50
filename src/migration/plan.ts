import { MigrationState, OidcProviderRecord, OidcProviderStep, PhaseRecord } from './migration-state';
import { AgentStatus, ComputeType } from '../cluster-types';
import { MigrationPhase } from '../migration-phase';
import { PodIdentityCluster } from '../pod-identity-cluster';
import { CLUSTERS_SCHEMA, PLAN_SCHEMA, ROLES_SCHEMA, schemaProblems, STATE_SCHEMA } from './private/file-schemas';
import { clusterArnFields } from '../private/arns';
import { fileError } from '../private/errors';

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
   * RETAIN); a role that does not exist yet (e.g. a new cross-account target) is created. An IRSA
   * role (one a service account is annotated with) exists: `false` for it fails synthesis.
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
   * Permissions per IRSA role: keyed by role ARN (`arn:aws:iam::<account>:role/<name>`, for one
   * account's role, e.g. same-named roles in two accounts with different permissions), by role name,
   * or by a name ending in `*` that covers several roles. An ARN wins over a name, a name over the
   * longest matching pattern.
   *
   * @default - none
   */
  readonly roles?: { [roleNameOrArn: string]: MigrationRolePlan };
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
 * An IAM role as IAM holds it today (`aws iam get-role`, `list-role-policies` + `get-role-policy`,
 * `list-attached-role-policies`): what an adopted role's declared permissions are checked against,
 * and where they come from when the plan declares none.
 */
export interface CollectedRole {
  /** The role ARN. */
  readonly arn: string;
  /** The trust policy document. */
  readonly trustPolicy: { [key: string]: any };
  /** The inline policy documents, by policy name. */
  readonly inlinePolicies: { [policyName: string]: any };
  /** The attached managed policy ARNs. */
  readonly managedPolicyArns: string[];
}

/**
 * Readers for the fleet files: `clusters.json`, `plan.json`, `state.json` and `roles.json`. Each is
 * checked against its JSON Schema (shipped in the package as `schemas/<file>.schema.json`): unknown
 * keys, missing required keys and wrong types fail with the file, the JSON path and the expected shape.
 */
export class MigrationFiles {
  /**
   * Parse a migration plan (JSON text): `{ waves, exclude?, roles?, consolidate?, crossAccount? }`
   * with the keys of `MigrationPlan`.
   *
   * @param json the plan
   * @param source a name for error messages
   */
  public static planFromJson(json: string, source: string = 'plan'): MigrationPlan {
    const plan = parse(json, source, PLAN_SCHEMA);
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
   * (`"DUAL_TRUST"`) or `{ "phase": ..., "acknowledge": [...], "note": ... }`, oldest first; and
   * optionally `"oidcProviders": { "<cluster>": [<step>, ...] }`, each a step (`"ADOPTED"`) or
   * `{ "step": ..., "note": ... }`.
   *
   * @param json the state
   * @param source a name for error messages
   */
  public static stateFromJson(json: string, source: string = 'state'): MigrationState {
    const state = parse(json, source, STATE_SCHEMA);
    const waves: { [wave: string]: PhaseRecord[] } = {};
    for (const [wave, history] of Object.entries<any[]>(state.waves ?? {})) {
      waves[wave] = history.map((entry) => (typeof entry === 'string'
        ? { phase: entry as MigrationPhase }
        : { phase: entry.phase, acknowledge: entry.acknowledge, note: entry.note }));
    }
    const serviceAccounts = state.serviceAccounts === undefined ? undefined
      : (state.serviceAccounts as any[]).map((e) => ({
        cluster: e.cluster,
        namespace: e.namespace,
        serviceAccount: e.serviceAccount,
        deleted: e.deleted,
        from: e.from,
        to: e.to,
        acknowledge: e.acknowledge,
        note: e.note,
      }));
    if (state.oidcProviders === undefined) {
      return serviceAccounts === undefined ? { waves } : { waves, serviceAccounts };
    }
    const oidcProviders: { [cluster: string]: OidcProviderRecord[] } = {};
    for (const [cluster, history] of Object.entries<any[]>(state.oidcProviders)) {
      oidcProviders[cluster] = history.map((entry) => (typeof entry === 'string'
        ? { step: entry as OidcProviderStep }
        : { step: entry.step, note: entry.note }));
    }
    return serviceAccounts === undefined ? { waves, oidcProviders } : { waves, oidcProviders, serviceAccounts };
  }

  /**
   * Parse a fleet file: a JSON list of clusters with the attributes of
   * `PodIdentityCluster.fromClusterAttributes`: `name` (or `clusterName`), `clusterArn`,
   * `oidcIssuer`/`oidcProviderArn`, `computeType`, `agentStatus` (or `podIdentityAgent`), and
   * optionally `region` and `account` (checked against the ARN) and `kind` (free text).
   *
   * @param json the fleet
   * @param source a name for error messages
   */
  public static clustersFromJson(json: string, source: string = 'clusters'): PodIdentityCluster[] {
    const list: any[] = parse(json, source, CLUSTERS_SCHEMA);
    return list.map((c, i) => {
      const where = `${source}: $[${i}]`;
      const name = c.name ?? c.clusterName;
      if (name === undefined) {
        throw fileError('MigrationFiles', where, 'missing "name" (or "clusterName"); expected the cluster name.');
      }
      for (const [a, b] of [['name', 'clusterName'], ['agentStatus', 'podIdentityAgent']]) {
        if (c[a] !== undefined && c[b] !== undefined && c[a] !== c[b]) {
          throw fileError('MigrationFiles', where, `"${a}" ${JSON.stringify(c[a])} and "${b}" ${JSON.stringify(c[b])} disagree; they are the same attribute, give one.`);
        }
      }
      const arn = clusterArnFields(c.clusterArn)!;
      for (const [key, value] of [['region', arn.region], ['account', arn.account], ['name', arn.name]]) {
        const given = key === 'name' ? name : c[key];
        if (given !== undefined && given !== value) {
          throw fileError('MigrationFiles', `${where}.${key}`, `${JSON.stringify(given)} differs from the clusterArn's ${JSON.stringify(value)} (${c.clusterArn}).`);
        }
      }
      const status = c.agentStatus ?? c.podIdentityAgent;
      return PodIdentityCluster.fromClusterAttributes({
        clusterName: name,
        clusterArn: c.clusterArn,
        oidcIssuer: c.oidcIssuer,
        oidcProviderArn: c.oidcProviderArn,
        computeType: c.computeType === undefined ? undefined : (ComputeType as any)[c.computeType],
        agentStatus: status === undefined ? undefined : (AgentStatus as any)[status],
      });
    });
  }

  /**
   * Parse the roles collected from IAM (`roles.json`): a list of `{ arn, trustPolicy,
   * inlinePolicies, managedPolicyArns }`, the policy documents as JSON objects (as the AWS CLI prints
   * them, decoded).
   *
   * @param json the roles
   * @param source a name for error messages
   */
  public static collectedRolesFromJson(json: string, source: string = 'roles'): CollectedRole[] {
    const list: any[] = parse(json, source, ROLES_SCHEMA);
    const seen = new Set<string>();
    return list.map((r, i) => {
      if (seen.has(r.arn)) {
        throw fileError('MigrationFiles', source, `$[${i}].arn: ${r.arn} is listed twice; give each role once.`);
      }
      seen.add(r.arn);
      return { arn: r.arn, trustPolicy: r.trustPolicy, inlinePolicies: r.inlinePolicies, managedPolicyArns: [...r.managedPolicyArns] };
    });
  }
}

/** JSON text, checked against its schema; errors name the file, the JSON path and the expected shape. */
function parse(json: string, source: string, schema: { [key: string]: any }): any {
  let value: any;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw fileError('MigrationFiles', source, `not JSON (${(e as Error).message}).`);
  }
  const problems = schemaProblems(value, schema);
  if (problems.length > 0) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw fileError('MigrationFiles', source, `${problems.slice(0, 5).join('; ')}${more}. The format: ${schema.$id} in the package, and the README.`);
  }
  return value;
}
