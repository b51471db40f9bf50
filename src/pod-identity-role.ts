import { Construct } from 'constructs';
import { DualTrustRole, PodIdentityRoleProps } from './dual-trust-role';
import { MigrationPhase } from './migration-phase';

/**
 * An IAM role for EKS Pod Identity, for new workloads: trusted by `pods.eks.amazonaws.com` with
 * `sts:AssumeRole` and `sts:TagSession`, pinned to the account and to the namespaces and service
 * accounts that use it (the `PodIdentityBinding`s that name it, and `serviceAccounts`). No IRSA,
 * no migration phase: a `DualTrustRole` at `POD_IDENTITY_ONLY`.
 *
 * @example
 * declare const cluster: PodIdentityCluster;
 *
 * const role = new PodIdentityRole(this, 'Reports', { roleName: 'reports' });
 * new PodIdentityBinding(this, 'ReportsBinding', { cluster, namespace: 'reports', serviceAccount: 'generator', role });
 */
export class PodIdentityRole extends DualTrustRole {
  constructor(scope: Construct, id: string, props: PodIdentityRoleProps = {}) {
    super(scope, id, { ...props, phase: MigrationPhase.POD_IDENTITY_ONLY });
  }
}
