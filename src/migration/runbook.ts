import { IrsaServiceAccount } from './irsa-inventory';
import { ServiceAccountChart } from './service-account-chart';
import { MigrationPhase } from '../migration-phase';
import { hasAssociation, hasIrsaAnnotation, hasIrsaTrust, nextPhase, previousPhase } from '../private/phases';

/** What the runbook of a wave is rendered from. */
export interface WaveReport {
  readonly wave: string;
  readonly risk?: string;
  /** The phase this synthesis builds. */
  readonly phase: MigrationPhase;
  /** The phase the state records. */
  readonly recorded: MigrationPhase;
  /** The context key, when a context override set `phase`. */
  readonly overriddenBy?: string;
  readonly contextKey: string;
  /** The stacks `cdk deploy <stackPattern>` deploys (the wave's records and their dependencies). */
  readonly stacks: string[];
  /** The construct path pattern that selects the wave: `<migration>/<wave>/*`. */
  readonly stackPattern: string;
  /** The stacks with roles to adopt (construct path for the CLI, stack name for the mapping file). */
  readonly importStacks: { readonly id: string; readonly name: string }[];
  readonly clusters: ClusterReport[];
  readonly adoptedRoles: string[];
  readonly newRoles: string[];
}

export interface ClusterReport {
  readonly name: string;
  readonly region: string;
  readonly placements: { readonly sa: IrsaServiceAccount; readonly associationRoleArn: string; readonly targetRoleArn?: string }[];
  readonly helmManaged: IrsaServiceAccount[];
}

const NEXT: { [phase: string]: string } = {
  IRSA_ONLY: 'the roles also trust pods.eks.amazonaws.com (sts:AssumeRole + sts:TagSession, pinned to the wave\'s service accounts). No pod changes.',
  DUAL_TRUST: 'the Pod Identity associations are created. Every pod of these service accounts created from now on gets Pod Identity credentials (F3); running pods keep IRSA until restarted.',
  POD_IDENTITY: 'the IRSA annotation is removed from the ServiceAccounts (manifests). The OIDC trust stays for pods not yet recreated.',
  ANNOTATION_REMOVED: 'the OIDC (IRSA) statements are removed from the roles\' trust: Pod Identity only.',
  POD_IDENTITY_ONLY: 'nothing: the wave is done. Retire per-cluster roles and OIDC providers no role trusts any more.',
};


/** How to get new pods for a workload of each kind (F3: only pods created after the association change). */
const RESTART: { [kind: string]: (ctx: string, ns: string, name: string) => string } = {
  Deployment: (ctx, ns, name) => `kubectl --context ${ctx} -n ${ns} rollout restart deployment/${name} && kubectl --context ${ctx} -n ${ns} rollout status deployment/${name}`,
  StatefulSet: (ctx, ns, name) => `kubectl --context ${ctx} -n ${ns} rollout restart statefulset/${name} && kubectl --context ${ctx} -n ${ns} rollout status statefulset/${name}`,
  DaemonSet: (ctx, ns, name) => `kubectl --context ${ctx} -n ${ns} rollout restart daemonset/${name} && kubectl --context ${ctx} -n ${ns} rollout status daemonset/${name}`,
  CronJob: (ctx, ns, name) => `# CronJob ${ns}/${name}: its next run creates new pods; to check now: kubectl --context ${ctx} -n ${ns} create job --from=cronjob/${name} ${name}-pod-identity-check`,
  Job: (_ctx, ns, name) => `# Job ${ns}/${name}: its running pods keep their credentials; the next run creates new pods`,
  ReplicaSet: (ctx, ns, name) => `kubectl --context ${ctx} -n ${ns} delete pods -l <selector of replicaset/${name}>   # recreated by the ReplicaSet`,
  Pod: (ctx, ns, name) => `kubectl --context ${ctx} -n ${ns} delete pod ${name}   # a bare pod: recreate it from its manifest`,
};

