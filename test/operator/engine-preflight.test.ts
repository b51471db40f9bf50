/**
 * The operator engine's wave preflight (operator/src/preflight.ts) on a stand-in PreflightReader: which
 * checks each step runs (as lib.sh's pi_preflight decides them from the phase table), the lines in the
 * scripts' order per cluster, one read per cluster and per account, the proxy variables resolved from
 * a namespace's ConfigMaps and Secrets read once, the foundation's hint. The bed runs preflight.sh.
 */
import { InventoryWorkload, preflightChecks, PreflightReader, runPreflight } from '../../operator/src/preflight';
import { AssociationSummary, Outcome } from '../../operator/src/reader';
import { Wave, WaveCluster, WaveTarget } from '../../operator/src/wave';
import { MigrationPhase as P } from '../../src/migration-phase';
import { renderLine } from '../../src/operator/verify-checks';

const ACCOUNT = '111122223333';
const A: WaveCluster = { name: 'shop-use1', region: 'us-east-1', account: ACCOUNT, arn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/shop-use1`, computeType: 'EC2' };
const B: WaveCluster = { name: 'shop-euw1', region: 'eu-west-1', account: ACCOUNT, arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/shop-euw1`, computeType: 'AUTO_MODE' };
const target = (c: WaveCluster, ns: string, sa: string): WaveTarget => ({
  cluster: c.name,
  clusterArn: c.arn,
  namespace: ns,
  serviceAccount: sa,
  irsaRoleArn: `arn:aws:iam::${ACCOUNT}:role/${sa}`,
  associationRoleArn: `arn:aws:iam::${ACCOUNT}:role/${sa}`,
  irsaTrust: 'ends',
  oidcProviderArn: 'p',
  issuer: 'i',
  podTrust: 'phased',
  helmRelease: '-',
  podIdentityIdentity: '-',
  irsaIdentity: '-',
});
const WAVE: Wave = { name: 'shop', dir: '/x', clusters: [A, B], targets: [target(A, 'payments', 'checkout'), target(B, 'payments', 'checkout')] };
const WORKLOADS: InventoryWorkload[] = [
  { cluster: A.name, namespace: 'payments', serviceAccount: 'checkout', kind: 'Deployment', name: 'checkout' },
  { cluster: A.name, namespace: 'payments', serviceAccount: 'checkout', kind: 'CronJob', name: 'gone' },
];
const proxied = {
  containers: [{
    name: 'app',
    envFrom: [{ configMapRef: { name: 'proxy' } }],
    env: [{ name: 'NO_PROXY', valueFrom: { secretKeyRef: { name: 'no-proxy', key: 'value' } } }],
  }],
};

class StandIn implements PreflightReader {
  readonly calls: string[] = [];
  private r<T>(what: string, value: T): Promise<Outcome<T>> {
    this.calls.push(what);
    return Promise.resolve({ ok: true, value });
  }
  callerAccount(account: string) {
    return this.r(`sts ${account}`, account);
  }
  objects(c: WaveCluster, kinds: string[]) {
    const agent = { kind: 'DaemonSet', metadata: { namespace: 'kube-system', name: 'eks-pod-identity-agent' }, status: { desiredNumberScheduled: 2, numberReady: 2 } };
    return this.r(`objects ${c.name} ${kinds.join(',')}`, c.name === A.name ? [
      agent,
      { kind: 'Pod', metadata: { namespace: 'payments', name: 'checkout-1', creationTimestamp: '2026-12-01T00:00:00Z' }, spec: { serviceAccountName: 'checkout', containers: [{ name: 'app' }] }, status: { phase: 'Running' } },
      { kind: 'Deployment', metadata: { namespace: 'payments', name: 'checkout' }, spec: { template: { spec: proxied } } },
      { kind: 'ServiceAccount', metadata: { namespace: 'payments', name: 'checkout' } },
    ] : []);
  }
  namespaced(c: WaveCluster, ns: string, kind: 'configmaps' | 'secret', names: string[] = []) {
    return this.r(`${kind} ${c.name} ${ns} ${names.join(',')}`, kind === 'configmaps'
      ? [{ metadata: { name: 'proxy' }, data: { HTTPS_PROXY: 'http://proxy:3128' } }]
      : [{ metadata: { name: 'no-proxy' }, data: { value: Buffer.from('169.254.170.23').toString('base64') } }]);
  }
  nodeGroups(c: WaveCluster) {
    return this.r(`nodegroups ${c.name}`, [{ nodeGroup: 'ng-1', role: { ok: true as const, value: `arn:aws:iam::${ACCOUNT}:role/nodes` } }]);
  }
  simulate(_a: string, _r: string, role: string) {
    return this.r(`simulate ${role}`, 'allowed');
  }
  kubeObjects(c: WaveCluster) {
    return this.r(`kube ${c.name}`, []);
  }
  associations(c: WaveCluster) {
    return this.r(`list ${c.name}`, [{ associationId: `a-${c.name}`, namespace: 'payments', serviceAccount: 'checkout' }] as AssociationSummary[]);
  }
  describeAssociation(c: WaveCluster, id: string) {
    return this.r(`describe ${c.name}`, { associationId: id, roleArn: `arn:aws:iam::${ACCOUNT}:role/checkout`, createdAt: '2026-11-30T00:00:00Z' });
  }
  addon(c: WaveCluster, name: string) {
    return this.r(`addon ${c.name} ${name}`, {});
  }
  trust() {
    return this.r('trust', {});
  }
  podIdentityEvents() {
    return this.r('cloudtrail', []);
  }
  callerIdentity() {
    return this.r('sts-pod', '-');
  }
}

