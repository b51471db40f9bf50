"""Stand-ins for kubectl, aws and cdk that the generated runbook scripts run against in tests.

The world (clusters with their Kubernetes objects, associations, role trusts, node groups) is a
JSON file, $STUB_WORLD, built by the test from recorded `kubectl ... -o json` and `aws ...` output.
Commands read it and change it as the real ones would (a rollout restart replaces pods, whose
variables the Pod Identity webhook sets from the associations and annotations of that moment).
Every call is appended to $STUB_WORLD.calls.jsonl; a call this stand-in does not know exits 99.
"""
import copy
import datetime
import json
import os
import sys

WORLD = os.environ['STUB_WORLD']
POD_VARS = [
    {'name': 'AWS_STS_REGIONAL_ENDPOINTS', 'value': 'regional'},
    {'name': 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'value': 'http://169.254.170.23/v1/credentials'},
    {'name': 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'value': '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token'},
]


def irsa_vars(role):
    return [
        {'name': 'AWS_STS_REGIONAL_ENDPOINTS', 'value': 'regional'},
        {'name': 'AWS_ROLE_ARN', 'value': role},
        {'name': 'AWS_WEB_IDENTITY_TOKEN_FILE', 'value': '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'},
    ]


def load():
    with open(WORLD) as f:
        return json.load(f)


def save(world):
    with open(WORLD, 'w') as f:
        json.dump(world, f, indent=1)


def log(entry):
    with open(WORLD + '.calls.jsonl', 'a') as f:
        f.write(json.dumps(entry) + '\n')


def now(world):
    world['clock'] = world.get('clock', 0) + 1
    t = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=world['clock'])
    return t.strftime('%Y-%m-%dT%H:%M:%SZ')


def fail(message, code=1):
    sys.stderr.write(message + '\n')
    sys.exit(code)


def unsupported(tool, argv):
    log({'tool': tool, 'argv': argv, 'unsupported': True})
    fail('stub %s: unsupported call: %s' % (tool, ' '.join(argv)), 99)


def out(value):
    sys.stdout.write(json.dumps(value, indent=2) + '\n')


# ------------------------------------------------------------------------------------------------
# Kubernetes

KINDS = {
    'pod': 'Pod', 'pods': 'Pod', 'serviceaccount': 'ServiceAccount', 'deployment': 'Deployment',
    'replicaset': 'ReplicaSet', 'statefulset': 'StatefulSet', 'daemonset': 'DaemonSet', 'cronjob': 'CronJob',
    'job': 'Job', 'configmaps': 'ConfigMap', 'secret': 'Secret',
}


def cluster_of(world, context):
    for name, c in world['clusters'].items():
        if c['context'] == context:
            return name, c
    fail('error: context "%s" does not exist' % context)


def objects(cluster, kind, ns):
    """The objects of a kind in namespace ns; in every namespace when ns is ALL (kubectl -A)."""
    return [o for o in cluster['objects'] if o['kind'] == kind and (ns is ALL or o['metadata'].get('namespace') == ns)]


ALL = object()


def find(cluster, kind, ns, name):
    for o in objects(cluster, kind, ns):
        if o['metadata']['name'] == name:
            return o
    return None


def association(world, cluster, ns, sa, visible_only=True):
    for a in world['aws']['associations']:
        if a['clusterName'] == cluster and a['namespace'] == ns and a['serviceAccount'] == sa:
            if visible_only and a.get('invisiblePolls', 0) > 0:
                return None
            return a
    return None


