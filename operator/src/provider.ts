/**
 * The preflight of an OIDC provider's recorded retirement step (runbooks/oidc-providers/preflight.sh
 * <cluster>): the credentials reach the cluster's account; unless the step is KEPT, the provider's
 * existence against the step, then what still uses it that the app cannot see (roles of the account
 * that trust it, managed add-ons on IRSA, pods on IRSA) and what did use it (CloudTrail's
 * AssumeRoleWithWebIdentity through it, in every region the fleet runs in and us-east-1, where STS's
 * global endpoint records, over a window the operator sets). The checks are the library's pure
 * functions (cdk-eks-pod-identity/lib/operator/provider-checks).
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkAccount, isoSeconds, KUBECTL_MISSING } from 'cdk-eks-pod-identity/lib/operator/preflight-checks';
import {
  checkProviderAddons, checkProviderAfterDeploy, checkProviderExists, checkProviderPods, checkProviderRoles, checkProviderStack,
  checkWebIdentityEvidence, CLOUDTRAIL_LOOKUP_DAYS,
} from 'cdk-eks-pod-identity/lib/operator/provider-checks';
import { CheckLine, compared, renderLine } from 'cdk-eks-pod-identity/lib/operator/verify-checks';
import { jsonResult } from './json';
import { mapLimit } from './pool';
import { ProviderReader, unwrap } from './reader';
import { readTsv, WaveCluster, WaveError } from './wave';

/** A cluster's recorded provider step (a line of providers.tsv). */
export interface ProviderStep {
  readonly cluster: WaveCluster;
  readonly step: string;
  readonly providerArn: string;
  readonly stackName: string;
  readonly stackRegion: string;
  readonly logicalId: string;
  /** Where CloudTrail is looked up: every region of the fleet (regions.tsv) and us-east-1. */
  readonly regions: readonly string[];
}

/** The recorded step of `clusterName` in an oidc-providers folder; a WaveError naming the clusters it has otherwise. */
export function readProviderStep(dir: string, clusterName: string, script: string): ProviderStep {
  const providers = readTsv(path.join(dir, 'providers.tsv'));
  const row = providers.find((r) => r[0] === clusterName);
  if (row === undefined) {
    throw new WaveError(`the state records no provider step for cluster ${clusterName}; these: ${providers.map((r) => r[0]).join(' ')}`);
  }
  const c = readTsv(path.join(dir, 'clusters.tsv')).find((r) => r[0] === clusterName);
  if (c === undefined) {
    throw new WaveError(`${path.join(dir, 'clusters.tsv')} has no line for ${clusterName}; synthesize again (${script})`);
  }
  const regionsFile = path.join(dir, 'regions.tsv');
  const fleetRegions = fs.existsSync(regionsFile) ? readTsv(regionsFile).map((r) => r[0]) : [];
  const [, step, providerArn, stackName, stackRegion, logicalId] = row;
  return {
    cluster: { name: c[0], region: c[1], account: c[2], arn: c[3], computeType: c[4] },
    step,
    providerArn,
    stackName,
    stackRegion,
    logicalId,
    regions: [...new Set([...fleetRegions, c[1], 'us-east-1'])].sort(),
  };
}

