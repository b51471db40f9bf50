/**
 * Operator benchmark: a wave's preflight, verify and apply (DUAL_TRUST -> POD_IDENTITY), today's
 * scripts (lib.sh, the AWS CLI and kubectl once per service account and check) against the operator
 * engine (operator/lib/cli.js: one kubectl read per cluster, the AWS APIs in process and concurrently,
 * the Kubernetes changes through one kubectl proxy per cluster), on the same waves, in the same run.
 *
 *   npx projen bench:operator                              # waves 2x5, 5x10, 10x30, 20x5, 50x50 (clusters x service accounts)
 *   npx projen bench:operator -- --waves 2x5,10x30 --latency-ms 50
 *   npx projen bench:operator -- --smoke                   # 2x5, 3x4, 5x2, 10x1: that it works (CI)
 *   npx projen bench:operator -- --waves 50x50 --steps apply --engine-only   # the engine alone (the scripts take hours there)
 *
 * The fleet is stand-ins, each charging what the real one costs:
 *   - every API request: a fixed latency (--latency-ms, default 50 ms);
 *   - every client process: the start-up cost of the real one, measured at the start of the run on
 *     this machine (the AWS CLI's `aws --version`; kubectl's `version --client` plus one `aws` start
 *     for the `aws eks get-token` credential plugin that `update-kubeconfig` writes).
 * kubectl is a stand-in executable that answers from files; the scripts' `aws` too. The engine's AWS
 * requests go through the real AWS SDK for JavaScript v3 to an HTTP stand-in of EKS, IAM and STS in
 * this process (AWS_ENDPOINT_URL), which answers after the latency; its `kubectl proxy` is a stand-in
 * serving the cluster's API from the same files, each answer after the latency.
 * apply runs with --skip-deploy (the deploy is CloudFormation's, the same for both) and its rollouts
 * complete at once (the stand-ins' controllers are instant): the time is the step's own, as the
 * issue's goal counts it. Preflight and apply run with --profiles (a profile per account), as their
 * account check needs.
 *
 * The engine runs for real: its kubectl stand-in sleeps the start-up cost and the latency, its HTTP
 * stand-in waits the latency, and its time is the wall time. The scripts run one process after
 * another (nothing in lib.sh runs in parallel), so their stand-ins answer at once and the costs are
 * added to the wall time of the run (the scripts' own bash, jq and awk work): time = wall + the sum
 * of the charges. Both must print the same check lines (the run fails otherwise), so both did the
 * same work.
 *
 * Printed: per wave, client processes, API requests and time of each, the ratio; then the client
 * processes of each as a least-squares fit a + b·clusters + c·accounts + d·service accounts over the
 * waves. Nothing is asserted on times; the bench exits non-zero when a run fails or the lines differ.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const TOOLS = path.join(ROOT, '.tools');
const FROM = 'DUAL_TRUST';
const TO = 'POD_IDENTITY';
type Step = 'preflight' | 'verify' | 'apply';
const STEPS: Step[] = ['preflight', 'verify', 'apply'];

interface Wave { clusters: number; perCluster: number; accounts: number }
const waveName = (w: Wave) => `${w.clusters}x${w.perCluster}`;
function parseWave(s: string): Wave {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
    throw new Error(`bench:operator: a wave is <clusters>x<service accounts per cluster>, e.g. 10x30; got '${s}'`);
  }
  const clusters = Number(m[1]);
  // clusters spread over accounts, a platform team's few clusters per account
  return { clusters, perCluster: Number(m[2]), accounts: Math.max(1, Math.round(clusters / 5)) };
}

interface Options { waves: Wave[]; latencyMs: number; keep: boolean; engineOnly: boolean; steps: Step[] }
function options(argv: string[]): Options {
  const o: Options = { waves: ['2x5', '5x10', '10x30', '20x5', '50x50'].map(parseWave), latencyMs: 50, keep: false, engineOnly: false, steps: [...STEPS] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' && i === 0) {
      // `npx projen <task> -- <options>` passes the separator on
      continue;
    }
    const value = () => {
      const v = argv[++i];
      if (v === undefined) {
        throw new Error(`bench:operator: ${a} needs a value`);
      }
      return v;
    };
    if (a === '--') {
      continue; // npx projen bench:operator -- <options>
    } else if (a === '--waves') {
      o.waves = value().split(',').filter((x) => x).map(parseWave);
    } else if (a === '--latency-ms') {
      o.latencyMs = Number(value());
      if (!Number.isInteger(o.latencyMs) || o.latencyMs < 0) {
        throw new Error('bench:operator: --latency-ms takes a whole number of milliseconds');
      }
    } else if (a === '--smoke') {
      o.waves = ['2x5', '3x4', '5x2', '10x1'].map(parseWave);
    } else if (a === '--keep') {
      o.keep = true;
    } else if (a === '--engine-only') {
      // the former scripts take hours on 50x50 (their own work grows faster than the wave): the engine alone, its lines not compared
      o.engineOnly = true;
    } else if (a === '--steps') {
      o.steps = value().split(',').map((x) => {
        if (!(STEPS as string[]).includes(x)) {
          throw new Error(`bench:operator: --steps takes ${STEPS.join(', ')}; got '${x}'`);
        }
        return x as Step;
      });
    } else {
      throw new Error(`bench:operator: unknown option ${a}; see the header of bench/operator.ts`);
    }
  }
  return o;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The start-up cost of a real client process on this machine, in ms: the median of 5 runs. */
