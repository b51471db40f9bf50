import { App, CfnWaitConditionHandle, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import * as fc from 'fast-check';
import { roleL1 } from '../../../src/migration/private/migration-resources';
import { RoleTemplateInput } from '../../../src/migration/private/role-resource';
import { roleBoundBytes, roleTemplateBytes } from '../../../src/migration/private/template-size';
import { policySize } from '../../../src/private/policy-size';

/** The bytes of a stack's template as CDK writes it, with the roles (or none) as the migration writes them. */
function templateBytes(roles: RoleTemplateInput[]): number {
  const stack = new Stack(new App(), 'S');
  new CfnWaitConditionHandle(stack, 'Placeholder');
  for (const role of roles) {
    roleL1(new Construct(stack, role.roleName), role).applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
  return Buffer.byteLength(JSON.stringify(Template.fromStack(stack).toJSON(), undefined, 1));
}

const arn = fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((n) => `arn:aws:eks:us-east-1:111122223333:cluster/${n}`);
const statement = fc.record({
  Action: fc.oneof(fc.constant('sts:AssumeRoleWithWebIdentity'), fc.constant(['sts:AssumeRole', 'sts:TagSession'])),
  Condition: fc.record({ StringEquals: fc.dictionary(fc.stringMatching(/^[a-z:/.]{3,30}$/), fc.oneof(fc.string({ maxLength: 40 }), fc.array(arn, { minLength: 2, maxLength: 30 })), { maxKeys: 3 }) }),
  Effect: fc.constant('Allow'),
  Principal: fc.oneof(fc.constant({ Service: 'pods.eks.amazonaws.com' }), fc.constant({ Federated: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC' })),
});
/** Statements CDK treats as the same (a one-element list is its element): CDK writes one of them. */
const sameStatement = (x: { Effect: string; Action: string | string[]; Resource: string | string[] }) =>
  JSON.stringify([x.Effect, [x.Action].flat().sort(), [x.Resource].flat().sort()]);
const role: fc.Arbitrary<RoleTemplateInput> = fc.record({
  roleName: fc.stringMatching(/^[A-Za-z][A-Za-z0-9+=,.@_-]{0,40}$/),
  path: fc.constantFrom(undefined, '/', '/team/'),
  description: fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
  trust: fc.array(statement, { minLength: 1, maxLength: 6 }).map((Statement) => ({ Statement, Version: '2012-10-17' })),
  statements: fc.uniqueArray(fc.record({
    Effect: fc.constantFrom('Allow', 'Deny'),
    Action: fc.oneof(fc.constant<string | string[]>('s3:GetObject'), fc.uniqueArray(fc.constantFrom('s3:GetObject', 's3:PutObject', 'sqs:SendMessage'), { minLength: 1, maxLength: 3 })),
    Resource: fc.oneof(fc.constant('*'), fc.uniqueArray(fc.constantFrom('arn:aws:s3:::bucket/*', 'arn:aws:s3:::other/*'), { minLength: 1, maxLength: 2 })),
  }), { maxLength: 3, selector: sameStatement }),
  managedPolicyArns: fc.array(fc.constant('arn:aws:iam::aws:policy/ReadOnlyAccess'), { maxLength: 2 }),
  chainsTo: fc.array(fc.constantFrom('arn:aws:iam::999988887777:role/a', 'arn:aws:iam::999988887777:role/b'), { maxLength: 2 }).map((a) => [...new Set(a)].sort()),
});

describe('role template sizes', () => {
  test('roleTemplateBytes is what a role adds to the template CDK writes, within 3% (+64 bytes) and never more than 16 bytes below (distinct actions and resources; duplicates only make it larger)', () => {
    fc.assert(fc.property(fc.uniqueArray(role, { minLength: 1, maxLength: 4, selector: (r) => r.roleName.toLowerCase() }), (roles) => {
      const actual = templateBytes(roles) - templateBytes([]);
      const estimate = roles.reduce((sum, r) => sum + roleTemplateBytes(r), 0);
      expect(estimate).toBeGreaterThanOrEqual(actual - 16);
      expect(estimate).toBeLessThanOrEqual(actual * 1.03 + 64);
    }), { numRuns: 150 });
  });

  test('roleBoundBytes: the widest trust, cut to the trust length synthesis allows', () => {
    const base = { roleName: 'r', statements: [], managedPolicyArns: [], chainsTo: [] };
    const trust = { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Condition: { StringEquals: { 'aws:RequestTag/eks-cluster-arn': Array.from({ length: 40 }, (_, i) => `arn:aws:eks:us-east-1:111122223333:cluster/c-${i}`) } } }], Version: '2012-10-17' };
    const length = policySize(trust).length;
    const widest = roleTemplateBytes({ ...base, trust });
    const none = roleTemplateBytes({ ...base, trust: {} });
    // within the quota: the widest trust itself
    expect(roleBoundBytes(base, trust, length)).toBe(widest);
    // over it: the trust's share scaled to the quota
    expect(roleBoundBytes(base, trust, Math.floor(length / 2))).toBe(none + Math.ceil((widest - none) * Math.floor(length / 2) / length));
  });
});
