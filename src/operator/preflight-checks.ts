import { CheckLine, compared, noted, Target } from './verify-checks';
import { arnName } from '../private/arns';
import { AGENT_ADDRESSES } from '../private/constants';

/** The line of a step that needs kubectl and finds none on PATH. */
export const KUBECTL_MISSING: CheckLine = compared('FAIL', '- -', 'tools: expected kubectl on PATH; saw none', 'kubectl on PATH', 'none');

/** The agent DaemonSets a cluster of this compute type runs (none: built into EKS Auto Mode nodes). */
export function agentDaemonSets(computeType: string): string[] {
  switch (computeType) {
    case 'AUTO_MODE': return [];
    case 'HYBRID_NODES': return ['eks-pod-identity-agent', 'eks-pod-identity-agent-hybrid'];
    default: return ['eks-pod-identity-agent'];
  }
}

/**
 * The agent on a cluster: each DaemonSet it needs ready on every node it is scheduled on
 * (`kubectl get daemonset -o json`, or the error text when it could not be read). `hint` is added
 * to each failure (the foundation step that installs the agent, where the migration does).
 */
export function checkAgent(cluster: string, computeType: string, daemonSets: { [name: string]: any | { error: string } }, hint = ''): CheckLine[] {
  const who = `${cluster} -`;
  if (computeType === 'AUTO_MODE') {
    return [noted('INFO', who, 'agent: built into EKS Auto Mode nodes')];
  }
  return agentDaemonSets(computeType).map((name): CheckLine => {
    const ds = daemonSets[name];
    if (ds === undefined || 'error' in ds) {
      return compared('FAIL', who, `agent: expected DaemonSet kube-system/${name}; saw: ${oneLine(ds?.error ?? 'nothing')}${hint}`,
        `DaemonSet kube-system/${name}`, oneLine(ds?.error ?? 'nothing'));
    }
    const desired = ds.status?.desiredNumberScheduled ?? 0;
    const ready = ds.status?.numberReady ?? 0;
    const expected = `${name} ready on every node`;
    const seen = `${name} ready on ${ready} of ${desired} nodes`;
    return desired > 0 && desired === ready
      ? compared('PASS', who, `agent: ${seen}`, expected, seen)
      : compared('FAIL', who, `agent: expected ${expected}; saw ${ready} ready of ${desired}${hint}`, expected, seen);
  });
}

/** An error text on one line, as the scripts print it: trailing newlines dropped (as `$(...)` drops them), each other newline a space. */
export function oneLine(text: string): string {
  return text.replace(/\n+$/, '').replace(/\n/g, ' ');
}

/** The ConfigMaps and Secrets of a namespace, by name, as the API returns them (Secret data base64). */
export interface NamespaceObjects {
  readonly configMaps: { [name: string]: any };
  readonly secrets: { [name: string]: any };
}

/** The ConfigMaps and Secrets a pod spec reads its variables from (`envFrom`, `valueFrom`). */
export function referencedObjects(spec: any): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
      if (f.secretRef?.name) secrets.add(f.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  return { configMaps: [...configMaps].sort(), secrets: [...secrets].sort() };
}

/**
 * The containers (and init containers) of a pod spec whose proxy would receive the credential
 * requests (F12): each container's variables resolved as the kubelet resolves them (`envFrom` in
 * order, each with its prefix, then `env`, `valueFrom` from the namespace's ConfigMaps and Secrets),
 * a proxy set (`HTTP_PROXY`, `http_proxy`, `HTTPS_PROXY`, `https_proxy`, the first set), and
 * `NO_PROXY` (or `no_proxy`) without an agent address. `what` names the object (`pod/x`, `deployment/y`).
 */
export function proxyFindings(spec: any, what: string, objects: NamespaceObjects): string[] {
  const data = (name: string, kind: 'cm' | 'secret'): { [key: string]: string } => {
    const o = kind === 'cm' ? objects.configMaps[name] : objects.secrets[name];
    const d = o?.data ?? {};
    return kind === 'cm' ? d : Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
  };
  const out: string[] = [];
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    const vars: { [name: string]: string | undefined } = {};
    for (const f of c.envFrom ?? []) {
      const from = f.configMapRef ? data(f.configMapRef.name, 'cm') : data(f.secretRef?.name, 'secret');
      for (const [k, v] of Object.entries(from)) vars[(f.prefix ?? '') + k] = v;
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sec = e.valueFrom?.secretKeyRef;
      vars[e.name] = cm ? data(cm.name, 'cm')[cm.key] : sec ? data(sec.name, 'secret')[sec.key] : e.value;
    }
    const proxy = first(vars.HTTP_PROXY, vars.http_proxy, vars.HTTPS_PROXY, vars.https_proxy) ?? '';
    const noProxy = (first(vars.NO_PROXY, vars.no_proxy) ?? '').split(',').map((s) => s.trim());
    if (proxy === '') continue;
    const missing = AGENT_ADDRESSES.filter((a) => !noProxy.includes(a));
    if (missing.length > 0) out.push(`${what}/${c.name}: proxy ${proxy}, NO_PROXY lacks ${missing.join(',')}`);
  }
  return out;
}

