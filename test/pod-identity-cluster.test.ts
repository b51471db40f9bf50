import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as eksv2 from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentStatus, ComputeType, DualTrustRole, MigrationPhase, PodIdentityCluster } from '../src';

const ARN = 'arn:aws:eks:us-east-1:111122223333:cluster/platform-prod-use1-blue';
const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/DF75D6E91EF1EBC6E151576E19DDAE75';
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;

describe('PodIdentityCluster.fromClusterAttributes', () => {
  test('parses region and account from the ARN and derives the OIDC provider ARN from the issuer', () => {
    // WHEN
    const cluster = PodIdentityCluster.fromClusterAttributes({
      clusterName: 'platform-prod-use1-blue',
      clusterArn: ARN,
      oidcIssuer: `https://${ISSUER}/`,
    });

    // THEN
    expect(cluster.region).toEqual('us-east-1');
    expect(cluster.account).toEqual('111122223333');
    expect(cluster.oidcIssuer).toEqual(ISSUER);
    expect(cluster.oidcProviderArn).toEqual(PROVIDER);
    expect(cluster.computeType).toEqual(ComputeType.EC2);
    expect(cluster.agentStatus).toEqual(AgentStatus.NOT_INSTALLED);
    expect(cluster.supportsPodIdentity).toBe(true);
    expect(cluster.needsAgentAddon).toBe(true);
  });

  test('an issuer of another region than the cluster ARN (copied from another cluster) is refused, naming both and the command', () => {
    expect(() => PodIdentityCluster.fromClusterAttributes({
      clusterName: 'platform-prod-use1-blue', clusterArn: ARN, oidcIssuer: 'oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9',
    })).toThrow('PodIdentityCluster.fromClusterAttributes("platform-prod-use1-blue"): oidcIssuer "oidc.eks.eu-west-1.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9" is in region eu-west-1, '
      + 'but clusterArn "arn:aws:eks:us-east-1:111122223333:cluster/platform-prod-use1-blue" is in us-east-1: an EKS cluster\'s issuer is in its own region, so this one was taken from another cluster. '
      + 'Use this cluster\'s issuer (aws eks describe-cluster --name platform-prod-use1-blue --region us-east-1 --query cluster.identity.oidc.issuer).');
  });

  test('an issuer without a cluster ARN has no provider ARN: the IRSA trust says what is missing', () => {
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'platform-prod-use1-blue', oidcIssuer: ISSUER });
    expect(cluster.oidcProviderArn).toBeUndefined();
    const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'us-east-1' } });
    expect(() => new DualTrustRole(stack, 'Role', {
      phase: MigrationPhase.DUAL_TRUST, irsaTrusts: [{ cluster, namespace: 'payments', serviceAccount: 'checkout' }],
    })).toThrow(`cluster "platform-prod-use1-blue" has no OIDC provider, so it cannot be trusted through IRSA: oidcIssuer "${ISSUER}" is given, but the ARN of its IAM OIDC provider `
      + 'also needs the cluster\'s account: pass clusterArn (arn:<partition>:eks:<region>:<account>:cluster/platform-prod-use1-blue) or oidcProviderArn to PodIdentityCluster.fromClusterAttributes.');
  });

  test('derives the issuer from the OIDC provider ARN', () => {
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'platform-prod-use1-blue', oidcProviderArn: PROVIDER });
    expect(cluster.oidcIssuer).toEqual(ISSUER);
    expect(cluster.oidcProviderArn).toEqual(PROVIDER);
  });

  test('without OIDC attributes there is no provider', () => {
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'c1' });
    expect(cluster.oidcProviderArn).toBeUndefined();
    expect(cluster.oidcIssuer).toBeUndefined();
    expect(cluster.region).toBeUndefined();
  });

  test('the default ARN resolves in the stack that uses it', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'eu-west-1' } });
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'c1' });
    expect(stack.resolve(cluster.clusterArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':eks:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':cluster/c1']],
    });
  });

  test('Auto Mode compute implies the built-in agent', () => {
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'c1', computeType: ComputeType.AUTO_MODE });
    expect(cluster.agentStatus).toEqual(AgentStatus.AUTO_MODE);
    expect(cluster.needsAgentAddon).toBe(false);
  });

  test.each([
    [ComputeType.FARGATE, false, false],
    [ComputeType.OUTPOSTS, false, false],
    [ComputeType.EC2, true, true],
    [ComputeType.AUTO_MODE, true, false],
  ])('computeType %s: supportsPodIdentity=%s needsAgentAddon=%s', (computeType, supported, needs) => {
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'c1', computeType });
    expect(cluster.supportsPodIdentity).toBe(supported);
    expect(cluster.needsAgentAddon).toBe(needs);
  });

  test('a pre-installed agent needs no add-on', () => {
    const cluster = PodIdentityCluster.fromClusterAttributes({ clusterName: 'c1', agentStatus: AgentStatus.PRE_INSTALLED });
    expect(cluster.needsAgentAddon).toBe(false);
  });

  test.each<[string, object, string]>([
    ['bad name', { clusterName: '-bad' },
      'PodIdentityCluster.fromClusterAttributes("-bad"): invalid clusterName "-bad": an EKS cluster name has 1-100 letters, digits, \'-\' or \'_\' and starts with a letter or digit.'],
    ['bad ARN', { clusterName: 'c1', clusterArn: 'arn:aws:eks:us-east-1:1111:cluster/c1' },
      'PodIdentityCluster.fromClusterAttributes("c1"): invalid clusterArn "arn:aws:eks:us-east-1:1111:cluster/c1": expected arn:<partition>:eks:<region>:<account>:cluster/<name>.'],
    ['ARN of another cluster', { clusterName: 'c1', clusterArn: ARN },
      `PodIdentityCluster.fromClusterAttributes("c1"): clusterArn "${ARN}" names cluster "platform-prod-use1-blue", not "c1": pass the ARN of the same cluster.`],
    ['bad issuer', { clusterName: 'c1', oidcIssuer: 'not an issuer' },
      'PodIdentityCluster.fromClusterAttributes("c1"): invalid oidcIssuer "not an issuer": expected the issuer URL of the cluster, e.g. "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" (see `aws eks describe-cluster --query cluster.identity.oidc.issuer`).'],
    ['bad provider ARN', { clusterName: 'c1', oidcProviderArn: 'arn:aws:iam::111122223333:role/x' },
      'PodIdentityCluster.fromClusterAttributes("c1"): invalid oidcProviderArn "arn:aws:iam::111122223333:role/x": expected arn:<partition>:iam::<account>:oidc-provider/<issuer>.'],
    ['provider and issuer disagree', { clusterName: 'c1', oidcProviderArn: PROVIDER, oidcIssuer: 'oidc.eks.us-east-1.amazonaws.com/id/OTHER' },
      `PodIdentityCluster.fromClusterAttributes("c1"): oidcProviderArn "${PROVIDER}" is for issuer "${ISSUER}" but oidcIssuer is "oidc.eks.us-east-1.amazonaws.com/id/OTHER": they must name the same provider (or pass only one of them).`],
    ['provider in another account', { clusterName: 'platform-prod-use1-blue', clusterArn: ARN, oidcProviderArn: `arn:aws:iam::444455556666:oidc-provider/${ISSUER}` },
      `PodIdentityCluster.fromClusterAttributes("platform-prod-use1-blue"): oidcProviderArn "arn:aws:iam::444455556666:oidc-provider/${ISSUER}" is in account 444455556666 but the cluster is in account 111122223333: IRSA trusts the OIDC provider of the cluster's own account.`],
    ['Auto Mode with an agent status that contradicts it', { clusterName: 'c1', computeType: ComputeType.AUTO_MODE, agentStatus: AgentStatus.NOT_INSTALLED },
      'PodIdentityCluster.fromClusterAttributes("c1"): agentStatus NOT_INSTALLED contradicts computeType AUTO_MODE: EKS Auto Mode has the Pod Identity agent built in. Omit agentStatus or set AgentStatus.AUTO_MODE.'],
  ])('%s is an error', (_name, attrs, message) => {
    expect(() => PodIdentityCluster.fromClusterAttributes(attrs as any)).toThrow(message);
  });
});

