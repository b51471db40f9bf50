/**
 * The verify step: the whole state of a phase, cluster by cluster. Each cluster's reads are made once
 * (its pods and ServiceAccounts, its associations, its add-ons), the roles once per fleet, and the
 * checks are the pure functions the library holds (cdk-eks-pod-identity/lib/operator/verify-checks),
 * so each line says exactly what the scripts said.
 */
import { MigrationPhase } from 'cdk-eks-pod-identity/lib/migration-phase';
import { isoSeconds } from 'cdk-eks-pod-identity/lib/operator/preflight-checks';
import {
  checkAddon, checkAnnotation, checkAssociation, CheckLine, checkPods, checkTrust, compared,
  expectedAnnotation, expectedAssociation, expectedPods, podsOf, whoOf,
} from 'cdk-eks-pod-identity/lib/operator/verify-checks';
import { PHASES } from 'cdk-eks-pod-identity/lib/private/phases';
import { mapLimit, Once } from './pool';
import { AssociationSummary, FleetReader, Outcome } from './reader';
import { WaveCluster, WaveTarget } from './wave';

/** What verify does beyond the API reads. */
export interface VerifyOptions {
  /** --sts: a throwaway aws-cli pod per service account. */
  readonly sts: boolean;
  /** --cloudtrail MINUTES: the cluster's AssumeRoleForPodIdentity events (0: not looked up). */
  readonly cloudTrailMinutes: number;
  /** The time verify runs at (the CloudTrail window ends there). */
  readonly now: Date;
  /** How many requests or pods of one cluster run at once. */
  readonly perCluster: number;
}

/** A FAIL line of a service account: `seen` is what was seen, or the error that kept the check from seeing it. */
const fail = (t: WaveTarget, text: string, expected: string, seen: string): CheckLine => compared('FAIL', whoOf(t), text, expected, seen);

/** The --sts line: the identity the pod's `sts get-caller-identity` printed, against the one the phase gives. */
export function checkSts(t: WaveTarget, mode: 'pod-identity' | 'irsa', seen: Outcome<string>): CheckLine {
  const expected = mode === 'pod-identity' ? t.podIdentityIdentity : t.irsaIdentity;
  if (!seen.ok) {
    return fail(t, `sts: expected ${expected}<session>; the pod failed: ${seen.error}`, `${expected}<session>`, seen.error);
  }
  return seen.value.startsWith(expected)
    ? compared('PASS', whoOf(t), `sts: ${seen.value}`, `${expected}<session>`, seen.value)
    : fail(t, `sts: expected ${expected}<session>; saw ${seen.value}`, `${expected}<session>`, seen.value);
}

/** The --cloudtrail line of a cluster: its AssumeRoleForPodIdentity events in the window. */
export function checkCloudTrail(cluster: WaveCluster, since: Date, events: Outcome<any[]>): CheckLine {
  const who = `${cluster.name} -`;
  const from = isoSeconds(since.getTime() / 1000);
  const expected = `at least 1 AssumeRoleForPodIdentity event of this cluster since ${from} in ${cluster.region}`;
  if (!events.ok) {
    return compared('FAIL', who, `cloudtrail: cannot look up events in ${cluster.region}: ${events.error}`, expected, events.error);
  }
  const n = events.value.filter((e) => {
    try {
      return JSON.parse(e.CloudTrailEvent ?? 'null')?.requestParameters?.clusterName === cluster.name;
    } catch {
      return false;
    }
  }).length;
  return n > 0
    ? compared('PASS', who, `cloudtrail: ${n} AssumeRoleForPodIdentity events since ${from}`, expected, `${n} events`)
    : compared('FAIL', who, `cloudtrail: expected AssumeRoleForPodIdentity events of this cluster since ${from} in ${cluster.region}; `
      + 'saw none (CloudTrail can lag by 15 minutes)', expected, '0 events');
}

/** Each role's trust read once for a whole wave (a role may serve many clusters; IAM is global), in the region of the first cluster that asks. */
export function sharedTrust(reader: FleetReader): (roleArn: string, region: string) => Promise<Outcome<any>> {
  const regionOf = new Map<string, string>();
  const trusts = new Once<Outcome<any>>((roleArn) => reader.trust(roleArn, regionOf.get(roleArn)!));
  return (roleArn, region) => {
    if (!regionOf.has(roleArn)) {
      regionOf.set(roleArn, region);
    }
    return trusts.get(roleArn);
  };
}

/**
 * A service account's association, described: the one listed for it. Associations are eventually
 * consistent: one listed may be gone by the time it is described (an add-on's update replaces its
 * associations; the list shows the old one for a while). Then the cluster's associations are
 * listed again, up to twice, before the service account is taken to have none.
 */
