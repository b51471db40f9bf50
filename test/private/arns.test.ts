import { arnName, assumedRolePrefix, clusterArnFields, roleArnAccount, roleArnParts } from '../../src/private/arns';

test('a role ARN: partition, account and name, its path left out; anything else is none', () => {
  expect(roleArnParts('arn:aws:iam::111122223333:role/checkout')).toEqual({ partition: 'aws', account: '111122223333', name: 'checkout' });
  expect(roleArnParts('arn:aws-cn:iam::111122223333:role/team/a/checkout')).toEqual({ partition: 'aws-cn', account: '111122223333', name: 'checkout' });
  expect(roleArnParts('arn:aws:iam::111122223333:user/checkout')).toBeUndefined();
  expect(roleArnParts('checkout')).toBeUndefined();
  expect(roleArnAccount('arn:aws:iam::444455556666:role/x')).toBe('444455556666');
  expect(roleArnAccount('svc-*')).toBeUndefined();
});

test('a cluster ARN: partition, region, account and name', () => {
  expect(clusterArnFields('arn:aws:eks:eu-west-1:111122223333:cluster/shop-euw1')).toEqual({
    partition: 'aws', region: 'eu-west-1', account: '111122223333', name: 'shop-euw1',
  });
  expect(clusterArnFields('arn:aws:eks:eu-west-1:1111:cluster/shop')).toBeUndefined();
});

test('a role\'s name, and its assumed-role prefix (no path; what is not a role ARN unchanged)', () => {
  expect(arnName('arn:aws:iam::111122223333:role/team/checkout')).toBe('checkout');
  expect(assumedRolePrefix('arn:aws-us-gov:iam::111122223333:role/team/checkout')).toBe('arn:aws-us-gov:sts::111122223333:assumed-role/checkout/');
  expect(assumedRolePrefix('not-an-arn')).toBe('not-an-arn');
});
