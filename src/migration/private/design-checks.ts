import { Token } from 'aws-cdk-lib';
import { FleetDesign } from './design';
import { PlanningError, WavePhase } from './phase-state';
import { PlacementRecord } from './placement';
import { roleInput } from './role-resource';
import { StackLayout } from './stack-layout';
import { MAX_TEMPLATE_BYTES, roleTemplateBytes, TEMPLATE_OVERHEAD_BYTES } from './template-size';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { show } from '../../private/errors';
import { hasIrsaAnnotation, hasPodIdentityTrust } from '../../private/phases';
import { MigrationState, OidcProviderStep } from '../migration-state';

/*
 * Checks of the migration's design: pure functions over the plan the planner decided and the
 * inputs, throwing PlanningError with what is wrong and how to fix it. No construct, no file system:
 * the construct turns the error into one that names it.
 */

/** Every role's trust policy within its length limit (IAM's quota, or the raised value declared). */
export function checkTrustLengths(fleet: FleetDesign): void {
  for (const [arn, role] of fleet.roles) {
    if (role.trustLength > role.trustMax) {
      throw new PlanningError(`role ${arn}: the trust policy is ${role.trustLength.toLocaleString('en-US')} characters (whitespace not counted), over trustPolicyMaxLength ${role.trustMax.toLocaleString('en-US')}. `
        + 'Options: raise the account\'s IAM quota "Role trust policy length" and declare the raised value (trustPolicyMaxLengthByAccount, or trustPolicyMaxLength of the role in the plan); '
        + `trust fewer clusters per role (${role.irsaClusters.length} OIDC statements now); `
        + 'or move its service accounts to POD_IDENTITY_ONLY once no pod uses it through IRSA, which drops the OIDC statements.');
    }
  }
}

/**
 * An OIDC provider retired (`retiredOidcProviders`) or stepped towards retirement in the state only
 * when nothing uses it any more, and, once stepped, only with a concrete issuer (it is imported by its ARN).
 */
export function checkRetirements(fleet: FleetDesign, providerSteps: Map<string, OidcProviderStep>, retiredOidcProviders: string[] | undefined): void {
  const retiring = [...providerSteps].filter(([, step]) => step !== OidcProviderStep.KEPT).map(([name, step]) => ({ name, step }));
  for (const name of retiredOidcProviders ?? []) {
    if (!fleet.clusters.has(name)) {
      throw new PlanningError(`retiredOidcProviders names ${show(name)}, which is not in clusters.`);
    }
    retiring.push({ name, step: OidcProviderStep.KEPT });
  }
  for (const { name, step } of retiring) {
    const what = step === OidcProviderStep.KEPT ? 'cannot be retired' : `cannot be at ${step} (recorded in the state)`;
    const cluster = fleet.clusters.get(name)!;
    const users = oidcProviderUsers(fleet, name);
    if (users.length > 0) {
      throw new PlanningError(`the OIDC provider of cluster ${show(name)} ${what}: still used by ${users.join(', ')}. `
        + 'Move every wave on the cluster to POD_IDENTITY_ONLY, retire the IRSA roles kept for it, and migrate the service accounts left on IRSA first'
        + (step === OidcProviderStep.KEPT ? '.' : `; or step the provider back towards KEPT (${step === OidcProviderStep.ADOPTED ? 'record KEPT' : 'one step per deploy'}).`));
    }
    if (step !== OidcProviderStep.KEPT && (cluster.oidcIssuer === undefined || cluster.oidcProviderArn === undefined
      || Token.isUnresolved(cluster.oidcIssuer) || Token.isUnresolved(cluster.oidcProviderArn))) {
      throw new PlanningError(`the OIDC provider of cluster ${show(name)} is at ${step} in the state, but the cluster has no concrete oidcIssuer: give it (aws eks describe-cluster --query cluster.identity.oidc.issuer), so that the provider can be imported by its ARN.`);
    }
  }
}

/**
 * A missing placement file is only normal before the first deploy: once the state records a step,
 * resources are deployed, and placing them anew could move them.
 */
