/**
 * A cross-account chain (plan `crossAccount`), on compute-usw1 in account 444455556666: chain/app
 * uses IRSA role chain-app and assumes chain-data in account 111122223333 itself today (an SDK
 * profile). The migration makes chain-app dual, gives it the inline policy `chain`, adopts chain-data
 * and trusts exactly chain-app there (the container stand-in checks that trust, with the session
 * tags EKS passes, when it resolves the pod's credentials), and from POD_IDENTITY the association names both (EKS chains
 * for the pod). verify checks the association's role and target role, and with --sts that the pod's
 * identity is the target's; an association whose target role was changed behind the migration's
 * back fails, with its FAIL line, and so does the pod's credential call.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { importStacks, readInventory, synthOneCluster } from './app';
import { allReady, apply, aws, cluster, credentialsOf, ensureAgentAddon, kubectlJson, runScript, ScriptRun, WITH_CONTAINERS } from './bed';
import { createIrsaRole, deployment, irsaServiceAccount } from './fleet';
import { MigrationPhase } from '../../src';

const P = MigrationPhase;
const C = cluster('compute-usw1');
const NS = 'chain';
const TARGET_ACCOUNT = '111122223333';
const IRSA_ROLE = `arn:aws:iam::${C.account}:role/chain-app`;
const TARGET = `arn:aws:iam::${TARGET_ACCOUNT}:role/chain-data`;
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'bed-chain-'));
const phases: MigrationPhase[] = [P.IRSA_ONLY];
let assembly = '';

function synth(): string {
  const read = readInventory(C);
  const list = JSON.parse(read.serviceAccounts);
  // this namespace only (the compute suite migrates its own on the same cluster)
  const own = { ...list, items: list.items.filter((i: any) => i.metadata.namespace === NS) };
  return synthOneCluster({
    id: 'Chain',
    cluster: C,
    inventory: { serviceAccounts: JSON.stringify(own), workloads: read.workloads },
    plan: {
      waves: [{ name: NS, select: [{ namespace: NS }] }],
      crossAccount: [{ namespace: NS, serviceAccount: 'app', associationRoleName: 'chain-app', targetRoleArn: TARGET }],
      roles: {
        [IRSA_ROLE]: { statements: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: TARGET }] },
        [TARGET]: { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::chain-data/*' }] },
      },
    },
    state: { waves: { [NS]: phases } },
    placementFile: path.join(DIR, 'placement.json'),
  });
}

/** Records `to` (when it is a new phase), synthesizes, runs `script` of the step into it. */
function step(to: MigrationPhase, script: string, options: string[] = []): ScriptRun {
  if (phases[phases.length - 1] !== to) phases.push(to);
  assembly = synth();
  const from = phases[phases.length - 2];
  return runScript(path.join(assembly, 'runbooks', NS, `${from}-to-${to}`, `${script}.sh`), options, options.includes('--sts') ? WITH_CONTAINERS : {});
}

/** Runs `script` of the step from `from` to `to` of the assembly synthesized last. */
function rerun(from: MigrationPhase, to: MigrationPhase, script: string, options: string[] = []): ScriptRun {
  return runScript(path.join(assembly, 'runbooks', NS, `${from}-to-${to}`, `${script}.sh`), options, options.includes('--sts') ? WITH_CONTAINERS : {});
}

function expectPassed(r: ScriptRun): void {
  if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stdout}\n${r.stderr}`);
  expect(r.fails).toEqual([]);
}

const trustOf = (account: string, arn: string) =>
  aws(account, C.region, ['iam', 'get-role', '--role-name', arn.split('/').pop()!]).Role.AssumeRolePolicyDocument;

function association(): any {
  const [summary] = aws(C.account, C.region, ['eks', 'list-pod-identity-associations', '--cluster-name', C.name, '--namespace', NS]).associations;
  return summary && aws(C.account, C.region, ['eks', 'describe-pod-identity-association', '--cluster-name', C.name,
    '--association-id', summary.associationId]).association;
}

beforeAll(async () => {
  ensureAgentAddon(C);
  apply(C.name, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, irsaServiceAccount(NS, 'app', IRSA_ROLE), deployment(NS, 'app')]);
  createIrsaRole(C, 'chain-app', `${NS}:app`, [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: TARGET }]);
  // today the app assumes the target itself, from its IRSA session
  aws(TARGET_ACCOUNT, C.region, ['iam', 'create-role', '--role-name', 'chain-data', '--assume-role-policy-document', JSON.stringify({
    Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: IRSA_ROLE }, Action: 'sts:AssumeRole' }],
  })]);
  aws(TARGET_ACCOUNT, C.region, ['iam', 'put-role-policy', '--role-name', 'chain-data', '--policy-name', 'app', '--policy-document',
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::chain-data/*' }] })]);
  await allReady(C.name);
  assembly = synth();
  importStacks(assembly);
});

test('the chain through DUAL_TRUST and POD_IDENTITY: the association names the role and the target, and the pod gets the target\'s identity', async () => {
  expectPassed(step(P.DUAL_TRUST, 'apply'));
  // the target trusts exactly the association role (its account, pinned by aws:PrincipalArn), for this service account's session tags
  expect(trustOf(TARGET_ACCOUNT, TARGET).Statement.filter((s: any) => s.Principal.AWS !== undefined)).toEqual([{
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${C.account}:root` },
    Action: ['sts:AssumeRole', 'sts:TagSession'],
    Condition: {
      ArnEquals: { 'aws:PrincipalArn': IRSA_ROLE },
      StringEquals: { 'aws:RequestTag/kubernetes-namespace': NS, 'aws:RequestTag/kubernetes-service-account': 'app' },
    },
  }]);
  expect(association()).toBeUndefined();

  expectPassed(step(P.POD_IDENTITY, 'preflight'));
  expectPassed(rerun(P.DUAL_TRUST, P.POD_IDENTITY, 'apply'));
  const a = association();
  expect([a.roleArn, a.targetRoleArn]).toEqual([IRSA_ROLE, TARGET]);
  const r = rerun(P.DUAL_TRUST, P.POD_IDENTITY, 'verify', ['--sts']);
  expectPassed(r);
  expect(r.lines).toContain(`PASS ${C.name} ${NS}/app association: role ${IRSA_ROLE}, target role ${TARGET}`);
  expect(r.lines.filter((l) => l.includes(' sts: ')).map((l) => l.replace(/\/eks-[a-z0-9-]+$/, '/<pod-identity>')))
    .toEqual([`PASS ${C.name} ${NS}/app sts: arn:aws:sts::${TARGET_ACCOUNT}:assumed-role/chain-data/<pod-identity>`]);
  expect(kubectlJson(C.name, ['-n', NS, 'get', 'pods']).items.filter((p: any) => !p.metadata.deletionTimestamp).map(credentialsOf)).toEqual(['pod']);
});

