/**
 * Nothing changes for a service account unless its recorded phase says so (F20), as a property:
 * over random fleets (shared roles, a Fargate cluster whose service accounts the plan excludes) and
 * random sequences of edits of the plan, the inventory and the state, each synthesis that succeeds
 * is "deployed" to a simulated world (IAM keeps a retained role's last trust when it leaves the app;
 * associations follow the templates; a ServiceAccount keeps its annotation until a manifest
 * changes it), and every service account's phase is read back from that world:
 *
 * - it moved by at most one step from the previous deploy, unless the state records the jump;
 * - the world is one of the phase table's rows (never an association-less service account without
 *   its annotation or its OIDC trust): IAM-evaluated from the synthesized trust policies;
 * - no service account recorded in a wave left the inventory unless the state says it was deleted;
 * - the inventory is read from the clusters as `collect` reads it (a ServiceAccount whose annotation
 *   a phase removed no longer shows its role), and no service account still in its cluster is lost.
 *
 * The same property runs with the guard replaced by one that checks nothing, and without the roles
 * the placement file records, and must fail in both.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import * as fc from 'fast-check';
import { MigrationPhase as P } from '../../src/migration-phase';
import { isPhase, PHASE_ORDER } from '../../src/private/phases';
import { evaluate } from '../util/iam-simulator';

const ACCOUNT = '111122223333';
const NAMESPACES = ['ns-a', 'ns-b', 'ns-c'];
const SA_NAMES = ['sa-0', 'sa-1', 'sa-2'];

interface Sa { readonly cluster: string; readonly ns: string; readonly sa: string; readonly role: string }
interface Wave { readonly name: string; readonly select: { namespace?: string; cluster?: string; serviceAccount?: string }[] }
interface Model {
  readonly clusters: { readonly name: string; readonly fargate: boolean }[];
  readonly sas: Sa[];
  readonly waves: Wave[];
  readonly exclude: { namespace?: string; cluster?: string; serviceAccount?: string; reason?: string }[];
  readonly history: { [wave: string]: P[] };
  /** The state's serviceAccounts: deletions and acknowledged jumps. */
  readonly acks: any[];
  readonly generation: number;
}

type Edit =
  | { kind: 'step'; wave: number; up: boolean }
  | { kind: 'typo'; wave: number }
  | { kind: 'removeWave'; wave: number }
  | { kind: 'addWave'; at: number; ns: number }
  | { kind: 'renameWave'; wave: number }
  | { kind: 'reorder'; seed: number }
  | { kind: 'moveSa'; sa: number; wave: number }
  | { kind: 'exclude'; ns: number }
  | { kind: 'unexclude'; at: number }
  | { kind: 'addSa'; cluster: number; ns: number; name: number; shared: boolean }
  | { kind: 'removeSa'; sa: number; recorded: boolean };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('step' as const), wave: fc.nat(5), up: fc.boolean() }) },
  fc.record({ kind: fc.constant('typo' as const), wave: fc.nat(5) }),
  fc.record({ kind: fc.constant('removeWave' as const), wave: fc.nat(5) }),
  fc.record({ kind: fc.constant('addWave' as const), at: fc.nat(5), ns: fc.nat(NAMESPACES.length - 1) }),
  fc.record({ kind: fc.constant('renameWave' as const), wave: fc.nat(5) }),
  fc.record({ kind: fc.constant('reorder' as const), seed: fc.nat() }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('moveSa' as const), sa: fc.nat(), wave: fc.nat(5) }) },
  fc.record({ kind: fc.constant('exclude' as const), ns: fc.nat(NAMESPACES.length - 1) }),
  fc.record({ kind: fc.constant('unexclude' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('addSa' as const), cluster: fc.nat(2), ns: fc.nat(NAMESPACES.length - 1), name: fc.nat(SA_NAMES.length - 1), shared: fc.boolean() }),
  fc.record({ kind: fc.constant('removeSa' as const), sa: fc.nat(), recorded: fc.boolean() }),
);

