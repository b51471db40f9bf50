import { IrsaServiceAccount } from './inventory-types';
import { describeAround, describeDeploy, stepPlan } from './private/transition-table';
import { TrustLength, WaveReport } from './private/wave-report';
import { TRANSITIONS } from './private/wave-scripts';
import { arnName } from '../private/arns';
import { noProxyValue } from '../private/no-proxy';

/** The Markdown runbook of a wave: the workflow and the scripts; the data is in the scripts' folder. */
export function renderRunbook(report: WaveReport): string {
  const addons = addonsOf(report);
  return [
    ...heading(report),
    ...stepSection(report),
    ...checksSection(),
    ...failuresSection(),
    ...adoptionSection(report, addons.length > 0),
    ...addonsSection(addons),
    ...helmSection(report),
    ...proxySection(report),
  ].join('\n');
}

/** The title, the phase, the service accounts and what the deploy deploys. */
function heading(report: WaveReport): string[] {
  const count = report.clusters.reduce((n, c) => n + c.assignments.length, 0);
  return [
    `# Runbook: ${report.wave}${report.risk ? ` (risk: ${report.risk})` : ''}`,
    '',
    `- Phase in this cloud assembly: **${report.phase}**${report.overriddenBy ? ` (from context \`${report.overriddenBy}\`; the state file records ${report.recorded}: record it)` : ' (recorded in the state file)'}.`,
    `- ${count} service accounts on ${report.clusters.length} clusters: ${report.clusters.map((c) => `${c.name} (${c.assignments.length})`).join(', ')}. Each is a line of \`${report.wave}/targets.tsv\`; the plan index lists them.`,
    `- \`cdk deploy '${report.stackPattern}'\` deploys the wave's phase records after the stacks they depend on: ${report.stacks.map((st) => `\`${st}\``).join(', ')}.`,
    '',
  ];
}

/** How a step is taken, the table of steps (from the transition table) and the next step's commands. */
function stepSection(report: WaveReport): string[] {
  const dir = `cdk.out/runbooks/${report.wave}`;
  const current = TRANSITIONS.find((t) => t.from === report.phase);
  const lines = [
    '## A step, forward or back',
    '',
    `1. Record the phase: append it to \`waves.${report.wave}\` in the state file and open the change for review; \`npx cdk diff '${report.stackPattern}'\` shows only this wave's trust or associations and its record.`,
    '2. Once merged: `npx cdk synth`. The scripts read this cloud assembly and deploy it as it is (`cdk deploy --app cdk.out`), without synthesizing again, so nothing under `cdk.out/runbooks` changes while you work. The scripts are the same in every phase; only `' + report.wave + '/phase` differs.',
    '3. From the project folder, run the step\'s `preflight.sh`, then `apply.sh` (it runs the preflight checks again before it changes anything), then `verify.sh` whenever you want proof (after a soak, before the next step).',
    '4. To go back: record the previous phase, `npx cdk synth`, run the same folder\'s `rollback.sh`.',
    '',
    'Every check prints one line, `PASS` or `FAIL`, with the cluster, the namespace/service account, what was expected and what was seen. `TODO` lines are work only you can do. A script exits 1 when a check failed, 2 on a wrong option. `--help` lists the options: `--contexts FILE` (kubeconfig context per cluster; default: the cluster ARN, as `aws eks update-kubeconfig` names it), `--profiles FILE` (AWS CLI profile per account), `--timeout`, `--skip-deploy` (a pipeline deploys), `--trigger-cronjobs`, `--sts`, `--cloudtrail MINUTES`.',
    '',
    '| Step | Scripts | The deploy | apply.sh around it | rollback.sh |',
    '|---|---|---|---|---|',
  ];
  // rendered from the transition table the operator command runs, so the two cannot disagree
  for (const t of TRANSITIONS) {
    const forward = stepPlan(t.from, t.to);
    const back = stepPlan(t.to, t.from);
    const mark = t === current ? ' **(next)**' : '';
    lines.push(`| ${t.from} → ${t.to}${mark} | \`${dir}/${t.dir}/\` | ${describeDeploy(forward)} | ${describeAround(forward)} | `
      + `${describeDeploy(back)}; ${describeAround(back)} |`);
  }
  lines.push('');
  if (current) {
    lines.push(`Next step from here: ${current.from} → ${current.to}. Record ${current.to}, synth, then:`, '', '```bash');
    for (const step of ['preflight', 'apply', 'verify']) {
      lines.push(`${dir}/${current.dir}/${step}.sh --contexts contexts.tsv`);
    }
    lines.push('```');
  } else {
    lines.push('The wave is at the last phase. Its OIDC providers can go once nothing else uses them (see the plan index).');
  }
  lines.push('');
  return lines;
}

