/**
 * V8 gives objects with the same keys, added in the same order, one shared hidden class, found
 * through the transitions of the empty object's class. Those transitions are capped (1,536): once
 * more distinct first keys were added to empty objects (an object keyed by each role's own name,
 * say), every later object with a key not seen before gets a hidden class of its own, for good.
 * Synthesis then makes one per construct (`{ Resource: … }` under each of tens of thousands of
 * scopes): on fleet D of the benchmark that cost a third more peak memory and CPU time.
 *
 * This checks that designing and building a migration of 1,600 roles leaves empty objects able to
 * share hidden classes for new keys. It uses V8's test intrinsics (`%HaveSameMap`).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { setFlagsFromString } from 'v8';
import { App } from 'aws-cdk-lib';
import { IrsaInventory, MigrationPhase, PodIdentityCluster, PodIdentityMigration } from '../../src';
import { designMigration, MigrationInputs } from '../../src/migration/private/migration-design';
import { DESIGN_SETTINGS } from '../util/design-inputs';
import { withWavePhases } from '../util/placement';

setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

/** Whether two empty objects given the same new key still share their hidden class. */
function newKeysShareClasses(): boolean {
  const key = `probe-${Math.random()}`;
  const a: { [key: string]: number } = {};
  const b: { [key: string]: number } = {};
  a[key] = 1;
  b[key] = 2;
  return haveSameMap(a, b);
}

const ACCOUNT = '111122223333';
const ROLES = 1_600;

/** The wave at DUAL_TRUST (its roles made), as the placement file recorded it after the step. */
function inputs(): MigrationInputs {
  const inventory = new IrsaInventory();
  for (let i = 0; i < ROLES; i++) {
    inventory.addEntry({ cluster: 'a', namespace: `team-${i % 40}`, serviceAccount: `svc-${i}`, roleArn: `arn:aws:iam::${ACCOUNT}:role/svc-${i}` });
  }
  return {
    ...DESIGN_SETTINGS,
    clusters: [PodIdentityCluster.fromClusterAttributes({
      clusterName: 'a',
      clusterArn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/a`,
      oidcIssuer: 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111',
    })],
    inventory,
    plan: { waves: [{ name: 'w', select: Array.from({ length: 40 }, (_, i) => ({ namespace: `team-${i}` })) }], roles: { '*': { statements: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] } } },
  };
}

function atDualTrust(): MigrationInputs {
  const first = inputs();
  const recordedPlacement = withWavePhases(designMigration(first).placementText!, { w: MigrationPhase.DUAL_TRUST });
  return { ...first, recordedPlacement, state: { waves: { w: [{ phase: MigrationPhase.IRSA_ONLY }, { phase: MigrationPhase.DUAL_TRUST }] } } };
}

test(`designing a migration of ${ROLES} roles leaves new keys sharing hidden classes`, () => {
  const dual = atDualTrust();
  expect(newKeysShareClasses()).toBe(true);
  const design = designMigration(dual);
  expect(design.graph.roles).toHaveLength(ROLES);
  expect(newKeysShareClasses()).toBe(true);
});

test(`building a migration of ${ROLES} roles (stacks and resources) leaves new keys sharing hidden classes`, () => {
  const { clusters, inventory, plan, state, recordedPlacement } = atDualTrust();
  const placementFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hidden-classes-')), 'placement.json');
  fs.writeFileSync(placementFile, recordedPlacement!);
  expect(newKeysShareClasses()).toBe(true);
  const migration = new PodIdentityMigration(new App(), 'Fleet', { clusters, inventory, plan, state, placementFile, homeRegion: 'us-east-1' });
  expect(migration.node.findAll().filter((c) => (c as any).cfnResourceType === 'AWS::IAM::Role')).toHaveLength(ROLES);
  expect(newKeysShareClasses()).toBe(true);
});
