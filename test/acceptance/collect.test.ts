/**
 * `cdk-eks-pod-identity collect` against the Northwind fleet loaded into the test bed: 11 clusters
 * recorded from a real fleet (test/acceptance/northwind/), each a real kube-apiserver holding the
 * recorded ServiceAccounts, workloads, pods and nodes; the EKS stand-in answers the recorded
 * describe-cluster, node groups and add-ons; moto holds the fleet's roles and OIDC providers in its
 * three accounts. collect runs as the operator runs it: the real kubectl through `aws eks get-token`,
 * the real AWS CLI. What it writes must be the committed fleet folder (examples/northwind/fleet).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { apply, BED, cluster, ROOT, setEks } from './bed';
import { IrsaInventory, MigrationFiles } from '../../src';

const FLEET = path.join(ROOT, 'examples', 'northwind', 'fleet');
const RECORDED = path.join(__dirname, 'northwind');
const CLUSTERS: any[] = JSON.parse(fs.readFileSync(path.join(FLEET, 'clusters.json'), 'utf8'));
/** What the operator writes; collect never touches them. */
const OPERATOR_FILES = ['plan.json', 'state.json', 'placement.json'];
/** IAM reads of the accounts without clusters go through these profiles (seed_iam.py writes them). */
const PROFILES = ['444455556666', '999988887777'].map((a) => `--account-profile=${a}=northwind-${a}`);
const OPERATOR = `bed-${CLUSTERS[0].account}`; // the profile `aws eks update-kubeconfig` wrote into every Northwind context

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bed-northwind-'));
const credentials = path.join(work, 'credentials');
const IAM_DENY = path.join(BED.dir, 'iam-deny.json');

const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
/** The operator's kubeconfig (YAML, as `aws eks update-kubeconfig` wrote it), as JSON. */
const operatorKubeconfig = () => JSON.parse(spawnSync('kubectl', ['config', 'view', '--raw', '-o', 'json'], { encoding: 'utf8' }).stdout);

/** An object as the recording holds it, less what an API server assigns (uid, resourceVersion, creationTimestamp) and its status. */
function recorded(o: any): any {
  const { uid, resourceVersion, creationTimestamp, generation, ...metadata } = o.metadata;
  const { status, ...rest } = o;
  return { ...rest, metadata };
}

/** True when `actual` holds every field `expected` has, with the same value (an API server adds defaults, never changes a field). */
function holds(actual: any, expected: any): boolean {
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => holds(actual[i], e));
  if (expected !== null && typeof expected === 'object') {
    return actual !== null && typeof actual === 'object' && !Array.isArray(actual) && Object.keys(expected).every((k) => holds(actual[k], expected[k]));
  }
  return actual === expected;
}

function collect(args: string[], env: { [k: string]: string } = {}) {
  const r = spawnSync('node', [path.join(ROOT, 'lib', 'collect', 'cli.js'), 'collect', ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_SHARED_CREDENTIALS_FILE: credentials, ...env },
  });
  const errLines = r.stderr.trim() === '' ? [] : r.stderr.trim().split('\n');
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim(), errLines };
}

const contexts = (names = CLUSTERS.map((c) => c.clusterArn)) => names.flatMap((n: string) => ['--context', n]);

/** Every file under a folder, relative, sorted. */
function filesUnder(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? filesUnder(path.join(dir, e.name), base)
    : [path.relative(base, path.join(dir, e.name))])).sort();
}

/** The service accounts an inventory holds, less the file each was read from. */
const accountsOf = (inventory: IrsaInventory) => inventory.serviceAccounts.map(({ source, ...rest }) => rest);

function inventoryOf(folder: string): IrsaInventory {
  const inventory = new IrsaInventory();
  for (const c of MigrationFiles.clustersFromJson(fs.readFileSync(path.join(folder, 'clusters.json'), 'utf8'))) {
    inventory.addServiceAccountsFile(c.clusterName, path.join(folder, 'serviceaccounts', `${c.clusterName}.json`));
    inventory.addWorkloadsFile(c.clusterName, path.join(folder, 'workloads', `${c.clusterName}.json`));
    inventory.addAddonsFile(c.clusterName, path.join(folder, 'addons', c.clusterName, 'vpc-cni.json'));
  }
  return inventory;
}

