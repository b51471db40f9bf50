import { AssignmentRecord } from './assignment-guard';
import { PlanningError } from './phase-state';

/**
 * The version of the placement file this code writes. Version 1 (without `waves` and
 * `serviceAccounts`) is read too.
 */
export const PLACEMENT_VERSION = 2;

/** The versions this code reads. */
const READABLE_VERSIONS = [1, PLACEMENT_VERSION];

/**
 * The placement file: which shard stack each role and each association lives in. Synthesis adds
 * what is new and never changes what is recorded, so that nothing ever moves between stacks
 * (CloudFormation cannot move a resource: F16). Committed beside the plan, like a lock file.
 */
export interface PlacementRecord {
  readonly version: number;
  /** The stack name prefix the stacks were named with. */
  readonly stackPrefix: string;
  /** The region of the role stacks. */
  readonly homeRegion: string;
  /** account -> role ARN -> shard (1, 2, ...). */
  readonly roles: { [account: string]: { [roleArn: string]: number } };
  /** cluster ARN -> `namespace/serviceAccount` -> shard. */
  readonly associations: { [clusterArn: string]: { [serviceAccount: string]: number } };
  /** wave -> its phase as recorded in the state when the file was written (version 2). */
  readonly waves?: AssignmentRecord['waves'];
  /** cluster ARN -> `namespace/serviceAccount` -> the wave of each migrated service account (version 2). */
  readonly serviceAccounts?: AssignmentRecord['serviceAccounts'];
  /**
   * cluster ARN -> `namespace/serviceAccount` -> the IRSA role of each migrated service account, which
   * the cluster stops showing once its phase removes the annotation (version 2, optional).
   */
  readonly irsaRoles?: { [clusterArn: string]: { [serviceAccount: string]: string } };
  /** cluster ARN -> add-on name -> the `serviceAccountRoleArn` of each migrated add-on (version 2, optional). */
  readonly addonRoles?: { [clusterArn: string]: { [addon: string]: string } };
  /**
   * cluster ARN -> its name, for each cluster whose agent add-on the migration's foundation stacks
   * install: once installed, the cluster shows the agent (version 2, optional).
   */
  readonly foundation?: { [clusterArn: string]: string };
}

/** The shard of every member of every group, and what was added to the record. */
export interface Placed {
  readonly record: PlacementRecord;
  /** `group member` of every member that had no shard yet. */
  readonly added: string[];
}

/** The members of each group that exist now. */
export interface PlacementInput {
  readonly stackPrefix: string;
  readonly homeRegion: string;
  /** account -> role ARNs. */
  readonly roles: Map<string, string[]>;
  /** cluster ARN -> `namespace/serviceAccount`. */
  readonly associations: Map<string, string[]>;
  /**
   * role ARN -> the bytes the role can take in its stack's template (at its widest trust): a new
   * role joins a shard only while the shard's roles stay within `maxRoleBytes`.
   *
   * @default - roles are placed by count only
   */
  readonly roleBytes?: Map<string, number>;
}

/**
 * Places every role and association: a recorded one stays in its shard; a new one goes to the
 * lowest shard of its group with room (in name order), or a new shard. Room is `max` members and,
 * for roles, `maxRoleBytes` of template (counting the roles present now; a shard's first role
 * always fits). Fails, naming the stacks and what to do, when the record's prefix or home region
 * differ (every stack would move) or a shard holds more than `max` resources.
 *
 * @param stackName the stack name of a group's shard, for messages
 */
