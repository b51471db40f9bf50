import { clustersTsv, folderScript, ScriptFile, tsv } from './wave-scripts';

/** The clusters whose `eks-pod-identity-agent` add-on the migration installs (its foundation stacks). */
export interface FoundationEntry {
  /** The construct path pattern of the foundation stacks: `<migration>/Foundation/*`. */
  readonly stackPattern: string;
  /** The stack names, for the runbook. */
  readonly stacks: string[];
  readonly clusters: {
    readonly name: string; readonly region: string; readonly account: string; readonly arn: string; readonly computeType: string;
  }[];
}

const STEPS = {
  preflight: 'checks the credentials of each account and the node roles (eks-auth:AssumeRoleForPodIdentity); changes nothing',
  apply: 'preflight, then deploys the foundation stacks (the agent add-ons) and waits until the agent is ready on every node of every cluster',
  verify: 'checks that the agent DaemonSet is ready on every node of every cluster; changes nothing',
} as const;

/**
 * `runbooks/foundation.md` and `runbooks/foundation/`: the step that installs the agent add-on of
 * every cluster whose agent the migration installs, before any wave needs it. A wave's step to
 * POD_IDENTITY checks the agent in its preflight, and names this step where the agent is missing.
 */
export function foundationRunbookFiles(foundation: FoundationEntry | undefined): ScriptFile[] {
  if (foundation === undefined || foundation.clusters.length === 0) {
    return [];
  }
  const script = (step: keyof typeof STEPS): ScriptFile =>
    folderScript('foundation', step, `Foundation: ${step}.sh ${STEPS[step]}.`, 'foundation.md', 'pi_foundation_main');
  return [
    { path: 'foundation/wave.tsv', executable: false, text: tsv([['wave', 'foundation'], ['stacks', foundation.stackPattern]], ['key', 'value']) },
    { path: 'foundation/clusters.tsv', executable: false, text: clustersTsv(foundation.clusters) },
    script('preflight'),
    script('apply'),
    script('verify'),
    { path: 'foundation.md', executable: false, text: renderFoundationRunbook(foundation) },
  ];
}

function renderFoundationRunbook(foundation: FoundationEntry): string {
  const lines = [
    '# Foundation: the Pod Identity agent',
    '',
    'Run this step once, before the first wave moves to POD_IDENTITY: it deploys the `eks-pod-identity-agent` add-on of every cluster below',
    `(\`${foundation.stackPattern}\`: ${foundation.stacks.join(', ')}) and waits until the agent runs on every node.`,
    'A wave\'s step to POD_IDENTITY checks the agent in its preflight and stops, naming this step, while it is missing.',
    'The add-on stays when waves step back: removing it would take Pod Identity away from every pod of the cluster.',
    '',
    '| Cluster | Region | Account | Compute |',
    '|---|---|---|---|',
    ...foundation.clusters.map((c) => `| ${c.name} | ${c.region} | ${c.account} | ${c.computeType} |`),
    '',
    '```bash',
    'cdk.out/runbooks/foundation/preflight.sh --contexts contexts.tsv',
    'cdk.out/runbooks/foundation/apply.sh --contexts contexts.tsv      # deploys, waits for the agent on every node, verifies',
    'cdk.out/runbooks/foundation/verify.sh --contexts contexts.tsv',
    '```',
    '',
    'With a pipeline that deploys the stacks, give `apply.sh --skip-deploy`: it waits for the agent and verifies.',
  ];
  return lines.join('\n') + '\n';
}
