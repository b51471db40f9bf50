/*
 * ARNs, parsed and formatted in one place (constructs, planner, checks and the operator engine alike).
 * These parsers accept any partition and any role path; the strict validation of user input (a
 * partition's name, a cluster name's characters) stays with the input's checks (names.ts, the file schemas).
 */

const ROLE_ARN = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;
const ROLE_ARN_ACCOUNT = /^arn:[^:]+:iam::(\d{12}):role\//;
const CLUSTER_ARN = /^arn:([^:]+):eks:([^:]+):(\d{12}):cluster\/(.+)$/;

/** An IAM role ARN's partition, account and name (its path left out), or undefined when it is not one. */
export function roleArnParts(arn: string): { partition: string; account: string; name: string } | undefined {
  const m = ROLE_ARN.exec(arn);
  return m === null ? undefined : { partition: m[1], account: m[2], name: m[3] };
}

/** The account of an IAM role ARN, or undefined for anything else (a role's name). */
export function roleArnAccount(arn: string): string | undefined {
  return ROLE_ARN_ACCOUNT.exec(arn)?.[1];
}

/** An EKS cluster ARN's partition, region, account and name, or undefined when it is not one. */
export function clusterArnFields(arn: string): { partition: string; region: string; account: string; name: string } | undefined {
  const m = CLUSTER_ARN.exec(arn);
  return m === null ? undefined : { partition: m[1], region: m[2], account: m[3], name: m[4] };
}

/** The last segment of an ARN's resource: a role's name without its path. */
export function arnName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** The assumed-role ARN prefix of a role (same partition and account, STS, no path); anything else unchanged. */
export function assumedRolePrefix(roleArn: string): string {
  const r = roleArnParts(roleArn);
  return r === undefined ? roleArn : `arn:${r.partition}:sts::${r.account}:assumed-role/${r.name}/`;
}
