import { IConstruct } from 'constructs';
import { constructError, show } from './errors';
import { namespaceProblem, serviceAccountProblem } from './k8s-names';
import { isConcrete } from './names';
import { ServiceAccountRef } from '../service-account-ref';
import { irsaSubject as tokenSubject } from './trust-statements';

/** Throws a construct error when the namespace or service account name is invalid. */
export function checkServiceAccountRef(scope: IConstruct, kind: string, ref: ServiceAccountRef): void {
  if (isConcrete(ref.namespace)) {
    const problem = namespaceProblem(ref.namespace);
    if (problem) {
      throw constructError(scope, kind, `invalid namespace ${show(ref.namespace)}: ${problem}.`);
    }
  }
  if (isConcrete(ref.serviceAccount)) {
    const problem = serviceAccountProblem(ref.serviceAccount);
    if (problem) {
      throw constructError(scope, kind, `invalid serviceAccount ${show(ref.serviceAccount)}: ${problem}.`);
    }
  }
}

/** `system:serviceaccount:<namespace>:<serviceAccount>`, the `sub` of the projected token. */
export function irsaSubject(ref: ServiceAccountRef): string {
  return tokenSubject(ref.namespace, ref.serviceAccount);
}

/** `namespace/serviceAccount` on `cluster`, for messages. */
export function describeServiceAccount(ref: ServiceAccountRef): string {
  return `${ref.namespace}/${ref.serviceAccount} on cluster ${show(ref.cluster.clusterName)}`;
}
