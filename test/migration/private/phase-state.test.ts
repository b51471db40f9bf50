import { MigrationPhase } from '../../../src';
import { resolvePhases } from '../../../src/migration/private/phase-state';
import { PHASE_ORDER } from '../../../src/private/phases';

const P = MigrationPhase;
const WAVES = ['canary', 'wave1', 'wave2'];
const history = (...phases: MigrationPhase[]) => phases.map((phase) => ({ phase }));

describe('resolvePhases: the recorded state', () => {
  test('a wave the state does not list is at IRSA_ONLY; the last entry of a history is the phase', () => {
    // GIVEN
    const state = { waves: { wave1: history(P.IRSA_ONLY, P.DUAL_TRUST, P.POD_IDENTITY, P.DUAL_TRUST) } };
    // WHEN
    const phases = resolvePhases(WAVES, state, {});
    // THEN
    expect(phases.get('wave1')).toEqual({ wave: 'wave1', phase: P.DUAL_TRUST, recorded: P.DUAL_TRUST, acknowledged: [] });
    expect(phases.get('canary')).toEqual({ wave: 'canary', phase: P.IRSA_ONLY, recorded: P.IRSA_ONLY, acknowledged: [] });
  });

  test('a history that jumps fails, naming the entry, the risks and the acknowledgement', () => {
    const state = { waves: { wave1: history(P.IRSA_ONLY, P.DUAL_TRUST, P.POD_IDENTITY_ONLY) } };
    expect(() => resolvePhases(WAVES, state, {})).toThrow(
      'the state of wave "wave1", entry 3: the step from DUAL_TRUST to POD_IDENTITY_ONLY jumps over POD_IDENTITY and ANNOTATION_REMOVED. '
      + 'Risks: associations-with-annotation: the associations and the ServiceAccount annotation change in one step; pods created between the two get no AWS credentials at all; '
      + 'irsa-pods-lose-credentials: the OIDC trust is removed without the soak in which every pod is recreated; pods still on IRSA credentials fail at their next refresh, within the hour (F5). '
      + 'Step one phase at a time (next: POD_IDENTITY), or add "acknowledge": ["associations-with-annotation","irsa-pods-lose-credentials"] to the entry.');
  });

  test('a first entry past DUAL_TRUST jumps from the implicit IRSA_ONLY', () => {
    expect(() => resolvePhases(WAVES, { waves: { wave2: history(P.POD_IDENTITY) } }, {})).toThrow(/entry 1: the step from IRSA_ONLY to POD_IDENTITY jumps over DUAL_TRUST\. Risks: trust-with-associations: /);
  });

  test('an entry that acknowledges every skipped risk passes', () => {
    const state = { waves: { wave1: [...history(P.IRSA_ONLY, P.DUAL_TRUST), { phase: P.POD_IDENTITY_ONLY, acknowledge: ['associations-with-annotation', 'irsa-pods-lose-credentials'] }] } };
    expect(resolvePhases(WAVES, state, {}).get('wave1')!.phase).toBe(P.POD_IDENTITY_ONLY);
  });

  test('acknowledging only some of the risks is not enough', () => {
    const state = { waves: { wave1: [...history(P.IRSA_ONLY, P.DUAL_TRUST), { phase: P.POD_IDENTITY_ONLY, acknowledge: ['irsa-pods-lose-credentials'] }] } };
    expect(() => resolvePhases(WAVES, state, {})).toThrow(/jumps over POD_IDENTITY and ANNOTATION_REMOVED/);
  });

  test('an unknown risk id fails, listing the risks', () => {
    const state = { waves: { wave1: [{ phase: P.DUAL_TRUST, acknowledge: ['yolo'] }] } };
    expect(() => resolvePhases(WAVES, state, {})).toThrow(
      'the state of wave "wave1", entry 1: the step from IRSA_ONLY to DUAL_TRUST acknowledges "yolo", which is not a risk; the risks are trust-with-associations, associations-with-annotation, irsa-pods-lose-credentials.');
  });

  test('a state for a wave the plan does not have fails, listing the waves', () => {
    expect(() => resolvePhases(WAVES, { waves: { wave9: history(P.DUAL_TRUST) } }, {})).toThrow(
      'the state records wave "wave9", which is not in the plan; the waves are canary, wave1, wave2. Rename it in the state file, or add the wave to the plan.');
  });

  test('an unknown phase in the state fails', () => {
    expect(() => resolvePhases(WAVES, { waves: { wave1: [{ phase: 'DUAL' as MigrationPhase }] } }, {})).toThrow(
      `the state of wave "wave1", entry 1: unknown phase "DUAL"; expected one of ${PHASE_ORDER.join(', ')}.`);
  });
});

