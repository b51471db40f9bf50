import { awscdk, javascript } from 'projen';

/**
 * aws-cdk-lib floor: 2.241.0 is the oldest release whose `CfnPodIdentityAssociation`
 * has all three of `targetRoleArn`, `disableSessionTags` (both since 2.201.0) and
 * `policy` (the inline session policy, added in 2.241.0; 2.240.0 lacks it).
 * Checked by unpacking each release's `aws-eks/lib/eks.generated.d.ts`.
 */
const CDK_FLOOR = '2.241.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-eks-pod-identity',
  description:
    'AWS CDK constructs to move Amazon EKS workloads from IRSA to EKS Pod Identity wave by wave, and to run Pod Identity well afterwards.',
  keywords: ['cdk', 'aws-cdk', 'eks', 'pod-identity', 'irsa', 'iam', 'kubernetes', 'cdk8s'],
  author: 'cdk-eks-pod-identity developers',
  authorAddress: 'cdk-eks-pod-identity@users.noreply.github.com',
  repositoryUrl: 'https://github.com/cdk-eks-pod-identity/cdk-eks-pod-identity.git',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  license: 'Apache-2.0',

  // `npx cdk-eks-pod-identity collect ...`: writes the fleet folder from the live fleet (README, "Collecting the fleet")
  bin: { 'cdk-eks-pod-identity': 'lib/collect/cli.js' },

  // the supported Node.js LTS lines (22 and 24 today); scripts/test-all.sh runs the suite on both
  minNodeVersion: '22.0.0',
  workflowNodeVersion: 'lts/*',

  cdkVersion: CDK_FLOOR,
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  // cdk8s only: the manifests are plain ApiObjects. cdk8s-plus-28 was a peer dependency no code
  // imported; its ServiceAccount defaults automountServiceAccountToken to false, which would flip
  // what the inventory recorded, so the library does not use it (README, Requirements).
  peerDeps: ['cdk8s@^2.70.0'],
  devDeps: [
    'cdk-nag@2.38.2',
    // AGPL-3.0: used by the tests only, never bundled or depended on at runtime.
    '@cloud-copilot/iam-simulate@0.1.173',
    // phase-transition safety tests diff the synthesized templates as `cdk diff` does
    '@aws-cdk/cloudformation-diff@2.187.5',
    // the CLI the runbooks' commands are checked with (stack selection by pattern)
    'aws-cdk@2.1148.1',
    // property-based tests: placement and phases over random fleets and sequences of changes
    'fast-check@4.10.2',
  ],

  // pre-1.0 until the first release: experimental in jsii (and so in the Python classifiers), 0.x versions
  stability: 'experimental',
  majorVersion: 0,

  // versioning by conventional commits; projen's release workflow publishes with publib
  release: true,
  releaseToNpm: true,
  publishToPypi: {
    distName: 'cdk-eks-pod-identity',
    module: 'cdk_eks_pod_identity',
  },

  jestOptions: {
    jestVersion: '^29',
    // `--ci`: a stale or missing snapshot fails instead of being written
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // test/acceptance runs inside the test bed (scripts/testbed/run-acceptance.sh)
      testPathIgnorePatterns: ['/node_modules/', '/cdk.out/', '/.tools/', '<rootDir>/test/acceptance/'],
    },
  },
  tsconfigDevFile: 'tsconfig.dev.json',
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'projenrc', '.projenrc.ts', 'operator/src'],
    tsconfigPath: './tsconfig.dev.json',
    projectService: false,
  },
  tsconfigDev: {
    include: ['src/**/*.ts', 'test/**/*.ts', 'examples/**/*.ts', '.projenrc.ts', 'projenrc/**/*.ts', 'operator/src/**/*.ts'],
    compilerOptions: {},
  },
  gitignore: ['cdk.out/', '.venv/', '.venv-*/', '.cdk-lines/', '.jsii.tabl.json', '__pycache__/', '.pytest_cache/', 'test-reports/', '/rosetta/*.tabl.json', '/.tools/', '/.bench/', '/operator/lib/'],
});
// the operator command is its own package (operator/package.json): the AWS SDK stays out of the library and its wheel
project.addPackageIgnore('/operator/');
project.addPackageIgnore('/examples/');
project.addPackageIgnore('/test-python/');
project.addPackageIgnore('/rosetta/');
project.addPackageIgnore('/scripts/');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('/bench/');
project.addPackageIgnore('/.bench/');
project.addPackageIgnore('/.cdk-lines/');
project.addPackageIgnore('/.tools/');
// what the README's two commands leave in the work tree never ships (scripts/check-packages.py checks)
project.addPackageIgnore('/cdk.out/');
project.addPackageIgnore('/.venv/');
project.addPackageIgnore('/.venv-*/');
project.addPackageIgnore('.pytest_cache/');
project.addPackageIgnore('__pycache__/');
project.addPackageIgnore('/CONTRIBUTING.md');

