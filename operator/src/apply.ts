/**
 * apply and rollback of a wave's step (runbooks/<wave>/<FROM>-to-<TO>/{apply,rollback}.sh), run
 * from the transition table (cdk-eks-pod-identity/lib/migration/private/transition-table): the
 * preflight, the annotations put back, the deploy, the associations waited for, the injection
 * probe, the restarts, the annotations removed, then verify. Every stage runs on all clusters at
 * once (`concurrency` at a time) and ends before the next begins, so a failure anywhere stops the
 * wave as lib.sh stopped it: no pod is restarted anywhere unless every association is as the step
 * expects and every probe passed.
 *
 * The Kubernetes changes go through one `kubectl proxy` per cluster (kube.ts); the waits poll once
 * per cluster and interval (one list per kind and namespace waited on), not once per service
 * account; a cluster's restarts run side by side, at most `perCluster` at once (its restart budget).
 */
import { spawn } from 'child_process';
import { StepPlan, stepPlan } from 'cdk-eks-pod-identity/lib/migration/private/transition-table';
import { MigrationPhase } from 'cdk-eks-pod-identity/lib/migration-phase';
import {
  checkDeploy, checkInjection, jobFromCronJob, jobState, probePod, readyCounts, restartMethod, rolloutStatus, Workload, workloadsToRestart,
} from 'cdk-eks-pod-identity/lib/operator/apply-checks';
import { CheckLine, compared, noted, podsOf, whoOf } from 'cdk-eks-pod-identity/lib/operator/verify-checks';
import { KubeApi, kubeError, KubeResponse, objectPath } from './kube';
import { mapLimit, Once } from './pool';
import { InventoryWorkload, PreflightOptions, PreflightReader, runPreflight } from './preflight';
import { Outcome } from './reader';
import { sharedTrust, verifyCluster } from './verify';
import { Wave, WaveCluster, WaveTarget } from './wave';

export const ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';

/** Time, so tests can run the waits without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `seconds`, or as soon as `signal` aborts. */
  sleep(seconds: number, signal?: AbortSignal): Promise<void>;
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (seconds, signal) => new Promise((resolve) => {
    const timer = setTimeout(resolve, seconds * 1000);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  }),
};

/** Runs the deploy (`<cdk> deploy --app <assembly> <pattern>`): whether it succeeded. */
export type Deployer = (command: string[], assembly: string, pattern: string) => Promise<boolean>;

