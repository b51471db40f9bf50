import { PlannedAddon, PlannedAssignment } from './design';
import { PlanningError } from './phase-state';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { hasAssociation } from '../../private/phases';
import { InventoryAddon, IrsaServiceAccount } from '../inventory-types';
import { IrsaInventory } from '../irsa-inventory';

/*
 * The managed add-ons that use IRSA: which service accounts each owns, and how each moves with the
 * wave of its service accounts (through its own podIdentityAssociations).
 */

/** The add-on that owns a service account, and its cluster. */
export type Owner = { addon: InventoryAddon; cluster: PodIdentityCluster };

/** Each service account owned by an add-on that uses IRSA, with its add-on. */
export function addonOwners(inventory: IrsaInventory, clusters: Map<string, PodIdentityCluster>): Map<IrsaServiceAccount, Owner> {
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
export function planAddons(owners: Map<IrsaServiceAccount, Owner>, assignments: PlannedAssignment[], inventory: IrsaInventory): PlannedAddon[] {
  const placementOf = new Map<IrsaServiceAccount, PlannedAssignment>();
  assignments.filter((p) => p.addon !== undefined).forEach((p) => placementOf.set(p.sa, p));
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
