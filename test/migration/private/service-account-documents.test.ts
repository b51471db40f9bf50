import { App } from 'cdk8s';
import * as fc from 'fast-check';
import { MigrationPhase, ServiceAccountChart } from '../../../src';
import { IrsaServiceAccount, IrsaInventory } from '../../../src/migration/irsa-inventory';
import { serviceAccountDocument } from '../../../src/migration/private/service-account-documents';

const key = fc.constantFrom('app.kubernetes.io/name', 'team', 'eks.amazonaws.com/role-arn', 'example.com/z', 'a', 'Z', 'eks.amazonaws.com/token-expiration');
const sa: fc.Arbitrary<IrsaServiceAccount> = fc.record({
  namespace: fc.constantFrom('payments', 'kube-system', 'team-a'),
  serviceAccount: fc.constantFrom('ingest', 'default', 'svc-1'),
  labels: fc.option(fc.dictionary(key, fc.string({ maxLength: 6 }), { maxKeys: 3 }), { nil: undefined }),
  annotations: fc.option(fc.dictionary(key, fc.string({ maxLength: 6 }), { maxKeys: 3 }), { nil: undefined }),
  automountServiceAccountToken: fc.option(fc.boolean(), { nil: undefined }),
}).map((x) => ({
  ...x,
  cluster: 'c',
  roleArn: 'arn:aws:iam::111122223333:role/r',
  role: IrsaInventory.parseRoleArn('arn:aws:iam::111122223333:role/r'),
  workloads: [],
} as unknown as IrsaServiceAccount));

describe('serviceAccountDocument', () => {
  test('is what ServiceAccountChart renders for the same service account and phase, in every phase', () => {
    fc.assert(fc.property(sa, fc.constantFrom(...Object.values(MigrationPhase)), (account, phase) => {
      const chart = new ServiceAccountChart(new App(), 'c', { serviceAccounts: [account], phase });
      expect(serviceAccountDocument(account, phase)).toStrictEqual(chart.toJson()[0]);
      expect(JSON.stringify(serviceAccountDocument(account, phase))).toBe(JSON.stringify(chart.toJson()[0]));
    }), { numRuns: 500 });
  });
});
