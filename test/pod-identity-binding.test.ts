import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cdk8s from 'cdk8s';
import {
  AgentStatus, ComputeType, DualTrustRole, MigrationPhase, NamespaceScopedPolicy,
  PodIdentityAgentAddon, PodIdentityBinding, PodIdentityCluster,
} from '../src';
import { templateOf } from './util/synth';

const ACCOUNT = '111122223333';
const ENV = { account: ACCOUNT, region: 'us-east-1' };

function cluster(name = 'c1', extra: object = {}) {
  return PodIdentityCluster.fromClusterAttributes({
    clusterName: name,
    clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${name}`,
    oidcIssuer: `oidc.eks.us-east-1.amazonaws.com/id/${name.toUpperCase().padEnd(32, '0')}`,
    agentStatus: AgentStatus.PRE_INSTALLED,
    ...extra,
  });
}

function setup() {
  const app = new App();
  const stack = new Stack(app, 'S', { env: ENV });
  const role = new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY });
  return { app, stack, role };
}

describe('PodIdentityBinding', () => {
  test('creates the association with the role, depends on the role and pins the role trust', () => {
    // GIVEN
    const { stack, role } = setup();

    // WHEN
    const binding = new PodIdentityBinding(stack, 'Checkout', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role, tags: { team: 'payments' } });

    // THEN
    const template = templateOf(stack);
    template.hasResource('AWS::EKS::PodIdentityAssociation', {
      Properties: {
        ClusterName: 'c1',
        Namespace: 'payments',
        ServiceAccount: 'checkout',
        RoleArn: { 'Fn::GetAtt': [stack.getLogicalId(role.node.defaultChild as iam.CfnRole), 'Arn'] },
        TargetRoleArn: Match.absent(),
        DisableSessionTags: Match.absent(),
        Policy: Match.absent(),
        Tags: [{ Key: 'team', Value: 'payments' }],
      },
      // the GetAtt orders the role before the association; no redundant DependsOn (cfn-lint W3005)
      DependsOn: Match.absent(),
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({
          Condition: { StringEquals: Match.objectLike({ 'aws:RequestTag/kubernetes-namespace': 'payments', 'aws:RequestTag/kubernetes-service-account': 'checkout' }) },
        })],
      },
    });
    expect(stack.resolve(binding.associationArn)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(binding.resource), 'AssociationArn'] });
    expect(stack.resolve(binding.associationId)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(binding.resource), 'AssociationId'] });
    expect(stack.resolve(binding.externalId)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(binding.resource), 'ExternalId'] });
  });

  test('depends on the role\'s policies too, so the pods have their permissions when the association exists', () => {
    const { stack, role } = setup();
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] }));
    new PodIdentityBinding(stack, 'B', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role });
    const policy = role.node.findChild('DefaultPolicy').node.defaultChild as iam.CfnPolicy;
    templateOf(stack).hasResource('AWS::EKS::PodIdentityAssociation', { DependsOn: [stack.getLogicalId(policy)] });
  });

  test('depends on the agent add-on of the cluster, even when the add-on is defined later', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    const c = cluster('c1', { agentStatus: AgentStatus.NOT_INSTALLED });
    const role = new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY });
    new PodIdentityBinding(stack, 'Checkout', { cluster: c, namespace: 'payments', serviceAccount: 'checkout', role });
    const agent = new PodIdentityAgentAddon(stack, 'Agent', { cluster: c });
    templateOf(stack).hasResource('AWS::EKS::PodIdentityAssociation', {
      DependsOn: Match.arrayWith([stack.getLogicalId(agent.resource!)]),
    });
  });

  test('depends on an agent add-on defined first: in its stack by DependsOn, in another stack by a stack dependency', () => {
    const app = new App();
    const c = cluster('c1', { agentStatus: AgentStatus.NOT_INSTALLED });
    const here = new Stack(app, 'Here', { env: ENV });
    const agentHere = new PodIdentityAgentAddon(here, 'Agent', { cluster: c });
    const role = new DualTrustRole(here, 'Role', { phase: MigrationPhase.POD_IDENTITY, pinServiceAccounts: false });
    new PodIdentityBinding(here, 'Checkout', { cluster: c, namespace: 'payments', serviceAccount: 'checkout', role });
    templateOf(here).hasResource('AWS::EKS::PodIdentityAssociation', { DependsOn: Match.arrayWith([here.getLogicalId(agentHere.resource!)]) });

    const app2 = new App();
    const foundation = new Stack(app2, 'Foundation', { env: ENV });
    new PodIdentityAgentAddon(foundation, 'Agent', { cluster: c });
    const bindings = new Stack(app2, 'Bindings', { env: ENV });
    const imported = iam.Role.fromRoleArn(bindings, 'R', 'arn:aws:iam::111122223333:role/r', { mutable: false });
    for (const sa of ['a', 'b', 'c']) {
      new PodIdentityBinding(bindings, sa, { cluster: c, namespace: 'payments', serviceAccount: sa, role: imported });
    }
    // after synthesis: a stack dependency, and no DependsOn across stacks
    const associations = Object.values<any>(Template.fromStack(bindings).findResources('AWS::EKS::PodIdentityAssociation'));
    expect(bindings.dependencies.map((s) => s.stackName)).toEqual(['Foundation']);
    expect(associations.map((r) => r.DependsOn)).toEqual([undefined, undefined, undefined]);
  });

  test('a session policy with session tags off', () => {
    const { stack, role } = setup();
    const r2 = new DualTrustRole(stack, 'Role2', { phase: MigrationPhase.POD_IDENTITY, pinServiceAccounts: false });
    new PodIdentityBinding(stack, 'B', {
      cluster: cluster(),
      namespace: 'payments',
      serviceAccount: 'checkout',
      role: r2,
      sessionTags: false,
      sessionPolicy: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] })] }),
    });
    role.addServiceAccount({ cluster: cluster(), namespace: 'x', serviceAccount: 'y' });
    templateOf(stack).hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      DisableSessionTags: true,
      Policy: '{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"arn:aws:s3:::b/*"}],"Version":"2012-10-17"}',
    });
  });

  test('a target role: targetRoleArn, and the role may assume it and tag the session', () => {
    const { stack, role } = setup();
    const target = iam.Role.fromRoleArn(stack, 'T', 'arn:aws:iam::444455556666:role/cross-acct-ingest');
    new PodIdentityBinding(stack, 'B', { cluster: cluster(), namespace: 'data-pipeline', serviceAccount: 'ingest', role, targetRole: target });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { TargetRoleArn: 'arn:aws:iam::444455556666:role/cross-acct-ingest' });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: ['sts:AssumeRole', 'sts:TagSession'], Effect: 'Allow', Resource: 'arn:aws:iam::444455556666:role/cross-acct-ingest' }] },
    });
  });

  test('renders its ServiceAccount into a cdk8s chart, with no role annotation', () => {
    const { stack, role } = setup();
    const binding = new PodIdentityBinding(stack, 'B', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role });
    const chart = new cdk8s.Chart(cdk8s.Testing.app(), 'sa');
    binding.renderServiceAccount(chart, { labels: { team: 'payments' } });
    binding.renderServiceAccount(new cdk8s.Chart(cdk8s.Testing.app(), 'other'), { automountServiceAccountToken: true });
    expect(chart.toJson()).toEqual([{
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'checkout', namespace: 'payments', labels: { team: 'payments' } },
    }]);
  });

  describe('errors', () => {
    test.each([
      [undefined, 'true (the default)'],
      [true, 'true'],
    ])('session policy with sessionTags %s', (sessionTags, shown) => {
      const { stack, role } = setup();
      expect(() => new PodIdentityBinding(stack, 'B', {
        cluster: cluster(),
        namespace: 'payments',
        serviceAccount: 'checkout',
        role,
        sessionTags,
        sessionPolicy: new iam.PolicyDocument(),
      })).toThrow(`PodIdentityBinding at 'S/B': \`sessionPolicy\` requires \`sessionTags: false\` (EKS rejects a session policy while session tags are on); got sessionTags: ${shown}.`);
    });

    test('the same service account bound through two forms of cluster reference: one is the name alone, the other name and ARN', () => {
      // GIVEN a reference by name (its account and region are the stack's) and one by name and ARN
      const { app, stack, role } = setup();
      const byName = PodIdentityCluster.fromClusterAttributes({ clusterName: 'c1' });
      const byArn = PodIdentityCluster.fromClusterAttributes({ clusterName: 'c1', clusterArn: `arn:aws:eks:${ENV.region}:${ENV.account}:cluster/c1` });
      new PodIdentityBinding(stack, 'First', { cluster: byName, namespace: 'payments', serviceAccount: 'checkout', role });
      // THEN the second is refused: it is the same cluster
      const other = new Stack(app, 'Other', { env: ENV });
      expect(() => new PodIdentityBinding(other, 'Second', { cluster: byArn, namespace: 'payments', serviceAccount: 'checkout', role: iam.Role.fromRoleName(other, 'R', 'r') })).toThrow(
        "PodIdentityBinding at 'Other/Second': payments/checkout on cluster \"c1\" already has a binding at 'S/First'; EKS allows one association per service account");
      // while the same name in another account or region is another cluster
      const elsewhere = new Stack(app, 'Elsewhere', { env: { account: ENV.account, region: 'eu-west-1' } });
      expect(() => new PodIdentityBinding(elsewhere, 'Third', {
        cluster: PodIdentityCluster.fromClusterAttributes({ clusterName: 'c1' }),
        namespace: 'payments',
        serviceAccount: 'checkout',
        role: iam.Role.fromRoleName(elsewhere, 'R', 'r'),
      })).not.toThrow();
    });

    test('two bindings for the same (cluster, namespace, service account) anywhere in the app', () => {
      const { app, stack, role } = setup();
      const other = new Stack(app, 'Other', { env: ENV });
      new PodIdentityBinding(stack, 'First', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role });
      expect(() => new PodIdentityBinding(other, 'Second', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role: iam.Role.fromRoleName(other, 'R', 'r') })).toThrow(
        "PodIdentityBinding at 'Other/Second': payments/checkout on cluster \"c1\" already has a binding at 'S/First'; EKS allows one association per service account (a second fails with ResourceInUseException). Bind each service account once, and use targetRole for a role in another account.");
    });

    test('more than 5,000 associations on one cluster', () => {
      const { stack, role } = setup();
      const c = cluster();
      for (let i = 0; i < 5000; i++) {
        new PodIdentityBinding(stack, `B${i}`, { cluster: c, namespace: 'apps', serviceAccount: `sa-${i}`, role });
      }
      expect(() => new PodIdentityBinding(stack, 'OneTooMany', { cluster: c, namespace: 'apps', serviceAccount: 'sa-5000', role })).toThrow(
        "PodIdentityBinding at 'S/OneTooMany': cluster \"c1\" would get association number 5,001, over EKS's fixed limit of 5,000 per cluster. Share roles between service accounts that need the same access, or keep some on IRSA.");
    });

    test('the same service account on another cluster is fine', () => {
      const { stack, role } = setup();
      new PodIdentityBinding(stack, 'A', { cluster: cluster('c1'), namespace: 'payments', serviceAccount: 'checkout', role });
      new PodIdentityBinding(stack, 'B', { cluster: cluster('c2'), namespace: 'payments', serviceAccount: 'checkout', role });
      templateOf(stack).resourceCountIs('AWS::EKS::PodIdentityAssociation', 2);
    });

    test.each([ComputeType.FARGATE, ComputeType.OUTPOSTS])('a %s cluster', (computeType) => {
      const { stack, role } = setup();
      expect(() => new PodIdentityBinding(stack, 'B', { cluster: cluster('c1', { computeType }), namespace: 'payments', serviceAccount: 'checkout', role })).toThrow(
        `PodIdentityBinding at 'S/B': cluster "c1" is declared computeType ${computeType}, where EKS Pod Identity is not supported; keep IRSA for payments/checkout on this cluster.`);
    });

    test('a cluster with no agent in the app and none declared', () => {
      const { stack, role } = setup();
      new PodIdentityBinding(stack, 'B', { cluster: cluster('c1', { agentStatus: AgentStatus.NOT_INSTALLED }), namespace: 'payments', serviceAccount: 'checkout', role });
      expect(() => templateOf(stack)).toThrow(
        "PodIdentityBinding at 'S/B': cluster \"c1\" has no Pod Identity agent: add a PodIdentityAgentAddon for it, or declare agentStatus PRE_INSTALLED if the agent is installed outside this app.");
    });

    test('a role whose trust pins request tags while the binding turns tags off', () => {
      const { stack, role } = setup();
      expect(() => new PodIdentityBinding(stack, 'B', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role, sessionTags: false })).toThrow(
        "PodIdentityBinding at 'S/B': sessionTags: false, but role 'S/Role' pins its pods.eks trust with aws:RequestTag conditions, which never match without session tags, so every assume would be denied. Set pinServiceAccounts: false and pinClusters: false on the role (account-only pinning), or keep session tags on.");
    });

    test('a role at IRSA_ONLY', () => {
      const stack = new Stack(new App(), 'S', { env: ENV });
      const role = new DualTrustRole(stack, 'Role', { phase: MigrationPhase.IRSA_ONLY });
      expect(() => new PodIdentityBinding(stack, 'B', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role })).toThrow(
        "PodIdentityBinding at 'S/B': role 'S/Role' is at phase IRSA_ONLY and does not trust pods.eks.amazonaws.com, so pods would get no credentials once the association exists. Move the role to DUAL_TRUST (deploy that first), then add the binding.");
    });

    test('a tag-scoped policy on a role whose binding turns tags off', () => {
      const stack = new Stack(new App(), 'S', { env: ENV });
      const role = new DualTrustRole(stack, 'Role', { phase: MigrationPhase.POD_IDENTITY, pinServiceAccounts: false });
      new NamespaceScopedPolicy(stack, 'Scoped', {
        namespaces: ['payments'],
        statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] })],
        roles: [role],
      });
      new PodIdentityBinding(stack, 'B', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role, sessionTags: false });
      expect(() => templateOf(stack)).toThrow(
        "PodIdentityBinding at 'S/B': sessionTags: false, but 'S/Scoped' scopes the role's permissions with aws:PrincipalTag conditions, which never match without session tags. Keep session tags on, or give this service account a role without tag-scoped policies.");
    });

    test.each([
      ['Payments', 'checkout', 'invalid namespace "Payments"'],
      ['payments', '-checkout', 'invalid serviceAccount "-checkout"'],
    ])('invalid names: %s/%s', (namespace, serviceAccount, message) => {
      const { stack, role } = setup();
      expect(() => new PodIdentityBinding(stack, 'B', { cluster: cluster(), namespace, serviceAccount, role })).toThrow(`PodIdentityBinding at 'S/B': ${message}`);
    });

    test('a stack in another account than the cluster', () => {
      const stack = new Stack(new App(), 'S', { env: { account: '999988887777', region: 'us-east-1' } });
      const role = iam.Role.fromRoleName(stack, 'R', 'r');
      expect(() => new PodIdentityBinding(stack, 'B', { cluster: cluster(), namespace: 'payments', serviceAccount: 'checkout', role })).toThrow(
        "PodIdentityBinding at 'S/B': cluster \"c1\" is in account 111122223333 but the stack 'S' deploys to account 999988887777: put the binding in a stack whose env is the cluster's account and region.");
    });
  });
});
