import { Annotations, CfnResource, IAspect, Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { POD_IDENTITY_PRINCIPAL } from './private/constants';

type Json = any;

/**
 * An aspect that checks any CDK app for the Pod Identity failure modes, on the CloudFormation
 * resources themselves, so it also checks roles and associations not made with this library:
 *
 * - an association whose role (in the app) does not trust `pods.eks.amazonaws.com` with both
 *   `sts:AssumeRole` and `sts:TagSession` (every assume is denied);
 * - an association with a session `Policy` but without `DisableSessionTags: true` (EKS rejects it);
 * - `aws:PrincipalTag` conditions on the policies of a role used with `DisableSessionTags: true`,
 *   or `aws:RequestTag` pins in its trust (they never match);
 * - a target role (in the app) whose trust does not admit the association role;
 * - two associations for the same `(cluster, namespace, service account)`.
 *
 * Each finding is an error annotation on the association that says how to fix it.
 *
 * @example
 * declare const app: App;
 * Aspects.of(app).add(new PodIdentityChecks());
 */
export class PodIdentityChecks implements IAspect {
  private readonly seen = new WeakMap<IConstruct, Map<string, string>>();

  public visit(node: IConstruct): void {
    if (node instanceof eks.CfnPodIdentityAssociation) {
      this.checkAssociation(node);
    }
  }

  private checkAssociation(association: eks.CfnPodIdentityAssociation): void {
    const stack = Stack.of(association);
    const r = (value: unknown) => stack.resolve(value);
    const namespace = r(association.namespace);
    const serviceAccount = r(association.serviceAccount);
    const what = `association ${flat(namespace)}/${flat(serviceAccount)} on cluster ${flat(r(association.clusterName))}`;
    const errors: string[] = [];

    // duplicates
    const key = JSON.stringify([stack.account, stack.region, r(association.clusterName), namespace, serviceAccount]);
    let seen = this.seen.get(association.node.root);
    if (!seen) {
      seen = new Map();
      this.seen.set(association.node.root, seen);
    }
    const first = seen.get(key);
    if (first !== undefined && first !== association.node.path) {
      errors.push(`${what} is also defined at '${first}': EKS allows one association per service account (the second fails with ResourceInUseException). Keep one.`);
    } else {
      seen.set(key, association.node.path);
    }

    const tagsOff = r(association.disableSessionTags) === true;
    if (association.policy !== undefined && !tagsOff) {
      errors.push(`${what} sets a session Policy without DisableSessionTags: true, which EKS rejects. Set DisableSessionTags: true (PodIdentityBinding: sessionTags: false), or drop the Policy.`);
    }

    const role = findRole(association, association.roleArn);
    if (role) {
      const trust = Stack.of(role).resolve(role.assumeRolePolicyDocument);
      const podStatements = statements(trust).filter((s) => s.Effect === 'Allow' && principalValues(s, 'Service').includes(POD_IDENTITY_PRINCIPAL));
      const assume = podStatements.some((s) => allowsAction(s, 'sts:AssumeRole'));
      const tag = podStatements.some((s) => allowsAction(s, 'sts:TagSession'));
      if (!assume || !tag) {
        errors.push(`${what} uses role '${role.node.path}', whose trust does not allow ${POD_IDENTITY_PRINCIPAL} to ${!assume && !tag ? 'sts:AssumeRole and sts:TagSession' : !tag ? 'sts:TagSession' : 'sts:AssumeRole'}, so every assume is denied. Trust {"Service":"${POD_IDENTITY_PRINCIPAL}"} with ["sts:AssumeRole","sts:TagSession"] (DualTrustRole does).`);
      }
      if (tagsOff) {
        if (podStatements.some((s) => conditionKeys(s).some((k) => k.toLowerCase().startsWith('aws:requesttag/')))) {
          errors.push(`${what} sets DisableSessionTags: true, but the trust of role '${role.node.path}' pins aws:RequestTag conditions, which never match without session tags. Pin the trust to the account only, or keep session tags on.`);
        }
        for (const policy of tagScopedPoliciesOfRole(role)) {
          errors.push(`${what} sets DisableSessionTags: true, but '${policy}' on role '${role.node.path}' uses aws:PrincipalTag conditions, which never match without session tags. Keep session tags on, or use a role without tag-scoped policies.`);
        }
      }
    }

    if (association.targetRoleArn !== undefined) {
      const target = findRole(association, association.targetRoleArn);
      if (target) {
        const associationRoleArn = flat(r(association.roleArn));
        const associationAccount = role ? accountOf(role) : undefined;
        const trust = Stack.of(target).resolve(target.assumeRolePolicyDocument);
        const admits = statements(trust).some((s) => s.Effect === 'Allow' && allowsAction(s, 'sts:AssumeRole')
          && admitsRole(s, associationRoleArn, associationAccount, role ? roleArnOf(role) : undefined));
        if (!admits) {
          errors.push(`${what} chains to target role '${target.node.path}', whose trust does not admit the association role${role ? ` '${role.node.path}'` : ''}, so EKS cannot assume it. Allow sts:AssumeRole and sts:TagSession to the association role in the target trust (CrossAccountPodRole builds both sides).`);
        }
      }
    }

    for (const error of errors) {
      Annotations.of(association).addError(`PodIdentityChecks: ${error}`);
    }
  }
}

/** The CfnRole in the app that an ARN (token or string) names, if any. */
function findRole(from: CfnResource, arn: string): iam.CfnRole | undefined {
  const stack = Stack.of(from);
  const resolved = stack.resolve(arn);
  const roles = from.node.root.node.findAll().filter((c): c is iam.CfnRole => c instanceof iam.CfnRole);
  if (resolved && typeof resolved === 'object' && Array.isArray(resolved['Fn::GetAtt'])) {
    const [logicalId] = resolved['Fn::GetAtt'];
    return roles.find((role) => Stack.of(role) === stack && stack.getLogicalId(role) === logicalId);
  }
  const text = flat(resolved);
  const m = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(text);
  if (!m) {
    return undefined;
  }
  return roles.find((role) => {
    const name = Stack.of(role).resolve(role.roleName);
    return typeof name === 'string' && name === m[2] && accountOf(role) === m[1];
  });
}

function accountOf(role: iam.CfnRole): string {
  return Stack.of(role).account;
}

function roleArnOf(role: iam.CfnRole): string | undefined {
  const stack = Stack.of(role);
  const name = stack.resolve(role.roleName);
  return typeof name === 'string' ? `arn:aws:iam::${stack.account}:role/${name}` : undefined;
}

/** Whether a trust statement admits the association role: by ARN, or by its account with a matching (or no) aws:PrincipalArn pin. */
function admitsRole(statement: Json, associationArn: string, account: string | undefined, namedArn: string | undefined): boolean {
  const arns = [associationArn, namedArn].filter((a): a is string => a !== undefined);
  const principals = principalValues(statement, 'AWS');
  const byArn = principals.some((p) => arns.includes(p));
  const byAccount = principals.some((p) => p === '*' || (account !== undefined && (p === account || new RegExp(`^arn:[^:]+:iam::${account}:root$`).test(p))));
  if (byArn) {
    return true;
  }
  if (!byAccount) {
    return false;
  }
  const pins: string[] = [];
  for (const op of Object.values<any>(statement.Condition ?? {})) {
    for (const [k, v] of Object.entries<any>(op)) {
      if (k.toLowerCase() === 'aws:principalarn') {
        pins.push(...(Array.isArray(v) ? v : [v]).map(flat));
      }
    }
  }
  return pins.length === 0 || pins.some((p) => arns.includes(p));
}

/** The paths of policies attached to the role (inline, AWS::IAM::Policy, AWS::IAM::ManagedPolicy) that read aws:PrincipalTag. */
function tagScopedPoliciesOfRole(role: iam.CfnRole): string[] {
  const stack = Stack.of(role);
  const ref = JSON.stringify({ Ref: stack.getLogicalId(role) });
  const found: string[] = [];
  const inline = stack.resolve(role.policies) as Json[] | undefined;
  for (const policy of inline ?? []) {
    // L1 props resolve as given: camelCase from the L1 API, PascalCase from raw CloudFormation
    if (readsPrincipalTags(policy.policyDocument ?? policy.PolicyDocument)) {
      found.push(`${role.node.path} (inline ${policy.policyName ?? policy.PolicyName})`);
    }
  }
  const managedRefs = ((stack.resolve(role.managedPolicyArns) ?? []) as Json[]).map((a) => JSON.stringify(a));
  for (const c of role.node.root.node.findAll()) {
    if (c instanceof iam.CfnPolicy || c instanceof iam.CfnManagedPolicy) {
      const s = Stack.of(c);
      if (s !== stack) {
        continue;
      }
      const roles = ((s.resolve(c.roles) ?? []) as Json[]).map((x) => JSON.stringify(x));
      const attached = roles.includes(ref) || (c instanceof iam.CfnManagedPolicy && managedRefs.includes(JSON.stringify({ Ref: s.getLogicalId(c) })));
      if (attached && readsPrincipalTags(s.resolve(c.policyDocument))) {
        found.push(c.node.path);
      }
    }
  }
  return found;
}

function readsPrincipalTags(document: Json): boolean {
  return statements(document).some((s) => s.Effect === 'Allow' && (conditionKeys(s).some((k) => k.toLowerCase().startsWith('aws:principaltag/'))
    || JSON.stringify(s.Resource ?? '').includes('aws:PrincipalTag/')));
}

function statements(document: Json): Json[] {
  const list = document?.Statement;
  return Array.isArray(list) ? list : list ? [list] : [];
}

function principalValues(statement: Json, type: string): string[] {
  const value = statement.Principal?.[type];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(flat);
}

function allowsAction(statement: Json, action: string): boolean {
  const actions: string[] = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
  const [service] = action.split(':');
  return actions.some((a) => a === '*' || a === action || a === `${service}:*`);
}

function conditionKeys(statement: Json): string[] {
  return Object.values<any>(statement.Condition ?? {}).flatMap((op) => (op && typeof op === 'object' ? Object.keys(op) : []));
}

/** A resolved value as text: Fn::Join flattened, AWS::Partition as `aws`; other intrinsics as JSON. */
function flat(value: Json): string {
  if (typeof value === 'string') {
    return value;
  }
  if (value && typeof value === 'object') {
    if (value.Ref === 'AWS::Partition') {
      return 'aws';
    }
    if (Array.isArray(value['Fn::Join'])) {
      const [sep, parts] = value['Fn::Join'];
      return (parts as Json[]).map(flat).join(sep);
    }
  }
  return JSON.stringify(value);
}
