import { Token } from 'aws-cdk-lib';
import { FleetPlan, oidcProviderUsers } from './fleet-plan';
import { PlanningError, WavePhase } from './phase-state';
import { PlacementRecord } from './placement';
import { show } from '../../private/errors';
import { hasPodIdentityTrust } from '../../private/phases';
import { MigrationState, OidcProviderStep } from '../migration-state';

/*
 * Checks of the migration's design: pure functions over the plan the planner decided and the
 * inputs, throwing PlanningError with what is wrong and how to fix it. No construct, no file system:
 * the construct turns the error into one that names it.
 */

/** Every role's trust policy within its length limit (IAM's quota, or the raised value declared). */
export function checkTrustLengths(fleet: FleetPlan): void {
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
export function checkRetirements(fleet: FleetPlan, providerSteps: Map<string, OidcProviderStep>, retiredOidcProviders: string[] | undefined): void {
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
