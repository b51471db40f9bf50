/**
 * What the engine's restarts decide from the API's objects, as pure functions: where a rollout
 * stands (kubectl rollout status's viewers, message for message), the pods ready and updated, the
 * Job `kubectl create job --from=cronjob` makes, a Job's end, the injection probe's pod.
 */
import { jobFromCronJob, jobState, probePod, readyCounts, rolloutStatus } from '../../src/operator/apply-checks';

const deployment = (status: any, extra: any = {}) => ({ metadata: { name: 'web', generation: 3 }, spec: { replicas: 3 }, status: { observedGeneration: 3, ...status }, ...extra });

test('a Deployment: every message of kubectl rollout status, in its order of checks', () => {
  expect(rolloutStatus('deployment', deployment({ observedGeneration: 2 }))).toEqual({ done: false, message: 'Waiting for deployment spec update to be observed...' });
  expect(rolloutStatus('deployment', deployment({ conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded' }] })))
    .toEqual({ done: false, error: true, message: 'error: deployment "web" exceeded its progress deadline' });
  expect(rolloutStatus('deployment', deployment({ updatedReplicas: 1, replicas: 3 })).message)
    .toBe('Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...');
  expect(rolloutStatus('deployment', deployment({ updatedReplicas: 3, replicas: 4 })).message)
    .toBe('Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...');
  expect(rolloutStatus('deployment', deployment({ updatedReplicas: 3, replicas: 3, availableReplicas: 2 })).message)
    .toBe('Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...');
  expect(rolloutStatus('deployment', deployment({ updatedReplicas: 3, replicas: 3, availableReplicas: 3 })))
    .toEqual({ done: true, message: 'deployment "web" successfully rolled out' });
  // no replicas field: one replica, as the API server defaults it
  expect(rolloutStatus('deployment', { metadata: { name: 'one', generation: 1 }, spec: {}, status: { observedGeneration: 1 } }).message)
    .toBe('Waiting for deployment "one" rollout to finish: 0 out of 1 new replicas have been updated...');
});

test('a DaemonSet and a StatefulSet (rolling, partitioned)', () => {
  const ds = (status: any) => ({ metadata: { name: 'agent', generation: 2 }, status: { observedGeneration: 2, desiredNumberScheduled: 4, ...status } });
  expect(rolloutStatus('daemonset', ds({ observedGeneration: 1 })).message).toBe('Waiting for daemon set spec update to be observed...');
  expect(rolloutStatus('daemonset', ds({ updatedNumberScheduled: 3 })).message).toBe('Waiting for daemon set "agent" rollout to finish: 3 out of 4 new pods have been updated...');
  expect(rolloutStatus('daemonset', ds({ updatedNumberScheduled: 4, numberAvailable: 2 })).message)
    .toBe('Waiting for daemon set "agent" rollout to finish: 2 of 4 updated pods are available...');
  expect(rolloutStatus('daemonset', ds({ updatedNumberScheduled: 4, numberAvailable: 4 }))).toEqual({ done: true, message: 'daemon set "agent" successfully rolled out' });
  const sts = (status: any, spec: any = {}) => ({ metadata: { name: 'db', generation: 5 }, spec: { replicas: 3, ...spec }, status: { observedGeneration: 5, ...status } });
  expect(rolloutStatus('statefulset', sts({ observedGeneration: 0 })).message).toBe('Waiting for statefulset spec update to be observed...');
  expect(rolloutStatus('statefulset', sts({ readyReplicas: 1 })).message).toBe('Waiting for 2 pods to be ready...');
  expect(rolloutStatus('statefulset', sts({ readyReplicas: 3, updatedReplicas: 1, updateRevision: 'db-2', currentRevision: 'db-1' })).message)
    .toBe('waiting for statefulset rolling update to complete 1 pods at revision db-2...');
  expect(rolloutStatus('statefulset', sts({ readyReplicas: 3, currentReplicas: 3, updateRevision: 'db-2', currentRevision: 'db-2' })))
    .toEqual({ done: true, message: 'statefulset rolling update complete 3 pods at revision db-2...' });
  const partitioned = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } };
  expect(rolloutStatus('statefulset', sts({ readyReplicas: 3, updatedReplicas: 1 }, partitioned)).message)
    .toBe('Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...');
  expect(rolloutStatus('statefulset', sts({ readyReplicas: 3, updatedReplicas: 2 }, partitioned)))
    .toEqual({ done: true, message: 'partitioned roll out complete: 2 new pods have been updated...' });
  expect(rolloutStatus('rollout', {})).toEqual({ done: false, error: true, message: 'error: no rollout status for kind rollout' });
});

test('pods wanted, ready and updated: a DaemonSet by its scheduled counts, the others by replicas (by the kind asked for: a list\'s items have none)', () => {
  expect(readyCounts('daemonset', { status: { desiredNumberScheduled: 4, numberReady: 3, updatedNumberScheduled: 2 } })).toEqual({ want: 4, ready: 3, updated: 2 });
  expect(readyCounts('statefulset', { spec: { replicas: 2 }, status: { readyReplicas: 2, updatedReplicas: 1 } })).toEqual({ want: 2, ready: 2, updated: 1 });
  expect(readyCounts('replicaset', { spec: {}, status: {} })).toEqual({ want: 1, ready: 0, updated: 0 });
});

test('the Job of kubectl create job --from=cronjob: the template, annotated as manual, owned by the CronJob', () => {
  const cronJob = {
    metadata: { name: 'report', namespace: 'batch', uid: 'u-1' },
    spec: { jobTemplate: { metadata: { labels: { app: 'report' }, annotations: { team: 'data' } }, spec: { template: { spec: { serviceAccountName: 'report' } } } } },
  };
  expect(jobFromCronJob(cronJob, 'report-pod-identity-1')).toEqual({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'report-pod-identity-1',
      namespace: 'batch',
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual', 'team': 'data' },
      labels: { app: 'report' },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'report', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
    },
    spec: { template: { spec: { serviceAccountName: 'report' } } },
  });
});

test('a Job ends complete or failed (its condition\'s reason and message), else runs', () => {
  expect(jobState({ status: { conditions: [{ type: 'Complete', status: 'True' }] } })).toEqual({ state: 'complete' });
  expect(jobState({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] } }))
    .toEqual({ state: 'failed', why: 'BackoffLimitExceeded: Job has reached the specified backoff limit' });
  expect(jobState({ status: { conditions: [{ type: 'Complete', status: 'False' }] } })).toEqual({ state: 'running' });
  expect(jobState(undefined)).toEqual({ state: 'running' });
});

test('the probe pod: what kubectl run pod-identity-dry-run --restart=Never makes, under the service account', () => {
  expect(probePod('payments', 'checkout', 'aws-cli:2')).toEqual({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pod-identity-dry-run', namespace: 'payments', labels: { run: 'pod-identity-dry-run' } },
    spec: { serviceAccountName: 'checkout', restartPolicy: 'Never', containers: [{ name: 'pod-identity-dry-run', image: 'aws-cli:2', resources: {} }] },
  });
});
