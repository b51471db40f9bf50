#!/usr/bin/env node
/**
 * The package's command, `cdk-eks-pod-identity` (npx cdk-eks-pod-identity collect ...).
 */
import { collect, CollectError } from './collect';

const USAGE = `usage: cdk-eks-pod-identity collect --context <kubeconfig context> [--context ...] --out <fleet folder>
                                    [--account-profile <account>=<AWS profile> ...] [--prune]

Reads each cluster with kubectl and the AWS CLI, as you, and writes the fleet folder the library reads:
clusters.json, serviceaccounts/, workloads/, addons/, addon-configurations/ and roles.json
(plan.json, state.json and placement.json are left alone).

  --context          a kubeconfig context, one per cluster (as aws eks update-kubeconfig writes it);
                     its credentials plugin's AWS profile is used for that cluster's account
  --out              the fleet folder
  --account-profile  the AWS profile that reads IAM roles of an account no context reaches
                     (e.g. a cross-account role's account)
  --prune            remove files of clusters that are not among the contexts`;

/** Runs the command line; returns the exit code (0 done, 1 failed, 2 usage). */
export function main(argv: string[], env: { [name: string]: string | undefined }, out: (line: string) => void, err: (line: string) => void): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'collect') {
    err(`cdk-eks-pod-identity: unknown command "${command}"; the command is collect.\n${USAGE}`);
    return 2;
  }
  const contexts: string[] = [];
  const accountProfiles: { [account: string]: string } = {};
  let outDir: string | undefined;
  let prune = false;
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i].startsWith('--') && rest[i].includes('=') ? [rest[i].slice(0, rest[i].indexOf('=')), rest[i].slice(rest[i].indexOf('=') + 1)] : [rest[i], undefined];
    const value = () => {
      const v = inline ?? rest[++i];
      if (v === undefined || v === '') {
        throw new CollectError(`collect: ${flag} needs a value.\n${USAGE}`);
      }
      return v;
    };
    try {
      switch (flag) {
        case '--context': contexts.push(value()); break;
        case '--out': outDir = value(); break;
        case '--account-profile': {
          const v = value();
          const m = /^(\d{12})=(.+)$/.exec(v);
          if (m === null) throw new CollectError(`collect: --account-profile ${v}: expected <12-digit account>=<profile>, e.g. 444455556666=ingest-readonly.`);
          accountProfiles[m[1]] = m[2];
          break;
        }
        case '--prune': prune = true; break;
        case '--help': case '-h': out(USAGE); return 0;
        default: throw new CollectError(`collect: unknown option ${rest[i]}.\n${USAGE}`);
      }
    } catch (e) {
      err((e as Error).message);
      return 2;
    }
  }
  if (outDir === undefined) {
    err(`collect: --out is missing: give the fleet folder to write.\n${USAGE}`);
    return 2;
  }
  try {
    const result = collect({ contexts, out: outDir, accountProfiles, prune }, { env, log: err });
    out(`collected ${result.clusters} cluster(s) and ${result.roles} role(s) into ${outDir}${result.warnings.length > 0 ? `, with ${result.warnings.length} warning(s) above` : ''}`);
    return 0;
  } catch (e) {
    if (e instanceof CollectError) {
      err(e.message);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), process.env, (l) => process.stdout.write(`${l}\n`), (l) => process.stderr.write(`${l}\n`));
}
