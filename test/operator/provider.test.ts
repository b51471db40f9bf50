/**
 * The OIDC provider's retirement preflight: its checks as pure functions (src/operator/provider-checks.ts),
 * exact lines for each case, and the engine's step (operator/src/provider.ts) on a stand-in
 * ProviderReader: the order of the lines, where it stops, the regions CloudTrail is read in, the
 * options. The test bed's oidc-providers suite runs preflight.sh, which runs it, against real parts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  parseProviderArgs, ProviderStep, ProviderUsageError, providerPreflight, providerVerify, readProviderStep, runProviderVerify,
} from '../../operator/src/provider';
import { Outcome, ProviderReader } from '../../operator/src/reader';
import {
  checkProviderAddons, checkProviderExists, checkProviderPods, checkProviderRoles, checkWebIdentityEvidence, webIdentityUse,
} from '../../src/operator/provider-checks';
import { renderLine } from '../../src/operator/verify-checks';

const ACCOUNT = '111122223333';
const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/LEDGER';
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`;
const lines = (ls: any[]) => ls.map(renderLine);

const event = (provider: string, role: string, session: string, time: string, form: 'arn' | 'issuer' = 'arn') => ({
  CloudTrailEvent: JSON.stringify({
    eventName: 'AssumeRoleWithWebIdentity',
    eventTime: time,
    userIdentity: { type: 'WebIdentityUser', identityProvider: form === 'arn' ? provider : `https://${provider.split(':oidc-provider/')[1]}`, userName: 'system:serviceaccount:ns:sa' },
    requestParameters: { roleArn: role, roleSessionName: session },
    responseElements: form === 'arn' ? { subjectFromWebIdentityToken: 'system:serviceaccount:ns:sa', provider } : { subjectFromWebIdentityToken: 'system:serviceaccount:ns:sa' },
  }),
});
const ROLE = `arn:aws:iam::${ACCOUNT}:role/ledger`;

describe('the CloudTrail evidence', () => {
  test('none through the provider: PASS naming the window and the regions', () => {
    expect(lines(checkWebIdentityEvidence('ledger', PROVIDER, '2026-09-07T00:00:00Z', [{ region: 'eu-west-1', events: [] }, { region: 'us-east-1', events: [] }])))
      .toEqual([`PASS ledger - cloudtrail: no AssumeRoleWithWebIdentity through ${PROVIDER} since 2026-09-07T00:00:00Z in eu-west-1, us-east-1`]);
  });

  test('calls through it: one FAIL line, each role and session once (the latest call), the count of calls; another provider\'s calls do not count', () => {
    const other = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/OTHER`;
    const r = checkWebIdentityEvidence('ledger', PROVIDER, '2026-09-07T00:00:00Z', [
      { region: 'eu-west-1', events: [event(PROVIDER, ROLE, 's1', '2026-12-01T10:00:00Z'), event(PROVIDER, ROLE, 's1', '2026-12-02T10:00:00Z'), event(other, ROLE, 's9', '2026-12-03T10:00:00Z')] },
      { region: 'us-east-1', events: [event(PROVIDER, `arn:aws:iam::${ACCOUNT}:role/old`, 's2', '2026-11-01T10:00:00Z', 'issuer')] },
    ]);
    expect(lines(r)).toEqual([`FAIL ledger - cloudtrail: expected no AssumeRoleWithWebIdentity through ${PROVIDER} since 2026-09-07T00:00:00Z; saw 3: `
      + `${ROLE} (session s1, system:serviceaccount:ns:sa, 2026-12-02T10:00:00Z, eu-west-1); `
      + `arn:aws:iam::${ACCOUNT}:role/old (session s2, system:serviceaccount:ns:sa, 2026-11-01T10:00:00Z, us-east-1). `
      + 'Something still assumes these roles by IRSA: move it to Pod Identity (the subject is its service account), then run preflight again '
      + '(--cloudtrail-since a time after its last call, once it is moved)']);
  });

  test('a region that cannot be read fails, naming it; the others still count', () => {
    expect(lines(checkWebIdentityEvidence('ledger', PROVIDER, 'T', [{ region: 'eu-west-1', events: { error: 'An error occurred (AccessDeniedException)\nx' } },
      { region: 'us-east-1', events: [] }]))).toEqual([
      'FAIL ledger - cloudtrail: cannot look up AssumeRoleWithWebIdentity events in eu-west-1: An error occurred (AccessDeniedException) x',
      `PASS ledger - cloudtrail: no AssumeRoleWithWebIdentity through ${PROVIDER} since T in us-east-1`,
    ]);
  });

  test('an event of another kind, or naming the provider nowhere, is no evidence', () => {
    expect(webIdentityUse({ eventName: 'AssumeRole', userIdentity: { identityProvider: PROVIDER } }, PROVIDER, 'r')).toBeUndefined();
    expect(webIdentityUse({ eventName: 'AssumeRoleWithWebIdentity', requestParameters: { roleArn: ROLE } }, PROVIDER, 'r')).toBeUndefined();
    expect(webIdentityUse({ eventName: 'AssumeRoleWithWebIdentity', responseElements: { provider: ISSUER } }, PROVIDER, 'r'))
      .toEqual({ role: '-', session: '-', subject: '-', time: '-', region: 'r' });
  });
});

describe('what still uses the provider', () => {
  test('the provider against the step', () => {
    expect(lines([checkProviderExists('ledger', 'RETIRING', PROVIDER, true), checkProviderExists('ledger', 'ADOPTED', PROVIDER, false),
      checkProviderExists('ledger', 'RETIRED', PROVIDER, false), checkProviderExists('ledger', 'RETIRING', PROVIDER, false)])).toEqual([
      `PASS ledger - provider: ${PROVIDER} exists`,
      `FAIL ledger - provider: expected ${PROVIDER} to exist to import it; saw none`,
      `INFO ledger - provider: ${PROVIDER} is already gone`,
      `INFO ledger - provider: ${PROVIDER} does not exist; the deploy creates it`,
    ]);
  });

  test('roles, add-ons, pods', () => {
    const trust = { Statement: [{ Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: 'sts:AssumeRoleWithWebIdentity' }] };
    expect(lines([checkProviderRoles('ledger', ACCOUNT, PROVIDER, [{ RoleName: 'a', AssumeRolePolicyDocument: trust }, { RoleName: 'b', AssumeRolePolicyDocument: {} },
      { RoleName: 'c', AssumeRolePolicyDocument: trust }])])).toEqual([
      `FAIL ledger - roles: expected no role to trust ${PROVIDER}; saw a, c. Deploy the waves that drop it, or move these roles off IRSA first`,
    ]);
    expect(lines([checkProviderRoles('ledger', ACCOUNT, PROVIDER, [])])).toEqual([`PASS ledger - roles: no role of ${ACCOUNT} trusts ${PROVIDER}`]);
    expect(lines([checkProviderRoles('ledger', ACCOUNT, PROVIDER, { error: 'denied' })])).toEqual(['FAIL ledger - roles: cannot call iam list-roles: denied']);
    expect(lines(checkProviderAddons('ledger', [{ name: 'vpc-cni', addon: {} }, { name: 'ebs', addon: { serviceAccountRoleArn: ROLE } }, { name: 'x', addon: { error: 'gone' } }])))
      .toEqual([
        'FAIL ledger - add-ons: cannot call eks describe-addon for x: gone',
        `FAIL ledger - add-ons: expected no managed add-on on IRSA; saw ebs (${ROLE}). Move them to Pod Identity (the add-on's podIdentityAssociations) first`,
      ]);
    expect(lines(checkProviderAddons('ledger', []))).toEqual(['PASS ledger - add-ons: none has a serviceAccountRoleArn']);
    expect(lines(checkProviderAddons('ledger', { error: 'denied' }))).toEqual(['FAIL ledger - add-ons: cannot call eks list-addons: denied']);
    const pod = (ns: string, name: string, env: string[], phase = 'Running', init = false) => ({
      metadata: { namespace: ns, name },
      spec: { [init ? 'initContainers' : 'containers']: [{ name: 'c', env: env.map((n) => ({ name: n })) }] },
      status: { phase },
    });
    expect(lines([checkProviderPods('ledger', [pod('a', 'p1', ['AWS_WEB_IDENTITY_TOKEN_FILE']), pod('a', 'p2', []), pod('b', 'p3', ['AWS_WEB_IDENTITY_TOKEN_FILE'], 'Succeeded'),
      pod('b', 'p4', ['AWS_WEB_IDENTITY_TOKEN_FILE'], 'Pending', true)])])).toEqual([
      'FAIL ledger - pods: expected no pod on IRSA; saw a/p1, b/p4. Migrate or restart them first',
    ]);
    expect(lines([checkProviderPods('ledger', [])])).toEqual(['PASS ledger - pods: none has AWS_WEB_IDENTITY_TOKEN_FILE']);
  });
});

/** A provider's world, every read recorded. */
class StandIn implements ProviderReader {
  readonly calls: string[] = [];
  account = ACCOUNT;
  exists: Outcome<boolean> = { ok: true, value: true };
  events: { [region: string]: any[] } = {};
  resource: Outcome<{ physicalId: string; status: string }> = { ok: true, value: { physicalId: PROVIDER, status: 'UPDATE_COMPLETE' } };
  private r<T>(what: string, value: T): Promise<Outcome<T>> {
    this.calls.push(what);
    return Promise.resolve({ ok: true, value });
  }
  callerAccount() {
    return this.r('sts', this.account);
  }
  providerExists() {
    this.calls.push('exists');
    return Promise.resolve(this.exists);
  }
  roles() {
    return this.r('roles', []);
  }
  addonNames() {
    return this.r('addons', ['vpc-cni']);
  }
  addon() {
    return this.r('addon', {});
  }
  pods() {
    return this.r('pods', []);
  }
  webIdentityEvents(_account: string, region: string) {
    return this.r(`cloudtrail ${region}`, this.events[region] ?? []);
  }
  stackResource(_account: string, region: string, stack: string, logicalId: string) {
    this.calls.push(`stack ${region} ${stack} ${logicalId}`);
    return Promise.resolve(this.resource);
  }
}

