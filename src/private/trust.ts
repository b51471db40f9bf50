import { Annotations, CfnJson, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { policySize, PolicySize } from './policy-size';
import { IRSA_ACTION, oneOrList } from './trust-statements';

/** IAM's default quota for the length of a role trust policy. */
export const DEFAULT_TRUST_POLICY_MAX_LENGTH = 2048;

/** oidcProviderInAccount's answers, by account and provider ARN. */
const PROVIDER_IN_ACCOUNT = new Map<string, Map<string, string>>();

/**
 * The ARN of an OIDC provider as registered in `account`: IRSA into a role of another account
 * names the cluster's provider registered in the role's account.
 */
export function oidcProviderInAccount(providerArn: string, account: string): string {
  // asked once per role and cluster by a fleet's plan (20,000 times for 200 roles on 50 clusters)
  let inAccount = PROVIDER_IN_ACCOUNT.get(account);
  if (inAccount === undefined) {
    inAccount = new Map<string, string>();
    PROVIDER_IN_ACCOUNT.set(account, inAccount);
  }
  let arn = inAccount.get(providerArn);
  if (arn === undefined) {
    arn = providerArn.replace(/^(arn:[^:]+:iam::)\d{12}(:oidc-provider\/)/, `$1${account}$2`);
    inAccount.set(providerArn, arn);
  }
  return arn;
}


/**
 * An IRSA trust statement: `sts:AssumeRoleWithWebIdentity` for the OIDC provider, `<issuer>:sub`
 * in `subjects` (read at synthesis, so later additions count) and optionally `<issuer>:aud`.
 * A token issuer (an aws-eks cluster of the app) needs its condition keys through CfnJson,
 * created under `scope` with `cfnJsonId`.
 */
export function irsaStatement(scope: Construct, cfnJsonId: string, providerArn: string, issuer: string,
  subjects: string[], audience: boolean): iam.PolicyStatement {
  const conditions: { [key: string]: any } = {
    [`${issuer}:sub`]: Lazy.any({ produce: () => oneOrList(subjects) }),
  };
  if (audience) {
    conditions[`${issuer}:aud`] = 'sts.amazonaws.com';
  }
  const stringEquals = Token.isUnresolved(issuer) ? new CfnJson(scope, cfnJsonId, { value: conditions }) : conditions;
  return new iam.PolicyStatement({
    actions: [IRSA_ACTION],
    principals: [new iam.FederatedPrincipal(providerArn, {}, IRSA_ACTION)],
    conditions: { StringEquals: stringEquals },
  });
}

/**
 * The IRSA statements of one trust policy: one statement per OIDC issuer, created when the issuer's
 * first service account is added, whose `sub` list grows with later ones.
 */
export class IrsaStatements {
  private readonly subjectsByIssuer = new Map<string, string[]>();

  constructor(private readonly scope: Construct, private readonly document: iam.PolicyDocument, private readonly audience: boolean) {}

  /** Trust `subject` (`system:serviceaccount:<ns>:<sa>`) from the OIDC provider `providerArn` of `issuer`. */
  public add(providerArn: string, issuer: string, subject: string): void {
    let subjects = this.subjectsByIssuer.get(issuer);
    if (!subjects) {
      subjects = [];
      this.subjectsByIssuer.set(issuer, subjects);
      this.document.addStatements(irsaStatement(this.scope, `IrsaConditions${this.subjectsByIssuer.size}`, providerArn, issuer, subjects, this.audience));
    }
    if (!subjects.includes(subject)) {
      subjects.push(subject);
    }
  }

  /** How many OIDC statements there are. */
  public get count(): number {
    return this.subjectsByIssuer.size;
  }
}

/** The size of a trust policy document as IAM counts it. */
export function measure(scope: Construct, document: iam.PolicyDocument): PolicySize {
  return policySize(Stack.of(scope).resolve(document));
}

/**
 * Checks a trust policy against its length limit: an error over it (a warning when the length is
 * an estimate), and an info annotation with the length either way.
 */
export function checkTrustLength(scope: Construct, where: string, document: iam.PolicyDocument, max: number,
  oidcStatements: number, finishHint: string): string[] {
  const size = measure(scope, document);
  const described = `${size.exact ? '' : 'about '}${size.length.toLocaleString('en-US')} characters (whitespace not counted)`;
  if (size.length > max) {
    const message = `${where}: the trust policy is ${described}, over trustPolicyMaxLength ${max.toLocaleString('en-US')}. `
      + 'Options: raise the account\'s IAM quota "Role trust policy length" and set trustPolicyMaxLength to the raised value; '
      + `trust fewer clusters per role (${oidcStatements} OIDC statements now); `
      + `or ${finishHint}, which drops the OIDC statements.`;
    if (size.exact) {
      return [message];
    }
    Annotations.of(scope).addWarningV2('cdk-eks-pod-identity:trustPolicyLength', message);
  }
  Annotations.of(scope).addInfo(`Trust policy: ${described} of ${max.toLocaleString('en-US')}.`);
  return [];
}

/** Throws unless `max` is a positive whole number. */
export function checkMaxLength(max: number, fail: (message: string) => Error): void {
  if (!Number.isInteger(max) || max <= 0) {
    throw fail(`trustPolicyMaxLength must be a positive whole number of characters (your account's "Role trust policy length" quota); got ${JSON.stringify(max)}.`);
  }
}
