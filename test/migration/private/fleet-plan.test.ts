import { PodIdentityCluster } from '../../../src';
import { podIdentityStatements } from '../../../src/migration/private/fleet-plan';
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
      principal: 'pods.eks.amazonaws.com',
      action: 'sts:AssumeRole',
      resource: 'arn:aws:iam::111122223333:role/r',
      resourceAccount: '111122223333',
      context: { 'aws:SourceAccount': '111122223333', 'aws:RequestTag/eks-cluster-arn': on.clusterArn, 'aws:RequestTag/kubernetes-namespace': 'ns', 'aws:RequestTag/kubernetes-service-account': sa },
    }, { resourcePolicy: trust });
    expect(decide(a, 'app')).toBe('Allowed');
    expect(decide(c, 'worker')).toBe('Allowed');
    // worker runs on c only: not admitted on a or b
    expect(decide(a, 'worker')).toBe('ImplicitlyDenied');
    expect(decide(b, 'worker')).toBe('ImplicitlyDenied');
  });
});
