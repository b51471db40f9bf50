import { App, Testing } from 'cdk8s';
import { IrsaInventory, MigrationPhase, ServiceAccountChart } from '../../src';

function inventory() {
  const inv = new IrsaInventory();
  inv.addServiceAccountsJson('c1', JSON.stringify({
    kind: 'List',
    items: [
      { kind: 'ServiceAccount', metadata: { name: 'api', namespace: 'web', labels: { team: 'web' }, annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/web-api', 'eks.amazonaws.com/sts-regional-endpoints': 'true' } }, automountServiceAccountToken: true },
      { kind: 'ServiceAccount', metadata: { name: 'worker', namespace: 'web', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/web-worker' } } },
      { kind: 'ServiceAccount', metadata: { name: 'locked', namespace: 'web', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/locked' } }, automountServiceAccountToken: false },
      { kind: 'ServiceAccount', metadata: { name: 'autoscaler', namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'autoscaler', 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/autoscaler' } } },
    ],
  }));
  return inv.serviceAccounts;
}

describe('ServiceAccountChart', () => {
  test.each([
    [MigrationPhase.IRSA_ONLY, true],
    [MigrationPhase.DUAL_TRUST, true],
    [MigrationPhase.POD_IDENTITY, true],
    [MigrationPhase.ANNOTATION_REMOVED, false],
    [MigrationPhase.POD_IDENTITY_ONLY, false],
  ])('%s: IRSA annotation kept=%s, everything else as recorded', (phase, kept) => {
    const chart = new ServiceAccountChart(Testing.app(), 'c1-wave', { serviceAccounts: inventory(), phase });
    const manifests = chart.toJson();
    expect(manifests).toHaveLength(3);
    const api = manifests.find((m: any) => m.metadata.name === 'api');
    expect(api).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'api',
        namespace: 'web',
        labels: { team: 'web' },
        annotations: { 'eks.amazonaws.com/sts-regional-endpoints': 'true', ...(kept ? { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/web-api' } : {}) },
      },
      automountServiceAccountToken: true,
    });
    // automountServiceAccountToken is never added or flipped
    const worker = manifests.find((m: any) => m.metadata.name === 'worker');
    expect(worker).not.toHaveProperty('automountServiceAccountToken');
    expect(manifests.find((m: any) => m.metadata.name === 'locked').automountServiceAccountToken).toBe(false);
    // no annotation binds a Pod Identity role (F13)
    expect(JSON.stringify(manifests)).not.toMatch(/pod-identity|pods\.eks/);
  });

  test('Helm-managed accounts are not rendered; the patch for their release is given', () => {
    const chart = new ServiceAccountChart(new App(), 'c1-wave', { serviceAccounts: inventory(), phase: MigrationPhase.ANNOTATION_REMOVED });
    expect(chart.helmManaged.map((sa) => sa.serviceAccount)).toEqual(['autoscaler']);
    expect(chart.rendered.map((sa) => sa.serviceAccount)).toEqual(['api', 'worker', 'locked']);
    expect(ServiceAccountChart.helmPatch(chart.helmManaged[0], MigrationPhase.ANNOTATION_REMOVED)).toEqual('{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":null}}}');
    expect(ServiceAccountChart.helmPatch(chart.helmManaged[0], MigrationPhase.POD_IDENTITY)).toEqual('{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::111122223333:role/autoscaler"}}}');
  });

  test('NO_PROXY value for workloads behind a proxy (F12)', () => {
    expect(ServiceAccountChart.noProxyValue('localhost,127.0.0.1,.svc,.cluster.local,169.254.169.254'))
      .toEqual('localhost,127.0.0.1,.svc,.cluster.local,169.254.169.254,169.254.170.23,[fd00:ec2::23]');
    expect(ServiceAccountChart.noProxyValue('169.254.170.23')).toEqual('169.254.170.23,[fd00:ec2::23]');
    expect(ServiceAccountChart.noProxyValue()).toEqual('169.254.170.23,[fd00:ec2::23]');
  });
});
