/**
 * Retiring a cluster's OIDC provider: a step of the stack set, recorded in the state one step per
 * deploy (KEPT, ADOPTED, RETIRING, RETIRED), refused while anything uses the provider.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fullDiff, ResourceImpact } from '@aws-cdk/cloudformation-diff';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as pipelines from 'aws-cdk-lib/pipelines';
import * as fc from 'fast-check';
import { IrsaInventory, MigrationFiles, MigrationPhase as P, OidcProviderStep as S, PodIdentityCluster, PodIdentityMigration } from '../../src';
import { PROVIDER_STEP_ORDER, resolveProviderSteps } from '../../src/migration/private/oidc-provider-steps';
import { recordWavePhases } from '../util/placement';

const ACCOUNT = '111122223333';
const CLUSTERS = [
  { name: 'shop-use1', region: 'us-east-1', issuer: 'oidc.eks.us-east-1.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE0001' },
  { name: 'shop-euw1', region: 'eu-west-1', issuer: 'oidc.eks.eu-west-1.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE0002' },
];
const providerArn = (c: typeof CLUSTERS[number]) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${c.issuer}`;

interface Options {
  /** Phase of each wave: `use1` selects shop-use1, `euw1` shop-euw1. */
  readonly phases?: { use1?: P; euw1?: P };
  readonly providers?: { [cluster: string]: S[] };
  /** A service account of shop-use1 in no wave. */
  readonly unassigned?: boolean;
  readonly placementDir?: string;
  /** With pipelineStages, added to a CDK Pipelines pipeline; its stack is returned in `pipelineStack`. */
  readonly pipeline?: { stack?: Stack };
}

/**
 * Synthesizes the two-cluster shop fleet; returns the assembly folder. A new placement folder is
 * first filled by a synthesis with nothing recorded, as the first deploy would.
 */
function synth(o: Options = {}): string {
  const placementDir = o.placementDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'retire-place-'));
  if (!fs.existsSync(path.join(placementDir, 'placement.json'))) {
    build({ placementDir });
    // the deploys that stepped the waves to where this synthesis starts
    recordWavePhases(path.join(placementDir, 'placement.json'), o.phases ?? {});
  }
  return build({ ...o, placementDir });
}

