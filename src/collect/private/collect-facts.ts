/**
 * What `collect` concludes from what kubectl and the AWS CLI print, as pure functions: which EKS
 * cluster a kubeconfig context reaches, the cluster's compute type and agent status, the IRSA roles
 * to read from IAM, the workloads to keep, and what a failed command means. `collect.ts` runs the
 * commands; these functions only read their output.
 */

/** A failure `collect` reports as one line (no stack trace): what happened and how to fix it. */
export class CollectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollectError';
  }
}

/** The EKS cluster behind a kubeconfig context, as far as the kubeconfig tells. */
export interface ContextTarget {
  readonly context: string;
  readonly server: string;
  readonly clusterName: string;
  readonly region: string;
  /** When the kubeconfig names the cluster by ARN. */
  readonly account?: string;
  /** The AWS profile the context's credentials plugin uses (`AWS_PROFILE`, or `--profile`). */
  readonly profile?: string;
}

const ARN = /^arn:(aws[a-z-]*):eks:([a-z0-9-]+):(\d{12}):cluster\/([0-9A-Za-z][A-Za-z0-9_-]*)$/;
const EKS_SERVER = /^https:\/\/[0-9A-Za-z]+\.[a-z0-9]+\.([a-z0-9-]+)\.eks\.amazonaws\.com(\.cn)?\/?$/;

/**
 * The cluster a context reaches, from `kubectl config view --minify --context <c> -o json`: the
 * credentials plugin's `--cluster-name`/`--region` (written by `aws eks update-kubeconfig`), else
 * a cluster or context named by its ARN; the server must be an EKS endpoint.
 */
export function contextTarget(context: string, config: any): ContextTarget {
  const ctx = (config?.contexts ?? []).find((c: any) => c?.name === context) ?? config?.contexts?.[0];
  const clusterEntry = (config?.clusters ?? []).find((c: any) => c?.name === ctx?.context?.cluster) ?? config?.clusters?.[0];
  const userEntry = (config?.users ?? []).find((u: any) => u?.name === ctx?.context?.user) ?? config?.users?.[0];
  const server: string = clusterEntry?.cluster?.server ?? '';
  const exec = userEntry?.user?.exec;
  const args: string[] = Array.isArray(exec?.args) ? exec.args.map(String) : [];
  const flag = (...names: string[]) => {
    for (let i = 0; i < args.length; i++) {
      for (const n of names) {
        if (args[i] === n && i + 1 < args.length) return args[i + 1];
        if (args[i].startsWith(`${n}=`)) return args[i].slice(n.length + 1);
      }
    }
    return undefined;
  };
  const env: any[] = Array.isArray(exec?.env) ? exec.env : [];
  const profile = env.find((e) => e?.name === 'AWS_PROFILE')?.value ?? flag('--profile');
  const byArn = [clusterEntry?.name, context].map((n) => ARN.exec(String(n ?? ''))).find((m) => m !== null);
  const endpoint = EKS_SERVER.exec(server);
  const clusterName = flag('--cluster-name', '--cluster-id', '-i') ?? byArn?.[4];
  const region = flag('--region') ?? env.find((e) => e?.name === 'AWS_REGION' || e?.name === 'AWS_DEFAULT_REGION')?.value ?? byArn?.[2] ?? endpoint?.[1];
  if (endpoint === null) {
    throw new CollectError(`collect: context "${context}": its server ${server || '(none)'} is not an Amazon EKS endpoint (https://<id>.<x>.<region>.eks.amazonaws.com); collect reads EKS clusters only. Leave this context out.`);
  }
  if (clusterName === undefined || region === undefined) {
    throw new CollectError(`collect: context "${context}": the kubeconfig does not say which EKS cluster ${server} is (no --cluster-name in its credentials plugin, no cluster ARN as its name). Write the context with: aws eks update-kubeconfig --name <cluster> --region <region> --alias ${context}`);
  }
  return { context, server: server.replace(/\/$/, ''), clusterName, region, account: byArn?.[3], profile: profile === undefined ? undefined : String(profile) };
}

/** `ComputeType` names (src/pod-identity-cluster.ts). */
export type ComputeTypeName = 'EC2' | 'AUTO_MODE' | 'AUTO_MODE_AND_NODE_GROUPS' | 'HYBRID_NODES' | 'FARGATE' | 'OUTPOSTS';

/** The label EKS puts on Fargate (`fargate`), Auto Mode (`auto`) and hybrid (`hybrid`) nodes; EC2 nodes have none. */
const COMPUTE_LABEL = 'eks.amazonaws.com/compute-type';

/**
 * Where the cluster's pods run, from `aws eks describe-cluster` (Outposts, Auto Mode, remote node
 * networks), `aws eks list-nodegroups` and the nodes' `eks.amazonaws.com/compute-type` labels.
 */
