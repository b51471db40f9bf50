import { FleetDesign, PlannedAddon, PlannedAssignment, PlannedRole } from './design';
import { FoundationEntry } from './foundation-runbook';
import { providerResource, ProviderResource } from './oidc-provider-steps';
import { PlanningError, WavePhase } from './phase-state';
import { PlacementRecord } from './placement';
import { ProviderEntry } from './provider-runbook';
import { CLUSTERS, deployOrder, FOUNDATION, StackAddress, StackLayout } from './stack-layout';
import { MigrationPhase } from '../../migration-phase';
import { PodIdentityCluster } from '../../pod-identity-cluster';
import { hasAssociation } from '../../private/phases';
import { OidcProviderStep } from '../migration-state';

/** The logical ID of a cluster's OIDC provider in its stack. */
export const PROVIDER_ID = 'Provider';

/** The logical ID of a managed add-on in its stack. */
export const ADDON_ID = 'Addon';

/** A stack of the migration: its address and its construct path (`<migration>/<scope>/<id>`). */
export interface DesignedStack extends StackAddress {
  readonly path: string;
}

/** `stack` deploys after `on`. */
export interface StackEdge {
  readonly stack: string;
  readonly on: string;
  readonly reason: string;
}

/** A resource to import with `cdk import`: its construct ids under its stack, and its identifier. */
export interface ImportEntry {
  readonly stack: string;
  readonly construct: string[];
  readonly identifier: { [property: string]: string };
}

/** A message on a stack, which the CDK CLI prints at synthesis. */
export interface StackNote {
  readonly stack: string;
  readonly level: 'info' | 'warning';
  /** The warning's id (acknowledgeable), for warnings. */
  readonly id?: string;
  readonly text: string;
}

/** An OIDC provider with a recorded retirement: its runbook entry and what its stack holds at its step. */
export interface DesignedProvider extends ProviderResource {
  readonly entry: ProviderEntry;
  /** The provider's issuer (host and path, without `https://`). */
  readonly issuer: string;
}

/**
 * Every stack of the migration and what it holds, in the order they are made (which the cloud
 * assembly keeps), and the dependencies between them.
 */
export interface StackGraph {
  readonly stacks: DesignedStack[];
  /** Same-stage dependencies, in the order they are added (across pipeline stages the pipeline orders). */
  readonly edges: StackEdge[];
  readonly foundation?: FoundationEntry;
  /** The agent add-on of each cluster the foundation installs it on, and its stack. */
  readonly agents: { readonly stack: string; readonly cluster: PodIdentityCluster }[];
  readonly roles: { readonly stack: string; readonly role: PlannedRole }[];
  /** The association of each service account whose phase has one (not those of an add-on). */
  readonly associations: { readonly stack: string; readonly assignment: PlannedAssignment }[];
  readonly addons: { readonly stack: string; readonly addon: PlannedAddon }[];
  /** The phase record of each wave per environment. */
  readonly records: { readonly stack: string; readonly wave: string; readonly phase: MigrationPhase }[];
  readonly providers: DesignedProvider[];
  /** The `cdk import` mappings, in the order of their stacks' first entry. */
  readonly imports: ImportEntry[];
  /** wave -> the stacks holding what it adopts (roles, add-ons). */
  readonly importStacks: Map<string, string[]>;
  /** wave -> its phase record stacks. */
  readonly recordStacks: Map<string, string[]>;
  /** Stacks that need a placeholder resource: every cluster stack, and any other while it is empty. */
  readonly placeholders: string[];
  /** One line per role stack: its roles and its fullest trust policy. */
  readonly notes: StackNote[];
}

/** What the stack graph is made from: the decided fleet and the placement of its resources. */
export interface GraphInputs {
  readonly migrationPath: string;
  readonly layout: StackLayout;
  readonly fleet: FleetDesign;
  readonly clusters: PodIdentityCluster[];
  readonly phases: Map<string, WavePhase>;
  readonly waves: string[];
  readonly placement: PlacementRecord;
  readonly providerSteps: Map<string, OidcProviderStep>;
  readonly installAgents?: boolean;
  readonly pipelineStages: boolean;
}

/** The stacks of the migration, what each holds and what each deploys after. */
export function stackGraph(inputs: GraphInputs): StackGraph {
  const builder = new GraphBuilder(inputs);
  const foundation = builder.foundation();
  builder.roles();
  builder.associations();
  builder.addons();
  builder.records();
  builder.providers();
  return builder.done(foundation);
}

class GraphBuilder {
  private readonly byName = new Map<string, DesignedStack>();
  private readonly edges: StackEdge[] = [];
  private readonly pairs = new Set<string>();
  private readonly filled = new Set<string>();
  private readonly graph = {
    agents: [] as StackGraph['agents'],
    roles: [] as StackGraph['roles'],
    associations: [] as StackGraph['associations'],
    addons: [] as StackGraph['addons'],
    records: [] as StackGraph['records'],
    providers: [] as DesignedProvider[],
    imports: [] as ImportEntry[],
    importStacks: new Map<string, string[]>(),
    recordStacks: new Map<string, string[]>(),
    notes: [] as StackNote[],
  };

