import { MigrationPhase } from '../migration-phase';
import { arnName } from '../private/arns';
import { PHASES } from '../private/phases';
import { admitsIrsaSubject, admitsPodIdentity, statementsOf } from '../private/trust-statements';

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

/**
 * A check's result that compares (PASS, FAIL): what the check expected and what it saw, each as a
 * short value ('none' or 'absent' where there is nothing), so --json gives pipelines both sides
 * without parsing the line.
 */
export interface ComparedLine {
  readonly status: 'PASS' | 'FAIL';
  /** `<cluster> <namespace>/<serviceAccount>` (or `<cluster> -`, or `- -` for the wave's own checks). */
  readonly who: string;
  /** What was checked (`association`, `trust`, ...) and what was seen: the line's text. */
  readonly text: string;
  readonly expected: string;
  readonly seen: string;
}

/** A line that compares nothing: it says (INFO), asks (DO, TODO), waits (WAIT) or could not compare (CANNOT-CHECK). */
export interface NotedLine {
  readonly status: 'INFO' | 'CANNOT-CHECK' | 'TODO' | 'DO' | 'WAIT';
  readonly who: string;
  readonly text: string;
  readonly expected?: undefined;
  readonly seen?: undefined;
}

/** A check's result: one line of output. */
export type CheckLine = ComparedLine | NotedLine;

/** A line that compares: its status, whom it is about, its text, and the two values compared. */
export const compared = (status: ComparedLine['status'], who: string, text: string, expected: string, seen: string): CheckLine =>
  ({ status, who, text, expected, seen });

/** A line that compares nothing. */
export const noted = (status: NotedLine['status'], who: string, text: string): CheckLine => ({ status, who, text });

/** The line as the scripts print it. */
export function renderLine(line: CheckLine): string {
  return `${line.status} ${line.who} ${line.text}`;
}

/** `<cluster> <namespace>/<serviceAccount>`: whom a service account's line is about. */
export const whoOf = (t: Target): string => `${t.cluster} ${t.namespace}/${t.serviceAccount}`;
const roleName = arnName;
const pass = (t: Target, text: string, expected: string, seen: string): CheckLine => compared('PASS', whoOf(t), text, expected, seen);
const fail = (t: Target, text: string, expected: string, seen: string): CheckLine => compared('FAIL', whoOf(t), text, expected, seen);

/** What the association check expects of a service account in a phase (its `expected` value). */
export function expectedAssociation(t: Target, phase: MigrationPhase): string {
  return PHASES[phase].association ? `role ${t.associationRoleArn}, target role ${t.targetRoleArn ?? '-'}` : 'none';
}

/** What the annotation check expects of a service account in a phase: the IRSA role, or absent. */
export function expectedAnnotation(t: Target, phase: MigrationPhase): string {
  return PHASES[phase].irsaAnnotation ? t.irsaRoleArn : 'absent';
}

/** What the pods check expects of every container and init container. */
export function expectedPods(t: Target, mode: 'pod-identity' | 'irsa'): string {
  return `${mode === 'irsa' ? `the IRSA variables (AWS_ROLE_ARN=${t.irsaRoleArn}) and no Pod Identity ones` : 'the Pod Identity variables and no IRSA ones'}`
    + ' in every container and init container';
}

/**
 * The service account's association (`describe-pod-identity-association` output's `association`, or
 * none): present with the expected role and target role where the phase has one, absent elsewhere.
 */
export function checkAssociation(t: Target, phase: MigrationPhase, association: any | undefined): CheckLine {
  if (PHASES[phase].association) {
    const wanted = t.targetRoleArn ?? '-';
    const expected = expectedAssociation(t, phase);
    if (association === undefined) {
      return fail(t, `association: expected one naming ${roleName(t.associationRoleArn)}; saw none`, expected, 'none');
    }
    const role = association.roleArn;
    const target = association.targetRoleArn ?? '-';
    const seen = `role ${role}, target role ${target}`;
    return role === t.associationRoleArn && target === wanted
      ? pass(t, `association: ${seen}`, expected, seen)
      : fail(t, `association: expected ${expected}; saw ${seen}`, expected, seen);
  }
  return association === undefined
    ? pass(t, `association: none, as ${phase} expects`, 'none', 'none')
    : fail(t, `association: expected none in ${phase}; saw ${association.associationId} naming ${association.roleArn}`, 'none',
      `${association.associationId} naming ${association.roleArn}`);
}

