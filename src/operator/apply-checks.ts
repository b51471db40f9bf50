import { oneLine } from './preflight-checks';
import { CheckLine, IRSA_VARIABLES, POD_IDENTITY_VARIABLES, Target, whoOf } from './verify-checks';

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
    return { status: 'FAIL', who: whoOf(t), text: `injection: the dry-run pod was refused: ${why}` };
  }
  const names: string[] = (dryRun?.spec?.containers?.[0]?.env ?? []).map((e: any) => e.name);
  const [want, not] = mode === 'pod-identity' ? [POD_IDENTITY_VARIABLES, IRSA_VARIABLES] : [IRSA_VARIABLES, POD_IDENTITY_VARIABLES];
  const problems = [...want.filter((v) => !names.includes(v)).map((v) => `no ${v}`), ...not.filter((v) => names.includes(v)).map((v) => `has ${v}`)];
  return problems.length === 0
    ? { status: 'PASS', who: whoOf(t), text: `injection: a new pod gets the ${kind} variables (server-side dry run)` }
    : { status: 'FAIL', who: whoOf(t), text: `injection: expected a new pod to get the ${kind} variables only; saw ${problems.join(',')} (server-side dry run)` };
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
