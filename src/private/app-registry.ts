import { IConstruct } from 'constructs';

/**
 * App-wide registries, keyed by the root of the construct tree, so that rules such as
 * "at most one agent add-on per cluster in an app" hold across stacks and stages.
 */
const REGISTRIES = new WeakMap<IConstruct, Map<string, Map<string, unknown>>>();

/** The map named `registry` for the app that holds `scope`. */
export function appRegistry<T>(scope: IConstruct, registry: string): Map<string, T> {
  const root = scope.node.root;
  let byName = REGISTRIES.get(root);
  if (!byName) {
    byName = new Map();
    REGISTRIES.set(root, byName);
  }
  let map = byName.get(registry);
  if (!map) {
    map = new Map();
    byName.set(registry, map);
  }
  return map as Map<string, T>;
}
