/**
 * `cdk-eks-pod-identity collect`: reads the live fleet with the operator's own `kubectl` and AWS CLI
 * and writes the fleet folder the library reads (README, "Collecting the fleet"):
 *
 *   clusters.json                              one entry per context: ARN, OIDC issuer and provider,
 *                                              compute type, whether the agent runs
 *   serviceaccounts/<cluster>.json             kubectl get serviceaccounts -A -o json
 *   workloads/<cluster>.json                   kubectl get deployments,statefulsets,daemonsets,
 *                                              cronjobs,jobs,pods -A -o json (owned Jobs and Pods left out)
 *   addons/<cluster>/<addon>.json              aws eks describe-addon
 *   addon-configurations/<addon>-<version>.json aws eks describe-addon-configuration
 *   roles.json                                 every IRSA role: trust, inline and attached managed policies
 *                                              (with the crossAccount targets of plan.json and the roles
 *                                              placement.json records for migrated service accounts)
 *
 * plan.json, state.json and placement.json are the operator's and are never written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MigrationFiles } from '../migration/plan';
import {
  AgentStatusName, agentStatusOf, CollectError, ComputeTypeName, computeTypeOf, contextTarget, irsaRoles, oidcProviderArn, ownWorkloads,
  WORKLOAD_KINDS,
} from './private/collect-facts';
import { parsePlacement, PlacementRecord } from '../migration/private/placement';
import { clusterArnFields, roleArnParts } from '../private/arns';
import { IamTarget, Tools } from './private/collect-tools';

export { CollectError } from './private/collect-facts';

/** What to collect. */
export interface CollectOptions {
  /** The kubeconfig contexts, one per cluster, in the order clusters.json lists them. */
  readonly contexts: string[];
  /** The fleet folder. */
  readonly out: string;
  /** The AWS profile for an account's IAM reads (account → profile), for accounts no context's profile reaches. */
  readonly accountProfiles?: { [account: string]: string };
  /** Remove the files of clusters that are not among the contexts (otherwise that is an error). */
  readonly prune?: boolean;
}

/** Where collect runs: the environment of its commands and where progress goes. */
export interface CollectIo {
  readonly env: { [name: string]: string | undefined };
  readonly log: (line: string) => void;
}

/** What collect wrote. */
export interface CollectResult {
  readonly clusters: number;
  readonly roles: number;
  readonly files: string[];
  readonly warnings: string[];
}

/** One cluster, as read. */
interface Collected {
  context: string;
  profile?: string;
  name: string;
  region: string;
  account: string;
  partition: string;
  clusterArn: string;
  oidcIssuer: string;
  /** Set once IAM is seen to list the provider. */
  oidcProviderArn?: string;
  computeType: ComputeTypeName;
  /** Why that compute type (the progress line). */
  why: string;
  podIdentityAgent: AgentStatusName;
  serviceAccounts: any;
  workloads: any;
  addons: any[];
  addonDocs: { name: string; doc: any }[];
}

/** Collects the fleet and writes the folder. Throws `CollectError` with what to do. */
export function collect(options: CollectOptions, io: CollectIo): CollectResult {
  if (options.contexts.length === 0) {
    throw new CollectError('collect: no --context given; give one per cluster (kubectl config get-contexts -o name lists them).');
  }
  const dup = options.contexts.find((c, i) => options.contexts.indexOf(c) !== i);
  if (dup !== undefined) throw new CollectError(`collect: --context ${dup} is given twice; give each context once.`);
  const tools = new Tools(io);
  const warnings: string[] = [];
  const warn = (line: string) => {
    warnings.push(line);
    io.log(`WARN ${line}`);
  };
  const { clusters, configurations } = collectClusters(tools, options, io);
  // IAM and STS are global, but the AWS CLI needs a region for their endpoint: the first cluster's
  const iam: IamAccess = {
    region: clusters[0].region,
    profile: (account: string) => options.accountProfiles?.[account] ?? clusters.find((c) => c.account === account)?.profile,
  };
  findOidcProviders(tools, clusters, iam, warn);
  const { users, targets, recalled } = roleUsers(options, clusters);
  const roles = collectRoles(tools, users, iam, io, warn);
  io.log(`roles: ${roles.length} role(s) from ${new Set(roles.map((r) => r.arn.split(':')[4])).size} account(s)${targets > 0 ? ` (${targets} of them cross-account targets named by plan.json)` : ''}`
    + `${recalled > 0 ? ` (${recalled} of them no longer shown by their clusters, recorded in placement.json)` : ''}`);

  const files = write(options, clusters, configurations, roles);
  io.log(`wrote ${files.length} files to ${options.out}`);
  return { clusters: clusters.length, roles: roles.length, files, warnings };
}