export function computeTypeOf(cluster: any, nodes: any[], nodegroups: string[]): { computeType: ComputeTypeName; why: string } {
  const labels = nodes.map((n) => n?.metadata?.labels?.[COMPUTE_LABEL] as string | undefined);
  const ec2 = labels.filter((l) => l === undefined).length;
  const count = (v: string) => labels.filter((l) => l === v).length;
  if (cluster?.outpostConfig) {
    return { computeType: 'OUTPOSTS', why: 'outpostConfig (a local cluster on AWS Outposts)' };
  }
  if (cluster?.computeConfig?.enabled === true) {
    if (ec2 > 0 || nodegroups.length > 0) {
      return { computeType: 'AUTO_MODE_AND_NODE_GROUPS', why: `Auto Mode, and ${nodegroups.length} node group(s), ${ec2} node(s) outside Auto Mode` };
    }
    return { computeType: 'AUTO_MODE', why: `Auto Mode, ${count('auto')} Auto Mode node(s), no node groups` };
  }
  if (cluster?.remoteNetworkConfig || count('hybrid') > 0) {
    return { computeType: 'HYBRID_NODES', why: `remote node networks, ${count('hybrid')} hybrid node(s)` };
  }
  if (count('fargate') > 0 && ec2 === 0 && nodegroups.length === 0) {
    return { computeType: 'FARGATE', why: `${count('fargate')} Fargate node(s) only` };
  }
  return { computeType: 'EC2', why: `${ec2} EC2 node(s), ${nodegroups.length} node group(s)${count('fargate') > 0 ? `, and ${count('fargate')} Fargate node(s), whose pods keep IRSA` : ''}` };
}

/** `AgentStatus` names. */
export type AgentStatusName = 'NOT_INSTALLED' | 'PRE_INSTALLED' | 'AUTO_MODE';

/**
 * Whether the Pod Identity agent runs: built in (Auto Mode only), installed (the
 * `eks-pod-identity-agent` add-on, or a DaemonSet of that name in kube-system), or not.
 */
export function agentStatusOf(computeType: ComputeTypeName, addonNames: string[], workloads: any[]): AgentStatusName {
  if (computeType === 'AUTO_MODE') return 'AUTO_MODE';
  const daemonSet = workloads.some((w) => w?.kind === 'DaemonSet' && w?.metadata?.namespace === 'kube-system' && w?.metadata?.name === 'eks-pod-identity-agent');
  return addonNames.includes('eks-pod-identity-agent') || daemonSet ? 'PRE_INSTALLED' : 'NOT_INSTALLED';
}

/** The kinds collect asks kubectl for; the inventory reads these. */
export const WORKLOAD_KINDS = ['deployments', 'statefulsets', 'daemonsets', 'cronjobs', 'jobs', 'pods'];

/**
 * The workloads the inventory needs: every Deployment, StatefulSet, DaemonSet and CronJob, and the
 * Jobs and Pods nothing owns (a CronJob's Jobs and a Deployment's Pods are covered by their owner).
 */
export function ownWorkloads(items: any[]): any[] {
  return items.filter((i) => !['Job', 'Pod'].includes(i?.kind) || (i?.metadata?.ownerReferences ?? []).length === 0);
}

/** IRSA roles: the `eks.amazonaws.com/role-arn` annotations and add-ons' `serviceAccountRoleArn`, by ARN, with who uses them. */
export function irsaRoles(clusters: { name: string; serviceAccounts: any[]; addons: any[] }[]): Map<string, string[]> {
  const users = new Map<string, string[]>();
  const add = (arn: unknown, who: string) => {
    if (typeof arn !== 'string' || arn === '') return;
    users.set(arn, [...(users.get(arn) ?? []), who]);
  };
  for (const c of clusters) {
    for (const sa of c.serviceAccounts) {
      add(sa?.metadata?.annotations?.['eks.amazonaws.com/role-arn'], `${c.name}/${sa?.metadata?.namespace}/${sa?.metadata?.name}`);
    }
    for (const a of c.addons) {
      add(a?.serviceAccountRoleArn, `${c.name} add-on ${a?.addonName}`);
    }
  }
  return new Map([...users.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The IAM ARN of a cluster's OIDC provider, from its issuer URL. */
export function oidcProviderArn(partition: string, account: string, issuerUrl: string): string {
  return `arn:${partition}:iam::${account}:oidc-provider/${issuerUrl.replace(/^https:\/\//, '')}`;
}

/** What went wrong with an AWS CLI call, from its error output: the error code and message. */
export function awsErrorOf(stderr: string): { code?: string; message: string } {
  const m = /An error occurred \(([A-Za-z0-9.]+)\)(?: when calling the \w+ operation)?(?: \(reached max retries: \d+\))?: (.*)/.exec(stderr);
  if (m) return { code: m[1], message: m[2].trim() };
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return { message: lines.slice(-2).join(' ') || '(no output)' };
}

/** Error codes that mean the caller may not do it. */
export const DENIED = /AccessDenied|UnauthorizedOperation|Forbidden|NotAuthorized/;
/** Error codes and messages that mean there are no (valid) credentials. */
export const NO_CREDENTIALS = /UnrecognizedClient|InvalidClientTokenId|ExpiredToken|SignatureDoesNotMatch|Unable to locate credentials|The config profile \(.*\) could not be found|Error when retrieving token/;

/** What a failed kubectl call means, for the operator. */
export function kubectlProblem(stderr: string): string {
  const text = stderr.trim();
  if (/\(Forbidden\)|is forbidden/.test(text)) return `forbidden: ${firstLine(text)} The operator needs get and list on it in every namespace (an EKS access entry with AmazonEKSViewPolicy at cluster scope, or RBAC to the same effect)`;
  if (/Unauthorized|must be logged in/.test(text)) return `not authenticated: ${firstLine(text)} Check the AWS credentials of the context's profile and that it has an access entry on the cluster`;
  if (/Unable to connect to the server|connection refused|no such host|i\/o timeout/.test(text)) return `unreachable: ${firstLine(text)} Check the network path to the cluster's endpoint (private endpoint, VPN)`;
  return firstLine(text) || '(no output)';
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return /[.!]$/.test(line.trim()) ? line.trim() : `${line.trim()}.`;
}
