import { CfnDeletionPolicy, CfnElement, CfnResource, RemovalPolicy, Stack, TagManager, TagType, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { PlannedAddon, PlannedAssignment, PlannedRole } from './design';
import { roleInput, roleProperties, RoleTemplateInput } from './role-resource';
import { ADDON_ID, DesignedProvider, ImportEntry, PROVIDER_ID } from './stack-graph';
import { AssociationRegistry } from '../../private/associations';
import { hasAssociation, hasIrsaAnnotation } from '../../private/phases';

/*
 * The resources of the migration's design, one function per kind: each makes what the design says,
 * in the stack it names, and decides nothing. Associations, add-ons, phase records and OIDC
 * providers are plain CfnResources with the properties as CloudFormation has them (the cheapest way
 * CDK writes a template: no typed props to validate and convert, for tens of thousands of
 * resources), taggable like their typed L1s, rendering the same template the typed L1 would
 * (test/migration/plain-resources.test.ts). Roles stay typed `CfnRole`s: cdk-nag and other aspects
 * that check IAM recognise roles by their class.
 */

/**
 * A resource as CloudFormation has it: its properties in the typed L1's order (alphabetical), and,
 * where the typed L1 is taggable, a tag manager of the same kind, so that `Tags.of()` reaches it and
 * its `Tags` render as the typed L1 renders them.
 */
export class PlainResource extends CfnResource {
  /** Made on first use (by `Tags.of()` or to render initial tags): tens of thousands of idle tag managers cost megabytes. */
  private tagManager?: TagManager;

  constructor(scope: Construct, id: string, type: string, private readonly properties: { [key: string]: any },
    private readonly tagSpec?: { type: TagType; initial?: { key: string; value: string }[] }) {
    super(scope, id, { type });
  }

  /** The tag manager, as the typed L1 has it (`TagManager.isTaggableV2` reads this): undefined where the typed L1 is not taggable. */
  public get cdkTagManager(): TagManager | undefined {
    if (this.tagManager === undefined && this.tagSpec !== undefined) {
      this.tagManager = new TagManager(this.tagSpec.type, this.cfnResourceType, this.tagSpec.initial, { tagPropertyName: 'Tags' });
    }
    return this.tagManager;
  }

  protected get cfnProperties(): { [key: string]: any } {
    const props: { [key: string]: any } = { ...this.properties };
    // no manager yet and no initial tags: nothing to render, and none is made for it
    const manager = this.tagManager ?? (this.tagSpec?.initial?.length ? this.cdkTagManager : undefined);
    const tags = manager?.renderTags();
    if (tags !== undefined) {
      props.Tags = Array.isArray(tags) ? tags.map((t: { key: string; value: string }) => ({ Key: t.key, Value: t.value })) : tags;
    }
    const sorted: { [key: string]: any } = {};
    Object.keys(props).sort().filter((k) => props[k] !== undefined).forEach((k) => sorted[k] = props[k]);
    return sorted;
  }
}

/** Policy documents rendered once per stack and text (a fleet's roles share permissions). */
const RENDERED = new WeakMap<Stack, Map<string, any>>();

/**
 * A policy document as the stack renders it (under the app's feature flags), rendered once: as
 * JSON, CDK resolves it once at synthesis instead of three times (references, template, tree).
 * A document that holds a token stays a document, so that its references are made at synthesis.
 */
function rendered(stack: Stack, document: iam.PolicyDocument): any {
  const json = JSON.stringify(document.toJSON());
  if (Token.isUnresolved(json)) {
    return document;
  }
  const cache = RENDERED.get(stack) ?? RENDERED.set(stack, new Map()).get(stack)!;
  return cache.get(json) ?? cache.set(json, stack.resolve(document)).get(json);
}

/** The typed props of a CfnRole that MigrationRole writes itself. */
const ROLE_PROPS = new Set(['assumeRolePolicyDocument', 'description', 'managedPolicyArns', 'maxSessionDuration', 'path', 'permissionsBoundary', 'policies', 'roleName', 'tags']);

/**
 * A CfnRole (cdk-nag and other aspects recognise roles by their class and read or set its typed
 * props) that writes its CloudFormation properties without the typed L1's conversion and
 * validation of every document at synthesis, for thousands of roles. It renders from the typed
 * props as they are at synthesis, so a change an aspect makes to them is written; a value it does
 * not know the shape of (a token where a list is expected) goes through the typed L1's own rendering.
 */
class MigrationRole extends iam.CfnRole {
  protected renderProperties(p: { [key: string]: any }): { [key: string]: any } {
    const plainList = (v: unknown) => v === undefined || (Array.isArray(v) && !Token.isUnresolved(v) && v.every((x) => x !== null && typeof x === 'object' && !Token.isUnresolved(x)));
    if (Object.keys(p).some((k) => !ROLE_PROPS.has(k)) || !plainList(p.policies) || !plainList(p.tags)) {
      return super.renderProperties(p);
    }
    const out: { [key: string]: any } = {
      AssumeRolePolicyDocument: p.assumeRolePolicyDocument,
      Description: p.description,
      ManagedPolicyArns: p.managedPolicyArns,
      MaxSessionDuration: p.maxSessionDuration,
      Path: p.path,
      PermissionsBoundary: p.permissionsBoundary,
      Policies: p.policies?.map((x: any) => ({ PolicyDocument: x.policyDocument, PolicyName: x.policyName })),
      RoleName: p.roleName,
      Tags: p.tags?.map((t: any) => ({ Key: t.key, Value: t.value })),
    };
    Object.keys(out).filter((k) => out[k] === undefined).forEach((k) => delete out[k]);
    return out;
  }
}

/**
 * The `AWS::IAM::Role` of a role, as the typed L1 (cdk-nag and other aspects recognise roles by
 * their class): trust, inline permissions and chain (rendered once), managed policies.
 */
export function roleL1(scope: Construct, input: RoleTemplateInput): iam.CfnRole {
  const p = roleProperties(input);
  return new MigrationRole(scope, 'Resource', {
    assumeRolePolicyDocument: p.AssumeRolePolicyDocument,
    description: p.Description,
    managedPolicyArns: p.ManagedPolicyArns,
    path: p.Path,
    policies: p.Policies?.map((x: any) => ({ policyDocument: rendered(Stack.of(scope), x.PolicyDocument), policyName: x.PolicyName })),
    roleName: p.RoleName,
  });
}

/** A role of the migration, retained. */
export function roleResource(stack: Stack, role: PlannedRole): iam.CfnRole {
  const resource = roleL1(new Construct(stack, role.parsed.roleName), roleInput(role, role.trust));
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
export function associationResource(stack: Stack, p: PlannedAssignment, registry: AssociationRegistry): CfnResource {
  const scope = (stack.node.tryFindChild(p.sa.namespace) as Construct | undefined) ?? new Construct(stack, p.sa.namespace);
  const owner = new Construct(scope, p.sa.serviceAccount);
  registry.claim(owner, 'PodIdentityMigration', { cluster: p.cluster, namespace: p.sa.namespace, serviceAccount: p.sa.serviceAccount });
  return new PlainResource(owner, 'Resource', 'AWS::EKS::PodIdentityAssociation', {
    ClusterName: p.cluster.clusterName,
    Namespace: p.sa.namespace,
    RoleArn: p.associationRoleArn,
    ServiceAccount: p.sa.serviceAccount,
    TargetRoleArn: p.targetRoleArn,
  }, { type: TagType.STANDARD });
}

/**
 * A managed add-on as one `AWS::EKS::Addon`, adopted and retained: the same version,
 * configuration and tags as recorded; the role as `ServiceAccountRoleArn` while the phase keeps the
 * annotation; a Pod Identity association per service account from POD_IDENTITY on.
 */
export function addonResource(stack: Stack, planned: PlannedAddon, registry: AssociationRegistry): CfnResource {
  const { addon, cluster, phase } = planned;
  const resource = new PlainResource(stack, ADDON_ID, 'AWS::EKS::Addon', {
    AddonName: addon.addonName,
    AddonVersion: addon.addonVersion,
    ClusterName: cluster.clusterName,
    ConfigurationValues: addon.configurationValues,
    // explicit when empty, so that stepping back clears them
    PodIdentityAssociations: hasAssociation(phase!)
      ? planned.serviceAccounts.map((sa) => ({ RoleArn: planned.roleArn, ServiceAccount: sa.serviceAccount }))
      : [],
    ResolveConflicts: 'PRESERVE',
    ServiceAccountRoleArn: hasIrsaAnnotation(phase!) ? planned.roleArn : undefined,
  }, { type: TagType.STANDARD, initial: addon.tags ? Object.keys(addon.tags).sort().map((key) => ({ key, value: addon.tags![key] })) : undefined });
  // deleting an add-on such as vpc-cni takes the cluster's networking with it: never
  resource.applyRemovalPolicy(RemovalPolicy.RETAIN);
  if (hasAssociation(phase!)) {
    planned.serviceAccounts.forEach((sa) => registry.claim(resource, 'PodIdentityMigration', { cluster, namespace: sa.namespace, serviceAccount: sa.serviceAccount }));
  }
  return resource;
}

/** An OIDC provider at its recorded step (only where present): retained while ADOPTED, deletion armed while RETIRING. */
export function oidcProviderResource(stack: Stack, provider: DesignedProvider): CfnResource {
  const resource = new PlainResource(stack, PROVIDER_ID, 'AWS::IAM::OIDCProvider', {
    ClientIdList: ['sts.amazonaws.com'],
    Url: `https://${provider.issuer}`,
  }, { type: TagType.STANDARD });
  resource.cfnOptions.deletionPolicy = provider.deletionPolicy === 'Retain' ? CfnDeletionPolicy.RETAIN : CfnDeletionPolicy.DELETE;
  resource.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
  // a change of DeletionPolicy alone is not applied: the step in the metadata changes with it
  resource.cfnOptions.metadata = { 'cdk-eks-pod-identity:oidcProviderStep': provider.entry.step };
  return resource;
}

/** A wave's phase record in an environment: an SSM parameter its stack writes after the wave's roles and associations. */
export function recordResource(stack: Stack, prefix: string, wave: string, phase: string): CfnResource {
  return new PlainResource(stack, 'Phase', 'AWS::SSM::Parameter', {
    Description: `Phase of migration wave ${wave}, written after its roles and associations deployed`,
    Name: `/cdk-eks-pod-identity/${prefix}/${wave}/phase`,
    Type: 'String',
    Value: phase,
  }, { type: TagType.MAP });
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
    const mapping = mappings.get(entry.stack) ?? mappings.set(entry.stack, {}).get(entry.stack)!;
    mapping[stack.getLogicalId(resource)] = entry.identifier;
  }
  return [...mappings].map(([stackName, mapping]) => ({ stackName, mapping }));
}
