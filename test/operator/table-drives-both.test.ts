/**
 * One transition table drives both the operator command and the Markdown runbook (issue 23, item 3):
 * change a step's plan and both the runbook's row and what apply does change with it.
 */
import { runApply } from '../../operator/src/apply';
import { KubeApi } from '../../operator/src/kube';
import { PreflightReader } from '../../operator/src/preflight';
import { Wave, WaveCluster } from '../../operator/src/wave';
import * as table from '../../src/migration/private/transition-table';
import { WaveReport } from '../../src/migration/private/wave-report';
import { renderRunbook } from '../../src/migration/runbook';
import { MigrationPhase as P } from '../../src/migration-phase';

const C: WaveCluster = { name: 'shop', region: 'us-east-1', account: '111122223333', arn: 'arn:aws:eks:us-east-1:111122223333:cluster/shop', computeType: 'AUTO_MODE' };
const REPORT = {
  wave: 'w',
  phase: P.DUAL_TRUST,
  recorded: P.DUAL_TRUST,
  contextKey: 'k',
  stacks: [],
  stackPattern: 'S/w/*',
  importStacks: [],
  adoptedRoles: [],
  clusters: [{ name: 'shop', region: 'us-east-1', account: '111122223333', arn: C.arn, computeType: 'AUTO_MODE', assignments: [], helmManaged: [] }],
} as unknown as WaveReport;
const row = (md: string) => md.split('\n').find((l) => l.startsWith('| DUAL_TRUST → POD_IDENTITY'))!;

test('the runbook\'s row of a step is rendered from the table: every stage apply runs, in order, and the step back', () => {
  expect(row(renderRunbook(REPORT))).toBe('| DUAL_TRUST → POD_IDENTITY **(next)** | `cdk.out/runbooks/w/DUAL_TRUST-to-POD_IDENTITY/` '
    + '| the Pod Identity associations are created '
    + '| preflight (the agent, node roles, Security Groups for Pods, proxies); deploys; polls until each association is visible; '
    + 'proves with a server-side dry run that new pods get Pod Identity; restarts every workload (rollout status, OnDelete pods one by one, CronJobs on request); '
    + 'verifies POD_IDENTITY '
    + '| the Pod Identity associations are deleted; preflight (the annotations are there); deploys; polls until each association is gone; '
    + 'proves with a server-side dry run that new pods get IRSA; restarts every workload (rollout status, OnDelete pods one by one, CronJobs on request); verifies DUAL_TRUST |');
});

test('a change to the table changes both: without restarts, the runbook stops promising them and apply restarts nothing', async () => {
  const plan = { ...table.stepPlan(P.DUAL_TRUST, P.POD_IDENTITY), restart: false };
  const real = table.stepPlan;
  const spy = jest.spyOn(table, 'stepPlan').mockImplementation((from, to) => (from === P.DUAL_TRUST && to === P.POD_IDENTITY ? plan : real(from, to)));
  try {
    const changed = row(renderRunbook(REPORT));
    expect(changed).not.toContain('restarts every workload (rollout status, OnDelete pods one by one, CronJobs on request); verifies POD_IDENTITY');
    expect(changed).toContain('proves with a server-side dry run that new pods get Pod Identity; verifies POD_IDENTITY');
  } finally {
    spy.mockRestore();
  }
  // the engine, with the same plan and with the table's: a Deployment restarted only by the table's
  const patches = async (p?: table.StepPlan) => {
    const requests: string[] = [];
    const api: KubeApi = {
      request: async (method, path, body) => {
        requests.push(`${method} ${path}`);
        if (method === 'POST') return { ok: true, value: { status: 201, body: { ...(body as any), spec: { containers: [{ env: [{ name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI' }, { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE' }] }] } } } };
        if (path.endsWith('/pods')) {
          return { ok: true, value: { status: 200, body: { items: [{ metadata: { name: 'app-1', ownerReferences: [{ kind: 'Deployment', name: 'app', controller: true }] }, spec: { serviceAccountName: 'app' }, status: { phase: 'Running' } }] } } };
        }
        if (method === 'PATCH') return { ok: true, value: { status: 200, body: { metadata: { name: 'app', generation: 2 } } } };
        return { ok: true, value: { status: 200, body: { items: [{ metadata: { name: 'app', generation: 2 }, spec: { replicas: 1 }, status: { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } }] } } };
      },
      close: () => {},
    };
    const ok = <T>(value: T) => Promise.resolve({ ok: true as const, value });
    const reader = {
      callerAccount: (a: string) => ok(a),
      objects: () => ok([]),
      namespaced: () => ok([]),
      nodeGroups: () => ok([]),
      simulate: () => ok('allowed'),
      kubeObjects: () => ok([]),
      associations: () => ok([{ associationId: 'a', namespace: 'ns', serviceAccount: 'app' }]),
      describeAssociation: () => ok({}),
      addon: () => ok({}),
      trust: () => ok({}),
      podIdentityEvents: () => ok([]),
      callerIdentity: () => ok('-'),
    } as PreflightReader;
    const wave: Wave = {
      name: 'w',
      dir: '/x',
      clusters: [C],
      targets: [{
        cluster: 'shop',
        clusterArn: C.arn,
        namespace: 'ns',
        serviceAccount: 'app',
        irsaRoleArn: 'r',
        associationRoleArn: 'r',
        irsaTrust: 'ends',
        oidcProviderArn: 'p',
        issuer: 'i',
        podTrust: 'phased',
        helmRelease: '-',
        podIdentityIdentity: '-',
        irsaIdentity: '-',
      }],
    };
    await runApply(wave, P.DUAL_TRUST, P.POD_IDENTITY, reader, {
      perCluster: 2,
      concurrency: 1,
      assembly: '/a',
      assemblyPhase: P.POD_IDENTITY,
      foundation: new Set(),
      workloads: [],
      timeout: 10,
      interval: 0,
      skipDeploy: true,
      cdk: ['cdk'],
      stacks: 's',
      triggerCronJobs: false,
      stsImage: 'i',
      sts: false,
      cloudTrailMinutes: 0,
      kubectlFound: true,
      plan: p,
    }, { kube: () => api, deploy: async () => true, clock: { now: () => 0, sleep: async () => {} }, out: () => {}, progress: () => {} });
    return requests.filter((r) => r.startsWith('PATCH'));
  };
  expect(await patches()).toEqual(['PATCH /apis/apps/v1/namespaces/ns/deployments/app']);
  expect(await patches(plan)).toEqual([]);
});
