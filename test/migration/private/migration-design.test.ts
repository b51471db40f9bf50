/**
 * The migration's design without an App: designMigration() over plain inputs and the placement
 * file's text. The stack graph of a small fleet exactly; the frozen-placement refusals and the
 * operator's warnings with their messages; and, over random fleets and random sequences of the
 * changes a fleet goes through, that no resource ever changes stack (the placement file's text
 * carried from one design to the next) and that the stack graph orders every resource after what it
 * needs (F4) and every wave's record after its resources, within the pipeline's stage order.
 */
import * as fc from 'fast-check';
import { IrsaInventory, MigrationPhase, PodIdentityCluster } from '../../../src';
import { designMigration, FROZEN_PLACEMENT, MigrationDesign, MigrationInputs, waveStacks } from '../../../src/migration/private/migration-design';
import { PlanningError } from '../../../src/migration/private/phase-state';
import { CLUSTERS, deployOrder } from '../../../src/migration/private/stack-layout';
import { PHASE_ORDER } from '../../../src/private/phases';
import { DESIGN_SETTINGS } from '../../util/design-inputs';
import { apply, changeArb, fleetArb, migrationProps, Model, WAVES } from '../../util/fleet-model';
import { withWavePhases } from '../../util/placement';

const ACCOUNT = '111122223333';
const issuer = (name: string, region: string) => `oidc.eks.${region}.amazonaws.com/id/${Buffer.from(name).toString('hex').toUpperCase().padEnd(32, '0')}`;
const cluster = (name: string, region: string) => PodIdentityCluster.fromClusterAttributes({
  clusterName: name, clusterArn: `arn:aws:eks:${region}:${ACCOUNT}:cluster/${name}`, oidcIssuer: issuer(name, region),
});

/** Two clusters in two regions, one service account each on its own role, one wave at `phase` (history one step at a time). */
function small(phase: MigrationPhase, extra: Partial<MigrationInputs> = {}): MigrationInputs {
  const inventory = new IrsaInventory();
  inventory.addEntry({ cluster: 'a', namespace: 'ns', serviceAccount: 'app', roleArn: `arn:aws:iam::${ACCOUNT}:role/app-a` });
  inventory.addEntry({ cluster: 'b', namespace: 'ns', serviceAccount: 'app', roleArn: `arn:aws:iam::${ACCOUNT}:role/app-b` });
  return {
    ...DESIGN_SETTINGS,
    clusters: [cluster('a', 'us-east-1'), cluster('b', 'eu-west-1')],
    inventory,
    plan: { waves: [{ name: 'w', select: [{ namespace: 'ns' }] }], roles: { '*': { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] } } },
    state: { waves: { w: PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1).map((p) => ({ phase: p })) } },
    ...extra,
  };
}

/** The design of `inputs` as it would be once the earlier steps were deployed: the placement file recorded the wave at its phase. */
function deployed(inputs: MigrationInputs): MigrationDesign {
  return designMigration({ ...inputs, recordedPlacement: recordedOf(inputs) });
}

