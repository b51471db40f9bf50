/**
 * The platform team's CDK app in the acceptance suite: the migration of the fleet folder `collect`
 * wrote, with the plan and state the suite writes beside it (as examples/northwind/main.ts does).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationFiles, MigrationPhase, PodIdentityMigration } from '../../src';

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
