import * as fs from 'fs';
import * as path from 'path';
import { AgentStatus, MigrationFiles, MigrationPhase } from '../../../src';
import { CLUSTERS_SCHEMA, PLAN_SCHEMA, ROLES_SCHEMA, STATE_SCHEMA } from '../../../src/migration/private/file-schemas';

const ARN = 'arn:aws:eks:us-east-1:111122223333:cluster/blue';
const clusters = (...items: object[]) => JSON.stringify(items);

describe('the schemas shipped in the package', () => {
  test.each([['clusters', CLUSTERS_SCHEMA], ['plan', PLAN_SCHEMA], ['state', STATE_SCHEMA], ['roles', ROLES_SCHEMA]])('schemas/%s.schema.json is the schema the code checks with', (name, schema) => {
    const shipped = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'schemas', `${name}.schema.json`), 'utf8'));
    expect(shipped).toEqual(schema);
  });

  test('the Northwind fleet files pass', () => {
    const fleet = path.join(__dirname, '..', '..', '..', 'examples', 'northwind', 'fleet');
    expect(MigrationFiles.clustersFromJson(fs.readFileSync(path.join(fleet, 'clusters.json'), 'utf8'))).toHaveLength(11);
    expect(MigrationFiles.planFromJson(fs.readFileSync(path.join(fleet, 'plan.json'), 'utf8')).waves).toHaveLength(5);
    expect(MigrationFiles.stateFromJson(fs.readFileSync(path.join(fleet, 'state.json'), 'utf8')).waves!.canary).toHaveLength(3);
  });
});

describe('MigrationFiles.clustersFromJson', () => {
  test('name or clusterName, agentStatus or podIdentityAgent: both spellings work', () => {
    const [a, b] = MigrationFiles.clustersFromJson(clusters(
      { name: 'blue', clusterArn: ARN, podIdentityAgent: 'PRE_INSTALLED' },
      { clusterName: 'green', clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/green', agentStatus: 'PRE_INSTALLED' },
    ));
    expect([a.clusterName, a.agentStatus, b.clusterName, b.agentStatus]).toEqual(['blue', AgentStatus.PRE_INSTALLED, 'green', AgentStatus.PRE_INSTALLED]);
  });

  test('an unknown key fails with the JSON path and the expected shape', () => {
    expect(() => MigrationFiles.clustersFromJson(clusters({ clusterName: 'blue', clusterArn: ARN, agent: 'PRE_INSTALLED' }), 'clusters.json')).toThrow(
      'MigrationFiles: clusters.json: $[0].agent: unknown key; expected { name?, clusterName?, clusterArn, region?, account?, oidcIssuer?, oidcProviderArn?, computeType?, agentStatus?, podIdentityAgent?, kind? }. The format: cdk-eks-pod-identity/clusters.schema.json in the package, and the README.');
  });

  test('a missing key, a wrong type, a bad enum value', () => {
    expect(() => MigrationFiles.clustersFromJson(clusters({ name: 'blue' }), 'clusters.json')).toThrow(/^MigrationFiles: clusters\.json: \$\[0\]: missing "clusterArn"; expected \{ name\?, clusterName\?, clusterArn, /);
    expect(() => MigrationFiles.clustersFromJson(clusters({ name: 7, clusterArn: ARN }), 'clusters.json')).toThrow(/^MigrationFiles: clusters\.json: \$\[0\]\.name: got 7; expected a string\. /);
    expect(() => MigrationFiles.clustersFromJson(clusters({ name: 'blue', clusterArn: ARN, computeType: 'EKS' }), 'clusters.json')).toThrow(
      /^MigrationFiles: clusters\.json: \$\[0\]\.computeType: got "EKS"; expected one of EC2, AUTO_MODE, AUTO_MODE_AND_NODE_GROUPS, HYBRID_NODES, FARGATE, OUTPOSTS\. /);
    expect(() => MigrationFiles.clustersFromJson('{"clusters": []}', 'clusters.json')).toThrow(/^MigrationFiles: clusters\.json: \$: got \{"clusters":\[\]\}; expected a list of objects\. /);
  });

  test('no name, names that disagree, and region or account that contradict the ARN', () => {
    expect(() => MigrationFiles.clustersFromJson(clusters({ clusterArn: ARN }), 'c.json')).toThrow('MigrationFiles: c.json: $[0]: missing "name" (or "clusterName"); expected the cluster name.');
    expect(() => MigrationFiles.clustersFromJson(clusters({ name: 'blue', clusterName: 'green', clusterArn: ARN }), 'c.json')).toThrow(
      'MigrationFiles: c.json: $[0]: "name" "blue" and "clusterName" "green" disagree; they are the same attribute, give one.');
    expect(() => MigrationFiles.clustersFromJson(clusters({ name: 'blue', clusterArn: ARN, region: 'eu-west-1' }), 'c.json')).toThrow(
      'MigrationFiles: c.json: $[0].region: "eu-west-1" differs from the clusterArn\'s "us-east-1" (arn:aws:eks:us-east-1:111122223333:cluster/blue).');
  });
});

describe('MigrationFiles.planFromJson and stateFromJson', () => {
  test('a wave with a phase: phases live in the state file', () => {
    expect(() => MigrationFiles.planFromJson(JSON.stringify({ waves: [{ name: 'w1', select: [], phase: 'DUAL_TRUST' }] }), 'plan.json')).toThrow(
      /^MigrationFiles: plan\.json: \$\.waves\[0\]\.phase: unknown key; expected \{ name, select, risk\? \}\. /);
  });

  test('a typo in a selector or a role plan', () => {
    expect(() => MigrationFiles.planFromJson(JSON.stringify({ waves: [{ name: 'w1', select: [{ namespce: 'a' }] }] }), 'plan.json')).toThrow(
      /^MigrationFiles: plan\.json: \$\.waves\[0\]\.select\[0\]\.namespce: unknown key; expected \{ namespace\?, namespacePrefix\?, /);
    expect(() => MigrationFiles.planFromJson(JSON.stringify({ waves: [], roles: { 'r-*': { statement: [] } } }), 'plan.json')).toThrow(
      /^MigrationFiles: plan\.json: \$\.roles\["r-\*"\]\.statement: unknown key; expected \{ account\?, statements\?, /);
  });

  test('state: strings or entries; a bad phase or key fails with the path', () => {
    const state = MigrationFiles.stateFromJson(JSON.stringify({ waves: { w1: ['IRSA_ONLY', { phase: 'DUAL_TRUST', note: 'CHG-1' }] } }));
    expect(state.waves!.w1).toEqual([{ phase: MigrationPhase.IRSA_ONLY }, { phase: MigrationPhase.DUAL_TRUST, note: 'CHG-1', acknowledge: undefined }]);
    expect(() => MigrationFiles.stateFromJson(JSON.stringify({ waves: { w1: ['DUAL'] } }), 'state.json')).toThrow(
      /^MigrationFiles: state\.json: \$\.waves\.w1\[0\]: got "DUAL"; expected one of IRSA_ONLY, DUAL_TRUST, POD_IDENTITY, ANNOTATION_REMOVED, POD_IDENTITY_ONLY or \{ phase, acknowledge\?, note\? \}\. /);
    expect(() => MigrationFiles.stateFromJson(JSON.stringify({ wave: {} }), 'state.json')).toThrow(/^MigrationFiles: state\.json: \$\.wave: unknown key; /);
  });
});
