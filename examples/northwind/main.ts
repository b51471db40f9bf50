/**
 * The Northwind Pay migration: 11 clusters in two regions move from IRSA to EKS Pod Identity in
 * a canary wave and four waves. The recorded state (fleet/state.json) has telemetry-shipper at
 * POD_IDENTITY on one canary cluster, wave1 and wave2 at DUAL_TRUST, wave3 at IRSA_ONLY, and cni
 * (vpc-cni's aws-node, moved through the managed add-on's podIdentityAssociations) at DUAL_TRUST. This app
 * synthesizes the whole fleet, prints the plan, and leaves templates, manifests (cdk.out/k8s),
 * runbooks (cdk.out/runbooks) and import mappings (cdk.out/import) in the cloud assembly.
 * fleet/placement.json records the stack of every role and association (it only ever grows).
 *
 *   npx ts-node --project tsconfig.dev.json examples/northwind/main.ts
 *   npx cdk ls --app 'npx ts-node --project tsconfig.dev.json examples/northwind/main.ts' 'Northwind/wave1/*'
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationFiles, PodIdentityMigration } from '../../src';

const fleet = path.join(__dirname, 'fleet');
const read = (file: string) => fs.readFileSync(path.join(fleet, file), 'utf8');

const clusters = MigrationFiles.clustersFromJson(read('clusters.json'), 'clusters.json');
const plan = MigrationFiles.planFromJson(read('plan.json'), 'plan.json');
const state = MigrationFiles.stateFromJson(read('state.json'), 'state.json');
// the IRSA roles as IAM holds them today: plan entries are checked against them; roles without one
// (vpc-cni's AmazonEKS_CNI_<cluster>) take their permissions from here
const collectedRoles = MigrationFiles.collectedRolesFromJson(read('roles.json'), 'roles.json');

const inventory = new IrsaInventory();
for (const cluster of clusters) {
  inventory.addServiceAccountsFile(cluster.clusterName, path.join(fleet, 'serviceaccounts', `${cluster.clusterName}.json`));
  inventory.addWorkloadsFile(cluster.clusterName, path.join(fleet, 'workloads', `${cluster.clusterName}.json`));
  // the managed add-ons (aws eks describe-addon): vpc-cni's aws-node moves through the add-on
  const addons = path.join(fleet, 'addons', cluster.clusterName);
  for (const name of fs.existsSync(addons) ? fs.readdirSync(addons).sort() : []) {
    inventory.addAddonsFile(cluster.clusterName, path.join(addons, name));
  }
}
// which add-on versions support Pod Identity (aws eks describe-addon-configuration)
for (const name of fs.readdirSync(path.join(fleet, 'addon-configurations')).sort()) {
  inventory.addAddonConfigurationFile(path.join(fleet, 'addon-configurations', name));
}

// telemetry-shipper assumes the central firehose-writer role of the telemetry account through IRSA
// today: its trust holds one OIDC statement per cluster (358 characters each, 3,987 for the 11
// clusters, within the account's raised quota of 4,096). Chaining from the new association role
// into that same role would add a statement while all 11 still use IRSA: 4,201 characters, which
// the library refuses. So the chain targets a new role with the same permissions,
// firehose-writer-pod-identity, and firehose-writer keeps its IRSA trust unchanged until every
// cluster is done, then is retired.
const TELEMETRY_TARGET = 'arn:aws:iam::999988887777:role/firehose-writer-pod-identity';
const crossAccount = (plan.crossAccount ?? []).map((c) => (c.serviceAccount === 'telemetry-shipper' ? { ...c, targetRoleArn: TELEMETRY_TARGET } : c));

// analytics off so that this app and examples/northwind/main.py synthesize identical templates
const app = new App({ outdir: process.env.CDK_OUTDIR ?? process.argv[2] ?? 'cdk.out', analyticsReporting: false });
const migration = new PodIdentityMigration(app, 'Northwind', {
  clusters,
  inventory,
  state,
  collectedRoles,
  placementFile: path.join(fleet, 'placement.json'),
  homeRegion: 'us-east-1',
  plan: {
    ...plan,
    crossAccount,
    roles: {
      ...plan.roles,
      // today's IRSA statements of the central role have no aud condition (it would not fit)
      'firehose-writer': { ...plan.roles!['firehose-writer'], irsaAudienceCondition: false },
      // the new chain target: same permissions, created (not adopted)
      'firehose-writer-pod-identity': { ...plan.roles!['firehose-writer'], exists: false },
    },
  },
  // Both accounts had their "Role trust policy length" quota raised to 4,096: roles used on four
  // clusters need more than 2,048 characters while they trust both IRSA and Pod Identity.
  trustPolicyMaxLengthByAccount: { 111122223333: 4096, 999988887777: 4096 },
  agent: { configurationValues: { tolerations: [{ operator: 'Exists' }] } },
});

const assembly = app.synth();
console.log(migration.describe());
console.log(`${assembly.stacks.length} stacks, templates in ${assembly.directory}`);
console.log(`manifests: ${path.join(assembly.directory, 'k8s')}  runbooks: ${path.join(assembly.directory, 'runbooks')}  import mappings: ${path.join(assembly.directory, 'import')}`);
