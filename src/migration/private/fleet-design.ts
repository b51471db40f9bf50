import { PlanningError } from './phase-state';
import { adoptedPermissions, consolidatedPermissions, declaredFor, withStatementsAsJson } from './role-permissions';
import { MigrationPhase } from '../../migration-phase';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { hasIrsaTrust, hasPodIdentityTrust } from '../../private/phases';
import { policySize } from '../../private/policy-size';
import { DEFAULT_TRUST_POLICY_MAX_LENGTH } from '../../private/trust';
import { InventoryAddon, IrsaServiceAccount, ParsedRoleArn } from '../inventory-types';
import { IrsaInventory } from '../irsa-inventory';
import { CollectedRole, MigrationPlan, MigrationRolePlan, ServiceAccountSelector } from '../plan';
import { addonOwners, Owner, planAddons } from './addon-plan';
import { FleetInputs, FleetDesign, LeftOnIrsa, PlannedAssignment, PlannedRole } from './design';
import { RoleDraft, trustOf, Use } from './role-trust';
import { roleArnAccount } from '../../private/arns';

/** Decides the migration: assignment to waves, every role's trust and permissions. */
export function designFleet(inputs: FleetInputs): FleetDesign {
  const clusters = new Map<string, PodIdentityCluster>();
  for (const cluster of inputs.clusters) {
    clusters.set(cluster.clusterName, cluster);
  }
  const plan = withStatementsAsJson(inputs.plan);
  checkRoleKeys(plan);
  const drafts = new RoleDrafts(plan, inputs.collectedRoles);
  const owners = addonOwners(inputs.inventory, clusters);
  const { assignments, excluded, unassigned } = assign(inputs, plan, clusters, owners, drafts);
  keepIrsaUsers([...excluded.map((e) => e.sa), ...unassigned], drafts, clusters);
  const addons = planAddons(owners, assignments, inputs.inventory);
  consolidate(plan, assignments, drafts);
  checkAccounts(plan, drafts.all, clusters);
  const roles = new Map<string, PlannedRole>();
  for (const arn of [...drafts.all.keys()].sort()) {
    roles.set(arn, finish(drafts.all.get(arn)!, inputs.trustPolicyMaxLengthByAccount ?? {}));
  }
  return { assignments, excluded, unassigned, addons, roles, clusters };
}

/** A plan `roles` key that is an ARN and an entry's `account` must agree. */
function checkRoleKeys(plan: MigrationPlan): void {
  for (const [key, entry] of Object.entries(plan.roles ?? {})) {
    const fromArn = roleArnAccount(key);
    if (fromArn !== undefined && entry?.account !== undefined && entry.account !== fromArn) {
      throw new PlanningError(`plan roles[${JSON.stringify(key)}] names account ${entry.account}, but its ARN is in ${fromArn}: remove "account" or correct the ARN.`);
    }
  }
}

/** The roles of the migration as planning gathers them, by ARN in the order first used, and what each adopted role may do. */
class RoleDrafts {
  readonly all = new Map<string, RoleDraft>();
  private readonly collected: Map<string, CollectedRole>;
  private readonly resolved = new Map<string, MigrationRolePlan>();

  constructor(private readonly plan: MigrationPlan, private readonly collectedRoles?: CollectedRole[]) {
    this.collected = new Map((collectedRoles ?? []).map((r) => [r.arn, r]));
  }

  /** The role's draft, made on first use; a role used in two ways fails. */
  draft(parsed: ParsedRoleArn, kind: RoleDraft['kind'], adopted: boolean, permissions: MigrationRolePlan, description?: string): RoleDraft {
    let d = this.all.get(parsed.arn);
    if (!d) {
      if (permissions.account !== undefined && permissions.account !== parsed.account) {
        throw new PlanningError(`the plan puts role ${JSON.stringify(parsed.roleName)} in account ${permissions.account}, but the inventory has it in ${parsed.account} (${parsed.arn}).`);
      }
      d = { parsed, kind, adopted, description, permissions, irsa: [], pod: [], chainFrom: [], chainsTo: new Set(), waves: new Set() };
      this.all.set(parsed.arn, d);
    } else if (d.kind !== kind) {
      throw new PlanningError(`role ${parsed.arn} is used in two ways (${describeKind(d.kind)} and ${describeKind(kind)}); give each use a role of its own in the plan.`);
    }
    return d;
  }

