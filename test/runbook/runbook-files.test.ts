/**
 * The generated runbook files themselves: the same scripts in every phase (only the phase file
 * changes), executable, shellcheck-clean, and their usage. What they do is tested against real
 * parts in the test bed (test/acceptance/, scripts/testbed/run-acceptance.sh).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationPhase as P, OidcProviderStep as S, PodIdentityCluster, PodIdentityMigration } from '../../src';
import { PHASE_ORDER } from '../../src/private/phases';
import { recordWavePhases } from '../util/placement';

const ACCOUNT = '111122223333';
const CLUSTERS = [
  { name: 'shop-use1', region: 'us-east-1', issuer: 'oidc.eks.us-east-1.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE0001' },
  { name: 'shop-euw1', region: 'eu-west-1', issuer: 'oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE0002' },
];
const arnOf = (c: { name: string; region: string }) => `arn:aws:eks:${c.region}:${ACCOUNT}:cluster/${c.name}`;

/** The shop fleet as kubectl lists it: an IRSA service account per workload kind the scripts restart differently. */
function inventory(): IrsaInventory {
  const sa = (namespace: string, name: string) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace, annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/${name}` } },
  });
  const pod = (serviceAccountName: string) => ({ spec: { serviceAccountName, containers: [{ name: 'app', image: 'x' }] } });
  const workload = (kind: string, namespace: string, name: string) => ({
    apiVersion: kind === 'CronJob' ? 'batch/v1' : 'apps/v1',
    kind,
    metadata: { name, namespace },
    spec: kind === 'CronJob' ? { schedule: '0 * * * *', jobTemplate: { spec: { template: pod(name) } } } : { selector: { matchLabels: { app: name } }, template: pod(name) },
  });
  const fleet: { [cluster: string]: [string, string, string][] } = {
    'shop-use1': [['Deployment', 'payments', 'checkout'], ['DaemonSet', 'monitoring', 'node-exporter']],
    'shop-euw1': [['Deployment', 'payments', 'checkout'], ['CronJob', 'batch', 'report']],
  };
  const i = new IrsaInventory();
  for (const [cluster, items] of Object.entries(fleet)) {
    i.addServiceAccountsJson(cluster, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: items.map(([, ns, name]) => sa(ns, name)) }));
    i.addWorkloadsJson(cluster, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: items.map(([kind, ns, name]) => workload(kind, ns, name)) }));
  }
  return i;
}

/** Synthesizes the shop fleet with its wave at `phase` (and the OIDC provider steps given); returns the cloud assembly folder. */
function synthShop(phase: P, placementDir: string, providers: { [cluster: string]: S[] } = {}): string {
  const placementFile = path.join(placementDir, 'placement.json');
  const build = (outdir: string, history: P[], oidcProviders: { [cluster: string]: S[] } = {}) => {
    const app = new App({ outdir });
    const statements = [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::shop/*' }];
    new PodIdentityMigration(app, 'Shop', {
      clusters: CLUSTERS.map((c) => PodIdentityCluster.fromClusterAttributes({ clusterName: c.name, clusterArn: arnOf(c), oidcIssuer: c.issuer })),
      inventory: inventory(),
      plan: {
        waves: [{ name: 'shop', select: [{ namespace: 'payments' }, { namespace: 'monitoring' }, { namespace: 'batch' }] }],
        roles: { 'checkout': { statements }, 'node-exporter': { statements }, 'report': { statements } },
      },
      state: {
        waves: { shop: history.map((p) => ({ phase: p })) },
        oidcProviders: Object.fromEntries(Object.entries(oidcProviders).map(([c, steps]) => [c, steps.map((step) => ({ step }))])),
      },
      placementFile,
      homeRegion: 'us-east-1',
    });
    app.synth();
  };
  if (!fs.existsSync(placementFile)) {
    build(fs.mkdtempSync(path.join(os.tmpdir(), 'shop-first-')), []);
  }
  recordWavePhases(placementFile, { shop: phase });
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-'));
  build(outdir, PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1), providers);
  return outdir;
}

const placementDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-place-'));
const assembly: { [phase: string]: string } = {};

beforeAll(() => {
  for (const phase of PHASE_ORDER) {
    assembly[phase] = synthShop(phase, placementDir);
  }
});

describe('the scripts of a wave', () => {
  test('the scripts and their data are the same in every phase: only the phase file changes', () => {
    const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
    const tree = (phase: string) => Object.fromEntries(files(path.join(assembly[phase], 'runbooks'))
      .filter((f) => f !== 'shop/phase' && f.startsWith('shop/'))
      .map((f) => [f, fs.readFileSync(path.join(assembly[phase], 'runbooks', f), 'utf8')]));
    const first = tree(P.IRSA_ONLY);
    expect(Object.keys(first).filter((f) => f.endsWith('.sh')).length).toBe(16);
    // no lib.sh: every script runs the operator command
    expect(fs.existsSync(path.join(assembly[P.IRSA_ONLY], 'runbooks', 'lib.sh'))).toBe(false);
    for (const phase of PHASE_ORDER) {
      expect(tree(phase)).toEqual(first);
      expect(fs.readFileSync(path.join(assembly[phase], 'runbooks', 'shop', 'phase'), 'utf8')).toEqual(`${phase}\n`);
      expect((fs.statSync(path.join(assembly[phase], 'runbooks', 'shop', 'DUAL_TRUST-to-POD_IDENTITY', 'apply.sh')).mode % 0o1000).toString(8)).toEqual('755');
    }
  });

  test('a wrong option exits 2 with the usage; --help exits 0 (before any call to kubectl or aws)', () => {
    const verify = path.join(assembly[P.POD_IDENTITY], 'runbooks', 'shop', 'DUAL_TRUST-to-POD_IDENTITY', 'verify.sh');
    // no kubectl, aws or cdk on the PATH (node only): the options are read first; verify.sh runs the operator command as built here
    const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, CDK_EKS_POD_IDENTITY_OPERATOR: path.join(__dirname, '..', '..', 'operator', 'lib', 'cli.js') };
    const bad = spawnSync('bash', [verify, '--no-such-option'], { encoding: 'utf8', env });
    expect(bad.status).toBe(2);
    expect(bad.stderr + bad.stdout).toContain('usage: verify.sh [options]');
    const help = spawnSync('bash', [verify, '--help'], { encoding: 'utf8', env });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: verify.sh [options]');
  });

  test('every generated script passes shellcheck', () => {
    const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    expect({ shellcheck: shellcheck.status }).toEqual({ shellcheck: 0 }); // installed by scripts/install-tools.sh
    const scripts = fs.readdirSync(path.join(assembly[P.IRSA_ONLY], 'runbooks', 'shop'))
      .filter((d) => d.includes('-to-'))
      .flatMap((d) => ['preflight', 'apply', 'verify', 'rollback'].map((s) => path.join(assembly[P.IRSA_ONLY], 'runbooks', 'shop', d, `${s}.sh`)));
    expect(scripts).toHaveLength(16);
    // and the foundation step's
    const foundation = ['preflight', 'apply', 'verify'].map((s) => path.join(assembly[P.IRSA_ONLY], 'runbooks', 'foundation', `${s}.sh`));
    foundation.forEach((f) => expect((fs.statSync(f).mode % 0o1000).toString(8)).toEqual('755'));
    const r = spawnSync('shellcheck', ['-x', '--severity=style', ...scripts, ...foundation], { encoding: 'utf8' });
    expect(r.stdout).toEqual('');
    expect(r.status).toBe(0);
  });
});

describe('the scripts of an OIDC provider\'s retirement', () => {
  test('they pass shellcheck', () => {
    const at = synthShop(P.POD_IDENTITY_ONLY, placementDir, { 'shop-use1': [S.ADOPTED] });
    const dir = path.join(at, 'runbooks', 'oidc-providers');
    const r = spawnSync('shellcheck', ['-x', '--severity=style', path.join(dir, 'preflight.sh'), path.join(dir, 'verify.sh')], { encoding: 'utf8' });
    expect(r.stdout).toEqual('');
    expect(r.status).toBe(0);
  });
});
