/**
 * The generated runbook scripts, executed: against stand-in kubectl, aws and cdk serving recorded
 * fixtures (harness.ts, stub.py), then every call they made is checked against the real clients.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ACCOUNT, ALL_CALLS, associationsOf, fixture, providerArnOf, put, Run, runFoundationScript, runProviderScript, runScript, synthShop, trustsOf,
  worldAt,
} from './harness';
import { MigrationPhase as P, OidcProviderStep as S } from '../../src';
import { TRANSITIONS } from '../../src/migration/private/wave-scripts';
import { PHASE_ORDER, PHASES } from '../../src/private/phases';
import { awsRejects, callShapes, kubectlRejects, REAL_AWS, REAL_KUBECTL } from '../util/real-clients';

const placementDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-place-'));
const assembly: { [phase: string]: string } = {};

beforeAll(() => {
  for (const phase of PHASE_ORDER) {
    assembly[phase] = synthShop(phase, placementDir);
  }
});

function run(phase: P, transition: string, step: string, world: any, args: string[] = [], reinject = true): Run {
  const r = runScript(assembly[phase], transition, step, world, args, reinject);
  ALL_CALLS.push(...r.calls);
  expect(r.calls.filter((c) => c.unsupported)).toEqual([]);
  return r;
}

/** What `cdk deploy` of the assembly at `phase` does to the world: its trusts, and its associations. */
function deployOf(phase: P, associations: any[]): any {
  return { roles: trustsOf(assembly[phase]), associations: PHASES[phase].association ? associations : [] };
}

const changes = (r: Run) => r.calls.filter((c) => c.tool === 'cdk'
  || (c.tool === 'kubectl' && ['rollout', 'delete', 'annotate', 'create'].some((v) => c.argv.includes(v))));