function startup(cmd: string, args: string[]): number {
  if (!fs.existsSync(cmd)) {
    throw new Error(`bench:operator: ${cmd} is missing; run scripts/install-tools.sh first`);
  }
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`bench:operator: ${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    }
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

const safe = (s: string) => s.replace(/[:/]/g, '_');
const write = (file: string, data: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
};

interface Fleet {
  dir: string;
  waveDir: string;
  /** Association details by id, trust policies by role name: what the HTTP stand-in serves. */
  associations: Map<string, any[]>;
  described: Map<string, any>;
  trusts: Map<string, any>;
  targets: number;
}

/**
 * A wave at POD_IDENTITY, in the state verify expects: its folder as the app writes it (wave.tsv,
 * phases.tsv, clusters.tsv, targets.tsv) and the answers of the stand-ins.
 */
function makeFleet(root: string, w: Wave): Fleet {
  const phases = require(path.join(ROOT, 'lib', 'private', 'phases.js'));
  const dir = path.join(root, waveName(w));
  const waveDir = path.join(dir, 'runbooks', 'bench');
  const data = path.join(dir, 'standin');
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  write(path.join(dir, 'runbooks', 'bench', 'wave.tsv'), '# key\tvalue\nwave\tbench\nstacks\tBench-*\n');
  write(path.join(dir, 'runbooks', 'bench', 'phases.tsv'), '# phase\tirsaTrust\tpodIdentityTrust\tassociation\tannotation\n'
    + phases.PHASE_ORDER.map((p: string) => [p, yes(phases.PHASES[p].irsaTrust), yes(phases.PHASES[p].podIdentityTrust),
      yes(phases.PHASES[p].association), yes(phases.PHASES[p].irsaAnnotation)].join('\t')).join('\n') + '\n');
  const clusters: string[] = [];
  const targets: string[] = [];
  const associations = new Map<string, any[]>();
  const described = new Map<string, any>();
  const trusts = new Map<string, any>();
  const workloads: string[] = [];
  const accounts = new Set<string>();
  for (let c = 0; c < w.clusters; c++) {
    const name = `bench-${String(c).padStart(3, '0')}`;
    const region = c % 2 === 0 ? 'us-east-1' : 'eu-west-1';
    const account = String(100000000000 + (c % w.accounts));
    const arn = `arn:aws:eks:${region}:${account}:cluster/${name}`;
    const issuer = `oidc.eks.${region}.amazonaws.com/id/${name.toUpperCase()}`;
    const provider = `arn:aws:iam::${account}:oidc-provider/${issuer}`;
    clusters.push([name, region, account, arn, 'ec2'].join('\t'));
    const objects: any[] = [];
    const list: any[] = [];
    const kube = path.join(data, 'kube', safe(arn));
    const namespaces = new Map<string, any[]>();
    const deployments: any[] = [];
    accounts.add(account);
    for (let s = 0; s < w.perCluster; s++) {
      const ns = `team-${Math.floor(s / 10)}`;
      const sa = `app-${s}`;
      const roleName = `${name}-${sa}`;
      const role = `arn:aws:iam::${account}:role/${roleName}`;
      const id = `a-${name}-${s}`;
      targets.push([name, ns, sa, role, role, '-', 'ends', provider, issuer, 'phased', '-',
        `arn:aws:sts::${account}:assumed-role/${roleName}/`, `arn:aws:sts::${account}:assumed-role/${roleName}/`, '-', '-'].join('\t'));
      const serviceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns, annotations: { 'eks.amazonaws.com/role-arn': role } } };
      const pods = [0, 1].map((i) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${sa}-${i}`, namespace: ns, ownerReferences: [{ kind: 'ReplicaSet', name: `${sa}-rs`, controller: true }] },
        spec: {
          serviceAccountName: sa,
          containers: [{
            name: 'app',
            env: [{ name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' },
              { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token' }],
          }],
        },
        status: { phase: 'Running' },
      }));
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: sa, namespace: ns, generation: 1 },
        spec: { replicas: 2, template: { spec: pods[0].spec } },
        status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 },
      };
      const replicaSet = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: `${sa}-rs`, namespace: ns, ownerReferences: [{ kind: 'Deployment', name: sa, controller: true }] } };
      write(path.join(kube, 'ns', ns, 'deployment', `${sa}.json`), deployment);
      write(path.join(kube, 'ns', ns, 'replicaset', `${sa}-rs.json`), replicaSet);
      deployments.push(deployment);
      workloads.push([name, ns, sa, 'Deployment', sa].join('\t'));
      objects.push(serviceAccount, ...pods);
      namespaces.set(ns, [...(namespaces.get(ns) ?? []), ...pods]);
      write(path.join(kube, 'ns', ns, 'sa', `${sa}.json`), serviceAccount);
      const summary = { clusterName: name, namespace: ns, serviceAccount: sa, associationArn: `${arn}/${id}`, associationId: id };
      list.push(summary);
      const association = { ...summary, roleArn: role, createdAt: 1765000000, modifiedAt: 1765000000, tags: {} };
      described.set(`${name}/${id}`, association);
      write(path.join(data, 'aws', 'list', name, ns, `${sa}.json`), { associations: [summary] });
      write(path.join(data, 'aws', 'describe', name, `${id}.json`), { association });
      const trust = {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: provider },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringEquals: { [`${issuer}:sub`]: `system:serviceaccount:${ns}:${sa}`, [`${issuer}:aud`]: 'sts.amazonaws.com' } },
          },
          {
            Effect: 'Allow',
            Principal: { Service: 'pods.eks.amazonaws.com' },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Condition: { StringEquals: { 'aws:RequestTag/kubernetes-namespace': ns, 'aws:RequestTag/kubernetes-service-account': sa, 'aws:RequestTag/eks-cluster-arn': arn } },
          },
        ],
      };
      trusts.set(roleName, trust);
      write(path.join(data, 'aws', 'trust', `${roleName}.json`), trust);
    }
    for (const [ns, pods] of namespaces) {
      write(path.join(kube, 'ns', ns, 'pods.json'), { apiVersion: 'v1', kind: 'List', items: pods });
    }
    write(path.join(kube, 'all.json'), { apiVersion: 'v1', kind: 'List', items: objects });
    // what preflight and apply read besides: the agent, ready on every node; every object of the inventory's kinds
    const agent = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'eks-pod-identity-agent', namespace: 'kube-system' },
      status: { desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3, numberAvailable: 3 },
    };
    write(path.join(kube, 'ns', 'kube-system', 'daemonset', 'eks-pod-identity-agent.json'), agent);
    write(path.join(kube, 'objects.json'), { apiVersion: 'v1', kind: 'List', items: [...objects, agent, ...deployments] });
    associations.set(name, list);
  }
  write(path.join(waveDir, 'workloads.tsv'), '# cluster\tnamespace\tserviceAccount\tkind\tname\n' + workloads.join('\n') + '\n');
  write(path.join(waveDir, 'phase'), TO);
  // a profile per account (its access key names the account, for the STS stand-in)
  write(path.join(dir, 'profiles.tsv'), [...accounts].map((a) => `${a}\tbench-${a}\n`).join(''));
  write(path.join(dir, 'credentials'), [...accounts].map((a) => `[bench-${a}]\naws_access_key_id = AKIA${a}\naws_secret_access_key = bench\n`).join(''));
  write(path.join(waveDir, 'clusters.tsv'), '# cluster\tregion\taccount\tclusterArn\tcomputeType\n' + clusters.join('\n') + '\n');
  write(path.join(waveDir, 'targets.tsv'), '# cluster\tnamespace\tserviceAccount\t...\n' + targets.join('\n') + '\n');
  return { dir, waveDir, associations, described, trusts, targets: targets.length };
}