/** What preflight and verify prove. */
function checksSection(): string[] {
  return [
    '## What the checks prove',
    '',
    '- **preflight**: the cloud assembly holds the wave at the step\'s phase; the credentials reach each cluster\'s account. Before associations: the agent DaemonSet ready on every node (desired = ready), each managed node group\'s role allows `eks-auth:AssumeRoleForPodIdentity` (IAM policy simulation), Security Groups for Pods in `standard` mode, no container sends the agent\'s address to a proxy (`value`, `valueFrom` and `envFrom` resolved, containers and init containers); `CANNOT-CHECK` lines name what it cannot see (SDK minimums, the EKS Auth endpoint of private clusters). Before the OIDC trust goes: every pod created after its association, none with `AWS_WEB_IDENTITY_TOKEN_FILE`. Before an association goes: the annotation is there for the restarted pods.',
    '- **verify**: for each service account, from the APIs (never from inside the application\'s pods): the association and its roles, the annotation, the OIDC and pods.eks statements of the trust, and the variables of every container and init container of every running pod. `--sts` adds a throwaway aws-cli pod per service account whose `sts get-caller-identity` must be the expected assumed role; `--cloudtrail` looks for `AssumeRoleForPodIdentity` events per cluster.',
    '',
  ];
}

/** What to do when a script fails, by where it failed. */
function failuresSection(): string[] {
  return [
    '## When a script fails',
    '',
    '- In preflight, or in apply before its `DO ... deploy` line: nothing was changed. Fix what the `FAIL` line names and run it again. '
    + 'An `agent:` line on a cluster whose agent the migration installs names the foundation step: run `runbooks/foundation/apply.sh` first (`foundation.md`).',
    '- The deploy failed: CloudFormation rolled the stacks back; the wave is where it was. Read the stack events.',
    '- After the deploy (an association not visible in time, injection, a rollout): apply stops before restarting anything else. Running pods keep their credentials. Fix and run apply.sh again (it is idempotent), or go back with rollback.sh.',
    '- verify fails on pods: restart them (apply.sh does it again) or wait for the next CronJob run; do not take the next step until verify passes.',
    '',
  ];
}

/** The managed add-ons of the wave's service accounts, each cluster's once. */
function addonsOf(report: WaveReport): { cluster: string; name: string; version: string }[] {
  return [...new Map(report.clusters.flatMap((c) => c.assignments.filter((p) => p.addon).map((p) => [`${c.name} ${p.addon!.name}`, { cluster: c.name, ...p.addon! }]))).values()];
}

/** The roles (and add-ons) to import before the wave's first deploy. */
function adoptionSection(report: WaveReport, addons: boolean): string[] {
  if (report.adoptedRoles.length === 0) {
    return [];
  }
  return [
    `## Adopting the existing roles${addons ? ' and add-ons' : ''} (once, before the first deploy of this wave)`,
    '',
    `${report.adoptedRoles.length} roles exist today (listed in the plan index). Import them while the wave is at \`IRSA_ONLY\` (their trust as today): a create would fail on the existing name. \`cdk import\` imports only the mapped roles the stack does not hold yet; run it again whenever a new cluster brings new roles. From then on CloudFormation owns their trust and inline policies; the roles carry \`DeletionPolicy: Retain\`.`
      + (addons ? ' The managed add-ons below are imported the same way, each from its own stack, as they are today (version, configuration, serviceAccountRoleArn).' : ''),
    '',
    '```bash',
    ...report.importStacks.map((stack) => `npx cdk import --resource-mapping cdk.out/import/${stack.name}.json ${stack.id}`),
    `npx cdk diff '${report.stackPattern}'   # review: trust as today, permissions as the plan declares`,
    '```',
    '',
  ];
}

/** How the add-ons' service accounts move. */
function addonsSection(addons: { cluster: string; name: string; version: string }[]): string[] {
  if (addons.length === 0) {
    return [];
  }
  return [
    '## Managed add-ons',
    '',
    'These service accounts belong to a managed EKS add-on: EKS writes their ServiceAccount, so no manifest is rendered for them and apply.sh does not annotate them. '
      + 'The add-on\'s own stack moves them: `PodIdentityAssociations` (the Pod Identity association, owned by the add-on) from POD_IDENTITY on, `ServiceAccountRoleArn` (the annotation) until ANNOTATION_REMOVED. '
      + 'Its role\'s trust follows the phase table like any other. verify.sh reads `aws eks describe-addon` for both, and the add-on\'s version: POD_IDENTITY needs a version whose recorded `describe-addon-configuration` lists the service account.',
    '',
    ...addons.map((a) => `- ${a.cluster}: ${a.name} ${a.version}`),
    '',
  ];
}

/** The Helm releases whose values hold the annotation. */
function helmSection(report: WaveReport): string[] {
  const helm = [...new Set(report.clusters.flatMap((c) => c.helmManaged.map((sa) => `${sa.helmRelease} (${sa.namespace})`)))].sort();
  if (helm.length === 0) {
    return [];
  }
  return [
    '## Helm-managed ServiceAccounts',
    '',
    `apply.sh annotates them like the others and prints a \`TODO\` for each: change the annotation in the release values too, or the next \`helm upgrade\` reverts it. Releases: ${helm.join(', ')}.`,
    '',
  ];
}

