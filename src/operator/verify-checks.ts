import { MigrationPhase } from '../migration-phase';
import { POD_IDENTITY_PRINCIPAL } from '../private/constants';
import { PHASES } from '../private/phases';

/** The annotation that binds an IRSA role to a ServiceAccount. */
export const ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** The variables the webhook gives a container for Pod Identity. */
export const POD_IDENTITY_VARIABLES = ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'];
/** The variables the webhook gives a container for IRSA. */
export const IRSA_VARIABLES = ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];

/** One service account of a wave, with what its checks expect (a line of the wave's targets.tsv). */
export interface Target {
  readonly cluster: string;
  /** The cluster's ARN (the trust's `eks-cluster-arn` pin). */
  readonly clusterArn: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly irsaRoleArn: string;
  readonly associationRoleArn: string;
  /** The target role of a cross-account chain. */
  readonly targetRoleArn?: string;
  /** `kept`: the IRSA role keeps its OIDC statement (consolidation, chains). */
  readonly irsaTrust: 'ends' | 'kept';
  readonly oidcProviderArn: string;
  readonly issuer: string;
  /** `always`: a new role, trusted by pods.eks from the start. */
  readonly podTrust: 'phased' | 'always';
  /** The managed add-on that owns the service account, and its version. */
  readonly addon?: { readonly name: string; readonly version: string };
}

/** A check's result: one line of output. */
export interface CheckLine {
  readonly status: 'PASS' | 'FAIL' | 'INFO' | 'CANNOT-CHECK' | 'TODO' | 'DO' | 'WAIT';
  /** `<cluster> <namespace>/<serviceAccount>` (or `<cluster> -`). */
  readonly who: string;
  /** What was checked (`association`, `trust`, ...) and what was seen. */
  readonly text: string;
}

/** The line as the scripts print it. */
export function renderLine(line: CheckLine): string {
  return `${line.status} ${line.who} ${line.text}`;
}

/** `<cluster> <namespace>/<serviceAccount>`: whom a service account's line is about. */
export const whoOf = (t: Target): string => `${t.cluster} ${t.namespace}/${t.serviceAccount}`;
const roleName = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
const pass = (t: Target, text: string): CheckLine => ({ status: 'PASS', who: whoOf(t), text });
const fail = (t: Target, text: string): CheckLine => ({ status: 'FAIL', who: whoOf(t), text });

/**
 * The service account's association (`describe-pod-identity-association` output's `association`, or
 * none): present with the expected role and target role where the phase has one, absent elsewhere.
 */
export function checkAssociation(t: Target, phase: MigrationPhase, association: any | undefined): CheckLine {
  if (PHASES[phase].association) {
    if (association === undefined) {
      return fail(t, `association: expected one naming ${roleName(t.associationRoleArn)}; saw none`);
    }
    const role = association.roleArn;
    const target = association.targetRoleArn ?? '-';
    const wanted = t.targetRoleArn ?? '-';
    return role === t.associationRoleArn && target === wanted
      ? pass(t, `association: role ${role}, target role ${target}`)
      : fail(t, `association: expected role ${t.associationRoleArn}, target role ${wanted}; saw role ${role}, target role ${target}`);
  }
  return association === undefined
    ? pass(t, `association: none, as ${phase} expects`)
    : fail(t, `association: expected none in ${phase}; saw ${association.associationId} naming ${association.roleArn}`);
}

/** The ServiceAccount's IRSA annotation: the IRSA role where the phase keeps it, absent elsewhere. */
export function checkAnnotation(t: Target, phase: MigrationPhase, serviceAccount: any): CheckLine {
  const value: string = serviceAccount?.metadata?.annotations?.[ROLE_ANNOTATION] ?? '-';
  if (PHASES[phase].irsaAnnotation) {
    return value === t.irsaRoleArn
      ? pass(t, `annotation: ${ROLE_ANNOTATION}=${value}`)
      : fail(t, `annotation: expected ${ROLE_ANNOTATION}=${t.irsaRoleArn}; saw ${value}`);
  }
  return value === '-' ? pass(t, `annotation: ${ROLE_ANNOTATION} absent`) : fail(t, `annotation: expected ${ROLE_ANNOTATION} absent; saw ${value}`);
}

