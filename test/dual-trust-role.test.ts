import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as fc from 'fast-check';
import { DualTrustRole, MigrationPhase, PodIdentityCluster } from '../src';
import { evaluate, plain } from './util/iam-simulator';
import { templateOf } from './util/synth';
import { podIdentityStatementsJson } from '../src/private/trust-statements';

const ACCOUNT = '111122223333';
const ENV = { account: ACCOUNT, region: 'us-east-1' };
const ISSUER_A = 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111';
const ISSUER_B = 'oidc.eks.us-east-1.amazonaws.com/id/BBBB2222BBBB2222BBBB2222BBBB2222';
const providerArn = (issuer: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer}`;

function cluster(name: string, issuer: string) {
  return PodIdentityCluster.fromClusterAttributes({
    clusterName: name,
    clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${name}`,
    oidcIssuer: issuer,
  });
}
const clusterA = cluster('cluster-a', ISSUER_A);
const clusterB = cluster('cluster-b', ISSUER_B);

function roleTrust(stack: Stack, role: DualTrustRole) {
  const resource = templateOf(stack).toJSON().Resources[stack.getLogicalId(role.node.defaultChild as iam.CfnRole)];
  return resource.Properties.AssumeRolePolicyDocument;
}

const podsStatement = (serviceAccounts: string | string[], namespace = 'payments') => ({
  Effect: 'Allow',
  Principal: { Service: 'pods.eks.amazonaws.com' },
  Action: ['sts:AssumeRole', 'sts:TagSession'],
  Condition: {
    StringEquals: {
      'aws:SourceAccount': ACCOUNT,
      'aws:RequestTag/kubernetes-namespace': namespace,
      'aws:RequestTag/kubernetes-service-account': serviceAccounts,
    },
  },
});

const irsaStatement = (issuer: string, sub: string | string[]) => ({
  Effect: 'Allow',
  Principal: { Federated: providerArn(issuer) },
  Action: 'sts:AssumeRoleWithWebIdentity',
  Condition: { StringEquals: { [`${issuer}:sub`]: sub, [`${issuer}:aud`]: 'sts.amazonaws.com' } },
});

