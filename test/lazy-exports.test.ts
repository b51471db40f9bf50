// scripts/lazy-exports.ts: lib/index.js loads the modules that need cdk8s on first use.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { checkLazyIndex, eagerIndex, exportedNames, LAZY_MODULES, lazyIndex } from '../scripts/lazy-exports';

const SRC = path.join(__dirname, '..', 'src');

/** What tsc writes for a file, with the TypeScript the project compiles with. */
function compiled(source: string): string {
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
}

/** Runs a compiled index with a require that records what it loads and returns `modules[name]`. */
function evaluate(index: string, modules: { [name: string]: { [key: string]: unknown } }) {
  const loaded: string[] = [];
  const exports: { [key: string]: unknown } = {};
  const fakeRequire = (name: string) => {
    loaded.push(name);
    return modules[name];
  };
  new Function('exports', 'require', index)(exports, fakeRequire);
  return { exports, loaded };
}

/** The modules src/index.ts exports, each with a value per name it exports at run time. */
function indexModules(index: string) {
  const modules: { [name: string]: { [key: string]: unknown } } = {};
  for (const m of index.matchAll(/__exportStar\(require\("([^"]+)"\), exports\);/g)) {
    const js = compiled(fs.readFileSync(path.join(SRC, `${m[1]}.ts`), 'utf-8'));
    let names: string[] = [];
    try {
      names = exportedNames(js, m[1]);
    } catch {
      // a module of interfaces only exports no value
    }
    modules[m[1]] = Object.fromEntries(names.map((n) => [n, { module: m[1], name: n }]));
  }
  return modules;
}

describe('lazyIndex', () => {
  const eager = compiled(fs.readFileSync(path.join(SRC, 'index.ts'), 'utf-8'));
  const modules = indexModules(eager);

  test('src/index.ts: the same exports, and the lazy modules are required only when read', () => {
    const lazy = lazyIndex(eager, LAZY_MODULES, (m) => Object.keys(modules[m]));
    const before = evaluate(eager, modules);
    const after = evaluate(lazy, modules);

    expect(before.loaded).toEqual(expect.arrayContaining(LAZY_MODULES));
    expect(after.loaded).toEqual(before.loaded.filter((m) => !LAZY_MODULES.includes(m)));
    expect(Object.keys(after.exports).sort()).toEqual(Object.keys(before.exports).sort());
    expect(Object.keys(after.exports)).toContain('ServiceAccountChart');
    for (const key of Object.keys(before.exports)) {
      expect(after.exports[key]).toBe(before.exports[key]);
    }
    expect(after.loaded).toContain('./migration/service-account-chart');
  });

  test('reverses: eagerIndex gives back what tsc wrote', () => {
    expect(eagerIndex(lazyIndex(eager, LAZY_MODULES, (m) => Object.keys(modules[m])))).toEqual(eager);
    expect(eagerIndex(eager)).toEqual(eager);
  });

  test('a lazy module no longer in the index fails, naming it', () => {
    expect(() => lazyIndex(eager, ['./migration/gone'], () => ['X'])).toThrow(
      'lazy-exports: lib/index.js has no line __exportStar(require("./migration/gone"), exports);: is ./migration/gone still exported with "export * from" in src/index.ts?');
  });
});

describe('exportedNames', () => {
  test('every value a module exports, from the line tsc writes first', () => {
    expect(exportedNames(compiled('export class A {}\nexport const b = 1;\nexport enum C { X }\nexport interface D {}\n'), 'm')).toEqual(['C', 'b', 'A']);
  });

  test('a module that exports no value fails: it need not be lazy', () => {
    expect(() => exportedNames(compiled('export interface D {}\n'), './m')).toThrow(
      'lazy-exports: ./m has no "exports.X = void 0;" line: it exports no value, so it need not be lazy (remove it from LAZY_MODULES)');
  });
});

describe('LAZY_MODULES', () => {
  /** The relative modules a source file imports with a value (not `import type`), resolved to files. */
  function valueImports(file: string): string[] {
    const source = fs.readFileSync(file, 'utf-8');
    return [...source.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+'([^']+)';/gms)].map((m) => m[1]);
  }

  test('requiring the package without the lazy modules loads no cdk8s: no other module imports cdk8s or a lazy module', () => {
    const lazyFiles = LAZY_MODULES.map((m) => path.join(SRC, `${m}.ts`));
    const seen = new Set<string>();
    const importsCdk8s: string[] = [];
    const importsLazy: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of valueImports(file)) {
        if (spec === 'cdk8s' || spec.startsWith('cdk8s-plus')) {
          importsCdk8s.push(path.relative(SRC, file));
        } else if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(file), `${spec}.ts`);
          const resolved = fs.existsSync(target) ? target : path.resolve(path.dirname(file), spec, 'index.ts');
          if (lazyFiles.includes(resolved) && file !== path.join(SRC, 'index.ts')) {
            importsLazy.push(`${path.relative(SRC, file)} -> ${spec}`);
          } else if (!lazyFiles.includes(resolved)) {
            visit(resolved);
          }
        }
      }
    };
    visit(path.join(SRC, 'index.ts'));
    expect(seen.size).toBeGreaterThan(20);
    expect({ importsCdk8s, importsLazy }).toEqual({ importsCdk8s: [], importsLazy: [] });
  });

  test('each lazy module does load cdk8s (otherwise it need not be lazy)', () => {
    for (const m of LAZY_MODULES) {
      expect(valueImports(path.join(SRC, `${m}.ts`))).toContain('cdk8s');
    }
  });
});

