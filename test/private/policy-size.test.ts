import * as fc from 'fast-check';
import { policySize, withIntrinsics } from '../../src/private/policy-size';

describe('policySize', () => {
  test('counts the JSON without whitespace, any whitespace a regular expression\'s \\s matches, in keys and values', () => {
    const spaces = [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];
    const text = fc.array(fc.oneof(fc.constantFrom(...spaces, 'a', 'ü', '"', '\\', '\u0085', '\u200b'), fc.string({ maxLength: 3 })), { maxLength: 8 }).map((p) => p.join(''));
    const doc = fc.dictionary(text, fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 3 })), { maxKeys: 4 });
    fc.assert(fc.property(doc, (d) => {
      expect(policySize(d)).toEqual({ length: JSON.stringify(d).replace(/\s/g, '').length, exact: true });
    }), { numRuns: 2000 });
  });

  test('deploy-time values are counted at their real length where it is known, and make the count an estimate otherwise', () => {
    const arn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] };
    expect(policySize({ Principal: { AWS: arn } })).toEqual({ length: JSON.stringify({ Principal: { AWS: 'arn:aws:iam::123456789012:root' } }).length, exact: true });
    expect(policySize({ Resource: { Ref: 'Bucket' } })).toEqual({ length: JSON.stringify({ Resource: 'x'.repeat(20) }).length, exact: false });
  });

  test('a document without intrinsics is measured as its JSON, with them through their deploy-time lengths: both ways agree on any document', () => {
    const text = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('Ref', 'Fn::Join', 'Fn::GetAtt', '{"Ref":"x"}', '{"Fn::Sub":"y"}', 'AWS::AccountId', ' '));
    const intrinsic = (leaf: fc.Arbitrary<unknown>) => fc.oneof(
      fc.record({ Ref: fc.constantFrom('AWS::AccountId', 'AWS::Partition', 'AWS::Region', 'AWS::URLSuffix', 'Bucket') }),
      fc.record({ 'Fn::Join': fc.tuple(fc.constantFrom('', ':', '/'), fc.array(fc.oneof(text, fc.record({ Ref: fc.constantFrom('AWS::AccountId', 'Other') })), { maxLength: 4 })) }),
      fc.record({ 'Fn::GetAtt': fc.tuple(text, text) }),
      fc.record({ Ref: text, Other: leaf }),
    );
    const { doc } = fc.letrec((tie) => ({
      doc: fc.oneof({ depthSize: 'small', withCrossShrink: true },
        text, fc.boolean(), fc.integer(),
        fc.array(tie('doc'), { maxLength: 3 }),
        fc.dictionary(text, tie('doc'), { maxKeys: 3 }),
        intrinsic(tie('doc'))),
    }));
    let withAny = 0;
    fc.assert(fc.property(doc, (d) => {
      const json = JSON.stringify(d);
      withAny += json.includes('{"Ref":') || json.includes('{"Fn::') ? 1 : 0;
      expect(policySize(d)).toEqual(withIntrinsics(d));
    }), { numRuns: 3000 });
    // both kinds of document were drawn
    expect(withAny).toBeGreaterThan(300);
    expect(withAny).toBeLessThan(2700);
  });
});
