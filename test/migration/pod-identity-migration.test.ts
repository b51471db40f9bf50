import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { northwindProps, synthNorthwind, templates } from './northwind';
import { IrsaInventory, MigrationPhase, PodIdentityCluster, PodIdentityMigration } from '../../src';
import { TEMPLATE_DIR } from '../util/synth';

const P = MigrationPhase;

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

function keepForLint(tpls: { [s: string]: any }, label: string) {
  fs.mkdirSync(TEMPLATE_DIR, { recursive: true });
  for (const [name, t] of Object.entries(tpls)) {
    fs.writeFileSync(path.join(TEMPLATE_DIR, `northwind-${label}--${name}.template.json`), JSON.stringify(t));
  }
}

describe('PodIdentityMigration on the Northwind fleet', () => {
  test('stacks: a foundation per account/region, one per wave per account/region, roles in the home region', () => {
    const { assembly } = synthNorthwind({ wave1: P.POD_IDENTITY, wave2: P.DUAL_TRUST, wave3: P.IRSA_ONLY });
    const tpls = templates(assembly);
    keepForLint(tpls, 'mixed');
    expect(Object.keys(tpls).sort()).toEqual([
      'PodIdentity-Foundation-111122223333-eu-west-1',
      'PodIdentity-Foundation-111122223333-us-east-1',
      'PodIdentity-wave1-111122223333-eu-west-1',
      'PodIdentity-wave1-111122223333-us-east-1',
      'PodIdentity-wave1-999988887777-us-east-1',
      'PodIdentity-wave2-111122223333-us-east-1',
      'PodIdentity-wave2-444455556666-us-east-1',
      'PodIdentity-wave3-111122223333-us-east-1',
    ]);
    // agents: every cluster but the Auto Mode one
    const addons = Object.values(tpls).flatMap((t) => resources(t, 'AWS::EKS::Addon').map(([, r]) => r.Properties.ClusterName));
    expect(addons).toHaveLength(10);
    expect(addons).not.toContain('tenant-c-use1');
    // every stack under CloudFormation's limit
    for (const t of Object.values(tpls)) {
      expect(Object.keys(t.Resources ?? {}).length).toBeLessThan(500);
    }
  });

  test('adopted roles keep their names, are retained, carry the plan\'s permissions', () => {
    const tpls = templates(synthNorthwind().assembly);
    const checkout = role(tpls, 'payments-checkout');
    expect(checkout.DeletionPolicy).toEqual('Retain');
    expect(checkout.UpdateReplacePolicy).toEqual('Retain');
    const policy = Object.values(tpls).flatMap((t) => resources(t, 'AWS::IAM::Policy').map(([, r]) => r.Properties))
      .find((p) => p.PolicyName === 'permissions' && JSON.stringify(p).includes('table/orders'));
    expect(policy.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: 'arn:aws:dynamodb:*:111122223333:table/orders' },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::tenant-data/payments/*' },
    ]);
    expect(role(tpls, 'backstage-readonly').Properties.ManagedPolicyArns).toEqual(['arn:aws:iam::aws:policy/ReadOnlyAccess']);
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

  test('consolidation: one shared cluster-autoscaler role bound on every cluster; the per-cluster roles keep IRSA', () => {
    const tpls = templates(synthNorthwind({ wave1: P.POD_IDENTITY_ONLY }).assembly);
    const shared = role(tpls, 'cluster-autoscaler');
    expect(shared.Properties.AssumeRolePolicyDocument.Statement).toEqual([{
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: { StringEquals: { 'aws:SourceAccount': '111122223333', 'aws:RequestTag/kubernetes-namespace': 'kube-system', 'aws:RequestTag/kubernetes-service-account': 'cluster-autoscaler' } },
    }]);
    const autoscaler = associations(tpls).filter((a) => a.ServiceAccount === 'cluster-autoscaler');
    expect(autoscaler).toHaveLength(11);
    // in the home region's stack by GetAtt of the shared role, elsewhere by its ARN
    const sharedLogicalId = Object.entries<any>(tpls['PodIdentity-wave1-111122223333-us-east-1'].Resources)
      .find(([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === 'cluster-autoscaler')![0];
    for (const a of autoscaler) {
      expect([JSON.stringify({ 'Fn::GetAtt': [sharedLogicalId, 'Arn'] }), '"arn:aws:iam::111122223333:role/cluster-autoscaler"']).toContain(JSON.stringify(a.RoleArn));
    }
    const old = role(tpls, 'cluster-autoscaler-batch-use1');
    expect(old.Properties.AssumeRolePolicyDocument.Statement.map((s: any) => s.Action)).toEqual(['sts:AssumeRoleWithWebIdentity']);
  });

  test('cross-account: ingest chains from its (dual) IRSA role to the data account; telemetry from a new association role', () => {
    const tpls = templates(synthNorthwind({ wave1: P.POD_IDENTITY, wave2: P.POD_IDENTITY }).assembly);
    const ingest = associations(tpls).filter((a) => a.ServiceAccount === 'ingest');
    expect(ingest).toHaveLength(2);
    expect(ingest[0].TargetRoleArn).toEqual('arn:aws:iam::444455556666:role/cross-acct-ingest');
    const target = role(tpls, 'cross-acct-ingest');
    expect(target.Properties.AssumeRolePolicyDocument.Statement).toEqual([{
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111122223333:root']] } },
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
    const app = new App();
    new PodIdentityMigration(app, 'Northwind', { ...props, plan });
    expect(() => app.synth()).toThrow(/PodIdentityMigration target role 'Northwind\/wave1-999988887777-us-east-1\/Role-firehose-writer': the trust policy is 4,201 characters \(whitespace not counted\), over trustPolicyMaxLength 4,096\./);
  });

  test('artifacts: manifests per cluster and wave, runbooks, the plan index and import mappings', () => {
    const { outdir } = synthNorthwind({ wave1: P.ANNOTATION_REMOVED });
    const manifest = fs.readFileSync(path.join(outdir, 'k8s', 'platform-prod-use1-blue', 'wave1.yaml'), 'utf8');
    expect(manifest).toContain('name: backstage');
    expect(manifest).not.toContain('eks.amazonaws.com/role-arn');
    const wave3 = fs.readFileSync(path.join(outdir, 'k8s', 'platform-prod-use1-blue', 'wave3.yaml'), 'utf8');
    expect(wave3).toContain('eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/payments-checkout');
    expect(wave3).toContain('eks.amazonaws.com/token-expiration: "86400"');
    expect(wave3).toContain('cost-center: cc-4711');
    for (const file of ['index.md', 'wave1.md', 'wave2.md', 'wave3.md']) {
      expect(fs.existsSync(path.join(outdir, 'runbooks', file))).toBe(true);
    }
    const index = fs.readFileSync(path.join(outdir, 'runbooks', 'index.md'), 'utf8');
    expect(index).toContain('## Trust policies near their limit (75% or more)\n\n- arn:aws:iam::999988887777:role/firehose-writer: 3,987 of 4,096 characters\n');
    expect(index).toContain('- platform-prod-use1-blue kube-system/aws-node: managed add-on (vpc-cni) role: migrate through the add-on, not here');
    const mapping = JSON.parse(fs.readFileSync(path.join(outdir, 'import', 'PodIdentity-wave3-111122223333-us-east-1.json'), 'utf8'));
    expect(Object.values(mapping)).toEqual([{ RoleName: 'payments-checkout' }, { RoleName: 'payments-ledger' }]);
  });

  test('the phase comes from context when given: -c pod-identity-migration:<wave>=<PHASE>', () => {
    const { migration } = synthNorthwind({ wave3: P.IRSA_ONLY }, {}, { 'pod-identity-migration:wave3': 'DUAL_TRUST' });
    expect(migration.phaseOf('wave3')).toEqual(P.DUAL_TRUST);
    expect(PodIdentityMigration.contextKey('wave3')).toEqual('pod-identity-migration:wave3');
  });

  describe('errors', () => {
    test('an unknown phase in context', () => {
      const app = new App({ context: { 'pod-identity-migration:wave2': 'DUAL' } });
      expect(() => new PodIdentityMigration(app, 'Northwind', northwindProps())).toThrow(
        "PodIdentityMigration at 'Northwind': wave \"wave2\": unknown phase \"DUAL\" (from context pod-identity-migration:wave2); expected one of IRSA_ONLY, DUAL_TRUST, POD_IDENTITY, ANNOTATION_REMOVED, POD_IDENTITY_ONLY.");
    });

    test('a role without declared permissions', () => {
      const props = northwindProps();
      const roles = { ...props.plan.roles };
      delete roles['payments-ledger'];
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan: { ...props.plan, roles } })).toThrow(
        "PodIdentityMigration at 'Northwind': role \"payments-ledger\" has no permissions in the plan. Adopting it would replace what it may do today with nothing: declare roles[\"payments-ledger\"] with its statements and managedPolicyArns (what the role may do today), or exclude its service accounts.");
    });

    test('a role whose service accounts are in two waves', () => {
      const props = northwindProps();
      const waves = [...props.plan.waves, { name: 'wave4', select: [{ namespace: 'payments', serviceAccount: 'checkout', cluster: 'platform-prod-euw1-blue' }] }];
      waves.unshift(waves.pop()!);
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan: { ...props.plan, waves } })).toThrow(
        "PodIdentityMigration at 'Northwind': role \"arn:aws:iam::111122223333:role/payments-checkout\" serves service accounts in waves wave3 and wave4; a role's trust follows one phase. Put all its service accounts in one wave.");
    });

    test('a cross-account IRSA role without a crossAccount entry', () => {
      const props = northwindProps({ wave1: P.DUAL_TRUST });
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan: { ...props.plan, crossAccount: [] } })).toThrow(
        "PodIdentityMigration at 'Northwind': observability/telemetry-shipper on cluster \"platform-prod-use1-blue\" uses role arn:aws:iam::999988887777:role/firehose-writer in account 999988887777, but Pod Identity needs the association role in the cluster's account 111122223333. Add a crossAccount entry for it to the plan (an association role that chains to firehose-writer).");
    });

    test('an inventory cluster missing from clusters', () => {
      const props = northwindProps();
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, clusters: props.clusters.slice(1) })).toThrow(
        "PodIdentityMigration at 'Northwind': the inventory has internal-tools/backstage on cluster \"platform-prod-use1-blue\", which is not in clusters; add the cluster (name, ARN) or leave its output out of the inventory.");
    });

    test('retiring an OIDC provider still trusted', () => {
      const app = new App();
      new PodIdentityMigration(app, 'Northwind', northwindProps({ wave1: P.POD_IDENTITY_ONLY, wave2: P.POD_IDENTITY_ONLY, wave3: P.POD_IDENTITY_ONLY }, { retiredOidcProviders: ['batch-use1'] }));
      expect(() => app.synth()).toThrow(
        "PodIdentityMigration at 'Northwind': the OIDC provider of cluster \"batch-use1\" cannot be retired: arn:aws:iam::999988887777:role/firehose-writer, arn:aws:iam::111122223333:role/cluster-autoscaler-batch-use1 still trust it. Move every wave on the cluster to POD_IDENTITY_ONLY (and retire consolidated per-cluster roles) first.");
    });

    test('a wave at POD_IDENTITY on a cluster with no agent', () => {
      const app = new App();
      new PodIdentityMigration(app, 'Northwind', northwindProps({ wave3: P.POD_IDENTITY }, { installAgents: false }));
      expect(() => app.synth()).toThrow(
        "PodIdentityBinding at 'Northwind/wave3-111122223333-us-east-1/Binding-platform-prod-use1-blue-payments-checkout': cluster \"platform-prod-use1-blue\" has no Pod Identity agent: add a PodIdentityAgentAddon for it, or declare agentStatus PRE_INSTALLED if the agent is installed outside this app.");
    });

    test('an invalid wave name', () => {
      const props = northwindProps();
      expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan: { ...props.plan, waves: [{ name: 'wave 1', select: [] }] } })).toThrow(
        "PodIdentityMigration at 'Northwind': invalid wave name \"wave 1\": use letters, digits and '-', starting with a letter (it is part of stack names).");
    });
  });
});

describe('PodIdentityMigration sharding', () => {
  test('associations spill into shards under maxResourcesPerStack, by cluster, with stable names', () => {
    const { assembly } = synthNorthwind({ wave1: P.POD_IDENTITY }, { maxResourcesPerStack: 40 });
    const names = assembly.stacks.map((s) => s.stackName).filter((n) => n.startsWith('PodIdentity-wave1-111122223333-us-east-1')).sort();
    expect(names).toEqual(['PodIdentity-wave1-111122223333-us-east-1', 'PodIdentity-wave1-111122223333-us-east-1-shard2']);
    const tpls = templates(assembly);
    for (const name of names) {
      expect(Object.keys(tpls[name].Resources).length).toBeLessThanOrEqual(40 + 5);
    }
    // every association of one cluster sits in one stack
    const stackOfCluster = new Map<string, Set<string>>();
    for (const name of names) {
      for (const a of associations({ [name]: tpls[name] })) {
        stackOfCluster.set(a.ClusterName, new Set([...(stackOfCluster.get(a.ClusterName) ?? []), name]));
      }
    }
    for (const stacks of stackOfCluster.values()) {
      expect(stacks.size).toBe(1);
    }
    // wave1 in us-east-1: backstage on 2 clusters, cluster-autoscaler and telemetry-shipper on 6
    expect(names.flatMap((n) => associations({ [n]: tpls[n] }))).toHaveLength(14);
  });
});

describe('PodIdentityMigration shard stability', () => {
  function generatedFleet(clusterCount: number) {
    const clusters = Array.from({ length: clusterCount }, (_, c) => PodIdentityCluster.fromClusterAttributes({
      clusterName: `cluster-${String(c).padStart(2, '0')}`,
      clusterArn: `arn:aws:eks:us-east-1:111122223333:cluster/cluster-${String(c).padStart(2, '0')}`,
      oidcIssuer: `oidc.eks.us-east-1.amazonaws.com/id/${String(c).padStart(32, '0')}`,
    }));
    const inventory = new IrsaInventory();
    for (const cluster of clusters) {
      for (let s = 0; s < 6; s++) {
        inventory.addEntry({ cluster: cluster.clusterName, namespace: 'apps', serviceAccount: `app-${s}`, roleArn: `arn:aws:iam::111122223333:role/app-${cluster.clusterName}-${s}` });
      }
    }
    const app = new App();
    new PodIdentityMigration(app, 'Fleet', {
      clusters,
      inventory,
      maxResourcesPerStack: 60,
      plan: {
        waves: [{ name: 'all', select: [{ namespace: 'apps' }], phase: P.POD_IDENTITY }],
        roles: { 'app-*': { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] } },
      },
    });
    const where = new Map<string, string>();
    for (const stack of app.synth().stacks) {
      for (const [id, r] of Object.entries<any>(stack.template.Resources ?? {})) {
        if (r.Type === 'AWS::IAM::Role' || r.Type === 'AWS::EKS::PodIdentityAssociation') {
          where.set(id, stack.stackName);
        }
      }
    }
    return where;
  }

  test('adding clusters whose names sort after the existing ones moves no role or association to another stack', () => {
    const before = generatedFleet(8);
    const after = generatedFleet(12);
    expect(new Set(before.values()).size).toBeGreaterThan(1); // it did shard
    for (const [id, stack] of before) {
      expect([id, after.get(id)]).toEqual([id, stack]);
    }
  });
});
