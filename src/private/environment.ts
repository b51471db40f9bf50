import { Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { clusterLabel, constructError } from './errors';
import { PodIdentityCluster } from '../pod-identity-cluster';

/**
 * Throws when the stack of `scope` deploys to another account or region than the cluster's
 * (both known at synth); resources that act on a cluster belong in its account and region.
 */
export function checkClusterEnvironment(scope: IConstruct, kind: string, cluster: PodIdentityCluster, what: string): void {
  const stack = Stack.of(scope);
  const mismatch = (dimension: string, stackValue: string, clusterValue: string | undefined) =>
    clusterValue !== undefined && !Token.isUnresolved(stackValue) && stackValue !== clusterValue
      ? `${dimension} ${clusterValue} but the stack '${stack.node.path}' deploys to ${dimension} ${stackValue}` : undefined;
  const problems = [mismatch('account', stack.account, cluster.account), mismatch('region', stack.region, cluster.region)]
    .filter((p): p is string => p !== undefined);
  if (problems.length > 0) {
    throw constructError(scope, kind,
      `cluster ${clusterLabel(cluster)} is in ${problems.join(', and ')}: put ${what} in a stack whose env is the cluster's account and region.`);
  }
}
