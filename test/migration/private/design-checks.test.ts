/**
 * The design checks, without an App: each over a plan decided by designFleet from plain inputs, with
 * the exact message the construct adds its path to.
 */
import { IrsaInventory, MigrationPhase, OidcProviderStep, PodIdentityCluster } from '../../../src';
import { checkPlacementNotLost, checkRetirements, checkRoleStackSizes, checkTrustLengths, chooseHomeRegion } from '../../../src/migration/private/design-checks';
import { designFleet } from '../../../src/migration/private/fleet-design';
import { WavePhase } from '../../../src/migration/private/phase-state';
import { StackLayout } from '../../../src/migration/private/stack-layout';

const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111';
const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'a', clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/a', oidcIssuer: ISSUER });
const phasesAt = (phase: MigrationPhase) => new Map<string, WavePhase>([['w', { wave: 'w', phase, recorded: phase, acknowledged: [] }]]);

function design(phase: MigrationPhase, trustMax?: number) {
  const inventory = new IrsaInventory();
  inventory.addEntry({ cluster: 'a', namespace: 'ns', serviceAccount: 'app', roleArn: 'arn:aws:iam::111122223333:role/app' });
  return designFleet({
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

test('role stack sizes: a stack whose roles outgrew CloudFormation\'s limit fails, naming the largest roles; within it passes', () => {
  const fleet = design(MigrationPhase.DUAL_TRUST);
  const arn = 'arn:aws:iam::111122223333:role/app';
  const layout = new StackLayout('PodIdentity', 'us-east-1');
  const placed = { 111122223333: { [arn]: 0 } };
  expect(fleet.roles.get(arn)!.trust).toBe(fleet.roles.get(arn)!.widestTrust);
  expect(() => checkRoleStackSizes(fleet, layout, placed, new Map([[arn, 4_000]]))).not.toThrow();
  expect(() => checkRoleStackSizes(fleet, layout, placed, new Map([[arn, 1_000_000]]))).toThrow(
    /^stack PodIdentity-Roles-111122223333-0 would have a template of about 1,001,500 bytes, over CloudFormation's 1 MB \(checked at 1,000,000\): the trust of its 1 roles grew since they were placed \(largest: arn:aws:iam::111122223333:role\/app \(1,000,000 bytes\)\)\. Placed roles never move/);
});

test('home region: given, else recorded, else the fleet\'s one region; a fleet of several must set it', () => {
  const euw1 = PodIdentityCluster.fromClusterAttributes({ clusterName: 'b', clusterArn: 'arn:aws:eks:eu-west-1:111122223333:cluster/b' });
  expect(chooseHomeRegion('eu-west-1', undefined, [cluster])).toBe('eu-west-1');
  expect(chooseHomeRegion(undefined, { homeRegion: 'ap-southeast-2' } as any, [cluster, euw1])).toBe('ap-southeast-2');
  expect(chooseHomeRegion(undefined, undefined, [cluster])).toBe('us-east-1');
  expect(() => chooseHomeRegion(undefined, undefined, [cluster, euw1])).toThrow(
    'the fleet spans eu-west-1, us-east-1 and no homeRegion is set or recorded: set homeRegion, the region of the role stacks (it is recorded in the placement file and never changes).');
});
