import { Aspects, IAspect, Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as cdk8s from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { DualTrustRole } from './dual-trust-role';
import { PodIdentityAgentAddon } from './pod-identity-agent-addon';
import { PodIdentityCluster } from './pod-identity-cluster';
import { AssociationRegistry, dependOnAgent } from './private/associations';
import { cdk8s as lazyCdk8s } from './private/cdk8s';
import { checkClusterEnvironment } from './private/environment';
import { clusterLabel, constructError } from './private/errors';
import { hasPodIdentityTrust } from './private/phases';
import { checkServiceAccountRef } from './private/service-accounts';
import { tagScopedPoliciesOf } from './private/tag-scoped';
import { POD_IDENTITY_ACTIONS } from './private/trust-statements';

/**
 * Properties of a `PodIdentityBinding`.
 */
export interface PodIdentityBindingProps {
  /** The cluster. The binding belongs in a stack of the cluster's account and region. */
  readonly cluster: PodIdentityCluster;

  /**
   * The namespace of the service account (a DNS-1123 label).
   */
  readonly namespace: string;

  /**
   * The service account (a DNS-1123 subdomain).
   */
  readonly serviceAccount: string;

  /**
   * The role the pods get: it must trust `pods.eks.amazonaws.com` with `sts:AssumeRole` and
   * `sts:TagSession` (a `DualTrustRole` does, and is pinned to this service account automatically).
   */
  readonly role: iam.IRole;

  /**
   * A role (in any account) that EKS assumes with the credentials of `role`, handing the pods the
   * target role's credentials. `role` is granted `sts:AssumeRole` and `sts:TagSession` on it; the
   * target role must trust `role` (use `CrossAccountPodRole` to build both sides).
   *
   * @default - no role chaining
   * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-assign-target-role.html
   */
  readonly targetRole?: iam.IRole;

  /**
   * Whether EKS attaches the six session tags (`eks-cluster-arn`, `eks-cluster-name`,
   * `kubernetes-namespace`, `kubernetes-service-account`, `kubernetes-pod-name`,
   * `kubernetes-pod-uid`). With tags off, every `aws:PrincipalTag/...` and `aws:RequestTag/...`
   * condition stops matching.
   *
   * @default true
   * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html
   */
  readonly sessionTags?: boolean;

  /**
   * An inline session policy that further limits the pods' credentials. EKS requires session
   * tags off when a session policy is set, so this needs `sessionTags: false`.
   *
   * @default - no session policy
   */
  readonly sessionPolicy?: iam.PolicyDocument;

  /**
   * Tags on the association.
   *
   * @default - no tags
   */
  readonly tags?: { [key: string]: string };
}

/**
 * What to put in the ServiceAccount manifest a binding renders.
 */
export interface ServiceAccountManifestOptions {
  /**
   * Labels.
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };

  /**
   * Annotations. No annotation is needed for Pod Identity (the association is the binding).
   *
   * @default - none
   */
  readonly annotations?: { [key: string]: string };

  /**
   * `automountServiceAccountToken`; written only when given.
   *
   * @default - not written (Kubernetes mounts the token)
   */
  readonly automountServiceAccountToken?: boolean;
}

/**
 * One EKS Pod Identity association: `(cluster, namespace, serviceAccount) → role`, with every field
 * of the EKS API (target role, session tags on or off, inline session policy, tags).
 *
 * The association depends on the role (its trust must exist first, or pods created in between get
 * no credentials) and on the cluster's `PodIdentityAgentAddon` when the app has one. Two bindings
 * for the same `(cluster, namespace, serviceAccount)` anywhere in the app are an error.
 *
 * @resource AWS::EKS::PodIdentityAssociation
 * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-association.html
 */
export class PodIdentityBinding extends Construct {
  /** The cluster. */
  public readonly cluster: PodIdentityCluster;

  /** The namespace. */
  public readonly namespace: string;

  /** The service account. */
  public readonly serviceAccount: string;

  /** The role of the association. */
  public readonly role: iam.IRole;

  /**
   * The target role of the association.
   *
   * @default - none
   */
  public readonly targetRole?: iam.IRole;

  /** Whether EKS attaches session tags. */
  public readonly sessionTags: boolean;

  /** The `AWS::EKS::PodIdentityAssociation` resource. */
  public readonly resource: eks.CfnPodIdentityAssociation;

  /**
   * ARN of the association.
   *
   * @attribute
   */
  public get associationArn(): string {
    return this.resource.attrAssociationArn;
  }

  /**
   * ID of the association.
   *
   * @attribute
   */
  public get associationId(): string {
    return this.resource.attrAssociationId;
  }

  /**
   * The external ID EKS passes when it assumes the target role (only with a target role).
   *
   * @attribute
   */
  public get externalId(): string {
    return this.resource.attrExternalId;
  }

  constructor(scope: Construct, id: string, props: PodIdentityBindingProps) {
    super(scope, id);
    const kind = 'PodIdentityBinding';
    this.cluster = props.cluster;
    this.namespace = props.namespace;
    this.serviceAccount = props.serviceAccount;
    this.role = props.role;
    this.targetRole = props.targetRole;
    this.sessionTags = props.sessionTags ?? true;

    this.checkBinding(props, kind);

    AssociationRegistry.of(this).claim(this, kind, props);

    this.bindRole(props, kind);

    this.resource = new eks.CfnPodIdentityAssociation(this, 'Resource', {
      clusterName: props.cluster.clusterName,
      namespace: props.namespace,
      serviceAccount: props.serviceAccount,
      roleArn: props.role.roleArn,
      targetRoleArn: props.targetRole?.roleArn,
      disableSessionTags: this.sessionTags ? undefined : true,
      policy: props.sessionPolicy ? Stack.of(this).toJsonString(props.sessionPolicy) : undefined,
      tags: props.tags
        ? Object.entries(props.tags).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => ({ key: k, value: v }))
        : undefined,
    });
    // the attributes are tokens made on first use (three per association cost memory at fleet scale)

    this.orderAfterRoleAndAgent(props);
    this.node.addValidation({ validate: () => this.validateLater() });
  }

  /** The service account, a cluster that supports Pod Identity in this stack's env, a session policy only without session tags. */
  private checkBinding(props: PodIdentityBindingProps, kind: string): void {
    checkServiceAccountRef(this, kind, props);
    if (!props.cluster.supportsPodIdentity) {
      throw constructError(this, kind,
        `cluster ${clusterLabel(props.cluster)} is declared computeType ${props.cluster.computeType}, where EKS Pod Identity is not supported; keep IRSA for ${props.namespace}/${props.serviceAccount} on this cluster.`);
    }
    checkClusterEnvironment(this, kind, props.cluster, 'the binding');
    if (props.sessionPolicy && this.sessionTags) {
      throw constructError(this, kind,
        `\`sessionPolicy\` requires \`sessionTags: false\` (EKS rejects a session policy while session tags are on); got sessionTags: ${props.sessionTags === undefined ? 'true (the default)' : 'true'}.`);
    }
  }

  /** A DualTrustRole must trust pods.eks (pinned to this service account); a chain's role may assume its target. */
  private bindRole(props: PodIdentityBindingProps, kind: string): void {
    if (props.role instanceof DualTrustRole) {
      if (!hasPodIdentityTrust(props.role.phase)) {
        throw constructError(this, kind,
          `role '${props.role.node.path}' is at phase IRSA_ONLY and does not trust pods.eks.amazonaws.com, so pods would get no credentials once the association exists. Move the role to DUAL_TRUST (deploy that first), then add the binding.`);
      }
      if (!this.sessionTags && props.role.pinsSessionTags) {
        throw constructError(this, kind,
          `sessionTags: false, but role '${props.role.node.path}' pins its pods.eks trust with aws:RequestTag conditions, which never match without session tags, so every assume would be denied. Set pinServiceAccounts: false and pinClusters: false on the role (account-only pinning), or keep session tags on.`);
      }
      props.role.addServiceAccount(props);
    }

    if (props.targetRole) {
      props.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: [...POD_IDENTITY_ACTIONS],
        resources: [props.targetRole.roleArn],
      }));
    }
  }

  /** The association after its role (F4) and after the cluster's agent add-on. */
  private orderAfterRoleAndAgent(props: PodIdentityBindingProps): void {
    // F4: the role (its trust, and its policies) first, then the association. A RoleArn that is a
    // GetAtt of the role in this stack already orders the role itself; depend on the rest.
    const roleResource = props.role.node.defaultChild;
    const orderedByGetAtt = roleResource instanceof iam.CfnRole && Stack.of(roleResource) === Stack.of(this)
      && JSON.stringify(Stack.of(this).resolve(props.role.roleArn)) === JSON.stringify(Stack.of(this).resolve(roleResource.attrArn));
    if (orderedByGetAtt) {
      this.resource.node.addDependency(...props.role.node.children.filter((c) => c !== roleResource));
    } else {
      this.resource.node.addDependency(props.role);
    }
    // The association waits for the cluster's agent add-on. When the add-on is not defined yet, it
    // is looked up once the app is complete (an aspect, only then: one per binding costs at scale).
    const agent = PodIdentityAgentAddon.forCluster(this, props.cluster);
    if (agent) {
      dependOnAgent(this.resource, agent);
    } else {
      Aspects.of(this).add(new DependOnAgent(this));
    }
  }

  /**
   * Render the ServiceAccount of this binding into a cdk8s chart: name and namespace, with the
   * given labels and annotations. No annotation binds the role (F13); `automountServiceAccountToken`
   * is written only when given, never defaulted (cdk8s-plus-28 would default it to false).
   *
   * @param chart the cdk8s chart
   * @param options labels, annotations, automountServiceAccountToken
   */
  public renderServiceAccount(chart: cdk8s.Chart, options: ServiceAccountManifestOptions = {}): cdk8s.ApiObject {
    const extra: { [key: string]: any } = {};
    if (options.automountServiceAccountToken !== undefined) {
      extra.automountServiceAccountToken = options.automountServiceAccountToken;
    }
    const { ApiObject } = lazyCdk8s();
    return new ApiObject(chart, `${this.namespace}-${this.serviceAccount}`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: this.serviceAccount, namespace: this.namespace, labels: options.labels, annotations: options.annotations },
      ...extra,
    });
  }

  private validateLater(): string[] {
    const where = `PodIdentityBinding at '${this.node.path}'`;
    const errors: string[] = [];
    if (this.cluster.needsAgentAddon && !PodIdentityAgentAddon.forCluster(this, this.cluster)) {
      errors.push(`${where}: cluster ${clusterLabel(this.cluster)} has no Pod Identity agent: add a PodIdentityAgentAddon for it, or declare agentStatus PRE_INSTALLED if the agent is installed outside this app.`);
    }
    if (!this.sessionTags) {
      for (const policy of tagScopedPoliciesOf(this, this.role)) {
        errors.push(`${where}: sessionTags: false, but '${policy}' scopes the role's permissions with aws:PrincipalTag conditions, which never match without session tags. Keep session tags on, or give this service account a role without tag-scoped policies.`);
      }
    }
    return errors;
  }
}

/** Makes the association depend on the cluster's agent add-on, when the app has one by synthesis. */
class DependOnAgent implements IAspect {
  constructor(private readonly binding: PodIdentityBinding) {}

  public visit(node: IConstruct): void {
    if (node !== this.binding) {
      return;
    }
    const agent = PodIdentityAgentAddon.forCluster(node, this.binding.cluster);
    if (agent) {
      dependOnAgent(this.binding.resource, agent);
    }
  }
}
