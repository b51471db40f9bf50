/**
 * Runs a wave's generated scripts against stand-in `kubectl`, `aws` and `cdk` (stub.py) that serve
 * a world built from recorded fixtures: the two clusters of the `shop` fleet below.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationPhase, OidcProviderStep, PodIdentityCluster, PodIdentityMigration } from '../../src';
import { PHASE_ORDER, PHASES } from '../../src/private/phases';
import { recordWavePhases } from '../util/placement';

export const ACCOUNT = '111122223333';
export const FIXTURES = path.join(__dirname, 'fixtures');
const BIN = path.join(__dirname, 'bin');
const STUB = path.join(__dirname, 'stub.py');
/** The interpreter itself, not a version manager's shim (every stand-in call starts it). */
const PYTHON = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();

export const fixture = (name: string): any => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

const CLUSTERS = [
  { name: 'shop-use1', region: 'us-east-1', issuer: 'oidc.eks.us-east-1.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE0001' },
  { name: 'shop-euw1', region: 'eu-west-1', issuer: 'oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE0002' },
];
const arnOf = (c: { name: string; region: string }) => `arn:aws:eks:${c.region}:${ACCOUNT}:cluster/${c.name}`;

/** The phases a state file records to reach `phase` one step at a time. */
export const historyTo = (phase: MigrationPhase) => PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1);