const run = (reader: StandIn, from: P, to: P, foundation: string[] = []) => runPreflight(WAVE, from, to, reader, {
  perCluster: 4, concurrency: 2, assembly: '/cdk.out', assemblyPhase: `${to}\n`, foundation: new Set(foundation), workloads: WORKLOADS,
}, true).then((ls) => ls.map(renderLine));

test('the checks of each step, as pi_preflight decides them from the phase table', () => {
  expect(preflightChecks(P.IRSA_ONLY, P.DUAL_TRUST)).toEqual({ agent: false, annotation: false, noIrsaPods: false, association: false });
  expect(preflightChecks(P.DUAL_TRUST, P.POD_IDENTITY)).toEqual({ agent: true, annotation: false, noIrsaPods: false, association: false });
  expect(preflightChecks(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY))
    .toEqual({ agent: false, annotation: false, noIrsaPods: true, association: false });
  expect(preflightChecks(P.POD_IDENTITY, P.DUAL_TRUST)).toEqual({ agent: false, annotation: true, noIrsaPods: false, association: false });
  expect(preflightChecks(P.DUAL_TRUST, P.IRSA_ONLY)).toEqual({ agent: false, annotation: false, noIrsaPods: false, association: true });
});

test('DUAL_TRUST -> POD_IDENTITY: assembly, then per cluster its account, agent, node roles, Security Groups for Pods, proxies (variables resolved), what no API shows', async () => {
  const reader = new StandIn();
  expect(await run(reader, P.DUAL_TRUST, P.POD_IDENTITY, [B.name])).toEqual([
    'PASS - - assembly: /cdk.out holds shop at POD_IDENTITY',
    `PASS ${A.name} - credentials: account ${ACCOUNT}`,
    `PASS ${A.name} - agent: eks-pod-identity-agent ready on 2 of 2 nodes`,
    `PASS ${A.name} - node role: nodes (node group ng-1) allows eks-auth:AssumeRoleForPodIdentity`,
    `INFO ${A.name} - security groups for pods: no aws-node DaemonSet (not the VPC CNI): nothing to check`,
    `INFO ${A.name} payments/checkout proxy: cronjob/gone of the inventory is gone`,
    `FAIL ${A.name} payments/checkout proxy: expected NO_PROXY to hold 169.254.170.23,[fd00:ec2::23] wherever HTTP(S)_PROXY is set; `
      + 'saw deployment/checkout/app: proxy http://proxy:3128, NO_PROXY lacks [fd00:ec2::23]',
    `CANNOT-CHECK ${A.name} - SDK versions: every container's AWS SDK must support the container credential provider (e.g. boto3 >= 1.34.41, `
      + 'AWS CLI >= 1.30.0 / 2.15.0; see the EKS user guide, pod-id-minimum-sdk); older SDKs silently use the node role',
    `CANNOT-CHECK ${A.name} - EKS Auth endpoint: nodes without internet access need the com.amazonaws.us-east-1.eks-auth interface endpoint in the cluster's VPC`,
    `PASS ${B.name} - credentials: account ${ACCOUNT}`,
    `INFO ${B.name} - agent: built into EKS Auto Mode nodes`,
    `INFO ${B.name} - security groups for pods: no aws-node DaemonSet (not the VPC CNI): nothing to check`,
    `PASS ${B.name} payments/checkout proxy: no container sends the agent's address (169.254.170.23, [fd00:ec2::23]) to a proxy`,
    `CANNOT-CHECK ${B.name} - SDK versions: every container's AWS SDK must support the container credential provider (e.g. boto3 >= 1.34.41, `
      + 'AWS CLI >= 1.30.0 / 2.15.0; see the EKS user guide, pod-id-minimum-sdk); older SDKs silently use the node role',
    `CANNOT-CHECK ${B.name} - EKS Auth endpoint: nodes without internet access need the com.amazonaws.eu-west-1.eks-auth interface endpoint in the cluster's VPC`,
  ]);
  // one account read for the two clusters of one account and two regions? one per account and region; one kubectl read per cluster;
  // the namespace's ConfigMaps and the named Secret once; no node groups on Auto Mode
  expect(reader.calls.filter((c) => c.startsWith('objects ')).sort()).toEqual([
    `objects ${B.name} pods,serviceaccounts,daemonsets`, `objects ${A.name} pods,serviceaccounts,daemonsets,deployment,cronjob`,
  ].sort());
  expect(reader.calls.filter((c) => /^(configmaps|secret) /.test(c))).toEqual([`configmaps ${A.name} payments `, `secret ${A.name} payments no-proxy`]);
  expect(reader.calls.filter((c) => c.startsWith('nodegroups '))).toEqual([`nodegroups ${A.name}`]);
});