describe('DualTrustRole trust statements', () => {
  test('DUAL_TRUST: one OIDC statement per cluster and the pinned pods.eks statement', () => {
    // GIVEN
    const stack = new Stack(new App(), 'S', { env: ENV });

    // WHEN
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.DUAL_TRUST,
      roleName: 'payments-checkout',
      irsaTrusts: [
        { cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout' },
        { cluster: clusterB, namespace: 'payments', serviceAccount: 'checkout' },
      ],
    });

    // THEN
    expect(roleTrust(stack, role)).toEqual({
      Version: '2012-10-17',
      Statement: [
        irsaStatement(ISSUER_A, 'system:serviceaccount:payments:checkout'),
        podsStatement('checkout'),
        irsaStatement(ISSUER_B, 'system:serviceaccount:payments:checkout'),
      ],
    });
    templateOf(stack).hasResourceProperties('AWS::IAM::Role', { RoleName: 'payments-checkout' });
  });

  test.each([
    [MigrationPhase.IRSA_ONLY, 2, 0],
    [MigrationPhase.DUAL_TRUST, 2, 1],
    [MigrationPhase.POD_IDENTITY, 2, 1],
    [MigrationPhase.ANNOTATION_REMOVED, 2, 1],
    [MigrationPhase.POD_IDENTITY_ONLY, 0, 1],
  ])('phase %s: %d OIDC statements, %d pods.eks statements', (phase, oidc, pods) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', {
      phase,
      irsaTrusts: [
        { cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout' },
        { cluster: clusterB, namespace: 'payments', serviceAccount: 'checkout' },
      ],
    });
    const statements: any[] = roleTrust(stack, role).Statement;
    expect(statements.filter((s) => s.Principal.Federated).length).toBe(oidc);
    expect(statements.filter((s) => s.Principal.Service === 'pods.eks.amazonaws.com').length).toBe(pods);
    for (const s of statements.filter((x) => x.Principal.Service)) {
      expect(s.Action).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    }
  });

  test('several service accounts on one cluster share the OIDC statement as a sub list; pins are per namespace', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.DUAL_TRUST,
      irsaTrusts: [
        { cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout' },
        { cluster: clusterA, namespace: 'payments', serviceAccount: 'ledger' },
        { cluster: clusterA, namespace: 'billing', serviceAccount: 'invoicer' },
      ],
    });
    expect(roleTrust(stack, role).Statement).toEqual([
      irsaStatement(ISSUER_A, ['system:serviceaccount:payments:checkout', 'system:serviceaccount:payments:ledger', 'system:serviceaccount:billing:invoicer']),
      podsStatement(['checkout', 'ledger']),
      podsStatement('invoicer', 'billing'),
    ]);
  });

  test('pins are computed at synthesis: service accounts added after construction count', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY_ONLY });
    role.addServiceAccount({ cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout' });
    role.addServiceAccount({ cluster: clusterB, namespace: 'payments', serviceAccount: 'refunds' });
    role.addServiceAccount({ cluster: clusterB, namespace: 'payments', serviceAccount: 'refunds' });
    expect(roleTrust(stack, role).Statement).toEqual([podsStatement(['checkout', 'refunds'])]);
  });

  test('pinClusters adds eks-cluster-arn: clusters of a namespace with the same service accounts share a statement, others have their own', () => {
    const clusterC = cluster('cluster-c', ISSUER_A.replace('AAAA', 'CCCC'));
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.POD_IDENTITY_ONLY,
      pinClusters: true,
      sourceOrgId: 'o-abc123',
      serviceAccounts: [
        { cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout' },
        { cluster: clusterC, namespace: 'payments', serviceAccount: 'checkout' },
        { cluster: clusterC, namespace: 'payments', serviceAccount: 'refunds' },
        { cluster: clusterB, namespace: 'payments', serviceAccount: 'checkout' },
      ],
    });
    // the rule the migration's planner follows (podIdentityGroups), in the order first used: A and B
    // pin {checkout}, C pins {checkout, refunds}; A's statement takes B when B arrives
    const statements = roleTrust(stack, role).Statement;
    expect(statements.map((st: any) => st.Condition.StringEquals)).toEqual([
      {
        'aws:SourceAccount': ACCOUNT,
        'aws:SourceOrgId': 'o-abc123',
        'aws:RequestTag/eks-cluster-arn': [`arn:aws:eks:us-east-1:${ACCOUNT}:cluster/cluster-a`, `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/cluster-b`],
        'aws:RequestTag/kubernetes-namespace': 'payments',
        'aws:RequestTag/kubernetes-service-account': 'checkout',
      },
      {
        'aws:SourceAccount': ACCOUNT,
        'aws:SourceOrgId': 'o-abc123',
        'aws:RequestTag/eks-cluster-arn': `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/cluster-c`,
        'aws:RequestTag/kubernetes-namespace': 'payments',
        'aws:RequestTag/kubernetes-service-account': ['checkout', 'refunds'],
      },
    ]);
    // the length check sees the statements as written
    expect(role.trustPolicyLength).toBe(JSON.stringify(roleTrust(stack, role)).length);
  });

  test('pinClusters without pinServiceAccounts: one statement naming every cluster', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.POD_IDENTITY_ONLY,
      pinClusters: true,
      pinServiceAccounts: false,
      serviceAccounts: [
        { cluster: clusterB, namespace: 'payments', serviceAccount: 'checkout' },
        { cluster: clusterA, namespace: 'orders', serviceAccount: 'api' },
      ],
    });
    expect(roleTrust(stack, role).Statement.map((st: any) => st.Condition.StringEquals)).toEqual([{
      'aws:SourceAccount': ACCOUNT,
      'aws:RequestTag/eks-cluster-arn': [`arn:aws:eks:us-east-1:${ACCOUNT}:cluster/cluster-b`, `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/cluster-a`],
    }]);
  });

  test('pinServiceAccounts: false pins the account only', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY_ONLY, pinServiceAccounts: false });
    expect(roleTrust(stack, role).Statement).toEqual([{
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
    }]);
    expect(role.pinsSessionTags).toBe(false);
  });

  test('irsaAudienceCondition: false leaves out the aud condition', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.IRSA_ONLY,
      irsaAudienceCondition: false,
      irsaTrusts: [{ cluster: clusterA, namespace: 'observability', serviceAccount: 'telemetry-shipper' }],
    });
    expect(roleTrust(stack, role).Statement[0].Condition).toEqual({
      StringEquals: { [`${ISSUER_A}:sub`]: 'system:serviceaccount:observability:telemetry-shipper' },
    });
  });

  test('an aws-eks cluster whose issuer is a token gets its condition keys through CfnJson', () => {
    const app = new App({ context: { [`availability-zones:account=${ACCOUNT}:region=us-east-1`]: ['us-east-1a', 'us-east-1b', 'us-east-1c'] } });
    const stack = new Stack(app, 'S', { env: ENV });
    const owned = new eks.Cluster(stack, 'C', { version: eks.KubernetesVersion.V1_33, kubectlLayer: { _kubectlLayer: true } as any, defaultCapacity: 0 });
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.DUAL_TRUST,
      irsaTrusts: [{ cluster: PodIdentityCluster.fromCluster(owned), namespace: 'payments', serviceAccount: 'checkout' }],
    });
    // Template.fromStack, not templateOf: aws-eks's own cluster resources (VPC AZs, its OIDC provider
    // handler) carry cfn-lint warnings that are not this library's, so this template is not linted.
    const resource = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(role.node.defaultChild as iam.CfnRole)];
    const [oidc] = resource.Properties.AssumeRolePolicyDocument.Statement;
    expect(oidc.Condition.StringEquals).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RoleIrsaConditions1/), 'Value'] });
    expect(oidc.Principal.Federated).toEqual({ Ref: expect.stringMatching(/OpenIdConnectProvider/) });
  });

  test('permissions: managed and inline policies, boundary, path, description, session duration', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.POD_IDENTITY_ONLY,
      serviceAccounts: [{ cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout' }],
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
      inlinePolicies: { orders: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] })] }) },
      permissionsBoundary: iam.ManagedPolicy.fromManagedPolicyName(stack, 'B', 'boundary'),
      path: '/workloads/',
      description: 'checkout',
      maxSessionDuration: Duration.hours(2),
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] }));
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::IAM::Role', {
      Path: '/workloads/',
      Description: 'checkout',
      MaxSessionDuration: 7200,
      PermissionsBoundary: Match.anyValue(),
      ManagedPolicyArns: [Match.anyValue()],
      Policies: [Match.objectLike({ PolicyName: 'orders' })],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 's3:GetObject' })] },
    });
    expect(role.roleArn).toBeDefined();
  });
});

