import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { demoState, northwindProps, placementCopy, stateOf, synthNorthwind, templates, FLEET } from './northwind';
import { MigrationPhase, PodIdentityAgentAddon, PodIdentityBinding, PodIdentityMigration } from '../../src';
import { evaluate } from '../util/iam-simulator';
import { TEMPLATE_DIR } from '../util/synth';

const P = MigrationPhase;
const ACCOUNT = '111122223333';
const clusterArn = (name: string, region = name.includes('euw1') ? 'eu-west-1' : 'us-east-1') => `arn:aws:eks:${region}:${ACCOUNT}:cluster/${name}`;

function resources(template: any, type: string): [string, any][] {
  return Object.entries<any>(template.Resources ?? {}).filter(([, r]) => r.Type === type);
}

function role(tpls: { [s: string]: any }, roleName: string): any {
  for (const t of Object.values(tpls)) {
    const found = resources(t, 'AWS::IAM::Role').find(([, r]) => r.Properties.RoleName === roleName);
    if (found) return found[1];
  }
  throw new Error(`no role ${roleName}`);
}

function associations(tpls: { [s: string]: any }): any[] {
  return Object.values(tpls).flatMap((t) => resources(t, 'AWS::EKS::PodIdentityAssociation').map(([, r]) => r.Properties));
}

/** The templates go to cfn-lint (run by pytest). */
function keepForLint(tpls: { [s: string]: any }, label: string) {
  fs.mkdirSync(TEMPLATE_DIR, { recursive: true });
  for (const [name, t] of Object.entries(tpls)) {
    fs.writeFileSync(path.join(TEMPLATE_DIR, `northwind-${label}--${name}.template.json`), JSON.stringify(t));
  }
}