export function place(recorded: PlacementRecord | undefined, input: PlacementInput, max: number,
  stackName: (kind: 'roles' | 'associations', group: string, shard: number) => string, maxRoleBytes: number = Infinity): Placed {
  if (recorded) {
    if (!READABLE_VERSIONS.includes(recorded.version)) {
      throw new PlanningError(`the placement file has version ${JSON.stringify(recorded.version)}; this version of the library reads versions ${READABLE_VERSIONS.join(' and ')}.`);
    }
    if (recorded.stackPrefix !== input.stackPrefix) {
      throw new PlanningError(`stackPrefix ${JSON.stringify(input.stackPrefix)} differs from ${JSON.stringify(recorded.stackPrefix)} in the placement file: every stack would get a new name, and CloudFormation cannot move resources between stacks. Keep stackPrefix ${JSON.stringify(recorded.stackPrefix)}.`);
    }
    if (recorded.homeRegion !== input.homeRegion) {
      const stacks = Object.entries(recorded.roles).flatMap(([account, roles]) => [...new Set(Object.values(roles))].map((s) => stackName('roles', account, s)));
      throw new PlanningError(`homeRegion ${JSON.stringify(input.homeRegion)} differs from ${JSON.stringify(recorded.homeRegion)} in the placement file: the role stacks (${stacks.join(', ')}) would move to another region, and CloudFormation cannot move resources. Keep homeRegion ${JSON.stringify(recorded.homeRegion)}.`);
    }
  }
  const added: string[] = [];
  const roleBytes = input.roleBytes ?? new Map<string, number>();
  const roles = placeGroups(recorded?.roles ?? {}, input.roles, max, added, (g, s) => stackName('roles', g, s),
    { of: (m) => roleBytes.get(m) ?? 0, max: maxRoleBytes });
  const associations = placeGroups(recorded?.associations ?? {}, input.associations, max, added, (g, s) => stackName('associations', g, s),
    { of: () => 0, max: Infinity });
  return {
    record: { version: PLACEMENT_VERSION, stackPrefix: input.stackPrefix, homeRegion: input.homeRegion, roles, associations },
    added,
  };
}

function placeGroups(recorded: { [group: string]: { [member: string]: number } }, current: Map<string, string[]>, max: number,
  added: string[], stackName: (group: string, shard: number) => string,
  weight: { of: (member: string) => number; max: number }): { [group: string]: { [member: string]: number } } {
  const out: { [group: string]: { [member: string]: number } } = {};
  // recorded groups and members stay, even when absent now (a retained role may come back)
  for (const [group, members] of Object.entries(recorded)) {
    out[group] = { ...members };
  }
  for (const [group, members] of current) {
    const shards = out[group] ?? {};
    out[group] = shards;
    const present = new Set(members);
    const load = new Map<number, number>();
    const bytes = new Map<number, number>();
    for (const m of members) {
      const shard = shards[m];
      if (shard !== undefined) {
        if (!Number.isInteger(shard) || shard < 1) {
          throw new PlanningError(`the placement file puts ${group} ${m} in shard ${JSON.stringify(shard)}; shards are whole numbers from 1.`);
        }
        load.set(shard, (load.get(shard) ?? 0) + 1);
        bytes.set(shard, (bytes.get(shard) ?? 0) + weight.of(m));
      }
    }
    for (const [shard, n] of load) {
      if (n > max) {
        throw new PlanningError(`stack ${stackName(group, shard)} would hold ${n} resources, over maxResourcesPerStack ${max}. Nothing is moved to another stack (CloudFormation would delete and recreate it): raise maxResourcesPerStack (CloudFormation allows 500), or remove resources from that stack.`);
      }
    }
    for (const m of [...present].filter((x) => shards[x] === undefined).sort()) {
      const w = weight.of(m);
      const fits = (shard: number) => (load.get(shard) ?? 0) < max && ((load.get(shard) ?? 0) === 0 || (bytes.get(shard) ?? 0) + w <= weight.max);
      let shard = 1;
      while (!fits(shard)) {
        shard += 1;
      }
      shards[m] = shard;
      load.set(shard, (load.get(shard) ?? 0) + 1);
      bytes.set(shard, (bytes.get(shard) ?? 0) + w);
      added.push(`${group} ${m}`);
    }
  }
  return out;
}

