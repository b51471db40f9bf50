import { POD_IDENTITY_PRINCIPAL, SESSION_TAGS } from './constants';

/*
 * The trust statements of IRSA, Pod Identity and cross-account chains as IAM JSON, built and
 * matched in one place: the migration's planner builds them, DualTrustRole builds the same shapes
 * as PolicyStatements (with the same actions, condition keys and grouping, `podIdentityGroups`),
 * PodIdentityChecks and the operator's verify checks match them. No CDK: the operator's checks
 * import this file.
 */

/** The action of an IRSA trust statement. */
export const IRSA_ACTION = 'sts:AssumeRoleWithWebIdentity';

/** The actions of a Pod Identity trust statement and of a chain to a target role: both, or EKS cannot assume (F6). */
export const POD_IDENTITY_ACTIONS: readonly string[] = ['sts:AssumeRole', 'sts:TagSession'];

/** The condition keys that pin a Pod Identity statement to the session tags EKS attaches (F6). */
export const REQUEST_TAG = {
  CLUSTER_ARN: `aws:RequestTag/${SESSION_TAGS.CLUSTER_ARN}`,
  NAMESPACE: `aws:RequestTag/${SESSION_TAGS.NAMESPACE}`,
  SERVICE_ACCOUNT: `aws:RequestTag/${SESSION_TAGS.SERVICE_ACCOUNT}`,
} as const;

/** A single value when there is one, a list otherwise (IAM accepts both; one is shorter). */
export function oneOrList(values: readonly string[]): string | string[] {
  return values.length === 1 ? values[0] : [...values];
}

/** The `sub` of a service account's projected token: `system:serviceaccount:<namespace>:<name>`. */
export function irsaSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/** An IRSA statement: the OIDC provider `providerArn` may assume for `subjects` (sorted), and `aud` when `audience`. */
export function irsaStatementJson(providerArn: string, issuer: string, subjects: Iterable<string>, audience: boolean): any {
  const conditions: { [key: string]: unknown } = { [`${issuer}:sub`]: oneOrList([...subjects].sort()) };
  if (audience) {
    conditions[`${issuer}:aud`] = 'sts.amazonaws.com';
  }
  return { Action: IRSA_ACTION, Condition: { StringEquals: conditions }, Effect: 'Allow', Principal: { Federated: providerArn } };
}

