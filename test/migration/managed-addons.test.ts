/**
 * Managed EKS add-ons that use IRSA (`serviceAccountRoleArn`) move with the wave of their service
 * accounts through their own `podIdentityAssociations`: adopted as they are, associations from
 * POD_IDENTITY on, `ServiceAccountRoleArn` until ANNOTATION_REMOVED, the role's OIDC statement last.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fullDiff, ResourceImpact } from '@aws-cdk/cloudformation-diff';
import { App } from 'aws-cdk-lib';
import * as fc from 'fast-check';
import { FLEET, synthNorthwind } from './northwind';
import { IrsaInventory, MigrationPhase as P, MigrationPlan, PodIdentityCluster, PodIdentityMigration } from '../../src';
import { PHASE_ORDER } from '../../src/private/phases';
import { recordWavePhases } from '../util/placement';

const ACCOUNT = '111122223333';
const CNI_ROLE = (cluster: string) => `arn:aws:iam::${ACCOUNT}:role/AmazonEKS_CNI_${cluster}`;
const BATCH = 'batch-use1';
const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE0001';

/** The templates of an assembly folder by file name without its hash. */
function templatesIn(outdir: string): { [stack: string]: any } {
  return Object.fromEntries(fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))
    .map((f) => [f.replace(/[A-F0-9]{8}\.template\.json$/, ''), JSON.parse(fs.readFileSync(path.join(outdir, f), 'utf8'))]));
}

/** Every resource change between two assemblies, as `<stack> <logical ID> <impact>`. */
function changes(a: string, b: string): string[] {
  const ta = templatesIn(a);
  const tb = templatesIn(b);
  const out: string[] = [];
  for (const stack of new Set([...Object.keys(ta), ...Object.keys(tb)])) {
    fullDiff(ta[stack] ?? {}, tb[stack] ?? {}).resources.forEachDifference((logicalId, change) => {
      if (change.resourceType !== 'AWS::CDK::Metadata') {
        out.push(`${stack} ${logicalId} ${change.changeImpact}`);
      }
    });
  }
  return out.sort();
}

function trustOf(template: any, roleName: string): any[] {
  const role = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === roleName);
  return role.Properties.AssumeRolePolicyDocument.Statement;
}

