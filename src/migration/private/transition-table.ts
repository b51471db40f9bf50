import { MigrationPhase } from '../../migration-phase';
import { PHASE_ORDER, PHASES } from '../../private/phases';

/**
 * A check before a step changes anything. Each names what it proves:
 * - `tools`: the clients the step runs are on PATH;
 * - `assembly`: the cloud assembly holds the wave at the step's target phase;
 * - `accounts`: the credentials reach each cluster's account;
 * - `addons`: each managed add-on is as recorded at the step's starting phase (version, role, associations);
 * - `agent`: the agent DaemonSet(s) ready on every node (none on EKS Auto Mode);
 * - `node-roles`: each node role may call `eks-auth:AssumeRoleForPodIdentity` (IAM policy simulation);
 * - `pod-eni`: Security Groups for Pods in `standard` mode;
 * - `proxies`: no container sends the agent's address to a proxy;
 * - `unseen`: what the step cannot see (SDK minimums, private endpoints), as `CANNOT-CHECK`;
 * - `annotations`: the IRSA annotation is on each ServiceAccount, for the pods restarted back onto IRSA;
 * - `no-irsa-pods`: every pod created after its association, none with IRSA variables (F5);
 * - `associations`: the associations are as the starting phase has them, before their trust goes.
 */
export type PreflightCheck = 'tools' | 'assembly' | 'accounts' | 'addons' | 'agent' | 'node-roles' | 'pod-eni' | 'proxies' | 'unseen'
| 'annotations' | 'no-irsa-pods' | 'associations';

/** What one step of a wave does, in order: checks, changes, waits, restarts, proof. */
export interface StepPlan {
  readonly from: MigrationPhase;
  readonly to: MigrationPhase;
  /** Forward (`from` precedes `to`) or back. */
  readonly direction: 'forward' | 'back';
  /** The checks before anything changes, in the order they run. */
  readonly preflight: readonly PreflightCheck[];
  /** The IRSA annotation is put back on each ServiceAccount before the deploy (pods recreated from then on find it). */
  readonly annotateBeforeDeploy: boolean;
  /** What the deploy changes in AWS (the phase record always). */
  readonly deployChanges: {
    readonly irsaTrust?: 'added' | 'removed';
    readonly podIdentityTrust?: 'added' | 'removed';
    readonly associations?: 'created' | 'deleted';
  };
  /** The associations waited for after the deploy (eventually consistent): until each is visible, or gone. */
  readonly waitForAssociations?: 'visible' | 'gone';
  /** A server-side dry run proves the webhook injects what new pods get, before any restart: the credentials they get. */
  readonly injectionProbe?: 'pod-identity' | 'irsa';
  /** Every workload of the wave's service accounts is restarted onto the credentials the step gives. */
  readonly restart: boolean;
  /** The IRSA annotation is removed from each ServiceAccount after the deploy. */
  readonly removeAnnotationAfter: boolean;
  /** The phase verified at the end. */
  readonly verify: MigrationPhase;
}

/**
 * The plan of the step from `from` to `to` (one phase apart, either way), derived from the phase
 * table: what changes between the two phases decides every check, change, wait and restart.
 */
