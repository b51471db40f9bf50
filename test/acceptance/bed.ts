/**
 * The acceptance suite's view of the test bed (scripts/testbed/): real kube-apiservers with the real
 * EKS pod identity webhook, moto, the EKS stand-in and the test deployer. The suite runs inside the
 * bed's network namespace (scripts/testbed/exec.sh), so the bed's env.sh is in process.env.
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..', '..');
/** The test bed's `cdk` (the test deployer), given to the runbook scripts as --cdk. */
export const CDK = path.join(ROOT, 'scripts', 'testbed', 'cdk');

export interface BedCluster {
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly arn: string;
  readonly issuer: string;
  readonly endpoint: string;
  readonly nodes: string[];
  readonly nodegroup: string;
  readonly identitiesFile: string;
  /** The bed's CA (base64), which signs every cluster's endpoint. */
  readonly caData: string;
  readonly ports: { [part: string]: number };
}

export interface Bed {
  readonly dir: string;
  readonly netns: string;
  readonly kubeconfig: string;
  readonly adminKubeconfig: string;
  readonly eks: string;
  readonly accounts: string[];
  readonly profiles: { [account: string]: string };
  readonly readonlyContexts: { [cluster: string]: string };
  readonly clusters: BedCluster[];
  /** The environment of a client in the bed (env.sh). */
  readonly env: { [name: string]: string };
}

function load(): Bed {
  const dir = process.env.TESTBED_DIR;
  if (!dir || !fs.existsSync(path.join(dir, 'bed.json'))) {
    throw new Error('The acceptance suite runs in the test bed: bash scripts/testbed/run-acceptance.sh (or up.sh, then exec.sh npx jest -c scripts/jest-acceptance.config.js)');
  }
  return { dir, ...JSON.parse(fs.readFileSync(path.join(dir, 'bed.json'), 'utf8')) };
}

export const BED = load();

export const cluster = (name: string): BedCluster => {
  const c = BED.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`no cluster ${name} in the bed (${BED.clusters.map((x) => x.name).join(', ')})`);
  return c;
};

function run(cmd: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', input, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** kubectl as the bed's admin (a static token; fast), for setting up and reading the cluster's real state. */
export function kubectl(clusterName: string, args: string[], input?: string): string {
  return ok(run('kubectl', ['--kubeconfig', BED.adminKubeconfig, '--context', cluster(clusterName).arn, ...args], input), `kubectl ${args.join(' ')}`);
}

export function kubectlJson(clusterName: string, args: string[]): any {
  return JSON.parse(kubectl(clusterName, [...args, '-o', 'json']));
}

/** Applies objects (a list) to a cluster. */
export function apply(clusterName: string, objects: any[], flags: string[] = []): void {
  kubectl(clusterName, ['apply', ...flags, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

/** The real AWS CLI, as the operator of an account (against moto and the EKS stand-in). */
export function aws(account: string, region: string, args: string[]): any {
  const out = ok(run('aws', ['--profile', BED.profiles[account], '--region', region, '--output', 'json', ...args]), `aws ${args.join(' ')}`);
  return out.trim() === '' ? {} : JSON.parse(out);
}

/** The agent add-on on a cluster, installed unless it is there already (suites that share a cluster run in any order). */
export function ensureAgentAddon(c: BedCluster): void {
  if (!aws(c.account, c.region, ['eks', 'list-addons', '--cluster-name', c.name]).addons.includes('eks-pod-identity-agent')) {
    aws(c.account, c.region, ['eks', 'create-addon', '--cluster-name', c.name, '--addon-name', 'eks-pod-identity-agent']);
  }
}

/**
 * Changes the EKS stand-in's eventual consistency (the delay before an association shows, and those
 * that never do) and the operations it answers AccessDeniedException.
 */
export async function setEks(config: { delay?: number; never?: string[]; deny?: string[] }): Promise<void> {
  const r = await fetch(`${BED.eks}/_bed/config`, { method: 'POST', body: JSON.stringify(config) });
  if (!r.ok) throw new Error(`EKS stand-in config: ${r.status}`);
}

/** The pods of a namespace as the API server holds them now. */
export function pods(clusterName: string, namespace: string): any[] {
  return kubectlJson(clusterName, ['-n', namespace, 'get', 'pods']).items;
}

/** The variables of a container of a pod, by name (value, or the valueFrom it has). */
export function envOf(container: any): { [name: string]: string } {
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value ?? JSON.stringify(e.valueFrom)]));
}

const POD_IDENTITY_VARS = ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'];
const IRSA_VARS = ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'];

/** Which credentials the webhook gave every container and init container of a pod: 'pod', 'irsa', 'none' or 'mixed'. */
export function credentialsOf(pod: any): string {
  const kinds = new Set([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: any) => {
    const names = Object.keys(envOf(c));
    const pod_ = POD_IDENTITY_VARS.every((v) => names.includes(v));
    const irsa = IRSA_VARS.every((v) => names.includes(v));
    return pod_ && !irsa ? 'pod' : irsa && !pod_ ? 'irsa' : !pod_ && !irsa ? 'none' : 'mixed';
  }));
  return kinds.size === 1 ? [...kinds][0] : 'mixed';
}

