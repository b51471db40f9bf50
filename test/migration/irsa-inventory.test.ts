import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IrsaInventory, MigrationPhase } from '../../src';
import { serviceAccountYaml } from '../../src/migration/private/service-account-documents';

const FLEET = path.join(__dirname, '..', '..', 'examples', 'northwind', 'fleet');

describe('IrsaInventory', () => {
  test('what a client or the server wrote is never kept, so no manifest copies it (last-applied still holds the role annotation)', () => {
    // GIVEN a ServiceAccount that kubectl apply, Argo CD, kapp and Flux have all touched
    const roleArn = 'arn:aws:iam::111122223333:role/prometheus';
    const lastApplied = JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { annotations: { 'eks.amazonaws.com/role-arn': roleArn }, name: 'prometheus', namespace: 'monitoring' } });
    const metadata = {
      name: 'prometheus',
      namespace: 'monitoring',
      uid: '0b5c',
      resourceVersion: '4711',
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubectl-client-side-apply' }],
      labels: { 'app': 'prometheus', 'kustomize.toolkit.fluxcd.io/name': 'infra', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system', 'kapp.k14s.io/app': '1', 'kapp.k14s.io/association': 'v1.x' },
      annotations: {
        'eks.amazonaws.com/role-arn': roleArn,
        'eks.amazonaws.com/token-expiration': '86400',
        'kubectl.kubernetes.io/last-applied-configuration': lastApplied,
        'argocd.argoproj.io/tracking-id': 'infra:/ServiceAccount:monitoring/prometheus',
        'kapp.k14s.io/identity': 'v1;monitoring//ServiceAccount/prometheus;v1',
        'kapp.k14s.io/original': lastApplied,
        'kapp.k14s.io/original-diff-md5': 'c6e94dc94aed3401b5d0f26ed6c0bff3',
      },
    };
    const inventory = new IrsaInventory();
    inventory.addServiceAccountsJson('c1', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata }] }));
    inventory.addEntry({ cluster: 'c2', namespace: 'monitoring', serviceAccount: 'prometheus', roleArn, labels: metadata.labels, annotations: metadata.annotations });
    // THEN only what the owner declared is kept, from kubectl output and from entries alike
    for (const sa of inventory.serviceAccounts) {
      expect([sa.cluster, sa.labels, sa.annotations]).toEqual([sa.cluster, { app: 'prometheus' }, { 'eks.amazonaws.com/token-expiration': '86400' }]);
      // and the ANNOTATION_REMOVED manifest names the role nowhere
      const yaml = serviceAccountYaml(inventory._entries().find((e) => e.cluster === sa.cluster)!, MigrationPhase.ANNOTATION_REMOVED);
      expect(yaml).not.toContain(roleArn);
      expect(yaml).not.toMatch(/last-applied|argocd|kapp|fluxcd|uid|resourceVersion|managedFields|creationTimestamp/);
    }
  });

  test('reads kubectl output: keeps only IRSA accounts with labels, other annotations and automount', () => {
    // GIVEN
    const inventory = new IrsaInventory();

    // WHEN
    inventory.addServiceAccountsFile('platform-prod-use1-blue', path.join(FLEET, 'serviceaccounts', 'platform-prod-use1-blue.json'));

    // THEN
    const accounts = inventory.serviceAccounts;
    expect(accounts.map((a) => `${a.namespace}/${a.serviceAccount}`)).toEqual([
      'internal-tools/backstage', 'kube-system/aws-node', 'kube-system/cluster-autoscaler', 'observability/telemetry-shipper',
      'payments/checkout', 'payments/ledger', 'search/indexer',
    ]);
    const checkout = accounts.find((a) => a.serviceAccount === 'checkout')!;
    expect(checkout).toMatchObject({
      cluster: 'platform-prod-use1-blue',
      roleArn: 'arn:aws:iam::111122223333:role/payments-checkout',
      role: { partition: 'aws', account: '111122223333', path: '/', roleName: 'payments-checkout' },
      labels: { 'app.kubernetes.io/name': 'checkout', 'app.kubernetes.io/part-of': 'payments', 'cost-center': 'cc-4711' },
      annotations: { 'eks.amazonaws.com/sts-regional-endpoints': 'true', 'eks.amazonaws.com/token-expiration': '86400' },
      helmRelease: undefined,
    });
    const autoscaler = accounts.find((a) => a.serviceAccount === 'cluster-autoscaler')!;
    expect(autoscaler.helmRelease).toEqual('cluster-autoscaler');
    expect(autoscaler.annotations?.['meta.helm.sh/release-name']).toEqual('cluster-autoscaler');
  });

  test('keeps automountServiceAccountToken as given', () => {
    const inventory = new IrsaInventory();
    inventory.addServiceAccountsFile('tenant-a-use1', path.join(FLEET, 'serviceaccounts', 'tenant-a-use1.json'));
    const raw = JSON.parse(fs.readFileSync(path.join(FLEET, 'serviceaccounts', 'tenant-a-use1.json'), 'utf8'));
    for (const item of raw.items.filter((i: any) => i.metadata.annotations?.['eks.amazonaws.com/role-arn'])) {
      const found = inventory.serviceAccounts.find((a) => a.namespace === item.metadata.namespace && a.serviceAccount === item.metadata.name)!;
      expect(found.automountServiceAccountToken).toEqual(item.automountServiceAccountToken);
    }
  });

  test('reads the whole Northwind fleet with workloads, and finds the proxy without the agent in NO_PROXY', () => {
    const inventory = new IrsaInventory();
    for (const file of fs.readdirSync(path.join(FLEET, 'serviceaccounts'))) {
      const cluster = file.replace(/\.json$/, '');
      inventory.addServiceAccountsFile(cluster, path.join(FLEET, 'serviceaccounts', file));
      inventory.addWorkloadsFile(cluster, path.join(FLEET, 'workloads', file));
    }
    expect(inventory.clusters).toHaveLength(11);
    const shipper = inventory.serviceAccounts.find((a) => a.cluster === 'batch-use1' && a.serviceAccount === 'telemetry-shipper')!;
    expect(shipper.workloads).toEqual([{
      kind: 'DaemonSet',
      name: 'telemetry-shipper',
      usesProxy: true,
      noProxy: 'localhost,127.0.0.1,.svc,.cluster.local,169.254.169.254',
      noProxyMissing: ['169.254.170.23', '[fd00:ec2::23]'],
    }]);
    const ingest = inventory.serviceAccounts.find((a) => a.cluster === 'batch-use1' && a.serviceAccount === 'ingest')!;
    expect(ingest.workloads.map((w) => w.kind)).toEqual(['CronJob']);
    const checkout = inventory.serviceAccounts.find((a) => a.cluster === 'platform-prod-use1-blue' && a.serviceAccount === 'checkout')!;
    expect(checkout.workloads.map((w) => w.name)).toEqual(['checkout', 'checkout-canary']);
  });

  test('a single ServiceAccount object and explicit entries', () => {
    const inventory = new IrsaInventory();
    inventory.addServiceAccountsJson('c1', JSON.stringify({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'app', namespace: 'web', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/teams/web/app-role' } },
    }));
    inventory.addEntry({ cluster: 'c1', namespace: 'batch', serviceAccount: 'job', roleArn: 'arn:aws-cn:iam::111122223333:role/job' });
    expect(inventory.serviceAccounts.map((a) => a.role)).toEqual([
      { arn: 'arn:aws:iam::111122223333:role/teams/web/app-role', partition: 'aws', account: '111122223333', path: '/teams/web/', roleName: 'app-role' },
      { arn: 'arn:aws-cn:iam::111122223333:role/job', partition: 'aws-cn', account: '111122223333', path: '/', roleName: 'job' },
    ]);
  });

  test('an entry keeps its labels and annotations as they were added, whatever the caller does to its maps afterwards', () => {
    const inventory = new IrsaInventory();
    const labels: { [key: string]: string } = { team: 'batch' };
    const annotations: { [key: string]: string } = { 'eks.amazonaws.com/sts-regional-endpoints': 'true' };
    inventory.addEntry({ cluster: 'c1', namespace: 'batch', serviceAccount: 'job', roleArn: 'arn:aws:iam::111122223333:role/job', labels, annotations });
    labels.team = 'changed';
    annotations.extra = 'added';
    const [entry] = inventory.serviceAccounts;
    expect({ labels: entry.labels, annotations: entry.annotations }).toEqual({
      labels: { team: 'batch' },
      annotations: { 'eks.amazonaws.com/sts-regional-endpoints': 'true' },
    });
    expect(entry).toEqual(expect.objectContaining({ cluster: 'c1', namespace: 'batch', serviceAccount: 'job', roleArn: 'arn:aws:iam::111122223333:role/job', source: 'entries', workloads: [] }));
  });

  test('kubectl output: the role annotation is left out of the other annotations, in their order', () => {
    const inventory = new IrsaInventory();
    inventory.addServiceAccountsJson('c1', JSON.stringify({
      kind: 'ServiceAccount',
      metadata: { name: 'app', namespace: 'web', annotations: { 'z-first': '1', 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app', 'a-last': '2' } },
    }));
    expect(Object.entries(inventory.serviceAccounts[0].annotations!)).toEqual([['z-first', '1'], ['a-last', '2']]);
  });

  describe('malformed input names the source and the item', () => {
    const add = (json: string) => () => new IrsaInventory().addServiceAccountsJson('c1', json, 'sa.json');
    test('not JSON', () => {
      expect(add('{not json')).toThrow(/^IrsaInventory: sa\.json: not JSON \(.*\); pass the output of kubectl \.\.\. -o json\.$/);
    });
    test('not a ServiceAccount list', () => {
      expect(add('{"kind":"PodList","items":[]}')).toThrow(
        'IrsaInventory: sa.json: expected a List of ServiceAccount or a single one (kubectl ... -o json); got kind "PodList".');
    });
    test('an item of another kind', () => {
      expect(add('{"kind":"List","items":[{"kind":"ServiceAccount","metadata":{"name":"a","namespace":"b"}},{"kind":"Pod"}]}')).toThrow(
        'IrsaInventory: sa.json item 2: expected ServiceAccount; got kind "Pod".');
    });
    test('a bad role ARN', () => {
      expect(add(JSON.stringify({ kind: 'List', items: [{ kind: 'ServiceAccount', metadata: { name: 'app', namespace: 'web', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1234:role/x' } } }] }))).toThrow(
        'IrsaInventory: sa.json item 1 (web/app): invalid role ARN "arn:aws:iam::1234:role/x": expected arn:<partition>:iam::<12-digit account>:role/<optional path/>name.');
    });
    test('missing metadata', () => {
      expect(add('{"kind":"ServiceAccount","metadata":{"name":"x"}}')).toThrow('IrsaInventory: sa.json item 1: a ServiceAccount needs metadata.name and metadata.namespace.');
    });
    test('the same account twice', () => {
      const inventory = new IrsaInventory();
      const json = JSON.stringify({ kind: 'ServiceAccount', metadata: { name: 'app', namespace: 'web', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/r' } } });
      inventory.addServiceAccountsJson('c1', json, 'a.json');
      expect(() => inventory.addServiceAccountsJson('c1', json, 'b.json')).toThrow(
        'IrsaInventory: b.json item 1 (web/app): web/app on cluster c1 is already in the inventory (from a.json); give each cluster\'s output once.');
    });
    test('an unreadable file', () => {
      const missing = path.join(os.tmpdir(), 'does-not-exist.json');
      expect(() => new IrsaInventory().addServiceAccountsFile('c1', missing)).toThrow(`IrsaInventory: cannot read ${missing}:`);
    });
    test('workloads without a pod template', () => {
      expect(() => new IrsaInventory().addWorkloadsJson('c1', '{"kind":"List","items":[{"kind":"Deployment","metadata":{"name":"a","namespace":"b"},"spec":{}}]}', 'w.json')).toThrow(
        'IrsaInventory: w.json item 1: a Deployment needs metadata.name, metadata.namespace and a pod template.');
    });
  });
});
