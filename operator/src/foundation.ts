/**
 * The foundation step (runbooks/foundation/{preflight,apply,verify}.sh): the eks-pod-identity-agent
 * add-on of every cluster whose agent the migration installs. preflight: the credentials of each
 * account, the node roles (IAM policy simulation); apply: preflight, the deploy, then the agent
 * waited for on every node of every cluster (polled through the cluster's API, one request per
 * DaemonSet and interval), then checked; verify: the agent checked. As lib.sh's pi_foundation_main
 * did, with the clusters side by side.
 */
import * as path from 'path';
import { checkDeploy } from 'cdk-eks-pod-identity/lib/operator/apply-checks';
import { agentDaemonSets, checkAccount, checkAgent, checkNodeRoles, KUBECTL_MISSING, NodeGroupRole } from 'cdk-eks-pod-identity/lib/operator/preflight-checks';
import { CheckLine, compared, noted } from 'cdk-eks-pod-identity/lib/operator/verify-checks';
import { Clock, Deployer } from './apply';
import { KubeApi, kubeError } from './kube';
import { mapLimit, Once } from './pool';
import { PreflightReader } from './preflight';
import { Outcome, unwrap } from './reader';
import { readTsv, WaveCluster, WaveError } from './wave';

/** The foundation folder: the stacks of the agent add-ons and their clusters. */
export interface Foundation {
  readonly stacks: string;
  readonly clusters: readonly WaveCluster[];
  /** The cloud assembly the folder is in. */
  readonly assembly: string;
}

export function readFoundation(dir: string): Foundation {
  const stacks = readTsv(path.join(dir, 'wave.tsv')).find((r) => r[0] === 'stacks')?.[1];
  if (stacks === undefined) {
    throw new WaveError(`${path.join(dir, 'wave.tsv')}: no 'stacks' line; is ${dir} the foundation folder of a synthesized runbooks/ folder?`);
  }
  const clusters = readTsv(path.join(dir, 'clusters.tsv')).map(([name, region, account, arn, computeType]) => ({ name, region, account, arn, computeType }));
  return { stacks, clusters, assembly: path.resolve(dir, '..', '..') };
}

export interface FoundationOptions {
  readonly concurrency: number;
  readonly perCluster: number;
  readonly timeout: number;
  readonly interval: number;
  readonly skipDeploy: boolean;
  readonly cdk: string[];
  readonly kubectlFound: boolean;
}

export interface FoundationContext {
  readonly kube: (cluster: WaveCluster) => KubeApi;
  readonly deploy: Deployer;
  readonly clock: Clock;
  readonly out: (line: string) => void;
}

/** A DaemonSet of kube-system through the cluster's API, or kubectl's error for it. */
async function daemonSet(api: KubeApi, name: string): Promise<any> {
  const r = await api.request('GET', `/apis/apps/v1/namespaces/kube-system/daemonsets/${name}`);
  return !r.ok ? { error: r.error } : r.value.status === 200 ? r.value.body : { error: kubeError(r.value) };
}

/** A cluster's agent DaemonSets: each object, or kubectl's error for it. */
async function agentObjects(api: KubeApi, cluster: WaveCluster): Promise<{ [name: string]: any }> {
  const found: { [name: string]: any } = {};
  for (const name of agentDaemonSets(cluster.computeType)) {
    found[name] = await daemonSet(api, name);
  }
  return found;
}