describe('DualTrustRole trust policy length', () => {
  test('trustPolicyLength is the minified length of the synthesized trust, reported as info', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.DUAL_TRUST,
      irsaTrusts: [{ cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout' }],
    });
    const minified = JSON.stringify(roleTrust(stack, role)).length;
    expect(role.trustPolicyLength).toBe(minified);
    Annotations.fromStack(stack).hasInfo('/S/Role', `Trust policy: ${minified.toLocaleString('en-US')} characters (whitespace not counted) of 2,048.`);
  });

  test('over the limit is an error with the length, the limit and the options', () => {
    // GIVEN: five clusters, dual: five OIDC statements (about 440 characters each) and the pods.eks one
    const stack = new Stack(new App(), 'S', { env: ENV });
    const clusters = [1, 2, 3, 4, 5].map((i) => cluster(`c${i}`, `oidc.eks.us-east-1.amazonaws.com/id/${String(i).repeat(32)}`));
    const role = new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.DUAL_TRUST,
      irsaTrusts: clusters.map((c) => ({ cluster: c, namespace: 'kube-system', serviceAccount: 'cluster-autoscaler' })),
    });
    const length = role.trustPolicyLength;
    expect(length).toBeGreaterThan(2048);

    // THEN
    expect(() => templateOf(stack)).toThrow(
      `DualTrustRole at 'S/Role': the trust policy is ${length.toLocaleString('en-US')} characters (whitespace not counted), over trustPolicyMaxLength 2,048. `
      + 'Options: raise the account\'s IAM quota "Role trust policy length" and set trustPolicyMaxLength to the raised value; '
      + 'trust fewer clusters per role (5 OIDC statements now); '
      + 'or move the role to POD_IDENTITY_ONLY once its pods run on Pod Identity, which drops the OIDC statements.');
  });

  test('a raised quota declared with trustPolicyMaxLength passes', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const clusters = [1, 2, 3, 4, 5].map((i) => cluster(`c${i}`, `oidc.eks.us-east-1.amazonaws.com/id/${String(i).repeat(32)}`));
    new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.DUAL_TRUST,
      trustPolicyMaxLength: 4096,
      irsaTrusts: clusters.map((c) => ({ cluster: c, namespace: 'kube-system', serviceAccount: 'cluster-autoscaler' })),
    });
    templateOf(stack).resourceCountIs('AWS::IAM::Role', 1);
  });

  test.each([0, -1, 2.5])('trustPolicyMaxLength %s is an error', (value) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    expect(() => new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY_ONLY, trustPolicyMaxLength: value })).toThrow(
      `DualTrustRole at 'S/Role': trustPolicyMaxLength must be a positive whole number of characters (your account's "Role trust policy length" quota); got ${value}.`);
  });
});