def inject(world, cluster_name, cluster, pod):
    """The Pod Identity webhook (F3): an association wins over the annotation; every container and init container."""
    spec = pod['spec']
    sa_name = spec.get('serviceAccountName', 'default')
    ns = pod['metadata']['namespace']
    env = []
    if not cluster.get('webhookBroken'):
        if association(world, cluster_name, ns, sa_name, visible_only=False):
            env = POD_VARS
        else:
            sa = find(cluster, 'ServiceAccount', ns, sa_name)
            role = ((sa or {}).get('metadata', {}).get('annotations') or {}).get('eks.amazonaws.com/role-arn')
            if role:
                env = irsa_vars(role)
    names = {e['name'] for e in env}
    for c in spec.get('containers', []) + spec.get('initContainers', []):
        c['env'] = [e for e in c.get('env', []) if e['name'] not in names and not e['name'].startswith('AWS_')] + copy.deepcopy(env)
    return pod


def new_pod(world, cluster_name, cluster, template, ns, name, owner):
    pod = {
        'apiVersion': 'v1', 'kind': 'Pod',
        'metadata': {'name': name, 'namespace': ns, 'creationTimestamp': now(world), 'ownerReferences': [owner]},
        'spec': copy.deepcopy(template['spec']),
        'status': {'phase': 'Running'},
    }
    return inject(world, cluster_name, cluster, pod)


def owned(cluster, ns, kind, name):
    return [p for p in objects(cluster, 'Pod', ns)
            if any(r['kind'] == kind and r['name'] == name for r in p['metadata'].get('ownerReferences', []))]


def template_of(obj, cluster=None):
    if obj['kind'] == 'ReplicaSet' and 'template' not in obj['spec']:
        ref = obj['metadata']['ownerReferences'][0]
        return template_of(find(cluster, ref['kind'], obj['metadata']['namespace'], ref['name']))
    if obj['kind'] == 'CronJob':
        return obj['spec']['jobTemplate']['spec']['template']
    return obj['spec']['template']


def replace_pod(world, cluster_name, cluster, pod):
    ns = pod['metadata']['namespace']
    cluster['objects'].remove(pod)
    refs = pod['metadata'].get('ownerReferences', [])
    if not refs:
        return
    owner = find(cluster, refs[0]['kind'], ns, refs[0]['name'])
    if owner is None:
        return
    world['serial'] = world.get('serial', 0) + 1
    cluster['objects'].append(new_pod(world, cluster_name, cluster, template_of(owner, cluster), ns,
                                      '%s-r%d' % (refs[0]['name'], world['serial']), refs[0]))


