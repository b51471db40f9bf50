import * as fs from 'fs';
import { MigrationPhase } from '../../src';

/**
 * The placement file's text as the deploys of earlier steps left it: each wave in `phases` recorded
 * at that phase, as if it had been stepped there one phase per synthesis. For tests that start a
 * wave more than one phase from where the file's first synthesis recorded it (every wave at IRSA_ONLY).
 */
export function withWavePhases(text: string, phases: { [wave: string]: MigrationPhase | undefined }): string {
  const record = JSON.parse(text);
  record.waves = { ...record.waves };
  for (const [wave, phase] of Object.entries(phases)) {
    if (phase !== undefined) {
      record.waves[wave] = phase;
    }
  }
  return JSON.stringify(record, null, 2) + '\n';
}

/** `withWavePhases` on the placement file `file`. */
export function recordWavePhases(file: string, phases: { [wave: string]: MigrationPhase | undefined }): void {
  fs.writeFileSync(file, withWavePhases(fs.readFileSync(file, 'utf8'), phases));
}
