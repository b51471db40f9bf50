/**
 * The benchmark's library app: the fleet folder read the way a user's app reads it
 * (MigrationFiles, IrsaInventory), one PodIdentityMigration, synthesized into `outdir`.
 *
 *   node .bench/library-app.js <fleet-folder> <outdir> <trust-quota>
 *
 * Prints one JSON line on exit: the process's peak resident memory and CPU time (user and system,
 * all threads) from getrusage, as /usr/bin/time reports them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationFiles, PodIdentityMigration } from '../lib';

const [fleet, outdir, quota] = process.argv.slice(2);
process.on('exit', () => {
  const usage = process.resourceUsage();
  console.log(JSON.stringify({ maxRssKb: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }));
});

const read = (file: string) => fs.readFileSync(path.join(fleet, file), 'utf8');
const clusters = MigrationFiles.clustersFromJson(read('clusters.json'), 'clusters.json');
const inventory = new IrsaInventory();
for (const cluster of clusters) {
  inventory.addServiceAccountsFile(cluster.clusterName, path.join(fleet, 'serviceaccounts', `${cluster.clusterName}.json`));
}
const app = new App({ outdir, analyticsReporting: false });
new PodIdentityMigration(app, 'Fleet', {
  clusters,
  inventory,
  plan: MigrationFiles.planFromJson(read('plan.json'), 'plan.json'),
  state: MigrationFiles.stateFromJson(read('state.json'), 'state.json'),
  placementFile: path.join(fleet, 'placement.json'),
  homeRegion: 'us-east-1',
  trustPolicyMaxLengthByAccount: { 111122223333: Number(quota) },
});
app.synth();
