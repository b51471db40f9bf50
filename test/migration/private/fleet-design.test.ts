import * as iam from 'aws-cdk-lib/aws-iam';
import { IrsaInventory, MigrationPhase, PodIdentityCluster } from '../../../src';
import { designFleet } from '../../../src/migration/private/fleet-design';


describe('designFleet: plan statements', () => {
  const plan = (statements: any[]) => designFleet({
    clusters: [PodIdentityCluster.fromClusterAttributes({ clusterName: 'a', clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/a', oidcIssuer: 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111' })],
    inventory: (() => {
      const inventory = new IrsaInventory();
      inventory.addEntry({ cluster: 'a', namespace: 'ns', serviceAccount: 'app', roleArn: 'arn:aws:iam::111122223333:role/app' });
      return inventory;
    })(),
    plan: { waves: [{ name: 'w', select: [{ namespace: 'ns' }] }], roles: { app: { statements } } },
    phases: new Map([['w', { wave: 'w', phase: MigrationPhase.DUAL_TRUST, recorded: MigrationPhase.DUAL_TRUST, acknowledged: [] }]]),
  });

  test('an iam.PolicyStatement (what a TypeScript or Python user writes first) is taken as its JSON', () => {
    const json = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' };
    const fromObject = plan([new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] })]);
    expect(fromObject.roles.get('arn:aws:iam::111122223333:role/app')!.statements).toEqual([json]);
    expect(plan([json]).roles.get('arn:aws:iam::111122223333:role/app')!.statements).toEqual([json]);
  });

  test.each([
    ['a string', 's3:GetObject', '"s3:GetObject"'],
    ['a statement without Action', { Effect: 'Allow', Resource: '*' }, '{"Effect":"Allow","Resource":"*"}'],
    ['null', null, 'null'],
  ])('%s fails naming the role, the entry and the expected shape', (_, statement, shown) => {
    expect(() => plan([{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }, statement])).toThrow(
      `plan roles["app"].statements[1]: expected an IAM policy statement, as JSON ({ "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket/*"] }) or an iam.PolicyStatement; got ${shown}.`);
  });
});

describe('designFleet: accounts and same-named roles', () => {
  const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111';
  const clusters = [
    PodIdentityCluster.fromClusterAttributes({ clusterName: 'prod', clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/prod', oidcIssuer: ISSUER }),
    PodIdentityCluster.fromClusterAttributes({ clusterName: 'dev', clusterArn: 'arn:aws:eks:us-east-1:444455556666:cluster/dev', oidcIssuer: ISSUER.replace('AAAA', 'BBBB') }),
  ];
  const run = (entries: [string, string][], roles: any) => {
    const inventory = new IrsaInventory();
    entries.forEach(([name, roleArn]) => inventory.addEntry({ cluster: name, namespace: 'dns', serviceAccount: 'external-dns', roleArn }));
    return designFleet({
      clusters,
      inventory,
      plan: { waves: [{ name: 'w', select: [{ namespace: 'dns' }] }], roles },
      phases: new Map([['w', { wave: 'w', phase: MigrationPhase.IRSA_ONLY, recorded: MigrationPhase.IRSA_ONLY, acknowledged: [] }]]),
    });
  };
  const zone = (id: string) => [{ Effect: 'Allow', Action: 'route53:ChangeResourceRecordSets', Resource: `arn:aws:route53:::hostedzone/${id}` }];

  test('a role ARN in an account nothing declares (one digit off) is refused at IRSA_ONLY already, naming the role, its users and the fix', () => {
    expect(() => run([['prod', 'arn:aws:iam::111122223334:role/external-dns']], { 'external-dns': { statements: zone('Z1') } })).toThrow(
      'role arn:aws:iam::111122223334:role/external-dns (used by dns/external-dns on prod) is in account 111122223334, which no cluster, crossAccount target or plan roles entry declares '
      + '(the declared accounts are 111122223333, 444455556666). Correct the role ARN in the inventory if it is a typo; if the role does live in that account, declare it: '
      + 'roles["arn:aws:iam::111122223334:role/external-dns"] with its permissions, or "account": "111122223334" on its entry.');
    // declared: planned
    expect(run([['prod', 'arn:aws:iam::111122223334:role/external-dns']], { 'external-dns': { statements: zone('Z1'), account: '111122223334' } }).roles.size).toBe(1);
  });

  test('same-named roles in two accounts get their own permissions through ARN keys; an ARN wins over the name', () => {
    const fleet = run([['prod', 'arn:aws:iam::111122223333:role/external-dns'], ['dev', 'arn:aws:iam::444455556666:role/external-dns']], {
      'external-dns': { statements: zone('ZSHARED') },
      'arn:aws:iam::111122223333:role/external-dns': { statements: zone('ZPROD') },
      'arn:aws:iam::444455556666:role/external-dns': { statements: zone('ZDEV') },
    });
    expect(fleet.roles.get('arn:aws:iam::111122223333:role/external-dns')!.statements).toEqual(zone('ZPROD'));
    expect(fleet.roles.get('arn:aws:iam::444455556666:role/external-dns')!.statements).toEqual(zone('ZDEV'));
    expect(() => run([['prod', 'arn:aws:iam::111122223333:role/external-dns']], { 'arn:aws:iam::111122223333:role/external-dns': { statements: zone('Z'), account: '444455556666' } }))
      .toThrow('plan roles["arn:aws:iam::111122223333:role/external-dns"] names account 444455556666, but its ARN is in 111122223333: remove "account" or correct the ARN.');
  });
});