/** The first value that is set and not empty (jq's `//`: null and false are not set; "" is). */
function first(...values: (string | undefined)[]): string | undefined {
  return values.find((v) => v !== undefined && v !== null);
}

/** What the proxy check expects (its `expected` value). */
export const PROXY_EXPECTED = `NO_PROXY holds ${AGENT_ADDRESSES.join(',')} wherever HTTP(S)_PROXY is set`;

/** The proxy line of a service account: the findings of its pods and of its workloads. */
export function checkProxies(t: Target, findings: string[]): CheckLine {
  const who = `${t.cluster} ${t.namespace}/${t.serviceAccount}`;
  const expected = PROXY_EXPECTED;
  return findings.length === 0
    ? compared('PASS', who, `proxy: no container sends the agent's address (${AGENT_ADDRESSES.join(', ')}) to a proxy`, expected,
      'no container sends the agent\'s address to a proxy')
    : compared('FAIL', who, `proxy: expected NO_PROXY to hold ${AGENT_ADDRESSES.join(',')} wherever HTTP(S)_PROXY is set; saw ${findings.join('; ')}`, expected,
      findings.join('; '));
}

/** A timestamp as the AWS CLI prints it (ISO 8601 in v2, seconds since the epoch in v1), as ISO 8601 to the second. */
export function isoSeconds(value: string | number): string {
  const ms = typeof value === 'number' ? Math.floor(value) * 1000 : Date.parse(value);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * F5, before the OIDC trust goes: every current pod of the service account created after its
 * association, and none with `AWS_WEB_IDENTITY_TOKEN_FILE` in a container or init container.
 */
export function checkNoIrsaPods(t: Target, association: any | undefined, pods: any[]): CheckLine {
  const who = `${t.cluster} ${t.namespace}/${t.serviceAccount}`;
  if (association === undefined) {
    return compared('FAIL', who, 'association: expected one before the OIDC trust goes; saw none', 'an association', 'none');
  }
  const created = typeof association.createdAt === 'number' ? isoSeconds(association.createdAt) : String(association.createdAt);
  const epoch = (s: string) => Date.parse(s.replace(/\.[0-9]+/, '').replace(/\+00:00$/, 'Z')) / 1000;
  const bad: string[] = [];
  for (const p of pods) {
    const irsa = [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])]
      .filter((c: any) => (c.env ?? []).some((e: any) => e.name === 'AWS_WEB_IDENTITY_TOKEN_FILE')).map((c: any) => c.name);
    if (epoch(p.metadata.creationTimestamp) < epoch(created) || irsa.length > 0) {
      bad.push(`${p.metadata.name} (created ${p.metadata.creationTimestamp}${irsa.length > 0 ? `, AWS_WEB_IDENTITY_TOKEN_FILE in ${irsa.join(',')}` : ''})`);
    }
  }
  const expected = `every pod created after the association (${created}) without AWS_WEB_IDENTITY_TOKEN_FILE in any container or init container`;
  return bad.length === 0
    ? compared('PASS', who, `no IRSA pods: every pod was created after the association (${created}) and none has AWS_WEB_IDENTITY_TOKEN_FILE`, expected,
      `${pods.length} pods as expected`)
    : compared('FAIL', who, `no IRSA pods: expected ${expected}; `
        + `saw ${bad.join('; ')}. Restart them (apply.sh of the POD_IDENTITY step restarts every workload)`, expected, bad.join('; '));
}

/** The cloud assembly holds the wave at the phase the step deploys (its `phase` file, whitespace dropped). */
export function checkAssembly(assembly: string, wave: string, want: string, have: string): CheckLine {
  const seen = have.replace(/\s/g, '');
  return seen === want
    ? compared('PASS', '- -', `assembly: ${assembly} holds ${wave} at ${want}`, want, seen)
    : compared('FAIL', '- -', `assembly: expected ${assembly} to hold ${wave} at ${want}; saw ${seen}. `
      + `Record ${want} for ${wave} in the state file, review, run cdk synth, then run this script again`, want, seen);
}

/** The credentials for a cluster's account reach that account (`sts get-caller-identity`'s account, or the error). */
export function checkAccount(cluster: string, account: string, seen: string | { error: string }): CheckLine {
  const who = `${cluster} -`;
  if (typeof seen !== 'string') {
    return compared('FAIL', who, `credentials: cannot call sts get-caller-identity: ${oneLine(seen.error)}`, `account ${account}`, oneLine(seen.error));
  }
  return seen === account
    ? compared('PASS', who, `credentials: account ${seen}`, `account ${account}`, `account ${seen}`)
    : compared('FAIL', who, `credentials: expected account ${account}; saw ${seen} (give --profiles)`, `account ${account}`, `account ${seen}`);
}

