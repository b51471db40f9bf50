/**
 * The migration's output, byte for byte: every file of the cloud assembly (templates, manifests,
 * runbooks, import mappings) and the placement file after synthesis, for the Northwind demo as it
 * runs, Northwind with every wave at each phase, and two of the benchmark's generated fleets. Each
 * file's SHA-256 is held in test/migration/golden/<case>.json.
 *
 * This is the safety net of the migration core's redesign (a pure design step, then build and
 * render): its output must stay identical, except where a change is made on purpose. Such a change
 * updates the digests (`GOLDEN_UPDATE=1 npx jest test/migration/golden.test.ts`, refused under CI)
 * and its commit says which files changed and why.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { demoState, FLEET, northwindProps, placementCopy, Phases } from './northwind';
import { FleetSpec, trustQuota, writeFleet } from '../../bench/fleets';
import { IrsaInventory, MigrationFiles, MigrationPhase, PodIdentityMigration, PodIdentityMigrationProps } from '../../src';
import { PHASE_ORDER } from '../../src/private/phases';
import { assemblyFiles } from '../util/assembly-files';

const GOLDEN = path.join(__dirname, 'golden');
const UPDATE = process.env.GOLDEN_UPDATE === '1';

/** Synthesizes the props into a fresh directory; every file's digest, and the placement file's. */
function digests(props: PodIdentityMigrationProps): { [file: string]: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-'));
  // analytics off: the templates hold no CDKMetadata (its content depends on the aws-cdk-lib version)
  const app = new App({ outdir, analyticsReporting: false });
  new PodIdentityMigration(app, 'Golden', props);
  app.synth();
  // the assembly's own bookkeeping is CDK's, not the migration's: its version file (cdk.out), and the
  // policy validation report newer aws-cdk-lib lines write
  const { 'cdk.out': _version, 'validation-report.json': _report, ...written } = assemblyFiles(outdir);
  const files: { [file: string]: string } = { ...written, '<placement file>': fs.readFileSync(props.placementFile!, 'utf8') };
  fs.rmSync(outdir, { recursive: true, force: true });
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b))
    .map(([file, text]) => [file, crypto.createHash('sha256').update(text).digest('hex')]));
}

/** Compares with the case's digests (or writes them under GOLDEN_UPDATE=1). */
function expectGolden(name: string, actual: { [file: string]: string }) {
  const file = path.join(GOLDEN, `${name}.json`);
  if (UPDATE) {
    if (process.env.CI === 'true') {
      throw new Error('golden: GOLDEN_UPDATE=1 under CI; update the digests on a development machine and commit them');
    }
    fs.mkdirSync(GOLDEN, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(actual, undefined, 1) + '\n');
  }
  if (!fs.existsSync(file)) {
    throw new Error(`golden: ${path.relative(process.cwd(), file)} is missing; write it with GOLDEN_UPDATE=1 npx jest test/migration/golden.test.ts`);
  }
  const expected = JSON.parse(fs.readFileSync(file, 'utf8'));
  // the files whose bytes changed, appeared or went: named, so a failure says where to look
  const changed = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()
    .filter((f) => expected[f] !== actual[f])
    .map((f) => `${f}: ${expected[f] === undefined ? 'new' : actual[f] === undefined ? 'gone' : 'changed'}`);
  expect(changed).toEqual([]);
}

const waves: string[] = JSON.parse(fs.readFileSync(path.join(FLEET, 'plan.json'), 'utf8')).waves.map((w: { name: string }) => w.name);

test('the Northwind demo as it runs (its state and placement file, the agent\'s configuration)', () => {
  expectGolden('northwind-demo', digests(northwindProps({}, {
    state: demoState(),
    placementFile: placementCopy(),
    agent: { configurationValues: { tolerations: [{ operator: 'Exists' }] } },
  })));
});

test.each(PHASE_ORDER)('Northwind with every wave at %s', (phase: MigrationPhase) => {
  const phases: Phases = Object.fromEntries(waves.map((w) => [w, phase]));
  expectGolden(`northwind-${phase}`, digests(northwindProps(phases)));
});

test.each([['F', 3], ['D', 4]] as const)('the benchmark\'s fleet %s%d (200 service accounts per cluster)', (kind, clusters) => {
  const spec: FleetSpec = { kind, clusters };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-fleet-'));
  writeFleet(dir, spec);
  const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
  const list = MigrationFiles.clustersFromJson(read('clusters.json'), 'clusters.json');
  const inventory = new IrsaInventory();
  for (const c of list) {
    inventory.addServiceAccountsFile(c.clusterName, path.join(dir, 'serviceaccounts', `${c.clusterName}.json`));
  }
  expectGolden(`fleet-${kind}${clusters}`, digests({
    clusters: list,
    inventory,
    plan: MigrationFiles.planFromJson(read('plan.json'), 'plan.json'),
    state: MigrationFiles.stateFromJson(read('state.json'), 'state.json'),
    placementFile: path.join(dir, 'placement.json'),
    homeRegion: 'us-east-1',
    trustPolicyMaxLengthByAccount: { 111122223333: trustQuota(spec) },
  }));
});
