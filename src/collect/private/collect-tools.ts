/** The operator's kubectl and AWS CLI as `collect` runs them: JSON out, failures as `CollectError`s that say what to do. */
import { spawnSync } from 'child_process';
import { awsErrorOf, CollectError, DENIED, kubectlProblem, NO_CREDENTIALS } from './collect-facts';

/** Where an account's IAM is read: the AWS CLI profile and the region of the endpoint. */
export interface IamTarget {
  account: string;
  profile?: string;
  region: string;
}

/** kubectl and the AWS CLI, run as the operator; failures become `CollectError`s that say what to do. */
export class Tools {
  constructor(private readonly io: { readonly env: { [name: string]: string | undefined } }) {}

  public kubectl(context: string, args: string[], what: string): any {
    const r = this.run('kubectl', args);
    if (r.status !== 0) {
      if (/context .* does not exist|cannot locate context|context was not found|cannot find context|no context exists/i.test(r.stderr)) {
        const list = this.run('kubectl', ['config', 'get-contexts', '-o', 'name']);
        const names = list.stdout.trim().split('\n').filter((l) => l !== '');
        throw new CollectError(`collect: context "${context}" is not in the kubeconfig (${this.io.env.KUBECONFIG ?? '~/.kube/config'}); it has ${names.length === 0 ? 'no contexts' : names.join(', ')}. Add it with: aws eks update-kubeconfig --name <cluster> --region <region> --alias ${context}`);
      }
      throw new CollectError(`collect: context "${context}": kubectl ${args.join(' ')} (${what}): ${kubectlProblem(r.stderr)}`);
    }
    return parse(r.stdout, `kubectl ${args.join(' ')}`);
  }

  public aws(who: string, args: string[], profile?: string, region?: string): any {
    const full = [...args, ...(region ? ['--region', region] : []), ...(profile ? ['--profile', profile] : []), '--output', 'json'];
    const r = this.run('aws', full);
    if (r.status !== 0) throw this.awsFailure(who, full, r.stderr, profile);
    return parse(r.stdout, `aws ${full.join(' ')}`);
  }

  /** An IAM read; `undefined` for a role that does not exist (`missing`), or a call that is denied (`denied`). */
  public iam(where: IamTarget, args: string[], what: string, allow: { missing?: boolean; denied?: boolean } = {}): any {
    const full = ['iam', ...args, '--region', where.region, ...(where.profile ? ['--profile', where.profile] : []), '--output', 'json'];
    const r = this.run('aws', full);
    if (r.status !== 0) {
      const code = awsErrorOf(r.stderr).code ?? '';
      if ((allow.missing && code === 'NoSuchEntity') || (allow.denied && DENIED.test(code))) return undefined;
      throw this.awsFailure(`${what} (account ${where.account})`, full, r.stderr, where.profile);
    }
    return parse(r.stdout, `aws ${full.join(' ')}`);
  }

  /** The account a profile's credentials reach (sts get-caller-identity), or why they do not work. */
  public callerAccount(profile: string | undefined, region: string): { account?: string; error?: string } {
    const r = this.run('aws', ['sts', 'get-caller-identity', '--region', region, ...(profile ? ['--profile', profile] : []), '--output', 'json']);
    if (r.status !== 0) {
      const e = awsErrorOf(r.stderr);
      return { error: `${e.code ? `${e.code}: ` : ''}${e.message}` };
    }
    return { account: parse(r.stdout, 'aws sts get-caller-identity').Account };
  }

  private awsFailure(who: string, args: string[], stderr: string, profile?: string): CollectError {
    const e = awsErrorOf(stderr);
    const call = `aws ${args.join(' ')}`;
    const as = profile === undefined ? 'the default credentials' : `profile ${profile}`;
    if (e.code !== undefined && DENIED.test(e.code)) {
      return new CollectError(`collect: ${who}: not permitted: ${call} was denied to ${as} (${e.code}: ${e.message}). collect needs read access: eks:DescribeCluster, eks:ListNodegroups, eks:ListAddons, eks:DescribeAddon, eks:DescribeAddonConfiguration, iam:ListOpenIDConnectProviders, iam:GetAccountAuthorizationDetails (or iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies).`);
    }
    if (NO_CREDENTIALS.test(`${e.code ?? ''} ${e.message}`)) {
      return new CollectError(`collect: ${who}: no valid AWS credentials for ${as}: ${e.code ? `${e.code}: ` : ''}${e.message} (aws sso login, or give the context's profile).`);
    }
    if (e.code === 'ResourceNotFoundException' && args[1] === 'describe-cluster') {
      return new CollectError(`collect: ${who}: ${as} finds no EKS cluster of that name in that region (${e.message}): the cluster was deleted, or the credentials reach another account.`);
    }
    return new CollectError(`collect: ${who}: ${call} failed: ${e.code ? `${e.code}: ` : ''}${e.message}`);
  }

  private run(tool: string, args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(tool, args, { env: { ...this.io.env, AWS_PAGER: '' } as NodeJS.ProcessEnv, encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
    if (r.error !== undefined) {
      const install = tool === 'kubectl' ? 'https://kubernetes.io/docs/tasks/tools/' : 'https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html';
      throw new CollectError(`collect: cannot run ${tool} (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): install it (${install}) and put it on PATH.`);
    }
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }
}

function parse(text: string, what: string): any {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CollectError(`collect: ${what} printed no JSON (${(e as Error).message}): ${text.slice(0, 120)}`);
  }
}
