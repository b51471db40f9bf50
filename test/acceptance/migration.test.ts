/**
 * The whole migration of a two-account, two-region fleet, driven as an operator drives it: `collect`
 * reads the bed, the app synthesizes from the fleet folder, and the generated runbook scripts run
 * every step (foundation, then the wave forward through all five phases, then back), deploying
 * through the test deployer. Every assertion is on the real state afterwards: the pods the
 * controllers made, their variables as the real webhook wrote them, their creation times against the
 * association's, the ServiceAccounts' annotations, the roles' trust in moto.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { importStacks, synth, WAVE, writePlan, writeState } from './app';
import { allReady, apply, aws, BED, BedCluster, credentialsOf, kubectl, kubectlJson, pods, ROOT, runScript, ScriptRun, WITH_CONTAINERS } from './bed';
import { createIrsaRoles, objectsOf, roleArn, SERVICE_ACCOUNTS } from './fleet';
import { MigrationPhase } from '../../src';
import { assemblyFiles } from '../util/assembly-files';

/** The clusters this suite migrates (the bed has others, for other suites). */
const CLUSTERS = BED.clusters.filter((c) => SERVICE_ACCOUNTS[c.name] !== undefined);
const [USE1, EUW1] = CLUSTERS;
const P = MigrationPhase;
const FLEET = fs.mkdtempSync(path.join(os.tmpdir(), 'bed-fleet-'));
const history: MigrationPhase[] = [P.IRSA_ONLY];
const NAMESPACES_OF = (c: BedCluster) => [...new Set(SERVICE_ACCOUNTS[c.name].map((s) => s.namespace))];
let assembly = '';

/** The UIDs of every pod in the migrated namespaces, sorted. */
const podUids = () => CLUSTERS.flatMap((c) => NAMESPACES_OF(c).flatMap((ns) => pods(c.name, ns).map((p) => p.metadata.uid))).sort();

/** What the operator does with the bare pod the scripts leave to them (TODO): delete it, create it again from its manifest. */
function recreateBarePod(): void {
  kubectl(EUW1.name, ['-n', 'batch', 'delete', 'pod', 'report-adhoc', '--wait=true']);
  apply(EUW1.name, objectsOf(EUW1).filter((o) => o.kind === 'Pod'));
}

/** Milliseconds since the epoch of a timestamp as the AWS CLI (v1: seconds) or Kubernetes prints it. */
const epoch = (t: string | number) => (typeof t === 'number' ? t * 1000 : Date.parse(t.replace(/(\.\d{3})\d*/, '$1')));

/** The pods of a service account now (not terminating). */
function podsOf(c: BedCluster, namespace: string, sa: string): any[] {
  return pods(c.name, namespace).filter((p) => p.spec.serviceAccountName === sa && !p.metadata.deletionTimestamp);
}

function trustOf(c: BedCluster, role: string): any {
  return aws(c.account, c.region, ['iam', 'get-role', '--role-name', role]).Role.AssumeRolePolicyDocument;
}

const principals = (trust: any) => trust.Statement.map((s: any) => s.Principal.Federated ?? s.Principal.Service).sort();

function associations(c: BedCluster): any[] {
  const list = aws(c.account, c.region, ['eks', 'list-pod-identity-associations', '--cluster-name', c.name]).associations;
  return list.map((a: any) => aws(c.account, c.region, ['eks', 'describe-pod-identity-association', '--cluster-name', c.name,
    '--association-id', a.associationId]).association);
}

function annotationOf(c: BedCluster, namespace: string, sa: string): string | undefined {
  return kubectlJson(c.name, ['-n', namespace, 'get', 'serviceaccount', sa]).metadata.annotations?.['eks.amazonaws.com/role-arn'];
}

/** Records `phase` as the wave's next deploy and synthesizes. */
function record(phase: MigrationPhase): void {
  history.push(phase);
  writeState(FLEET, history);
  assembly = synth(FLEET);
}