describe('PodIdentityCluster.fromCluster (aws-eks)', () => {
  test('an imported cluster: name, ARN and OIDC provider come from the cluster', () => {
    // GIVEN
    const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'us-east-1' } });
    const provider = iam.OpenIdConnectProvider.fromOpenIdConnectProviderArn(stack, 'P', PROVIDER);
    const imported = eks.Cluster.fromClusterAttributes(stack, 'C', { clusterName: 'c1', openIdConnectProvider: provider });

    // WHEN
    const cluster = PodIdentityCluster.fromCluster(imported);

    // THEN
    expect(cluster.clusterName).toEqual('c1');
    expect(cluster.region).toEqual('us-east-1');
    expect(cluster.account).toEqual('111122223333');
    expect(cluster.oidcProviderArn).toEqual(PROVIDER);
    expect(cluster.computeType).toEqual(ComputeType.EC2);
    expect(cluster.clusterConstruct).toBe(imported);
  });

  test('does not create the OIDC provider of an owned cluster until it is read', () => {
    const stack = new Stack(new App(), 'S');
    const owned = new eks.Cluster(stack, 'C', {
      version: eks.KubernetesVersion.V1_33,
      kubectlLayer: { _kubectlLayer: true } as any,
      defaultCapacity: 0,
    });
    const cluster = PodIdentityCluster.fromCluster(owned);
    expect(owned.node.tryFindChild('OpenIdConnectProvider')).toBeUndefined();
    expect(cluster.oidcProviderArn).toBeDefined();
    expect(owned.node.tryFindChild('OpenIdConnectProvider')).toBeDefined();
  });

  test('an eks.FargateCluster is FARGATE', () => {
    const stack = new Stack(new App(), 'S');
    const fargate = new eks.FargateCluster(stack, 'F', {
      version: eks.KubernetesVersion.V1_33,
      kubectlLayer: { _kubectlLayer: true } as any,
    });
    const cluster = PodIdentityCluster.fromCluster(fargate);
    expect(cluster.computeType).toEqual(ComputeType.FARGATE);
    expect(cluster.supportsPodIdentity).toBe(false);
  });
});