test('the foundation\'s hint where the agent is missing on a cluster the migration installs it on', async () => {
  const reader = new StandIn();
  const real = reader.objects.bind(reader);
  reader.objects = async (c, kinds) => {
    const o = await real(c, kinds);
    return o.ok ? { ok: true, value: o.value.filter((x) => x.kind !== 'DaemonSet') } : o;
  };
  expect((await run(reader, P.DUAL_TRUST, P.POD_IDENTITY, [A.name])).filter((l) => l.includes(' agent: '))).toEqual([
    `FAIL ${A.name} - agent: expected DaemonSet kube-system/eks-pod-identity-agent; saw: Error from server (NotFound): daemonsets.apps "eks-pod-identity-agent" not found. `
      + `The migration installs the agent of ${A.name} in its foundation step: run runbooks/foundation/apply.sh first (see runbooks/foundation.md)`,
    `INFO ${B.name} - agent: built into EKS Auto Mode nodes`,
  ]);
});

test('ANNOTATION_REMOVED -> POD_IDENTITY_ONLY: no pod older than its association; DUAL_TRUST -> IRSA_ONLY: the association gone', async () => {
  expect((await run(new StandIn(), P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY)).filter((l) => l.includes('payments/checkout'))).toEqual([
    `PASS ${A.name} payments/checkout no IRSA pods: every pod was created after the association (2026-11-30T00:00:00Z) and none has AWS_WEB_IDENTITY_TOKEN_FILE`,
    `PASS ${B.name} payments/checkout no IRSA pods: every pod was created after the association (2026-11-30T00:00:00Z) and none has AWS_WEB_IDENTITY_TOKEN_FILE`,
  ]);
  expect((await run(new StandIn(), P.DUAL_TRUST, P.IRSA_ONLY)).filter((l) => l.includes('payments/checkout'))).toEqual([
    `FAIL ${A.name} payments/checkout association: expected none in DUAL_TRUST; saw a-${A.name} naming arn:aws:iam::${ACCOUNT}:role/checkout`,
    `FAIL ${B.name} payments/checkout association: expected none in DUAL_TRUST; saw a-${B.name} naming arn:aws:iam::${ACCOUNT}:role/checkout`,
  ]);
});
