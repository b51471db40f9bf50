import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { northwindProps } from './northwind';
import { MigrationPhase, PodIdentityMigration } from '../../src';

function pipelineApp(props = northwindProps({ wave1: MigrationPhase.POD_IDENTITY, wave2: MigrationPhase.DUAL_TRUST }, { pipelineStages: true })) {
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
  test('the foundation, then the waves in order, with a soak approval before each wave after the first', () => {
    const { pipelineStack } = pipelineApp();
    const stages: any[] = Template.fromStack(pipelineStack).findResources('AWS::CodePipeline::Pipeline')[
      Object.keys(Template.fromStack(pipelineStack).findResources('AWS::CodePipeline::Pipeline'))[0]].Properties.Stages;
    expect(stages.map((s) => s.Name)).toEqual(['Source', 'Build', 'UpdatePipeline', 'Foundation', 'wave1', 'wave2', 'wave3']);
    const approvals = (name: string) => stages.find((s) => s.Name === name).Actions
      .filter((a: any) => a.ActionTypeId.Category === 'Approval').map((a: any) => [a.Name, a.RunOrder]);
    expect(approvals('wave1')).toEqual([]);
    expect(approvals('wave2')).toEqual([['Soak-wave1', 1]]);
    expect(approvals('wave3')).toEqual([['Soak-wave2', 1]]);
    // each wave deploys its own stacks, after the approval
    const deploys = (name: string) => stages.find((s) => s.Name === name).Actions
      .filter((a: any) => a.ActionTypeId.Category === 'Deploy').map((a: any) => a.Configuration.StackName);
    expect(new Set(deploys('wave1'))).toEqual(new Set([
      'PodIdentity-wave1-111122223333-us-east-1', 'PodIdentity-wave1-111122223333-eu-west-1', 'PodIdentity-wave1-999988887777-us-east-1',
    ]));
    expect(new Set(deploys('Foundation'))).toEqual(new Set(['PodIdentity-Foundation-111122223333-us-east-1', 'PodIdentity-Foundation-111122223333-eu-west-1']));
  });

  test('addToPipeline needs pipelineStages', () => {
    expect(() => pipelineApp(northwindProps())).toThrow(
      "PodIdentityMigration at 'Northwind': addToPipeline() needs pipelineStages: true, so that the foundation and each wave are Stages a pipeline can deploy.");
  });
});
