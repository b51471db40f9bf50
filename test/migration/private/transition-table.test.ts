import { STEP_PLANS, stepPlan } from '../../../src/migration/private/transition-table';
import { MigrationPhase as P } from '../../../src/migration-phase';

const BASE = ['tools', 'assembly', 'accounts', 'addons'];

describe('the transition table', () => {
  test('every step, forward and back, as the phase table makes it', () => {
    const rows = STEP_PLANS.map((s) => [`${s.from} -> ${s.to}`, s.preflight.slice(BASE.length).join(',') || '-',
      s.annotateBeforeDeploy ? 'annotate' : '-', JSON.stringify(s.deployChanges), s.waitForAssociations ?? '-', s.injectionProbe ?? '-',
      s.restart ? 'restart' : '-', s.removeAnnotationAfter ? 'unannotate' : '-', s.verify]);
    expect(rows).toEqual([
      ['IRSA_ONLY -> DUAL_TRUST', '-', '-', '{"podIdentityTrust":"added"}', '-', '-', '-', '-', 'DUAL_TRUST'],
      ['DUAL_TRUST -> POD_IDENTITY', 'agent,node-roles,pod-eni,proxies,unseen', '-', '{"associations":"created"}', 'visible', 'pod-identity', 'restart', '-', 'POD_IDENTITY'],
      ['POD_IDENTITY -> ANNOTATION_REMOVED', '-', '-', '{}', '-', '-', '-', 'unannotate', 'ANNOTATION_REMOVED'],
      ['ANNOTATION_REMOVED -> POD_IDENTITY_ONLY', 'no-irsa-pods', '-', '{"irsaTrust":"removed"}', '-', '-', '-', '-', 'POD_IDENTITY_ONLY'],
      ['DUAL_TRUST -> IRSA_ONLY', 'associations', '-', '{"podIdentityTrust":"removed"}', '-', '-', '-', '-', 'IRSA_ONLY'],
      ['POD_IDENTITY -> DUAL_TRUST', 'annotations', '-', '{"associations":"deleted"}', 'gone', 'irsa', 'restart', '-', 'DUAL_TRUST'],
      ['ANNOTATION_REMOVED -> POD_IDENTITY', '-', 'annotate', '{}', '-', '-', '-', '-', 'POD_IDENTITY'],
      ['POD_IDENTITY_ONLY -> ANNOTATION_REMOVED', '-', '-', '{"irsaTrust":"added"}', '-', '-', '-', '-', 'ANNOTATION_REMOVED'],
    ]);
    expect(STEP_PLANS.every((s) => s.preflight.slice(0, BASE.length).join() === BASE.join())).toBe(true);
  });

  test('a step back undoes its step forward: the same changes, reversed; its checks guard what it takes away', () => {
    const flip = { added: 'removed', removed: 'added', created: 'deleted', deleted: 'created' } as const;
    for (const forward of STEP_PLANS.filter((s) => s.direction === 'forward')) {
      const back = stepPlan(forward.to, forward.from);
      expect(back.direction).toBe('back');
      expect(back.deployChanges).toEqual(Object.fromEntries(Object.entries(forward.deployChanges).map(([k, v]) => [k, flip[v]])));
      expect(back.annotateBeforeDeploy).toBe(forward.removeAnnotationAfter);
      expect(back.restart).toBe(forward.restart);
    }
  });

  test('a step of more than one phase is not a step', () => {
    expect(() => stepPlan(P.IRSA_ONLY, P.POD_IDENTITY)).toThrow('a step goes one phase forward or back; IRSA_ONLY -> POD_IDENTITY is 2 phases');
    expect(() => stepPlan(P.DUAL_TRUST, P.DUAL_TRUST)).toThrow('a step goes one phase forward or back; DUAL_TRUST -> DUAL_TRUST is 0 phases');
  });
});
