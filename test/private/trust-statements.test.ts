/**
 * The trust statements as JSON, built and matched in one place (src/private/trust-statements.ts):
 * the shapes, the planner's grouping (IAM simulation: the pins admit exactly the pairs used, over
 * random uses), and the matchers the operator's checks and PodIdentityChecks share.
 */
import * as fc from 'fast-check';
import {
  admitsIrsaSubject, admitsPodIdentity, allowsAction, chainTargetStatementJson, irsaStatementJson, PodIdentityGroup, podIdentityGroups,
  podIdentityStatementsJson, PodIdentityUse,
  statementsOf,
} from '../../src/private/trust-statements';
import { evaluate } from '../util/iam-simulator';

const ACCOUNT = '111122223333';
const arn = (name: string) => `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${name}`;
const [a, b, c] = ['a', 'b', 'c'].map(arn);
const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111';
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`;

/** What IAM decides for pods.eks assuming with these session tags. */
const decide = (trust: any, on: string, namespace: string, serviceAccount: string) => evaluate({
  principal: 'pods.eks.amazonaws.com',
  action: 'sts:AssumeRole',
  resource: `arn:aws:iam::${ACCOUNT}:role/r`,
  resourceAccount: ACCOUNT,
  context: {
    'aws:SourceAccount': ACCOUNT, 'aws:RequestTag/eks-cluster-arn': on, 'aws:RequestTag/kubernetes-namespace': namespace, 'aws:RequestTag/kubernetes-service-account': serviceAccount,
  },
}, { resourcePolicy: trust });

describe('podIdentityStatementsJson (the planner\'s grouping)', () => {
  test('clusters with the same service accounts share a statement; the pins admit no pair the uses lack (IAM simulation)', () => {
    // GIVEN app on a and b, app and worker on c
    const uses = [
      { clusterArn: a, namespace: 'ns', serviceAccount: 'app' },
      { clusterArn: b, namespace: 'ns', serviceAccount: 'app' },
      { clusterArn: c, namespace: 'ns', serviceAccount: 'app' },
      { clusterArn: c, namespace: 'ns', serviceAccount: 'worker' },
    ];
    // WHEN
    const statements = podIdentityStatementsJson(ACCOUNT, uses);
    // THEN two statements: {a, b} x {app} and {c} x {app, worker}
    expect(statements).toEqual([
      {
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            'aws:SourceAccount': ACCOUNT, 'aws:RequestTag/eks-cluster-arn': [a, b], 'aws:RequestTag/kubernetes-namespace': 'ns', 'aws:RequestTag/kubernetes-service-account': 'app',
          },
        },
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
      },
      {
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            'aws:SourceAccount': ACCOUNT, 'aws:RequestTag/eks-cluster-arn': c, 'aws:RequestTag/kubernetes-namespace': 'ns', 'aws:RequestTag/kubernetes-service-account': ['app', 'worker'],
          },
        },
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
      },
    ]);
    const trust = { Version: '2012-10-17', Statement: statements };
    expect(decide(trust, a, 'ns', 'app')).toBe('Allowed');
    expect(decide(trust, c, 'ns', 'worker')).toBe('Allowed');
    // worker runs on c only: not admitted on a or b
    expect(decide(trust, a, 'ns', 'worker')).toBe('ImplicitlyDenied');
    expect(decide(trust, b, 'ns', 'worker')).toBe('ImplicitlyDenied');
  });

  test('over random uses, IAM admits exactly the (cluster, namespace, service account) triples used, and the matcher agrees with IAM', () => {
    const use = fc.record({ clusterArn: fc.constantFrom(a, b, c), namespace: fc.constantFrom('ns-1', 'ns-2'), serviceAccount: fc.constantFrom('app', 'worker', 'cron') });
    let denied = 0;
    fc.assert(fc.property(fc.array(use, { minLength: 1, maxLength: 10 }), (uses) => {
      const trust = { Version: '2012-10-17', Statement: podIdentityStatementsJson(ACCOUNT, uses) };
      const used = new Set(uses.map((u) => `${u.clusterArn} ${u.namespace} ${u.serviceAccount}`));
      for (const clusterArn of [a, b, c]) {
        for (const namespace of ['ns-1', 'ns-2']) {
          for (const serviceAccount of ['app', 'worker', 'cron']) {
            const want = used.has(`${clusterArn} ${namespace} ${serviceAccount}`);
            expect([clusterArn, namespace, serviceAccount, decide(trust, clusterArn, namespace, serviceAccount)])
              .toEqual([clusterArn, namespace, serviceAccount, want ? 'Allowed' : 'ImplicitlyDenied']);
            const target: PodIdentityUse = { clusterArn, namespace, serviceAccount };
            expect(statementsOf(trust).some((s) => admitsPodIdentity(s, target))).toBe(want);
            denied += want ? 0 : 1;
          }
        }
      }
    }), { numRuns: 60, seed: 20261207 });
    expect(denied).toBeGreaterThan(0);
  });
});

describe('podIdentityGroups (the one grouping rule, DualTrustRole\'s too)', () => {
  const use = fc.record({
    clusterArn: fc.constantFrom(a, b, c), namespace: fc.constantFrom('ns-1', 'ns-2'), serviceAccount: fc.constantFrom('app', 'worker', 'cron'),
  });
  const pinsArb = fc.record({ serviceAccounts: fc.boolean(), clusters: fc.boolean() });
  /** The (cluster, namespace, service account) triples a group list admits, over the values above. */
  const triples = [a, b, c].flatMap((cl) => ['ns-1', 'ns-2'].flatMap((ns) => ['app', 'worker', 'cron'].map((sa) => ({ cl, ns, sa }))));
  const admitted = (groups: PodIdentityGroup[]) => new Set(groups.flatMap((g) => triples
    .filter(({ cl, ns, sa }) => (!g.clusters || g.clusters.includes(cl)) && (!g.namespace || g.namespace === ns)
      && (!g.serviceAccounts || g.serviceAccounts.includes(sa)))
    .map(({ cl, ns, sa }) => `${cl} ${ns} ${sa}`)));
  const asSet = (groups: PodIdentityGroup[]) => groups
    .map((g) => JSON.stringify([g.namespace, [...g.serviceAccounts ?? []].sort(), [...g.clusters ?? []].sort()]))
    .sort();

  test('which uses share a statement does not depend on their order; sorted or in order of first use, the same groups', () => {
    fc.assert(fc.property(fc.array(use, { minLength: 1, maxLength: 10 }), pinsArb, fc.func(fc.integer()), (uses, pins, key) => {
      const shuffled = [...uses].sort((x, y) => key(x) - key(y));
      const sorted = podIdentityGroups(uses, pins, true);
      expect(asSet(podIdentityGroups(shuffled, pins, false))).toEqual(asSet(sorted));
      expect(asSet(podIdentityGroups(uses, pins, false))).toEqual(asSet(sorted));
    }), { numRuns: 200, seed: 20261207 });
  });

  test('with both pins, the groups admit exactly the uses; with a pin off, every value of what it leaves out', () => {
    fc.assert(fc.property(fc.array(use, { minLength: 1, maxLength: 10 }), pinsArb, (uses, pins) => {
      const want = new Set(triples
        .filter(({ cl, ns, sa }) => uses.some((u) => (!pins.clusters || u.clusterArn === cl)
          && (!pins.serviceAccounts || (u.namespace === ns && u.serviceAccount === sa))))
        .map(({ cl, ns, sa }) => `${cl} ${ns} ${sa}`));
      expect([...admitted(podIdentityGroups(uses, pins, false))].sort()).toEqual([...want].sort());
    }), { numRuns: 200, seed: 20261207 });
  });
});

describe('the other shapes', () => {
  test('IRSA: sub sorted, one value alone, aud when asked', () => {
    expect(irsaStatementJson(PROVIDER, ISSUER, ['system:serviceaccount:ns:b', 'system:serviceaccount:ns:a'], true)).toEqual({
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringEquals: { [`${ISSUER}:sub`]: ['system:serviceaccount:ns:a', 'system:serviceaccount:ns:b'], [`${ISSUER}:aud`]: 'sts.amazonaws.com' } },
      Effect: 'Allow',
      Principal: { Federated: PROVIDER },
    });
    expect(irsaStatementJson(PROVIDER, ISSUER, ['system:serviceaccount:ns:a'], false).Condition).toEqual({ StringEquals: { [`${ISSUER}:sub`]: 'system:serviceaccount:ns:a' } });
  });

  test('chain target: the association role by aws:PrincipalArn from its account, pinned when asked', () => {
    const role = 'arn:aws:iam::444455556666:role/assoc';
    expect(chainTargetStatementJson(role, 'arn:aws:iam::444455556666:root', { namespace: 'ns', serviceAccounts: new Set(['b', 'a']) })).toEqual({
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: { ArnEquals: { 'aws:PrincipalArn': role }, StringEquals: { 'aws:RequestTag/kubernetes-namespace': 'ns', 'aws:RequestTag/kubernetes-service-account': ['a', 'b'] } },
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::444455556666:root' },
    });
    expect(chainTargetStatementJson(role, 'arn:aws:iam::444455556666:root').Condition).toEqual({ ArnEquals: { 'aws:PrincipalArn': role } });
  });
});

describe('the matchers', () => {
  test('admitsIrsaSubject: the provider and the subject, by StringEquals or StringLike, Allow only', () => {
    const statement = irsaStatementJson(PROVIDER, ISSUER, ['system:serviceaccount:ns:app'], true);
    expect(admitsIrsaSubject(statement, PROVIDER, ISSUER, 'ns', 'app')).toBe(true);
    expect(admitsIrsaSubject(statement, PROVIDER, ISSUER, 'ns', 'other')).toBe(false);
    expect(admitsIrsaSubject(statement, PROVIDER.replace('AAAA', 'BBBB'), ISSUER, 'ns', 'app')).toBe(false);
    expect(admitsIrsaSubject({ ...statement, Effect: 'Deny' }, PROVIDER, ISSUER, 'ns', 'app')).toBe(false);
    const like = { ...statement, Condition: { StringLike: { [`${ISSUER}:sub`]: 'system:serviceaccount:ns:app' } } };
    expect(admitsIrsaSubject(like, PROVIDER, ISSUER, 'ns', 'app')).toBe(true);
  });

  test('admitsPodIdentity: a statement without a cluster pin admits every cluster', () => {
    const [statement] = podIdentityStatementsJson(ACCOUNT, [{ clusterArn: a, namespace: 'ns', serviceAccount: 'app' }]);
    const { ['aws:RequestTag/eks-cluster-arn']: _, ...rest } = statement.Condition.StringEquals;
    const unpinned = { ...statement, Condition: { StringEquals: rest } };
    expect(admitsPodIdentity(statement, { clusterArn: b, namespace: 'ns', serviceAccount: 'app' })).toBe(false);
    expect(admitsPodIdentity(unpinned, { clusterArn: b, namespace: 'ns', serviceAccount: 'app' })).toBe(true);
  });

  test('allowsAction: exact, service wildcard, full wildcard; statementsOf takes a single statement', () => {
    expect(allowsAction({ Action: 'sts:*' }, 'sts:TagSession')).toBe(true);
    expect(allowsAction({ Action: ['sts:AssumeRole'] }, 'sts:TagSession')).toBe(false);
    expect(allowsAction({ Action: '*' }, 'sts:TagSession')).toBe(true);
    expect(statementsOf({ Statement: { Effect: 'Allow' } })).toEqual([{ Effect: 'Allow' }]);
    expect(statementsOf(undefined)).toEqual([]);
  });
});
