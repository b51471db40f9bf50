/**
 * `cdk-eks-pod-identity collect` against stand-in kubectl and aws (standin.py) serving the recorded
 * Northwind fleet, and for IAM against a moto server started here holding the Northwind roles and
 * OIDC providers in their three accounts. Its output must equal the committed fleet folder.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { IrsaInventory, MigrationFiles } from '../../src';
import { main } from '../../src/collect/cli';
import { awsRejects, callShapes, kubectlRejects, REAL_AWS, REAL_KUBECTL } from '../util/real-clients';

const ROOT = path.join(__dirname, '..', '..');
const MOTO = path.join(ROOT, '.tools', 'moto', 'bin');
const FLEET = path.join(ROOT, 'examples', 'northwind', 'fleet');
const FIXTURES = path.join(__dirname, 'fixtures');
/** The interpreter itself, not a version manager's shim (every stand-in call starts it). */
const PYTHON = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
/** What the operator writes; collect never touches them. */
const OPERATOR_FILES = ['plan.json', 'state.json', 'placement.json'];

const CLUSTERS: any[] = JSON.parse(fs.readFileSync(path.join(FLEET, 'clusters.json'), 'utf8'));
const PROFILES = ['111122223333', '444455556666', '999988887777'].map((a) => `--account-profile=${a}=northwind-${a}`);

let moto: ChildProcess;
let endpoint: string;
let work: string;
let kubeconfig: string;
let credentials: string;
let calls: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** A kubeconfig as `aws eks update-kubeconfig --profile northwind-<account>` writes it, and a kind cluster. */
function writeKubeconfig(file: string, extra: any[] = []) {
  const entries = CLUSTERS.map((c) => {
    const described = JSON.parse(fs.readFileSync(path.join(FIXTURES, c.name, 'describe-cluster.json'), 'utf8')).cluster;
    return {
      name: c.clusterArn,
      cluster: { server: described.endpoint, certificateAuthorityData: described.certificateAuthority.data },
      user: {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: 'aws',
          args: ['--region', c.region, 'eks', 'get-token', '--cluster-name', c.name, '--output', 'json'],
          env: [{ name: 'AWS_PROFILE', value: `northwind-${c.account}` }],
        },
      },
    };
  });
  const all = [
    ...entries,
    { name: 'kind-local', cluster: { server: 'https://127.0.0.1:6443' }, user: { token: 'x' } },
    ...extra,
  ];
  fs.writeFileSync(file, JSON.stringify({
    'apiVersion': 'v1',
    'kind': 'Config',
    'clusters': all.map((e) => ({ name: e.name, cluster: e.cluster })),
    'users': all.map((e) => ({ name: e.name, user: e.user })),
    'contexts': all.map((e) => ({ name: e.name, context: { cluster: e.name, user: e.name } })),
    'current-context': entries[0].name,
  }, null, 2));
}

function env(extra: { [k: string]: string } = {}) {
  return {
    PATH: `${path.join(__dirname, 'bin')}${path.delimiter}${process.env.PATH}`,
    HOME: work,
    KUBECONFIG: kubeconfig,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_CONFIG_FILE: path.join(work, 'no-aws-config'),
    AWS_ENDPOINT_URL: endpoint,
    AWS_MAX_ATTEMPTS: '1',
    REAL_KUBECTL,
    REAL_AWS,
    STANDIN_PYTHON: PYTHON,
    STANDIN_FIXTURES: FIXTURES,
    STANDIN_FLEET: FLEET,
    STANDIN_CALLS: calls,
    STANDIN_PROFILES: JSON.stringify(Object.fromEntries(['111122223333', '444455556666', '999988887777'].map((a) => [`northwind-${a}`, a]))),
    ...extra,
  };
}

function collect(args: string[], extra: { [k: string]: string } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(['collect', ...args], env(extra), (l) => out.push(l), (l) => err.push(l));
  return { code, out: out.join('\n'), err: err.join('\n'), errLines: err };
}

const contexts = (names = CLUSTERS.map((c) => c.clusterArn)) => names.flatMap((n: string) => ['--context', n]);

/** Every file under a folder, relative, sorted. */
function filesUnder(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? filesUnder(path.join(dir, e.name), base)
    : [path.relative(base, path.join(dir, e.name))])).sort();
}

