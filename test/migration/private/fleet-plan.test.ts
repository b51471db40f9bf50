import { PodIdentityCluster } from '../../../src';
import { podIdentityStatements } from '../../../src/migration/private/fleet-plan';
import { StackLayout } from '../../../src/migration/private/stack-layout';
import { evaluate } from '../../util/iam-simulator';

const cluster = (name: string) => PodIdentityCluster.fromClusterAttributes({ clusterName: name, clusterArn: `arn:aws:eks:us-east-1:111122223333:cluster/${name}` });
const [a, b, c] = ['a', 'b', 'c'].map(cluster);

describe('podIdentityStatements', () => {
  test('clusters with the same service accounts share a statement; the pins admit no pair the inventory lacks (IAM simulation)', () => {
    // GIVEN app on a and b, app and worker on c
    const uses = [
      { cluster: a, namespace: 'ns', serviceAccount: 'app' },
      { cluster: b, namespace: 'ns', serviceAccount: 'app' },
      { cluster: c, namespace: 'ns', serviceAccount: 'app' },
      { cluster: c, namespace: 'ns', serviceAccount: 'worker' },
    ];
    // WHEN
    const statements = podIdentityStatements('111122223333', uses);
    // THEN two statements: {a, b} x {app} and {c} x {app, worker}
    expect(statements.map((s) => s.Condition.StringEquals['aws:RequestTag/eks-cluster-arn'])).toEqual([
      [a.clusterArn, b.clusterArn], c.clusterArn,
    ]);
    const trust = { Version: '2012-10-17', Statement: statements };
    const decide = (on: PodIdentityCluster, sa: string) => evaluate({
      principal: 'pods.eks.amazonaws.com', action: 'sts:AssumeRole', resource: 'arn:aws:iam::111122223333:role/r', resourceAccount: '111122223333',
      context: { 'aws:SourceAccount': '111122223333', 'aws:RequestTag/eks-cluster-arn': on.clusterArn, 'aws:RequestTag/kubernetes-namespace': 'ns', 'aws:RequestTag/kubernetes-service-account': sa },
    }, { resourcePolicy: trust });
    expect(decide(a, 'app')).toBe('Allowed');
    expect(decide(c, 'worker')).toBe('Allowed');
    // worker runs on c only: not admitted on a or b
    expect(decide(a, 'worker')).toBe('ImplicitlyDenied');
    expect(decide(b, 'worker')).toBe('ImplicitlyDenied');
  });
});

describe('StackLayout', () => {
  const layout = new StackLayout('PodIdentity', 'us-east-1');

  test('names depend only on the identity', () => {
    expect(layout.roles('111122223333', 1).stackName).toBe('PodIdentity-Roles-111122223333');
    expect(layout.roles('111122223333', 3)).toEqual({ scope: 'Roles', id: '111122223333-3', stackName: 'PodIdentity-Roles-111122223333-3', account: '111122223333', region: 'us-east-1' });
    expect(layout.cluster('arn:aws:eks:eu-west-1:111122223333:cluster/blue', 2)).toEqual({
      scope: 'Clusters', id: 'blue-111122223333-eu-west-1-2', stackName: 'PodIdentity-Cluster-blue-111122223333-eu-west-1-2', account: '111122223333', region: 'eu-west-1',
    });
  });

  test('a cluster name with characters stack names refuse, or too long, is kept unique by a hash of its ARN', () => {
    const underscore = layout.cluster('arn:aws:eks:us-east-1:111122223333:cluster/team_a', 1);
    const dash = layout.cluster('arn:aws:eks:us-east-1:111122223333:cluster/team-a', 1);
    expect(underscore.stackName).toMatch(/^PodIdentity-Cluster-team-a-111122223333-us-east-1-[0-9a-f]{8}$/);
    expect(underscore.stackName).not.toBe(dash.stackName);
    const long = layout.cluster(`arn:aws:eks:us-east-1:111122223333:cluster/${'x'.repeat(100)}`, 12);
    expect(long.stackName.length).toBeLessThanOrEqual(128);
  });

  test('a stack name over 128 characters fails, saying what to shorten', () => {
    expect(() => layout.wave('w'.repeat(100), '111122223333', 'us-east-1')).toThrow(/^stack name PodIdentity-Wave-w+-111122223333-us-east-1 is 140 characters, over CloudFormation's 128: choose a shorter stackPrefix or wave name\.$/);
  });
});
