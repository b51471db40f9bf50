// Runs the jest suite against another aws-cdk-lib line (e.g. the newest the registry serves),
// installed by scripts/test-all.sh in a side directory ($CDK_LINE_DIR/node_modules): the library,
// the tests and every dependency (cdk-nag, cloudformation-diff) then load that aws-cdk-lib,
// constructs and cdk8s at run time, while TypeScript still checks against the floor the package
// declares. Nothing in the project's node_modules changes.
const path = require('path');
const base = require('../package.json').jest;

const dir = process.env.CDK_LINE_DIR;
if (!dir) {
  throw new Error('CDK_LINE_DIR must name the directory whose node_modules holds the aws-cdk-lib line to test');
}
const modules = path.resolve(dir, 'node_modules');
const label = process.env.CDK_LINE_LABEL || 'newest';

module.exports = {
  ...base,
  rootDir: path.resolve(__dirname, '..'),
  collectCoverage: false,
  moduleNameMapper: {
    '^aws-cdk-lib$': path.join(modules, 'aws-cdk-lib'),
    '^aws-cdk-lib/(.*)$': path.join(modules, 'aws-cdk-lib', '$1'),
    '^constructs$': path.join(modules, 'constructs'),
    '^cdk8s$': path.join(modules, 'cdk8s'),
  },
  transform: {
    '^.+\\.[t]sx?$': ['ts-jest', { tsconfig: 'tsconfig.dev.json', diagnostics: false }],
  },
  reporters: ['default', ['jest-junit', { outputDirectory: 'test-reports', outputName: `junit-${label}.xml` }]],
};
