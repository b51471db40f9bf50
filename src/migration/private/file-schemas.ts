/**
 * The JSON Schemas of the fleet files (`clusters.json`, `plan.json`, `state.json`), and the small
 * validator `MigrationFiles` checks them with: unknown keys, missing required keys and wrong types
 * fail with the file, the JSON path and the expected shape. `schemas/*.schema.json` in the package
 * are these objects, written out (a test keeps them equal).
 */

import { SKIP_RISK_IDS } from '../../private/phases';

type Schema = { [key: string]: any };

const PHASES = ['IRSA_ONLY', 'DUAL_TRUST', 'POD_IDENTITY', 'ANNOTATION_REMOVED', 'POD_IDENTITY_ONLY'];
const PROVIDER_STEPS = ['KEPT', 'ADOPTED', 'RETIRING', 'RETIRED'];
const text = (description: string): Schema => ({ type: 'string', description });

const selector: Schema = {
  type: 'object',
  description: 'service accounts matched by every field given',
  additionalProperties: false,
  properties: {
    namespace: text('the namespace, exactly'),
    namespacePrefix: text('a namespace prefix, e.g. "tenant-"'),
    serviceAccount: text('the service account name'),
    cluster: text('the cluster name (a canary: one cluster first)'),
    region: text('the cluster region'),
    reason: text('why (for exclusions)'),
  },
};

const rolePlan: Schema = {
  type: 'object',
  description: 'what an IRSA role may do today',
  additionalProperties: false,
  properties: {
    account: { type: 'string', pattern: '^\\d{12}$', description: 'the role\'s account (checked against the inventory)' },
    statements: { type: 'array', items: { type: 'object' }, description: 'IAM policy statements' },
    managedPolicyArns: { type: 'array', items: { type: 'string' }, description: 'managed policy ARNs' },
    trustPolicyMaxLength: { type: 'integer', description: 'the trust policy length limit (raised quota)' },
    irsaAudienceCondition: { type: 'boolean', description: 'keep <issuer>:aud in the IRSA statements' },
    pinTargetTrust: { type: 'boolean', description: 'pin a chain target\'s trust to the namespace and service account' },
    exists: { type: 'boolean', description: 'false: a new role, created instead of imported' },
    note: text('free text'),
  },
};

export const CLUSTERS_SCHEMA: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'cdk-eks-pod-identity/clusters.schema.json',
  title: 'clusters.json: the fleet\'s clusters',
  type: 'array',
  items: {
    type: 'object',
    description: 'a cluster (the attributes of PodIdentityCluster.fromClusterAttributes)',
    additionalProperties: false,
    required: ['clusterArn'],
    properties: {
      name: text('the cluster name (or clusterName)'),
      clusterName: text('the cluster name (or name)'),
      clusterArn: { type: 'string', pattern: '^arn:[^:]+:eks:[^:]+:\\d{12}:cluster/.+$', description: 'arn:<partition>:eks:<region>:<account>:cluster/<name>' },
      region: text('the region (must match the ARN)'),
      account: { type: 'string', pattern: '^\\d{12}$', description: 'the account (must match the ARN)' },
      oidcIssuer: text('the OIDC issuer, without https://'),
      oidcProviderArn: text('the IAM OIDC provider ARN'),
      computeType: { enum: ['EC2', 'AUTO_MODE', 'AUTO_MODE_AND_NODE_GROUPS', 'HYBRID_NODES', 'FARGATE', 'OUTPOSTS'], description: 'where the pods run' },
      agentStatus: { enum: ['NOT_INSTALLED', 'PRE_INSTALLED', 'AUTO_MODE'], description: 'whether the agent already runs (or podIdentityAgent)' },
      podIdentityAgent: { enum: ['NOT_INSTALLED', 'PRE_INSTALLED', 'AUTO_MODE'], description: 'whether the agent already runs (or agentStatus)' },
      kind: text('free text, e.g. platform or tenant (not used)'),
    },
  },
};

export const PLAN_SCHEMA: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'cdk-eks-pod-identity/plan.schema.json',
  title: 'plan.json: waves, exclusions, role permissions, consolidations, cross-account chains',
  type: 'object',
  additionalProperties: false,
  required: ['waves'],
  properties: {
    $schema: text('this schema'),
    description: text('free text'),
    waves: {
      type: 'array',
      items: {
        type: 'object',
        description: 'a wave (its phase is recorded in the state file, not here)',
        additionalProperties: false,
        required: ['name', 'select'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9-]*$', description: 'letters, digits and -' },
          select: { type: 'array', items: selector },
          risk: text('shown in the plan index'),
        },
      },
    },
    exclude: { type: 'array', items: selector },
    roles: { type: 'object', additionalProperties: rolePlan, description: 'permissions per IRSA role name; a key may end in *' },
    consolidate: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['namespace', 'serviceAccount', 'roleName'],
        properties: { namespace: text('the namespace'), serviceAccount: text('the service account'), roleName: text('the shared role'), note: text('free text') },
      },
    },
    crossAccount: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['namespace', 'serviceAccount', 'associationRoleName', 'targetRoleArn'],
        properties: {
          namespace: text('the namespace'),
          serviceAccount: text('the service account'),
          associationRoleName: text('the association role, in the cluster\'s account'),
          targetRoleArn: text('the target role'),
          note: text('free text'),
        },
      },
    },
  },
};

