import * as fs from 'fs';
import * as path from 'path';

/** Every file of a synthesized app (relative path -> text), without the cloud assembly's own bookkeeping. */
export function assemblyFiles(dir: string, under = ''): { [file: string]: string } {
  const out: { [file: string]: string } = {};
  for (const name of fs.readdirSync(path.join(dir, under)).sort()) {
    const rel = path.join(under, name);
    if (fs.statSync(path.join(dir, rel)).isDirectory()) {
      Object.assign(out, assemblyFiles(dir, rel));
    } else if (!/^(manifest|tree|cdk\.out)\.json$|\.(assets|metadata)\.json$/.test(name)) {
      out[rel] = fs.readFileSync(path.join(dir, rel), 'utf8');
    }
  }
  return out;
}
