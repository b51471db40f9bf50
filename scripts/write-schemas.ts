// Writes the JSON Schemas of the fleet files from src/migration/private/file-schemas.ts into
// schemas/ (shipped in the npm package). test/migration/file-schemas.test.ts fails when they differ.
//   npx ts-node --project tsconfig.dev.json scripts/write-schemas.ts
import * as fs from 'fs';
import * as path from 'path';
import { CLUSTERS_SCHEMA, PLAN_SCHEMA, ROLES_SCHEMA, STATE_SCHEMA } from '../src/migration/private/file-schemas';

const dir = path.join(__dirname, '..', 'schemas');
fs.mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries({ clusters: CLUSTERS_SCHEMA, plan: PLAN_SCHEMA, state: STATE_SCHEMA, roles: ROLES_SCHEMA })) {
  fs.writeFileSync(path.join(dir, `${name}.schema.json`), JSON.stringify(schema, null, 2) + '\n');
}
