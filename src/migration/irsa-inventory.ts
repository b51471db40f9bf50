import * as fs from 'fs';
import { AddonConfiguration, InventoryAddon, IrsaServiceAccount, IrsaServiceAccountEntry, ParsedRoleArn } from './inventory-types';
import {
  IRSA_ROLE_ANNOTATION, key, NOT_KEPT_ANNOTATIONS, parseJson, parseList, podSpecOf, Unannotated, withoutClientWritten, workloadOf,
} from './private/inventory-parsing';
import { CLIENT_WRITTEN_METADATA } from '../private/constants';
import { fileError } from '../private/errors';
import { namespaceProblem, serviceAccountProblem } from '../private/k8s-names';

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role(\/(?:[\u0021-\u007E]+\/)?)?([\w+=,.@-]{1,64})$/;

/**
 * The IRSA service accounts of a fleet: built from `kubectl get serviceaccounts -A -o json` output
 * per cluster (a `List`, or a single ServiceAccount) and from explicit entries. Keeps only the
 * accounts annotated with `eks.amazonaws.com/role-arn`, with their labels, other annotations and
 * `automountServiceAccountToken`. Workloads (`kubectl get deployments,statefulsets,daemonsets,cronjobs -A -o json`)
 * tell which workloads use which account and whether they go through a proxy.
 *
 * Malformed input is an error naming the source and the item.
 */
export class IrsaInventory {
  /**
   * Parse an IAM role ARN (`arn:<partition>:iam::<account>:role/<path/>name`).
   *
   * @param arn the ARN
   * @param where where it comes from, for the error message
   */
  public static parseRoleArn(arn: string, where: string = 'role ARN'): ParsedRoleArn {
    const m = ROLE_ARN.exec(arn);
    if (!m) {
      throw fileError('IrsaInventory', where, `invalid role ARN ${JSON.stringify(arn)}: expected arn:<partition>:iam::<12-digit account>:role/<optional path/>name.`);
    }
    return { arn, partition: m[1], account: m[2], path: m[3] ?? '/', roleName: m[4] };
  }

  private readonly entries = new Map<string, IrsaServiceAccount>();
  /** Role ARN -> the ARN parsed (one object per role, shared by its service accounts). */
  private readonly parsedRoles = new Map<string, ParsedRoleArn>();
  /** Namespaces and service account names already found valid. */
  private readonly validNamespaces = new Set<string>();
  private readonly validServiceAccounts = new Set<string>();
  private readonly addonEntries = new Map<string, InventoryAddon>();
  private readonly configurationEntries = new Map<string, AddonConfiguration>();
  /**
   * The ServiceAccounts without the role annotation, as read (checked only when recalled): a
   * migration's record names those whose annotation its phase removed (`_recall`).
   */
  private readonly unannotated = new Map<string, Unannotated>();
  /** Every service account's key, annotated or not, in the order added. */
  private readonly order: string[] = [];