describe('the stack graph of a small fleet', () => {
  test('at POD_IDENTITY: the stacks in the order they are made, what each holds, and each dependency with its reason', () => {
    const { graph } = deployed(small(MigrationPhase.POD_IDENTITY));
    expect(graph.stacks.map((s) => `${s.path} ${s.stackName} ${s.account}/${s.region}`)).toEqual([
      'App/Fleet/Foundation/111122223333-us-east-1 PodIdentity-Foundation-111122223333-us-east-1 111122223333/us-east-1',
      'App/Fleet/Foundation/111122223333-eu-west-1 PodIdentity-Foundation-111122223333-eu-west-1 111122223333/eu-west-1',
      'App/Fleet/Roles/111122223333 PodIdentity-Roles-111122223333 111122223333/us-east-1',
      // in the placement file's order (by cluster ARN)
      'App/Fleet/Clusters/b-111122223333-eu-west-1 PodIdentity-Cluster-b-111122223333-eu-west-1 111122223333/eu-west-1',
      'App/Fleet/Clusters/a-111122223333-us-east-1 PodIdentity-Cluster-a-111122223333-us-east-1 111122223333/us-east-1',
      'App/Fleet/w/111122223333-eu-west-1 PodIdentity-Wave-w-111122223333-eu-west-1 111122223333/eu-west-1',
      'App/Fleet/w/111122223333-us-east-1 PodIdentity-Wave-w-111122223333-us-east-1 111122223333/us-east-1',
    ]);
    expect(graph.agents.map((a) => `${a.stack} ${a.cluster.clusterName}`)).toEqual([
      'PodIdentity-Foundation-111122223333-us-east-1 a', 'PodIdentity-Foundation-111122223333-eu-west-1 b',
    ]);
    expect(graph.roles.map((r) => `${r.stack} ${r.role.parsed.roleName} ${r.role.kind}`)).toEqual([
      'PodIdentity-Roles-111122223333 app-a dual', 'PodIdentity-Roles-111122223333 app-b dual',
    ]);
    expect(graph.associations.map((a) => `${a.stack} ${a.assignment.sa.namespace}/${a.assignment.sa.serviceAccount} ${a.assignment.associationRoleArn}`)).toEqual([
      'PodIdentity-Cluster-a-111122223333-us-east-1 ns/app arn:aws:iam::111122223333:role/app-a',
      'PodIdentity-Cluster-b-111122223333-eu-west-1 ns/app arn:aws:iam::111122223333:role/app-b',
    ]);
    expect(graph.records.map((r) => `${r.stack} ${r.wave} ${r.phase}`)).toEqual([
      'PodIdentity-Wave-w-111122223333-eu-west-1 w POD_IDENTITY', 'PodIdentity-Wave-w-111122223333-us-east-1 w POD_IDENTITY',
    ]);
    expect(graph.edges.map((e) => `${e.stack} -> ${e.on}: ${e.reason}`)).toEqual([
      'PodIdentity-Cluster-a-111122223333-us-east-1 -> PodIdentity-Roles-111122223333: the trust of arn:aws:iam::111122223333:role/app-a comes before its associations',
      'PodIdentity-Cluster-b-111122223333-eu-west-1 -> PodIdentity-Roles-111122223333: the trust of arn:aws:iam::111122223333:role/app-b comes before its associations',
      'PodIdentity-Wave-w-111122223333-eu-west-1 -> PodIdentity-Roles-111122223333: the roles of w',
      'PodIdentity-Wave-w-111122223333-eu-west-1 -> PodIdentity-Cluster-b-111122223333-eu-west-1: the associations of w',
      'PodIdentity-Wave-w-111122223333-us-east-1 -> PodIdentity-Roles-111122223333: the roles of w',
      'PodIdentity-Wave-w-111122223333-us-east-1 -> PodIdentity-Cluster-a-111122223333-us-east-1: the associations of w',
    ]);
    // the adopted roles are imported by name, with the wave that adopts them
    expect(graph.imports).toEqual([
      { stack: 'PodIdentity-Roles-111122223333', construct: ['app-a', 'Resource'], identifier: { RoleName: 'app-a' } },
      { stack: 'PodIdentity-Roles-111122223333', construct: ['app-b', 'Resource'], identifier: { RoleName: 'app-b' } },
    ]);
    expect(graph.importStacks).toEqual(new Map([['w', ['PodIdentity-Roles-111122223333']]]));
    // the cluster stacks always hold a placeholder; the others hold resources
    expect(graph.placeholders).toEqual(['PodIdentity-Cluster-b-111122223333-eu-west-1', 'PodIdentity-Cluster-a-111122223333-us-east-1']);
    expect(waveStacks(graph, 'w')).toEqual([
      'PodIdentity-Wave-w-111122223333-eu-west-1', 'PodIdentity-Wave-w-111122223333-us-east-1', 'PodIdentity-Roles-111122223333',
      'PodIdentity-Cluster-b-111122223333-eu-west-1', 'PodIdentity-Cluster-a-111122223333-us-east-1',
    ]);
  });

  test('at DUAL_TRUST: no associations yet, their stacks exist (the placement gives each its place from the start)', () => {
    const { graph } = deployed(small(MigrationPhase.DUAL_TRUST));
    expect(graph.associations).toEqual([]);
    expect(graph.stacks.filter((s) => s.scope === CLUSTERS).map((s) => s.stackName)).toEqual([
      'PodIdentity-Cluster-b-111122223333-eu-west-1', 'PodIdentity-Cluster-a-111122223333-us-east-1',
    ]);
    expect(graph.edges.map((e) => `${e.stack} -> ${e.on}`)).toEqual([
      'PodIdentity-Wave-w-111122223333-eu-west-1 -> PodIdentity-Roles-111122223333',
      'PodIdentity-Wave-w-111122223333-eu-west-1 -> PodIdentity-Cluster-b-111122223333-eu-west-1',
      'PodIdentity-Wave-w-111122223333-us-east-1 -> PodIdentity-Roles-111122223333',
      'PodIdentity-Wave-w-111122223333-us-east-1 -> PodIdentity-Cluster-a-111122223333-us-east-1',
    ]);
  });

  test('with pipeline stages, only dependencies within a stage are edges: the pipeline orders the stages', () => {
    const { graph } = deployed(small(MigrationPhase.POD_IDENTITY, { pipelineStages: true }));
    expect(graph.edges).toEqual([]);
    expect(waveStacks(graph, 'w')).toEqual(['PodIdentity-Wave-w-111122223333-eu-west-1', 'PodIdentity-Wave-w-111122223333-us-east-1']);
  });

  test('installAgents false: no foundation', () => {
    const design = deployed(small(MigrationPhase.DUAL_TRUST, { installAgents: false }));
    expect(design.graph.foundation).toBeUndefined();
    expect(design.graph.agents).toEqual([]);
    expect(design.graph.stacks.map((s) => s.scope)).not.toContain('Foundation');
  });
});

