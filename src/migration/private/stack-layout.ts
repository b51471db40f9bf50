import { createHash } from 'crypto';
import { PlanningError } from './phase-state';
import { parseClusterArn as parseArn } from '../../private/names';

/** CloudFormation's limit on a stack name. */
const MAX_STACK_NAME = 128;

/** The scopes under the migration that hold stacks other than the waves'. */
export const FOUNDATION = 'Foundation';
export const ROLES = 'Roles';
export const CLUSTERS = 'Clusters';
export const ADDONS = 'Addons';
export const OIDC_PROVIDERS = 'OidcProviders';
/** Names a wave may not take (compared case-insensitively): the scopes above. */
export const RESERVED_SCOPES = [FOUNDATION, ROLES, CLUSTERS, ADDONS, OIDC_PROVIDERS];

/**
 * The order the migration's scopes deploy in (the stages of a pipeline): the foundation, the roles,
 * the associations, the add-ons, each wave's record in plan order, then the OIDC providers. A stack
 * may depend only on stacks of its own scope or of an earlier one.
 */
export function deployOrder(waves: readonly string[]): string[] {
  return [FOUNDATION, ROLES, CLUSTERS, ADDONS, ...waves, OIDC_PROVIDERS];
}

/** Where a stack goes: its scope under the migration, its id there, its name, its environment. */
export interface StackAddress {
  readonly scope: string;
  readonly id: string;
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
}

/**
 * Stack addresses, each a function of one identity only: the agent add-ons of an account and
 * region; the roles of an account (shard n); the associations of a cluster (shard n); the phase
 * record of a wave in an account and region; a managed add-on of a cluster; the OIDC provider of a
 * cluster.
 */
export class StackLayout {
  constructor(private readonly prefix: string, public readonly homeRegion: string) {}

  public foundation(account: string, region: string): StackAddress {
    return this.address(FOUNDATION, `${account}-${region}`, `${FOUNDATION}-${account}-${region}`, account, region);
  }

  public roles(account: string, shard: number): StackAddress {
    const suffix = shard === 1 ? '' : `-${shard}`;
    return this.address(ROLES, `${account}${suffix}`, `${ROLES}-${account}${suffix}`, account, this.homeRegion);
  }

  /** The associations of the cluster `clusterArn` (`arn:<partition>:eks:<region>:<account>:cluster/<name>`). */
  public cluster(clusterArn: string, shard: number): StackAddress {
    const { account, region } = clusterArnParts(clusterArn);
    const suffix = shard === 1 ? '' : `-${shard}`;
    const key = this.clusterKey(clusterArn, `Cluster--${suffix}`);
    return this.address(CLUSTERS, `${key}${suffix}`, `Cluster-${key}${suffix}`, account, region);
  }

  /** The IAM OIDC provider of the cluster `clusterArn`, in its account (IAM is global: in the home region). */
  public oidcProvider(clusterArn: string): StackAddress {
    const { account } = clusterArnParts(clusterArn);
    const key = this.clusterKey(clusterArn, 'OidcProvider-');
    return this.address(OIDC_PROVIDERS, key, `OidcProvider-${key}`, account, this.homeRegion);
  }

  /** The managed add-on `addonName` of the cluster `clusterArn`, in the cluster's account and region. */
  public addon(clusterArn: string, addonName: string): StackAddress {
    const { account, region } = clusterArnParts(clusterArn);
    // add-on names may hold characters a stack name may not (marketplace add-ons use '_')
    const safe = /^[A-Za-z0-9-]+$/.test(addonName) ? addonName : `${addonName.replace(/[^A-Za-z0-9-]/g, '-')}-${createHash('sha256').update(addonName).digest('hex').slice(0, 6)}`;
    const key = this.clusterKey(clusterArn, `Addon-${safe}-`);
    return this.address(ADDONS, `${safe}-${key}`, `Addon-${safe}-${key}`, account, region);
  }

  /** `<name>-<account>-<region>` of a cluster, or a readable form unique by a hash where that does not fit a stack name. */
  private clusterKey(clusterArn: string, fixedPart: string): string {
    const { account, region, name } = clusterArnParts(clusterArn);
    const key = `${name}-${account}-${region}`;
    const fixed = `${this.prefix}-${fixedPart}`.length;
    if (!/[^A-Za-z0-9-]/.test(name) && fixed + key.length <= MAX_STACK_NAME) {
      return key;
    }
    // stack names allow letters, digits and '-': keep the name readable, unique by a hash of the ARN
    const hash = createHash('sha256').update(clusterArn).digest('hex').slice(0, 8);
    const room = MAX_STACK_NAME - fixed - `-${account}-${region}-${hash}`.length;
    return `${name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, Math.max(room, 1))}-${account}-${region}-${hash}`;
  }

  public wave(wave: string, account: string, region: string): StackAddress {
    return this.address(wave, `${account}-${region}`, `Wave-${wave}-${account}-${region}`, account, region);
  }

  private address(scope: string, id: string, name: string, account: string, region: string): StackAddress {
    const stackName = `${this.prefix}-${name}`;
    if (stackName.length > MAX_STACK_NAME) {
      throw new PlanningError(`stack name ${stackName} is ${stackName.length} characters, over CloudFormation's ${MAX_STACK_NAME}: choose a shorter stackPrefix or wave name.`);
    }
    return { scope, id, stackName, account, region };
  }
}

/** The account, region and name of an EKS cluster ARN. */
export function clusterArnParts(arn: string): { account: string; region: string; name: string } {
  const parsed = parseArn(arn);
  if (!parsed) {
    throw new PlanningError(`invalid cluster ARN ${JSON.stringify(arn)}: expected arn:<partition>:eks:<region>:<account>:cluster/<name>.`);
  }
  return { account: parsed.account, region: parsed.region, name: parsed.clusterName };
}
