import * as iam from 'aws-cdk-lib/aws-iam';
import { PlannedRole } from './design';
import { POD_IDENTITY_ACTIONS } from '../../private/trust-statements';

/** A role as it is written into its stack. */
export interface RoleTemplateInput {
  readonly roleName: string;
  readonly path?: string;
  readonly description?: string;
  readonly trust: any;
  readonly statements: any[];
  readonly managedPolicyArns: string[];
  readonly chainsTo: string[];
}

/** A planned role, with `trust`. */
export function roleInput(role: PlannedRole, trust: any): RoleTemplateInput {
  return {
    roleName: role.parsed.roleName,
    path: role.parsed.path,
    description: role.description,
    trust,
    statements: role.statements,
    managedPolicyArns: role.managedPolicyArns,
    chainsTo: role.chainsTo,
  };
}

/** The `AWS::IAM::Role` of a role: trust, inline permissions and chain, managed policies. */
export function roleProps(role: RoleTemplateInput): iam.CfnRoleProps {
  return {
    roleName: role.roleName,
    path: role.path,
    description: role.description,
    assumeRolePolicyDocument: role.trust,
    policies: inlinePolicies(role),
    managedPolicyArns: role.managedPolicyArns.length > 0 ? [...role.managedPolicyArns] : undefined,
  };
}

/** The inline policies of a role: the plan's permissions and the chain to its targets. */
function inlinePolicies(role: RoleTemplateInput): iam.CfnRole.PolicyProperty[] | undefined {
  const policies: iam.CfnRole.PolicyProperty[] = [];
  if (role.statements.length > 0) {
    policies.push({ policyName: 'permissions', policyDocument: iam.PolicyDocument.fromJson({ Version: '2012-10-17', Statement: role.statements }) });
  }
  if (role.chainsTo.length > 0) {
    policies.push({
      policyName: 'chain',
      policyDocument: new iam.PolicyDocument({
        statements: [new iam.PolicyStatement({ sid: 'ChainToTargetRole', actions: [...POD_IDENTITY_ACTIONS], resources: role.chainsTo })],
      }),
    });
  }
  return policies.length > 0 ? policies : undefined;
}