describe('Northwind: vpc-cni moves with wave cni through the add-on', () => {
  const ADDON_STACK = 'NorthwindAddonsvpccnibatchuse1111122223333useast1';
  // the placement file of the demo (a copy per synthesis): stacks and logical IDs as deployed
  const at = PHASE_ORDER.map((phase) => synthNorthwind({ cni: phase }).outdir);
  const addonAt = (i: number) => templatesIn(at[i])[ADDON_STACK].Resources;
  const rolesOf = (i: number) => Object.entries(templatesIn(at[i])).filter(([k]) => k.startsWith('NorthwindRoles'))
    .map(([, t]) => t).find((t) => JSON.stringify(t).includes(`"AmazonEKS_CNI_${BATCH}"`));

  test('the add-on at every phase: adopted as recorded, its association and its serviceAccountRoleArn as the phase table says', () => {
    const expected = (pia: boolean, sara: boolean) => ({
      Addon: {
        Type: 'AWS::EKS::Addon',
        Properties: {
          AddonName: 'vpc-cni',
          AddonVersion: 'v1.19.2-eksbuild.1',
          ClusterName: BATCH,
          ConfigurationValues: '{"env":{"ENABLE_PREFIX_DELEGATION":"true","WARM_PREFIX_TARGET":"1"}}',
          PodIdentityAssociations: pia ? [{ RoleArn: CNI_ROLE(BATCH), ServiceAccount: 'aws-node' }] : [],
          ResolveConflicts: 'PRESERVE',
          ...(sara ? { ServiceAccountRoleArn: CNI_ROLE(BATCH) } : {}),
        },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      },
    });
    expect(addonAt(0)).toEqual(expected(false, true)); // IRSA_ONLY: today's add-on as code
    expect(addonAt(1)).toEqual(expected(false, true)); // DUAL_TRUST: only the role changes
    expect(addonAt(2)).toEqual(expected(true, true)); // POD_IDENTITY: the add-on's association
    expect(addonAt(3)).toEqual(expected(true, false)); // ANNOTATION_REMOVED: EKS removes the annotation
    expect(addonAt(4)).toEqual(expected(true, false)); // POD_IDENTITY_ONLY: only the role changes
  });

  test('the role: OIDC statement until POD_IDENTITY_ONLY, pods.eks from DUAL_TRUST pinned to kube-system/aws-node on its cluster', () => {
    const kinds = (i: number) => trustOf(rolesOf(i), `AmazonEKS_CNI_${BATCH}`).map((s) => (s.Principal.Federated ? 'oidc' : s.Principal.Service));
    expect(PHASE_ORDER.map((_, i) => kinds(i))).toEqual([
      ['oidc'], ['oidc', 'pods.eks.amazonaws.com'], ['oidc', 'pods.eks.amazonaws.com'], ['oidc', 'pods.eks.amazonaws.com'], ['pods.eks.amazonaws.com'],
    ]);
    const pod = trustOf(rolesOf(4), `AmazonEKS_CNI_${BATCH}`)[0];
    expect(pod.Action).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    expect(pod.Condition.StringEquals).toEqual({
      'aws:SourceAccount': ACCOUNT,
      'aws:RequestTag/eks-cluster-arn': `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${BATCH}`,
      'aws:RequestTag/kubernetes-namespace': 'kube-system',
      'aws:RequestTag/kubernetes-service-account': 'aws-node',
    });
    // the role keeps its permissions (the AWS managed policy of the plan)
    const role = Object.values<any>(rolesOf(4).Resources).find((r) => r.Properties?.RoleName === `AmazonEKS_CNI_${BATCH}`);
    expect(role.Properties.ManagedPolicyArns).toEqual(['arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy']);
  });

  test('no association of its own and no manifest for aws-node: the add-on owns both', () => {
    for (const dir of at) {
      const all = Object.values(templatesIn(dir)).flatMap((t) => Object.values<any>(t.Resources ?? {}));
      expect(all.filter((r) => r.Type === 'AWS::EKS::PodIdentityAssociation' && r.Properties.ServiceAccount === 'aws-node')).toEqual([]);
      expect(fs.existsSync(path.join(dir, 'k8s', BATCH, 'cni.yaml'))).toBe(false);
    }
  });

  test('each step, both directions: the add-ons and the roles are updated in place, never replaced or deleted', () => {
    const steps: string[][] = [];
    for (let i = 0; i + 1 < at.length; i++) {
      for (const [a, b] of [[i, i + 1], [i + 1, i]]) {
        const list = changes(at[a], at[b]);
        expect(list.filter((c) => !c.endsWith(ResourceImpact.WILL_UPDATE))).toEqual([]);
        steps.push(list);
      }
    }
    const kinds = (list: string[]) => [...new Set(list.map((c) => {
      const [stack, logicalId] = c.split(' ');
      return stack.startsWith('NorthwindRoles') ? 'role' : stack.startsWith('NorthwindAddons') ? `add-on ${logicalId}` : stack.startsWith('Northwindcni') ? `record ${logicalId}` : stack;
    }))].sort();
    const count = (list: string[], prefix: string) => list.filter((c) => c.startsWith(prefix)).length;
    // forward: DUAL_TRUST the roles; POD_IDENTITY and ANNOTATION_REMOVED the 11 add-ons; POD_IDENTITY_ONLY the roles; each with the phase records
    expect(kinds(steps[0])).toEqual(['record Phase', 'role']);
    expect(kinds(steps[2])).toEqual(['add-on Addon', 'record Phase']);
    expect(kinds(steps[4])).toEqual(['add-on Addon', 'record Phase']);
    expect(kinds(steps[6])).toEqual(['record Phase', 'role']);
    expect([count(steps[2], 'NorthwindAddons'), count(steps[4], 'NorthwindAddons')]).toEqual([11, 11]);
    // back is the mirror image
    for (let i = 0; i < steps.length; i += 2) {
      expect(steps[i + 1]).toEqual(steps[i]);
    }
  });

  test('POD_IDENTITY without a recorded describe-addon-configuration is refused, naming the command that records it', () => {
    // GIVEN batch-use1's recorded service accounts and vpc-cni, without its describe-addon-configuration
    const inventory = new IrsaInventory();
    const app = new App();
    inventory.addServiceAccountsFile(BATCH, path.join(FLEET, 'serviceaccounts', `${BATCH}.json`));
    inventory.addAddonsFile(BATCH, path.join(FLEET, 'addons', BATCH, 'vpc-cni.json'));
    expect(() => new PodIdentityMigration(app, 'M', smallProps(inventory, P.POD_IDENTITY))).toThrow(
      "PodIdentityMigration at 'M': wave \"cni\" is at POD_IDENTITY, which gives add-on vpc-cni v1.19.2-eksbuild.1 on cluster \"batch-use1\" podIdentityAssociations, but nothing recorded says this version supports Pod Identity. "
      + 'Record aws eks describe-addon-configuration --addon-name vpc-cni --addon-version v1.19.2-eksbuild.1 --output json and add it to the inventory (addAddonConfigurationFile); or keep the wave at DUAL_TRUST.');
    // DUAL_TRUST needs nothing recorded (after a first synthesis has placed the resources)
    const first = smallProps(inventory, P.IRSA_ONLY);
    const placed = new App();
    new PodIdentityMigration(placed, 'M', first);
    placed.synth();
    expect(() => new PodIdentityMigration(new App(), 'M', { ...smallProps(inventory, P.DUAL_TRUST), placementFile: first.placementFile })).not.toThrow();
  });
});

