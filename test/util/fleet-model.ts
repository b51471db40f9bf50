/**
 * A fleet as it changes while a migration runs for weeks, for property tests: clusters inserted,
 * removed, reordered, replaced blue/green, a region added, service accounts added, a namespace moved
 * between waves, a canary chosen, a wave stepped one phase either way.
 */
import * as fc from 'fast-check';
import { IrsaInventory, MigrationPhase, PodIdentityCluster } from '../../src';
import { PHASE_ORDER } from '../../src/private/phases';

export const ACCOUNT = '111122223333';
export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
export const NAMESPACES = ['ns-a', 'ns-b', 'ns-c'];
export const WAVES = ['canary', 'w1', 'w2'];

export interface Sa { readonly ns: string; readonly sa: string; readonly shared: boolean }
export interface Cluster { readonly name: string; readonly region: string; readonly sas: Sa[] }
export interface Model {
  clusters: Cluster[];
  nsWave: { [ns: string]: string };
  canary?: { cluster: string; ns: string; sa: string };
  history: { [wave: string]: MigrationPhase[] };
  generation: number;
  /** Clusters removed from the fleet, recorded as deleted in the state (their service accounts leave the inventory). */
  deleted?: string[];
}

export type Change =
  | { kind: 'insert'; region: number; sas: Sa[]; first: boolean }
  | { kind: 'remove'; at: number }
  | { kind: 'reorder'; seed: number }
  | { kind: 'blueGreen'; at: number }
  | { kind: 'addRegion'; sas: Sa[] }
  | { kind: 'addSa'; at: number; sa: Sa }
  | { kind: 'moveNamespace'; ns: number; wave: number }
  | { kind: 'canary'; at: number }
  | { kind: 'step'; wave: number; up: boolean };

export const saArb: fc.Arbitrary<Sa> = fc.record({
  ns: fc.constantFrom(...NAMESPACES),
  sa: fc.constantFrom('sa-0', 'sa-1', 'sa-2', 'sa-3'),
  shared: fc.boolean(),
});
export const sasArb = fc.uniqueArray(saArb, { minLength: 1, maxLength: 4, selector: (s) => `${s.ns}/${s.sa}` });

