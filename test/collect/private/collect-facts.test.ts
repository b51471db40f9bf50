import {
  agentStatusOf, awsErrorOf, computeTypeOf, contextTarget, irsaRoles, kubectlProblem, ownWorkloads,
} from '../../../src/collect/private/collect-facts';

const SERVER = 'https://7A6760FFBA310D8E5E3ED548BE933E8E.gr7.us-east-1.eks.amazonaws.com';
const view = (name: string, server: string, user: any) => ({
  clusters: [{ name, cluster: { server } }],
  users: [{ name, user }],
  contexts: [{ name, context: { cluster: name, user: name } }],
});

describe('contextTarget', () => {
  test('aws eks update-kubeconfig: the credentials plugin names the cluster, region and profile', () => {
    const t = contextTarget('prod', view('prod', SERVER, {
      exec: { command: 'aws', args: ['--region', 'us-east-1', 'eks', 'get-token', '--cluster-name', 'tenant-c-use1', '--output', 'json'], env: [{ name: 'AWS_PROFILE', value: 'northwind' }] },
    }));
    expect(t).toEqual({ context: 'prod', server: SERVER, clusterName: 'tenant-c-use1', region: 'us-east-1', account: undefined, profile: 'northwind' });
  });

  test('aws-iam-authenticator (-i) and --profile in the args; the region from the endpoint', () => {
    const t = contextTarget('a', view('a', `${SERVER}/`, { exec: { command: 'aws-iam-authenticator', args: ['token', '-i', 'tenant-c-use1', '--profile', 'ops'] } }));
    expect(t).toMatchObject({ clusterName: 'tenant-c-use1', region: 'us-east-1', profile: 'ops', server: SERVER });
  });

  test('a context named by the cluster ARN, with a token: name, region and account from the ARN', () => {
    const arn = 'arn:aws:eks:eu-west-1:111122223333:cluster/batch-euw1';
    const t = contextTarget(arn, view(arn, 'https://680C8C5F316F56E486658BEC32970987.yl4.eu-west-1.eks.amazonaws.com', { token: 'x' }));
    expect(t).toMatchObject({ clusterName: 'batch-euw1', region: 'eu-west-1', account: '111122223333', profile: undefined });
  });

  test('a server that is not EKS, and an EKS server the kubeconfig does not name', () => {
    expect(() => contextTarget('kind', view('kind', 'https://127.0.0.1:6443', { token: 'x' })))
      .toThrow('collect: context "kind": its server https://127.0.0.1:6443 is not an Amazon EKS endpoint (https://<id>.<x>.<region>.eks.amazonaws.com); collect reads EKS clusters only. Leave this context out.');
    expect(() => contextTarget('anon', view('anon', SERVER, { token: 'x' })))
      .toThrow(`collect: context "anon": the kubeconfig does not say which EKS cluster ${SERVER} is (no --cluster-name in its credentials plugin, no cluster ARN as its name). `
        + 'Write the context with: aws eks update-kubeconfig --name <cluster> --region <region> --alias anon');
  });
});

describe('computeTypeOf', () => {
  const node = (label?: string) => ({ metadata: { labels: label ? { 'eks.amazonaws.com/compute-type': label } : {} } });
  test.each([
    [{}, [node(), node()], ['ng'], 'EC2'],
    [{}, [node()], [], 'EC2'], // self-managed nodes or Karpenter: no node group, still EC2
    [{ computeConfig: { enabled: true } }, [node('auto')], [], 'AUTO_MODE'],
    [{ computeConfig: { enabled: true } }, [], [], 'AUTO_MODE'], // scaled to zero
    [{ computeConfig: { enabled: true } }, [node('auto'), node()], [], 'AUTO_MODE_AND_NODE_GROUPS'],
    [{ computeConfig: { enabled: true } }, [node('auto')], ['ng'], 'AUTO_MODE_AND_NODE_GROUPS'],
    [{ computeConfig: { enabled: false } }, [node()], ['ng'], 'EC2'],
    [{ remoteNetworkConfig: { remoteNodeNetworks: [] } }, [node()], [], 'HYBRID_NODES'],
    [{}, [node('hybrid'), node()], [], 'HYBRID_NODES'],
    [{}, [node('fargate'), node('fargate')], [], 'FARGATE'],
    [{}, [node('fargate'), node()], [], 'EC2'],
    [{ outpostConfig: { controlPlaneInstanceType: 'm5.large' } }, [node()], [], 'OUTPOSTS'],
  ])('%j, nodes %j, node groups %j: %s', (cluster, nodes, groups, expected) => {
    expect(computeTypeOf(cluster, nodes, groups).computeType).toEqual(expected);
  });

  test('the reason names what was seen', () => {
    expect(computeTypeOf({}, [{ metadata: { labels: { 'eks.amazonaws.com/compute-type': 'fargate' } } }, { metadata: {} }], ['ng']).why)
      .toEqual('1 EC2 node(s), 1 node group(s), and 1 Fargate node(s), whose pods keep IRSA');
  });
});