export const STATE_SCHEMA: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'cdk-eks-pod-identity/state.schema.json',
  title: 'state.json: the recorded phase history of each wave, and of each retired OIDC provider, oldest first',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: text('this schema'),
    description: text('free text'),
    waves: {
      type: 'object',
      additionalProperties: {
        type: 'array',
        items: {
          anyOf: [
            { enum: PHASES },
            {
              type: 'object',
              additionalProperties: false,
              required: ['phase'],
              properties: {
                phase: { enum: PHASES },
                acknowledge: { type: 'array', items: { enum: [...SKIP_RISK_IDS] } },
                note: text('free text: the change ticket, who, when'),
              },
            },
          ],
        },
      },
    },
    serviceAccounts: {
      type: 'array',
      description: 'acknowledged changes of single service accounts: a jump of more than one phase that is not their wave\'s own step, or a deletion',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['cluster'],
        properties: {
          cluster: text('the cluster name'),
          namespace: text('the namespace (default: every namespace of the cluster)'),
          serviceAccount: text('the service account (default: every one of the namespace)'),
          deleted: { type: 'boolean', description: 'deleted from the cluster (or the cluster was): they left the inventory' },
          from: { enum: PHASES },
          to: { enum: PHASES },
          acknowledge: { type: 'array', items: { enum: [...SKIP_RISK_IDS] } },
          note: text('free text: the change ticket, who, when'),
        },
      },
    },
    oidcProviders: {
      type: 'object',
      description: 'per cluster name, the steps of the retirement of its IAM OIDC provider',
      additionalProperties: {
        type: 'array',
        items: {
          anyOf: [
            { enum: PROVIDER_STEPS },
            {
              type: 'object',
              additionalProperties: false,
              required: ['step'],
              properties: {
                step: { enum: PROVIDER_STEPS },
                note: text('free text: the change ticket, who, when'),
              },
            },
          ],
        },
      },
    },
  },
};

export const ROLES_SCHEMA: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'cdk-eks-pod-identity/roles.schema.json',
  title: 'roles.json: the IRSA roles as collected from IAM (aws iam get-role, get-role-policy, list-attached-role-policies)',
  type: 'array',
  items: {
    type: 'object',
    description: 'a role as IAM holds it today',
    additionalProperties: false,
    required: ['arn', 'trustPolicy', 'inlinePolicies', 'managedPolicyArns'],
    properties: {
      arn: { type: 'string', pattern: '^arn:[^:]+:iam::\\d{12}:role/.+$', description: 'the role ARN' },
      trustPolicy: { type: 'object', description: 'the trust policy document (AssumeRolePolicyDocument)' },
      inlinePolicies: { type: 'object', additionalProperties: { type: 'object' }, description: 'the inline policy documents, by policy name' },
      managedPolicyArns: { type: 'array', items: { type: 'string' }, description: 'the attached managed policy ARNs' },
    },
  },
};

/**
 * The problems of `value` against `schema` (the subset the schemas above use), each as
 * `<JSON path>: <what is wrong>; expected <shape>`.
 */
export function schemaProblems(value: unknown, schema: Schema, path: string = '$'): string[] {
  if (schema.anyOf) {
    const each = (schema.anyOf as Schema[]).map((s) => schemaProblems(value, s, path));
    return each.some((p) => p.length === 0) ? [] : [`${path}: got ${brief(value)}; expected ${(schema.anyOf as Schema[]).map(shape).join(' or ')}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) {
    return [`${path}: got ${brief(value)}; expected ${shape(schema)}`];
  }
  const type = schema.type as string | undefined;
  if (type && !hasType(value, type)) {
    return [`${path}: got ${brief(value)}; expected ${shape(schema)}`];
  }
  if (type === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value as string)) {
    return [`${path}: got ${brief(value)}; expected ${schema.description ?? `a string matching ${schema.pattern}`}`];
  }
  const problems: string[] = [];
  if (type === 'array' && schema.items) {
    (value as unknown[]).forEach((item, i) => problems.push(...schemaProblems(item, schema.items, `${path}[${i}]`)));
  }
  if (type === 'object') {
    const object = value as { [key: string]: unknown };
    const properties: { [key: string]: Schema } = schema.properties ?? {};
    for (const key of schema.required ?? []) {
      if (object[key] === undefined) {
        problems.push(`${path}: missing "${key}"; expected ${shape(schema)}`);
      }
    }
    for (const [key, item] of Object.entries(object)) {
      const child = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      if (properties[key]) {
        problems.push(...schemaProblems(item, properties[key], child));
      } else if (schema.additionalProperties === false) {
        problems.push(`${child}: unknown key; expected ${shape(schema)}`);
      } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        problems.push(...schemaProblems(item, schema.additionalProperties, child));
      }
    }
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object': return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'array': return Array.isArray(value);
    case 'integer': return Number.isInteger(value);
    default: return typeof value === type;
  }
}

/** The expected shape of a schema, in a few words. */
function shape(schema: Schema): string {
  if (schema.enum) {
    return `one of ${(schema.enum as unknown[]).join(', ')}`;
  }
  if (schema.type === 'object' && schema.properties) {
    const required = new Set<string>(schema.required ?? []);
    return `{ ${Object.keys(schema.properties).map((k) => (required.has(k) ? k : `${k}?`)).join(', ')} }`;
  }
  if (schema.type === 'array') {
    return `a list${schema.items?.type === 'object' ? ' of objects' : ''}`;
  }
  return `a${schema.type === 'integer' ? 'n integer' : ` ${schema.type}`}`;
}

function brief(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? 'nothing' : json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