/** An add-on version's `describe-addon-configuration`, and the file it is written to. */
type AddonConfiguration = { doc: any; file: string };

/** How IAM is reached: the region of its endpoint, and the profile for an account. */
interface IamAccess {
  readonly region: string;
  readonly profile: (account: string) => string | undefined;
}

/** Each context's cluster, each given once, and the add-on configurations their add-ons need (each once). */
function collectClusters(tools: Tools, options: CollectOptions,
  io: CollectIo): { clusters: Collected[]; configurations: Map<string, AddonConfiguration> } {
  const clusters: Collected[] = [];
  const configurations = new Map<string, AddonConfiguration>();
  options.contexts.forEach((context, index) => {
    const c = collectCluster(tools, context);
    const other = clusters.find((x) => x.clusterArn === c.clusterArn);
    if (other !== undefined) {
      throw new CollectError(`collect: contexts "${other.context}" and "${context}" both reach ${c.clusterArn}; give each cluster once.`);
    }
    const clash = clusters.find((x) => x.name === c.name);
    if (clash !== undefined) {
      throw new CollectError(`collect: contexts "${clash.context}" and "${context}" reach two clusters named ${c.name} (${clash.clusterArn}, ${c.clusterArn}); the fleet folder names files by cluster, so collect them into two folders.`);
    }
    for (const a of c.addons) {
      const key = `${a.addonName}-${a.addonVersion}`;
      if (!configurations.has(key)) {
        const doc = tools.aws(`cluster ${c.name}`, ['eks', 'describe-addon-configuration', '--addon-name', a.addonName, '--addon-version', a.addonVersion], c.profile, c.region);
        configurations.set(key, { doc, file: `${key}.json` });
      }
    }
    const sas = c.serviceAccounts.items as any[];
    const irsa = sas.filter((s) => s?.metadata?.annotations?.['eks.amazonaws.com/role-arn']).length;
    const addonText = c.addons.length === 0 ? 'no add-ons' : `${c.addons.length} add-on(s) (${c.addons.map((a) => `${a.addonName}${a.serviceAccountRoleArn ? ' IRSA' : ''}`).join(', ')})`;
    io.log(`[${index + 1}/${options.contexts.length}] ${c.name} (${c.region}, ${c.account}): ${sas.length} service accounts (${irsa} IRSA), ${c.workloads.items.length} workloads, ${addonText}, ${c.computeType} (${c.why}), agent ${c.podIdentityAgent}`);
    clusters.push(c);
  });
  return { clusters, configurations };
}

/** The clusters' OIDC providers, as IAM lists them per account: each cluster's set when IAM has it, a warning when not. */
function findOidcProviders(tools: Tools, clusters: Collected[], iam: IamAccess, warn: (line: string) => void): void {
  const providerLists = new Map<string, Set<string>>();
  for (const c of clusters) {
    if (!providerLists.has(c.account)) {
      const list = tools.iam({ account: c.account, profile: iam.profile(c.account), region: iam.region }, ['list-open-id-connect-providers'], `the OIDC providers of account ${c.account}`);
      providerLists.set(c.account, new Set((list.OpenIDConnectProviderList ?? []).map((p: any) => p.Arn)));
    }
    const arn = oidcProviderArn(c.partition, c.account, `https://${c.oidcIssuer}`);
    if (providerLists.get(c.account)!.has(arn)) {
      c.oidcProviderArn = arn;
    } else {
      warn(`${c.name}: no IAM OIDC provider for ${c.oidcIssuer} in account ${c.account}: IRSA cannot work on this cluster today; clusters.json leaves oidcProviderArn out.`);
    }
  }
}

