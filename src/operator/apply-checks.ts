import { oneLine } from './preflight-checks';
import { CheckLine, compared, IRSA_VARIABLES, POD_IDENTITY_VARIABLES, Target, whoOf } from './verify-checks';

/**
 * F9: what the webhook gives a new pod of the service account, proven by a server-side dry run
 * before any restart (`kubectl run --dry-run=server -o json`, or the error text when it was refused):
 * the variables of the credentials the step gives, and none of the others.
 */
export function checkInjection(t: Target, mode: 'pod-identity' | 'irsa', dryRun: any | { error: string }): CheckLine {
  const kind = mode === 'pod-identity' ? 'Pod Identity' : 'IRSA';
  if (dryRun !== undefined && 'error' in dryRun) {
    let why = oneLine(dryRun.error);
    if (why.includes('exceeded quota')) {
      // quota admission counts a server-side dry run as a pod (seen on a real API server)
      why += '. The namespace\'s ResourceQuota has no room for the probe pod: give it room for one more pod during the step '
        + '(a rolling restart with maxSurge needs it too), then run this script again';
    }
    return compared('FAIL', whoOf(t), `injection: the dry-run pod was refused: ${why}`, `a new pod gets the ${kind} variables only`, `refused: ${why}`);
  }
  const names: string[] = (dryRun?.spec?.containers?.[0]?.env ?? []).map((e: any) => e.name);
  const [want, not] = mode === 'pod-identity' ? [POD_IDENTITY_VARIABLES, IRSA_VARIABLES] : [IRSA_VARIABLES, POD_IDENTITY_VARIABLES];
  const problems = [...want.filter((v) => !names.includes(v)).map((v) => `no ${v}`), ...not.filter((v) => names.includes(v)).map((v) => `has ${v}`)];
  return problems.length === 0
    ? compared('PASS', whoOf(t), `injection: a new pod gets the ${kind} variables (server-side dry run)`, `a new pod gets the ${kind} variables only`,
      `a new pod gets ${want.join(',')}`)
    : compared('FAIL', whoOf(t), `injection: expected a new pod to get the ${kind} variables only; saw ${problems.join(',')} (server-side dry run)`,
      `a new pod gets the ${kind} variables only`, problems.join(','));
}

/** A workload to restart: its kind in lower case, as kubectl names it, and its name. */
export interface Workload {
  readonly kind: string;
  readonly name: string;
}

/**
 * The workloads to restart for a service account: the controller of each current pod, followed up
 * from a ReplicaSet or Job to its own controller (a Deployment, a CronJob) when it has one; a pod
 * without a controller as itself; and the inventory's CronJobs of the service account (between
 * runs they have no pod). Each once, sorted (as `sort -u` in the C locale).
 *
 * @param pods the service account's current pods
 * @param owners `<kind> <name>` of a ReplicaSet or Job -> its controller's `<kind> <name>` (lower-case kind), when it has one
 * @param cronJobs the inventory's CronJobs of the service account
 */
export function workloadsToRestart(pods: any[], owners: { [object: string]: string | undefined }, cronJobs: string[]): Workload[] {
  const lines = new Set<string>();
  for (const p of pods) {
    const o = (p.metadata?.ownerReferences ?? []).find((r: any) => r.controller);
    if (o === undefined) {
      lines.add(`pod ${p.metadata.name}`);
      continue;
    }
    const own = `${String(o.kind).toLowerCase()} ${o.name}`;
    lines.add((own.startsWith('replicaset ') || own.startsWith('job ')) && owners[own] ? owners[own]! : own);
  }
  cronJobs.forEach((c) => lines.add(`cronjob ${c}`));
  return [...lines].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b)))).map((l) => {
    const space = l.indexOf(' ');
    return { kind: l.slice(0, space), name: l.slice(space + 1) };
  });
}

