/**
 * What a step reads of the fleet, one request per cluster or per account where the APIs allow it:
 * the operator's kubectl (one process per cluster and read, through the kubeconfig's credential
 * plugin), and the AWS APIs in process (the AWS SDK for JavaScript v3, which reads the same
 * profiles, SSO sessions, credential processes and AWS_ENDPOINT_URL_<SERVICE> variables as the AWS CLI).
 */
import { spawn } from 'child_process';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  DescribeAddonCommand, DescribePodIdentityAssociationCommand, EKSClient, ListAddonsCommand, ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import { GetOpenIDConnectProviderCommand, GetRoleCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
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

/** A client process's output made one line, as the scripts' `$(...) | tr '\n' ' '` makes it. */
export const oneLine = (s: string): string => s.replace(/\n+$/, '').replace(/\n/g, ' ');

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
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    try {
      this.counts.request('iam:GetRole');
      const r = await this.client(IAMClient, account, region).send(new GetRoleCommand({ RoleName: roleName }));
      return ok(JSON.parse(decodeURIComponent(r.Role?.AssumeRolePolicyDocument ?? '{}')));
    } catch (e) {
      return failed(sdkError('GetRole', e));
    }
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

  async kubeObjects(cluster: WaveCluster): Promise<Outcome<any[]>> {
    const r = await this.k(cluster, 'get', ['get', 'pods,serviceaccounts', '--all-namespaces', '-o', 'json']);
    if (r.status !== 0) {
      return failed(oneLine(r.stdout + r.stderr));
    }
    try {
      return ok(JSON.parse(r.stdout).items ?? []);
    } catch (e) {
      return failed(`kubectl printed no JSON: ${oneLine(r.stdout).slice(0, 200)}`);
    }
  }

  async associations(cluster: WaveCluster): Promise<Outcome<AssociationSummary[]>> {
    const eks = this.client(EKSClient, cluster.account, cluster.region);
    const all: AssociationSummary[] = [];
    let nextToken: string | undefined;
    try {
      do {
        this.counts.request('eks:ListPodIdentityAssociations');
        const r = await eks.send(new ListPodIdentityAssociationsCommand({ clusterName: cluster.name, nextToken }));
        for (const a of r.associations ?? []) {
          all.push({ associationId: a.associationId!, namespace: a.namespace!, serviceAccount: a.serviceAccount! });
        }
        nextToken = r.nextToken;
      } while (nextToken);
      return ok(all);
    } catch (e) {
      return failed(sdkError('ListPodIdentityAssociations', e));
    }
  }

  async describeAssociation(cluster: WaveCluster, id: string): Promise<Outcome<any>> {
    try {
      this.counts.request('eks:DescribePodIdentityAssociation');
      const r = await this.client(EKSClient, cluster.account, cluster.region)
        .send(new DescribePodIdentityAssociationCommand({ clusterName: cluster.name, associationId: id }));
      return ok(r.association);
    } catch (e) {
      return failed(sdkError('DescribePodIdentityAssociation', e));
    }
  }

  async addon(cluster: WaveCluster, name: string): Promise<Outcome<any>> {
    try {
      this.counts.request('eks:DescribeAddon');
      const r = await this.client(EKSClient, cluster.account, cluster.region)
        .send(new DescribeAddonCommand({ clusterName: cluster.name, addonName: name }));
      return ok(r.addon);
    } catch (e) {
      return failed(sdkError('DescribeAddon', e));
    }
  }

  async podIdentityEvents(cluster: WaveCluster, since: Date): Promise<Outcome<any[]>> {
    const trail = this.client(CloudTrailClient, cluster.account, cluster.region);
    const events: any[] = [];
    let nextToken: string | undefined;
    try {
      do {
        this.counts.request('cloudtrail:LookupEvents');
        const r = await trail.send(new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'AssumeRoleForPodIdentity' }],
          StartTime: since,
          NextToken: nextToken,
        }));
        events.push(...(r.Events ?? []));
        nextToken = r.NextToken;
      } while (nextToken);
      return ok(events);
    } catch (e) {
      return failed(sdkError('LookupEvents', e));
    }
  }

  async callerAccount(account: string, region: string): Promise<Outcome<string>> {
    try {
      this.counts.request('sts:GetCallerIdentity');
      const r = await this.client(STSClient, account, region).send(new GetCallerIdentityCommand({}));
      return ok(r.Account ?? '-');
    } catch (e) {
      return failed(sdkError('GetCallerIdentity', e));
    }
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

  async roles(account: string, region: string): Promise<Outcome<any[]>> {
    const iam = this.client(IAMClient, account, region);
    const all: any[] = [];
    let marker: string | undefined;
    try {
      do {
        this.counts.request('iam:ListRoles');
        const r = await iam.send(new ListRolesCommand({ Marker: marker }));
        for (const role of r.Roles ?? []) {
          all.push({ ...role, AssumeRolePolicyDocument: JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument ?? '{}')) });
        }
        marker = r.IsTruncated ? r.Marker : undefined;
      } while (marker);
      return ok(all);
    } catch (e) {
      return failed(sdkError('ListRoles', e));
    }
  }

  async addonNames(cluster: WaveCluster): Promise<Outcome<string[]>> {
    const eks = this.client(EKSClient, cluster.account, cluster.region);
    const all: string[] = [];
    let nextToken: string | undefined;
    try {
      do {
        this.counts.request('eks:ListAddons');
        const r = await eks.send(new ListAddonsCommand({ clusterName: cluster.name, nextToken }));
        all.push(...(r.addons ?? []));
        nextToken = r.nextToken;
      } while (nextToken);
      return ok(all);
    } catch (e) {
      return failed(sdkError('ListAddons', e));
    }
  }

  async pods(cluster: WaveCluster): Promise<Outcome<any[]>> {
    const r = await this.k(cluster, 'get', ['get', 'pods', '--all-namespaces', '-o', 'json']);
    if (r.status !== 0) {
      return failed(oneLine(r.stdout + r.stderr));
    }
    try {
      return ok(JSON.parse(r.stdout).items ?? []);
    } catch (e) {
      return failed(`kubectl printed no JSON: ${oneLine(r.stdout).slice(0, 200)}`);
    }
  }

  async webIdentityEvents(account: string, region: string, since: Date): Promise<Outcome<any[]>> {
    const trail = this.client(CloudTrailClient, account, region);
    const events: any[] = [];
    let nextToken: string | undefined;
    try {
      do {
        this.counts.request('cloudtrail:LookupEvents');
        const r = await trail.send(new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'AssumeRoleWithWebIdentity' }],
          StartTime: since,
          NextToken: nextToken,
        }));
        events.push(...(r.Events ?? []));
        nextToken = r.NextToken;
      } while (nextToken);
      return ok(events);
    } catch (e) {
      return failed(sdkError('LookupEvents', e));
    }
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
