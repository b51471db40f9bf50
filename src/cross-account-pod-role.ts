import { Annotations, Names, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DualTrustRole } from './dual-trust-role';
import { MigrationPhase } from './migration-phase';
import { PodIdentityBinding } from './pod-identity-binding';
import { PodIdentityCluster } from './pod-identity-cluster';
import { SESSION_TAGS } from './private/constants';
import { clusterLabel, constructError } from './private/errors';
import { parseClusterArn } from './private/names';
import { hasAssociation, hasIrsaTrust } from './private/phases';
import { checkServiceAccountRef, irsaSubject } from './private/service-accounts';
import { checkMaxLength, checkTrustLength, IrsaStatements } from './private/trust';
import { POD_IDENTITY_ACTIONS } from './private/trust-statements';
import { ServiceAccountRef } from './service-account-ref';

/**
 * Properties of a `CrossAccountPodRole`.
 */
export interface CrossAccountPodRoleProps {
  /** The cluster. The construct belongs in a stack of the cluster's account and region. */
  readonly cluster: PodIdentityCluster;

  /** The namespace of the service account. */
  readonly namespace: string;

  /** The service account. */
  readonly serviceAccount: string;

  /**
   * The stack, in the target account, that holds the target role. Its account and region must be
   * set (`env`).
   *
   * @default - none: `existingTargetRole` must be given
   */
  readonly targetStack?: Stack;

  /**
   * A target role that exists outside this app (e.g. `iam.Role.fromRoleArn(...)`). No target role
   * is created; a warning states the trust statement its owner must add.
   *
   * @default - a target role is created in `targetStack`
   */
  readonly existingTargetRole?: iam.IRole;

  /**
   * Whether EKS attaches session tags. With tags on, the target trust pins the cluster, namespace
   * and service account with `aws:RequestTag`; with tags off, it pins `sts:ExternalId` =
   * `<region>/<account>/<cluster>/<namespace>/<serviceAccount>`.
   *
   * @default true
   */
  readonly sessionTags?: boolean;

  /**
   * An inline session policy for the association (needs `sessionTags: false`).
   *
   * @default - none
   */
  readonly sessionPolicy?: iam.PolicyDocument;

  /**
   * Name of the association role (in the cluster's account).
   *
   * @default - a name derived from the construct path, stable across deployments
   */
  readonly associationRoleName?: string;

  /**
   * Name of the target role (in the target account).
   *
   * @default - `<association role default name>-target`, stable across deployments
   */
  readonly targetRoleName?: string;

  /**
   * Managed policies of the target role.
   *
   * @default - none
   */
  readonly targetManagedPolicies?: iam.IManagedPolicy[];

  /**
   * Inline policies of the target role, by name.
   *
   * @default - none
   */
  readonly targetInlinePolicies?: { [name: string]: iam.PolicyDocument };

  /**
   * Tags on the association.
   *
   * @default - none
   */
  readonly tags?: { [key: string]: string };

  /**
   * The migration phase of the chain. The association exists from `POD_IDENTITY` on; the target
   * role keeps its `targetIrsaTrusts` until `POD_IDENTITY_ONLY`. The association role and the
   * target trust of the association role exist in every phase (creating them changes no pod).
   *
   * @default MigrationPhase.POD_IDENTITY_ONLY
   */
  readonly phase?: MigrationPhase;

  /**
   * Service accounts whose pods assume the target role directly through IRSA today (the target
   * role is then "dual" while they do). Each cluster's OIDC provider must be registered in the
   * target account: the statements name `arn:<partition>:iam::<target account>:oidc-provider/<issuer>`.
   *
   * @default - none
   */
  readonly targetIrsaTrusts?: ServiceAccountRef[];

  /**
   * Include `<issuer>:aud` in the target role's IRSA statements.
   *
   * @default true
   */
  readonly targetIrsaAudienceCondition?: boolean;

  /**
   * The longest trust policy the target role may have (the target account's quota).
   *
   * @default 2048
   */
  readonly targetTrustPolicyMaxLength?: number;
}

/**
 * Both sides of a cross-account Pod Identity chain: the association role in the cluster's account
 * (trusting pods.eks, allowed only `sts:AssumeRole` and `sts:TagSession` on the target), the target
 * role in the target account's stack (trusting exactly the association role), and the binding
 * with `targetRoleArn`. Neither side can be forgotten.
 *
 * @see https://docs.aws.amazon.com/eks/latest/userguide/pod-id-assign-target-role.html
 */
export class CrossAccountPodRole extends Construct {
  /** The association role, in the cluster's account. */
  public readonly associationRole: DualTrustRole;

  /** The target role: created in `targetStack`, or the existing one. */
  public readonly targetRole: iam.IRole;