describe('DualTrustRole errors', () => {
  test('IRSA_ONLY without IRSA trusts', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new DualTrustRole(stack, 'Role', { phase: MigrationPhase.IRSA_ONLY });
    expect(() => templateOf(stack)).toThrow(
      "DualTrustRole at 'S/Role': phase IRSA_ONLY but no irsaTrusts, so nothing could assume the role. Add the IRSA service accounts with irsaTrusts or addIrsaTrust().");
  });

  test('a pinned pods.eks trust with no service account to pin', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY_ONLY });
    expect(() => templateOf(stack)).toThrow(
      "DualTrustRole at 'S/Role': phase POD_IDENTITY_ONLY trusts pods.eks.amazonaws.com, but no service account is known to pin it to. Add irsaTrusts, bind the role with a PodIdentityBinding, call addServiceAccount(), or set pinServiceAccounts: false for account-only pinning.");
  });

  test('an IRSA trust on a cluster without OIDC provider', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const noOidc = PodIdentityCluster.fromClusterAttributes({ clusterName: 'bare' });
    expect(() => new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.DUAL_TRUST,
      irsaTrusts: [{ cluster: noOidc, namespace: 'payments', serviceAccount: 'checkout' }],
    })).toThrow(
      "DualTrustRole at 'S/Role': cluster \"bare\" has no OIDC provider, so it cannot be trusted through IRSA: pass oidcProviderArn or oidcIssuer to PodIdentityCluster.fromClusterAttributes, or give aws-eks an openIdConnectProvider.");
  });

  test.each([
    ['Payments', 'checkout', 'invalid namespace "Payments": a namespace is a DNS-1123 label: lower-case letters, digits and \'-\', starting and ending with a letter or digit.'],
    ['a'.repeat(64), 'checkout', `invalid namespace "${'a'.repeat(64)}": it is 64 characters long; a namespace is a DNS-1123 label of at most 63 characters.`],
    ['payments', 'check_out', 'invalid serviceAccount "check_out": a service account name is a DNS-1123 subdomain: lower-case letters, digits, \'-\' and \'.\', each dot-separated part starting and ending with a letter or digit.'],
  ])('namespace %s / service account %s', (namespace, serviceAccount, message) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY_ONLY, pinServiceAccounts: false });
    expect(() => role.addServiceAccount({ cluster: clusterA, namespace, serviceAccount })).toThrow(`DualTrustRole at 'S/Role': ${message}`);
  });

  test('a service account name with dots is valid', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY_ONLY });
    expect(() => role.addServiceAccount({ cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout.v2' })).not.toThrow();
  });
});