describe('the placement file and the operator\'s warnings', () => {
  test('first design: the file is created, one warning on the first stack says to commit it', () => {
    const design = designMigration(small(MigrationPhase.IRSA_ONLY, { state: undefined }));
    expect(JSON.parse(design.placementText!).version).toBe(2);
    expect(design.notes.filter((n) => n.level === 'warning')).toEqual([{
      stack: 'PodIdentity-Foundation-111122223333-us-east-1',
      level: 'warning',
      id: 'cdk-eks-pod-identity:placementFile',
      text: 'placement file placement.json created: review and commit it with the change that caused it.',
    }]);
    // the role stack's line
    expect(design.notes.filter((n) => n.level === 'info').map((n) => `${n.stack}: ${n.text}`)).toEqual([
      expect.stringMatching(/^PodIdentity-Roles-111122223333: 2 roles \(2 adopted\); fullest trust policy: app-[ab], \d{3} of 2,048 characters\. Every role: runbooks\/index\.md\.$/),
    ]);
  });

  test('the same design again: the file does not change and nothing warns', () => {
    const recorded = recordedOf(small(MigrationPhase.DUAL_TRUST));
    const once = designMigration({ ...small(MigrationPhase.DUAL_TRUST), recordedPlacement: recorded });
    const again = designMigration({ ...small(MigrationPhase.DUAL_TRUST), recordedPlacement: once.placementText ?? recorded });
    expect(again.placementText).toBeUndefined();
    expect(again.notes.filter((n) => n.level === 'warning')).toEqual([]);
  });

  test('a phase from context warns on the wave\'s record stacks', () => {
    const inputs = small(MigrationPhase.DUAL_TRUST);
    const recorded = recordedOf(inputs);
    const design = designMigration({ ...inputs, recordedPlacement: recorded, context: { 'pod-identity-migration:w': 'POD_IDENTITY' } });
    expect(design.phases.get('w')!.phase).toBe(MigrationPhase.POD_IDENTITY);
    const override = design.notes.filter((n) => n.id === 'cdk-eks-pod-identity:phaseOverride');
    expect(override.map((n) => n.stack)).toEqual(['PodIdentity-Wave-w-111122223333-eu-west-1', 'PodIdentity-Wave-w-111122223333-us-east-1']);
    expect(override[0].text).toBe('wave w is synthesized at POD_IDENTITY from context pod-identity-migration:w, but the state records DUAL_TRUST: '
      + 'record the step in the state file, so that the next plain deploy does not undo it.');
  });

  test('frozen placement: a missing file, a missing resource and an unrecorded phase are refused, each saying what to do', () => {
    const frozen = { [FROZEN_PLACEMENT]: 'true' };
    expect(() => designMigration(small(MigrationPhase.IRSA_ONLY, { state: undefined, context: frozen }))).toThrow(new PlanningError(
      `the placement file placement.json is missing, and context ${FROZEN_PLACEMENT} forbids adding them here. Synthesize without it, review and commit the file.`));
    const recorded = recordedOf(small(MigrationPhase.IRSA_ONLY, { state: undefined }));
    const more = small(MigrationPhase.IRSA_ONLY, { state: undefined, context: frozen, recordedPlacement: recorded });
    more.inventory.addEntry({ cluster: 'a', namespace: 'ns', serviceAccount: 'new', roleArn: `arn:aws:iam::${ACCOUNT}:role/new` });
    expect(() => designMigration(more)).toThrow(
      'the placement file placement.json lacks 2 resources (111122223333 arn:aws:iam::111122223333:role/new, arn:aws:eks:us-east-1:111122223333:cluster/a ns/new), '
      + `and context ${FROZEN_PLACEMENT} forbids adding them here. Synthesize without it, review and commit the file.`);
    expect(() => designMigration(small(MigrationPhase.DUAL_TRUST, { context: frozen, recordedPlacement: recorded }))).toThrow(
      `the placement file placement.json does not record wave w at DUAL_TRUST (recorded IRSA_ONLY), and context ${FROZEN_PLACEMENT} forbids recording it here. `
      + 'Synthesize without it, review and commit the file with the change of state or plan.');
    expect(() => designMigration(small(MigrationPhase.IRSA_ONLY, { state: undefined, context: frozen, recordedPlacement: recorded }))).not.toThrow();
  });

  test('inputs: an empty fleet and a reserved wave name fail with what to do', () => {
    expect(() => designMigration(small(MigrationPhase.IRSA_ONLY, { clusters: [] }))).toThrow('clusters is empty: list the fleet\'s clusters.');
    const reserved = small(MigrationPhase.IRSA_ONLY, { state: undefined });
    expect(() => designMigration({ ...reserved, plan: { waves: [{ name: 'roles', select: [] }] } })).toThrow(
      'wave name "roles" is reserved: \'App/Fleet/Roles\' holds the roles stacks. Name the wave differently.');
  });
});