def kubectl(argv):
    world = load()
    args = list(argv)
    context = ns = None
    output = None
    rest = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == '--context':
            context = args[i + 1]
            i += 2
        elif a == '-n':
            ns = args[i + 1]
            i += 2
        elif a == '-o':
            output = args[i + 1]
            i += 2
        elif a == '-A':
            ns = ALL
            i += 1
        elif a.startswith('--request-timeout='):
            i += 1
        else:
            rest.append(a)
            i += 1
    log({'tool': 'kubectl', 'argv': argv})
    name, cluster = cluster_of(world, context)
    verb = rest[0]
    if verb == 'get' and len(rest) == 2 and output == 'json':
        kind = KINDS[rest[1]]
        items = [o for o in objects(cluster, kind, ns)]
        out({'apiVersion': 'v1', 'kind': 'List', 'items': items, 'metadata': {'resourceVersion': ''}})
    elif verb == 'get' and len(rest) == 3 and output == 'json':
        kind = KINDS[rest[1]]
        obj = find(cluster, kind, ns, rest[2])
        if obj is None:
            fail('Error from server (NotFound): %ss "%s" not found' % (rest[1], rest[2]))
        out(obj)
    elif verb == 'run':
        pod_name = rest[1]
        flags = dict(a.split('=', 1) for a in rest[2:] if a.startswith('--') and '=' in a)
        overrides = json.loads(flags['--overrides'])
        pod = {
            'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': pod_name, 'namespace': ns, 'creationTimestamp': now(world)},
            'spec': {'serviceAccountName': overrides['spec']['serviceAccountName'], 'restartPolicy': 'Never',
                     'containers': [{'name': pod_name, 'image': flags['--image']}]},
        }
        inject(world, name, cluster, pod)
        if flags.get('--dry-run') == 'server':
            out(pod)
        elif '--rm' in rest:
            env = {e['name']: e['value'] for e in pod['spec']['containers'][0]['env']}
            sa = overrides['spec']['serviceAccountName']
            if 'AWS_CONTAINER_CREDENTIALS_FULL_URI' in env:
                a = association(world, name, ns, sa)
                role = a.get('targetRoleArn') or a['roleArn']
            elif 'AWS_ROLE_ARN' in env:
                role = env['AWS_ROLE_ARN']
            else:
                fail('Unable to locate credentials. You can configure credentials by running "aws configure".', 253)
            part, acct, role_name = role.split(':')[1], role.split(':')[4], role.split('/')[-1]
            sys.stdout.write('arn:%s:sts::%s:assumed-role/%s/botocore-session-1\n' % (part, acct, role_name))
        else:
            unsupported('kubectl', argv)
    elif verb == 'rollout' and rest[1] == 'restart':
        kind, obj_name = rest[2].split('/')
        obj = find(cluster, KINDS[kind], ns, obj_name)
        if obj is None:
            fail('Error from server (NotFound): %ss "%s" not found' % (kind, obj_name))
        obj['spec']['template'].setdefault('metadata', {}).setdefault('annotations', {})['kubectl.kubernetes.io/restartedAt'] = now(world)
        strategy = (obj['spec'].get('updateStrategy') or {}).get('type', 'RollingUpdate')
        if strategy != 'OnDelete' and not obj.get('stuck'):
            if obj['kind'] == 'Deployment':
                pods = [p for rs in objects(cluster, 'ReplicaSet', ns)
                        if any(r['name'] == obj_name for r in rs['metadata'].get('ownerReferences', []))
                        for p in owned(cluster, ns, 'ReplicaSet', rs['metadata']['name'])]
            else:
                pods = owned(cluster, ns, obj['kind'], obj_name)
            for p in pods:
                replace_pod(world, name, cluster, p)
        sys.stdout.write('%s.apps/%s restarted\n' % (kind, obj_name))
    elif verb == 'rollout' and rest[1] == 'status':
        kind, obj_name = rest[2].split('/')
        obj = find(cluster, KINDS[kind], ns, obj_name)
        if obj.get('stuck'):
            save(world)
            fail('error: timed out waiting for the condition')
        sys.stdout.write('%s "%s" successfully rolled out\n' % (kind, obj_name))
    elif verb == 'delete' and rest[1] == 'pod':
        pod = find(cluster, 'Pod', ns, rest[2])
        if pod is None:
            fail('Error from server (NotFound): pods "%s" not found' % rest[2])
        replace_pod(world, name, cluster, pod)
        owner = (pod['metadata'].get('ownerReferences') or [{}])[0]
        ds = find(cluster, owner.get('kind', ''), ns, owner.get('name', ''))
        if ds is not None and ds['kind'] == 'DaemonSet':
            ds['status']['numberReady'] = ds['status']['desiredNumberScheduled']
            ds['status']['updatedNumberScheduled'] = ds['status']['desiredNumberScheduled']
        sys.stdout.write('pod "%s" deleted\n' % rest[2])
    elif verb == 'annotate':
        overwrite = '--overwrite' in rest
        positional = [a for a in rest[1:] if not a.startswith('--')]
        sa = find(cluster, 'ServiceAccount', ns, positional[1])
        if sa is None:
            fail('Error from server (NotFound): serviceaccounts "%s" not found' % positional[1])
        annotations = sa['metadata'].setdefault('annotations', {})
        change = positional[2]
        if change.endswith('-'):
            annotations.pop(change[:-1], None)
        else:
            key, value = change.split('=', 1)
            if key in annotations and not overwrite and annotations[key] != value:
                fail("error: --overwrite is false but found the following declared annotation(s): '%s' already has a value" % key)
            annotations[key] = value
        sys.stdout.write('serviceaccount/%s annotated\n' % positional[1])
    elif verb == 'create' and rest[1] == 'job':
        job_name = rest[2]
        cron = find(cluster, 'CronJob', ns, [a for a in rest if a.startswith('--from=cronjob/')][0].split('/', 1)[1])
        ref = {'kind': 'Job', 'name': job_name, 'controller': True}
        cluster['objects'].append({'kind': 'Job', 'apiVersion': 'batch/v1', 'metadata': {'name': job_name, 'namespace': ns}})
        pod = new_pod(world, name, cluster, template_of(cron), ns, job_name + '-x', ref)
        pod['status']['phase'] = 'Succeeded'
        cluster['objects'].append(pod)
        sys.stdout.write('job.batch/%s created\n' % job_name)
    elif verb == 'wait':
        sys.stdout.write('%s condition met\n' % rest[-1])
    else:
        unsupported('kubectl', argv)
    save(world)


