/**
 * The operator engine's apply and rollback (operator/src/apply.ts), run from the transition table,
 * on stand-ins: a PreflightReader and a small in-memory Kubernetes API whose controllers finish a
 * rollout at the next list. What is proven here: the stages in the table's order, every stage on
 * every cluster before the next begins (no restart anywhere unless every association and probe
 * passed), the exact lines of each stage, the waits polled once per cluster and interval (not per
 * service account), the restart budget per cluster. The bed runs the generated apply.sh and
 * rollback.sh against the real API server and webhook.
 */
import { ApplyContext, ApplyOptions, Clock, runApply } from '../../operator/src/apply';
import { KubeApi, KubeResponse } from '../../operator/src/kube';
import { PreflightReader } from '../../operator/src/preflight';
import { AssociationSummary, Outcome } from '../../operator/src/reader';
import { Wave, WaveCluster, WaveTarget } from '../../operator/src/wave';
import { MigrationPhase as P } from '../../src/migration-phase';
import { renderLine } from '../../src/operator/verify-checks';

const ACCOUNT = '111122223333';
const cluster = (name: string): WaveCluster => ({ name, region: 'us-east-1', account: ACCOUNT, arn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${name}`, computeType: 'AUTO_MODE' });
const A = cluster('shop-a');
const B = cluster('shop-b');
const role = (sa: string) => `arn:aws:iam::${ACCOUNT}:role/${sa}`;
const target = (c: WaveCluster, sa: string, helmRelease = '-'): WaveTarget => ({
  cluster: c.name,
  clusterArn: c.arn,
  namespace: 'payments',
  serviceAccount: sa,
  irsaRoleArn: role(sa),
  associationRoleArn: role(sa),
  irsaTrust: 'ends',
  oidcProviderArn: 'p',
  issuer: 'i',
  podTrust: 'phased',
  helmRelease,
  podIdentityIdentity: '-',
  irsaIdentity: '-',
});

/** A clock whose sleeps pass at once: sleeps that start together end together. */
class FakeClock implements Clock {
  t = Date.parse('2026-12-06T12:00:00Z');
  now() {
    return this.t;
  }
  async sleep(seconds: number, signal?: AbortSignal) {
    const until = this.t + seconds * 1000;
    await new Promise((resolve) => setImmediate(resolve));
    if (!signal?.aborted) this.t = Math.max(this.t, until);
  }
}

/** A stand-in reader: the associations appear `after` polls (never for the names in `never`). */
class Reader implements PreflightReader {
  readonly calls: string[] = [];
  polls = new Map<string, number>();
  constructor(readonly sas: { [cluster: string]: string[] }, readonly after = 1, readonly never: string[] = [], readonly present = false) {}
  private r<T>(what: string, value: T): Promise<Outcome<T>> {
    this.calls.push(what);
    return Promise.resolve({ ok: true, value });
  }
  callerAccount(account: string) {
    return this.r('sts', account);
  }
  objects(c: WaveCluster) {
    return this.r(`objects ${c.name}`, this.sas[c.name].map((sa) => ({ kind: 'ServiceAccount', metadata: { namespace: 'payments', name: sa, annotations: { 'eks.amazonaws.com/role-arn': role(sa) } } })));
  }
  namespaced() {
    return this.r('namespaced', []);
  }
  nodeGroups() {
    return this.r('nodegroups', []);
  }
  simulate() {
    return this.r('simulate', 'allowed');
  }
  kubeObjects(c: WaveCluster) {
    return this.r(`kube ${c.name}`, []);
  }
  associations(c: WaveCluster) {
    const n = (this.polls.get(c.name) ?? 0) + 1;
    this.polls.set(c.name, n);
    const visible = this.present || n > this.after;
    return this.r(`list ${c.name}`, (visible ? this.sas[c.name].filter((sa) => !this.never.includes(`${c.name}/${sa}`)) : [])
      .map((sa) => ({ associationId: `a-${sa}`, namespace: 'payments', serviceAccount: sa })) as AssociationSummary[]);
  }
  describeAssociation(_c: WaveCluster, id: string) {
    return this.r('describe', { associationId: id, roleArn: role(id.slice(2)), createdAt: 1 });
  }
  addon() {
    return this.r('addon', {});
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

/**
 * A cluster's API in memory: a Deployment per service account (pods owned through a ReplicaSet),
 * whose controller finishes a rollout at the next list (never for `stuck`); a dry run gives the
 * Pod Identity variables unless the namespace refuses it.
 */
class FakeApi implements KubeApi {
  readonly requests: string[] = [];
  readonly objects = new Map<string, any>();
  refuse?: string;
  stuck = new Set<string>();
  constructor(sas: string[], private readonly mode: 'pod-identity' | 'irsa' = 'pod-identity') {
    for (const sa of sas) {
      this.put('/apis/apps/v1/namespaces/payments/deployments', {
        kind: 'Deployment',
        metadata: { name: sa, namespace: 'payments', generation: 1 },
        spec: { replicas: 2 },
        status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
      });
      this.put('/apis/apps/v1/namespaces/payments/replicasets', {
        kind: 'ReplicaSet', metadata: { name: `${sa}-1`, namespace: 'payments', ownerReferences: [{ kind: 'Deployment', name: sa, controller: true }] },
      });
      this.put('/api/v1/namespaces/payments/pods', {
        kind: 'Pod',
        metadata: { name: `${sa}-1-x`, namespace: 'payments', uid: `u-${sa}`, ownerReferences: [{ kind: 'ReplicaSet', name: `${sa}-1`, controller: true }] },
        spec: { serviceAccountName: sa },
        status: { phase: 'Running' },
      });
      this.put('/api/v1/namespaces/payments/serviceaccounts', { kind: 'ServiceAccount', metadata: { name: sa, namespace: 'payments', annotations: {} } });
    }
  }
  /** An OnDelete DaemonSet of `pods` pods under the service account. */
  daemonSet(name: string, sa: string, pods: number) {
    this.put('/apis/apps/v1/namespaces/payments/daemonsets', {
      kind: 'DaemonSet',
      metadata: { name, namespace: 'payments', generation: 1 },
      spec: { updateStrategy: { type: 'OnDelete' } },
      status: { desiredNumberScheduled: pods, numberReady: pods, updatedNumberScheduled: 0 },
    });
    for (let i = 0; i < pods; i++) {
      this.put('/api/v1/namespaces/payments/pods', {
        kind: 'Pod',
        metadata: { name: `${name}-${i}`, namespace: 'payments', uid: `u-${name}-${i}`, ownerReferences: [{ kind: 'DaemonSet', name, controller: true }] },
        spec: { serviceAccountName: sa },
        status: { phase: 'Running' },
      });
    }
  }
  put(collection: string, o: any) {
    this.objects.set(`${collection}/${o.metadata.name}`, o);
  }
  private ok(body: any, status = 200): Promise<Outcome<KubeResponse>> {
    return Promise.resolve({ ok: true, value: { status, body } });
  }
  request(method: string, path: string, body?: any): Promise<Outcome<KubeResponse>> {
    this.requests.push(`${method} ${path}`);
    if (method === 'POST' && path.endsWith('/pods?dryRun=All')) {
      if (this.refuse) return this.ok({ kind: 'Status', reason: 'Forbidden', message: this.refuse }, 403);
      const env = this.mode === 'pod-identity'
        ? ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'] : ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
      return this.ok({ ...body, spec: { ...body.spec, containers: [{ ...body.spec.containers[0], env: env.map((name) => ({ name, value: 'x' })) }] } }, 201);
    }
    const o = this.objects.get(path);
    if (method === 'GET' && o === undefined) {
      // a collection: its objects, the controllers' work done since the last list; as the API server lists them, without their kind
      const items = [...this.objects.entries()].filter(([k]) => k.slice(0, k.lastIndexOf('/')) === path).map(([, v]) => v);
      for (const d of items.filter((x) => x.kind === 'Deployment' && !this.stuck.has(x.metadata.name))) {
        d.status = { observedGeneration: d.metadata.generation, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };
      }
      return this.ok({ items: items.map(({ kind, ...rest }) => rest) });
    }
    if (method === 'DELETE' && o?.kind === 'Pod') {
      // an OnDelete DaemonSet's controller makes the node's new pod, from the new template
      this.objects.delete(path);
      const owner = o.metadata.ownerReferences?.[0];
      if (owner?.kind === 'DaemonSet') {
        const ds = this.objects.get(`/apis/apps/v1/namespaces/payments/daemonsets/${owner.name}`);
        ds.status.updatedNumberScheduled++;
        this.put('/api/v1/namespaces/payments/pods', { ...o, metadata: { ...o.metadata, name: `${o.metadata.name}-new`, uid: `${o.metadata.uid}-new` } });
      }
      return this.ok(o);
    }
    if (method === 'PATCH' && o?.kind === 'DaemonSet') {
      return this.ok(o);
    }
    if (o === undefined) return this.ok({ kind: 'Status', reason: 'NotFound', message: `not found: ${path}` }, 404);
    if (method === 'PATCH' && o.kind === 'Deployment') {
      o.metadata.generation++;
      o.status = { ...o.status, updatedReplicas: 0 };
      return this.ok(o);
    }
    if (method === 'PATCH' && o.kind === 'ServiceAccount') {
      const a = body.metadata.annotations;
      for (const k of Object.keys(a)) {
        if (a[k] === null) delete o.metadata.annotations[k];
        else o.metadata.annotations[k] = a[k];
      }
      return this.ok(o);
    }
    return this.ok(o);
  }
  close() {}
}

const WAVE: Wave = {
  name: 'shop',
  dir: '/x',
  clusters: [A, B],
  targets: [target(A, 'checkout'), target(A, 'ledger', 'ledger'), target(B, 'checkout')],
};
const SAS = { [A.name]: ['checkout', 'ledger'], [B.name]: ['checkout'] };

function setUp(from: P, to: P, reader = new Reader(SAS), options: Partial<ApplyOptions> = {}) {
  const apis = new Map<string, FakeApi>(WAVE.clusters.map((c) => [c.name, new FakeApi(SAS[c.name], to === P.DUAL_TRUST ? 'irsa' : 'pod-identity')]));
  const events: string[] = [];
  const out: string[] = [];
  const context: ApplyContext = {
    kube: (c) => apis.get(c.name)!,
    deploy: async (cdk, assembly, stacks) => {
      events.push(`deploy ${cdk.join(' ')} ${assembly} ${stacks}`);
      return options.skipDeploy === undefined ? !stacks.includes('broken') : true;
    },
    clock: new FakeClock(),
    out: (l) => out.push(l),
    progress: () => {},
  };
  const run = () => runApply(WAVE, from, to, reader, {
    perCluster: 4,
    concurrency: 2,
    assembly: '/cdk.out',
    assemblyPhase: to,
    foundation: new Set(),
    workloads: [],
    timeout: 30,
    interval: 5,
    skipDeploy: false,
    cdk: ['npx', 'cdk'],
    stacks: 'Shop-*',
    triggerCronJobs: false,
    stsImage: 'aws-cli',
    sts: false,
    cloudTrailMinutes: 0,
    kubectlFound: true,
    ...options,
  }, context);
  return { apis, events, out, run, reader };
}

const changes = (api: FakeApi) => api.requests.filter((r) => !r.startsWith('GET '));

test('DUAL_TRUST -> POD_IDENTITY: deploy, the associations waited for per cluster, the probe, each Deployment restarted and rolled out, then verify', async () => {
  const s = setUp(P.DUAL_TRUST, P.POD_IDENTITY);
  const lines = (await s.run()).map(renderLine);
  // the stages before verify's lines
  expect(lines.filter((l) => /^(DO|PASS|WAIT|FAIL) .* (deploy|association|injection|restart):/.test(l) && !l.includes('association: role'))).toEqual([
    'DO - - deploy: npx cdk deploy --app /cdk.out \'Shop-*\'',
    'PASS - - deploy: Shop-*',
    `WAIT ${A.name} - association: 2 of 2 not present yet`,
    `PASS ${A.name} payments/checkout association: present after 5s`,
    `PASS ${A.name} payments/ledger association: present after 5s`,
    `WAIT ${B.name} - association: 1 of 1 not present yet`,
    `PASS ${B.name} payments/checkout association: present after 5s`,
    `PASS ${A.name} payments/checkout injection: a new pod gets the Pod Identity variables (server-side dry run)`,
    `PASS ${A.name} payments/ledger injection: a new pod gets the Pod Identity variables (server-side dry run)`,
    `PASS ${B.name} payments/checkout injection: a new pod gets the Pod Identity variables (server-side dry run)`,
    `DO ${A.name} payments/checkout restart: kubectl rollout restart deployment/checkout`,
    `PASS ${A.name} payments/checkout restart: deployment/checkout rolled out`,
    `DO ${A.name} payments/ledger restart: kubectl rollout restart deployment/ledger`,
    `PASS ${A.name} payments/ledger restart: deployment/ledger rolled out`,
    `DO ${B.name} payments/checkout restart: kubectl rollout restart deployment/checkout`,
    `PASS ${B.name} payments/checkout restart: deployment/checkout rolled out`,
  ]);
  expect(s.out).toContain('INFO verifying shop at POD_IDENTITY');
  expect(s.events).toEqual(['deploy npx cdk /cdk.out Shop-*']);
  // one list of the associations per cluster and poll (two polls each, whatever the number of service accounts), then verify's read
  expect(s.reader.polls).toEqual(new Map([[A.name, 3], [B.name, 3]]));
  // the changes: a dry run per service account, a restart per Deployment, nothing else
  expect(changes(s.apis.get(A.name)!)).toEqual([
    'POST /api/v1/namespaces/payments/pods?dryRun=All', 'POST /api/v1/namespaces/payments/pods?dryRun=All',
    'PATCH /apis/apps/v1/namespaces/payments/deployments/checkout', 'PATCH /apis/apps/v1/namespaces/payments/deployments/ledger',
  ]);
  expect(s.apis.get(A.name)!.objects.get('/apis/apps/v1/namespaces/payments/deployments/checkout').metadata.generation).toBe(2);
});

test('an association that never shows: FAIL after the timeout, STOP, and no pod restarted or probed on any cluster', async () => {
  const s = setUp(P.DUAL_TRUST, P.POD_IDENTITY, new Reader(SAS, 1, [`${A.name}/ledger`]));
  const lines = (await s.run()).map(renderLine);
  expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([`FAIL ${A.name} payments/ledger association: expected it present within 30s; saw it absent`]);
  expect(s.out).toContain('STOP: the associations are not as POD_IDENTITY expects; no pod was restarted');
  expect(s.out.some((l) => l.includes('verifying'))).toBe(false);
  for (const api of s.apis.values()) expect(changes(api)).toEqual([]);
});

test('a probe refused in one cluster stops every cluster before any restart', async () => {
  const s = setUp(P.DUAL_TRUST, P.POD_IDENTITY);
  s.apis.get(B.name)!.refuse = 'pods "pod-identity-dry-run" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1';
  const lines = (await s.run()).map(renderLine);
  expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([`FAIL ${B.name} payments/checkout injection: the dry-run pod was refused: Error from server (Forbidden): `
    + 'pods "pod-identity-dry-run" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1. The namespace\'s ResourceQuota '
    + 'has no room for the probe pod: give it room for one more pod during the step (a rolling restart with maxSurge needs it too), then run this script again']);
  expect(s.out).toContain('STOP: new pods would not get the expected credentials; no pod was restarted');
  for (const api of s.apis.values()) expect(changes(api).filter((r) => r.startsWith('PATCH'))).toEqual([]);
});

test('a rollout that never completes fails with what kubectl rollout status says on a timeout; the others roll out', async () => {
  const s = setUp(P.DUAL_TRUST, P.POD_IDENTITY);
  s.apis.get(A.name)!.stuck.add('ledger');
  const lines = (await s.run()).map(renderLine);
  expect(lines.filter((l) => l.startsWith('FAIL') && l.includes('restart'))).toEqual([
    `FAIL ${A.name} payments/ledger restart: expected deployment/ledger rolled out within 30s; saw error: timed out waiting for the condition`,
  ]);
  expect(lines).toContain(`PASS ${A.name} payments/checkout restart: deployment/checkout rolled out`);
});

test('the waits poll once per cluster and interval: 30 Deployments of a cluster rolled out with a handful of lists', async () => {
  const many = Array.from({ length: 30 }, (_, i) => `sa-${i}`);
  const wave: Wave = { name: 'shop', dir: '/x', clusters: [A], targets: many.map((sa) => target(A, sa)) };
  const api = new FakeApi(many);
  const reader = new Reader({ [A.name]: many });
  await runApply(wave, P.DUAL_TRUST, P.POD_IDENTITY, reader, {
    perCluster: 8,
    concurrency: 2,
    assembly: '/cdk.out',
    assemblyPhase: P.POD_IDENTITY,
    foundation: new Set(),
    workloads: [],
    timeout: 30,
    interval: 5,
    skipDeploy: true,
    cdk: ['cdk'],
    stacks: 'x',
    triggerCronJobs: false,
    stsImage: 'i',
    sts: false,
    cloudTrailMinutes: 0,
    kubectlFound: true,
  }, { kube: () => api, deploy: async () => true, clock: new FakeClock(), out: () => {}, progress: () => {} });
  expect(api.requests.filter((r) => r.startsWith('PATCH'))).toHaveLength(30);
  const deploymentLists = api.requests.filter((r) => r === 'GET /apis/apps/v1/namespaces/payments/deployments').length;
  expect(deploymentLists).toBeGreaterThan(0);
  // 30 rollouts, 8 at a time (the restart budget): a list per poll of the waiters, not one per Deployment per poll
  expect(deploymentLists).toBeLessThanOrEqual(8);
});

test('POD_IDENTITY -> ANNOTATION_REMOVED: the annotations removed after the deploy, a TODO for the Helm-owned one, no restart', async () => {
  const s = setUp(P.POD_IDENTITY, P.ANNOTATION_REMOVED, new Reader(SAS, 0, [], true));
  const lines = (await s.run()).map(renderLine);
  expect(lines.filter((l) => l.includes(' annotation: ') && !l.startsWith('PASS') && !l.startsWith('FAIL'))).toEqual([
    `DO ${A.name} payments/checkout annotation: kubectl annotate serviceaccount checkout eks.amazonaws.com/role-arn-`,
    `DO ${A.name} payments/ledger annotation: kubectl annotate serviceaccount ledger eks.amazonaws.com/role-arn-`,
    `TODO ${A.name} payments/ledger annotation: Helm release ledger owns this ServiceAccount: remove eks.amazonaws.com/role-arn from its values `
      + '(e.g. serviceAccount.annotations) or the next helm upgrade puts it back',
    `DO ${B.name} payments/checkout annotation: kubectl annotate serviceaccount checkout eks.amazonaws.com/role-arn-`,
  ]);
  expect(changes(s.apis.get(A.name)!)).toEqual([
    'PATCH /api/v1/namespaces/payments/serviceaccounts/checkout', 'PATCH /api/v1/namespaces/payments/serviceaccounts/ledger',
  ]);
  expect(s.apis.get(A.name)!.objects.get('/api/v1/namespaces/payments/serviceaccounts/checkout').metadata.annotations).toEqual({});
});

test('back from ANNOTATION_REMOVED to POD_IDENTITY: the annotations come back before the deploy', async () => {
  const s = setUp(P.ANNOTATION_REMOVED, P.POD_IDENTITY, new Reader(SAS, 0, [], true));
  const lines = (await s.run()).map(renderLine);
  const deploy = lines.indexOf('DO - - deploy: npx cdk deploy --app /cdk.out \'Shop-*\'');
  const annotate = lines.indexOf(`DO ${A.name} payments/checkout annotation: kubectl annotate --overwrite serviceaccount checkout eks.amazonaws.com/role-arn=${role('checkout')}`);
  expect(annotate).toBeGreaterThan(-1);
  expect(annotate).toBeLessThan(deploy);
  expect(lines).toContain(`TODO ${A.name} payments/ledger annotation: Helm release ledger owns this ServiceAccount: put eks.amazonaws.com/role-arn=${role('ledger')} back in its values`);
  expect(s.apis.get(B.name)!.objects.get('/api/v1/namespaces/payments/serviceaccounts/checkout').metadata.annotations)
    .toEqual({ 'eks.amazonaws.com/role-arn': role('checkout') });
});

test('a failed deploy changes nothing after it; --skip-deploy leaves the deploy to the pipeline (TODO) and does the rest', async () => {
  const failed = setUp(P.DUAL_TRUST, P.POD_IDENTITY, new Reader(SAS), { stacks: 'broken-*' });
  const lines = (await failed.run()).map(renderLine);
  expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual(['FAIL - - deploy: cdk deploy of broken-* failed; CloudFormation rolled the stacks back. Nothing else was changed']);
  expect(failed.reader.polls.size).toBe(0);
  const skipped = setUp(P.DUAL_TRUST, P.POD_IDENTITY, new Reader(SAS), { skipDeploy: true });
  const skippedLines = (await skipped.run()).map(renderLine);
  expect(skippedLines).toContain('TODO - - deploy: skipped (--skip-deploy); make sure the pipeline deployed /cdk.out before going on');
  expect(skipped.events).toEqual([]);
  expect(skippedLines.filter((l) => l.includes('rolled out'))).toHaveLength(3);
});

test('a preflight failure stops before anything changes', async () => {
  const s = setUp(P.DUAL_TRUST, P.POD_IDENTITY, new Reader(SAS), { assemblyPhase: P.DUAL_TRUST });
  await s.run();
  expect(s.out).toContain('STOP: 1 preflight checks failed; nothing was changed');
  expect(s.events).toEqual([]);
  for (const api of s.apis.values()) expect(api.requests).toEqual([]);
});

test('an OnDelete DaemonSet: its pods deleted one at a time, each waited for (the API lists DaemonSets without their kind)', async () => {
  const s = setUp(P.DUAL_TRUST, P.POD_IDENTITY);
  s.apis.get(B.name)!.daemonSet('shipper', 'checkout', 2);
  const lines = (await s.run()).map(renderLine).filter((l) => l.includes('shipper'));
  expect(lines).toEqual([
    `DO ${B.name} payments/checkout restart: daemonset/shipper uses OnDelete: deleting pod shipper-0`,
    `DO ${B.name} payments/checkout restart: daemonset/shipper uses OnDelete: deleting pod shipper-1`,
    `PASS ${B.name} payments/checkout restart: daemonset/shipper (OnDelete): 2 pods recreated one at a time, all ready`,
  ]);
  expect(changes(s.apis.get(B.name)!).filter((r) => r.includes('shipper'))).toEqual([
    'PATCH /apis/apps/v1/namespaces/payments/daemonsets/shipper',
    'DELETE /api/v1/namespaces/payments/pods/shipper-0',
    'DELETE /api/v1/namespaces/payments/pods/shipper-1',
  ]);
});

test('which workloads to restart: each namespace\'s pods read once, however many of its service accounts the wave has', async () => {
  const s = setUp(P.DUAL_TRUST, P.POD_IDENTITY);
  await s.run();
  // shop-a has two service accounts in payments: one read of its pods before the restarts
  expect(s.apis.get(A.name)!.requests.filter((r) => r === 'GET /api/v1/namespaces/payments/pods')).toHaveLength(1);
});
