import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NamespaceScopedPolicy, PodIdentityCluster } from '../src';
import { evaluate, plain } from './util/iam-simulator';
import { templateOf } from './util/synth';

const ACCOUNT = '111122223333';
const ENV = { account: ACCOUNT, region: 'us-east-1' };
const CLUSTER_A = `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/a`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/shared`;

const tenantData = () => NamespaceScopedPolicy.s3ObjectsUnderNamespacePrefix('arn:aws:s3:::tenant-data', ['s3:GetObject', 's3:PutObject']);
const orders = () => new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`] });

function documents(stack: Stack): any[] {
  return Object.values<any>(templateOf(stack).findResources('AWS::IAM::ManagedPolicy')).map((p) => plain(p.Properties.PolicyDocument));
}

/** A request from a Pod Identity session with the given session tags. */
function call(policies: any[], action: string, resource: string, tags: { namespace?: string; serviceAccount?: string; cluster?: string }) {
  const context: Record<string, string> = {};
  if (tags.namespace) context['aws:PrincipalTag/kubernetes-namespace'] = tags.namespace;
  if (tags.serviceAccount) context['aws:PrincipalTag/kubernetes-service-account'] = tags.serviceAccount;
  if (tags.cluster) context['aws:PrincipalTag/eks-cluster-arn'] = tags.cluster;
  return evaluate({ principal: ROLE, action, resource, resourceAccount: ACCOUNT, context }, { identityPolicies: policies });
}