/** The placement file the first design of `inputs` writes (every wave at IRSA_ONLY), the wave then recorded at its phase. */
function recordedOf(inputs: MigrationInputs): string {
  const first = designMigration({ ...inputs, state: undefined, context: {}, recordedPlacement: undefined });
  const phases = Object.fromEntries(Object.entries(inputs.state?.waves ?? {}).map(([w, h]) => [w, h[h.length - 1].phase]));
  return withWavePhases(first.placementText!, phases);
}

// ---------------------------------------------------------------------------------------------
// properties

function fleetInputs(model: Model, recordedPlacement: string | undefined): MigrationInputs {
  return {
    ...migrationProps(model), migrationPath: 'App/Fleet', context: {}, placementFile: 'placement.json', recordedPlacement, stackPrefix: 'PodIdentity', pipelineStages: false,
  };
}

/** Where each resource is: identity -> stack name. */
function where(design: MigrationDesign): Map<string, string> {
  const { graph } = design;
  const region = (stack: string) => graph.stacks.find((s) => s.stackName === stack)!.region;
  return new Map([
    ...graph.roles.map((r) => [`role ${r.role.parsed.roleName}`, r.stack] as const),
    ...graph.associations.map((a) => [`association ${a.assignment.cluster.clusterArn}/${a.assignment.sa.namespace}/${a.assignment.sa.serviceAccount}`, a.stack] as const),
    ...graph.agents.map((a) => [`agent ${a.cluster.clusterArn}`, a.stack] as const),
    ...graph.addons.map((a) => [`addon ${a.addon.cluster.clusterArn}/${a.addon.addon.addonName}`, a.stack] as const),
    ...graph.records.map((r) => [`record ${region(r.stack)}/${r.wave}`, r.stack] as const),
  ]);
}

/**
 * What the stack graph must hold whatever the fleet: every stack once; each association after the
 * stacks of its roles and each add-on after its role's (F4: the trust before its use); each wave's
 * record stacks after every stack holding the wave's roles, associations and add-ons in their
 * environment; every dependency on a stack of the same or an earlier stage of the pipeline; no
 * circle; a placeholder in every cluster stack and every stack that holds nothing.
 */
function graphViolations(design: MigrationDesign): string[] {
  const { graph } = design;
  const problems: string[] = [];
  const scope = new Map(graph.stacks.map((s) => [s.stackName, s.scope]));
  if (scope.size !== graph.stacks.length) problems.push('a stack is listed twice');
  const after = (stack: string, on: string) => stack === on || graph.edges.some((e) => e.stack === stack && e.on === on);
  const roleStack = new Map(graph.roles.map((r) => [r.role.parsed.arn, r.stack]));
  for (const { stack, assignment } of graph.associations) {
    for (const arn of [assignment.associationRoleArn, assignment.targetRoleArn].filter((a): a is string => a !== undefined)) {
      if (!after(stack, roleStack.get(arn)!)) problems.push(`${stack} does not deploy after ${roleStack.get(arn)} (role ${arn})`);
    }
  }
  for (const { stack, addon } of graph.addons) {
    if (!after(stack, roleStack.get(addon.roleArn)!)) problems.push(`${stack} does not deploy after the stack of its role ${addon.roleArn}`);
  }
  const order = deployOrder(WAVES);
  for (const wave of WAVES) {
    const deploys = new Set(waveStacks(graph, wave));
    const needed = [
      ...graph.roles.filter((r) => r.role.waves.includes(wave)).map((r) => r.stack),
      ...graph.associations.filter((a) => a.assignment.wave === wave).map((a) => a.stack),
      ...graph.addons.filter((a) => a.addon.wave === wave).map((a) => a.stack),
    ];
    needed.filter((s) => !deploys.has(s)).forEach((s) => problems.push(`cdk deploy 'App/Fleet/${wave}/*' does not deploy ${s}`));
  }
  for (const e of graph.edges) {
    if (order.indexOf(scope.get(e.on)!) > order.indexOf(scope.get(e.stack)!)) problems.push(`${e.stack} depends on a later stage: ${e.on}`);
  }
  if (hasCircle(graph.stacks.map((s) => s.stackName), graph.edges)) problems.push('the dependencies form a circle');
  const holding = new Set([...graph.agents, ...graph.roles, ...graph.associations, ...graph.addons, ...graph.records].map((x) => x.stack)
    .concat(graph.providers.filter((p) => p.present).map((p) => p.entry.stackName)));
  for (const s of graph.stacks) {
    const placeholder = graph.placeholders.includes(s.stackName);
    if (placeholder !== (s.scope === CLUSTERS || !holding.has(s.stackName))) problems.push(`${s.stackName}: placeholder ${placeholder}`);
  }
  return problems;
}

