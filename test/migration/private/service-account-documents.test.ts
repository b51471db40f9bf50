import { App } from 'cdk8s';
import * as fc from 'fast-check';
import { MigrationPhase, ServiceAccountChart } from '../../../src';
import { IrsaServiceAccount } from '../../../src/migration/inventory-types';
import { IrsaInventory } from '../../../src/migration/irsa-inventory';
import { serviceAccountDocument, serviceAccountYaml } from '../../../src/migration/private/service-account-documents';
import { manifestsYaml } from '../../../src/migration/private/yaml';

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

/** Names and values as a fleet has them, and those YAML must quote or a document must drop. */
const text = fc.oneof(
  fc.constantFrom('svc-0', 'team-a', 'ingest', 'arn:aws:iam::111122223333:role/x', 'app.kubernetes.io/name', 'yes', 'No', 'on', 'null', 'true',
    'y', 'E0', 'e12', '', ' ', 'a b', 'a:', '1:20', '12', '0x1f', '_x', 'ümlaut', 'multi\nline', '#a'),
  fc.stringMatching(/^[a-z0-9][-a-z0-9.]{0,10}$/),
  fc.string({ maxLength: 6 }),
);
const value = fc.oneof(text, fc.constant(null as unknown as string));
const entries = fc.option(fc.dictionary(fc.oneof(key, text), value, { maxKeys: 4 }), { nil: undefined });
const anyAccount: fc.Arbitrary<IrsaServiceAccount> = fc.record({
  namespace: fc.oneof(fc.constantFrom('payments', 'kube-system', 'yes', 'null', 'e5', 'on'), fc.stringMatching(/^[a-z0-9][-a-z0-9]{0,8}$/)),
  serviceAccount: fc.oneof(fc.constantFrom('ingest', 'default', 'svc-1', 'n', 'true', 'a.b'), fc.stringMatching(/^[a-z0-9][-a-z0-9.]{0,8}$/)),
  roleArn: fc.constantFrom('arn:aws:iam::111122223333:role/r', 'arn:aws:iam::111122223333:role/path/with space'),
  labels: entries,
  annotations: entries,
  automountServiceAccountToken: fc.option(fc.boolean(), { nil: undefined }),
}).map((x) => ({ ...x, cluster: 'c', role: IrsaInventory.parseRoleArn('arn:aws:iam::111122223333:role/r'), workloads: [] } as unknown as IrsaServiceAccount));

describe('serviceAccountYaml', () => {
  test('is byte for byte the YAML of serviceAccountDocument, for any names, labels, annotations and phase', () => {
    fc.assert(fc.property(anyAccount, fc.constantFrom(...Object.values(MigrationPhase)), (account, phase) => {
      expect(serviceAccountYaml(account, phase)).toBe(manifestsYaml([serviceAccountDocument(account, phase)]));
    }), { numRuns: 3000 });
  });

  test('a plain service account is written directly, in cdk8s\'s order', () => {
    const account = {
      cluster: 'c',
      namespace: 'payments',
      serviceAccount: 'checkout',
      roleArn: 'arn:aws:iam::111122223333:role/checkout',
      workloads: [],
      labels: { 'team': 'payments', 'app.kubernetes.io/name': 'checkout' },
      annotations: { 'example.com/owner': 'payments' },
      automountServiceAccountToken: false,
    } as unknown as IrsaServiceAccount;
    expect(serviceAccountYaml(account, MigrationPhase.POD_IDENTITY)).toBe([
      'apiVersion: v1', 'kind: ServiceAccount', 'metadata:',
      '  annotations:', '    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/checkout', '    example.com/owner: payments',
      '  labels:', '    app.kubernetes.io/name: checkout', '    team: payments',
      '  name: checkout', '  namespace: payments', 'automountServiceAccountToken: false', '',
    ].join('\n'));
    expect(serviceAccountYaml(account, MigrationPhase.POD_IDENTITY_ONLY)).not.toContain('role-arn');
  });
});
