/**
 * The Kubernetes API of a cluster, in process: one `kubectl proxy` per cluster, on a Unix socket in a
 * private folder (0700), through which every request of a step's changes goes. kubectl keeps doing
 * what it does for the operator (the kubeconfig's context, its credential plugin such as
 * `aws eks get-token`, TLS); the step makes as many requests as it needs, side by side, without a
 * client process each.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { oneLine } from 'cdk-eks-pod-identity/lib/operator/preflight-checks';
import { Outcome } from './reader';

/** A response of the API server: its status code and parsed body. */
export interface KubeResponse {
  readonly status: number;
  readonly body: any;
}

/** What a step changes and polls in a cluster (the live one below; stand-ins in tests and the benchmark). */
export interface KubeApi {
  /** One request; `path` as the API server takes it (`/apis/apps/v1/namespaces/x/deployments/y`). */
  request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType?: string): Promise<Outcome<KubeResponse>>;
  /** Stops whatever the session started. */
  close(): void;
}

/** A failed response as kubectl prints it: `Error from server (<reason>): <message>`. */
export function kubeError(r: KubeResponse): string {
  const reason = r.body?.reason || (r.status === 404 ? 'NotFound' : `HTTP ${r.status}`);
  const message = r.body?.message ?? (typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
  return `Error from server (${reason}): ${oneLine(String(message))}`;
}

/** The API path of an object, by kubectl's lower-case kind (`deployment`, `pod`, ...); without `name`, the collection. */
export function objectPath(kind: string, namespace: string, name?: string): string {
  const groups: { [kind: string]: [string, string] } = {
    pod: ['/api/v1', 'pods'],
    serviceaccount: ['/api/v1', 'serviceaccounts'],
    deployment: ['/apis/apps/v1', 'deployments'],
    statefulset: ['/apis/apps/v1', 'statefulsets'],
    daemonset: ['/apis/apps/v1', 'daemonsets'],
    replicaset: ['/apis/apps/v1', 'replicasets'],
    job: ['/apis/batch/v1', 'jobs'],
    cronjob: ['/apis/batch/v1', 'cronjobs'],
  };
  const g = groups[kind];
  if (g === undefined) {
    throw new Error(`no API path known for kind ${kind}`);
  }
  return `${g[0]}/namespaces/${encodeURIComponent(namespace)}/${g[1]}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

/** A cluster's API through `kubectl --context <context> proxy --unix-socket`, started on the first request. */
export class ProxiedKubeApi implements KubeApi {
  private started?: Promise<Outcome<string>>;
  private child?: ChildProcess;
  private dir?: string;

  /**
   * @param onStart called once when the proxy process starts (the step counts client processes)
   * @param onRequest called for every request (the step counts them)
   */
  constructor(private readonly kubectl: string, private readonly context: string, private readonly onStart: () => void = () => {},
    private readonly onRequest: (method: string) => void = () => {}) {}

  private start(): Promise<Outcome<string>> {
    if (this.started === undefined) {
      this.started = new Promise((resolve) => {
        this.onStart();
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-eks-pi-proxy-'));
        fs.chmodSync(this.dir, 0o700);
        const socket = path.join(this.dir, 'api.sock');
        const child = spawn(this.kubectl, ['--context', this.context, 'proxy', `--unix-socket=${socket}`], { stdio: ['ignore', 'pipe', 'pipe'] });
        this.child = child;
        let said = '';
        const done = (o: Outcome<string>) => {
          clearTimeout(timer);
          resolve(o);
        };
        const timer = setTimeout(() => done({ ok: false, error: `kubectl proxy did not start within 30s: ${oneLine(said)}` }), 30_000);
        const watch = (b: Buffer) => {
          said += b.toString('utf-8');
          if (said.includes('Starting to serve on')) {
            done({ ok: true, value: socket });
          }
        };
        child.stdout!.on('data', watch);
        child.stderr!.on('data', watch);
        child.on('error', (e) => done({ ok: false, error: `${this.kubectl}: ${e.message}` }));
        child.on('exit', () => done({ ok: false, error: oneLine(said) || 'kubectl proxy exited' }));
      });
    }
    return this.started;
  }

  async request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', urlPath: string, body?: unknown, contentType = 'application/json'):
  Promise<Outcome<KubeResponse>> {
    const socket = await this.start();
    if (!socket.ok) {
      return socket;
    }
    this.onRequest(method);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve) => {
      const req = http.request({
        socketPath: socket.value,
        path: urlPath,
        method,
        headers: {
          'Accept': 'application/json',
          'Host': 'localhost',
          'User-Agent': 'cdk-eks-pod-identity-operator',
          ...(payload ? { 'Content-Type': contentType, 'Content-Length': payload.length } : {}),
        },
        timeout: 30_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf-8');
          let parsed: any = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // kubectl proxy's own errors are text
          }
          resolve({ ok: true, value: { status: res.statusCode ?? 0, body: parsed } });
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 30s')));
      req.on('error', (e) => resolve({ ok: false, error: `the API server of ${this.context} did not answer: ${e.message}` }));
      if (payload) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.child?.kill();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
