/**
 * Fleet-scale shape of the stack set: role stacks sized by bytes as well as resources (every
 * template within CloudFormation's limits), a stack that would grow past 1 MB refused, per-role
 * work kept per role (an association is two constructs, its roles literal ARNs) and no per-role messages.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource } from 'aws-cdk-lib';
import { IrsaInventory, MigrationPhase, PodIdentityCluster, PodIdentityMigration, PodIdentityMigrationProps } from '../../src';
import { PHASE_ORDER } from '../../src/private/phases';

const ACCOUNT = '111122223333';

/**
 * `clusters` clusters × `sas` service accounts, one role per service account and group of three
 * clusters (dual-trusted at POD_IDENTITY: three OIDC statements and a pods.eks one each).
 */
function fleet(clusters: number, sas: number, phase: MigrationPhase): Omit<PodIdentityMigrationProps, 'placementFile'> {
  const list: PodIdentityCluster[] = [];
  const inventory = new IrsaInventory();
  for (let c = 0; c < clusters; c++) {
    const name = `prod-${c}`;
    list.push(PodIdentityCluster.fromClusterAttributes({
      clusterName: name,
      clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${name}`,
      oidcIssuer: `oidc.eks.us-east-1.amazonaws.com/id/${String(c).padStart(32, 'A')}`,
    }));
    for (let s = 0; s < sas; s++) {
      inventory.addEntry({ cluster: name, namespace: `team-${s % 5}`, serviceAccount: `svc-${s}`, roleArn: `arn:aws:iam::${ACCOUNT}:role/svc-${s}-g${Math.floor(c / 3)}` });
    }
  }
  return {
    clusters: list,
    inventory,
    plan: { waves: [{ name: 'all', select: [{ namespacePrefix: 'team-' }] }], roles: { 'svc-*': { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] } } },
    state: { waves: { all: PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1).map((p) => ({ phase: p })) } },
    homeRegion: 'us-east-1',
  };
}

/** A placement file holding `roles` (none: empty, as before the first deploy of these waves). */
function placementFile(roles: { [arn: string]: number } = {}): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'placement-')), 'placement.json');
  fs.writeFileSync(file, JSON.stringify({ version: 1, stackPrefix: 'PodIdentity', homeRegion: 'us-east-1', roles: { [ACCOUNT]: roles }, associations: {} }));
  return file;
}

function synth(props: PodIdentityMigrationProps) {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'scale-')), analyticsReporting: false });
  const migration = new PodIdentityMigration(app, 'Fleet', props);
  const assembly = app.synth();
  return { app, migration, assembly };
}

describe('PodIdentityMigration at fleet scale', () => {
  // 6 clusters × 200 service accounts: 400 dual-trusted roles, about 1.2 MB of role resources
  const props = fleet(6, 200, MigrationPhase.POD_IDENTITY);

  test('role stacks are split by bytes, not only by resources: every template within 500 resources and 1,000,000 bytes', () => {
    const { assembly } = synth({ ...props, placementFile: placementFile() });
    const roleStacks = assembly.stacks.filter((s) => s.stackName.startsWith('PodIdentity-Roles-'));
    // 400 roles is under maxResourcesPerStack (450): one stack by count, more by bytes
    expect(roleStacks.map((s) => s.stackName).sort()).toEqual([`PodIdentity-Roles-${ACCOUNT}`, `PodIdentity-Roles-${ACCOUNT}-2`]);
    expect(roleStacks.reduce((n, s) => n + Object.keys(s.template.Resources).length, 0)).toBe(400);
    for (const stack of assembly.stacks) {
      const bytes = fs.statSync(path.join(assembly.directory, stack.templateFile)).size;
      const ok = bytes <= 1_000_000 && Object.keys(stack.template.Resources).length <= 500;
      expect({ stack: stack.stackName, ok }).toEqual({ stack: stack.stackName, ok: true });
    }
  });

  test('a role stack that would pass 1 MB fails synthesis, naming the stack, its size and its largest roles; nothing moves', () => {
    // a placement file from before byte sizing: all 400 roles in one stack
    const roles = Object.fromEntries(Array.from({ length: 200 }, (_, s) => [0, 1].map((g) => [`arn:aws:iam::${ACCOUNT}:role/svc-${s}-g${g}`, 1])).flat());
    const file = placementFile(roles);
    expect(() => synth({ ...props, placementFile: file })).toThrow(
      `PodIdentityMigration at 'Fleet': stack PodIdentity-Roles-${ACCOUNT} would have a template of about 1,171,380 bytes, over CloudFormation's 1 MB (checked at 1,000,000): `
      + `the trust of its 400 roles grew since they were placed (largest: arn:aws:iam::${ACCOUNT}:role/svc-100-g0 (2,928 bytes), arn:aws:iam::${ACCOUNT}:role/svc-100-g1 (2,928 bytes), arn:aws:iam::${ACCOUNT}:role/svc-101-g0 (2,928 bytes)). `
      + 'Placed roles never move (CloudFormation would delete and recreate them). Options: move waves on to POD_IDENTITY_ONLY, which drops the OIDC statements; serve fewer clusters per role; or retire roles of this stack.');
    // the file is not rewritten
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).roles[ACCOUNT])).toHaveLength(400);
  });

  test('an association is its service account\'s construct and the resource, nothing else; no imported roles; no per-association metadata; one message per role stack', () => {
    const { app, assembly } = synth({ ...props, placementFile: placementFile() });
    const all = app.node.findAll();
    const associations = all.filter((c): c is CfnResource => CfnResource.isCfnResource(c) && c.cfnResourceType === 'AWS::EKS::PodIdentityAssociation');
    expect(associations).toHaveLength(6 * 200);
    for (const association of associations) {
      // <stack>/<namespace>/<service account>/Resource, as a PodIdentityBinding would place it
      const owner = association.node.scope!;
      const properties = (association as any).cfnProperties;
      expect([association.node.id, owner.node.id, owner.node.children.length]).toEqual(['Resource', properties.ServiceAccount, 1]);
      expect(owner.node.scope!.node.id).toBe(properties.Namespace);
      expect(properties.RoleArn).toMatch(/^arn:aws:iam::111122223333:role\/svc-\d+-g\d$/);
    }
    // the roles are literal ARNs: nothing imports them (Role.fromRoleArn), per role or per association
    expect(all.filter((c) => c.node.id === 'ForAssociations' || c.node.id.startsWith('ImmutableRole') || c.node.id.startsWith('Role-'))).toEqual([]);
    expect(all.filter((c) => c.node.metadata.some((m) => m.type.startsWith('cdk-eks-pod-identity:')))).toEqual([]);
    // what cdk synth prints: one line per role stack, none per role, and the placement note once
    // per record stack of the waves it recorded
    const messages = assembly.stacks.flatMap((s) => s.messages);
    const roleStacks = assembly.stacks.filter((s) => s.stackName.startsWith('PodIdentity-Roles-')).length;
    const recordStacks = assembly.stacks.filter((s) => Object.values<any>(s.template.Resources).some((r) => r.Type === 'AWS::SSM::Parameter')).length;
    expect(messages.filter((m) => m.entry.type === 'aws:cdk:info')).toHaveLength(roleStacks);
    expect(messages.filter((m) => m.entry.type === 'aws:cdk:warning').map((m) => m.id).sort())
      .toEqual(assembly.stacks.filter((s) => Object.values<any>(s.template.Resources).some((r) => r.Type === 'AWS::SSM::Parameter')).map((s) => `/${s.hierarchicalId}`).sort());
    expect(messages).toHaveLength(roleStacks + recordStacks);
  });
});