const fleetArb: fc.Arbitrary<Model> = fc.record({
  clusters: fc.integer({ min: 1, max: 2 }),
  fargate: fc.boolean(),
  sas: fc.uniqueArray(fc.record({ cluster: fc.nat(2), ns: fc.nat(NAMESPACES.length - 1), name: fc.nat(SA_NAMES.length - 1), shared: fc.boolean() }),
    { minLength: 2, maxLength: 7, selector: (s) => `${s.cluster}/${s.ns}/${s.name}` }),
  waveOf: fc.tuple(fc.nat(1), fc.nat(1), fc.nat(1)),
}).map(({ clusters, fargate, sas, waveOf }) => {
  const names = Array.from({ length: clusters }, (_, i) => `c${i}`);
  const all = fargate ? [...names.map((name) => ({ name, fargate: false })), { name: 'fg', fargate: true }] : names.map((name) => ({ name, fargate: false }));
  return {
    clusters: all,
    sas: sas.map((s) => {
      const cluster = all[s.cluster % all.length].name;
      const sa = SA_NAMES[s.name];
      return { cluster, ns: NAMESPACES[s.ns], sa, role: s.shared ? `shared-${NAMESPACES[s.ns]}-${sa}` : `r-${cluster}-${NAMESPACES[s.ns]}-${sa}` };
    }).filter((s, i, list) => list.findIndex((o) => o.cluster === s.cluster && o.ns === s.ns && o.sa === s.sa) === i),
    waves: ['w1', 'w2'].map((name, i) => ({ name, select: NAMESPACES.filter((_, n) => waveOf[n] === i).map((namespace) => ({ namespace })) })),
    exclude: fargate ? [{ cluster: 'fg', reason: 'Fargate: no Pod Identity' }] : [],
    history: {},
    acks: [],
    generation: 0,
  };
});

/** The model after an edit (edits that make no sense for the model leave it as it is). */
function applyEdit(model: Model, edit: Edit): Model {
  const m = {
    ...model, waves: [...model.waves], sas: [...model.sas], exclude: [...model.exclude], history: { ...model.history }, acks: [...model.acks],
  };
  const wave = (i: number) => m.waves[i % Math.max(1, m.waves.length)];
  switch (edit.kind) {
    case 'step': {
      const w = wave(edit.wave);
      if (w) {
        const h = m.history[w.name] ?? [P.IRSA_ONLY];
        const at = PHASE_ORDER.indexOf(h[h.length - 1]) + (edit.up ? 1 : -1);
        if (at >= 0 && at < PHASE_ORDER.length) {
          m.history[w.name] = [...h, PHASE_ORDER[at]];
        }
      }
      break;
    }
    case 'typo': {
      const w = wave(edit.wave);
      if (w && w.select.some((s) => s.namespace && !s.serviceAccount)) {
        const i = w.select.findIndex((s) => s.namespace && !s.serviceAccount);
        const select = [...w.select];
        select[i] = { namespace: `${select[i].namespace}x` };
        m.waves = m.waves.map((x) => (x === w ? { ...w, select } : x));
      }
      break;
    }
    case 'removeWave': {
      const w = wave(edit.wave);
      if (w) {
        m.waves = m.waves.filter((x) => x !== w);
        delete m.history[w.name];
      }
      break;
    }
    case 'addWave': {
      const name = `n${m.generation}`;
      m.waves.splice(edit.at % (m.waves.length + 1), 0, { name, select: [{ namespace: NAMESPACES[edit.ns] }] });
      return { ...m, generation: m.generation + 1 };
    }
    case 'renameWave': {
      const w = wave(edit.wave);
      if (w) {
        const name = `n${m.generation}`;
        m.waves = m.waves.map((x) => (x === w ? { ...w, name } : x));
        if (m.history[w.name]) {
          m.history[name] = m.history[w.name];
          delete m.history[w.name];
        }
        return { ...m, generation: m.generation + 1 };
      }
      break;
    }
    case 'reorder':
      m.waves = m.waves.map((w, i) => ({ w, k: (i * 7919 + edit.seed) % 101 })).sort((a, b) => a.k - b.k).map((x) => x.w);
      break;
    case 'moveSa': {
      const w = wave(edit.wave);
      const sa = m.sas[edit.sa % m.sas.length];
      if (w && sa) {
        // an exact selector, in the first wave: it wins over every namespace selector
        m.waves = m.waves.filter((x) => x !== w);
        m.waves.unshift({ ...w, select: [{ cluster: sa.cluster, namespace: sa.ns, serviceAccount: sa.sa }, ...w.select] });
      }
      break;
    }
    case 'exclude':
      m.exclude.push({ namespace: NAMESPACES[edit.ns], reason: 'not yet' });
      break;
    case 'unexclude': {
      const candidates = m.exclude.filter((e) => e.cluster === undefined);
      if (candidates.length > 0) {
        const e = candidates[edit.at % candidates.length];
        m.exclude = m.exclude.filter((x) => x !== e);
      }
      break;
    }
    case 'addSa': {
      const cluster = m.clusters[edit.cluster % m.clusters.length].name;
      const [ns, sa] = [NAMESPACES[edit.ns], SA_NAMES[edit.name]];
      if (!m.sas.some((s) => s.cluster === cluster && s.ns === ns && s.sa === sa)) {
        m.sas.push({ cluster, ns, sa, role: edit.shared ? `shared-${ns}-${sa}` : `r-${cluster}-${ns}-${sa}` });
      }
      break;
    }
    case 'removeSa': {
      if (m.sas.length > 1) {
        const [gone] = m.sas.splice(edit.sa % m.sas.length, 1);
        if (edit.recorded) {
          m.acks.push({ cluster: gone.cluster, namespace: gone.ns, serviceAccount: gone.sa, deleted: true });
        }
      }
      break;
    }
  }
  return m;
}

