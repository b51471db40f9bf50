/**
 * cdk8s, loaded on first use. Importing it costs tens of milliseconds, which `cdk synth` of an
 * app that renders no chart should not pay: the migration writes its manifests without it
 * (service-account-documents.ts, yaml.ts), and lib/index.js exports `ServiceAccountChart`
 * lazily (scripts/lazy-exports.ts).
 */
export function cdk8s(): typeof import('cdk8s') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('cdk8s');
}
