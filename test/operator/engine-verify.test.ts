/**
 * The operator engine's verify (operator/src): every check of a wave's service accounts from one read
 * per cluster (pods and ServiceAccounts, associations, add-ons) and one per role, each cluster's lines
 * together and in clusters.tsv's order whatever order the clusters finish in, the scripts' error lines
 * when a read fails, the scripts' options and usage errors. The reads are a stand-in FleetReader here;
 * the test bed's acceptance suite runs verify.sh, which runs this engine, against real parts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main, parseOptions, runVerify, StepOptions, UsageError } from '../../operator/src/cli';
import { jsonResult } from '../../operator/src/json';
import { AssociationSummary, FleetReader, Outcome } from '../../operator/src/reader';
import { associationOfTarget } from '../../operator/src/verify';
import { readWave, Wave, WaveCluster } from '../../operator/src/wave';
import { MigrationPhase as P } from '../../src/migration-phase';

const ACCOUNT = '111122223333';
const cluster = (name: string, region: string): WaveCluster => ({ name, region, account: ACCOUNT, arn: `arn:aws:eks:${region}:${ACCOUNT}:cluster/${name}`, computeType: 'ec2' });
const A = cluster('shop-use1', 'us-east-1');
const B = cluster('shop-euw1', 'eu-west-1');
const issuer = (c: WaveCluster) => `oidc.eks.${c.region}.amazonaws.com/id/${c.name.toUpperCase()}`;
const provider = (c: WaveCluster) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer(c)}`;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

/** A wave folder as the app writes it: two clusters, three service accounts, one owned by an add-on. */
function waveDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-verify-'));
  fs.writeFileSync(path.join(dir, 'wave.tsv'), '# key\tvalue\nwave\tshop\nstacks\tShop-*\n');
  fs.writeFileSync(path.join(dir, 'clusters.tsv'), '# cluster\tregion\taccount\tclusterArn\tcomputeType\n'
    + [A, B].map((c) => [c.name, c.region, c.account, c.arn, c.computeType].join('\t')).join('\n') + '\n');
  const target = (c: WaveCluster, ns: string, sa: string, addon = '-', version = '-') => [c.name, ns, sa, role(`${c.name}-${sa}`), role(`${c.name}-${sa}`), '-', 'ends',
    provider(c), issuer(c), 'phased', '-', `arn:aws:sts::${ACCOUNT}:assumed-role/${c.name}-${sa}/`, `arn:aws:sts::${ACCOUNT}:assumed-role/${c.name}-${sa}/`, addon, version].join('\t');
  fs.writeFileSync(path.join(dir, 'targets.tsv'), '# cluster\tnamespace\t...\n' + [
    target(A, 'payments', 'checkout'),
    target(A, 'kube-system', 'ebs-csi-controller-sa', 'aws-ebs-csi-driver', 'v1.30.0-eksbuild.1'),
    target(B, 'payments', 'checkout'),
  ].join('\n') + '\n');
  return dir;
}

const podIdentityTrust = (ns: string, sa: string) => ({
  Version: '2012-10-17',
  Statement: [{
    Effect: 'Allow',
    Principal: { Service: 'pods.eks.amazonaws.com' },
    Action: ['sts:AssumeRole', 'sts:TagSession'],
    Condition: { StringEquals: { 'aws:RequestTag/kubernetes-namespace': ns, 'aws:RequestTag/kubernetes-service-account': sa } },
  }],
});
const podEnv = [{ name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' }, { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', value: '/t' }];

