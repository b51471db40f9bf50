/**
 * The verify checks as pure functions over the API responses: exact lines for each case, and, as a
 * property over random service accounts, phases and responses, the same lines lib.sh prints for the
 * same responses (its pi_check_* functions, sourced with the clients replaced by the responses), so
 * the port says exactly what the scripts say.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fc from 'fast-check';
import { MigrationPhase as P } from '../../src/migration-phase';
import {
  checkAddon, checkAnnotation, checkAssociation, checkPods, checkTrust, CheckLine, podsOf, renderLine, Target,
} from '../../src/operator/verify-checks';
import { PHASE_ORDER, PHASES } from '../../src/private/phases';

const LIB = path.join(__dirname, '..', '..', 'bench', 'baseline', 'lib.sh');
const CLUSTER_ARN = 'arn:aws:eks:us-east-1:111122223333:cluster/prod';
const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/ABC';
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;

const T: Target = {
  cluster: 'prod',
  clusterArn: CLUSTER_ARN,
  namespace: 'payments',
  serviceAccount: 'checkout',
  irsaRoleArn: 'arn:aws:iam::111122223333:role/checkout',
  associationRoleArn: 'arn:aws:iam::111122223333:role/checkout',
  irsaTrust: 'ends',
  oidcProviderArn: PROVIDER,
  issuer: ISSUER,
  podTrust: 'phased',
};

const oidcStatement = (ns: string, sa: string, op: 'StringEquals' | 'StringLike' = 'StringEquals') => ({
  Effect: 'Allow',
  Principal: { Federated: PROVIDER },
  Action: 'sts:AssumeRoleWithWebIdentity',
  Condition: { [op]: { [`${ISSUER}:sub`]: `system:serviceaccount:${ns}:${sa}`, [`${ISSUER}:aud`]: 'sts.amazonaws.com' } },
});
const podsStatement = (ns: string, sa: string, clusterArn?: string) => ({
  Effect: 'Allow',
  Principal: { Service: 'pods.eks.amazonaws.com' },
  Action: ['sts:AssumeRole', 'sts:TagSession'],
  Condition: {
    StringEquals: {
      'aws:RequestTag/kubernetes-namespace': ns,
      'aws:RequestTag/kubernetes-service-account': sa,
      ...(clusterArn ? { 'aws:RequestTag/eks-cluster-arn': clusterArn } : {}),
    },
  },
});
const pod = (name: string, env: string[][], extra: any = {}) => ({
  metadata: { name },
  spec: { serviceAccountName: 'checkout', containers: [{ name: 'app', env: env.map(([n, v]) => ({ name: n, value: v })) }], ...extra.spec },
  status: { phase: extra.phase ?? 'Running' },
});
const PI_ENV = [['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'http://169.254.170.23/v1/credentials'], ['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', '/t']];
const IRSA_ENV = [['AWS_ROLE_ARN', T.irsaRoleArn], ['AWS_WEB_IDENTITY_TOKEN_FILE', '/t']];
const lines = (...l: CheckLine[]) => l.map(renderLine);

describe('verify checks: exact lines', () => {
  test('association: present with its role and target where the phase has one, absent elsewhere', () => {
    const a = { associationId: 'a-1', roleArn: T.associationRoleArn };
    expect(lines(checkAssociation(T, P.POD_IDENTITY, a), checkAssociation(T, P.POD_IDENTITY, undefined), checkAssociation(T, P.DUAL_TRUST, a),
      checkAssociation(T, P.DUAL_TRUST, undefined), checkAssociation({ ...T, targetRoleArn: 'arn:aws:iam::444455556666:role/data' }, P.POD_IDENTITY, a))).toEqual([
      'PASS prod payments/checkout association: role arn:aws:iam::111122223333:role/checkout, target role -',
      'FAIL prod payments/checkout association: expected one naming checkout; saw none',
      'FAIL prod payments/checkout association: expected none in DUAL_TRUST; saw a-1 naming arn:aws:iam::111122223333:role/checkout',
      'PASS prod payments/checkout association: none, as DUAL_TRUST expects',
      'FAIL prod payments/checkout association: expected role arn:aws:iam::111122223333:role/checkout, target role arn:aws:iam::444455556666:role/data; '
        + 'saw role arn:aws:iam::111122223333:role/checkout, target role -',
    ]);
  });

  test('annotation and trust, as the phase says', () => {
    const sa = { metadata: { annotations: { 'eks.amazonaws.com/role-arn': T.irsaRoleArn } } };
    const annotations = [
      checkAnnotation(T, P.POD_IDENTITY, sa),
      checkAnnotation(T, P.ANNOTATION_REMOVED, sa),
      checkAnnotation(T, P.ANNOTATION_REMOVED, { metadata: {} }),
    ];
    expect(lines(...annotations)).toEqual([
      'PASS prod payments/checkout annotation: eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/checkout',
      'FAIL prod payments/checkout annotation: expected eks.amazonaws.com/role-arn absent; saw arn:aws:iam::111122223333:role/checkout',
      'PASS prod payments/checkout annotation: eks.amazonaws.com/role-arn absent',
    ]);
    const dual = { Statement: [oidcStatement('payments', 'checkout'), podsStatement('payments', 'checkout', CLUSTER_ARN)] };
    expect(lines(...checkTrust(T, P.POD_IDENTITY_ONLY, dual, dual))).toEqual([
      'FAIL prod payments/checkout trust: expected no OIDC statement for this service account in POD_IDENTITY_ONLY; saw 1 in checkout',
      'PASS prod payments/checkout trust: checkout trusts pods.eks.amazonaws.com for this service account',
    ]);
    // pinned to another cluster: not this service account's statement
    const elsewhere = { Statement: [podsStatement('payments', 'checkout', 'arn:aws:eks:us-east-1:111122223333:cluster/other')] };
    expect(lines(...checkTrust(T, P.DUAL_TRUST, elsewhere, elsewhere))[1]).toBe(
      `FAIL prod payments/checkout trust: expected checkout to trust pods.eks.amazonaws.com for payments/checkout on ${CLUSTER_ARN}; saw no such statement`);
  });

  test('pods: every container and init container, Succeeded and Failed pods left out', () => {
    const list = { items: [pod('a', PI_ENV), pod('b', IRSA_ENV), pod('done', IRSA_ENV, { phase: 'Succeeded' }), { ...pod('x', PI_ENV), spec: { serviceAccountName: 'other', containers: [] } }] };
    expect(podsOf(T, list).map((p) => p.metadata.name)).toEqual(['a', 'b']);
    expect(renderLine(checkPods(T, 'pod-identity', podsOf(T, list)))).toBe(
      'FAIL prod payments/checkout pods: expected the Pod Identity variables and no IRSA ones in every container and init container; '
      + 'saw b/app no AWS_CONTAINER_CREDENTIALS_FULL_URI,no AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,has AWS_WEB_IDENTITY_TOKEN_FILE,has AWS_ROLE_ARN');
    expect(renderLine(checkPods(T, 'irsa', [pod('b', IRSA_ENV)]))).toBe(
      'PASS prod payments/checkout pods: 1 of 1 pods have the IRSA variables (AWS_ROLE_ARN=arn:aws:iam::111122223333:role/checkout) and no Pod Identity ones in every container and init container');
    expect(renderLine(checkPods(T, 'irsa', []))).toBe('INFO prod payments/checkout pods: none running (a CronJob between runs, or scaled to zero): nothing to check');
  });

  test('add-on: version, serviceAccountRoleArn and podIdentityAssociations as the phase says', () => {
    const t = { ...T, addon: { name: 'vpc-cni', version: 'v1.19.2-eksbuild.1' } };
    expect(lines(...checkAddon(t, P.POD_IDENTITY, { addonVersion: 'v1.19.2-eksbuild.1', serviceAccountRoleArn: T.irsaRoleArn, podIdentityAssociations: ['arn:a'] }),
      ...checkAddon(t, P.ANNOTATION_REMOVED, { addonVersion: 'v1.19.3-eksbuild.1', serviceAccountRoleArn: T.irsaRoleArn, podIdentityAssociations: ['arn:a'] }))).toEqual([
      'PASS prod payments/checkout add-on vpc-cni v1.19.2-eksbuild.1: serviceAccountRoleArn arn:aws:iam::111122223333:role/checkout, 1 podIdentityAssociations',
      'FAIL prod payments/checkout add-on vpc-cni: expected version v1.19.2-eksbuild.1 (what the app was synthesized from); saw v1.19.3-eksbuild.1. '
        + 'Record the add-on\'s describe-addon and describe-addon-configuration output again and synthesize',
      'FAIL prod payments/checkout add-on vpc-cni: expected serviceAccountRoleArn - in ANNOTATION_REMOVED; saw arn:aws:iam::111122223333:role/checkout',
    ]);
    expect(checkAddon(T, P.POD_IDENTITY, {})).toEqual([]);
  });
});

/** lib.sh's lines for the same responses: its check functions, with the clients replaced by the responses. */
function libLines(dir: string, t: Target, phase: P, mode: 'pod' | 'irsa', r: Responses): string[] {
  const write = (name: string, value: unknown) => fs.writeFileSync(path.join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
  write('assoc.json', r.association === undefined ? '' : { association: r.association });
  write('sa.json', r.serviceAccount);
  write('pods.json', r.pods);
  write('irsa-trust.json', r.irsaTrust);
  write('assoc-trust.json', r.associationTrust);
  write('addon.json', { addon: r.addon });
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const phases = PHASE_ORDER.map((p) => [p, yes(PHASES[p].irsaTrust), yes(PHASES[p].podIdentityTrust), yes(PHASES[p].association), yes(PHASES[p].irsaAnnotation)].join('\t')).join('\n');
  const script = `
source "$LIB"
D="$DIR"
PI_PHASES="$PHASES"
pi_association() { cat "$D/assoc.json"; }
pi_k() { case "$*" in *" get serviceaccount "*) cat "$D/sa.json" ;; *" get pods "*) cat "$D/pods.json" ;; esac; }
pi_trust() { if [ "$1" = "$T_IRSA_ROLE" ]; then cat "$D/irsa-trust.json"; else cat "$D/assoc-trust.json"; fi; }
pi_aws() { cat "$D/addon.json"; }
T_CLUSTER="$CL"; T_NS="$NS"; T_SA="$SA"; T_WHO="$CL $NS/$SA"; C_ARN="$CARN"
T_IRSA_ROLE="$IRSA"; T_ASSOC_ROLE="$ASSOC"; T_TARGET_ROLE="$TARGET"; T_IRSA_TRUST="$IRSA_TRUST"; T_POD_TRUST="$POD_TRUST"
T_OIDC_PROVIDER="$PROVIDER"; T_ISSUER="$ISSUER"; T_ADDON="$ADDON"; T_ADDON_VERSION="$ADDON_VERSION"
pi_check_addon "$PHASE"; pi_check_association "$PHASE"; pi_check_annotation "$PHASE"; pi_check_trust "$PHASE"; pi_check_pods "$MODE"
`;
  const out = spawnSync('bash', ['-c', script], {
    encoding: 'utf8',
    env: {
      ...process.env,
      LIB,
      DIR: dir,
      PHASES: phases,
      CL: t.cluster,
      NS: t.namespace,
      SA: t.serviceAccount,
      CARN: t.clusterArn,
      IRSA: t.irsaRoleArn,
      ASSOC: t.associationRoleArn,
      TARGET: t.targetRoleArn ?? '-',
      IRSA_TRUST: t.irsaTrust,
      POD_TRUST: t.podTrust,
      PROVIDER: t.oidcProviderArn,
      ISSUER: t.issuer,
      ADDON: t.addon?.name ?? '-',
      ADDON_VERSION: t.addon?.version ?? '-',
      PHASE: phase,
      MODE: mode,
    },
  });
  if (out.status !== 0) throw new Error(`lib.sh: ${out.stderr}`);
  return out.stdout.split('\n').filter((l) => l !== '');
}

interface Responses {
  readonly association?: any;
  readonly serviceAccount: any;
  readonly pods: any;
  readonly irsaTrust: any;
  readonly associationTrust: any;
  readonly addon: any;
}

describe('verify checks say what lib.sh says (property)', () => {
  const role = fc.constantFrom('arn:aws:iam::111122223333:role/checkout', 'arn:aws:iam::111122223333:role/other', 'arn:aws:iam::444455556666:role/data');
  const targetArb: fc.Arbitrary<Target> = fc.record({
    irsaRoleArn: role,
    associationRoleArn: role,
    targetRoleArn: fc.option(role, { nil: undefined }),
    irsaTrust: fc.constantFrom<'ends' | 'kept'>('ends', 'kept'),
    podTrust: fc.constantFrom<'phased' | 'always'>('phased', 'always'),
    addon: fc.option(fc.record({ name: fc.constant('vpc-cni'), version: fc.constantFrom('v1.19.2-eksbuild.1', 'v1.19.0-eksbuild.1') }), { nil: undefined }),
  }).map((x) => ({ ...T, ...x }));
  const subjects = fc.constantFrom(['payments', 'checkout'], ['payments', 'other'], ['web', 'checkout']);
  const statement = fc.oneof(
    fc.tuple(subjects, fc.constantFrom<'StringEquals' | 'StringLike'>('StringEquals', 'StringLike')).map(([[ns, sa], op]) => oidcStatement(ns, sa, op)),
    fc.tuple(subjects, fc.constantFrom(CLUSTER_ARN, 'arn:aws:eks:us-east-1:111122223333:cluster/other', undefined)).map(([[ns, sa], c]) => podsStatement(ns, sa, c)),
    fc.constant({ Effect: 'Deny', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' }),
  );
  const trust = fc.array(statement, { maxLength: 3 }).map((Statement) => ({ Version: '2012-10-17', Statement }));
  const variables = fc.subarray([...PI_ENV, ...IRSA_ENV, ['AWS_ROLE_ARN', 'arn:aws:iam::111122223333:role/other'], ['OTHER', 'x']]);
  const podArb = fc.record({
    name: fc.constantFrom('p1', 'p2'),
    env: variables,
    init: fc.option(variables, { nil: undefined }),
    sa: fc.constantFrom('checkout', 'checkout', 'other'),
    phase: fc.constantFrom('Running', 'Running', 'Pending', 'Succeeded', 'Failed'),
  })
    .map((p) => ({
      metadata: { name: p.name },
      spec: {
        serviceAccountName: p.sa,
        containers: [{ name: 'app', env: p.env.map(([n, v]) => ({ name: n, value: v })) }],
        ...(p.init ? { initContainers: [{ name: 'init', env: p.init.map(([n, v]) => ({ name: n, value: v })) }] } : {}),
      },
      status: { phase: p.phase },
    }));
  const responses: fc.Arbitrary<Responses> = fc.record({
    association: fc.option(fc.record({ associationId: fc.constant('a-1'), roleArn: role, targetRoleArn: fc.option(role, { nil: undefined }) }), { nil: undefined }),
    serviceAccount: fc.record({ metadata: fc.record({ annotations: fc.option(fc.record({ 'eks.amazonaws.com/role-arn': role }), { nil: undefined }) }) }),
    pods: fc.array(podArb, { maxLength: 3 }).map((items) => ({ items })),
    irsaTrust: trust,
    associationTrust: trust,
    addon: fc.record({
      addonVersion: fc.constantFrom('v1.19.2-eksbuild.1', 'v1.19.0-eksbuild.1'),
      serviceAccountRoleArn: fc.option(role, { nil: undefined }),
      podIdentityAssociations: fc.constantFrom([], ['arn:a']),
    }),
  });

  test('over random service accounts, phases and responses', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-checks-'));
    let failing = 0;
    fc.assert(fc.property(targetArb, fc.constantFrom(...PHASE_ORDER), responses, (t, phase, drawn) => {
      // one role has one trust
      const r = t.associationRoleArn === t.irsaRoleArn ? { ...drawn, associationTrust: drawn.irsaTrust } : drawn;
      const mode = PHASES[phase].association ? 'pod' : 'irsa';
      const ts = [
        ...checkAddon(t, phase, r.addon),
        checkAssociation(t, phase, r.association),
        checkAnnotation(t, phase, r.serviceAccount),
        ...checkTrust(t, phase, r.irsaTrust, r.associationTrust),
        checkPods(t, mode === 'pod' ? 'pod-identity' : 'irsa', podsOf(t, r.pods)),
      ].map(renderLine);
      failing += ts.filter((l) => l.startsWith('FAIL')).length;
      expect(ts).toEqual(libLines(dir, t, phase, mode, r));
    }), { numRuns: 120, seed: 20261206 });
    fs.rmSync(dir, { recursive: true, force: true });
    // the cases were not all passes
    expect(failing).toBeGreaterThan(120);
  });
});