describe('the scripts of a wave, run against recorded fixtures', () => {
  test('a healthy fleet goes through every step forward and back, every script passing', () => {
    // associations created by the POD_IDENTITY deploy; one appears only after two polls (F9)
    const created = associationsOf('2026-10-31T00:00:00.000000+00:00');
    const appearing = created.map((a, i) => (i === 0 ? { ...a, invisiblePolls: 2 } : a));
    let world = worldAt(P.IRSA_ONLY, assembly[P.IRSA_ONLY]);
    let first = true;
    const outputs: { [step: string]: Run } = {};
    for (const t of TRANSITIONS) {
      const pre = run(t.to, t.dir, 'preflight', world, [], first);
      expect({ step: t.dir, status: pre.status, fails: pre.fails }).toEqual({ step: t.dir, status: 0, fails: [] });
      world = { ...pre.world, onDeploy: deployOf(t.to, t.to === P.POD_IDENTITY ? appearing : created) };
      const apply = run(t.to, t.dir, 'apply', world, [], false);
      expect({ step: t.dir, status: apply.status, fails: apply.fails }).toEqual({ step: t.dir, status: 0, fails: [] });
      const verify = run(t.to, t.dir, 'verify', apply.world, [], false);
      expect({ step: t.dir, status: verify.status, fails: verify.fails }).toEqual({ step: t.dir, status: 0, fails: [] });
      expect(verify.lines[verify.lines.length - 1]).toEqual(`RESULT shop verify ${t.from} -> ${t.to}: every check passed`);
      outputs[t.dir] = apply;
      world = verify.world;
      first = false;
    }
    const toPod = outputs['DUAL_TRUST-to-POD_IDENTITY'].lines;
    expect(toPod.filter((l) => l.startsWith('WAIT '))).toEqual([
      'WAIT shop-use1 payments/checkout association: not present yet',
      'WAIT shop-use1 payments/checkout association: not present yet',
    ]);
    // restarts: the Deployment rolled out; the OnDelete DaemonSet's pods deleted one by one; the CronJob waits for its run
    expect(toPod).toContain('PASS shop-use1 payments/checkout restart: deployment/checkout rolled out');
    expect(toPod).toContain('DO shop-use1 monitoring/node-exporter restart: daemonset/node-exporter uses OnDelete: deleting pod node-exporter-4kq8d');
    expect(toPod).toContain('PASS shop-use1 monitoring/node-exporter restart: daemonset/node-exporter (OnDelete): 2 pods recreated one at a time, all ready');
    expect(toPod).toContain('TODO shop-euw1 batch/report restart: cronjob/report gets new pods at its next run; verify.sh checks them then (or run apply.sh with --trigger-cronjobs)');
    // injection proven before any restart
    const firstRestart = toPod.findIndex((l) => l.includes(' restart: '));
    expect(toPod.findIndex((l) => l.includes(' injection: '))).toBeLessThan(firstRestart);
    expect(toPod.slice(firstRestart).some((l) => l.includes(' injection: '))).toBe(false);
    // the annotation removed with kubectl annotate, the Helm-managed one with a TODO for its values
    const annotate = outputs['POD_IDENTITY-to-ANNOTATION_REMOVED'];
    expect(annotate.calls.filter((c) => c.argv.includes('annotate')).map((c) => c.argv.slice(-6))).toEqual(
      [['payments', 'checkout'], ['batch', 'report'], ['payments', 'checkout'], ['monitoring', 'node-exporter']]
        .map(([ns, sa]) => ['-n', ns, 'annotate', 'serviceaccount', sa, 'eks.amazonaws.com/role-arn-']));
    expect(annotate.lines).toContain('TODO shop-use1 monitoring/node-exporter annotation: Helm release node-exporter owns this ServiceAccount: '
      + 'remove eks.amazonaws.com/role-arn from its values (e.g. serviceAccount.annotations) or the next helm upgrade puts it back');
    expect(outputs['ANNOTATION_REMOVED-to-POD_IDENTITY_ONLY'].lines).toContain(
      'PASS shop-use1 payments/checkout no IRSA pods: every pod was created after the association (2026-10-31T00:00:00.000000+00:00) and none has AWS_WEB_IDENTITY_TOKEN_FILE');

    // and back, one step at a time, each with its rollback.sh on the assembly of the earlier phase
    for (const t of [...TRANSITIONS].reverse()) {
      world = { ...world, onDeploy: deployOf(t.from, created) };
      const back = run(t.from, t.dir, 'rollback', world, [], false);
      expect({ step: t.dir, status: back.status, fails: back.fails }).toEqual({ step: t.dir, status: 0, fails: [] });
      world = back.world;
      if (t.from === P.DUAL_TRUST) {
        // the associations are gone and every workload is back on IRSA
        expect(back.lines).toContainEqual(expect.stringMatching(/^PASS shop-use1 payments\/checkout association: absent after \d+s$/));
        expect(back.lines).toContain('PASS shop-use1 payments/checkout pods: 2 of 2 pods have the IRSA variables (AWS_ROLE_ARN=arn:aws:iam::111122223333:role/checkout) and no Pod Identity ones in every container and init container');
      }
      if (t.from === P.POD_IDENTITY) {
        expect(back.calls.filter((c) => c.argv.includes('annotate')).map((c) => c.argv[c.argv.length - 1])).toContain(
          'eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/node-exporter');
      }
    }
  });

  test('preflight fails on an agent DaemonSet not ready on every node, and apply changes nothing', () => {
    const world = worldAt(P.DUAL_TRUST, assembly[P.DUAL_TRUST]);
    put(world, 'shop-use1', fixture('agent-not-ready.json'));
    const pre = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'preflight', world);
    expect(pre.status).toBe(1);
    expect(pre.fails).toEqual(['FAIL shop-use1 - agent: expected eks-pod-identity-agent ready on every node; saw 2 ready of 3. '
      + 'The migration installs the agent of shop-use1 in its foundation step: run runbooks/foundation/apply.sh first (see runbooks/foundation.md)']);
    const apply = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'apply', { ...world, onDeploy: deployOf(P.POD_IDENTITY, associationsOf()) });
    expect(apply.status).toBe(1);
    expect(apply.lines).toContain('STOP: 1 preflight checks failed; nothing was changed');
    expect(changes(apply)).toEqual([]);
  });

  test('a fleet without agents: the wave stops at POD_IDENTITY naming the foundation step, which installs them; then every step passes', () => {
    // GIVEN both clusters without the agent (declared NOT_INSTALLED: the migration installs it, Shop/Foundation/*)
    const agents = ['shop-use1', 'shop-euw1'].map((c) => [c, fixture(`${c}.json`).items.find((o: any) => o.kind === 'DaemonSet' && o.metadata.name === 'eks-pod-identity-agent')]);
    expect(agents.every(([, ds]) => ds !== undefined)).toBe(true);
    const withoutAgents = (w: any) => {
      for (const c of Object.values<any>(w.clusters)) {
        c.objects = c.objects.filter((o: any) => !(o.kind === 'DaemonSet' && o.metadata.name === 'eks-pod-identity-agent'));
      }
      return w;
    };
    let world = withoutAgents(worldAt(P.IRSA_ONLY, assembly[P.IRSA_ONLY]));
    const created = associationsOf('2026-10-31T00:00:00.000000+00:00');
    // WHEN the wave goes to DUAL_TRUST (no agent needed)
    const toDual = run(P.DUAL_TRUST, 'IRSA_ONLY-to-DUAL_TRUST', 'apply', { ...world, onDeploy: deployOf(P.DUAL_TRUST, created) });
    expect([toDual.status, toDual.fails]).toEqual([0, []]);
    world = toDual.world;
    // THEN the step to POD_IDENTITY stops in its preflight, naming the foundation step
    const blocked = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'apply', { ...world, onDeploy: deployOf(P.POD_IDENTITY, created) }, [], false);
    expect(blocked.status).toBe(1);
    expect(blocked.fails).toEqual(['shop-euw1', 'shop-use1'].map((c) =>
      `FAIL ${c} - agent: expected DaemonSet kube-system/eks-pod-identity-agent; saw: Error from server (NotFound): daemonsets "eks-pod-identity-agent" not found. `
      + `The migration installs the agent of ${c} in its foundation step: `
      + 'run runbooks/foundation/apply.sh first (see runbooks/foundation.md)'));
    expect(changes(blocked)).toEqual([]);
    // WHEN the foundation step runs: its deploy installs the add-on, whose DaemonSet becomes ready
    const foundation = runFoundationScript(assembly[P.POD_IDENTITY], 'apply', { ...blocked.world, onDeploy: { objects: agents } });
    ALL_CALLS.push(...foundation.calls);
    expect([foundation.status, foundation.fails]).toEqual([0, []]);
    expect(foundation.calls.filter((c) => c.tool === 'cdk').map((c) => c.argv[3])).toEqual(['Shop/Foundation/*']);
    expect(foundation.lines).toContain('PASS shop-euw1 - agent: eks-pod-identity-agent ready on 3 of 3 nodes');
    expect(foundation.lines[foundation.lines.length - 1]).toBe('RESULT foundation apply: every check passed');
    const verifyFoundation = runFoundationScript(assembly[P.POD_IDENTITY], 'verify', foundation.world);
    expect([verifyFoundation.status, verifyFoundation.fails]).toEqual([0, []]);
    // THEN the wave reaches POD_IDENTITY on every cluster
    const toPod = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'apply', { ...foundation.world, onDeploy: deployOf(P.POD_IDENTITY, created) }, [], false);
    expect([toPod.status, toPod.fails]).toEqual([0, []]);
    const verify = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'verify', toPod.world, [], false);
    expect([verify.status, verify.lines[verify.lines.length - 1]]).toEqual([0, 'RESULT shop verify DUAL_TRUST -> POD_IDENTITY: every check passed']);
    for (const c of ['shop-use1', 'shop-euw1']) {
      expect(verify.lines).toContainEqual(expect.stringMatching(new RegExp(`^PASS ${c} payments/checkout association`)));
    }
  });

  test('an association that does not appear in time stops apply before any pod is restarted', () => {
    const world = worldAt(P.DUAL_TRUST, assembly[P.DUAL_TRUST]);
    world.onDeploy = deployOf(P.POD_IDENTITY, associationsOf().map((a, i) => (i === 0 ? { ...a, invisiblePolls: 100000 } : a)));
    const apply = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'apply', world);
    expect(apply.status).toBe(1);
    expect(apply.fails).toEqual(['FAIL shop-use1 payments/checkout association: expected it present within 2s; saw it absent']);
    expect(apply.lines[apply.lines.length - 2]).toEqual('STOP: the associations are not as POD_IDENTITY expects; no pod was restarted');
    expect(changes(apply).map((c) => c.tool)).toEqual(['cdk']);
  });

  test('verify names a pod whose init container still has the IRSA variables', () => {
    const world = worldAt(P.POD_IDENTITY, assembly[P.POD_IDENTITY]);
    put(world, 'shop-use1', { ...fixture('pod-init-container-irsa.json'), keepEnv: true });
    const verify = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'verify', world);
    expect(verify.status).toBe(1);
    expect(verify.fails).toEqual(['FAIL shop-use1 payments/checkout pods: expected the Pod Identity variables and no IRSA ones in every container and init container; '
      + 'saw checkout-7d4b9c-x2lqp/migrate no AWS_CONTAINER_CREDENTIALS_FULL_URI,no AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,has AWS_WEB_IDENTITY_TOKEN_FILE,has AWS_ROLE_ARN']);
  });

  test('before POD_IDENTITY_ONLY, pods created before their association fail the preflight (F5)', () => {
    const world = worldAt(P.ANNOTATION_REMOVED, assembly[P.ANNOTATION_REMOVED]);
    const pre = run(P.POD_IDENTITY_ONLY, 'ANNOTATION_REMOVED-to-POD_IDENTITY_ONLY', 'preflight', world);
    expect(pre.status).toBe(1);
    const created = '2026-10-15T09:30:00.123000+00:00';
    const tail = ' Restart them (apply.sh of the POD_IDENTITY step restarts every workload)';
    const line = (who: string, pods: string) => `FAIL ${who} no IRSA pods: expected every pod created after the association (${created}) without AWS_WEB_IDENTITY_TOKEN_FILE in any container or init container; saw ${pods}.${tail}`;
    expect(pre.fails).toEqual([
      line('shop-euw1 payments/checkout', 'checkout-5f6d8b-q8w4n (created 2026-10-01T08:00:00Z)'),
      line('shop-use1 payments/checkout', 'checkout-7d4b9c-x2lqp (created 2026-10-01T08:00:00Z); checkout-7d4b9c-9mfzt (created 2026-10-01T08:00:00Z)'),
      line('shop-use1 monitoring/node-exporter', 'node-exporter-4kq8d (created 2026-10-01T08:00:00Z); node-exporter-h7c2w (created 2026-10-01T08:00:00Z)'),
    ]);
  });

  test('preflight resolves a proxy set through envFrom and fails when NO_PROXY lacks the agent (F12)', () => {
    const world = worldAt(P.DUAL_TRUST, assembly[P.DUAL_TRUST]);
    put(world, 'shop-euw1', fixture('proxy-configmap-without-agent.json'));
    const pre = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'preflight', world);
    expect(pre.status).toBe(1);
    expect(pre.fails).toEqual(['FAIL shop-euw1 batch/report proxy: expected NO_PROXY to hold 169.254.170.23,[fd00:ec2::23] wherever HTTP(S)_PROXY is set; '
      + 'saw cronjob/report/report: proxy http://proxy.corp.example.com:3128, NO_PROXY lacks 169.254.170.23,[fd00:ec2::23]']);
  });

  test('preflight fails on a node role that may not call eks-auth:AssumeRoleForPodIdentity', () => {
    const world = worldAt(P.DUAL_TRUST, assembly[P.DUAL_TRUST]);
    world.aws.simulate[`arn:aws:iam::${ACCOUNT}:role/eks-node-shop-euw1`] = 'implicitDeny';
    const pre = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'preflight', world);
    expect(pre.fails).toEqual(['FAIL shop-euw1 - node role: expected eks-node-shop-euw1 (node group general-2026) to allow eks-auth:AssumeRoleForPodIdentity on '
      + 'arn:aws:eks:eu-west-1:111122223333:cluster/shop-euw1; saw implicitDeny. Attach AmazonEKSWorkerNodePolicy or that action']);
  });

  test('a rollout that does not finish fails apply with what kubectl saw', () => {
    const world = worldAt(P.DUAL_TRUST, assembly[P.DUAL_TRUST]);
    world.clusters['shop-euw1'].objects.find((o: any) => o.kind === 'Deployment').stuck = true;
    world.onDeploy = deployOf(P.POD_IDENTITY, associationsOf());
    const apply = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'apply', world);
    expect(apply.status).toBe(1);
    expect(apply.fails).toEqual([
      'FAIL shop-euw1 payments/checkout restart: expected deployment/checkout rolled out within 2s; saw error: timed out waiting for the condition',
      'FAIL shop-euw1 payments/checkout pods: expected the Pod Identity variables and no IRSA ones in every container and init container; '
      + 'saw checkout-5f6d8b-q8w4n/checkout no AWS_CONTAINER_CREDENTIALS_FULL_URI,no AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,has AWS_WEB_IDENTITY_TOKEN_FILE,has AWS_ROLE_ARN',
    ]);
  });

  test('apply refuses an assembly synthesized at another phase, before deploying', () => {
    const world = worldAt(P.DUAL_TRUST, assembly[P.DUAL_TRUST]);
    const apply = run(P.DUAL_TRUST, 'DUAL_TRUST-to-POD_IDENTITY', 'apply', world);
    expect(apply.status).toBe(1);
    expect(apply.fails).toEqual([`FAIL - - assembly: expected ${assembly[P.DUAL_TRUST]} to hold shop at POD_IDENTITY; saw DUAL_TRUST. `
      + 'Record POD_IDENTITY for shop in the state file, review, run cdk synth, then run this script again']);
    expect(changes(apply)).toEqual([]);
  });

  test('a wrong option exits 2 with the usage; --help exits 0', () => {
    const world = worldAt(P.DUAL_TRUST, assembly[P.DUAL_TRUST]);
    const bad = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'verify', world, ['--no-such-option']);
    expect(bad.status).toBe(2);
    const help = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'verify', world, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: verify.sh [options]');
  });

  test('--sts compares each service account\'s assumed role; --cloudtrail finds the agent\'s calls per cluster and region', () => {
    const world = worldAt(P.POD_IDENTITY, assembly[P.POD_IDENTITY]);
    world.aws.cloudtrail = [{ region: 'us-east-1', event: { eventName: 'AssumeRoleForPodIdentity', requestParameters: { clusterName: 'shop-use1' } } }];
    const verify = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'verify', world, ['--sts', '--cloudtrail', '60']);
    expect(verify.lines).toContain('PASS shop-use1 monitoring/node-exporter sts: arn:aws:sts::111122223333:assumed-role/node-exporter/botocore-session-1');
    expect(verify.lines.filter((l) => l.includes(' sts: ')).every((l) => l.startsWith('PASS'))).toBe(true);
    expect(verify.fails).toEqual([expect.stringMatching(/^FAIL shop-euw1 - cloudtrail: expected AssumeRoleForPodIdentity events of this cluster since \S+ in eu-west-1; saw none/)]);
    expect(verify.calls.filter((c) => c.argv.includes('lookup-events')).map((c) => c.argv[c.argv.indexOf('--region') + 1])).toEqual(['eu-west-1', 'us-east-1']);
  });

  test('--trigger-cronjobs runs each CronJob once and waits for it', () => {
    const world = worldAt(P.DUAL_TRUST, assembly[P.DUAL_TRUST]);
    world.onDeploy = deployOf(P.POD_IDENTITY, associationsOf());
    const apply = run(P.POD_IDENTITY, 'DUAL_TRUST-to-POD_IDENTITY', 'apply', world, ['--trigger-cronjobs']);
    expect(apply.status).toBe(0);
    expect(apply.lines.find((l) => l.startsWith('PASS shop-euw1 batch/report restart: job/'))).toMatch(/^PASS shop-euw1 batch\/report restart: job\/report-pod-identity-\d+ from cronjob\/report completed$/);
  });

  test('the scripts and their data are the same in every phase: only the phase file changes', () => {
    const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
    const tree = (phase: string) => Object.fromEntries(files(path.join(assembly[phase], 'runbooks'))
      .filter((f) => f !== 'shop/phase' && f.startsWith('shop/') || f === 'lib.sh')
      .map((f) => [f, fs.readFileSync(path.join(assembly[phase], 'runbooks', f), 'utf8')]));
    const first = tree(P.IRSA_ONLY);
    expect(Object.keys(first).filter((f) => f.endsWith('.sh')).length).toBe(17);
    for (const phase of PHASE_ORDER) {
      expect(tree(phase)).toEqual(first);
      expect(fs.readFileSync(path.join(assembly[phase], 'runbooks', 'shop', 'phase'), 'utf8')).toEqual(`${phase}\n`);
      expect((fs.statSync(path.join(assembly[phase], 'runbooks', 'shop', 'DUAL_TRUST-to-POD_IDENTITY', 'apply.sh')).mode % 0o1000).toString(8)).toEqual('755');
    }
  });

  test('every generated script and the library pass shellcheck', () => {
    const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    expect({ shellcheck: shellcheck.status }).toEqual({ shellcheck: 0 }); // installed by scripts/install-tools.sh
    const scripts = fs.readdirSync(path.join(assembly[P.IRSA_ONLY], 'runbooks', 'shop'))
      .filter((d) => d.includes('-to-'))
      .flatMap((d) => ['preflight', 'apply', 'verify', 'rollback'].map((s) => path.join(assembly[P.IRSA_ONLY], 'runbooks', 'shop', d, `${s}.sh`)));
    expect(scripts).toHaveLength(16);
    // and the foundation step's
    const foundation = ['preflight', 'apply', 'verify'].map((s) => path.join(assembly[P.IRSA_ONLY], 'runbooks', 'foundation', `${s}.sh`));
    foundation.forEach((f) => expect((fs.statSync(f).mode % 0o1000).toString(8)).toEqual('755'));
    const r = spawnSync('shellcheck', ['-x', '--severity=style', ...scripts, ...foundation, path.join(assembly[P.IRSA_ONLY], 'runbooks', 'lib.sh')], { encoding: 'utf8' });
    expect(r.stdout).toEqual('');
    expect(r.status).toBe(0);
  });
});