/** The fleet at POD_IDENTITY_ONLY, every read counted; `delay` makes a cluster slow, `broken` makes reads fail. */
class StandIn implements FleetReader {
  readonly calls: string[] = [];
  constructor(readonly wave: Wave, readonly delay: { [cluster: string]: number } = {}, readonly broken: Set<string> = new Set()) {}
  private async read<T>(what: string, value: () => T): Promise<Outcome<T>> {
    this.calls.push(what);
    const c = what.split(' ')[1];
    await new Promise((r) => setTimeout(r, this.delay[c] ?? 0));
    return this.broken.has(what.split(' ')[0]) ? { ok: false, error: `${what.split(' ')[0]} refused` } : { ok: true, value: value() };
  }
  kubeObjects(c: WaveCluster) {
    return this.read(`kube ${c.name}`, () => this.wave.targets.filter((t) => t.cluster === c.name).flatMap((t) => [
      { kind: 'ServiceAccount', metadata: { namespace: t.namespace, name: t.serviceAccount } },
      { kind: 'Pod', metadata: { namespace: t.namespace, name: `${t.serviceAccount}-0` }, spec: { serviceAccountName: t.serviceAccount, containers: [{ name: 'app', env: podEnv }] }, status: { phase: 'Running' } },
    ]));
  }
  associations(c: WaveCluster) {
    return this.read(`list ${c.name}`, (): AssociationSummary[] => this.wave.targets.filter((t) => t.cluster === c.name)
      .map((t, i) => ({ associationId: `a-${c.name}-${i}`, namespace: t.namespace, serviceAccount: t.serviceAccount })));
  }
  describeAssociation(c: WaveCluster, id: string) {
    return this.read(`describe ${c.name} ${id}`, () => {
      const i = Number(id.split('-').pop());
      const t = this.wave.targets.filter((x) => x.cluster === c.name)[i];
      return { associationId: id, roleArn: t.associationRoleArn };
    });
  }
  addon(c: WaveCluster, name: string) {
    return this.read(`addon ${c.name} ${name}`, () => ({ addonName: name, addonVersion: 'v1.30.0-eksbuild.1', podIdentityAssociations: ['x'] }));
  }
  trust(arn: string) {
    return this.read(`trust - ${arn}`, () => {
      const t = this.wave.targets.find((x) => x.associationRoleArn === arn)!;
      return podIdentityTrust(t.namespace, t.serviceAccount);
    });
  }
  podIdentityEvents(c: WaveCluster) {
    return this.read(`cloudtrail ${c.name}`, () => [{ CloudTrailEvent: JSON.stringify({ requestParameters: { clusterName: c.name } }) }]);
  }
  callerIdentity(c: WaveCluster, ns: string, sa: string) {
    return this.read(`sts ${c.name} ${ns}/${sa}`, () => `arn:aws:sts::${ACCOUNT}:assumed-role/${c.name}-${sa}/eks-session`);
  }
}

const OPTIONS = parseOptions('verify.sh', []) as StepOptions;
const NOW = new Date('2026-12-06T12:00:00.500Z');

async function verify(reader: StandIn, options: Partial<StepOptions> = {}) {
  const out: string[] = [];
  const progress: string[] = [];
  const r = await runVerify(reader.wave, P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, reader, { ...OPTIONS, ...options },
    (l) => out.push(l), (l) => progress.push(l), NOW);
  return { ...r, out, progress };
}

const who = (c: WaveCluster, sa: string, ns = 'payments') => `${c.name} ${ns}/${sa}`;
const EXPECTED_A = [
  `PASS ${who(A, 'ebs-csi-controller-sa', 'kube-system')} add-on aws-ebs-csi-driver v1.30.0-eksbuild.1: serviceAccountRoleArn -, 1 podIdentityAssociations`,
  `PASS ${who(A, 'checkout')} association: role ${role('shop-use1-checkout')}, target role -`,
  `PASS ${who(A, 'ebs-csi-controller-sa', 'kube-system')} association: role ${role('shop-use1-ebs-csi-controller-sa')}, target role -`,
  `PASS ${who(A, 'checkout')} annotation: eks.amazonaws.com/role-arn absent`,
  `PASS ${who(A, 'ebs-csi-controller-sa', 'kube-system')} annotation: eks.amazonaws.com/role-arn absent`,
  `PASS ${who(A, 'checkout')} trust: no OIDC statement for this service account in shop-use1-checkout`,
  `PASS ${who(A, 'checkout')} trust: shop-use1-checkout trusts pods.eks.amazonaws.com for this service account`,
  `PASS ${who(A, 'ebs-csi-controller-sa', 'kube-system')} trust: no OIDC statement for this service account in shop-use1-ebs-csi-controller-sa`,
  `PASS ${who(A, 'ebs-csi-controller-sa', 'kube-system')} trust: shop-use1-ebs-csi-controller-sa trusts pods.eks.amazonaws.com for this service account`,
  `PASS ${who(A, 'checkout')} pods: 1 of 1 pods have the Pod Identity variables and no IRSA ones in every container and init container`,
  `PASS ${who(A, 'ebs-csi-controller-sa', 'kube-system')} pods: 1 of 1 pods have the Pod Identity variables and no IRSA ones in every container and init container`,
];
const EXPECTED_B = [
  `PASS ${who(B, 'checkout')} association: role ${role('shop-euw1-checkout')}, target role -`,
  `PASS ${who(B, 'checkout')} annotation: eks.amazonaws.com/role-arn absent`,
  `PASS ${who(B, 'checkout')} trust: no OIDC statement for this service account in shop-euw1-checkout`,
  `PASS ${who(B, 'checkout')} trust: shop-euw1-checkout trusts pods.eks.amazonaws.com for this service account`,
  `PASS ${who(B, 'checkout')} pods: 1 of 1 pods have the Pod Identity variables and no IRSA ones in every container and init container`,
];