# ------------------------------------------------------------------------------------------------
# AWS

def query(value, expression):
    for part in expression.split('.'):
        if '[' in part:
            key, index = part[:-1].split('[')
            value = value[key][int(index)]
        else:
            value = value[part]
    return value


def aws(argv):
    world = load()
    log({'tool': 'aws', 'argv': argv})
    opts = {}
    positional = []
    i = 0
    while i < len(argv):
        if argv[i].startswith('--'):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            positional.append(argv[i])
            i += 1
    service, op = positional
    w = world['aws']
    if (service, op) == ('sts', 'get-caller-identity'):
        result = {'UserId': 'AIDAEXAMPLE', 'Account': w['account'], 'Arn': 'arn:aws:iam::%s:user/operator' % w['account']}
    elif (service, op) == ('eks', 'list-pod-identity-associations'):
        found = []
        for a in w['associations']:
            if (a['clusterName'], a['namespace'], a['serviceAccount']) == (opts['--cluster-name'], opts['--namespace'], opts['--service-account']):
                if a.get('invisiblePolls', 0) > 0:
                    a['invisiblePolls'] -= 1
                else:
                    found.append({k: a[k] for k in ('clusterName', 'namespace', 'serviceAccount', 'associationArn', 'associationId')})
        result = {'associations': found}
    elif (service, op) == ('eks', 'describe-pod-identity-association'):
        a = [x for x in w['associations'] if x['associationId'] == opts['--association-id']][0]
        result = {'association': {k: v for k, v in a.items() if k != 'invisiblePolls'}}
    elif (service, op) == ('iam', 'get-role'):
        if opts['--role-name'] not in w['roles']:
            fail('An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name %s cannot be found.' % opts['--role-name'], 254)
        result = {'Role': {'RoleName': opts['--role-name'], 'AssumeRolePolicyDocument': w['roles'][opts['--role-name']]}}
    elif (service, op) == ('iam', 'get-open-id-connect-provider'):
        provider = w.get('oidcProviders', {}).get(opts['--open-id-connect-provider-arn'])
        if provider is None:
            fail('An error occurred (NoSuchEntity) when calling the GetOpenIDConnectProvider operation: OpenIDConnect Provider not found for arn %s' % opts['--open-id-connect-provider-arn'], 254)
        result = provider
    elif (service, op) == ('iam', 'list-roles'):
        result = {'Roles': [{'RoleName': n, 'Arn': 'arn:aws:iam::%s:role/%s' % (w['account'], n), 'AssumeRolePolicyDocument': t}
                            for n, t in sorted(w['roles'].items())]}
    elif (service, op) == ('eks', 'list-addons'):
        result = {'addons': [a['addonName'] for a in w.get('addons', {}).get(opts['--cluster-name'], [])]}
    elif (service, op) == ('eks', 'describe-addon'):
        a = [a for a in w['addons'][opts['--cluster-name']] if a['addonName'] == opts['--addon-name']][0]
        result = {'addon': a}
    elif (service, op) == ('cloudformation', 'describe-stack-resource'):
        r = w.get('stackResources', {}).get('%s/%s' % (opts['--stack-name'], opts['--logical-resource-id']))
        if r is None:
            fail('An error occurred (ValidationError) when calling the DescribeStackResource operation: Resource %s does not exist for stack %s' % (opts['--logical-resource-id'], opts['--stack-name']), 254)
        result = {'StackResourceDetail': r}
    elif (service, op) == ('eks', 'list-nodegroups'):
        result = {'nodegroups': [g['name'] for g in w['nodegroups'].get(opts['--cluster-name'], [])]}
    elif (service, op) == ('eks', 'describe-nodegroup'):
        g = [g for g in w['nodegroups'][opts['--cluster-name']] if g['name'] == opts['--nodegroup-name']][0]
        result = {'nodegroup': {'nodegroupName': g['name'], 'nodeRole': g['nodeRole']}}
    elif (service, op) == ('iam', 'simulate-principal-policy'):
        decision = w.get('simulate', {}).get(opts['--policy-source-arn'], 'allowed')
        result = {'EvaluationResults': [{'EvalActionName': opts['--action-names'], 'EvalDecision': decision}]}
    elif (service, op) == ('cloudtrail', 'lookup-events'):
        events = [e for e in w.get('cloudtrail', []) if e['region'] == opts['--region']]
        result = {'Events': [{'EventName': 'AssumeRoleForPodIdentity', 'CloudTrailEvent': json.dumps(e['event'])} for e in events]}
    else:
        unsupported('aws', argv)
    if '--query' in opts:
        result = query(result, opts['--query'])
    save(world)
    out(result)