/**
 * Every IRSA role with who uses it; the cross-account targets plan.json adopts; the IRSA roles the
 * clusters no longer show (the annotation or serviceAccountRoleArn a phase removed) that the folder's
 * placement file records for the migration's service accounts and add-ons. With how many of each.
 */
function roleUsers(options: CollectOptions, clusters: Collected[]): { users: Map<string, string[]>; targets: number; recalled: number } {
  const users = irsaRoles(clusters.map((c) => ({ name: c.name, serviceAccounts: c.serviceAccounts.items, addons: c.addons })));
  const planFile = path.join(options.out, 'plan.json');
  let targets = 0;
  if (fs.existsSync(planFile)) {
    const plan = MigrationFiles.planFromJson(fs.readFileSync(planFile, 'utf8'), planFile);
    for (const c of plan.crossAccount ?? []) {
      if (!users.has(c.targetRoleArn)) targets++;
      users.set(c.targetRoleArn, [...(users.get(c.targetRoleArn) ?? []), `plan.json crossAccount ${c.namespace}/${c.serviceAccount}`]);
    }
  }
  const placementFile = path.join(options.out, 'placement.json');
  let recalled = 0;
  if (fs.existsSync(placementFile)) {
    let record: PlacementRecord;
    try {
      record = parsePlacement(fs.readFileSync(placementFile, 'utf8'), placementFile);
    } catch (e) {
      throw new CollectError(`collect: ${(e as Error).message}`);
    }
    for (const c of clusters) {
      const recorded: [string, string][] = [
        ...Object.entries(record.irsaRoles?.[c.clusterArn] ?? {}).map(([sa, arn]): [string, string] => [arn, `placement.json ${c.name} ${sa}`]),
        ...Object.entries(record.addonRoles?.[c.clusterArn] ?? {}).map(([addon, arn]): [string, string] => [arn, `placement.json ${c.name} add-on ${addon}`]),
      ];
      for (const [arn, who] of recorded) {
        if (!users.has(arn)) recalled++;
        users.set(arn, [...(users.get(arn) ?? []), who]);
      }
    }
  }
  return { users, targets, recalled };
}

