/**
 * The preflight of a wave's step (runbooks/<wave>/<FROM>-to-<TO>/preflight.sh), cluster by cluster:
 * what must hold before the deploy, as lib.sh's pi_preflight decides it from the phase table. Reads:
 * per cluster one kubectl read of its pods, ServiceAccounts, DaemonSets and the inventory's workload
 * kinds, the ConfigMaps and Secrets a proxied container reads (per namespace that has such
 * references), the node groups and the IAM simulation of each node role, the associations where
 * the step needs them; per account one `sts get-caller-identity`. The checks are the library's pure
 * functions (cdk-eks-pod-identity/lib/operator/preflight-checks and verify-checks).
 */
import * as fs from 'fs';
import * as path from 'path';
import { MigrationPhase } from 'cdk-eks-pod-identity/lib/migration-phase';
import {
  agentDaemonSets, checkAccount, checkAgent, checkAssembly, checkNoIrsaPods, checkNodeRoles, checkPodEni, checkProxies, KUBECTL_MISSING,
  NamespaceObjects, NodeGroupRole, PROXY_EXPECTED, proxyFindings, referencedObjects,
} from 'cdk-eks-pod-identity/lib/operator/preflight-checks';
import {
  checkAddon, checkAnnotation, checkAssociation, CheckLine, compared, expectedAnnotation, expectedAssociation, noted, podsOf, whoOf,
} from 'cdk-eks-pod-identity/lib/operator/verify-checks';
import { PHASES } from 'cdk-eks-pod-identity/lib/private/phases';
import { mapLimit, Once } from './pool';
import { FleetReader, Outcome, unwrap } from './reader';
import { associationOfTarget } from './verify';
import { readTsv, Wave, WaveCluster, WaveTarget } from './wave';

/** A workload of the inventory (a line of workloads.tsv). */
export interface InventoryWorkload {
  readonly cluster: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly kind: string;
  readonly name: string;
}

/** What the wave preflight reads beyond verify's reads. */
export interface PreflightReader extends FleetReader {
  /** The account the credentials for `account` reach (`sts get-caller-identity`). */
  callerAccount(account: string, region: string): Promise<Outcome<string>>;
  /** Every object of these kinds in the cluster (`kubectl get <kinds> --all-namespaces -o json`): one client process. */
  objects(cluster: WaveCluster, kinds: string[]): Promise<Outcome<any[]>>;
  /** The ConfigMaps of a namespace (`kubectl get configmaps -n`), or the named Secrets (`kubectl get secret a b -n`). */
  namespaced(cluster: WaveCluster, namespace: string, kind: 'configmaps' | 'secret', names?: string[]): Promise<Outcome<any[]>>;
  /** The cluster's managed node groups and each one's node role (`eks list-nodegroups`, `describe-nodegroup`). */
  nodeGroups(cluster: WaveCluster): Promise<Outcome<{ nodeGroup: string; role: Outcome<string> }[]>>;
  /** IAM's policy simulation of one action on one resource for a role (`iam simulate-principal-policy`): the decision. */
  simulate(account: string, region: string, roleArn: string, action: string, resource: string): Promise<Outcome<string>>;
}


/** The preflight checks a step runs, as pi_preflight decides them from the phase table. */
export function preflightChecks(from: MigrationPhase, to: MigrationPhase) {
  const f = PHASES[from];
  const t = PHASES[to];
  return {
    /** before associations exist: the agent, the node roles, Security Groups for Pods, proxies, what no API shows */
    agent: t.association && !f.association,
    /** back to IRSA: restarted pods must find the annotation */
    annotation: f.association && !t.association,
    /** before the OIDC trust goes (F5) */
    noIrsaPods: f.irsaTrust && !t.irsaTrust,
    /** before the pods.eks trust goes: the association must be gone */
    association: f.podIdentityTrust && !t.podIdentityTrust,
  };
}

