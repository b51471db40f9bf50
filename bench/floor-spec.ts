/**
 * The floors of the benchmark: the same CloudFormation, written as L1 resources (typed, such as
 * `CfnRole`) or as plain `CfnResource`s. This file turns a cloud assembly the library synthesized
 * into the floor app's input (every stack with its name, environment and dependencies; every
 * resource with its construct path, type, L1 props and CloudFormation properties, DependsOn and
 * policies), and compares two cloud assemblies.
 */
import * as fs from 'fs';
import * as path from 'path';

/** One resource of the floor: where it goes, and its L1 properties. */
export interface FloorResource {
  /** Construct ids below the stack, the last one the resource's. */
  readonly path: string[];
  readonly type: string;
  /** Its L1 props (camelCase), for the typed floor. */
  readonly props: { [key: string]: any };
  /** Its CloudFormation properties as the template has them, for the plain floor. */
  readonly properties: { [key: string]: any };
  /** Paths (joined with '/') of resources of the same stack it depends on. */
  readonly dependsOn: string[];
  readonly deletionPolicy?: string;
  readonly updateReplacePolicy?: string;
}

export interface FloorStack {
  /** Construct ids from the app to the stack. */
  readonly path: string[];
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  /** Paths (joined with '/') of the stacks it depends on. */
  readonly dependsOn: string[];
  readonly resources: FloorResource[];
}

export interface FloorSpec {
  readonly stacks: FloorStack[];
}

/** Properties whose value is a JSON document, kept as CloudFormation has it. */
const JSON_PROPERTIES = new Set(['AssumeRolePolicyDocument', 'PolicyDocument']);

/** CloudFormation properties (PascalCase) as L1 props (camelCase), nested structs too. */
function l1Props(value: any, where: string): any {
  if (Array.isArray(value)) {
    return value.map((v, i) => l1Props(v, `${where}[${i}]`));
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const out: { [key: string]: any } = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith('Fn::') || key === 'Ref') {
      throw new Error(`floor: ${where} holds ${key}; the floor writes literal values only.`);
    }
    out[key.charAt(0).toLowerCase() + key.slice(1)] = JSON_PROPERTIES.has(key) ? v : l1Props(v, `${where}.${key}`);
  }
  return out;
}

interface StackArtifact {
  readonly id: string;
  readonly displayName: string;
  readonly environment: string;
  readonly properties: { templateFile: string; stackName: string };
  readonly dependencies?: string[];
  readonly metadata?: { [path: string]: { type: string; data: any }[] };
}

function stackArtifacts(dir: string): StackArtifact[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  return Object.entries<any>(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([id, a]) => ({ id, ...a }));
}

/** The floor's input, read from the cloud assembly `dir`. */
export function floorSpec(dir: string): FloorSpec {
  const artifacts = stackArtifacts(dir);
  const pathOf = new Map(artifacts.map((a) => [a.id, a.displayName]));
  const stacks = artifacts.map((a): FloorStack => {
    const template = JSON.parse(fs.readFileSync(path.join(dir, a.properties.templateFile), 'utf8'));
    const byLogicalId = new Map<string, string[]>();
    for (const [p, entries] of Object.entries(a.metadata ?? {})) {
      for (const e of entries.filter((x) => x.type === 'aws:cdk:logicalId')) {
        // '/<stack path>/<ids below the stack>'
        byLogicalId.set(e.data, p.slice(a.displayName.length + 2).split('/'));
      }
    }
    const resources = Object.entries<any>(template.Resources ?? {}).map(([logicalId, r]): FloorResource => {
      const where = byLogicalId.get(logicalId);
      if (!where) {
        throw new Error(`floor: ${a.displayName}: no construct path for ${logicalId} in manifest.json.`);
      }
      return {
        path: where,
        type: r.Type,
        props: l1Props(r.Properties ?? {}, `${a.displayName}/${logicalId}`),
        properties: r.Properties ?? {},
        dependsOn: ([] as string[]).concat(r.DependsOn ?? []).map((d) => byLogicalId.get(d)!.join('/')),
        deletionPolicy: r.DeletionPolicy,
        updateReplacePolicy: r.UpdateReplacePolicy,
      };
    });
    const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(a.environment)!;
    return {
      path: a.displayName.split('/'),
      stackName: a.properties.stackName,
      account,
      region,
      dependsOn: (a.dependencies ?? []).filter((d) => pathOf.has(d)).map((d) => pathOf.get(d)!),
      resources,
    };
  });
  return { stacks };
}

/**
 * The differences between two cloud assemblies: the same stacks (name, environment, path,
 * dependencies) and the same templates (every resource, property, DependsOn, DeletionPolicy).
 * At most `limit` lines.
 */
export function compareAssemblies(a: string, b: string, limit = 10): string[] {
  const diffs: string[] = [];
  const index = (dir: string) => new Map(stackArtifacts(dir).map((s) => [s.displayName, s]));
  const left = index(a);
  const right = index(b);
  for (const name of new Set([...left.keys(), ...right.keys()])) {
    const x = left.get(name);
    const y = right.get(name);
    if (!x || !y) {
      diffs.push(`stack ${name}: only in ${x ? a : b}`);
      continue;
    }
    const deps = (s: StackArtifact) => JSON.stringify((s.dependencies ?? []).filter((d) => !d.endsWith('.assets')).sort());
    for (const [what, p, q] of [
      ['stack name', x.properties.stackName, y.properties.stackName],
      ['environment', x.environment, y.environment],
      ['dependencies', deps(x), deps(y)],
    ]) {
      if (p !== q) {
        diffs.push(`stack ${name}: ${what} ${p} vs ${q}`);
      }
    }
    const tx = JSON.parse(fs.readFileSync(path.join(a, x.properties.templateFile), 'utf8'));
    const ty = JSON.parse(fs.readFileSync(path.join(b, y.properties.templateFile), 'utf8'));
    firstDifference(tx, ty, `${name}:`, diffs);
  }
  return diffs.slice(0, limit);
}

function firstDifference(x: any, y: any, where: string, out: string[]): void {
  if (JSON.stringify(x) === JSON.stringify(y)) {
    return;
  }
  if (x && y && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])];
    if (JSON.stringify(Object.keys(x)) !== JSON.stringify(Object.keys(y)) && !Array.isArray(x)) {
      const only = keys.filter((k) => !(k in x) || !(k in y));
      if (only.length > 0) {
        out.push(`${where} keys differ: ${only.slice(0, 5).join(', ')}`);
        return;
      }
      out.push(`${where} key order differs`);
      return;
    }
    for (const k of keys) {
      firstDifference(x[k], y[k], `${where}/${k}`, out);
      if (out.length > 50) {
        return;
      }
    }
    return;
  }
  out.push(`${where} ${JSON.stringify(x)?.slice(0, 120)} vs ${JSON.stringify(y)?.slice(0, 120)}`);
}
