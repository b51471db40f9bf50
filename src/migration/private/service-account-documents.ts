import { MigrationPhase } from '../../migration-phase';
import { hasIrsaAnnotation } from '../../private/phases';
import { IrsaServiceAccount } from '../irsa-inventory';

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