test('an association whose target role was changed outside the migration: verify fails on it (exit 1), and on the pod\'s credentials; --json gives both sides', () => {
  const a = association();
  const other = `arn:aws:iam::${TARGET_ACCOUNT}:role/chain-other`;
  aws(C.account, C.region, ['eks', 'update-pod-identity-association', '--cluster-name', C.name, '--association-id', a.associationId,
    '--role-arn', IRSA_ROLE, '--target-role-arn', other]);
  const r = rerun(P.DUAL_TRUST, P.POD_IDENTITY, 'verify', ['--sts']);
  expect(r.status).toBe(1);
  expect(r.fails).toEqual([
    `FAIL ${C.name} ${NS}/app association: expected role ${IRSA_ROLE}, target role ${TARGET}; saw role ${IRSA_ROLE}, target role ${other}`,
    `FAIL ${C.name} ${NS}/app sts: expected arn:aws:sts::${TARGET_ACCOUNT}:assumed-role/chain-data/<session>; the pod failed:  `
      + 'Error when retrieving credentials from container-role: Error retrieving metadata: Received non 200 response (400) from container metadata: '
      + '{"errorCode":"AccessDeniedException","errorMessage":"Unauthorized Exception! EKS does not have permissions to assume the target role."}',
  ]);
  // --json: the same FAIL for pipelines, the two sides as values
  const file = path.join(DIR, 'verify.json');
  expect(rerun(P.DUAL_TRUST, P.POD_IDENTITY, 'verify', ['--json', file]).status).toBe(1);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect([doc.wave, doc.step, doc.from, doc.to, doc.failed]).toEqual([NS, 'verify', P.DUAL_TRUST, P.POD_IDENTITY, 1]);
  expect(doc.checks.filter((c: any) => c.status === 'FAIL')).toEqual([{
    cluster: C.name,
    serviceAccount: `${NS}/app`,
    check: 'association',
    status: 'FAIL',
    expected: `role ${IRSA_ROLE}, target role ${TARGET}`,
    seen: `role ${IRSA_ROLE}, target role ${other}`,
    detail: `expected role ${IRSA_ROLE}, target role ${TARGET}; saw role ${IRSA_ROLE}, target role ${other}`,
  }]);
  // put back as the migration has it: verify passes again
  aws(C.account, C.region, ['eks', 'update-pod-identity-association', '--cluster-name', C.name, '--association-id', a.associationId,
    '--role-arn', IRSA_ROLE, '--target-role-arn', TARGET]);
  expectPassed(rerun(P.DUAL_TRUST, P.POD_IDENTITY, 'verify', ['--sts']));
});

test('and back to DUAL_TRUST: the association goes; the pod is on IRSA with chain-app again', () => {
  phases.push(P.DUAL_TRUST);
  assembly = synth();
  // the rollback of the step into POD_IDENTITY, from the assembly synthesized at DUAL_TRUST
  expectPassed(rerun(P.DUAL_TRUST, P.POD_IDENTITY, 'rollback'));
  expect(association()).toBeUndefined();
  expect(kubectlJson(C.name, ['-n', NS, 'get', 'pods']).items.filter((p: any) => !p.metadata.deletionTimestamp).map(credentialsOf)).toEqual(['irsa']);
  const r = rerun(P.IRSA_ONLY, P.DUAL_TRUST, 'verify', ['--sts']);
  expectPassed(r);
  expect(r.lines.filter((l) => l.includes(' sts: ')).map((l) => l.replace(/\/botocore-session-\d+$/, '/<irsa>')))
    .toEqual([`PASS ${C.name} ${NS}/app sts: arn:aws:sts::${C.account}:assumed-role/chain-app/<irsa>`]);
});
