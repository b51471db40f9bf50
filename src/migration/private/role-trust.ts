import { Token } from 'aws-cdk-lib';
import { PlanningError } from './phase-state';
import { MigrationPhase } from '../../migration-phase';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { oidcProviderInAccount } from '../../private/trust';
import { chainTargetStatementJson, irsaStatementJson, irsaSubject, podIdentityStatementsJson } from '../../private/trust-statements';
import { ParsedRoleArn } from '../inventory-types';
import { IrsaInventory } from '../irsa-inventory';
import { MigrationRolePlan } from '../plan';

/*
 * A role's trust as the planner writes it, from the uses it gathered (its draft): one IRSA statement
 * per OIDC issuer, the Pod Identity statements (trust-statements.ts), or a chain target's statements.
 */

/** How a role is trusted by one service account of one placement. */
export interface Use {
  readonly cluster: PodIdentityCluster;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly phase: MigrationPhase;
  /** The wave of the placement; none for a service account the plan leaves on IRSA. */
  readonly wave?: string;
}

/** What the planner gathers for a role before writing its documents. */
export interface RoleDraft {
  readonly parsed: ParsedRoleArn;
  readonly kind: 'dual' | 'created' | 'irsa-only' | 'target';
  readonly adopted: boolean;
  readonly description?: string;
  readonly permissions: MigrationRolePlan;
  readonly irsa: Use[];
  readonly pod: Use[];
  readonly chainFrom: { readonly associationRoleArn: string; readonly namespace: string; readonly serviceAccount: string }[];
  readonly chainsTo: Set<string>;
  readonly waves: Set<string>;
}

/** The trust policy of a role whose IRSA and Pod Identity statements serve `irsaUses` and `podUses`. */
export function trustOf(d: RoleDraft, irsaUses: Use[], podUses: Use[]): any {
  const statements: any[] = [];
  statements.push(...irsaStatements(d, irsaUses));
  if (d.kind === 'target') {
    statements.push(...targetStatements(d));
  } else if (d.kind !== 'irsa-only') {
    const uses = podUses.map((u) => ({ clusterArn: u.cluster.clusterArn, namespace: u.namespace, serviceAccount: u.serviceAccount }));
    statements.push(...podIdentityStatementsJson(d.parsed.account, uses));
  }
  return { Statement: statements, Version: '2012-10-17' };
}

/** One `sts:AssumeRoleWithWebIdentity` statement per OIDC issuer, its subjects sorted. */
function irsaStatements(d: RoleDraft, uses: Use[]): any[] {
  const byIssuer = new Map<string, { providerArn: string; subjects: Set<string> }>();
  // each cluster's issuer and provider are checked once, at its first use
  const checked = new Set<PodIdentityCluster>();
  for (const u of uses) {
    const issuer = u.cluster.oidcIssuer;
    if (checked.has(u.cluster)) {
      byIssuer.get(issuer!)!.subjects.add(irsaSubject(u.namespace, u.serviceAccount));
      continue;
    }
    const providerArn = u.cluster.oidcProviderArn;
    if (issuer === undefined || providerArn === undefined) {
      throw new PlanningError(`cluster ${JSON.stringify(u.cluster.clusterName)} has no OIDC provider, but role ${d.parsed.arn} trusts ${u.namespace}/${u.serviceAccount} on it through IRSA: `
        + `${u.cluster._noOidcProvider ?? 'give the cluster its oidcIssuer or oidcProviderArn'}.`);
    }
    if (Token.isUnresolved(issuer) || Token.isUnresolved(providerArn)) {
      throw new PlanningError(`cluster ${JSON.stringify(u.cluster.clusterName)} has an OIDC issuer known only at deploy time; the migration plans trust policies at synthesis: reference the cluster with PodIdentityCluster.fromClusterAttributes and its oidcIssuer.`);
    }
    const principal = oidcProviderInAccount(providerArn, d.parsed.account);
    checked.add(u.cluster);
    const entry = byIssuer.get(issuer) ?? { providerArn: principal, subjects: new Set<string>() };
    entry.subjects.add(irsaSubject(u.namespace, u.serviceAccount));
    byIssuer.set(issuer, entry);
  }
  const audience = d.permissions.irsaAudienceCondition ?? true;
  return [...byIssuer].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([issuer, { providerArn, subjects }]) => irsaStatementJson(providerArn, issuer, subjects, audience));
}

/**
 * The trust of a chain's target role as AWS documents it: the association role's account as
 * principal, `aws:PrincipalArn` = the association role (which need not exist yet), with
 * `sts:AssumeRole` and `sts:TagSession`, optionally pinned to the namespace and service accounts.
 */
function targetStatements(d: RoleDraft): any[] {
  const pin = d.permissions.pinTargetTrust ?? true;
  const groups = new Map<string, { roleArn: string; namespace: string; sas: Set<string> }>();
  for (const c of d.chainFrom) {
    const key = `${c.associationRoleArn}|${pin ? c.namespace : ''}`;
    const g = groups.get(key) ?? { roleArn: c.associationRoleArn, namespace: c.namespace, sas: new Set<string>() };
    g.sas.add(c.serviceAccount);
    groups.set(key, g);
  }
  return [...groups.keys()].sort().map((key) => {
    const { roleArn, namespace, sas } = groups.get(key)!;
    const source = IrsaInventory.parseRoleArn(roleArn);
    return chainTargetStatementJson(roleArn, `arn:${source.partition}:iam::${source.account}:root`, pin ? { namespace, serviceAccounts: sas } : undefined);
  });
}