describe('PodIdentityCluster.fromClusterV2 (aws-eks-v2)', () => {
  test('a cluster with Auto Mode compute (the aws-eks-v2 default) is AUTO_MODE', () => {
    const stack = new Stack(new App(), 'S');
    const cluster = new eksv2.Cluster(stack, 'C', { version: eksv2.KubernetesVersion.V1_33 });
    const ref = PodIdentityCluster.fromClusterV2(cluster);
    expect(ref.computeType).toEqual(ComputeType.AUTO_MODE);
    expect(ref.agentStatus).toEqual(AgentStatus.AUTO_MODE);
    expect(ref.needsAgentAddon).toBe(false);
  });

  test('a cluster with node groups is EC2', () => {
    const stack = new Stack(new App(), 'S');
    const cluster = new eksv2.Cluster(stack, 'C', {
      version: eksv2.KubernetesVersion.V1_33,
      defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
      vpc: new ec2.Vpc(stack, 'Vpc'),
    });
    const ref = PodIdentityCluster.fromClusterV2(cluster);
    expect(ref.computeType).toEqual(ComputeType.EC2);
    expect(ref.needsAgentAddon).toBe(true);
  });

  test('an imported cluster takes the declared compute type and agent status', () => {
    const stack = new Stack(new App(), 'S');
    const imported = eksv2.Cluster.fromClusterAttributes(stack, 'C', { clusterName: 'c2' });
    const ref = PodIdentityCluster.fromClusterV2(imported, { agentStatus: AgentStatus.PRE_INSTALLED });
    expect(ref.computeType).toEqual(ComputeType.EC2);
    expect(ref.agentStatus).toEqual(AgentStatus.PRE_INSTALLED);
    expect(ref.oidcProviderArn).toBeUndefined(); // imported without openIdConnectProvider
  });
});