function build(o: Options & { placementDir: string }): string {
  const placementDir = o.placementDir;
  const inventory = new IrsaInventory();
  for (const c of CLUSTERS) {
    inventory.addEntry({ cluster: c.name, namespace: 'payments', serviceAccount: 'checkout', roleArn: `arn:aws:iam::${ACCOUNT}:role/checkout-${c.name}` });
  }
  if (o.unassigned) {
    inventory.addEntry({ cluster: 'shop-use1', namespace: 'legacy', serviceAccount: 'cron', roleArn: `arn:aws:iam::${ACCOUNT}:role/legacy-cron` });
  }
  const history = (phase: P | undefined) => {
    const order = [P.IRSA_ONLY, P.DUAL_TRUST, P.POD_IDENTITY, P.ANNOTATION_REMOVED, P.POD_IDENTITY_ONLY];
    return order.slice(0, order.indexOf(phase ?? P.IRSA_ONLY) + 1).map((phase_) => ({ phase: phase_ }));
  };
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'retire-'));
  const app = new App({ outdir });
  const migration = new PodIdentityMigration(app, 'Shop', {
    clusters: CLUSTERS.map((c) => PodIdentityCluster.fromClusterAttributes({
      clusterName: c.name, clusterArn: `arn:aws:eks:${c.region}:${ACCOUNT}:cluster/${c.name}`, oidcIssuer: c.issuer,
    })),
    inventory,
    plan: {
      waves: [{ name: 'use1', select: [{ cluster: 'shop-use1', namespace: 'payments' }] }, { name: 'euw1', select: [{ cluster: 'shop-euw1' }] }],
      roles: Object.fromEntries(CLUSTERS.map((c) => [`checkout-${c.name}`, { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::shop/*' }] }])),
    },
    state: {
      waves: { use1: history(o.phases?.use1), euw1: history(o.phases?.euw1) },
      oidcProviders: Object.fromEntries(Object.entries(o.providers ?? {}).map(([k, steps]) => [k, steps.map((step) => ({ step }))])),
    },
    placementFile: path.join(placementDir, 'placement.json'),
    homeRegion: 'us-east-1',
    pipelineStages: o.pipeline !== undefined,
  });
  if (o.pipeline) {
    o.pipeline.stack = new Stack(app, 'Pipeline', { env: { account: ACCOUNT, region: 'us-east-1' } });
    migration.addToPipeline(new pipelines.CodePipeline(o.pipeline.stack, 'Pipeline', {
      crossAccountKeys: true,
      synth: new pipelines.ShellStep('Synth', {
        input: pipelines.CodePipelineSource.connection('shop/platform', 'main', { connectionArn: `arn:aws:codeconnections:us-east-1:${ACCOUNT}:connection/example` }),
        commands: ['npm ci', 'npx cdk synth'],
      }),
    }));
  }
  app.synth();
  return outdir;
}

const STACK = 'PodIdentity-OidcProvider-shop-use1-111122223333-us-east-1';
const template = (outdir: string, stackName: string) => {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const id = Object.keys(manifest.artifacts).find((k) => manifest.artifacts[k].properties?.stackName === stackName);
  return id === undefined ? undefined : JSON.parse(fs.readFileSync(path.join(outdir, manifest.artifacts[id].properties.templateFile), 'utf8'));
};
const ONLY = { use1: P.POD_IDENTITY_ONLY };

describe('the steps of a provider', () => {
  test('ADOPTED: the provider imported by its ARN, retained, in a stack after the roles of its account', () => {
    const outdir = synth({ phases: ONLY, providers: { 'shop-use1': [S.ADOPTED] } });
    expect(template(outdir, STACK).Resources.Provider).toEqual({
      Type: 'AWS::IAM::OIDCProvider',
      Properties: { Url: `https://${CLUSTERS[0].issuer}`, ClientIdList: ['sts.amazonaws.com'] },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Metadata: { 'cdk-eks-pod-identity:oidcProviderStep': 'ADOPTED' },
    });
    expect(JSON.parse(fs.readFileSync(path.join(outdir, 'import', `${STACK}.json`), 'utf8'))).toEqual({ Provider: { Arn: providerArn(CLUSTERS[0]) } });
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    const artifact = Object.values<any>(manifest.artifacts).find((a) => a.properties?.stackName === STACK);
    expect(artifact.environment).toEqual(`aws://${ACCOUNT}/us-east-1`);
    expect(artifact.dependencies.filter((d: string) => !d.endsWith('.assets'))).toEqual([expect.stringMatching(/^ShopRoles111122223333/)]);
    // the other cluster's provider is not touched
    expect(template(outdir, 'PodIdentity-OidcProvider-shop-euw1-111122223333-eu-west-1')).toBeUndefined();
  });

  test('RETIRING: deletion armed, the metadata changes with it (CloudFormation ignores a DeletionPolicy change alone)', () => {
    const outdir = synth({ phases: ONLY, providers: { 'shop-use1': [S.ADOPTED, S.RETIRING] } });
    const provider = template(outdir, STACK).Resources.Provider;
    expect([provider.DeletionPolicy, provider.UpdateReplacePolicy, provider.Metadata]).toEqual(['Delete', 'Retain', { 'cdk-eks-pod-identity:oidcProviderStep': 'RETIRING' }]);
    expect(fs.existsSync(path.join(outdir, 'import', `${STACK}.json`))).toBe(false);
  });

  test.each([
    [[S.ADOPTED, S.RETIRING, S.RETIRED]],
    [[S.ADOPTED, S.KEPT]],
  ])('%j: the provider leaves the template; the stack stays, deployable, with a placeholder', (steps) => {
    const outdir = synth({ phases: ONLY, providers: { 'shop-use1': steps } });
    expect(Object.values<any>(template(outdir, STACK).Resources).map((r) => r.Type)).toEqual(['AWS::CloudFormation::WaitConditionHandle']);
  });

  test('each step, both ways, changes only the provider: never replaced; RETIRING -> RETIRED deletes it, as armed', () => {
    const placementDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retire-place-'));
    const order = [[], [S.ADOPTED], [S.ADOPTED, S.RETIRING], [S.ADOPTED, S.RETIRING, S.RETIRED]];
    const at = order.map((providers) => synth({ phases: ONLY, providers: { 'shop-use1': providers }, placementDir }));
    const changes = (a: string, b: string) => {
      const out: string[] = [];
      const stacks = new Set(fs.readdirSync(a).concat(fs.readdirSync(b)).filter((f) => f.endsWith('.template.json')));
      for (const file of stacks) {
        const read = (dir: string) => (fs.existsSync(path.join(dir, file)) ? JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) : {});
        fullDiff(read(a), read(b)).resources.forEachDifference((logicalId, change) => {
          if (change.resourceType !== 'AWS::CDK::Metadata') {
            out.push(`${file.replace(/[A-F0-9]{8}\.template\.json$/, '')} ${logicalId} ${change.changeImpact}`);
          }
        });
      }
      return out.sort();
    };
    const stack = 'ShopOidcProvidersshopuse1111122223333useast1';
    expect(changes(at[0], at[1])).toEqual([`${stack} Placeholder ${ResourceImpact.WILL_DESTROY}`, `${stack} Provider ${ResourceImpact.WILL_CREATE}`]);
    expect(changes(at[1], at[2])).toEqual([`${stack} Provider ${ResourceImpact.WILL_UPDATE}`]);
    expect(changes(at[2], at[3])).toEqual([`${stack} Placeholder ${ResourceImpact.WILL_CREATE}`, `${stack} Provider ${ResourceImpact.WILL_DESTROY}`]);
    expect(changes(at[3], at[2])).toEqual([`${stack} Placeholder ${ResourceImpact.WILL_DESTROY}`, `${stack} Provider ${ResourceImpact.WILL_CREATE}`]);
    expect(changes(at[2], at[1])).toEqual([`${stack} Provider ${ResourceImpact.WILL_UPDATE}`]);
  });

  test('the runbook: the data, the commands of the step, the scripts', () => {
    const outdir = synth({ phases: ONLY, providers: { 'shop-use1': [S.ADOPTED] } });
    const runbooks = path.join(outdir, 'runbooks');
    expect(fs.readFileSync(path.join(runbooks, 'oidc-providers', 'providers.tsv'), 'utf8')).toEqual(
      '# cluster\tstep\tproviderArn\tstackName\tstackRegion\tlogicalId\n'
      + `shop-use1\tADOPTED\t${providerArn(CLUSTERS[0])}\t${STACK}\tus-east-1\tProvider\n`);
    const md = fs.readFileSync(path.join(runbooks, 'oidc-providers.md'), 'utf8');
    expect(md).toContain(`npx cdk import --app cdk.out --resource-mapping cdk.out/import/${STACK}.json Shop/OidcProviders/shop-use1-111122223333-us-east-1\n`);
    for (const step of ['preflight', 'verify']) {
      expect((fs.statSync(path.join(runbooks, 'oidc-providers', `${step}.sh`)).mode % 0o1000).toString(8)).toBe('755');
    }
  });
});

describe('in CDK Pipelines', () => {
  test.each([
    [[S.ADOPTED], `Import the adopted OIDC providers first (cdk import, see runbooks/oidc-providers.md): ${STACK}`],
    [[S.ADOPTED, S.RETIRING], 'Review the OIDC provider steps (runbooks/oidc-providers.md); RETIRED deletes a provider'],
  ])('%j: the providers are the last Stage, behind an approval that names what to import by hand', (steps, comment) => {
    const pipeline: { stack?: Stack } = {};
    synth({ phases: ONLY, providers: { 'shop-use1': steps }, pipeline });
    const stages: any[] = Object.values<any>(Template.fromStack(pipeline.stack!).findResources('AWS::CodePipeline::Pipeline'))[0].Properties.Stages;
    expect(stages.map((st) => st.Name)).toEqual(['Source', 'Build', 'UpdatePipeline', 'Foundation', 'Roles', 'Clusters', 'use1', 'euw1', 'OidcProviders']);
    const actions: any[] = stages[stages.length - 1].Actions;
    expect(actions.filter((a) => a.ActionTypeId.Category === 'Approval').map((a) => [a.Name, a.RunOrder, a.Configuration.CustomData]))
      .toEqual([['ReviewOidcProviders', 1, comment]]);
    expect(actions.filter((a) => a.ActionTypeId.Category === 'Deploy').map((a) => a.Configuration.StackName)).toEqual([STACK, STACK]);
  });
});

describe('refused', () => {
  test('a step while a role of the migration still trusts the provider (its wave is not at POD_IDENTITY_ONLY)', () => {
    expect(() => synth({ phases: { use1: P.ANNOTATION_REMOVED }, providers: { 'shop-use1': [S.ADOPTED] } })).toThrow(
      "PodIdentityMigration at 'Shop': the OIDC provider of cluster \"shop-use1\" cannot be at ADOPTED (recorded in the state): still used by role arn:aws:iam::111122223333:role/checkout-shop-use1. "
      + 'Move every wave on the cluster to POD_IDENTITY_ONLY, retire the IRSA roles kept for it, and migrate the service accounts left on IRSA first; or step the provider back towards KEPT (record KEPT).');
  });

  test('a step while a service account of the cluster is in no wave', () => {
    expect(() => synth({ phases: ONLY, unassigned: true, providers: { 'shop-use1': [S.ADOPTED, S.RETIRING] } })).toThrow(
      "PodIdentityMigration at 'Shop': the OIDC provider of cluster \"shop-use1\" cannot be at RETIRING (recorded in the state): still used by legacy/cron (in no wave). "
      + 'Move every wave on the cluster to POD_IDENTITY_ONLY, retire the IRSA roles kept for it, and migrate the service accounts left on IRSA first; or step the provider back towards KEPT (one step per deploy).');
  });

  test('a jump over a step', () => {
    expect(() => synth({ phases: ONLY, providers: { 'shop-use1': [S.ADOPTED, S.RETIRED] } })).toThrow(
      "PodIdentityMigration at 'Shop': the state of the OIDC provider of cluster \"shop-use1\", entry 2: the step from ADOPTED to RETIRED jumps over RETIRING. Each step is one deploy (the provider is imported, its deletion armed, then it is removed): record RETIRING next.");
  });

  test('a cluster that is not in clusters', () => {
    expect(() => synth({ phases: ONLY, providers: { 'shop-usw2': [S.ADOPTED] } })).toThrow(
      "PodIdentityMigration at 'Shop': the state records the OIDC provider of cluster \"shop-usw2\", which is not in clusters. A cluster whose provider was retired stays in clusters; fix the name in the state file.");
  });

  test('an unknown step in the state file', () => {
    expect(() => MigrationFiles.stateFromJson('{"waves": {}, "oidcProviders": {"shop-use1": ["DELETED"]}}', 'state.json')).toThrow(
      'MigrationFiles: state.json: $.oidcProviders["shop-use1"][0]: got "DELETED"; expected one of KEPT, ADOPTED, RETIRING, RETIRED or { step, note? }.');
  });
});

describe('the state file', () => {
  test('steps as strings or objects with a note', () => {
    expect(MigrationFiles.stateFromJson('{"oidcProviders": {"shop-use1": ["ADOPTED", {"step": "RETIRING", "note": "CHG-7"}]}}')).toEqual({
      waves: {},
      oidcProviders: { 'shop-use1': [{ step: S.ADOPTED }, { step: S.RETIRING, note: 'CHG-7' }] },
    });
  });
});

describe('property: any recorded history', () => {
  test('is accepted exactly when every entry is one step from the one before, and ends where it says', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...PROVIDER_STEP_ORDER), { maxLength: 8 }), (steps) => {
      const ok = steps.every((s, i) => Math.abs(PROVIDER_STEP_ORDER.indexOf(s) - PROVIDER_STEP_ORDER.indexOf(i === 0 ? S.KEPT : steps[i - 1])) <= 1);
      const resolve = () => resolveProviderSteps(['c'], { c: steps.map((step) => ({ step })) });
      if (ok) {
        expect(resolve().get('c')).toEqual(steps.length === 0 ? S.KEPT : steps[steps.length - 1]);
      } else {
        expect(resolve).toThrow(/jumps over/);
      }
    }), { numRuns: 500 });
  });

  test('the provider\'s stack and logical ID never change: only its presence and policy follow the step', () => {
    const placementDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retire-place-'));
    const walks = fc.array(fc.constantFrom(-1, 1), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(walks, (moves) => {
      const steps: S[] = [];
      let at = 0;
      for (const m of moves) {
        at = Math.min(Math.max(at + m, 0), PROVIDER_STEP_ORDER.length - 1);
        steps.push(PROVIDER_STEP_ORDER[at]);
      }
      const outdir = synth({ phases: ONLY, providers: { 'shop-use1': steps }, placementDir });
      const resources = template(outdir, STACK).Resources;
      const step = steps[steps.length - 1];
      const present = step === S.ADOPTED || step === S.RETIRING;
      expect(Object.keys(resources)).toEqual(present ? ['Provider'] : ['Placeholder']);
      if (present) {
        expect(resources.Provider.DeletionPolicy).toEqual(step === S.ADOPTED ? 'Retain' : 'Delete');
      }
      expect(fs.existsSync(path.join(outdir, 'import', `${STACK}.json`))).toBe(step === S.ADOPTED);
    }), { numRuns: 25 });
  });
});