function providersDir(step: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provider-'));
  fs.writeFileSync(path.join(dir, 'clusters.tsv'), `# c\nledger\teu-west-1\t${ACCOUNT}\tarn:aws:eks:eu-west-1:${ACCOUNT}:cluster/ledger\tEC2\n`);
  fs.writeFileSync(path.join(dir, 'providers.tsv'), `# c\nledger\t${step}\t${PROVIDER}\tLedger-OidcProvider\tus-east-1\tProvider\n`);
  fs.writeFileSync(path.join(dir, 'regions.tsv'), '# region\nap-southeast-2\neu-west-1\n');
  return dir;
}
const SINCE = new Date('2026-09-07T00:00:00Z');

describe('the engine\'s provider preflight', () => {
  test('every check in the scripts\' order, then CloudTrail in every region of the fleet and us-east-1', async () => {
    const reader = new StandIn();
    const p = readProviderStep(providersDir('RETIRING'), 'ledger', 'preflight.sh');
    expect(p.regions).toEqual(['ap-southeast-2', 'eu-west-1', 'us-east-1']);
    expect(lines(await providerPreflight(p, reader, SINCE, true))).toEqual([
      `PASS ledger - credentials: account ${ACCOUNT}`,
      `PASS ledger - provider: ${PROVIDER} exists`,
      `PASS ledger - roles: no role of ${ACCOUNT} trusts ${PROVIDER}`,
      'PASS ledger - add-ons: none has a serviceAccountRoleArn',
      'PASS ledger - pods: none has AWS_WEB_IDENTITY_TOKEN_FILE',
      `PASS ledger - cloudtrail: no AssumeRoleWithWebIdentity through ${PROVIDER} since 2026-09-07T00:00:00Z in ap-southeast-2, eu-west-1, us-east-1`,
    ]);
    expect(reader.calls.filter((c) => c.startsWith('cloudtrail')).sort()).toEqual(['cloudtrail ap-southeast-2', 'cloudtrail eu-west-1', 'cloudtrail us-east-1']);
  });

  test('stops after the credentials when they reach another account, or kubectl is missing; KEPT checks nothing more; an unreadable provider stops', async () => {
    const p = readProviderStep(providersDir('RETIRING'), 'ledger', 'preflight.sh');
    const other = new StandIn();
    other.account = '444455556666';
    expect(lines(await providerPreflight(p, other, SINCE, true))).toEqual([`FAIL ledger - credentials: expected account ${ACCOUNT}; saw 444455556666 (give --profiles)`]);
    expect(lines(await providerPreflight(p, new StandIn(), SINCE, false))).toEqual(['FAIL - - tools: expected kubectl on PATH; saw none', `PASS ledger - credentials: account ${ACCOUNT}`]);
    const kept = new StandIn();
    expect(lines(await providerPreflight(readProviderStep(providersDir('KEPT'), 'ledger', 'preflight.sh'), kept, SINCE, true))).toEqual([
      `PASS ledger - credentials: account ${ACCOUNT}`, 'PASS ledger - step: KEPT takes the provider out of the app and keeps it; nothing can break',
    ]);
    expect(kept.calls).toEqual(['sts']);
    const unreadable = new StandIn();
    unreadable.exists = { ok: false, error: 'An error occurred (AccessDenied) when calling the GetOpenIDConnectProvider operation: no' };
    expect(lines(await providerPreflight(p, unreadable, SINCE, true))).toEqual([`PASS ledger - credentials: account ${ACCOUNT}`,
      'FAIL ledger - provider: cannot call iam get-open-id-connect-provider: An error occurred (AccessDenied) when calling the GetOpenIDConnectProvider operation: no']);
  });

  test('options: the window (90 days by default, --cloudtrail-days, --cloudtrail-since), and the usage errors', () => {
    const now = new Date('2026-12-06T12:00:00.700Z');
    expect(parseProviderArgs('preflight.sh', ['ledger'], now)).toEqual({ cluster: 'ledger', options: { since: new Date('2026-09-07T12:00:00Z') } });
    expect(parseProviderArgs('preflight.sh', ['ledger', '--cloudtrail-days', '7'], now)).toMatchObject({ options: { since: new Date('2026-11-29T12:00:00Z') } });
    expect(parseProviderArgs('preflight.sh', ['--cloudtrail-since', '2026-12-01T00:00:00Z', 'ledger'], now)).toMatchObject({ options: { since: new Date('2026-12-01T00:00:00Z') } });
    const usage = (args: string[]) => () => parseProviderArgs('preflight.sh', args, now);
    expect(usage(['ledger', '--cloudtrail-days', '91'])).toThrow(new ProviderUsageError(
      'preflight.sh: --cloudtrail-days expects a whole number from 1 to 90 (CloudTrail\'s lookup-events reaches back 90 days); got \'91\''));
    expect(usage(['ledger', '--cloudtrail-since', 'yesterday'])).toThrow(new ProviderUsageError(
      'preflight.sh: --cloudtrail-since expects an ISO 8601 time such as 2026-11-30T00:00:00Z; got \'yesterday\''));
    expect(usage(['ledger', '--cloudtrail-days', '7', '--cloudtrail-since', '2026-12-01T00:00:00Z'])).toThrow(new ProviderUsageError(
      'preflight.sh: give --cloudtrail-days or --cloudtrail-since, not both'));
    expect(usage(['ledger', 'other'])).toThrow(new ProviderUsageError('preflight.sh: one cluster at a time; got ledger and other'));
    expect(usage(['ledger', '--profiles', '/nonexistent'])).toThrow(new ProviderUsageError('preflight.sh: --profiles needs a readable file'));
    expect(usage(['--bogus'])).toThrow(new ProviderUsageError('preflight.sh: unknown option --bogus'));
    expect(usage([])).toThrow(new ProviderUsageError('preflight.sh: which cluster? Give the cluster whose OIDC provider step to run'));
    expect(() => readProviderStep(providersDir('KEPT'), 'shop-euw1', 'preflight.sh')).toThrow('the state records no provider step for cluster shop-euw1; these: ledger');
  });
});

