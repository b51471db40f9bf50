/**
 * Minimal app: the Pod Identity agent add-on for every cluster of the Northwind fleet that needs
 * one, in one foundation stack per account and region.
 *
 *   npx ts-node --project tsconfig.dev.json examples/agent-addon/main.ts [outdir]
 *
 * Prints, per cluster, whether an add-on was synthesized and why not; leaves the templates in
 * the cloud assembly (default `cdk.out/agent-addon`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { AgentStatus, ComputeType, PodIdentityAgentAddon, PodIdentityCluster } from '../../src';

interface FleetCluster {
  readonly name: string;
  readonly region: string;
  readonly account: string;
  readonly clusterArn: string;
  readonly oidcIssuer: string;
  readonly computeType: keyof typeof ComputeType;
  readonly podIdentityAgent: keyof typeof AgentStatus;
}

const fleetFile = path.join(__dirname, '..', 'northwind', 'fleet', 'clusters.json');
const fleet: FleetCluster[] = JSON.parse(fs.readFileSync(fleetFile, 'utf8'));
const outdir = process.argv[2] ?? path.join('cdk.out', 'agent-addon');

const app = new App({ outdir });
const stacks = new Map<string, Stack>();
const rows: string[][] = [];

for (const c of fleet) {
  const envKey = `${c.account}-${c.region}`;
  let stack = stacks.get(envKey);
  if (!stack) {
    stack = new Stack(app, `PodIdentityFoundation-${envKey}`, { env: { account: c.account, region: c.region } });
    stacks.set(envKey, stack);
  }
  const cluster = PodIdentityCluster.fromClusterAttributes({
    clusterName: c.name,
    clusterArn: c.clusterArn,
    oidcIssuer: c.oidcIssuer,
    computeType: ComputeType[c.computeType],
    agentStatus: AgentStatus[c.podIdentityAgent],
  });
  const addon = new PodIdentityAgentAddon(stack, `Agent-${c.name}`, {
    cluster,
    // the agent must also run on nodes tainted for dedicated workloads
    configurationValues: { tolerations: [{ operator: 'Exists' }] },
  });
  rows.push([stack.stackName, c.name, addon.installed ? 'eks-pod-identity-agent' : `none (${cluster.agentStatus})`]);
}

const assembly = app.synth();

const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), 8));
const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join('  ');
console.log(line(['stack', 'cluster', 'add-on']));
rows.forEach((r) => console.log(line(r)));
const addons = assembly.stacks
  .map((s) => Object.values<any>(s.template.Resources ?? {}).filter((r) => r.Type === 'AWS::EKS::Addon').length)
  .reduce((a, b) => a + b, 0);
console.log(`\n${fleet.length} clusters, ${addons} AWS::EKS::Addon resources in ${assembly.stacks.length} stacks; templates in ${assembly.directory}`);