/** Synthesizes the shop fleet with its wave at `phase`; returns the cloud assembly folder. */
export function synthShop(phase: MigrationPhase, placementDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-place-')),
  providers: { [cluster: string]: OidcProviderStep[] } = {}, addon?: any): string {
  const placementFile = path.join(placementDir, 'placement.json');
  const build = (outdir: string, history: MigrationPhase[], oidcProviders: { [cluster: string]: OidcProviderStep[] } = {}) => {
    const app = new App({ outdir });
    const inventory = new IrsaInventory();
    for (const c of CLUSTERS) {
      const list = fixture(`${c.name}.json`);
      inventory.addServiceAccountsJson(c.name, JSON.stringify({ ...list, items: list.items.filter((i: any) => i.kind === 'ServiceAccount') }));
      inventory.addWorkloadsJson(c.name, JSON.stringify({ ...list, items: list.items.filter((i: any) => ['Deployment', 'DaemonSet', 'CronJob'].includes(i.kind)) }));
    }
    if (addon) {
      // a managed add-on (describe-addon output) that owns a service account of the wave through IRSA
      inventory.addAddonsJson(addon.clusterName, JSON.stringify({ addon }), 'describe-addon');
      inventory.addAddonConfigurationJson(JSON.stringify({
        addonName: addon.addonName,
        addonVersion: addon.addonVersion,
        podIdentityConfiguration: [{ serviceAccount: 'checkout', recommendedManagedPolicies: [] }],
      }), 'describe-addon-configuration');
    }
    const statements = [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::shop/*' }];
    new PodIdentityMigration(app, 'Shop', {
      clusters: CLUSTERS.map((c) => PodIdentityCluster.fromClusterAttributes({ clusterName: c.name, clusterArn: arnOf(c), oidcIssuer: c.issuer })),
      inventory,
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
  // the deploys that stepped the wave to `phase`, one phase at a time
  recordWavePhases(placementFile, { shop: phase });
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-'));
  build(outdir, historyTo(phase), providers);
  return outdir;
}

/** Every role of the assembly: name -> trust policy (as `aws iam get-role` returns it). */
export function trustsOf(outdir: string): { [name: string]: any } {
  const trusts: { [name: string]: any } = {};
  for (const file of fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))) {
    const template = JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8'));
    for (const r of Object.values<any>(template.Resources ?? {})) {
      if (r.Type === 'AWS::IAM::Role') {
        trusts[r.Properties.RoleName] = r.Properties.AssumeRolePolicyDocument;
      }
    }
  }
  return trusts;
}

/** The associations of the shop wave, as EKS describes them (from the recorded describe output). */
export function associationsOf(createdAt = '2026-10-15T09:30:00.123000+00:00'): any[] {
  const recorded = fixture('describe-pod-identity-association.json').association;
  const sas: [string, string, string][] = [['shop-use1', 'payments', 'checkout'], ['shop-use1', 'monitoring', 'node-exporter'],
    ['shop-euw1', 'payments', 'checkout'], ['shop-euw1', 'batch', 'report']];
  return sas.map(([cluster, namespace, serviceAccount], i) => {
    const c = CLUSTERS.find((x) => x.name === cluster)!;
    const id = `a-${String(i + 1).padStart(17, '0')}`;
    return {
      ...recorded,
      clusterName: cluster,
      namespace,
      serviceAccount,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/${serviceAccount}`,
      associationId: id,
      associationArn: `arn:aws:eks:${c.region}:${ACCOUNT}:podidentityassociation/${cluster}/${id}`,
      createdAt,
    };
  });
}

/** The world of the fleet at `phase`: objects of the fixtures, associations, annotations, trusts, pods' variables. */
export function worldAt(phase: MigrationPhase, outdir: string): any {
  const spec = PHASES[phase];
  const clusters: any = {};
  for (const c of CLUSTERS) {
    const objects = fixture(`${c.name}.json`).items;
    if (!spec.irsaAnnotation) {
      objects.filter((o: any) => o.kind === 'ServiceAccount').forEach((o: any) => delete o.metadata.annotations['eks.amazonaws.com/role-arn']);
    }
    clusters[c.name] = { context: arnOf(c), objects };
  }
  return {
    clusters,
    aws: {
      account: ACCOUNT,
      associations: spec.association ? associationsOf() : [],
      roles: trustsOf(outdir),
      nodegroups: Object.fromEntries(CLUSTERS.map((c) => [c.name, fixture('list-nodegroups.json').nodegroups.map((n: string) => ({ name: n, nodeRole: `arn:aws:iam::${ACCOUNT}:role/eks-node-${c.name}` }))])),
      simulate: {},
      cloudtrail: [],
    },
  };
}

/** Replaces the object of the same kind, namespace and name in a cluster of the world. */
export function put(world: any, cluster: string, object: any): void {
  const objects: any[] = world.clusters[cluster].objects;
  const same = (o: any) => o.kind === object.kind && o.metadata.name === object.metadata.name && o.metadata.namespace === object.metadata.namespace;
  const i = objects.findIndex(same);
  if (i >= 0) objects[i] = object; else objects.push(object);
}

export interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly lines: string[];
  readonly fails: string[];
  readonly calls: { tool: string; argv: string[]; unsupported?: boolean }[];
  readonly world: any;
}

/**
 * Writes the world, sets the pods' variables as the webhook would, runs one script of the wave
 * (`<transition>/<step>.sh`) with the stand-ins first on PATH, and reads what happened.
 */
export function runScript(outdir: string, transition: string, step: string, world: any,
  args: string[] = [], reinject = true): Run {
  const script = path.join(outdir, 'runbooks', 'shop', transition, `${step}.sh`);
  return execute(script, ['--interval', '0', '--timeout', '2', '--cdk', path.join(BIN, 'cdk'), ...args], world, reinject);
}

/** Runs a script with the stand-ins first on PATH, against the world (written to a file first). */
function execute(script: string, args: string[], world: any, reinject: boolean): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'world-'));
  const file = path.join(dir, 'world.json');
  fs.writeFileSync(file, JSON.stringify(world));
  const env = { ...process.env, STUB_WORLD: file, STUB_PYTHON: PYTHON, PATH: `${BIN}:${process.env.PATH}` };
  if (reinject) {
    spawnSync(PYTHON, [STUB, 'reinject'], { env });
  }
  const r = spawnSync('bash', [script, ...args], { env, encoding: 'utf8' });
  if (r.stderr && /unbound|syntax error|command not found/.test(r.stderr)) {
    throw new Error(`${script}: ${r.stderr}`);
  }
  const calls = fs.existsSync(`${file}.calls.jsonl`)
    ? fs.readFileSync(`${file}.calls.jsonl`, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  const lines = r.stdout.trim().split('\n');
  return { status: r.status ?? -1, stdout: r.stdout, lines, fails: lines.filter((l) => l.startsWith('FAIL ')), calls, world: JSON.parse(fs.readFileSync(file, 'utf8')) };
}

/** Runs `runbooks/foundation/<step>.sh` of the assembly against the world, as `runScript` runs a wave's scripts. */
export function runFoundationScript(outdir: string, step: string, world: any, args: string[] = []): Run {
  return execute(path.join(outdir, 'runbooks', 'foundation', `${step}.sh`), ['--interval', '0', '--timeout', '2', '--cdk', path.join(BIN, 'cdk'), ...args], world, false);
}

/** Every call the scripts made, across runs, for the check against the real clients. */
export const ALL_CALLS: { tool: string; argv: string[] }[] = [];

/** The provider of a shop cluster, as IAM names it. */
export const providerArnOf = (cluster: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${CLUSTERS.find((c) => c.name === cluster)!.issuer}`;

/**
 * Runs `runbooks/oidc-providers/<step>.sh <cluster>` of the assembly against the world, as
 * `runScript` runs a wave's scripts.
 */
export function runProviderScript(outdir: string, step: 'preflight' | 'verify', cluster: string, world: any, args: string[] = []): Run {
  return execute(path.join(outdir, 'runbooks', 'oidc-providers', `${step}.sh`), [cluster, ...args], world, true);
}
