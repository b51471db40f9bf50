import { Annotations, CfnResource, IAspect, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { roleArnParts } from './private/arns';
import { POD_IDENTITY_PRINCIPAL } from './private/constants';
import { Synthesized, synthesized, synthesizedUnder } from './private/synthesized';
import { allowsAction, POD_IDENTITY_ACTIONS, statementsOf } from './private/trust-statements';

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
 * Resources are recognised by the CloudFormation they synthesize (`AWS::EKS::PodIdentityAssociation`,
 * the `PodIdentityAssociations` of an `AWS::EKS::Addon`, `AWS::IAM::Role` and the policy types),
 * whichever module's class made them: aws-eks, aws-eks-v2, aws-iam or a plain `CfnResource`.
 *
 * Each finding is an error annotation on the association that says how to fix it.
 *
 * @example
 * declare const app: App;
 * Aspects.of(app).add(new PodIdentityChecks());
 */
export class PodIdentityChecks implements IAspect {
  private readonly seen = new WeakMap<IConstruct, Map<string, string>>();
  private readonly iamIndex = new WeakMap<IConstruct, Synthesized[]>();

  public visit(node: IConstruct): void {
    const association = synthesized(node, 'AWS::EKS::PodIdentityAssociation');
    if (association) {
      const p = association.properties;
      this.checkAssociation(association.resource, {
        clusterName: p.ClusterName,
        namespace: p.Namespace,
        serviceAccount: p.ServiceAccount,
        roleArn: p.RoleArn,
        targetRoleArn: p.TargetRoleArn,
        disableSessionTags: p.DisableSessionTags,
        policy: p.Policy,
      });
    }
    // an add-on's service accounts get their associations through the add-on
    const addon = synthesized(node, 'AWS::EKS::Addon');
    for (const a of addon?.properties.PodIdentityAssociations ?? []) {
      const { AddonName: name, ClusterName: clusterName, NamespaceConfig: config } = addon!.properties;
      const namespace = config?.Namespace ?? ADDON_NAMESPACES[name] ?? `(namespace of add-on ${flat(name)})`;
      this.checkAssociation(addon!.resource, { clusterName, namespace, serviceAccount: a.ServiceAccount, roleArn: a.RoleArn });
    }
  }

  private checkAssociation(resource: CfnResource, association: AssociationProps): void {
    const what = `association ${flat(association.namespace)}/${flat(association.serviceAccount)} on cluster ${flat(association.clusterName)}`;
    const role = this.findRole(resource, association.roleArn);
    const errors = [
      ...this.duplicateErrors(resource, association, what),
      ...(association.policy !== undefined && association.disableSessionTags !== true
        ? [`${what} sets a session Policy without DisableSessionTags: true, which EKS rejects. Set DisableSessionTags: true (PodIdentityBinding: sessionTags: false), or drop the Policy.`]
        : []),
      ...(role ? this.roleErrors(association, role, what) : []),
      ...this.targetErrors(resource, association, role, what),
    ];
    for (const error of errors) {
      Annotations.of(resource).addError(`PodIdentityChecks: ${error}`);
    }
  }

  /** Another association of the same service account (standalone associations and add-ons' alike). */
  private duplicateErrors(resource: CfnResource, association: AssociationProps, what: string): string[] {
    const stack = Stack.of(resource);
    const key = JSON.stringify([stack.account, stack.region, association.clusterName, association.namespace, association.serviceAccount]);
    let seen = this.seen.get(resource.node.root);
    if (!seen) {
      seen = new Map();
      this.seen.set(resource.node.root, seen);
    }
    const first = seen.get(key);
    if (first !== undefined && first !== resource.node.path) {
      return [`${what} is also defined at '${first}': EKS allows one association per service account (the second fails with ResourceInUseException). Keep one.`];
    }
    seen.set(key, resource.node.path);
    return [];
  }

  /** The association role's trust: pods.eks with both actions; without session tags, nothing that needs them. */
  private roleErrors(association: AssociationProps, role: Synthesized, what: string): string[] {
    const errors: string[] = [];
    const path = role.resource.node.path;
    const podStatements = statementsOf(role.properties.AssumeRolePolicyDocument)
      .filter((s) => s.Effect === 'Allow' && principalValues(s, 'Service').includes(POD_IDENTITY_PRINCIPAL));
    const [assume, tag] = POD_IDENTITY_ACTIONS.map((action) => podStatements.some((s) => allowsAction(s, action)));
    if (!assume || !tag) {
      const missing = !assume && !tag ? 'sts:AssumeRole and sts:TagSession' : !tag ? 'sts:TagSession' : 'sts:AssumeRole';
      errors.push(`${what} uses role '${path}', whose trust does not allow ${POD_IDENTITY_PRINCIPAL} to ${missing}, so every assume is denied. Trust {"Service":"${POD_IDENTITY_PRINCIPAL}"} with ["sts:AssumeRole","sts:TagSession"] (DualTrustRole does).`);
    }
    if (association.disableSessionTags === true) {
      if (podStatements.some((s) => conditionKeys(s).some((k) => k.toLowerCase().startsWith('aws:requesttag/')))) {
        errors.push(`${what} sets DisableSessionTags: true, but the trust of role '${path}' pins aws:RequestTag conditions, which never match without session tags. Pin the trust to the account only, or keep session tags on.`);
      }
      for (const policy of this.tagScopedPoliciesOfRole(role)) {
        errors.push(`${what} sets DisableSessionTags: true, but '${policy}' on role '${path}' uses aws:PrincipalTag conditions, which never match without session tags. Keep session tags on, or use a role without tag-scoped policies.`);
      }
    }
    return errors;
  }

  /** A chain's target role (in the app) must admit the association role. */
  private targetErrors(resource: CfnResource, association: AssociationProps, role: Synthesized | undefined, what: string): string[] {
    if (association.targetRoleArn === undefined) {
      return [];
    }
    const target = this.findRole(resource, association.targetRoleArn);
    if (!target) {
      return [];
    }
    const associationAccount = role ? Stack.of(role.resource).account : undefined;
    const admits = statementsOf(target.properties.AssumeRolePolicyDocument).some((s) => s.Effect === 'Allow' && allowsAction(s, 'sts:AssumeRole')
      && admitsRole(s, flat(association.roleArn), associationAccount, role ? roleArnOf(role) : undefined));
    return admits ? [] : [`${what} chains to target role '${target.resource.node.path}', whose trust does not admit the association role${role ? ` '${role.resource.node.path}'` : ''}, so EKS cannot assume it. Allow sts:AssumeRole and sts:TagSession to the association role in the target trust (CrossAccountPodRole builds both sides).`];
  }

  /** The IAM resources of the app, as they synthesize (read once per app). */
  private iam(from: IConstruct): Synthesized[] {
    const root = from.node.root;
    let index = this.iamIndex.get(root);
    if (!index) {
      index = synthesizedUnder(root, 'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::RolePolicy');
      this.iamIndex.set(root, index);
    }
    return index;
  }

  /** The role in the app that an ARN (resolved in the association's stack) names, if any. */
  private findRole(from: CfnResource, arn: Json): Synthesized | undefined {
    const stack = Stack.of(from);
    const roles = this.iam(from).filter((r) => r.type === 'AWS::IAM::Role');
    if (arn && typeof arn === 'object' && Array.isArray(arn['Fn::GetAtt'])) {
      const [logicalId] = arn['Fn::GetAtt'];
      return roles.find((role) => Stack.of(role.resource) === stack && stack.getLogicalId(role.resource) === logicalId);
    }
    const named = roleArnParts(flat(arn));
    if (!named) {
      return undefined;
    }
    return roles.find((role) => role.properties.RoleName === named.name && Stack.of(role.resource).account === named.account);
  }

  /** The paths of policies attached to the role (inline, AWS::IAM::Policy, ManagedPolicy, RolePolicy) that read aws:PrincipalTag. */
  private tagScopedPoliciesOfRole(role: Synthesized): string[] {
    const stack = Stack.of(role.resource);
    const ref = JSON.stringify({ Ref: stack.getLogicalId(role.resource) });
    const name = role.properties.RoleName;
    const found: string[] = [];
    for (const policy of role.properties.Policies ?? []) {
      if (readsPrincipalTags(policy.PolicyDocument)) {
        found.push(`${role.resource.node.path} (inline ${policy.PolicyName})`);
      }
    }
    const managedRefs = ((role.properties.ManagedPolicyArns ?? []) as Json[]).map((a) => JSON.stringify(a));
    for (const c of this.iam(role.resource).filter((x) => x.type !== 'AWS::IAM::Role' && Stack.of(x.resource) === stack)) {
      const named = c.properties.RoleName !== undefined ? [c.properties.RoleName] : [];
      const roles = ((c.properties.Roles ?? named) as Json[]).map((x) => JSON.stringify(x));
      const attached = roles.includes(ref) || (name !== undefined && roles.includes(JSON.stringify(name)))
        || (c.type === 'AWS::IAM::ManagedPolicy' && managedRefs.includes(JSON.stringify({ Ref: stack.getLogicalId(c.resource) })));
      if (attached && readsPrincipalTags(c.properties.PolicyDocument)) {
        found.push(c.resource.node.path);
      }
    }
    return found;
  }
}

/** The association fields the checks read, as CloudFormation has them. */
interface AssociationProps {
  readonly clusterName: Json;
  readonly namespace: Json;
  readonly serviceAccount: Json;
  readonly roleArn: Json;
  readonly targetRoleArn?: Json;
  readonly disableSessionTags?: Json;
  readonly policy?: Json;
}

/** The namespaces EKS add-ons install their service accounts into, for the duplicate check. */
const ADDON_NAMESPACES: { [addon: string]: string } = {
  'vpc-cni': 'kube-system',
  'aws-ebs-csi-driver': 'kube-system',
  'aws-efs-csi-driver': 'kube-system',
  'aws-mountpoint-s3-csi-driver': 'kube-system',
  'amazon-cloudwatch-observability': 'amazon-cloudwatch',
};

/** The ARN of a role with a concrete name (its partition left out: ARNs compare without it). */
function roleArnOf(role: Synthesized): string | undefined {
  const stack = Stack.of(role.resource);
  const name = role.properties.RoleName;
  return typeof name === 'string' ? `arn::iam::${stack.account}:role/${name}` : undefined;
}

/** Whether a trust statement admits the association role: by ARN, or by its account with a matching (or no) aws:PrincipalArn pin. */
function admitsRole(statement: Json, associationArn: string, account: string | undefined, namedArn: string | undefined): boolean {
  // an account id belongs to one partition: ARNs compare without theirs (a stack's partition may be a token)
  const arns = [associationArn, namedArn].filter((a): a is string => a !== undefined).map(withoutPartition);
  const principals = principalValues(statement, 'AWS');
  const byArn = principals.some((p) => arns.includes(withoutPartition(p)));
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
  return pins.length === 0 || pins.some((p) => arns.includes(withoutPartition(p)));
}

function withoutPartition(arn: string): string {
  return arn.replace(/^arn:[^:]+:/, 'arn::');
}

function readsPrincipalTags(document: Json): boolean {
  return statementsOf(document).some((s) => s.Effect === 'Allow' && (conditionKeys(s).some((k) => k.toLowerCase().startsWith('aws:principaltag/'))
    || JSON.stringify(s.Resource ?? '').includes('aws:PrincipalTag/')));
}

function principalValues(statement: Json, type: string): string[] {
  const value = statement.Principal?.[type];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(flat);
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
