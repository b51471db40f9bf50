/**
 * What a step reads of the fleet, one request per cluster or per account where the APIs allow it:
 * the operator's kubectl (one process per cluster and read, through the kubeconfig's credential
 * plugin), and the AWS APIs in process (the AWS SDK for JavaScript v3, which reads the same
 * profiles, SSO sessions, credential processes and AWS_ENDPOINT_URL_<SERVICE> variables as the AWS CLI).
 */
import { spawn } from 'child_process';
import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  DescribeAddonCommand, DescribeNodegroupCommand, DescribePodIdentityAssociationCommand, EKSClient, ListAddonsCommand, ListNodegroupsCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import { GetOpenIDConnectProviderCommand, GetRoleCommand, IAMClient, ListRolesCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { oneLine } from 'cdk-eks-pod-identity/lib/operator/preflight-checks';
import { WaveCluster } from './wave';

/** A read's result, or the one-line error the scripts would print for it. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** An association as `list-pod-identity-associations` gives it (no role). */
export interface AssociationSummary {
  readonly associationId: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** Everything a step reads; the live one below, stand-ins in tests and the benchmark. */
export interface FleetReader {
  /** Every pod and ServiceAccount of the cluster (`kubectl get pods,serviceaccounts -A -o json`): one client process. */
  kubeObjects(cluster: WaveCluster): Promise<Outcome<any[]>>;
  /** The cluster's associations, every page. */
  associations(cluster: WaveCluster): Promise<Outcome<AssociationSummary[]>>;
  /** One association's details (`describe-pod-identity-association` output's `association`). */
  describeAssociation(cluster: WaveCluster, id: string): Promise<Outcome<any>>;
  /** A managed add-on (`describe-addon` output's `addon`). */
  addon(cluster: WaveCluster, name: string): Promise<Outcome<any>>;
  /** A role's trust policy, read in the role's account (the region is a cluster's, as the scripts do); the engine asks once per role. */
  trust(roleArn: string, region: string): Promise<Outcome<any>>;
  /** The AssumeRoleForPodIdentity events of a region since a time, every page (`cloudtrail lookup-events`). */
  podIdentityEvents(cluster: WaveCluster, since: Date): Promise<Outcome<any[]>>;
  /** A throwaway aws-cli pod under the service account: what its `sts get-caller-identity` says. */
  callerIdentity(cluster: WaveCluster, namespace: string, serviceAccount: string): Promise<Outcome<string>>;
}

/** What an OIDC provider's retirement preflight reads. */
export interface ProviderReader {
  /** The account the credentials for `account` reach (`sts get-caller-identity`). */
  callerAccount(account: string, region: string): Promise<Outcome<string>>;
  /** Whether IAM has the provider (NoSuchEntity: false). */
  providerExists(account: string, region: string, providerArn: string): Promise<Outcome<boolean>>;
  /** Every role of the account, its trust decoded (`iam list-roles`, every page). */
  roles(account: string, region: string): Promise<Outcome<any[]>>;
  /** The cluster's managed add-ons (`eks list-addons`, every page). */
  addonNames(cluster: WaveCluster): Promise<Outcome<string[]>>;
  /** A managed add-on (`describe-addon` output's `addon`). */
  addon(cluster: WaveCluster, name: string): Promise<Outcome<any>>;
  /** Every pod of the cluster (`kubectl get pods --all-namespaces -o json`): one client process. */
  pods(cluster: WaveCluster): Promise<Outcome<any[]>>;
  /** The AssumeRoleWithWebIdentity events of an account's region since a time (`cloudtrail lookup-events`, every page). */
  webIdentityEvents(account: string, region: string, since: Date): Promise<Outcome<any[]>>;
  /** A stack's resource (`cloudformation describe-stack-resource`): its physical id and status. */
  stackResource(account: string, region: string, stackName: string, logicalId: string): Promise<Outcome<{ physicalId: string; status: string }>>;
}

/** How the live reader reaches the fleet. */
export interface LiveReaderOptions {
  /** The kubeconfig context per cluster name (default: the cluster's ARN). */
  readonly contexts: ReadonlyMap<string, string>;
  /** The AWS profile per account (default: the current credentials). */
  readonly profiles: ReadonlyMap<string, string>;
  /** Seconds a pod of --sts may take to start. */
  readonly timeout: number;
  /** The image of the --sts pod. */
  readonly stsImage: string;
  /** The kubectl to run (default `kubectl` on PATH). */
  readonly kubectl?: string;
}

/** Client processes started and AWS requests made, by kind: what the benchmark counts. */
export class Counts {
  readonly processes = new Map<string, number>();
  readonly requests = new Map<string, number>();
  process(what: string): void {
    this.processes.set(what, (this.processes.get(what) ?? 0) + 1);
  }
  request(what: string): void {
    this.requests.set(what, (this.requests.get(what) ?? 0) + 1);
  }
  total(m: Map<string, number>): number {
    return [...m.values()].reduce((a, b) => a + b, 0);
  }
}

/** The text of an SDK error as the AWS CLI prints it: `An error occurred (<code>) when calling the <operation> operation: <message>`. */
export function sdkError(operation: string, e: any): string {
  const code = e?.Code ?? e?.name ?? 'Error';
  return `An error occurred (${code}) when calling the ${operation} operation: ${String(e?.message ?? e).replace(/\s*\n\s*/g, ' ')}`;
}

/** A read's value, or its error as the pure checks take it. */
export const unwrap = <T>(o: Outcome<T>): T | { error: string } => (o.ok ? o.value : { error: o.error });

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const failed = <T>(error: string): Outcome<T> => ({ ok: false, error });

/** Runs a process; its exit status, stdout and stderr. */
export function run(cmd: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', (e) => resolve({ status: 127, stdout: '', stderr: `${cmd}: ${e.message}` }));
    child.on('close', (status) => resolve({ status: status ?? 1, stdout: Buffer.concat(out).toString('utf-8'), stderr: Buffer.concat(err).toString('utf-8') }));
  });
}