describe('checkLazyIndex (run by the build on lib/)', () => {
  // a package whose module b loads a stand-in cdk8s from its node_modules
  const lib = fs.mkdtempSync(path.join(os.tmpdir(), 'lazy-exports-'));
  fs.mkdirSync(path.join(lib, 'node_modules', 'cdk8s'), { recursive: true });
  fs.writeFileSync(path.join(lib, 'node_modules', 'cdk8s', 'index.js'), 'exports.Chart = class {};\n');
  fs.writeFileSync(path.join(lib, 'a.js'), compiled('export const a = 1;\n'));
  fs.writeFileSync(path.join(lib, 'b.js'), compiled("import { Chart } from 'cdk8s';\nexport class B extends Chart {}\nexport const c = 2;\n"));
  const eager = compiled("export * from './a';\nexport * from './b';\n");
  afterAll(() => fs.rmSync(lib, { recursive: true, force: true }));

  function check(index: string): string[] {
    fs.writeFileSync(path.join(lib, 'index.js'), index);
    return checkLazyIndex(lib, eager).map((p) => p.split(lib).join('<lib>'));
  }

  test('the lazy index passes', () => {
    expect(check(lazyIndex(eager, ['./b'], () => ['B', 'c']))).toEqual([]);
  });

  test('an index that loads cdk8s fails, naming the file', () => {
    expect(check(eager)).toEqual([`requiring <lib> loads cdk8s: <lib>${path.sep}node_modules${path.sep}cdk8s${path.sep}index.js`]);
  });

  test('an index that drops an export fails, listing both', () => {
    expect(check(lazyIndex(eager, ['./b'], () => ['B']))).toEqual(['exports differ: lazy [B,a] eager [B,a,c]', 'an ES module cannot import by name: c']);
  });

  test('an export an ES module cannot import by name fails, naming it (Node reads only getters of the form `return id.name`)', () => {
    const lazy = lazyIndex(eager, ['./b'], () => ['B', 'c']);
    expect(lazy).toContain('get: function () { return __lazy__b.c; }');
    expect(check(lazy.replace('return __lazy__b.c;', 'return require("./b").c;'))).toEqual(['an ES module cannot import by name: c']);
  });

  test('an export whose value is not the module\'s fails, naming it', () => {
    const wrong = lazyIndex(eager, ['./b'], () => ['B', 'c']).replace('require("./b").c;', 'require("./b").B;');
    expect(wrong).not.toEqual(lazyIndex(eager, ['./b'], () => ['B', 'c']));
    expect(check(wrong)).toEqual(["export c is not the module's value"]);
  });
});
