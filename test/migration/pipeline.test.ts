import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { northwindProps } from './northwind';
import { MigrationPhase, PodIdentityMigration } from '../../src';

function pipelineApp(props = northwindProps({ canary: MigrationPhase.POD_IDENTITY, wave1: MigrationPhase.DUAL_TRUST }, { pipelineStages: true })) {
  const app = new App();
  const pipelineStack = new Stack(app, 'Pipeline', { env: { account: '111122223333', region: 'us-east-1' } });
  const pipeline = new pipelines.CodePipeline(pipelineStack, 'Pipeline', {
    crossAccountKeys: true,
    synth: new pipelines.ShellStep('Synth', {
      input: pipelines.CodePipelineSource.connection('northwind/platform', 'main', { connectionArn: 'arn:aws:codeconnections:us-east-1:111122223333:connection/example' }),
      commands: ['npm ci', 'npx cdk synth'],
    }),
  });
  const migration = new PodIdentityMigration(app, 'Northwind', props);
  migration.addToPipeline(pipeline);
  return { app, pipelineStack, migration };
}

describe('PodIdentityMigration in CDK Pipelines', () => {
  test('the foundation, the roles after a review approval, the associations, then each wave\'s record in plan order', () => {
    const { pipelineStack } = pipelineApp();
    const template = Template.fromStack(pipelineStack);
    const stages: any[] = Object.values<any>(template.findResources('AWS::CodePipeline::Pipeline'))[0].Properties.Stages;
    expect(stages.map((s) => s.Name)).toEqual(['Source', 'Build', 'UpdatePipeline', 'Foundation', 'Roles', 'Clusters', 'Addons', 'canary', 'wave1', 'wave2', 'wave3', 'cni']);
    const approvals = (name: string) => stages.find((s) => s.Name === name).Actions
      .filter((a: any) => a.ActionTypeId.Category === 'Approval').map((a: any) => [a.Name, a.RunOrder]);
    expect(approvals('Roles')).toEqual([['ReviewPhaseChange', 1]]);
    expect(approvals('Clusters')).toEqual([]);
    const deploys = (name: string) => new Set(stages.find((s) => s.Name === name).Actions
      .filter((a: any) => a.ActionTypeId.Category === 'Deploy').map((a: any) => a.Configuration.StackName));
    expect(deploys('Foundation')).toEqual(new Set(['PodIdentity-Foundation-111122223333-us-east-1', 'PodIdentity-Foundation-111122223333-eu-west-1']));
    expect(deploys('Roles')).toEqual(new Set(['PodIdentity-Roles-111122223333', 'PodIdentity-Roles-444455556666', 'PodIdentity-Roles-999988887777']));
    expect(deploys('Clusters').size).toBe(11);
    expect(deploys('canary')).toEqual(new Set(['PodIdentity-Wave-canary-111122223333-us-east-1']));
    expect(deploys('wave1')).toEqual(new Set(['PodIdentity-Wave-wave1-111122223333-us-east-1', 'PodIdentity-Wave-wave1-111122223333-eu-west-1']));
  });

  test('addToPipeline needs pipelineStages', () => {
    expect(() => pipelineApp(northwindProps())).toThrow(
      "PodIdentityMigration at 'Northwind': addToPipeline() needs pipelineStages: true, so that the foundation, the roles, the associations and each wave are Stages a pipeline can deploy.");
  });
});
