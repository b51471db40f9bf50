/**
 * The end of a migration: a cluster whose service accounts all reached POD_IDENTITY_ONLY retires its
 * IAM OIDC provider with the generated runbooks/oidc-providers scripts, one recorded step per deploy:
 * ADOPTED (cdk import), RETIRING (DeletionPolicy Delete), RETIRED (deleted). The preflight finds what
 * still uses the provider and the app cannot see (a role outside it, a managed add-on on IRSA, a pod
 * on IRSA); verify finds a provider not yet in its stack, and one not yet deleted. Cluster
 * ledger-apse2 and stack prefix Ledger are this suite's own. Its fleet is that one cluster, without
 * the agent (all NOT_INSTALLED): the wave stops before POD_IDENTITY and names the foundation step,
 * which installs it. The wave holds a managed add-on on IRSA (the VPC CNI, its serviceAccountRoleArn
 * on kube-system/aws-node), adopted by cdk import and moved by the deploys to its
 * podIdentityAssociations, with EKS (the stand-in) removing the annotation.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { importStacks, Inventory, readInventory, synthOneCluster } from './app';
import { allReady, apply, aws, CDK, cluster, credentialsOf, kubectl, kubectlJson, runProviderScript, runScript, ScriptRun, until } from './bed';
import { createIrsaRole, deployment, irsaServiceAccount } from './fleet';
import { MigrationPhase, OidcProviderStep } from '../../src';

const P = MigrationPhase;
const C = cluster('ledger-apse2');
const WAVE = 'ledger';
const ROLE = `arn:aws:iam::${C.account}:role/ledger-apse2`;
const CNI_ROLE = `arn:aws:iam::${C.account}:role/vpc-cni-${C.name}`;
const PROVIDER = `arn:aws:iam::${C.account}:oidc-provider/${C.issuer.replace('https://', '')}`;
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'bed-ledger-'));
const phases: MigrationPhase[] = [P.IRSA_ONLY];
const steps: OidcProviderStep[] = [];
let assembly = '';
let inventory: Inventory;
let addon: { addon: string; configuration: string };
/** The output of each step's apply.sh, by step (`<from>-to-<to>`). */
const applied: { [step: string]: ScriptRun } = {};