/** Record `phase` as the wave's next state entry, review, deploy the wave (its records and what they depend on). */
function stepCommands(report: WaveReport, phase: MigrationPhase): string[] {
  return [
    `# 1. in the state file, append "${phase}" to waves.${report.wave}; open the change for review`,
    '# 2. once merged (cdk diff shows only this wave\'s trust or associations):',
    `npx cdk deploy '${report.stackPattern}'`,
  ];
}

/** The Markdown runbook of a wave. */
export function renderRunbook(report: WaveReport): string {
  const lines: string[] = [];
  const to = nextPhase(report.phase);
  const back = previousPhase(report.phase);
  const w = (s = '') => lines.push(s);
  w(`# Runbook: ${report.wave}${report.risk ? ` (risk: ${report.risk})` : ''}`);
  w();
  w(`- Current phase: **${report.phase}**${report.overriddenBy ? ` (from context \`${report.overriddenBy}\`; the state records ${report.recorded}: record it)` : ' (recorded in the state file)'}`);
  w(`- Next phase: **${to ?? '(done)'}**`);
  w(`- Deploy the wave with \`npx cdk deploy '${report.stackPattern}'\`: its phase records, after the stacks they depend on: ${report.stacks.map((s) => `\`${s}\``).join(', ')}`);
  w(`- Emergency override (one phase, not recorded): \`-c ${report.contextKey}=<PHASE>\``);
  w();
  w('## Service accounts');
  w();
  w('| Cluster | Namespace/ServiceAccount | IRSA role today | Association role | Target role | Workloads |');
  w('|---|---|---|---|---|---|');
  for (const c of report.clusters) {
    for (const p of c.placements) {
      w(`| ${c.name} | ${p.sa.namespace}/${p.sa.serviceAccount} | ${p.sa.roleArn} | ${p.associationRoleArn} | ${p.targetRoleArn ?? '-'} | ${p.sa.workloads.map((x) => `${x.kind}/${x.name}`).join(', ') || '(none recorded)'} |`);
    }
  }
  w();
  if (report.adoptedRoles.length > 0) {
    w('## Adopting the existing roles (once, before the first deploy of this wave)');
    w();
    w('These roles exist today. Import them while the wave is recorded at `IRSA_ONLY` (their trust as today) instead of creating them: a create would fail on the existing name. `cdk import` imports only the mapped roles that the stack does not hold yet; the deploy that follows adds the rest. Run it again whenever a new cluster brings new roles.');
    w();
    for (const arn of report.adoptedRoles) {
      w(`- ${arn}`);
    }
    w();
    w('```bash');
    for (const stack of report.importStacks) {
      w(`npx cdk import --resource-mapping cdk.out/import/${stack.name}.json ${stack.id}`);
    }
    w(`npx cdk diff '${report.stackPattern}'   # review: trust as today, permissions as the plan declares`);
    w(`npx cdk deploy '${report.stackPattern}'`);
    w('```');
    w();
    w('From then on CloudFormation owns their trust, inline policies and managed policy attachments: permissions the plan does not declare are removed by that deploy. The roles carry `DeletionPolicy: Retain`, so removing them from the app never deletes them.');
    w();
  }
  w(`## Next step: ${report.phase} → ${to ?? '(done)'}`);
  w();
  w(`What the deploy changes: ${NEXT[report.phase]}`);
  w();
  if (to) {
    if (hasIrsaTrust(report.phase) && !hasIrsaTrust(to)) {
      w('### Before you deploy: no pod may still use IRSA (F5)');
      w();
      w('Pods created before the association keep refreshing IRSA credentials until they are recreated. Every pod of the wave must show the Pod Identity variables and none the IRSA ones:');
      w();
      w('```bash');
      for (const c of report.clusters) {
        for (const p of c.placements) {
          w(`kubectl --context ${c.name} -n ${p.sa.namespace} get pods -o json | jq -r '.items[] | select(.spec.serviceAccountName=="${p.sa.serviceAccount}") | select([.spec.containers[].env[]?.name] | index("AWS_WEB_IDENTITY_TOKEN_FILE")) | .metadata.name'   # must print nothing`);
        }
      }
      w('```');
      w();
    }
    w('### Record, review, deploy');
    w();
    w('```bash');
    stepCommands(report, to).forEach((line) => w(line));
    w('```');
    w();
    if (hasAssociation(to) && !hasAssociation(report.phase)) {
      w('### Wait for the associations, then restart');
      w();
      w('Associations are eventually consistent (F9): wait before recreating pods.');
      w();
      w('```bash');
      for (const c of report.clusters) {
        w(`aws eks list-pod-identity-associations --region ${c.region} --cluster-name ${c.name} --query 'associations[].[namespace,serviceAccount]' --output text`);
      }
      w('sleep 30');
      for (const c of report.clusters) {
        w(`# ${c.name}`);
        const seen = new Set<string>();
        for (const p of c.placements) {
          for (const wl of p.sa.workloads) {
            const key = `${wl.kind}/${p.sa.namespace}/${wl.name}`;
            if (!seen.has(key)) {
              seen.add(key);
              w(RESTART[wl.kind](c.name, p.sa.namespace, wl.name));
            }
          }
        }
        w('# bare pods of these service accounts (not owned by a controller): delete and recreate them');
      }
      w('```');
      w();
    }
    if (hasIrsaAnnotation(to) !== hasIrsaAnnotation(report.phase) || (hasAssociation(to) && !hasAssociation(report.phase))) {
      const annotation = hasIrsaAnnotation(to) ? 'kept' : 'removed';
      w(`### ServiceAccount manifests (annotation ${annotation})`);
      w();
      w('Render them with the next phase recorded (`cdk synth`) and apply:');
      w();
      w('```bash');
      for (const c of report.clusters) {
        w(`kubectl --context ${c.name} apply -f cdk.out/k8s/${c.name}/${report.wave}.yaml`);
      }
      w('```');
      w();
    }
  }
  const helm = report.clusters.flatMap((c) => c.helmManaged.map((sa) => ({ c, sa })));
  if (helm.length > 0) {
    w('## Helm-managed ServiceAccounts');
    w();
    w('These are not in the manifests: a `helm upgrade` would revert them. Change the annotation in the release values (e.g. `serviceAccount.annotations`), or patch now and mirror it in the values:');
    w();
    w('```bash');
    for (const { c, sa } of helm) {
      w(`# release ${sa.helmRelease} (${sa.namespace})`);
      w(`kubectl --context ${c.name} -n ${sa.namespace} patch serviceaccount ${sa.serviceAccount} --type merge -p '${ServiceAccountChart.helmPatch(sa, to ?? report.phase)}'`);
    }
    w('```');
    w();
  }
  const proxied = report.clusters.flatMap((c) => c.placements.flatMap((p) => p.sa.workloads
    .filter((x) => x.noProxyMissing.length > 0)
    .map((x) => ({ c, p, x }))));
  if (proxied.length > 0) {
    w('## Proxy findings (F12)');
    w();
    w('These workloads set HTTP(S)_PROXY without the Pod Identity agent in NO_PROXY: their credential requests would go to the proxy and the SDK would fall back to the node role. Fix NO_PROXY before the association exists:');
    w();
    for (const { c, p, x } of proxied) {
      w(`- ${c.name} ${x.kind} ${p.sa.namespace}/${x.name}: missing ${x.noProxyMissing.join(', ')}. Set \`NO_PROXY=${ServiceAccountChart.noProxyValue(x.noProxy)}\``);
    }
    w();
  }
  w('## Checks');
  w();
  w('```bash');
  for (const c of report.clusters) {
    for (const p of c.placements) {
      const expected = hasAssociation(to ?? report.phase) ? (p.targetRoleArn ?? p.associationRoleArn) : p.sa.roleArn;
      const wl = p.sa.workloads[0];
      const exec = wl ? `${wl.kind.toLowerCase()}/${wl.name}` : `<pod of ${p.sa.serviceAccount}>`;
      w(`# ${c.name} ${p.sa.namespace}/${p.sa.serviceAccount}: expect ${assumedRoleArn(expected)}/...`);
      w(`kubectl --context ${c.name} -n ${p.sa.namespace} exec ${exec} -- env | grep -E '^AWS_(CONTAINER_CREDENTIALS_FULL_URI|CONTAINER_AUTHORIZATION_TOKEN_FILE|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE)='`);
      w(`kubectl --context ${c.name} -n ${p.sa.namespace} exec ${exec} -- aws sts get-caller-identity --query Arn --output text`);
    }
  }
  w('# CloudTrail: the agent calls EKS Auth AssumeRoleForPodIdentity, with the session tags (F13)');
  w('aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=AssumeRoleForPodIdentity --max-results 20');
  w('```');
  w();
  w('## Rollback');
  w();
  if (back) {
    w('```bash');
    stepCommands(report, back).forEach((line) => w(line));
    if (hasAssociation(report.phase) && !hasAssociation(back)) {
      w('# the associations are gone: recreate the pods so they get the IRSA variables again (the annotation and the OIDC trust are still there)');
    }
    if (hasIrsaAnnotation(back) && !hasIrsaAnnotation(report.phase)) {
      w('# then re-apply the manifests of the previous phase (annotation back)');
      for (const c of report.clusters) {
        w(`kubectl --context ${c.name} apply -f cdk.out/k8s/${c.name}/${report.wave}.yaml`);
      }
    }
    w('```');
  } else {
    w('Nothing to roll back: this is today\'s state.');
  }
  w();
  return lines.join('\n');
}