  /**
   * The binding.
   *
   * @default - none before `MigrationPhase.POD_IDENTITY`
   */
  public readonly binding?: PodIdentityBinding;

  /** The migration phase of the chain. */
  public readonly phase: MigrationPhase;

  /**
   * The external ID the target trust pins when session tags are off:
   * `<region>/<account>/<cluster>/<namespace>/<serviceAccount>`.
   *
   * @default - none with session tags on
   */
  public readonly externalId?: string;

  constructor(scope: Construct, id: string, props: CrossAccountPodRoleProps) {
    super(scope, id);
    const kind = 'CrossAccountPodRole';
    checkServiceAccountRef(this, kind, props);
    const sessionTags = props.sessionTags ?? true;
    this.phase = props.phase ?? MigrationPhase.POD_IDENTITY_ONLY;
    if ((props.targetStack === undefined) === (props.existingTargetRole === undefined)) {
      throw constructError(this, kind, 'give exactly one of targetStack (a target role is created there) and existingTargetRole (a role managed elsewhere).');
    }

    const { account, region, partition } = this.clusterEnv(props);
    if (!sessionTags) {
      this.externalId = this.externalIdOf(props, region, account);
    }

    const associationRoleName = props.associationRoleName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    this.associationRole = new DualTrustRole(this, 'AssociationRole', {
      phase: MigrationPhase.POD_IDENTITY_ONLY,
      roleName: associationRoleName,
      description: `EKS Pod Identity association role for ${props.namespace}/${props.serviceAccount} on ${props.cluster.clusterName}; chains to a target role`,
      // request-tag pins cannot match with session tags off: pin to the account then
      pinServiceAccounts: sessionTags,
      serviceAccounts: sessionTags ? [{ cluster: props.cluster, namespace: props.namespace, serviceAccount: props.serviceAccount }] : undefined,
    });

    const conditions = targetConditions(`arn:${partition}:iam::${account}:role/${associationRoleName}`, props, this.externalId);
    this.targetRole = props.existingTargetRole ? this.existingTarget(props.existingTargetRole, props, partition, account, conditions)
      : this.createdTarget(props.targetStack!, props, account, conditions);

    if (!hasAssociation(this.phase)) {
      return;
    }
    this.binding = new PodIdentityBinding(this, 'Binding', {
      cluster: props.cluster,
      namespace: props.namespace,
      serviceAccount: props.serviceAccount,
      role: this.associationRole,
      targetRole: this.targetRole,
      sessionTags,
      sessionPolicy: props.sessionPolicy,
      tags: props.tags,
    });
  }

  /** The cluster's account (required: the target trust names it), region and partition (the stack's where the cluster ARN is a token). */
  private clusterEnv(props: CrossAccountPodRoleProps): { account: string; region?: string; partition: string } {
    const clusterStack = Stack.of(this);
    const account = props.cluster.account ?? (Token.isUnresolved(clusterStack.account) ? undefined : clusterStack.account);
    const region = props.cluster.region ?? (Token.isUnresolved(clusterStack.region) ? undefined : clusterStack.region);
    const fromArn = Token.isUnresolved(props.cluster.clusterArn) ? undefined : parseClusterArn(props.cluster.clusterArn)?.partition;
    if (account === undefined) {
      throw constructError(this, 'CrossAccountPodRole', 'the cluster\'s account is unknown: give the cluster stack an env with an account, or reference the cluster with its clusterArn. The target trust names the cluster\'s account.');
    }
    return { account, region, partition: fromArn ?? clusterStack.partition };
  }

  /** With session tags off: `<region>/<account>/<cluster>/<namespace>/<serviceAccount>`, every part known at synthesis. */
  private externalIdOf(props: CrossAccountPodRoleProps, region: string | undefined, account: string): string {
    const parts: [string, string | undefined][] = [
      ['region', region], ['account', account], ['clusterName', props.cluster.clusterName],
      ['namespace', props.namespace], ['serviceAccount', props.serviceAccount],
    ];
    const unresolved = parts.filter(([, v]) => v === undefined || Token.isUnresolved(v)).map(([k]) => k);
    if (unresolved.length > 0) {
      throw constructError(this, 'CrossAccountPodRole', `with sessionTags: false the target trust pins sts:ExternalId = <region>/<account>/<cluster>/<namespace>/<serviceAccount>, computed at synth, but ${unresolved.join(', ')} ${unresolved.length === 1 ? 'is' : 'are'} not known until deploy. Use concrete values (a stack env, the cluster's name and ARN).`);
    }
    return parts.map(([, v]) => v).join('/');
  }

