import { FleetDesign } from './design';
import { WavePhase, CONTEXT_PREFIX } from './phase-state';
import { oidcProviderInAccount } from '../../private/trust';
import { MigrationPlan } from '../plan';
import { ClusterReport, WaveReport } from './wave-report';

/** What the wave reports are made of. */
export interface ReportInputs {
  readonly plan: MigrationPlan;
  readonly fleet: FleetDesign;
  readonly phases: Map<string, WavePhase>;
  /** The construct path of the migration (the CLI selects stacks by it). */
  readonly migrationPath: string;
  /** The stack names `cdk deploy '<migration>/<wave>/*'` deploys. */
  readonly stacksOf: (wave: string) => string[];
  /** The role stacks with roles of the wave to import. */
  readonly importStacks: (wave: string) => { id: string; name: string }[];
}

/** One report per wave, in plan order: what the runbooks and the plan index are rendered from. */
export function waveReports(inputs: ReportInputs): WaveReport[] {
  const { fleet } = inputs;
  return inputs.plan.waves.map((wave) => {
    const phase = inputs.phases.get(wave.name)!;
    const assignments = fleet.assignments.filter((p) => p.wave === wave.name);
    const clusters: ClusterReport[] = [...new Set(assignments.map((p) => p.cluster.clusterName))].sort().map((name) => {
      const mine = assignments.filter((p) => p.cluster.clusterName === name);
      const cluster = fleet.clusters.get(name)!;
      return {
        name,
        region: cluster.region!,
        account: cluster.account!,
        arn: cluster.clusterArn,
        computeType: cluster.computeType,
        assignments: mine.map((p) => ({
          sa: p.sa,
          associationRoleArn: p.associationRoleArn,
          targetRoleArn: p.targetRoleArn,
          irsaTrust: fleet.roles.get(p.sa.role.arn)?.kind === 'irsa-only' ? 'kept' as const : 'ends' as const,
          podTrust: fleet.roles.get(p.associationRoleArn)?.kind === 'created' ? 'always' as const : 'phased' as const,
          oidcProviderArn: oidcProviderInAccount(cluster.oidcProviderArn ?? '', p.sa.role.account),
          issuer: cluster.oidcIssuer ?? '',
          addon: p.addon ? { name: p.addon.addonName, version: p.addon.addonVersion } : undefined,
        })),
        helmManaged: mine.map((p) => p.sa).filter((sa) => sa.helmRelease !== undefined),
      };
    });
    const roles = [...fleet.roles.entries()].filter(([, r]) => r.waves.includes(wave.name));
    return {
      wave: wave.name,
      risk: wave.risk,
      phase: phase.phase,
      recorded: phase.recorded,
      overriddenBy: phase.overriddenBy,
      contextKey: `${CONTEXT_PREFIX}${wave.name}`,
      stacks: inputs.stacksOf(wave.name),
      stackPattern: `${inputs.migrationPath}/${wave.name}/*`,
      importStacks: inputs.importStacks(wave.name),
      clusters,
      adoptedRoles: roles.filter(([, r]) => r.adopted).map(([arn]) => arn),
    };
  });
}