/** Runs a script of the wave's `<from>-to-<to>` folder (rollback.sh there goes back from `to` to `from`). */
function step(from: MigrationPhase, to: MigrationPhase, script: 'preflight' | 'apply' | 'verify' | 'rollback', args: string[] = [],
  env: NodeJS.ProcessEnv = {}): ScriptRun {
  return runScript(path.join(assembly, 'runbooks', WAVE, `${from}-to-${to}`, `${script}.sh`), args, { ...(args.includes('--sts') ? WITH_CONTAINERS : {}), ...env });
}

/** The `sts` lines of a verify run with --sts, the session name said by its kind: IRSA (the SDK's botocore-session-<time>) or Pod Identity (eks-<cluster>-<pod>-<id>). */
function stsLines(r: ScriptRun): string[] {
  return r.lines.filter((l) => l.includes(' sts: '))
    .map((l) => l.replace(/\/botocore-session-\d+$/, '/<irsa>').replace(/\/eks-[a-z0-9-]+-pod-identity-sts-[0-9-]+-[0-9a-f-]{36}$/, '/<pod-identity>')).sort();
}

/** What --sts must see for every service account of the wave: its role, assumed by `how`. */
function stsExpected(how: '<irsa>' | '<pod-identity>'): string[] {
  return CLUSTERS.flatMap((c) => SERVICE_ACCOUNTS[c.name].map((s) => `PASS ${c.name} ${s.namespace}/${s.name} sts: `
    + `arn:aws:sts::${c.account}:assumed-role/${s.role}/${how}`)).sort();
}

function expectPassed(r: ScriptRun): void {
  if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stdout}\n${r.stderr}`);
  expect(r.fails).toEqual([]);
  expect(r.lines[r.lines.length - 1]).toMatch(/^RESULT .*every check passed$/);
}

beforeAll(async () => {
  for (const c of CLUSTERS) apply(c.name, objectsOf(c));
  createIrsaRoles(CLUSTERS);
  // the agent is installed on shop-use1 only (as a managed add-on); shop-euw1 has none yet
  aws(USE1.account, USE1.region, ['eks', 'create-addon', '--cluster-name', USE1.name, '--addon-name', 'eks-pod-identity-agent']);
  for (const c of CLUSTERS) await allReady(c.name);
});

/** Runs `collect` on the fleet's clusters into the fleet folder, as the operator does. */
function collect(): string {
  const args = ['collect', ...CLUSTERS.map((c) => ['--context', c.arn]).flat(), '--out', FLEET];
  const r = spawnSync('node', [path.join(ROOT, 'lib', 'collect', 'cli.js'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`collect failed:\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

test('collect reads the bed (real kubectl through aws eks get-token, the real AWS CLI) and writes the fleet folder', () => {
  collect();
  const clusters = JSON.parse(fs.readFileSync(path.join(FLEET, 'clusters.json'), 'utf8'));
  const issuer = (c: BedCluster) => c.issuer.replace('https://', '');
  expect(clusters).toEqual([
    {
      name: USE1.name,
      account: USE1.account,
      region: USE1.region,
      clusterArn: USE1.arn,
      computeType: 'EC2',
      podIdentityAgent: 'PRE_INSTALLED',
      oidcIssuer: issuer(USE1),
      oidcProviderArn: `arn:aws:iam::${USE1.account}:oidc-provider/${issuer(USE1)}`,
    },
    {
      name: EUW1.name,
      account: EUW1.account,
      region: EUW1.region,
      clusterArn: EUW1.arn,
      computeType: 'EC2',
      podIdentityAgent: 'NOT_INSTALLED',
      oidcIssuer: issuer(EUW1),
      oidcProviderArn: `arn:aws:iam::${EUW1.account}:oidc-provider/${issuer(EUW1)}`,
    },
  ]);
  const roles = JSON.parse(fs.readFileSync(path.join(FLEET, 'roles.json'), 'utf8'));
  expect(roles.map((x: any) => x.arn).sort()).toEqual([
    ...SERVICE_ACCOUNTS[USE1.name].map((s) => roleArn(USE1, s.role)), ...SERVICE_ACCOUNTS[EUW1.name].map((s) => roleArn(EUW1, s.role)),
  ].sort());
  const sas = JSON.parse(fs.readFileSync(path.join(FLEET, 'serviceaccounts', `${USE1.name}.json`), 'utf8')).items;
  expect(sas.find((s: any) => s.metadata.name === 'frontend').metadata.annotations['eks.amazonaws.com/role-arn']).toBe(roleArn(USE1, 'frontend'));
});