/** The fleet as the operator's kubectl and AWS credentials see it. */
export class LiveReader implements FleetReader, ProviderReader {
  readonly counts = new Counts();
  private readonly clients = new Map<string, any>();
  private readonly kubectl: string;

  constructor(private readonly options: LiveReaderOptions) {
    this.kubectl = options.kubectl ?? 'kubectl';
  }

  async trust(roleArn: string, region: string): Promise<Outcome<any>> {
    const account = roleArn.split(':')[4];
    const RoleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    const r = await this.request('iam', 'GetRole', () => this.client(IAMClient, account, region).send(new GetRoleCommand({ RoleName })));
    return r.ok ? ok(JSON.parse(decodeURIComponent(r.value.Role?.AssumeRolePolicyDocument ?? '{}'))) : r;
  }

  private client<C>(ctor: new (config: any) => C, account: string, region: string): C {
    const key = `${ctor.name} ${account} ${region}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      const profile = this.options.profiles.get(account);
      c = new ctor({ region, ...(profile ? { profile } : {}), maxAttempts: 5 });
      this.clients.set(key, c);
    }
    return c;
  }

  private context(cluster: WaveCluster): string {
    return this.options.contexts.get(cluster.name) ?? cluster.arn;
  }

  private async k(cluster: WaveCluster, what: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    this.counts.process(`kubectl ${what}`);
    return run(this.kubectl, ['--context', this.context(cluster), '--request-timeout=30s', ...args]);
  }

  /** Every object of these kinds in the cluster: one `kubectl get <kinds> --all-namespaces -o json`. */
  private async list(cluster: WaveCluster, kinds: string): Promise<Outcome<any[]>> {
    const r = await this.k(cluster, 'get', ['get', kinds, '--all-namespaces', '-o', 'json']);
    if (r.status !== 0) {
      return failed(oneLine(r.stdout + r.stderr));
    }
    try {
      return ok(JSON.parse(r.stdout).items ?? []);
    } catch (e) {
      return failed(`kubectl printed no JSON: ${oneLine(r.stdout).slice(0, 200)}`);
    }
  }

  /** One AWS request, counted; its error as the CLI prints it. */
  private async request<T>(service: string, operation: string, send: () => Promise<T>): Promise<Outcome<T>> {
    try {
      this.counts.request(`${service}:${operation}`);
      return ok(await send());
    } catch (e) {
      return failed(sdkError(operation, e));
    }
  }

  /** Every page of a paged AWS request (`page` gets the previous page's token), each page counted. */
  private async pages<T>(service: string, operation: string, page: (token: string | undefined) => Promise<{ items: T[]; next?: string }>):
  Promise<Outcome<T[]>> {
    const all: T[] = [];
    let token: string | undefined;
    do {
      const r = await this.request(service, operation, () => page(token));
      if (!r.ok) {
        return r;
      }
      all.push(...r.value.items);
      token = r.value.next;
    } while (token);
    return ok(all);
  }

  /** The CloudTrail events of one name in an account's region since a time (`lookup-events`, every page). */
  private lookupEvents(account: string, region: string, eventName: string, since: Date): Promise<Outcome<any[]>> {
    const trail = this.client(CloudTrailClient, account, region);
    return this.pages('cloudtrail', 'LookupEvents', async (NextToken) => {
      const r = await trail.send(new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }], StartTime: since, NextToken,
      }));
      return { items: r.Events ?? [], next: r.NextToken };
    });
  }

  kubeObjects(cluster: WaveCluster): Promise<Outcome<any[]>> {
    return this.list(cluster, 'pods,serviceaccounts');
  }

  associations(cluster: WaveCluster): Promise<Outcome<AssociationSummary[]>> {
    const eks = this.client(EKSClient, cluster.account, cluster.region);
    return this.pages('eks', 'ListPodIdentityAssociations', async (nextToken) => {
      const r = await eks.send(new ListPodIdentityAssociationsCommand({ clusterName: cluster.name, nextToken }));
      return {
        items: (r.associations ?? []).map((a) => ({ associationId: a.associationId!, namespace: a.namespace!, serviceAccount: a.serviceAccount! })),
        next: r.nextToken,
      };
    });
  }

  async describeAssociation(cluster: WaveCluster, id: string): Promise<Outcome<any>> {
    const r = await this.request('eks', 'DescribePodIdentityAssociation', () => this.client(EKSClient, cluster.account, cluster.region)
      .send(new DescribePodIdentityAssociationCommand({ clusterName: cluster.name, associationId: id })));
    return r.ok ? ok(r.value.association) : r;
  }

  async addon(cluster: WaveCluster, name: string): Promise<Outcome<any>> {
    const r = await this.request('eks', 'DescribeAddon', () => this.client(EKSClient, cluster.account, cluster.region)
      .send(new DescribeAddonCommand({ clusterName: cluster.name, addonName: name })));
    return r.ok ? ok(r.value.addon) : r;
  }

  podIdentityEvents(cluster: WaveCluster, since: Date): Promise<Outcome<any[]>> {
    return this.lookupEvents(cluster.account, cluster.region, 'AssumeRoleForPodIdentity', since);
  }

  async callerAccount(account: string, region: string): Promise<Outcome<string>> {
    const r = await this.request('sts', 'GetCallerIdentity', () => this.client(STSClient, account, region).send(new GetCallerIdentityCommand({})));
    return r.ok ? ok(r.value.Account ?? '-') : r;
  }

  async providerExists(account: string, region: string, providerArn: string): Promise<Outcome<boolean>> {
    try {
      this.counts.request('iam:GetOpenIDConnectProvider');
      await this.client(IAMClient, account, region).send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }));
      return ok(true);
    } catch (e: any) {
      return e?.name === 'NoSuchEntityException' || e?.name === 'NoSuchEntity' ? ok(false) : failed(sdkError('GetOpenIDConnectProvider', e));
    }
  }

  roles(account: string, region: string): Promise<Outcome<any[]>> {
    const iam = this.client(IAMClient, account, region);
    return this.pages('iam', 'ListRoles', async (Marker) => {
      const r = await iam.send(new ListRolesCommand({ Marker }));
      return {
        items: (r.Roles ?? []).map((role) => ({ ...role, AssumeRolePolicyDocument: JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument ?? '{}')) })),
        next: r.IsTruncated ? r.Marker : undefined,
      };
    });
  }

  addonNames(cluster: WaveCluster): Promise<Outcome<string[]>> {
    const eks = this.client(EKSClient, cluster.account, cluster.region);
    return this.pages('eks', 'ListAddons', async (nextToken) => {
      const r = await eks.send(new ListAddonsCommand({ clusterName: cluster.name, nextToken }));
      return { items: r.addons ?? [], next: r.nextToken };
    });
  }

  pods(cluster: WaveCluster): Promise<Outcome<any[]>> {
    return this.list(cluster, 'pods');
  }

  webIdentityEvents(account: string, region: string, since: Date): Promise<Outcome<any[]>> {
    return this.lookupEvents(account, region, 'AssumeRoleWithWebIdentity', since);
  }

  async stackResource(account: string, region: string, stackName: string, logicalId: string):
  Promise<Outcome<{ physicalId: string; status: string }>> {
    const r = await this.request('cloudformation', 'DescribeStackResource', () => this.client(CloudFormationClient, account, region)
      .send(new DescribeStackResourceCommand({ StackName: stackName, LogicalResourceId: logicalId })));
    const detail = r.ok ? r.value.StackResourceDetail : undefined;
    return r.ok ? ok({ physicalId: detail?.PhysicalResourceId ?? 'null', status: detail?.ResourceStatus ?? 'null' }) : r;
  }

  objects(cluster: WaveCluster, kinds: string[]): Promise<Outcome<any[]>> {
    return this.list(cluster, kinds.join(','));
  }

  async namespaced(cluster: WaveCluster, namespace: string, kind: 'configmaps' | 'secret', names: string[] = []): Promise<Outcome<any[]>> {
    const r = await this.k(cluster, 'get', ['-n', namespace, 'get', kind, ...names, '-o', 'json']);
    // named objects of which some are missing: kubectl lists those it found, and fails
    try {
      // one named object comes back as itself, several (or none named) as a List
      const parsed = JSON.parse(r.stdout);
      const items = parsed?.kind === 'List' || Array.isArray(parsed?.items) ? parsed.items : [parsed];
      if (Array.isArray(items) && (r.status === 0 || names.length > 0)) {
        return ok(items);
      }
    } catch {
      // no JSON: the error below
    }
    return failed(oneLine(r.stdout + r.stderr));
  }

  async nodeGroups(cluster: WaveCluster): Promise<Outcome<{ nodeGroup: string; role: Outcome<string> }[]>> {
    const eks = this.client(EKSClient, cluster.account, cluster.region);
    const names = await this.pages('eks', 'ListNodegroups', async (nextToken) => {
      const r = await eks.send(new ListNodegroupsCommand({ clusterName: cluster.name, nextToken }));
      return { items: r.nodegroups ?? [], next: r.nextToken };
    });
    if (!names.ok) {
      return names;
    }
    return ok(await Promise.all(names.value.map(async (nodeGroup) => {
      const r = await this.request('eks', 'DescribeNodegroup', () => eks.send(new DescribeNodegroupCommand({ clusterName: cluster.name, nodegroupName: nodeGroup })));
      return { nodeGroup, role: r.ok ? ok(r.value.nodegroup?.nodeRole ?? '-') : r };
    })));
  }

  async simulate(account: string, region: string, roleArn: string, action: string, resource: string): Promise<Outcome<string>> {
    const r = await this.request('iam', 'SimulatePrincipalPolicy', () => this.client(IAMClient, account, region).send(new SimulatePrincipalPolicyCommand({
      PolicySourceArn: roleArn, ActionNames: [action], ResourceArns: [resource],
    })));
    return r.ok ? ok(r.value.EvaluationResults?.[0]?.EvalDecision ?? '-') : r;
  }

  async callerIdentity(cluster: WaveCluster, namespace: string, serviceAccount: string): Promise<Outcome<string>> {
    const pod = `pod-identity-sts-${Math.floor(Date.now() / 1000)}-${Math.floor(Math.random() * 32768)}`;
    const r = await this.k(cluster, 'run', ['-n', namespace, 'run', pod, `--image=${this.options.stsImage}`, '--restart=Never', '--rm', '-i', '--quiet',
      `--pod-running-timeout=${this.options.timeout}s`, `--env=AWS_REGION=${cluster.region}`,
      `--overrides=${JSON.stringify({ apiVersion: 'v1', spec: { serviceAccountName: serviceAccount } })}`,
      '--', 'sts', 'get-caller-identity', '--query', 'Arn', '--output', 'text']);
    if (r.status !== 0) {
      return failed(oneLine(r.stdout + r.stderr));
    }
    const lines = r.stdout.replace(/\r/g, '').replace(/\n+$/, '').split('\n');
    return ok(lines[lines.length - 1]);
  }
}