/**
 * How a workload is restarted onto new credentials:
 * - `rollout`: `kubectl rollout restart`, then `rollout status` (Deployments; StatefulSets and DaemonSets that roll);
 * - `on-delete`: an `OnDelete` StatefulSet or DaemonSet: the template is restarted, its pods deleted one at a time;
 * - `replace-pods`: a ReplicaSet without a Deployment: its pods deleted, then waited for;
 * - `trigger`: a CronJob run now (`kubectl create job --from`), with `--trigger-cronjobs`;
 * - `next-run`, `job`, `bare-pod`: nothing to do now; a TODO line says what;
 * - `other`: a controller the step does not know (an Argo Rollout, a custom resource): a TODO line
 *   names it (lib.sh skipped these without a word).
 */
export function restartMethod(w: Workload, object: any, triggerCronJobs: boolean):
'rollout' | 'on-delete' | 'replace-pods' | 'trigger' | 'next-run' | 'job' | 'bare-pod' | 'other' {
  switch (w.kind) {
    case 'deployment': return 'rollout';
    case 'statefulset':
    case 'daemonset': return (object?.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'OnDelete' ? 'on-delete' : 'rollout';
    case 'replicaset': return 'replace-pods';
    case 'cronjob': return triggerCronJobs ? 'trigger' : 'next-run';
    case 'job': return 'job';
    case 'pod': return 'bare-pod';
    default: return 'other';
  }
}

/**
 * Where a rollout stands, as `kubectl rollout status` decides it (its status viewers for
 * Deployments, DaemonSets and StatefulSets): `done`, with the message kubectl prints while waiting,
 * or `error` when it never will (a Deployment past its progress deadline).
 */
export function rolloutStatus(kind: string, o: any): { done: boolean; message: string; error?: boolean } {
  const name = o?.metadata?.name;
  const generation = o?.metadata?.generation ?? 0;
  const s = o?.status ?? {};
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  if (kind === 'deployment') {
    if (generation > n(s.observedGeneration)) {
      return { done: false, message: 'Waiting for deployment spec update to be observed...' };
    }
    const progressing = (s.conditions ?? []).find((c: any) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      return { done: false, error: true, message: `error: deployment "${name}" exceeded its progress deadline` };
    }
    const replicas = o?.spec?.replicas ?? 1;
    if (n(s.updatedReplicas) < replicas) {
      return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${n(s.updatedReplicas)} out of ${replicas} new replicas have been updated...` };
    }
    if (n(s.replicas) > n(s.updatedReplicas)) {
      return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${n(s.replicas) - n(s.updatedReplicas)} old replicas are pending termination...` };
    }
    if (n(s.availableReplicas) < n(s.updatedReplicas)) {
      return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${n(s.availableReplicas)} of ${n(s.updatedReplicas)} updated replicas are available...` };
    }
    return { done: true, message: `deployment "${name}" successfully rolled out` };
  }
  if (kind === 'daemonset') {
    if (generation > n(s.observedGeneration)) {
      return { done: false, message: 'Waiting for daemon set spec update to be observed...' };
    }
    if (n(s.updatedNumberScheduled) < n(s.desiredNumberScheduled)) {
      return { done: false, message: `Waiting for daemon set "${name}" rollout to finish: ${n(s.updatedNumberScheduled)} out of ${n(s.desiredNumberScheduled)} new pods have been updated...` };
    }
    if (n(s.numberAvailable) < n(s.desiredNumberScheduled)) {
      return { done: false, message: `Waiting for daemon set "${name}" rollout to finish: ${n(s.numberAvailable)} of ${n(s.desiredNumberScheduled)} updated pods are available...` };
    }
    return { done: true, message: `daemon set "${name}" successfully rolled out` };
  }
  if (kind === 'statefulset') {
    if (n(s.observedGeneration) === 0 || generation > n(s.observedGeneration)) {
      return { done: false, message: 'Waiting for statefulset spec update to be observed...' };
    }
    const replicas = o?.spec?.replicas ?? 1;
    if (n(s.readyReplicas) < replicas) {
      return { done: false, message: `Waiting for ${replicas - n(s.readyReplicas)} pods to be ready...` };
    }
    const partition = o?.spec?.updateStrategy?.rollingUpdate?.partition;
    if (typeof partition === 'number') {
      if (n(s.updatedReplicas) < replicas - partition) {
        return { done: false, message: `Waiting for partitioned roll out to finish: ${n(s.updatedReplicas)} out of ${replicas - partition} new pods have been updated...` };
      }
      return { done: true, message: `partitioned roll out complete: ${n(s.updatedReplicas)} new pods have been updated...` };
    }
    if (s.updateRevision !== s.currentRevision) {
      return { done: false, message: `waiting for statefulset rolling update to complete ${n(s.updatedReplicas)} pods at revision ${s.updateRevision}...` };
    }
    return { done: true, message: `statefulset rolling update complete ${n(s.currentReplicas)} pods at revision ${s.currentRevision}...` };
  }
  return { done: false, error: true, message: `error: no rollout status for kind ${kind}` };
}

/**
 * A StatefulSet's, DaemonSet's or ReplicaSet's pods: how many are wanted, ready and updated (the
 * counts lib.sh's pi_wait_ready compared). `kind` as kubectl names it: the items of a list carry no kind.
 */
export function readyCounts(kind: string, o: any): { want: number; ready: number; updated: number } {
  const s = o?.status ?? {};
  return kind === 'daemonset'
    ? { want: s.desiredNumberScheduled ?? 0, ready: s.numberReady ?? 0, updated: s.updatedNumberScheduled ?? 0 }
    : { want: o?.spec?.replicas ?? 1, ready: s.readyReplicas ?? 0, updated: s.updatedReplicas ?? 0 };
}

/**
 * The Job `kubectl create job <name> --from=cronjob/<cronjob>` creates: the CronJob's job template,
 * annotated as instantiated by hand, owned by the CronJob.
 */
export function jobFromCronJob(cronJob: any, name: string): any {
  const template = cronJob?.spec?.jobTemplate ?? {};
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cronJob?.metadata?.namespace,
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual', ...(template.metadata?.annotations ?? {}) },
      ...(template.metadata?.labels ? { labels: template.metadata.labels } : {}),
      ownerReferences: [{
        apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob?.metadata?.name, uid: cronJob?.metadata?.uid, controller: true, blockOwnerDeletion: true,
      }],
    },
    spec: template.spec ?? {},
  };
}

/** A Job's end, from its conditions: `complete`, `failed` (with the condition's reason and message), or still `running`. */
export function jobState(job: any): { state: 'complete' | 'failed' | 'running'; why?: string } {
  const conditions: any[] = job?.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) {
    return { state: 'complete' };
  }
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  return failed ? { state: 'failed', why: [failed.reason, failed.message].filter((x) => x).join(': ') } : { state: 'running' };
}

/** The pod the injection probe creates on a server-side dry run: what `kubectl run pod-identity-dry-run --restart=Never` makes, under the service account. */
export function probePod(namespace: string, serviceAccount: string, image: string): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pod-identity-dry-run', namespace, labels: { run: 'pod-identity-dry-run' } },
    spec: {
      serviceAccountName: serviceAccount,
      restartPolicy: 'Never',
      containers: [{ name: 'pod-identity-dry-run', image, resources: {} }],
    },
  };
}

/** The deploy of a step's stacks (`cdk deploy`): deployed, or failed and rolled back by CloudFormation. */
export function checkDeploy(stacks: string, ok: boolean): CheckLine {
  return ok ? compared('PASS', '- -', `deploy: ${stacks}`, `${stacks} deployed`, 'deployed')
    : compared('FAIL', '- -', `deploy: cdk deploy of ${stacks} failed; CloudFormation rolled the stacks back. Nothing else was changed`,
      `${stacks} deployed`, 'cdk deploy failed; CloudFormation rolled the stacks back');
}
