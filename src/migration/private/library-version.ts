import * as fs from 'fs';
import * as path from 'path';

/** The library's version (its package.json), which the generated scripts pin the operator command to. */
export const LIBRARY_VERSION: string = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf-8')).version;
