import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationFiles, MigrationPhase, MigrationPlan, MigrationState, PodIdentityMigration, PodIdentityMigrationProps } from '../../src';
import { PHASE_ORDER } from '../../src/private/phases';
import { recordWavePhases } from '../util/placement';

export const FLEET = path.join(__dirname, '..', '..', 'examples', 'northwind', 'fleet');
const read = (file: string) => fs.readFileSync(path.join(FLEET, file), 'utf8');

/** Phases per wave; a wave not named is at IRSA_ONLY. */
export type Phases = { [wave: string]: MigrationPhase };

/** A state whose every wave stepped one phase at a time from IRSA_ONLY to the phase given. */
export function stateOf(phases: Phases): MigrationState {
  return {
    waves: Object.fromEntries(Object.entries(phases).map(([wave, phase]) =>
      [wave, PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1).map((p) => ({ phase: p }))])),
  };
}

/**
 * A fresh copy of the demo's committed placement file (tests never write into the repository). With
 * `state`, the copy records each wave at the state's phase, as the deploys that stepped it there
 * one phase at a time left it; without, it is the committed file (the demo's state).
 */
export function placementCopy(state?: MigrationState): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'placement-')), 'placement.json');
  fs.copyFileSync(path.join(FLEET, 'placement.json'), file);
  if (state !== undefined) {
    const waves = JSON.parse(read('plan.json')).waves.map((w: { name: string }) => w.name);
    recordWavePhases(file, Object.fromEntries(waves.map((w: string) => {
      const history = state.waves?.[w] ?? [];
      return [w, history[history.length - 1]?.phase ?? MigrationPhase.IRSA_ONLY];
    })));
  }
  return file;
}

/** The Northwind fleet and plan as the example uses them (with the example's declarations). */
export function northwindProps(phases: Phases = {}, overrides: Partial<PodIdentityMigrationProps> = {},
  options: { addons?: boolean } = {}): PodIdentityMigrationProps {
  const clusters = MigrationFiles.clustersFromJson(read('clusters.json'));
  const plan = MigrationFiles.planFromJson(read('plan.json'));
  const inventory = new IrsaInventory();
  for (const c of clusters) {
    inventory.addServiceAccountsFile(c.clusterName, path.join(FLEET, 'serviceaccounts', `${c.clusterName}.json`));
    inventory.addWorkloadsFile(c.clusterName, path.join(FLEET, 'workloads', `${c.clusterName}.json`));
    if (options.addons ?? true) {
      inventory.addAddonsFile(c.clusterName, path.join(FLEET, 'addons', c.clusterName, 'vpc-cni.json'));
    }
  }
  for (const name of fs.readdirSync(path.join(FLEET, 'addon-configurations')).sort()) {
    inventory.addAddonConfigurationFile(path.join(FLEET, 'addon-configurations', name));
  }
  const adjusted: MigrationPlan = {
    ...plan,
    crossAccount: (plan.crossAccount ?? []).map((c) => (c.serviceAccount === 'telemetry-shipper'
      ? { ...c, targetRoleArn: 'arn:aws:iam::999988887777:role/firehose-writer-pod-identity' } : c)),
    roles: {
      ...plan.roles,
      'firehose-writer': { ...plan.roles!['firehose-writer'], irsaAudienceCondition: false },
      'firehose-writer-pod-identity': { ...plan.roles!['firehose-writer'], exists: false },
    },
  };
  const state = overrides.state ?? stateOf(phases);
  return {
    clusters,
    inventory,
    plan: adjusted,
    collectedRoles: MigrationFiles.collectedRolesFromJson(read('roles.json')),
    state,
    placementFile: overrides.placementFile ?? placementCopy(state),
    homeRegion: 'us-east-1',
    trustPolicyMaxLengthByAccount: { 111122223333: 4096, 999988887777: 4096 },
    ...overrides,
  };
}

/** The state the demo records (examples/northwind/fleet/state.json). */
export function demoState(): MigrationState {
  return MigrationFiles.stateFromJson(read('state.json'));
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
