/**
 * Safety of every phase change: for each wave and each adjacent pair of phases, both directions,
 * the Northwind templates are diffed with @aws-cdk/cloudformation-diff (what `cdk diff` uses).
 * A phase change may replace nothing, delete no role, and change only what the phase table names:
 * the role trust (IRSA_ONLY <-> DUAL_TRUST, ANNOTATION_REMOVED <-> POD_IDENTITY_ONLY) or the
 * associations (DUAL_TRUST <-> POD_IDENTITY); POD_IDENTITY <-> ANNOTATION_REMOVED changes only the
 * ServiceAccount manifests. Every change also updates the wave's phase record (its SSM parameter).
 */
import { fullDiff, ResourceImpact } from '@aws-cdk/cloudformation-diff';
import { synthNorthwind, templates } from './northwind';
import { MigrationPhase } from '../../src';
import { PHASE_ORDER } from '../../src/private/phases';

interface Change {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  readonly impact: string;
  readonly properties: string[];
}

function changesBetween(before: { [s: string]: any }, after: { [s: string]: any }): Change[] {
  const changes: Change[] = [];
  for (const stack of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const diff = fullDiff(before[stack] ?? {}, after[stack] ?? {});
    diff.resources.forEachDifference((logicalId, change) => {
      const type = change.resourceType ?? 'unknown';
      if (type === 'AWS::CDK::Metadata') {
        return;
      }
      changes.push({ stack, logicalId, type, impact: change.changeImpact, properties: Object.keys(change.propertyUpdates ?? {}) });
    });
  }
  return changes;
}

const cache = new Map<string, { [s: string]: any }>();
function fleetAt(wave: string, phase: MigrationPhase) {
  const key = `${wave}=${phase}`;
  if (!cache.has(key)) {
    cache.set(key, templates(synthNorthwind({ [wave]: phase }).assembly));
  }
  return cache.get(key)!;
}

const pairs: [MigrationPhase, MigrationPhase][] = PHASE_ORDER.slice(0, -1).map((p, i) => [p, PHASE_ORDER[i + 1]]);
const cases = ['canary', 'wave1', 'wave2', 'wave3'].flatMap((wave) => pairs.flatMap(([a, b]) => [[wave, a, b], [wave, b, a]] as [string, MigrationPhase, MigrationPhase][]));

describe('phase transitions on the Northwind fleet (cloudformation-diff)', () => {
  test.each(cases)('%s: %s -> %s', (wave, from, to) => {
    const all = changesBetween(fleetAt(wave, from), fleetAt(wave, to));
    const kind = [from, to].sort().join('|');

    // the wave's phase records, and only they, say the new phase
    const records = all.filter((c) => c.type === 'AWS::SSM::Parameter');
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) {
      expect([r.stack, r.impact, r.properties]).toEqual([expect.stringMatching(new RegExp(`^PodIdentity-Wave-${wave}-`)), ResourceImpact.WILL_UPDATE, ['Value']]);
    }
    const changes = all.filter((c) => c.type !== 'AWS::SSM::Parameter');

    // nothing is replaced, no role is deleted, nothing is orphaned
    for (const c of changes) {
      expect([c.stack, c.logicalId, c.impact]).not.toEqual([c.stack, c.logicalId, ResourceImpact.WILL_REPLACE]);
      expect([c.stack, c.logicalId, c.impact]).not.toEqual([c.stack, c.logicalId, ResourceImpact.MAY_REPLACE]);
      expect([c.stack, c.logicalId, c.impact]).not.toEqual([c.stack, c.logicalId, ResourceImpact.WILL_ORPHAN]);
      if (c.type === 'AWS::IAM::Role') {
        expect([c.logicalId, c.impact]).toEqual([c.logicalId, ResourceImpact.WILL_UPDATE]);
      }
    }

    // exactly what the phase table names
    if (kind === [MigrationPhase.IRSA_ONLY, MigrationPhase.DUAL_TRUST].sort().join('|')
      || kind === [MigrationPhase.ANNOTATION_REMOVED, MigrationPhase.POD_IDENTITY_ONLY].sort().join('|')) {
      // the canary's only OIDC trust is on firehose-writer, which keeps it until retired: its
      // roles' trust does not change at POD_IDENTITY_ONLY
      if (!(wave === 'canary' && kind.includes(MigrationPhase.POD_IDENTITY_ONLY))) {
        expect(changes.length).toBeGreaterThan(0);
      }
      for (const c of changes) {
        expect([c.type, c.impact, c.properties]).toEqual(['AWS::IAM::Role', ResourceImpact.WILL_UPDATE, ['AssumeRolePolicyDocument']]);
      }
    } else if (kind === [MigrationPhase.DUAL_TRUST, MigrationPhase.POD_IDENTITY].sort().join('|')) {
      expect(changes.length).toBeGreaterThan(0);
      const expected = from === MigrationPhase.DUAL_TRUST ? ResourceImpact.WILL_CREATE : ResourceImpact.WILL_DESTROY;
      for (const c of changes) {
        expect([c.type, c.impact]).toEqual(['AWS::EKS::PodIdentityAssociation', expected]);
      }
    } else {
      // POD_IDENTITY <-> ANNOTATION_REMOVED: only the ServiceAccount manifests (and the record) change
      expect(changes).toEqual([]);
    }
  });
});