/** Waits until each agent DaemonSet of the cluster is ready on every node (desired > 0, desired = ready), as pi_wait_agent did. */
async function waitAgent(api: KubeApi, cluster: WaveCluster, options: FoundationOptions, clock: Clock): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const who = `${cluster.name} -`;
  for (const name of agentDaemonSets(cluster.computeType)) {
    const start = clock.now();
    for (;;) {
      const o = await daemonSet(api, name);
      const desired = o?.status?.desiredNumberScheduled ?? 0;
      const ready = o?.status?.numberReady ?? 0;
      if (desired > 0 && desired === ready) break;
      if (clock.now() - start >= options.timeout * 1000) {
        lines.push(compared('FAIL', who, `agent: expected ${name} ready on every node within ${options.timeout}s; saw ${ready} ready of ${desired} `
          + `(aws eks describe-addon --cluster-name ${cluster.name} --addon-name eks-pod-identity-agent shows the add-on's health)`,
        `${name} ready on every node within ${options.timeout}s`, `${name} ready on ${ready} of ${desired} nodes`));
        break;
      }
      lines.push(noted('WAIT', who, `agent: ${name} ready on ${ready} of ${desired} nodes`));
      await clock.sleep(options.interval);
    }
  }
  return lines;
}

/** `foundation <step>`: the step's lines, each cluster's together in clusters.tsv order. */
export async function runFoundation(step: 'preflight' | 'apply' | 'verify', f: Foundation, reader: PreflightReader, options: FoundationOptions,
  context: FoundationContext): Promise<CheckLine[]> {
  const all: CheckLine[] = [];
  const print = (lines: CheckLine[]) => {
    for (const l of lines) {
      all.push(l);
      context.out(`${l.status} ${l.who} ${l.text}`);
    }
  };
  const failed = () => all.filter((l) => l.status === 'FAIL').length;
  const apis = new Map<string, KubeApi>();
  const api = (c: WaveCluster) => {
    let a = apis.get(c.name);
    if (a === undefined) {
      a = context.kube(c);
      apis.set(c.name, a);
    }
    return a;
  };
  const each = async (work: (c: WaveCluster) => Promise<CheckLine[]>) => (await mapLimit(f.clusters, options.concurrency, work)).forEach(print);
  try {
    if (step === 'preflight' || step === 'apply') {
      if (!options.kubectlFound) {
        print([KUBECTL_MISSING]);
      } else {
        const accounts = new Once<Outcome<string>>((key) => {
          const [account, region] = key.split(' ');
          return reader.callerAccount(account, region);
        });
        await each(async (c) => {
          const lines = [checkAccount(c.name, c.account, unwrap(await accounts.get(`${c.account} ${c.region}`)))];
          let roles: NodeGroupRole[] | { error: string } = [];
          if (c.computeType !== 'AUTO_MODE') {
            const groups = await reader.nodeGroups(c);
            roles = !groups.ok ? { error: groups.error } : await mapLimit(groups.value, options.perCluster, async (g): Promise<NodeGroupRole> => {
              if (!g.role.ok) return { nodeGroup: g.nodeGroup, role: { error: g.role.error } };
              const decision = await reader.simulate(c.account, c.region, g.role.value, 'eks-auth:AssumeRoleForPodIdentity', c.arn);
              return { nodeGroup: g.nodeGroup, role: g.role.value, decision: unwrap(decision) };
            });
          }
          return [...lines, ...checkNodeRoles(c.name, c.arn, c.computeType, roles)];
        });
      }
      if (step === 'preflight') return all;
      if (failed() > 0) {
        context.out(`STOP: ${failed()} preflight checks failed; nothing was changed`);
        return all;
      }
      if (options.skipDeploy) {
        print([noted('TODO', '- -', `deploy: skipped (--skip-deploy); make sure the pipeline deployed ${f.assembly} before going on`)]);
      } else {
        print([noted('DO', '- -', `deploy: ${options.cdk.join(' ')} deploy --app ${f.assembly} '${f.stacks}'`)]);
        const ok = await context.deploy(options.cdk, f.assembly, f.stacks);
        print([checkDeploy(f.stacks, ok)]);
      }
      if (failed() > 0) return all;
      await each(async (c) => [...await waitAgent(api(c), c, options, context.clock), ...checkAgent(c.name, c.computeType, await agentObjects(api(c), c), '')]);
      return all;
    }
    await each(async (c) => checkAgent(c.name, c.computeType, await agentObjects(api(c), c), ''));
    return all;
  } finally {
    for (const a of apis.values()) a.close();
  }
}