  /** What an adopted role may do: declared in the plan (checked against IAM when collected), or collected. */
  adopted(parsed: ParsedRoleArn): MigrationRolePlan {
    let permissions = this.resolved.get(parsed.arn);
    if (!permissions) {
      permissions = adoptedPermissions(this.plan, parsed, this.collected.get(parsed.arn), this.collectedRoles !== undefined);
      this.resolved.set(parsed.arn, permissions);
    }
    return permissions;
  }
}

/** The first entry per service account, as a search of the list in order finds it. */
function firstBySa<T extends { namespace: string; serviceAccount: string }>(list: T[] | undefined): Map<string, T> {
  const index = new Map<string, T>();
  (list ?? []).forEach((e) => index.has(`${e.namespace}/${e.serviceAccount}`) || index.set(`${e.namespace}/${e.serviceAccount}`, e));
  return index;
}

/**
 * The assignment: each service account of the inventory excluded, in no wave, or placed in the first
 * wave that selects it, with the roles it uses drafted (consolidated, chained or as it is).
 */
function assign(inputs: FleetInputs, plan: MigrationPlan, clusters: Map<string, PodIdentityCluster>, owners: Map<IrsaServiceAccount, Owner>,
  drafts: RoleDrafts): { assignments: PlannedAssignment[]; excluded: LeftOnIrsa[]; unassigned: IrsaServiceAccount[] } {
  const excluded: LeftOnIrsa[] = [];
  const unassigned: IrsaServiceAccount[] = [];
  const assignments: PlannedAssignment[] = [];
  const consolidations = firstBySa(plan.consolidate);
  const chains = firstBySa(plan.crossAccount);
  for (const sa of inputs.inventory._entries()) {
    const cluster = clusters.get(sa.cluster);
    if (!cluster) {
      throw new PlanningError(`the inventory has ${sa.namespace}/${sa.serviceAccount} on cluster ${JSON.stringify(sa.cluster)}, which is not in clusters; add the cluster (name, ARN) or leave its output out of the inventory.`);
    }
    const exclusion = (plan.exclude ?? []).find((sel) => matches(sel, sa, cluster));
    if (exclusion) {
      excluded.push({ sa, reason: exclusion.reason ?? 'excluded by the plan' });
      continue;
    }
    const wave = plan.waves.find((w) => w.select.some((sel) => matches(sel, sa, cluster)));
    if (!wave) {
      unassigned.push(sa);
      continue;
    }
    const phase = inputs.phases.get(wave.name)!.phase;
    if (!cluster.supportsPodIdentity && hasPodIdentityTrust(phase)) {
      throw new PlanningError(`wave ${JSON.stringify(wave.name)} is at ${phase}, but it selects ${sa.namespace}/${sa.serviceAccount} on cluster ${JSON.stringify(cluster.clusterName)}, whose compute type ${cluster.computeType} does not support Pod Identity. Exclude it in the plan.`);
    }
    const use: Use = { cluster, namespace: sa.namespace, serviceAccount: sa.serviceAccount, phase, wave: wave.name };
    const consolidation = consolidations.get(`${sa.namespace}/${sa.serviceAccount}`);
    const chain = chains.get(`${sa.namespace}/${sa.serviceAccount}`);
    const addon = owners.get(sa)?.addon;
    if (addon && (consolidation || chain)) {
      throw new PlanningError(`${sa.namespace}/${sa.serviceAccount} on cluster ${JSON.stringify(cluster.clusterName)} belongs to add-on ${addon.addonName}, whose podIdentityAssociations name one role in the cluster's account, without a target role: it cannot be ${consolidation ? 'consolidated' : 'chained to another account'}. Remove it from plan ${consolidation ? 'consolidate' : 'crossAccount'}; the add-on keeps its role (${sa.roleArn}).`);
    }
    const seat = { sa, cluster, wave: wave.name, phase };
    assignments.push(consolidation ? assignConsolidated(seat, use, consolidation.roleName, drafts)
      : chain ? assignChained(seat, use, chain, plan, drafts)
        : assignDirect(seat, use, addon, drafts));
  }
  return { assignments, excluded, unassigned };
}