test('every check of the wave, each cluster\'s lines together in clusters.tsv order (the slow first cluster is printed first), and the RESULT line', async () => {
  const r = await verify(new StandIn(readWave(waveDir()), { [A.name]: 40 }));
  expect(r.out).toEqual([
    'INFO shop ANNOTATION_REMOVED -> POD_IDENTITY_ONLY: verify',
    'INFO verifying shop at POD_IDENTITY_ONLY',
    ...EXPECTED_A,
    ...EXPECTED_B,
    'RESULT shop verify ANNOTATION_REMOVED -> POD_IDENTITY_ONLY: every check passed',
  ]);
  expect(r.failed).toBe(0);
  // the fast cluster finished first: its progress line came first
  expect(r.progress.map((l) => l.replace(/, [\d.]+ s$/, ''))).toEqual([
    `verify shop: ${B.name} done (1/2): 5 checks, 0 failed`,
    `verify shop: ${A.name} done (2/2): 11 checks, 0 failed`,
  ]);
});

test('reads: pods and ServiceAccounts once per cluster, the associations listed once per cluster, each described once, each role\'s trust once, each add-on once', async () => {
  const reader = new StandIn(readWave(waveDir()));
  await verify(reader);
  const kinds = (k: string) => reader.calls.filter((c) => c.startsWith(k + ' ')).sort();
  expect(kinds('kube')).toEqual([`kube ${B.name}`, `kube ${A.name}`].sort());
  expect(kinds('list')).toEqual([`list ${B.name}`, `list ${A.name}`].sort());
  expect(kinds('describe')).toEqual([`describe ${A.name} a-${A.name}-0`, `describe ${A.name} a-${A.name}-1`, `describe ${B.name} a-${B.name}-0`].sort());
  expect(kinds('addon')).toEqual([`addon ${A.name} aws-ebs-csi-driver`]);
  expect(kinds('trust')).toHaveLength(3); // three roles, each read once (the IRSA role is the association role)
  expect(kinds('sts')).toEqual([]);
  expect(kinds('cloudtrail')).toEqual([]);
});

test('a read that fails: the scripts\' FAIL line for each service account it concerns, naming the error; the rest still checked', async () => {
  const r = await verify(new StandIn(readWave(waveDir()), {}, new Set(['kube', 'list'])));
  expect(r.out.filter((l) => l.includes(B.name))).toEqual([
    `FAIL ${who(B, 'checkout')} association: cannot list the associations: list refused`,
    `FAIL ${who(B, 'checkout')} annotation: cannot read the ServiceAccount: kube refused`,
    `PASS ${who(B, 'checkout')} trust: no OIDC statement for this service account in shop-euw1-checkout`,
    `PASS ${who(B, 'checkout')} trust: shop-euw1-checkout trusts pods.eks.amazonaws.com for this service account`,
    `FAIL ${who(B, 'checkout')} pods: cannot list the pods of namespace payments: kube refused`,
  ]);
  expect(r.failed).toBe(9);
  expect(r.out[r.out.length - 1]).toBe('RESULT shop verify ANNOTATION_REMOVED -> POD_IDENTITY_ONLY: 9 checks failed');

  const described = await verify(new StandIn(readWave(waveDir()), {}, new Set(['describe', 'trust', 'addon'])));
  expect(described.out.filter((l) => l.includes(B.name))).toEqual([
    `FAIL ${who(B, 'checkout')} association: cannot describe association a-${B.name}-0`,
    `PASS ${who(B, 'checkout')} annotation: eks.amazonaws.com/role-arn absent`,
    `FAIL ${who(B, 'checkout')} trust: cannot read the trust of ${role('shop-euw1-checkout')}: trust refused`,
    `FAIL ${who(B, 'checkout')} trust: cannot read the trust of ${role('shop-euw1-checkout')}: trust refused`,
    `PASS ${who(B, 'checkout')} pods: 1 of 1 pods have the Pod Identity variables and no IRSA ones in every container and init container`,
  ]);
  expect(described.out).toContain(`FAIL ${who(A, 'ebs-csi-controller-sa', 'kube-system')} add-on aws-ebs-csi-driver: cannot call eks describe-addon: addon refused`);
});

