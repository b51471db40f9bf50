/**
 * The preflight checks as pure functions: exact lines, and, as properties over random pods,
 * workloads, ConfigMaps, Secrets and associations, the same lines lib.sh prints for the same
 * responses (pi_check_proxies, pi_check_no_irsa_pods, pi_check_agent, sourced with the clients
 * replaced by the responses).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fc from 'fast-check';
import {
  checkAccount, checkAgent, checkAssembly, checkNodeRoles, checkNoIrsaPods, checkPodEni, checkProxies, proxyFindings, referencedObjects,
} from '../../src/operator/preflight-checks';
import { podsOf, renderLine, Target } from '../../src/operator/verify-checks';

const LIB = path.join(__dirname, '..', '..', 'bench', 'baseline', 'lib.sh');
const T: Target = {
  cluster: 'prod',
  clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/prod',
  namespace: 'payments',
  serviceAccount: 'checkout',
  irsaRoleArn: 'arn:aws:iam::111122223333:role/checkout',
  associationRoleArn: 'arn:aws:iam::111122223333:role/checkout',
  irsaTrust: 'ends',
  oidcProviderArn: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC',
  issuer: 'oidc.eks.us-east-1.amazonaws.com/id/ABC',
  podTrust: 'phased',
};
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Runs lib.sh's `fn` with kubectl and the AWS CLI replaced by the files of `dir`. */
function lib(dir: string, calls: string, env: { [k: string]: string }): string[] {
  const script = `
source "$LIB"
D="$DIR"
pi_k() {
  case "$*" in
    *" get pods "*) cat "$D/pods.json" ;;
    *" get configmaps "*) cat "$D/configmaps.json" ;;
    *" get secret "*) f="$D/secret-$6.json"; [ -f "$f" ] && cat "$f" ;;
    *" get daemonset "*) f="$D/ds-$6.json"; if [ -f "$f" ]; then cat "$f"; else echo "Error from server (NotFound): daemonsets.apps \\"$6\\" not found"; return 1; fi ;;
    *" get "*) f="$D/workload-$5-$6.json"; [ -f "$f" ] && cat "$f" ;;
  esac
}
pi_association() { cat "$D/assoc.json"; }
PI_DIR="$D/wave"
T_CLUSTER=prod; T_NS=payments; T_SA=checkout; T_WHO="prod payments/checkout"; C_NAME=prod
${calls}
`;
  const out = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, LIB, DIR: dir, ...env } });
  if (out.status !== 0) throw new Error(`lib.sh: ${out.stderr}`);
  return out.stdout.split('\n').filter((l) => l !== '');
}