  constructor(private readonly inputs: GraphInputs) {}

  public foundation(): FoundationEntry | undefined {
    if (this.inputs.installAgents === false) {
      return undefined;
    }
    const clusters = this.inputs.clusters.filter((c) => c.needsAgentAddon);
    const stacks = new Set<string>();
    for (const cluster of clusters) {
      const stack = this.fill(this.inputs.layout.foundation(cluster.account!, cluster.region!));
      stacks.add(stack);
      this.graph.agents.push({ stack, cluster });
    }
    return clusters.length === 0 ? undefined : {
      stackPattern: `${this.inputs.migrationPath}/${FOUNDATION}/*`,
      stacks: [...stacks].sort(),
      clusters: clusters.map((c) => ({ name: c.clusterName, region: c.region!, account: c.account!, arn: c.clusterArn, computeType: c.computeType })),
    };
  }

  /** Every role, retained; the adopted ones imported. A recorded role stack stays when it holds nothing now. */
  public roles(): void {
    const { layout, fleet, placement } = this.inputs;
    for (const [account, shards] of Object.entries(placement.roles)) {
      new Set(Object.values(shards)).forEach((shard) => this.stack(layout.roles(account, shard)));
    }
    const byStack = new Map<string, PlannedRole[]>();
    for (const [arn, role] of fleet.roles) {
      const stack = this.fill(this.roleStack(arn));
      this.graph.roles.push({ stack, role });
      (byStack.get(stack) ?? byStack.set(stack, []).get(stack)!).push(role);
      if (role.adopted) {
        this.graph.imports.push({ stack, construct: [role.parsed.roleName, 'Resource'], identifier: { RoleName: role.parsed.roleName } });
        role.waves.forEach((w) => this.importedBy(w, stack));
      }
    }
    for (const [stack, list] of byStack) {
      const fullest = [...list].sort((a, b) => b.trustLength / b.trustMax - a.trustLength / a.trustMax)[0];
      this.graph.notes.push({
        stack,
        level: 'info',
        text: `${list.length} roles (${list.filter((r) => r.adopted).length} adopted); fullest trust policy: ${fullest.parsed.roleName}, `
          + `${fullest.trustLength.toLocaleString('en-US')} of ${fullest.trustMax.toLocaleString('en-US')} characters. Every role: runbooks/index.md.`,
      });
    }
  }

  /** An association per service account whose phase has one; an add-on's come from the add-on. */
  public associations(): void {
    const { layout, fleet, placement } = this.inputs;
    for (const [clusterArn, shards] of Object.entries(placement.associations)) {
      new Set(Object.values(shards)).forEach((shard) => this.stack(layout.cluster(clusterArn, shard)));
    }
    for (const p of fleet.assignments.filter((x) => hasAssociation(x.phase) && x.addon === undefined)) {
      const stack = this.fill(layout.cluster(p.cluster.clusterArn, placement.associations[p.cluster.clusterArn][`${p.sa.namespace}/${p.sa.serviceAccount}`]));
      this.graph.associations.push({ stack, assignment: p });
      // F4: the role, its trust and its policies before the association
      this.dependOn(stack, this.roleStack(p.associationRoleArn), `the trust of ${p.associationRoleArn} comes before its associations`);
      if (p.targetRoleArn !== undefined) {
        this.dependOn(stack, this.roleStack(p.targetRoleArn), `the trust of ${p.targetRoleArn} comes before its associations`);
      }
    }
  }

  /** Each managed add-on in a wave, imported, after the stack of its role. */
  public addons(): void {
    for (const addon of this.inputs.fleet.addons.filter((a) => a.wave !== undefined)) {
      const stack = this.fill(this.inputs.layout.addon(addon.cluster.clusterArn, addon.addon.addonName));
      this.graph.addons.push({ stack, addon });
      const identifier = { ClusterName: addon.cluster.clusterName, AddonName: addon.addon.addonName };
      this.graph.imports.push({ stack, construct: [ADDON_ID], identifier });
      this.importedBy(addon.wave!, stack);
      this.dependOn(stack, this.roleStack(addon.roleArn), `the trust of ${addon.roleArn} comes before the add-on's associations`);
    }
  }

