import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationFiles, MigrationPhase, MigrationPlan, PodIdentityMigration, PodIdentityMigrationProps } from '../../src';

export const FLEET = path.join(__dirname, '..', '..', 'examples', 'northwind', 'fleet');
const read = (file: string) => fs.readFileSync(path.join(FLEET, file), 'utf8');

/** The Northwind fleet and plan as the example uses them (with the example's declarations). */
type Phases = { [wave: string]: MigrationPhase };

export function northwindProps(phases: Phases = {}, overrides: Partial<PodIdentityMigrationProps> = {}): PodIdentityMigrationProps {
  const clusters = MigrationFiles.clustersFromJson(read('clusters.json'));
  const plan = MigrationFiles.planFromJson(read('plan.json'));
  const inventory = new IrsaInventory();
  for (const c of clusters) {
    inventory.addServiceAccountsFile(c.clusterName, path.join(FLEET, 'serviceaccounts', `${c.clusterName}.json`));
    inventory.addWorkloadsFile(c.clusterName, path.join(FLEET, 'workloads', `${c.clusterName}.json`));
  }
  const adjusted: MigrationPlan = {
    ...plan,
    waves: plan.waves.map((w) => ({ ...w, phase: phases[w.name] })),
    crossAccount: (plan.crossAccount ?? []).map((c) => (c.serviceAccount === 'telemetry-shipper'
      ? { ...c, targetRoleArn: 'arn:aws:iam::999988887777:role/firehose-writer-pod-identity' } : c)),
    roles: {
      ...plan.roles,
      'firehose-writer': { ...plan.roles!['firehose-writer'], irsaAudienceCondition: false },
      'firehose-writer-pod-identity': { ...plan.roles!['firehose-writer'], exists: false },
    },
  };
  return {
    clusters,
    inventory,
    plan: adjusted,
    trustPolicyMaxLengthByAccount: { 111122223333: 4096, 999988887777: 4096 },
    ...overrides,
  };
}

/** Synthesizes the Northwind migration into a fresh directory; returns the app, the migration and the assembly. */
export function synthNorthwind(phases: Phases = {}, overrides: Partial<PodIdentityMigrationProps> = {}, context: { [key: string]: string } = {}) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'northwind-'));
  const app = new App({ outdir, context });
  const migration = new PodIdentityMigration(app, 'Northwind', northwindProps(phases, overrides));
  const assembly = app.synth();
  return { app, migration, assembly, outdir };
}

/** Templates by stack name. */
export function templates(assembly: ReturnType<App['synth']>): { [stackName: string]: any } {
  return Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.template]));
}
