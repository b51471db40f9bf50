/**
 * Evaluates synthesized IAM policies with @cloud-copilot/iam-simulate (AGPL-3.0, a devDependency
 * used only here). Its validated entry point, runSimulation, drops context keys it does not know,
 * such as an OIDC issuer's `<issuer>:sub`, which would make every IRSA case "denied" for the wrong
 * reason; runUnsafeSimulation mislabels a resource policy without a name. So this calls the core
 * `authorize` directly, with every policy loaded under a name and the context given verbatim.
 * Every matrix in the tests holds allowed and denied cases, so a simulator that could not fail (or
 * not allow) would show.
 */
import * as path from 'path';

/* eslint-disable @typescript-eslint/no-require-imports -- deep files outside the package's exports map */
const base = path.dirname(require.resolve('@cloud-copilot/iam-simulate'));
const { authorize } = require(path.join(base, 'core_engine/CoreSimulatorEngine.js'));
const { RequestContextImpl } = require(path.join(base, 'requestContext.js'));
const { AwsRequestImpl } = require(path.join(base, 'request/request.js'));
const { DiscoveryContextKeyConstraints } = require(path.join(base, 'context_keys/discoveryContextKeyConstraints.js'));
const { loadPolicy } = require(require.resolve('@cloud-copilot/iam-policy', { paths: [base] }));
/* eslint-enable @typescript-eslint/no-require-imports */

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface Request {
  /** The caller: a principal ARN, a service principal, or an OIDC provider ARN. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  /** The account that owns the resource. */
  readonly resourceAccount: string;
  readonly context?: Record<string, string | string[]>;
}

export interface Policies {
  /** A resource policy (a role trust policy). */
  readonly resourcePolicy?: any;
  /** Identity policies of the caller. */
  readonly identityPolicies?: any[];
}

/** The decision IAM would make for `request` under `policies`. */
export function evaluate(request: Request, policies: Policies): Decision {
  const analysis = authorize({
    request: new AwsRequestImpl(
      request.principal,
      { resource: request.resource, accountId: request.resourceAccount },
      request.action,
      new RequestContextImpl(request.context ?? {}),
    ),
    sessionPolicy: undefined,
    identityPolicies: (policies.identityPolicies ?? []).map((p, i) => loadPolicy(p, { name: `identity${i}` })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policies.resourcePolicy ? loadPolicy(policies.resourcePolicy, { name: 'resource' }) : undefined,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
    serviceSettings: { s3: {} },
  });
  return analysis.result as Decision;
}

/** Replaces `{ Ref: 'AWS::Partition' }` and flattens `Fn::Join`, so a synthesized policy is plain JSON. */
export function plain(value: any): any {
  if (Array.isArray(value)) {
    return value.map(plain);
  }
  if (value && typeof value === 'object') {
    if (value.Ref === 'AWS::Partition') {
      return 'aws';
    }
    if (Array.isArray(value['Fn::Join'])) {
      const [sep, parts] = value['Fn::Join'];
      const flat = plain(parts);
      if (flat.every((p: unknown) => typeof p === 'string')) {
        return flat.join(sep);
      }
    }
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      throw new Error(`policy holds an intrinsic the simulator cannot evaluate: ${JSON.stringify(value)}`);
    }
    return Object.fromEntries(keys.map((k) => [k, plain(value[k])]));
  }
  return value;
}
