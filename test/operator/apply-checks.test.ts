/**
 * The apply checks as pure functions: the injection probe's line and the workloads a step restarts,
 * exact, and as properties the same as lib.sh's (pi_check_injection, pi_workloads) for the same responses.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fc from 'fast-check';
import { checkInjection, restartMethod, workloadsToRestart } from '../../src/operator/apply-checks';
import { podsOf, renderLine, Target } from '../../src/operator/verify-checks';

const LIB = path.join(__dirname, '..', '..', 'bench', 'baseline', 'lib.sh');
const T = { cluster: 'prod', namespace: 'payments', serviceAccount: 'checkout' } as Target;
const ENV = ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'OTHER'];

function lib(dir: string, call: string): string[] {
  const script = `source "$LIB"
D="$DIR"
pi_k() {
  case "$*" in
    *" run pod-identity-dry-run "*) if [ -f "$D/refused" ]; then cat "$D/refused"; return 1; fi; cat "$D/dry-run.json" ;;
    *" get pods "*) cat "$D/pods.json" ;;
    *" get "*) f="$D/owner-$5-$6.json"; [ -f "$f" ] && cat "$f" ;;
  esac
}
PI_DIR="$D/wave"; T_CLUSTER=prod; T_NS=payments; T_SA=checkout; T_WHO="prod payments/checkout"
${call}`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, LIB, DIR: dir, LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`lib.sh: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('apply checks: exact lines', () => {
  test('the injection probe: the variables a new pod gets, a refusal by quota explained', () => {
    const pod = (env: string[]) => ({ spec: { containers: [{ name: 'app', env: env.map((name) => ({ name, value: 'x' })) }] } });
    expect([
      checkInjection(T, 'pod-identity', pod(ENV.slice(0, 2))),
      checkInjection(T, 'irsa', pod(ENV.slice(0, 3))),
      checkInjection(T, 'pod-identity', { error: 'Error from server (Forbidden): pods "pod-identity-dry-run" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1\n' }),
    ].map(renderLine)).toEqual([
      'PASS prod payments/checkout injection: a new pod gets the Pod Identity variables (server-side dry run)',
      'FAIL prod payments/checkout injection: expected a new pod to get the IRSA variables only; saw no AWS_ROLE_ARN,has AWS_CONTAINER_CREDENTIALS_FULL_URI,has AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (server-side dry run)',
      'FAIL prod payments/checkout injection: the dry-run pod was refused: Error from server (Forbidden): pods "pod-identity-dry-run" is forbidden: exceeded quota: one-pod, '
        + 'requested: pods=1, used: pods=1, limited: pods=1. The namespace\'s ResourceQuota has no room for the probe pod: give it room for one more pod during the step '
        + '(a rolling restart with maxSurge needs it too), then run this script again',
    ]);
  });

  test('the workloads to restart, and how', () => {
    const pod = (name: string, owner?: [string, string]) =>
      ({ metadata: { name, ownerReferences: owner ? [{ kind: owner[0], name: owner[1], controller: true }] : [] } });
    const pods = [pod('web-7d-1', ['ReplicaSet', 'web-7d']), pod('web-7d-2', ['ReplicaSet', 'web-7d']), pod('db-0', ['StatefulSet', 'db']), pod('bare'),
      pod('report-1-x', ['Job', 'report-1']), pod('canary-1', ['ReplicaSet', 'canary-abc'])];
    const ws = workloadsToRestart(pods, { 'replicaset web-7d': 'deployment web', 'job report-1': 'cronjob report', 'replicaset canary-abc': 'rollout canary' }, ['report', 'nightly']);
    expect(ws.map((w) => `${w.kind}/${w.name}`)).toEqual(['cronjob/nightly', 'cronjob/report', 'deployment/web', 'pod/bare', 'rollout/canary', 'statefulset/db']);
    expect(ws.map((w) => restartMethod(w, w.name === 'db' ? { spec: { updateStrategy: { type: 'OnDelete' } } } : {}, false)))
      .toEqual(['next-run', 'next-run', 'rollout', 'bare-pod', 'other', 'on-delete']);
    expect(restartMethod({ kind: 'cronjob', name: 'report' }, {}, true)).toBe('trigger');
  });
});

describe('apply checks say what lib.sh says (properties)', () => {
  test('the injection probe, over random dry-run pods and refusals', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apply-checks-'));
    fc.assert(fc.property(fc.constantFrom<'pod-identity' | 'irsa'>('pod-identity', 'irsa'), fc.subarray(ENV), fc.option(fc.constantFrom('exceeded quota: q\n', 'forbidden\nby RBAC\n\n', 'x'), { nil: undefined }),
      (mode, env, refusal) => {
        fs.rmSync(path.join(dir, 'refused'), { force: true });
        const dryRun = { spec: { containers: [{ name: 'app', env: env.map((name) => ({ name, value: 'x' })) }] } };
        fs.writeFileSync(path.join(dir, 'dry-run.json'), JSON.stringify(dryRun));
        if (refusal) fs.writeFileSync(path.join(dir, 'refused'), refusal);
        const ts = renderLine(checkInjection(T, mode, refusal ? { error: refusal } : dryRun));
        expect([ts]).toEqual(lib(dir, `pi_check_injection ${mode === 'pod-identity' ? 'pod' : 'irsa'}`));
      }), { numRuns: 40, seed: 20261206 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the workloads to restart, over random pods, owners and CronJobs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apply-checks-'));
    fs.mkdirSync(path.join(dir, 'wave'));
    const owner = fc.option(fc.tuple(fc.constantFrom('ReplicaSet', 'Job', 'StatefulSet', 'DaemonSet'), fc.constantFrom('a', 'b', 'web-1')), { nil: undefined });
    const podArb = fc.record({ name: fc.constantFrom('p1', 'p2', 'p3', 'P0'), owner, sa: fc.constantFrom('checkout', 'other'), phase: fc.constantFrom('Running', 'Succeeded') });
    const ownerOf = fc.option(fc.tuple(fc.constantFrom('Deployment', 'CronJob', 'Rollout'), fc.constantFrom('web', 'nightly')), { nil: undefined });
    fc.assert(fc.property(fc.array(podArb, { maxLength: 4 }), ownerOf, ownerOf, fc.subarray(['nightly', 'report', 'Z']), (list, rsOwner, jobOwner, cronJobs) => {
      const pods = {
        items: list.map((p) => ({
          metadata: { name: p.name, ownerReferences: p.owner ? [{ kind: p.owner[0], name: p.owner[1], controller: true }] : [] },
          spec: { serviceAccountName: p.sa },
          status: { phase: p.phase },
        })),
      };
      fs.writeFileSync(path.join(dir, 'pods.json'), JSON.stringify(pods));
      for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('owner-'))) fs.rmSync(path.join(dir, f));
      const owners: { [o: string]: string | undefined } = {};
      for (const [kind, o] of [['replicaset', rsOwner], ['job', jobOwner]] as const) {
        for (const name of ['a', 'b', 'web-1']) {
          const refs = o ? [{ kind: o[0], name: o[1], controller: true }] : [];
          fs.writeFileSync(path.join(dir, `owner-${kind}-${name}.json`), JSON.stringify({ metadata: { ownerReferences: refs } }));
          owners[`${kind} ${name}`] = o ? `${o[0].toLowerCase()} ${o[1]}` : undefined;
        }
      }
      fs.writeFileSync(path.join(dir, 'wave', 'workloads.tsv'), cronJobs.map((c) => `prod\tpayments\tcheckout\tCronJob\t${c}\n`).join(''));
      const target = { ...T, serviceAccount: 'checkout' } as Target;
      const ts = workloadsToRestart(podsOf(target, pods), owners, cronJobs).map((w) => `${w.kind} ${w.name}`);
      expect(ts).toEqual(lib(dir, 'pi_workloads'));
    }), { numRuns: 60, seed: 20261206 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