export function checkPlacementNotLost(record: PlacementRecord | undefined, phases: Map<string, WavePhase>, state: MigrationState | undefined,
  placementFile: string): void {
  const stepped = (wave: string) => (state?.waves?.[wave]?.length ?? 0) > 1;
  const started = [...phases.values()].filter((p) => hasPodIdentityTrust(p.recorded) || stepped(p.wave));
  if (record === undefined && started.length > 0) {
    throw new PlanningError(`the placement file ${placementFile} is missing, but the state records steps of ${started.map((p) => p.wave).join(', ')}: the migration has been deployed, and placing its resources anew could move them between stacks. Restore the file from version control.`);
  }
}

/**
 * Each role stack's template, as the roles are now, within CloudFormation's limit. `placedRoles`:
 * each account's roles by ARN, with the shard each is placed in; `roleBytes`: each role's planned
 * bytes (what a role whose trust is its widest takes).
 */
export function checkRoleStackSizes(fleet: FleetDesign, layout: StackLayout, placedRoles: { [account: string]: { [arn: string]: number } },
  roleBytes: Map<string, number>): void {
  const stacks = new Map<string, { bytes: number; roles: { arn: string; bytes: number }[] }>();
  for (const [arn, role] of fleet.roles) {
    const name = layout.roles(role.parsed.account, placedRoles[role.parsed.account][arn]).stackName;
    const entry = stacks.get(name) ?? { bytes: TEMPLATE_OVERHEAD_BYTES, roles: [] };
    // a role whose trust is its widest (within its quota, checked before) takes its planned bytes
    const bytes = role.trust === role.widestTrust ? roleBytes.get(arn)! : roleTemplateBytes(roleInput(role, role.trust));
    entry.bytes += bytes;
    entry.roles.push({ arn, bytes });
    stacks.set(name, entry);
  }
  for (const [name, { bytes, roles }] of stacks) {
    if (bytes > MAX_TEMPLATE_BYTES) {
      const largest = roles.sort((a, b) => b.bytes - a.bytes).slice(0, 3).map((r) => `${r.arn} (${r.bytes.toLocaleString('en-US')} bytes)`);
      throw new PlanningError(`stack ${name} would have a template of about ${bytes.toLocaleString('en-US')} bytes, over CloudFormation's 1 MB (checked at ${MAX_TEMPLATE_BYTES.toLocaleString('en-US')}): the trust of its ${roles.length} roles grew since they were placed (largest: ${largest.join(', ')}). `
        + 'Placed roles never move (CloudFormation would delete and recreate them). Options: move waves on to POD_IDENTITY_ONLY, which drops the OIDC statements; serve fewer clusters per role; or retire roles of this stack.');
    }
  }
}

/** The region of the role stacks: given, else recorded, else the fleet's one region (a fleet of several regions must say). */
export function chooseHomeRegion(homeRegion: string | undefined, record: PlacementRecord | undefined, clusters: PodIdentityCluster[]): string {
  if (homeRegion !== undefined) {
    return homeRegion;
  }
  if (record) {
    return record.homeRegion;
  }
  const regions = [...new Set(clusters.map((c) => c.region!))].sort();
  if (regions.length > 1) {
    throw new PlanningError(`the fleet spans ${regions.join(', ')} and no homeRegion is set or recorded: set homeRegion, the region of the role stacks (it is recorded in the placement file and never changes).`);
  }
  return regions[0];
}

/**
 * Who still uses a cluster's OIDC provider: roles whose trust names it, the service accounts the
 * migration leaves on IRSA there (excluded or in no wave), and add-ons that still have a
 * `serviceAccountRoleArn`.
 */
export function oidcProviderUsers(plan: FleetDesign, clusterName: string): string[] {
  const roles = [...plan.roles.entries()].filter(([, r]) => r.irsaClusters.includes(clusterName)).map(([arn]) => `role ${arn}`);
  const left = [
    ...plan.excluded.filter((e) => e.sa.cluster === clusterName).map((e) => `excluded ${e.sa.namespace}/${e.sa.serviceAccount} (${e.reason})`),
    ...plan.unassigned.filter((sa) => sa.cluster === clusterName).map((sa) => `${sa.namespace}/${sa.serviceAccount} (in no wave)`),
    ...plan.addons.filter((a) => a.addon.cluster === clusterName && (a.phase === undefined || hasIrsaAnnotation(a.phase)))
      .map((a) => `add-on ${a.addon.addonName} (serviceAccountRoleArn ${a.roleArn}${a.phase ? ` until ANNOTATION_REMOVED; wave ${a.wave} is at ${a.phase}` : ''})`),
  ];
  return [...roles, ...left];
}

