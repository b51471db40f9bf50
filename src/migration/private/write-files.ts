import * as fs from 'fs';
import * as path from 'path';
import { ScriptFile } from './wave-scripts';

/**
 * The one writer of the migration's files: each file under `base` (or at its own absolute path),
 * scripts executable, and the folders in `folders` even when empty (`import/`, which `cdk import`
 * tooling lists).
 */
export function writeFiles(base: string, files: ScriptFile[], folders: string[] = []): void {
  // one mkdir per folder, not per file (hundreds of files in a fleet)
  const made = new Set<string>();
  const mkdir = (dir: string) => {
    if (!made.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
  };
  folders.forEach((folder) => mkdir(path.resolve(base, folder)));
  for (const file of files) {
    const target = path.resolve(base, file.path);
    mkdir(path.dirname(target));
    fs.writeFileSync(target, file.text, { mode: file.executable ? 0o755 : 0o644 });
    if (file.executable) {
      fs.chmodSync(target, 0o755);
    }
  }
}