  /** Per wave and environment a phase record, after the wave's role, association and add-on stacks. */
  public records(): void {
    const { layout, fleet, placement } = this.inputs;
    for (const wave of this.inputs.waves) {
      const assignments = fleet.assignments.filter((p) => p.wave === wave);
      const envs = new Map<string, PodIdentityCluster>();
      assignments.forEach((p) => envs.set(`${p.cluster.account}|${p.cluster.region}`, p.cluster));
      const records: string[] = [];
      for (const key of [...envs.keys()].sort()) {
        const { account, region } = envs.get(key)!;
        const stack = this.fill(layout.wave(wave, account!, region!));
        this.graph.records.push({ stack, wave, phase: this.inputs.phases.get(wave)!.phase });
        for (const [arn, role] of fleet.roles) {
          if (role.waves.includes(wave)) {
            this.dependOn(stack, this.roleStack(arn), `the roles of ${wave}`);
          }
        }
        const here = assignments.filter((p) => p.cluster.account === account && p.cluster.region === region);
        for (const clusterArn of new Set(here.filter((p) => p.addon === undefined).map((p) => p.cluster.clusterArn))) {
          new Set(Object.values(placement.associations[clusterArn])).forEach((shard) =>
            this.dependOn(stack, this.stack(layout.cluster(clusterArn, shard)), `the associations of ${wave}`));
        }
        for (const a of fleet.addons.filter((x) => x.wave === wave && x.cluster.account === account && x.cluster.region === region)) {
          this.dependOn(stack, this.stack(layout.addon(a.cluster.clusterArn, a.addon.addonName)), `the add-ons of ${wave}`);
        }
        records.push(stack);
      }
      this.graph.recordStacks.set(wave, records);
    }
  }

  /** Per provider with a recorded retirement, its stack, after the role stacks of its account. */
  public providers(): void {
    const { layout, fleet, placement } = this.inputs;
    for (const [name, step] of [...this.inputs.providerSteps].sort(([a], [b]) => a.localeCompare(b))) {
      const cluster = fleet.clusters.get(name)!;
      const address = this.stack(layout.oidcProvider(cluster.clusterArn));
      const resource = providerResource(step);
      this.graph.providers.push({
        ...resource,
        issuer: cluster.oidcIssuer!,
        entry: {
          cluster: name,
          clusterArn: cluster.clusterArn,
          region: cluster.region!,
          account: cluster.account!,
          computeType: cluster.computeType,
          providerArn: cluster.oidcProviderArn!,
          step,
          stackName: address.stackName,
          stackRegion: address.region,
          stackId: address.path,
          logicalId: PROVIDER_ID,
        },
      });
      for (const [, shards] of Object.entries(placement.roles).filter(([account]) => account === cluster.account)) {
        new Set(Object.values(shards)).forEach((shard) => this.dependOn(address.stackName, this.stack(layout.roles(cluster.account!, shard)),
          `the trust of the roles of ${cluster.account} drops ${name}'s provider first`));
      }
      if (resource.present) {
        this.filled.add(address.stackName);
        if (resource.imported) {
          this.graph.imports.push({ stack: address.stackName, construct: [PROVIDER_ID], identifier: { Arn: cluster.oidcProviderArn! } });
        }
      }
    }
  }

  public done(foundation: FoundationEntry | undefined): StackGraph {
    const stacks = [...this.byName.values()];
    const placeholders = stacks.filter((s) => s.scope === CLUSTERS || !this.filled.has(s.stackName)).map((s) => s.stackName);
    return { ...this.graph, stacks, edges: this.edges, foundation, placeholders };
  }

  /** The stack at `address`, added to the graph the first time. */
  private stack(address: StackAddress): DesignedStack {
    const known = this.byName.get(address.stackName);
    if (known !== undefined) {
      return known;
    }
    const stack = { ...address, path: `${this.inputs.migrationPath}/${address.scope}/${address.id}` };
    this.byName.set(stack.stackName, stack);
    return stack;
  }

  /** The stack at `address`, which holds a resource. */
  private fill(address: StackAddress): string {
    const name = this.stack(address).stackName;
    this.filled.add(name);
    return name;
  }

  private roleStack(arn: string): DesignedStack {
    const role = this.inputs.fleet.roles.get(arn)!;
    return this.stack(this.inputs.layout.roles(role.parsed.account, this.inputs.placement.roles[role.parsed.account][arn]));
  }

  private importedBy(wave: string, stack: string): void {
    const list = this.graph.importStacks.get(wave) ?? this.graph.importStacks.set(wave, []).get(wave)!;
    if (!list.includes(stack)) {
      list.push(stack);
    }
  }

  /** A dependency; across pipeline stages the pipeline's order must already provide it. */
  private dependOn(name: string, onStack: string | DesignedStack, reason: string): void {
    const on = typeof onStack === 'string' ? onStack : onStack.stackName;
    if (this.pairs.has(`${name} ${on}`)) {
      return;
    }
    this.pairs.add(`${name} ${on}`);
    const [a, b] = [this.byName.get(name)!.scope, this.byName.get(on)!.scope];
    if (!this.inputs.pipelineStages || a === b) {
      this.edges.push({ stack: name, on, reason });
      return;
    }
    const order = deployOrder(this.inputs.waves);
    if (order.indexOf(b) >= order.indexOf(a)) {
      throw new PlanningError(`${name} needs ${on} first (${reason}), but the pipeline deploys stage ${b} after ${a}.`);
    }
  }
}
