/**
 * What the migration changes that the clusters then stop showing, recorded in the placement file and
 * recalled at synthesis, so that collecting the fleet again changes nothing: the IRSA role of each
 * migrated service account and add-on (the annotation and `serviceAccountRoleArn` its phase removes),
 * and the clusters whose agent the foundation installs (they show it afterwards).
 */
import { FleetDesign } from './design';
import { PlacementRecord } from './placement';
import { AgentStatus } from '../../cluster-types';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { IrsaInventory } from '../irsa-inventory';

/** What the placement file records of the IRSA roles the migration's phases take off the cluster. */
export interface RecordedRoles {
  /** cluster ARN -> `namespace/serviceAccount` -> the IRSA role of each migrated service account. */
  readonly irsaRoles: { [clusterArn: string]: { [serviceAccount: string]: string } };
  /** cluster ARN -> add-on name -> the `serviceAccountRoleArn` of each migrated add-on. */
  readonly addonRoles: { [clusterArn: string]: { [addon: string]: string } };
}

/**
 * The IRSA role of every service account and add-on in a wave. From ANNOTATION_REMOVED on, the
 * cluster no longer shows it (no `eks.amazonaws.com/role-arn` annotation, no
 * `serviceAccountRoleArn`), so an inventory collected then would lose them: the record keeps them.
 */
export function rolesToRecord(fleet: FleetDesign): RecordedRoles {
  const irsaRoles: RecordedRoles['irsaRoles'] = {};
  for (const p of fleet.assignments) {
    (irsaRoles[p.cluster.clusterArn] ??= {})[`${p.sa.namespace}/${p.sa.serviceAccount}`] = p.sa.roleArn;
  }
  const addonRoles: RecordedRoles['addonRoles'] = {};
  for (const a of fleet.addons) {
    if (a.wave !== undefined) {
      (addonRoles[a.cluster.clusterArn] ??= {})[a.addon.addonName] = a.roleArn;
    }
  }
  return { irsaRoles, addonRoles };
}

/**
 * The inventory with what the record keeps recalled: each recorded service account that the
 * inventory holds without its role annotation, and each recorded add-on without its
 * `serviceAccountRoleArn`, get their recorded role back (`IrsaInventory._recall`). A cluster the
 * migration does not list is left out (planning names it).
 */
export function recallRoles(inventory: IrsaInventory, record: PlacementRecord | undefined, clusters: readonly PodIdentityCluster[],
  source: string): IrsaInventory {
  if (record?.irsaRoles === undefined && record?.addonRoles === undefined) {
    return inventory;
  }
  const names = new Map<string, string>();
  for (const c of clusters) {
    if (c.clusterArn !== undefined) {
      names.set(c.clusterArn, c.clusterName);
    }
  }
  const byName = <T>(map: { [clusterArn: string]: T } | undefined): { [cluster: string]: T } => {
    const out: { [cluster: string]: T } = {};
    for (const [arn, members] of Object.entries(map ?? {})) {
      const name = names.get(arn);
      if (name !== undefined) {
        out[name] = members;
      }
    }
    return out;
  };
  return inventory._recall(byName(record.irsaRoles), byName(record.addonRoles), source);
}

/**
 * The clusters with the agent status the migration gave them: a cluster whose agent add-on the
 * record says the migration's foundation installs, and that now shows the agent (`PRE_INSTALLED`,
 * as `collect` reads a cluster with the add-on), is still the foundation's: its stack keeps the
 * add-on, and nothing changes. With `installAgents: false` the foundation hands the agents over.
 */
export function recallFoundation(clusters: PodIdentityCluster[], record: PlacementRecord | undefined,
  installAgents: boolean | undefined): PodIdentityCluster[] {
  const recorded = record?.foundation;
  if (recorded === undefined || installAgents === false) {
    return clusters;
  }
  return clusters.map((c) => (recorded[c.clusterArn] !== undefined && c.agentStatus === AgentStatus.PRE_INSTALLED && c.supportsPodIdentity
    ? c._withAgentStatus(AgentStatus.NOT_INSTALLED) : c));
}

/** The clusters whose agent add-on the foundation installs, to record (none: nothing to record). */
export function foundationToRecord(clusters: readonly PodIdentityCluster[],
  installAgents: boolean | undefined): { foundation?: { [clusterArn: string]: string } } {
  const installs = installAgents === false ? [] : clusters.filter((c) => c.needsAgentAddon);
  return installs.length === 0 ? {} : { foundation: Object.fromEntries(installs.map((c) => [c.clusterArn, c.clusterName])) };
}