def cdk(argv):
    world = load()
    log({'tool': 'cdk', 'argv': argv})
    if argv[0] != 'deploy' or argv[1] != '--app':
        unsupported('cdk', argv)
    if world.get('deployFails'):
        fail('Deployment failed: Error: The stack named X failed to deploy: UPDATE_ROLLBACK_COMPLETE')
    effect = world.pop('onDeploy', {})
    if 'associations' in effect:
        world['aws']['associations'] = effect['associations']
    world['aws']['roles'].update(effect.get('roles', {}))
    if 'addons' in effect:
        world['aws']['addons'] = effect['addons']
    # what the deployed stacks make run in the clusters (e.g. the agent add-on's DaemonSet)
    for cluster, obj in effect.get('objects', []):
        objs = world['clusters'][cluster]['objects']
        objs[:] = [o for o in objs if not (o['kind'] == obj['kind'] and o['metadata']['name'] == obj['metadata']['name']
                                            and o['metadata'].get('namespace') == obj['metadata'].get('namespace'))]
        objs.append(obj)
    # what EKS does to the ServiceAccount of an add-on whose serviceAccountRoleArn the deploy removed
    for cluster, ns, sa in effect.get('removeAnnotations', []):
        obj = find(world['clusters'][cluster], 'ServiceAccount', ns, sa)
        obj['metadata'].get('annotations', {}).pop('eks.amazonaws.com/role-arn', None)
    save(world)
    sys.stdout.write('deployed %s\n' % argv[3])


def reinject(_argv):
    """Sets the variables of every running pod as the webhook would now (to build a world at a phase)."""
    world = load()
    for name, cluster in world['clusters'].items():
        for pod in objects_all(cluster, 'Pod'):
            if pod['status'].get('phase') == 'Running' and not pod.get('keepEnv'):
                inject(world, name, cluster, pod)
    save(world)


def objects_all(cluster, kind):
    return [o for o in cluster['objects'] if o['kind'] == kind]


if __name__ == '__main__':
    {'kubectl': kubectl, 'aws': aws, 'cdk': cdk, 'reinject': reinject}[sys.argv[1]](sys.argv[2:])
