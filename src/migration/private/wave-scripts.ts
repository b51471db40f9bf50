import { LIBRARY_VERSION } from './library-version';
import { WaveReport } from './wave-report';
import { MigrationPhase } from '../../migration-phase';
import { assumedRolePrefix } from '../../private/arns';
import { PHASE_ORDER, PHASES } from '../../private/phases';

/** The steps every transition has a script for, in the order the operator runs them. */
export const SCRIPT_STEPS = ['preflight', 'apply', 'verify', 'rollback'] as const;

/** One transition of the phase table: `from` -> `to`, one phase forward. */
export interface Transition {
  readonly from: MigrationPhase;
  readonly to: MigrationPhase;
  /** Its folder under `runbooks/<wave>/`: `<FROM>-to-<TO>`. */
  readonly dir: string;
}

/** The four forward transitions; each folder's `rollback.sh` goes back. */
export const TRANSITIONS: readonly Transition[] = PHASE_ORDER.slice(1).map((to, i) => ({
  from: PHASE_ORDER[i],
  to,
  dir: `${PHASE_ORDER[i]}-to-${to}`,
}));

/** A file of the runbook folder: its path under `runbooks/`, its text, whether it is executable. */
export interface ScriptFile {
  readonly path: string;
  readonly text: string;
  readonly executable: boolean;
}

/** Tab-separated data with a `#` header line, as the scripts read it. */
export const tsv = (rows: string[][], header: string[]): string =>
  [`# ${header.join('\t')}`, ...rows.map((r) => r.join('\t'))].join('\n') + '\n';

/** `clusters.tsv`, which the operator command reads: name, region, account, ARN (the default context), compute type. */
export const clustersTsv = (clusters: { name: string; region: string; account: string; arn: string; computeType: string }[]): string =>
  tsv(clusters.map((c) => [c.name, c.region, c.account, c.arn, c.computeType]), ['cluster', 'region', 'account', 'clusterArn', 'computeType']);


/**
 * The executable runbook of a wave: data files the scripts loop over, and a folder per transition
 * with `preflight.sh`, `apply.sh`, `verify.sh` and `rollback.sh`. Nothing here depends on the
 * wave's phase except the `phase` file, so synthesizing the next phase leaves every script as it was.
 */
export function waveScriptFiles(report: WaveReport): ScriptFile[] {
  const files: ScriptFile[] = [];
  const data = (name: string, text: string) => files.push({ path: `${report.wave}/${name}`, text, executable: false });
  data('wave.tsv', tsv([['wave', report.wave], ['stacks', report.stackPattern]], ['key', 'value']));
  data('phase', `${report.phase}\n`);
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  data('phases.tsv', tsv(PHASE_ORDER.map((p) => [p, yes(PHASES[p].irsaTrust), yes(PHASES[p].podIdentityTrust), yes(PHASES[p].association), yes(PHASES[p].irsaAnnotation)]),
    ['phase', 'irsaTrust', 'podIdentityTrust', 'association', 'annotation']));
  data('clusters.tsv', clustersTsv(report.clusters));
  const prefixes = new Map<string, string>();
  const prefix = (arn: string) => prefixes.get(arn) ?? prefixes.set(arn, assumedRolePrefix(arn)).get(arn)!;
  const targets: string[][] = [];
  const workloads: string[][] = [];
  for (const c of report.clusters) {
    for (const p of c.assignments) {
      const podRole = p.targetRoleArn ?? p.associationRoleArn;
      targets.push([c.name, p.sa.namespace, p.sa.serviceAccount, p.sa.roleArn, p.associationRoleArn, p.targetRoleArn ?? '-',
        p.irsaTrust, p.oidcProviderArn, p.issuer, p.podTrust, p.sa.helmRelease ?? '-', prefix(podRole), prefix(p.sa.roleArn), p.addon?.name ?? '-', p.addon?.version ?? '-']);
      for (const w of p.sa.workloads) {
        workloads.push([c.name, p.sa.namespace, p.sa.serviceAccount, w.kind, w.name]);
      }
    }
  }
  data('targets.tsv', tsv(targets, ['cluster', 'namespace', 'serviceAccount', 'irsaRoleArn', 'associationRoleArn', 'targetRoleArn',
    'irsaTrust', 'oidcProviderArn', 'issuer', 'podIdentityTrust', 'helmRelease', 'podIdentityIdentity', 'irsaIdentity', 'addon', 'addonVersion']));
  data('workloads.tsv', tsv(workloads, ['cluster', 'namespace', 'serviceAccount', 'kind', 'name']));
  for (const t of TRANSITIONS) {
    for (const step of SCRIPT_STEPS) {
      files.push({ path: `${report.wave}/${t.dir}/${step}.sh`, text: script(report.wave, t, step), executable: true });
    }
  }
  return files;
}

const WHAT: { [step in typeof SCRIPT_STEPS[number]]: (t: Transition) => string } = {
  preflight: (t) => `checks that ${t.to} can be deployed safely; changes nothing`,
  apply: (t) => `preflight, then deploys ${t.to} and does the Kubernetes side (waits, restarts, annotations), then verifies`,
  verify: (t) => `checks that the fleet is in ${t.to}: associations, annotations, trust, pods; changes nothing`,
  rollback: (t) => `goes back from ${t.to} to ${t.from}: preflight, deploy, Kubernetes side, verify`,
};

/** The operator command's package (cdk-eks-pod-identity-operator, the library's version), which the ported steps run. */
export const OPERATOR_PACKAGE = 'cdk-eks-pod-identity-operator';

/**
 * The body of a script that runs the operator command with `args` and its own arguments: the
 * package at the library's version through npx, or the command CDK_EKS_POD_IDENTITY_OPERATOR names.
 */
export function operatorCall(args: string): string[] {
  return [
    `# Runs ${OPERATOR_PACKAGE}@${LIBRARY_VERSION} (npx fetches it once), or $CDK_EKS_POD_IDENTITY_OPERATOR if set.`,
    'set -euo pipefail',
    'here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
    'if [ -n "${CDK_EKS_POD_IDENTITY_OPERATOR:-}" ]; then',
    `  exec "$CDK_EKS_POD_IDENTITY_OPERATOR" ${args} "$@"`,
    'fi',
    `exec npx --yes --package=${OPERATOR_PACKAGE}@${LIBRARY_VERSION} ${OPERATOR_PACKAGE} ${args} "$@"`,
    '',
  ];
}

function script(wave: string, t: Transition, step: typeof SCRIPT_STEPS[number]): string {
  return [
    '#!/usr/bin/env bash',
    `# Wave ${wave}, ${t.from} -> ${t.to}: ${step}.sh ${WHAT[step](t)}.`,
    `# Generated by cdk-eks-pod-identity (see ../../${wave}.md); options: ${step}.sh --help.`,
    ...operatorCall(`step ${step} ${t.from} ${t.to} "$here/.."`),
  ].join('\n');
}
