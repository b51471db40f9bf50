import { Assignment, assignmentChanges, AssignmentRecord, guardAssignments } from '../../../src/migration/private/assignment-guard';
import { WavePhase } from '../../../src/migration/private/phase-state';
import { MigrationPhase as P } from '../../../src/migration-phase';

const C1 = 'arn:aws:eks:us-east-1:111122223333:cluster/prod-use1';
const C2 = 'arn:aws:eks:us-east-1:111122223333:cluster/prod-use1-b';

const wave = (name: string, phase: P, acknowledged: string[] = []): [string, WavePhase] =>
  [name, { wave: name, phase, recorded: phase, acknowledged }];
const sa = (namespace: string, serviceAccount: string, w: string | undefined, phase: P, clusterArn = C1, reason?: string): Assignment =>
  ({ clusterArn, namespace, serviceAccount, wave: w, phase, reason });

/** monitoring/prometheus and monitoring/grafana in wave "monitoring" at POD_IDENTITY_ONLY; apps/web in "apps" at DUAL_TRUST. */
const RECORDED: AssignmentRecord = {
  waves: { monitoring: P.POD_IDENTITY_ONLY, apps: P.DUAL_TRUST },
  serviceAccounts: { [C1]: { 'monitoring/prometheus': 'monitoring', 'monitoring/grafana': 'monitoring', 'apps/web': 'apps' } },
};
const SOURCE = 'the placement file fleet/placement.json';

