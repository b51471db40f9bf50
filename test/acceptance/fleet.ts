/**
 * The world the acceptance suite migrates: on each cluster of the bed, IRSA workloads as a platform
 * team has them today (ServiceAccounts annotated with their role, the roles in IAM trusting the
 * cluster's OIDC provider), of every kind the operator steps treat differently.
 */
import { aws, BedCluster } from './bed';

const IMAGE = 'registry.example/app:1';
const IRSA_ANNOTATION = 'eks.amazonaws.com/role-arn';

export interface ServiceAccountSpec {
  readonly namespace: string;
  readonly name: string;
  /** the IRSA role's name (in the cluster's account) */
  readonly role: string;
  readonly helm?: string;
}

/** The service accounts of each cluster (by cluster name) and the workloads that use them. */
export const SERVICE_ACCOUNTS: { [cluster: string]: ServiceAccountSpec[] } = {
  'shop-use1': [
    { namespace: 'payments', name: 'checkout', role: 'checkout' },
    { namespace: 'payments', name: 'ledger', role: 'ledger' },
    { namespace: 'monitoring', name: 'node-exporter', role: 'node-exporter' },
    { namespace: 'monitoring', name: 'log-shipper', role: 'log-shipper' },
    { namespace: 'web', name: 'frontend', role: 'frontend', helm: 'frontend' },
  ],
  'shop-euw1': [
    { namespace: 'payments', name: 'checkout', role: 'checkout' },
    { namespace: 'batch', name: 'report', role: 'report' },
  ],
};

export const NAMESPACES = ['payments', 'monitoring', 'web', 'batch'];

const meta = (name: string, namespace: string, labels: any = { app: name }) => ({ name, namespace, labels });
const container = (name: string, extra: any = {}) => ({ name, image: IMAGE, ...extra });
const template = (name: string, sa: string, spec: any = {}) => ({
  metadata: { labels: { app: name } },
  spec: { serviceAccountName: sa, containers: [container('app')], terminationGracePeriodSeconds: 0, ...spec },
});

/** A ServiceAccount on IRSA: annotated with its role. */
export function irsaServiceAccount(namespace: string, name: string, role: string): any {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, annotations: { [IRSA_ANNOTATION]: role } } };
}

/** A Deployment whose pods (label app=<name>) run as `serviceAccountName` (default: its own name); `spec` overrides the pod spec. */
export function deployment(namespace: string, name: string, spec: any = {}, replicas = 1): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(name, namespace),
    spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name, name, spec) },
  };
}

/** The agent's addresses in NO_PROXY, as the EKS user guide says for a proxy-configured workload. */
export const NO_PROXY_WITH_AGENT = 'localhost,127.0.0.1,169.254.169.254,169.254.170.23,[fd00:ec2::23],.svc,.cluster.local';

export function roleArn(c: BedCluster, role: string): string {
  return `arn:aws:iam::${c.account}:role/${role}`;
}