  /** A target role managed elsewhere: the statement its owner must add, as a warning. */
  private existingTarget(target: iam.IRole, props: CrossAccountPodRoleProps, partition: string, account: string, conditions: object): iam.IRole {
    const statement = {
      Effect: 'Allow',
      Principal: { AWS: `arn:${partition}:iam::${account}:root` },
      Action: [...POD_IDENTITY_ACTIONS],
      Condition: conditions,
    };
    Annotations.of(this).addWarningV2('cdk-eks-pod-identity:existingTargetRoleTrust',
      `the target role ${target.roleArn} is managed outside this app: its owner must add this statement to its trust policy, or every assume from ${props.namespace}/${props.serviceAccount} is denied: ${JSON.stringify(statement)}`);
    return target;
  }

  /** The target role, created in the target stack (which needs a concrete env): trusted by the association role only. */
  private createdTarget(targetStack: Stack, props: CrossAccountPodRoleProps, account: string, conditions: TrustConditions): iam.IRole {
    if (Token.isUnresolved(targetStack.account) || Token.isUnresolved(targetStack.region)) {
      throw constructError(this, 'CrossAccountPodRole', `targetStack '${targetStack.node.path}' has no concrete env; give it env: { account, region } (the role name and ARN are shared across accounts).`);
    }
    const group = new Construct(targetStack, `${Names.uniqueId(this)}Target`);
    const role = new iam.Role(group, 'TargetRole', {
      roleName: props.targetRoleName ?? `${Names.uniqueResourceName(this, { maxLength: 57, separator: '-' })}-target`,
      description: `Target role chained by EKS Pod Identity for ${props.namespace}/${props.serviceAccount} on ${props.cluster.clusterName}`,
      // one statement: sts:AssumeRole and sts:TagSession, from the association role only
      assumedBy: new iam.AccountPrincipal(account).withConditions(conditions).withSessionTags(),
      managedPolicies: props.targetManagedPolicies,
      inlinePolicies: props.targetInlinePolicies,
    });
    this.addTargetIrsaTrusts(role, targetStack, props);
    return role;
  }

  private addTargetIrsaTrusts(role: iam.Role, targetStack: Stack, props: CrossAccountPodRoleProps): void {
    const trusts = props.targetIrsaTrusts ?? [];
    const max = props.targetTrustPolicyMaxLength ?? 2048;
    checkMaxLength(max, (message) => constructError(this, 'CrossAccountPodRole', `target ${message}`));
    const irsa = new IrsaStatements(role, role.assumeRolePolicy!, props.targetIrsaAudienceCondition ?? true);
    for (const trust of trusts) {
      checkServiceAccountRef(this, 'CrossAccountPodRole', trust);
      const issuer = trust.cluster.oidcIssuer;
      if (issuer === undefined || Token.isUnresolved(issuer)) {
        throw constructError(this, 'CrossAccountPodRole',
          `targetIrsaTrusts: cluster ${clusterLabel(trust.cluster)} needs a concrete oidcIssuer: the target trust names its OIDC provider in the target account (arn:<partition>:iam::${Token.isUnresolved(targetStack.account) ? '<target account>' : targetStack.account}:oidc-provider/<issuer>).`);
      }
      if (hasIrsaTrust(this.phase)) {
        const partition = parseClusterArn(trust.cluster.clusterArn)?.partition ?? targetStack.partition;
        irsa.add(`arn:${partition}:iam::${targetStack.account}:oidc-provider/${issuer}`, issuer, irsaSubject(trust));
      }
    }
    role.node.addValidation({
      validate: () => checkTrustLength(role, `CrossAccountPodRole at '${this.node.path}' (target role)`, role.assumeRolePolicy!, max, irsa.count,
        'move the chain to POD_IDENTITY_ONLY once no pod uses the target role through IRSA'),
    });
  }
}

/** Conditions of a policy statement, by operator. */
type TrustConditions = { [op: string]: { [key: string]: unknown } };

/** The conditions of the target's trust: the association role, and its session tags (or, without them, the external ID). */
function targetConditions(associationRoleArn: string, props: CrossAccountPodRoleProps, externalId?: string): TrustConditions {
  return {
    ArnEquals: { 'aws:PrincipalArn': associationRoleArn },
    StringEquals: externalId === undefined
      ? {
        [`aws:RequestTag/${SESSION_TAGS.CLUSTER_ARN}`]: props.cluster.clusterArn,
        [`aws:RequestTag/${SESSION_TAGS.NAMESPACE}`]: props.namespace,
        [`aws:RequestTag/${SESSION_TAGS.SERVICE_ACCOUNT}`]: props.serviceAccount,
      }
      : { 'sts:ExternalId': externalId },
  };
}