/** The fleet plan: waves × clusters × service accounts × phase. */
/** A role's trust policy length against its limit. */
export interface TrustLength {
  readonly arn: string;
  readonly length: number;
  readonly max: number;
}

/** Roles at 75% of their trust policy limit or more: the ones to watch while dual. */
function nearLimit(trust: TrustLength[]): TrustLength[] {
  return trust.filter((t) => t.length >= 0.75 * t.max).sort((a, b) => b.length / b.max - a.length / a.max);
}

export function renderIndex(reports: WaveReport[], excluded: { sa: IrsaServiceAccount; reason: string }[],
  unassigned: IrsaServiceAccount[], format: 'markdown' | 'text', trust: TrustLength[] = []): string {
  const rows: string[][] = [];
  for (const r of reports) {
    for (const c of r.clusters) {
      for (const p of c.placements) {
        rows.push([r.wave, r.phase, c.name, `${p.sa.namespace}/${p.sa.serviceAccount}`, p.sa.role.roleName, roleName(p.associationRoleArn) + (p.targetRoleArn ? ` -> ${roleName(p.targetRoleArn)}` : '')]);
      }
    }
  }
  const header = ['wave', 'phase', 'cluster', 'service account', 'IRSA role', 'Pod Identity role'];
  const lines: string[] = [];
  if (format === 'markdown') {
    lines.push('# Fleet plan', '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    rows.forEach((row) => lines.push(`| ${row.join(' | ')} |`));
    lines.push('', '## Runbooks', '');
    reports.forEach((r) => lines.push(`- [${r.wave}](${r.wave}.md): ${r.phase}, ${r.clusters.reduce((n, c) => n + c.placements.length, 0)} service accounts on ${r.clusters.length} clusters`));
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
  lines.push(`trust policies near their limit: ${near.map((t) => `${t.arn.slice(t.arn.lastIndexOf('/') + 1)} ${t.length.toLocaleString('en-US')}/${t.max.toLocaleString('en-US')}`).join(', ') || 'none'}`);
  return lines.join('\n') + '\n';
}

function roleName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** The assumed-role ARN prefix of a role: same partition and account, STS, no path. */
function assumedRoleArn(roleArn: string): string {
  return roleArn.replace(/^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/, 'arn:$1:sts::$2:assumed-role/$3');
}