/** Every object of a cluster's world: namespaces, ServiceAccounts (IRSA), workloads. */
export function objectsOf(c: BedCluster): any[] {
  const sas = SERVICE_ACCOUNTS[c.name];
  const objects: any[] = NAMESPACES.filter((ns) => sas.some((s) => s.namespace === ns))
    .map((ns) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
  for (const s of sas) {
    const labels: any = s.helm ? { 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': s.helm } : {};
    const annotations: any = { [IRSA_ANNOTATION]: roleArn(c, s.role) };
    if (s.helm) {
      annotations['meta.helm.sh/release-name'] = s.helm;
      annotations['meta.helm.sh/release-namespace'] = s.namespace;
    }
    objects.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: s.name, namespace: s.namespace, labels, annotations } });
  }
  if (c.name === 'shop-use1') {
    // an init container: it must get the same credentials as the app
    objects.push(deployment('payments', 'checkout', { initContainers: [container('migrate')], containers: [container('app')] }, 2));
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('ledger', 'payments'),
      spec: { replicas: 2, serviceName: 'ledger', selector: { matchLabels: { app: 'ledger' } }, updateStrategy: { type: 'OnDelete' }, template: template('ledger', 'ledger') },
    });
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta('node-exporter', 'monitoring'),
      spec: { selector: { matchLabels: { app: 'node-exporter' } }, template: template('node-exporter', 'node-exporter') },
    });
    // a DaemonSet that updates its pods only when they are deleted
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta('log-shipper', 'monitoring'),
      spec: { selector: { matchLabels: { app: 'log-shipper' } }, updateStrategy: { type: 'OnDelete' }, template: template('log-shipper', 'log-shipper') },
    });
    // a proxy-configured workload whose NO_PROXY, from a ConfigMap, holds the agent
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'proxy', namespace: 'web' }, data: { NO_PROXY: NO_PROXY_WITH_AGENT } });
    objects.push(deployment('web', 'frontend', {
      containers: [container('app', {
        env: [{ name: 'HTTPS_PROXY', value: 'http://proxy.internal:3128' }, { name: 'NO_PROXY', valueFrom: { configMapKeyRef: { name: 'proxy', key: 'NO_PROXY' } } }],
      })],
    }));
  } else {
    objects.push(deployment('payments', 'checkout'));
    objects.push({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta('report', 'batch'),
      spec: { schedule: '0 3 1 1 *', jobTemplate: { spec: { template: { ...template('report', 'report', { restartPolicy: 'Never' }) } } } },
    });
    // a bare pod: nothing recreates it
    objects.push({ apiVersion: 'v1', kind: 'Pod', metadata: meta('report-adhoc', 'batch'), spec: template('report-adhoc', 'report', { restartPolicy: 'Never' }).spec });
  }
  return objects;
}

/** The statement by which an IRSA role trusts a cluster's OIDC provider for some of its service accounts (`namespace:name`). */
function oidcTrust(c: BedCluster, account: string, serviceAccounts: string[]): any {
  const provider = c.issuer.replace(/^https:\/\//, '');
  const subs = serviceAccounts.map((s) => `system:serviceaccount:${s}`);
  return {
    Effect: 'Allow',
    Principal: { Federated: `arn:aws:iam::${account}:oidc-provider/${provider}` },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { [`${provider}:sub`]: subs.length === 1 ? subs[0] : subs, [`${provider}:aud`]: 'sts.amazonaws.com' } },
  };
}

/**
 * An IRSA role as IAM holds it today, in the cluster's account: trusting the cluster's OIDC provider
 * for one service account (`namespace:name`), with `statements` as its inline policy when given.
 */
export function createIrsaRole(c: BedCluster, roleName: string, serviceAccount: string, statements?: any[]): void {
  aws(c.account, c.region, ['iam', 'create-role', '--role-name', roleName, '--assume-role-policy-document',
    JSON.stringify({ Version: '2012-10-17', Statement: [oidcTrust(c, c.account, [serviceAccount])] })]);
  if (statements) {
    aws(c.account, c.region, ['iam', 'put-role-policy', '--role-name', roleName, '--policy-name', 'app', '--policy-document',
      JSON.stringify({ Version: '2012-10-17', Statement: statements })]);
  }
}

/** The IRSA roles of a cluster's account as IAM holds them today: trust in the cluster's OIDC provider, an inline policy. */
export function createIrsaRoles(clusters: BedCluster[]): void {
  const byRole = new Map<string, { c: BedCluster; subs: string[] }[]>();
  for (const c of clusters) {
    for (const s of SERVICE_ACCOUNTS[c.name]) {
      const key = `${c.account}/${s.role}`;
      byRole.set(key, [...(byRole.get(key) ?? []), { c, subs: [`${s.namespace}:${s.name}`] }]);
    }
  }
  for (const [key, users] of byRole) {
    const [account, role] = key.split('/');
    const statements = users.map(({ c, subs }) => oidcTrust(c, account, subs));
    const region = users[0].c.region;
    aws(account, region, ['iam', 'create-role', '--role-name', role, '--assume-role-policy-document', JSON.stringify({ Version: '2012-10-17', Statement: statements })]);
    aws(account, region, ['iam', 'put-role-policy', '--role-name', role, '--policy-name', 'app', '--policy-document',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::shop-${role}/*` }] })]);
  }
}