/** The stand-in executables: kubectl (both) and aws (the scripts'), answering from the fleet's files. */
function writeStandIns(bin: string): void {
  write(path.join(bin, 'kubectl'), `#!/usr/bin/env bash
# bench stand-in of kubectl: answers from $BENCH_DATA/kube, charges one process to $BENCH_LEDGER, sleeps $BENCH_SLEEP
ctx='' ns='' args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --context) ctx="$2"; shift 2 ;;
    --request-timeout=*) shift ;;
    -n) ns="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ "\${args[0]:-}" = proxy ]; then printf 'proxy\\n'; else printf 'kubectl\\n'; fi >> "$BENCH_LEDGER"
if [ -n "\${BENCH_SLEEP:-}" ]; then sleep "$BENCH_SLEEP"; fi
c="$BENCH_DATA/kube/\${ctx//[:\\/]/_}"
case "\${args[*]}" in
  'get pods,serviceaccounts --all-namespaces -o json') cat "$c/all.json" ;;
  'get pods,serviceaccounts,daemonsets,deployment --all-namespaces -o json') cat "$c/objects.json" ;;
  'get pods -o json') cat "$c/ns/$ns/pods.json" ;;
  'get serviceaccount '*' -o json') cat "$c/ns/$ns/sa/\${args[2]}.json" ;;
  'get daemonset aws-node -o json') echo 'Error from server (NotFound): daemonsets.apps "aws-node" not found' >&2; exit 1 ;;
  'get daemonset '*' -o json'|'get deployment '*' -o json'|'get replicaset '*' -o json') cat "$c/ns/$ns/\${args[1]}/\${args[2]}.json" ;;
  'run pod-identity-dry-run '*) cat "$BENCH_DATA/dry-run.json" ;;
  'rollout restart '*) echo "\${args[2]} restarted" ;;
  'rollout status '*) echo "\${args[2]} successfully rolled out" ;;
  'proxy --unix-socket='*) exec "$BENCH_NODE" "$BENCH_PROXY" "$c" "\${args[1]#--unix-socket=}" ;;
  *) echo "bench kubectl stand-in: unexpected arguments: \${args[*]}" >&2; exit 1 ;;
esac
`);
  // the engine's kubectl proxy: the cluster's API from the same files, each answer after the latency; a rollout restarted is rolled out at the next list
  write(path.join(bin, 'kube-proxy.js'), `
const fs = require('fs');
const http = require('http');
const path = require('path');
const [dir, socket] = process.argv.slice(2);
const latency = Number(process.env.BENCH_LATENCY_MS);
const read = (f) => JSON.parse(fs.readFileSync(f, 'utf-8'));
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (b) => chunks.push(b));
  req.on('end', () => setTimeout(() => {
    fs.appendFileSync(process.env.BENCH_KUBE_LEDGER, req.method + '\\n');
    const json = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    const url = new URL(req.url, 'http://x');
    let m;
    if (req.method === 'GET' && (m = /^\\/api\\/v1\\/namespaces\\/([^/]+)\\/pods$/.exec(url.pathname))) return json(200, read(path.join(dir, 'ns', m[1], 'pods.json')));
    if (req.method === 'POST' && (m = /^\\/api\\/v1\\/namespaces\\/([^/]+)\\/pods$/.exec(url.pathname))) {
      const pod = JSON.parse(Buffer.concat(chunks).toString('utf-8'));
      pod.spec.containers[0].env = read(process.env.BENCH_DATA + '/dry-run.json').spec.containers[0].env;
      return json(201, pod);
    }
    if (req.method === 'GET' && (m = /^\\/apis\\/apps\\/v1\\/namespaces\\/([^/]+)\\/(replicasets|deployments)\\/([^/]+)$/.exec(url.pathname))) {
      return json(200, read(path.join(dir, 'ns', m[1], m[2].slice(0, -1), m[3] + '.json')));
    }
    if (req.method === 'PATCH' && (m = /^\\/apis\\/apps\\/v1\\/namespaces\\/([^/]+)\\/deployments\\/([^/]+)$/.exec(url.pathname))) {
      const d = read(path.join(dir, 'ns', m[1], 'deployment', m[2] + '.json'));
      return json(200, { ...d, metadata: { ...d.metadata, generation: 2 } });
    }
    if (req.method === 'GET' && (m = /^\\/apis\\/apps\\/v1\\/namespaces\\/([^/]+)\\/deployments$/.exec(url.pathname))) {
      const items = fs.readdirSync(path.join(dir, 'ns', m[1], 'deployment')).map((f) => read(path.join(dir, 'ns', m[1], 'deployment', f)))
        .map((d) => ({ ...d, metadata: { ...d.metadata, generation: 2 }, status: { ...d.status, observedGeneration: 2 } }));
      return json(200, { kind: 'DeploymentList', items });
    }
    json(404, { kind: 'Status', reason: 'NotFound', message: 'bench kube stand-in: unexpected ' + req.method + ' ' + req.url });
  }, latency));
});
server.listen(socket, () => console.log('Starting to serve on ' + socket));
`);
  write(path.join(bin, 'aws'), `#!/usr/bin/env bash
# bench stand-in of the AWS CLI (the scripts'): answers from $BENCH_DATA/aws, charges one process to $BENCH_LEDGER
args=() cluster='' ns='' sa='' id='' role='' account=''
while [ $# -gt 0 ]; do
  case "$1" in
    --region|--output|--query) shift 2 ;;
    --cluster-name) cluster="$2"; shift 2 ;;
    --namespace) ns="$2"; shift 2 ;;
    --service-account) sa="$2"; shift 2 ;;
    --association-id) id="$2"; shift 2 ;;
    --role-name) role="$2"; shift 2 ;;
    --profile) account="\${2#bench-}"; shift 2 ;;
    --nodegroup-name|--policy-source-arn|--action-names|--resource-arns) shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
printf 'aws\\n' >> "$BENCH_LEDGER"
case "\${args[*]}" in
  'sts get-caller-identity') printf '"%s"\\n' "$account" ;;
  'eks list-nodegroups') echo '{"nodegroups": ["general"]}' ;;
  'eks describe-nodegroup') printf '"arn:aws:iam::%s:role/nodes"\\n' "$account" ;;
  'iam simulate-principal-policy') echo '"allowed"' ;;
  'eks list-pod-identity-associations') cat "$BENCH_DATA/aws/list/$cluster/$ns/$sa.json" ;;
  'eks describe-pod-identity-association') cat "$BENCH_DATA/aws/describe/$cluster/$id.json" ;;
  'iam get-role') cat "$BENCH_DATA/aws/trust/$role.json" ;;
  *) echo "bench aws stand-in: unexpected arguments: \${args[*]}" >&2; exit 1 ;;
esac
`);
  fs.chmodSync(path.join(bin, 'kubectl'), 0o755);
  fs.chmodSync(path.join(bin, 'aws'), 0o755);
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The HTTP stand-in of EKS (REST-JSON) and IAM (query) the engine's SDK clients reach; each answer after the latency. */
function awsStandIn(latencyMs: number): { server: http.Server; fleet: { current?: Fleet }; requests: Map<string, number> } {
  const fleet: { current?: Fleet } = {};
  const requests = new Map<string, number>();
  const count = (op: string) => requests.set(op, (requests.get(op) ?? 0) + 1);
  const PAGE = 100;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b) => chunks.push(b));
    req.on('end', () => setTimeout(() => {
      const f = fleet.current!;
      const url = new URL(req.url ?? '/', 'http://x');
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && (m = /^\/clusters\/([^/]+)\/pod-identity-associations$/.exec(url.pathname))) {
        count('eks:ListPodIdentityAssociations');
        const all = f.associations.get(decodeURIComponent(m[1])) ?? [];
        const start = Number(url.searchParams.get('nextToken') ?? '0');
        const page = all.slice(start, start + PAGE);
        return json(200, { associations: page, ...(start + PAGE < all.length ? { nextToken: String(start + PAGE) } : {}) });
      }
      if (req.method === 'GET' && (m = /^\/clusters\/([^/]+)\/pod-identity-associations\/([^/]+)$/.exec(url.pathname))) {
        count('eks:DescribePodIdentityAssociation');
        const a = f.described.get(`${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`);
        return a ? json(200, { association: a }) : json(404, { message: 'not found' });
      }
      if (req.method === 'GET' && (m = /^\/clusters\/([^/]+)\/node-groups$/.exec(url.pathname))) {
        count('eks:ListNodegroups');
        return json(200, { nodegroups: ['general'] });
      }
      // the account of a request: its access key names it (AKIA<account>, the bench's profiles)
      const account = /Credential=AKIA(\d{12})\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '000000000000';
      if (req.method === 'GET' && (m = /^\/clusters\/([^/]+)\/node-groups\/([^/]+)$/.exec(url.pathname))) {
        count('eks:DescribeNodegroup');
        return json(200, { nodegroup: { nodegroupName: decodeURIComponent(m[2]), nodeRole: `arn:aws:iam::${account}:role/nodes` } });
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf-8'));
      const xml = (body: string) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(body);
      };
      if (req.method === 'POST' && form.get('Action') === 'GetCallerIdentity') {
        count('sts:GetCallerIdentity');
        return xml(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${account}:user/bench</Arn>`
          + `<UserId>AIDABENCH</UserId><Account>${account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata>`
          + '</GetCallerIdentityResponse>');
      }
      if (req.method === 'POST' && form.get('Action') === 'SimulatePrincipalPolicy') {
        count('iam:SimulatePrincipalPolicy');
        return xml('<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>'
          + `<EvaluationResults><member><EvalActionName>${xmlEscape(form.get('ActionNames.member.1') ?? '')}</EvalActionName>`
          + `<EvalResourceName>${xmlEscape(form.get('ResourceArns.member.1') ?? '')}</EvalResourceName><EvalDecision>allowed</EvalDecision></member></EvaluationResults>`
          + '</SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>');
      }
      if (req.method === 'POST' && form.get('Action') === 'GetRole') {
        count('iam:GetRole');
        const name = form.get('RoleName') ?? '';
        const trust = f.trusts.get(name);
        res.writeHead(trust ? 200 : 404, { 'content-type': 'text/xml' });
        return res.end(trust
          ? `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>${xmlEscape(name)}</RoleName>`
            + `<RoleId>AROABENCH</RoleId><Arn>arn:aws:iam::100000000000:role/${xmlEscape(name)}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate>`
            + `<AssumeRolePolicyDocument>${xmlEscape(encodeURIComponent(JSON.stringify(trust)))}</AssumeRolePolicyDocument></Role></GetRoleResult>`
            + '<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></GetRoleResponse>'
          : '<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>no such role</Message></Error></ErrorResponse>');
      }
      json(400, { message: `bench AWS stand-in: unexpected ${req.method} ${req.url}` });
    }, latencyMs));
  });
  return { server, fleet, requests };
}

interface Run { lines: string[]; processes: number; requests: number; ms: number; wallMs: number }

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => { stdout += b; });
    child.stderr.on('data', (b) => { stderr += b; });
    child.on('close', (status) => resolve({ status: status ?? 1, stdout, stderr, ms: Number(process.hrtime.bigint() - t) / 1e6 }));
  });
}

// the check lines, sorted; how long an association took to appear is wall-clock time (a loaded machine
// makes the scripts' first poll see it a second later), so its seconds are not compared
const checkLines = (stdout: string) => stdout.split('\n').filter((l) => /^(PASS|FAIL|TODO|CANNOT-CHECK) /.test(l))
  .map((l) => l.replace(/ association: (present|absent) after \d+s$/, ' association: $1 after <n>s')).sort();

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const awsMs = startup(path.join(TOOLS, 'awscli', 'bin', 'aws'), ['--version']);
  const kubectlMs = startup(path.join(TOOLS, 'kubernetes-client', 'usr', 'bin', 'kubectl'), ['version', '--client', '-o', 'json']) + awsMs;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-operator-'));
  const bin = path.join(root, 'bin');
  writeStandIns(bin);
  fs.copyFileSync(path.join(ROOT, 'bench', 'baseline', 'lib.sh'), path.join(root, 'lib.sh'));
  const { server, fleet, requests } = awsStandIn(o.latencyMs);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as any).port;
  console.log(`operator benchmark: preflight, verify and apply of ${FROM} -> ${TO}; latency ${o.latencyMs} ms per API request; start-up per client process, `
    + `measured here: aws ${awsMs.toFixed(0)} ms, kubectl ${kubectlMs.toFixed(0)} ms (kubectl ${(kubectlMs - awsMs).toFixed(0)} ms + the aws eks get-token plugin)`);
  const rows: { step: Step; w: Wave; targets: number; scripts: Run; engine: Run }[] = [];
  let failed = false;
  for (const w of o.waves) {
    const f = makeFleet(root, w);
    fleet.current = f;
    fs.writeFileSync(path.join(f.dir, 'standin', 'dry-run.json'), JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pod-identity-dry-run' },
      spec: { containers: [{ name: 'pod-identity-dry-run', env: [{ name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'x' }, { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', value: 'y' }] }] },
    }));
    const base = { ...process.env, BENCH_DATA: path.join(f.dir, 'standin'), PATH: `${bin}:${process.env.PATH}` };
    for (const step of o.steps) {
      // verify with the current credentials (one account's, which the stand-ins do not check); apply with a profile per account,
      // as its preflight checks each cluster's account; the deploy is CloudFormation's, not the step's (--skip-deploy)
      const args = step === 'verify' ? [] : [...(step === 'apply' ? ['--skip-deploy'] : []), '--profiles', path.join(f.dir, 'profiles.tsv')];

      // today's scripts: the stand-ins answer at once; each process is charged its start-up and one request's latency
      const scriptsLedger = path.join(f.dir, `${step}.scripts.ledger`);
      fs.writeFileSync(scriptsLedger, '');
      const s = o.engineOnly ? { status: 0, stdout: '', stderr: '', ms: 0 }
        : await runProcess('bash', ['-c', `. "$1"; shift; pi_main ${step} ${FROM} ${TO} "$@"`, `${step}.sh`, path.join(root, 'lib.sh'), f.waveDir, ...args],
          { ...base, BENCH_LEDGER: scriptsLedger });
      const ledger = fs.readFileSync(scriptsLedger, 'utf-8').split('\n').filter((l) => l);
      const charged = ledger.reduce((sum, l) => sum + (l === 'aws' ? awsMs : kubectlMs) + o.latencyMs, 0);
      const scripts: Run = { lines: checkLines(s.stdout), processes: ledger.length, requests: ledger.length, ms: s.ms + charged, wallMs: s.ms };

      // the engine: real sleeps in its kubectl stand-in, real latency in the AWS and Kubernetes stand-ins
      const engineLedger = path.join(f.dir, `${step}.engine.ledger`);
      const kubeLedger = path.join(f.dir, `${step}.kube.ledger`);
      fs.writeFileSync(engineLedger, '');
      fs.writeFileSync(kubeLedger, '');
      requests.clear();
      const e = await runProcess(process.execPath, [path.join(ROOT, 'operator', 'lib', 'cli.js'), 'step', step, FROM, TO, f.waveDir, ...args], {
        ...base,
        BENCH_LEDGER: engineLedger,
        BENCH_SLEEP: ((kubectlMs + o.latencyMs) / 1000).toFixed(3),
        BENCH_KUBE_LEDGER: kubeLedger,
        BENCH_LATENCY_MS: String(o.latencyMs),
        BENCH_NODE: process.execPath,
        BENCH_PROXY: path.join(bin, 'kube-proxy.js'),
        AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
        ...(step === 'verify'
          ? { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }
          : { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SHARED_CREDENTIALS_FILE: path.join(f.dir, 'credentials') }),
        AWS_CONFIG_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      const engineProcesses = fs.readFileSync(engineLedger, 'utf-8').split('\n').filter((l) => l);
      const kubeRequests = fs.readFileSync(kubeLedger, 'utf-8').split('\n').filter((l) => l).length;
      const awsRequests = [...requests.values()].reduce((a, b) => a + b, 0);
      const engine: Run = {
        lines: checkLines(e.stdout),
        processes: engineProcesses.length,
        requests: engineProcesses.filter((l) => l === 'kubectl').length + awsRequests + kubeRequests,
        ms: e.ms,
        wallMs: e.ms,
      };

      const same = o.engineOnly || JSON.stringify(scripts.lines) === JSON.stringify(engine.lines);
      if (s.status !== 0 || e.status !== 0 || !same || (!o.engineOnly && scripts.lines.length === 0)) {
        failed = true;
        console.error(`bench:operator: ${step} of wave ${waveName(w)}: scripts exit ${s.status}, engine exit ${e.status}, `
          + `${same ? 'the same lines' : 'different lines'} (${scripts.lines.length} and ${engine.lines.length})`);
        if (!same) {
          console.error(`only the scripts': ${scripts.lines.filter((l) => !engine.lines.includes(l)).slice(0, 5).join('\n')}`);
          console.error(`only the engine's: ${engine.lines.filter((l) => !scripts.lines.includes(l)).slice(0, 5).join('\n')}`);
        }
        console.error(`scripts:\n${s.stdout.split('\n').filter((l) => l.startsWith('FAIL')).slice(0, 5).join('\n')}${s.stderr.slice(0, 2000)}`);
        console.error(`engine:\n${e.stdout.split('\n').filter((l) => l.startsWith('FAIL')).slice(0, 5).join('\n')}${e.stderr.slice(0, 2000)}`);
      }
      rows.push({ step, w, targets: f.targets, scripts, engine });
      console.log(`  ${step} ${waveName(w)} (${w.accounts} accounts, ${f.targets} service accounts, ${engine.lines.length} checks): `
        + `scripts ${o.engineOnly ? 'not run (--engine-only)' : fmt(scripts.ms)}, engine ${fmt(engine.ms)}`);
    }
  }
  server.close();

  for (const step of o.steps) {
    const mine = rows.filter((r) => r.step === step);
    console.log('');
    console.log(`${step} ${FROM} -> ${TO}${step === 'apply' ? ' (--skip-deploy; rollouts complete at once: the time is the step\'s own)' : ''}:`);
    console.log('| wave (clusters x service accounts) | accounts | checks | scripts: processes | engine: processes | scripts: API requests | engine: API requests '
      + '| scripts: time | engine: time | scripts / engine |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of mine) {
      const x = (v: string) => (o.engineOnly ? '-' : v);
      console.log(`| ${waveName(r.w)} | ${r.w.accounts} | ${r.engine.lines.length} | ${x(String(r.scripts.processes))} | ${r.engine.processes} `
        + `| ${x(String(r.scripts.requests))} | ${r.engine.requests} | ${x(fmt(r.scripts.ms))} | ${fmt(r.engine.ms)} | ${x(`${(r.scripts.ms / r.engine.ms).toFixed(1)}x`)} |`);
    }
    for (const [who, pick] of [['scripts', (r: typeof rows[0]) => r.scripts.processes], ['engine', (r: typeof rows[0]) => r.engine.processes]] as const) {
      console.log(`client processes of ${step}, ${who}: ${formula(mine.map((r) => [1, r.w.clusters, r.w.accounts, r.targets]), mine.map(pick))}`);
    }
  }
  console.log('');
  console.log('scripts\' time: the wall time of lib.sh with instant stand-ins plus, per client process, its start-up and one request\'s latency '
    + '(the scripts run one process after another); engine\'s time: its wall time.');
  if (!o.keep) {
    fs.rmSync(root, { recursive: true, force: true });
  } else {
    console.log(`kept: ${root}`);
  }
  if (failed) {
    process.exitCode = 1;
  }
}