test('the app synthesizes from it at IRSA_ONLY; cdk import adopts the IRSA roles unchanged', () => {
  writePlan(FLEET);
  writeState(FLEET, history);
  assembly = synth(FLEET);
  const before = trustOf(USE1, 'checkout');
  importStacks(assembly);
  expect(trustOf(USE1, 'checkout')).toEqual(before);
});

test('IRSA_ONLY -> DUAL_TRUST: the roles trust both; nothing else changes (no association, no pod restarted)', () => {
  const uids = podsOf(USE1, 'payments', 'checkout').map((p) => p.metadata.uid).sort();
  record(P.DUAL_TRUST);
  expectPassed(step(P.IRSA_ONLY, P.DUAL_TRUST, 'preflight'));
  expectPassed(step(P.IRSA_ONLY, P.DUAL_TRUST, 'apply'));
  expectPassed(step(P.IRSA_ONLY, P.DUAL_TRUST, 'verify'));
  // --sts: a pod under each service account (the container stand-in answers for its container) assumes its role by IRSA
  const sts = step(P.IRSA_ONLY, P.DUAL_TRUST, 'verify', ['--sts']);
  expectPassed(sts);
  expect(stsLines(sts)).toEqual(stsExpected('<irsa>'));
  for (const c of CLUSTERS) {
    for (const s of SERVICE_ACCOUNTS[c.name]) {
      expect(principals(trustOf(c, s.role))).toEqual([`arn:aws:iam::${c.account}:oidc-provider/${c.issuer.replace('https://', '')}`, 'pods.eks.amazonaws.com']);
    }
    expect(associations(c)).toEqual([]);
  }
  expect(podsOf(USE1, 'payments', 'checkout').map((p) => p.metadata.uid).sort()).toEqual(uids);
});

test('DUAL_TRUST -> POD_IDENTITY before the foundation: preflight stops on shop-euw1, which has no agent, and names the foundation step', () => {
  record(P.POD_IDENTITY);
  const r = step(P.DUAL_TRUST, P.POD_IDENTITY, 'preflight');
  expect(r.status).toBe(1);
  expect(r.fails).toEqual([
    `FAIL ${EUW1.name} - agent: expected DaemonSet kube-system/eks-pod-identity-agent; saw: Error from server (NotFound): daemonsets.apps "eks-pod-identity-agent" not found. `
    + `The migration installs the agent of ${EUW1.name} in its foundation step: run runbooks/foundation/apply.sh first (see runbooks/foundation.md)`,
  ]);
  expect(associations(EUW1)).toEqual([]);
});

test('foundation: preflight checks the node roles (IAM policy simulation); apply installs the add-on through the deploy and waits for the DaemonSet; verify passes', () => {
  const dir = path.join(assembly, 'runbooks', 'foundation');
  expectPassed(runScript(path.join(dir, 'preflight.sh')));
  expectPassed(runScript(path.join(dir, 'apply.sh')));
  const ds = kubectlJson(EUW1.name, ['-n', 'kube-system', 'get', 'daemonset', 'eks-pod-identity-agent']);
  expect(ds.status).toMatchObject({ desiredNumberScheduled: EUW1.nodes.length, numberReady: EUW1.nodes.length });
  expectPassed(runScript(path.join(dir, 'verify.sh')));
});