beforeAll(() => {
  // IAM: the fleet's roles and OIDC providers, and a profile per account
  const seed = spawnSync(path.join(ROOT, '.tools', 'moto', 'bin', 'python'), [path.join(RECORDED, 'seed_iam.py'), BED.env.AWS_ENDPOINT_URL,
    path.join(FLEET, 'roles.json'), RECORDED, path.join(work, 'northwind-credentials')], { encoding: 'utf8' });
  expect(seed.stderr).toEqual('');
  expect(JSON.parse(seed.stdout)).toEqual(['111122223333', '444455556666', '999988887777']);
  fs.writeFileSync(credentials, `${fs.readFileSync(BED.env.AWS_SHARED_CREDENTIALS_FILE, 'utf8')}\n${fs.readFileSync(path.join(work, 'northwind-credentials'), 'utf8')}`);
  // Kubernetes: each cluster's recorded objects, into its API server (server-side apply: no last-applied annotation)
  for (const c of CLUSTERS) {
    const dir = path.join(RECORDED, c.name);
    const serviceAccounts = read(path.join(dir, 'serviceaccounts.json')).items.map(recorded);
    const workloads = read(path.join(dir, 'workloads.json')).items.map(recorded);
    const nodes = read(path.join(dir, 'nodes.json')).items.map(recorded);
    const namespaces = [...new Set([...serviceAccounts, ...workloads].map((o) => o.metadata.namespace))]
      .map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    for (const objects of [namespaces, [...nodes, ...serviceAccounts], workloads]) {
      apply(c.name, objects, ['--server-side']);
    }
  }
});

afterAll(() => {
  fs.rmSync(IAM_DENY, { force: true });
});