/** The inventory's proxy findings (F12): one line per workload, with the clusters it runs on. */
function proxySection(report: WaveReport): string[] {
  const onClusters = (names: string[]) => (names.length === report.clusters.length ? `all ${names.length} clusters` : names.join(', '));
  const proxied = new Map<string, { fix: string; clusters: string[] }>();
  const unresolved = new Map<string, string[]>();
  for (const c of report.clusters) {
    for (const p of c.assignments) {
      for (const x of p.sa.workloads.filter((wl) => wl.noProxyMissing.length > 0)) {
        const key = `${x.kind} ${p.sa.namespace}/${x.name}`;
        const entry = proxied.get(key) ?? { fix: noProxyValue(x.noProxy), clusters: [] };
        entry.clusters.push(c.name);
        proxied.set(key, entry);
      }
    }
  }
  for (const c of report.clusters) {
    for (const p of c.assignments) {
      for (const x of p.sa.workloads.filter((wl) => (wl.unresolvedProxySettings ?? []).length > 0)) {
        const key = `${x.kind} ${p.sa.namespace}/${x.name} (${x.unresolvedProxySettings!.join(', ')})`;
        unresolved.set(key, [...(unresolved.get(key) ?? []), c.name]);
      }
    }
  }
  if (proxied.size === 0 && unresolved.size === 0) {
    return [];
  }
  return [
    '## Proxy findings of the inventory (F12)',
    '',
    'Fix these before POD_IDENTITY (preflight.sh checks them, and any other, live):',
    '',
    ...[...proxied].sort(([a], [b]) => a.localeCompare(b)).map(([key, { fix, clusters }]) => `- ${key} on ${onClusters(clusters)}: set \`NO_PROXY=${fix}\``),
    ...[...unresolved].sort(([a], [b]) => a.localeCompare(b))
      .map(([key, clusters]) => `- ${key} on ${onClusters(clusters)}: proxy settings from ConfigMaps or Secrets; preflight.sh resolves them`),
    '',
  ];
}

/** Roles at 75% of their trust policy limit or more: the ones to watch while dual. */
function nearLimit(trust: TrustLength[]): TrustLength[] {
  return trust.filter((t) => t.length >= 0.75 * t.max).sort((a, b) => b.length / b.max - a.length / a.max);
}

export function renderIndex(reports: WaveReport[], excluded: { sa: IrsaServiceAccount; reason: string }[],
  unassigned: IrsaServiceAccount[], format: 'markdown' | 'text', trust: TrustLength[] = [], foundationClusters: number = 0): string {
  const rows: string[][] = [];
  for (const r of reports) {
    for (const c of r.clusters) {
      for (const p of c.assignments) {
        rows.push([r.wave, r.phase, c.name, `${p.sa.namespace}/${p.sa.serviceAccount}`, p.sa.role.roleName, roleName(p.associationRoleArn) + (p.targetRoleArn ? ` -> ${roleName(p.targetRoleArn)}` : '') + (p.addon ? ` (add-on ${p.addon.name})` : '')]);
      }
    }
  }
  const header = ['wave', 'phase', 'cluster', 'service account', 'IRSA role', 'Pod Identity role'];
  const lines: string[] = [];
  if (format === 'markdown') {
    lines.push('# Fleet plan', '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    rows.forEach((row) => lines.push(`| ${row.join(' | ')} |`));
    lines.push('', '## Runbooks', '');
    if (foundationClusters > 0) {
      lines.push(`- [foundation](foundation.md): the eks-pod-identity-agent add-on of ${foundationClusters} clusters, deployed and checked on every node; run it first, once (a wave's step to POD_IDENTITY needs the agent)`);
    }
    reports.forEach((r) => lines.push(`- [${r.wave}](${r.wave}.md): ${r.phase}, ${r.clusters.reduce((n, c) => n + c.assignments.length, 0)} service accounts on ${r.clusters.length} clusters; scripts in \`${r.wave}/\``));
    lines.push('', '## Trust policies near their limit (75% or more)', '');
    const near = nearLimit(trust);
    near.forEach((t) => lines.push(`- ${t.arn}: ${t.length.toLocaleString('en-US')} of ${t.max.toLocaleString('en-US')} characters`));
    if (near.length === 0) {
      lines.push('- none');
    }
    lines.push('', '## Not migrated here', '');
    excluded.forEach((e) => lines.push(`- ${e.sa.cluster} ${e.sa.namespace}/${e.sa.serviceAccount}: ${e.reason}`));
    unassigned.forEach((sa) => lines.push(`- ${sa.cluster} ${sa.namespace}/${sa.serviceAccount}: in no wave (stays on IRSA)`));
    return lines.join('\n') + '\n';
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (row: string[]) => row.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  lines.push(fmt(header), ...rows.map(fmt));
  lines.push('', `excluded: ${excluded.length} (${[...new Set(excluded.map((e) => `${e.sa.namespace}/${e.sa.serviceAccount}: ${e.reason}`))].join('; ') || 'none'})`);
  lines.push(`in no wave: ${unassigned.length}`);
  const near = nearLimit(trust);
  lines.push(`trust policies near their limit: ${near.map((t) => `${arnName(t.arn)} ${t.length.toLocaleString('en-US')}/${t.max.toLocaleString('en-US')}`).join(', ') || 'none'}`);
  return lines.join('\n') + '\n';
}

const roleName = arnName;