describe('a managed add-on in a wave: the scripts check it with describe-addon and leave its annotation to EKS', () => {
  const USE1 = 'shop-use1';
  const ROLE = `arn:aws:iam::${ACCOUNT}:role/checkout`;
  const recorded = { ...fixture('describe-addon-vpc-cni.json').addon, addonName: 'shop-checkout', clusterName: USE1, addonVersion: 'v1.2.0-eksbuild.1', serviceAccountRoleArn: ROLE };
  const live = (sara: boolean, associations: number, version = recorded.addonVersion) => ({
    ...recorded,
    addonVersion: version,
    serviceAccountRoleArn: sara ? ROLE : undefined,
    podIdentityAssociations: Array.from({ length: associations }, (_, i) => `arn:aws:eks:us-east-1:${ACCOUNT}:podidentityassociation/${USE1}/a-addon${i}`),
  });
  const addonPlace = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-addon-place-'));
  const at: { [phase: string]: string } = {};
  beforeAll(() => {
    for (const phase of [P.POD_IDENTITY, P.ANNOTATION_REMOVED]) {
      at[phase] = synthShop(phase, addonPlace, {}, recorded);
    }
  });
  const go = (phase: P, step: string, world: any) => {
    const r = runScript(at[phase], 'POD_IDENTITY-to-ANNOTATION_REMOVED', step, world);
    ALL_CALLS.push(...r.calls);
    expect(r.calls.filter((c) => c.unsupported)).toEqual([]);
    return r;
  };
  /** The fleet at POD_IDENTITY: the add-on with its role and its association. */
  const world = () => {
    const w = worldAt(P.POD_IDENTITY, at[P.POD_IDENTITY]);
    w.aws.addons = { [USE1]: [live(true, 1)] };
    return w;
  };
  const WHO = 'shop-use1 payments/checkout';

  test('POD_IDENTITY -> ANNOTATION_REMOVED: the deploy removes serviceAccountRoleArn, EKS the annotation; no kubectl annotate for it', () => {
    const w = { ...world(), onDeploy: { roles: trustsOf(at[P.ANNOTATION_REMOVED]), associations: associationsOf(), addons: { [USE1]: [live(false, 1)] }, removeAnnotations: [[USE1, 'payments', 'checkout']] } };
    const apply = go(P.ANNOTATION_REMOVED, 'apply', w);
    expect({ status: apply.status, fails: apply.fails }).toEqual({ status: 0, fails: [] });
    expect(apply.lines).toContain(`PASS ${WHO} add-on shop-checkout v1.2.0-eksbuild.1: serviceAccountRoleArn ${ROLE}, 1 podIdentityAssociations`);
    expect(apply.lines).toContain(`INFO ${WHO} annotation: add-on shop-checkout removes it (serviceAccountRoleArn, in the deploy); no kubectl annotate`);
    const annotated = apply.calls.filter((c) => c.argv.includes('annotate')).map((c) => `${c.argv[c.argv.indexOf('--context') + 1]} ${c.argv[c.argv.length - 2]}`);
    expect(annotated).not.toContain(`arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${USE1} checkout`);
    expect(annotated).toHaveLength(3);
    expect(apply.lines).toContain(`PASS ${WHO} add-on shop-checkout v1.2.0-eksbuild.1: serviceAccountRoleArn -, 1 podIdentityAssociations`);
    expect(apply.lines).toContain(`PASS ${WHO} annotation: eks.amazonaws.com/role-arn absent`);
  });

  test('verify fails when the add-on kept its serviceAccountRoleArn, or lost its association; preflight when its version changed', () => {
    const kept = worldAt(P.ANNOTATION_REMOVED, at[P.ANNOTATION_REMOVED]);
    kept.aws.addons = { [USE1]: [live(true, 1)] };
    const verify = go(P.ANNOTATION_REMOVED, 'verify', kept);
    expect(verify.status).toBe(1);
    expect(verify.fails).toContain(`FAIL ${WHO} add-on shop-checkout: expected serviceAccountRoleArn - in ANNOTATION_REMOVED; saw ${ROLE}`);
    kept.aws.addons = { [USE1]: [live(false, 0)] };
    expect(go(P.ANNOTATION_REMOVED, 'verify', kept).fails).toContain(`FAIL ${WHO} add-on shop-checkout: expected its podIdentityAssociations in ANNOTATION_REMOVED; saw 0`);
    const upgraded = world();
    upgraded.aws.addons = { [USE1]: [live(true, 1, 'v1.3.0-eksbuild.1')] };
    const pre = go(P.ANNOTATION_REMOVED, 'preflight', upgraded);
    expect(pre.fails).toEqual([`FAIL ${WHO} add-on shop-checkout: expected version v1.2.0-eksbuild.1 (what the app was synthesized from); saw v1.3.0-eksbuild.1. `
      + 'Record the add-on\'s describe-addon and describe-addon-configuration output again and synthesize']);
    expect(changes(pre)).toEqual([]);
  });
});