/** Whether the edges make a circle (depth-first: a stack met again while its own dependencies are being visited). */
function hasCircle(stacks: string[], edges: { stack: string; on: string }[]): boolean {
  const done = new Set<string>();
  const open = new Set<string>();
  const circle = (s: string): boolean => {
    if (done.has(s)) return false;
    if (open.has(s)) return true;
    open.add(s);
    const found = edges.filter((e) => e.stack === s).some((e) => circle(e.on));
    open.delete(s);
    done.add(s);
    return found;
  };
  return stacks.some(circle);
}

describe('the design over random fleets and changes (property-based, no App)', () => {
  test('no resource ever changes stack, and the stack graph orders everything, across random sequences of fleet changes', () => {
    let designs = 0;
    let refused = 0;
    const kinds = new Set<string>();
    fc.assert(fc.property(fleetArb, fc.array(changeArb, { minLength: 1, maxLength: 8 }), (initial, changes) => {
      // the first design wrote the file (every wave at IRSA_ONLY), and the deploys that stepped each wave to where the sequence starts
      const first = designMigration(fleetInputs({ ...initial, history: {} }, undefined));
      let recorded = withWavePhases(first.placementText!, Object.fromEntries(Object.entries(initial.history).map(([w, h]) => [w, h[h.length - 1]])));
      const firstSeen = new Map<string, string>();
      let model = initial;
      for (const change of [undefined, ...changes]) {
        const next = change ? apply(model, change) : model;
        let design: MigrationDesign;
        try {
          design = designMigration(fleetInputs(next, recorded));
        } catch (e) {
          expect((e as Error).message).toMatch(/would (move|hold)|would change (its|their) effective phase by more than one step/);
          refused += 1;
          continue;
        }
        designs += 1;
        expect(graphViolations(design)).toEqual([]);
        for (const [identity, stack] of where(design)) {
          kinds.add(`${identity.split(' ')[0]}${/-Roles-\d{12}-\d+$/.test(stack) ? ' in a second shard' : ''}`);
          expect([identity, stack]).toEqual([identity, firstSeen.get(identity) ?? stack]);
          firstSeen.set(identity, stack);
        }
        recorded = design.placementText ?? recorded;
        model = next;
      }
    }), { numRuns: 300, seed: 20261207 });
    expect(designs).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(0);
    expect([...kinds].sort()).toEqual(['agent', 'association', 'record', 'role', 'role in a second shard']);
  });

  test('the stability property can fail: designed without the placement file\'s text, resources move', () => {
    const model: Model = {
      clusters: ['c1', 'c2', 'c3'].map((name) => ({ name, region: 'us-east-1', sas: [{ ns: 'ns-a', sa: 'sa-0', shared: false }, { ns: 'ns-b', sa: 'sa-1', shared: false }] })),
      nsWave: { 'ns-a': 'w1', 'ns-b': 'w1', 'ns-c': 'w2' },
      history: {},
      generation: 20,
    };
    const before = where(designMigration(fleetInputs(model, undefined)));
    const after = where(designMigration(fleetInputs(apply(model, { kind: 'insert', region: 0, sas: [{ ns: 'ns-a', sa: 'sa-0', shared: false }], first: true }), undefined)));
    expect([...before].filter(([identity, stack]) => after.has(identity) && after.get(identity) !== stack).length).toBeGreaterThan(0);
  });
});