/** A service account with its cluster, wave and phase: what the placing functions seat. */
type Seat = Pick<PlannedAssignment, 'sa' | 'cluster' | 'wave' | 'phase'>;

/** Marks the draft as used by the wave. */
function usedBy(d: RoleDraft, wave: string): RoleDraft {
  d.waves.add(wave);
  return d;
}

/** Consolidated: the per-cluster role keeps serving IRSA until retired; the shared role serves Pod Identity. */
function assignConsolidated(seat: Seat, use: Use, roleName: string, drafts: RoleDrafts): PlannedAssignment {
  const { sa, wave } = seat;
  usedBy(drafts.draft(sa.role, 'irsa-only', true, drafts.adopted(sa.role)), wave).irsa.push(use);
  const shared = IrsaInventory.parseRoleArn(`arn:${sa.role.partition}:iam::${sa.role.account}:role/${roleName}`, `plan consolidate ${sa.namespace}/${sa.serviceAccount}`);
  const d = usedBy(drafts.draft(shared, 'created', false, { statements: [] },
    `shared Pod Identity role for ${sa.namespace}/${sa.serviceAccount} (consolidates the per-cluster IRSA roles)`), wave);
  d.pod.push(use);
  return { ...seat, associationRoleArn: shared.arn };
}

/** A plan crossAccount entry, as placing reads it. */
type Chain = { associationRoleName: string; targetRoleArn: string; namespace: string; serviceAccount: string };

/** Chained to a role of another account: an association role in the cluster's account, and the target role. */
function assignChained(seat: Seat, use: Use, chain: Chain, plan: MigrationPlan, drafts: RoleDrafts): PlannedAssignment {
  const { sa, cluster, wave } = seat;
  const target = IrsaInventory.parseRoleArn(chain.targetRoleArn, `plan crossAccount ${chain.namespace}/${chain.serviceAccount}`);
  const association = IrsaInventory.parseRoleArn(`arn:${sa.role.partition}:iam::${cluster.account}:role/${chain.associationRoleName}`,
    `plan crossAccount ${chain.namespace}/${chain.serviceAccount}`);
  let associationDraft: RoleDraft;
  if (sa.role.arn === association.arn) {
    // today's IRSA role becomes the association role: dual
    associationDraft = usedBy(drafts.draft(association, 'dual', true, drafts.adopted(association)), wave);
    associationDraft.irsa.push(use);
    associationDraft.pod.push(use);
  } else {
    associationDraft = usedBy(drafts.draft(association, 'created', false, { statements: [] }, `association role for ${sa.namespace}/${sa.serviceAccount}; chains to ${target.arn}`), wave);
    associationDraft.pod.push(use);
    if (sa.role.arn !== target.arn) {
      // today's IRSA role is no longer used by Pod Identity: it keeps its IRSA trust until retired
      usedBy(drafts.draft(sa.role, 'irsa-only', true, drafts.adopted(sa.role)), wave).irsa.push(use);
    }
  }
  associationDraft.chainsTo.add(target.arn);
  const declaredTarget = declaredFor(plan, target)?.permissions;
  const targetPlan = declaredTarget?.exists === false ? declaredTarget : drafts.adopted(target);
  const targetDraft = usedBy(drafts.draft(target, 'target', targetPlan.exists ?? true, targetPlan, `target of the Pod Identity chain from ${association.arn}`), wave);
  targetDraft.chainFrom.push({ associationRoleArn: association.arn, namespace: sa.namespace, serviceAccount: sa.serviceAccount });
  if (sa.role.arn === target.arn) {
    // the pods assume the target directly through IRSA today: the target is dual
    targetDraft.irsa.push(use);
  }
  return { ...seat, associationRoleArn: association.arn, targetRoleArn: target.arn };
}