const fmt = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);

/** The least-squares fit y = a + b·clusters + c·accounts + d·service accounts over the waves, the coefficients rounded to 0.01. */
function formula(x: number[][], y: number[]): string {
  const beta = x.length >= 4 ? leastSquares(x, y) : undefined;
  if (!beta) {
    return 'too few waves that differ in clusters, accounts and service accounts to fit a + b·clusters + c·accounts + d·service accounts';
  }
  const residual = Math.max(...x.map((row, i) => Math.abs(row.reduce((sum, v, j) => sum + beta[j] * v, 0) - y[i])));
  return `${round(beta[0])} + ${round(beta[1])}·clusters + ${round(beta[2])}·accounts + ${round(beta[3])}·service accounts (largest residual ${round(residual)})`;
}
const round = (v: number) => String(Math.round(v * 100) / 100);

/** Solves the normal equations (XᵀX)β = Xᵀy by Gaussian elimination; undefined when XᵀX is singular. */
function leastSquares(x: number[][], y: number[]): number[] | undefined {
  const n = x[0].length;
  const a = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (__, j) => x.reduce((s, r) => s + r[i] * r[j], 0)), x.reduce((s, r, k) => s + r[i] * y[k], 0)]);
  for (let i = 0; i < n; i++) {
    let p = i;
    for (let k = i + 1; k < n; k++) {
      if (Math.abs(a[k][i]) > Math.abs(a[p][i])) {
        p = k;
      }
    }
    if (Math.abs(a[p][i]) < 1e-9) {
      return undefined;
    }
    [a[i], a[p]] = [a[p], a[i]];
    for (let k = 0; k < n; k++) {
      if (k !== i) {
        const f = a[k][i] / a[i][i];
        for (let j = i; j <= n; j++) {
          a[k][j] -= f * a[i][j];
        }
      }
    }
  }
  return a.map((row, i) => row[n] / row[i]);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
