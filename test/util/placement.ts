import * as fs from 'fs';
import { MigrationPhase } from '../../src';

/**
 * The placement file as the deploys of earlier steps left it: each wave in `phases` recorded at that
 * phase, as if it had been stepped there one phase per synthesis. For tests that start a wave more
 * than one phase from where the file's first synthesis recorded it (every wave at IRSA_ONLY).
 */
export function recordWavePhases(file: string, phases: { [wave: string]: MigrationPhase | undefined }): void {
  const record = JSON.parse(fs.readFileSync(file, 'utf8'));
  record.waves = { ...record.waves };
  for (const [wave, phase] of Object.entries(phases)) {
    if (phase !== undefined) {
      record.waves[wave] = phase;
    }
  }
  fs.writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
}