/** batch-use1 alone, with only wave cni selecting aws-node, at `phase`. */
function smallProps(inventory: IrsaInventory, phase: P, plan: Partial<MigrationPlan> = {}) {
  return {
    clusters: [PodIdentityCluster.fromClusterAttributes({
      clusterName: BATCH, clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${BATCH}`, oidcIssuer: ISSUER,
    })],
    inventory,
    plan: {
      waves: [{ name: 'cni', select: [{ namespace: 'kube-system', serviceAccount: 'aws-node' }] }],
      roles: { 'AmazonEKS_CNI_*': { managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy'] } },
      ...plan,
    },
    state: { waves: { cni: PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1).map((p) => ({ phase: p })) } },
    placementFile: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'addon-place-')), 'placement.json'),
    installAgents: true,
  };
}

/** A one-cluster fleet: vpc-cni (aws-node) and a second add-on with two service accounts on one role. */
function fleet(o: { version?: string; config?: string[] | 'none'; ebsWaves?: [string, string] } = {}) {
  const inventory = new IrsaInventory();
  const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
  inventory.addEntry({ cluster: 'shop', namespace: 'kube-system', serviceAccount: 'aws-node', roleArn: role('cni-shop') });
  inventory.addEntry({ cluster: 'shop', namespace: 'kube-system', serviceAccount: 'ebs-csi-controller-sa', roleArn: role('ebs-shop') });
  inventory.addEntry({ cluster: 'shop', namespace: 'kube-system', serviceAccount: 'ebs-csi-node-sa', roleArn: role('ebs-shop') });
  inventory.addEntry({ cluster: 'shop', namespace: 'payments', serviceAccount: 'checkout', roleArn: role('checkout') });
  const version = o.version ?? 'v1.19.2-eksbuild.1';
  inventory.addAddonsJson('shop', JSON.stringify({
    addons: [
      { addon: { addonName: 'vpc-cni', clusterName: 'shop', addonVersion: version, serviceAccountRoleArn: role('cni-shop'), tags: { team: 'platform' } } },
      { addon: { addonName: 'aws-ebs-csi-driver', clusterName: 'shop', addonVersion: 'v1.37.0-eksbuild.1', serviceAccountRoleArn: role('ebs-shop') } },
      { addon: { addonName: 'coredns', clusterName: 'shop', addonVersion: 'v1.11.3-eksbuild.1' } },
    ],
  }), 'addons.json');
  if (o.config !== 'none') {
    inventory.addAddonConfigurationJson(JSON.stringify({
      addonName: 'vpc-cni',
      addonVersion: version,
      podIdentityConfiguration: (o.config ?? ['aws-node']).map((serviceAccount) => ({ serviceAccount, recommendedManagedPolicies: [] })),
    }), 'vpc-cni.json');
  }
  inventory.addAddonConfigurationJson(JSON.stringify({
    addonName: 'aws-ebs-csi-driver',
    addonVersion: 'v1.37.0-eksbuild.1',
    podIdentityConfiguration: [{ serviceAccount: 'ebs-csi-controller-sa' }, { serviceAccount: 'ebs-csi-node-sa' }],
  }), 'ebs.json');
  const [ebsController, ebsNode] = o.ebsWaves ?? ['platform', 'platform'];
  const plan: MigrationPlan = {
    waves: [
      {
        name: 'platform',
        select: [{ namespace: 'kube-system', serviceAccount: 'aws-node' }, { serviceAccount: 'ebs-csi-controller-sa' }].filter((s) => ebsController === 'platform' || s.serviceAccount !== 'ebs-csi-controller-sa')
          .concat(ebsNode === 'platform' ? [{ serviceAccount: 'ebs-csi-node-sa' }] : []),
      },
      { name: 'apps', select: [{ namespace: 'payments' }].concat(ebsNode === 'apps' ? [{ serviceAccount: 'ebs-csi-node-sa' } as any] : []) },
    ],
    roles: { 'cni-shop': { managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy'] }, 'ebs-shop': {}, 'checkout': {} },
  };
  return { inventory, plan };
}

function synthFleet(f: ReturnType<typeof fleet>, phases: { platform?: P; apps?: P }, placementDir: string) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'addons-'));
  const app = new App({ outdir });
  const history = (phase: P | undefined) => PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase ?? P.IRSA_ONLY) + 1).map((p) => ({ phase: p }));
  const migration = new PodIdentityMigration(app, 'Shop', {
    clusters: [PodIdentityCluster.fromClusterAttributes({ clusterName: 'shop', clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/shop`, oidcIssuer: ISSUER })],
    inventory: f.inventory,
    plan: f.plan,
    state: { waves: { platform: history(phases.platform), apps: history(phases.apps) } },
    placementFile: path.join(placementDir, 'placement.json'),
  });
  app.synth();
  return { outdir, migration };
}

