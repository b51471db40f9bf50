/**
 * The platform team's CDK apps in the acceptance suite: the migration of the fleet folder `collect`
 * wrote, with the plan and state the suite writes beside it (as examples/northwind/main.ts does);
 * and the one-cluster apps of the other suites, from an inventory read with kubectl.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { BedCluster, CDK, kubectl } from './bed';
import { IrsaInventory, MigrationFiles, MigrationPhase, MigrationPlan, MigrationState, PodIdentityMigration } from '../../src';

export const WAVE = 'shop';

/** The plan: one wave with the namespaces of the fleet (roles take their permissions from roles.json). */
export function writePlan(fleet: string): void {
  fs.writeFileSync(path.join(fleet, 'plan.json'), JSON.stringify({
    waves: [{ name: WAVE, select: [{ namespace: 'payments' }, { namespace: 'monitoring' }, { namespace: 'web' }, { namespace: 'batch' }] }],
  }, null, 2));
}

/** Records the wave's history in the state file (each entry one deploy). */
export function writeState(fleet: string, history: MigrationPhase[]): void {
  fs.writeFileSync(path.join(fleet, 'state.json'), JSON.stringify({ waves: { [WAVE]: history } }, null, 2));
}

/** Synthesizes the app from the fleet folder; returns the cloud assembly folder. */
export function synth(fleet: string): string {
  const read = (file: string) => fs.readFileSync(path.join(fleet, file), 'utf8');
  const clusters = MigrationFiles.clustersFromJson(read('clusters.json'), 'clusters.json');
  const inventory = new IrsaInventory();
  for (const c of clusters) {
    inventory.addServiceAccountsFile(c.clusterName, path.join(fleet, 'serviceaccounts', `${c.clusterName}.json`));
    inventory.addWorkloadsFile(c.clusterName, path.join(fleet, 'workloads', `${c.clusterName}.json`));
  }
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bed-assembly-'));
  const app = new App({ outdir, analyticsReporting: false });
  new PodIdentityMigration(app, 'Shop', {
    clusters,
    inventory,
    plan: MigrationFiles.planFromJson(read('plan.json'), 'plan.json'),
    state: MigrationFiles.stateFromJson(read('state.json'), 'state.json'),
    collectedRoles: MigrationFiles.collectedRolesFromJson(read('roles.json'), 'roles.json'),
    placementFile: path.join(fleet, 'placement.json'),
    homeRegion: 'us-east-1',
  });
  app.synth();
  return outdir;
}

/** A cluster's ServiceAccounts and workloads as kubectl lists them (what `collect` writes for it). */
export interface Inventory {
  readonly serviceAccounts: string;
  readonly workloads: string;
}

export function readInventory(c: BedCluster): Inventory {
  return {
    serviceAccounts: kubectl(c.name, ['get', 'serviceaccounts', '-A', '-o', 'json']),
    workloads: kubectl(c.name, ['get', 'deployments,statefulsets,daemonsets,cronjobs,jobs,pods', '-A', '-o', 'json']),
  };
}

export interface OneClusterApp {
  /** the construct id, also the stack prefix (so apps in one account do not share stacks) */
  readonly id: string;
  readonly cluster: BedCluster;
  readonly inventory: Inventory;
  readonly plan: MigrationPlan;
  readonly state: MigrationState;
  readonly placementFile: string;
  /** what collect would have found of the cluster's agent (default PRE_INSTALLED) */
  readonly podIdentityAgent?: 'PRE_INSTALLED' | 'NOT_INSTALLED' | 'AUTO_MODE';
  /** what collect would have found of the cluster's compute (default EC2) */
  readonly computeType?: 'EC2' | 'AUTO_MODE' | 'HYBRID_NODES';
  /** managed add-ons, as `aws eks describe-addon` and `aws eks describe-addon-configuration` print them */
  readonly addons?: { readonly addon: string; readonly configuration: string }[];
}

/** Synthesizes the migration of one bed cluster; returns the cloud assembly folder. */
export function synthOneCluster(o: OneClusterApp): string {
  const c = o.cluster;
  const issuer = c.issuer.replace('https://', '');
  const inventory = new IrsaInventory();
  inventory.addServiceAccountsJson(c.name, o.inventory.serviceAccounts);
  inventory.addWorkloadsJson(c.name, o.inventory.workloads);
  for (const a of o.addons ?? []) {
    inventory.addAddonsJson(c.name, a.addon, 'describe-addon');
    inventory.addAddonConfigurationJson(a.configuration, 'describe-addon-configuration');
  }
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `bed-${o.id.toLowerCase()}-assembly-`));
  const app = new App({ outdir, analyticsReporting: false });
  new PodIdentityMigration(app, o.id, {
    clusters: MigrationFiles.clustersFromJson(JSON.stringify([{
      name: c.name,
      region: c.region,
      account: c.account,
      clusterArn: c.arn,
      oidcIssuer: issuer,
      oidcProviderArn: `arn:aws:iam::${c.account}:oidc-provider/${issuer}`,
      computeType: o.computeType ?? 'EC2',
      podIdentityAgent: o.podIdentityAgent ?? 'PRE_INSTALLED',
    }]), 'clusters'),
    inventory,
    stackPrefix: o.id,
    plan: o.plan,
    state: o.state,
    placementFile: o.placementFile,
    homeRegion: c.region,
  });
  app.synth();
  return outdir;
}

/**
 * `cdk import` (the test deployer) of the stacks whose resource mappings the assembly wrote
 * (import/<stack>.json), or of those named; returns the mappings imported, sorted.
 */
export function importStacks(assembly: string, mappings = fs.readdirSync(path.join(assembly, 'import')).sort()): string[] {
  for (const mapping of mappings) {
    const r = spawnSync(CDK, ['import', '--app', assembly, stackIdOf(assembly, mapping.replace(/\.json$/, '')),
      '--resource-mapping', path.join(assembly, 'import', mapping)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cdk import of ${mapping} failed: ${r.stderr}`);
  }
  return mappings;
}

/** The hierarchical id (what `cdk deploy` and `cdk import` select) of the stack of an assembly with this name. */
export function stackIdOf(assembly: string, stackName: string): string {
  const artifacts: { [id: string]: any } = JSON.parse(fs.readFileSync(path.join(assembly, 'manifest.json'), 'utf8')).artifacts;
  const found = Object.values(artifacts).find((a) => a.properties?.stackName === stackName);
  if (!found) throw new Error(`${assembly} has no stack named ${stackName}`);
  return found.displayName;
}