/** A service account on a cluster that assumes a role through Pod Identity. */
export interface PodIdentityUse {
  readonly clusterArn: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** What a Pod Identity statement pins besides the account: the namespace and service accounts, the clusters. */
export interface PodIdentityPins {
  readonly serviceAccounts: boolean;
  readonly clusters: boolean;
}

/**
 * One Pod Identity statement's pins: it admits every (cluster, namespace, service account) of its
 * lists (a list left out is not pinned).
 */
export interface PodIdentityGroup {
  readonly namespace?: string;
  readonly serviceAccounts?: string[];
  readonly clusters?: string[];
}

/**
 * The one rule that groups a role's Pod Identity uses into statements, for the migration's planner
 * and DualTrustRole alike: one statement per namespace (when service accounts are pinned), and in
 * it the clusters (when pinned) that use the same service accounts, so that the pins admit no pair
 * that `uses` lacks. `sorted`: namespaces, groups, clusters and service accounts in sorted order
 * (the planner's); otherwise in the order first used (DualTrustRole's, whose cluster ARNs may be
 * tokens). Which uses share a statement does not depend on the order.
 */
export function podIdentityGroups(uses: Iterable<PodIdentityUse>, pins: PodIdentityPins, sorted: boolean): PodIdentityGroup[] {
  const byNamespace = new Map<string, Map<string, Set<string>>>();
  for (const u of uses) {
    const namespace = pins.serviceAccounts ? u.namespace : '';
    const clusters = byNamespace.get(namespace) ?? new Map<string, Set<string>>();
    const cluster = pins.clusters ? u.clusterArn : '';
    const sas = clusters.get(cluster) ?? new Set<string>();
    sas.add(u.serviceAccount);
    clusters.set(cluster, sas);
    byNamespace.set(namespace, clusters);
  }
  const inOrder = (values: Iterable<string>) => (sorted ? [...values].sort() : [...values]);
  const groups: PodIdentityGroup[] = [];
  for (const namespace of inOrder(byNamespace.keys())) {
    const bySet = new Map<string, { sas: string[]; clusters: string[] }>();
    for (const [clusterArn, sas] of byNamespace.get(namespace)!) {
      // clusters share a statement when their service accounts are the same set
      const key = pins.serviceAccounts ? [...sas].sort().join(',') : '';
      const group = bySet.get(key) ?? { sas: inOrder(sas), clusters: [] };
      group.clusters.push(clusterArn);
      bySet.set(key, group);
    }
    for (const key of inOrder(bySet.keys())) {
      const { sas, clusters } = bySet.get(key)!;
      groups.push({
        namespace: pins.serviceAccounts ? namespace : undefined,
        serviceAccounts: pins.serviceAccounts ? sas : undefined,
        clusters: pins.clusters ? inOrder(clusters) : undefined,
      });
    }
  }
  return groups;
}

/**
 * The Pod Identity statements of a role: `sts:AssumeRole` and `sts:TagSession` from pods.eks,
 * pinned to the account and, per namespace, to exactly the service accounts and clusters that use
 * it (`podIdentityGroups`, in sorted order).
 */
export function podIdentityStatementsJson(account: string, uses: Iterable<PodIdentityUse>): any[] {
  return podIdentityGroups(uses, { serviceAccounts: true, clusters: true }, true).map((g) => ({
    Action: [...POD_IDENTITY_ACTIONS],
    Condition: {
      StringEquals: {
        'aws:SourceAccount': account,
        [REQUEST_TAG.CLUSTER_ARN]: oneOrList(g.clusters!),
        [REQUEST_TAG.NAMESPACE]: g.namespace,
        [REQUEST_TAG.SERVICE_ACCOUNT]: oneOrList(g.serviceAccounts!),
      },
    },
    Effect: 'Allow',
    Principal: { Service: POD_IDENTITY_PRINCIPAL },
  }));
}

/**
 * A chain target's trust statement as AWS documents it: the association role's account as
 * principal, `aws:PrincipalArn` = the association role (which need not exist yet), both actions,
 * pinned to the namespace and service accounts when `pin` is given.
 */
export function chainTargetStatementJson(associationRoleArn: string, accountRoot: string,
  pin?: { namespace: string; serviceAccounts: Iterable<string> }): any {
  const conditions: { [op: string]: unknown } = { ArnEquals: { 'aws:PrincipalArn': associationRoleArn } };
  if (pin) {
    conditions.StringEquals = {
      [REQUEST_TAG.NAMESPACE]: pin.namespace,
      [REQUEST_TAG.SERVICE_ACCOUNT]: oneOrList([...pin.serviceAccounts].sort()),
    };
  }
  return { Action: [...POD_IDENTITY_ACTIONS], Condition: conditions, Effect: 'Allow', Principal: { AWS: accountRoot } };
}

// ---------------------------------------------------------------------------------------------
// matching a policy as IAM returns or a template holds it

/** The statements of a policy document (IAM allows a single statement object). */
export function statementsOf(document: any): any[] {
  const list = document?.Statement;
  return Array.isArray(list) ? list : list ? [list] : [];
}

/** A value IAM allows as one or a list, as a list. */
export function listed(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Whether a statement's actions include `action` (exactly, `<service>:*` or `*`). */
export function allowsAction(statement: any, action: string): boolean {
  const [service] = action.split(':');
  return listed(statement.Action).some((a) => a === '*' || a === action || a === `${service}:*`);
}

/** Whether an Allow statement lets the OIDC provider `providerArn` of `issuer` in for the service account's token. */
export function admitsIrsaSubject(statement: any, providerArn: string, issuer: string, namespace: string, serviceAccount: string): boolean {
  const key = `${issuer}:sub`;
  const subjects = [...listed(statement.Condition?.StringEquals?.[key]), ...listed(statement.Condition?.StringLike?.[key])];
  return statement.Effect === 'Allow' && listed(statement.Principal?.Federated).includes(providerArn) && subjects.includes(irsaSubject(namespace, serviceAccount));
}

/** Whether an Allow statement lets pods.eks in for the service account (on the cluster, where it pins clusters). */
export function admitsPodIdentity(statement: any, use: PodIdentityUse): boolean {
  if (statement.Effect !== 'Allow' || !listed(statement.Principal?.Service).includes(POD_IDENTITY_PRINCIPAL)) {
    return false;
  }
  const eq = statement.Condition?.StringEquals ?? {};
  return listed(eq[REQUEST_TAG.NAMESPACE]).includes(use.namespace)
    && listed(eq[REQUEST_TAG.SERVICE_ACCOUNT]).includes(use.serviceAccount)
    && (!(REQUEST_TAG.CLUSTER_ARN in eq) || listed(eq[REQUEST_TAG.CLUSTER_ARN]).includes(use.clusterArn));
}
