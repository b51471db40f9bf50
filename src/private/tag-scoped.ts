import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { appRegistry } from './app-registry';

const REGISTRY = 'cdk-eks-pod-identity.tagScopedPolicies';

/** Records that the policy at `policyPath` scopes `role` with aws:PrincipalTag conditions. */
export function registerTagScopedPolicy(scope: IConstruct, role: iam.IRole, policyPath: string): void {
  const registry = appRegistry<string[]>(scope, REGISTRY);
  const key = role.node.path;
  registry.set(key, [...(registry.get(key) ?? []), policyPath]);
}

/** The paths of the tag-scoped policies attached to `role` in the app of `scope`. */
export function tagScopedPoliciesOf(scope: IConstruct, role: iam.IRole): string[] {
  return [...(appRegistry<string[]>(scope, REGISTRY).get(role.node.path) ?? [])];
}
