#!/usr/bin/env node
/**
 * cdk-eks-pod-identity-operator: the operator steps of the migration, fleet-wide.
 *
 *   cdk-eks-pod-identity-operator step <preflight|apply|verify|rollback> <FROM> <TO> <wave folder> [options]
 *   cdk-eks-pod-identity-operator foundation <preflight|apply|verify> <foundation folder> [options]
 *   cdk-eks-pod-identity-operator provider <preflight|verify> <oidc-providers folder> <cluster> [options]
 *
 * The generated runbook scripts call it with their folder; the options are the scripts' (<script> --help).
 * Output: the scripts' lines, each cluster's together, in the order of clusters.tsv; progress lines
 * on stderr; --json FILE writes every check.
 * Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MigrationPhase } from 'cdk-eks-pod-identity/lib/migration-phase';
import { CheckLine, renderLine } from 'cdk-eks-pod-identity/lib/operator/verify-checks';
import { PHASES } from 'cdk-eks-pod-identity/lib/private/phases';
import { CDK_DEPLOYER, REAL_CLOCK, runApply } from './apply';
import { readFoundation, runFoundation } from './foundation';
import { jsonResult } from './json';
import { ProxiedKubeApi } from './kube';
import { mapLimit } from './pool';
import { readPreflightData, runPreflight } from './preflight';
import { onPath, parseProviderArgs, ProviderUsageError, providerUsage, readProviderStep, runProviderPreflight, runProviderVerify } from './provider';
import { FleetReader, LiveReader } from './reader';
import { sharedTrust, verifyCluster } from './verify';
import { readTsv, readWave, Wave, WaveError } from './wave';

/** The options of a step, as the scripts take them. */
export interface StepOptions {
  readonly contexts?: string;
  readonly profiles?: string;
  readonly timeout: number;
  readonly interval: number;
  readonly skipDeploy: boolean;
  readonly cdk: string;
  readonly triggerCronJobs: boolean;
  readonly sts: boolean;
  readonly stsImage: string;
  readonly cloudTrailMinutes: number;
  /** How many clusters are worked on at once. */
  readonly concurrency: number;
  /** How many requests, restarts or pods of one cluster run at once. */
  readonly perCluster: number;
  /** Where to write every check as JSON. */
  readonly json?: string;
}

export class UsageError extends Error {
  /** `withUsage`: the usage text follows the message (an unknown option). */
  constructor(message: string, readonly withUsage = false) {
    super(message);
  }
}

export function usage(script: string, step: string, wave: string, from: string, to: string): string {
  return `usage: ${script} [options]

  ${step} for wave ${wave}, ${from} -> ${to} (see ${wave}.md next to this folder).

options:
  --contexts FILE       kubeconfig context per cluster: lines "<cluster name><TAB><context>"
                        (default: the cluster ARN, the name 'aws eks update-kubeconfig' gives it)
  --profiles FILE       AWS CLI profile per account: lines "<account><TAB><profile>"
                        (default: the current credentials, which must be in the cluster's account)
  --timeout SECONDS     how long to wait for an association, a rollout or a job (default 300)
  --interval SECONDS    time between two polls (default 5)
  --skip-deploy         apply/rollback: the stacks are deployed by a pipeline; do the rest
  --cdk COMMAND         the CDK CLI (default: npx cdk)
  --trigger-cronjobs    apply: run each CronJob once now (kubectl create job --from) and wait
  --sts                 verify: run a throwaway aws-cli pod per service account (sts get-caller-identity)
  --sts-image IMAGE     the image of that pod (default: public.ecr.aws/aws-cli/aws-cli:latest)
  --cloudtrail MINUTES  verify: find AssumeRoleForPodIdentity events of each cluster in the last MINUTES
  --concurrency N       how many clusters are worked on at once (default 8)
  --per-cluster N       how many requests or pods of one cluster run at once (default 8)
  --json FILE           write every check to FILE: cluster, service account, check, status, expected, seen, detail
  -h, --help            this text

Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
`;
}

const VALUED = ['--contexts', '--profiles', '--timeout', '--interval', '--cdk', '--sts-image', '--cloudtrail', '--concurrency', '--per-cluster', '--json'];

