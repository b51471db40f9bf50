import { oneLine } from './preflight-checks';
import { IRSA_VARIABLES, CheckLine, compared, noted } from './verify-checks';

/**
 * The checks of an OIDC provider's retirement preflight (runbooks/oidc-providers/preflight.sh
 * <cluster>) as pure functions over the API responses: each returns the line the step prints. An
 * error text (`{ error }`) is what the read printed when it failed.
 */

type Read<T> = T | { error: string };
const failed = <T>(r: Read<T>): r is { error: string } => typeof r === 'object' && r !== null && 'error' in r && Object.keys(r).length === 1;

/** The provider's existence against the recorded step (`exists`: whether IAM has it). */
export function checkProviderExists(cluster: string, step: string, providerArn: string, exists: boolean): CheckLine {
  const who = `${cluster} -`;
  if (exists) {
    return compared('PASS', who, `provider: ${providerArn} exists`, step === 'ADOPTED' ? 'exists' : 'exists, or the deploy creates it', 'exists');
  }
  switch (step) {
    case 'ADOPTED': return compared('FAIL', who, `provider: expected ${providerArn} to exist to import it; saw none`, 'exists', 'none');
    case 'RETIRED': return noted('INFO', who, `provider: ${providerArn} is already gone`);
    default: return noted('INFO', who, `provider: ${providerArn} does not exist; the deploy creates it`);
  }
}

/** No IAM role of the account names the provider in its trust (`list-roles`, trust decoded), roles outside the app included. */
export function checkProviderRoles(cluster: string, account: string, providerArn: string, roles: Read<any[]>): CheckLine {
  const who = `${cluster} -`;
  if (failed(roles)) {
    return compared('FAIL', who, `roles: cannot call iam list-roles: ${oneLine(roles.error)}`, 'no role trusts the provider', oneLine(roles.error));
  }
  const users = roles.filter((r) => JSON.stringify(r.AssumeRolePolicyDocument ?? '').includes(providerArn)).map((r) => r.RoleName);
  return users.length === 0
    ? compared('PASS', who, `roles: no role of ${account} trusts ${providerArn}`, 'no role trusts the provider', 'none')
    : compared('FAIL', who, `roles: expected no role to trust ${providerArn}; saw ${users.join(', ')}. Deploy the waves that drop it, or move these roles off IRSA first`,
      'no role trusts the provider', users.join(', '));
}

/** No managed add-on of the cluster on IRSA: each listed add-on's `describe-addon` (or its error). */
export function checkProviderAddons(cluster: string, addons: Read<{ name: string; addon: Read<any> }[]>): CheckLine[] {
  const who = `${cluster} -`;
  if (failed(addons)) {
    return [compared('FAIL', who, `add-ons: cannot call eks list-addons: ${oneLine(addons.error)}`, 'no add-on with a serviceAccountRoleArn', oneLine(addons.error))];
  }
  const lines: CheckLine[] = [];
  const users: string[] = [];
  for (const { name, addon } of addons) {
    if (failed(addon)) {
      lines.push(compared('FAIL', who, `add-ons: cannot call eks describe-addon for ${name}: ${oneLine(addon.error)}`, `${name}: no serviceAccountRoleArn`,
        oneLine(addon.error)));
    } else if (addon?.serviceAccountRoleArn) {
      users.push(`${name} (${addon.serviceAccountRoleArn})`);
    }
  }
  lines.push(users.length === 0
    ? compared('PASS', who, 'add-ons: none has a serviceAccountRoleArn', 'no add-on with a serviceAccountRoleArn', 'none')
    : compared('FAIL', who, `add-ons: expected no managed add-on on IRSA; saw ${users.join(', ')}. Move them to Pod Identity (the add-on's podIdentityAssociations) first`,
      'no add-on with a serviceAccountRoleArn', users.join(', ')));
  return lines;
}

/** No current pod of the cluster (`get pods -A`) has AWS_WEB_IDENTITY_TOKEN_FILE in a container or init container. */
export function checkProviderPods(cluster: string, pods: Read<any[]>): CheckLine {
  const who = `${cluster} -`;
  if (failed(pods)) {
    return compared('FAIL', who, `pods: cannot list the pods: ${oneLine(pods.error)}`, `no pod with ${IRSA_VARIABLES[0]}`, oneLine(pods.error));
  }
  const bad = pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
    .filter((p) => [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])]
      .some((c: any) => (c.env ?? []).some((e: any) => e.name === IRSA_VARIABLES[0])))
    .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
  return bad.length === 0
    ? compared('PASS', who, `pods: none has ${IRSA_VARIABLES[0]}`, `no pod with ${IRSA_VARIABLES[0]}`, 'none')
    : compared('FAIL', who, `pods: expected no pod on IRSA; saw ${bad.join(', ')}. Migrate or restart them first`, `no pod with ${IRSA_VARIABLES[0]}`, bad.join(', '));
}

/** The longest window CloudTrail's LookupEvents reaches back: 90 days. */
export const CLOUDTRAIL_LOOKUP_DAYS = 90;

/** One AssumeRoleWithWebIdentity through the provider, as the line names it. */
export interface WebIdentityUse {
  readonly role: string;
  readonly session: string;
  readonly subject: string;
  readonly time: string;
  readonly region: string;
}

/**
 * Whether a CloudTrail `AssumeRoleWithWebIdentity` event (`lookup-events`' `CloudTrailEvent`, parsed)
 * came through this provider: STS records the provider in `userIdentity.identityProvider` and
 * `responseElements.provider`, by ARN or by the issuer's host.
 */
