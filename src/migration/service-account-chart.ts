import { ApiObject, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { IrsaServiceAccount } from './inventory-types';
import { MigrationPhase } from '../migration-phase';
import { ROLE_ANNOTATION, serviceAccountProps } from './private/service-account-documents';
import { noProxyValue } from '../private/no-proxy';
import { hasIrsaAnnotation } from '../private/phases';

/**
 * Properties of a `ServiceAccountChart`.
 */
export interface ServiceAccountChartProps extends ChartProps {
  /** The service accounts (of one cluster and wave), as the inventory describes them. */
  readonly serviceAccounts: IrsaServiceAccount[];

  /** The phase: the IRSA annotation is kept through `POD_IDENTITY` and removed from `ANNOTATION_REMOVED` on. */
  readonly phase: MigrationPhase;
}

/**
 * The ServiceAccount manifests of a wave on a cluster, with the annotation the phase requires and
 * everything else the inventory recorded kept as it is: labels, other annotations and
 * `automountServiceAccountToken` (written only when the account had it; never flipped).
 *
 * Pod Identity needs no annotation (the binding is the EKS association); only the IRSA
 * annotation `eks.amazonaws.com/role-arn` changes. ServiceAccounts managed by Helm are not
 * rendered (the next `helm upgrade` would revert them): `helmManaged` lists them, and
 * `helmPatch()` gives the strategic-merge patch the operator applies and mirrors in the release values.
 */
export class ServiceAccountChart extends Chart {
  /**
   * The `NO_PROXY` value a workload behind a proxy needs so that its Pod Identity credential
   * requests reach the agent, not the proxy: the existing value plus the agent's addresses.
   *
   * @param existing the workload's current NO_PROXY
   */
  public static noProxyValue(existing: string = ''): string {
    return noProxyValue(existing);
  }

  /**
   * The strategic-merge patch that gives a ServiceAccount the annotation of `phase`.
   */
  public static helmPatch(serviceAccount: IrsaServiceAccount, phase: MigrationPhase): string {
    return JSON.stringify({ metadata: { annotations: { [ROLE_ANNOTATION]: hasIrsaAnnotation(phase) ? serviceAccount.roleArn : null } } });
  }

  /** The service accounts managed by Helm, which are not rendered. */
  public readonly helmManaged: IrsaServiceAccount[];

  /** The service accounts rendered. */
  public readonly rendered: IrsaServiceAccount[];

  constructor(scope: Construct, id: string, props: ServiceAccountChartProps) {
    super(scope, id, props);
    this.helmManaged = props.serviceAccounts.filter((sa) => sa.helmRelease !== undefined);
    this.rendered = props.serviceAccounts.filter((sa) => sa.helmRelease === undefined);
    for (const sa of this.rendered) {
      new ApiObject(this, `${sa.namespace}-${sa.serviceAccount}`, serviceAccountProps(sa, props.phase) as any);
    }
  }
}
