import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentStatus, CrossAccountPodRole, MigrationPhase, PodIdentityCluster } from '../src';
import { evaluate, plain } from './util/iam-simulator';
import { templateOf } from './util/synth';

const CLUSTER_ACCOUNT = '111122223333';
const TARGET_ACCOUNT = '444455556666';
const CLUSTER_ARN = `arn:aws:eks:us-east-1:${CLUSTER_ACCOUNT}:cluster/platform`;

function setup(sessionTags = true) {
  const app = new App();
  const clusterStack = new Stack(app, 'Platform', { env: { account: CLUSTER_ACCOUNT, region: 'us-east-1' } });
  const targetStack = new Stack(app, 'Data', { env: { account: TARGET_ACCOUNT, region: 'us-east-1' } });
  const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'platform', clusterArn: CLUSTER_ARN, agentStatus: AgentStatus.PRE_INSTALLED });
  const chain = new CrossAccountPodRole(clusterStack, 'Ingest', {
    cluster,
    namespace: 'data-pipeline',
    serviceAccount: 'ingest',
    targetStack,
    sessionTags,
    associationRoleName: 'pod-id-ingest',
    targetRoleName: 'cross-acct-ingest',
    targetInlinePolicies: {
      s3: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::ingest-bucket/*'] })] }),
    },
  });
  return { app, clusterStack, targetStack, cluster, chain };
}

const ASSOCIATION_ROLE_ARN = `arn:aws:iam::${CLUSTER_ACCOUNT}:role/pod-id-ingest`;
const TARGET_ROLE_ARN = `arn:aws:iam::${TARGET_ACCOUNT}:role/cross-acct-ingest`;

function targetTrust(targetStack: Stack) {
  const roles = templateOf(targetStack).findResources('AWS::IAM::Role');
  expect(Object.keys(roles)).toHaveLength(1);
  return plain(Object.values<any>(roles)[0].Properties.AssumeRolePolicyDocument);
}

describe('CrossAccountPodRole', () => {
  test('cluster side: association role trusting pods.eks, allowed only to assume and tag the target; the binding chains', () => {
    const { clusterStack } = setup();
    const template = templateOf(clusterStack);
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'pod-id-ingest',
      AssumeRolePolicyDocument: {
        Statement: [{
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: { StringEquals: { 'aws:SourceAccount': CLUSTER_ACCOUNT, 'aws:RequestTag/kubernetes-namespace': 'data-pipeline', 'aws:RequestTag/kubernetes-service-account': 'ingest' } },
        }],
      },
    });
    template.resourceCountIs('AWS::IAM::Policy', 1);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: Match.anyValue() }] },
    });
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      Namespace: 'data-pipeline',
      ServiceAccount: 'ingest',
      DisableSessionTags: Match.absent(),
      TargetRoleArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${TARGET_ACCOUNT}:role/cross-acct-ingest`]] },
    });
  });

  test('target side with session tags: trusts the association role, pinned by request tags', () => {
    const { targetStack } = setup();
    expect(targetTrust(targetStack)).toEqual({
      Version: '2012-10-17',
      Statement: [{
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${CLUSTER_ACCOUNT}:root` },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': ASSOCIATION_ROLE_ARN },
          StringEquals: {
            'aws:RequestTag/eks-cluster-arn': CLUSTER_ARN,
            'aws:RequestTag/kubernetes-namespace': 'data-pipeline',
            'aws:RequestTag/kubernetes-service-account': 'ingest',
          },
        },
      }],
    });
    templateOf(targetStack).hasResourceProperties('AWS::IAM::Role', { RoleName: 'cross-acct-ingest', Policies: [Match.objectLike({ PolicyName: 's3' })] });
  });

  test('target side with session tags off: pinned by the external id computed at synth', () => {
    const { targetStack, chain } = setup(false);
    expect(chain.externalId).toEqual(`us-east-1/${CLUSTER_ACCOUNT}/platform/data-pipeline/ingest`);
    expect(targetTrust(targetStack).Statement[0].Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': ASSOCIATION_ROLE_ARN },
      StringEquals: { 'sts:ExternalId': `us-east-1/${CLUSTER_ACCOUNT}/platform/data-pipeline/ingest` },
    });
  });

  describe('IAM simulation of the chain', () => {
    const tags = {
      'aws:RequestTag/eks-cluster-arn': CLUSTER_ARN,
      'aws:RequestTag/kubernetes-namespace': 'data-pipeline',
      'aws:RequestTag/kubernetes-service-account': 'ingest',
    };
    // a cross-account assume needs both the caller's identity policy and the target trust to allow it
    const ALLOW_ALL_STS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:*', Resource: '*' }] };
    const assume = (principal: string, context: Record<string, string>, action = 'sts:AssumeRole') => ({
      principal,
      action,
      resource: TARGET_ROLE_ARN,
      resourceAccount: TARGET_ACCOUNT,
      context: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': principal.split(':')[4], ...context },
    });
    const associationPolicy = (clusterStack: Stack) =>
      plain(Object.values<any>(templateOf(clusterStack).findResources('AWS::IAM::Policy'))[0].Properties.PolicyDocument);

    test('with tags: the target trust admits the association role and no other principal', () => {
      const { clusterStack, targetStack } = setup();
      const trust = targetTrust(targetStack);
      const decide = (request: any, identity: any = ALLOW_ALL_STS) => evaluate(request, { resourcePolicy: trust, identityPolicies: [identity] });
      // the real chain: the association role's own policy and the target trust
      expect(decide(assume(ASSOCIATION_ROLE_ARN, tags), associationPolicy(clusterStack))).toBe('Allowed');
      expect(decide(assume(ASSOCIATION_ROLE_ARN, tags, 'sts:TagSession'), associationPolicy(clusterStack))).toBe('Allowed');
      // other callers allowed by their own policies are still refused by the trust
      expect(decide(assume(`arn:aws:iam::${CLUSTER_ACCOUNT}:role/other`, tags))).toBe('ImplicitlyDenied');
      expect(decide(assume('arn:aws:iam::999988887777:role/pod-id-ingest', tags))).toBe('ImplicitlyDenied');
      expect(decide(assume(ASSOCIATION_ROLE_ARN, { ...tags, 'aws:RequestTag/kubernetes-service-account': 'other' }))).toBe('ImplicitlyDenied');
      expect(decide(assume(ASSOCIATION_ROLE_ARN, { ...tags, 'aws:RequestTag/eks-cluster-arn': `arn:aws:eks:us-east-1:${CLUSTER_ACCOUNT}:cluster/other` }))).toBe('ImplicitlyDenied');
      expect(decide(assume(ASSOCIATION_ROLE_ARN, {}))).toBe('ImplicitlyDenied');
    });

    test('with the external id: the target trust admits the association role with that id only', () => {
      const { clusterStack, targetStack } = setup(false);
      const trust = targetTrust(targetStack);
      const decide = (request: any, identity: any = ALLOW_ALL_STS) => evaluate(request, { resourcePolicy: trust, identityPolicies: [identity] });
      const id = { 'sts:ExternalId': `us-east-1/${CLUSTER_ACCOUNT}/platform/data-pipeline/ingest` };
      expect(decide(assume(ASSOCIATION_ROLE_ARN, id), associationPolicy(clusterStack))).toBe('Allowed');
      expect(decide(assume(ASSOCIATION_ROLE_ARN, { 'sts:ExternalId': `us-east-1/${CLUSTER_ACCOUNT}/platform/data-pipeline/other` }))).toBe('ImplicitlyDenied');
      expect(decide(assume(ASSOCIATION_ROLE_ARN, {}))).toBe('ImplicitlyDenied');
      expect(decide(assume(`arn:aws:iam::${CLUSTER_ACCOUNT}:role/other`, id))).toBe('ImplicitlyDenied');
    });

    test('the association role may assume the target and nothing else', () => {
      const policy = associationPolicy(setup().clusterStack);
      // same-account resources: the identity policy alone decides
      const call = (action: string, resource: string) =>
        evaluate({ principal: ASSOCIATION_ROLE_ARN, action, resource, resourceAccount: CLUSTER_ACCOUNT }, { identityPolicies: [policy] });
      expect(call('sts:AssumeRole', `arn:aws:iam::${CLUSTER_ACCOUNT}:role/admin`)).toBe('ImplicitlyDenied');
      expect(call('s3:GetObject', 'arn:aws:s3:::ingest-bucket/x')).toBe('ImplicitlyDenied');
      expect(call('iam:PassRole', `arn:aws:iam::${CLUSTER_ACCOUNT}:role/admin`)).toBe('ImplicitlyDenied');
    });
  });

  test('an existing target role: no target stack resources, a warning with the exact trust statement', () => {
    const app = new App();
    const clusterStack = new Stack(app, 'Platform', { env: { account: CLUSTER_ACCOUNT, region: 'us-east-1' } });
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'platform', clusterArn: CLUSTER_ARN, agentStatus: AgentStatus.PRE_INSTALLED });
    new CrossAccountPodRole(clusterStack, 'Telemetry', {
      cluster,
      namespace: 'observability',
      serviceAccount: 'telemetry-shipper',
      associationRoleName: 'pod-id-telemetry',
      existingTargetRole: iam.Role.fromRoleArn(clusterStack, 'Firehose', 'arn:aws:iam::999988887777:role/firehose-writer'),
    });
    templateOf(clusterStack).hasResourceProperties('AWS::EKS::PodIdentityAssociation', { TargetRoleArn: 'arn:aws:iam::999988887777:role/firehose-writer' });
    Annotations.fromStack(clusterStack).hasWarning('/Platform/Telemetry',
      'the target role arn:aws:iam::999988887777:role/firehose-writer is managed outside this app: its owner must add this statement to its trust policy, or every assume from observability/telemetry-shipper is denied: '
      + '{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/pod-id-telemetry"},'
      + '"StringEquals":{"aws:RequestTag/eks-cluster-arn":"arn:aws:eks:us-east-1:111122223333:cluster/platform","aws:RequestTag/kubernetes-namespace":"observability","aws:RequestTag/kubernetes-service-account":"telemetry-shipper"}}} [ack: cdk-eks-pod-identity:existingTargetRoleTrust]');
  });

  test('default role names are stable and derived from the construct path', () => {
    const app = new App();
    const clusterStack = new Stack(app, 'Platform', { env: { account: CLUSTER_ACCOUNT, region: 'us-east-1' } });
    const targetStack = new Stack(app, 'Data', { env: { account: TARGET_ACCOUNT, region: 'us-east-1' } });
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'platform', clusterArn: CLUSTER_ARN, agentStatus: AgentStatus.PRE_INSTALLED });
    new CrossAccountPodRole(clusterStack, 'Ingest', { cluster, namespace: 'data-pipeline', serviceAccount: 'ingest', targetStack });
    templateOf(clusterStack).hasResourceProperties('AWS::IAM::Role', { RoleName: Match.stringLikeRegexp('^Platform-Ingest-[0-9A-F]{8}$') });
    templateOf(targetStack).hasResourceProperties('AWS::IAM::Role', { RoleName: Match.stringLikeRegexp('^Platform-Ingest-[0-9A-F]{8}-target$') });
  });

  describe('migration: a target role that IRSA pods still use directly', () => {
    const issuer = (i: number) => `oidc.eks.us-east-1.amazonaws.com/id/${String(i).repeat(32)}`;
    function chain(phase: MigrationPhase, clusters = 1, max?: number) {
      const app = new App();
      const clusterStack = new Stack(app, 'Platform', { env: { account: CLUSTER_ACCOUNT, region: 'us-east-1' } });
      const targetStack = new Stack(app, 'Central', { env: { account: '999988887777', region: 'us-east-1' } });
      const refs = Array.from({ length: clusters }, (_, i) => PodIdentityCluster.fromClusterAttributes({
        clusterName: `c${i}`, clusterArn: `arn:aws:eks:us-east-1:${CLUSTER_ACCOUNT}:cluster/c${i}`, oidcIssuer: issuer(i), agentStatus: AgentStatus.PRE_INSTALLED,
      }));
      const c = new CrossAccountPodRole(clusterStack, 'Telemetry', {
        cluster: refs[0],
        namespace: 'observability',
        serviceAccount: 'telemetry-shipper',
        targetStack,
        phase,
        associationRoleName: 'pod-id-telemetry',
        targetRoleName: 'firehose-writer',
        targetIrsaTrusts: refs.map((cluster) => ({ cluster, namespace: 'observability', serviceAccount: 'telemetry-shipper' })),
        targetIrsaAudienceCondition: false,
        targetTrustPolicyMaxLength: max,
      });
      return { clusterStack, targetStack, c };
    }

    test.each([
      [MigrationPhase.DUAL_TRUST, 1, 0],
      [MigrationPhase.POD_IDENTITY, 1, 1],
      [MigrationPhase.POD_IDENTITY_ONLY, 0, 1],
    ])('phase %s: %d IRSA statements in the target trust (in the target account\'s provider), %d associations', (phase, irsa, associations) => {
      const { clusterStack, targetStack, c } = chain(phase);
      const statements: any[] = targetTrust(targetStack).Statement;
      const oidc = statements.filter((s) => s.Principal.Federated);
      expect(oidc).toHaveLength(irsa);
      if (irsa) {
        expect(oidc[0]).toEqual({
          Effect: 'Allow',
          Action: 'sts:AssumeRoleWithWebIdentity',
          Principal: { Federated: `arn:aws:iam::999988887777:oidc-provider/${issuer(0)}` },
          Condition: { StringEquals: { [`${issuer(0)}:sub`]: 'system:serviceaccount:observability:telemetry-shipper' } },
        });
      }
      expect(statements.filter((s) => s.Principal.AWS)).toHaveLength(1);
      templateOf(clusterStack).resourceCountIs('AWS::EKS::PodIdentityAssociation', associations);
      expect(c.binding === undefined).toBe(associations === 0);
    });

    test('the dual target trust over its length limit is an error; the raised quota declared passes', () => {
      const over = chain(MigrationPhase.DUAL_TRUST, 11);
      expect(() => templateOf(over.targetStack)).toThrow(/CrossAccountPodRole at 'Platform\/Telemetry' \(target role\): the trust policy is [\d,]+ characters \(whitespace not counted\), over trustPolicyMaxLength 2,048\. .*trust fewer clusters per role \(11 OIDC statements now\); or move the chain to POD_IDENTITY_ONLY once no pod uses the target role through IRSA, which drops the OIDC statements\./);
      const raised = chain(MigrationPhase.DUAL_TRUST, 9, 4096);
      templateOf(raised.targetStack).resourceCountIs('AWS::IAM::Role', 1);
    });
  });

  describe('errors', () => {
    function base() {
      const app = new App();
      const clusterStack = new Stack(app, 'Platform', { env: { account: CLUSTER_ACCOUNT, region: 'us-east-1' } });
      const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'platform', clusterArn: CLUSTER_ARN, agentStatus: AgentStatus.PRE_INSTALLED });
      return { app, clusterStack, cluster };
    }

    test('neither or both of targetStack and existingTargetRole', () => {
      const { clusterStack, cluster } = base();
      expect(() => new CrossAccountPodRole(clusterStack, 'X', { cluster, namespace: 'a', serviceAccount: 'b' })).toThrow(
        "CrossAccountPodRole at 'Platform/X': give exactly one of targetStack (a target role is created there) and existingTargetRole (a role managed elsewhere).");
    });

    test('a target stack without env', () => {
      const { app, clusterStack, cluster } = base();
      expect(() => new CrossAccountPodRole(clusterStack, 'X', { cluster, namespace: 'a', serviceAccount: 'b', targetStack: new Stack(app, 'Agnostic') })).toThrow(
        "CrossAccountPodRole at 'Platform/X': targetStack 'Agnostic' has no concrete env; give it env: { account, region } (the role name and ARN are shared across accounts).");
    });

    test('external id with parts unknown until deploy', () => {
      const app = new App();
      const clusterStack = new Stack(app, 'Platform');
      const targetStack = new Stack(app, 'Data', { env: { account: TARGET_ACCOUNT, region: 'us-east-1' } });
      const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'platform', agentStatus: AgentStatus.PRE_INSTALLED });
      expect(() => new CrossAccountPodRole(clusterStack, 'X', { cluster, namespace: 'a', serviceAccount: 'b', targetStack, sessionTags: false })).toThrow(
        "CrossAccountPodRole at 'Platform/X': the cluster's account is unknown: give the cluster stack an env with an account, or reference the cluster with its clusterArn. The target trust names the cluster's account.");
      const regional = new Stack(app, 'Regional', { env: { account: CLUSTER_ACCOUNT } });
      expect(() => new CrossAccountPodRole(regional, 'X', { cluster, namespace: 'a', serviceAccount: 'b', targetStack, sessionTags: false })).toThrow(
        "CrossAccountPodRole at 'Regional/X': with sessionTags: false the target trust pins sts:ExternalId = <region>/<account>/<cluster>/<namespace>/<serviceAccount>, computed at synth, but region is not known until deploy. Use concrete values (a stack env, the cluster's name and ARN).");
    });

    test('invalid service account', () => {
      const { app, clusterStack, cluster } = base();
      const targetStack = new Stack(app, 'Data', { env: { account: TARGET_ACCOUNT, region: 'us-east-1' } });
      expect(() => new CrossAccountPodRole(clusterStack, 'X', { cluster, namespace: 'a', serviceAccount: 'B', targetStack })).toThrow(
        "CrossAccountPodRole at 'Platform/X': invalid serviceAccount \"B\"");
    });
  });
});