/** The deploy as lib.sh ran it: the CDK CLI, its output on the step's own stdout and stderr. */
export const CDK_DEPLOYER: Deployer = (command, assembly, pattern) => new Promise((resolve) => {
  const child = spawn(command[0], [...command.slice(1), 'deploy', '--app', assembly, pattern], { stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('error', () => resolve(false));
  child.on('close', (status) => resolve(status === 0));
});

export interface ApplyOptions extends PreflightOptions {
  readonly concurrency: number;
  readonly timeout: number;
  readonly interval: number;
  readonly skipDeploy: boolean;
  /** The CDK CLI, split into words. */
  readonly cdk: string[];
  /** The stacks of the wave (wave.tsv's `stacks`). */
  readonly stacks: string;
  readonly triggerCronJobs: boolean;
  readonly stsImage: string;
  readonly sts: boolean;
  readonly cloudTrailMinutes: number;
  /** Whether kubectl is on PATH (the preflight's tools check). */
  readonly kubectlFound: boolean;
  /** The step's plan (default: the transition table's, `stepPlan(from, to)`; the runbook renders the same). */
  readonly plan?: StepPlan;
}

/** What a step needs beyond the reads: a cluster's API, the deploy, the clock, and where lines go. */
export interface ApplyContext {
  readonly kube: (cluster: WaveCluster) => KubeApi;
  readonly deploy: Deployer;
  readonly clock: Clock;
  /** A line of the step's output. */
  readonly out: (line: string) => void;
  /** A progress line (stderr). */
  readonly progress: (line: string) => void;
}

/** A PASS or FAIL line of a service account's step (its `expected`, and what was seen or the error that kept it from being seen). */
const line = (status: 'PASS' | 'FAIL', who: string, text: string, expected: string, seen: string): CheckLine => compared(status, who, text, expected, seen);
const seconds = (ms: number) => Math.floor(ms / 1000);

/** How long a wait that just began waits for others to begin, so that one list answers them all. */
const BATCH_SECONDS = 0.25;

interface Waiter {
  checked?: boolean;
  readonly kind: string;
  readonly namespace: string;
  readonly test: (objects: any[]) => boolean;
  readonly resolve: (r: Outcome<true>) => void;
  readonly deadline: number;
}

/**
 * A cluster's waits, polled together: each interval, one list per kind and namespace waited on
 * answers every waiter of that kind and namespace.
 */
class Poller {
  private readonly waiters: Waiter[] = [];
  private running = false;
  private wake?: () => void;

  constructor(private readonly api: KubeApi, private readonly clock: Clock, private readonly interval: number) {}

  /** Resolves `{ ok: true }` once `test` holds of the kind's objects in the namespace, or an error after `timeout` seconds (the last error seen, if any). */
  until(kind: string, namespace: string, timeout: number, test: (objects: any[]) => boolean): Promise<Outcome<true>> {
    return new Promise((resolve) => {
      this.waiters.push({ kind, namespace, test, resolve, deadline: this.clock.now() + timeout * 1000 });
      if (!this.running) {
        this.running = true;
        void this.loop();
      } else {
        this.wake?.();
      }
    });
  }

  private async loop(): Promise<void> {
    while (this.waiters.length > 0) {
      const groups = new Map<string, Waiter[]>();
      for (const w of this.waiters) {
        const key = `${w.kind} ${w.namespace}`;
        groups.set(key, [...(groups.get(key) ?? []), w]);
      }
      await Promise.all([...groups.values()].map(async (ws) => {
        const r = await this.api.request('GET', objectPath(ws[0].kind, ws[0].namespace));
        const objects: any[] | undefined = r.ok && r.value.status === 200 ? r.value.body?.items ?? [] : undefined;
        for (const w of ws) {
          w.checked = true;
          if (objects !== undefined && w.test(objects)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve({ ok: true, value: true });
          } else if (this.clock.now() >= w.deadline) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve({ ok: false, error: objects !== undefined ? 'timed out' : (r.ok ? kubeError(r.value) : r.error) });
          }
        }
      }));
      if (this.waiters.length > 0) {
        // the next poll after the interval, or soon after a new wait begins (the waits that begin meanwhile join it)
        const fresh = this.waiters.some((w) => !w.checked);
        let woken = false;
        const early = new AbortController();
        this.wake = () => {
          woken = true;
          early.abort();
        };
        await this.clock.sleep(fresh ? Math.min(BATCH_SECONDS, this.interval) : this.interval, early.signal);
        this.wake = undefined;
        if (woken) {
          await this.clock.sleep(Math.min(BATCH_SECONDS, this.interval));
        }
      }
    }
    this.running = false;
  }
}

/** A request that must answer 2xx: its body, or kubectl's error text. */
async function must(api: KubeApi, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType?: string): Promise<Outcome<any>> {
  const r = await api.request(method, path, body, contentType);
  if (!r.ok) return r;
  return r.value.status >= 200 && r.value.status < 300 ? { ok: true, value: r.value.body } : { ok: false, error: kubeError(r.value as KubeResponse) };
}

const STRATEGIC = 'application/strategic-merge-patch+json';
const MERGE = 'application/merge-patch+json';

/** One cluster's part of the changes: its API, its poller, its budget. */
class ClusterChanges {
  readonly poller: Poller;
  private readonly controllerOf: Once<string | undefined>;
  private readonly namespacePods: Once<Outcome<any>>;

  constructor(readonly cluster: WaveCluster, readonly api: KubeApi, private readonly options: ApplyOptions, private readonly clock: Clock) {
    this.poller = new Poller(api, clock, options.interval);
    this.namespacePods = new Once((namespace) => must(api, 'GET', objectPath('pod', namespace)));
    // `<kind> <namespace> <name>` of a ReplicaSet or Job -> its controller's `<kind> <name>`, once each
    this.controllerOf = new Once(async (key) => {
      const [kind, namespace, name] = key.split(' ');
      const o = await must(api, 'GET', objectPath(kind, namespace, name));
      const c = o.ok ? (o.value?.metadata?.ownerReferences ?? []).find((r: any) => r.controller) : undefined;
      return c ? `${String(c.kind).toLowerCase()} ${c.name}` : undefined;
    });
  }

  /** Puts the IRSA annotation back (`add`) or removes it, as lib.sh's pi_annotate: kubectl's lines, the Helm and add-on notes. */
  async annotate(t: WaveTarget, mode: 'add' | 'remove'): Promise<CheckLine[]> {
    const who = whoOf(t);
    if (t.addon) {
      // EKS writes the add-on's ServiceAccount: the deploy changed its serviceAccountRoleArn
      return [noted('INFO', who, `annotation: add-on ${t.addon.name} ${mode === 'remove' ? 'removes' : 'sets'} it (serviceAccountRoleArn, in the deploy); no kubectl annotate`)];
    }
    const lines: CheckLine[] = [mode === 'remove'
      ? noted('DO', who, `annotation: kubectl annotate serviceaccount ${t.serviceAccount} ${ROLE_ANNOTATION}-`)
      : noted('DO', who, `annotation: kubectl annotate --overwrite serviceaccount ${t.serviceAccount} ${ROLE_ANNOTATION}=${t.irsaRoleArn}`)];
    const r = await must(this.api, 'PATCH', objectPath('serviceaccount', t.namespace, t.serviceAccount),
      { metadata: { annotations: { [ROLE_ANNOTATION]: mode === 'remove' ? null : t.irsaRoleArn } } }, MERGE);
    if (!r.ok) {
      return [...lines, line('FAIL', who, `annotation: cannot ${mode === 'remove' ? 'remove' : 'set'} it: ${r.error}`, mode === 'remove' ? 'absent' : t.irsaRoleArn, r.error)];
    }
    if (t.helmRelease !== '-' && t.helmRelease !== '') {
      lines.push(mode === 'remove'
        ? noted('TODO', who, `annotation: Helm release ${t.helmRelease} owns this ServiceAccount: remove ${ROLE_ANNOTATION} from its values `
          + '(e.g. serviceAccount.annotations) or the next helm upgrade puts it back')
        : noted('TODO', who, `annotation: Helm release ${t.helmRelease} owns this ServiceAccount: put ${ROLE_ANNOTATION}=${t.irsaRoleArn} back in its values`));
    }
    return lines;
  }

  /** F9: a server-side dry run of a pod under the service account; the webhook's mutation is what new pods get. */
  async probe(t: WaveTarget, mode: 'pod-identity' | 'irsa'): Promise<CheckLine> {
    const r = await must(this.api, 'POST', `${objectPath('pod', t.namespace)}?dryRun=All`, probePod(t.namespace, t.serviceAccount, this.options.stsImage));
    return checkInjection(t, mode, r.ok ? r.value : { error: r.error });
  }

  /**
   * The namespace's pods of the service account that hold credentials, or the FAIL line: read now
   * (`fresh`), or from the namespace's one read before the restarts (which workloads to restart).
   */
  async pods(t: WaveTarget, fresh = true): Promise<Outcome<any[]>> {
    const r = fresh ? await must(this.api, 'GET', objectPath('pod', t.namespace)) : await this.namespacePods.get(t.namespace);
    return r.ok ? { ok: true, value: podsOf(t, r.value) } : { ok: false, error: `pods: cannot list the pods of namespace ${t.namespace}: ${r.error}` };
  }

  /** The workloads of the service account's current pods, and the inventory's CronJobs of it. */
  async workloads(t: WaveTarget, pods: any[], inventory: readonly InventoryWorkload[]): Promise<Workload[]> {
    const owners: { [object: string]: string | undefined } = {};
    for (const p of pods) {
      const o = (p.metadata?.ownerReferences ?? []).find((r: any) => r.controller);
      const kind = String(o?.kind ?? '').toLowerCase();
      if (kind === 'replicaset' || kind === 'job') {
        owners[`${kind} ${o.name}`] = await this.controllerOf.get(`${kind} ${t.namespace} ${o.name}`);
      }
    }
    const cronJobs = inventory.filter((w) => w.cluster === t.cluster && w.namespace === t.namespace && w.serviceAccount === t.serviceAccount
      && w.kind === 'CronJob').map((w) => w.name);
    return workloadsToRestart(pods, owners, cronJobs);
  }

  /** Restarts one workload onto the credentials the step gives, as lib.sh's pi_restart_workload did, and waits for it. */
  async restart(t: WaveTarget, w: Workload): Promise<CheckLine[]> {
    const who = whoOf(t);
    const { kind, name } = w;
    const timeout = this.options.timeout;
    let object: any;
    if (kind === 'statefulset' || kind === 'daemonset') {
      const o = await must(this.api, 'GET', objectPath(kind, t.namespace, name));
      if (!o.ok) return [line('FAIL', who, `restart: ${kind}/${name}: ${o.error}`, `${kind}/${name} restarted and ready within ${timeout}s`, o.error)];
      object = o.value;
    }
    const method = restartMethod(w, object, this.options.triggerCronJobs);
    // what a restart's PASS or FAIL line expected: the workload's pods on the step's credentials, within the timeout
    const restarted = `${method === 'trigger' ? `a job from cronjob/${name}` : `${kind}/${name}`} restarted and ready within ${timeout}s`;
    switch (method) {
      case 'rollout': {
        const lines = [noted('DO', who, `restart: kubectl rollout restart ${kind}/${name}`)];
        const patched = await this.restartTemplate(t.namespace, kind, name);
        if (!patched.ok) return [...lines, line('FAIL', who, `restart: ${kind}/${name}: ${patched.error}`, restarted, patched.error)];
        const seen: { status?: ReturnType<typeof rolloutStatus> } = {};
        const r = await this.poller.until(kind, t.namespace, timeout, (objects) => {
          const o = objects.find((x) => x.metadata?.name === name);
          if (o === undefined || (o.metadata?.generation ?? 0) < patched.value) return false;
          seen.status = rolloutStatus(kind, o);
          return seen.status.done || seen.status.error === true;
        });
        if (r.ok && seen.status?.done) return [...lines, line('PASS', who, `restart: ${kind}/${name} rolled out`, restarted, 'rolled out')];
        const saw = r.ok ? seen.status!.message : r.error === 'timed out' ? 'error: timed out waiting for the condition' : r.error;
        return [...lines, line('FAIL', who, `restart: expected ${kind}/${name} rolled out within ${timeout}s; saw ${saw}`, restarted, saw)];
      }
      case 'on-delete': {
        const lines: CheckLine[] = [];
        const patched = await this.restartTemplate(t.namespace, kind, name);
        if (!patched.ok) return [line('FAIL', who, `restart: ${kind}/${name}: ${patched.error}`, restarted, patched.error)];
        const pods = await this.pods(t);
        if (!pods.ok) return [line('FAIL', who, pods.error, restarted, pods.error)];
        let n = 0;
        const owns = (o: any) => String(o.kind).toLowerCase() === kind && o.name === name;
        const owned = pods.value.filter((x) => (x.metadata?.ownerReferences ?? []).some(owns));
        for (const p of owned) {
          lines.push(noted('DO', who, `restart: ${kind}/${name} uses OnDelete: deleting pod ${p.metadata.name}`));
          const gone = await this.deletePod(t.namespace, p);
          if (!gone.ok) return [...lines, line('FAIL', who, `restart: ${kind}/${name}: cannot delete pod ${p.metadata.name}: ${gone.error}`, restarted, gone.error)];
          n++;
          const ready = await this.waitReady(t, kind, name, n);
          if (ready !== undefined) return [...lines, ready];
        }
        return [...lines, line('PASS', who, `restart: ${kind}/${name} (OnDelete): ${n} pods recreated one at a time, all ready`, restarted,
          `${n} pods recreated, all ready`)];
      }
      case 'replace-pods': {
        const pods = await this.pods(t);
        if (!pods.ok) return [line('FAIL', who, pods.error, restarted, pods.error)];
        const mine = pods.value.filter((x) => (x.metadata?.ownerReferences ?? []).some((o: any) => o.kind === 'ReplicaSet' && o.name === name));
        for (const p of mine) {
          const gone = await this.deletePod(t.namespace, p);
          if (!gone.ok) return [line('FAIL', who, `restart: replicaset/${name}: cannot delete pod ${p.metadata.name}: ${gone.error}`, restarted, gone.error)];
        }
        const ready = await this.waitReady(t, 'replicaset', name);
        return [ready ?? line('PASS', who, `restart: replicaset/${name}: pods recreated, all ready`, restarted, 'pods recreated, all ready')];
      }
      case 'trigger': {
        const job = `${name.slice(0, 40)}-pod-identity-${seconds(this.clock.now())}`;
        const lines = [noted('DO', who, `restart: kubectl create job ${job} --from=cronjob/${name}`)];
        const cronJob = await must(this.api, 'GET', objectPath('cronjob', t.namespace, name));
        const created = cronJob.ok ? await must(this.api, 'POST', objectPath('job', t.namespace), jobFromCronJob(cronJob.value, job)) : cronJob;
        if (!created.ok) return [...lines, line('FAIL', who, `restart: cannot create a job from cronjob/${name}: ${created.error}`, restarted, created.error)];
        const seen: { job: ReturnType<typeof jobState> } = { job: { state: 'running' } };
        const r = await this.poller.until('job', t.namespace, timeout, (objects) => {
          seen.job = jobState(objects.find((x) => x.metadata?.name === job));
          return seen.job.state !== 'running';
        });
        const state = seen.job;
        if (r.ok && state.state === 'complete') return [...lines, line('PASS', who, `restart: job/${job} from cronjob/${name} completed`, restarted, `job/${job} complete`)];
        const saw = r.ok ? `it failed: ${state.why}` : r.error === 'timed out' ? `error: timed out waiting for the condition on jobs/${job}` : r.error;
        return [...lines, line('FAIL', who, `restart: expected job/${job} (from cronjob/${name}) complete within ${timeout}s; saw ${saw}`, restarted, saw)];
      }
      case 'next-run':
        return [noted('TODO', who, `restart: cronjob/${name} gets new pods at its next run; verify.sh checks them then (or run apply.sh with --trigger-cronjobs)`)];
      case 'job':
        return [noted('TODO', who, `restart: job/${name} keeps its credentials until it ends; re-run it if it must change now`)];
      case 'bare-pod':
        return [noted('TODO', who, `restart: pod/${name} has no controller: delete it and create it again from its manifest`)];
      default:
        return [noted('TODO', who, `restart: ${kind}/${name} is a controller this step cannot restart: restart its pods yourself `
          + '(e.g. kubectl argo rollouts restart for an Argo Rollout), then run verify.sh')];
    }
  }

  /** What `kubectl rollout restart` does: the template's restartedAt annotation; the object's new generation. */
  private async restartTemplate(namespace: string, kind: string, name: string): Promise<Outcome<number>> {
    const at = new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const r = await must(this.api, 'PATCH', objectPath(kind, namespace, name),
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } } }, STRATEGIC);
    return r.ok ? { ok: true, value: r.value?.metadata?.generation ?? 0 } : r;
  }

  /** `kubectl delete pod --wait=true`: deleted, and gone (a StatefulSet's new pod of the same name is another pod). */
  private async deletePod(namespace: string, pod: any): Promise<Outcome<true>> {
    const r = await must(this.api, 'DELETE', objectPath('pod', namespace, pod.metadata.name));
    if (!r.ok && !r.error.includes('(NotFound)')) return r;
    return this.poller.until('pod', namespace, this.options.timeout, (objects) => !objects.some((x) => x.metadata?.uid === pod.metadata.uid));
  }

  /** Until every pod is ready and at least `least` of them updated (default: all); the FAIL line when not within the timeout. */
  private async waitReady(t: WaveTarget, kind: string, name: string, least?: number): Promise<CheckLine | undefined> {
    let c = { want: 0, ready: 0, updated: 0 };
    const r = await this.poller.until(kind, t.namespace, this.options.timeout, (objects) => {
      const o = objects.find((x) => x.metadata?.name === name);
      if (o === undefined) return false;
      c = readyCounts(kind, o);
      // a ReplicaSet's pods are all of its template: it counts no updated ones
      const updated = kind === 'replicaset' ? c.ready : c.updated;
      return c.want === c.ready && updated >= (least ?? c.want);
    });
    const saw = `${c.ready} ready, ${c.updated} updated of ${c.want}`;
    return r.ok ? undefined : line('FAIL', whoOf(t), `restart: expected ${kind}/${name} ready within ${this.options.timeout}s with ${least ?? c.want} pods updated; `
      + `saw ${saw}`, `${kind}/${name}: every pod ready, ${least ?? c.want} updated, within ${this.options.timeout}s`, saw);
  }
}

