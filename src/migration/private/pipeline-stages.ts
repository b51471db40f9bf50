import { DesignedProvider } from './stack-graph';
import { deployOrder, OIDC_PROVIDERS, ROLES } from './stack-layout';
import { OidcProviderStep } from '../migration-state';

/** A manual approval before a pipeline stage. */
export interface StageApproval {
  readonly id: string;
  readonly comment: string;
}

/**
 * The migration's scopes in the order a pipeline deploys them, each with the approval it waits
 * for: the roles for a review of the phase change (and the soak of the previous one), unless
 * `soakApproval` is false; the OIDC providers for their import (a pipeline cannot import) or review.
 */
export function pipelineStages(waves: string[], providers: DesignedProvider[], soakApproval: boolean): { scope: string; approval?: StageApproval }[] {
  return deployOrder(waves).map((scope) => {
    if (scope === ROLES && soakApproval) {
      return { scope, approval: { id: 'ReviewPhaseChange', comment: 'Review the recorded phase change (cdk diff) and the soak of the previous one; see runbooks/index.md' } };
    }
    if (scope === OIDC_PROVIDERS) {
      const adopted = providers.filter((p) => p.entry.step === OidcProviderStep.ADOPTED).map((p) => p.entry.stackName);
      return {
        scope,
        approval: {
          id: 'ReviewOidcProviders',
          comment: adopted.length > 0
            ? `Import the adopted OIDC providers first (cdk import, see runbooks/oidc-providers.md): ${adopted.join(', ')}`
            : 'Review the OIDC provider steps (runbooks/oidc-providers.md); RETIRED deletes a provider',
        },
      };
    }
    return { scope };
  });
}