// unrs-resolver (used by jest 30 and eslint-import-resolver-typescript 4) has optional per-platform
// binaries that are not all in the registry this project installs from; the lock file then misses
// them and `npm ci` refuses to install. jest 29 and the 3.6 resolver do without it.
project.addDevDeps('eslint-import-resolver-typescript@~3.6.3');

// The library's layers, enforced (CONTRIBUTING.md): no import circles anywhere; the operator's checks
// (src/operator) are pure functions over API responses, so they import no CDK, no constructs and no
// file system, and the operator engine and its tests can use them without an App.
project.eslint?.addRules({ 'import/no-cycle': ['error', { ignoreExternal: true }] });
project.eslint?.addOverride({
  files: ['src/operator/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk8s', 'cdk8s-plus-*'], message: 'src/operator holds pure checks: no CDK or cdk8s (CONTRIBUTING.md, layers)' },
        { group: ['fs', 'child_process', 'path'], message: 'src/operator holds pure checks: no file system or processes (CONTRIBUTING.md, layers)' },
      ],
    }],
  },
});

// The migration core (CONTRIBUTING.md, layers): designMigration() and what it calls decide everything
// without a construct or a file (src/migration/private, but for the three files that make resources,
// write files and read the library's version); the renderers make text from the design's reports and
// import no CDK either.
const NO_FILES = ['fs', 'child_process', 'path'].map((name) => ({ name, message: 'the migration design and its renderers are pure: no file system or processes (CONTRIBUTING.md, layers)' }));
project.eslint?.addOverride({
  files: ['src/migration/private/**/*.ts'],
  excludedFiles: ['src/migration/private/migration-resources.ts', 'src/migration/private/write-files.ts', 'src/migration/private/library-version.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      paths: [
        ...['constructs', 'cdk8s'].map((name) => ({ name, message: 'the migration design makes no constructs: the construct materializes it (CONTRIBUTING.md, layers)' })),
        ...NO_FILES,
      ],
    }],
  },
});
project.eslint?.addOverride({
  files: ['src/migration/runbook.ts', 'src/migration/private/wave-scripts.ts', 'src/migration/private/*-runbook.ts', 'src/migration/private/artifacts.ts',
    'src/migration/private/service-account-documents.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      paths: [...['constructs', 'cdk8s'].map((name) => ({ name, message: 'renderers make text from the design\'s reports: no CDK (CONTRIBUTING.md, layers)' })), ...NO_FILES],
      patterns: [{ group: ['aws-cdk-lib', 'aws-cdk-lib/*'], message: 'renderers make text from the design\'s reports: no CDK (CONTRIBUTING.md, layers)' }],
    }],
  },
});

// Files that do one job and functions that do one thing (issue 24): no file under src/ over 400
// lines, no function over 60.
project.eslint?.addOverride({
  files: ['src/**/*.ts'],
  rules: {
    'max-lines': ['error', { max: 400 }],
    'max-lines-per-function': ['error', { max: 60 }],
  },
});