export async function associationOfTarget(reader: FleetReader, cluster: WaveCluster, listed: Outcome<AssociationSummary[]>, t: WaveTarget):
Promise<Outcome<any | undefined>> {
  let list = listed;
  for (let read = 0; read < 3; read++) {
    if (!list.ok) {
      return list;
    }
    const ids = list.value.filter((a) => a.namespace === t.namespace && a.serviceAccount === t.serviceAccount).map((a) => a.associationId);
    if (ids.length === 0) {
      return { ok: true, value: undefined };
    }
    for (const id of ids) {
      const d = await reader.describeAssociation(cluster, id);
      if (d.ok) {
        return d;
      }
      if (!d.error.includes('(ResourceNotFoundException)')) {
        return { ok: false, error: `cannot describe association ${id}` };
      }
    }
    list = await reader.associations(cluster);
  }
  return { ok: true, value: undefined };
}

/** The verify lines of one cluster's service accounts at `phase`, in the scripts' order: add-ons, associations, annotations, trust, pods, sts, CloudTrail. */
export async function verifyCluster(cluster: WaveCluster, targets: readonly WaveTarget[], phase: MigrationPhase, reader: FleetReader,
  options: VerifyOptions, trust: (roleArn: string, region: string) => Promise<Outcome<any>> = (a, r) => reader.trust(a, r)): Promise<CheckLine[]> {
  const mode = PHASES[phase].association ? 'pod-identity' : 'irsa';
  const addonNames = [...new Set(targets.flatMap((t) => (t.addon ? [t.addon.name] : [])))];
  const [objects, listed, addons] = await Promise.all([
    reader.kubeObjects(cluster),
    reader.associations(cluster),
    mapLimit(addonNames, options.perCluster, async (name) => [name, await reader.addon(cluster, name)] as const),
  ]);
  const addonOf = new Map(addons);

  // the association of each service account: the first listed for it, described
  const associationOf = await mapLimit(targets, options.perCluster, (t) => associationOfTarget(reader, cluster, listed, t));
  const trusts = await mapLimit(targets, options.perCluster, (t) =>
    Promise.all([trust(t.irsaRoleArn, cluster.region), trust(t.associationRoleArn, cluster.region)]));

  const lines: CheckLine[] = [];
  for (const t of targets) {
    if (t.addon) {
      const a = addonOf.get(t.addon.name)!;
      lines.push(...(a.ok ? checkAddon(t, phase, a.value)
        : [fail(t, `add-on ${t.addon.name}: cannot call eks describe-addon: ${a.error}`, `add-on ${t.addon.name} as ${phase} expects`, a.error)]));
    }
  }
  targets.forEach((t, i) => {
    const a = associationOf[i];
    if (!a.ok) {
      lines.push(fail(t, listed.ok ? `association: ${a.error}` : `association: cannot list the associations: ${a.error}`, expectedAssociation(t, phase), a.error));
    } else {
      lines.push(checkAssociation(t, phase, a.value));
    }
  });
  for (const t of targets) {
    if (!objects.ok) {
      lines.push(fail(t, `annotation: cannot read the ServiceAccount: ${objects.error}`, expectedAnnotation(t, phase), objects.error));
      continue;
    }
    const sa = objects.value.find((o) => o.kind === 'ServiceAccount' && o.metadata?.namespace === t.namespace && o.metadata?.name === t.serviceAccount);
    lines.push(sa === undefined
      ? fail(t, `annotation: cannot read the ServiceAccount: Error from server (NotFound): serviceaccounts "${t.serviceAccount}" not found`,
        expectedAnnotation(t, phase), `Error from server (NotFound): serviceaccounts "${t.serviceAccount}" not found`)
      : checkAnnotation(t, phase, sa));
  }
  targets.forEach((t, i) => {
    const [irsa, assoc] = trusts[i];
    const [oidcLine, podsLine] = checkTrust(t, phase, irsa.ok ? irsa.value : {}, assoc.ok ? assoc.value : {});
    lines.push(irsa.ok ? oidcLine : fail(t, `trust: cannot read the trust of ${t.irsaRoleArn}: ${irsa.error}`, oidcLine.expected!, irsa.error));
    lines.push(assoc.ok ? podsLine : fail(t, `trust: cannot read the trust of ${t.associationRoleArn}: ${assoc.error}`, podsLine.expected!, assoc.error));
  });
  for (const t of targets) {
    if (!objects.ok) {
      lines.push(fail(t, `pods: cannot list the pods of namespace ${t.namespace}: ${objects.error}`, expectedPods(t, mode), objects.error));
      continue;
    }
    const inNamespace = objects.value.filter((o) => o.kind === 'Pod' && o.metadata?.namespace === t.namespace);
    lines.push(checkPods(t, mode, podsOf(t, { items: inNamespace })));
  }
  if (options.sts) {
    const seen = await mapLimit(targets, options.perCluster, (t) => reader.callerIdentity(cluster, t.namespace, t.serviceAccount));
    targets.forEach((t, i) => lines.push(checkSts(t, mode, seen[i])));
  }
  if (options.cloudTrailMinutes > 0 && mode === 'pod-identity') {
    const since = new Date(Math.floor(options.now.getTime() / 1000) * 1000 - options.cloudTrailMinutes * 60_000);
    lines.push(checkCloudTrail(cluster, since, await reader.podIdentityEvents(cluster, since)));
  }
  return lines;
}