describe('add-ons in a small fleet', () => {
  test('an add-on with two service accounts: one association each, one serviceAccountRoleArn; add-ons without IRSA are left alone', () => {
    const place = fs.mkdtempSync(path.join(os.tmpdir(), 'addons-place-'));
    const f = fleet();
    synthFleet(f, {}, place);
    recordWavePhases(path.join(place, 'placement.json'), { platform: P.POD_IDENTITY });
    const { outdir } = synthFleet(f, { platform: P.POD_IDENTITY }, place);
    const t = templatesIn(outdir);
    expect(Object.keys(t).filter((k) => k.startsWith('ShopAddons')).sort()).toEqual([
      'ShopAddonsawsebscsidrivershop111122223333useast1', 'ShopAddonsvpccnishop111122223333useast1',
    ]);
    expect(t.ShopAddonsawsebscsidrivershop111122223333useast1.Resources.Addon.Properties.PodIdentityAssociations).toEqual([
      { RoleArn: `arn:aws:iam::${ACCOUNT}:role/ebs-shop`, ServiceAccount: 'ebs-csi-controller-sa' },
      { RoleArn: `arn:aws:iam::${ACCOUNT}:role/ebs-shop`, ServiceAccount: 'ebs-csi-node-sa' },
    ]);
    expect(t.ShopAddonsvpccnishop111122223333useast1.Resources.Addon.Properties.Tags).toEqual([{ Key: 'team', Value: 'platform' }]);
    // the ebs role's pods.eks statement names both service accounts
    const roles = Object.values(t).find((x) => JSON.stringify(x).includes('"ebs-shop"'));
    expect(trustOf(roles, 'ebs-shop')[1].Condition.StringEquals['aws:RequestTag/kubernetes-service-account']).toEqual(['ebs-csi-controller-sa', 'ebs-csi-node-sa']);
    // the wave's scripts know the add-on; the app's service account gets an association of its own only in its wave
    const targets = fs.readFileSync(path.join(outdir, 'runbooks', 'platform', 'targets.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t')).map((c) => [c[2], c[13], c[14]]);
    expect(targets).toEqual([
      ['aws-node', 'vpc-cni', 'v1.19.2-eksbuild.1'],
      ['ebs-csi-controller-sa', 'aws-ebs-csi-driver', 'v1.37.0-eksbuild.1'],
      ['ebs-csi-node-sa', 'aws-ebs-csi-driver', 'v1.37.0-eksbuild.1'],
    ]);
    // the wave's records depend on the add-on stacks, which depend on the role stack
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    const deps = (id: string) => (manifest.artifacts[id].dependencies ?? []).filter((d: string) => !d.endsWith('.assets'));
    const record = Object.keys(manifest.artifacts).find((k) => k.startsWith('Shopplatform') && !k.endsWith('.assets'))!;
    expect(deps(record).filter((d: string) => d.startsWith('ShopAddons'))).toHaveLength(2);
    expect(deps(Object.keys(manifest.artifacts).find((k) => k.startsWith('ShopAddonsvpccni') && !k.endsWith('.assets'))!)[0]).toMatch(/^ShopRoles111122223333/);
  });

  test('refusals: an unsupported version, service accounts split across waves, a role no service account carries, consolidation', () => {
    const place = () => fs.mkdtempSync(path.join(os.tmpdir(), 'addons-place-'));
    expect(() => synthFleet(fleet({ config: [] }), { platform: P.POD_IDENTITY }, place())).toThrow(
      "PodIdentityMigration at 'Shop': wave \"platform\" is at POD_IDENTITY, but add-on vpc-cni v1.19.2-eksbuild.1 on cluster \"shop\" supports Pod Identity for no service account: this version does not support Pod Identity (vpc-cni.json), not for aws-node. "
      + 'Upgrade the add-on to a version whose describe-addon-configuration lists them (and record its describe-addon and describe-addon-configuration output), or keep the wave at DUAL_TRUST.');
    expect(() => synthFleet(fleet({ config: 'none' }), { platform: P.ANNOTATION_REMOVED }, place())).toThrow(/nothing recorded says this version supports Pod Identity/);
    expect(() => synthFleet(fleet({ ebsWaves: ['platform', 'apps'] }), {}, place())).toThrow(
      "PodIdentityMigration at 'Shop': add-on aws-ebs-csi-driver on cluster \"shop\" has one serviceAccountRoleArn for all its service accounts, but the plan splits them: kube-system/ebs-csi-controller-sa in wave platform, kube-system/ebs-csi-node-sa in wave apps. Select them in one wave.");
    const f = fleet();
    f.inventory.addAddonsJson('shop', JSON.stringify({ addon: { addonName: 'aws-efs-csi-driver', addonVersion: 'v2.1.0-eksbuild.1', serviceAccountRoleArn: `arn:aws:iam::${ACCOUNT}:role/efs-shop` } }), 'efs.json');
    expect(() => synthFleet(f, {}, place())).toThrow(
      "PodIdentityMigration at 'Shop': add-on aws-efs-csi-driver on cluster \"shop\" uses role arn:aws:iam::111122223333:role/efs-shop through IRSA (serviceAccountRoleArn), but no service account of the cluster's inventory carries it: add the cluster's kubectl get serviceaccounts -A -o json output, or describe-addon output that is current.");
    // an add-on already with associations of its own: the phases would remove them
    const both = fleet();
    both.inventory.addAddonsJson('shop', JSON.stringify({
      addon: {
        addonName: 'aws-mountpoint-s3-csi-driver',
        addonVersion: 'v1.10.0-eksbuild.1',
        serviceAccountRoleArn: `arn:aws:iam::${ACCOUNT}:role/checkout`,
        podIdentityAssociations: [`arn:aws:eks:us-east-1:${ACCOUNT}:podidentityassociation/shop/a-1`],
      },
    }), 's3.json');
    expect(() => synthFleet(both, {}, place())).toThrow(
      "PodIdentityMigration at 'Shop': add-on aws-mountpoint-s3-csi-driver on cluster \"shop\" has a serviceAccountRoleArn and already 1 podIdentityAssociations "
      + `(arn:aws:eks:us-east-1:${ACCOUNT}:podidentityassociation/shop/a-1); the migration sets them from its phases and would remove these. `
      + "Remove them (aws eks update-addon --pod-identity-associations '[]') or the serviceAccountRoleArn, and record describe-addon again.");
    const c = fleet();
    expect(() => synthFleet({ ...c, plan: { ...c.plan, consolidate: [{ namespace: 'kube-system', serviceAccount: 'aws-node', roleName: 'cni' }] } }, {}, place())).toThrow(
      "PodIdentityMigration at 'Shop': kube-system/aws-node on cluster \"shop\" belongs to add-on vpc-cni, whose podIdentityAssociations name one role in the cluster's account, without a target role: it cannot be consolidated. Remove it from plan consolidate; the add-on keeps its role (arn:aws:iam::111122223333:role/cni-shop).");
  });

  test('the provider: still used while an add-on has a serviceAccountRoleArn, named among the users', () => {
    const f = fleet();
    const props = (platform: P) => ({ platform, apps: P.POD_IDENTITY_ONLY });
    const place = fs.mkdtempSync(path.join(os.tmpdir(), 'addons-place-'));
    synthFleet(f, {}, place);
    const retire = (addons: P) => {
      const app = new App();
      const history = (phase: P) => PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1).map((p) => ({ phase: p }));
      const p = props(addons);
      recordWavePhases(path.join(place, 'placement.json'), p);
      return () => new PodIdentityMigration(app, 'Shop', {
        clusters: [PodIdentityCluster.fromClusterAttributes({ clusterName: 'shop', clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/shop`, oidcIssuer: ISSUER })],
        inventory: f.inventory,
        plan: f.plan,
        state: { waves: { platform: history(p.platform), apps: history(p.apps) }, oidcProviders: { shop: [{ step: 'ADOPTED' as any }] } },
        placementFile: path.join(place, 'placement.json'),
      });
    };
    expect(retire(P.POD_IDENTITY)).toThrow(
      'still used by role arn:aws:iam::111122223333:role/cni-shop, role arn:aws:iam::111122223333:role/ebs-shop, add-on aws-ebs-csi-driver (serviceAccountRoleArn arn:aws:iam::111122223333:role/ebs-shop until ANNOTATION_REMOVED; wave platform is at POD_IDENTITY), add-on vpc-cni (serviceAccountRoleArn arn:aws:iam::111122223333:role/cni-shop until ANNOTATION_REMOVED; wave platform is at POD_IDENTITY).');
    // ANNOTATION_REMOVED: the add-ons let go; the roles' OIDC statements are the last users
    expect(retire(P.ANNOTATION_REMOVED)).toThrow('still used by role arn:aws:iam::111122223333:role/cni-shop, role arn:aws:iam::111122223333:role/ebs-shop. ');
    expect(retire(P.POD_IDENTITY_ONLY)).not.toThrow();
  });

  test('fast-check: in random walks of the platform wave and the apps wave, the add-on keeps its stack and logical ID, and follows the phase table', () => {
    const place = fs.mkdtempSync(path.join(os.tmpdir(), 'addons-place-'));
    const f = fleet();
    synthFleet(f, {}, place);
    const step = fc.tuple(fc.constantFrom<'platform' | 'apps'>('platform', 'apps'), fc.constantFrom(-1, 1));
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (moves) => {
      const pos = { platform: 0, apps: 0 };
      // each walk starts where the first synthesis left the file
      recordWavePhases(path.join(place, 'placement.json'), { platform: P.IRSA_ONLY, apps: P.IRSA_ONLY });
      for (const [wave, d] of moves) {
        pos[wave] = Math.min(PHASE_ORDER.length - 1, Math.max(0, pos[wave] + d));
        const phases = { platform: PHASE_ORDER[pos.platform], apps: PHASE_ORDER[pos.apps] };
        const t = templatesIn(synthFleet(f, phases, place).outdir);
        const addon = t.ShopAddonsvpccnishop111122223333useast1.Resources;
        expect(Object.keys(addon)).toEqual(['Addon']);
        const props = addon.Addon.Properties;
        const i = pos.platform;
        expect(props.PodIdentityAssociations.length > 0).toBe(i >= 2);
        expect(props.ServiceAccountRoleArn !== undefined).toBe(i <= 2);
        expect(addon.Addon.DeletionPolicy).toBe('Retain');
        // the app's own association follows its own wave, in its cluster's stack
        const assoc = Object.values(t).flatMap((x) => Object.values<any>(x.Resources)).filter((r) => r.Type === 'AWS::EKS::PodIdentityAssociation');
        expect(assoc.map((r) => r.Properties.ServiceAccount)).toEqual(pos.apps >= 2 ? ['checkout'] : []);
      }
    }), { numRuns: 15 });
  });
});

describe('IrsaInventory: add-ons', () => {
  const vpcCni = {
    addonName: 'vpc-cni',
    clusterName: 'shop',
    addonVersion: 'v1.19.2-eksbuild.1',
    serviceAccountRoleArn: `arn:aws:iam::${ACCOUNT}:role/cni`,
    podIdentityAssociations: [],
    configurationValues: '{"env":{}}',
    namespaceConfig: { namespace: 'kube-system' },
  };

  test('reads describe-addon output, a list of them, or {"addons": [...]}', () => {
    const one = new IrsaInventory();
    one.addAddonsJson('shop', JSON.stringify({ addon: vpcCni }), 'vpc-cni.json');
    expect(one.addons).toEqual([{
      cluster: 'shop',
      addonName: 'vpc-cni',
      addonVersion: 'v1.19.2-eksbuild.1',
      serviceAccountRoleArn: `arn:aws:iam::${ACCOUNT}:role/cni`,
      podIdentityAssociations: [],
      configurationValues: '{"env":{}}',
      tags: undefined,
      namespace: 'kube-system',
      source: 'vpc-cni.json',
    }]);
    const list = new IrsaInventory();
    list.addAddonsJson('shop', JSON.stringify([{ addon: vpcCni }, { addon: { addonName: 'coredns', addonVersion: 'v1' } }]), 'all.json');
    expect(list.addons.map((a) => [a.addonName, a.serviceAccountRoleArn, a.source])).toEqual([
      ['vpc-cni', `arn:aws:iam::${ACCOUNT}:role/cni`, 'all.json item 1'], ['coredns', undefined, 'all.json item 2'],
    ]);
    const wrapped = new IrsaInventory();
    wrapped.addAddonsFile('batch-use1', path.join(FLEET, 'addons', 'batch-use1', 'vpc-cni.json'));
    expect(wrapped.addons[0].addonVersion).toBe('v1.19.2-eksbuild.1');
  });

  test('reads describe-addon-configuration output', () => {
    const inventory = new IrsaInventory();
    inventory.addAddonConfigurationFile(path.join(FLEET, 'addon-configurations', 'vpc-cni-v1.19.2-eksbuild.1.json'));
    expect(inventory.addonConfiguration('vpc-cni', 'v1.19.2-eksbuild.1')?.podIdentityServiceAccounts).toEqual(['aws-node']);
    expect(inventory.addonConfiguration('vpc-cni', 'v1.15.0-eksbuild.1')).toBeUndefined();
  });

  test('malformed input is an error naming the source and the item', () => {
    const inventory = new IrsaInventory();
    expect(() => inventory.addAddonsJson('shop', 'nope', 'a.json')).toThrow(/^IrsaInventory: a.json: not JSON \(.*\); pass the output of aws eks describe-addon --output json\.$/);
    expect(() => inventory.addAddonsJson('shop', '{"addons": [{"addon": {"addonName": "x"}}]}', 'a.json')).toThrow(
      'IrsaInventory: a.json item 1: expected the output of aws eks describe-addon ({"addon": {"addonName": ..., "addonVersion": ...}}); got {"addon":{"addonName":"x"}}.');
    expect(() => inventory.addAddonsJson('other', JSON.stringify({ addon: vpcCni }), 'a.json')).toThrow(
      'IrsaInventory: a.json: add-on vpc-cni belongs to cluster "shop", but it was given for cluster "other"; give each cluster\'s add-ons under its own name.');
    expect(() => inventory.addAddonsJson('shop', JSON.stringify({ addon: { ...vpcCni, serviceAccountRoleArn: 'arn:aws:iam::1:role/x' } }), 'a.json')).toThrow(
      'IrsaInventory: a.json (add-on vpc-cni serviceAccountRoleArn): invalid role ARN "arn:aws:iam::1:role/x": expected arn:<partition>:iam::<12-digit account>:role/<optional path/>name.');
    inventory.addAddonsJson('shop', JSON.stringify({ addon: vpcCni }), 'a.json');
    expect(() => inventory.addAddonsJson('shop', JSON.stringify({ addon: vpcCni }), 'b.json')).toThrow(
      'IrsaInventory: b.json: add-on vpc-cni of cluster shop is already in the inventory (from a.json); give each add-on once.');
    expect(() => inventory.addAddonConfigurationJson('{"addonName": "vpc-cni"}', 'c.json')).toThrow(
      'IrsaInventory: c.json: expected the output of aws eks describe-addon-configuration ({"addonName": ..., "addonVersion": ..., "podIdentityConfiguration": [...]}).');
    expect(() => inventory.addAddonConfigurationJson('{"addonName": "vpc-cni", "addonVersion": "v1", "podIdentityConfiguration": [{}]}', 'c.json')).toThrow(
      'IrsaInventory: c.json: podIdentityConfiguration must be a list of {"serviceAccount": ..., "recommendedManagedPolicies": [...]}.');
  });
});
