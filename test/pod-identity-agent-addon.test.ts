import { App, CfnResource, Stack, Stage } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as eksv2 from 'aws-cdk-lib/aws-eks-v2';
import { AddonConflictResolution, AgentStatus, ComputeType, PodIdentityAgentAddon, PodIdentityCluster } from '../src';

const ENV = { account: '111122223333', region: 'us-east-1' };

function cluster(name: string, extra: object = {}) {
  return PodIdentityCluster.fromClusterAttributes({
    clusterName: name,
    clusterArn: `arn:aws:eks:us-east-1:111122223333:cluster/${name}`,
    ...extra,
  });
}

describe('PodIdentityAgentAddon', () => {
  test('creates the eks-pod-identity-agent add-on with safe defaults', () => {
    // GIVEN
    const stack = new Stack(new App(), 'S', { env: ENV });

    // WHEN
    const addon = new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1') });

    // THEN
    expect(addon.installed).toBe(true);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EKS::Addon', 1);
    template.hasResource('AWS::EKS::Addon', {
      Properties: {
        AddonName: 'eks-pod-identity-agent',
        ClusterName: 'c1',
        ResolveConflicts: 'OVERWRITE',
        PreserveOnDelete: true,
        AddonVersion: Match.absent(),
        ConfigurationValues: Match.absent(),
      },
    });
    expect(stack.resolve(addon.addonArn)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(addon.resource!), 'Arn'] });
  });

  test('the L1 child has the id Resource', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const addon = new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1') });
    expect(addon.node.defaultChild).toBe(addon.resource);
  });

  test('passes version, conflict resolution, preserve-on-delete and configuration values', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new PodIdentityAgentAddon(stack, 'Agent', {
      cluster: cluster('c1'),
      addonVersion: 'v1.3.4-eksbuild.1',
      resolveConflicts: AddonConflictResolution.PRESERVE,
      preserveOnDelete: false,
      configurationValues: { tolerations: [{ operator: 'Exists' }] },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::EKS::Addon', {
      AddonVersion: 'v1.3.4-eksbuild.1',
      ResolveConflicts: 'PRESERVE',
      PreserveOnDelete: false,
      ConfigurationValues: '{"tolerations":[{"operator":"Exists"}]}',
    });
  });

  test.each([
    ['Auto Mode cluster', { computeType: ComputeType.AUTO_MODE }, 'EKS Auto Mode has the agent built in'],
    ['Auto Mode agent on EC2 compute', { agentStatus: AgentStatus.AUTO_MODE }, 'EKS Auto Mode has the agent built in'],
    ['agent declared pre-installed', { agentStatus: AgentStatus.PRE_INSTALLED }, 'the agent is declared PRE_INSTALLED'],
  ])('%s: no add-on, an info annotation says why', (_name, extra, reason) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const addon = new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1', extra) });
    expect(addon.installed).toBe(false);
    expect(addon.resource).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::EKS::Addon', 0);
    Annotations.fromStack(stack).hasInfo('/S/Agent', `No eks-pod-identity-agent add-on for cluster "c1": ${reason}.`);
    expect(() => addon.addonArn).toThrow(
      `PodIdentityAgentAddon at 'S/Agent': no add-on is created for cluster "c1" (agentStatus ${addon.cluster.agentStatus}), so it has no addonArn; check \`installed\` first.`);
  });

  test('an aws-eks-v2 Auto Mode cluster gets no add-on', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const c = new eksv2.Cluster(stack, 'C', { version: eksv2.KubernetesVersion.V1_33 });
    new PodIdentityAgentAddon(stack, 'Agent', { cluster: PodIdentityCluster.fromClusterV2(c) });
    Template.fromStack(stack).resourceCountIs('AWS::EKS::Addon', 0);
  });

  test('an aws-eks-v2 Auto Mode cluster with a node group gets one add-on (its node groups need it)', () => {
    // GIVEN the default (Auto Mode) cluster and a managed node group
    const stack = new Stack(new App(), 'S', { env: ENV });
    const c = new eksv2.Cluster(stack, 'C', { version: eksv2.KubernetesVersion.V1_33 });
    c.addNodegroupCapacity('Gpu', { minSize: 1 });
    // WHEN
    const ref = PodIdentityCluster.fromClusterV2(c);
    new PodIdentityAgentAddon(stack, 'Agent', { cluster: ref });
    // THEN
    expect(ref.computeType).toBe(ComputeType.AUTO_MODE_AND_NODE_GROUPS);
    Template.fromStack(stack).resourceCountIs('AWS::EKS::Addon', 1);
  });

  test('a node group added after the Auto Mode cluster was referenced fails validation', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const c = new eksv2.Cluster(stack, 'C', { version: eksv2.KubernetesVersion.V1_33 });
    new PodIdentityAgentAddon(stack, 'Agent', { cluster: PodIdentityCluster.fromClusterV2(c) });
    c.addNodegroupCapacity('Late', { minSize: 1 });
    expect(() => Template.fromStack(stack)).toThrow(
      /PodIdentityAgentAddon at 'S\/Agent': cluster at 'S\/C' was referenced as Auto Mode only, but it also runs 'S\/C\/NodegroupLate\/Resource': pods there need the eks-pod-identity-agent add-on\. Reference the cluster \(PodIdentityCluster\.fromClusterV2\) after adding its node groups, or declare computeType AUTO_MODE_AND_NODE_GROUPS\./);
  });

  test.each([
    [ComputeType.AUTO_MODE_AND_NODE_GROUPS, 'v1.3.3-eksbuild.1', 'v1.3.4', 'node groups beside EKS Auto Mode'],
    [ComputeType.HYBRID_NODES, 'v1.3.2-eksbuild.2', 'v1.3.3', 'EKS Hybrid Nodes'],
  ])('%s: an add-on older than the first that serves it is an error', (computeType, old, minimum, what) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    expect(() => new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1', { computeType }), addonVersion: old })).toThrow(
      `PodIdentityAgentAddon at 'S/Agent': addonVersion "${old}" is older than ${minimum}, the first that serves ${what} (cluster "c1" is ${computeType}). Use ${minimum} or later, or leave addonVersion unset for EKS's default.`);
    // the first version that serves it, and EKS's default, are fine
    new PodIdentityAgentAddon(new Stack(new App(), 'S', { env: ENV }), 'Agent', { cluster: cluster('c1', { computeType }), addonVersion: `${minimum}-eksbuild.1` });
    const ok = new Stack(new App(), 'S', { env: ENV });
    new PodIdentityAgentAddon(ok, 'Agent', { cluster: cluster('c1', { computeType }) });
    Template.fromStack(ok).resourceCountIs('AWS::EKS::Addon', 1);
  });

  test('Auto Mode with node groups contradicts agentStatus AUTO_MODE', () => {
    expect(() => cluster('c1', { computeType: ComputeType.AUTO_MODE_AND_NODE_GROUPS, agentStatus: AgentStatus.AUTO_MODE })).toThrow(
      /agentStatus AUTO_MODE contradicts computeType AUTO_MODE_AND_NODE_GROUPS: the agent is built into Auto Mode nodes only, and pods on the node groups need the eks-pod-identity-agent add-on\./);
  });

  test('a Fargate-only cluster is an error', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    expect(() => new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1', { computeType: ComputeType.FARGATE }) })).toThrow(
      'PodIdentityAgentAddon at \'S/Agent\': cluster "c1" is declared computeType FARGATE; EKS Pod Identity does not support Fargate pods (the agent is a DaemonSet on EC2 nodes). Keep IRSA for this cluster\'s workloads, or, if it also runs EC2 nodes, declare computeType: ComputeType.EC2.');
  });

  test('an Outposts cluster is an error', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    expect(() => new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1', { computeType: ComputeType.OUTPOSTS }) })).toThrow(
      'PodIdentityAgentAddon at \'S/Agent\': cluster "c1" is declared computeType OUTPOSTS; EKS Pod Identity does not support EKS local clusters on Outposts.');
  });

  test('a second add-on for the same cluster anywhere in the app is an error that names the first', () => {
    // GIVEN
    const app = new App();
    const s1 = new Stack(app, 'S1', { env: ENV });
    const s2 = new Stack(app, 'S2', { env: ENV });
    const first = new PodIdentityAgentAddon(s1, 'Agent', { cluster: cluster('c1') });

    // THEN: a second reference to the same cluster, in another stack
    expect(() => new PodIdentityAgentAddon(s2, 'Agent', { cluster: cluster('c1') })).toThrow(
      'PodIdentityAgentAddon at \'S2/Agent\': cluster "c1" already has a PodIdentityAgentAddon at \'S1/Agent\'; an app holds at most one per cluster (EKS allows one add-on of a name per cluster). Use PodIdentityAgentAddon.forCluster(scope, cluster) to reuse it.');
    expect(PodIdentityAgentAddon.forCluster(s2, cluster('c1'))).toBe(first);
    expect(PodIdentityAgentAddon.forCluster(s2, cluster('c2'))).toBeUndefined();
  });

  test('one add-on per cluster: two clusters, two add-ons; separate apps do not interfere', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    new PodIdentityAgentAddon(stack, 'A1', { cluster: cluster('c1') });
    new PodIdentityAgentAddon(stack, 'A2', { cluster: cluster('c2') });
    Template.fromStack(stack).resourceCountIs('AWS::EKS::Addon', 2);

    const other = new Stack(new App(), 'S', { env: ENV });
    expect(() => new PodIdentityAgentAddon(other, 'A1', { cluster: cluster('c1') })).not.toThrow();
  });

  test('an add-on created by aws-eks for the same cluster fails validation', () => {
    // GIVEN: aws-eks's own agent add-on (as cluster.eksPodIdentityAgent creates it)
    const stack = new Stack(new App(), 'S', { env: ENV });
    const imported = eks.Cluster.fromClusterAttributes(stack, 'C', { clusterName: 'c1' });
    new eks.Addon(stack, 'Theirs', { cluster: imported, addonName: 'eks-pod-identity-agent' });

    // WHEN
    new PodIdentityAgentAddon(stack, 'Agent', { cluster: PodIdentityCluster.fromCluster(imported) });

    // THEN
    expect(() => Template.fromStack(stack)).toThrow(
      'PodIdentityAgentAddon at \'S/Agent\': another eks-pod-identity-agent add-on for cluster "c1" exists at \'S/Theirs/Resource\'');
  });

  test('aws-eks-v2: cluster.eksPodIdentityAgent plus a PodIdentityAgentAddon fails synthesis, naming both', () => {
    // GIVEN an aws-eks-v2 cluster with node groups (not Auto Mode) and its own agent add-on
    const stack = new Stack(new App(), 'S', { env: ENV });
    const c = new eksv2.Cluster(stack, 'C', { version: eksv2.KubernetesVersion.V1_33, defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP });
    void c.eksPodIdentityAgent;

    // WHEN
    new PodIdentityAgentAddon(stack, 'Agent', { cluster: PodIdentityCluster.fromClusterV2(c) });

    // THEN
    expect(() => Template.fromStack(stack)).toThrow(
      /PodIdentityAgentAddon at 'S\/Agent': another eks-pod-identity-agent add-on for cluster .* exists at 'S\/C\/EksPodIdentityAgentAddon\/Resource'/);
  });

  test('an add-on in another Stage of the app is found', () => {
    // GIVEN: the add-on in a nested Stage, another one for the same cluster in a stack of the App
    const app = new App();
    const stage = new Stage(app, 'Foundation');
    const stack = new Stack(stage, 'S', { env: ENV });
    new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1') });
    const outside = new Stack(app, 'Outside', { env: ENV });
    new CfnResource(outside, 'Plain', { type: 'AWS::EKS::Addon', properties: { AddonName: 'eks-pod-identity-agent', ClusterName: 'c1' } });

    // THEN
    expect(() => app.synth()).toThrow("PodIdentityAgentAddon at 'Foundation/S/Agent': another eks-pod-identity-agent add-on for cluster \"c1\" exists at 'Outside/Plain'");

  });

  test('an add-on written as a plain CfnResource for the same cluster fails validation too', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    new CfnResource(stack, 'Plain', { type: 'AWS::EKS::Addon', properties: { AddonName: 'eks-pod-identity-agent', ClusterName: 'c1' } });
    new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1') });
    expect(() => Template.fromStack(stack)).toThrow("exists at 'S/Plain'");
    // another cluster's add-on is no conflict
    const other = new Stack(new App(), 'S', { env: ENV });
    new CfnResource(other, 'Plain', { type: 'AWS::EKS::Addon', properties: { AddonName: 'eks-pod-identity-agent', ClusterName: 'c2' } });
    new PodIdentityAgentAddon(other, 'Agent', { cluster: cluster('c1') });
    expect(() => Template.fromStack(other)).not.toThrow();
  });

  test('a stack in another region than the cluster is an error', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'eu-west-1' } });
    expect(() => new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1') })).toThrow(
      'PodIdentityAgentAddon at \'S/Agent\': cluster "c1" is in region us-east-1 but the stack \'S\' deploys to region eu-west-1: put the add-on in a stack whose env is the cluster\'s account and region.');
  });

  test('an environment-agnostic stack is accepted', () => {
    const stack = new Stack(new App(), 'S');
    new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1') });
    Template.fromStack(stack).resourceCountIs('AWS::EKS::Addon', 1);
  });

  test('invalid addonVersion is an error', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    expect(() => new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1'), addonVersion: '1.3.4' })).toThrow(
      'PodIdentityAgentAddon at \'S/Agent\': invalid addonVersion "1.3.4": expected an EKS add-on version such as "v1.3.4-eksbuild.1" (list them with `aws eks describe-addon-versions --addon-name eks-pod-identity-agent`).');
  });

  test('configurationValues must be an object', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    expect(() => new PodIdentityAgentAddon(stack, 'Agent', { cluster: cluster('c1'), configurationValues: [1] as any })).toThrow(
      'PodIdentityAgentAddon at \'S/Agent\': configurationValues must be a JSON object such as { tolerations: [{ operator: \'Exists\' }] }; got [1].');
  });
});
