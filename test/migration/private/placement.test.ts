import * as fc from 'fast-check';
import { place, parsePlacement, renderPlacement, PlacementInput } from '../../../src/migration/private/placement';

const name = (kind: string, group: string, shard: number) => `${kind}:${group}#${shard}`;
const input = (roles: string[], associations: { [cluster: string]: string[] } = {}): PlacementInput => ({
  stackPrefix: 'P',
  homeRegion: 'us-east-1',
  roles: new Map([['111122223333', roles]]),
  associations: new Map(Object.entries(associations)),
});

describe('place', () => {
  test('new members fill shards in name order, a new shard when one is full', () => {
    const placed = place(undefined, input(['r5', 'r1', 'r3', 'r2', 'r4']), 2, name);
    expect(placed.record.roles['111122223333']).toEqual({ r1: 1, r2: 1, r3: 2, r4: 2, r5: 3 });
    expect(placed.added).toEqual(['111122223333 r1', '111122223333 r2', '111122223333 r3', '111122223333 r4', '111122223333 r5']);
  });

  test('recorded members never move; a new one that sorts first goes where there is room', () => {
    const first = place(undefined, input(['b', 'c', 'd']), 2, name).record;
    const second = place(first, input(['a', 'b', 'c', 'd']), 2, name);
    expect(second.record.roles['111122223333']).toEqual({ a: 2, b: 1, c: 1, d: 2 });
    expect(second.added).toEqual(['111122223333 a']);
  });

  test('a removed member keeps its entry, and its place comes back with it', () => {
    const first = place(undefined, input(['a', 'b', 'c']), 2, name).record;
    const without = place(first, input(['a', 'b']), 2, name).record;
    expect(without.roles['111122223333']).toEqual({ a: 1, b: 1, c: 2 });
    expect(place(without, input(['a', 'b', 'c']), 2, name).added).toEqual([]);
  });

  test('a removed member frees its room for new ones', () => {
    const first = place(undefined, input(['a', 'b']), 2, name).record;
    const next = place(first, input(['a', 'z']), 2, name);
    expect(next.record.roles['111122223333']).toEqual({ a: 1, b: 1, z: 1 });
  });

  test('a shard over the limit (limit lowered) fails and moves nothing', () => {
    const first = place(undefined, input(['a', 'b', 'c']), 3, name).record;
    expect(() => place(first, input(['a', 'b', 'c']), 2, name)).toThrow(
      'stack roles:111122223333#1 would hold 3 resources, over maxResourcesPerStack 2. Nothing is moved to another stack (CloudFormation would delete and recreate it): raise maxResourcesPerStack (CloudFormation allows 500), or remove resources from that stack.');
  });

  test('roles join a shard while their bytes fit the budget; a shard\'s first role always fits; placed roles never move', () => {
    const bytes = (sizes: { [role: string]: number }) => ({ ...input(Object.keys(sizes)), roleBytes: new Map(Object.entries(sizes)) });
    // budget 100: a (60) + b (30) fit; c (20) does not, d (10) does; e (150) is alone in its own shard
    const first = place(undefined, bytes({ a: 60, b: 30, c: 20, d: 10, e: 150 }), 10, name, 100);
    expect(first.record.roles['111122223333']).toEqual({ a: 1, b: 1, c: 2, d: 1, e: 3 });
    // a grows past the budget: nothing moves; a new role goes where its bytes fit
    const second = place(first.record, bytes({ a: 90, b: 30, c: 20, d: 10, e: 150, f: 70 }), 10, name, 100);
    expect(second.record.roles['111122223333']).toEqual({ a: 1, b: 1, c: 2, d: 1, e: 3, f: 2 });
    expect(second.added).toEqual(['111122223333 f']);
    // associations are placed by count only
    expect(place(undefined, { ...input([], { c1: ['n/a', 'n/b', 'n/c'] }), roleBytes: new Map() }, 2, name, 1).record.associations.c1).toEqual({ 'n/a': 1, 'n/b': 1, 'n/c': 2 });
  });

  test('another home region or stack prefix fails, naming the stacks that would move', () => {
    const first = place(undefined, input(['a']), 2, name).record;
    expect(() => place(first, { ...input(['a']), homeRegion: 'eu-west-1' }, 2, name)).toThrow(
      'homeRegion "eu-west-1" differs from "us-east-1" in the placement file: the role stacks (roles:111122223333#1) would move to another region, and CloudFormation cannot move resources. Keep homeRegion "us-east-1".');
    expect(() => place(first, { ...input(['a']), stackPrefix: 'Q' }, 2, name)).toThrow(/^stackPrefix "Q" differs from "P" in the placement file/);
  });

  test('associations are placed per cluster, independently', () => {
    const placed = place(undefined, input([], { 'arn:c1': ['ns/a', 'ns/b', 'ns/c'], 'arn:c2': ['ns/a'] }), 2, name);
    expect(placed.record.associations).toEqual({ 'arn:c1': { 'ns/a': 1, 'ns/b': 1, 'ns/c': 2 }, 'arn:c2': { 'ns/a': 1 } });
  });

  test('the file round-trips byte for byte, keys sorted', () => {
    const record = place(undefined, input(['z', 'a'], { 'arn:c2': ['x/y'], 'arn:c1': ['b/c'] }), 5, name).record;
    const text = renderPlacement(record);
    expect(renderPlacement(parsePlacement(text, 'f'))).toBe(text);
    expect(text.indexOf('arn:c1')).toBeLessThan(text.indexOf('arn:c2'));
  });

  test('the file is exactly JSON.stringify of the record with every map\'s keys sorted, for any record', () => {
    const reference = (record: any) => {
      const sortKeys = (value: any): any => (value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])])) : value);
      const assignments = record.waves === undefined ? {} : { waves: sortKeys(record.waves), serviceAccounts: sortKeys(record.serviceAccounts) };
      const recalled = { irsaRoles: sortKeys(record.irsaRoles), addonRoles: sortKeys(record.addonRoles) };
      return JSON.stringify({ ...record, roles: sortKeys(record.roles), associations: sortKeys(record.associations), ...assignments, ...recalled }, null, 2) + '\n';
    };
    const key = fc.oneof(fc.constantFrom('111122223333', '012345678901', 'arn:aws:eks:us-east-1:1:cluster/a', 'ns/sa', '7', '10', '0', '01', '4294967295', 'B', 'a', '"q"', 'ü'),
      fc.string({ maxLength: 5 }));
    const shard = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom<any>(1.5, 'x', null, undefined, [1], { a: 1 }, Number.NaN));
    const groups = fc.dictionary(key, fc.oneof(fc.dictionary(key, shard, { maxKeys: 5 }), fc.constantFrom<any>({}, [], null, 3)), { maxKeys: 4 });
    // records as placement writes them (shard numbers only), and anything a hand edit could leave
    const placed = fc.dictionary(key, fc.dictionary(key, fc.integer({ min: 1, max: 40 }), { maxKeys: 6 }), { maxKeys: 4 });
    fc.assert(fc.property(fc.record({ version: fc.constant(1), stackPrefix: fc.constant('PodIdentity'), homeRegion: fc.constant('us-east-1'), roles: placed, associations: placed }),
      (record) => {
        expect(renderPlacement(record)).toBe(reference(record));
      }), { numRuns: 2000 });
    // version 2: each wave's recorded phase, and the wave of each service account
    const assigned = fc.dictionary(key, fc.dictionary(key, fc.constantFrom('w1', 'canary', '7'), { maxKeys: 6 }), { maxKeys: 4 });
    fc.assert(fc.property(fc.record({
      version: fc.constant(2),
      stackPrefix: fc.constant('PodIdentity'),
      homeRegion: fc.constant('us-east-1'),
      roles: placed,
      associations: placed,
      waves: fc.dictionary(key, fc.constantFrom('IRSA_ONLY', 'POD_IDENTITY_ONLY'), { maxKeys: 4 }),
      serviceAccounts: assigned,
    }, { requiredKeys: ['version', 'stackPrefix', 'homeRegion', 'roles', 'associations', 'waves', 'serviceAccounts'] }), (record) => {
      const text = renderPlacement(record as any);
      expect(text).toBe(reference(record));
      expect(renderPlacement(parsePlacement(text, 'f'))).toBe(text);
    }), { numRuns: 2000 });
    // and the IRSA role of each migrated service account and add-on, when recorded
    const recordedRoles = fc.dictionary(key, fc.dictionary(key, fc.constantFrom('arn:aws:iam::111122223333:role/a', 'arn:aws:iam::1:role/"q"'), { maxKeys: 6 }), { maxKeys: 4 });
    fc.assert(fc.property(fc.record({
      version: fc.constant(2),
      stackPrefix: fc.constant('PodIdentity'),
      homeRegion: fc.constant('us-east-1'),
      roles: placed,
      associations: placed,
      waves: fc.dictionary(key, fc.constantFrom('IRSA_ONLY', 'POD_IDENTITY_ONLY'), { maxKeys: 4 }),
      serviceAccounts: assigned,
      irsaRoles: recordedRoles,
      addonRoles: recordedRoles,
    }, { requiredKeys: ['version', 'stackPrefix', 'homeRegion', 'roles', 'associations', 'waves', 'serviceAccounts'] }), (record) => {
      const text = renderPlacement(record as any);
      expect(text).toBe(reference(record));
      expect(renderPlacement(parsePlacement(text, 'f'))).toBe(text);
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.record({
      version: fc.constantFrom<any>(1, 2, undefined, '1'),
      stackPrefix: fc.constantFrom('PodIdentity', 'P"q', 'ü'),
      homeRegion: fc.constantFrom('us-east-1', 'eu-west-1'),
      roles: groups,
      associations: groups,
    }), (record) => {
      expect(renderPlacement(record as any)).toBe(reference(record));
    }), { numRuns: 3000 });
  });

  test('a damaged file fails, naming it', () => {
    expect(() => parsePlacement('{', 'fleet/placement.json')).toThrow(/^placement file fleet\/placement.json: not JSON/);
    expect(() => parsePlacement('{"version":1}', 'fleet/placement.json')).toThrow(
      'placement file fleet/placement.json: expected { "version", "stackPrefix", "homeRegion", "roles", "associations" }. Restore it from version control; it records where every resource lives.');
    expect(() => parsePlacement('{"version":2,"stackPrefix":"P","homeRegion":"us-east-1","roles":{},"associations":{},"irsaRoles":{"arn:c1":{"ns/sa":7}}}', 'fleet/placement.json')).toThrow(
      'placement file fleet/placement.json: "irsaRoles" must map cluster ARNs to maps of role ARNs; got {"arn:c1":{"ns/sa":7}}. Restore it from version control.');
  });
});