/**
 * Waits until each service account's association is visible (or gone), one list of the cluster's
 * associations per poll: a PASS line per service account when it is, a FAIL line for each that is
 * not within the timeout, one WAIT line per poll while some are not.
 */
async function waitAssociations(cluster: WaveCluster, targets: readonly WaveTarget[], want: 'present' | 'absent', reader: PreflightReader,
  options: ApplyOptions, clock: Clock): Promise<CheckLine[]> {
  const start = clock.now();
  const lines: CheckLine[] = [];
  const pending = new Set(targets);
  while (pending.size > 0) {
    const listed = await reader.associations(cluster);
    const waited = seconds(clock.now() - start);
    if (!listed.ok) {
      for (const t of pending) lines.push(line('FAIL', whoOf(t), `association: cannot list the associations: ${listed.error}`, `${want} within ${options.timeout}s`, listed.error));
      return lines;
    }
    for (const t of [...pending]) {
      const present = listed.value.some((a) => a.namespace === t.namespace && a.serviceAccount === t.serviceAccount);
      if (present === (want === 'present')) {
        lines.push(line('PASS', whoOf(t), `association: ${want} after ${waited}s`, `${want} within ${options.timeout}s`, `${want} after ${waited}s`));
        pending.delete(t);
      }
    }
    if (pending.size === 0) break;
    if (waited >= options.timeout) {
      for (const t of pending) {
        lines.push(line('FAIL', whoOf(t), `association: expected it ${want} within ${options.timeout}s; saw it ${want === 'present' ? 'absent' : 'present'}`,
          `${want} within ${options.timeout}s`, want === 'present' ? 'absent' : 'present'));
      }
      break;
    }
    lines.push(noted('WAIT', `${cluster.name} -`, `association: ${pending.size} of ${targets.length} not ${want} yet`));
    await clock.sleep(options.interval);
  }
  return lines;
}