/** One managed node group's role and what IAM's policy simulation says of `eks-auth:AssumeRoleForPodIdentity` on the cluster. */
export interface NodeGroupRole {
  readonly nodeGroup: string;
  /** The node role's ARN, or the error describing the node group. */
  readonly role: string | { error: string };
  /** `allowed`, `implicitDeny`, `explicitDeny`, or the error of the simulation. */
  readonly decision?: string | { error: string };
}

/**
 * Each managed node group's role may call `eks-auth:AssumeRoleForPodIdentity` on the cluster (the
 * agent calls it with the node's credentials). Auto Mode: nothing to check. No managed node group:
 * what cannot be checked is said.
 */
export function checkNodeRoles(cluster: string, clusterArn: string, computeType: string, groups: NodeGroupRole[] | { error: string }): CheckLine[] {
  const who = `${cluster} -`;
  if (computeType === 'AUTO_MODE') {
    return [];
  }
  if (!Array.isArray(groups)) {
    return [compared('FAIL', who, `node role: cannot list node groups: ${oneLine(groups.error)}`, 'the managed node groups listed', oneLine(groups.error))];
  }
  if (groups.length === 0) {
    return [noted('CANNOT-CHECK', who, 'node role: no managed node group; check that the instance role of self-managed nodes allows eks-auth:AssumeRoleForPodIdentity')];
  }
  return groups.map((g): CheckLine => {
    const expected = `node group ${g.nodeGroup}'s role allows eks-auth:AssumeRoleForPodIdentity on ${clusterArn}`;
    if (typeof g.role !== 'string') {
      return compared('FAIL', who, `node role: cannot describe node group ${g.nodeGroup}: ${oneLine(g.role.error)}`, expected, oneLine(g.role.error));
    }
    const name = arnName(g.role);
    if (g.decision === undefined || typeof g.decision !== 'string') {
      return compared('FAIL', who, `node role: cannot simulate ${g.role}: ${oneLine(g.decision?.error ?? '')}`, expected, oneLine(g.decision?.error ?? ''));
    }
    return g.decision === 'allowed'
      ? compared('PASS', who, `node role: ${name} (node group ${g.nodeGroup}) allows eks-auth:AssumeRoleForPodIdentity`, expected, `${name}: allowed`)
      : compared('FAIL', who, `node role: expected ${name} (node group ${g.nodeGroup}) to allow eks-auth:AssumeRoleForPodIdentity on ${clusterArn}; `
        + `saw ${g.decision}. Attach AmazonEKSWorkerNodePolicy or that action`, expected, `${name}: ${g.decision}`);
  });
}

/**
 * F15: Security Groups for Pods (the VPC CNI's `ENABLE_POD_ENI`) needs
 * `POD_SECURITY_GROUP_ENFORCING_MODE=standard`, or pods with a security group cannot reach the agent.
 * `awsNode` is the `kube-system/aws-node` DaemonSet, or none (not the VPC CNI).
 */
export function checkPodEni(cluster: string, awsNode: any | undefined): CheckLine {
  const who = `${cluster} -`;
  if (awsNode === undefined) {
    return noted('INFO', who, 'security groups for pods: no aws-node DaemonSet (not the VPC CNI): nothing to check');
  }
  const env: any[] = (awsNode.spec?.template?.spec?.containers ?? []).flatMap((c: any) => c.env ?? []);
  const value = (name: string, otherwise: string) => {
    // the first entry of that name (in container order) decides; one set from a reference counts as unset
    const e = env.find((x) => x.name === name);
    return e?.value === undefined || e.value === null ? otherwise : String(e.value);
  };
  const eni = value('ENABLE_POD_ENI', 'false');
  const mode = value('POD_SECURITY_GROUP_ENFORCING_MODE', 'strict');
  const expected = 'ENABLE_POD_ENI not true, or POD_SECURITY_GROUP_ENFORCING_MODE=standard';
  if (eni !== 'true') {
    return compared('PASS', who, `security groups for pods: not enabled (ENABLE_POD_ENI=${eni})`, expected, `ENABLE_POD_ENI=${eni}`);
  }
  const seen = `ENABLE_POD_ENI=true, POD_SECURITY_GROUP_ENFORCING_MODE=${mode}`;
  return mode === 'standard'
    ? compared('PASS', who, 'security groups for pods: POD_SECURITY_GROUP_ENFORCING_MODE=standard', expected, seen)
    : compared('FAIL', who, 'security groups for pods: expected POD_SECURITY_GROUP_ENFORCING_MODE=standard with ENABLE_POD_ENI=true; '
      + `saw ${mode} (pods with a security group could not reach the agent)`, expected, seen);
}