describe('the scripts of an OIDC provider\'s retirement, run against recorded fixtures', () => {
  const USE1 = 'shop-use1';
  const STACK = 'PodIdentity-OidcProvider-shop-use1-111122223333-us-east-1';
  const at: { [step: string]: string } = {};
  const steps = { ADOPTED: [S.ADOPTED], RETIRING: [S.ADOPTED, S.RETIRING], RETIRED: [S.ADOPTED, S.RETIRING, S.RETIRED] };
  beforeAll(() => {
    for (const [step, history] of Object.entries(steps)) {
      at[step] = synthShop(P.POD_IDENTITY_ONLY, placementDir, { [USE1]: history });
    }
  });
  const runProvider = (step: string, script: 'preflight' | 'verify', world: any) => {
    const r = runProviderScript(at[step], script, USE1, world);
    ALL_CALLS.push(...r.calls);
    expect(r.calls.filter((c) => c.unsupported)).toEqual([]);
    return r;
  };
  /** The fleet once every wave is at POD_IDENTITY_ONLY, deployed; the provider of shop-use1 still there. */
  const world = () => {
    const w = worldAt(P.POD_IDENTITY_ONLY, at.ADOPTED);
    w.aws.oidcProviders = { [providerArnOf(USE1)]: fixture('get-open-id-connect-provider.json') };
    w.aws.addons = { [USE1]: [{ ...fixture('describe-addon-vpc-cni.json').addon, serviceAccountRoleArn: undefined }] };
    w.aws.stackResources = { [`${STACK}/Provider`]: fixture('describe-stack-resource-provider.json').StackResourceDetail };
    return w;
  };

  test('a provider nothing uses: preflight and verify pass at every step', () => {
    for (const step of Object.keys(steps)) {
      const w = world();
      if (step === 'RETIRED') {
        delete w.aws.oidcProviders[providerArnOf(USE1)];
      }
      const pre = runProvider(step, 'preflight', w);
      expect({ step, status: pre.status, fails: pre.fails }).toEqual({ step, status: 0, fails: [] });
      const verify = runProvider(step, 'verify', w);
      expect({ step, status: verify.status, fails: verify.fails }).toEqual({ step, status: 0, fails: [] });
      expect(verify.lines[verify.lines.length - 1]).toEqual(`RESULT shop-use1 provider verify ${step}: every check passed`);
    }
  });

  test('preflight finds what the app cannot see: a role outside it, an add-on on IRSA, a pod on IRSA', () => {
    const w = world();
    w.aws.roles['legacy-exporter'] = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Federated: providerArnOf(USE1) }, Action: 'sts:AssumeRoleWithWebIdentity' }],
    };
    w.aws.addons[USE1] = [fixture('describe-addon-vpc-cni.json').addon];
    const pod = w.clusters[USE1].objects.find((o: any) => o.kind === 'Pod' && o.metadata.namespace === 'payments');
    pod.keepEnv = true;
    pod.spec.containers[0].env = [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' }];
    const r = runProvider('ADOPTED', 'preflight', w);
    expect(r.status).toBe(1);
    expect(r.fails).toEqual([
      `FAIL shop-use1 - roles: expected no role to trust ${providerArnOf(USE1)}; saw legacy-exporter. Deploy the waves that drop it, or move these roles off IRSA first`,
      'FAIL shop-use1 - add-ons: expected no managed add-on on IRSA; saw vpc-cni (arn:aws:iam::111122223333:role/vpc-cni-shop-use1). Move them to Pod Identity (the add-on\'s podIdentityAssociations) first',
      `FAIL shop-use1 - pods: expected no pod on IRSA; saw payments/${pod.metadata.name}. Migrate or restart them first`,
    ]);
    expect(r.lines[r.lines.length - 1]).toEqual('RESULT shop-use1 provider preflight ADOPTED: 3 checks failed');
  });

  test('verify: a provider still there after RETIRED, and one not in its stack after ADOPTED', () => {
    const still = runProvider('RETIRED', 'verify', world());
    expect(still.fails).toEqual([`FAIL shop-use1 - provider: expected ${providerArnOf(USE1)} deleted; it exists. Was the RETIRING step deployed before (DeletionPolicy Delete)? If not, record RETIRING, deploy, then RETIRED again`]);
    const w = world();
    w.aws.stackResources = {};
    const notImported = runProvider('ADOPTED', 'verify', w);
    expect(notImported.status).toBe(1);
    expect(notImported.fails).toEqual([expect.stringMatching(new RegExp(`^FAIL shop-use1 - stack: expected ${STACK} to hold Provider; cloudformation describe-stack-resource says: .*ValidationError.*`))]);
  });

  test('usage errors: no cluster, a cluster without a recorded step', () => {
    const none = runProviderScript(at.ADOPTED, 'verify', '', world());
    expect(none.status).toBe(2);
    const other = runProviderScript(at.ADOPTED, 'verify', 'shop-euw1', world());
    expect(other.status).toBe(2);
  });

  test('the provider scripts pass shellcheck', () => {
    const dir = path.join(at.ADOPTED, 'runbooks', 'oidc-providers');
    const r = spawnSync('shellcheck', ['-x', '--severity=style', path.join(dir, 'preflight.sh'), path.join(dir, 'verify.sh')], { encoding: 'utf8' });
    expect(r.stdout).toEqual('');
    expect(r.status).toBe(0);
  });
});

/**
 * Every kubectl and aws invocation the scripts made above, with its exact arguments, given to the
 * real clients (test/util/real-clients.ts): each must get past argument parsing to the (refused)
 * connection.
 */
describe('the real clients accept every call', () => {
  test('kubectl', () => {
    expect(fs.existsSync(REAL_KUBECTL)).toBe(true); // installed by scripts/install-tools.sh
    const calls = callShapes(ALL_CALLS, 'kubectl', 4);
    expect(calls.length).toBeGreaterThan(10);
    expect(kubectlRejects(calls)).toEqual([]);
  });

  test('aws', () => {
    expect(fs.existsSync(REAL_AWS)).toBe(true); // installed by scripts/install-tools.sh
    const calls = callShapes(ALL_CALLS, 'aws', 4);
    expect(calls.length).toBeGreaterThanOrEqual(8);
    expect(awsRejects(calls)).toEqual([]);
  });
});
