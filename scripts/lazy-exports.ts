// Rewrites the compiled lib/index.js so that the modules that load cdk8s are loaded on first use,
// the way aws-cdk-lib exports its modules: `require('cdk-eks-pod-identity')` then costs no cdk8s
// (tens of milliseconds), which `cdk synth` of a fleet's migration never uses. Every name the
// package exported before is still exported, enumerable, and the same value once read.
// Run after jsii (post-compile):
//   npx ts-node --project tsconfig.dev.json scripts/lazy-exports.ts [lib]
// It then checks the result in a fresh node process and fails the build when requiring lib/ loads
// cdk8s, when the exports differ from tsc's eager `__exportStar` ones, or when an ES module cannot
// import one of them by name.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The modules of src/index.ts that load cdk8s when required (by path, as lib/index.js requires them). */
export const LAZY_MODULES = ['./migration/service-account-chart'];

/** The marker a rewritten line starts with (and the reason, for whoever reads lib/index.js). */
const MARKER = '// loaded on first use (scripts/lazy-exports.ts):';
/** The start of the name of the object that holds a lazy module's getters. */
const LAZY_PREFIX = '__lazy';

/**
 * The names a tsc-compiled CommonJS module exports, from its `exports.A = exports.B = void 0;` line
 * (tsc writes it first, for every `export` that has a value at run time).
 */
export function exportedNames(moduleJs: string, module: string): string[] {
  const line = moduleJs.split('\n').find((l) => /^exports\.[\w$]+ = .*void 0;$/.test(l));
  if (line === undefined) {
    throw new Error(`lazy-exports: ${module} has no "exports.X = void 0;" line: it exports no value, so it need not be lazy (remove it from LAZY_MODULES)`);
  }
  return [...line.matchAll(/exports\.([\w$]+) = /g)].map((m) => m[1]);
}

/**
 * `index` (tsc's output for `export * from '...'` lines) with the `__exportStar` line of each lazy
 * module replaced by one getter per name it exports, which requires the module when first read.
 *
 * @param namesOf the names a module exports (`exportedNames` of its compiled source)
 */
export function lazyIndex(index: string, lazyModules: string[], namesOf: (module: string) => string[]): string {
  let out = index;
  for (const module of lazyModules) {
    const line = `__exportStar(require(${JSON.stringify(module)}), exports);`;
    if (!out.includes(line)) {
      throw new Error(`lazy-exports: lib/index.js has no line ${line}: is ${module} still exported with "export * from" in src/index.ts?`);
    }
    // Node finds an ES module's named imports of a CommonJS module by reading its source
    // (cjs-module-lexer), and reads a getter only of the form `return id.name`: each export's
    // getter reads a holder object, whose own getter requires the module.
    const holder = `${LAZY_PREFIX}${module.replace(/[^A-Za-z0-9]/g, '_')}`;
    const names = namesOf(module);
    const lines = [
      `${MARKER} ${line}`,
      `var ${holder} = { ${names.map((name) => `get ${name}() { return require(${JSON.stringify(module)}).${name}; }`).join(', ')} };`,
      ...names.map((name) =>
        `Object.defineProperty(exports, ${JSON.stringify(name)}, { enumerable: true, get: function () { return ${holder}.${name}; } });`),
    ];
    out = out.replace(line, lines.join('\n'));
  }
  return out;
}

/** The index `lazyIndex` was given, from what it returned: each lazy module's line back in place of its getters. */
export function eagerIndex(lazy: string): string {
  return lazy.split('\n')
    .filter((l) => !l.startsWith(`var ${LAZY_PREFIX}`) && !(l.startsWith('Object.defineProperty(exports, ') && l.includes(`get: function () { return ${LAZY_PREFIX}`)))
    .map((l) => (l.startsWith(`${MARKER} `) ? l.slice(MARKER.length + 1) : l))
    .join('\n');
}

/**
 * Checks lib/index.js in a fresh node process: requiring it loads no cdk8s module, and it exports
 * exactly the names (and values) the modules of `eagerIndex` export. Returns the problems found.
 */
export function checkLazyIndex(lib: string, eagerIndex: string): string[] {
  const modules = [...eagerIndex.matchAll(/__exportStar\(require\(("[^"]+")\), exports\);/g)].map((m) => JSON.parse(m[1]) as string);
  const program = `
    const path = require('path');
    const lib = require(path.resolve(${JSON.stringify(lib)}));
    const cdk8s = Object.keys(require.cache).filter((k) => /[\\\\/]node_modules[\\\\/]cdk8s(-plus-[0-9]+)?[\\\\/]/.test(k));
    const problems = [];
    if (cdk8s.length > 0) problems.push('requiring ' + ${JSON.stringify(lib)} + ' loads cdk8s: ' + cdk8s[0]);
    const eager = {};
    for (const m of ${JSON.stringify(modules)}) {
      const mod = require(path.resolve(${JSON.stringify(lib)}, m));
      for (const k of Object.keys(mod)) if (k !== 'default' && !(k in eager)) eager[k] = mod[k];
    }
    const have = Object.keys(lib).sort().join(',');
    const want = Object.keys(eager).sort().join(',');
    if (have !== want) problems.push('exports differ: lazy [' + have + '] eager [' + want + ']');
    for (const k of Object.keys(eager)) if (k in lib && lib[k] !== eager[k]) problems.push('export ' + k + ' is not the module\\'s value');
    // an ES module imports each name by itself (import { X } from ...): Node must find them all
    import(require('url').pathToFileURL(path.resolve(${JSON.stringify(lib)}, 'index.js')).href).then((ns) => {
      const missing = Object.keys(eager).filter((k) => !(k in ns));
      if (missing.length > 0) problems.push('an ES module cannot import by name: ' + missing.join(','));
      process.stdout.write(JSON.stringify(problems));
    });
  `;
  const result = spawnSync(process.execPath, ['-e', program], { encoding: 'utf-8' });
  if (result.status !== 0) {
    return [`node failed (${result.status}): ${result.stderr}`];
  }
  return JSON.parse(result.stdout);
}

function main(lib: string): void {
  const indexPath = path.join(lib, 'index.js');
  // jsii may leave lib/index.js as the last run rewrote it (nothing in src/index.ts changed)
  const eager = eagerIndex(fs.readFileSync(indexPath, 'utf-8'));
  const lazy = lazyIndex(eager, LAZY_MODULES, (module) => exportedNames(fs.readFileSync(path.join(lib, `${module}.js`), 'utf-8'), module));
  fs.writeFileSync(indexPath, lazy);
  const problems = checkLazyIndex(lib, eager);
  if (problems.length > 0) {
    fs.writeFileSync(indexPath, eager);
    throw new Error(`lazy-exports: ${indexPath} left as tsc wrote it:\n  ${problems.join('\n  ')}`);
  }
  process.stdout.write(`lazy-exports: ${indexPath}: ${LAZY_MODULES.join(', ')} loaded on first use; requiring it loads no cdk8s\n`);
}

if (require.main === module) {
  main(process.argv[2] ?? 'lib');
}
