import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IrsaInventory } from '../../src';

const FLEET = path.join(__dirname, '..', '..', 'examples', 'northwind', 'fleet');

describe('IrsaInventory', () => {
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