const issuerOf = (cluster: string) => `oidc.eks.us-east-1.amazonaws.com/id/${Buffer.from(cluster).toString('hex').toUpperCase().padEnd(32, '0')}`;
const providerOf = (cluster: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuerOf(cluster)}`;
const clusterArnOf = (cluster: string) => `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/${cluster}`;

/** What the deploys so far left in the cloud and the clusters. */
interface World {
  /** role name -> trust policy (retained roles keep their last one when they leave the app). */
  readonly trust: Map<string, any>;
  /** `cluster ns/sa` of every association. */
  readonly associations: Set<string>;
  /** `cluster ns/sa` -> the ServiceAccount carries the IRSA annotation (last applied manifest). */
  readonly annotated: Map<string, boolean>;
}

type Lib = typeof import('../../src');

/** Synthesizes the model; on success, deploys it onto `world` (a new world) and returns it. */
function synthAndDeploy(lib: Lib, model: Model, placementFile: string, world: World): World {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'effective-'));
  try {
    const app = new App({ outdir, analyticsReporting: false });
    // the inventory as collect reads it from the clusters: a ServiceAccount whose last manifest
    // removed its annotation no longer shows its role
    const inventory = new lib.IrsaInventory();
    for (const c of model.clusters) {
      const items = model.sas.filter((s) => s.cluster === c.name).map((s) => ({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          name: s.sa,
          namespace: s.ns,
          annotations: world.annotated.get(`${s.cluster} ${s.ns}/${s.sa}`) === false ? {} : { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/${s.role}` },
        },
      }));
      inventory.addServiceAccountsJson(c.name, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    }
    new lib.PodIdentityMigration(app, 'Fleet', {
      clusters: model.clusters.map((c) => lib.PodIdentityCluster.fromClusterAttributes({
        clusterName: c.name,
        clusterArn: clusterArnOf(c.name),
        oidcIssuer: issuerOf(c.name),
        computeType: c.fargate ? lib.ComputeType.FARGATE : undefined,
        agentStatus: lib.AgentStatus.PRE_INSTALLED,
      })),
      inventory,
      plan: {
        waves: model.waves,
        exclude: model.exclude,
        roles: { '*': { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] } },
      },
      state: {
        waves: Object.fromEntries(Object.entries(model.history).map(([w, h]) => [w, h.map((phase) => ({ phase }))])),
        serviceAccounts: model.acks,
      },
      placementFile,
      homeRegion: 'us-east-1',
      trustPolicyMaxLengthByAccount: { [ACCOUNT]: 100_000 },
    });
    const assembly = app.synth();
    const trust = new Map(world.trust);
    const associations = new Set<string>();
    for (const stack of assembly.stacks) {
      for (const r of Object.values<any>(stack.template.Resources ?? {})) {
        if (r.Type === 'AWS::IAM::Role') {
          trust.set(r.Properties.RoleName, r.Properties.AssumeRolePolicyDocument);
        } else if (r.Type === 'AWS::EKS::PodIdentityAssociation') {
          associations.add(`${r.Properties.ClusterName} ${r.Properties.Namespace}/${r.Properties.ServiceAccount}`);
        }
      }
    }
    const annotated = new Map(world.annotated);
    const k8s = path.join(outdir, 'k8s');
    for (const cluster of fs.existsSync(k8s) ? fs.readdirSync(k8s) : []) {
      for (const file of fs.readdirSync(path.join(k8s, cluster))) {
        for (const doc of fs.readFileSync(path.join(k8s, cluster, file), 'utf8').split(/^---$/m)) {
          const name = /^ {2}name: (\S+)$/m.exec(doc)![1];
          const namespace = /^ {2}namespace: (\S+)$/m.exec(doc)![1];
          annotated.set(`${cluster} ${namespace}/${name}`, doc.includes('eks.amazonaws.com/role-arn:'));
        }
      }
    }
    return { trust, associations, annotated };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** A service account's phase as the world shows it, or what is wrong with it. */