/** The options of a wave preflight. */
export interface PreflightOptions {
  readonly perCluster: number;
  /** The cloud assembly the wave folder is in (the assembly line names it). */
  readonly assembly: string;
  /** The phase the assembly holds for the wave (its `phase` file). */
  readonly assemblyPhase: string;
  /** The clusters whose agent the foundation step installs (foundation/clusters.tsv next to the wave). */
  readonly foundation: ReadonlySet<string>;
  readonly workloads: readonly InventoryWorkload[];
}

/** Reads the inventory's workloads (workloads.tsv) and the foundation's clusters of a wave folder. */
export function readPreflightData(waveDir: string): {
  workloads: InventoryWorkload[]; foundation: Set<string>; assembly: string; assemblyPhase: string;
} {
  const workloadsFile = path.join(waveDir, 'workloads.tsv');
  const workloads = fs.existsSync(workloadsFile)
    ? readTsv(workloadsFile).map(([cluster, namespace, serviceAccount, kind, name]) => ({ cluster, namespace, serviceAccount, kind, name }))
    : [];
  const foundationFile = path.join(waveDir, '..', 'foundation', 'clusters.tsv');
  const foundation = new Set(fs.existsSync(foundationFile) ? readTsv(foundationFile).map((r) => r[0]) : []);
  const phaseFile = path.join(waveDir, 'phase');
  return {
    workloads,
    foundation,
    assembly: path.resolve(waveDir, '..', '..'),
    assemblyPhase: fs.existsSync(phaseFile) ? fs.readFileSync(phaseFile, 'utf-8') : '',
  };
}

/** The pod spec of a workload object (a CronJob's job template's, else the template's). */
const specOf = (o: any) => (o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec);

