import { Yaml } from 'cdk8s';
import * as fc from 'fast-check';
import { manifestsYaml } from '../../../src/migration/private/yaml';

/** Strings a manifest may hold, with the characters and words YAML treats specially. */
const word = fc.oneof(
  fc.constantFrom('svc-0', 'team-a', 'app.kubernetes.io/name', 'eks.amazonaws.com/role-arn', 'arn:aws:iam::111122223333:role/x',
    'yes', 'No', 'on', 'OFF', 'y', 'n', 'true', 'False', 'null', '~', 'e', '_x', '1:20', '12', '0x1f', '.5', '1e3', '-', '-a',
    'a:', 'a: b', 'a:b', 'a #b', 'a#b', '@a', '%a', '`a', '!a', '&a', '*a', '|', '>', '"q"', "'q'", 'a,b', '[a]', '{a}', '', ' ', 'a b',
    'multi\nline', 'tab\t', 'ümlaut', '<<', '=', '?', 'a?', 'Yes:', '2025-03-14', 'E0', 'e12', 'E-1'),
  fc.string({ maxLength: 8 }),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9._/:-]{0,12}$/),
);

const scalar = fc.oneof(word, fc.boolean(), fc.integer(), fc.constant(null));
const map = (depth: number): fc.Arbitrary<{ [key: string]: unknown }> => fc.dictionary(word,
  depth > 0 ? fc.oneof(scalar, map(depth - 1), fc.array(scalar, { maxLength: 2 })) : scalar, { maxKeys: 4 });

describe('manifestsYaml', () => {
  test('writes exactly what cdk8s Yaml.stringify writes, for any documents', () => {
    fc.assert(fc.property(fc.array(map(3), { minLength: 1, maxLength: 4 }), (docs) => {
      expect(manifestsYaml(docs)).toBe(Yaml.stringify(...docs));
    }), { numRuns: 2000 });
  });

  test('ServiceAccounts with plain names, labels and annotations, and with values YAML would misread', () => {
    const sa = (annotations: { [key: string]: string }, automount?: boolean) => ({
      ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { annotations, labels: { 'app.kubernetes.io/name': 'ingest' }, name: 'ingest', namespace: 'data-pipeline' },
    });
    const docs = [
      sa({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/pod-id-ingest' }, false),
      sa({ 'example.com/enabled': 'yes', 'example.com/port': '8080', 'example.com/note': 'two words' }),
    ];
    expect(manifestsYaml(docs)).toBe(Yaml.stringify(...docs));
    expect(manifestsYaml(docs)).toContain('example.com/enabled: "yes"\n');
    expect(manifestsYaml(docs).split('---\n')[0]).toBe([
      'automountServiceAccountToken: false',
      'apiVersion: v1',
      'kind: ServiceAccount',
      'metadata:',
      '  annotations:',
      '    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/pod-id-ingest',
      '  labels:',
      '    app.kubernetes.io/name: ingest',
      '  name: ingest',
      '  namespace: data-pipeline',
      '',
    ].join('\n'));
  });
});