const statementsOf = (doc: any): any[] => (Array.isArray(doc?.Statement) ? doc.Statement : doc?.Statement ? [doc.Statement] : []);
const listed = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** How many Allow statements of a trust let the cluster's OIDC provider in for this service account. */
export function oidcStatements(t: Target, trust: any): number {
  const key = `${t.issuer}:sub`;
  const subject = `system:serviceaccount:${t.namespace}:${t.serviceAccount}`;
  return statementsOf(trust).filter((s) => s.Effect === 'Allow' && listed(s.Principal?.Federated).includes(t.oidcProviderArn)
    && [...listed(s.Condition?.StringEquals?.[key]), ...listed(s.Condition?.StringLike?.[key])].includes(subject)).length;
}

/** How many Allow statements of a trust let pods.eks in for this service account (on this cluster, when pinned). */
export function podIdentityStatements(t: Target, trust: any): number {
  return statementsOf(trust).filter((s) => {
    if (s.Effect !== 'Allow' || !listed(s.Principal?.Service).includes(POD_IDENTITY_PRINCIPAL)) {
      return false;
    }
    const eq = s.Condition?.StringEquals ?? {};
    return listed(eq['aws:RequestTag/kubernetes-namespace']).includes(t.namespace)
      && listed(eq['aws:RequestTag/kubernetes-service-account']).includes(t.serviceAccount)
      && (!('aws:RequestTag/eks-cluster-arn' in eq) || listed(eq['aws:RequestTag/eks-cluster-arn']).includes(t.clusterArn));
  }).length;
}

/**
 * The two trust lines: the IRSA role's OIDC statement for this service account, and the
 * association role's pods.eks statement pinned to it, each present or absent as the phase says.
 */
export function checkTrust(t: Target, phase: MigrationPhase, irsaRoleTrust: any, associationRoleTrust: any): CheckLine[] {
  const line = (want: boolean, n: number, present: string, missing: string, unwanted: string, absent: string) =>
    (want ? (n > 0 ? pass(t, `trust: ${present}`) : fail(t, `trust: ${missing}`)) : (n > 0 ? fail(t, `trust: ${unwanted}`) : pass(t, `trust: ${absent}`)));
  const irsaRole = roleName(t.irsaRoleArn);
  const assocRole = roleName(t.associationRoleArn);
  const oidc = oidcStatements(t, irsaRoleTrust);
  const pods = podIdentityStatements(t, associationRoleTrust);
  return [
    line(PHASES[phase].irsaTrust || t.irsaTrust === 'kept', oidc,
      `${irsaRole} trusts the cluster's OIDC provider for this service account`,
      `expected ${irsaRole} to trust ${t.oidcProviderArn} for system:serviceaccount:${t.namespace}:${t.serviceAccount}; saw no such statement`,
      `expected no OIDC statement for this service account in ${phase}; saw ${oidc} in ${irsaRole}`,
      `no OIDC statement for this service account in ${irsaRole}`),
    line(PHASES[phase].podIdentityTrust || t.podTrust === 'always', pods,
      `${assocRole} trusts pods.eks.amazonaws.com for this service account`,
      `expected ${assocRole} to trust pods.eks.amazonaws.com for ${t.namespace}/${t.serviceAccount} on ${t.clusterArn}; saw no such statement`,
      `expected no pods.eks.amazonaws.com statement for this service account in ${phase}; saw ${pods}`,
      `no pods.eks.amazonaws.com statement for this service account, as ${phase} expects`),
  ];
}

