import { normalizedHistories, PlanningError } from './phase-state';
import { OidcProviderRecord, OidcProviderStep } from '../migration-state';

/** The steps of a provider's retirement, in order; a deploy moves one step either way. */
export const PROVIDER_STEP_ORDER: readonly OidcProviderStep[] = [
  OidcProviderStep.KEPT,
  OidcProviderStep.ADOPTED,
  OidcProviderStep.RETIRING,
  OidcProviderStep.RETIRED,
];

/** What the provider's stack holds at a step. */
export interface ProviderResource {
  /** Whether the `AWS::IAM::OIDCProvider` is in the template. */
  readonly present: boolean;
  /** Its `DeletionPolicy` (and `UpdateReplacePolicy`) when present. */
  readonly deletionPolicy?: 'Retain' | 'Delete';
  /** Whether the step is deployed with `cdk import` (the provider enters the stack). */
  readonly imported: boolean;
}

/**
 * The provider's resource at `step`. The step is also written into the resource's metadata: a
 * change of `DeletionPolicy` alone is not applied by CloudFormation, so ADOPTED -> RETIRING changes
 * the metadata with it.
 */
export function providerResource(step: OidcProviderStep): ProviderResource {
  switch (step) {
    case OidcProviderStep.KEPT: return { present: false, imported: false };
    case OidcProviderStep.ADOPTED: return { present: true, deletionPolicy: 'Retain', imported: true };
    case OidcProviderStep.RETIRING: return { present: true, deletionPolicy: 'Delete', imported: false };
    case OidcProviderStep.RETIRED: return { present: false, imported: false };
  }
}

/** Whether `value` is a step. */
export function isProviderStep(value: unknown): value is OidcProviderStep {
  return typeof value === 'string' && (PROVIDER_STEP_ORDER as string[]).includes(value);
}

/**
 * The step each provider is at: the last entry of its recorded history (KEPT when none), after
 * checking that every entry is a step and one step from the one before it. Providers of clusters
 * not in `clusters` are an error.
 */
export function resolveProviderSteps(clusters: readonly string[],
  recorded: { [cluster: string]: any[] } | undefined): Map<string, OidcProviderStep> {
  const known = new Set(clusters);
  const steps = new Map<string, OidcProviderStep>();
  const histories = normalizedHistories<OidcProviderRecord>(recorded, 'step', 'the OIDC provider of cluster');
  for (const [cluster, history] of Object.entries(histories)) {
    if (!known.has(cluster)) {
      throw new PlanningError(`the state records the OIDC provider of cluster ${JSON.stringify(cluster)}, which is not in clusters. `
        + 'A cluster whose provider was retired stays in clusters; fix the name in the state file.');
    }
    let previous = OidcProviderStep.KEPT;
    history.forEach((entry, i) => {
      const where = `the state of the OIDC provider of cluster ${JSON.stringify(cluster)}, entry ${i + 1}`;
      if (!isProviderStep(entry?.step)) {
        throw new PlanningError(`${where}: unknown step ${JSON.stringify(entry?.step)}; expected one of ${PROVIDER_STEP_ORDER.join(', ')}.`);
      }
      const [from, to] = [PROVIDER_STEP_ORDER.indexOf(previous), PROVIDER_STEP_ORDER.indexOf(entry.step)];
      if (Math.abs(to - from) > 1) {
        const skipped = PROVIDER_STEP_ORDER.slice(Math.min(from, to) + 1, Math.max(from, to));
        const next = PROVIDER_STEP_ORDER[from + Math.sign(to - from)];
        throw new PlanningError(`${where}: the step from ${previous} to ${entry.step} jumps over ${skipped.join(' and ')}. `
          + `Each step is one deploy (the provider is imported, its deletion armed, then it is removed): record ${next} next.`);
      }
      previous = entry.step;
    });
    steps.set(cluster, previous);
  }
  return steps;
}