describe('preflight checks: exact lines', () => {
  test('agent: each DaemonSet the compute type needs, ready on every node; Auto Mode has none', () => {
    const ready = { status: { desiredNumberScheduled: 3, numberReady: 3 } };
    const hint = '. The migration installs the agent of prod in its foundation step: run runbooks/foundation/apply.sh first (see runbooks/foundation.md)';
    expect([
      ...checkAgent('prod', 'EC2', { 'eks-pod-identity-agent': ready }),
      ...checkAgent('prod', 'HYBRID_NODES', { 'eks-pod-identity-agent': { status: { desiredNumberScheduled: 3, numberReady: 2 } }, 'eks-pod-identity-agent-hybrid': { error: 'Error from server (NotFound): x\n' } }, hint),
      ...checkAgent('prod', 'AUTO_MODE', {}),
    ].map(renderLine)).toEqual([
      'PASS prod - agent: eks-pod-identity-agent ready on 3 of 3 nodes',
      `FAIL prod - agent: expected eks-pod-identity-agent ready on every node; saw 2 ready of 3${hint}`,
      `FAIL prod - agent: expected DaemonSet kube-system/eks-pod-identity-agent-hybrid; saw: Error from server (NotFound): x${hint}`,
      'INFO prod - agent: built into EKS Auto Mode nodes',
    ]);
  });

  test('proxies: value, valueFrom a ConfigMap, envFrom a Secret with a prefix; lower-case names', () => {
    const spec = {
      containers: [
        { name: 'a', env: [{ name: 'HTTPS_PROXY', value: 'http://p:3128' }, { name: 'NO_PROXY', value: 'localhost, 169.254.170.23' }] },
        { name: 'b', env: [{ name: 'https_proxy', value: 'http://p:3128' }, { name: 'no_proxy', valueFrom: { configMapKeyRef: { name: 'proxy', key: 'NO_PROXY' } } }] },
      ],
      initContainers: [{ name: 'init', envFrom: [{ secretRef: { name: 'env' }, prefix: '' }] }],
    };
    expect(referencedObjects(spec)).toEqual({ configMaps: ['proxy'], secrets: ['env'] });
    const objects = {
      configMaps: { proxy: { metadata: { name: 'proxy' }, data: { NO_PROXY: '169.254.170.23,[fd00:ec2::23]' } } },
      secrets: { env: { metadata: { name: 'env' }, data: { HTTP_PROXY: b64('http://q:80'), NO_PROXY: b64('.svc') } } },
    };
    const findings = proxyFindings(spec, 'pod/x', objects);
    expect(findings).toEqual(['pod/x/a: proxy http://p:3128, NO_PROXY lacks [fd00:ec2::23]', 'pod/x/init: proxy http://q:80, NO_PROXY lacks 169.254.170.23,[fd00:ec2::23]']);
    expect(renderLine(checkProxies(T, findings))).toBe('FAIL prod payments/checkout proxy: expected NO_PROXY to hold 169.254.170.23,[fd00:ec2::23] wherever HTTP(S)_PROXY is set; '
      + 'saw pod/x/a: proxy http://p:3128, NO_PROXY lacks [fd00:ec2::23]; pod/x/init: proxy http://q:80, NO_PROXY lacks 169.254.170.23,[fd00:ec2::23]');
    expect(renderLine(checkProxies(T, []))).toBe('PASS prod payments/checkout proxy: no container sends the agent\'s address (169.254.170.23, [fd00:ec2::23]) to a proxy');
  });

  test('no IRSA pods: created after the association (CLI v1 epoch or v2 ISO time), no IRSA token file', () => {
    const pod = (name: string, created: string, env: string[] = []) => ({
      metadata: { name, creationTimestamp: created }, spec: { containers: [{ name: 'app', env: env.map((n) => ({ name: n, value: 'x' })) }] },
    });
    expect(renderLine(checkNoIrsaPods(T, { createdAt: 1796558400.25 }, [pod('new', '2026-12-06T12:00:01Z')]))).toBe(
      'PASS prod payments/checkout no IRSA pods: every pod was created after the association (2026-12-06T12:00:00Z) and none has AWS_WEB_IDENTITY_TOKEN_FILE');
    expect(renderLine(checkNoIrsaPods(T, { createdAt: '2026-12-06T12:00:00.250000+00:00' }, [pod('old', '2026-12-06T11:59:59Z'), pod('irsa', '2026-12-06T12:05:00Z', ['AWS_WEB_IDENTITY_TOKEN_FILE'])]))).toBe(
      'FAIL prod payments/checkout no IRSA pods: expected every pod created after the association (2026-12-06T12:00:00.250000+00:00) without AWS_WEB_IDENTITY_TOKEN_FILE in any container or init container; '
      + 'saw old (created 2026-12-06T11:59:59Z); irsa (created 2026-12-06T12:05:00Z, AWS_WEB_IDENTITY_TOKEN_FILE in app). Restart them (apply.sh of the POD_IDENTITY step restarts every workload)');
    expect(renderLine(checkNoIrsaPods(T, undefined, []))).toBe('FAIL prod payments/checkout association: expected one before the OIDC trust goes; saw none');
  });
});