/** The pods of the service account that hold credentials (not Succeeded or Failed), from a namespace's pod list. */
export function podsOf(t: Target, list: any): any[] {
  return (list?.items ?? []).filter((p: any) => (p.spec?.serviceAccountName ?? 'default') === t.serviceAccount
    && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
}

/**
 * Every container and init container of every current pod: the Pod Identity variables and no IRSA
 * ones (`pod-identity`), or the IRSA variables naming the IRSA role and no Pod Identity ones (`irsa`).
 */
export function checkPods(t: Target, mode: 'pod-identity' | 'irsa', pods: any[]): CheckLine {
  if (pods.length === 0) {
    return { status: 'INFO', who: whoOf(t), text: 'pods: none running (a CronJob between runs, or scaled to zero): nothing to check' };
  }
  const [wanted, unwanted] = mode === 'pod-identity' ? [POD_IDENTITY_VARIABLES, IRSA_VARIABLES] : [IRSA_VARIABLES, POD_IDENTITY_VARIABLES];
  const bad: string[] = [];
  for (const p of pods) {
    for (const c of [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])]) {
      const names = (c.env ?? []).map((e: any) => e.name);
      const problems = [
        ...wanted.filter((v) => !names.includes(v)).map((v) => `no ${v}`),
        ...unwanted.filter((v) => names.includes(v)).map((v) => `has ${v}`),
        ...(mode === 'irsa' ? (c.env ?? []).filter((e: any) => e.name === 'AWS_ROLE_ARN' && e.value !== t.irsaRoleArn).map((e: any) => `AWS_ROLE_ARN=${e.value ?? ''}`) : []),
      ];
      if (problems.length > 0) {
        bad.push(`${p.metadata.name}/${c.name} ${problems.join(',')}`);
      }
    }
  }
  const what = mode === 'irsa' ? `the IRSA variables (AWS_ROLE_ARN=${t.irsaRoleArn}) and no Pod Identity ones` : 'the Pod Identity variables and no IRSA ones';
  return bad.length === 0
    ? pass(t, `pods: ${pods.length} of ${pods.length} pods have ${what} in every container and init container`)
    : fail(t, `pods: expected ${what} in every container and init container; saw ${bad.join('; ')}`);
}

/**
 * A managed add-on's side of the phase (`describe-addon` output's `addon`): its version as
 * synthesized, its `serviceAccountRoleArn` while the phase keeps the annotation, its
 * `podIdentityAssociations` once the phase has an association. None for a service account no add-on owns.
 */
export function checkAddon(t: Target, phase: MigrationPhase, addon: any): CheckLine[] {
  if (t.addon === undefined) {
    return [];
  }
  const name = `add-on ${t.addon.name}`;
  const role: string = addon?.serviceAccountRoleArn ?? '-';
  const version: string = addon?.addonVersion ?? '-';
  const associations: number = (addon?.podIdentityAssociations ?? []).length;
  const wantRole = PHASES[phase].irsaAnnotation ? t.irsaRoleArn : '-';
  const wantAssociations = PHASES[phase].association;
  const lines: CheckLine[] = [];
  if (version !== t.addon.version) {
    lines.push(fail(t, `${name}: expected version ${t.addon.version} (what the app was synthesized from); saw ${version}. `
      + 'Record the add-on\'s describe-addon and describe-addon-configuration output again and synthesize'));
  }
  if (role !== wantRole) {
    lines.push(fail(t, `${name}: expected serviceAccountRoleArn ${wantRole} in ${phase}; saw ${role}`));
  } else if (wantAssociations !== associations > 0) {
    lines.push(fail(t, `${name}: expected ${wantAssociations ? 'its podIdentityAssociations' : 'no podIdentityAssociations'} in ${phase}; saw ${associations}`));
  } else {
    lines.push(pass(t, `${name} ${version}: serviceAccountRoleArn ${role}, ${associations} podIdentityAssociations`));
  }
  return lines;
}
