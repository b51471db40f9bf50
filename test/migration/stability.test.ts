/**
 * Placement stability as a property: over random fleets and random sequences of the changes a
 * fleet goes through while a migration runs for weeks (clusters inserted, removed, reordered,
 * replaced blue/green, a region added, service accounts added, a namespace moved between waves, a
 * wave stepped one phase either way), no resource that exists before and after a change changes
 * stack or logical ID, ever: each synthesis is compared with where every resource was first seen.
 * The placement file persists between the syntheses of a sequence, as it would in the repository.
 * A synthesis may only fail with a message that names what would move.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import * as fc from 'fast-check';
import { PodIdentityMigration } from '../../src';
import { apply, changeArb, fleetArb, migrationProps, Model } from '../util/fleet-model';
import { recordWavePhases } from '../util/placement';

/** Where each resource is: identity -> `stack logicalId`. */
function synth(model: Model, placementFile: string): Map<string, string> {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'stability-')), analyticsReporting: false });
  new PodIdentityMigration(app, 'Fleet', { ...migrationProps(model), placementFile });
  const where = new Map<string, string>();
  for (const stack of app.synth().stacks) {
    const region = stack.environment.region;
    for (const [logicalId, r] of Object.entries<any>(stack.template.Resources ?? {})) {
      const p = r.Properties ?? {};
      const identity = {
        'AWS::IAM::Role': () => `role ${p.RoleName}`,
        'AWS::EKS::PodIdentityAssociation': () => `association ${region}/${p.ClusterName}/${p.Namespace}/${p.ServiceAccount}`,
        'AWS::EKS::Addon': () => `addon ${region}/${p.ClusterName}`,
        'AWS::SSM::Parameter': () => `record ${region}/${p.Name}`,
      }[r.Type as string];
      if (identity) {
        where.set(identity(), `${stack.stackName} ${logicalId}`);
      }
    }
  }
  fs.rmSync(app.outdir, { recursive: true, force: true });
  return where;
}

describe('placement stability (property-based)', () => {
  test('no resource ever changes stack or logical ID across random sequences of fleet changes', () => {
    let sequences = 0;
    let moves = 0;
    let synths = 0;
    let refused = 0;
    const kinds = new Set<string>();
    fc.assert(fc.property(fleetArb, fc.array(changeArb, { minLength: 1, maxLength: 6 }), (initial, changes) => {
      const placementFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'placement-')), 'placement.json');
      // the migration started from IRSA_ONLY with this fleet: that first synthesis wrote the file
      synth({ ...initial, history: {} }, placementFile);
      // and the deploys that stepped each wave to where the sequence starts
      recordWavePhases(placementFile, Object.fromEntries(Object.entries(initial.history).map(([w, h]) => [w, h[h.length - 1]])));
      const firstSeen = new Map<string, string>();
      let model = initial;
      for (const change of [undefined, ...changes]) {
        const next = change ? apply(model, change) : model;
        let where: Map<string, string>;
        try {
          where = synth(next, placementFile);
        } catch (e) {
          // the only acceptable failures name what would move, or a service account whose phase
          // would jump (a service account added to, or moved into, a wave further on); the change is then not made
          expect((e as Error).message).toMatch(/would (move|hold)|would change (its|their) effective phase by more than one step/);
          refused += (e as Error).message.includes('effective phase') ? 1 : 0;
          continue;
        }
        synths += 1;
        for (const [identity, place] of where) {
          kinds.add(`${identity.split(' ')[0]}${/-Roles-\d{12}-\d+ /.test(place) ? ' in a second shard' : ''}`);
          const first = firstSeen.get(identity);
          if (first === undefined) {
            firstSeen.set(identity, place);
          } else if (first !== place) {
            moves += 1;
            expect([identity, place, change?.kind]).toEqual([identity, first, change?.kind]);
          }
        }
        model = next;
      }
      sequences += 1;
    }), { numRuns: 60, seed: 20261122 });
    expect(sequences).toBe(60);
    expect(moves).toBe(0);
    // the sequences did exercise what matters: associations exist, and role stacks were sharded
    expect(synths).toBeGreaterThan(150);
    // and the guard did refuse some of them (new service accounts entering waves already past DUAL_TRUST, namespaces moved two phases)
    expect(refused).toBeGreaterThan(0);
    expect([...kinds].sort()).toEqual(['addon', 'association', 'record', 'role', 'role in a second shard']);
  });

  test('the check can fail: without the placement file, inserting a cluster that sorts first would move resources', () => {
    // GIVEN a fleet whose roles fill more than one stack
    const model: Model = {
      clusters: ['c1', 'c2', 'c3'].map((name) => ({ name, region: 'us-east-1', sas: [{ ns: 'ns-a', sa: 'sa-0', shared: false }, { ns: 'ns-b', sa: 'sa-1', shared: false }] })),
      nsWave: { 'ns-a': 'w1', 'ns-b': 'w1', 'ns-c': 'w2' },
      history: {},
      generation: 20,
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'placement-'));
    const before = synth(model, path.join(dir, 'first.json'));
    // WHEN the next synthesis does not see the recorded placement
    const after = synth(apply(model, { kind: 'insert', region: 0, sas: [{ ns: 'ns-a', sa: 'sa-0', shared: false }], first: true }), path.join(dir, 'other.json'));
    // THEN resources move (which is what the recorded placement prevents)
    const moved = [...before].filter(([identity, place]) => after.has(identity) && after.get(identity) !== place);
    expect(moved.length).toBeGreaterThan(0);
  });
});
