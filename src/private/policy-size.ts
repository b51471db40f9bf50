/**
 * Policy sizes as IAM counts them: the JSON without whitespace. Values CloudFormation fills in at
 * deploy time are counted at their real length where it is known (account id, partition, region);
 * any other intrinsic makes the count an estimate.
 */
export interface PolicySize {
  /** Characters, whitespace not counted. */
  readonly length: number;
  /** False when the policy holds values only known at deploy time, counted by a stand-in. */
  readonly exact: boolean;
}

const PSEUDO_LENGTHS: { [ref: string]: string } = {
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  'AWS::Region': 'ap-southeast-2',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** The size of a resolved policy document or statement. */
export function policySize(resolved: unknown): PolicySize {
  // A document without intrinsics (every planned trust) is its own JSON: an intrinsic is an object
  // whose JSON starts {"Ref": or {"Fn::, which cannot occur inside a JSON string (its quotes are escaped).
  const plain = JSON.stringify(resolved);
  if (plain === undefined || !(plain.includes('{"Ref":') || plain.includes('{"Fn::'))) {
    return { length: plain === undefined ? 0 : plain.replace(/\s/g, '').length, exact: true };
  }
  return withIntrinsics(resolved);
}

/** The size of a document holding intrinsics, each counted at its deploy-time length where known. */
export function withIntrinsics(resolved: unknown): PolicySize {
  let exact = true;
  const flatten = (value: any): any => {
    if (Array.isArray(value)) {
      return value.map(flatten);
    }
    if (value && typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === 'Ref' && typeof value.Ref === 'string') {
        const pseudo = PSEUDO_LENGTHS[value.Ref];
        if (pseudo === undefined) {
          exact = false;
          return 'x'.repeat(20);
        }
        return pseudo;
      }
      if (keys.length === 1 && keys[0] === 'Fn::Join' && Array.isArray(value['Fn::Join'])) {
        const [sep, parts] = value['Fn::Join'];
        const flat = flatten(parts);
        if (Array.isArray(flat) && flat.every((p) => typeof p === 'string')) {
          return flat.join(sep);
        }
      }
      if (keys.length === 1 && keys[0].startsWith('Fn::')) {
        exact = false;
        return 'x'.repeat(64);
      }
      const out: any = {};
      for (const k of keys) {
        out[typeof k === 'string' ? k : String(k)] = flatten(value[k]);
      }
      return out;
    }
    return value;
  };
  const json = JSON.stringify(flatten(resolved));
  return { length: json.replace(/\s/g, '').length, exact };
}