test('DUAL_TRUST -> POD_IDENTITY: associations, the injection probe, every workload restarted by its kind; the pods now get Pod Identity from the webhook', () => {
  expectPassed(step(P.DUAL_TRUST, P.POD_IDENTITY, 'preflight'));
  const before = new Set(podUids());
  const r = step(P.DUAL_TRUST, P.POD_IDENTITY, 'apply', ['--trigger-cronjobs']);
  // the bare pod has no controller: the operator recreates it (TODO), so apply's verify fails on it alone
  expect(r.lines).toContain(`TODO ${EUW1.name} batch/report restart: pod/report-adhoc has no controller: delete it and create it again from its manifest`);
  expect(r.lines).toContain(`DO ${USE1.name} payments/ledger restart: statefulset/ledger uses OnDelete: deleting pod ledger-0`);
  expect(r.lines).toContain(`PASS ${USE1.name} payments/ledger restart: statefulset/ledger (OnDelete): 2 pods recreated one at a time, all ready`);
  expect(r.lines).toContainEqual(expect.stringMatching(new RegExp(`^DO ${USE1.name} monitoring/log-shipper restart: daemonset/log-shipper uses OnDelete: deleting pod log-shipper-`)));
  expect(r.lines).toContain(`PASS ${USE1.name} monitoring/log-shipper restart: daemonset/log-shipper (OnDelete): ${USE1.nodes.length} pods recreated one at a time, all ready`);
  expect(r.lines).toContainEqual(expect.stringMatching(new RegExp(`^PASS ${EUW1.name} batch/report restart: job/report-pod-identity-\\d+ from cronjob/report completed$`)));
  expect(r.fails).toEqual([`FAIL ${EUW1.name} batch/report pods: expected the Pod Identity variables and no IRSA ones in every container and init container; `
    + 'saw report-adhoc/app no AWS_CONTAINER_CREDENTIALS_FULL_URI,no AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,has AWS_WEB_IDENTITY_TOKEN_FILE,has AWS_ROLE_ARN']);
  expect(r.status).toBe(1);
  recreateBarePod();
  expectPassed(step(P.DUAL_TRUST, P.POD_IDENTITY, 'verify'));
  // --cloudtrail before any pod asked the agent for credentials: no AssumeRoleForPodIdentity event in any cluster's region
  const quiet = step(P.DUAL_TRUST, P.POD_IDENTITY, 'verify', ['--cloudtrail', '60']);
  expect(quiet.status).toBe(1);
  expect(quiet.fails).toEqual([...CLUSTERS].sort((a, b) => a.name.localeCompare(b.name)).map((c) => expect.stringMatching(new RegExp(`^FAIL ${c.name} - cloudtrail: expected AssumeRoleForPodIdentity events `
    + `of this cluster since \\S+ in ${c.region}; saw none \\(CloudTrail can lag by 15 minutes\\)$`))));
  // --sts: each service account's role, now by Pod Identity (the agent's calls are CloudTrail events of the cluster's account and region)
  const sts = step(P.DUAL_TRUST, P.POD_IDENTITY, 'verify', ['--sts', '--cloudtrail', '60']);
  expectPassed(sts);
  expect(stsLines(sts)).toEqual(stsExpected('<pod-identity>'));
  for (const c of CLUSTERS) {
    expect(sts.lines).toContainEqual(expect.stringMatching(new RegExp(`^PASS ${c.name} - cloudtrail: ${SERVICE_ACCOUNTS[c.name].length} AssumeRoleForPodIdentity events since `)));
  }
  for (const c of CLUSTERS) {
    const assocs = associations(c);
    expect(assocs.map((a) => `${a.namespace}/${a.serviceAccount} ${a.roleArn}`).sort())
      .toEqual(SERVICE_ACCOUNTS[c.name].map((s) => `${s.namespace}/${s.name} ${roleArn(c, s.role)}`).sort());
    for (const s of SERVICE_ACCOUNTS[c.name]) {
      const created = epoch(assocs.find((a) => a.serviceAccount === s.name && a.namespace === s.namespace)!.createdAt);
      const now = podsOf(c, s.namespace, s.name);
      expect(now.length).toBeGreaterThan(0);
      for (const p of now) {
        expect([c.name, p.metadata.name, credentialsOf(p), p.metadata.labels['eks.amazonaws.com/pod-identity']]).toEqual([c.name, p.metadata.name, 'pod', 'enabled']);
        // Kubernetes keeps whole seconds
        expect(epoch(p.metadata.creationTimestamp)).toBeGreaterThanOrEqual(Math.floor(created / 1000) * 1000);
        expect(before.has(p.metadata.uid)).toBe(false);
      }
      // the annotation stays until ANNOTATION_REMOVED (a rollback needs it)
      expect(annotationOf(c, s.namespace, s.name)).toBe(roleArn(c, s.role));
    }
  }
});

