/**
 * The end of a migration: a cluster whose service accounts all reached POD_IDENTITY_ONLY retires its
 * IAM OIDC provider with the generated runbooks/oidc-providers scripts, one recorded step per deploy:
 * ADOPTED (cdk import), RETIRING (DeletionPolicy Delete), RETIRED (deleted). The preflight finds what
 * still uses the provider and the app cannot see (a role outside it, a managed add-on on IRSA, a pod
 * on IRSA); verify finds a provider not yet in its stack, and one not yet deleted. Cluster
 * ledger-apse2 and stack prefix Ledger are this suite's own. Its fleet is that one cluster, without
 * the agent (all NOT_INSTALLED): the wave stops before POD_IDENTITY and names the foundation step,
 * which installs it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Inventory, readInventory, stackIdOf, synthOneCluster } from './app';
import { allReady, apply, aws, CDK, cluster, credentialsOf, kubectl, kubectlJson, runProviderScript, runScript, ScriptRun } from './bed';
import { deployment, irsaServiceAccount } from './fleet';
import { MigrationPhase, OidcProviderStep } from '../../src';

const P = MigrationPhase;
const C = cluster('ledger-apse2');
const WAVE = 'ledger';
const ROLE = `arn:aws:iam::${C.account}:role/ledger-apse2`;
const PROVIDER = `arn:aws:iam::${C.account}:oidc-provider/${C.issuer.replace('https://', '')}`;
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'bed-ledger-'));
const phases: MigrationPhase[] = [P.IRSA_ONLY];
const steps: OidcProviderStep[] = [];
let assembly = '';
let inventory: Inventory;

function synth(): string {
  return synthOneCluster({
    id: 'Ledger',
    cluster: C,
    inventory,
    plan: {
      waves: [{ name: WAVE, select: [{ namespace: 'ledger' }] }],
      roles: { [ROLE]: { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::ledger/*' }], exists: false } },
    },
    state: { waves: { [WAVE]: phases }, oidcProviders: steps.length > 0 ? { [C.name]: steps } : {} },
    placementFile: path.join(DIR, 'placement.json'),
    podIdentityAgent: 'NOT_INSTALLED',
  });
}

function expectPassed(r: ScriptRun): void {
  if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stdout}\n${r.stderr}`);
  expect(r.fails).toEqual([]);
}

const provider = (script: string) => runProviderScript(path.join(assembly, 'runbooks', 'oidc-providers', `${script}.sh`), C.name);

function providerExists(): boolean {
  const r = spawnSync('aws', ['--profile', `bed-${C.account}`, '--region', C.region, 'iam', 'get-open-id-connect-provider',
    '--open-id-connect-provider-arn', PROVIDER], { encoding: 'utf8' });
  if (r.status !== 0 && !/NoSuchEntity/.test(r.stderr)) throw new Error(r.stderr);
  return r.status === 0;
}

function deploy(pattern: string): void {
  const r = spawnSync(CDK, ['deploy', '--app', assembly, pattern], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
}

beforeAll(async () => {
  apply(C.name, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ledger' } }, irsaServiceAccount('ledger', 'ledger', ROLE), deployment('ledger', 'ledger')]);
  await allReady(C.name);
  inventory = readInventory(C);
  assembly = synth(); // the first synthesis writes the placement file
  // the wave goes all the way, each step through its generated apply.sh
  for (const to of [P.DUAL_TRUST, P.POD_IDENTITY, P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY]) {
    const from = phases[phases.length - 1];
    phases.push(to);
    assembly = synth();
    if (to === P.POD_IDENTITY) {
      // no cluster of the fleet has the agent: the wave stops and names the foundation step, which installs it
      const stopped = runScript(path.join(assembly, 'runbooks', WAVE, `${from}-to-${to}`, 'apply.sh'));
      expect(stopped.status).toBe(1);
      expect(stopped.fails).toEqual([`FAIL ${C.name} - agent: expected DaemonSet kube-system/eks-pod-identity-agent; saw: Error from server (NotFound): `
        + `daemonsets.apps "eks-pod-identity-agent" not found. The migration installs the agent of ${C.name} in its foundation step: `
        + 'run runbooks/foundation/apply.sh first (see runbooks/foundation.md)']);
      for (const script of ['preflight', 'apply', 'verify']) {
        expectPassed(runScript(path.join(assembly, 'runbooks', 'foundation', `${script}.sh`)));
      }
    }
    expectPassed(runScript(path.join(assembly, 'runbooks', WAVE, `${from}-to-${to}`, 'apply.sh')));
  }
  expect(kubectlJson(C.name, ['-n', 'ledger', 'get', 'pods']).items.map(credentialsOf)).toEqual(['pod']);
});

test('usage errors: no cluster, a cluster without a recorded step (exit 2)', () => {
  steps.push(OidcProviderStep.ADOPTED);
  assembly = synth();
  const script = path.join(assembly, 'runbooks', 'oidc-providers', 'verify.sh');
  const none = runProviderScript(script, '');
  expect(none.status).toBe(2);
  const other = runProviderScript(script, 'shop-euw1');
  expect(other.status).toBe(2);
  expect(other.stdout + other.stderr).toMatch(/shop-euw1/);
});

test('ADOPTED: preflight finds what the app cannot see (exit 1), then passes; verify finds the provider not in its stack until cdk import adopts it', () => {
  // what still uses the provider, made after the inventory was read: a role outside the app that trusts it,
  // the VPC CNI add-on on IRSA (its serviceAccountRoleArn), and a pod on IRSA
  aws(C.account, C.region, ['iam', 'create-role', '--role-name', 'legacy-exporter', '--assume-role-policy-document', JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: 'sts:AssumeRoleWithWebIdentity' }],
  })]);
  const CNI_ROLE = `arn:aws:iam::${C.account}:role/vpc-cni-${C.name}`;
  apply(C.name, [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'aws-node', namespace: 'kube-system' } }]);
  aws(C.account, C.region, ['eks', 'create-addon', '--cluster-name', C.name, '--addon-name', 'vpc-cni', '--service-account-role-arn', CNI_ROLE]);
  expect(kubectlJson(C.name, ['-n', 'kube-system', 'get', 'serviceaccount', 'aws-node']).metadata.annotations['eks.amazonaws.com/role-arn']).toEqual(CNI_ROLE); // as EKS does
  apply(C.name, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stray' } }, irsaServiceAccount('stray', 'cron', `arn:aws:iam::${C.account}:role/stray`),
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cron', namespace: 'stray' }, spec: { serviceAccountName: 'cron', containers: [{ name: 'app', image: 'x' }] } }]);
  const stopped = provider('preflight');
  expect(stopped.status).toBe(1);
  expect(stopped.fails).toEqual([
    `FAIL ${C.name} - roles: expected no role to trust ${PROVIDER}; saw legacy-exporter. Deploy the waves that drop it, or move these roles off IRSA first`,
    `FAIL ${C.name} - add-ons: expected no managed add-on on IRSA; saw vpc-cni (${CNI_ROLE}). Move them to Pod Identity (the add-on's podIdentityAssociations) first`,
    `FAIL ${C.name} - pods: expected no pod on IRSA; saw stray/cron. Migrate or restart them first`,
  ]);
  expect(stopped.lines[stopped.lines.length - 1]).toEqual(`RESULT ${C.name} provider preflight ADOPTED: 3 checks failed`);
  aws(C.account, C.region, ['iam', 'delete-role', '--role-name', 'legacy-exporter']);
  aws(C.account, C.region, ['eks', 'delete-addon', '--cluster-name', C.name, '--addon-name', 'vpc-cni']);
  kubectl(C.name, ['delete', 'namespace', 'stray', '--wait=true']);
  const r = provider('preflight');
  expectPassed(r);
  expect(r.lines).toEqual(expect.arrayContaining([
    `PASS ${C.name} - provider: ${PROVIDER} exists`,
    `PASS ${C.name} - roles: no role of ${C.account} trusts ${PROVIDER}`,
    `PASS ${C.name} - add-ons: none has a serviceAccountRoleArn`,
    `PASS ${C.name} - pods: none has AWS_WEB_IDENTITY_TOKEN_FILE`,
  ]));
  const mapping = fs.readdirSync(path.join(assembly, 'import')).find((f) => f.startsWith('Ledger-OidcProvider-'))!;
  const stack = mapping.replace(/\.json$/, '');
  const before = provider('verify');
  expect(before.status).toBe(1);
  expect(before.fails).toEqual([expect.stringMatching(new RegExp(`^FAIL ${C.name} - stack: expected ${stack} to hold Provider; cloudformation describe-stack-resource says: .*ValidationError.*`))]);
  const imported = spawnSync(CDK, ['import', '--app', assembly, stackIdOf(assembly, stack), '--resource-mapping', path.join(assembly, 'import', mapping)], { encoding: 'utf8' });
  expect(imported.status).toBe(0);
  const v = provider('verify');
  expectPassed(v);
  expect(v.lines).toContain(`PASS ${C.name} - stack: ${stack} holds ${PROVIDER} (IMPORT_COMPLETE)`);
});

test('RETIRING then RETIRED, each deployed: the provider is deleted, and verify says so', () => {
  steps.push(OidcProviderStep.RETIRING);
  assembly = synth();
  expectPassed(provider('preflight'));
  deploy('Ledger/OidcProviders/*');
  expectPassed(provider('verify'));
  expect(providerExists()).toBe(true);
  steps.push(OidcProviderStep.RETIRED);
  assembly = synth();
  const early = provider('verify'); // before the RETIRED deploy
  expect(early.status).toBe(1);
  expect(early.fails).toEqual([`FAIL ${C.name} - provider: expected ${PROVIDER} deleted; it exists. Was the RETIRING step deployed before (DeletionPolicy Delete)? `
    + 'If not, record RETIRING, deploy, then RETIRED again']);
  deploy('Ledger/OidcProviders/*');
  expect(providerExists()).toBe(false);
  const v = provider('verify');
  expectPassed(v);
  expect(v.lines).toContain(`PASS ${C.name} - provider: ${PROVIDER} is deleted`);
});
