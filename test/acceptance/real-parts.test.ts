/**
 * The bed is made of real parts: these pass only against the real EKS pod identity webhook (its
 * mutation, its registration with failurePolicy Fail) and a real controller-manager (pods replaced
 * after `rollout restart`). Everything else the suite asserts stands on them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { apply, aws, BED, cluster, credentialsOf, envOf, kubectl, kubectlJson, pods, until } from './bed';
import { deployment, irsaServiceAccount } from './fleet';

const C = cluster('faults-usw2');
const NS = 'probe';
const ROLE = `arn:aws:iam::${C.account}:role/probe`;

const sa = (name: string) => irsaServiceAccount(NS, name, ROLE);
const pod = (name: string, serviceAccountName: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS },
  spec: { serviceAccountName, initContainers: [{ name: 'init', image: 'x' }], containers: [{ name: 'app', image: 'x' }], terminationGracePeriodSeconds: 0 },
});
const projected = (p: any, audience: string) => (p.spec.volumes ?? []).find((v: any) =>
  (v.projected?.sources ?? []).some((s: any) => s.serviceAccountToken?.audience === audience));

beforeAll(() => {
  apply(C.name, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, sa('irsa-probe'), sa('pod-identity-probe')]);
});

afterAll(() => {
  kubectl(C.name, ['delete', 'namespace', NS, '--wait=false']);
});

test('the webhook is registered as EKS runs it, except that a webhook that does not answer refuses pods (failurePolicy Fail)', () => {
  const reg = kubectlJson(C.name, ['get', 'mutatingwebhookconfiguration', 'pod-identity-webhook']);
  expect(reg.webhooks[0]).toMatchObject({
    failurePolicy: 'Fail',
    sideEffects: 'None',
    admissionReviewVersions: ['v1beta1'],
    rules: [expect.objectContaining({ operations: ['CREATE'], resources: ['pods'] })],
  });
});

test('a pod of an annotated service account gets IRSA from the webhook binary: variables, token audience sts.amazonaws.com, no label', () => {
  apply(C.name, [pod('irsa', 'irsa-probe')]);
  const p = kubectlJson(C.name, ['-n', NS, 'get', 'pod', 'irsa']);
  expect(credentialsOf(p)).toBe('irsa');
  expect(envOf(p.spec.containers[0])).toMatchObject({
    AWS_ROLE_ARN: ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
    AWS_REGION: C.region,
    AWS_STS_REGIONAL_ENDPOINTS: 'regional',
  });
  expect(projected(p, 'sts.amazonaws.com')).toBeDefined();
  expect(p.metadata.labels?.['eks.amazonaws.com/pod-identity']).toBeUndefined();
});

test('with an association (made through the real AWS CLI), Pod Identity wins over the annotation, in init containers too', async () => {
  aws(C.account, C.region, ['eks', 'create-pod-identity-association', '--cluster-name', C.name, '--namespace', NS,
    '--service-account', 'pod-identity-probe', '--role-arn', ROLE]);
  // EKS's control plane writes the webhook's identities file once the association is visible
  await until('the identities file to hold the association', () =>
    JSON.parse(fs.readFileSync(cluster(C.name).identitiesFile, 'utf8')).identities.some((i: any) => i.serviceAccount === 'pod-identity-probe'));
  // the webhook reloads the watched file: a server-side dry run shows when it has
  await until('the webhook to inject Pod Identity', () => JSON.parse(kubectl(C.name, ['-n', NS, 'create', '--dry-run=server', '-o', 'json', '-f', '-'],
    JSON.stringify(pod('dry-run', 'pod-identity-probe')))).metadata.labels?.['eks.amazonaws.com/pod-identity'] === 'enabled');
  apply(C.name, [pod('pod-identity', 'pod-identity-probe')]);
  const p = kubectlJson(C.name, ['-n', NS, 'get', 'pod', 'pod-identity']);
  expect(p.metadata.labels['eks.amazonaws.com/pod-identity']).toBe('enabled');
  expect(credentialsOf(p)).toBe('pod');
  for (const c of [...p.spec.initContainers, ...p.spec.containers]) {
    expect(envOf(c)).toMatchObject({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
    });
  }
  expect(projected(p, 'pods.eks.amazonaws.com')).toBeDefined();
  expect(projected(p, 'sts.amazonaws.com')).toBeUndefined();
});

test('a webhook that does not answer makes the API server refuse the pod', () => {
  const line = fs.readFileSync(path.join(BED.dir, 'pids'), 'utf8').split('\n').find((l) => l.endsWith(`\t${C.name}-webhook`))!;
  const pid = Number(line.split('\t')[0]);
  process.kill(pid, 'SIGSTOP');
  try {
    expect(() => apply(C.name, [pod('refused', 'irsa-probe')])).toThrow(/failed calling webhook "pod-identity-webhook.amazonaws.com"/);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  expect(pods(C.name, NS).map((p) => p.metadata.name)).not.toContain('refused');
});

test('kubectl rollout restart: the controller-manager replaces every pod, kwok makes the new ones Ready, rollout status waits', () => {
  apply(C.name, [deployment(NS, 'web', { serviceAccountName: 'irsa-probe' }, 2)]);
  kubectl(C.name, ['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
  const web = () => pods(C.name, NS).filter((p) => p.metadata.labels?.app === 'web' && !p.metadata.deletionTimestamp);
  const before = web();
  expect(before).toHaveLength(2);
  expect(before.every((p) => p.status.phase === 'Running' && p.spec.nodeName)).toBe(true);
  const restartedAt = Date.now() - 1000;
  kubectl(C.name, ['-n', NS, 'rollout', 'restart', 'deployment/web']);
  kubectl(C.name, ['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
  const after = web().filter((p) => !before.some((b) => b.metadata.uid === p.metadata.uid));
  expect(after).toHaveLength(2);
  expect(after.every((p) => Date.parse(p.metadata.creationTimestamp) >= Math.floor(restartedAt / 1000) * 1000)).toBe(true);
  expect(after.every((p) => credentialsOf(p) === 'irsa')).toBe(true);
});