describe('NamespaceScopedPolicy', () => {
  test('scopes each statement with the namespace tag and adds the explicit deny', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new NamespaceScopedPolicy(stack, 'Orders', { namespaces: ['payments'], denyNamespaces: ['analytics'], statements: [orders()], managedPolicyName: 'orders' });
    templateOf(stack).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: 'orders',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`, Condition: { StringEquals: { 'aws:PrincipalTag/kubernetes-namespace': ['payments'] } } },
          { Effect: 'Deny', Action: 'dynamodb:GetItem', Resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`, Condition: { StringEquals: { 'aws:PrincipalTag/kubernetes-namespace': ['analytics'] } } },
        ],
      },
    });
  });

  test('allows payments, denies analytics and untagged sessions (simulation)', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new NamespaceScopedPolicy(stack, 'Orders', { namespaces: ['payments'], statements: [orders()] });
    const policies = documents(stack);
    const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`;
    expect(call(policies, 'dynamodb:GetItem', table, { namespace: 'payments' })).toBe('Allowed');
    expect(call(policies, 'dynamodb:GetItem', table, { namespace: 'analytics' })).toBe('ImplicitlyDenied');
    expect(call(policies, 'dynamodb:GetItem', table, {})).toBe('ImplicitlyDenied');
    expect(call(policies, 'dynamodb:PutItem', table, { namespace: 'payments' })).toBe('ImplicitlyDenied');
  });

  test('prefix tenant-a-* with per-namespace S3 prefixes; the deny list beats the allow (simulation)', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new NamespaceScopedPolicy(stack, 'Tenants', { namespacePrefixes: ['tenant-a-'], denyNamespaces: ['tenant-a-internal'], statements: [tenantData()] });
    const policies = documents(stack);
    const object = (prefix: string) => `arn:aws:s3:::tenant-data/${prefix}/report.csv`;
    expect(call(policies, 's3:GetObject', object('tenant-a-web'), { namespace: 'tenant-a-web' })).toBe('Allowed');
    expect(call(policies, 's3:PutObject', object('tenant-a-jobs'), { namespace: 'tenant-a-jobs' })).toBe('Allowed');
    // another namespace's prefix, even within the tenant
    expect(call(policies, 's3:GetObject', object('tenant-a-jobs'), { namespace: 'tenant-a-web' })).toBe('ImplicitlyDenied');
    // outside the prefix
    expect(call(policies, 's3:GetObject', object('tenant-b-web'), { namespace: 'tenant-b-web' })).toBe('ImplicitlyDenied');
    // the deny list wins over the prefix
    expect(call(policies, 's3:GetObject', object('tenant-a-internal'), { namespace: 'tenant-a-internal' })).toBe('ExplicitlyDenied');
  });

  test('deny beats an allow from another policy (simulation)', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new NamespaceScopedPolicy(stack, 'Orders', { namespaces: ['payments'], denyNamespaces: ['analytics'], statements: [orders()] });
    const allowEveryone = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' }] };
    const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`;
    expect(call([...documents(stack), allowEveryone], 'dynamodb:GetItem', table, { namespace: 'analytics' })).toBe('ExplicitlyDenied');
    expect(call([...documents(stack), allowEveryone], 'dynamodb:GetItem', table, { namespace: 'billing' })).toBe('Allowed');
  });

  test('service account and cluster pins (simulation)', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'a', clusterArn: CLUSTER_A });
    new NamespaceScopedPolicy(stack, 'Orders', { namespaces: ['payments'], serviceAccounts: ['checkout'], clusters: [cluster], clusterNames: ['a'], statements: [orders()] });
    const [doc] = documents(stack);
    expect(doc.Statement[0].Condition).toEqual({
      StringEquals: {
        'aws:PrincipalTag/kubernetes-namespace': ['payments'],
        'aws:PrincipalTag/kubernetes-service-account': ['checkout'],
        'aws:PrincipalTag/eks-cluster-arn': [CLUSTER_A],
        'aws:PrincipalTag/eks-cluster-name': ['a'],
      },
    });
    const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`;
    const evalWith = (serviceAccount: string, clusterArn: string) => evaluate(
      {
        principal: ROLE,
        action: 'dynamodb:GetItem',
        resource: table,
        resourceAccount: ACCOUNT,
        context: {
          'aws:PrincipalTag/kubernetes-namespace': 'payments',
          'aws:PrincipalTag/kubernetes-service-account': serviceAccount,
          'aws:PrincipalTag/eks-cluster-arn': clusterArn,
          'aws:PrincipalTag/eks-cluster-name': clusterArn.split('/')[1],
        },
      }, { identityPolicies: [doc] });
    expect(evalWith('checkout', CLUSTER_A)).toBe('Allowed');
    expect(evalWith('refunds', CLUSTER_A)).toBe('ImplicitlyDenied');
    expect(evalWith('checkout', `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/b`)).toBe('ImplicitlyDenied');
  });

  test('exact namespaces and prefixes together: one statement each (OR)', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new NamespaceScopedPolicy(stack, 'Mixed', { namespaces: ['payments'], namespacePrefixes: ['tenant-'], statements: [orders()] });
    const [doc] = documents(stack);
    expect(doc.Statement.map((s: any) => s.Condition)).toEqual([
      { StringEquals: { 'aws:PrincipalTag/kubernetes-namespace': ['payments'] } },
      { StringLike: { 'aws:PrincipalTag/kubernetes-namespace': ['tenant-*'] } },
    ]);
  });

  test('deny statements are kept as they are', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const deny = new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['s3:DeleteObject'], resources: ['*'] });
    new NamespaceScopedPolicy(stack, 'P', { namespaces: ['payments'], statements: [deny] });
    expect(documents(stack)[0].Statement).toEqual([{ Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' }]);
  });

  test('attaches to roles', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com') });
    const policy = new NamespaceScopedPolicy(stack, 'P', { namespaces: ['payments'], statements: [orders()] });
    policy.attachToRole(role);
    templateOf(stack).hasResourceProperties('AWS::IAM::ManagedPolicy', { Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }] });
    expect(policy.managedPolicies).toHaveLength(1);
  });

  test('over 6,144 characters: split across managed policies, all statements kept', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const statements = Array.from({ length: 40 }, (_, i) => new iam.PolicyStatement({
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resources: [`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/table-number-${i}-with-a-long-name`],
    }));
    const policy = new NamespaceScopedPolicy(stack, 'Big', { namespaces: ['payments'], statements, managedPolicyName: 'big' });
    const docs = documents(stack);
    expect(docs.length).toBeGreaterThan(1);
    expect(policy.managedPolicies).toHaveLength(docs.length);
    for (const doc of docs) {
      expect(JSON.stringify(doc).length).toBeLessThanOrEqual(6144);
    }
    expect(docs.flatMap((d) => d.Statement)).toHaveLength(40);
    const names = Object.values<any>(templateOf(stack).findResources('AWS::IAM::ManagedPolicy')).map((p) => p.Properties.ManagedPolicyName).sort();
    expect(names.slice(0, 2)).toEqual(['big', 'big-2']);
  });

  describe('errors', () => {
    const make = (props: any) => () => new NamespaceScopedPolicy(new Stack(new App(), 'S', { env: ENV }), 'P', props);
    test('no namespaces', () => {
      expect(make({ statements: [orders()] })).toThrow(
        "NamespaceScopedPolicy at 'S/P': neither namespaces nor namespacePrefixes is set, so the statements would apply to every namespace. Set namespaces (exact) or namespacePrefixes (e.g. \"tenant-a-\").");
    });
    test('invalid namespace', () => {
      expect(make({ namespaces: ['Payments'], statements: [orders()] })).toThrow(
        "NamespaceScopedPolicy at 'S/P': invalid namespace \"Payments\": a namespace is a DNS-1123 label");
    });
    test('invalid prefix', () => {
      expect(make({ namespacePrefixes: ['tenant-*'], statements: [orders()] })).toThrow(
        "NamespaceScopedPolicy at 'S/P': invalid namespace prefix \"tenant-*\": a prefix is the start of a DNS-1123 label (lower-case letters, digits and '-', starting with a letter or digit); the policy appends the '*'.");
    });
    test('no statements', () => {
      expect(make({ namespaces: ['payments'], statements: [] })).toThrow("NamespaceScopedPolicy at 'S/P': statements is empty: give the permissions to scope.");
    });
    test('a statement that already has a session-tag condition', () => {
      const s = orders();
      s.addCondition('StringEquals', { 'aws:PrincipalTag/kubernetes-namespace': 'x' });
      expect(make({ namespaces: ['payments'], statements: [s] })).toThrow(
        "NamespaceScopedPolicy at 'S/P': statement 1 already has a condition on \"aws:PrincipalTag/kubernetes-namespace\" (StringEquals); the policy sets the session-tag conditions itself. Remove it from the statement and use the props instead.");
    });
    test('one statement too big for a managed policy', () => {
      const huge = new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: Array.from({ length: 300 }, (_, i) => `arn:aws:s3:::bucket-${i}/*`) });
      expect(make({ namespaces: ['payments'], statements: [huge] })).toThrow(
        /^NamespaceScopedPolicy at 'S\/P': statement 1 of the scoped policy is [\d,]+ characters, more than fits in one managed policy \(6,144 including the document\)\. Split its actions or resources into several statements\.$/);
    });
  });
});