/** As it is: today's IRSA role becomes dual (it must be in the cluster's account once Pod Identity trusts it). */
function assignDirect(seat: Seat, use: Use, addon: InventoryAddon | undefined, drafts: RoleDrafts): PlannedAssignment {
  const { sa, cluster, wave, phase } = seat;
  if (sa.role.account !== cluster.account && hasPodIdentityTrust(phase)) {
    throw new PlanningError(`${sa.namespace}/${sa.serviceAccount} on cluster ${JSON.stringify(cluster.clusterName)} uses role ${sa.role.arn} in account ${sa.role.account}, but Pod Identity needs the association role in the cluster's account ${cluster.account}. Add a crossAccount entry for it to the plan (an association role that chains to ${sa.role.roleName}).`);
  }
  const d = usedBy(drafts.draft(sa.role, 'dual', true, drafts.adopted(sa.role)), wave);
  d.irsa.push(use);
  d.pod.push(use);
  return { ...seat, associationRoleArn: sa.role.arn, addon };
}

/**
 * F20: a role's trust covers every user of it the plan leaves on IRSA (excluded, in no wave),
 * whatever the phase of the waves that migrate its other users.
 */
function keepIrsaUsers(left: IrsaServiceAccount[], drafts: RoleDrafts, clusters: Map<string, PodIdentityCluster>): void {
  for (const sa of left) {
    const d = drafts.all.get(sa.role.arn);
    if (d !== undefined && d.kind !== 'created') {
      const { namespace, serviceAccount } = sa;
      d.irsa.push({ cluster: clusters.get(sa.cluster)!, namespace, serviceAccount, phase: MigrationPhase.IRSA_ONLY });
    }
  }
}

/** A consolidated role takes the permissions its plan entry declares, or those every per-cluster role shares. */
function consolidate(plan: MigrationPlan, assignments: PlannedAssignment[], drafts: RoleDrafts): void {
  const usesOf = new Map<string, PlannedAssignment[]>();
  for (const p of assignments) {
    const list = usesOf.get(p.associationRoleArn) ?? [];
    list.push(p);
    usesOf.set(p.associationRoleArn, list);
  }
  for (const c of plan.consolidate ?? []) {
    for (const d of [...drafts.all.values()].filter((x) => x.kind === 'created' && x.parsed.roleName === c.roleName)) {
      const uses = usesOf.get(d.parsed.arn) ?? [];
      const merged = consolidatedPermissions(plan, c.roleName, `${c.namespace}/${c.serviceAccount}`, uses, (parsed) => drafts.adopted(parsed));
      drafts.all.set(d.parsed.arn, { ...d, permissions: merged });
    }
  }
}

function describeKind(kind: RoleDraft['kind']): string {
  switch (kind) {
    case 'dual': return 'a role its service accounts use through IRSA and Pod Identity';
    case 'created': return 'a new Pod Identity role';
    case 'irsa-only': return 'an IRSA role kept until retired';
    case 'target': return 'the target of a cross-account chain';
  }
}