function synth(): string {
  return synthOneCluster({
    id: 'Ledger',
    cluster: C,
    inventory,
    plan: {
      waves: [{ name: WAVE, select: [{ namespace: 'ledger' }, { namespace: 'kube-system', serviceAccount: 'aws-node' }] }],
      roles: {
        [ROLE]: { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::ledger/*' }] },
        [CNI_ROLE]: { statements: [{ Effect: 'Allow', Action: ['ec2:AssignPrivateIpAddresses', 'ec2:DescribeInstances'], Resource: '*' }] },
      },
    },
    state: { waves: { [WAVE]: phases }, oidcProviders: steps.length > 0 ? { [C.name]: steps } : {} },
    placementFile: path.join(DIR, 'placement.json'),
    podIdentityAgent: 'NOT_INSTALLED',
    addons: [addon],
  });
}

function expectPassed(r: ScriptRun): void {
  if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stdout}\n${r.stderr}`);
  expect(r.fails).toEqual([]);
}

const provider = (script: string) => runProviderScript(path.join(assembly, 'runbooks', 'oidc-providers', `${script}.sh`), C.name);
const waveScript = (from: MigrationPhase, to: MigrationPhase, script: string) => runScript(path.join(assembly, 'runbooks', WAVE, `${from}-to-${to}`, `${script}.sh`));
const cni = () => aws(C.account, C.region, ['eks', 'describe-addon', '--cluster-name', C.name, '--addon-name', 'vpc-cni']).addon;
const awsNodeAnnotation = () => kubectlJson(C.name, ['-n', 'kube-system', 'get', 'serviceaccount', 'aws-node']).metadata.annotations?.['eks.amazonaws.com/role-arn'];

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

/** Records the wave's next phase and runs its step's apply.sh (the foundation first, where the wave's preflight stops for it). */
function stepTo(to: MigrationPhase): void {
  const from = phases[phases.length - 1];
  phases.push(to);
  assembly = synth();
  if (to === P.POD_IDENTITY) {
    // no cluster of the fleet has the agent: the wave stops and names the foundation step, which installs it
    const stopped = waveScript(from, to, 'apply');
    expect(stopped.status).toBe(1);
    expect(stopped.fails).toEqual([`FAIL ${C.name} - agent: expected DaemonSet kube-system/eks-pod-identity-agent; saw: Error from server (NotFound): `
      + `daemonsets.apps "eks-pod-identity-agent" not found. The migration installs the agent of ${C.name} in its foundation step: `
      + 'run runbooks/foundation/apply.sh first (see runbooks/foundation.md)']);
    for (const script of ['preflight', 'apply', 'verify']) {
      expectPassed(runScript(path.join(assembly, 'runbooks', 'foundation', `${script}.sh`)));
    }
  }
  applied[`${from}-to-${to}`] = waveScript(from, to, 'apply');
  expectPassed(applied[`${from}-to-${to}`]);
}

beforeAll(async () => {
  // the VPC CNI add-on on IRSA, as EKS installs it: its ServiceAccount annotated with the add-on's serviceAccountRoleArn
  apply(C.name, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ledger' } }, irsaServiceAccount('ledger', 'ledger', ROLE), deployment('ledger', 'ledger'),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'aws-node', namespace: 'kube-system' } }]);
  // the IRSA roles as IAM holds them today: trusting the cluster's OIDC provider for their service account
  createIrsaRole(C, ROLE.split('/').pop()!, 'ledger:ledger');
  createIrsaRole(C, CNI_ROLE.split('/').pop()!, 'kube-system:aws-node');
  aws(C.account, C.region, ['eks', 'create-addon', '--cluster-name', C.name, '--addon-name', 'vpc-cni', '--service-account-role-arn', CNI_ROLE]);
  await allReady(C.name);
  // what collect reads: the ServiceAccounts and workloads, the add-on and its configuration
  inventory = readInventory(C);
  const described = aws(C.account, C.region, ['eks', 'describe-addon', '--cluster-name', C.name, '--addon-name', 'vpc-cni']);
  addon = {
    addon: JSON.stringify(described),
    configuration: JSON.stringify(aws(C.account, C.region, ['eks', 'describe-addon-configuration', '--addon-name', 'vpc-cni', '--addon-version', described.addon.addonVersion])),
  };
  assembly = synth(); // the first synthesis writes the placement file
  // cdk import adopts the roles and the add-on, unchanged
  expect(importStacks(assembly)).toEqual([expect.stringMatching(/^Ledger-Addon-/), `Ledger-Roles-${C.account}.json`]);
  expect(cni().serviceAccountRoleArn).toBe(CNI_ROLE);
  for (const to of [P.DUAL_TRUST, P.POD_IDENTITY, P.ANNOTATION_REMOVED]) stepTo(to);
});

test('the add-on through the wave: POD_IDENTITY gives it podIdentityAssociations; ANNOTATION_REMOVED removes its serviceAccountRoleArn, and EKS the annotation (no kubectl annotate)', () => {
  const WHO = `${C.name} kube-system/aws-node`;
  const [version] = [cni().addonVersion];
  expect(applied['DUAL_TRUST-to-POD_IDENTITY'].lines).toContain(`PASS ${WHO} add-on vpc-cni ${version}: serviceAccountRoleArn ${CNI_ROLE}, 1 podIdentityAssociations`);
  const removed = applied['POD_IDENTITY-to-ANNOTATION_REMOVED'];
  expect(removed.lines).toContain(`PASS ${WHO} add-on vpc-cni ${version}: serviceAccountRoleArn ${CNI_ROLE}, 1 podIdentityAssociations`);
  expect(removed.lines).toContain(`INFO ${WHO} annotation: add-on vpc-cni removes it (serviceAccountRoleArn, in the deploy); no kubectl annotate`);
  expect(removed.lines).toContain(`PASS ${WHO} add-on vpc-cni ${version}: serviceAccountRoleArn -, 1 podIdentityAssociations`);
  expect(removed.lines).toContain(`PASS ${WHO} annotation: eks.amazonaws.com/role-arn absent`);
  expect(cni().serviceAccountRoleArn).toBeUndefined();
  expect(cni().podIdentityAssociations).toHaveLength(1);
  expect(awsNodeAnnotation()).toBeUndefined();
  const assocs = aws(C.account, C.region, ['eks', 'list-pod-identity-associations', '--cluster-name', C.name, '--namespace', 'kube-system']).associations;
  expect(assocs.map((a: any) => a.serviceAccount)).toEqual(['aws-node']);
});

test('the add-on changed outside the app: verify fails on a serviceAccountRoleArn set again and on its associations gone; preflight on another version', async () => {
  const WHO = `${C.name} kube-system/aws-node`;
  const version = cni().addonVersion;
  // the AWS CLI validates serviceAccountRoleArn to at least one character; EKS takes "" for "no role" (as the Go SDK sends it)
  const config = path.join(DIR, 'aws-config-unvalidated');
  fs.writeFileSync(config, fs.readFileSync(process.env.AWS_CONFIG_FILE!, 'utf8').replace(/^(\[(?:profile [^\]]+|default)\])$/gm, '$1\nparameter_validation = false'));
  const update = (...args: string[]) => {
    const r = spawnSync('aws', ['--profile', `bed-${C.account}`, '--region', C.region, '--output', 'json', 'eks', 'update-addon', '--cluster-name', C.name,
      '--addon-name', 'vpc-cni', ...args], { encoding: 'utf8', env: { ...process.env, AWS_CONFIG_FILE: config } });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  update('--service-account-role-arn', CNI_ROLE);
  const kept = waveScript(P.POD_IDENTITY, P.ANNOTATION_REMOVED, 'verify');
  expect(kept.status).toBe(1);
  expect(kept.fails).toContain(`FAIL ${WHO} add-on vpc-cni: expected serviceAccountRoleArn - in ANNOTATION_REMOVED; saw ${CNI_ROLE}`);
  const kubeSystemAssociations = () => aws(C.account, C.region, ['eks', 'list-pod-identity-associations', '--cluster-name', C.name,
    '--namespace', 'kube-system']).associations.map((a: any) => a.associationId);
  const removed = kubeSystemAssociations();
  update('--service-account-role-arn', '', '--pod-identity-associations', '[]');
  const lost = waveScript(P.POD_IDENTITY, P.ANNOTATION_REMOVED, 'verify');
  expect(lost.fails).toContain(`FAIL ${WHO} add-on vpc-cni: expected its podIdentityAssociations in ANNOTATION_REMOVED; saw 0`);
  update('--pod-identity-associations', JSON.stringify([{ serviceAccount: 'aws-node', roleArn: CNI_ROLE }]), '--addon-version', 'v1.21.0-eksbuild.1');
  // the new association, not the removed one, which EKS (the stand-in) still lists for a while after its deletion
  await until('the add-on\'s association visible again', () => {
    const listed = kubeSystemAssociations();
    return listed.length === 1 && !removed.includes(listed[0]);
  });
  phases.push(P.POD_IDENTITY_ONLY);
  assembly = synth();
  const pre = waveScript(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, 'preflight');
  expect(pre.fails).toEqual([`FAIL ${WHO} add-on vpc-cni: expected version ${version} (what the app was synthesized from); saw v1.21.0-eksbuild.1. `
    + 'Record the add-on\'s describe-addon and describe-addon-configuration output again and synthesize']);
  // the operator records the add-on again (what collect reads), synthesizes, and goes on
  update('--addon-version', version);
  phases.pop();
  assembly = synth();
  expectPassed(waveScript(P.POD_IDENTITY, P.ANNOTATION_REMOVED, 'verify'));
});

test('--skip-deploy: a pipeline deployed the app; apply.sh does the rest and says what it left to the pipeline', () => {
  phases.push(P.POD_IDENTITY_ONLY);
  assembly = synth();
  expectPassed(waveScript(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, 'preflight'));
  deploy('Ledger/**'); // the pipeline
  const r = runScript(path.join(assembly, 'runbooks', WAVE, 'ANNOTATION_REMOVED-to-POD_IDENTITY_ONLY', 'apply.sh'), ['--skip-deploy']);
  expectPassed(r);
  expect(r.lines).toContain(`TODO - - deploy: skipped (--skip-deploy); make sure the pipeline deployed ${assembly} before going on`);
  const trust = aws(C.account, C.region, ['iam', 'get-role', '--role-name', 'ledger-apse2']).Role.AssumeRolePolicyDocument;
  expect(trust.Statement.map((st: any) => st.Principal.Service ?? st.Principal.Federated)).toEqual(['pods.eks.amazonaws.com']);
  expect(kubectlJson(C.name, ['-n', 'ledger', 'get', 'pods']).items.map(credentialsOf)).toEqual(['pod']);
});

test('provider usage errors: no cluster, a cluster without a recorded step (exit 2)', () => {
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
  const EBS_ROLE = `arn:aws:iam::${C.account}:role/ebs-csi-${C.name}`;
  apply(C.name, [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ebs-csi-controller-sa', namespace: 'kube-system' } }]);
  aws(C.account, C.region, ['eks', 'create-addon', '--cluster-name', C.name, '--addon-name', 'aws-ebs-csi-driver', '--service-account-role-arn', EBS_ROLE]);
  expect(kubectlJson(C.name, ['-n', 'kube-system', 'get', 'serviceaccount', 'ebs-csi-controller-sa']).metadata.annotations['eks.amazonaws.com/role-arn']).toEqual(EBS_ROLE); // as EKS does
  apply(C.name, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stray' } }, irsaServiceAccount('stray', 'cron', `arn:aws:iam::${C.account}:role/stray`),
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cron', namespace: 'stray' }, spec: { serviceAccountName: 'cron', containers: [{ name: 'app', image: 'x' }] } }]);
  const stopped = provider('preflight');
  expect(stopped.status).toBe(1);
  expect(stopped.fails).toEqual([
    `FAIL ${C.name} - roles: expected no role to trust ${PROVIDER}; saw legacy-exporter. Deploy the waves that drop it, or move these roles off IRSA first`,
    `FAIL ${C.name} - add-ons: expected no managed add-on on IRSA; saw aws-ebs-csi-driver (${EBS_ROLE}). Move them to Pod Identity (the add-on's podIdentityAssociations) first`,
    `FAIL ${C.name} - pods: expected no pod on IRSA; saw stray/cron. Migrate or restart them first`,
  ]);
  expect(stopped.lines[stopped.lines.length - 1]).toEqual(`RESULT ${C.name} provider preflight ADOPTED: 3 checks failed`);
  aws(C.account, C.region, ['iam', 'delete-role', '--role-name', 'legacy-exporter']);
  aws(C.account, C.region, ['eks', 'delete-addon', '--cluster-name', C.name, '--addon-name', 'aws-ebs-csi-driver']);
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
  importStacks(assembly, [mapping]);
  const v = provider('verify');
  expectPassed(v);
  expect(v.lines).toContain(`PASS ${C.name} - stack: ${stack} holds ${PROVIDER} (IMPORT_COMPLETE)`);
});

test('preflight reads CloudTrail: a recorded AssumeRoleWithWebIdentity through the provider fails it, naming role, session and subject; '
  + 'one through another provider does not count; a window after it passes', () => {
  const trail = path.join(process.env.TESTBED_DIR!, 'cloudtrail.jsonl');
  const kept = fs.existsSync(trail) ? fs.readFileSync(trail, 'utf8') : '';
  const when = new Date(Math.floor(Date.now() / 1000) * 1000 - 3 * 86_400_000);
  // what STS records when a pod on IRSA calls it: the provider, the role, the session, the service account
  const record = (through: string, role: string, session: string, subject: string) => JSON.stringify({
    account: C.account,
    region: C.region,
    time: when.getTime() / 1000,
    event: {
      eventVersion: '1.08',
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRoleWithWebIdentity',
      awsRegion: C.region,
      eventTime: when.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      userIdentity: { type: 'WebIdentityUser', principalId: `${through}:sts.amazonaws.com:${subject}`, userName: subject, identityProvider: through },
      requestParameters: { roleArn: role, roleSessionName: session, durationSeconds: 3600 },
      responseElements: { subjectFromWebIdentityToken: subject, provider: through, audience: 'sts.amazonaws.com' },
    },
  }) + '\n';
  const OTHER = `arn:aws:iam::${C.account}:oidc-provider/oidc.eks.${C.region}.amazonaws.com/id/ANOTHERCLUSTER`;
  fs.appendFileSync(trail, record(PROVIDER, `arn:aws:iam::${C.account}:role/stray`, 'botocore-session-1764460800', 'system:serviceaccount:stray:cron')
    + record(OTHER, `arn:aws:iam::${C.account}:role/elsewhere`, 'botocore-session-1', 'system:serviceaccount:other:app'));
  try {
    const found = provider('preflight');
    expect(found.status).toBe(1);
    expect(found.fails).toEqual([expect.stringMatching(new RegExp(`^FAIL ${C.name} - cloudtrail: expected no AssumeRoleWithWebIdentity through ${PROVIDER} since \\S+; `
      + `saw 1: arn:aws:iam::${C.account}:role/stray \\(session botocore-session-1764460800, system:serviceaccount:stray:cron, `
      + `${when.toISOString().replace(/\.\d{3}Z$/, 'Z')}, ${C.region}\\)\\. Something still assumes these roles by IRSA: move it to Pod Identity `
      + '\\(the subject is its service account\\), then run preflight again \\(--cloudtrail-since a time after its last call, once it is moved\\)$'))]);
    // the operator moved it; the window starts after its last call
    const since = new Date(when.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const after = runProviderScript(path.join(assembly, 'runbooks', 'oidc-providers', 'preflight.sh'), C.name, ['--cloudtrail-since', since]);
    expectPassed(after);
    expect(after.lines).toContain(`PASS ${C.name} - cloudtrail: no AssumeRoleWithWebIdentity through ${PROVIDER} since ${since} in ${C.region}, us-east-1`);
  } finally {
    fs.writeFileSync(trail, kept);
  }
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