/** The roles, each read from its own account (whose credentials must reach it), as roles.json holds them, in ARN order. */
function collectRoles(tools: Tools, users: Map<string, string[]>, iam: IamAccess, io: CollectIo, warn: (line: string) => void): any[] {
  const byAccount = new Map<string, { arn: string; name: string; who: string[] }[]>();
  for (const [arn, who] of [...users.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const role = roleArnParts(arn);
    if (role === undefined) {
      warn(`${arn} (${who.join(', ')}) is not an IAM role ARN; left out of roles.json.`);
      continue;
    }
    byAccount.set(role.account, [...(byAccount.get(role.account) ?? []), { arn, name: role.name, who }]);
  }
  const found = new Map<string, any>();
  for (const [roleAccount, wanted] of [...byAccount.entries()].sort()) {
    const profile = iam.profile(roleAccount);
    const names = wanted.map((w) => w.name).join(', ');
    const fix = `Give --account-profile ${roleAccount}=<a profile of that account> (IAM read access: iam:GetAccountAuthorizationDetails, or iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy and iam:ListAttachedRolePolicies).`;
    const reached = tools.callerAccount(profile, iam.region);
    if (reached.error !== undefined) {
      throw new CollectError(`collect: roles in account ${roleAccount} (${names}) cannot be read: ${profile === undefined ? 'no context\'s profile reaches that account, and the default credentials fail' : `profile ${profile} fails`} (${reached.error}). ${fix}`);
    }
    if (reached.account !== roleAccount) {
      throw new CollectError(`collect: roles in account ${roleAccount} (${names}) cannot be read: ${profile === undefined ? 'the default credentials reach' : `profile ${profile} reaches`} account ${reached.account}. ${fix}`);
    }
    for (const role of readRoles(tools, { account: roleAccount, profile, region: iam.region }, wanted.map((w) => w.name), io)) {
      found.set(role.Arn, role);
    }
  }
  const roles: any[] = [];
  for (const [arn, who] of [...users.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const role = found.get(arn);
    if (role === undefined) {
      if (/^arn:[^:]+:iam::\d{12}:role\//.test(arn)) {
        warn(`role ${arn} does not exist (used by ${who.join(', ')}): ${who.every((w) => w.startsWith('plan.json')) ? 'plan.json chains to a role that is not there'
          : who.every((w) => w.startsWith('placement.json')) ? 'placement.json records it for a migrated service account or add-on' : 'those pods get no AWS credentials today'}; left out of roles.json, so a wave that holds them needs the role's permissions in plan.json.`);
      }
      continue;
    }
    // the documents as IAM returns them (as they were written), the policies by name
    roles.push({
      arn,
      trustPolicy: role.AssumeRolePolicyDocument,
      inlinePolicies: Object.fromEntries((role.RolePolicyList ?? []).map((p: any) => [p.PolicyName, p.PolicyDocument]).sort()),
      managedPolicyArns: (role.AttachedManagedPolicies ?? []).map((p: any) => p.PolicyArn).sort(),
    });
  }
  return roles;
}

/**
 * The roles of one account, as `aws iam get-account-authorization-details` gives them (one call,
 * paginated by the CLI); where that is denied, role by role (get-role, list-role-policies,
 * get-role-policy, list-attached-role-policies). Roles that do not exist are not returned.
 */
function readRoles(tools: Tools, where: IamTarget, names: string[], io: CollectIo): any[] {
  const all = tools.iam(where, ['get-account-authorization-details', '--filter', 'Role'], `the roles of account ${where.account}`, { denied: true });
  if (all !== undefined) {
    const wanted = new Set(names);
    return (all.RoleDetailList ?? []).filter((r: any) => wanted.has(r.RoleName));
  }
  io.log(`account ${where.account}: iam:GetAccountAuthorizationDetails is denied; reading its ${names.length} role(s) one by one`);
  const roles: any[] = [];
  for (const name of names) {
    const role = tools.iam(where, ['get-role', '--role-name', name], `role ${name}`, { missing: true });
    if (role === undefined) continue;
    const policies = (tools.iam(where, ['list-role-policies', '--role-name', name], `role ${name}`).PolicyNames ?? []).map((p: string) => ({
      PolicyName: p,
      PolicyDocument: tools.iam(where, ['get-role-policy', '--role-name', name, '--policy-name', p], `role ${name}`).PolicyDocument,
    }));
    const attached = tools.iam(where, ['list-attached-role-policies', '--role-name', name], `role ${name}`).AttachedPolicies ?? [];
    roles.push({ ...role.Role, RolePolicyList: policies, AttachedManagedPolicies: attached });
  }
  return roles;
}

function collectCluster(tools: Tools, context: string): Collected {
  const view = tools.kubectl(context, ['config', 'view', '--minify', '--context', context, '-o', 'json'], 'its kubeconfig entry');
  const target = contextTarget(context, view);
  const who = `context "${context}" (cluster ${target.clusterName}, ${target.region})`;
  const cluster = tools.aws(who, ['eks', 'describe-cluster', '--name', target.clusterName], target.profile, target.region).cluster;
  const arn = clusterArnFields(cluster?.arn ?? '');
  if (arn === undefined) throw new CollectError(`collect: ${who}: describe-cluster returned no cluster ARN.`);
  if (target.account !== undefined && target.account !== arn.account) {
    throw new CollectError(`collect: ${who}: the kubeconfig names account ${target.account}, but the credentials reached ${cluster.arn}; use the profile of account ${target.account}.`);
  }
  if (String(cluster.endpoint ?? '').toLowerCase() !== target.server.toLowerCase()) {
    throw new CollectError(`collect: ${who}: the kubeconfig's server ${target.server} is not the endpoint of ${cluster.arn} (${cluster.endpoint}): the kubeconfig is stale (the cluster was replaced?) or the credentials reach another account. Rewrite it with: aws eks update-kubeconfig --name ${target.clusterName} --region ${target.region} --alias ${context}`);
  }
  const issuer = String(cluster.identity?.oidc?.issuer ?? '').replace(/^https:\/\//, '');
  const nodegroups: string[] = tools.aws(who, ['eks', 'list-nodegroups', '--cluster-name', target.clusterName], target.profile, target.region).nodegroups ?? [];
  const addonNames: string[] = tools.aws(who, ['eks', 'list-addons', '--cluster-name', target.clusterName], target.profile, target.region).addons ?? [];
  const addonDocs = [...addonNames].sort().map((name) => ({
    name,
    doc: tools.aws(who, ['eks', 'describe-addon', '--cluster-name', target.clusterName, '--addon-name', name], target.profile, target.region),
  }));
  const serviceAccounts = tools.kubectl(context, ['--context', context, 'get', 'serviceaccounts', '--all-namespaces', '-o', 'json'], 'its service accounts');
  const workloads = tools.kubectl(context, ['--context', context, 'get', WORKLOAD_KINDS.join(','), '--all-namespaces', '-o', 'json'], 'its workloads');
  const nodes = tools.kubectl(context, ['--context', context, 'get', 'nodes', '-o', 'json'], 'its nodes');
  const kept = { ...workloads, items: ownWorkloads(workloads.items ?? []) };
  const compute = computeTypeOf(cluster, nodes.items ?? [], nodegroups);
  return {
    context,
    profile: target.profile,
    name: arn.name,
    region: arn.region,
    account: arn.account,
    partition: arn.partition,
    clusterArn: cluster.arn,
    oidcIssuer: issuer,
    computeType: compute.computeType,
    why: compute.why,
    podIdentityAgent: agentStatusOf(compute.computeType, addonNames, kept.items),
    serviceAccounts,
    workloads: kept,
    addons: addonDocs.map((a) => a.doc.addon),
    addonDocs,
  };
}

/** The files, written only after everything was read. */
function write(options: CollectOptions, clusters: Collected[], configurations: Map<string, { doc: any; file: string }>, roles: any[]): string[] {
  const out = options.out;
  const raw = (value: unknown) => `${JSON.stringify(value, null, 4)}\n`; // as kubectl and the AWS CLI print it
  const ours = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const files = new Map<string, string>();
  files.set('clusters.json', ours(clusters.map((c) => ({
    name: c.name,
    region: c.region,
    account: c.account,
    clusterArn: c.clusterArn,
    oidcIssuer: c.oidcIssuer,
    oidcProviderArn: c.oidcProviderArn, // left out by JSON.stringify when IAM has no provider
    computeType: c.computeType,
    podIdentityAgent: c.podIdentityAgent,
  }))));
  for (const c of clusters) {
    files.set(`serviceaccounts/${c.name}.json`, raw(c.serviceAccounts));
    files.set(`workloads/${c.name}.json`, raw(c.workloads));
    for (const a of c.addonDocs) files.set(`addons/${c.name}/${a.name}.json`, raw(a.doc));
  }
  for (const { doc, file } of configurations.values()) files.set(`addon-configurations/${file}`, raw(doc));
  files.set('roles.json', ours(roles));

  // files of clusters that were not collected would be read with a clusters.json that lacks them
  const names = new Set(clusters.map((c) => c.name));
  const stale: string[] = [];
  for (const dir of ['serviceaccounts', 'workloads', 'addons']) {
    const full = path.join(out, dir);
    if (!fs.existsSync(full)) continue;
    for (const f of fs.readdirSync(full).sort()) {
      const cluster = dir === 'addons' ? f : f.replace(/\.json$/, '');
      if (!names.has(cluster)) stale.push(path.join(dir, f));
    }
  }
  const configDir = path.join(out, 'addon-configurations');
  for (const f of fs.existsSync(configDir) ? fs.readdirSync(configDir).sort() : []) {
    if (!files.has(`addon-configurations/${f}`)) stale.push(path.join('addon-configurations', f));
  }
  const addonDir = path.join(out, 'addons');
  for (const c of clusters) {
    const dir = path.join(addonDir, c.name);
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
      if (!files.has(`addons/${c.name}/${f}`)) stale.push(path.join('addons', c.name, f));
    }
  }
  if (stale.length > 0 && !options.prune) {
    throw new CollectError(`collect: ${out} holds files of clusters, add-ons or add-on versions that were not collected: ${stale.join(', ')}. Give those clusters' contexts too, or --prune to remove the files (nothing was written).`);
  }
  for (const s of stale) fs.rmSync(path.join(out, s), { recursive: true, force: true });
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
    fs.writeFileSync(path.join(out, file), text);
  }
  return [...files.keys()];
}
