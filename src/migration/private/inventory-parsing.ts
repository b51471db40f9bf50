import { AGENT_ADDRESSES, CLIENT_WRITTEN_METADATA } from '../../private/constants';
import { fileError } from '../../private/errors';
import { InventoryWorkload } from '../inventory-types';

/*
 * Reading kubectl and aws output into the inventory: JSON and List parsing with errors that name
 * the file, the pod spec of each kind of workload, the metadata an entry does not keep.
 */

/** The annotation that binds an IRSA role to a ServiceAccount. */
export const IRSA_ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';

/** A ServiceAccount without the role annotation, as read. */
export interface Unannotated {
  readonly cluster: string;
  /** The ServiceAccount object (kubectl output). */
  readonly item: any;
  readonly where: string;
  readonly source: string;
  readonly workloads: InventoryWorkload[];
}

export function key(cluster: string, namespace: string, serviceAccount: string): string {
  return `${cluster}|${namespace}|${serviceAccount}`;
}

export function parseJson(json: string, source: string, command: string): any {
  try {
    return JSON.parse(json);
  } catch (e) {
    throw fileError('IrsaInventory', source, `not JSON (${(e as Error).message}); pass the output of ${command}.`);
  }
}

export function parseList(json: string, source: string, kinds: string[]): any[] {
  const doc = parseJson(json, source, 'kubectl ... -o json');
  if (doc && doc.kind === 'List' && Array.isArray(doc.items)) {
    doc.items.forEach((item: any, index: number) => {
      if (!item || !kinds.includes(item.kind)) {
        throw fileError('IrsaInventory', `${source} item ${index + 1}`, `expected ${kinds.join(', ')}; got kind ${JSON.stringify(item?.kind)}.`);
      }
    });
    return doc.items;
  }
  if (doc && kinds.includes(doc.kind)) {
    return [doc];
  }
  throw fileError('IrsaInventory', source, `expected a List of ${kinds.join(', ')} or a single one (kubectl ... -o json); got ${doc && typeof doc === 'object' ? `kind ${JSON.stringify(doc.kind)}` : JSON.stringify(doc)}.`);
}

export function podSpecOf(item: any): any {
  switch (item.kind) {
    case 'Pod': return item.spec;
    case 'CronJob': return item.spec?.jobTemplate?.spec?.template?.spec;
    default: return item.spec?.template?.spec;
  }
}

/** Annotations an entry never keeps as its other annotations. */
export const NOT_KEPT_ANNOTATIONS = [...CLIENT_WRITTEN_METADATA.annotations, IRSA_ROLE_ANNOTATION];

/** `map` without the keys `drop` (itself when it holds none of them and may be kept). */
export function withoutClientWritten(map: { [key: string]: string }, drop: readonly string[], owned: boolean): { [key: string]: string } {
  if (!drop.some((k) => k in map)) {
    return owned ? map : { ...map };
  }
  const kept: { [key: string]: string } = {};
  for (const k of Object.keys(map)) {
    if (!drop.includes(k)) {
      kept[k] = map[k];
    }
  }
  return kept;
}

/**
 * A workload as the inventory keeps it: its kind and name, whether its containers go through a
 * proxy, and whether that proxy's NO_PROXY leaves out the agent's addresses (F12); settings read
 * from references, which only the live check can see, are listed.
 */
export function workloadOf(item: any, podSpec: any): InventoryWorkload {
  const containers: any[] = [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
  const entryOf = (c: any, name: string) => (c.env ?? []).find((e: any) => String(e.name).toUpperCase() === name);
  const env = (c: any, name: string) => entryOf(c, name)?.value as string | undefined;
  const setsProxy = (c: any) => ['HTTP_PROXY', 'HTTPS_PROXY'].some((n) => entryOf(c, n) !== undefined);
  const proxied = containers.find(setsProxy);
  const noProxy = proxied ? env(proxied, 'NO_PROXY') : undefined;
  const listed = (noProxy ?? '').split(',').map((s) => s.trim());
  const unresolved: string[] = [];
  for (const c of containers) {
    for (const n of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) {
      if (entryOf(c, n)?.valueFrom !== undefined) {
        unresolved.push(`${n} (valueFrom)`);
      }
    }
    for (const from of c.envFrom ?? []) {
      unresolved.push(from.configMapRef ? `envFrom configMap ${from.configMapRef.name}` : `envFrom secret ${from.secretRef?.name}`);
    }
  }
  // a NO_PROXY from a reference may hold the agent: only the live check can tell
  const noProxyKnown = !proxied || entryOf(proxied, 'NO_PROXY')?.valueFrom === undefined;
  return {
    kind: item.kind,
    name: item.metadata.name,
    usesProxy: proxied !== undefined,
    noProxy,
    noProxyMissing: proxied && noProxyKnown ? AGENT_ADDRESSES.filter((a) => !listed.includes(a)) : [],
    unresolvedProxySettings: unresolved.length > 0 ? [...new Set(unresolved)] : undefined,
  };
}
