/**
 * The migration writes its associations, add-ons, phase records and OIDC providers as plain
 * CfnResources, and its roles as CfnRoles with their policy documents rendered once
 * (migration-resources.ts). Each must render exactly what its typed L1 renders from the same values
 * (key order included), and take `Tags.of()` tags as the typed L1 does, merged with the tags it
 * records (an add-on's).
 */
import { App, CfnResource, Stack, Tags } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { IrsaInventory, MigrationPhase, PodIdentityCluster } from '../../src';
import { designMigration } from '../../src/migration/private/migration-design';
import { addonResource, associationResource, oidcProviderResource, recordResource, roleResource } from '../../src/migration/private/migration-resources';
import { AssociationRegistry } from '../../src/private/associations';
import { DESIGN_SETTINGS } from '../util/design-inputs';
import { withWavePhases } from '../util/placement';

const ACCOUNT = '111122223333';
const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111';
const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'a', clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/a`, oidcIssuer: ISSUER });

/** A design at POD_IDENTITY with one service account on an adopted role, and an add-on with recorded tags. */
function design() {
  const inventory = new IrsaInventory();
  inventory.addEntry({ cluster: 'a', namespace: 'ns', serviceAccount: 'app', roleArn: `arn:aws:iam::${ACCOUNT}:role/app` });
  inventory.addEntry({ cluster: 'a', namespace: 'kube-system', serviceAccount: 'ebs-csi-controller-sa', roleArn: `arn:aws:iam::${ACCOUNT}:role/ebs` });
  inventory.addAddonsJson('a', JSON.stringify({
    addon: { addonName: 'aws-ebs-csi-driver', addonVersion: 'v1.30.0-eksbuild.1', serviceAccountRoleArn: `arn:aws:iam::${ACCOUNT}:role/ebs`, tags: { team: 'storage', env: 'prod' } },
  }));
  inventory.addAddonConfigurationJson(JSON.stringify({
    addonName: 'aws-ebs-csi-driver', addonVersion: 'v1.30.0-eksbuild.1', podIdentityConfiguration: [{ serviceAccount: 'ebs-csi-controller-sa', recommendedManagedPolicies: [] }],
  }));
  const history = [MigrationPhase.IRSA_ONLY, MigrationPhase.DUAL_TRUST, MigrationPhase.POD_IDENTITY].map((phase) => ({ phase }));
  const inputs = {
    ...DESIGN_SETTINGS,
    clusters: [cluster],
    inventory,
    plan: { waves: [{ name: 'w', select: [{ namespace: 'ns' }, { namespace: 'kube-system' }] }], roles: { '*': { statements: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: '*' }] } } },
  };
  const first = designMigration(inputs);
  const recordedPlacement = withWavePhases(first.placementText!, { w: MigrationPhase.POD_IDENTITY });
  return designMigration({ ...inputs, state: { waves: { w: history } }, recordedPlacement });
}

/** `make` run in one stack, its typed counterpart in another, both tagged by the app unless `tagged` is false: their properties, as JSON text. */
function both(make: (stack: Stack) => CfnResource, typed: (stack: Stack) => CfnResource, tagged = true): [string, string] {
  const app = new App();
  const plain = new Stack(app, 'Plain', { env: { account: ACCOUNT, region: 'us-east-1' } });
  const l1 = new Stack(app, 'Typed', { env: { account: ACCOUNT, region: 'us-east-1' } });
  const a = make(plain);
  const b = typed(l1);
  if (tagged) {
    Tags.of(app).add('cost-center', 'platform');
  }
  const props = (stack: Stack, r: CfnResource) => JSON.stringify(Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(r)].Properties);
  return [props(plain, a), props(l1, b)];
}

/** The typed L1s the plain resources are compared with, as the design's values make them. */
const typedAssociation = (s: Stack, roleArn: string) => new eks.CfnPodIdentityAssociation(s, 'A', {
  clusterName: 'a', namespace: 'ns', serviceAccount: 'app', roleArn,
});
const typedAddon = (s: Stack, roleArn: string) => new eks.CfnAddon(s, 'Addon', {
  clusterName: 'a',
  addonName: 'aws-ebs-csi-driver',
  addonVersion: 'v1.30.0-eksbuild.1',
  resolveConflicts: 'PRESERVE',
  podIdentityAssociations: [{ serviceAccount: 'ebs-csi-controller-sa', roleArn }],
  serviceAccountRoleArn: roleArn,
  tags: [{ key: 'env', value: 'prod' }, { key: 'team', value: 'storage' }],
});
const typedRecord = (s: Stack) => new ssm.CfnParameter(s, 'Phase', {
  name: '/cdk-eks-pod-identity/PodIdentity/w/phase',
  type: 'String',
  value: 'POD_IDENTITY',
  description: 'Phase of migration wave w, written after its roles and associations deployed',
});

test('a role: what a CfnRole renders from the plan\'s documents, tags included', () => {
  const { graph } = design();
  const role = graph.roles.find((r) => r.role.parsed.roleName === 'app')!.role;
  const [plain, typed] = both((s) => roleResource(s, role), (s) => new iam.CfnRole(new Construct(s, 'app'), 'Resource', {
    roleName: 'app',
    path: role.parsed.path,
    assumeRolePolicyDocument: role.trust,
    policies: [{ policyName: 'permissions', policyDocument: iam.PolicyDocument.fromJson({ Version: '2012-10-17', Statement: role.statements }) }],
  }));
  expect(plain).toBe(typed);
  expect(JSON.parse(plain).Tags).toEqual([{ Key: 'cost-center', Value: 'platform' }]);
});

test('an association: the typed CfnPodIdentityAssociation\'s properties, tags included', () => {
  const { graph } = design();
  const { assignment } = graph.associations.find((a) => a.assignment.sa.serviceAccount === 'app')!;
  const [plain, typed] = both((s) => associationResource(s, assignment, AssociationRegistry.of(s)),
    (s) => typedAssociation(s, assignment.associationRoleArn));
  expect(plain).toBe(typed);
});

test('an add-on: the typed CfnAddon\'s properties, its recorded tags merged with the app\'s', () => {
  const { graph } = design();
  const { addon } = graph.addons[0];
  const [plain, typed] = both((s) => addonResource(s, addon, AssociationRegistry.of(s)), (s) => typedAddon(s, addon.roleArn));
  expect(plain).toBe(typed);
  expect(JSON.parse(plain).Tags).toEqual([{ Key: 'cost-center', Value: 'platform' }, { Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'storage' }]);
});

test('a phase record and an OIDC provider: the typed L1s\' properties, tags included (a map for SSM)', () => {
  const [plain, typed] = both((s) => recordResource(s, 'PodIdentity', 'w', 'POD_IDENTITY'), typedRecord);
  expect(plain).toBe(typed);
  expect(JSON.parse(plain).Tags).toEqual({ 'cost-center': 'platform' });
  const provider: any = { entry: { step: 'ADOPTED' }, issuer: ISSUER, present: true, imported: true, deletionPolicy: 'Retain' };
  const [p, t] = both((s) => oidcProviderResource(s, provider), (s) => new iam.CfnOIDCProvider(s, 'Provider', { url: `https://${ISSUER}`, clientIdList: ['sts.amazonaws.com'] }));
  expect(p).toBe(t);
});