/** The statements and trust of a role, from its uses. */
function finish(d: RoleDraft, maxByAccount: { [account: string]: number }): PlannedRole {
  const irsaUses = d.kind === 'irsa-only' ? d.irsa : d.irsa.filter((u) => hasIrsaTrust(u.phase));
  let podUses = d.pod.filter((u) => hasPodIdentityTrust(u.phase));
  if (podUses.length === 0 && d.kind === 'created') {
    // a new role has no IRSA users and no pod can use it before its association exists; a trust
    // policy cannot be empty, so it is pinned to the service accounts it is planned for
    podUses = d.pod;
  }
  const trust = trustOf(d, irsaUses, podUses);
  const trustLength = policySize(trust).length;
  // when every use is trusted now, the widest trust is this one (computed once: 3,400 roles in a fleet)
  const widest = irsaUses.length === d.irsa.length && podUses.length === d.pod.length;
  const widestTrust = widest ? trust : trustOf(d, d.irsa, d.pod);
  return {
    parsed: d.parsed,
    kind: d.kind,
    adopted: d.adopted,
    description: d.description,
    trust,
    trustLength,
    trustMax: d.permissions.trustPolicyMaxLength ?? maxByAccount[d.parsed.account] ?? DEFAULT_TRUST_POLICY_MAX_LENGTH,
    widestTrust,
    widestTrustLength: widest ? trustLength : policySize(widestTrust).length,
    statements: d.permissions.statements ?? [],
    managedPolicyArns: d.permissions.managedPolicyArns ?? [],
    chainsTo: [...d.chainsTo].sort(),
    waves: [...d.waves].sort(),
    irsaClusters: [...new Set(irsaUses.map((u) => u.cluster.clusterName))].sort(),
  };
}

/** Whether a selector (every field given) matches a service account. */
export function matches(selector: ServiceAccountSelector, sa: IrsaServiceAccount, cluster: PodIdentityCluster): boolean {
  return (selector.namespace === undefined || selector.namespace === sa.namespace)
    && (selector.region === undefined || selector.region === cluster.region)
    && (selector.namespacePrefix === undefined || sa.namespace.startsWith(selector.namespacePrefix))
    && (selector.serviceAccount === undefined || selector.serviceAccount === sa.serviceAccount)
    && (selector.cluster === undefined || selector.cluster === sa.cluster);
}

/**
 * Every role of the migration is in an account the fleet declares: a cluster's, a cross-account
 * target's, or one a plan `roles` entry names (`account`, or the account of an ARN key). A role ARN
 * one digit off would otherwise put a role stack in an account nobody runs, and record it.
 */
function checkAccounts(plan: MigrationPlan, drafts: Map<string, RoleDraft>, clusters: Map<string, PodIdentityCluster>): void {
  const declared = new Set<string>();
  clusters.forEach((c) => c.account !== undefined && declared.add(c.account));
  (plan.crossAccount ?? []).forEach((c) => {
    const account = roleArnAccount(c.targetRoleArn);
    if (account) {
      declared.add(account);
    }
  });
  for (const [key, entry] of Object.entries(plan.roles ?? {})) {
    [roleArnAccount(key), entry?.account].forEach((a) => a !== undefined && declared.add(a));
  }
  for (const d of drafts.values()) {
    if (!declared.has(d.parsed.account)) {
      const users = [...d.irsa, ...d.pod].map((u) => `${u.namespace}/${u.serviceAccount} on ${u.cluster.clusterName}`);
      const who = users.length > 0 ? ` (used by ${[...new Set(users)].slice(0, 3).join(', ')}${users.length > 3 ? ', ...' : ''})` : '';
      throw new PlanningError(`role ${d.parsed.arn}${who} is in account ${d.parsed.account}, which no cluster, crossAccount target or plan roles entry declares `
        + `(the declared accounts are ${[...declared].sort().join(', ')}). Correct the role ARN in the inventory if it is a typo; `
        + `if the role does live in that account, declare it: roles[${JSON.stringify(d.parsed.arn)}] with its permissions, or "account": "${d.parsed.account}" on its entry.`);
    }
  }
}