describe('preflight checks say what lib.sh says (properties)', () => {
  const AGENT = '169.254.170.23';
  const noProxy = fc.constantFrom('localhost', `${AGENT},[fd00:ec2::23]`, ` ${AGENT} , [fd00:ec2::23] `, AGENT, '');
  const proxyVar = fc.constantFrom('HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy');
  const noProxyVar = fc.constantFrom('NO_PROXY', 'no_proxy');
  const envEntry = fc.oneof(
    fc.tuple(proxyVar, fc.constantFrom('http://p:3128', '')).map(([name, value]) => ({ name, value })),
    fc.tuple(noProxyVar, noProxy).map(([name, value]) => ({ name, value })),
    fc.tuple(noProxyVar, fc.constantFrom('NO_PROXY', 'missing')).map(([name, key]) => ({ name, valueFrom: { configMapKeyRef: { name: 'proxy', key } } })),
    fc.tuple(proxyVar, fc.constantFrom('HTTPS_PROXY', 'missing')).map(([name, key]) => ({ name, valueFrom: { secretKeyRef: { name: 'env', key } } })),
  );
  const container = fc.record({
    name: fc.constantFrom('app', 'side'),
    env: fc.array(envEntry, { maxLength: 3 }),
    envFrom: fc.array(fc.oneof(fc.record({ configMapRef: fc.constant({ name: 'proxy' }) }),
      fc.record({ secretRef: fc.constant({ name: 'env' }), prefix: fc.constantFrom('', 'X_') })), { maxLength: 2 }),
  });
  const spec = fc.record({ containers: fc.array(container, { minLength: 1, maxLength: 2 }), initContainers: fc.array(container, { maxLength: 1 }) });
  const objects = fc.record({
    cm: fc.record({ NO_PROXY: noProxy, HTTP_PROXY: fc.constantFrom('http://c:1') }, { requiredKeys: [] }),
    secret: fc.record({ HTTPS_PROXY: fc.constantFrom('http://s:2'), NO_PROXY: noProxy }, { requiredKeys: [] }),
  });

  test('proxies: over random specs of pods and workloads, ConfigMaps and Secrets', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-checks-'));
    fs.mkdirSync(path.join(dir, 'wave'));
    let failing = 0;
    fc.assert(fc.property(fc.array(spec, { maxLength: 2 }), fc.option(spec, { nil: undefined }), objects, (podSpecs, deploySpec, o) => {
      const pods = { items: podSpecs.map((s, i) => ({ metadata: { name: `p${i}` }, spec: { ...s, serviceAccountName: 'checkout' }, status: { phase: 'Running' } })) };
      const cm = { metadata: { name: 'proxy' }, data: o.cm };
      const secret = { metadata: { name: 'env' }, data: Object.fromEntries(Object.entries(o.secret).map(([k, v]) => [k, b64(v as string)])) };
      fs.writeFileSync(path.join(dir, 'pods.json'), JSON.stringify(pods));
      fs.writeFileSync(path.join(dir, 'configmaps.json'), JSON.stringify({ items: [cm] }));
      fs.writeFileSync(path.join(dir, 'secret-env.json'), JSON.stringify(secret));
      fs.writeFileSync(path.join(dir, 'wave', 'workloads.tsv'), deploySpec ? 'prod\tpayments\tcheckout\tDeployment\tweb\n' : '');
      if (deploySpec) fs.writeFileSync(path.join(dir, 'workload-deployment-web.json'), JSON.stringify({ kind: 'Deployment', spec: { template: { spec: deploySpec } } }));
      const ns = { configMaps: { proxy: cm }, secrets: { env: secret } };
      const findings = [
        ...podsOf(T, pods).flatMap((p) => proxyFindings(p.spec, `pod/${p.metadata.name}`, ns)),
        ...(deploySpec ? proxyFindings(deploySpec, 'deployment/web', ns) : []),
      ];
      const ts = renderLine(checkProxies(T, findings));
      failing += ts.startsWith('FAIL') ? 1 : 0;
      expect([ts]).toEqual(lib(dir, 'pi_check_proxies', {}));
    }), { numRuns: 100, seed: 20261206 });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(failing).toBeGreaterThan(20);
  });

  test('no IRSA pods: over random pods and association times (AWS CLI v1 and v2)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-checks-'));
    const base = Date.parse('2026-12-06T12:00:00Z') / 1000;
    fc.assert(fc.property(fc.integer({ min: -5, max: 5 }), fc.boolean(), fc.nat(999),
      fc.array(fc.record({ offset: fc.integer({ min: -8, max: 8 }), irsa: fc.boolean(), init: fc.boolean() }), { maxLength: 3 }),
      (shift, v1, frac, list) => {
        const at = base + shift;
        const createdAt = v1 ? at + frac / 1000 : `${new Date(at * 1000).toISOString().replace('.000Z', '')}.${String(frac).padStart(3, '0')}000+00:00`;
        const pods = list.map((p, i) => ({
          metadata: { name: `p${i}`, creationTimestamp: new Date((base + p.offset) * 1000).toISOString().replace('.000Z', 'Z') },
          spec: {
            serviceAccountName: 'checkout',
            containers: [{ name: 'app', env: p.irsa ? [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/t' }] : [] }],
            ...(p.init ? { initContainers: [{ name: 'init', env: [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/t' }] }] } : {}),
          },
          status: { phase: 'Running' },
        }));
        fs.writeFileSync(path.join(dir, 'pods.json'), JSON.stringify({ items: pods }));
        fs.writeFileSync(path.join(dir, 'assoc.json'), JSON.stringify({ association: { createdAt } }));
        expect([renderLine(checkNoIrsaPods(T, { createdAt }, pods))]).toEqual(lib(dir, 'pi_check_no_irsa_pods', {}));
      }), { numRuns: 60, seed: 20261206 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('agent: over compute types and DaemonSet states', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-checks-'));
    fs.mkdirSync(path.join(dir, 'wave'));
    const state = fc.option(fc.record({ desiredNumberScheduled: fc.nat(3), numberReady: fc.nat(3) }), { nil: undefined });
    fc.assert(fc.property(fc.constantFrom('EC2', 'HYBRID_NODES', 'AUTO_MODE', 'AUTO_MODE_AND_NODE_GROUPS'), state, state, (compute, a, h) => {
      for (const [name, s] of [['eks-pod-identity-agent', a], ['eks-pod-identity-agent-hybrid', h]] as const) {
        const file = path.join(dir, `ds-${name}.json`);
        if (s) fs.writeFileSync(file, JSON.stringify({ status: s })); else fs.rmSync(file, { force: true });
      }
      const ds = (name: string, s: any) => (s ? { status: s } : { error: `Error from server (NotFound): daemonsets.apps "${name}" not found` });
      const ts = checkAgent('prod', compute, { 'eks-pod-identity-agent': ds('eks-pod-identity-agent', a), 'eks-pod-identity-agent-hybrid': ds('eks-pod-identity-agent-hybrid', h) });
      expect(ts.map(renderLine)).toEqual(lib(dir, 'pi_check_agent', { C_COMPUTE: compute }).map((l) => l));
    }), { numRuns: 40, seed: 20261206 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('cluster checks say what lib.sh says', () => {
  test('assembly, credentials, node roles and Security Groups for Pods, over random answers', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-checks-'));
    fs.mkdirSync(path.join(dir, 'wave'));
    const failed = { error: 'An error occurred (AccessDenied)\nwhen calling\n' };
    const answer = <A>(ok: fc.Arbitrary<A>) => fc.oneof(ok, fc.constant(failed));
    const env = fc.array(fc.record({
      name: fc.constantFrom('ENABLE_POD_ENI', 'POD_SECURITY_GROUP_ENFORCING_MODE', 'OTHER'),
      value: fc.option(fc.constantFrom('true', 'false', 'standard', 'strict'), { nil: undefined }),
    }), { maxLength: 3 });
    const group = fc.record({
      nodeGroup: fc.constantFrom('general', 'gpu'),
      role: answer(fc.constant('arn:aws:iam::111122223333:role/eks-node')),
      decision: answer(fc.constantFrom('allowed', 'implicitDeny', 'explicitDeny')),
    });
    fc.assert(fc.property(
      fc.constantFrom('POD_IDENTITY', 'DUAL_TRUST', ' POD_IDENTITY\n'),
      answer(fc.constantFrom('111122223333', '444455556666')),
      fc.constantFrom('EC2', 'AUTO_MODE'),
      answer(fc.uniqueArray(group, { maxLength: 2, selector: (g) => g.nodeGroup })),
      fc.option(fc.array(env, { minLength: 1, maxLength: 2 }), { nil: undefined }),
      (phase, account, compute, groups, awsNodeEnvs) => {
        const w = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
        const said = (a: string | { error: string }, file: string) => {
          w(file, typeof a === 'string' ? JSON.stringify(a) : '');
          w(`${file}-error`, typeof a === 'string' ? '' : a.error);
        };
        w('wave/phase', phase);
        said(account, 'account');
        const list = Array.isArray(groups) ? groups : undefined;
        w('groups', list ? JSON.stringify({ nodegroups: list.map((g) => g.nodeGroup) }) : '');
        w('groups-error', list ? '' : failed.error);
        for (const g of list ?? []) {
          said(g.role, `role-${g.nodeGroup}`);
          said(g.decision, `decision-${g.nodeGroup}`);
        }
        const awsNode = awsNodeEnvs && { spec: { template: { spec: { containers: awsNodeEnvs.map((e, i) => ({ name: `c${i}`, env: e })) } } } };
        w('aws-node', awsNode ? JSON.stringify(awsNode) : '');
        const ts = [
          checkAssembly('/a', 'w', 'POD_IDENTITY', phase),
          checkAccount('prod', '111122223333', account),
          ...checkNodeRoles('prod', 'arn:aws:eks:us-east-1:111122223333:cluster/prod', compute,
            list ? list.map((g) => ({ nodeGroup: g.nodeGroup, role: g.role, decision: typeof g.role === 'string' ? g.decision : undefined })) : failed),
          checkPodEni('prod', awsNode),
        ].map(renderLine);
        // describe-nodegroup notes the group it described; the simulation that follows is that group's
        const answered = (file: string) => `[ -s "$D/${file}-error" ] && { cat "$D/${file}-error"; return 1; }; cat "$D/${file}"`;
        const script = `
pi_aws() {
  case "$*" in
    *"sts get-caller-identity"*) ${answered('account')} ;;
    *"list-nodegroups"*) ${answered('groups')} ;;
    *"describe-nodegroup"*) echo "$8" > "$D/current"; ${answered('role-$8')} ;;
    *"simulate-principal-policy"*) g="$(cat "$D/current")"; ${answered('decision-$g')} ;;
  esac
}
pi_k() { [ -s "$D/aws-node" ] || { echo 'Error from server (NotFound)'; return 1; }; cat "$D/aws-node"; }
PI_ASSEMBLY=/a; PI_WAVE=w; C_ACCOUNT=111122223333; C_REGION=us-east-1; C_ARN=arn:aws:eks:us-east-1:111122223333:cluster/prod; C_COMPUTE=${compute}
pi_check_assembly POD_IDENTITY; pi_check_account; pi_check_node_roles; pi_check_pod_eni`;
        expect(ts).toEqual(lib(dir, script, {}));
      }), { numRuns: 80, seed: 20261206 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