// keep the step type in use for the reader of this file
export type { ProviderStep };

describe('the engine\'s provider verify', () => {
  test('after the deploy: the provider as its step says, and its stack holding it, complete (exact lines)', async () => {
    const reader = new StandIn();
    const at = (step: string) => readProviderStep(providersDir(step), 'ledger', 'verify.sh');
    expect(lines(await providerVerify(at('RETIRING'), reader))).toEqual([
      `PASS ledger - provider: ${PROVIDER} exists`,
      `PASS ledger - stack: Ledger-OidcProvider holds ${PROVIDER} (UPDATE_COMPLETE)`,
    ]);
    expect(reader.calls).toEqual(['exists', 'stack us-east-1 Ledger-OidcProvider Provider']);
    reader.resource = { ok: true, value: { physicalId: PROVIDER, status: 'UPDATE_FAILED' } };
    expect(lines(await providerVerify(at('ADOPTED'), reader))).toContain(
      `FAIL ledger - stack: expected Ledger-OidcProvider to hold ${PROVIDER}, complete; saw ${PROVIDER} UPDATE_FAILED`);
    reader.resource = { ok: false, error: 'An error occurred (ValidationError) when calling the DescribeStackResource operation: Stack \'Ledger-OidcProvider\' does not exist' };
    expect(lines(await providerVerify(at('ADOPTED'), reader))).toContain('FAIL ledger - stack: expected Ledger-OidcProvider to hold Provider; '
      + 'cloudformation describe-stack-resource says: An error occurred (ValidationError) when calling the DescribeStackResource operation: Stack \'Ledger-OidcProvider\' does not exist');
    // RETIRED: deleted, and no stack to ask; KEPT: present, no stack either
    reader.calls.length = 0;
    expect(lines(await providerVerify(at('RETIRED'), reader))).toEqual([`FAIL ledger - provider: expected ${PROVIDER} deleted; it exists. `
      + 'Was the RETIRING step deployed before (DeletionPolicy Delete)? If not, record RETIRING, deploy, then RETIRED again']);
    reader.exists = { ok: true, value: false };
    expect(lines(await providerVerify(at('RETIRED'), reader))).toEqual([`PASS ledger - provider: ${PROVIDER} is deleted`]);
    expect(lines(await providerVerify(at('KEPT'), reader))).toEqual([`FAIL ledger - provider: expected ${PROVIDER} to exist at KEPT; saw none`]);
    expect(reader.calls.filter((c) => c.startsWith('stack'))).toEqual([]);
    reader.exists = { ok: false, error: 'An error occurred (AccessDenied) when calling the GetOpenIDConnectProvider operation: no' };
    expect(lines(await providerVerify(at('RETIRING'), reader))).toEqual(['FAIL ledger - provider: cannot call iam get-open-id-connect-provider: '
      + 'An error occurred (AccessDenied) when calling the GetOpenIDConnectProvider operation: no']);
  });
});