export function webIdentityUse(event: any, providerArn: string, region: string): WebIdentityUse | undefined {
  const issuer = providerArn.slice(providerArn.indexOf(':oidc-provider/') + ':oidc-provider/'.length);
  const named = [event?.userIdentity?.identityProvider, event?.responseElements?.provider]
    .filter((v): v is string => typeof v === 'string')
    .some((v) => v === providerArn || v.replace(/^https:\/\//, '') === issuer);
  if (event?.eventName !== 'AssumeRoleWithWebIdentity' || !named) {
    return undefined;
  }
  return {
    role: event.requestParameters?.roleArn ?? '-',
    session: event.requestParameters?.roleSessionName ?? '-',
    subject: event.responseElements?.subjectFromWebIdentityToken ?? event.userIdentity?.userName ?? '-',
    time: event.eventTime ?? '-',
    region,
  };
}

/**
 * The evidence before a provider is retired: no `AssumeRoleWithWebIdentity` through it in the window,
 * in any region looked up (each region's events, or the error of its lookup). The inventory says what
 * should use IRSA; CloudTrail says what did.
 */
export function checkWebIdentityEvidence(cluster: string, providerArn: string, since: string,
  regions: { region: string; events: Read<any[]> }[]): CheckLine[] {
  const who = `${cluster} -`;
  const lines: CheckLine[] = [];
  const uses: WebIdentityUse[] = [];
  for (const { region, events } of regions) {
    if (failed(events)) {
      lines.push(compared('FAIL', who, `cloudtrail: cannot look up AssumeRoleWithWebIdentity events in ${region}: ${oneLine(events.error)}`,
        `no AssumeRoleWithWebIdentity through the provider since ${since} in ${region}`, oneLine(events.error)));
      continue;
    }
    for (const e of events) {
      let parsed: any;
      try {
        parsed = typeof e.CloudTrailEvent === 'string' ? JSON.parse(e.CloudTrailEvent) : e.CloudTrailEvent;
      } catch {
        continue;
      }
      const use = webIdentityUse(parsed, providerArn, region);
      if (use) {
        uses.push(use);
      }
    }
  }
  // a region that could not be read has its FAIL line; the PASS line names only the regions read
  const where = regions.filter((r) => !failed(r.events)).map((r) => r.region).join(', ');
  if (uses.length === 0) {
    if (where !== '') {
      lines.push(compared('PASS', who, `cloudtrail: no AssumeRoleWithWebIdentity through ${providerArn} since ${since} in ${where}`,
        `no AssumeRoleWithWebIdentity through the provider since ${since}`, `none in ${where}`));
    }
    return lines;
  }
  // each role and session once, the latest first
  const seen = new Map<string, WebIdentityUse>();
  for (const u of [...uses].sort((a, b) => b.time.localeCompare(a.time))) {
    const key = `${u.role} ${u.session}`;
    if (!seen.has(key)) {
      seen.set(key, u);
    }
  }
  const listed = [...seen.values()].map((u) => `${u.role} (session ${u.session}, ${u.subject}, ${u.time}, ${u.region})`);
  lines.push(compared('FAIL', who, `cloudtrail: expected no AssumeRoleWithWebIdentity through ${providerArn} since ${since}; saw ${uses.length}: ${listed.join('; ')}. `
      + 'Something still assumes these roles by IRSA: move it to Pod Identity (the subject is its service account), then run preflight again '
      + '(--cloudtrail-since a time after its last call, once it is moved)',
  `no AssumeRoleWithWebIdentity through the provider since ${since}`, `${uses.length}: ${listed.join('; ')}`));
  return lines;
}

/**
 * verify: the provider against its recorded step after the deploy: deleted at RETIRED (its stack's
 * DeletionPolicy was Delete from RETIRING on), present otherwise.
 */
export function checkProviderAfterDeploy(cluster: string, step: string, providerArn: string, exists: boolean): CheckLine {
  const who = `${cluster} -`;
  if (step === 'RETIRED') {
    return exists
      ? compared('FAIL', who, `provider: expected ${providerArn} deleted; it exists. Was the RETIRING step deployed before (DeletionPolicy Delete)? `
          + 'If not, record RETIRING, deploy, then RETIRED again', 'deleted', 'exists')
      : compared('PASS', who, `provider: ${providerArn} is deleted`, 'deleted', 'none');
  }
  return exists ? compared('PASS', who, `provider: ${providerArn} exists`, 'exists', 'exists')
    : compared('FAIL', who, `provider: expected ${providerArn} to exist at ${step}; saw none`, 'exists', 'none');
}

/** verify: the provider's stack holds it, complete (`cloudformation describe-stack-resource`). */
export function checkProviderStack(cluster: string, stackName: string, logicalId: string, providerArn: string,
  resource: Read<{ physicalId: string; status: string }>): CheckLine {
  const who = `${cluster} -`;
  if (failed(resource)) {
    return compared('FAIL', who, `stack: expected ${stackName} to hold ${logicalId}; cloudformation describe-stack-resource says: ${oneLine(resource.error)}`,
      `${providerArn}, complete`, oneLine(resource.error));
  }
  const seen = `${resource.physicalId} ${resource.status}`;
  return resource.physicalId === providerArn && resource.status.endsWith('_COMPLETE')
    ? compared('PASS', who, `stack: ${stackName} holds ${providerArn} (${resource.status})`, `${providerArn}, complete`, seen)
    : compared('FAIL', who, `stack: expected ${stackName} to hold ${providerArn}, complete; saw ${seen}`, `${providerArn}, complete`, seen);
}