describe('DualTrustRole trust semantics (IAM policy simulation)', () => {
  const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/payments-checkout`;

  function trustFor(phase: MigrationPhase) {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new DualTrustRole(stack, 'Role', {
      phase,
      roleName: 'payments-checkout',
      irsaTrusts: [{ cluster: clusterA, namespace: 'payments', serviceAccount: 'checkout' }],
    });
    return plain(roleTrust(stack, role));
  }

  const webIdentity = (sub: string, issuer = ISSUER_A) => ({
    principal: providerArn(issuer),
    action: 'sts:AssumeRoleWithWebIdentity',
    resource: ROLE_ARN,
    resourceAccount: ACCOUNT,
    context: { [`${issuer}:sub`]: sub, [`${issuer}:aud`]: 'sts.amazonaws.com' },
  });
  const podIdentity = (action: string, namespace: string, serviceAccount: string, sourceAccount = ACCOUNT) => ({
    principal: 'pods.eks.amazonaws.com',
    action,
    resource: ROLE_ARN,
    resourceAccount: ACCOUNT,
    context: {
      'aws:SourceAccount': sourceAccount,
      'aws:RequestTag/kubernetes-namespace': namespace,
      'aws:RequestTag/kubernetes-service-account': serviceAccount,
      'aws:RequestTag/eks-cluster-arn': `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/cluster-a`,
      'aws:TagKeys': ['eks-cluster-arn', 'eks-cluster-name', 'kubernetes-namespace', 'kubernetes-service-account', 'kubernetes-pod-name', 'kubernetes-pod-uid'],
    },
  });

  const irsaAllowed = { IRSA_ONLY: true, DUAL_TRUST: true, POD_IDENTITY: true, ANNOTATION_REMOVED: true, POD_IDENTITY_ONLY: false };
  const podsAllowed = { IRSA_ONLY: false, DUAL_TRUST: true, POD_IDENTITY: true, ANNOTATION_REMOVED: true, POD_IDENTITY_ONLY: true };

  test.each(Object.values(MigrationPhase))('phase %s', (phase) => {
    const trust = trustFor(phase);
    const decide = (request: any) => evaluate(request, { resourcePolicy: trust });
    const allowIf = (yes: boolean) => (yes ? 'Allowed' : 'ImplicitlyDenied');

    // IRSA: the right sub as the phase says; a wrong sub, another issuer, or no aud never
    expect(decide(webIdentity('system:serviceaccount:payments:checkout'))).toBe(allowIf(irsaAllowed[phase]));
    expect(decide(webIdentity('system:serviceaccount:payments:refunds'))).toBe('ImplicitlyDenied');
    expect(decide(webIdentity('system:serviceaccount:analytics:checkout'))).toBe('ImplicitlyDenied');
    expect(decide(webIdentity('system:serviceaccount:payments:checkout', ISSUER_B))).toBe('ImplicitlyDenied');
    expect(decide({ ...webIdentity('system:serviceaccount:payments:checkout'), context: { [`${ISSUER_A}:sub`]: 'system:serviceaccount:payments:checkout' } })).toBe('ImplicitlyDenied');

    // Pod Identity: AssumeRole and TagSession with the bound tags as the phase says
    expect(decide(podIdentity('sts:AssumeRole', 'payments', 'checkout'))).toBe(allowIf(podsAllowed[phase]));
    expect(decide(podIdentity('sts:TagSession', 'payments', 'checkout'))).toBe(allowIf(podsAllowed[phase]));
    // ... never from another namespace, another service account, or another source account
    expect(decide(podIdentity('sts:AssumeRole', 'analytics', 'checkout'))).toBe('ImplicitlyDenied');
    expect(decide(podIdentity('sts:AssumeRole', 'payments', 'refunds'))).toBe('ImplicitlyDenied');
    expect(decide(podIdentity('sts:AssumeRole', 'payments', 'checkout', '999988887777'))).toBe('ImplicitlyDenied');
    // ... and no other service principal
    expect(decide({ ...podIdentity('sts:AssumeRole', 'payments', 'checkout'), principal: 'ec2.amazonaws.com' })).toBe('ImplicitlyDenied');
  });
});

describe('DualTrustRole and the migration\'s planner group Pod Identity uses by one rule', () => {
  const PHASES_WITH_PODS = [
    MigrationPhase.DUAL_TRUST, MigrationPhase.POD_IDENTITY, MigrationPhase.ANNOTATION_REMOVED, MigrationPhase.POD_IDENTITY_ONLY,
  ];
  /** Statements as a set: lists and statements in sorted order (DualTrustRole keeps the order of first use). */
  const normalized = (statements: any[]) => statements.map((st) => {
    const eq = { ...st.Condition.StringEquals };
    for (const k of Object.keys(eq)) {
      eq[k] = Array.isArray(eq[k]) ? [...eq[k]].sort() : eq[k];
    }
    return JSON.stringify({ ...st, Condition: { StringEquals: Object.fromEntries(Object.keys(eq).sort().map((k) => [k, eq[k]])) } });
  }).sort();

  test('over random uses in random order, a role pinning clusters and service accounts writes the planner\'s statements, with aws-cdk-lib\'s statement merging on or off', () => {
    const clusters = ['c0', 'c1', 'c2'].map((n, i) => cluster(n, ISSUER_A.replace('AAAA', `AA0${i}`)));
    const useArb = fc.record({ c: fc.nat(2), ns: fc.constantFrom('x', 'y'), sa: fc.constantFrom('p', 'q', 'r') });
    const usesArb = fc.array(useArb, { minLength: 1, maxLength: 12 });
    fc.assert(fc.property(usesArb, fc.boolean(), fc.constantFrom(...PHASES_WITH_PODS), (uses, minimize, phase) => {
      // minimizePolicies merges statements it takes for equal before resolving them
      const stack = new Stack(new App({ context: { '@aws-cdk/aws-iam:minimizePolicies': minimize } }), 'S', { env: ENV });
      const role = new DualTrustRole(stack, 'Role', {
        phase,
        pinClusters: true,
        trustPolicyMaxLength: 10_000,
        // at DUAL_TRUST and later phases with IRSA, the same service accounts through IRSA too
        irsaTrusts: uses.map((u) => ({ cluster: clusters[u.c], namespace: u.ns, serviceAccount: u.sa })),
      });
      const planned = podIdentityStatementsJson(ACCOUNT, uses.map((u) => ({
        clusterArn: clusters[u.c].clusterArn, namespace: u.ns, serviceAccount: u.sa,
      })));
      const statements = roleTrust(stack, role).Statement;
      expect(normalized(statements.filter((st: any) => st.Principal.Service))).toEqual(normalized(planned));
      // and one OIDC statement per cluster while the phase keeps IRSA, none merged into another
      const irsa = statements.filter((st: any) => st.Principal.Federated);
      expect(irsa.map((st: any) => st.Principal.Federated).sort()).toEqual(phase === MigrationPhase.POD_IDENTITY_ONLY ? []
        : [...new Set(uses.map((u) => clusters[u.c].oidcProviderArn!))].sort());
    }), { numRuns: 150 });
  });
});
