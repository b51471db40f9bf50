import { Token } from 'aws-cdk-lib';

/** EKS cluster names: 1-100 characters, alphanumerics, hyphens and underscores, starting alphanumeric. */
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;

/** ARN of an EKS cluster; groups: partition, region, account, cluster name. */
const CLUSTER_ARN = /^arn:(aws[a-z-]*):eks:([a-z0-9-]+):(\d{12}):cluster\/(.+)$/;

/** ARN of an IAM OIDC provider; groups: partition, account, issuer (host + path). */
const OIDC_PROVIDER_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):oidc-provider\/(.+)$/;

/** An OIDC issuer without scheme: a host name, optionally a path; no trailing slash. */
const OIDC_ISSUER = /^[a-z0-9.-]+\.[a-z]{2,}(\/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~-])?$/;

/** Add-on version as EKS publishes them, e.g. `v1.3.4-eksbuild.1`. */
const ADDON_VERSION = /^v\d+\.\d+\.\d+-eksbuild\.\d+$/;

export interface ParsedClusterArn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly clusterName: string;
}

export interface ParsedOidcProviderArn {
  readonly partition: string;
  readonly account: string;
  readonly issuer: string;
}

/** Whether a string is usable for a check now (not a token). */
export function isConcrete(value: string | undefined): value is string {
  return value !== undefined && !Token.isUnresolved(value);
}

export function isValidClusterName(name: string): boolean {
  return CLUSTER_NAME.test(name);
}

export function parseClusterArn(arn: string): ParsedClusterArn | undefined {
  const m = CLUSTER_ARN.exec(arn);
  return m ? { partition: m[1], region: m[2], account: m[3], clusterName: m[4] } : undefined;
}

export function parseOidcProviderArn(arn: string): ParsedOidcProviderArn | undefined {
  const m = OIDC_PROVIDER_ARN.exec(arn);
  return m ? { partition: m[1], account: m[2], issuer: m[3] } : undefined;
}

/** Strips `https://` and a trailing slash; IAM keys conditions on the issuer without scheme. */
export function normalizeIssuer(issuer: string): string {
  return issuer.replace(/^https:\/\//, '').replace(/\/+$/, '');
}

export function isValidIssuer(issuer: string): boolean {
  return OIDC_ISSUER.test(issuer);
}

export function isValidAddonVersion(version: string): boolean {
  return ADDON_VERSION.test(version);
}
