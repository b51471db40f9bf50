/**
 * --json: each check that compares (PASS, FAIL) holds what it expected and what it saw as values,
 * set by the check itself, not read back from its line; a line that compares nothing (INFO, DO, TODO,
 * WAIT, CANNOT-CHECK) has neither. Exact values for each check, a property over random phases and
 * responses (the association and the annotation pass exactly when the two values are equal), and
 * the document the command writes.
 */
import * as fc from 'fast-check';
import { jsonCheck, jsonResult } from '../../operator/src/json';
import { MigrationPhase as P } from '../../src/migration-phase';
import { checkDeploy, checkInjection } from '../../src/operator/apply-checks';
import { checkAccount, checkAgent, checkNodeRoles, checkPodEni, KUBECTL_MISSING } from '../../src/operator/preflight-checks';
import { checkProviderStack, checkWebIdentityEvidence } from '../../src/operator/provider-checks';
import {
  checkAddon, checkAnnotation, checkAssociation, CheckLine, checkPods, checkTrust, compared, expectedAnnotation, expectedAssociation, noted, Target,
} from '../../src/operator/verify-checks';
import { PHASE_ORDER } from '../../src/private/phases';

const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/ABC';
const T: Target = {
  cluster: 'prod',
  clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/prod',
  namespace: 'payments',
  serviceAccount: 'checkout',
  irsaRoleArn: 'arn:aws:iam::111122223333:role/checkout-irsa',
  associationRoleArn: 'arn:aws:iam::111122223333:role/checkout',
  irsaTrust: 'ends',
  oidcProviderArn: `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`,
  issuer: ISSUER,
  podTrust: 'phased',
};
const values = (l: CheckLine) => [l.status, l.expected, l.seen];