describe('PodIdentityMigration on the Northwind fleet', () => {
  test('stacks: agents per account/region, roles per account, associations per cluster, a phase record per wave and environment', () => {
    // GIVEN the demo's recorded state
    const { assembly, migration } = synthNorthwind({}, { state: demoState() });
    const tpls = templates(assembly);
    keepForLint(tpls, 'demo');

    // THEN
    expect(Object.keys(tpls).sort()).toEqual([
      ...['batch-euw1', 'batch-use1', 'platform-prod-euw1-blue', 'platform-prod-euw1-green', 'platform-prod-use1-blue', 'platform-prod-use1-green',
        'tenant-a-euw1', 'tenant-a-use1', 'tenant-b-euw1', 'tenant-b-use1', 'tenant-c-use1']
        .map((c) => `PodIdentity-Cluster-${c}-${ACCOUNT}-${c.includes('euw1') ? 'eu-west-1' : 'us-east-1'}`),
      'PodIdentity-Foundation-111122223333-eu-west-1',
      'PodIdentity-Foundation-111122223333-us-east-1',
      'PodIdentity-Roles-111122223333',
      'PodIdentity-Roles-444455556666',
      'PodIdentity-Roles-999988887777',
      'PodIdentity-Wave-canary-111122223333-us-east-1',
      'PodIdentity-Wave-wave1-111122223333-eu-west-1',
      'PodIdentity-Wave-wave1-111122223333-us-east-1',
      'PodIdentity-Wave-wave2-111122223333-eu-west-1',
      'PodIdentity-Wave-wave2-111122223333-us-east-1',
      'PodIdentity-Wave-wave3-111122223333-eu-west-1',
      'PodIdentity-Wave-wave3-111122223333-us-east-1',
      // vpc-cni, one stack per cluster in the cluster's environment, and its wave's records
      ...['batch-euw1', 'batch-use1', 'platform-prod-euw1-blue', 'platform-prod-euw1-green', 'platform-prod-use1-blue', 'platform-prod-use1-green',
        'tenant-a-euw1', 'tenant-a-use1', 'tenant-b-euw1', 'tenant-b-use1', 'tenant-c-use1']
        .map((c) => `PodIdentity-Addon-vpc-cni-${c}-${ACCOUNT}-${c.includes('euw1') ? 'eu-west-1' : 'us-east-1'}`),
      'PodIdentity-Wave-cni-111122223333-eu-west-1',
      'PodIdentity-Wave-cni-111122223333-us-east-1',
    ].sort());
    // construct paths: one scope per wave, none shared with the other scopes
    expect(migration.stacks.map((s) => s.node.path).filter((p) => p.startsWith('Northwind/canary/'))).toEqual(['Northwind/canary/111122223333-us-east-1']);
    // agents: every cluster but the Auto Mode one
    const addons = Object.values(tpls).flatMap((t) => resources(t, 'AWS::EKS::Addon').filter(([, r]) => r.Properties.AddonName === 'eks-pod-identity-agent').map(([, r]) => r.Properties.ClusterName));
    expect(addons).toHaveLength(10);
    expect(addons).not.toContain('tenant-c-use1');
    // roles in the home region, one resource each (trust, inline permissions, managed policies)
    expect(assembly.getStackByName('PodIdentity-Roles-999988887777').environment.region).toBe('us-east-1');
    expect(resources(tpls['PodIdentity-Roles-111122223333'], 'AWS::IAM::Policy')).toEqual([]);
    // the canary's one association, alone in its cluster's stack
    expect(associations(tpls)).toEqual([{
      ClusterName: 'platform-prod-use1-blue',
      Namespace: 'observability',
      ServiceAccount: 'telemetry-shipper',
      RoleArn: 'arn:aws:iam::111122223333:role/pod-id-telemetry',
      TargetRoleArn: 'arn:aws:iam::999988887777:role/firehose-writer-pod-identity',
    }]);
    expect(resources(tpls['PodIdentity-Cluster-platform-prod-use1-blue-111122223333-us-east-1'], 'AWS::EKS::PodIdentityAssociation')).toHaveLength(1);
    // the phase records
    expect(resources(tpls['PodIdentity-Wave-canary-111122223333-us-east-1'], 'AWS::SSM::Parameter')).toEqual([['Phase', {
      Type: 'AWS::SSM::Parameter',
      Properties: { Name: '/cdk-eks-pod-identity/PodIdentity/canary/phase', Type: 'String', Value: 'POD_IDENTITY', Description: 'Phase of migration wave canary, written after its roles and associations deployed' },
    }]]);
    for (const t of Object.values(tpls)) {
      expect(Object.keys(t.Resources ?? {}).length).toBeLessThan(500);
    }
  });

  test('one info line per role stack, none per role', () => {
    const { migration } = synthNorthwind();
    const stack = migration.stacks.find((s) => s.stackName === 'PodIdentity-Roles-999988887777')!;
    const infos = Annotations.fromStack(stack).findInfo('*', Match.anyValue()).map((m) => m.entry.data);
    expect(infos).toEqual(['2 roles (1 adopted); fullest trust policy: firehose-writer, 3,987 of 4,096 characters. Every role: runbooks/index.md.']);
    const all = migration.stacks.flatMap((s) => Annotations.fromStack(s).findInfo('*', Match.anyValue()));
    expect(all.filter((m) => m.id.startsWith('/Northwind/Roles/'))).toHaveLength(3);
  });

  test('a wave\'s record depends on its role and association stacks: deploying <migration>/<wave>/* deploys them first', () => {
    const { migration } = synthNorthwind({}, { state: demoState() });
    expect(migration.stacksOf('canary').map((s) => s.stackName).sort()).toEqual([
      'PodIdentity-Cluster-platform-prod-use1-blue-111122223333-us-east-1',
      'PodIdentity-Roles-111122223333',
      'PodIdentity-Roles-999988887777',
      'PodIdentity-Wave-canary-111122223333-us-east-1',
    ]);
    // wave3 (payments) needs nothing of the data or telemetry accounts
    expect(migration.stacksOf('wave3').map((s) => s.stackName).filter((n) => n.startsWith('PodIdentity-Roles'))).toEqual(['PodIdentity-Roles-111122223333']);
  });

  test('adopted roles keep their names, are retained with their inline permissions, and are imported', () => {
    const { assembly, outdir } = synthNorthwind();
    const tpls = templates(assembly);
    const checkout = role(tpls, 'payments-checkout');
    expect(checkout.DeletionPolicy).toEqual('Retain');
    expect(checkout.UpdateReplacePolicy).toEqual('Retain');
    expect(checkout.Properties.Policies).toEqual([{
      PolicyName: 'permissions',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: 'arn:aws:dynamodb:*:111122223333:table/orders' },
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::tenant-data/payments/*' },
        ],
      },
    }]);
    expect(role(tpls, 'backstage-readonly').Properties.ManagedPolicyArns).toEqual(['arn:aws:iam::aws:policy/ReadOnlyAccess']);
    const mapping = JSON.parse(fs.readFileSync(path.join(outdir, 'import', 'PodIdentity-Roles-111122223333.json'), 'utf8'));
    const imported = Object.values<any>(mapping).map((m) => m.RoleName);
    expect(imported).toContain('payments-checkout');
    expect(imported).toContain('cluster-autoscaler-batch-use1');
    // created roles are not imported
    expect(imported).not.toContain('cluster-autoscaler');
    expect(imported).not.toContain('pod-id-telemetry');
  });

  test.each([
    [P.IRSA_ONLY, 4, 0, 0],
    [P.DUAL_TRUST, 4, 1, 0],
    [P.POD_IDENTITY, 4, 1, 8],
    [P.ANNOTATION_REMOVED, 4, 1, 8],
    [P.POD_IDENTITY_ONLY, 0, 1, 8],
  ])('wave3 (payments) at %s: checkout trust has %d OIDC and %d pods.eks statements; %d associations', (phase, oidc, pods, count) => {
    const tpls = templates(synthNorthwind({ wave3: phase }).assembly);
    const statements: any[] = role(tpls, 'payments-checkout').Properties.AssumeRolePolicyDocument.Statement;
    expect(statements.filter((s) => s.Principal.Federated)).toHaveLength(oidc);
    expect(statements.filter((s) => s.Principal.Service === 'pods.eks.amazonaws.com')).toHaveLength(pods);
    expect(associations(tpls).filter((a) => a.Namespace === 'payments')).toHaveLength(count);
  });

  test('an adopted role\'s pods.eks trust is pinned to the clusters it served (F14)', () => {
    const tpls = templates(synthNorthwind({ wave3: P.DUAL_TRUST }).assembly);
    const pods = role(tpls, 'payments-checkout').Properties.AssumeRolePolicyDocument.Statement.filter((s: any) => s.Principal.Service);
    expect(pods).toEqual([{
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Condition: {
        StringEquals: {
          'aws:SourceAccount': ACCOUNT,
          'aws:RequestTag/eks-cluster-arn': ['platform-prod-euw1-blue', 'platform-prod-euw1-green', 'platform-prod-use1-blue', 'platform-prod-use1-green'].map((c) => clusterArn(c)),
          'aws:RequestTag/kubernetes-namespace': 'payments',
          'aws:RequestTag/kubernetes-service-account': 'checkout',
        },
      },
    }]);
  });

  test('consolidation: one shared cluster-autoscaler role bound on every cluster; the per-cluster roles keep IRSA', () => {
    const tpls = templates(synthNorthwind({ wave1: P.POD_IDENTITY_ONLY }).assembly);
    const shared = role(tpls, 'cluster-autoscaler');
    expect(shared.Properties.AssumeRolePolicyDocument.Statement).toEqual([{
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: {
        StringEquals: {
          'aws:SourceAccount': ACCOUNT,
          'aws:RequestTag/eks-cluster-arn': expect.arrayContaining([clusterArn('batch-use1'), clusterArn('tenant-c-use1')]),
          'aws:RequestTag/kubernetes-namespace': 'kube-system',
          'aws:RequestTag/kubernetes-service-account': 'cluster-autoscaler',
        },
      },
    }]);
    expect(shared.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals['aws:RequestTag/eks-cluster-arn']).toHaveLength(11);
    // the permissions every per-cluster role shares
    expect(shared.Properties.Policies[0].PolicyDocument.Statement[0].Action).toContain('autoscaling:DescribeAutoScalingGroups');
    const autoscaler = associations(tpls).filter((a) => a.ServiceAccount === 'cluster-autoscaler');
    expect(autoscaler).toHaveLength(11);
    expect(new Set(autoscaler.map((a) => a.RoleArn))).toEqual(new Set(['arn:aws:iam::111122223333:role/cluster-autoscaler']));
    const old = role(tpls, 'cluster-autoscaler-batch-use1');
    expect(old.Properties.AssumeRolePolicyDocument.Statement.map((s: any) => s.Action)).toEqual(['sts:AssumeRoleWithWebIdentity']);
  });

  test('consolidation of per-cluster roles with different permissions is refused, unless the shared role declares its own', () => {
    // GIVEN one per-cluster role with an extra permission
    const props = northwindProps();
    const roles = {
      ...props.plan.roles,
      'cluster-autoscaler-batch-use1': { statements: [{ Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' }] },
    };
    // (as IAM holds it: the plan's entries are checked against the collected roles)
    const collectedRoles = props.collectedRoles!.map((r) => (r.arn.endsWith('/cluster-autoscaler-batch-use1')
      ? { ...r, inlinePolicies: { extra: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' }] } } } : r));
    // THEN
    expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, collectedRoles, plan: { ...props.plan, roles } })).toThrow(
      'PodIdentityMigration at \'Northwind\': consolidating kube-system/cluster-autoscaler into role "cluster-autoscaler": the per-cluster roles have different permissions (1: cluster-autoscaler-batch-euw1, cluster-autoscaler-platform-prod-euw1-blue, cluster-autoscaler-platform-prod-euw1-green, cluster-autoscaler-platform-prod-use1-blue, cluster-autoscaler-platform-prod-use1-green, cluster-autoscaler-tenant-a-euw1, cluster-autoscaler-tenant-a-use1, cluster-autoscaler-tenant-b-euw1, cluster-autoscaler-tenant-b-use1, cluster-autoscaler-tenant-c-use1; 2: cluster-autoscaler-batch-use1), and taking one set would drop the others. Declare roles["cluster-autoscaler"] with the permissions the shared role needs.');
    // WHEN the plan declares the shared role's permissions
    const declared = { ...roles, 'cluster-autoscaler': { statements: [{ Effect: 'Allow', Action: 'autoscaling:*', Resource: '*' }] } };
    const app = new App();
    new PodIdentityMigration(app, 'Northwind', { ...props, collectedRoles, plan: { ...props.plan, roles: declared } });
    const shared = role(templates(app.synth()), 'cluster-autoscaler');
    expect(shared.Properties.Policies[0].PolicyDocument.Statement).toEqual([{ Effect: 'Allow', Action: 'autoscaling:*', Resource: '*' }]);
  });

  test('cross-account: ingest chains from its (dual) IRSA role to the data account; telemetry from a new association role', () => {
    const tpls = templates(synthNorthwind({ canary: P.POD_IDENTITY, wave1: P.POD_IDENTITY, wave2: P.POD_IDENTITY }).assembly);
    const ingest = associations(tpls).filter((a) => a.ServiceAccount === 'ingest');
    expect(ingest).toHaveLength(2);
    expect(ingest[0].TargetRoleArn).toEqual('arn:aws:iam::444455556666:role/cross-acct-ingest');
    const target = role(tpls, 'cross-acct-ingest');
    expect(target.Properties.AssumeRolePolicyDocument.Statement).toEqual([{
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: {
        ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/pod-id-ingest' },
        StringEquals: { 'aws:RequestTag/kubernetes-namespace': 'data-pipeline', 'aws:RequestTag/kubernetes-service-account': 'ingest' },
      },
    }]);
    const podIdIngest = role(tpls, 'pod-id-ingest');
    // today's IRSA role of ingest is the association role: dual (one OIDC statement per batch cluster)
    const actions = podIdIngest.Properties.AssumeRolePolicyDocument.Statement.map((s: any) => JSON.stringify(s.Action)).sort();
    expect(actions).toEqual(['"sts:AssumeRoleWithWebIdentity"', '"sts:AssumeRoleWithWebIdentity"', '["sts:AssumeRole","sts:TagSession"]'].sort());
    expect(podIdIngest.Properties.Policies).toContainEqual({
      PolicyName: 'chain',
      PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'ChainToTargetRole', Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: 'arn:aws:iam::444455556666:role/cross-acct-ingest' }] },
    });
    const telemetry = associations(tpls).filter((a) => a.ServiceAccount === 'telemetry-shipper');
    expect(telemetry).toHaveLength(11);
    expect(telemetry[0].TargetRoleArn).toEqual('arn:aws:iam::999988887777:role/firehose-writer-pod-identity');
    // firehose-writer keeps today's IRSA trust: 11 statements in the telemetry account's providers, no aud
    const firehose = role(tpls, 'firehose-writer').Properties.AssumeRolePolicyDocument.Statement;
    expect(firehose).toHaveLength(11);
    expect(firehose[0].Principal.Federated).toMatch(/^arn:aws:iam::999988887777:oidc-provider\/oidc\.eks\./);
    expect(Object.keys(firehose[0].Condition.StringEquals)).toEqual([expect.stringMatching(/:sub$/)]);
  });

  test('the central role chained to while all 11 clusters use IRSA does not fit 4,096 characters: refused', () => {
    const props = northwindProps({ wave1: P.DUAL_TRUST });
    const plan = {
      ...props.plan,
      crossAccount: (props.plan.crossAccount ?? []).map((c) => (c.serviceAccount === 'telemetry-shipper' ? { ...c, targetRoleArn: 'arn:aws:iam::999988887777:role/firehose-writer' } : c)),
      roles: { ...props.plan.roles, 'firehose-writer': { ...props.plan.roles!['firehose-writer'], pinTargetTrust: false } },
    };
    expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan })).toThrow(
      'PodIdentityMigration at \'Northwind\': role arn:aws:iam::999988887777:role/firehose-writer: the trust policy is 4,201 characters (whitespace not counted), over trustPolicyMaxLength 4,096. '
      + 'Options: raise the account\'s IAM quota "Role trust policy length" and declare the raised value (trustPolicyMaxLengthByAccount, or trustPolicyMaxLength of the role in the plan); '
      + 'trust fewer clusters per role (11 OIDC statements now); or move its service accounts to POD_IDENTITY_ONLY once no pod uses it through IRSA, which drops the OIDC statements.');
  });

  test('artifacts: manifests per cluster and wave, runbooks, the plan index and import mappings', () => {
    const { outdir } = synthNorthwind({ wave1: P.ANNOTATION_REMOVED });
    const manifest = fs.readFileSync(path.join(outdir, 'k8s', 'platform-prod-use1-blue', 'wave1.yaml'), 'utf8');
    expect(manifest).toContain('name: backstage');
    expect(manifest).not.toContain('eks.amazonaws.com/role-arn');
    // the canary cluster's telemetry-shipper (Helm-managed) is annotated by the canary's scripts, with a TODO for its release
    const canary = fs.readFileSync(path.join(outdir, 'runbooks', 'canary.md'), 'utf8');
    expect(canary).toContain('Releases: telemetry (observability).');
    expect(fs.readFileSync(path.join(outdir, 'runbooks', 'canary', 'targets.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([[
      'platform-prod-use1-blue', 'observability', 'telemetry-shipper', 'arn:aws:iam::999988887777:role/firehose-writer',
      'arn:aws:iam::111122223333:role/pod-id-telemetry', 'arn:aws:iam::999988887777:role/firehose-writer-pod-identity', 'kept',
      'arn:aws:iam::999988887777:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/DF75D6E91EF1EBC6E151576E19DDAE75',
      'oidc.eks.us-east-1.amazonaws.com/id/DF75D6E91EF1EBC6E151576E19DDAE75', 'always', 'telemetry',
      'arn:aws:sts::999988887777:assumed-role/firehose-writer-pod-identity/', 'arn:aws:sts::999988887777:assumed-role/firehose-writer/',
      '-', '-', // no add-on owns it
    ].join('\t')]);
    // a manifest is written only where a ServiceAccount is rendered: none is a comment only (kubectl apply would fail on it)
    const manifests = fs.readdirSync(path.join(outdir, 'k8s')).flatMap((c) => fs.readdirSync(path.join(outdir, 'k8s', c)).map((f) => path.join(outdir, 'k8s', c, f)));
    expect(manifests.length).toBeGreaterThan(0);
    for (const file of manifests) {
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^kind: ServiceAccount$/m);
    }
    expect(fs.existsSync(path.join(outdir, 'k8s', 'platform-prod-use1-blue', 'canary.yaml'))).toBe(false);
    const wave3 = fs.readFileSync(path.join(outdir, 'k8s', 'platform-prod-use1-blue', 'wave3.yaml'), 'utf8');
    expect(wave3).toContain('eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/payments-checkout');
    expect(wave3).toContain('eks.amazonaws.com/token-expiration: "86400"');
    expect(wave3).toContain('cost-center: cc-4711');
    for (const file of ['index.md', 'canary.md', 'wave1.md', 'wave2.md', 'wave3.md']) {
      expect(fs.existsSync(path.join(outdir, 'runbooks', file))).toBe(true);
    }
    const index = fs.readFileSync(path.join(outdir, 'runbooks', 'index.md'), 'utf8');
    expect(index).toContain('## Trust policies near their limit (75% or more)\n\n- arn:aws:iam::999988887777:role/firehose-writer: 3,987 of 4,096 characters\n');
    // vpc-cni's aws-node is migrated through the add-on, in wave cni: nothing is excluded
    expect(index).toContain('| cni | IRSA_ONLY | platform-prod-use1-blue | kube-system/aws-node | AmazonEKS_CNI_platform-prod-use1-blue | AmazonEKS_CNI_platform-prod-use1-blue (add-on vpc-cni) |');
    expect(index).not.toContain('kube-system/aws-node: ');
    // no manifest for it: EKS writes the add-on's ServiceAccount
    expect(fs.existsSync(path.join(outdir, 'k8s', 'batch-use1', 'cni.yaml'))).toBe(false);
    const cni = fs.readFileSync(path.join(outdir, 'runbooks', 'cni.md'), 'utf8');
    expect(cni).toContain('## Adopting the existing roles and add-ons (once, before the first deploy of this wave)');
    expect(cni).toContain('npx cdk import --resource-mapping cdk.out/import/PodIdentity-Addon-vpc-cni-batch-use1-111122223333-us-east-1.json Northwind/Addons/vpc-cni-batch-use1-111122223333-us-east-1');
    expect(cni).toContain('- batch-euw1: vpc-cni v1.19.0-eksbuild.1\n- batch-use1: vpc-cni v1.19.2-eksbuild.1\n');
    expect(JSON.parse(fs.readFileSync(path.join(outdir, 'import', 'PodIdentity-Addon-vpc-cni-batch-use1-111122223333-us-east-1.json'), 'utf8')))
      .toEqual({ Addon: { ClusterName: 'batch-use1', AddonName: 'vpc-cni' } });
    const runbook = fs.readFileSync(path.join(outdir, 'runbooks', 'wave1.md'), 'utf8');
    expect(runbook).toContain('- Phase in this cloud assembly: **ANNOTATION_REMOVED** (recorded in the state file).');
    expect(runbook).toContain('| ANNOTATION_REMOVED → POD_IDENTITY_ONLY **(next)** | `cdk.out/runbooks/wave1/ANNOTATION_REMOVED-to-POD_IDENTITY_ONLY/` |');
    expect(runbook).toContain('cdk.out/runbooks/wave1/ANNOTATION_REMOVED-to-POD_IDENTITY_ONLY/preflight.sh --contexts contexts.tsv\n');
    expect(fs.readFileSync(path.join(outdir, 'runbooks', 'wave1', 'phase'), 'utf8')).toEqual('ANNOTATION_REMOVED\n');
    expect(fs.readFileSync(path.join(outdir, 'runbooks', 'wave1', 'wave.tsv'), 'utf8')).toContain('stacks\tNorthwind/wave1/*\n');
    expect(runbook).not.toMatch(/cdk (deploy|diff|import) -c/);
  });

  describe('phases', () => {
    test('a context override of one phase is synthesized, with a warning to record it', () => {
      const { migration, outdir } = synthNorthwind({ wave3: P.IRSA_ONLY }, {}, { 'pod-identity-migration:wave3': 'DUAL_TRUST' });
      expect(migration.phaseOf('wave3')).toEqual(P.DUAL_TRUST);
      expect(PodIdentityMigration.contextKey('wave3')).toEqual('pod-identity-migration:wave3');
      const runbook = fs.readFileSync(path.join(outdir, 'runbooks', 'wave3.md'), 'utf8');
      expect(runbook).toContain('- Phase in this cloud assembly: **DUAL_TRUST** (from context `pod-identity-migration:wave3`; the state file records IRSA_ONLY: record it).');
      expect(fs.readFileSync(path.join(outdir, 'runbooks', 'wave3', 'phase'), 'utf8')).toEqual('DUAL_TRUST\n');
      // on the wave's record stacks, which `cdk deploy 'Northwind/wave3/*'` selects (the CLI prints stacks' messages)
      const warned = migration.stacks.filter((s) => s.node.metadata.some((m) => m.data ===
        'wave wave3 is synthesized at DUAL_TRUST from context pod-identity-migration:wave3, but the state records IRSA_ONLY: record the step in the state file, so that the next plain deploy does not undo it. [ack: cdk-eks-pod-identity:phaseOverride]'));
      expect(warned.map((s) => s.node.path).sort()).toEqual(migration.stacksOf('wave3').filter((s) => s.node.scope!.node.id === 'wave3').map((s) => s.node.path).sort());
      expect(warned.length).toBeGreaterThan(0);
    });

    test('a wave-name typo in context fails synthesis', () => {
      const app = new App({ context: { 'pod-identity-migration:wave-1': 'POD_IDENTITY' } });
      expect(() => new PodIdentityMigration(app, 'Northwind', northwindProps())).toThrow(
        "PodIdentityMigration at 'Northwind': context pod-identity-migration:wave-1=POD_IDENTITY names no wave of this migration; the waves are canary, wave1, wave2, wave3, cni.");
    });

    test('a two-phase jump from the recorded phase fails without the acknowledgement, and names the risk', () => {
      const app = new App({ context: { 'pod-identity-migration:wave1': 'POD_IDENTITY' } });
      expect(() => new PodIdentityMigration(app, 'Northwind', northwindProps())).toThrow(
        "PodIdentityMigration at 'Northwind': wave \"wave1\": the step from IRSA_ONLY (recorded) to POD_IDENTITY (from context pod-identity-migration:wave1) jumps over DUAL_TRUST. "
        + 'Risks: trust-with-associations: the pods.eks.amazonaws.com trust and the associations change in one deploy; IAM trust changes are eventually consistent, so pods created right after the associations appear (forward), or still running on Pod Identity (back), get AccessDenied. '
        + 'Step one phase at a time (next: DUAL_TRUST), or acknowledge the risks with -c pod-identity-migration:wave1:acknowledge=trust-with-associations.');
      const acknowledged = new App({ context: { 'pod-identity-migration:wave1': 'POD_IDENTITY', 'pod-identity-migration:wave1:acknowledge': 'trust-with-associations' } });
      expect(new PodIdentityMigration(acknowledged, 'Northwind', northwindProps()).phaseOf('wave1')).toBe(P.POD_IDENTITY);
    });

    test('a shared role follows the phase of each cluster: a canary of backstage on one cluster (IAM simulation)', () => {
      // GIVEN backstage on platform-prod-use1-blue in a canary wave at POD_IDENTITY_ONLY, the three others at IRSA_ONLY
      const props = northwindProps();
      const waves = [{ name: 'backstage-canary', select: [{ namespace: 'internal-tools', serviceAccount: 'backstage', cluster: 'platform-prod-use1-blue' }] }, ...props.plan.waves];
      const app = new App();
      new PodIdentityMigration(app, 'Northwind', {
        ...props,
        plan: { ...props.plan, waves },
        state: {
          ...stateOf({ 'backstage-canary': P.POD_IDENTITY_ONLY }),
          // the placement file has it in wave1 at IRSA_ONLY: the jump is recorded as intended
          serviceAccounts: [{
            cluster: 'platform-prod-use1-blue',
            namespace: 'internal-tools',
            serviceAccount: 'backstage',
            from: P.IRSA_ONLY,
            to: P.POD_IDENTITY_ONLY,
            acknowledge: ['trust-with-associations', 'associations-with-annotation', 'irsa-pods-lose-credentials'],
          }],
        },
      });
      const tpls = templates(app.synth());
      const trust = role(tpls, 'backstage-readonly').Properties.AssumeRolePolicyDocument;
      const issuers = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'northwind', 'fleet', 'clusters.json'), 'utf8'));
      const issuerOf = (name: string) => issuers.find((c: any) => c.name === name).oidcIssuer;
      const roleArn = 'arn:aws:iam::111122223333:role/backstage-readonly';
      const web = (cluster: string) => evaluate({
        principal: `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuerOf(cluster)}`,
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: roleArn,
        resourceAccount: ACCOUNT,
        context: { [`${issuerOf(cluster)}:sub`]: 'system:serviceaccount:internal-tools:backstage', [`${issuerOf(cluster)}:aud`]: 'sts.amazonaws.com' },
      }, { resourcePolicy: trust });
      const pods = (cluster: string, action = 'sts:AssumeRole') => evaluate({
        principal: 'pods.eks.amazonaws.com',
        action,
        resource: roleArn,
        resourceAccount: ACCOUNT,
        context: {
          'aws:SourceAccount': ACCOUNT,
          'aws:RequestTag/eks-cluster-arn': clusterArn(cluster),
          'aws:RequestTag/kubernetes-namespace': 'internal-tools',
          'aws:RequestTag/kubernetes-service-account': 'backstage',
        },
      }, { resourcePolicy: trust });

      // THEN the canary cluster: Pod Identity only
      expect(web('platform-prod-use1-blue')).toBe('ImplicitlyDenied');
      expect(pods('platform-prod-use1-blue')).toBe('Allowed');
      expect(pods('platform-prod-use1-blue', 'sts:TagSession')).toBe('Allowed');
      // ... the other three: IRSA only
      for (const other of ['platform-prod-use1-green', 'platform-prod-euw1-blue', 'platform-prod-euw1-green']) {
        expect([other, web(other)]).toEqual([other, 'Allowed']);
        expect([other, pods(other)]).toEqual([other, 'ImplicitlyDenied']);
      }
      // ... a cluster backstage never ran on: nothing
      expect(pods('tenant-a-use1')).toBe('ImplicitlyDenied');
      // one association, on the canary cluster
      expect(associations(tpls).filter((a) => a.ServiceAccount === 'backstage').map((a) => a.ClusterName)).toEqual(['platform-prod-use1-blue']);
    });

    test('the demo\'s telemetry-shipper canary: one cluster at POD_IDENTITY, ten at DUAL_TRUST (IAM simulation)', () => {
      // GIVEN the demo state: canary at POD_IDENTITY, wave1 at DUAL_TRUST
      const tpls = templates(synthNorthwind({}, { state: demoState() }).assembly);
      const association = role(tpls, 'pod-id-telemetry');
      const firehose = role(tpls, 'firehose-writer').Properties.AssumeRolePolicyDocument;
      const roleArn = 'arn:aws:iam::111122223333:role/pod-id-telemetry';
      const pods = (arn: string) => evaluate({
        principal: 'pods.eks.amazonaws.com',
        action: 'sts:AssumeRole',
        resource: roleArn,
        resourceAccount: ACCOUNT,
        context: { 'aws:SourceAccount': ACCOUNT, 'aws:RequestTag/eks-cluster-arn': arn, 'aws:RequestTag/kubernetes-namespace': 'observability', 'aws:RequestTag/kubernetes-service-account': 'telemetry-shipper' },
      }, { resourcePolicy: association.Properties.AssumeRolePolicyDocument });
      // THEN Pod Identity on the canary and on the ten at DUAL_TRUST; not on a cluster outside the fleet
      expect(pods(clusterArn('platform-prod-use1-blue'))).toBe('Allowed');
      expect(pods(clusterArn('batch-euw1'))).toBe('Allowed');
      expect(pods(`arn:aws:eks:us-east-1:${ACCOUNT}:cluster/sandbox`)).toBe('ImplicitlyDenied');
      // ... IRSA into firehose-writer still from all 11 (pods on the canary created before its association)
      expect(firehose.Statement).toHaveLength(11);
      // ... and the association exists only on the canary
      expect(associations(tpls).map((a) => a.ClusterName)).toEqual(['platform-prod-use1-blue']);

      // WHEN wave1 is back at IRSA_ONLY, the ten lose the Pod Identity trust
      const back = templates(synthNorthwind({ canary: P.POD_IDENTITY }).assembly);
      const rolled = evaluate({
        principal: 'pods.eks.amazonaws.com',
        action: 'sts:AssumeRole',
        resource: roleArn,
        resourceAccount: ACCOUNT,
        context: { 'aws:SourceAccount': ACCOUNT, 'aws:RequestTag/eks-cluster-arn': clusterArn('batch-euw1'), 'aws:RequestTag/kubernetes-namespace': 'observability', 'aws:RequestTag/kubernetes-service-account': 'telemetry-shipper' },
      }, { resourcePolicy: role(back, 'pod-id-telemetry').Properties.AssumeRolePolicyDocument });
      expect(rolled).toBe('ImplicitlyDenied');
    });
  });

  describe('errors', () => {
    test('an IRSA role declared as not existing: it exists and is adopted, so the entry is refused, not ignored', () => {
      const props = northwindProps();
      const roles: { [name: string]: any } = { ...props.plan.roles, 'payments-ledger': { ...props.plan.roles!['payments-ledger'], exists: false } };
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan: { ...props.plan, roles } })).toThrow(
        "PodIdentityMigration at 'Northwind': role arn:aws:iam::111122223333:role/payments-ledger: the plan's roles[\"payments-ledger\"] says \"exists\": false, "
        + 'but service accounts are annotated with it: an IRSA role exists today, and the migration adopts it (cdk import) rather than creating it. '
        + 'Remove "exists": false (it is for a role that does not exist yet, such as a new cross-account target).');
    });

    test('a role without declared permissions', () => {
      const props = northwindProps();
      const roles: { [name: string]: any } = { ...props.plan.roles, 'AmazonEKS_CNI_*': { managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy'] } };
      delete roles['payments-ledger'];
      // without collected roles (with them, the collected permissions are taken: collected-roles.test.ts)
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, collectedRoles: undefined, plan: { ...props.plan, roles } })).toThrow(
        "PodIdentityMigration at 'Northwind': role \"payments-ledger\" has no permissions in the plan. Adopting it would replace what it may do today with nothing: declare roles[\"payments-ledger\"] with its statements and managedPolicyArns (what the role may do today), or exclude its service accounts.");
    });

    test('a cross-account IRSA role without a crossAccount entry', () => {
      const props = northwindProps({ wave1: P.DUAL_TRUST });
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan: { ...props.plan, crossAccount: [] } })).toThrow(
        "PodIdentityMigration at 'Northwind': observability/telemetry-shipper on cluster \"platform-prod-use1-green\" uses role arn:aws:iam::999988887777:role/firehose-writer in account 999988887777, but Pod Identity needs the association role in the cluster's account 111122223333. Add a crossAccount entry for it to the plan (an association role that chains to firehose-writer).");
    });

    test('an inventory cluster missing from clusters', () => {
      const props = northwindProps();
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, clusters: props.clusters.slice(1) })).toThrow(
        `PodIdentityMigration at 'Northwind': the inventory has add-on vpc-cni on cluster "platform-prod-use1-blue" (${path.join(FLEET, 'addons', 'platform-prod-use1-blue', 'vpc-cni.json')}), which is not in clusters; add the cluster or leave its add-ons out of the inventory.`);
      const withoutAddons = northwindProps({}, {}, { addons: false });
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...withoutAddons, clusters: props.clusters.slice(1) })).toThrow(
        "PodIdentityMigration at 'Northwind': the inventory has internal-tools/backstage on cluster \"platform-prod-use1-blue\", which is not in clusters; add the cluster (name, ARN) or leave its output out of the inventory.");
    });

    test('retiring an OIDC provider still trusted or still used by a service account left on IRSA', () => {
      const all = { canary: P.POD_IDENTITY_ONLY, wave1: P.POD_IDENTITY_ONLY, wave2: P.POD_IDENTITY_ONLY, wave3: P.POD_IDENTITY_ONLY };
      expect(() => new PodIdentityMigration(new App(), 'Northwind', northwindProps(all, { retiredOidcProviders: ['batch-use1'] }))).toThrow(
        "PodIdentityMigration at 'Northwind': the OIDC provider of cluster \"batch-use1\" cannot be retired: still used by role arn:aws:iam::111122223333:role/AmazonEKS_CNI_batch-use1, role arn:aws:iam::111122223333:role/cluster-autoscaler-batch-use1, role arn:aws:iam::999988887777:role/firehose-writer, add-on vpc-cni (serviceAccountRoleArn arn:aws:iam::111122223333:role/AmazonEKS_CNI_batch-use1 until ANNOTATION_REMOVED; wave cni is at IRSA_ONLY). "
        + 'Move every wave on the cluster to POD_IDENTITY_ONLY, retire the IRSA roles kept for it, and migrate the service accounts left on IRSA first.');
    });

    test('the retirement check refuses a provider that only an excluded service account still uses', () => {
      // GIVEN a fleet where every role of tenant-c-use1 is at POD_IDENTITY_ONLY and kept roles are out of the picture
      const props = northwindProps({ wave2: P.POD_IDENTITY_ONLY });
      const plan = {
        ...props.plan,
        waves: props.plan.waves.filter((w) => w.name === 'wave2'),
        consolidate: [],
        crossAccount: [],
        exclude: [{ namespace: 'kube-system', serviceAccount: 'aws-node', reason: 'vpc-cni: later' }],
      };
      const inventory = props.inventory;
      const onlyTenantC = { ...props, plan, state: stateOf({ wave2: P.POD_IDENTITY_ONLY }), inventory };
      // THEN aws-node (excluded) and its add-on still use the provider; observability and kube-system (in no wave) too
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...onlyTenantC, retiredOidcProviders: ['tenant-c-use1'] })).toThrow(
        'cannot be retired: still used by excluded kube-system/aws-node (vpc-cni: later), kube-system/cluster-autoscaler (in no wave), observability/telemetry-shipper (in no wave), '
        + 'add-on vpc-cni (serviceAccountRoleArn arn:aws:iam::111122223333:role/AmazonEKS_CNI_tenant-c-use1). ');
    });

    test('a wave at POD_IDENTITY on a cluster with no agent: one error per cluster', () => {
      const app = new App();
      new PodIdentityMigration(app, 'Northwind', northwindProps({ wave3: P.POD_IDENTITY }, { installAgents: false }));
      const missing = (cluster: string) => `[Northwind] PodIdentityMigration at 'Northwind': cluster "${cluster}" has no Pod Identity agent, and the associations of wave3 need it: `
        + 'set installAgents (the default) or add a PodIdentityAgentAddon for it, or declare agentStatus PRE_INSTALLED if the agent is installed outside this app.';
      expect(() => app.synth()).toThrow('Validation failed with the following errors:\n  '
        + ['platform-prod-euw1-blue', 'platform-prod-euw1-green', 'platform-prod-use1-blue', 'platform-prod-use1-green'].map(missing).join('\n  '));
    });

    test('agents the app adds after the migration (installAgents: false) order the association stacks after them', () => {
      const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'agents-')) });
      const props = northwindProps({ wave3: P.POD_IDENTITY }, { installAgents: false });
      new PodIdentityMigration(app, 'Northwind', props);
      const agentStacks = new Map<string, Stack>();
      for (const cluster of props.clusters.filter((c) => c.needsAgentAddon)) {
        const key = `${cluster.account}-${cluster.region}`;
        const stack = agentStacks.get(key) ?? new Stack(app, `Agents-${key}`, { env: { account: cluster.account, region: cluster.region } });
        agentStacks.set(key, stack);
        new PodIdentityAgentAddon(stack, cluster.clusterName, { cluster });
      }
      const assembly = app.synth();
      const wave3 = ['platform-prod-euw1-blue', 'platform-prod-euw1-green', 'platform-prod-use1-blue', 'platform-prod-use1-green'];
      for (const name of wave3) {
        const cluster = props.clusters.find((c) => c.clusterName === name)!;
        const stack = assembly.stacks.find((s) => s.stackName === `PodIdentity-Cluster-${name}-${ACCOUNT}-${cluster.region}`)!;
        expect(stack.dependencies.map((d) => d.id)).toContain(`Agents-${ACCOUNT}-${cluster.region}`);
      }
      // clusters with no association now wait for nothing
      const canary = assembly.stacks.find((s) => s.stackName.startsWith('PodIdentity-Cluster-tenant-a-use1-'))!;
      expect(canary.dependencies.map((d) => d.id).filter((id) => id.startsWith('Agents-'))).toEqual([]);
    });

    test('a PodIdentityBinding for a service account the migration associates is refused, whichever comes first', () => {
      const props = northwindProps({ wave3: P.POD_IDENTITY });
      const cluster = props.clusters.find((c) => c.clusterName === 'platform-prod-euw1-blue')!;
      const bind = (app: App) => {
        const stack = new Stack(app, 'Own', { env: { account: ACCOUNT, region: 'eu-west-1' } });
        const own = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com') });
        new PodIdentityBinding(stack, 'Checkout', { cluster, namespace: 'payments', serviceAccount: 'checkout', role: own });
      };
      const after = new App();
      new PodIdentityMigration(after, 'Northwind', props);
      expect(() => bind(after)).toThrow(
        "PodIdentityBinding at 'Own/Checkout': payments/checkout on cluster \"platform-prod-euw1-blue\" already has a binding at 'Northwind/Clusters/platform-prod-euw1-blue-111122223333-eu-west-1/payments/checkout'; "
        + 'EKS allows one association per service account (a second fails with ResourceInUseException). Bind each service account once, and use targetRole for a role in another account.');
      const before = new App();
      bind(before);
      expect(() => new PodIdentityMigration(before, 'Northwind', props)).toThrow(
        "PodIdentityMigration at 'Northwind/Clusters/platform-prod-euw1-blue-111122223333-eu-west-1/payments/checkout': payments/checkout on cluster \"platform-prod-euw1-blue\" already has a binding at 'Own/Checkout'; ");
    });

    test('an invalid wave name', () => {
      const props = northwindProps();
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan: { ...props.plan, waves: [{ name: 'wave 1', select: [] }] } })).toThrow(
        "PodIdentityMigration at 'Northwind': invalid wave name \"wave 1\": use letters, digits and '-', starting with a letter (it is part of stack names).");
    });

    test.each(['Foundation', 'roles', 'CLUSTERS'])('a wave named %s collides with no stack: refused', (name) => {
      const props = northwindProps();
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan: { ...props.plan, waves: [{ name, select: [] }] } })).toThrow(
        new RegExp(`^PodIdentityMigration at 'Northwind': wave name "${name}" is reserved: 'Northwind/[A-Za-z]+' holds the [a-z]+ stacks\\. Name the wave differently\\.$`));
    });

    test('no homeRegion for a fleet in two regions, and none recorded', () => {
      const props = northwindProps({}, { homeRegion: undefined, placementFile: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'p-')), 'placement.json') });
      expect(() => new PodIdentityMigration(new App(), 'Northwind', props)).toThrow(
        "PodIdentityMigration at 'Northwind': the fleet spans eu-west-1, us-east-1 and no homeRegion is set or recorded: set homeRegion, the region of the role stacks (it is recorded in the placement file and never changes).");
      // recorded: taken from the placement file
      const recorded = northwindProps({}, { homeRegion: undefined });
      expect(new PodIdentityMigration(new App(), 'Northwind', recorded).homeRegion).toBe('us-east-1');
    });

    test('another homeRegion than the recorded one would move every role: refused', () => {
      expect(() => new PodIdentityMigration(new App(), 'Northwind', northwindProps({}, { homeRegion: 'eu-west-1' }))).toThrow(
        "PodIdentityMigration at 'Northwind': homeRegion \"eu-west-1\" differs from \"us-east-1\" in the placement file: the role stacks (PodIdentity-Roles-111122223333, PodIdentity-Roles-444455556666, PodIdentity-Roles-999988887777) would move to another region, and CloudFormation cannot move resources. Keep homeRegion \"us-east-1\".");
    });

    test('a lost placement file, once the state records steps, fails instead of placing anew', () => {
      const missing = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'p-')), 'placement.json');
      expect(() => new PodIdentityMigration(new App(), 'Northwind', northwindProps({}, { state: demoState(), placementFile: missing }))).toThrow(
        `PodIdentityMigration at 'Northwind': the placement file ${missing} is missing, but the state records steps of canary, wave1, wave2, cni: the migration has been deployed, and placing its resources anew could move them between stacks. Restore the file from version control.`);
      // before the first step it is created
      const app = new App();
      new PodIdentityMigration(app, 'Northwind', northwindProps({}, { placementFile: missing }));
      app.synth();
      expect(fs.existsSync(missing)).toBe(true);
    });

    test('frozen placement: a resource the file lacks fails synthesis instead of being added', () => {
      const props = northwindProps();
      const inventory = props.inventory;
      inventory.addEntry({ cluster: 'batch-use1', namespace: 'payments', serviceAccount: 'refunds', roleArn: 'arn:aws:iam::111122223333:role/payments-checkout' });
      const app = new App({ context: { 'cdk-eks-pod-identity:frozen-placement': 'true' } });
      expect(() => new PodIdentityMigration(app, 'Northwind', { ...props, inventory })).toThrow(
        `PodIdentityMigration at 'Northwind': the placement file ${props.placementFile} lacks 1 resources (arn:aws:eks:us-east-1:111122223333:cluster/batch-use1 payments/refunds), and context cdk-eks-pod-identity:frozen-placement forbids adding them here. Synthesize without it, review and commit the file.`);
    });

    test('frozen placement: a committed file without the IRSA roles of the migrated service accounts fails synthesis, naming them', () => {
      // GIVEN the demo's committed file, as a version that did not record the roles wrote it
      const placementFile = placementCopy();
      const record = JSON.parse(fs.readFileSync(placementFile, 'utf8'));
      const count = (m: any) => Object.values<any>(m).reduce((n, members) => n + Object.keys(members).length, 0);
      const [sas, addons] = [count(record.irsaRoles), count(record.addonRoles)];
      delete record.irsaRoles;
      delete record.addonRoles;
      fs.writeFileSync(placementFile, JSON.stringify(record, null, 2));
      const app = new App({ context: { 'cdk-eks-pod-identity:frozen-placement': 'true' } });
      expect(() => new PodIdentityMigration(app, 'Northwind', northwindProps({}, { state: demoState(), placementFile }))).toThrow(
        `PodIdentityMigration at 'Northwind': the placement file ${placementFile} does not record the IRSA roles of ${sas + addons} migrated service accounts and add-ons (irsaRoles, addonRoles), `
        + 'and context cdk-eks-pod-identity:frozen-placement forbids recording it here. Synthesize without it, review and commit the file with the change of state or plan.');
      expect([sas, addons]).toEqual([61, 11]);
    });

    test('frozen placement: a state step the committed file does not record fails synthesis, naming the wave', () => {
      // GIVEN the demo's committed file, and wave3 stepped to DUAL_TRUST in the state without committing the file again
      const state = demoState();
      const stepped = { ...state, waves: { ...state.waves, wave3: [...state.waves!.wave3, { phase: P.DUAL_TRUST }] } };
      const placementFile = placementCopy();
      const app = new App({ context: { 'cdk-eks-pod-identity:frozen-placement': 'true' } });
      expect(() => new PodIdentityMigration(app, 'Northwind', northwindProps({}, { state: stepped, placementFile }))).toThrow(
        `PodIdentityMigration at 'Northwind': the placement file ${placementFile} does not record wave wave3 at DUAL_TRUST (recorded IRSA_ONLY), `
        + 'and context cdk-eks-pod-identity:frozen-placement forbids recording it here. Synthesize without it, review and commit the file with the change of state or plan.');
      // the demo's own state is recorded: frozen synthesis passes
      expect(() => new PodIdentityMigration(new App({ context: { 'cdk-eks-pod-identity:frozen-placement': 'true' } }), 'Northwind',
        northwindProps({}, { state, placementFile: placementCopy() }))).not.toThrow();
    });
  });
});

describe('PodIdentityMigration placement file', () => {
  test('synthesis extends the file and never rewrites it; the demo\'s committed file is up to date', () => {
    // GIVEN the committed file
    const committed = fs.readFileSync(placementCopy(), 'utf8');
    const { migration } = synthNorthwind({}, { state: demoState() });
    // THEN the demo adds nothing
    expect(fs.readFileSync((migration as any).props.placementFile, 'utf8')).toBe(committed);

    // WHEN a service account is added
    const props = northwindProps();
    props.inventory.addEntry({ cluster: 'batch-use1', namespace: 'payments', serviceAccount: 'refunds', roleArn: 'arn:aws:iam::111122223333:role/payments-checkout' });
    const app = new App();
    new PodIdentityMigration(app, 'Northwind', props);
    app.synth();
    const extended = JSON.parse(fs.readFileSync(props.placementFile, 'utf8'));
    // THEN it is added, and every recorded entry is unchanged
    expect(extended.associations['arn:aws:eks:us-east-1:111122223333:cluster/batch-use1']['payments/refunds']).toBe(1);
    const before = JSON.parse(committed);
    for (const [cluster, entries] of Object.entries<any>(before.associations)) {
      expect(extended.associations[cluster]).toMatchObject(entries);
    }
    expect(extended.roles).toEqual(before.roles);
  });

  test('shards: a full stack is never split; new resources go to the next shard', () => {
    // GIVEN room for 10 roles per stack, from an empty file
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'p-')), 'placement.json');
    const app = new App();
    new PodIdentityMigration(app, 'Northwind', northwindProps({}, { maxResourcesPerStack: 10, placementFile: file }));
    const tpls = templates(app.synth());
    // THEN the 32 roles of 111122223333 fill four stacks, in name order
    expect(resources(tpls['PodIdentity-Roles-111122223333'], 'AWS::IAM::Role')).toHaveLength(10);
    expect(resources(tpls['PodIdentity-Roles-111122223333-2'], 'AWS::IAM::Role')).toHaveLength(10);
    expect(resources(tpls['PodIdentity-Roles-111122223333-3'], 'AWS::IAM::Role')).toHaveLength(10);
    expect(resources(tpls['PodIdentity-Roles-111122223333-4'], 'AWS::IAM::Role')).toHaveLength(2);
    expect(resources(tpls['PodIdentity-Roles-111122223333'], 'AWS::IAM::Role').map(([, r]) => r.Properties.RoleName)[0]).toBe('AmazonEKS_CNI_batch-euw1');
  });

  test('a stack recorded in the file stays in the app, deployable, when it holds no association now: a deploy removes what it held', () => {
    // GIVEN payments at POD_IDENTITY, then rolled back to DUAL_TRUST
    const props = northwindProps({ wave3: P.POD_IDENTITY });
    const first = new App();
    new PodIdentityMigration(first, 'Northwind', props);
    const before = templates(first.synth());
    const stack = 'PodIdentity-Cluster-platform-prod-euw1-blue-111122223333-eu-west-1';
    expect(resources(before[stack], 'AWS::EKS::PodIdentityAssociation')).toHaveLength(2);
    const second = new App();
    new PodIdentityMigration(second, 'Northwind', { ...props, state: stateOf({ wave3: P.DUAL_TRUST }) });
    const after = templates(second.synth());
    // THEN the stack is still there, with its placeholder only
    expect(Object.values<any>(after[stack].Resources).map((r) => r.Type)).toEqual(['AWS::CloudFormation::WaitConditionHandle']);
  });
});

describe('PodIdentityMigration L1 shapes', () => {
  test('roles are single AWS::IAM::Role resources with Retain', () => {
    const { migration } = synthNorthwind();
    const roles = migration.stacks.find((s) => s.stackName === 'PodIdentity-Roles-444455556666')!;
    Template.fromStack(roles).hasResource('AWS::IAM::Role', Match.objectLike({ DeletionPolicy: 'Retain', Properties: Match.objectLike({ RoleName: 'cross-acct-ingest' }) }));
  });
});
