/**
 * Collecting the inventory again after a deploy changes nothing: from ANNOTATION_REMOVED on, the
 * clusters no longer show the IRSA role of a migrated service account (no
 * `eks.amazonaws.com/role-arn` annotation) nor of a migrated add-on (no `serviceAccountRoleArn`; EKS
 * removes the annotation of the add-on's service account), and from POD_IDENTITY on an add-on shows
 * the associations the migration gave it. The placement file records each migrated service
 * account's and add-on's IRSA role, and synthesis recalls them.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { FLEET, northwindProps, Phases } from './northwind';
import { IrsaInventory, MigrationFiles, MigrationPhase as P, PodIdentityCluster, PodIdentityMigration, PodIdentityMigrationProps } from '../../src';
import { assemblyFiles } from '../util/assembly-files';

function synth(props: PodIdentityMigrationProps): { [file: string]: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'recollect-'));
  const app = new App({ outdir, analyticsReporting: false });
  new PodIdentityMigration(app, 'Northwind', props);
  app.synth();
  const files = assemblyFiles(outdir);
  fs.rmSync(outdir, { recursive: true, force: true });
  return files;
}

/**
 * The inventory collect reads from the fleet after the synthesized output was deployed: each
 * ServiceAccount as its manifest left it, each add-on as its template left it (and its service
 * account's annotation as EKS leaves it).
 */
function collectedAfterDeploy(files: { [file: string]: string }): { inventory: IrsaInventory; clusters: PodIdentityCluster[] } {
  const annotated = new Map<string, boolean>();
  for (const [file, text] of Object.entries(files)) {
    const m = /^k8s\/([^/]+)\/[^/]+\.yaml$/.exec(file);
    for (const doc of m ? text.split(/^---$/m) : []) {
      const name = /^ {2}name: (\S+)$/m.exec(doc)![1];
      const namespace = /^ {2}namespace: (\S+)$/m.exec(doc)![1];
      annotated.set(`${m![1]} ${namespace}/${name}`, doc.includes('eks.amazonaws.com/role-arn:'));
    }
  }
  const addons = new Map<string, any>();
  const agents = new Set<string>();
  for (const [file, text] of Object.entries(files)) {
    for (const r of file.endsWith('.template.json') ? Object.values<any>(JSON.parse(text).Resources ?? {}) : []) {
      if (r.Type === 'AWS::EKS::Addon' && r.Properties.AddonName === 'eks-pod-identity-agent') {
        agents.add(r.Properties.ClusterName);
      } else if (r.Type === 'AWS::EKS::Addon') {
        const p = r.Properties;
        addons.set(`${p.ClusterName} ${p.AddonName}`, p);
        // EKS annotates the add-on's service account with its serviceAccountRoleArn, and removes it with it
        annotated.set(`${p.ClusterName} kube-system/aws-node`, p.ServiceAccountRoleArn !== undefined);
      }
    }
  }
  const inventory = new IrsaInventory();
  const collected = northwindProps().inventory;
  for (const cluster of new Set(collected.serviceAccounts.map((s) => s.cluster))) {
    const list = JSON.parse(fs.readFileSync(path.join(FLEET, 'serviceaccounts', `${cluster}.json`), 'utf8'));
    for (const sa of list.items) {
      if (annotated.get(`${cluster} ${sa.metadata.namespace}/${sa.metadata.name}`) === false) {
        delete sa.metadata.annotations['eks.amazonaws.com/role-arn'];
      }
    }
    inventory.addServiceAccountsJson(cluster, JSON.stringify(list), `serviceaccounts/${cluster}.json`);
    inventory.addWorkloadsFile(cluster, path.join(FLEET, 'workloads', `${cluster}.json`));
    const { addon } = JSON.parse(fs.readFileSync(path.join(FLEET, 'addons', cluster, 'vpc-cni.json'), 'utf8'));
    const deployed = addons.get(`${cluster} vpc-cni`);
    if (deployed !== undefined) {
      if (deployed.ServiceAccountRoleArn === undefined) {
        delete addon.serviceAccountRoleArn;
      }
      addon.podIdentityAssociations = (deployed.PodIdentityAssociations ?? []).map((_: unknown, i: number) =>
        `arn:aws:eks:us-east-1:111122223333:podidentityassociation/${cluster}/a-${i}recollected`);
    }
    inventory.addAddonsJson(cluster, JSON.stringify({ addon }), `addons/${cluster}/vpc-cni.json`);
  }
  for (const name of fs.readdirSync(path.join(FLEET, 'addon-configurations')).sort()) {
    inventory.addAddonConfigurationFile(path.join(FLEET, 'addon-configurations', name));
  }
  // a cluster whose agent add-on the foundation installed shows it: collect says PRE_INSTALLED
  const declared = JSON.parse(fs.readFileSync(path.join(FLEET, 'clusters.json'), 'utf8'));
  const clusters = MigrationFiles.clustersFromJson(JSON.stringify(declared.map((c: any) =>
    (agents.has(c.name) ? { ...c, podIdentityAgent: 'PRE_INSTALLED' } : c))), 'clusters.json');
  expect(agents.size).toBe(10);
  return { inventory, clusters };
}

