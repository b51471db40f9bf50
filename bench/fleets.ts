/**
 * Generated fleets for the synthesis benchmark, written as the fleet folder a user commits
 * (clusters.json, plan.json, state.json, serviceaccounts/<cluster>.json as `kubectl get
 * serviceaccounts -A -o json` prints it):
 *
 * - `F<n>`: n clusters × 200 service accounts in one account and two regions, 200 roles each
 *   shared by its service account on every cluster, every wave at POD_IDENTITY_ONLY (n × 200
 *   associations). `F50` is fleet F of issue 10; the scaling series is F5 … F100.
 * - `D<n>`: n clusters × 200 service accounts, one role per service account and group of three
 *   clusters (17 × 200 = 3,400 roles for n = 50), dual-trusted: every wave at POD_IDENTITY.
 */
import * as fs from 'fs';
import * as path from 'path';

export const ACCOUNT = '111122223333';
const REGIONS = ['us-east-1', 'eu-west-1'];
export const SERVICE_ACCOUNTS = 200;
const NAMESPACES = 20;
const WAVES = 4;
const CLUSTERS_PER_DUAL_ROLE = 3;

export interface FleetSpec {
  /** `F` (POD_IDENTITY_ONLY, shared roles) or `D` (POD_IDENTITY, dual trust). */
  readonly kind: 'F' | 'D';
  readonly clusters: number;
}

export function fleetName(spec: FleetSpec): string {
  return `${spec.kind}${spec.clusters}`;
}

/** Parses `F50`, `D50`, ... */
export function parseFleetName(name: string): FleetSpec {
  const m = /^([FD])(\d+)$/.exec(name);
  if (!m || Number(m[2]) < 1) {
    throw new Error(`bench: unknown fleet ${JSON.stringify(name)}; expected F<clusters> or D<clusters>, e.g. F50, D50.`);
  }
  return { kind: m[1] as 'F' | 'D', clusters: Number(m[2]) };
}

function clusterName(c: number): string {
  return `prod-${String(c).padStart(3, '0')}`;
}

function hex32(c: number): string {
  // a stable, issuer-like id per cluster
  let h = 2166136261 ^ c;
  let out = '';
  for (let i = 0; i < 4; i++) {
    h = Math.imul(h ^ (h >>> 13), 16777619) >>> 0;
    out += h.toString(16).toUpperCase().padStart(8, '0');
  }
  return out;
}

function roleName(spec: FleetSpec, c: number, s: number): string {
  return spec.kind === 'F' ? `svc-${s}` : `svc-${s}-g${Math.floor(c / CLUSTERS_PER_DUAL_ROLE)}`;
}

/** Writes the fleet folder into `dir` (created). */
export function writeFleet(dir: string, spec: FleetSpec): void {
  fs.mkdirSync(path.join(dir, 'serviceaccounts'), { recursive: true });
  const clusters = [];
  for (let c = 0; c < spec.clusters; c++) {
    const region = REGIONS[c % REGIONS.length];
    const name = clusterName(c);
    const issuer = `oidc.eks.${region}.amazonaws.com/id/${hex32(c)}`;
    clusters.push({
      name,
      clusterArn: `arn:aws:eks:${region}:${ACCOUNT}:cluster/${name}`,
      oidcIssuer: issuer,
      oidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer}`,
      computeType: 'EC2',
      podIdentityAgent: 'NOT_INSTALLED',
    });
    const items = [];
    for (let s = 0; s < SERVICE_ACCOUNTS; s++) {
      items.push({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          name: `svc-${s}`,
          namespace: `team-${s % NAMESPACES}`,
          labels: { 'app.kubernetes.io/name': `svc-${s}` },
          annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/${roleName(spec, c, s)}` },
        },
      });
    }
    fs.writeFileSync(path.join(dir, 'serviceaccounts', `${name}.json`), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2));
  }
  fs.writeFileSync(path.join(dir, 'clusters.json'), JSON.stringify(clusters, null, 2));

  const perWave = NAMESPACES / WAVES;
  const waves = Array.from({ length: WAVES }, (_, w) => ({
    name: `wave${w + 1}`,
    select: Array.from({ length: perWave }, (__, i) => ({ namespace: `team-${w * perWave + i}` })),
  }));
  const plan = {
    waves,
    roles: {
      'svc-*': {
        statements: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::northwind-data/*' }],
        managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess'],
      },
    },
  };
  fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify(plan, null, 2));
  writeState(dir, spec);
  // an empty placement file: the first synthesis places the fleet as it is now (F's roles, shared by
  // every cluster, could never have trusted all their issuers at IRSA_ONLY, so no earlier synthesis did)
  fs.writeFileSync(path.join(dir, 'placement.json'), JSON.stringify({ version: 1, stackPrefix: 'PodIdentity', homeRegion: 'us-east-1', roles: {}, associations: {} }));
}

/** The state file: every wave stepped to the fleet's phase. */
function writeState(dir: string, spec: FleetSpec): void {
  const waves = Array.from({ length: WAVES }, (_, w) => `wave${w + 1}`);
  const steps = spec.kind === 'F'
    ? ['IRSA_ONLY', 'DUAL_TRUST', 'POD_IDENTITY', 'ANNOTATION_REMOVED', 'POD_IDENTITY_ONLY']
    : ['IRSA_ONLY', 'DUAL_TRUST', 'POD_IDENTITY'];
  const state = { waves: Object.fromEntries(waves.map((w) => [w, steps])) };
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state, null, 2));
}

/**
 * The account's trust policy length quota the fleet needs: a role of fleet F pins every cluster
 * ARN in its pods.eks statement (raised, as a real fleet of this shape would, up to IAM's 8,192).
 */
export function trustQuota(spec: FleetSpec): number {
  return spec.kind === 'F' ? 8192 : 2048;
}