/**
 * One step, `from` -> `to` (one phase either way), on every cluster of the wave. Prints each stage's
 * lines, each cluster's together in clusters.tsv order, as the stage ends; returns every line.
 */
export async function runApply(wave: Wave, from: MigrationPhase, to: MigrationPhase, reader: PreflightReader, options: ApplyOptions,
  context: ApplyContext): Promise<CheckLine[]> {
  const plan = options.plan ?? stepPlan(from, to);
  const all: CheckLine[] = [];
  const failed = () => all.filter((l) => l.status === 'FAIL').length;
  const print = (lines: CheckLine[]) => {
    for (const l of lines) {
      all.push(l);
      context.out(`${l.status} ${l.who} ${l.text}`);
    }
  };
  const targetsOf = (c: WaveCluster) => wave.targets.filter((t) => t.cluster === c.name);
  const changes = new Map<string, ClusterChanges>();
  const changesOf = (c: WaveCluster) => {
    let x = changes.get(c.name);
    if (x === undefined) {
      x = new ClusterChanges(c, context.kube(c), options, context.clock);
      changes.set(c.name, x);
    }
    return x;
  };
  /** A stage on every cluster with service accounts: `concurrency` clusters at a time, each cluster's lines together. */
  const stage = async (name: string, work: (c: WaveCluster, targets: readonly WaveTarget[]) => Promise<CheckLine[]>) => {
    const clusters = wave.clusters.filter((c) => targetsOf(c).length > 0);
    let finished = 0;
    const results = await mapLimit(clusters, options.concurrency, async (c) => {
      const started = context.clock.now();
      const lines = await work(c, targetsOf(c));
      finished++;
      context.progress(`${name} ${wave.name}: ${c.name} done (${finished}/${clusters.length}): ${lines.filter((l) => l.status === 'FAIL').length} failed, `
        + `${((context.clock.now() - started) / 1000).toFixed(1)} s`);
      return lines;
    });
    results.forEach(print);
  };

  try {
    print(await runPreflight(wave, from, to, reader, options, options.kubectlFound));
    if (failed() > 0) {
      context.out(`STOP: ${failed()} preflight checks failed; nothing was changed`);
      return all;
    }
    // the annotation comes back before anything else, so pods recreated from now on find it
    if (plan.annotateBeforeDeploy) {
      await stage('annotate', (c, targets) => mapLimit(targets, options.perCluster, (t) => changesOf(c).annotate(t, 'add')).then((x) => x.flat()));
    }
    if (options.skipDeploy) {
      print([noted('TODO', '- -', `deploy: skipped (--skip-deploy); make sure the pipeline deployed ${options.assembly} before going on`)]);
    } else {
      print([noted('DO', '- -', `deploy: ${options.cdk.join(' ')} deploy --app ${options.assembly} '${options.stacks}'`)]);
      const ok = await context.deploy(options.cdk, options.assembly, options.stacks);
      print([checkDeploy(options.stacks, ok)]);
    }
    if (failed() > 0) return all;
    if (plan.waitForAssociations !== undefined) {
      const want = plan.waitForAssociations === 'visible' ? 'present' : 'absent';
      await stage('associations', (c, targets) => waitAssociations(c, targets, want, reader, options, context.clock));
      if (failed() > 0) {
        context.out(`STOP: the associations are not as ${to} expects; no pod was restarted`);
        return all;
      }
    }
    if (plan.injectionProbe !== undefined) {
      // F9: associations are eventually consistent; prove the webhook injects before restarting anything
      const mode = plan.injectionProbe;
      await stage('probe', (c, targets) => mapLimit(targets, options.perCluster, (t) => changesOf(c).probe(t, mode)));
      if (failed() > 0) {
        context.out('STOP: new pods would not get the expected credentials; no pod was restarted');
        return all;
      }
    }
    if (plan.restart) {
      await stage('restart', async (c, targets) => {
        const x = changesOf(c);
        // each service account's workloads, each workload once (the first service account that runs it names it)
        const seen = new Set<string>();
        const work: { t: WaveTarget; w?: Workload; fail?: CheckLine }[] = [];
        for (const t of targets) {
          const pods = await x.pods(t, false);
          if (!pods.ok) {
            work.push({ t, fail: line('FAIL', whoOf(t), pods.error, 'its workloads restarted', pods.error) });
            continue;
          }
          for (const w of await x.workloads(t, pods.value, options.workloads)) {
            const key = `${t.namespace} ${w.kind} ${w.name}`;
            if (!seen.has(key)) {
              seen.add(key);
              work.push({ t, w });
            }
          }
        }
        // the cluster's restart budget: at most perCluster workloads restarting at once
        const done = await mapLimit(work, options.perCluster, async ({ t, w, fail }) => (fail ? [fail] : x.restart(t, w!)));
        return done.flat();
      });
    }
    if (plan.removeAnnotationAfter) {
      await stage('annotate', (c, targets) => mapLimit(targets, options.perCluster, (t) => changesOf(c).annotate(t, 'remove')).then((x) => x.flat()));
    }
    context.out(`INFO verifying ${wave.name} at ${plan.verify}`);
    const trust = sharedTrust(reader);
    await stage('verify', (c, targets) => verifyCluster(c, targets, plan.verify, reader,
      { sts: options.sts, cloudTrailMinutes: options.cloudTrailMinutes, now: new Date(context.clock.now()), perCluster: options.perCluster }, trust));
    return all;
  } finally {
    for (const x of changes.values()) x.api.close();
  }
}
