import { PlannedAssignment } from './design';
import { inlineStatements, permissionDifferences } from './permission-diff';
import { PlanningError } from './phase-state';
import { ParsedRoleArn } from '../inventory-types';
import { CollectedRole, MigrationPlan, MigrationRolePlan } from '../plan';

/*
 * What each role of the migration may do: declared in the plan (an exact name wins over the longest
 * pattern), checked against IAM when collected, or collected; a consolidated role's permissions.
 */

/** The plan's entry for a role, and its key (an exact name wins over the longest `*` pattern). */
export function declaredFor(plan: MigrationPlan, role: { readonly arn: string; readonly roleName: string }):
{ key: string; permissions: MigrationRolePlan } | undefined {
  const roles = plan.roles ?? {};
  if (roles[role.arn]) {
    return { key: role.arn, permissions: roles[role.arn] };
  }
  const roleName = role.roleName;
  if (roles[roleName]) {
    return { key: roleName, permissions: roles[roleName] };
  }
  const pattern = Object.keys(roles)
    .filter((k) => k.endsWith('*') && roleName.startsWith(k.slice(0, -1)))
    .sort((a, b) => b.length - a.length)[0];
  return pattern === undefined ? undefined : { key: pattern, permissions: roles[pattern] };
}

/**
 * What an existing role may do once adopted: the plan's entry, which must mean what IAM holds when
 * the role was collected; or, without an entry, what was collected.
 */
export function adoptedPermissions(plan: MigrationPlan, role: ParsedRoleArn, collected: CollectedRole | undefined,
  collecting: boolean): MigrationRolePlan {
  const declared = declaredFor(plan, role);
  if (declared?.permissions.exists === false) {
    throw new PlanningError(`role ${role.arn}: the plan's roles[${JSON.stringify(declared.key)}] says "exists": false, but service accounts are annotated with it: `
      + 'an IRSA role exists today, and the migration adopts it (cdk import) rather than creating it. '
      + 'Remove "exists": false (it is for a role that does not exist yet, such as a new cross-account target).');
  }
  if (declared === undefined) {
    if (collected === undefined) {
      throw new PlanningError(`role ${JSON.stringify(role.roleName)} has no permissions in the plan${collecting ? ' and was not collected' : ''}. Adopting it would replace what it may do today with nothing: `
        + `declare roles[${JSON.stringify(role.roleName)}] with its statements and managedPolicyArns (what the role may do today), ${collecting ? 'collect it into roles.json, ' : ''}or exclude its service accounts.`);
    }
    return { account: role.account, statements: inlineStatements(collected.inlinePolicies), managedPolicyArns: [...collected.managedPolicyArns] };
  }
  if (collected !== undefined) {
    const diffs = permissionDifferences(
      { statements: declared.permissions.statements ?? [], managedPolicyArns: declared.permissions.managedPolicyArns ?? [] },
      { statements: inlineStatements(collected.inlinePolicies), managedPolicyArns: collected.managedPolicyArns });
    if (diffs.length > 0) {
      throw new PlanningError(`role ${role.arn}: the plan's roles[${JSON.stringify(declared.key)}] differs from what IAM holds (collected): ${diffs.join('; ')}. `
        + `Adopting the role as declared would change what it may do today: make roles[${JSON.stringify(declared.key)}] say what IAM holds${declared.key === role.roleName ? ', or remove it to take the collected permissions' : ''}.`);
    }
  }
  return declared.permissions;
}

/**
 * The permissions of a consolidated role: its own plan entry when declared; otherwise those of the
 * per-cluster roles, which must all be the same (taking one of several would drop permissions).
 */
export function consolidatedPermissions(plan: MigrationPlan, roleName: string, serviceAccount: string, uses: PlannedAssignment[],
  adopted: (role: ParsedRoleArn) => MigrationRolePlan): MigrationRolePlan {
  if (plan.roles?.[roleName]) {
    return plan.roles[roleName];
  }
  const byShape = new Map<string, string[]>();
  let first: MigrationRolePlan | undefined;
  for (const p of uses) {
    const permissions = adopted(p.sa.role);
    first = first ?? permissions;
    const shape = JSON.stringify({ statements: permissions.statements ?? [], managedPolicyArns: [...(permissions.managedPolicyArns ?? [])].sort() });
    byShape.set(shape, [...(byShape.get(shape) ?? []), p.sa.role.roleName]);
  }
  if (byShape.size > 1) {
    const groups = [...byShape.values()].map((names) => [...new Set(names)].sort().join(', '));
    throw new PlanningError(`consolidating ${serviceAccount} into role ${JSON.stringify(roleName)}: the per-cluster roles have different permissions (${groups.map((g, i) => `${i + 1}: ${g}`).join('; ')}), and taking one set would drop the others. Declare roles[${JSON.stringify(roleName)}] with the permissions the shared role needs.`);
  }
  return { statements: first?.statements ?? [], managedPolicyArns: first?.managedPolicyArns ?? [] };
}

/**
 * The plan with every role's `statements` as IAM JSON: an `iam.PolicyStatement` (what a TypeScript
 * or Python user writes first) becomes its JSON; anything else that is not a statement fails,
 * naming the role and the expected shape.
 */
export function withStatementsAsJson(plan: MigrationPlan): MigrationPlan {
  if (plan.roles === undefined) {
    return plan;
  }
  const roles: { [name: string]: MigrationRolePlan } = {};
  for (const [name, entry] of Object.entries(plan.roles)) {
    if (entry?.statements === undefined) {
      roles[name] = entry;
      continue;
    }
    if (!Array.isArray(entry.statements)) {
      throw new PlanningError(`plan roles[${JSON.stringify(name)}].statements: expected a list of IAM policy statements; got ${describeValue(entry.statements)}.`);
    }
    const statements = entry.statements.map((s, i) => {
      if (s !== null && typeof s === 'object' && typeof s.toStatementJson === 'function') {
        return s.toStatementJson();
      }
      if (s === null || typeof s !== 'object' || Array.isArray(s) || (s.Action === undefined && s.NotAction === undefined)) {
        throw new PlanningError(`plan roles[${JSON.stringify(name)}].statements[${i}]: expected an IAM policy statement, as JSON `
          + `({ "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket/*"] }) or an iam.PolicyStatement; got ${describeValue(s)}.`);
      }
      return s;
    });
    roles[name] = { ...entry, statements };
  }
  return { ...plan, roles };
}

/** A value for a message: its JSON, cut short. */
function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
