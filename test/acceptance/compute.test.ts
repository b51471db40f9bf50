/**
 * The agent checks of the scripts on the compute types that change them, on this suite's own
 * cluster (compute-usw1): EKS Auto Mode (the agent is built into the nodes: no DaemonSet is checked)
 * and EKS Hybrid Nodes (two agent DaemonSets, the add-on's and the hybrid one). One app per compute
 * type, each migrating its own namespace with its own stack prefix.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { importStacks, readInventory, synthOneCluster } from './app';
import { allReady, apply, cluster, credentialsOf, ensureAgentAddon, kubectlJson, runScript, ScriptRun } from './bed';
import { createIrsaRole, deployment, irsaServiceAccount } from './fleet';
import { MigrationPhase } from '../../src';

const P = MigrationPhase;
const C = cluster('compute-usw1');
const STATEMENTS = [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::compute/*' }];

function expectPassed(r: ScriptRun): void {
  if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stdout}\n${r.stderr}`);
  expect(r.fails).toEqual([]);
}

/** A one-namespace migration of the cluster declared with `computeType`; its IRSA role exists in IAM and is imported. */
function migration(id: string, computeType: 'AUTO_MODE' | 'HYBRID_NODES') {
  const ns = id.toLowerCase();
  const role = `arn:aws:iam::${C.account}:role/${ns}-app`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bed-${ns}-`));
  const phases: MigrationPhase[] = [P.IRSA_ONLY];
  apply(C.name, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, irsaServiceAccount(ns, 'app', role), deployment(ns, 'app')]);
  createIrsaRole(C, `${ns}-app`, `${ns}:app`);
  // the inventory of this namespace only (the other app migrates its own)
  const read = readInventory(C);
  const list = JSON.parse(read.serviceAccounts);
  const own = { ...list, items: list.items.filter((i: any) => i.metadata.namespace === ns) };
  const inventory = { serviceAccounts: JSON.stringify(own), workloads: read.workloads };
  const synth = () => synthOneCluster({
    id,
    cluster: C,
    inventory,
    plan: { waves: [{ name: ns, select: [{ namespace: ns }] }], roles: { [role]: { statements: STATEMENTS } } },
    state: { waves: { [ns]: phases } },
    placementFile: path.join(dir, 'placement.json'),
    computeType,
    podIdentityAgent: computeType === 'AUTO_MODE' ? 'AUTO_MODE' : 'PRE_INSTALLED',
  });
  let assembly = synth();
  importStacks(assembly);
  return {
    ns,
    /** records the next phase, synthesizes, runs `script` of that step */
    step(to: MigrationPhase, script: string): ScriptRun {
      const from = phases[phases.length - 1];
      if (from !== to) phases.push(to);
      assembly = synth();
      const prev = phases[phases.length - 2];
      return runScript(path.join(assembly, 'runbooks', ns, `${prev}-to-${to}`, `${script}.sh`));
    },
  };
}

beforeAll(async () => {
  await allReady(C.name);
});

test('Auto Mode: no agent DaemonSet is checked (the nodes have the agent); the wave reaches POD_IDENTITY without a foundation step', async () => {
  const m = migration('Auto', 'AUTO_MODE');
  await allReady(C.name);
  expectPassed(m.step(P.DUAL_TRUST, 'apply'));
  const r = m.step(P.POD_IDENTITY, 'apply');
  expectPassed(r);
  expect(r.lines).toContain(`INFO ${C.name} - agent: built into EKS Auto Mode nodes`);
  expect(r.lines.filter((l) => / - agent: /.test(l) && !l.startsWith('INFO'))).toEqual([]);
  expect(kubectlJson(C.name, ['-n', 'auto', 'get', 'pods']).items.filter((p: any) => !p.metadata.deletionTimestamp).map(credentialsOf)).toEqual(['pod']);
});

test('Hybrid Nodes: both agent DaemonSets are checked; the hybrid one missing stops the preflight (exit 1), then it passes', async () => {
  ensureAgentAddon(C);
  const m = migration('Hybrid', 'HYBRID_NODES');
  await allReady(C.name);
  expectPassed(m.step(P.DUAL_TRUST, 'apply'));
  const stopped = m.step(P.POD_IDENTITY, 'preflight');
  expect(stopped.status).toBe(1);
  expect(stopped.fails).toEqual([`FAIL ${C.name} - agent: expected DaemonSet kube-system/eks-pod-identity-agent-hybrid; `
    + 'saw: Error from server (NotFound): daemonsets.apps "eks-pod-identity-agent-hybrid" not found']);
  // the hybrid agent, as the add-on installs it for hybrid nodes
  const agent = kubectlJson(C.name, ['-n', 'kube-system', 'get', 'daemonset', 'eks-pod-identity-agent']);
  apply(C.name, [{
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'eks-pod-identity-agent-hybrid', namespace: 'kube-system' },
    spec: { selector: { matchLabels: { app: 'eks-pod-identity-agent-hybrid' } }, template: { ...agent.spec.template, metadata: { labels: { app: 'eks-pod-identity-agent-hybrid' } } } },
  }]);
  await allReady(C.name);
  const r = m.step(P.POD_IDENTITY, 'preflight');
  expectPassed(r);
  expect(r.lines).toContain(`PASS ${C.name} - agent: eks-pod-identity-agent ready on ${C.nodes.length} of ${C.nodes.length} nodes`);
  expect(r.lines).toContain(`PASS ${C.name} - agent: eks-pod-identity-agent-hybrid ready on ${C.nodes.length} of ${C.nodes.length} nodes`);
});
