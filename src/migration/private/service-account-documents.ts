import { MigrationPhase } from '../../migration-phase';
import { hasIrsaAnnotation } from '../../private/phases';
import { IrsaServiceAccount } from '../inventory-types';
import { manifestsYaml, plainScalar } from './yaml';

export const ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';

/**
 * The ServiceAccount of `sa` at `phase`, as `ApiObject` props: the annotation the phase requires,
 * everything else the inventory recorded kept (labels, other annotations,
 * `automountServiceAccountToken` only when the account had it).
 */
export function serviceAccountProps(sa: IrsaServiceAccount, phase: MigrationPhase): { [key: string]: any } {
  const annotations: { [key: string]: string } = { ...(sa.annotations ?? {}) };
  if (hasIrsaAnnotation(phase)) {
    annotations[ROLE_ANNOTATION] = sa.roleArn;
  }
  const extra: { [key: string]: any } = {};
  if (sa.automountServiceAccountToken !== undefined) {
    extra.automountServiceAccountToken = sa.automountServiceAccountToken;
  }
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: sa.serviceAccount,
      namespace: sa.namespace,
      labels: Object.keys(sa.labels ?? {}).length > 0 ? { ...sa.labels } : undefined,
      annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
    },
    ...extra,
  };
}

/**
 * The document cdk8s writes for `serviceAccountProps(sa, phase)` in a chart of its own (what
 * `ServiceAccountChart.toJson()` gives, tested equal), without a cdk8s App: keys sorted (unless
 * CDK8S_DISABLE_SORT is set, as cdk8s does), empty values dropped, apiVersion, kind and metadata first.
 */
export function serviceAccountDocument(sa: IrsaServiceAccount, phase: MigrationPhase): { [key: string]: any } {
  const sort = !process.env.CDK8S_DISABLE_SORT;
  const clean = (value: any, dropEmpty: boolean): any => {
    if (value === null || value === undefined || typeof value !== 'object') {
      return value ?? undefined;
    }
    const out: { [key: string]: any } = {};
    for (const key of sort ? Object.keys(value).sort() : Object.keys(value)) {
      const v = clean(value[key], dropEmpty);
      if (v !== undefined && !(dropEmpty && typeof v === 'object' && Object.keys(v).length === 0)) {
        out[key] = v;
      }
    }
    return out;
  };
  const { metadata, ...rest } = serviceAccountProps(sa, phase);
  const body = clean({ ...rest, metadata: clean(metadata, true) }, false);
  const result: { [key: string]: any } = {};
  for (const key of ['apiVersion', 'kind', 'metadata', ...Object.keys(body)]) {
    if (key in body && !(key in result)) {
      result[key] = body[key];
    }
  }
  return result;
}

/**
 * `manifestsYaml([serviceAccountDocument(sa, phase)])`, the same bytes, written straight from the
 * service account when every name, label and annotation is a plain YAML scalar (the common case:
 * a fleet renders 10,000 of them on every synthesis); otherwise through the document.
 */
export function serviceAccountYaml(sa: IrsaServiceAccount, phase: MigrationPhase): string {
  return (process.env.CDK8S_DISABLE_SORT ? undefined : plainServiceAccountYaml(sa, phase)) ?? manifestsYaml([serviceAccountDocument(sa, phase)]);
}

/** The sorted document's YAML, or undefined when anything in it is not a plain string. */
function plainServiceAccountYaml(sa: IrsaServiceAccount, phase: MigrationPhase): string | undefined {
  const lines: string[] = ['apiVersion: v1\nkind: ServiceAccount\nmetadata:\n'];
  const map = (name: string, entries: { [key: string]: unknown } | undefined, role?: string): boolean => {
    const keys = Object.keys(entries ?? {});
    if (role !== undefined && !keys.includes(ROLE_ANNOTATION)) {
      keys.push(ROLE_ANNOTATION);
    }
    if (keys.length === 0) {
      return true;
    }
    lines.push(`  ${name}:\n`);
    for (const key of keys.sort()) {
      const value = key === ROLE_ANNOTATION && role !== undefined ? role : entries![key];
      const scalar = typeof value === 'string' ? plainScalar(value) : undefined;
      if (scalar === undefined || plainScalar(key) !== key) {
        return false;
      }
      lines.push(`    ${key}: ${scalar}\n`);
    }
    return true;
  };
  if (!map('annotations', sa.annotations, hasIrsaAnnotation(phase) ? sa.roleArn : undefined) || !map('labels', sa.labels)) {
    return undefined;
  }
  const name = plainScalar(sa.serviceAccount);
  const namespace = plainScalar(sa.namespace);
  if (name === undefined || namespace === undefined) {
    return undefined;
  }
  lines.push(`  name: ${name}\n  namespace: ${namespace}\n`);
  if (sa.automountServiceAccountToken !== undefined) {
    lines.push(`automountServiceAccountToken: ${sa.automountServiceAccountToken}\n`);
  }
  return lines.join('');
}