describe('resolvePhases: the context override', () => {
  const recorded = { waves: { wave1: history(P.IRSA_ONLY, P.DUAL_TRUST) } };

  test.each([P.IRSA_ONLY, P.DUAL_TRUST, P.POD_IDENTITY])('one phase (or none) from DUAL_TRUST: %s', (phase) => {
    const phases = resolvePhases(WAVES, recorded, { 'pod-identity-migration:wave1': phase, 'other:key': 'x' });
    expect(phases.get('wave1')).toEqual({ wave: 'wave1', phase, recorded: P.DUAL_TRUST, overriddenBy: 'pod-identity-migration:wave1', acknowledged: [] });
  });

  test('a typo in the wave name fails, listing the waves', () => {
    expect(() => resolvePhases(WAVES, recorded, { 'pod-identity-migration:wave-1': 'POD_IDENTITY' })).toThrow(
      'context pod-identity-migration:wave-1=POD_IDENTITY names no wave of this migration; the waves are canary, wave1, wave2.');
  });

  test('a typo in an acknowledgement key fails too', () => {
    expect(() => resolvePhases(WAVES, recorded, { 'pod-identity-migration:wave3:acknowledge': 'x' })).toThrow(/^context pod-identity-migration:wave3:acknowledge=x names no wave of this migration/);
  });

  test('DUAL_TRUST -> POD_IDENTITY_ONLY fails without the acknowledgement, naming the risks', () => {
    expect(() => resolvePhases(WAVES, recorded, { 'pod-identity-migration:wave1': 'POD_IDENTITY_ONLY' })).toThrow(
      'wave "wave1": the step from DUAL_TRUST (recorded) to POD_IDENTITY_ONLY (from context pod-identity-migration:wave1) jumps over POD_IDENTITY and ANNOTATION_REMOVED. '
      + 'Risks: associations-with-annotation: the associations and the ServiceAccount annotation change in one step; pods created between the two get no AWS credentials at all; '
      + 'irsa-pods-lose-credentials: the OIDC trust is removed without the soak in which every pod is recreated; pods still on IRSA credentials fail at their next refresh, within the hour (F5). '
      + 'Step one phase at a time (next: POD_IDENTITY), or acknowledge the risks with -c pod-identity-migration:wave1:acknowledge=associations-with-annotation,irsa-pods-lose-credentials.');
  });

  test('backwards too: POD_IDENTITY_ONLY -> DUAL_TRUST', () => {
    const state = { waves: { wave1: history(P.IRSA_ONLY, P.DUAL_TRUST, P.POD_IDENTITY, P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY) } };
    expect(() => resolvePhases(WAVES, state, { 'pod-identity-migration:wave1': 'DUAL_TRUST' })).toThrow(
      /the step from POD_IDENTITY_ONLY \(recorded\) to DUAL_TRUST \(from context pod-identity-migration:wave1\) jumps over ANNOTATION_REMOVED and POD_IDENTITY\. Risks: irsa-pods-lose-credentials: .*; associations-with-annotation: .*Step one phase at a time \(next: ANNOTATION_REMOVED\)/);
  });

  test('with the acknowledgement the jump is taken', () => {
    const phases = resolvePhases(WAVES, recorded, {
      'pod-identity-migration:wave1': 'POD_IDENTITY_ONLY',
      'pod-identity-migration:wave1:acknowledge': 'associations-with-annotation, irsa-pods-lose-credentials',
    });
    expect(phases.get('wave1')!.phase).toBe(P.POD_IDENTITY_ONLY);
  });

  test('an acknowledgement without an override fails', () => {
    expect(() => resolvePhases(WAVES, recorded, { 'pod-identity-migration:wave1:acknowledge': 'trust-with-associations' })).toThrow(
      'context pod-identity-migration:wave1:acknowledge is set, but pod-identity-migration:wave1 is not: an acknowledgement goes with an override of the phase.');
  });

  test('an unknown phase in context fails', () => {
    expect(() => resolvePhases(WAVES, recorded, { 'pod-identity-migration:wave2': 'DUAL' })).toThrow(
      `wave "wave2": unknown phase "DUAL" (from context pod-identity-migration:wave2); expected one of ${PHASE_ORDER.join(', ')}.`);
  });
});

describe('resolvePhases: entries given as the phase alone (what a Python user writes first)', () => {
  test('a phase name is an entry; a record and a name mix', () => {
    const phases = resolvePhases(['apps'], { waves: { apps: ['IRSA_ONLY', P.DUAL_TRUST, { phase: P.POD_IDENTITY, note: 'CHG-1' }] } }, {});
    expect(phases.get('apps')!.phase).toBe(P.POD_IDENTITY);
  });

  test.each([
    [{ apps: 'IRSA_ONLY' }, 'the state of wave "apps": expected a list of entries, oldest first; got "IRSA_ONLY".'],
    [{ apps: ['IRSA_ONLY', 1] }, 'the state of wave "apps", entry 2: expected a phase name or { "phase": ..., "note"?: ... }; got 1.'],
    [{ apps: ['IRSA_ONLY', 'DUAL'] }, 'the state of wave "apps", entry 2: unknown phase "DUAL"; expected one of IRSA_ONLY, DUAL_TRUST, POD_IDENTITY, ANNOTATION_REMOVED, POD_IDENTITY_ONLY.'],
  ])('anything else fails naming the wave and the entry: %j', (waves, message) => {
    expect(() => resolvePhases(['apps'], { waves: waves as any }, {})).toThrow(message);
  });
});