beforeAll(async () => {
  expect(fs.existsSync(path.join(MOTO, 'moto_server'))).toBe(true); // installed by scripts/install-tools.sh
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'collect-'));
  kubeconfig = path.join(work, 'kubeconfig');
  credentials = path.join(work, 'credentials');
  calls = path.join(work, 'calls.jsonl');
  writeKubeconfig(kubeconfig);
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  moto = spawn(path.join(MOTO, 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
    stdio: 'ignore',
  });
  for (let i = 0; i < 300 && !(await reachable(port)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const seed = spawnSync(path.join(MOTO, 'python'), [path.join(__dirname, 'moto_seed.py'), endpoint,
    path.join(FLEET, 'roles.json'), path.join(FLEET, 'clusters.json'), credentials], { encoding: 'utf8' });
  expect(seed.stderr).toEqual('');
  expect(JSON.parse(seed.stdout)).toEqual(['111122223333', '444455556666', '999988887777']);
}, 120000);

afterAll(() => {
  moto?.kill();
});

describe('collect', () => {
  test('the Northwind fleet, collected, is the committed fleet folder, file for file', () => {
    const out = path.join(work, 'fleet');
    // the operator's plan names the cross-account target role to collect too
    fs.mkdirSync(out);
    fs.copyFileSync(path.join(FLEET, 'plan.json'), path.join(out, 'plan.json'));
    const r = collect([...contexts(), '--out', out, ...PROFILES.slice(1)]);
    expect(r.err.split('\n').filter((l) => l.startsWith('WARN'))).toEqual([]);
    expect(r.code).toBe(0);
    const committed = filesUnder(FLEET).filter((f) => !OPERATOR_FILES.includes(f));
    expect(filesUnder(out).filter((f) => f !== 'plan.json')).toEqual(committed);
    for (const f of committed) {
      expect({ file: f, text: fs.readFileSync(path.join(out, f), 'utf8') }).toEqual({ file: f, text: fs.readFileSync(path.join(FLEET, f), 'utf8') });
    }
    // progress: one line per cluster, then the roles
    expect(r.errLines.filter((l) => /^\[\d+\/11\] /.test(l))).toHaveLength(11);
    expect(r.errLines).toContain('[1/11] platform-prod-use1-blue (us-east-1, 111122223333): 15 service accounts (7 IRSA), 8 workloads, '
      + '1 add-on(s) (vpc-cni IRSA), EC2 (3 EC2 node(s), 1 node group(s)), agent NOT_INSTALLED');
    expect(r.errLines).toContain('[5/11] tenant-c-use1 (us-east-1, 111122223333): 11 service accounts (5 IRSA), 4 workloads, '
      + '1 add-on(s) (vpc-cni IRSA), AUTO_MODE (Auto Mode, 3 Auto Mode node(s), no node groups), agent AUTO_MODE');
    expect(r.errLines).toContain('roles: 32 role(s) from 3 account(s) (1 of them cross-account targets named by plan.json)');
    expect(r.out).toEqual(`collected 11 cluster(s) and 32 role(s) into ${out}`);
  });

  test('the library reads what collect wrote', () => {
    const out = path.join(work, 'fleet');
    const clusters = MigrationFiles.clustersFromJson(fs.readFileSync(path.join(out, 'clusters.json'), 'utf8'));
    expect(clusters.map((c) => c.clusterName)).toEqual(CLUSTERS.map((c) => c.name));
    const roles = MigrationFiles.collectedRolesFromJson(fs.readFileSync(path.join(out, 'roles.json'), 'utf8'));
    const inventory = new IrsaInventory();
    for (const c of clusters) {
      inventory.addServiceAccountsFile(c.clusterName, path.join(out, 'serviceaccounts', `${c.clusterName}.json`));
      inventory.addWorkloadsFile(c.clusterName, path.join(out, 'workloads', `${c.clusterName}.json`));
      inventory.addAddonsFile(c.clusterName, path.join(out, 'addons', c.clusterName, 'vpc-cni.json'));
    }
    // every IRSA role the inventory holds was collected, and the cross-account target plan.json adopts
    const plan = MigrationFiles.planFromJson(fs.readFileSync(path.join(FLEET, 'plan.json'), 'utf8'));
    const expected = [...inventory.serviceAccounts.map((s) => s.roleArn), ...plan.crossAccount!.map((c) => c.targetRoleArn)];
    expect(new Set(roles.map((r) => r.arn))).toEqual(new Set(expected));
    // owned Jobs and Pods were left out; the workloads the inventory ties to service accounts are all there
    const workloads = JSON.parse(fs.readFileSync(path.join(out, 'workloads', 'batch-use1.json'), 'utf8')).items;
    const recorded = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'batch-use1', 'workloads.json'), 'utf8')).items;
    expect(recorded.filter((i: any) => i.kind === 'Pod').length).toBeGreaterThan(0);
    expect(workloads.map((i: any) => i.kind)).not.toContain('Pod');
    expect(workloads.map((i: any) => i.kind)).not.toContain('Job');
  });

  test('a missing context: an error that lists the kubeconfig\'s contexts and how to add one', () => {
    const r = collect(['--context', 'payments-prod', '--out', path.join(work, 'none')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^collect: context "payments-prod" is not in the kubeconfig \\(${kubeconfig.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\); it has arn:aws:eks:eu-west-1:111122223333:cluster/batch-euw1, arn:aws:eks:eu-west-1:111122223333:cluster/platform-prod-euw1-blue, `));
    expect(r.err).toMatch(/, kind-local\. Add it with: aws eks update-kubeconfig --name <cluster> --region <region> --alias payments-prod$/);
    expect(fs.existsSync(path.join(work, 'none'))).toBe(false);
  });

  test('a cluster that is not EKS: an error naming its server', () => {
    const r = collect(['--context', 'kind-local', '--out', path.join(work, 'none')]);
    expect(r.code).toBe(1);
    expect(r.err).toEqual('collect: context "kind-local": its server https://127.0.0.1:6443 is not an Amazon EKS endpoint (https://<id>.<x>.<region>.eks.amazonaws.com); collect reads EKS clusters only. Leave this context out.');
  });

  test('no permission on Kubernetes: the resource and what the operator needs', () => {
    const r = collect([...contexts(CLUSTERS.slice(8, 10).map((c) => c.clusterArn)), '--out', path.join(work, 'none')], { STANDIN_FORBID: 'tenant-b-euw1:serviceaccounts' });
    expect(r.code).toBe(1);
    expect(r.errLines.filter((l) => l.startsWith('['))).toEqual([expect.stringMatching(/^\[1\/2\] tenant-a-euw1 /)]); // progress up to the failing cluster
    expect(CLUSTERS[9].name).toEqual('tenant-b-euw1');
    expect(r.errLines[r.errLines.length - 1]).toEqual('collect: context "arn:aws:eks:eu-west-1:111122223333:cluster/tenant-b-euw1": '
      + 'kubectl --context arn:aws:eks:eu-west-1:111122223333:cluster/tenant-b-euw1 get serviceaccounts --all-namespaces -o json (its service accounts): '
      + 'forbidden: Error from server (Forbidden): serviceaccounts is forbidden: User "arn:aws:sts::111122223333:assumed-role/platform-readonly/operator" '
      + 'cannot list resource "serviceaccounts" in API group "" at the cluster scope. The operator needs get and list on it in every namespace '
      + '(an EKS access entry with AmazonEKSViewPolicy at cluster scope, or RBAC to the same effect)');
    expect(fs.existsSync(path.join(work, 'none'))).toBe(false); // nothing written
  });

  test('no permission on EKS: the call, the profile, and the permissions collect needs', () => {
    const d = collect([...contexts([CLUSTERS[6].clusterArn]), '--out', path.join(work, 'none')], { STANDIN_DENY: 'describe-addon' });
    expect(d.code).toBe(1);
    expect(d.err).toEqual('collect: context "arn:aws:eks:eu-west-1:111122223333:cluster/platform-prod-euw1-blue" (cluster platform-prod-euw1-blue, eu-west-1): '
      + 'not permitted: aws eks describe-addon --cluster-name platform-prod-euw1-blue --addon-name vpc-cni --region eu-west-1 --profile northwind-111122223333 --output json '
      + 'was denied to profile northwind-111122223333 (AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/platform-readonly/operator '
      + 'is not authorized to perform: eks:DescribeAddon on resource: arn:aws:eks:eu-west-1:111122223333:cluster/platform-prod-euw1-blue). '
      + 'collect needs read access: eks:DescribeCluster, eks:ListNodegroups, eks:ListAddons, eks:DescribeAddon, eks:DescribeAddonConfiguration, '
      + 'iam:ListOpenIDConnectProviders, iam:GetAccountAuthorizationDetails (or iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies).');
  });

  test('where iam:GetAccountAuthorizationDetails is denied, the roles are read one by one, to the same roles.json', () => {
    const out = path.join(work, 'per-role');
    const c = CLUSTERS[4];
    const r = collect([...contexts([c.clusterArn]), '--out', out, ...PROFILES], { STANDIN_DENY: 'get-account-authorization-details' });
    expect(r.code).toBe(0);
    const roles = JSON.parse(fs.readFileSync(path.join(out, 'roles.json'), 'utf8'));
    expect(r.errLines).toContain(`account 111122223333: iam:GetAccountAuthorizationDetails is denied; reading its ${roles.length - 1} role(s) one by one`);
    expect(r.errLines).toContain('account 999988887777: iam:GetAccountAuthorizationDetails is denied; reading its 1 role(s) one by one');
    expect(roles.length).toBeGreaterThan(3);
    const committed = JSON.parse(fs.readFileSync(path.join(FLEET, 'roles.json'), 'utf8'));
    expect(roles).toEqual(committed.filter((x: any) => roles.some((y: any) => y.arn === x.arn)));
    expect(roles.some((x: any) => Object.keys(x.inlinePolicies).length > 0)).toBe(true);
  });

  test('a cross-account role without a profile for its account: an error naming the roles and the option', () => {
    const out = path.join(work, 'cross');
    fs.mkdirSync(out);
    fs.copyFileSync(path.join(FLEET, 'plan.json'), path.join(out, 'plan.json'));
    const fix = 'Give --account-profile 444455556666=<a profile of that account> (IAM read access: iam:GetAccountAuthorizationDetails, '
      + 'or iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy and iam:ListAttachedRolePolicies).';
    const r = collect([...contexts([CLUSTERS[0].clusterArn]), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.errLines[r.errLines.length - 1]).toEqual('collect: roles in account 444455556666 (cross-acct-ingest) cannot be read: no context\'s profile reaches that account, '
      + `and the default credentials fail (Unable to locate credentials. You can configure credentials by running "aws configure".). ${fix}`);
    const wrong = collect([...contexts([CLUSTERS[0].clusterArn]), '--out', out, '--account-profile', '444455556666=northwind-111122223333']);
    expect(wrong.code).toBe(1);
    expect(wrong.errLines[wrong.errLines.length - 1]).toEqual(`collect: roles in account 444455556666 (cross-acct-ingest) cannot be read: profile northwind-111122223333 reaches account 111122223333. ${fix}`);
    expect(filesUnder(out)).toEqual(['plan.json']); // nothing written
  });

  test('a stale kubeconfig (the cluster replaced, the endpoint changed): an error with the command that rewrites it', () => {
    const c = CLUSTERS[2];
    const stale = path.join(work, 'kubeconfig-stale');
    writeKubeconfig(stale, [{
      name: 'tenant-a-old',
      cluster: { server: 'https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com' },
      user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args: ['--region', 'us-east-1', 'eks', 'get-token', '--cluster-name', c.name], env: [{ name: 'AWS_PROFILE', value: 'northwind-111122223333' }] } },
    }]);
    const r = collect(['--context', 'tenant-a-old', '--out', path.join(work, 'none')], { KUBECONFIG: stale });
    expect(r.code).toBe(1);
    expect(r.err).toEqual('collect: context "tenant-a-old" (cluster tenant-a-use1, us-east-1): the kubeconfig\'s server https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com '
      + `is not the endpoint of ${c.clusterArn} (https://${c.oidcIssuer.split('/').pop()}.gr7.us-east-1.eks.amazonaws.com): the kubeconfig is stale (the cluster was replaced?) `
      + 'or the credentials reach another account. Rewrite it with: aws eks update-kubeconfig --name tenant-a-use1 --region us-east-1 --alias tenant-a-old');
  });

  test('collecting part of the fleet into a full folder is refused; --prune removes the other clusters\' files', () => {
    const out = path.join(work, 'partial');
    expect(collect([...contexts(), '--out', out, ...PROFILES]).code).toBe(0);
    const r = collect([...contexts([CLUSTERS[0].clusterArn]), '--out', out, ...PROFILES]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^collect: .*partial holds files of clusters, add-ons or add-on versions that were not collected: serviceaccounts\/batch-euw1\.json, .*Give those clusters' contexts too, or --prune to remove the files \(nothing was written\)\.$/m);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'clusters.json'), 'utf8'))).toHaveLength(11);
    const p = collect([...contexts([CLUSTERS[0].clusterArn]), '--out', out, ...PROFILES, '--prune']);
    expect(p.code).toBe(0);
    expect(filesUnder(out)).toEqual([
      'addon-configurations/vpc-cni-v1.19.2-eksbuild.1.json',
      'addons/platform-prod-use1-blue/vpc-cni.json',
      'clusters.json',
      'roles.json',
      'serviceaccounts/platform-prod-use1-blue.json',
      'workloads/platform-prod-use1-blue.json',
    ]);
    // the operator's files are never touched
    fs.writeFileSync(path.join(out, 'plan.json'), '{"waves": []}\n');
    expect(collect([...contexts([CLUSTERS[0].clusterArn]), '--out', out, ...PROFILES]).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'plan.json'), 'utf8')).toEqual('{"waves": []}\n');
  });

  test('the README\'s example runs as written (its folder aside)', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /```sh\nnpx cdk-eks-pod-identity collect \\\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const argv = block![1].replace(/\\\n/g, ' ').trim().split(/\s+/);
    expect(argv).toContain('--account-profile');
    argv[argv.indexOf('--out') + 1] = path.join(work, 'readme-fleet');
    const r = collect(argv);
    expect(r.err).not.toMatch(/WARN/);
    expect(r.code).toBe(0);
    expect(filesUnder(path.join(work, 'readme-fleet'))).toEqual([
      'addon-configurations/vpc-cni-v1.19.0-eksbuild.1.json',
      'addon-configurations/vpc-cni-v1.19.2-eksbuild.1.json',
      'addons/batch-euw1/vpc-cni.json',
      'addons/platform-prod-use1-blue/vpc-cni.json',
      'clusters.json',
      'roles.json',
      'serviceaccounts/batch-euw1.json',
      'serviceaccounts/platform-prod-use1-blue.json',
      'workloads/batch-euw1.json',
      'workloads/platform-prod-use1-blue.json',
    ]);
  });

  test('usage errors exit 2 with the usage', () => {
    expect(collect(['--out', path.join(work, 'x')]).err).toEqual('collect: no --context given; give one per cluster (kubectl config get-contexts -o name lists them).');
    const bad = collect(['--context', 'a', '--out', 'x', '--account-profile', '4444=p']);
    expect(bad.code).toBe(2);
    expect(bad.err).toEqual('collect: --account-profile 4444=p: expected <12-digit account>=<profile>, e.g. 444455556666=ingest-readonly.');
    const noOut = collect(contexts([CLUSTERS[6].clusterArn]));
    expect(noOut.code).toBe(2);
    expect(noOut.err).toMatch(/^collect: --out is missing: give the fleet folder to write\.\nusage: /);
    const unknown = collect(['--contexts', 'a']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^collect: unknown option --contexts\.\nusage: cdk-eks-pod-identity collect --context/);
  });
});

/**
 * Every kubectl and aws call collect made above, with its exact arguments, given to the real clients
 * (test/util/real-clients.ts, as the runbook tests do).
 */
describe('the real clients accept every call collect makes', () => {
  const made = () => fs.readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { tool: string; argv: string[] });

  test('kubectl', () => {
    const list = callShapes(made(), 'kubectl', 3).filter((argv) => argv[0] !== 'config'); // config calls ran on the real kubectl already
    expect(list.length).toBe(3);
    expect(kubectlRejects(list)).toEqual([]);
  });

  test('aws eks', () => {
    const list = callShapes(made(), 'aws', 3).filter((argv) => argv[0] === 'eks'); // iam and sts calls ran on the real AWS CLI already
    expect(list.map((argv) => argv[1]).sort()).toEqual(['describe-addon', 'describe-addon-configuration', 'describe-cluster', 'list-addons', 'list-nodegroups']);
    // and the command collect's errors tell the operator to run
    list.push(['eks', 'update-kubeconfig', '--name', 'tenant-a-use1', '--region', 'us-east-1', '--alias', 'tenant-a-old', '--kubeconfig', path.join(work, 'kubeconfig-replay')]);
    expect(awsRejects(list)).toEqual([]);
  });
});
