import * as fc from 'fast-check';
import { canonicalStatement, inlineStatements, permissionDifferences } from '../../../src/migration/private/permission-diff';

describe('permissionDifferences', () => {
  const s3 = { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: 'arn:aws:s3:::shop/*' };

  test('the same permissions in other spellings: no difference', () => {
    expect(permissionDifferences(
      { statements: [s3], managedPolicyArns: ['arn:aws:iam::aws:policy/A', 'arn:aws:iam::aws:policy/B'] },
      {
        statements: [{ Sid: 'Shop', Resource: ['arn:aws:s3:::shop/*'], Action: ['s3:GetObject', 's3:PutObject', 's3:GetObject'], Effect: 'Allow' }],
        managedPolicyArns: ['arn:aws:iam::aws:policy/B', 'arn:aws:iam::aws:policy/A'],
      })).toEqual([]);
    expect(canonicalStatement({ Effect: 'Allow', Action: 'x:Y', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/a': 'b' } } }))
      .toBe(canonicalStatement({ Condition: { StringEquals: { 'aws:ResourceTag/a': ['b'] } }, Resource: ['*'], Action: ['x:Y'], Effect: 'Allow' }));
  });

  test('each difference named, both ways', () => {
    expect(permissionDifferences(
      { statements: [s3], managedPolicyArns: ['arn:aws:iam::aws:policy/A'] },
      { statements: [{ ...s3, Action: 's3:GetObject' }], managedPolicyArns: ['arn:aws:iam::aws:policy/B'] })).toEqual([
      'statement {"Action":["s3:GetObject"],"Effect":"Allow","Resource":["arn:aws:s3:::shop/*"]} is in IAM, not in the plan',
      'statement {"Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow","Resource":["arn:aws:s3:::shop/*"]} is in the plan, not in IAM',
      'managed policy arn:aws:iam::aws:policy/B is attached in IAM, not in the plan',
      'managed policy arn:aws:iam::aws:policy/A is in the plan, not attached in IAM',
    ]);
    // a condition is part of the meaning
    expect(permissionDifferences({ statements: [s3], managedPolicyArns: [] },
      { statements: [{ ...s3, Condition: { Bool: { 'aws:SecureTransport': 'true' } } }], managedPolicyArns: [] })).toHaveLength(2);
  });

  test('inline statements of every policy, a single statement object too', () => {
    expect(inlineStatements({ b: { Statement: s3 }, a: { Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] } })).toEqual([
      { Effect: 'Deny', Action: '*', Resource: '*' }, s3,
    ]);
  });

  test('fast-check: reordering and respelling never differ; an action no longer granted always does', () => {
    const action = fc.constantFrom('s3:GetObject', 's3:PutObject', 'sqs:SendMessage', 'kms:Decrypt');
    const statement = fc.record({ Effect: fc.constantFrom('Allow', 'Deny'), Action: fc.uniqueArray(action, { minLength: 2, maxLength: 4 }), Resource: fc.constantFrom('*', 'arn:aws:s3:::a/*') });
    fc.assert(fc.property(fc.array(statement, { minLength: 1, maxLength: 4 }), fc.nat(), (statements, seed) => {
      const shuffled = [...statements].reverse().map((s) => ({ Resource: [s.Resource], Action: [...s.Action].reverse(), Effect: s.Effect, Sid: `S${seed}` }));
      expect(permissionDifferences({ statements, managedPolicyArns: [] }, { statements: shuffled, managedPolicyArns: [] })).toEqual([]);
      // an action no statement grants any more (cutting it from one statement alone may leave it in a duplicate: same meaning)
      const dropped = statements[0].Action[0];
      const cut = statements.map((s) => ({ ...s, Action: s.Action.filter((a) => a !== dropped) })).filter((s) => s.Action.length > 0);
      expect(permissionDifferences({ statements, managedPolicyArns: [] }, { statements: cut, managedPolicyArns: [] }).length).toBeGreaterThan(0);
    }));
  });
});