export function stepPlan(from: MigrationPhase, to: MigrationPhase): StepPlan {
  const a = PHASES[from];
  const b = PHASES[to];
  if (Math.abs(a.order - b.order) !== 1) {
    throw new Error(`a step goes one phase forward or back; ${from} -> ${to} is ${Math.abs(a.order - b.order)} phases`);
  }
  const change = (was: boolean, is: boolean, added: string, removed: string) => (was === is ? undefined : is ? added : removed);
  const associations = change(a.association, b.association, 'created', 'deleted') as 'created' | 'deleted' | undefined;
  const preflight: PreflightCheck[] = ['tools', 'assembly', 'accounts', 'addons'];
  if (associations === 'created') {
    preflight.push('agent', 'node-roles', 'pod-eni', 'proxies', 'unseen');
  }
  if (associations === 'deleted') {
    preflight.push('annotations');
  }
  if (a.irsaTrust && !b.irsaTrust) {
    preflight.push('no-irsa-pods');
  }
  if (a.podIdentityTrust && !b.podIdentityTrust) {
    preflight.push('associations');
  }
  return {
    from,
    to,
    direction: b.order > a.order ? 'forward' : 'back',
    preflight,
    annotateBeforeDeploy: b.irsaAnnotation && !a.irsaAnnotation,
    deployChanges: {
      ...(a.irsaTrust !== b.irsaTrust ? { irsaTrust: b.irsaTrust ? 'added' : 'removed' } : {}),
      ...(a.podIdentityTrust !== b.podIdentityTrust ? { podIdentityTrust: b.podIdentityTrust ? 'added' : 'removed' } : {}),
      ...(associations ? { associations } : {}),
    },
    waitForAssociations: associations === undefined ? undefined : associations === 'created' ? 'visible' : 'gone',
    injectionProbe: associations === undefined ? undefined : b.association ? 'pod-identity' : 'irsa',
    restart: associations !== undefined,
    removeAnnotationAfter: a.irsaAnnotation && !b.irsaAnnotation,
    verify: to,
  };
}

/** Every step of the migration: each forward step, then each step back, in phase order. */
export const STEP_PLANS: readonly StepPlan[] = [
  ...PHASE_ORDER.slice(1).map((to, i) => stepPlan(PHASE_ORDER[i], to)),
  ...PHASE_ORDER.slice(1).map((from, i) => stepPlan(from, PHASE_ORDER[i])),
];

/** What a step's deploy changes in AWS, in words (the runbook's "The deploy" column). */
export function describeDeploy(plan: StepPlan): string {
  const c = plan.deployChanges;
  const parts: string[] = [];
  if (c.podIdentityTrust === 'added') parts.push('the roles also trust pods.eks.amazonaws.com, pinned to the wave\'s service accounts');
  if (c.podIdentityTrust === 'removed') parts.push('the roles no longer trust pods.eks.amazonaws.com');
  if (c.associations === 'created') parts.push('the Pod Identity associations are created');
  if (c.associations === 'deleted') parts.push('the Pod Identity associations are deleted');
  if (c.irsaTrust === 'removed') parts.push('the OIDC (IRSA) statements of the wave\'s service accounts leave the roles\' trust');
  if (c.irsaTrust === 'added') parts.push('the OIDC (IRSA) statements come back into the roles\' trust');
  return parts.length === 0 ? 'nothing in AWS (the phase record)' : parts.join('; ');
}

const PREFLIGHT_WORDS: { [check in PreflightCheck]?: string } = {
  'agent': 'the agent',
  'node-roles': 'node roles',
  'pod-eni': 'Security Groups for Pods',
  'proxies': 'proxies',
  'annotations': 'the annotations are there',
  'no-irsa-pods': 'no pod created before its association or with `AWS_WEB_IDENTITY_TOKEN_FILE` (F5)',
  'associations': 'no association left',
};

/** What apply.sh (or rollback.sh) does around the deploy, in order, in words (the runbook's columns). */
export function describeAround(plan: StepPlan): string {
  const parts: string[] = [];
  const checks = plan.preflight.map((c) => PREFLIGHT_WORDS[c]).filter((w): w is string => w !== undefined);
  parts.push(checks.length > 0 ? `preflight (${checks.join(', ')})` : 'preflight');
  if (plan.annotateBeforeDeploy) parts.push('puts the annotations back (`kubectl annotate --overwrite`) before the deploy');
  parts.push('deploys');
  if (plan.waitForAssociations) parts.push(`polls until each association is ${plan.waitForAssociations}`);
  if (plan.injectionProbe) parts.push(`proves with a server-side dry run that new pods get ${plan.injectionProbe === 'pod-identity' ? 'Pod Identity' : 'IRSA'}`);
  if (plan.restart) parts.push('restarts every workload (rollout status, OnDelete pods one by one, CronJobs on request)');
  if (plan.removeAnnotationAfter) parts.push('removes `eks.amazonaws.com/role-arn` from every ServiceAccount (Helm-managed ones: also change the release values)');
  parts.push(`verifies ${plan.verify}`);
  return parts.join('; ');
}
