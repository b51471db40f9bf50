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

/**
 * The `AWS::IAM::Role` of a role as CloudFormation has it (keys in the order the typed L1 writes
 * them): trust, inline permissions and chain (as `iam.PolicyDocument`s, rendered under the app's
 * feature flags), managed policies.
 */
export function roleProperties(role: RoleTemplateInput): { [key: string]: any } {
  const policies: { PolicyDocument: iam.PolicyDocument; PolicyName: string }[] = [];
  if (role.statements.length > 0) {
    policies.push({ PolicyDocument: iam.PolicyDocument.fromJson({ Version: '2012-10-17', Statement: role.statements }), PolicyName: 'permissions' });
  }
  if (role.chainsTo.length > 0) {
    policies.push({
      PolicyDocument: new iam.PolicyDocument({
        statements: [new iam.PolicyStatement({ sid: 'ChainToTargetRole', actions: [...POD_IDENTITY_ACTIONS], resources: role.chainsTo })],
      }),
      PolicyName: 'chain',
    });
  }
  return {
    AssumeRolePolicyDocument: role.trust,
    Description: role.description,
    ManagedPolicyArns: role.managedPolicyArns.length > 0 ? [...role.managedPolicyArns] : undefined,
    Path: role.path,
    Policies: policies.length > 0 ? policies : undefined,
    RoleName: role.roleName,
  };
}
