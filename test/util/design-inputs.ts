import { MigrationInputs } from '../../src/migration/private/migration-design';

/**
 * The settings design tests share: what PodIdentityMigration passes with its defaults for an app
 * at `App/Fleet`, a home region, no pipeline stages and no context overrides.
 */
export const DESIGN_SETTINGS: Pick<MigrationInputs,
'migrationPath' | 'context' | 'placementFile' | 'homeRegion' | 'stackPrefix' | 'maxResourcesPerStack' | 'pipelineStages'> = {
  migrationPath: 'App/Fleet',
  context: {},
  placementFile: 'placement.json',
  homeRegion: 'us-east-1',
  stackPrefix: 'PodIdentity',
  maxResourcesPerStack: 450,
  pipelineStages: false,
};