test('--json: every check of the run, with what it expected and what it saw (a wrong association role, a read that failed)', async () => {
  const reader = new StandIn(readWave(waveDir()), {}, new Set(['kube']));
  const real = reader.describeAssociation.bind(reader);
  reader.describeAssociation = async (c, id) => {
    const a = await real(c, id);
    return a.ok && c.name === B.name ? { ok: true, value: { ...a.value, roleArn: role('intruder') } } : a;
  };
  const r = await verify(reader);
  const doc = JSON.parse(jsonResult({ wave: 'shop', step: 'verify', from: 'ANNOTATION_REMOVED', to: 'POD_IDENTITY_ONLY' }, r.failed, r.checks));
  expect(doc.checks).toHaveLength(r.out.length - 3); // every line but the two INFO heads and RESULT
  expect(doc.checks.filter((c: any) => c.cluster === B.name && c.check !== 'trust')).toEqual([
    {
      cluster: B.name,
      serviceAccount: 'payments/checkout',
      check: 'association',
      status: 'FAIL',
      expected: `role ${role('shop-euw1-checkout')}, target role -`,
      seen: `role ${role('intruder')}, target role -`,
      detail: `expected role ${role('shop-euw1-checkout')}, target role -; saw role ${role('intruder')}, target role -`,
    },
    {
      cluster: B.name,
      serviceAccount: 'payments/checkout',
      check: 'annotation',
      status: 'FAIL',
      expected: 'absent',
      seen: 'kube refused',
      detail: 'cannot read the ServiceAccount: kube refused',
    },
    {
      cluster: B.name,
      serviceAccount: 'payments/checkout',
      check: 'pods',
      status: 'FAIL',
      expected: 'the Pod Identity variables and no IRSA ones in every container and init container',
      seen: 'kube refused',
      detail: 'cannot list the pods of namespace payments: kube refused',
    },
  ]);
  expect(doc.failed).toBe(r.failed);
  for (const c of doc.checks) {
    expect([c.status, typeof c.expected, typeof c.seen]).toEqual([c.status, 'string', 'string']);
  }
});

test('a ServiceAccount the cluster does not have: the line kubectl get serviceaccount gives', async () => {
  const reader = new StandIn(readWave(waveDir()));
  const real = reader.kubeObjects.bind(reader);
  reader.kubeObjects = async (c) => {
    const o = await real(c);
    return o.ok ? { ok: true, value: o.value.filter((x) => x.kind !== 'ServiceAccount' || c.name !== B.name) } : o;
  };
  const r = await verify(reader);
  expect(r.out).toContain(`FAIL ${who(B, 'checkout')} annotation: cannot read the ServiceAccount: Error from server (NotFound): serviceaccounts "checkout" not found`);
});

test('--sts: a pod per service account; --cloudtrail: the cluster\'s events in the window, one lookup per cluster', async () => {
  const reader = new StandIn(readWave(waveDir()));
  const r = await verify(reader, { sts: true, cloudTrailMinutes: 60 });
  expect(r.out.filter((l) => / (sts|cloudtrail): /.test(l) && l.includes(B.name))).toEqual([
    `PASS ${who(B, 'checkout')} sts: arn:aws:sts::${ACCOUNT}:assumed-role/shop-euw1-checkout/eks-session`,
    `PASS ${B.name} - cloudtrail: 1 AssumeRoleForPodIdentity events since 2026-12-06T11:00:00Z`,
  ]);
  expect(reader.calls.filter((c) => c.startsWith('cloudtrail ')).sort()).toEqual([`cloudtrail ${B.name}`, `cloudtrail ${A.name}`].sort());
  expect(reader.calls.filter((c) => c.startsWith('sts '))).toHaveLength(3);
});

