import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentStatus, PodIdentityBinding, PodIdentityCluster, PodIdentityRole } from '../src';
import { evaluate, plain } from './util/iam-simulator';

const ACCOUNT = '111122223333';
const ENV = { account: ACCOUNT, region: 'us-east-1' };
const cluster = PodIdentityCluster.fromClusterAttributes({
  clusterName: 'apps', clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/apps`, agentStatus: AgentStatus.PRE_INSTALLED,
});

describe('PodIdentityRole (greenfield)', () => {
  test('trusted by pods.eks only, pinned to the service accounts its bindings name (IAM simulation)', () => {
    // GIVEN
    const stack = new Stack(new App(), 'S', { env: ENV });
    const role = new PodIdentityRole(stack, 'Role', { roleName: 'reports' });
    new PodIdentityBinding(stack, 'Binding', { cluster, namespace: 'reports', serviceAccount: 'generator', role });

    // THEN one statement: AssumeRole and TagSession, no OIDC
    const template = Template.fromStack(stack).toJSON();
    const trust = plain(template.Resources[stack.getLogicalId(role.node.defaultChild as iam.CfnRole)].Properties.AssumeRolePolicyDocument);
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0].Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    const decide = (namespace: string, serviceAccount: string, action = 'sts:AssumeRole') => evaluate({
      principal: 'pods.eks.amazonaws.com',
      action,
      resource: `arn:aws:iam::${ACCOUNT}:role/reports`,
      resourceAccount: ACCOUNT,
      context: { 'aws:SourceAccount': ACCOUNT, 'aws:RequestTag/kubernetes-namespace': namespace, 'aws:RequestTag/kubernetes-service-account': serviceAccount },
    }, { resourcePolicy: trust });
    expect(decide('reports', 'generator')).toBe('Allowed');
    expect(decide('reports', 'generator', 'sts:TagSession')).toBe('Allowed');
    expect(decide('reports', 'other')).toBe('ImplicitlyDenied');
    expect(decide('payments', 'generator')).toBe('ImplicitlyDenied');
  });

  test('errors name the PodIdentityRole', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new PodIdentityRole(stack, 'Role');
    expect(() => Template.fromStack(stack)).toThrow(/PodIdentityRole at 'S\/Role': phase POD_IDENTITY_ONLY trusts pods\.eks\.amazonaws\.com, but no service account is known to pin it to\./);
    expect(() => new PodIdentityRole(new Stack(new App(), 'T', { env: ENV }), 'Role', { trustPolicyMaxLength: 0 })).toThrow(
      /^PodIdentityRole at 'T\/Role': trustPolicyMaxLength must be a positive whole number/);
  });
});