/** The placement file's text: keys sorted, so that the same record is always the same bytes. */
export function renderPlacement(record: PlacementRecord): string {
  const { version, stackPrefix, homeRegion, roles, associations, waves, serviceAccounts, irsaRoles, addonRoles, foundation } = record;
  const scalar = (v: unknown) => (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';
  const isMap = (v: unknown): v is object => v !== null && typeof v === 'object' && !Array.isArray(v);
  const twoLevels = [roles, associations, serviceAccounts ?? {}, irsaRoles ?? {}, addonRoles ?? {}];
  const fast = twoLevels.every((groups) => isMap(groups)
    && Object.values(groups).every((members) => isMap(members) && Object.values(members).every(scalar)))
    && [waves, foundation].every((one) => one === undefined || (isMap(one) && Object.values(one).every(scalar)));
  if (!fast || typeof version !== 'number' || typeof stackPrefix !== 'string' || typeof homeRegion !== 'string') {
    return renderPlacementGeneric(record);
  }
  // two levels of maps of shard numbers (or wave names), written as JSON.stringify(sorted, null, 2)
  // writes them, in one pass (a fleet's file holds 10,000 associations and is compared on every synthesis)
  const members = (map: { [member: string]: number | string }, indent: string): string => {
    const keys = objectKeyOrder(Object.keys(map));
    return keys.length === 0 ? '{}' : `{\n${keys.map((m) => `${indent}  ${JSON.stringify(m)}: ${JSON.stringify(map[m])}`).join(',\n')}\n${indent}}`;
  };
  const groups = (map: { [group: string]: { [member: string]: number | string } }): string => {
    const keys = objectKeyOrder(Object.keys(map));
    if (keys.length === 0) {
      return '{}';
    }
    const lines = keys.map((group) => `    ${JSON.stringify(group)}: ${members(map[group], '    ')}`);
    return `{\n${lines.join(',\n')}\n  }`;
  };
  const assignments = waves === undefined && serviceAccounts === undefined ? ''
    : `,\n  "waves": ${members(waves ?? {}, '  ')},\n  "serviceAccounts": ${groups(serviceAccounts ?? {})}`;
  const recalled = (irsaRoles === undefined ? '' : `,\n  "irsaRoles": ${groups(irsaRoles)}`)
    + (addonRoles === undefined ? '' : `,\n  "addonRoles": ${groups(addonRoles)}`)
    + (foundation === undefined ? '' : `,\n  "foundation": ${members(foundation, '  ')}`);
  return `{\n  "version": ${JSON.stringify(version)},\n  "stackPrefix": ${JSON.stringify(stackPrefix)},\n  "homeRegion": ${JSON.stringify(homeRegion)},\n`
    + `  "roles": ${groups(roles)},\n  "associations": ${groups(associations)}${assignments}${recalled}\n}\n`;
}

/** Any record, its maps' keys sorted at every level. */
function renderPlacementGeneric(record: PlacementRecord): string {
  const sortKeys = (value: any): any => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
    }
    return value;
  };
  const { version, stackPrefix, homeRegion, roles, associations, waves, serviceAccounts, irsaRoles, addonRoles, foundation } = record;
  const assignments = waves === undefined && serviceAccounts === undefined ? {}
    : { waves: sortKeys(waves ?? {}), serviceAccounts: sortKeys(serviceAccounts ?? {}) };
  const recalled = {
    irsaRoles: irsaRoles === undefined ? undefined : sortKeys(irsaRoles),
    addonRoles: addonRoles === undefined ? undefined : sortKeys(addonRoles),
    foundation: foundation === undefined ? undefined : sortKeys(foundation),
  };
  return JSON.stringify({ version, stackPrefix, homeRegion, roles: sortKeys(roles), associations: sortKeys(associations), ...assignments, ...recalled }, null, 2) + '\n';
}

/**
 * Keys in the order an object built from them sorted has them: array indices first, ascending,
 * then the rest sorted (as `Object.fromEntries` of sorted entries orders them).
 */
function objectKeyOrder(keys: string[]): string[] {
  const isIndex = (k: string) => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 4294967295;
  const indices = keys.filter(isIndex).sort((a, b) => Number(a) - Number(b));
  return indices.length === 0 ? keys.sort() : [...indices, ...keys.filter((k) => !isIndex(k)).sort()];
}

/** Reads a placement file's text. */
export function parsePlacement(text: string, source: string): PlacementRecord {
  let value: any;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new PlanningError(`placement file ${source}: not JSON (${(e as Error).message}). Restore it from version control; it records where every resource lives.`);
  }
  const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(value) || typeof value.stackPrefix !== 'string' || typeof value.homeRegion !== 'string' || !isMap(value.roles) || !isMap(value.associations)) {
    throw new PlanningError(`placement file ${source}: expected { "version", "stackPrefix", "homeRegion", "roles", "associations" }. Restore it from version control; it records where every resource lives.`);
  }
  for (const field of ['irsaRoles', 'addonRoles']) {
    const v = value[field];
    if (v !== undefined && !(isMap(v) && Object.values(v).every((m: any) => isMap(m) && Object.values(m).every((r) => typeof r === 'string')))) {
      throw new PlanningError(`placement file ${source}: "${field}" must map cluster ARNs to maps of role ARNs; got ${JSON.stringify(v).slice(0, 120)}. Restore it from version control.`);
    }
  }
  if (value.foundation !== undefined && !(isMap(value.foundation) && Object.values(value.foundation).every((n) => typeof n === 'string'))) {
    throw new PlanningError(`placement file ${source}: "foundation" must map cluster ARNs to cluster names; got ${JSON.stringify(value.foundation).slice(0, 120)}. Restore it from version control.`);
  }
  return value as PlacementRecord;
}
