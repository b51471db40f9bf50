import { Token } from 'aws-cdk-lib';
import { WavePhase, PlanningError } from './phase-state';
import { MigrationPhase } from '../../migration-phase';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { POD_IDENTITY_PRINCIPAL, SESSION_TAGS } from '../../private/constants';
import { hasAssociation, hasIrsaAnnotation, hasIrsaTrust, hasPodIdentityTrust } from '../../private/phases';
import { policySize } from '../../private/policy-size';
import { DEFAULT_TRUST_POLICY_MAX_LENGTH, oidcProviderInAccount, oneOrList } from '../../private/trust';
import { InventoryAddon, IrsaInventory, IrsaServiceAccount, ParsedRoleArn } from '../irsa-inventory';
import { CollectedRole, MigrationPlan, MigrationRolePlan, ServiceAccountSelector } from '../plan';
import { inlineStatements, permissionDifferences } from './permission-diff';
import { roleArnAccount } from '../../private/arns';

/** One service account's place in the migration: its wave, its phase, the roles it gets. */
export interface PlannedPlacement {
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
  /** The waves whose placements use it. */
  readonly waves: string[];
  /** The clusters whose OIDC provider its trust names. */
  readonly irsaClusters: string[];
}

/** A service account the migration leaves on IRSA. */
export interface LeftOnIrsa {
  readonly sa: IrsaServiceAccount;
  readonly reason: string;
}

