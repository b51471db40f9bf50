import { clustersTsv, folderScript, ScriptFile, tsv } from './wave-scripts';
import { OidcProviderStep } from '../migration-state';

/** A cluster's OIDC provider whose retirement the state records. */
export interface ProviderEntry {
  readonly cluster: string;
  readonly clusterArn: string;
  readonly region: string;
  readonly account: string;
  readonly providerArn: string;
  readonly step: OidcProviderStep;
  readonly stackName: string;
  /** The stack's region (the home region: IAM is global). */
  readonly stackRegion: string;
  /** The stack's construct path (what `cdk import` and `cdk deploy` take). */
  readonly stackId: string;
  readonly logicalId: string;
  readonly computeType: string;
}

const DO: { [step in OidcProviderStep]: string } = {
  KEPT: 'the provider leaves the app and is kept (DeletionPolicy Retain): deploy the stack',
  ADOPTED: 'import the provider into its stack (cdk import with the mapping; a deploy would try to create it and fail)',
  RETIRING: 'deploy the stack: the provider stays, its DeletionPolicy becomes Delete',
  RETIRED: 'deploy the stack: CloudFormation deletes the provider',
};

/**
 * `runbooks/oidc-providers.md` and `runbooks/oidc-providers/`: the data the provider scripts read
 * (`clusters.tsv` as a wave's, `providers.tsv`) and `preflight.sh` / `verify.sh <cluster>`.
 */
export function providerRunbookFiles(providers: ProviderEntry[]): ScriptFile[] {
  if (providers.length === 0) {
    return [];
  }
  const data = (name: string, text: string): ScriptFile => ({ path: `oidc-providers/${name}`, text, executable: false });
  const script = (step: 'preflight' | 'verify', what: string): ScriptFile =>
    folderScript('oidc-providers', step, `OIDC provider retirement: ${step}.sh <cluster> ${what}.`, 'oidc-providers.md', 'pi_provider_main');
  return [
    data('clusters.tsv', clustersTsv(providers.map((p) => ({ name: p.cluster, region: p.region, account: p.account, arn: p.clusterArn, computeType: p.computeType })))),
    data('providers.tsv', tsv(providers.map((p) => [p.cluster, p.step, p.providerArn, p.stackName, p.stackRegion, p.logicalId]),
      ['cluster', 'step', 'providerArn', 'stackName', 'stackRegion', 'logicalId'])),
    script('preflight', 'checks that nothing uses the provider before its recorded step is deployed; changes nothing'),
    script('verify', 'checks that the provider is as its recorded step says, after the deploy; changes nothing'),
    { path: 'oidc-providers.md', executable: false, text: renderProviderRunbook(providers) },
  ];
}

function renderProviderRunbook(providers: ProviderEntry[]): string {
  const lines: string[] = [];
  const w = (line = '') => lines.push(line);
  w('# Retiring the OIDC providers');
  w();
  w('The state records the steps of each provider below (`oidcProviders`); this cloud assembly holds the last one.');
  w('One step per deploy, in either direction: KEPT, ADOPTED (imported, retained), RETIRING (deletion armed), RETIRED (deleted).');
  w('Synthesis refuses every step but KEPT while a role of the migration trusts the provider or the plan leaves a service account on IRSA on the cluster;');
  w('`preflight.sh` also checks what the app cannot see: IAM roles outside the app that trust the provider, managed add-ons with a `serviceAccountRoleArn`, and pods that still carry `AWS_WEB_IDENTITY_TOKEN_FILE`.');
  w();
  w('| Cluster | Step | Provider | Stack | Now |');
  w('|---|---|---|---|---|');
  for (const p of providers) {
    w(`| ${p.cluster} | ${p.step} | \`${p.providerArn}\` | ${p.stackName} | ${DO[p.step]} |`);
  }
  for (const p of providers) {
    w();
    w(`## ${p.cluster}: ${p.step}`);
    w();
    w('```bash');
    w(`runbooks/oidc-providers/preflight.sh ${p.cluster}`);
    if (p.step === OidcProviderStep.ADOPTED) {
      w(`npx cdk import --app cdk.out --resource-mapping cdk.out/import/${p.stackName}.json ${p.stackId}`);
    } else {
      w(`npx cdk deploy --app cdk.out --exclusively ${p.stackId}`);
    }
    w(`runbooks/oidc-providers/verify.sh ${p.cluster}`);
    w('```');
    if (p.step === OidcProviderStep.RETIRED) {
      w();
      w('To undo: record RETIRING; its deploy creates the provider again, with the same ARN (the issuer URL and the account make it), so roles that name it trust it again.');
    }
  }
  return lines.join('\n') + '\n';
}