  /**
   * Add the output of `kubectl get serviceaccounts -A -o json` for one cluster.
   *
   * @param cluster the cluster name
   * @param json the JSON text
   * @param source a name for error messages (e.g. the file name)
   */
  public addServiceAccountsJson(cluster: string, json: string, source: string = `serviceaccounts of ${cluster}`): void {
    const items = parseList(json, source, ['ServiceAccount']);
    items.forEach((item, index) => {
      // error messages only: made when one is thrown (10,000 service accounts in a fleet)
      const where = () => `${source} item ${index + 1}`;
      const metadata = item.metadata;
      if (!metadata || typeof metadata.name !== 'string' || typeof metadata.namespace !== 'string') {
        throw fileError('IrsaInventory', where(), 'a ServiceAccount needs metadata.name and metadata.namespace.');
      }
      const roleArn = metadata.annotations?.[IRSA_ROLE_ANNOTATION];
      if (roleArn === undefined) {
        const k = key(cluster, metadata.namespace, metadata.name);
        if (!this.unannotated.has(k)) {
          this.order.push(k);
        }
        this.unannotated.set(k, { cluster, item, where: `${source} item ${index + 1}`, source, workloads: [] });
        return;
      }
      // the other annotations, copied without the role's (no delete: it would make a slow dictionary object)
      const annotations: { [key: string]: string } = {};
      for (const name of Object.keys(metadata.annotations)) {
        if (name !== IRSA_ROLE_ANNOTATION) {
          annotations[name] = metadata.annotations[name];
        }
      }
      if (item.automountServiceAccountToken !== undefined && typeof item.automountServiceAccountToken !== 'boolean') {
        throw fileError('IrsaInventory', `${where()} (${metadata.namespace}/${metadata.name})`, `automountServiceAccountToken must be true or false; got ${JSON.stringify(item.automountServiceAccountToken)}.`);
      }
      this.add({
        cluster,
        namespace: metadata.namespace,
        serviceAccount: metadata.name,
        roleArn,
        labels: metadata.labels,
        annotations,
        automountServiceAccountToken: item.automountServiceAccountToken,
      }, () => `${where()} (${metadata.namespace}/${metadata.name})`, source, true);
    });
  }

  /**
   * Add a file holding `kubectl get serviceaccounts -A -o json` output for one cluster.
   */
  public addServiceAccountsFile(cluster: string, path: string): void {
    this.addServiceAccountsJson(cluster, readFile(path), path);
  }