/** Parses the scripts' options; throws UsageError with the scripts' messages. `help` when -h was given. */
export function parseOptions(script: string, args: string[]): StepOptions | 'help' {
  const v: { [k: string]: string } = {};
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (VALUED.includes(a)) {
      if (i + 1 >= args.length) {
        throw new UsageError(`${script}: ${a} needs a value`);
      }
      v[a] = args[++i];
    } else if (a === '--skip-deploy' || a === '--trigger-cronjobs' || a === '--sts') {
      flags.add(a);
    } else if (a === '-h' || a === '--help') {
      return 'help';
    } else {
      throw new UsageError(`${script}: unknown option ${a}`, true);
    }
  }
  const whole = (name: string, fallback: number, what = 'a whole number of seconds or minutes') => {
    const s = v[name] ?? String(fallback);
    if (!/^[0-9]+$/.test(s)) {
      throw new UsageError(`${script}: expected ${what}, got '${s}'`);
    }
    return Number(s);
  };
  for (const f of [v['--contexts'], v['--profiles']]) {
    if (f !== undefined && f !== '') {
      try {
        fs.accessSync(f, fs.constants.R_OK);
      } catch {
        throw new UsageError(`${script}: cannot read ${f}`);
      }
    }
  }
  const atLeastOne = (name: string) => {
    const n = whole(name, 8, 'a whole number above 0');
    if (n < 1) {
      throw new UsageError(`${script}: expected a whole number above 0, got '${v[name]}'`);
    }
    return n;
  };
  return {
    contexts: v['--contexts'] || undefined,
    profiles: v['--profiles'] || undefined,
    timeout: whole('--timeout', 300),
    interval: whole('--interval', 5),
    cloudTrailMinutes: whole('--cloudtrail', 0),
    concurrency: atLeastOne('--concurrency'),
    perCluster: atLeastOne('--per-cluster'),
    skipDeploy: flags.has('--skip-deploy'),
    triggerCronJobs: flags.has('--trigger-cronjobs'),
    sts: flags.has('--sts'),
    stsImage: v['--sts-image'] ?? 'public.ecr.aws/aws-cli/aws-cli:latest',
    cdk: v['--cdk'] ?? 'npx cdk',
    json: v['--json'],
  };
}

/** A two-column TSV file as a map (the --contexts and --profiles files). */
const lookup = (file: string | undefined): Map<string, string> =>
  new Map(file ? readTsv(file).filter((r) => r.length >= 2).map((r) => [r[0], r[1]] as [string, string]) : []);

/** The result of a step: its lines (each cluster's together) and how many failed. */
export interface StepResult {
  readonly lines: string[];
  readonly checks: CheckLine[];
  readonly failed: number;
}

/**
 * Runs verify on every cluster of the wave, `concurrency` at a time; `out` gets each cluster's lines as
 * soon as the clusters before it in clusters.tsv are printed, `progress` one line per cluster done.
 */