export const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), region: fc.nat(1), sas: sasArb, first: fc.boolean() }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('reorder' as const), seed: fc.nat() }),
  fc.record({ kind: fc.constant('blueGreen' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('addRegion' as const), sas: sasArb }),
  fc.record({ kind: fc.constant('addSa' as const), at: fc.nat(), sa: saArb }),
  fc.record({ kind: fc.constant('moveNamespace' as const), ns: fc.nat(NAMESPACES.length - 1), wave: fc.nat(WAVES.length - 1) }),
  fc.record({ kind: fc.constant('canary' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('step' as const), wave: fc.nat(WAVES.length - 1), up: fc.boolean() }),
);

export const fleetArb: fc.Arbitrary<Model> = fc.record({
  clusters: fc.array(fc.record({ region: fc.nat(1), sas: sasArb }), { minLength: 1, maxLength: 4 }),
  nsWave: fc.record({ 'ns-a': fc.constantFrom(...WAVES.slice(1)), 'ns-b': fc.constantFrom(...WAVES.slice(1)), 'ns-c': fc.constantFrom(...WAVES.slice(1)) }),
  // where each wave stands when the sequence starts (recorded one phase at a time)
  phases: fc.tuple(...WAVES.map(() => fc.nat(PHASE_ORDER.length - 1))),
}).map(({ clusters, nsWave, phases }) => ({
  clusters: clusters.map((c, i) => ({ name: `c${i + 10}`, region: REGIONS[c.region], sas: c.sas })),
  nsWave,
  history: Object.fromEntries(WAVES.map((w, i) => [w, PHASE_ORDER.slice(0, phases[i] + 1)])),
  generation: 20,
}));

/** Applies a change to the model (a copy); changes that make no sense for the fleet are no-ops. */
export function apply(model: Model, change: Change): Model {
  const m: Model = { ...model, clusters: [...model.clusters], history: { ...model.history }, nsWave: { ...model.nsWave } };
  const pick = (at: number) => m.clusters[at % m.clusters.length];
  const fresh = () => `c${m.generation++}`;
  switch (change.kind) {
    case 'insert': {
      // a name that sorts first ('a...') or last ('z...')
      const cluster = { name: `${change.first ? 'a' : 'z'}${fresh()}`, region: REGIONS[change.region], sas: change.sas };
      m.clusters.splice(change.first ? 0 : m.clusters.length, 0, cluster);
      break;
    }
    case 'remove':
      if (m.clusters.length > 1) {
        m.deleted = [...(m.deleted ?? []), ...m.clusters.splice(change.at % m.clusters.length, 1).map((c) => c.name)];
      }
      break;
    case 'reorder':
      m.clusters = m.clusters.map((c, i) => ({ c, k: (i * 7919 + change.seed) % 101 })).sort((a, b) => a.k - b.k).map((x) => x.c);
      break;
    case 'blueGreen': {
      const old = pick(change.at);
      m.clusters = m.clusters.filter((c) => c !== old).concat({ ...old, name: `${old.name}-g${m.generation++}` });
      m.deleted = [...(m.deleted ?? []), old.name];
      break;
    }
    case 'addRegion':
      m.clusters.push({ name: fresh(), region: REGIONS[2], sas: change.sas });
      break;
    case 'addSa': {
      const cluster = pick(change.at);
      if (!cluster.sas.some((s) => s.ns === change.sa.ns && s.sa === change.sa.sa)) {
        m.clusters = m.clusters.map((c) => (c === cluster ? { ...c, sas: [...c.sas, change.sa] } : c));
      }
      break;
    }
    case 'moveNamespace':
      m.nsWave[NAMESPACES[change.ns]] = WAVES[change.wave];
      break;
    case 'canary': {
      const cluster = pick(change.at);
      const sa = cluster.sas[0];
      m.canary = { cluster: cluster.name, ns: sa.ns, sa: sa.sa };
      break;
    }
    case 'step': {
      const wave = WAVES[change.wave];
      const history = m.history[wave] ?? [MigrationPhase.IRSA_ONLY];
      const at = PHASE_ORDER.indexOf(history[history.length - 1]) + (change.up ? 1 : -1);
      if (at >= 0 && at < PHASE_ORDER.length) {
        m.history[wave] = [...history, PHASE_ORDER[at]];
      }
      break;
    }
  }
  return m;
}


/**
 * The migration's inputs for the model (all but the placement file): its clusters, inventory,
 * waves and recorded state, small stacks so that sharding is exercised.
 */
export function migrationProps(model: Model) {
  const clusters = model.clusters.map((c) => PodIdentityCluster.fromClusterAttributes({
    clusterName: c.name,
    clusterArn: `arn:aws:eks:${c.region}:${ACCOUNT}:cluster/${c.name}`,
    oidcIssuer: `oidc.eks.${c.region}.amazonaws.com/id/${Buffer.from(`${c.region}/${c.name}`).toString('hex').toUpperCase().padEnd(32, '0').slice(0, 32)}`,
  }));
  const inventory = new IrsaInventory();
  for (const c of model.clusters) {
    for (const s of c.sas) {
      const roleName = s.shared ? `shared-${s.ns}-${s.sa}` : `r-${c.name}-${s.ns}-${s.sa}`;
      inventory.addEntry({ cluster: c.name, namespace: s.ns, serviceAccount: s.sa, roleArn: `arn:aws:iam::${ACCOUNT}:role/${roleName}` });
    }
  }
  const waves = WAVES.map((name) => ({
    name,
    select: name === 'canary'
      ? (model.canary ? [{ cluster: model.canary.cluster, namespace: model.canary.ns, serviceAccount: model.canary.sa }] : [])
      : NAMESPACES.filter((ns) => model.nsWave[ns] === name).map((namespace) => ({ namespace })),
  }));
  return {
    clusters,
    inventory,
    plan: { waves, roles: { '*': { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] } } },
    state: {
      waves: Object.fromEntries(Object.entries(model.history).map(([w, h]) => [w, h.map((phase) => ({ phase }))])),
      serviceAccounts: (model.deleted ?? []).map((cluster) => ({ cluster, deleted: true })),
    },
    homeRegion: 'us-east-1',
    // small stacks, so that sharding is exercised
    maxResourcesPerStack: 4,
    trustPolicyMaxLengthByAccount: { [ACCOUNT]: 100_000 },
  };
}
