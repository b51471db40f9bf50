/**
 * The foundation step on the engine (operator/src/foundation.ts), on stand-ins: the account and node
 * roles before anything changes, the deploy, the agent waited for through each cluster's API and
 * then checked, Auto Mode's agent built in. The bed runs runbooks/foundation/*.sh.
 */
import { Clock } from '../../operator/src/apply';
import { Foundation, runFoundation } from '../../operator/src/foundation';
import { KubeApi } from '../../operator/src/kube';
import { PreflightReader } from '../../operator/src/preflight';
import { WaveCluster } from '../../operator/src/wave';

const cluster = (name: string, computeType = 'EC2'): WaveCluster => ({ name, region: 'eu-west-1', account: '111122223333', arn: `arn:aws:eks:eu-west-1:111122223333:cluster/${name}`, computeType });
const F: Foundation = { stacks: 'App/Foundation/*', assembly: '/cdk.out', clusters: [cluster('shop'), cluster('auto', 'AUTO_MODE')] };
const ok = <T>(value: T) => Promise.resolve({ ok: true as const, value });

function reader(decision = 'allowed'): PreflightReader {
  return {
    callerAccount: (a: string) => ok(a),
    nodeGroups: () => ok([{ nodeGroup: 'general', role: { ok: true as const, value: 'arn:aws:iam::111122223333:role/nodes' } }]),
    simulate: () => ok(decision),
  } as unknown as PreflightReader;
}

/** The agent's DaemonSet: absent until the deploy, then ready on 2 of 3 nodes, then on 3. */
function api(states: (any | undefined)[]): KubeApi & { gets: number } {
  const a = {
    gets: 0,
    request: async () => {
      const s = states[Math.min(a.gets++, states.length - 1)];
      return {
        ok: true as const,
        value: s === undefined
          ? { status: 404, body: { kind: 'Status', reason: 'NotFound', message: 'daemonsets.apps "eks-pod-identity-agent" not found' } }
          : { status: 200, body: { metadata: { name: 'eks-pod-identity-agent' }, status: s } },
      };
    },
    close: () => {},
  };
  return a;
}

const clock = (): Clock => {
  let t = 0;
  return { now: () => t, sleep: async (s: number) => { t += s * 1000; } };
};

async function run(step: 'preflight' | 'apply' | 'verify', r = reader(), states: (any | undefined)[] = [{ desiredNumberScheduled: 3, numberReady: 3 }]) {
  const out: string[] = [];
  const deployed: string[] = [];
  const kube = api(states);
  await runFoundation(step, F, r, { concurrency: 2, perCluster: 2, timeout: 30, interval: 5, skipDeploy: false, cdk: ['npx', 'cdk'], kubectlFound: true }, {
    kube: () => kube, deploy: async (_c, assembly, stacks) => { deployed.push(`${assembly} ${stacks}`); return true; }, clock: clock(), out: (l) => out.push(l),
  });
  return { out, deployed, kube };
}

test('preflight: each cluster\'s account and node roles; nothing changes', async () => {
  const r = await run('preflight');
  expect(r.out).toEqual([
    'PASS shop - credentials: account 111122223333',
    'PASS shop - node role: nodes (node group general) allows eks-auth:AssumeRoleForPodIdentity',
    'PASS auto - credentials: account 111122223333',
  ]);
  expect(r.deployed).toEqual([]);
  expect(r.kube.gets).toBe(0);
});

test('apply: deploys, waits until the agent is ready on every node (one request per poll), then checks it; Auto Mode waits for nothing', async () => {
  const r = await run('apply', reader(), [{ desiredNumberScheduled: 3, numberReady: 2 }, { desiredNumberScheduled: 3, numberReady: 3 }]);
  expect(r.deployed).toEqual(['/cdk.out App/Foundation/*']);
  expect(r.out.slice(3)).toEqual([
    'DO - - deploy: npx cdk deploy --app /cdk.out \'App/Foundation/*\'',
    'PASS - - deploy: App/Foundation/*',
    'WAIT shop - agent: eks-pod-identity-agent ready on 2 of 3 nodes',
    'PASS shop - agent: eks-pod-identity-agent ready on 3 of 3 nodes',
    'INFO auto - agent: built into EKS Auto Mode nodes',
  ]);
  expect(r.kube.gets).toBe(3);
});

test('apply: a node role denied stops before the deploy; an agent never ready fails after the timeout', async () => {
  const denied = await run('apply', reader('explicitDeny'));
  expect(denied.out).toContain('STOP: 1 preflight checks failed; nothing was changed');
  expect(denied.deployed).toEqual([]);
  const never = await run('apply', reader(), [undefined]);
  expect(never.out.filter((l) => l.startsWith('FAIL'))).toEqual([
    'FAIL shop - agent: expected eks-pod-identity-agent ready on every node within 30s; saw 0 ready of 0 (aws eks describe-addon --cluster-name shop --addon-name eks-pod-identity-agent shows the add-on\'s health)',
    'FAIL shop - agent: expected DaemonSet kube-system/eks-pod-identity-agent; saw: Error from server (NotFound): daemonsets.apps "eks-pod-identity-agent" not found',
  ]);
});

test('verify: the agent of each cluster, read through its API', async () => {
  expect((await run('verify')).out).toEqual(['PASS shop - agent: eks-pod-identity-agent ready on 3 of 3 nodes', 'INFO auto - agent: built into EKS Auto Mode nodes']);
});