/** Whether a command is on PATH (what the scripts' `command -v` asks). */
export function onPath(command: string, pathVariable = process.env.PATH ?? ''): boolean {
  return pathVariable.split(path.delimiter).filter((d) => d).some((d) => {
    try {
      fs.accessSync(path.join(d, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The preflight's lines, in the order the scripts printed them, then the CloudTrail evidence. */
export async function providerPreflight(p: ProviderStep, reader: ProviderReader, since: Date, kubectlFound: boolean): Promise<CheckLine[]> {
  const c = p.cluster;
  const lines: CheckLine[] = [];
  if (!kubectlFound) {
    lines.push(KUBECTL_MISSING);
  }
  lines.push(checkAccount(c.name, c.account, unwrap(await reader.callerAccount(c.account, c.region))));
  if (lines.some((l) => l.status === 'FAIL')) {
    return lines;
  }
  if (p.step === 'KEPT') {
    lines.push(compared('PASS', `${c.name} -`, 'step: KEPT takes the provider out of the app and keeps it; nothing can break', 'KEPT', 'KEPT'));
    return lines;
  }
  const exists = await reader.providerExists(c.account, p.stackRegion, p.providerArn);
  if (!exists.ok) {
    lines.push(compared('FAIL', `${c.name} -`, `provider: cannot call iam get-open-id-connect-provider: ${exists.error}`, p.step === 'ADOPTED' ? 'exists' : 'exists, or the deploy creates it',
      exists.error));
    return lines;
  }
  lines.push(checkProviderExists(c.name, p.step, p.providerArn, exists.value));
  const [roles, addons, pods, events] = await Promise.all([
    reader.roles(c.account, p.stackRegion),
    (async () => {
      const names = await reader.addonNames(c);
      if (!names.ok) {
        return { error: names.error };
      }
      return mapLimit(names.value, 8, async (name) => ({ name, addon: unwrap(await reader.addon(c, name)) }));
    })(),
    reader.pods(c),
    mapLimit(p.regions, 4, async (region) => ({ region, events: unwrap(await reader.webIdentityEvents(c.account, region, since)) })),
  ]);
  lines.push(checkProviderRoles(c.name, c.account, p.providerArn, unwrap(roles)));
  lines.push(...checkProviderAddons(c.name, addons));
  lines.push(checkProviderPods(c.name, unwrap(pods)));
  lines.push(...checkWebIdentityEvidence(c.name, p.providerArn, isoSeconds(since.getTime() / 1000), events));
  return lines;
}

/**
 * verify: the provider against its recorded step after the deploy (deleted at RETIRED, present
 * otherwise), and unless KEPT or RETIRED, its stack holding it, complete; as lib.sh's pi_provider_verify.
 */
export async function providerVerify(p: ProviderStep, reader: ProviderReader): Promise<CheckLine[]> {
  const c = p.cluster;
  const exists = await reader.providerExists(c.account, p.stackRegion, p.providerArn);
  if (!exists.ok) {
    return [compared('FAIL', `${c.name} -`, `provider: cannot call iam get-open-id-connect-provider: ${exists.error}`, p.step === 'RETIRED' ? 'deleted' : 'exists', exists.error)];
  }
  const lines = [checkProviderAfterDeploy(c.name, p.step, p.providerArn, exists.value)];
  if (p.step === 'RETIRED' || p.step === 'KEPT') {
    return lines;
  }
  const resource = await reader.stackResource(c.account, p.stackRegion, p.stackName, p.logicalId);
  lines.push(checkProviderStack(c.name, p.stackName, p.logicalId, p.providerArn, unwrap(resource)));
  return lines;
}

/** Runs the provider verify; prints the lines and RESULT; the exit status. */
export async function runProviderVerify(p: ProviderStep, reader: ProviderReader, out: (line: string) => void, json?: string): Promise<number> {
  out(`INFO ${p.cluster.name} OIDC provider ${p.step}: verify`);
  return finish(p, 'verify', await providerVerify(p, reader), out, json);
}

/** Prints a provider step's lines and RESULT, writes --json when given; the exit status. */
function finish(p: ProviderStep, step: 'preflight' | 'verify', lines: CheckLine[], out: (line: string) => void, json?: string): number {
  lines.forEach((l) => out(renderLine(l)));
  const failed = lines.filter((l) => l.status === 'FAIL').length;
  if (json) fs.writeFileSync(json, jsonResult({ wave: 'oidc-providers', step, cluster: p.cluster.name, providerStep: p.step }, failed, lines));
  out(failed > 0 ? `RESULT ${p.cluster.name} provider ${step} ${p.step}: ${failed} checks failed`
    : `RESULT ${p.cluster.name} provider ${step} ${p.step}: every check passed`);
  return failed > 0 ? 1 : 0;
}

/** The provider step's options. */
export interface ProviderOptions {
  readonly contexts?: string;
  readonly profiles?: string;
  /** The start of the CloudTrail window. */
  readonly since: Date;
  /** Where to write every check as JSON. */
  readonly json?: string;
}

export function providerUsage(script: string, step: string): string {
  return `usage: ${script} <cluster> [options]

  ${step} the recorded step of the OIDC provider of <cluster> (see ../oidc-providers.md).

options:
  --contexts FILE         kubeconfig context per cluster: lines "<cluster name><TAB><context>"
                          (default: the cluster ARN, the name 'aws eks update-kubeconfig' gives it)
  --profiles FILE         AWS CLI profile per account: lines "<account><TAB><profile>"
                          (default: the current credentials, which must be in the cluster's account)
  --cloudtrail-days N     preflight: look for AssumeRoleWithWebIdentity through the provider in the last N days
                          (default ${CLOUDTRAIL_LOOKUP_DAYS}, the longest CloudTrail's lookup-events reaches back)
  --cloudtrail-since TIME preflight: ... since TIME (ISO 8601, e.g. 2026-11-30T00:00:00Z) instead
  --json FILE             write every check to FILE: cluster, service account, check, status, expected, seen, detail
  -h, --help              this text

Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
`;
}

export class ProviderUsageError extends Error {
  constructor(message: string, readonly withUsage = false) {
    super(message);
  }
}

/** Parses `<cluster> [options]`; `help` for -h. */
export function parseProviderArgs(script: string, args: string[], now: Date): { cluster: string; options: ProviderOptions } | 'help' {
  let cluster = '';
  let contexts: string | undefined;
  let profiles: string | undefined;
  let days: string | undefined;
  let sinceText: string | undefined;
  let json: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--contexts' || a === '--profiles') {
      const f = args[i + 1];
      let readable = f !== undefined;
      try {
        fs.accessSync(f ?? '', fs.constants.R_OK);
      } catch {
        readable = false;
      }
      if (!readable) {
        throw new ProviderUsageError(`${script}: ${a} needs a readable file`);
      }
      if (a === '--contexts') {
        contexts = f;
      } else {
        profiles = f;
      }
      i++;
    } else if (a === '--cloudtrail-days' || a === '--cloudtrail-since' || a === '--json') {
      const v = args[++i];
      if (v === undefined) {
        throw new ProviderUsageError(`${script}: ${a} needs a value`);
      }
      if (a === '--cloudtrail-days') {
        days = v;
      } else if (a === '--json') {
        json = v;
      } else {
        sinceText = v;
      }
    } else if (a === '-h' || a === '--help') {
      return 'help';
    } else if (a.startsWith('-')) {
      throw new ProviderUsageError(`${script}: unknown option ${a}`, true);
    } else if (cluster !== '') {
      throw new ProviderUsageError(`${script}: one cluster at a time; got ${cluster} and ${a}`);
    } else {
      cluster = a;
    }
  }
  if (cluster === '') {
    throw new ProviderUsageError(`${script}: which cluster? Give the cluster whose OIDC provider step to run`, true);
  }
  if (days !== undefined && sinceText !== undefined) {
    throw new ProviderUsageError(`${script}: give --cloudtrail-days or --cloudtrail-since, not both`);
  }
  let since: Date;
  if (sinceText !== undefined) {
    since = new Date(sinceText);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(sinceText) || Number.isNaN(since.getTime())) {
      throw new ProviderUsageError(`${script}: --cloudtrail-since expects an ISO 8601 time such as 2026-11-30T00:00:00Z; got '${sinceText}'`);
    }
  } else {
    const n = days ?? String(CLOUDTRAIL_LOOKUP_DAYS);
    if (!/^[0-9]+$/.test(n) || Number(n) < 1 || Number(n) > CLOUDTRAIL_LOOKUP_DAYS) {
      throw new ProviderUsageError(`${script}: --cloudtrail-days expects a whole number from 1 to ${CLOUDTRAIL_LOOKUP_DAYS} `
        + `(CloudTrail's lookup-events reaches back ${CLOUDTRAIL_LOOKUP_DAYS} days); got '${n}'`);
    }
    since = new Date(Math.floor(now.getTime() / 1000) * 1000 - Number(n) * 86_400_000);
  }
  return { cluster, options: { contexts, profiles, since, json } };
}

/** Runs the provider preflight; prints the lines and RESULT; the exit status. */
export async function runProviderPreflight(p: ProviderStep, reader: ProviderReader, since: Date, out: (line: string) => void,
  kubectlFound = onPath('kubectl'), json?: string): Promise<number> {
  out(`INFO ${p.cluster.name} OIDC provider ${p.step}: preflight`);
  return finish(p, 'preflight', await providerPreflight(p, reader, since, kubectlFound), out, json);
}