/** One cluster's preflight lines, in the scripts' order. `account` is the account check's line (read once per account). */
export async function preflightCluster(cluster: WaveCluster, targets: readonly WaveTarget[], from: MigrationPhase, to: MigrationPhase,
  reader: PreflightReader, options: PreflightOptions, accountLine: CheckLine): Promise<CheckLine[]> {
  const checks = preflightChecks(from, to);
  const lines: CheckLine[] = [accountLine];
  const workloads = options.workloads.filter((w) => w.cluster === cluster.name && w.kind !== 'Pod');
  const kinds = [...new Set(['pods', 'serviceaccounts', 'daemonsets', ...workloads.map((w) => w.kind.toLowerCase())])];
  const addonNames = [...new Set(targets.flatMap((t) => (t.addon ? [t.addon.name] : [])))];
  const [objects, addons, groups, listed] = await Promise.all([
    reader.objects(cluster, kinds),
    mapLimit(addonNames, options.perCluster, async (name) => [name, await reader.addon(cluster, name)] as const),
    checks.agent && cluster.computeType !== 'AUTO_MODE' ? reader.nodeGroups(cluster) : Promise.resolve(undefined),
    checks.noIrsaPods || checks.association ? reader.associations(cluster) : Promise.resolve(undefined),
  ]);
  const addonOf = new Map(addons);
  const all = objects.ok ? objects.value : [];
  const find = (kind: string, namespace: string, name: string) =>
    all.find((o) => o.kind?.toLowerCase() === kind.toLowerCase() && o.metadata?.namespace === namespace && o.metadata?.name === name);
  const podsOfTarget = (t: WaveTarget) => podsOf(t, { items: all.filter((o) => o.kind === 'Pod' && o.metadata?.namespace === t.namespace) });

  for (const t of targets) {
    if (t.addon) {
      const a = addonOf.get(t.addon.name)!;
      lines.push(...(a.ok ? checkAddon(t, from, a.value)
        : [compared('FAIL', whoOf(t), `add-on ${t.addon.name}: cannot call eks describe-addon: ${a.error}`, `add-on ${t.addon.name} as ${from} expects`, a.error)]));
    }
  }

  if (checks.agent) {
    const daemonSets: { [name: string]: any } = {};
    for (const name of agentDaemonSets(cluster.computeType)) {
      daemonSets[name] = !objects.ok ? { error: objects.error }
        : find('DaemonSet', 'kube-system', name) ?? { error: `Error from server (NotFound): daemonsets.apps "${name}" not found` };
    }
    const hint = options.foundation.has(cluster.name)
      ? `. The migration installs the agent of ${cluster.name} in its foundation step: run runbooks/foundation/apply.sh first (see runbooks/foundation.md)` : '';
    lines.push(...checkAgent(cluster.name, cluster.computeType, daemonSets, hint));
    // each node group's role, simulated
    let roles: NodeGroupRole[] | { error: string } = [];
    if (groups !== undefined) {
      roles = !groups.ok ? { error: groups.error } : await mapLimit(groups.value, options.perCluster, async (g): Promise<NodeGroupRole> => {
        if (!g.role.ok) {
          return { nodeGroup: g.nodeGroup, role: { error: g.role.error } };
        }
        const decision = await reader.simulate(cluster.account, cluster.region, g.role.value, 'eks-auth:AssumeRoleForPodIdentity', cluster.arn);
        return { nodeGroup: g.nodeGroup, role: g.role.value, decision: unwrap(decision) };
      });
    }
    lines.push(...checkNodeRoles(cluster.name, cluster.arn, cluster.computeType, roles));
    lines.push(checkPodEni(cluster.name, objects.ok ? find('DaemonSet', 'kube-system', 'aws-node') : undefined));
    // proxies: each service account's pods, then its workloads of the inventory
    // a namespace's ConfigMaps, and its Secrets by name, each read once
    const configMaps = new Once<Outcome<any[]>>((namespace) => reader.namespaced(cluster, namespace, 'configmaps'));
    const secrets = new Once<Outcome<any[]>>((key) => {
      const [namespace, names] = key.split(' ');
      return reader.namespaced(cluster, namespace, 'secret', names.split(','));
    });
    for (const t of targets) {
      const findings: string[] = [];
      const info: CheckLine[] = [];
      let failed: CheckLine | undefined;
      const specs: [any, string][] = [];
      if (objects.ok) {
        for (const p of podsOfTarget(t)) specs.push([p.spec, `pod/${p.metadata.name}`]);
      }
      for (const w of workloads.filter((x) => x.namespace === t.namespace && x.serviceAccount === t.serviceAccount)) {
        const o = objects.ok ? find(w.kind, w.namespace, w.name) : undefined;
        if (o === undefined) {
          info.push(noted('INFO', whoOf(t), `proxy: ${w.kind.toLowerCase()}/${w.name} of the inventory is gone`));
          continue;
        }
        specs.push([specOf(o), `${w.kind.toLowerCase()}/${w.name}`]);
      }
      for (const [spec, what] of specs) {
        const refs = referencedObjects(spec);
        if (refs.configMaps.length === 0 && refs.secrets.length === 0) {
          findings.push(...proxyFindings(spec, what, { configMaps: {}, secrets: {} }));
          continue;
        }
        const o: NamespaceObjects = { configMaps: {}, secrets: {} };
        if (refs.configMaps.length > 0) {
          const cms = await configMaps.get(t.namespace);
          if (!cms.ok) {
            failed = compared('FAIL', whoOf(t), `proxy: ${what} reads ConfigMaps that cannot be read`, PROXY_EXPECTED, `ConfigMaps of ${t.namespace}: ${cms.error}`);
            break;
          }
          for (const c of cms.value) o.configMaps[c.metadata.name] = c;
        }
        if (refs.secrets.length > 0) {
          const read = await secrets.get(`${t.namespace} ${refs.secrets.join(',')}`);
          for (const x of read.ok ? read.value : []) o.secrets[x.metadata.name] = x;
          const missing = refs.secrets.find((n) => o.secrets[n] === undefined);
          if (missing !== undefined) {
            failed = compared('FAIL', whoOf(t), `proxy: ${what} reads Secret ${missing}, which cannot be read`, PROXY_EXPECTED,
              `Secret ${t.namespace}/${missing}: ${read.ok ? 'not found' : read.error}`);
            break;
          }
        }
        findings.push(...proxyFindings(spec, what, o));
      }
      lines.push(...info);
      lines.push(failed ?? checkProxies(t, findings));
    }
    lines.push(noted('CANNOT-CHECK', `${cluster.name} -`, 'SDK versions: every container\'s AWS SDK must support the container credential provider '
      + '(e.g. boto3 >= 1.34.41, AWS CLI >= 1.30.0 / 2.15.0; see the EKS user guide, pod-id-minimum-sdk); older SDKs silently use the node role'));
    lines.push(noted('CANNOT-CHECK', `${cluster.name} -`, `EKS Auth endpoint: nodes without internet access need the com.amazonaws.${cluster.region}.eks-auth `
      + 'interface endpoint in the cluster\'s VPC'));
  }

  if (checks.annotation) {
    for (const t of targets) {
      if (!objects.ok) {
        lines.push(compared('FAIL', whoOf(t), `annotation: cannot read the ServiceAccount: ${objects.error}`, expectedAnnotation(t, from), objects.error));
        continue;
      }
      const sa = find('ServiceAccount', t.namespace, t.serviceAccount);
      lines.push(sa === undefined
        ? compared('FAIL', whoOf(t), `annotation: cannot read the ServiceAccount: Error from server (NotFound): serviceaccounts "${t.serviceAccount}" not found`,
          expectedAnnotation(t, from), `Error from server (NotFound): serviceaccounts "${t.serviceAccount}" not found`)
        : checkAnnotation(t, from, sa));
    }
  }

  if (listed !== undefined) {
    const associationOf = await mapLimit(targets, options.perCluster, async (t): Promise<Outcome<any | undefined>> => {
      const d = await associationOfTarget(reader, cluster, listed, t);
      // the SDK gives createdAt as a Date; the checks take the CLI's form (v1: seconds since the epoch)
      const created = d.ok ? d.value?.createdAt : undefined;
      return d.ok && created instanceof Date ? { ok: true, value: { ...d.value, createdAt: created.getTime() / 1000 } } : d;
    });
    const associationLine = (t: WaveTarget, a: { error: string }, expected: string): CheckLine =>
      compared('FAIL', whoOf(t), listed.ok ? `association: ${a.error}` : `association: cannot list the associations: ${a.error}`, expected, a.error);
    if (checks.noIrsaPods) {
      targets.forEach((t, i) => {
        const a = associationOf[i];
        if (!a.ok) {
          lines.push(associationLine(t, a, 'an association'));
        } else if (a.value !== undefined && !objects.ok) {
          lines.push(compared('FAIL', whoOf(t), `pods: cannot list the pods of namespace ${t.namespace}: ${objects.error}`,
            'every pod created after the association, without AWS_WEB_IDENTITY_TOKEN_FILE', objects.error));
        } else {
          lines.push(checkNoIrsaPods(t, a.value, podsOfTarget(t)));
        }
      });
    }
    if (checks.association) {
      targets.forEach((t, i) => {
        const a = associationOf[i];
        lines.push(a.ok ? checkAssociation(t, from, a.value) : associationLine(t, a, expectedAssociation(t, from)));
      });
    }
  }
  return lines;
}

/**
 * The whole wave preflight: the assembly line, then each cluster's lines (the account's line read
 * once per account), clusters `concurrency` at a time, each cluster's lines together in clusters.tsv order.
 */
export async function runPreflight(wave: Wave, from: MigrationPhase, to: MigrationPhase, reader: PreflightReader,
  options: PreflightOptions & { concurrency: number }, kubectlFound: boolean): Promise<CheckLine[]> {
  if (!kubectlFound) {
    return [KUBECTL_MISSING];
  }
  const lines: CheckLine[] = [checkAssembly(options.assembly, wave.name, to, options.assemblyPhase)];
  const accounts = new Once<Outcome<string>>((key) => {
    const [account, region] = key.split(' ');
    return reader.callerAccount(account, region);
  });
  const perCluster = await mapLimit(wave.clusters, options.concurrency, async (c) => {
    const account = await accounts.get(`${c.account} ${c.region}`);
    const targets = wave.targets.filter((t) => t.cluster === c.name);
    return preflightCluster(c, targets, from, to, reader, options, checkAccount(c.name, c.account, unwrap(account)));
  });
  return [...lines, ...perCluster.flat()];
}
