/**
 * Fleet-scale synthesis benchmark: the library against two floors producing the same
 * CloudFormation, in the same run: typed L1 resources, and plain `CfnResource`s (bench/floor-app.ts).
 *
 *   npx projen bench                      # fleets F50 and D50, the scaling series F5 ... F100, 5 runs
 *   npx projen bench -- --runs 7 --fleets F50 --scaling 25,50,100   # none for --fleets or --scaling: no such run
 *   npx projen bench -- --smoke           # F5 and D6, 1 run: that it works (CI)
 *
 * For each fleet: the fleet folder is generated with an empty placement file; a first synthesis
 * fills it (as before a real first deploy); the library synthesizes once more, and its cloud assembly becomes the floors' input. Each floor's
 * assembly must equal it (stacks, names, environments, dependencies, every template); otherwise
 * the bench fails. Then library and floor run alternately, `runs` times each, each a whole
 * `node` process on compiled JavaScript into a fresh output folder, timed from spawn to exit
 * (wall) with its peak resident memory (getrusage at exit, as /usr/bin/time -v reports it).
 * Printed: medians; the ratios library/floor, each the median of the runs' own ratios (a library
 * run over the floor run right after it, so that the machine's drift between runs cancels), with
 * their range; CPU time besides wall time; the scaling table; the largest stack (resources,
 * bytes). Nothing is asserted on times; the bench exits non-zero only when the floor's output
 * differs, a synthesis fails, or a stack exceeds CloudFormation's limits (500 resources, 1 MB).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FleetSpec, fleetName, parseFleetName, trustQuota, writeFleet } from './fleets';
import { compareAssemblies, floorSpec } from './floor-spec';

const HERE = __dirname;
/** The floors: typed L1 resources (as the library writes them), and plain CfnResources (the cheapest way CDK writes a template). */
const FLOORS = ['typed', 'plain'] as const;
/** The goals against the plain floor, by fleet kind (issue 24): wall and memory ratios at most these. */
const GOALS: { [kind: string]: { wall: number; memory: number } } = { F: { wall: 1.5, memory: 1.3 }, D: { wall: 1.6, memory: 1.3 } };
const MAX_RESOURCES = 500;
const MAX_TEMPLATE_BYTES = 1024 * 1024;

interface Options {
  runs: number;
  fleets: FleetSpec[];
  scaling: number[];
  keep: boolean;
}

function options(argv: string[]): Options {
  const o: Options = { runs: 5, fleets: [parseFleetName('F50'), parseFleetName('D50')], scaling: [5, 10, 25, 50, 75, 100], keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' && i === 0) {
      // `npx projen <task> -- <options>` passes the separator on
      continue;
    }
    const value = () => {
      const v = argv[++i];
      if (v === undefined) {
        throw new Error(`bench: ${a} needs a value`);
      }
      return v;
    };
    if (a === '--runs') {
      o.runs = Number(value());
    } else if (a === '--fleets') {
      const v = value();
      o.fleets = v === 'none' ? [] : v.split(',').filter((x) => x).map(parseFleetName);
    } else if (a === '--scaling') {
      // `none` (npx projen drops an empty argument: no series) or a list of cluster counts
      const v = value();
      o.scaling = v === 'none' ? [] : v.split(',').filter((x) => x).map(Number);
    } else if (a === '--smoke') {
      o.runs = 1;
      o.fleets = [parseFleetName('F5'), parseFleetName('D6')];
      o.scaling = [2, 4];
    } else if (a === '--keep') {
      o.keep = true;
    } else {
      throw new Error(`bench: unknown option ${a}; see the header of bench/run.ts`);
    }
  }
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.scaling.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error('bench: --runs and --scaling take whole numbers from 1');
  }
  return o;
}

interface Sample { wallMs: number; rssKb: number; cpuMs: number }

/** One whole `node` process: wall time from spawn to exit, peak RSS as the process reported it. */
function runNode(script: string, args: string[]): Sample {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(HERE, script), ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) {
    throw new Error(`bench: ${script} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`.slice(0, 4000));
  }
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { wallMs, rssKb: last.maxRssKb, cpuMs: last.cpuMs };
}