describe('each check sets what it expected and what it saw', () => {
  test('association: the role and target role the phase wants, against the association described (or none)', () => {
    const other = { associationId: 'a-9', roleArn: 'arn:aws:iam::111122223333:role/other' };
    expect([
      checkAssociation(T, P.POD_IDENTITY, { associationId: 'a-1', roleArn: T.associationRoleArn }),
      checkAssociation(T, P.POD_IDENTITY, other),
      checkAssociation(T, P.POD_IDENTITY, undefined),
      checkAssociation(T, P.DUAL_TRUST, other),
      checkAssociation(T, P.DUAL_TRUST, undefined),
    ].map(values)).toEqual([
      ['PASS', `role ${T.associationRoleArn}, target role -`, `role ${T.associationRoleArn}, target role -`],
      ['FAIL', `role ${T.associationRoleArn}, target role -`, 'role arn:aws:iam::111122223333:role/other, target role -'],
      ['FAIL', `role ${T.associationRoleArn}, target role -`, 'none'],
      ['FAIL', 'none', 'a-9 naming arn:aws:iam::111122223333:role/other'],
      ['PASS', 'none', 'none'],
    ]);
  });

  test('annotation, trust, pods and add-on', () => {
    const annotated = { metadata: { annotations: { 'eks.amazonaws.com/role-arn': T.irsaRoleArn } } };
    const annotations = [
      checkAnnotation(T, P.DUAL_TRUST, annotated), checkAnnotation(T, P.DUAL_TRUST, {}), checkAnnotation(T, P.ANNOTATION_REMOVED, annotated),
    ];
    expect(annotations.map(values))
      .toEqual([['PASS', T.irsaRoleArn, T.irsaRoleArn], ['FAIL', T.irsaRoleArn, 'absent'], ['FAIL', 'absent', T.irsaRoleArn]]);
    expect(checkTrust(T, P.POD_IDENTITY_ONLY, {}, {}).map(values)).toEqual([
      ['PASS', 'checkout-irsa: no OIDC statement for this service account', 'checkout-irsa: 0 OIDC statements for this service account'],
      ['FAIL', 'checkout: at least 1 pods.eks.amazonaws.com statement for this service account', 'checkout: 0 pods.eks.amazonaws.com statements for this service account'],
    ]);
    const irsaPod = { metadata: { name: 'checkout-1' }, spec: { containers: [{ name: 'app', env: [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/t' }] }] } };
    expect(values(checkPods(T, 'pod-identity', [irsaPod]))).toEqual(['FAIL',
      'the Pod Identity variables and no IRSA ones in every container and init container',
      'checkout-1/app no AWS_CONTAINER_CREDENTIALS_FULL_URI,no AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,has AWS_WEB_IDENTITY_TOKEN_FILE']);
    expect(values(checkPods(T, 'pod-identity', []))).toEqual(['INFO', undefined, undefined]);
    const t = { ...T, addon: { name: 'vpc-cni', version: 'v1.19.2-eksbuild.1' } };
    expect(checkAddon(t, P.ANNOTATION_REMOVED, { addonVersion: 'v1.19.3-eksbuild.1', serviceAccountRoleArn: T.irsaRoleArn }).map(values)).toEqual([
      ['FAIL', 'version v1.19.2-eksbuild.1', 'version v1.19.3-eksbuild.1'],
      ['FAIL', 'serviceAccountRoleArn -', `serviceAccountRoleArn ${T.irsaRoleArn}`],
    ]);
  });

  test('the preflight\'s, apply\'s and provider\'s checks', () => {
    expect(values(checkAccount('prod', '111122223333', '444455556666'))).toEqual(['FAIL', 'account 111122223333', 'account 444455556666']);
    expect(values(checkAccount('prod', '111122223333', { error: 'ExpiredToken\n' }))).toEqual(['FAIL', 'account 111122223333', 'ExpiredToken']);
    expect(checkAgent('prod', 'EC2', { 'eks-pod-identity-agent': { status: { desiredNumberScheduled: 3, numberReady: 2 } } }).map(values))
      .toEqual([['FAIL', 'eks-pod-identity-agent ready on every node', 'eks-pod-identity-agent ready on 2 of 3 nodes']]);
    expect(checkNodeRoles('prod', T.clusterArn, 'EC2', [{ nodeGroup: 'ng-1', role: 'arn:aws:iam::111122223333:role/nodes', decision: 'implicitDeny' }]).map(values))
      .toEqual([['FAIL', `node group ng-1's role allows eks-auth:AssumeRoleForPodIdentity on ${T.clusterArn}`, 'nodes: implicitDeny']]);
    expect(values(checkPodEni('prod', { spec: { template: { spec: { containers: [{ env: [{ name: 'ENABLE_POD_ENI', value: 'true' }] }] } } } })))
      .toEqual(['FAIL', 'ENABLE_POD_ENI not true, or POD_SECURITY_GROUP_ENFORCING_MODE=standard', 'ENABLE_POD_ENI=true, POD_SECURITY_GROUP_ENFORCING_MODE=strict']);
    expect(values(checkInjection(T, 'pod-identity', { spec: { containers: [{ env: [{ name: 'AWS_ROLE_ARN' }, { name: 'AWS_WEB_IDENTITY_TOKEN_FILE' }] }] } })))
      .toEqual(['FAIL', 'a new pod gets the Pod Identity variables only',
        'no AWS_CONTAINER_CREDENTIALS_FULL_URI,no AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,has AWS_WEB_IDENTITY_TOKEN_FILE,has AWS_ROLE_ARN']);
    expect(values(checkDeploy('Shop-*', false))).toEqual(['FAIL', 'Shop-* deployed', 'cdk deploy failed; CloudFormation rolled the stacks back']);
    expect(values(KUBECTL_MISSING)).toEqual(['FAIL', 'kubectl on PATH', 'none']);
    expect(values(checkProviderStack('prod', 'Oidc', 'Provider', 'arn:p', { physicalId: 'arn:p', status: 'UPDATE_FAILED' })))
      .toEqual(['FAIL', 'arn:p, complete', 'arn:p UPDATE_FAILED']);
    const event = {
      CloudTrailEvent: JSON.stringify({
        eventName: 'AssumeRoleWithWebIdentity',
        eventTime: '2026-12-01T10:00:00Z',
        userIdentity: { identityProvider: T.oidcProviderArn },
        requestParameters: { roleArn: T.irsaRoleArn, roleSessionName: 's-1' },
        responseElements: { subjectFromWebIdentityToken: 'system:serviceaccount:payments:checkout' },
      }),
    };
    expect(checkWebIdentityEvidence('prod', T.oidcProviderArn, '2026-09-02T00:00:00Z', [{ region: 'us-east-1', events: [event] }]).map(values)).toEqual([[
      'FAIL', 'no AssumeRoleWithWebIdentity through the provider since 2026-09-02T00:00:00Z',
      `1: ${T.irsaRoleArn} (session s-1, system:serviceaccount:payments:checkout, 2026-12-01T10:00:00Z, us-east-1)`,
    ]]);
  });

  test('property: over random phases and responses, the association and the annotation pass exactly when what they expected is what they saw, '
    + 'and every line that compares has both values', () => {
    const roles = ['arn:aws:iam::111122223333:role/checkout', 'arn:aws:iam::111122223333:role/checkout-irsa', 'arn:aws:iam::111122223333:role/other'];
    fc.assert(fc.property(
      fc.constantFrom(...PHASE_ORDER),
      fc.option(fc.record({ associationId: fc.constant('a-1'), roleArn: fc.constantFrom(...roles), targetRoleArn: fc.option(fc.constantFrom(...roles), { nil: undefined }) }),
        { nil: undefined }),
      fc.option(fc.constantFrom(...roles), { nil: undefined }),
      fc.option(fc.constantFrom(...roles), { nil: undefined }),
      (phase, association, annotation, targetRoleArn) => {
        const t = { ...T, targetRoleArn };
        const a = checkAssociation(t, phase, association);
        const n = checkAnnotation(t, phase, { metadata: { annotations: annotation ? { 'eks.amazonaws.com/role-arn': annotation } : {} } });
        for (const l of [a, n]) {
          expect(l.status === 'PASS').toBe(l.expected === l.seen);
        }
        expect(a.expected).toBe(expectedAssociation(t, phase));
        expect(n.expected).toBe(expectedAnnotation(t, phase));
        for (const l of [a, n, ...checkTrust(t, phase, {}, {})]) {
          expect(typeof l.expected === 'string' && l.expected !== '' && typeof l.seen === 'string' && l.seen !== '').toBe(true);
        }
      }), { numRuns: 300 });
  });
});

describe('the --json document', () => {
  test('a check that compares: cluster, service account, check, status, expected, seen and the rest of its line', () => {
    const l = checkAssociation(T, P.POD_IDENTITY, undefined);
    expect(jsonCheck(l)).toEqual({
      cluster: 'prod',
      serviceAccount: 'payments/checkout',
      check: 'association',
      status: 'FAIL',
      expected: `role ${T.associationRoleArn}, target role -`,
      seen: 'none',
      detail: 'expected one naming checkout; saw none',
    });
  });

  test('a line that compares nothing has null for both; the wave\'s own lines name no cluster', () => {
    expect(jsonCheck(noted('DO', '- -', 'deploy: npx cdk deploy --app cdk.out \'Shop-*\''))).toEqual({
      cluster: '-', serviceAccount: '-', check: 'deploy', status: 'DO', expected: null, seen: null, detail: 'npx cdk deploy --app cdk.out \'Shop-*\'',
    });
    expect(jsonCheck(compared('PASS', 'prod -', 'security groups for pods: not enabled (ENABLE_POD_ENI=false)', 'x', 'y')).check).toBe('security groups for pods');
  });

  test('the document: the step, how many failed, every check in the order printed', () => {
    const checks = [checkAssociation(T, P.DUAL_TRUST, undefined), checkAssociation(T, P.POD_IDENTITY, undefined)];
    expect(JSON.parse(jsonResult({ wave: 'shop', step: 'verify', from: 'DUAL_TRUST', to: 'POD_IDENTITY' }, 1, checks))).toEqual({
      wave: 'shop',
      step: 'verify',
      from: 'DUAL_TRUST',
      to: 'POD_IDENTITY',
      failed: 1,
      checks: checks.map(jsonCheck),
    });
  });
});
