import { RoleTemplateInput } from './role-resource';
import { policySize } from '../../private/policy-size';
import { POD_IDENTITY_ACTIONS } from '../../private/trust-statements';

/**
 * The size of the role stacks' templates, planned before synthesis: CloudFormation refuses a
 * template over 1 MB, and a role stack holds hundreds of trust policies.
 */

/** The most bytes a stack's template may have (CloudFormation's 1 MB, read conservatively). */
export const MAX_TEMPLATE_BYTES = 1_000_000;

/**
 * The bytes of role resources (at their widest trust) a new role may join a role stack up to: the
 * rest is headroom for the roles' trust to grow later (a new cluster per role adds to it), since
 * a placed role never moves.
 */
export const ROLE_STACK_BYTE_BUDGET = 800_000;

/** What a template has besides its resources (the bootstrap version parameter and rule, the placeholder). */
export const TEMPLATE_OVERHEAD_BYTES = 1_500;

/**
 * The bytes a role adds to its stack's template as CDK writes it (`JSON.stringify(template,
 * undefined, 1)`, the resource two levels deep): the same objects rendered the same way, with a
 * logical ID of the role name and an 8-character hash. Within a few bytes of the written size,
 * never far below it (tested against synthesized templates).
 */
export function roleTemplateBytes(role: RoleTemplateInput): number {
  const policies: any[] = [];
  if (role.statements.length > 0) {
    // as CDK's PolicyDocument writes them: a one-element list of actions or resources as its element
    const single = (v: unknown) => (Array.isArray(v) && v.length === 1 ? v[0] : v);
    const statements = role.statements.map((st: any) => Object.fromEntries(Object.entries(st)
      .map(([k, v]) => [k, ['Action', 'NotAction', 'Resource', 'NotResource'].includes(k) ? single(v) : v])));
    policies.push({ PolicyDocument: { Statement: statements, Version: '2012-10-17' }, PolicyName: 'permissions' });
  }
  if (role.chainsTo.length > 0) {
    policies.push({
      PolicyDocument: {
        Statement: [{ Action: [...POD_IDENTITY_ACTIONS], Effect: 'Allow', Resource: role.chainsTo.length === 1 ? role.chainsTo[0] : role.chainsTo, Sid: 'ChainToTargetRole' }],
        Version: '2012-10-17',
      },
      PolicyName: 'chain',
    });
  }
  // under a one-letter key, the logical ID's length added after: an object keyed by each role's
  // own name would give V8 a hidden class per role (thousands), which slows and swells the rest of synthesis
  const logicalIdLength = role.roleName.replace(/[^A-Za-z0-9]/g, '').length + 8;
  const resource = {
    R: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: role.trust,
        Description: role.description,
        ManagedPolicyArns: role.managedPolicyArns.length > 0 ? role.managedPolicyArns : undefined,
        Path: role.path,
        Policies: policies.length > 0 ? policies : undefined,
        RoleName: role.roleName,
      },
      UpdateReplacePolicy: 'Retain',
      DeletionPolicy: 'Retain',
    },
  };
  const text = JSON.stringify(resource, undefined, 1);
  // one more space of indentation on every line but the braces dropped, and the separating ",\n"
  let lines = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    lines += 1;
  }
  return Buffer.byteLength(text) + logicalIdLength - 1 - 4 + lines + 2;
}

/**
 * The bytes a role may come to take in its stack: with `widestTrust` (every IRSA and Pod Identity
 * use trusted at once), but with that trust no longer than `trustMax` characters, since synthesis
 * refuses any phase whose trust is longer. `length` is the widest trust's length as IAM counts it,
 * when the caller has it.
 */
export function roleBoundBytes(role: Omit<RoleTemplateInput, 'trust'>, widestTrust: any, trustMax: number,
  length: number = policySize(widestTrust).length): number {
  const widest = roleTemplateBytes({ ...role, trust: widestTrust });
  if (length <= trustMax) {
    return widest;
  }
  const withoutTrust = roleTemplateBytes({ ...role, trust: {} });
  return withoutTrust + Math.ceil((widest - withoutTrust) * trustMax / length);
}
