/**
 * A fleet in another partition (aws-cn), end to end: every ARN the library builds or expects uses
 * the cluster's partition, never `aws`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AgentStatus, CrossAccountPodRole, IrsaInventory, MigrationPhase, PodIdentityChecks, PodIdentityCluster, PodIdentityMigration } from '../../src';
import { recordWavePhases } from '../util/placement';

const ACCOUNT = '111122223333';
const DATA = '444455556666';
const cluster = (name: string) => PodIdentityCluster.fromClusterAttributes({
  clusterName: name,
  clusterArn: `arn:aws-cn:eks:cn-north-1:${ACCOUNT}:cluster/${name}`,
  oidcIssuer: `oidc.eks.cn-north-1.amazonaws.com.cn/id/${name.toUpperCase().padEnd(32, '0')}`,
});

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

describe('another partition (aws-cn)', () => {
  test('the migration: roles, trusts, chains, associations and runbooks stay in aws-cn', () => {
    // GIVEN two clusters, a dual role, a consolidation and a cross-account chain
    const clusters = [cluster('cn-a'), cluster('cn-b')];
    const inventory = new IrsaInventory();
    for (const c of clusters) {
      inventory.addEntry({ cluster: c.clusterName, namespace: 'payments', serviceAccount: 'checkout', roleArn: `arn:aws-cn:iam::${ACCOUNT}:role/checkout` });
      inventory.addEntry({ cluster: c.clusterName, namespace: 'kube-system', serviceAccount: 'autoscaler', roleArn: `arn:aws-cn:iam::${ACCOUNT}:role/autoscaler-${c.clusterName}` });
      inventory.addEntry({ cluster: c.clusterName, namespace: 'data', serviceAccount: 'ingest', roleArn: `arn:aws-cn:iam::${ACCOUNT}:role/ingest` });
    }
    const statements = [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws-cn:s3:::bucket/*' }];
    const placementFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cn-')), 'placement.json');
    const migrate = (app: App, phases: MigrationPhase[]) => new PodIdentityMigration(app, 'Cn', {
      clusters,
      inventory,
      plan: {
        waves: [{ name: 'all', select: [{ namespace: 'payments' }, { namespace: 'kube-system' }, { namespace: 'data' }] }],
        roles: { 'checkout': { statements }, 'autoscaler-*': { statements }, 'ingest': { statements }, 'cross-ingest': { statements } },
        consolidate: [{ namespace: 'kube-system', serviceAccount: 'autoscaler', roleName: 'autoscaler' }],
        crossAccount: [{ namespace: 'data', serviceAccount: 'ingest', associationRoleName: 'ingest', targetRoleArn: `arn:aws-cn:iam::${DATA}:role/cross-ingest` }],
      },
      state: { waves: { all: phases.map((phase) => ({ phase })) } },
      placementFile,
      trustPolicyMaxLengthByAccount: { [ACCOUNT]: 4096 },
    });
    // the migration's first synthesis (IRSA_ONLY) wrote the placement file
    const start = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cn-')) });
    migrate(start, []);
    start.synth();
    recordWavePhases(placementFile, { all: MigrationPhase.DUAL_TRUST });
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cn-'));
    const app = new App({ outdir });
    migrate(app, [MigrationPhase.IRSA_ONLY, MigrationPhase.DUAL_TRUST, MigrationPhase.POD_IDENTITY]);

    // WHEN
    const assembly = app.synth();

    // THEN no ARN of another partition anywhere
    const all = assembly.stacks.flatMap((s) => strings(s.template));
    const arns = all.filter((v) => v.startsWith('arn:'));
    expect(arns.length).toBeGreaterThan(10);
    expect(arns.filter((a) => !a.startsWith('arn:aws-cn:'))).toEqual([]);
    // the OIDC providers, the chain's principal and the association's roles, in aws-cn
    expect(arns).toContain(`arn:aws-cn:iam::${ACCOUNT}:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/CN-A${'0'.repeat(28)}`);
    expect(arns).toContain(`arn:aws-cn:iam::${ACCOUNT}:root`);
    expect(arns).toContain(`arn:aws-cn:iam::${ACCOUNT}:role/autoscaler`);
    expect(arns).toContain(`arn:aws-cn:eks:cn-north-1:${ACCOUNT}:cluster/cn-a`);
    // the runbook's expected identities
    const runbook = fs.readFileSync(path.join(outdir, 'runbooks', 'all.md'), 'utf8');
    expect(runbook).not.toMatch(/arn:aws:/);
    const targets = fs.readFileSync(path.join(outdir, 'runbooks', 'all', 'targets.tsv'), 'utf8');
    expect(targets).toContain(`\tarn:aws-cn:sts::${ACCOUNT}:assumed-role/checkout/\t`);
    expect(targets).not.toMatch(/arn:aws:/);
  });

  test('CrossAccountPodRole and PodIdentityChecks in aws-cn: both sides in the partition, no false finding', () => {
    const app = new App();
    Aspects.of(app).add(new PodIdentityChecks());
    const env = { account: ACCOUNT, region: 'cn-north-1' };
    const stack = new Stack(app, 'Cluster', { env });
    const target = new Stack(app, 'Data', { env: { account: DATA, region: 'cn-north-1' } });
    new CrossAccountPodRole(stack, 'Ingest', {
      cluster: PodIdentityCluster.fromClusterAttributes({ clusterName: 'cn-a', clusterArn: `arn:aws-cn:eks:cn-north-1:${ACCOUNT}:cluster/cn-a`, agentStatus: AgentStatus.PRE_INSTALLED }),
      namespace: 'data',
      serviceAccount: 'ingest',
      targetStack: target,
      targetRoleName: 'cross-ingest',
    });
    const assembly = app.synth();
    // written ARNs are in aws-cn; ARNs CDK builds join "arn:" with AWS::Partition, right in any partition
    const arns = assembly.stacks.flatMap((s) => strings(s.template)).filter((v) => v.startsWith('arn:') && v !== 'arn:');
    expect(arns.length).toBeGreaterThan(1);
    expect(arns.filter((a) => !a.startsWith('arn:aws-cn:'))).toEqual([]);
    expect(JSON.stringify(assembly.stacks.map((s) => s.template))).not.toContain('arn:aws:');
    for (const s of [stack, target]) {
      expect(Annotations.fromStack(s).findError('*', Match.anyValue())).toEqual([]);
    }
  });
});
