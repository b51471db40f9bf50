/**
 * The Markdown runbook stays short however big the wave: the scripts loop over the wave's data.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { synthNorthwind } from './northwind';
import { IrsaInventory, MigrationPhase as P, PodIdentityCluster, PodIdentityMigration } from '../../src';
import { TRANSITIONS } from '../../src/migration/private/wave-scripts';
import { assumedRolePrefix } from '../../src/private/arns';

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').length;

describe('runbook size', () => {
  test('the demo\'s wave1 runbook is under 120 lines; its scripts hold no per-pod line', () => {
    const { outdir } = synthNorthwind();
    expect(lines(path.join(outdir, 'runbooks', 'wave1.md'))).toBeLessThan(120);
    const apply = fs.readFileSync(path.join(outdir, 'runbooks', 'wave1', 'DUAL_TRUST-to-POD_IDENTITY', 'apply.sh'), 'utf8');
    expect(apply.split('\n').length).toBeLessThan(12);
    expect(apply).not.toMatch(/kubectl|platform-prod|backstage/);
    // the data: one line per service account of the wave
    const targets = fs.readFileSync(path.join(outdir, 'runbooks', 'wave1', 'targets.tsv'), 'utf8').trim().split('\n').filter((l) => !l.startsWith('#'));
    expect(targets).toHaveLength(25);
  });

  test('a wave of 12 clusters x 30 service accounts has a runbook under 200 lines', () => {
    const clusters = Array.from({ length: 12 }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
    const inventory = new IrsaInventory();
    for (const c of clusters) {
      for (let i = 1; i <= 30; i++) {
        const sa = `sa${String(i).padStart(2, '0')}`;
        inventory.addEntry({ cluster: c, namespace: 'apps', serviceAccount: sa, roleArn: `arn:aws:iam::111122223333:role/${sa}-${c}` });
      }
    }
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'big-'));
    const app = new App({ outdir });
    new PodIdentityMigration(app, 'Big', {
      clusters: clusters.map((c) => PodIdentityCluster.fromClusterAttributes({
        clusterName: c,
        clusterArn: `arn:aws:eks:us-east-1:111122223333:cluster/${c}`,
        oidcIssuer: `oidc.eks.us-east-1.amazonaws.com/id/${c.toUpperCase().padEnd(32, 'F')}`,
      })),
      inventory,
      plan: { waves: [{ name: 'all', select: [{ namespace: 'apps' }] }], roles: { 'sa*': { statements: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }] } } },
      placementFile: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'big-place-')), 'placement.json'),
    });
    app.synth();
    expect(lines(path.join(outdir, 'runbooks', 'all.md'))).toBeLessThan(200);
    expect(fs.readFileSync(path.join(outdir, 'runbooks', 'all', 'targets.tsv'), 'utf8').trim().split('\n')).toHaveLength(361);
  });
});

describe('wave scripts (pure parts)', () => {
  test('one folder per forward transition, in phase order', () => {
    expect(TRANSITIONS.map((t) => t.dir)).toEqual([
      'IRSA_ONLY-to-DUAL_TRUST', 'DUAL_TRUST-to-POD_IDENTITY', 'POD_IDENTITY-to-ANNOTATION_REMOVED', 'ANNOTATION_REMOVED-to-POD_IDENTITY_ONLY',
    ]);
    expect(TRANSITIONS[1]).toEqual({ from: P.DUAL_TRUST, to: P.POD_IDENTITY, dir: 'DUAL_TRUST-to-POD_IDENTITY' });
  });

  test('the expected identity is the assumed role: same partition and account, no path', () => {
    expect(assumedRolePrefix('arn:aws:iam::111122223333:role/team/payments/checkout')).toEqual('arn:aws:sts::111122223333:assumed-role/checkout/');
    expect(assumedRolePrefix('arn:aws-cn:iam::111122223333:role/checkout')).toEqual('arn:aws-cn:sts::111122223333:assumed-role/checkout/');
    expect(assumedRolePrefix('arn:aws-us-gov:iam::111122223333:role/a/b')).toEqual('arn:aws-us-gov:sts::111122223333:assumed-role/b/');
  });
});
