/**
 * The design checks, without an App: each over a plan decided by planFleet from plain inputs, with
 * the exact message the construct adds its path to.
 */
import { IrsaInventory, MigrationPhase, OidcProviderStep, PodIdentityCluster } from '../../../src';
import { checkPlacementNotLost, checkRetirements, checkTrustLengths } from '../../../src/migration/private/design-checks';
import { planFleet } from '../../../src/migration/private/fleet-plan';
import { WavePhase } from '../../../src/migration/private/phase-state';

const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111';
const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'a', clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/a', oidcIssuer: ISSUER });
const phasesAt = (phase: MigrationPhase) => new Map<string, WavePhase>([['w', { wave: 'w', phase, recorded: phase, acknowledged: [] }]]);

function design(phase: MigrationPhase, trustMax?: number) {
  const inventory = new IrsaInventory();
  inventory.addEntry({ cluster: 'a', namespace: 'ns', serviceAccount: 'app', roleArn: 'arn:aws:iam::111122223333:role/app' });
  return planFleet({
    clusters: [cluster],
    inventory,
    plan: { waves: [{ name: 'w', select: [{ namespace: 'ns' }] }], roles: { app: { statements: [] } } },
    phases: phasesAt(phase),
    trustPolicyMaxLengthByAccount: trustMax === undefined ? undefined : { 111122223333: trustMax },
  });
}

test('trust lengths: a role over its limit fails with its length, the limit and the ways out; within it passes', () => {
  expect(() => checkTrustLengths(design(MigrationPhase.DUAL_TRUST))).not.toThrow();
  const fleet = design(MigrationPhase.DUAL_TRUST, 300);
  const length = fleet.roles.get('arn:aws:iam::111122223333:role/app')!.trustLength;
  expect(() => checkTrustLengths(fleet)).toThrow(`role arn:aws:iam::111122223333:role/app: the trust policy is ${length} characters (whitespace not counted), over trustPolicyMaxLength 300. `
    + 'Options: raise the account\'s IAM quota "Role trust policy length" and declare the raised value (trustPolicyMaxLengthByAccount, or trustPolicyMaxLength of the role in the plan); '
    + 'trust fewer clusters per role (1 OIDC statements now); or move its service accounts to POD_IDENTITY_ONLY once no pod uses it through IRSA, which drops the OIDC statements.');
});

test('retirements: a provider still used cannot be retired or stepped; unused, it can; a cluster not in the fleet is named', () => {
  const steps = (step: OidcProviderStep) => new Map([['a', step]]);
  expect(() => checkRetirements(design(MigrationPhase.POD_IDENTITY), steps(OidcProviderStep.RETIRING), undefined))
    .toThrow(/^the OIDC provider of cluster "a" cannot be at RETIRING \(recorded in the state\): still used by .*app.*; or step the provider back towards KEPT \(one step per deploy\)\.$/);
  expect(() => checkRetirements(design(MigrationPhase.POD_IDENTITY), steps(OidcProviderStep.KEPT), ['a']))
    .toThrow(/^the OIDC provider of cluster "a" cannot be retired: still used by .*app.*first\.$/);
  expect(() => checkRetirements(design(MigrationPhase.POD_IDENTITY_ONLY), steps(OidcProviderStep.RETIRING), undefined)).not.toThrow();
  expect(() => checkRetirements(design(MigrationPhase.POD_IDENTITY_ONLY), steps(OidcProviderStep.KEPT), ['b']))
    .toThrow('retiredOidcProviders names "b", which is not in clusters.');
});

test('placement file: missing is normal before the first deploy, not once the state records a step', () => {
  expect(() => checkPlacementNotLost(undefined, phasesAt(MigrationPhase.IRSA_ONLY), { waves: { w: [{ phase: MigrationPhase.IRSA_ONLY }] } }, 'placement.json'))
    .not.toThrow();
  expect(() => checkPlacementNotLost(undefined, phasesAt(MigrationPhase.DUAL_TRUST), undefined, 'placement.json'))
    .toThrow('the placement file placement.json is missing, but the state records steps of w: the migration has been deployed, and placing its resources anew '
      + 'could move them between stacks. Restore the file from version control.');
  expect(() => checkPlacementNotLost({ version: 2 } as any, phasesAt(MigrationPhase.DUAL_TRUST), undefined, 'placement.json')).not.toThrow();
});
