// The acceptance suite (test/acceptance): black-box runs of collect and the generated runbook
// scripts against the test bed (scripts/testbed/). It runs inside the bed's network namespace:
//   bash scripts/testbed/run-acceptance.sh        (bed up, this suite, bed down)
// The main jest run (package.json) leaves test/acceptance out.
const path = require('path');
const base = require('../package.json').jest;

module.exports = {
  ...base,
  rootDir: path.resolve(__dirname, '..'),
  testMatch: ['<rootDir>/test/acceptance/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/cdk.out/', '/.tools/'],
  collectCoverage: false,
  testTimeout: 15 * 60 * 1000,
  maxWorkers: 1,
  transform: {
    '^.+\\.[t]sx?$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }],
  },
  reporters: ['default', ['jest-junit', { outputDirectory: 'test-reports', outputName: 'junit-acceptance.xml' }]],
};