test('a provider step prints its lines and RESULT, exits 1 on a FAIL, and writes --json with what each check expected and saw', async () => {
  const reader = new StandIn();
  reader.resource = { ok: true, value: { physicalId: PROVIDER, status: 'UPDATE_FAILED' } };
  const out: string[] = [];
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'provider-json-')), 'verify.json');
  const status = await runProviderVerify(readProviderStep(providersDir('RETIRING'), 'ledger', 'verify.sh'), reader, (l) => out.push(l), json);
  expect(status).toBe(1);
  expect(out).toEqual([
    'INFO ledger OIDC provider RETIRING: verify',
    `PASS ledger - provider: ${PROVIDER} exists`,
    `FAIL ledger - stack: expected Ledger-OidcProvider to hold ${PROVIDER}, complete; saw ${PROVIDER} UPDATE_FAILED`,
    'RESULT ledger provider verify RETIRING: 1 checks failed',
  ]);
  const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
  expect([doc.wave, doc.step, doc.cluster, doc.providerStep, doc.failed]).toEqual(['oidc-providers', 'verify', 'ledger', 'RETIRING', 1]);
  expect(doc.checks.map((c: any) => [c.check, c.status, c.expected, c.seen])).toEqual([
    ['provider', 'PASS', 'exists', 'exists'],
    ['stack', 'FAIL', `${PROVIDER}, complete`, `${PROVIDER} UPDATE_FAILED`],
  ]);
});