/** Waits until `probe` holds (polling every 0.3 s), or fails after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export interface ScriptRun {
  readonly status: number;
  readonly lines: string[];
  readonly fails: string[];
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a wave's generated runbook script as an operator would: the bed's kubeconfig (aws eks get-token), a profile per account. */
export function runScript(script: string, options: string[] = [], env: NodeJS.ProcessEnv = {}): ScriptRun {
  return runWith(script, [], ['--cdk', CDK, '--interval', '1', '--timeout', '60', ...options], env);
}

/**
 * The environment that puts the container stand-in (scripts/testbed/container-standin/kubectl) in
 * front of the real kubectl: `verify.sh --sts` gets from it what the container's
 * `aws sts get-caller-identity` would print.
 */
export const WITH_CONTAINERS: NodeJS.ProcessEnv = { PATH: `${path.join(ROOT, 'scripts', 'testbed', 'container-standin')}${path.delimiter}${process.env.PATH}` };

/** Runs runbooks/oidc-providers/<step>.sh for a cluster, as `runScript` runs a wave's scripts. */
export function runProviderScript(script: string, clusterName: string, options: string[] = []): ScriptRun {
  return runWith(script, [clusterName], options);
}

function runWith(script: string, positional: string[], options: string[], env: NodeJS.ProcessEnv = {}): ScriptRun {
  const profiles = path.join(BED.dir, 'profiles.tsv');
  fs.writeFileSync(profiles, BED.accounts.map((a) => `${a}\t${BED.profiles[a]}`).join('\n') + '\n');
  const r = run('bash', [script, ...positional, '--profiles', profiles, ...options], undefined, env);
  const lines = r.stdout.trim().split('\n');
  return { status: r.status ?? -1, lines, fails: lines.filter((l) => l.startsWith('FAIL ')), stdout: r.stdout, stderr: r.stderr };
}

/** Waits until every Deployment, StatefulSet and DaemonSet of a cluster (but those named) has all its pods ready and updated. */
export async function allReady(clusterName: string, except: string[] = []): Promise<void> {
  await until(`every workload of ${clusterName} ready`, () => kubectlJson(clusterName, ['get', 'deployments,statefulsets,daemonsets', '-A']).items.every((w: any) => {
    if (except.includes(w.metadata.name)) return true;
    const s = w.status ?? {};
    const want = w.kind === 'DaemonSet' ? s.desiredNumberScheduled : (w.spec.replicas ?? 1);
    const ready = w.kind === 'DaemonSet' ? s.numberReady : s.readyReplicas;
    return want > 0 && ready === want && (w.kind !== 'Deployment' || s.updatedReplicas === want);
  }));
}
