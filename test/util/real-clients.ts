/**
 * The real kubectl and AWS CLI (installed into .tools/ by scripts/install-tools.sh), and a replay of
 * the calls a test's stand-ins recorded against them: kubectl against a kubeconfig whose clusters
 * refuse connections, the AWS CLI against an endpoint that refuses them. A bad flag or argument
 * fails with a usage error before any connection; a good call gets as far as the connection.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const TOOLS = path.join(__dirname, '..', '..', '.tools');
export const REAL_KUBECTL = process.env.PI_REAL_KUBECTL ?? path.join(TOOLS, 'kubernetes-client', 'usr', 'bin', 'kubectl');
export const REAL_AWS = process.env.PI_REAL_AWS ?? path.join(TOOLS, 'awscli', 'bin', 'aws');

/** One call per shape (its flags and first `words` subcommands): the calls worth replaying. */
export function callShapes(calls: { tool: string; argv: string[] }[], tool: string, words: number): string[][] {
  const seen = new Map<string, string[]>();
  for (const c of calls.filter((x) => x.tool === tool)) {
    const shape = c.argv.filter((a) => a.startsWith('-')).map((a) => a.split('=')[0]).join(' ') + ' ' + c.argv.filter((a) => /^[a-z-]+$/.test(a)).slice(0, words).join(' ');
    if (!seen.has(shape)) seen.set(shape, c.argv);
  }
  return [...seen.values()];
}

/** The kubectl calls the real kubectl rejects, with its first lines of output; [] when it accepts them all. */
export function kubectlRejects(calls: string[][]): string[] {
  const contexts = [...new Set(calls.map((argv) => argv[argv.indexOf('--context') + 1]))];
  const config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-')), 'config');
  fs.writeFileSync(config, JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'refused', cluster: { server: 'https://127.0.0.1:9' } }],
    users: [{ name: 'operator', user: { token: 'x' } }],
    contexts: contexts.map((name) => ({ name, context: { cluster: 'refused', user: 'operator' } })),
  }));
  const rejected: string[] = [];
  for (const argv of calls) {
    const r = spawnSync(REAL_KUBECTL, argv, { encoding: 'utf8', env: { ...process.env, KUBECONFIG: config }, timeout: 60000 });
    const output = `${r.stdout}${r.stderr}`;
    const reached = /connection refused|was refused|Unable to connect to the server|dial tcp/.test(output);
    const usage = /unknown (shorthand )?flag|unknown command|invalid argument|flag needs an argument|See 'kubectl/.test(output);
    if (!reached || usage) {
      rejected.push(`kubectl ${argv.join(' ')}\n  ${output.trim().split('\n').slice(0, 3).join('\n  ')}`);
    }
  }
  return rejected;
}

/**
 * The aws calls the real AWS CLI rejects; [] when it accepts them all. `--profile` is left out (no
 * profiles exist here; the CLI takes any name).
 */
export function awsRejects(calls: string[][]): string[] {
  const rejected: string[] = [];
  for (const argv of calls) {
    const args = argv.filter((a, i) => a !== '--profile' && argv[i - 1] !== '--profile');
    const r = spawnSync(REAL_AWS, [...args, '--endpoint-url', 'http://127.0.0.1:9', '--cli-connect-timeout', '1'], {
      encoding: 'utf8',
      timeout: 60000,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'x', AWS_MAX_ATTEMPTS: '1', AWS_RETRY_MODE: 'standard', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    });
    if (r.status !== 255 || !/Could not connect to the endpoint URL/.test(r.stderr)) {
      rejected.push(`aws ${argv.join(' ')}\n  exit ${r.status}: ${r.stderr.trim().split('\n').slice(0, 3).join('\n  ')}`);
    }
  }
  return rejected;
}