/** The ServiceAccount's IRSA annotation: the IRSA role where the phase keeps it, absent elsewhere. */
export function checkAnnotation(t: Target, phase: MigrationPhase, serviceAccount: any): CheckLine {
  const value: string = serviceAccount?.metadata?.annotations?.[ROLE_ANNOTATION] ?? '-';
  const seen = value === '-' ? 'absent' : value;
  const expected = expectedAnnotation(t, phase);
  if (PHASES[phase].irsaAnnotation) {
    return value === t.irsaRoleArn
      ? pass(t, `annotation: ${ROLE_ANNOTATION}=${value}`, expected, seen)
      : fail(t, `annotation: expected ${ROLE_ANNOTATION}=${t.irsaRoleArn}; saw ${value}`, expected, seen);
  }
  return value === '-' ? pass(t, `annotation: ${ROLE_ANNOTATION} absent`, expected, seen)
    : fail(t, `annotation: expected ${ROLE_ANNOTATION} absent; saw ${value}`, expected, seen);
}

/** How many Allow statements of a trust let the cluster's OIDC provider in for this service account. */
export function oidcStatements(t: Target, trust: any): number {
  return statementsOf(trust).filter((s) => admitsIrsaSubject(s, t.oidcProviderArn, t.issuer, t.namespace, t.serviceAccount)).length;
}

/** How many Allow statements of a trust let pods.eks in for this service account (on this cluster, when pinned). */
export function podIdentityStatements(t: Target, trust: any): number {
  return statementsOf(trust).filter((s) => admitsPodIdentity(s, t)).length;
}

/**
 * The two trust lines: the IRSA role's OIDC statement for this service account, and the
 * association role's pods.eks statement pinned to it, each present or absent as the phase says.
 */
export function checkTrust(t: Target, phase: MigrationPhase, irsaRoleTrust: any, associationRoleTrust: any): CheckLine[] {
  // expected and seen: the role and how many of its statements let this service account in
  const line = (role: string, what: string, want: boolean, n: number, present: string, missing: string, unwanted: string, absent: string) => {
    const expected = `${role}: ${want ? 'at least 1' : 'no'} ${what} statement for this service account`;
    const seen = `${role}: ${n} ${what} statement${n === 1 ? '' : 's'} for this service account`;
    return want ? (n > 0 ? pass(t, `trust: ${present}`, expected, seen) : fail(t, `trust: ${missing}`, expected, seen))
      : (n > 0 ? fail(t, `trust: ${unwanted}`, expected, seen) : pass(t, `trust: ${absent}`, expected, seen));
  };
  const irsaRole = roleName(t.irsaRoleArn);
  const assocRole = roleName(t.associationRoleArn);
  const oidc = oidcStatements(t, irsaRoleTrust);
  const pods = podIdentityStatements(t, associationRoleTrust);
  return [
    line(irsaRole, 'OIDC', PHASES[phase].irsaTrust || t.irsaTrust === 'kept', oidc,
      `${irsaRole} trusts the cluster's OIDC provider for this service account`,
      `expected ${irsaRole} to trust ${t.oidcProviderArn} for system:serviceaccount:${t.namespace}:${t.serviceAccount}; saw no such statement`,
      `expected no OIDC statement for this service account in ${phase}; saw ${oidc} in ${irsaRole}`,
      `no OIDC statement for this service account in ${irsaRole}`),
    line(assocRole, 'pods.eks.amazonaws.com', PHASES[phase].podIdentityTrust || t.podTrust === 'always', pods,
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
    return noted('INFO', whoOf(t), 'pods: none running (a CronJob between runs, or scaled to zero): nothing to check');
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
  const expected = expectedPods(t, mode);
  return bad.length === 0
    ? pass(t, `pods: ${pods.length} of ${pods.length} pods have ${expected}`, expected, `${pods.length} of ${pods.length} pods as expected`)
    : fail(t, `pods: expected ${expected}; saw ${bad.join('; ')}`, expected, bad.join('; '));
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
      + 'Record the add-on\'s describe-addon and describe-addon-configuration output again and synthesize', `version ${t.addon.version}`, `version ${version}`));
  }
  if (role !== wantRole) {
    lines.push(fail(t, `${name}: expected serviceAccountRoleArn ${wantRole} in ${phase}; saw ${role}`, `serviceAccountRoleArn ${wantRole}`, `serviceAccountRoleArn ${role}`));
  } else if (wantAssociations !== associations > 0) {
    lines.push(fail(t, `${name}: expected ${wantAssociations ? 'its podIdentityAssociations' : 'no podIdentityAssociations'} in ${phase}; saw ${associations}`,
      `${wantAssociations ? 'at least 1' : '0'} podIdentityAssociations`, `${associations} podIdentityAssociations`));
  } else {
    lines.push(pass(t, `${name} ${version}: serviceAccountRoleArn ${role}, ${associations} podIdentityAssociations`,
      `serviceAccountRoleArn ${wantRole}, ${wantAssociations ? 'at least 1' : '0'} podIdentityAssociations`,
      `serviceAccountRoleArn ${role}, ${associations} podIdentityAssociations`));
  }
  return lines;
}