test('the scripts\' options and usage errors (exit 2), and a step that does not exist', async () => {
  expect(parseOptions('verify.sh', ['--timeout', '60', '--interval', '1', '--cloudtrail', '30', '--sts', '--concurrency', '3']))
    .toMatchObject({ timeout: 60, interval: 1, cloudTrailMinutes: 30, sts: true, concurrency: 3, perCluster: 8 });
  expect(() => parseOptions('verify.sh', ['--timeout'])).toThrow(new UsageError('verify.sh: --timeout needs a value'));
  expect(() => parseOptions('verify.sh', ['--timeout', '1m'])).toThrow(new UsageError('verify.sh: expected a whole number of seconds or minutes, got \'1m\''));
  expect(() => parseOptions('verify.sh', ['--bogus'])).toThrow(new UsageError('verify.sh: unknown option --bogus'));
  expect(() => parseOptions('verify.sh', ['--profiles', '/nonexistent/profiles.tsv'])).toThrow(new UsageError('verify.sh: cannot read /nonexistent/profiles.tsv'));
  expect(() => parseOptions('verify.sh', ['--concurrency', '0'])).toThrow(new UsageError('verify.sh: expected a whole number above 0, got \'0\''));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(['step', 'deploy', 'DUAL_TRUST', 'POD_IDENTITY', waveDir()])).toBe(2);
    expect(err).toHaveBeenLastCalledWith('deploy.sh: expected a step (preflight, apply, verify, rollback), got \'deploy\'\n');
    expect(await main(['step', 'verify', 'DUAL', 'POD_IDENTITY', waveDir()])).toBe(2);
    expect(err.mock.calls[err.mock.calls.length - 1][0]).toMatch(/^verify\.sh: expected two phases \(IRSA_ONLY, .*\), got 'DUAL' and 'POD_IDENTITY'\n$/);
  } finally {
    err.mockRestore();
  }
});

test('a wave folder without its data: the file and what to do', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-verify-'));
  fs.writeFileSync(path.join(dir, 'wave.tsv'), '# key\tvalue\n');
  expect(() => readWave(dir)).toThrow(`${path.join(dir, 'wave.tsv')}: no 'wave' line; is ${dir} a wave's folder of a synthesized runbooks/ folder?`);
});

test('a folder that is not a wave\'s: exit 2, the missing file named', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-verify-'));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(['step', 'verify', 'DUAL_TRUST', 'POD_IDENTITY', dir])).toBe(2);
    expect(err).toHaveBeenLastCalledWith(`verify.sh: ${path.join(dir, 'wave.tsv')} is missing: the step runs on a wave's folder of a synthesized runbooks/ folder `
      + '(cdk synth writes it)\n');
  } finally {
    err.mockRestore();
  }
});

test('an association listed but gone when described (an add-on update replaced it): listed again, the new one described', async () => {
  const c = { name: 'c', region: 'us-east-1', account: '111122223333', arn: 'arn:aws:eks:us-east-1:111122223333:cluster/c', computeType: 'EC2' };
  const t = { cluster: 'c', namespace: 'kube-system', serviceAccount: 'aws-node' } as any;
  const calls: string[] = [];
  const lists = [[{ associationId: 'a-new', namespace: 'kube-system', serviceAccount: 'aws-node' }]];
  const reader = {
    associations: async () => {
      calls.push('list');
      return { ok: true as const, value: lists.shift() ?? [] };
    },
    describeAssociation: async (_c: any, id: string) => {
      calls.push(`describe ${id}`);
      return id === 'a-new' ? { ok: true as const, value: { associationId: id } }
        : { ok: false as const, error: `An error occurred (ResourceNotFoundException) when calling the DescribePodIdentityAssociation operation: Could not find pod identity association: ${id}` };
    },
  } as any;
  const listed = { ok: true as const, value: [{ associationId: 'a-old', namespace: 'kube-system', serviceAccount: 'aws-node' }] };
  expect(await associationOfTarget(reader, c, listed, t)).toEqual({ ok: true, value: { associationId: 'a-new' } });
  expect(calls).toEqual(['describe a-old', 'list', 'describe a-new']);
  // gone for good: listed again, none left
  calls.length = 0;
  expect(await associationOfTarget(reader, c, listed, t)).toEqual({ ok: true, value: undefined });
  expect(calls).toEqual(['describe a-old', 'list']);
  // any other error is the check's error
  reader.describeAssociation = async () => ({ ok: false, error: 'An error occurred (AccessDeniedException) when calling the DescribePodIdentityAssociation operation: no' });
  expect(await associationOfTarget(reader, c, listed, t)).toEqual({ ok: false, error: 'cannot describe association a-old' });
});