/** Removes `dir` and waits until the disk has written out everything before (`sync`). */
function fresh(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  spawnSync('sync');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Library over floor, run by run: each library run against the floor run right after it. */
interface Paired {
  /** The median of the runs' ratios. */
  median: number;
  min: number;
  max: number;
}

function paired(library: Sample[], floor: Sample[], of: (s: Sample) => number): Paired {
  const ratios = library.map((l, i) => of(l) / of(floor[i]));
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** The library against one floor. */
interface Against {
  /** Medians of the floor's runs. */
  floor: Sample;
  wall: Paired;
  cpu: Paired;
  memory: Paired;
}

interface Result {
  fleet: FleetSpec;
  /** Medians of the runs. */
  library: Sample;
  /** Against the typed-L1 floor, and against the plain-CfnResource floor. */
  typed: Against;
  plain: Against;
  stacks: number;
  associations: number;
  roles: number;
  largestResources: number;
  largestBytes: number;
}

/** Stacks, resource counts and the largest template of a cloud assembly; fails past CloudFormation's limits. */
function assemblyFigures(dir: string) {
  let stacks = 0;
  let associations = 0;
  let roles = 0;
  let largestResources = 0;
  let largestBytes = 0;
  const over: string[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.template.json'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const resources = Object.values<any>(JSON.parse(text).Resources ?? {});
    stacks += 1;
    associations += resources.filter((r) => r.Type === 'AWS::EKS::PodIdentityAssociation').length;
    roles += resources.filter((r) => r.Type === 'AWS::IAM::Role').length;
    const bytes = Buffer.byteLength(text);
    largestResources = Math.max(largestResources, resources.length);
    largestBytes = Math.max(largestBytes, bytes);
    if (resources.length > MAX_RESOURCES || bytes > MAX_TEMPLATE_BYTES) {
      over.push(`${file}: ${resources.length} resources, ${bytes} bytes`);
    }
  }
  if (over.length > 0) {
    throw new Error(`bench: stacks over CloudFormation's limits (${MAX_RESOURCES} resources, ${MAX_TEMPLATE_BYTES} bytes): ${over.join('; ')}`);
  }
  return { stacks, associations, roles, largestResources, largestBytes };
}

function measure(fleet: FleetSpec, runs: number, work: string): Result {
  const name = fleetName(fleet);
  const dir = path.join(work, name);
  const folder = path.join(dir, 'fleet');
  const reference = path.join(dir, 'library.out');
  const out = path.join(dir, 'run.out');
  const specFile = path.join(dir, 'floor-spec.json');
  writeFleet(folder, fleet);
  // the first synthesis fills the placement file, as the first deploy would; the runs then read it
  const quota = String(trustQuota(fleet));
  runNode('library-app.js', [folder, path.join(dir, 'first.out'), quota]);
  runNode('library-app.js', [folder, reference, quota]);
  fs.writeFileSync(specFile, JSON.stringify(floorSpec(reference)));
  for (const kind of FLOORS) {
    fresh(out);
    runNode('floor-app.js', [specFile, out, kind]);
    const diffs = compareAssemblies(reference, out);
    if (diffs.length > 0) {
      throw new Error(`bench: ${name}: the ${kind} floor's CloudFormation differs from the library's:\n  ${diffs.join('\n  ')}`);
    }
  }
  const figures = assemblyFigures(reference);
  const library: Sample[] = [];
  const floors: { [kind in typeof FLOORS[number]]: Sample[] } = { typed: [], plain: [] };
  for (let i = 0; i < runs; i++) {
    // alternating, each into a fresh folder; removing the last run's folder is not timed, nor is
    // writing out to disk what the last run left in the page cache, which would otherwise land on
    // whichever process runs next
    fresh(out);
    library.push(runNode('library-app.js', [folder, out, quota]));
    for (const kind of FLOORS) {
      fresh(out);
      floors[kind].push(runNode('floor-app.js', [specFile, out, kind]));
    }
  }
  const medians = (samples: Sample[]) => ({
    wallMs: median(samples.map((s) => s.wallMs)), rssKb: median(samples.map((s) => s.rssKb)), cpuMs: median(samples.map((s) => s.cpuMs)),
  });
  const against = (floor: Sample[]): Against => ({
    floor: medians(floor),
    wall: paired(library, floor, (s) => s.wallMs),
    cpu: paired(library, floor, (s) => s.cpuMs),
    memory: paired(library, floor, (s) => s.rssKb),
  });
  const result = { fleet, library: medians(library), typed: against(floors.typed), plain: against(floors.plain), ...figures };
  const each = (samples: Sample[]) => samples.map((s) => (s.wallMs / 1000).toFixed(2)).join(' ');
  process.stderr.write(`  ${name}: library ${fmtS(result.library.wallMs)} ${fmtMb(result.library.rssKb)} (runs: ${each(library)}), `
    + `typed floor ${fmtS(result.typed.floor.wallMs)} ${fmtMb(result.typed.floor.rssKb)} (runs: ${each(floors.typed)}), `
    + `plain floor ${fmtS(result.plain.floor.wallMs)} ${fmtMb(result.plain.floor.rssKb)} (runs: ${each(floors.plain)})\n`);
  return result;
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const fmtMb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const range = (p: Paired) => `${p.min.toFixed(2)}–${p.max.toFixed(2)}`;

function row(cells: string[], widths: number[]): string {
  return '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [row(head, widths), row(widths.map((w) => '-'.repeat(w)), widths), ...rows.map((r) => row(r, widths))].join('\n');
}

function main(): void {
  const o = options(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pi-bench-'));
  const cache = new Map<string, Result>();
  const get = (fleet: FleetSpec) => {
    const name = fleetName(fleet);
    if (!cache.has(name)) {
      cache.set(name, measure(fleet, o.runs, work));
    }
    return cache.get(name)!;
  };
  try {
    process.stderr.write(`node ${process.version}, ${os.cpus().length} CPUs; ${o.runs} runs each, library and floor alternating\n`);
    const fleets = o.fleets.map(get);
    const scaling = o.scaling.map((n) => get({ kind: 'F', clusters: n }));
    const floorTable = (kind: typeof FLOORS[number]) => table(
      ['fleet', 'clusters', 'roles', 'associations', 'stacks', 'largest stack', 'library wall', 'floor wall', 'wall ratio', 'wall ratio range', 'CPU ratio',
        'library peak', 'floor peak', 'memory ratio'],
      fleets.map((r) => [fleetName(r.fleet), String(r.fleet.clusters), String(r.roles), String(r.associations), String(r.stacks),
        `${r.largestResources} res, ${(r.largestBytes / 1024).toFixed(0)} KB`,
        fmtS(r.library.wallMs), fmtS(r[kind].floor.wallMs), r[kind].wall.median.toFixed(2), range(r[kind].wall), r[kind].cpu.median.toFixed(2),
        fmtMb(r.library.rssKb), fmtMb(r[kind].floor.rssKb), r[kind].memory.median.toFixed(2)]),
    );
    console.log(`\nLibrary against two floors writing the same CloudFormation (checked), ${o.runs} whole-process runs each, alternating. `
      + 'Times and peaks are medians; a ratio is the median of the runs\' ratios, each library run over the floor run right after it '
      + '(the range: their lowest and highest); CPU is user and system time of all threads.');
    console.log('\nAgainst the typed-L1 floor (CfnRole, CfnPodIdentityAssociation, ...: the resources the library writes):\n');
    console.log(floorTable('typed'));
    console.log('\nAgainst the plain floor (CfnResource with the template\'s properties: the cheapest way CDK writes them):\n');
    console.log(floorTable('plain'));
    const goals = fleets.filter((r) => GOALS[r.fleet.kind] !== undefined).map((r) => {
      const goal = GOALS[r.fleet.kind];
      const met = r.plain.wall.median <= goal.wall && r.plain.memory.median <= goal.memory;
      return `${fleetName(r.fleet)}: wall ${r.plain.wall.median.toFixed(2)} (goal ≤ ${goal.wall}), memory ${r.plain.memory.median.toFixed(2)} (goal ≤ ${goal.memory}): ${met ? 'met' : 'NOT met'}`;
    });
    if (goals.length > 0) {
      console.log(`\nGoals against the plain floor:\n  ${goals.join('\n  ')}`);
    }
    if (scaling.length > 0) {
      const base = scaling[0];
      console.log(`\nScaling, fleet F shape (200 service accounts per cluster); x first: the wall time against ${base.fleet.clusters} clusters, and per association:\n`);
      console.log(table(
        ['clusters', 'associations', 'library wall', 'plain floor wall', 'wall ratio', 'wall ratio range', 'memory ratio', 'x first', 'x first per association'],
        scaling.map((r) => [String(r.fleet.clusters), String(r.associations), fmtS(r.library.wallMs), fmtS(r.plain.floor.wallMs),
          r.plain.wall.median.toFixed(2), range(r.plain.wall), r.plain.memory.median.toFixed(2), ratio(r.library.wallMs, base.library.wallMs),
          ratio(r.library.wallMs / r.associations, base.library.wallMs / base.associations)]),
      ));
      const at = (n: number) => scaling.find((r) => r.fleet.clusters === n);
      const [small, big] = [at(50), at(100)];
      if (small && big) {
        console.log(`\n100 clusters / 50 clusters, library wall: ${ratio(big.library.wallMs, small.library.wallMs)} (plain floor: ${ratio(big.plain.floor.wallMs, small.plain.floor.wallMs)})`);
      }
    }
  } finally {
    if (o.keep) {
      process.stderr.write(`kept ${work}\n`);
    } else {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