describe('guardAssignments', () => {
  test('nothing changed: the record is the same', () => {
    const record = guardAssignments({
      recorded: RECORDED,
      current: [sa('monitoring', 'prometheus', 'monitoring', P.POD_IDENTITY_ONLY), sa('monitoring', 'grafana', 'monitoring', P.POD_IDENTITY_ONLY), sa('apps', 'web', 'apps', P.DUAL_TRUST)],
      waves: new Map([wave('monitoring', P.POD_IDENTITY_ONLY), wave('apps', P.DUAL_TRUST)]),
      source: SOURCE,
    });
    expect(record).toEqual(RECORDED);
  });

  test('a selector typo takes a finished wave\'s service accounts out of the migration: refused, naming each, its wave and phase, and the ways out', () => {
    expect(() => guardAssignments({
      recorded: RECORDED,
      current: [sa('monitoring', 'prometheus', undefined, P.IRSA_ONLY, C1, 'no wave selects it'), sa('monitoring', 'grafana', undefined, P.IRSA_ONLY, C1, 'no wave selects it'),
        sa('apps', 'web', 'apps', P.DUAL_TRUST)],
      waves: new Map([wave('monitoring', P.POD_IDENTITY_ONLY), wave('apps', P.DUAL_TRUST)]),
      source: SOURCE,
    })).toThrow('2 service accounts would change their effective phase by more than one step from what the placement file fleet/placement.json records:\n'
      + '  - prod-use1 monitoring/prometheus: wave "monitoring" at POD_IDENTITY_ONLY -> in no wave (no wave selects it), back on IRSA_ONLY: '
      + 'jumps over ANNOTATION_REMOVED, POD_IDENTITY, DUAL_TRUST (risks irsa-pods-lose-credentials, associations-with-annotation, trust-with-associations)\n'
      + '  - prod-use1 monitoring/grafana: wave "monitoring" at POD_IDENTITY_ONLY -> in no wave (no wave selects it), back on IRSA_ONLY: '
      + 'jumps over ANNOTATION_REMOVED, POD_IDENTITY, DUAL_TRUST (risks irsa-pods-lose-credentials, associations-with-annotation, trust-with-associations)\n'
      + 'Step back first, one phase per deploy: undo the edit, step the wave (or move the service account to a wave) one phase towards IRSA_ONLY, deploy, then repeat; '
      + 'leaving the migration means going back to IRSA_ONLY (annotation and OIDC trust restored), which one deploy cannot do past DUAL_TRUST. '
      + 'Or, if the jump is intended, record it in the state file\'s "serviceAccounts", e.g. {"cluster":"prod-use1","namespace":"monitoring","serviceAccount":"prometheus",'
      + '"from":"POD_IDENTITY_ONLY","to":"IRSA_ONLY","acknowledge":["irsa-pods-lose-credentials","associations-with-annotation","trust-with-associations"]}.');
  });

  test('a service account that left the inventory: refused unless the state records it as deleted (by name, namespace or cluster)', () => {
    const input = {
      recorded: RECORDED,
      current: [sa('monitoring', 'prometheus', 'monitoring', P.POD_IDENTITY_ONLY), sa('apps', 'web', 'apps', P.DUAL_TRUST)],
      waves: new Map([wave('monitoring', P.POD_IDENTITY_ONLY), wave('apps', P.DUAL_TRUST)]),
      source: SOURCE,
    };
    expect(() => guardAssignments(input)).toThrow('1 service account would change its effective phase by more than one step from what the placement file fleet/placement.json records:\n'
      + '  - prod-use1 monitoring/grafana: wave "monitoring" at POD_IDENTITY_ONLY -> no longer in the inventory: what the migration holds for it (association, trust statements, manifest) would be deleted\n'
      + 'A service account no longer in the inventory: if it was deleted from its cluster (or the cluster was), record it in the state file\'s "serviceAccounts", '
      + 'e.g. {"cluster":"prod-use1","namespace":"monitoring","serviceAccount":"grafana","deleted":true} (leave out serviceAccount or namespace for all of a namespace or cluster); '
      + 'if it still exists, collect the inventory again; '
      + 'if its cluster shows it without its IRSA role (the annotation or the add-on\'s serviceAccountRoleArn its phase removed) and the placement file\'s '
      + '"irsaRoles" do not record that role (a file written before they were recorded), add it to the inventory with its role (IrsaInventory addEntry) '
      + 'and synthesize once: the file then records it.');
    for (const ack of [{ cluster: 'prod-use1', namespace: 'monitoring', serviceAccount: 'grafana', deleted: true }, { cluster: 'prod-use1', namespace: 'monitoring', deleted: true },
      { cluster: 'prod-use1', deleted: true }]) {
      const record = guardAssignments({ ...input, acknowledgements: [ack] });
      expect(record.serviceAccounts[C1]).toEqual({ 'monitoring/prometheus': 'monitoring', 'apps/web': 'apps' });
    }
    // another cluster, another name, or another phase covers nothing
    for (const ack of [{ cluster: 'prod-use1-b', deleted: true }, { cluster: 'prod-use1', namespace: 'monitoring', serviceAccount: 'prometheus', deleted: true },
      { cluster: 'prod-use1', deleted: true, from: P.DUAL_TRUST }]) {
      expect(() => guardAssignments({ ...input, acknowledgements: [ack] })).toThrow(/monitoring\/grafana: wave "monitoring" at POD_IDENTITY_ONLY -> no longer in the inventory/);
    }
  });

  test('moving between waves at the same phase, or one phase apart, passes and is recorded; two phases apart needs the jump recorded', () => {
    const waves = new Map([wave('monitoring', P.POD_IDENTITY_ONLY), wave('apps', P.DUAL_TRUST), wave('late', P.ANNOTATION_REMOVED), wave('early', P.POD_IDENTITY)]);
    const others = [sa('monitoring', 'grafana', 'monitoring', P.POD_IDENTITY_ONLY), sa('apps', 'web', 'apps', P.DUAL_TRUST)];
    const moved = (to: string, phase: P, acknowledgements: any[] = []) => guardAssignments({
      recorded: { ...RECORDED, waves: { ...RECORDED.waves, late: P.ANNOTATION_REMOVED, early: P.POD_IDENTITY } },
      current: [sa('monitoring', 'prometheus', to, phase), ...others],
      waves,
      acknowledgements,
      source: SOURCE,
    });
    expect(moved('late', P.ANNOTATION_REMOVED).serviceAccounts[C1]['monitoring/prometheus']).toBe('late');
    expect(() => moved('early', P.POD_IDENTITY)).toThrow(/monitoring\/prometheus: wave "monitoring" at POD_IDENTITY_ONLY -> wave "early" at POD_IDENTITY: jumps over ANNOTATION_REMOVED \(risks irsa-pods-lose-credentials\)/);
    const ack = { cluster: 'prod-use1', namespace: 'monitoring', serviceAccount: 'prometheus', from: P.POD_IDENTITY_ONLY, to: P.POD_IDENTITY, acknowledge: ['irsa-pods-lose-credentials'] };
    expect(moved('early', P.POD_IDENTITY, [ack]).serviceAccounts[C1]['monitoring/prometheus']).toBe('early');
    // an acknowledgement for another change covers nothing
    expect(() => moved('early', P.POD_IDENTITY, [{ ...ack, from: P.ANNOTATION_REMOVED }])).toThrow(/jumps over ANNOTATION_REMOVED/);
    expect(() => moved('early', P.POD_IDENTITY, [{ ...ack, acknowledge: [] }])).toThrow(/jumps over ANNOTATION_REMOVED/);
  });

  test('a wave\'s own step is the wave\'s: covered by the acknowledgement of its last state entry', () => {
    const current = [sa('monitoring', 'prometheus', 'monitoring', P.POD_IDENTITY), sa('monitoring', 'grafana', 'monitoring', P.POD_IDENTITY), sa('apps', 'web', 'apps', P.DUAL_TRUST)];
    // two entries appended at once: POD_IDENTITY_ONLY -> ANNOTATION_REMOVED -> POD_IDENTITY, deployed as one step of two
    expect(() => guardAssignments({ recorded: RECORDED, current, waves: new Map([wave('monitoring', P.POD_IDENTITY), wave('apps', P.DUAL_TRUST)]), source: SOURCE }))
      .toThrow(/^2 service accounts would change their effective phase by more than one step/);
    const record = guardAssignments({
      recorded: RECORDED, current, waves: new Map([wave('monitoring', P.POD_IDENTITY, ['irsa-pods-lose-credentials']), wave('apps', P.DUAL_TRUST)]), source: SOURCE,
    });
    expect(record.waves).toEqual({ monitoring: P.POD_IDENTITY, apps: P.DUAL_TRUST });
  });

  test('a new service account enters a wave: from IRSA_ONLY, one step at most', () => {
    const base = [sa('monitoring', 'prometheus', 'monitoring', P.POD_IDENTITY_ONLY), sa('monitoring', 'grafana', 'monitoring', P.POD_IDENTITY_ONLY), sa('apps', 'web', 'apps', P.DUAL_TRUST)];
    const waves = new Map([wave('monitoring', P.POD_IDENTITY_ONLY), wave('apps', P.DUAL_TRUST)]);
    expect(guardAssignments({ recorded: RECORDED, current: [...base, sa('apps', 'api', 'apps', P.DUAL_TRUST, C2)], waves, source: SOURCE }).serviceAccounts[C2])
      .toEqual({ 'apps/api': 'apps' });
    expect(() => guardAssignments({ recorded: RECORDED, current: [...base, sa('monitoring', 'loki', 'monitoring', P.POD_IDENTITY_ONLY)], waves, source: SOURCE }))
      .toThrow(/monitoring\/loki: not migrated \(IRSA_ONLY\) -> wave "monitoring" at POD_IDENTITY_ONLY: jumps over DUAL_TRUST, POD_IDENTITY, ANNOTATION_REMOVED/);
  });

  test('without a record (a new migration, or a file from before the record), nothing is checked and everything is recorded', () => {
    const record = guardAssignments({
      current: [sa('monitoring', 'prometheus', 'monitoring', P.POD_IDENTITY_ONLY), sa('x', 'y', undefined, P.IRSA_ONLY)],
      waves: new Map([wave('monitoring', P.POD_IDENTITY_ONLY)]),
      source: SOURCE,
    });
    expect(record).toEqual({ waves: { monitoring: P.POD_IDENTITY_ONLY }, serviceAccounts: { [C1]: { 'monitoring/prometheus': 'monitoring' } } });
  });

  test.each([
    [{ namespace: 'x' }, 'the state\'s serviceAccounts[0] needs "cluster", the name of the service account\'s cluster; got {"namespace":"x"}.'],
    [{ cluster: 'c', serviceAccount: 'x', deleted: true }, 'the state\'s serviceAccounts[0] names serviceAccount "x" without its namespace: give "namespace" too.'],
    [{ cluster: 'c', namespace: 'x', from: 'IRSA_ONLY' }, 'the state\'s serviceAccounts[0] (cluster "c") needs "from" and "to", the effective phases before and after the change it acknowledges, '
      + 'or "deleted": true for service accounts deleted from the cluster.'],
    [{ cluster: 'c', from: 'IRSA_ONLY', to: 'POD_IDENTITY_ONLYY' }, 'the state\'s serviceAccounts[0]: unknown phase "POD_IDENTITY_ONLYY"; expected one of IRSA_ONLY, DUAL_TRUST, POD_IDENTITY, ANNOTATION_REMOVED, POD_IDENTITY_ONLY.'],
    [{ cluster: 'c', from: 'IRSA_ONLY', to: 'POD_IDENTITY', acknowledge: ['yolo'] }, 'the state\'s serviceAccounts[0] acknowledges "yolo", which is not a risk; '
      + 'the risks are trust-with-associations, associations-with-annotation, irsa-pods-lose-credentials.'],
  ])('a malformed acknowledgement %j fails, naming the entry', (ack, message) => {
    expect(() => guardAssignments({ current: [], waves: new Map(), acknowledgements: [ack as any], source: SOURCE })).toThrow(message);
  });
});

describe('assignmentChanges', () => {
  test('waves whose phase changed, service accounts in a new wave, and every wave they left or joined', () => {
    const after: AssignmentRecord = {
      waves: { monitoring: P.POD_IDENTITY_ONLY, apps: P.POD_IDENTITY, late: P.IRSA_ONLY },
      serviceAccounts: { [C1]: { 'monitoring/prometheus': 'monitoring', 'monitoring/grafana': 'late', 'apps/web': 'apps' }, [C2]: { 'apps/api': 'apps' } },
    };
    expect(assignmentChanges(RECORDED, after)).toEqual({ phases: ['apps', 'late'], moved: 2, waves: ['apps', 'late', 'monitoring'] });
    expect(assignmentChanges(RECORDED, RECORDED)).toEqual({ phases: [], moved: 0, waves: [] });
    // nothing recorded before (a version 1 file): everything is new
    expect(assignmentChanges({}, RECORDED)).toEqual({ phases: ['apps', 'monitoring'], moved: 3, waves: ['apps', 'monitoring'] });
  });
});