function observe(world: World, s: Sa): P | string {
  const key = `${s.cluster} ${s.ns}/${s.sa}`;
  const trust = world.trust.get(s.role);
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/${s.role}`;
  // a role the migration never had keeps the IRSA trust it has today
  const oidc = trust === undefined || evaluate({
    principal: providerOf(s.cluster),
    action: 'sts:AssumeRoleWithWebIdentity',
    resource: roleArn,
    resourceAccount: ACCOUNT,
    context: { [`${issuerOf(s.cluster)}:sub`]: `system:serviceaccount:${s.ns}:${s.sa}`, [`${issuerOf(s.cluster)}:aud`]: 'sts.amazonaws.com' },
  }, { resourcePolicy: trust }) === 'Allowed';
  const pods = trust !== undefined && ['sts:AssumeRole', 'sts:TagSession'].every((action) => evaluate({
    principal: 'pods.eks.amazonaws.com',
    action,
    resource: roleArn,
    resourceAccount: ACCOUNT,
    context: {
      'aws:SourceAccount': ACCOUNT,
      'aws:RequestTag/eks-cluster-arn': clusterArnOf(s.cluster),
      'aws:RequestTag/kubernetes-namespace': s.ns,
      'aws:RequestTag/kubernetes-service-account': s.sa,
    },
  }, { resourcePolicy: trust }) === 'Allowed');
  const association = world.associations.has(key);
  const annotation = world.annotated.get(key) ?? true;
  if (!association) {
    if (!annotation || !oidc) {
      return `no association, and ${!annotation ? 'no IRSA annotation' : 'no OIDC trust'}: its pods get no AWS credentials`;
    }
    return pods ? P.DUAL_TRUST : P.IRSA_ONLY;
  }
  if (!pods) {
    return 'an association whose role does not trust pods.eks.amazonaws.com';
  }
  if (annotation) {
    return oidc ? P.POD_IDENTITY : 'the annotation without the OIDC trust';
  }
  return oidc ? P.ANNOTATION_REMOVED : P.POD_IDENTITY_ONLY;
}

interface Outcome { readonly synths: number; readonly refused: number; readonly deepest: number }

/** Runs the property with the library `lib`; returns what the sequences exercised. */
function runProperty(lib: Lib, params: fc.Parameters<[Model, [number, number], Edit[]]>): Outcome {
  let synths = 0;
  let refused = 0;
  let deepest = 0;
  const start = fc.tuple(fc.nat(PHASE_ORDER.length - 1), fc.nat(PHASE_ORDER.length - 1));
  fc.assert(fc.property(fleetArb, start, fc.array(editArb, { minLength: 1, maxLength: 10 }), (initial, [w1, w2], changes) => {
    // the waves step up to where the sequence starts, one phase per deploy, then the edits
    const walk: Edit[] = [...Array(w1).fill({ kind: 'step', wave: 0, up: true }), ...Array(w2).fill({ kind: 'step', wave: 1, up: true })];
    const edits = [...walk, ...changes];
    const placementFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'effective-place-')), 'placement.json');
    let world: World = { trust: new Map(), associations: new Set(), annotated: new Map() };
    world = synthAndDeploy(lib, initial, placementFile, world);
    let model = initial;
    for (const edit of edits) {
      const next = applyEdit(model, edit);
      let after: World;
      try {
        after = synthAndDeploy(lib, next, placementFile, world);
      } catch (e) {
        const message = (e as Error).message;
        // a service account still in its cluster is never lost from what collect reads there
        for (const [, cluster, ns, sa] of message.matchAll(/^ {2}- (\S+) ([^/\s]+)\/(\S+): .* no longer in the inventory/gm)) {
          if (next.sas.some((s) => s.cluster === cluster && s.ns === ns && s.sa === sa)) {
            throw new Error(`after ${edit.kind}: ${cluster} ${ns}/${sa} is still in its cluster, but synthesis lost it from the collected inventory`);
          }
        }
        // refusals the plan's own rules make (e.g. a Fargate service account selected past IRSA_ONLY)
        // are not what this property is about; the change is then not made
        if (!/effective phase by more than one step|does not support Pod Identity|would (move|hold)|the state records wave|jumps over/.test(message)) {
          throw e;
        }
        refused += message.includes('effective phase') ? 1 : 0;
        continue;
      }
      synths += 1;
      const gone = model.sas.filter((s) => !next.sas.includes(s));
      for (const s of next.sas) {
        const now = observe(after, s);
        if (!isPhase(now)) {
          throw new Error(`after ${edit.kind}: ${s.cluster} ${s.ns}/${s.sa}: ${now}`);
        }
        deepest = Math.max(deepest, PHASE_ORDER.indexOf(now));
        const before = model.sas.includes(s) ? observe(world, s) : P.IRSA_ONLY;
        const acknowledged = next.acks.some((a) => a.cluster === s.cluster && a.namespace === s.ns && a.serviceAccount === s.sa && a.to === now);
        if (isPhase(before) && Math.abs(PHASE_ORDER.indexOf(before) - PHASE_ORDER.indexOf(now)) > 1 && !acknowledged) {
          throw new Error(`after ${edit.kind}: ${s.cluster} ${s.ns}/${s.sa} went from ${before} to ${now} in one deploy`);
        }
      }
      for (const s of gone) {
        // a service account deleted without the state saying so: only one the migration never had
        const deleted = next.acks.some((a) => a.deleted && a.cluster === s.cluster && a.namespace === s.ns && a.serviceAccount === s.sa);
        if (!deleted && (world.associations.has(`${s.cluster} ${s.ns}/${s.sa}`) || observe(world, s) !== P.IRSA_ONLY)) {
          throw new Error(`after ${edit.kind}: ${s.cluster} ${s.ns}/${s.sa} left the inventory at ${String(observe(world, s))} without a recorded deletion`);
        }
      }
      world = after;
      model = next;
    }
    fs.rmSync(path.dirname(placementFile), { recursive: true, force: true });
  }), params);
  return { synths, refused, deepest };
}

describe('effective phase of every service account (property-based)', () => {
  test('no service account moves more than one step, loses its trust or its association, unless the state records it', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the library as loaded with or without the guard
    const lib: Lib = require('../../src');
    const outcome = runProperty(lib, { numRuns: 40, seed: 20261206 });
    // the sequences exercised the guard and reached the far phases
    expect(outcome.synths).toBeGreaterThan(150);
    expect(outcome.refused).toBeGreaterThan(10);
    expect(outcome.deepest).toBe(PHASE_ORDER.indexOf(P.POD_IDENTITY_ONLY));
  });

  test('the property fails, and shrinks, with the guard disabled', () => {
    let failure: Error | undefined;
    jest.isolateModules(() => {
      jest.doMock('../../src/migration/private/assignment-guard', () => {
        const actual = jest.requireActual('../../src/migration/private/assignment-guard');
        // records, never refuses
        return { ...actual, guardAssignments: (input: any) => actual.guardAssignments({ ...input, recorded: undefined }) };
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the library as loaded with or without the guard
      const lib: Lib = require('../../src');
      try {
        runProperty(lib, { numRuns: 40, seed: 20261206 });
      } catch (e) {
        failure = e as Error;
      }
    });
    jest.dontMock('../../src/migration/private/assignment-guard');
    expect(failure).toBeDefined();
    expect(failure!.message).toMatch(/Shrunk \d+ time/);
    const cause = `${failure!.message}\n${String((failure as any).cause?.message ?? '')}`;
    expect(cause).toMatch(/went from \w+ to \w+ in one deploy|its pods get no AWS credentials|left the inventory at/);
  });

  test('the property fails, and shrinks, without the roles the placement file records (collect no longer sees them after ANNOTATION_REMOVED)', () => {
    let failure: Error | undefined;
    jest.isolateModules(() => {
      jest.doMock('../../src/migration/private/recall', () => {
        const actual = jest.requireActual('../../src/migration/private/recall');
        // records, never recalls
        return { ...actual, recallRoles: (inventory: any) => inventory };
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the library as loaded with or without the recall
      const lib: Lib = require('../../src');
      try {
        runProperty(lib, { numRuns: 40, seed: 20261206 });
      } catch (e) {
        failure = e as Error;
      }
    });
    jest.dontMock('../../src/migration/private/recall');
    expect(failure).toBeDefined();
    expect(failure!.message).toMatch(/Shrunk \d+ time/);
    expect(`${failure!.message}\n${String((failure as any).cause?.message ?? '')}`).toMatch(/is still in its cluster, but synthesis lost it from the collected inventory/);
  });
});

describe('a role\'s trust covers every user the plan leaves on IRSA (F20, IAM simulation)', () => {
  // GIVEN role "shared-reports" used by reports/exporter on EC2 cluster c0 (in wave "apps") and on
  // Fargate cluster fg (excluded: Pod Identity does not run there), and reports/legacy on c0, in no wave
  const lib: Lib = jest.requireActual('../../src');
  const model = (phase: P): Model => ({
    clusters: [{ name: 'c0', fargate: false }, { name: 'fg', fargate: true }],
    sas: [
      { cluster: 'c0', ns: 'reports', sa: 'exporter', role: 'shared-reports' },
      { cluster: 'fg', ns: 'reports', sa: 'exporter', role: 'shared-reports' },
      { cluster: 'c0', ns: 'legacy', sa: 'legacy', role: 'shared-reports' },
    ],
    waves: [{ name: 'apps', select: [{ namespace: 'reports' }] }],
    exclude: [{ cluster: 'fg', reason: 'Fargate' }],
    history: { apps: PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1) },
    acks: [],
    generation: 0,
  });

  test.each(PHASE_ORDER.map((p) => [p]))('with the wave at %s, the Fargate and unassigned users keep their OIDC trust; the migrated one follows its phase', (phase) => {
    // WHEN the wave was stepped there one phase per deploy
    const placementFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fargate-place-')), 'placement.json');
    let world: World = { trust: new Map(), associations: new Set(), annotated: new Map() };
    for (const p of PHASE_ORDER.slice(0, PHASE_ORDER.indexOf(phase) + 1)) {
      world = synthAndDeploy(lib, model(p), placementFile, world);
    }
    // THEN the synthesized trust admits the Fargate and the unassigned service accounts through IRSA, in every phase
    const [ec2, fargate, legacy] = model(phase).sas;
    expect([observe(world, fargate), observe(world, legacy), observe(world, ec2)]).toEqual([P.IRSA_ONLY, P.IRSA_ONLY, phase]);
    const trust = world.trust.get('shared-reports');
    const web = (s: Sa) => evaluate({
      principal: providerOf(s.cluster),
      action: 'sts:AssumeRoleWithWebIdentity',
      resource: `arn:aws:iam::${ACCOUNT}:role/shared-reports`,
      resourceAccount: ACCOUNT,
      context: { [`${issuerOf(s.cluster)}:sub`]: `system:serviceaccount:${s.ns}:${s.sa}`, [`${issuerOf(s.cluster)}:aud`]: 'sts.amazonaws.com' },
    }, { resourcePolicy: trust });
    expect([web(fargate), web(legacy), web(ec2)]).toEqual(['Allowed', 'Allowed', phase === P.POD_IDENTITY_ONLY ? 'ImplicitlyDenied' : 'Allowed']);
    // and nothing else: another service account on the Fargate cluster is denied
    expect(web({ cluster: 'fg', ns: 'reports', sa: 'other', role: 'shared-reports' })).toBe('ImplicitlyDenied');
  });

  test('the check can fail: without the statements for users left on IRSA, the Fargate user would lose its trust', () => {
    // GIVEN the trust as the library planned it before F20: only the wave's users
    const placementFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fargate-place-')), 'placement.json');
    const world = synthAndDeploy(lib, model(P.IRSA_ONLY), placementFile, { trust: new Map(), associations: new Set(), annotated: new Map() });
    const trust = JSON.parse(JSON.stringify(world.trust.get('shared-reports')));
    trust.Statement = trust.Statement.filter((s: any) => !JSON.stringify(s).includes(issuerOf('fg')));
    const broken: World = { ...world, trust: new Map([['shared-reports', trust]]) };
    // THEN the property's reading of the world says so
    expect(observe(broken, model(P.IRSA_ONLY).sas[1])).toBe('no association, and no OIDC trust: its pods get no AWS credentials');
  });
});