test('untagged by the app: the same properties as the typed L1s (an add-on\'s recorded tags only, no Tags elsewhere), with no tag manager made for them', () => {
  const { graph } = design();
  const { assignment } = graph.associations.find((a) => a.assignment.sa.serviceAccount === 'app')!;
  const made: CfnResource[] = [];
  const keep = (r: CfnResource) => {
    made.push(r);
    return r;
  };
  const [association, typedAssociationProps] = both((s) => keep(associationResource(s, assignment, AssociationRegistry.of(s))),
    (s) => typedAssociation(s, assignment.associationRoleArn), false);
  expect(association).toBe(typedAssociationProps);
  expect(JSON.parse(association).Tags).toBeUndefined();
  const { addon } = graph.addons[0];
  const [plainAddon, typedAddonProps] = both((s) => keep(addonResource(s, addon, AssociationRegistry.of(s))),
    (s) => typedAddon(s, addon.roleArn), false);
  expect(plainAddon).toBe(typedAddonProps);
  expect(JSON.parse(plainAddon).Tags).toEqual([{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'storage' }]);
  const [record, typedRecordProps] = both((s) => keep(recordResource(s, 'PodIdentity', 'w', 'POD_IDENTITY')), typedRecord, false);
  expect(record).toBe(typedRecordProps);
  // tens of thousands of associations: a tag manager is made only for tags to render (the add-on's)
  expect(made.map((r) => (r as any).tagManager !== undefined)).toEqual([false, true, false]);
});

test('a role: a typed prop an aspect sets after the migration made it (a permissions boundary) is written', () => {
  const { graph } = design();
  const stack = new Stack(new App(), 'S', { env: { account: ACCOUNT, region: 'us-east-1' } });
  const resource = roleResource(stack, graph.roles[0].role);
  resource.permissionsBoundary = `arn:aws:iam::${ACCOUNT}:policy/boundary`;
  expect(Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(resource)].Properties.PermissionsBoundary).toBe(`arn:aws:iam::${ACCOUNT}:policy/boundary`);
});