test('agentStatusOf: Auto Mode built in; the add-on or a kube-system DaemonSet means installed', () => {
  const ds = (namespace: string) => ({ kind: 'DaemonSet', metadata: { namespace, name: 'eks-pod-identity-agent' } });
  expect(agentStatusOf('AUTO_MODE', [], [])).toEqual('AUTO_MODE');
  expect(agentStatusOf('AUTO_MODE_AND_NODE_GROUPS', [], [])).toEqual('NOT_INSTALLED');
  expect(agentStatusOf('EC2', ['vpc-cni', 'eks-pod-identity-agent'], [])).toEqual('PRE_INSTALLED');
  expect(agentStatusOf('EC2', [], [ds('kube-system')])).toEqual('PRE_INSTALLED');
  expect(agentStatusOf('EC2', [], [ds('default')])).toEqual('NOT_INSTALLED');
});

test('ownWorkloads keeps controllers and the Jobs and Pods nothing owns', () => {
  const owned = { ownerReferences: [{ kind: 'ReplicaSet', name: 'x' }] };
  const items = [
    { kind: 'Deployment', metadata: { name: 'd' } },
    { kind: 'Pod', metadata: { name: 'p1', ...owned } },
    { kind: 'Pod', metadata: { name: 'bare' } },
    { kind: 'Job', metadata: { name: 'j1', ownerReferences: [{ kind: 'CronJob', name: 'c' }] } },
    { kind: 'Job', metadata: { name: 'manual', ownerReferences: [] } },
    { kind: 'DaemonSet', metadata: { name: 'ds', ...owned } },
  ];
  expect(ownWorkloads(items).map((i) => i.metadata.name)).toEqual(['d', 'bare', 'manual', 'ds']);
});

test('irsaRoles: annotations and add-on roles, by ARN, with who uses them', () => {
  const sa = (ns: string, name: string, role?: string) => ({ metadata: { namespace: ns, name, annotations: role ? { 'eks.amazonaws.com/role-arn': role } : undefined } });
  const roles = irsaRoles([
    { name: 'c1', serviceAccounts: [sa('a', 'x', 'arn:aws:iam::111122223333:role/b'), sa('a', 'y')], addons: [{ addonName: 'vpc-cni', serviceAccountRoleArn: 'arn:aws:iam::111122223333:role/a' }] },
    { name: 'c2', serviceAccounts: [sa('a', 'x', 'arn:aws:iam::111122223333:role/b')], addons: [{ addonName: 'coredns' }] },
  ]);
  expect([...roles.entries()]).toEqual([
    ['arn:aws:iam::111122223333:role/a', ['c1 add-on vpc-cni']],
    ['arn:aws:iam::111122223333:role/b', ['c1/a/x', 'c2/a/x']],
  ]);
});

test('awsErrorOf and kubectlProblem read what the clients print', () => {
  expect(awsErrorOf('\nAn error occurred (AccessDeniedException) when calling the DescribeCluster operation: User: x is not authorized\n'))
    .toEqual({ code: 'AccessDeniedException', message: 'User: x is not authorized' });
  expect(awsErrorOf('\nAn error occurred (Throttling) when calling the GetRole operation (reached max retries: 4): Rate exceeded\n'))
    .toEqual({ code: 'Throttling', message: 'Rate exceeded' });
  expect(awsErrorOf('Unable to locate credentials. You can configure credentials by running "aws configure".\n'))
    .toEqual({ message: 'Unable to locate credentials. You can configure credentials by running "aws configure".' });
  expect(kubectlProblem('error: You must be logged in to the server (Unauthorized)\n'))
    .toEqual('not authenticated: error: You must be logged in to the server (Unauthorized). Check the AWS credentials of the context\'s profile and that it has an access entry on the cluster');
  expect(kubectlProblem('Unable to connect to the server: dial tcp 10.0.1.5:443: i/o timeout\n'))
    .toEqual('unreachable: Unable to connect to the server: dial tcp 10.0.1.5:443: i/o timeout. Check the network path to the cluster\'s endpoint (private endpoint, VPN)');
});