describe('collect on the Northwind fleet in the bed', () => {
  test('the fleet, collected, is the committed fleet folder', () => {
    const out = path.join(work, 'fleet');
    // the operator's plan names the cross-account target role to collect too
    fs.mkdirSync(out);
    fs.copyFileSync(path.join(FLEET, 'plan.json'), path.join(out, 'plan.json'));
    const r = collect([...contexts(), '--out', out, ...PROFILES]);
    expect(r.errLines.filter((l) => l.startsWith('WARN'))).toEqual([]);
    expect(r.code).toBe(0);
    const committed = filesUnder(FLEET).filter((f) => !OPERATOR_FILES.includes(f));
    expect(filesUnder(out).filter((f) => f !== 'plan.json')).toEqual(committed);
    // what EKS and IAM answer: the same text
    for (const f of committed.filter((x) => !/^(serviceaccounts|workloads)\//.test(x))) {
      expect({ file: f, text: fs.readFileSync(path.join(out, f), 'utf8') }).toEqual({ file: f, text: fs.readFileSync(path.join(FLEET, f), 'utf8') });
    }
    // what the API servers answer: the same objects in the same order, each holding every recorded field
    // (the API server assigns its own uid, resourceVersion and creationTimestamp, and adds defaults)
    for (const f of committed.filter((x) => /^(serviceaccounts|workloads)\//.test(x))) {
      const got = read(path.join(out, f)).items;
      const want = read(path.join(FLEET, f)).items.map(recorded);
      expect({ file: f, objects: got.map((o: any) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`) })
        .toEqual({ file: f, objects: want.map((o: any) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`) });
      const differ = want.filter((w: any, i: number) => !holds(got[i], w)).map((w: any) => `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`);
      expect({ file: f, differ }).toEqual({ file: f, differ: [] });
      expect(got.every((o: any) => o.metadata.uid && !o.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'])).toBe(true);
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

  test('the library reads what collect wrote: the same inventory as the committed folder\'s', () => {
    const out = path.join(work, 'fleet');
    const clusters = MigrationFiles.clustersFromJson(fs.readFileSync(path.join(out, 'clusters.json'), 'utf8'));
    expect(clusters.map((c) => c.clusterName)).toEqual(CLUSTERS.map((c) => c.name));
    const inventory = inventoryOf(out);
    expect(inventory.serviceAccounts.length).toBeGreaterThan(40);
    expect(accountsOf(inventory)).toEqual(accountsOf(inventoryOf(FLEET)));
    const addonsOf = (i: IrsaInventory) => i.addons.map(({ source, ...rest }) => rest);
    expect(addonsOf(inventory)).toEqual(addonsOf(inventoryOf(FLEET)));
    // every IRSA role the inventory holds was collected, and the cross-account target plan.json adopts
    const roles = MigrationFiles.collectedRolesFromJson(fs.readFileSync(path.join(out, 'roles.json'), 'utf8'));
    const plan = MigrationFiles.planFromJson(fs.readFileSync(path.join(FLEET, 'plan.json'), 'utf8'));
    const named = [...inventory.serviceAccounts.map((s) => s.roleArn), ...plan.crossAccount!.map((c) => c.targetRoleArn)];
    expect(new Set(roles.map((x) => x.arn))).toEqual(new Set(named));
    // the pods and Jobs the API server holds for their controllers were left out
    const workloads = read(path.join(out, 'workloads', 'batch-use1.json')).items;
    expect(read(path.join(RECORDED, 'batch-use1', 'workloads.json')).items.filter((i: any) => i.kind === 'Pod').length).toBeGreaterThan(0);
    expect(workloads.map((i: any) => i.kind)).not.toContain('Pod');
    expect(workloads.map((i: any) => i.kind)).not.toContain('Job');
  });

  test('a missing context: an error that lists the kubeconfig\'s contexts and how to add one', () => {
    const r = collect(['--context', 'payments-prod', '--out', path.join(work, 'none')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^collect: context "payments-prod" is not in the kubeconfig \\(${BED.kubeconfig.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\); it has `
      + 'arn:aws:eks:ap-southeast-2:444455556666:cluster/ledger-apse2, arn:aws:eks:eu-west-1:111122223333:cluster/batch-euw1, '));
    expect(r.err).toMatch(/, readonly@arn:aws:eks:us-west-2:111122223333:cluster\/faults-usw2\. Add it with: aws eks update-kubeconfig --name <cluster> --region <region> --alias payments-prod$/);
    expect(fs.existsSync(path.join(work, 'none'))).toBe(false);
  });

  test('a cluster that is not EKS: an error naming its server', () => {
    const kubeconfig = path.join(work, 'kubeconfig-kind');
    const config = operatorKubeconfig();
    config.clusters.push({ name: 'kind-local', cluster: { server: 'https://127.0.0.1:6443' } });
    config.users.push({ name: 'kind-local', user: { token: 'x' } });
    config.contexts.push({ name: 'kind-local', context: { cluster: 'kind-local', user: 'kind-local' } });
    fs.writeFileSync(kubeconfig, JSON.stringify(config));
    const r = collect(['--context', 'kind-local', '--out', path.join(work, 'none')], { KUBECONFIG: kubeconfig });
    expect(r.code).toBe(1);
    expect(r.err).toEqual('collect: context "kind-local": its server https://127.0.0.1:6443 is not an Amazon EKS endpoint (https://<id>.<x>.<region>.eks.amazonaws.com); collect reads EKS clusters only. Leave this context out.');
  });

  test('no permission on Kubernetes: progress up to that cluster, the forbidden call, what the operator needs; nothing written', () => {
    const [ok, denied] = [CLUSTERS[8], CLUSTERS[9]];
    expect(denied.name).toEqual('tenant-b-euw1');
    const r = collect(['--context', ok.clusterArn, '--context', BED.readonlyContexts[denied.name], '--out', path.join(work, 'none')]);
    expect(r.code).toBe(1);
    expect(r.errLines.filter((l) => l.startsWith('['))).toEqual([expect.stringMatching(/^\[1\/2\] tenant-a-euw1 /)]);
    expect(r.errLines[r.errLines.length - 1]).toEqual(`collect: context "${BED.readonlyContexts[denied.name]}": `
      + `kubectl --context ${BED.readonlyContexts[denied.name]} get serviceaccounts --all-namespaces -o json (its service accounts): `
      + 'forbidden: Error from server (Forbidden): serviceaccounts is forbidden: User "arn:aws:sts::111122223333:assumed-role/platform-readonly/{{SessionName}}" '
      + 'cannot list resource "serviceaccounts" in API group "" at the cluster scope. The operator needs get and list on it in every namespace '
      + '(an EKS access entry with AmazonEKSViewPolicy at cluster scope, or RBAC to the same effect)');
    expect(fs.existsSync(path.join(work, 'none'))).toBe(false);
  });

  test('no permission on EKS: the call, the profile, and the permissions collect needs', async () => {
    await setEks({ deny: ['DescribeAddon'] });
    try {
      const c = CLUSTERS[6];
      const r = collect([...contexts([c.clusterArn]), '--out', path.join(work, 'none')]);
      expect(r.code).toBe(1);
      expect(r.err).toEqual(`collect: context "${c.clusterArn}" (cluster platform-prod-euw1-blue, eu-west-1): `
        + `not permitted: aws eks describe-addon --cluster-name platform-prod-euw1-blue --addon-name vpc-cni --region eu-west-1 --profile ${OPERATOR} --output json `
        + `was denied to profile ${OPERATOR} (AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/platform-operator/operator `
        + 'is not authorized to perform: eks:DescribeAddon on resource: arn:aws:eks:eu-west-1:111122223333:cluster/platform-prod-euw1-blue). '
        + 'collect needs read access: eks:DescribeCluster, eks:ListNodegroups, eks:ListAddons, eks:DescribeAddon, eks:DescribeAddonConfiguration, '
        + 'iam:ListOpenIDConnectProviders, iam:GetAccountAuthorizationDetails (or iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies).');
    } finally {
      await setEks({ deny: [] });
    }
  });

  test('where iam:GetAccountAuthorizationDetails is denied, the roles are read one by one, to the same roles.json', () => {
    const out = path.join(work, 'per-role');
    const c = CLUSTERS[4];
    fs.writeFileSync(IAM_DENY, JSON.stringify(['GetAccountAuthorizationDetails']));
    let r;
    try {
      r = collect([...contexts([c.clusterArn]), '--out', out, ...PROFILES]);
    } finally {
      fs.rmSync(IAM_DENY);
    }
    expect(r.code).toBe(0);
    const roles = read(path.join(out, 'roles.json'));
    expect(r.errLines).toContain(`account 111122223333: iam:GetAccountAuthorizationDetails is denied; reading its ${roles.length - 1} role(s) one by one`);
    expect(r.errLines).toContain('account 999988887777: iam:GetAccountAuthorizationDetails is denied; reading its 1 role(s) one by one');
    expect(roles.length).toBeGreaterThan(3);
    const committed = read(path.join(FLEET, 'roles.json'));
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
    expect(r.errLines[r.errLines.length - 1]).toEqual('collect: roles in account 444455556666 (cross-acct-ingest) cannot be read: the default credentials reach account 111122223333. '
      + fix);
    const wrong = collect([...contexts([CLUSTERS[0].clusterArn]), '--out', out, '--account-profile', `444455556666=${OPERATOR}`]);
    expect(wrong.code).toBe(1);
    expect(wrong.errLines[wrong.errLines.length - 1]).toEqual(`collect: roles in account 444455556666 (cross-acct-ingest) cannot be read: profile ${OPERATOR} reaches account 111122223333. ${fix}`);
    expect(filesUnder(out)).toEqual(['plan.json']); // nothing written
  });

  test('a stale kubeconfig (the cluster replaced, the endpoint changed): an error with the command that rewrites it', () => {
    const c = CLUSTERS[2];
    const stale = path.join(work, 'kubeconfig-stale');
    const config = operatorKubeconfig();
    const user = config.users.find((u: any) => u.name === c.clusterArn).user;
    config.clusters.push({ name: 'tenant-a-old', cluster: { 'server': 'https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com', 'certificate-authority-data': cluster(c.name).caData } });
    config.users.push({ name: 'tenant-a-old', user });
    config.contexts.push({ name: 'tenant-a-old', context: { cluster: 'tenant-a-old', user: 'tenant-a-old' } });
    fs.writeFileSync(stale, JSON.stringify(config));
    const r = collect(['--context', 'tenant-a-old', '--out', path.join(work, 'none')], { KUBECONFIG: stale });
    expect(r.code).toBe(1);
    expect(r.err).toEqual('collect: context "tenant-a-old" (cluster tenant-a-use1, us-east-1): the kubeconfig\'s server https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com '
      + `is not the endpoint of ${c.clusterArn} (https://${c.oidcIssuer.split('/').pop()}.gr7.us-east-1.eks.amazonaws.com): the kubeconfig is stale (the cluster was replaced?) `
      + 'or the credentials reach another account. Rewrite it with: aws eks update-kubeconfig --name tenant-a-use1 --region us-east-1 --alias tenant-a-old');
    // the command it names works as written
    const rewrite = spawnSync('aws', ['eks', 'update-kubeconfig', '--name', 'tenant-a-use1', '--region', 'us-east-1', '--alias', 'tenant-a-old', '--profile', OPERATOR],
      { encoding: 'utf8', env: { ...process.env, KUBECONFIG: stale } });
    expect(rewrite.stderr).toEqual('');
    const again = collect(['--context', 'tenant-a-old', '--out', path.join(work, 'rewritten'), ...PROFILES], { KUBECONFIG: stale });
    expect(again.errLines.filter((l) => l.startsWith('collect:'))).toEqual([]);
    expect(again.code).toBe(0);
  });

  test('collecting part of the fleet into a full folder is refused; --prune removes the other clusters\' files', () => {
    const out = path.join(work, 'partial');
    expect(collect([...contexts(), '--out', out, ...PROFILES]).code).toBe(0);
    const r = collect([...contexts([CLUSTERS[0].clusterArn]), '--out', out, ...PROFILES]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^collect: .*partial holds files of clusters, add-ons or add-on versions that were not collected: serviceaccounts\/batch-euw1\.json, .*Give those clusters' contexts too, or --prune to remove the files \(nothing was written\)\.$/m);
    expect(read(path.join(out, 'clusters.json'))).toHaveLength(11);
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