export async function runVerify(wave: Wave, from: MigrationPhase, to: MigrationPhase, reader: FleetReader, options: StepOptions,
  out: (line: string) => void, progress: (line: string) => void, now = new Date()): Promise<StepResult> {
  const lines: string[] = [];
  const checks: CheckLine[] = [];
  const say = (l: string) => {
    lines.push(l);
    out(l);
  };
  say(`INFO ${wave.name} ${from} -> ${to}: verify`);
  say(`INFO verifying ${wave.name} at ${to}`);
  const done: (CheckLine[] | undefined)[] = wave.clusters.map(() => undefined);
  let printed = 0;
  let finished = 0;
  const trust = sharedTrust(reader);
  await mapLimit(wave.clusters, options.concurrency, async (cluster, i) => {
    const started = Date.now();
    const targets = wave.targets.filter((t) => t.cluster === cluster.name);
    const result = await verifyCluster(cluster, targets, to, reader,
      { sts: options.sts, cloudTrailMinutes: options.cloudTrailMinutes, now, perCluster: options.perCluster }, trust);
    done[i] = result;
    finished++;
    progress(`verify ${wave.name}: ${cluster.name} done (${finished}/${wave.clusters.length}): ${result.length} checks, `
      + `${result.filter((l) => l.status === 'FAIL').length} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    while (printed < done.length && done[printed] !== undefined) {
      for (const l of done[printed]!) {
        checks.push(l);
        say(renderLine(l));
      }
      printed++;
    }
  });
  const failed = checks.filter((l) => l.status === 'FAIL').length;
  say(failed > 0 ? `RESULT ${wave.name} verify ${from} -> ${to}: ${failed} checks failed` : `RESULT ${wave.name} verify ${from} -> ${to}: every check passed`);
  return { lines, checks, failed };
}

const isPhase = (p: string): p is MigrationPhase => Object.prototype.hasOwnProperty.call(PHASES, p);

/** `provider preflight <folder> <cluster> [options]`: the OIDC provider's retirement preflight. */
async function providerMain(argv: string[]): Promise<number> {
  const [step, dir, ...rest] = argv;
  const script = `${step ?? 'preflight'}.sh`;
  try {
    if ((step !== 'preflight' && step !== 'verify') || dir === undefined) {
      throw new ProviderUsageError('usage: cdk-eks-pod-identity-operator provider <preflight|verify> <oidc-providers folder> <cluster> [options]');
    }
    const parsed = parseProviderArgs(script, rest, new Date());
    if (parsed === 'help') {
      process.stdout.write(providerUsage(script, step));
      return 0;
    }
    const p = readProviderStep(dir, parsed.cluster, script);
    const reader = new LiveReader({ contexts: lookup(parsed.options.contexts), profiles: lookup(parsed.options.profiles), timeout: 30, stsImage: '' });
    const out = (l: string) => process.stdout.write(l + '\n');
    return step === 'verify' ? await runProviderVerify(p, reader, out, parsed.options.json)
      : await runProviderPreflight(p, reader, parsed.options.since, out, onPath('kubectl'), parsed.options.json);
  } catch (e) {
    if (e instanceof ProviderUsageError) {
      process.stderr.write(e.message + '\n' + (e.withUsage ? providerUsage(script, step) : ''));
      return 2;
    }
    if (e instanceof WaveError) {
      process.stderr.write(`${script}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** `foundation <preflight|apply|verify> <folder> [options]`: the agent add-ons of the migration's clusters. */
async function foundationMain(argv: string[]): Promise<number> {
  const [step, dir, ...rest] = argv;
  const script = `${step ?? 'foundation'}.sh`;
  try {
    if ((step !== 'preflight' && step !== 'apply' && step !== 'verify') || dir === undefined) {
      throw new UsageError('usage: cdk-eks-pod-identity-operator foundation <preflight|apply|verify> <foundation folder> [options]');
    }
    const f = readFoundation(dir);
    let options: StepOptions | 'help';
    try {
      options = parseOptions(script, rest);
    } catch (e) {
      if (e instanceof UsageError && e.withUsage) {
        throw new UsageError(`${e.message}\n${usage(script, step, 'foundation', 'no agent', 'agent ready').trimEnd()}`);
      }
      throw e;
    }
    if (options === 'help') {
      process.stdout.write(usage(script, step, 'foundation', 'no agent', 'agent ready'));
      return 0;
    }
    const contexts = lookup(options.contexts);
    const reader = new LiveReader({ contexts, profiles: lookup(options.profiles), timeout: options.timeout, stsImage: options.stsImage });
    process.stdout.write(`INFO foundation: ${step} (the eks-pod-identity-agent add-on of ${f.clusters.length} clusters)\n`);
    const lines = await runFoundation(step, f, reader, {
      concurrency: options.concurrency,
      perCluster: options.perCluster,
      timeout: options.timeout,
      interval: options.interval,
      skipDeploy: options.skipDeploy,
      cdk: options.cdk.split(/\s+/).filter((w) => w !== ''),
      kubectlFound: onPath('kubectl'),
    }, {
      kube: (c) => new ProxiedKubeApi('kubectl', contexts.get(c.name) ?? c.arn, () => reader.counts.process('kubectl proxy'),
        (method) => reader.counts.request(`kube:${method}`)),
      deploy: CDK_DEPLOYER,
      clock: REAL_CLOCK,
      out: (l) => process.stdout.write(l + '\n'),
    });
    const failedChecks = lines.filter((l) => l.status === 'FAIL').length;
    process.stdout.write(failedChecks > 0 ? `RESULT foundation ${step}: ${failedChecks} checks failed\n` : `RESULT foundation ${step}: every check passed\n`);
    if (options.json) {
      fs.writeFileSync(options.json, jsonResult({ wave: 'foundation', step }, failedChecks, lines));
    }
    return failedChecks > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.message + '\n');
      return 2;
    }
    if (e instanceof WaveError) {
      process.stderr.write(`${script}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'provider') {
    return providerMain(argv.slice(1));
  }
  if (argv[0] === 'foundation') {
    return foundationMain(argv.slice(1));
  }
  const [command, step, from, to, dir, ...rest] = argv;
  const script = `${step ?? 'step'}.sh`;
  try {
    if (command !== 'step' || step === undefined || from === undefined || to === undefined || dir === undefined) {
      throw new UsageError('usage: cdk-eks-pod-identity-operator step <preflight|apply|verify|rollback> <FROM> <TO> <wave folder> [options]');
    }
    if (!isPhase(from) || !isPhase(to)) {
      throw new UsageError(`${script}: expected two phases (${Object.keys(PHASES).join(', ')}), got '${from}' and '${to}'`);
    }
    if (!['preflight', 'apply', 'verify', 'rollback'].includes(step)) {
      throw new UsageError(`${script}: expected a step (preflight, apply, verify, rollback), got '${step}'`);
    }
    const wave = readWave(dir);
    let options: StepOptions | 'help';
    try {
      options = parseOptions(script, rest);
    } catch (e) {
      if (e instanceof UsageError && e.withUsage) {
        throw new UsageError(`${e.message}\n${usage(script, step, wave.name, from, to).trimEnd()}`);
      }
      throw e;
    }
    if (options === 'help') {
      process.stdout.write(usage(script, step, wave.name, from, to));
      return 0;
    }
    const reader = new LiveReader({
      contexts: lookup(options.contexts),
      profiles: lookup(options.profiles),
      timeout: options.timeout,
      stsImage: options.stsImage,
    });
    if (step === 'apply' || step === 'rollback') {
      process.stdout.write(`INFO ${wave.name} ${from} -> ${to}: ${step}\n`);
      // rollback.sh of the <FROM>-to-<TO> folder goes back from TO to FROM
      const [stepFrom, stepTo] = step === 'apply' ? [from, to] : [to, from];
      const contexts = lookup(options.contexts);
      const lines = await runApply(wave, stepFrom, stepTo, reader, {
        ...readPreflightData(dir),
        concurrency: options.concurrency,
        perCluster: options.perCluster,
        timeout: options.timeout,
        interval: options.interval,
        skipDeploy: options.skipDeploy,
        cdk: options.cdk.split(/\s+/).filter((w) => w !== ''),
        stacks: readTsv(path.join(dir, 'wave.tsv')).find((r) => r[0] === 'stacks')?.[1] ?? '',
        triggerCronJobs: options.triggerCronJobs,
        stsImage: options.stsImage,
        sts: options.sts,
        cloudTrailMinutes: options.cloudTrailMinutes,
        kubectlFound: onPath('kubectl'),
      }, {
        kube: (c) => new ProxiedKubeApi('kubectl', contexts.get(c.name) ?? c.arn, () => reader.counts.process('kubectl proxy'),
          (method) => reader.counts.request(`kube:${method}`)),
        deploy: CDK_DEPLOYER,
        clock: REAL_CLOCK,
        out: (l) => process.stdout.write(l + '\n'),
        progress: (l) => process.stderr.write(l + '\n'),
      });
      const failedChecks = lines.filter((l) => l.status === 'FAIL').length;
      process.stdout.write(failedChecks > 0 ? `RESULT ${wave.name} ${step} ${from} -> ${to}: ${failedChecks} checks failed\n`
        : `RESULT ${wave.name} ${step} ${from} -> ${to}: every check passed\n`);
      process.stderr.write(`${step} ${wave.name}: ${wave.clusters.length} clusters, ${wave.targets.length} service accounts: `
        + `${reader.counts.total(reader.counts.processes)} client processes, ${reader.counts.total(reader.counts.requests)} API requests\n`);
      if (options.json) {
        fs.writeFileSync(options.json, jsonResult({ wave: wave.name, step, from, to }, failedChecks, lines));
      }
      return failedChecks > 0 ? 1 : 0;
    }
    if (step === 'preflight') {
      process.stdout.write(`INFO ${wave.name} ${from} -> ${to}: preflight\n`);
      const data = readPreflightData(dir);
      const lines = await runPreflight(wave, from, to, reader, { ...data, perCluster: options.perCluster, concurrency: options.concurrency },
        onPath('kubectl'));
      lines.forEach((l) => process.stdout.write(renderLine(l) + '\n'));
      const failedChecks = lines.filter((l) => l.status === 'FAIL').length;
      process.stdout.write(failedChecks > 0 ? `RESULT ${wave.name} preflight ${from} -> ${to}: ${failedChecks} checks failed\n`
        : `RESULT ${wave.name} preflight ${from} -> ${to}: every check passed\n`);
      process.stderr.write(`preflight ${wave.name}: ${wave.clusters.length} clusters, ${wave.targets.length} service accounts: `
        + `${reader.counts.total(reader.counts.processes)} client processes, ${reader.counts.total(reader.counts.requests)} AWS requests\n`);
      if (options.json) {
        fs.writeFileSync(options.json, jsonResult({ wave: wave.name, step, from, to }, failedChecks, lines));
      }
      return failedChecks > 0 ? 1 : 0;
    }
    const result = await runVerify(wave, from, to, reader, options, (l) => process.stdout.write(l + '\n'), (l) => process.stderr.write(l + '\n'));
    process.stderr.write(`verify ${wave.name}: ${wave.clusters.length} clusters, ${wave.targets.length} service accounts: `
      + `${reader.counts.total(reader.counts.processes)} client processes, ${reader.counts.total(reader.counts.requests)} AWS requests\n`);
    if (options.json) {
      fs.writeFileSync(options.json, jsonResult({ wave: wave.name, step, from, to }, result.failed, result.checks));
    }
    return result.failed > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.message + '\n');
      return 2;
    }
    if (e instanceof WaveError) {
      process.stderr.write(`${script}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((status) => { process.exitCode = status; }, (e) => {
    process.stderr.write(`cdk-eks-pod-identity-operator: ${e?.stack ?? e}\n`);
    process.exitCode = 2;
  });
}
