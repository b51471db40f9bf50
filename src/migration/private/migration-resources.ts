import { CfnDeletionPolicy, CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { PlannedAddon, PlannedPlacement, PlannedRole } from './design';
import { roleInput, roleProps } from './role-resource';
import { ADDON_ID, DesignedProvider, ImportEntry, PROVIDER_ID } from './stack-graph';
import { AssociationRegistry } from '../../private/associations';
import { hasAssociation, hasIrsaAnnotation } from '../../private/phases';

/*
 * The L1 resources of the migration's design, one function per kind: each makes what the design
 * says, in the stack it names, and decides nothing.
 */

/** A role as one `AWS::IAM::Role` (trust, inline permissions and chain, managed policies), retained. */
export function roleResource(stack: Stack, role: PlannedRole): iam.CfnRole {
  const resource = new iam.CfnRole(new Construct(stack, role.parsed.roleName), 'Resource', roleProps(roleInput(role, role.trust)));
  // IAM replacement or deletion breaks running pods; adopted roles outlive the app
  resource.applyRemovalPolicy(RemovalPolicy.RETAIN);
  return resource;
}

/**
 * A service account's association: what a PodIdentityBinding with its defaults synthesizes
 * (session tags on, no session policy, no tags), at the same path: its checks are the plan's (the
 * inventory's names, one entry per service account, the compute type), and the roles are literal
 * ARNs that create nothing here.
 */
export function associationResource(stack: Stack, p: PlannedPlacement, registry: AssociationRegistry): eks.CfnPodIdentityAssociation {
  const scope = (stack.node.tryFindChild(p.sa.namespace) as Construct | undefined) ?? new Construct(stack, p.sa.namespace);
  const owner = new Construct(scope, p.sa.serviceAccount);
  registry.claim(owner, 'PodIdentityMigration', { cluster: p.cluster, namespace: p.sa.namespace, serviceAccount: p.sa.serviceAccount });
  return new eks.CfnPodIdentityAssociation(owner, 'Resource', {
    clusterName: p.cluster.clusterName,
    namespace: p.sa.namespace,
    serviceAccount: p.sa.serviceAccount,
    roleArn: p.associationRoleArn,
    targetRoleArn: p.targetRoleArn,
  });
}

/**
 * A managed add-on as one `AWS::EKS::Addon`, adopted and retained: the same version,
 * configuration and tags as recorded; the role as `ServiceAccountRoleArn` while the phase keeps the
 * annotation; a Pod Identity association per service account from POD_IDENTITY on.
 */
export function addonResource(stack: Stack, planned: PlannedAddon, registry: AssociationRegistry): eks.CfnAddon {
  const { addon, cluster, phase } = planned;
  const resource = new eks.CfnAddon(stack, ADDON_ID, {
    clusterName: cluster.clusterName,
    addonName: addon.addonName,
    addonVersion: addon.addonVersion,
    configurationValues: addon.configurationValues,
    resolveConflicts: 'PRESERVE',
    serviceAccountRoleArn: hasIrsaAnnotation(phase!) ? planned.roleArn : undefined,
    // explicit when empty, so that stepping back clears them
    podIdentityAssociations: hasAssociation(phase!)
      ? planned.serviceAccounts.map((sa) => ({ serviceAccount: sa.serviceAccount, roleArn: planned.roleArn }))
      : [],
    tags: addon.tags ? Object.keys(addon.tags).sort().map((key) => ({ key, value: addon.tags![key] })) : undefined,
  });
  // deleting an add-on such as vpc-cni takes the cluster's networking with it: never
  resource.applyRemovalPolicy(RemovalPolicy.RETAIN);
  if (hasAssociation(phase!)) {
    planned.serviceAccounts.forEach((sa) => registry.claim(resource, 'PodIdentityMigration', { cluster, namespace: sa.namespace, serviceAccount: sa.serviceAccount }));
  }
  return resource;
}

/** An OIDC provider at its recorded step (only where present): retained while ADOPTED, deletion armed while RETIRING. */
export function oidcProviderResource(stack: Stack, provider: DesignedProvider): iam.CfnOIDCProvider {
  const resource = new iam.CfnOIDCProvider(stack, PROVIDER_ID, {
    url: `https://${provider.issuer}`,
    clientIdList: ['sts.amazonaws.com'],
  });
  resource.cfnOptions.deletionPolicy = provider.deletionPolicy === 'Retain' ? CfnDeletionPolicy.RETAIN : CfnDeletionPolicy.DELETE;
  resource.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
  // a change of DeletionPolicy alone is not applied: the step in the metadata changes with it
  resource.cfnOptions.metadata = { 'cdk-eks-pod-identity:oidcProviderStep': provider.entry.step };
  return resource;
}

/** A wave's phase record in an environment: an SSM parameter its stack writes after the wave's roles and associations. */
export function recordResource(stack: Stack, prefix: string, wave: string, phase: string): ssm.CfnParameter {
  return new ssm.CfnParameter(stack, 'Phase', {
    name: `/cdk-eks-pod-identity/${prefix}/${wave}/phase`,
    type: 'String',
    value: phase,
    description: `Phase of migration wave ${wave}, written after its roles and associations deployed`,
  });
}

/** A stack's `cdk import` mapping. */
export interface ImportMapping {
  readonly stackName: string;
  readonly mapping: { [logicalId: string]: { [property: string]: string } };
}

/** The `cdk import` mapping of each stack with resources to import: logical ID -> the resource's identifier. */
export function importMappings(stacks: Map<string, Stack>, entries: ImportEntry[]): ImportMapping[] {
  const mappings = new Map<string, { [logicalId: string]: { [property: string]: string } }>();
  for (const entry of entries) {
    const stack = stacks.get(entry.stack)!;
    const resource = entry.construct.reduce<IConstruct>((scope, id) => scope.node.findChild(id), stack) as CfnElement;
    mappings.set(entry.stack, { ...mappings.get(entry.stack), [stack.getLogicalId(resource)]: entry.identifier });
  }
  return [...mappings].map(([stackName, mapping]) => ({ stackName, mapping }));
}