// README examples must compile: jsii-rosetta extracts every ```ts block and compiles it against
// rosetta/default.ts-fixture; --strict turns any compile error into a build failure.
const rosetta = project.addTask('rosetta:extract', {
  description: 'Compile the README examples with jsii-rosetta --strict',
  exec: 'jsii-rosetta extract --strict',
});
project.postCompileTask.spawn(rosetta);
// The command's script is run directly by the Python wheel's launcher (jsii's invokeBinScript), not only
// through npm's bin links: it must be executable in the tarball.
project.postCompileTask.exec('chmod +x lib/collect/cli.js');
// lib/index.js loads the modules that need cdk8s on first use, as aws-cdk-lib loads its modules:
// `cdk synth` of a migration never renders a cdk8s chart and should not pay for loading it.
// The script checks the result in a fresh node process (no cdk8s loaded, the same exports).
const lazyExports = project.addTask('lazy-exports', {
  description: 'lib/index.js loads the modules that need cdk8s on first use',
  exec: 'ts-node --project tsconfig.dev.json scripts/lazy-exports.ts lib',
});
project.postCompileTask.spawn(lazyExports);
// The operator command (operator/, its own package: the AWS SDK for JavaScript v3 stays out of the
// library) is built against the library just compiled; the generated verify.sh runs it.
const operator = project.addTask('operator', {
  description: 'Build the operator command (operator/lib/cli.js), installing its dependencies when missing',
  steps: [
    { exec: 'test -d operator/node_modules/@aws-sdk || npm ci --prefix operator --no-audit --no-fund' },
    { exec: 'tsc -p operator/tsconfig.json' },
    { exec: 'chmod +x operator/lib/cli.js' },
  ],
});
project.postCompileTask.spawn(operator);
// and packed next to the library's tarball at its version (scripts/pack-operator.sh): the release
// workflow publishes every tarball of dist/js, so the two ship together
project.tasks.tryFind('package:js')!.exec('bash scripts/pack-operator.sh');

// The JSON Schemas of the fleet files, written from src/migration/private/file-schemas.ts (a test
// fails when schemas/ differs from it).
project.addTask('schemas', {
  description: 'Write schemas/*.schema.json from the schemas MigrationFiles checks with',
  exec: 'ts-node --project tsconfig.dev.json scripts/write-schemas.ts',
});

// The main demo (README command 1).
project.addTask('demo', {
  description: 'Synthesize the Northwind migration (11 clusters, 3 waves at mixed phases) and print the plan',
  exec: 'ts-node --project tsconfig.dev.json examples/northwind/main.ts',
});

// The fleet-scale synthesis benchmark (bench/run.ts): the library against a raw-L1 floor producing
// the same CloudFormation, whole node processes on compiled JavaScript (lib/ and .bench/).
const bench = project.addTask('bench', {
  description: 'Benchmark fleet-scale synthesis against a raw-L1 floor (options after --: --runs N, --fleets F50,D50, --scaling 5,50,100, --smoke)',
});
bench.spawn(project.compileTask);
// the library as it is published: lib/index.js with its lazy exports
bench.spawn(lazyExports);
bench.exec('tsc -p bench/tsconfig.json');
bench.exec('node .bench/run.js', { receiveArgs: true });

// The operator benchmark (bench/operator.ts): a wave's preflight, verify and apply, the former scripts
// (bench/baseline/lib.sh) against the operator engine (operator/lib/cli.js), on the same waves of
// stand-ins that charge a latency per API request and the measured start-up of each client process.
const benchOperator = project.addTask('bench:operator', {
  description: 'Benchmark preflight, verify and apply: the former scripts (bench/baseline/lib.sh) against the operator engine (options: --waves 2x5,10x30,50x50, --latency-ms 50, --smoke)',
});
benchOperator.spawn(project.compileTask);
benchOperator.exec('tsc -p bench/tsconfig.json');
benchOperator.exec('node .bench/operator.js', { receiveArgs: true });

// Every test: the full projen build (compile, jest with coverage, eslint, docgen, rosetta, package
// js + python), then the Python wheel in a fresh venv under pytest, then one summary line.
project.addTask('test:all', {
  description: 'Build, run jest and eslint, package js and python, run pytest against the wheel, summarize',
  exec: 'bash scripts/test-all.sh',
});

project.synth();