/** The whole migration, decided once from its inputs. */
export interface FleetPlan {
  readonly placements: PlannedPlacement[];
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

/** How a role is trusted by one service account of one placement. */
interface Use {
  readonly cluster: PodIdentityCluster;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly phase: MigrationPhase;
  /** The wave of the placement; none for a service account the plan leaves on IRSA. */
  readonly wave?: string;
}

/** What the planner gathers for a role before writing its documents. */
interface RoleDraft {
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

/** Decides the migration: assignment to waves, every role's trust and permissions. */
export function planFleet(inputs: FleetInputs): FleetPlan {
  const clusters = new Map<string, PodIdentityCluster>();
  for (const cluster of inputs.clusters) {
    clusters.set(cluster.clusterName, cluster);
  }
  const plan = withStatementsAsJson(inputs.plan);
  checkRoleKeys(plan);
  const drafts = new RoleDrafts(plan, inputs.collectedRoles);
  const owners = addonOwners(inputs.inventory, clusters);
  const { placements, excluded, unassigned } = assign(inputs, plan, clusters, owners, drafts);
  keepIrsaUsers([...excluded.map((e) => e.sa), ...unassigned], drafts, clusters);
  const addons = planAddons(owners, placements, inputs.inventory);
  consolidate(plan, placements, drafts);
  checkAccounts(plan, drafts.all, clusters);
  const roles = new Map<string, PlannedRole>();
  for (const arn of [...drafts.all.keys()].sort()) {
    roles.set(arn, finish(drafts.all.get(arn)!, inputs.trustPolicyMaxLengthByAccount ?? {}));
  }
  return { placements, excluded, unassigned, addons, roles, clusters };
}

/** A plan `roles` key that is an ARN and an entry's `account` must agree. */
function checkRoleKeys(plan: MigrationPlan): void {
  for (const [key, entry] of Object.entries(plan.roles ?? {})) {
    const fromArn = accountOfRoleArn(key);
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
  drafts: RoleDrafts): { placements: PlannedPlacement[]; excluded: LeftOnIrsa[]; unassigned: IrsaServiceAccount[] } {
  const excluded: LeftOnIrsa[] = [];
  const unassigned: IrsaServiceAccount[] = [];
  const placements: PlannedPlacement[] = [];
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
    const place = { sa, cluster, wave: wave.name, phase };
    placements.push(consolidation ? placeConsolidated(place, use, consolidation.roleName, drafts)
      : chain ? placeChained(place, use, chain, plan, drafts)
        : placeDirect(place, use, addon, drafts));
  }
  return { placements, excluded, unassigned };
}

/** A service account with its cluster, wave and phase: what the placing functions place. */
type Place = Pick<PlannedPlacement, 'sa' | 'cluster' | 'wave' | 'phase'>;

/** Marks the draft as used by the wave. */
function usedBy(d: RoleDraft, wave: string): RoleDraft {
  d.waves.add(wave);
  return d;
}

/** Consolidated: the per-cluster role keeps serving IRSA until retired; the shared role serves Pod Identity. */
function placeConsolidated(place: Place, use: Use, roleName: string, drafts: RoleDrafts): PlannedPlacement {
  const { sa, wave } = place;
  usedBy(drafts.draft(sa.role, 'irsa-only', true, drafts.adopted(sa.role)), wave).irsa.push(use);
  const shared = IrsaInventory.parseRoleArn(`arn:${sa.role.partition}:iam::${sa.role.account}:role/${roleName}`, `plan consolidate ${sa.namespace}/${sa.serviceAccount}`);
  const d = usedBy(drafts.draft(shared, 'created', false, { statements: [] },
    `shared Pod Identity role for ${sa.namespace}/${sa.serviceAccount} (consolidates the per-cluster IRSA roles)`), wave);
  d.pod.push(use);
  return { ...place, associationRoleArn: shared.arn };
}

/** A plan crossAccount entry, as placing reads it. */
type Chain = { associationRoleName: string; targetRoleArn: string; namespace: string; serviceAccount: string };

/** Chained to a role of another account: an association role in the cluster's account, and the target role. */
function placeChained(place: Place, use: Use, chain: Chain, plan: MigrationPlan, drafts: RoleDrafts): PlannedPlacement {
  const { sa, cluster, wave } = place;
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
  return { ...place, associationRoleArn: association.arn, targetRoleArn: target.arn };
}

/** As it is: today's IRSA role becomes dual (it must be in the cluster's account once Pod Identity trusts it). */
function placeDirect(place: Place, use: Use, addon: InventoryAddon | undefined, drafts: RoleDrafts): PlannedPlacement {
  const { sa, cluster, wave, phase } = place;
  if (sa.role.account !== cluster.account && hasPodIdentityTrust(phase)) {
    throw new PlanningError(`${sa.namespace}/${sa.serviceAccount} on cluster ${JSON.stringify(cluster.clusterName)} uses role ${sa.role.arn} in account ${sa.role.account}, but Pod Identity needs the association role in the cluster's account ${cluster.account}. Add a crossAccount entry for it to the plan (an association role that chains to ${sa.role.roleName}).`);
  }
  const d = usedBy(drafts.draft(sa.role, 'dual', true, drafts.adopted(sa.role)), wave);
  d.irsa.push(use);
  d.pod.push(use);
  return { ...place, associationRoleArn: sa.role.arn, addon };
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
function consolidate(plan: MigrationPlan, placements: PlannedPlacement[], drafts: RoleDrafts): void {
  const usesOf = new Map<string, PlannedPlacement[]>();
  for (const p of placements) {
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

/** The add-on that owns a service account, and its cluster. */
type Owner = { addon: InventoryAddon; cluster: PodIdentityCluster };

/** Each service account owned by an add-on that uses IRSA, with its add-on. */
function addonOwners(inventory: IrsaInventory, clusters: Map<string, PodIdentityCluster>): Map<IrsaServiceAccount, Owner> {
  const owners = new Map<IrsaServiceAccount, Owner>();
  const addons = inventory.addons.filter((a) => a.serviceAccountRoleArn !== undefined);
  if (addons.length === 0) {
    return owners;
  }
  const byCluster = new Map<string, IrsaServiceAccount[]>();
  for (const sa of inventory._entries()) {
    (byCluster.get(sa.cluster) ?? byCluster.set(sa.cluster, []).get(sa.cluster)!).push(sa);
  }
  for (const addon of addons) {
    const cluster = clusters.get(addon.cluster);
    if (!cluster) {
      throw new PlanningError(`the inventory has add-on ${addon.addonName} on cluster ${JSON.stringify(addon.cluster)} (${addon.source}), which is not in clusters; add the cluster or leave its add-ons out of the inventory.`);
    }
    if (addon.podIdentityAssociations.length > 0) {
      // the phases set the add-on's associations from none (before POD_IDENTITY) to its own: adopting would remove these
      throw new PlanningError(`add-on ${addon.addonName} on cluster ${JSON.stringify(addon.cluster)} has a serviceAccountRoleArn and already ${addon.podIdentityAssociations.length} podIdentityAssociations (${addon.podIdentityAssociations.join(', ')}); `
        + 'the migration sets them from its phases and would remove these. Remove them (aws eks update-addon --pod-identity-associations \'[]\') or the serviceAccountRoleArn, and record describe-addon again.');
    }
    const config = inventory.addonConfiguration(addon.addonName, addon.addonVersion);
    const named = config && config.podIdentityServiceAccounts.length > 0 ? config.podIdentityServiceAccounts : undefined;
    const owned = (byCluster.get(addon.cluster) ?? []).filter((sa) => sa.roleArn === addon.serviceAccountRoleArn
      && (addon.namespace === undefined || sa.namespace === addon.namespace)
      && (named === undefined || named.includes(sa.serviceAccount)));
    if (owned.length === 0) {
      throw new PlanningError(`add-on ${addon.addonName} on cluster ${JSON.stringify(addon.cluster)} uses role ${addon.serviceAccountRoleArn} through IRSA (serviceAccountRoleArn), but no service account of the cluster's inventory carries it`
        + `${named ? ` among ${named.join(', ')}` : ''}: add the cluster's kubectl get serviceaccounts -A -o json output, or describe-addon output that is current.`);
    }
    for (const sa of owned) {
      const other = owners.get(sa);
      if (other) {
        throw new PlanningError(`${sa.namespace}/${sa.serviceAccount} on cluster ${JSON.stringify(addon.cluster)} carries the serviceAccountRoleArn of two add-ons, ${other.addon.addonName} and ${addon.addonName}; give each add-on a role of its own.`);
      }
      owners.set(sa, { addon, cluster });
    }
  }
  return owners;
}

/**
 * The add-ons that use IRSA, with the wave of their service accounts: one wave for all of them
 * (they share the add-on's one serviceAccountRoleArn), and from POD_IDENTITY on only where the
 * recorded describe-addon-configuration of the add-on's version lists each of them.
 */
function planAddons(owners: Map<IrsaServiceAccount, Owner>, placements: PlannedPlacement[], inventory: IrsaInventory): PlannedAddon[] {
  const placementOf = new Map<IrsaServiceAccount, PlannedPlacement>();
  placements.filter((p) => p.addon !== undefined).forEach((p) => placementOf.set(p.sa, p));
  const grouped = new Map<InventoryAddon, { cluster: PodIdentityCluster; sas: IrsaServiceAccount[] }>();
  for (const [sa, { addon, cluster }] of owners) {
    (grouped.get(addon) ?? grouped.set(addon, { cluster, sas: [] }).get(addon)!).sas.push(sa);
  }
  const result: PlannedAddon[] = [];
  for (const [addon, { cluster, sas }] of grouped) {
    sas.sort((a, b) => `${a.namespace}/${a.serviceAccount}`.localeCompare(`${b.namespace}/${b.serviceAccount}`));
    const waves = [...new Set(sas.map((sa) => placementOf.get(sa)?.wave ?? '(none)'))];
    if (waves.length > 1) {
      const where = sas.map((sa) => `${sa.namespace}/${sa.serviceAccount} in ${placementOf.get(sa) ? `wave ${placementOf.get(sa)!.wave}` : 'no wave (excluded or unselected)'}`);
      throw new PlanningError(`add-on ${addon.addonName} on cluster ${JSON.stringify(addon.cluster)} has one serviceAccountRoleArn for all its service accounts, but the plan splits them: ${where.join(', ')}. Select them in one wave.`);
    }
    const first = placementOf.get(sas[0]);
    if (first && hasAssociation(first.phase)) {
      const config = inventory.addonConfiguration(addon.addonName, addon.addonVersion);
      const fix = `Record aws eks describe-addon-configuration --addon-name ${addon.addonName} --addon-version ${addon.addonVersion} --output json and add it to the inventory (addAddonConfigurationFile)`;
      if (!config) {
        throw new PlanningError(`wave ${JSON.stringify(first.wave)} is at ${first.phase}, which gives add-on ${addon.addonName} ${addon.addonVersion} on cluster ${JSON.stringify(addon.cluster)} podIdentityAssociations, but nothing recorded says this version supports Pod Identity. ${fix}; or keep the wave at DUAL_TRUST.`);
      }
      const missing = sas.filter((sa) => !config.podIdentityServiceAccounts.includes(sa.serviceAccount));
      if (missing.length > 0) {
        const supported = config.podIdentityServiceAccounts.length === 0 ? 'no service account: this version does not support Pod Identity' : config.podIdentityServiceAccounts.join(', ');
        throw new PlanningError(`wave ${JSON.stringify(first.wave)} is at ${first.phase}, but add-on ${addon.addonName} ${addon.addonVersion} on cluster ${JSON.stringify(addon.cluster)} supports Pod Identity for ${supported} (${config.source}), not for ${missing.map((sa) => sa.serviceAccount).join(', ')}. `
          + 'Upgrade the add-on to a version whose describe-addon-configuration lists them (and record its describe-addon and describe-addon-configuration output), or keep the wave at DUAL_TRUST.');
      }
    }
    result.push({ addon, cluster, serviceAccounts: sas, wave: first?.wave, phase: first?.phase, roleArn: addon.serviceAccountRoleArn! });
  }
  return result.sort((a, b) => `${a.addon.cluster}|${a.addon.addonName}`.localeCompare(`${b.addon.cluster}|${b.addon.addonName}`));
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

/** The trust policy of a role whose IRSA and Pod Identity statements serve `irsaUses` and `podUses`. */
function trustOf(d: RoleDraft, irsaUses: Use[], podUses: Use[]): any {
  const statements: any[] = [];
  statements.push(...irsaStatements(d, irsaUses));
  if (d.kind === 'target') {
    statements.push(...targetStatements(d));
  } else if (d.kind !== 'irsa-only') {
    statements.push(...podIdentityStatements(d.parsed.account, podUses));
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
      byIssuer.get(issuer!)!.subjects.add(`system:serviceaccount:${u.namespace}:${u.serviceAccount}`);
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
    entry.subjects.add(`system:serviceaccount:${u.namespace}:${u.serviceAccount}`);
    byIssuer.set(issuer, entry);
  }
  const audience = d.permissions.irsaAudienceCondition ?? true;
  return [...byIssuer.keys()].sort().map((issuer) => {
    const { providerArn, subjects } = byIssuer.get(issuer)!;
    const conditions: { [key: string]: unknown } = { [`${issuer}:sub`]: oneOrList([...subjects].sort()) };
    if (audience) {
      conditions[`${issuer}:aud`] = 'sts.amazonaws.com';
    }
    return { Action: 'sts:AssumeRoleWithWebIdentity', Condition: { StringEquals: conditions }, Effect: 'Allow', Principal: { Federated: providerArn } };
  });
}

/**
 * The pods.eks statements: `sts:AssumeRole` and `sts:TagSession`, pinned to the account and, per
 * namespace, to exactly the service accounts and clusters that use the role (clusters with the
 * same service accounts share a statement, so the pins admit no pair the inventory lacks).
 */
export function podIdentityStatements(account: string, uses: { cluster: PodIdentityCluster; namespace: string; serviceAccount: string }[]): any[] {
  const byNamespace = new Map<string, Map<string, Set<string>>>();
  for (const u of uses) {
    const clusters = byNamespace.get(u.namespace) ?? new Map<string, Set<string>>();
    const sas = clusters.get(u.cluster.clusterArn) ?? new Set<string>();
    sas.add(u.serviceAccount);
    clusters.set(u.cluster.clusterArn, sas);
    byNamespace.set(u.namespace, clusters);
  }
  const statements: any[] = [];
  for (const namespace of [...byNamespace.keys()].sort()) {
    const bySet = new Map<string, { sas: string[]; clusters: string[] }>();
    for (const [clusterArn, sas] of byNamespace.get(namespace)!) {
      const list = [...sas].sort();
      const key = list.join(',');
      const group = bySet.get(key) ?? { sas: list, clusters: [] };
      group.clusters.push(clusterArn);
      bySet.set(key, group);
    }
    for (const key of [...bySet.keys()].sort()) {
      const { sas, clusters } = bySet.get(key)!;
      statements.push({
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            'aws:SourceAccount': account,
            [`aws:RequestTag/${SESSION_TAGS.CLUSTER_ARN}`]: oneOrList(clusters.sort()),
            [`aws:RequestTag/${SESSION_TAGS.NAMESPACE}`]: namespace,
            [`aws:RequestTag/${SESSION_TAGS.SERVICE_ACCOUNT}`]: oneOrList(sas),
          },
        },
        Effect: 'Allow',
        Principal: { Service: POD_IDENTITY_PRINCIPAL },
      });
    }
  }
  return statements;
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
    const conditions: { [op: string]: unknown } = { ArnEquals: { 'aws:PrincipalArn': roleArn } };
    if (pin) {
      conditions.StringEquals = {
        [`aws:RequestTag/${SESSION_TAGS.NAMESPACE}`]: namespace,
        [`aws:RequestTag/${SESSION_TAGS.SERVICE_ACCOUNT}`]: oneOrList([...sas].sort()),
      };
    }
    return {
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: conditions,
      Effect: 'Allow',
      Principal: { AWS: `arn:${source.partition}:iam::${source.account}:root` },
    };
  });
}

/** The plan's entry for a role, and its key (an exact name wins over the longest `*` pattern). */
export function declaredFor(plan: MigrationPlan, role: { readonly arn: string; readonly roleName: string }):
{ key: string; permissions: MigrationRolePlan } | undefined {
  const roles = plan.roles ?? {};
  if (roles[role.arn]) {
    return { key: role.arn, permissions: roles[role.arn] };
  }
  const roleName = role.roleName;
  if (roles[roleName]) {
    return { key: roleName, permissions: roles[roleName] };
  }
  const pattern = Object.keys(roles)
    .filter((k) => k.endsWith('*') && roleName.startsWith(k.slice(0, -1)))
    .sort((a, b) => b.length - a.length)[0];
  return pattern === undefined ? undefined : { key: pattern, permissions: roles[pattern] };
}

/**
 * What an existing role may do once adopted: the plan's entry, which must mean what IAM holds when
 * the role was collected; or, without an entry, what was collected.
 */
function adoptedPermissions(plan: MigrationPlan, role: ParsedRoleArn, collected: CollectedRole | undefined, collecting: boolean): MigrationRolePlan {
  const declared = declaredFor(plan, role);
  if (declared?.permissions.exists === false) {
    throw new PlanningError(`role ${role.arn}: the plan's roles[${JSON.stringify(declared.key)}] says "exists": false, but service accounts are annotated with it: `
      + 'an IRSA role exists today, and the migration adopts it (cdk import) rather than creating it. '
      + 'Remove "exists": false (it is for a role that does not exist yet, such as a new cross-account target).');
  }
  if (declared === undefined) {
    if (collected === undefined) {
      throw new PlanningError(`role ${JSON.stringify(role.roleName)} has no permissions in the plan${collecting ? ' and was not collected' : ''}. Adopting it would replace what it may do today with nothing: `
        + `declare roles[${JSON.stringify(role.roleName)}] with its statements and managedPolicyArns (what the role may do today), ${collecting ? 'collect it into roles.json, ' : ''}or exclude its service accounts.`);
    }
    return { account: role.account, statements: inlineStatements(collected.inlinePolicies), managedPolicyArns: [...collected.managedPolicyArns] };
  }
  if (collected !== undefined) {
    const diffs = permissionDifferences(
      { statements: declared.permissions.statements ?? [], managedPolicyArns: declared.permissions.managedPolicyArns ?? [] },
      { statements: inlineStatements(collected.inlinePolicies), managedPolicyArns: collected.managedPolicyArns });
    if (diffs.length > 0) {
      throw new PlanningError(`role ${role.arn}: the plan's roles[${JSON.stringify(declared.key)}] differs from what IAM holds (collected): ${diffs.join('; ')}. `
        + `Adopting the role as declared would change what it may do today: make roles[${JSON.stringify(declared.key)}] say what IAM holds${declared.key === role.roleName ? ', or remove it to take the collected permissions' : ''}.`);
    }
  }
  return declared.permissions;
}

/**
 * The permissions of a consolidated role: its own plan entry when declared; otherwise those of the
 * per-cluster roles, which must all be the same (taking one of several would drop permissions).
 */
function consolidatedPermissions(plan: MigrationPlan, roleName: string, serviceAccount: string, uses: PlannedPlacement[],
  adopted: (role: ParsedRoleArn) => MigrationRolePlan): MigrationRolePlan {
  if (plan.roles?.[roleName]) {
    return plan.roles[roleName];
  }
  const byShape = new Map<string, string[]>();
  let first: MigrationRolePlan | undefined;
  for (const p of uses) {
    const permissions = adopted(p.sa.role);
    first = first ?? permissions;
    const shape = JSON.stringify({ statements: permissions.statements ?? [], managedPolicyArns: [...(permissions.managedPolicyArns ?? [])].sort() });
    byShape.set(shape, [...(byShape.get(shape) ?? []), p.sa.role.roleName]);
  }
  if (byShape.size > 1) {
    const groups = [...byShape.values()].map((names) => [...new Set(names)].sort().join(', '));
    throw new PlanningError(`consolidating ${serviceAccount} into role ${JSON.stringify(roleName)}: the per-cluster roles have different permissions (${groups.map((g, i) => `${i + 1}: ${g}`).join('; ')}), and taking one set would drop the others. Declare roles[${JSON.stringify(roleName)}] with the permissions the shared role needs.`);
  }
  return { statements: first?.statements ?? [], managedPolicyArns: first?.managedPolicyArns ?? [] };
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
 * Who still uses a cluster's OIDC provider: roles whose trust names it, the service accounts the
 * migration leaves on IRSA there (excluded or in no wave), and add-ons that still have a
 * `serviceAccountRoleArn`.
 */
export function oidcProviderUsers(plan: FleetPlan, clusterName: string): string[] {
  const roles = [...plan.roles.entries()].filter(([, r]) => r.irsaClusters.includes(clusterName)).map(([arn]) => `role ${arn}`);
  const left = [
    ...plan.excluded.filter((e) => e.sa.cluster === clusterName).map((e) => `excluded ${e.sa.namespace}/${e.sa.serviceAccount} (${e.reason})`),
    ...plan.unassigned.filter((sa) => sa.cluster === clusterName).map((sa) => `${sa.namespace}/${sa.serviceAccount} (in no wave)`),
    ...plan.addons.filter((a) => a.addon.cluster === clusterName && (a.phase === undefined || hasIrsaAnnotation(a.phase)))
      .map((a) => `add-on ${a.addon.addonName} (serviceAccountRoleArn ${a.roleArn}${a.phase ? ` until ANNOTATION_REMOVED; wave ${a.wave} is at ${a.phase}` : ''})`),
  ];
  return [...roles, ...left];
}

/**
 * The plan with every role's `statements` as IAM JSON: an `iam.PolicyStatement` (what a TypeScript
 * or Python user writes first) becomes its JSON; anything else that is not a statement fails,
 * naming the role and the expected shape.
 */
function withStatementsAsJson(plan: MigrationPlan): MigrationPlan {
  if (plan.roles === undefined) {
    return plan;
  }
  const roles: { [name: string]: MigrationRolePlan } = {};
  for (const [name, entry] of Object.entries(plan.roles)) {
    if (entry?.statements === undefined) {
      roles[name] = entry;
      continue;
    }
    if (!Array.isArray(entry.statements)) {
      throw new PlanningError(`plan roles[${JSON.stringify(name)}].statements: expected a list of IAM policy statements; got ${describeValue(entry.statements)}.`);
    }
    const statements = entry.statements.map((s, i) => {
      if (s !== null && typeof s === 'object' && typeof s.toStatementJson === 'function') {
        return s.toStatementJson();
      }
      if (s === null || typeof s !== 'object' || Array.isArray(s) || (s.Action === undefined && s.NotAction === undefined)) {
        throw new PlanningError(`plan roles[${JSON.stringify(name)}].statements[${i}]: expected an IAM policy statement, as JSON `
          + `({ "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket/*"] }) or an iam.PolicyStatement; got ${describeValue(s)}.`);
      }
      return s;
    });
    roles[name] = { ...entry, statements };
  }
  return { ...plan, roles };
}

/** A value for a message: its JSON, cut short. */
function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
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
    const account = accountOfRoleArn(c.targetRoleArn);
    if (account) {
      declared.add(account);
    }
  });
  for (const [key, entry] of Object.entries(plan.roles ?? {})) {
    [accountOfRoleArn(key), entry?.account].forEach((a) => a !== undefined && declared.add(a));
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

/** The account of a role ARN (a plan `roles` key may be one); none for a name. */
function accountOfRoleArn(key: string): string | undefined {
  return roleArnAccount(key);
}