test('POD_IDENTITY -> ANNOTATION_REMOVED: kubectl removes the annotations (a TODO for the Helm-owned one); no pod is restarted', () => {
  record(P.ANNOTATION_REMOVED);
  const uids = podUids();
  expectPassed(step(P.POD_IDENTITY, P.ANNOTATION_REMOVED, 'preflight'));
  const r = step(P.POD_IDENTITY, P.ANNOTATION_REMOVED, 'apply');
  expectPassed(r);
  expect(r.lines).toContain(`TODO ${USE1.name} web/frontend annotation: Helm release frontend owns this ServiceAccount: `
    + 'remove eks.amazonaws.com/role-arn from its values (e.g. serviceAccount.annotations) or the next helm upgrade puts it back');
  for (const c of CLUSTERS) {
    for (const s of SERVICE_ACCOUNTS[c.name]) expect(annotationOf(c, s.namespace, s.name)).toBeUndefined();
  }
  expect(podUids()).toEqual(uids);
  expectPassed(step(P.POD_IDENTITY, P.ANNOTATION_REMOVED, 'verify'));
});

test('collect again at ANNOTATION_REMOVED: the clusters no longer show the roles, the placement file recalls them, and nothing changes', () => {
  const placement = fs.readFileSync(path.join(FLEET, 'placement.json'), 'utf8');
  const before = assemblyFiles(assembly);
  const roles = fs.readFileSync(path.join(FLEET, 'roles.json'), 'utf8');
  // the roles the clusters no longer show are read from the ones placement.json records
  const n = CLUSTERS.reduce((k, c) => k + new Set(SERVICE_ACCOUNTS[c.name].map((s) => s.role)).size, 0);
  expect(collect()).toContain(`roles: ${n} role(s) from 2 account(s) (${n} of them no longer shown by their clusters, recorded in placement.json)`);
  expect(JSON.parse(fs.readFileSync(path.join(FLEET, 'roles.json'), 'utf8')).map((r: any) => r.arn)).toEqual(JSON.parse(roles).map((r: any) => r.arn));
  const sas = JSON.parse(fs.readFileSync(path.join(FLEET, 'serviceaccounts', `${USE1.name}.json`), 'utf8')).items;
  expect(sas.find((s: any) => s.metadata.name === 'frontend').metadata.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();
  const recorded = JSON.parse(placement).irsaRoles[USE1.arn];
  expect(recorded).toEqual(Object.fromEntries(SERVICE_ACCOUNTS[USE1.name].map((s) => [`${s.namespace}/${s.name}`, roleArn(USE1, s.role)])));
  assembly = synth(FLEET);
  const after = assemblyFiles(assembly);
  expect(Object.keys(after)).toEqual(Object.keys(before));
  for (const file of Object.keys(before)) expect([file, after[file]]).toEqual([file, before[file]]);
  expect(fs.readFileSync(path.join(FLEET, 'placement.json'), 'utf8')).toBe(placement);
});

test('ANNOTATION_REMOVED -> POD_IDENTITY_ONLY: no pod uses IRSA any more (preflight), so the OIDC trust goes', () => {
  record(P.POD_IDENTITY_ONLY);
  expectPassed(step(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, 'preflight'));
  expectPassed(step(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, 'apply'));
  expectPassed(step(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, 'verify'));
  for (const c of CLUSTERS) {
    for (const s of SERVICE_ACCOUNTS[c.name]) expect(principals(trustOf(c, s.role))).toEqual(['pods.eks.amazonaws.com']);
  }
});

test('--contexts: a kubeconfig whose contexts the operator named, given per cluster; without it the scripts cannot reach the clusters', () => {
  // the operator's kubeconfig with its own context names (ops-<cluster>) and none named by ARN
  const config = JSON.parse(spawnSync('kubectl', ['config', 'view', '--raw', '-o', 'json'], { encoding: 'utf8' }).stdout);
  config.contexts = config.contexts.filter((x: any) => CLUSTERS.some((c) => c.arn === x.name)).map((x: any) => ({ ...x, name: `ops-${x.name.split('/').pop()}` }));
  config['current-context'] = config.contexts[0].name;
  const kubeconfig = path.join(FLEET, 'kubeconfig-ops');
  fs.writeFileSync(kubeconfig, JSON.stringify(config));
  const contexts = path.join(FLEET, 'contexts.tsv');
  fs.writeFileSync(contexts, CLUSTERS.map((c) => `${c.name}\tops-${c.name}\n`).join(''));
  const without = step(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, 'verify', [], { KUBECONFIG: kubeconfig });
  expect(without.status).toBe(1);
  expect(without.fails.length).toBeGreaterThan(0);
  expect(without.fails.every((l) => /context was not found|does not exist/.test(l))).toBe(true);
  expectPassed(step(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, 'verify', ['--contexts', contexts], { KUBECONFIG: kubeconfig }));
});

test('and back: POD_IDENTITY_ONLY -> ANNOTATION_REMOVED brings the OIDC trust back', () => {
  record(P.ANNOTATION_REMOVED);
  expectPassed(step(P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY, 'rollback'));
  for (const c of CLUSTERS) {
    for (const s of SERVICE_ACCOUNTS[c.name]) expect(principals(trustOf(c, s.role))).toHaveLength(2);
  }
});

test('ANNOTATION_REMOVED -> POD_IDENTITY: the annotations come back before anything else', () => {
  record(P.POD_IDENTITY);
  expectPassed(step(P.POD_IDENTITY, P.ANNOTATION_REMOVED, 'rollback'));
  for (const c of CLUSTERS) {
    for (const s of SERVICE_ACCOUNTS[c.name]) expect(annotationOf(c, s.namespace, s.name)).toBe(roleArn(c, s.role));
  }
});

test('POD_IDENTITY -> DUAL_TRUST: the associations go, the webhook gives new pods IRSA again, every workload is restarted onto it', () => {
  record(P.DUAL_TRUST);
  const r = step(P.DUAL_TRUST, P.POD_IDENTITY, 'rollback', ['--trigger-cronjobs']);
  expect(r.fails).toEqual([`FAIL ${EUW1.name} batch/report pods: expected the IRSA variables (AWS_ROLE_ARN=${roleArn(EUW1, 'report')}) and no Pod Identity ones `
    + 'in every container and init container; saw report-adhoc/app no AWS_WEB_IDENTITY_TOKEN_FILE,no AWS_ROLE_ARN,has AWS_CONTAINER_CREDENTIALS_FULL_URI,has AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE']);
  expect(r.status).toBe(1);
  recreateBarePod();
  expectPassed(step(P.IRSA_ONLY, P.DUAL_TRUST, 'verify'));
  for (const c of CLUSTERS) {
    expect(associations(c)).toEqual([]);
    for (const s of SERVICE_ACCOUNTS[c.name]) {
      for (const p of podsOf(c, s.namespace, s.name).filter((x) => x.status.phase !== 'Succeeded')) {
        expect([c.name, p.metadata.name, credentialsOf(p)]).toEqual([c.name, p.metadata.name, 'irsa']);
      }
    }
  }
});

test('DUAL_TRUST -> IRSA_ONLY: the roles trust the OIDC provider only, as before the migration', () => {
  record(P.IRSA_ONLY);
  expectPassed(step(P.IRSA_ONLY, P.DUAL_TRUST, 'rollback'));
  for (const c of CLUSTERS) {
    for (const s of SERVICE_ACCOUNTS[c.name]) {
      expect(principals(trustOf(c, s.role))).toEqual([`arn:aws:iam::${c.account}:oidc-provider/${c.issuer.replace('https://', '')}`]);
    }
  }
});