  /**
   * Add the output of `kubectl get deployments,statefulsets,daemonsets,cronjobs -A -o json` (jobs
   * and bare pods are read too) for one cluster, to know which workloads use which account.
   */
  public addWorkloadsJson(cluster: string, json: string, source: string = `workloads of ${cluster}`): void {
    const items = parseList(json, source, ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'Pod', 'ReplicaSet']);
    items.forEach((item, index) => {
      const where = `${source} item ${index + 1}`;
      const podSpec = podSpecOf(item);
      if (!podSpec || !item.metadata?.namespace || !item.metadata?.name) {
        throw fileError('IrsaInventory', where, `a ${item.kind} needs metadata.name, metadata.namespace and a pod template.`);
      }
      const serviceAccount = podSpec.serviceAccountName ?? podSpec.serviceAccount ?? 'default';
      const k = key(cluster, item.metadata.namespace, serviceAccount);
      const entry = this.entries.get(k) ?? this.unannotated.get(k);
      if (!entry) {
        return;
      }
      entry.workloads.push(workloadOf(item, podSpec));
    });
  }

  /**
   * Add a file holding workloads output for one cluster.
   */
  public addWorkloadsFile(cluster: string, path: string): void {
    this.addWorkloadsJson(cluster, readFile(path), path);
  }

  /**
   * Add a service account explicitly.
   */
  public addEntry(entry: IrsaServiceAccountEntry): void {
    this.add(entry, () => `entry ${entry.namespace}/${entry.serviceAccount} on ${entry.cluster}`, 'entries');
  }

  /**
   * Add the output of `aws eks describe-addon` for one add-on of a cluster (`{"addon": {...}}`), or
   * a list of them (a JSON array, or `{"addons": [...]}`). An add-on with a `serviceAccountRoleArn`
   * uses IRSA: its service accounts (those of the cluster that carry that role) migrate through the
   * add-on's `podIdentityAssociations` instead of associations of their own.
   *
   * @param cluster the cluster name
   * @param json the JSON text
   * @param source a name for error messages (e.g. the file name)
   */
  public addAddonsJson(cluster: string, json: string, source: string = `add-ons of ${cluster}`): void {
    const doc = parseJson(json, source, 'aws eks describe-addon --output json');
    const listed = Array.isArray(doc) || Array.isArray(doc?.addons);
    const list: any[] = Array.isArray(doc) ? doc : listed ? doc.addons : [doc];
    list.forEach((item, index) => {
      const where = listed ? `${source} item ${index + 1}` : source;
      const addon = item && typeof item === 'object' && item.addon !== undefined ? item.addon : item;
      if (!addon || typeof addon !== 'object' || typeof addon.addonName !== 'string' || typeof addon.addonVersion !== 'string') {
        throw fileError('IrsaInventory', where, `expected the output of aws eks describe-addon ({"addon": {"addonName": ..., "addonVersion": ...}}); got ${JSON.stringify(item)?.slice(0, 120)}.`);
      }
      if (addon.clusterName !== undefined && addon.clusterName !== cluster) {
        throw fileError('IrsaInventory', where, `add-on ${addon.addonName} belongs to cluster ${JSON.stringify(addon.clusterName)}, but it was given for cluster ${JSON.stringify(cluster)}; give each cluster's add-ons under its own name.`);
      }
      const roleArn = addon.serviceAccountRoleArn;
      if (roleArn !== undefined && roleArn !== null) {
        IrsaInventory.parseRoleArn(roleArn, `${where} (add-on ${addon.addonName} serviceAccountRoleArn)`);
      }
      const k = `${cluster}|${addon.addonName}`;
      const existing = this.addonEntries.get(k);
      if (existing) {
        throw fileError('IrsaInventory', where, `add-on ${addon.addonName} of cluster ${cluster} is already in the inventory (from ${existing.source}); give each add-on once.`);
      }
      this.addonEntries.set(k, {
        cluster,
        addonName: addon.addonName,
        addonVersion: addon.addonVersion,
        serviceAccountRoleArn: roleArn ?? undefined,
        podIdentityAssociations: Array.isArray(addon.podIdentityAssociations) ? [...addon.podIdentityAssociations] : [],
        configurationValues: typeof addon.configurationValues === 'string' && addon.configurationValues !== '' ? addon.configurationValues : undefined,
        tags: addon.tags && Object.keys(addon.tags).length > 0 ? { ...addon.tags } : undefined,
        namespace: addon.namespaceConfig?.namespace ?? undefined,
        source: where,
      });
    });
  }

  /**
   * Add a file holding `aws eks describe-addon` output (or a list of them) for one cluster.
   */
  public addAddonsFile(cluster: string, path: string): void {
    this.addAddonsJson(cluster, readFile(path), path);
  }

  /**
   * Add the output of `aws eks describe-addon-configuration --addon-name <name> --addon-version
   * <version>`: it tells whether that version supports Pod Identity (`podIdentityConfiguration`),
   * which an add-on's wave needs recorded before it reaches `POD_IDENTITY`.
   *
   * @param json the JSON text
   * @param source a name for error messages (e.g. the file name)
   */
  public addAddonConfigurationJson(json: string, source: string = 'add-on configuration'): void {
    const doc = parseJson(json, source, 'aws eks describe-addon-configuration --output json');
    if (!doc || typeof doc.addonName !== 'string' || typeof doc.addonVersion !== 'string') {
      throw fileError('IrsaInventory', source, 'expected the output of aws eks describe-addon-configuration ({"addonName": ..., "addonVersion": ..., "podIdentityConfiguration": [...]}).');
    }
    const config = doc.podIdentityConfiguration ?? [];
    if (!Array.isArray(config) || config.some((c: any) => !c || typeof c.serviceAccount !== 'string')) {
      throw fileError('IrsaInventory', source, 'podIdentityConfiguration must be a list of {"serviceAccount": ..., "recommendedManagedPolicies": [...]}.');
    }
    this.configurationEntries.set(`${doc.addonName}|${doc.addonVersion}`, {
      addonName: doc.addonName,
      addonVersion: doc.addonVersion,
      podIdentityServiceAccounts: config.map((c: any) => c.serviceAccount),
      source,
    });
  }

  /**
   * Add a file holding `aws eks describe-addon-configuration` output.
   */
  public addAddonConfigurationFile(path: string): void {
    this.addAddonConfigurationJson(readFile(path), path);
  }

  /** Every add-on (copies), in the order added. */
  public get addons(): InventoryAddon[] {
    return [...this.addonEntries.values()].map((a) => ({ ...a, podIdentityAssociations: [...a.podIdentityAssociations] }));
  }

  /**
   * What is recorded about an add-on version's Pod Identity support.
   *
   * @returns undefined when `describe-addon-configuration` output for that version was not added
   */
  public addonConfiguration(addonName: string, addonVersion: string): AddonConfiguration | undefined {
    const c = this.configurationEntries.get(`${addonName}|${addonVersion}`);
    return c === undefined ? undefined : { ...c, podIdentityServiceAccounts: [...c.podIdentityServiceAccounts] };
  }

  /** Every IRSA service account (copies), in the order added. */
  public get serviceAccounts(): IrsaServiceAccount[] {
    return [...this.entries.values()].map((e) => ({ ...e, workloads: [...e.workloads] }));
  }

  /**
   * The entries themselves, not copies, for the migration's planning (10,000 copies held through
   * synthesis cost memory at fleet scale); read-only.
   *
   * @internal
   */
  public _entries(): readonly IrsaServiceAccount[] {
    return [...this.entries.values()];
  }

  /**
   * This inventory as a migration's record recalls it: each service account the record names that
   * is here without its role annotation (its phase removed it) is an entry again with its recorded
   * role, its labels, other annotations and workloads as read; each add-on it names that has no
   * `serviceAccountRoleArn` (its phase removed it) or has the recorded one has it again, and the
   * `podIdentityAssociations` the migration gave it are its own. Everything else is as added.
   *
   * @param serviceAccountRoles cluster name -> `namespace/serviceAccount` -> recorded IRSA role ARN
   * @param addonRoles cluster name -> add-on name -> recorded `serviceAccountRoleArn`
   * @param source names the record in errors
   * @returns this inventory when the record recalls nothing
   * @internal
   */
  public _recall(serviceAccountRoles: { [cluster: string]: { [serviceAccount: string]: string } },
    addonRoles: { [cluster: string]: { [addon: string]: string } }, source: string): IrsaInventory {
    const roleOf = (k: string): string | undefined => {
      const u = this.unannotated.get(k);
      const metadata = u?.item.metadata;
      return u === undefined ? undefined : serviceAccountRoles[u.cluster]?.[`${metadata.namespace}/${metadata.name}`];
    };
    const addonRoleOf = (a: InventoryAddon): string | undefined => {
      const recorded = addonRoles[a.cluster]?.[a.addonName];
      return recorded !== undefined && (a.serviceAccountRoleArn === undefined || a.serviceAccountRoleArn === recorded) ? recorded : undefined;
    };
    const recalled = this.order.filter((k) => !this.entries.has(k) && roleOf(k) !== undefined);
    const addons = [...this.addonEntries.values()].filter((a) => addonRoleOf(a) !== undefined);
    if (recalled.length === 0 && addons.length === 0) {
      return this;
    }
    const view = new IrsaInventory();
    this.parsedRoles.forEach((v, k) => view.parsedRoles.set(k, v));
    this.validNamespaces.forEach((v) => view.validNamespaces.add(v));
    this.validServiceAccounts.forEach((v) => view.validServiceAccounts.add(v));
    this.configurationEntries.forEach((v, k) => view.configurationEntries.set(k, v));
    this.addonEntries.forEach((a, k) => {
      const roleArn = addonRoleOf(a);
      view.addonEntries.set(k, roleArn === undefined ? a : { ...a, serviceAccountRoleArn: roleArn, podIdentityAssociations: [] });
    });
    for (const k of this.order) {
      const entry = this.entries.get(k);
      if (entry !== undefined) {
        view.entries.set(k, entry);
        continue;
      }
      const roleArn = roleOf(k);
      if (roleArn === undefined) {
        continue;
      }
      const u = this.unannotated.get(k)!;
      const { metadata } = u.item;
      const name = `${metadata.namespace}/${metadata.name}`;
      const where = () => `${u.where} (${name}, its role ${roleArn} recalled from ${source})`;
      if (u.item.automountServiceAccountToken !== undefined && typeof u.item.automountServiceAccountToken !== 'boolean') {
        throw fileError('IrsaInventory', where(), `automountServiceAccountToken must be true or false; got ${JSON.stringify(u.item.automountServiceAccountToken)}.`);
      }
      view.add({
        cluster: u.cluster,
        namespace: metadata.namespace,
        serviceAccount: metadata.name,
        roleArn,
        labels: metadata.labels,
        annotations: metadata.annotations,
        automountServiceAccountToken: u.item.automountServiceAccountToken,
      }, where, u.source);
      view.entries.get(k)!.workloads.push(...u.workloads);
    }
    return view;
  }

  /** The clusters that have IRSA service accounts. */
  public get clusters(): string[] {
    return [...new Set([...this.entries.values()].map((e) => e.cluster))];
  }

  /**
   * Adds one service account; `where` names it in errors. Its labels and annotations are copied
   * (the caller's objects are never kept), unless `owned`: maps the inventory parsed itself, which
   * nobody else holds.
   */
  private add(entry: IrsaServiceAccountEntry, where: () => string, source: string, owned: boolean = false): void {
    // names and role ARNs repeat across a fleet's clusters: each distinct one is checked and parsed once
    if (!this.validNamespaces.has(entry.namespace)) {
      const problem = namespaceProblem(entry.namespace);
      if (problem) {
        throw fileError('IrsaInventory', where(), `invalid namespace ${JSON.stringify(entry.namespace)}: ${problem}.`);
      }
      this.validNamespaces.add(entry.namespace);
    }
    if (!this.validServiceAccounts.has(entry.serviceAccount)) {
      const problem = serviceAccountProblem(entry.serviceAccount);
      if (problem) {
        throw fileError('IrsaInventory', where(), `invalid service account ${JSON.stringify(entry.serviceAccount)}: ${problem}.`);
      }
      this.validServiceAccounts.add(entry.serviceAccount);
    }
    let role = this.parsedRoles.get(entry.roleArn);
    if (!role) {
      role = IrsaInventory.parseRoleArn(entry.roleArn, where());
      this.parsedRoles.set(entry.roleArn, role);
    }
    const k = key(entry.cluster, entry.namespace, entry.serviceAccount);
    const existing = this.entries.get(k);
    if (existing) {
      throw fileError('IrsaInventory', where(), `${entry.namespace}/${entry.serviceAccount} on cluster ${entry.cluster} is already in the inventory (from ${existing.source}); give each cluster's output once.`);
    }
    // copies of what the caller still holds; the parsed kubectl output's own maps are kept as they
    // are; neither keeps what a client or the server wrote (CLIENT_WRITTEN_METADATA)
    const labels = withoutClientWritten(entry.labels ?? {}, CLIENT_WRITTEN_METADATA.labels, owned);
    // nor the role annotation, which the phase decides (roleArn)
    const annotations = withoutClientWritten(entry.annotations ?? {}, NOT_KEPT_ANNOTATIONS, owned);
    this.order.push(k);
    this.entries.set(k, {
      cluster: entry.cluster,
      namespace: entry.namespace,
      serviceAccount: entry.serviceAccount,
      roleArn: entry.roleArn,
      labels,
      annotations,
      automountServiceAccountToken: entry.automountServiceAccountToken,
      role,
      helmRelease: annotations['meta.helm.sh/release-name']
        ?? (labels['app.kubernetes.io/managed-by'] === 'Helm' ? labels['app.kubernetes.io/instance'] ?? 'unknown' : undefined),
      workloads: [],
      source,
    });
  }
}

function readFile(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`IrsaInventory: cannot read ${path}: ${(e as Error).message}`);
  }
}
