/**
 * Scale benchmark for PodIdentityMigration: synthesizes generated fleets and prints, for each size,
 * the synth time as a ratio against the smallest fleet (the baseline, measured in the same run),
 * the number of stacks and the largest stack's resource count (sharding keeps it under 500).
 *
 *   npx ts-node --project tsconfig.dev.json bench/migration-scale.ts
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationPhase, PodIdentityCluster, PodIdentityMigration } from '../src';

interface Size { readonly clusters: number; readonly serviceAccounts: number }

const SIZES: Size[] = [
  { clusters: 11, serviceAccounts: 10 },
  { clusters: 25, serviceAccounts: 20 },
  { clusters: 50, serviceAccounts: 40 },
];
const RUNS = 3;

function fleet(size: Size) {
  const clusters: PodIdentityCluster[] = [];
  const inventory = new IrsaInventory();
  for (let c = 0; c < size.clusters; c++) {
    const name = `cluster-${String(c).padStart(3, '0')}`;
    const region = c % 2 === 0 ? 'us-east-1' : 'eu-west-1';
    clusters.push(PodIdentityCluster.fromClusterAttributes({
      clusterName: name,
      clusterArn: `arn:aws:eks:${region}:111122223333:cluster/${name}`,
      oidcIssuer: `oidc.eks.${region}.amazonaws.com/id/${String(c).padStart(32, '0')}`,
    }));
    for (let s = 0; s < size.serviceAccounts; s++) {
      inventory.addEntry({ cluster: name, namespace: `team-${s % 8}`, serviceAccount: `app-${s}`, roleArn: `arn:aws:iam::111122223333:role/app-${name}-${s}` });
    }
  }
  return { clusters, inventory };
}

function synth(size: Size): { ms: number; stacks: number; maxResources: number } {
  const { clusters, inventory } = fleet(size);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const start = process.hrtime.bigint();
  const app = new App({ outdir, analyticsReporting: false });
  new PodIdentityMigration(app, 'Fleet', {
    clusters,
    inventory,
    plan: {
      waves: [{ name: 'all', select: [{ namespacePrefix: 'team-' }] }],
      roles: { 'app-*': { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' }] } },
    },
    state: { waves: { all: [{ phase: MigrationPhase.DUAL_TRUST }, { phase: MigrationPhase.POD_IDENTITY }] } },
    placementFile: path.join(outdir, 'placement.json'),
    homeRegion: 'us-east-1',
  });
  const assembly = app.synth();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const maxResources = Math.max(...assembly.stacks.map((s) => Object.keys(s.template.Resources ?? {}).length));
  fs.rmSync(outdir, { recursive: true, force: true });
  return { ms, stacks: assembly.stacks.length, maxResources };
}

const results = SIZES.map((size) => {
  const runs = Array.from({ length: RUNS }, () => synth(size));
  const median = runs.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(RUNS / 2)];
  return { size, median, stacks: runs[0].stacks, maxResources: runs[0].maxResources };
});

const base = results[0];
const perSa = (r: typeof base) => r.median / (r.size.clusters * r.size.serviceAccounts);
console.log('clusters  service accounts  stacks  largest stack  synth ms (median of 3)  x baseline  per-SA x baseline');
for (const r of results) {
  const sas = r.size.clusters * r.size.serviceAccounts;
  console.log([
    String(r.size.clusters).padStart(8), String(sas).padStart(17), String(r.stacks).padStart(7), String(r.maxResources).padStart(14),
    r.median.toFixed(0).padStart(23), (r.median / base.median).toFixed(2).padStart(11), (perSa(r) / perSa(base)).toFixed(2).padStart(18),
  ].join('  '));
}