const MIXES: [string, Phases][] = [
  ['every wave at ANNOTATION_REMOVED', { canary: P.ANNOTATION_REMOVED, wave1: P.ANNOTATION_REMOVED, wave2: P.ANNOTATION_REMOVED, wave3: P.ANNOTATION_REMOVED, cni: P.ANNOTATION_REMOVED }],
  ['mixed phases, the add-on at POD_IDENTITY', { canary: P.POD_IDENTITY_ONLY, wave1: P.ANNOTATION_REMOVED, wave2: P.POD_IDENTITY, wave3: P.DUAL_TRUST, cni: P.POD_IDENTITY }],
  ['every wave at POD_IDENTITY_ONLY', { canary: P.POD_IDENTITY_ONLY, wave1: P.POD_IDENTITY_ONLY, wave2: P.POD_IDENTITY_ONLY, wave3: P.POD_IDENTITY_ONLY, cni: P.POD_IDENTITY_ONLY }],
];

describe('collecting the inventory again after a deploy (Northwind)', () => {
  test.each(MIXES)('%s: the same templates, manifests, runbooks and placement file', (_, phases) => {
    // GIVEN the migration synthesized from the inventory collected before the phases (annotations and
    // serviceAccountRoleArn in place), with a placement file that records no roles yet
    const base = northwindProps(phases);
    const record = JSON.parse(fs.readFileSync(base.placementFile, 'utf8'));
    delete record.irsaRoles;
    delete record.addonRoles;
    delete record.foundation;
    fs.writeFileSync(base.placementFile, JSON.stringify(record, null, 2));
    const before = synth(base);
    const written = fs.readFileSync(base.placementFile, 'utf8');
    expect(Object.keys(JSON.parse(written).irsaRoles['arn:aws:eks:us-east-1:111122223333:cluster/platform-prod-use1-blue']))
      .toEqual(['internal-tools/backstage', 'kube-system/aws-node', 'kube-system/cluster-autoscaler', 'observability/telemetry-shipper', 'payments/checkout', 'payments/ledger', 'search/indexer']);
    expect(JSON.parse(written).addonRoles['arn:aws:eks:us-east-1:111122223333:cluster/batch-use1'])
      .toEqual({ 'vpc-cni': 'arn:aws:iam::111122223333:role/AmazonEKS_CNI_batch-use1' });

    expect(Object.keys(JSON.parse(written).foundation)).toHaveLength(10);

    // WHEN it is deployed and the fleet collected again
    const { inventory, clusters } = collectedAfterDeploy(before);
    expect(inventory.serviceAccounts.length).toBeLessThan(base.inventory.serviceAccounts.length);

    // THEN synthesis recalls the roles the clusters no longer show and the agents its foundation installed, and nothing changes
    const after = synth({ ...base, inventory, clusters });
    expect(Object.keys(after)).toEqual(Object.keys(before));
    for (const file of Object.keys(before)) {
      expect([file, after[file]]).toEqual([file, before[file]]);
    }
    expect(fs.readFileSync(base.placementFile, 'utf8')).toBe(written);
  });

  test('without the recorded roles, the service accounts the clusters no longer show are named, with the ways out', () => {
    // GIVEN every wave at ANNOTATION_REMOVED, deployed, and collected again
    const phases = MIXES[0][1];
    const base = northwindProps(phases);
    const { inventory, clusters } = collectedAfterDeploy(synth(base));
    // WHEN the placement file has lost its roles (written by a version that did not record them)
    const record = JSON.parse(fs.readFileSync(base.placementFile, 'utf8'));
    delete record.irsaRoles;
    delete record.addonRoles;
    fs.writeFileSync(base.placementFile, JSON.stringify(record, null, 2));
    // THEN synthesis refuses, naming them
    expect(() => synth({ ...base, inventory, clusters })).toThrow(
      /^PodIdentityMigration at 'Northwind': \d+ service accounts would change their effective phase by more than one step from what the placement file \S+ records:\n {2}- batch-euw1 data-pipeline\/ingest: wave "wave2" at ANNOTATION_REMOVED -> no longer in the inventory: /);
  });

  test('without the recorded foundation, the clusters that now show the agent lose their foundation stacks (what the record prevents)', () => {
    const base = northwindProps(MIXES[1][1]);
    const before = synth(base);
    const { inventory, clusters } = collectedAfterDeploy(before);
    const record = JSON.parse(fs.readFileSync(base.placementFile, 'utf8'));
    delete record.foundation;
    fs.writeFileSync(base.placementFile, JSON.stringify(record, null, 2));
    const after = synth({ ...base, inventory, clusters });
    const foundation = (files: { [file: string]: string }) => Object.keys(files).filter((f) => /^NorthwindFoundation|^runbooks\/foundation/.test(f));
    expect(foundation(before)).toHaveLength(2 + 6);
    expect(foundation(after)).toEqual([]);
    // with installAgents: false the foundation hands the agents over, record or not
    const handedOver = synth({ ...northwindProps(MIXES[1][1]), inventory, clusters, installAgents: false });
    expect(foundation(handedOver)).toEqual([]);
  });

  test('a recorded role the cluster shows another way is not recalled: the annotation the cluster shows wins', () => {
    // GIVEN every wave at ANNOTATION_REMOVED, deployed, collected again, and one service account annotated again by hand with another role
    const base = northwindProps(MIXES[0][1]);
    const before = synth(base);
    const collected = collectedAfterDeploy(before).inventory;
    const inventory = new IrsaInventory();
    inventory.addEntry({ cluster: 'batch-euw1', namespace: 'data-pipeline', serviceAccount: 'ingest', roleArn: 'arn:aws:iam::111122223333:role/pod-id-ingest-v2' });
    const recalled = (inventory as any)._recall({ 'batch-euw1': { 'data-pipeline/ingest': 'arn:aws:iam::111122223333:role/pod-id-ingest' } }, {}, 'the record');
    // THEN the entry keeps the role it shows
    expect(recalled).toBe(inventory);
    expect(recalled.serviceAccounts.map((s: any) => s.roleArn)).toEqual(['arn:aws:iam::111122223333:role/pod-id-ingest-v2']);
    // and the collected inventory recalls only what it holds without the annotation
    const view = (collected as any)._recall({ 'batch-euw1': { 'data-pipeline/ingest': 'arn:aws:iam::111122223333:role/pod-id-ingest', 'nowhere/none': 'arn:aws:iam::111122223333:role/x' } },
      {}, 'the record');
    expect(view.serviceAccounts.filter((s: any) => s.cluster === 'batch-euw1').map((s: any) => `${s.namespace}/${s.serviceAccount} ${s.roleArn}`))
      .toContain('data-pipeline/ingest arn:aws:iam::111122223333:role/pod-id-ingest');
    expect(view.serviceAccounts.some((s: any) => s.namespace === 'nowhere')).toBe(false);
  });

  test('a recalled role is checked like a collected one: an invalid ARN in the record names the ServiceAccount and the record', () => {
    const inventory = new IrsaInventory();
    inventory.addServiceAccountsJson('c1', JSON.stringify({ kind: 'List', items: [{ kind: 'ServiceAccount', metadata: { name: 'app', namespace: 'shop' } }] }), 'sa.json');
    expect(() => (inventory as any)._recall({ c1: { 'shop/app': 'arn:aws:iam::1:role/x' } }, {}, 'the placement file p.json')).toThrow(
      'IrsaInventory: sa.json item 1 (shop/app, its role arn:aws:iam::1:role/x recalled from the placement file p.json): invalid role ARN "arn:aws:iam::1:role/x": expected arn:<partition>:iam::<12-digit account>:role/<optional path/>name.');
  });
});
