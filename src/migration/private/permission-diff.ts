/**
 * Compares what a plan declares an adopted role may do with what IAM holds for it: the statements
 * of every inline policy, and the attached managed policies. Statements are compared by meaning
 * where IAM's grammar allows two spellings: a string or a one-element list, the order of a list, a
 * `Sid`, the order of keys.
 */

/** The permissions of a role: inline statements and managed policy ARNs. */
export interface Permissions {
  readonly statements: any[];
  readonly managedPolicyArns: string[];
}

const LISTS = new Set(['Action', 'NotAction', 'Resource', 'NotResource']);

/** A statement in one spelling: keys sorted, lists sorted, single values as lists, no Sid. */
export function canonicalStatement(statement: any): string {
  const norm = (value: any, key?: string, inCondition = false): any => {
    if (Array.isArray(value)) {
      return [...new Set(value.map((v) => norm(v)))].map((v) => JSON.stringify(v)).sort().map((v) => JSON.parse(v));
    }
    if (value !== null && typeof value === 'object') {
      const out: { [k: string]: any } = {};
      for (const k of Object.keys(value).sort()) {
        if (k === 'Sid' && key === undefined) {
          continue;
        }
        out[k] = norm(value[k], k, inCondition || k === 'Condition');
      }
      return out;
    }
    // a single value where IAM takes a list: the same as a list of one
    if ((key !== undefined && LISTS.has(key)) || (inCondition && typeof value === 'string')) {
      return [value];
    }
    return value;
  };
  return JSON.stringify(norm(statement));
}

/** The statements of every inline policy document, in policy-name order. */
export function inlineStatements(inlinePolicies: { [name: string]: any }): any[] {
  return Object.keys(inlinePolicies).sort().flatMap((name) => {
    const statement = inlinePolicies[name]?.Statement ?? [];
    return Array.isArray(statement) ? statement : [statement];
  });
}

/**
 * The differences between what is declared and what was collected, each as one readable line;
 * empty when they mean the same.
 */
export function permissionDifferences(declared: Permissions, collected: Permissions): string[] {
  const diffs: string[] = [];
  const count = (list: any[]) => {
    const m = new Map<string, number>();
    list.forEach((s) => m.set(canonicalStatement(s), (m.get(canonicalStatement(s)) ?? 0) + 1));
    return m;
  };
  const d = count(declared.statements);
  const c = count(collected.statements);
  for (const [key] of c) {
    if (!d.has(key)) {
      diffs.push(`statement ${key} is in IAM, not in the plan`);
    }
  }
  for (const [key] of d) {
    if (!c.has(key)) {
      diffs.push(`statement ${key} is in the plan, not in IAM`);
    }
  }
  const dm = new Set(declared.managedPolicyArns);
  const cm = new Set(collected.managedPolicyArns);
  [...cm].filter((a) => !dm.has(a)).sort().forEach((a) => diffs.push(`managed policy ${a} is attached in IAM, not in the plan`));
  [...dm].filter((a) => !cm.has(a)).sort().forEach((a) => diffs.push(`managed policy ${a} is in the plan, not attached in IAM`));
  return diffs;
}
