"""Stand-ins for kubectl and aws that `collect` runs against in tests.

kubectl: `config ...` goes to the real kubectl (the test's kubeconfig); `get` serves the recorded
output of the cluster the context names: serviceaccounts and add-ons from the Northwind fleet
folder ($STANDIN_FLEET), describe-cluster, node groups, nodes and workloads (with the pods and jobs
their controllers made) from $STANDIN_FIXTURES/<cluster>/.
aws: `iam` and `sts` go to the real AWS CLI (the test points it at a moto server); `eks` serves the
recorded output, for the account the profile's credentials reach ($STANDIN_PROFILES: profile ->
account), as EKS would: another account has no such cluster.
Faults: $STANDIN_FORBID "<cluster>:<resource>" answers kubectl as RBAC would; $STANDIN_DENY
"<operation>,..." (eks or iam, e.g. describe-addon) answers aws as IAM would.
Every call is appended to $STANDIN_CALLS (JSON lines); a call this stand-in does not know exits 99.
"""
import json
import os
import sys

FIXTURES = os.environ['STANDIN_FIXTURES']
FLEET = os.environ['STANDIN_FLEET']
PLURAL = {'deployments': 'Deployment', 'statefulsets': 'StatefulSet', 'daemonsets': 'DaemonSet',
          'cronjobs': 'CronJob', 'jobs': 'Job', 'pods': 'Pod'}


def log(tool, argv):
    with open(os.environ['STANDIN_CALLS'], 'a') as f:
        f.write(json.dumps({'tool': tool, 'argv': argv}) + '\n')


def read(path):
    with open(path) as f:
        return json.load(f)


def out(value):
    sys.stdout.write(json.dumps(value, indent=4) + '\n')
    sys.exit(0)


def unsupported(tool, argv):
    sys.stderr.write('stand-in %s: unsupported call: %s\n' % (tool, ' '.join(argv)))
    sys.exit(99)


def option(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


def kubectl(argv):
    if argv[:1] == ['config']:
        os.execv(os.environ['REAL_KUBECTL'], ['kubectl'] + argv)
    context = option(argv, '--context')
    rest = [a for i, a in enumerate(argv) if a != '--context' and (i == 0 or argv[i - 1] != '--context')]
    if context is None or rest[:1] != ['get'] or '-o' not in rest or option(rest, '-o') != 'json':
        unsupported('kubectl', argv)
    # the context names the cluster by ARN, as aws eks update-kubeconfig writes it
    cluster = context.split('/')[-1]
    if not os.path.isdir(os.path.join(FIXTURES, cluster)):
        unsupported('kubectl', argv)
    what = rest[1]
    forbid = os.environ.get('STANDIN_FORBID', '')
    if forbid.startswith(cluster + ':') and forbid.split(':', 1)[1] in what.split(','):
        resource = forbid.split(':', 1)[1]
        sys.stderr.write('Error from server (Forbidden): %s is forbidden: User "arn:aws:sts::111122223333:assumed-role/'
                         'platform-readonly/operator" cannot list resource "%s" in API group "" at the cluster scope\n'
                         % (resource, resource))
        sys.exit(1)
    if what == 'serviceaccounts' and '--all-namespaces' in rest:
        out(read(os.path.join(FLEET, 'serviceaccounts', cluster + '.json')))
    if what == 'nodes':
        out(read(os.path.join(FIXTURES, cluster, 'nodes.json')))
    kinds = what.split(',')
    if all(k in PLURAL for k in kinds) and '--all-namespaces' in rest:
        recorded = read(os.path.join(FIXTURES, cluster, 'workloads.json'))
        recorded['items'] = [i for i in recorded['items'] if i['kind'] in {PLURAL[k] for k in kinds}]
        out(recorded)
    unsupported('kubectl', argv)


def aws(argv):
    if argv[:1] in (['iam'], ['sts']):
        if argv[1] in os.environ.get('STANDIN_DENY', '').split(','):
            operation = ''.join(p.capitalize() for p in argv[1].split('-'))
            sys.stderr.write('\nAn error occurred (AccessDenied) when calling the %s operation: User: arn:aws:sts::111122223333:'
                             'assumed-role/platform-readonly/operator is not authorized to perform: iam:%s\n' % (operation, operation))
            sys.exit(255)
        os.execv(os.environ['REAL_AWS'], ['aws'] + argv)
    if argv[:1] != ['eks'] or option(argv, '--output') != 'json':
        unsupported('aws', argv)
    profile = option(argv, '--profile') or os.environ.get('AWS_PROFILE')
    account = json.loads(os.environ.get('STANDIN_PROFILES', '{}')).get(profile or 'default')
    region = option(argv, '--region')
    op = argv[1]
    operation = ''.join(p.capitalize() for p in op.split('-'))
    if account is None:
        sys.stderr.write('\nThe config profile (%s) could not be found\n' % profile)
        sys.exit(255)
    if op in os.environ.get('STANDIN_DENY', '').split(','):
        sys.stderr.write('\nAn error occurred (AccessDeniedException) when calling the %s operation: User: '
                         'arn:aws:sts::%s:assumed-role/platform-readonly/operator is not authorized to perform: '
                         'eks:%s on resource: arn:aws:eks:%s:%s:cluster/%s\n'
                         % (operation, account, operation, region, account, option(argv, '--cluster-name') or option(argv, '--name')))
        sys.exit(255)

    def cluster_dir(name):
        d = os.path.join(FIXTURES, name or '')
        if name and os.path.isdir(d):
            recorded = read(os.path.join(d, 'describe-cluster.json'))['cluster']['arn'].split(':')
            if recorded[3] == region and recorded[4] == account:
                return d
        sys.stderr.write('\nAn error occurred (ResourceNotFoundException) when calling the %s operation: '
                         'No cluster found for name: %s.\n' % (operation, name))
        sys.exit(255)

    if op == 'describe-cluster':
        out(read(os.path.join(cluster_dir(option(argv, '--name')), 'describe-cluster.json')))
    if op in ('list-nodegroups', 'list-addons'):
        out(read(os.path.join(cluster_dir(option(argv, '--cluster-name')), op + '.json')))
    if op == 'describe-addon':
        name = option(argv, '--cluster-name')
        cluster_dir(name)
        out(read(os.path.join(FLEET, 'addons', name, option(argv, '--addon-name') + '.json')))
    if op == 'describe-addon-configuration':
        path = os.path.join(FLEET, 'addon-configurations', '%s-%s.json' % (option(argv, '--addon-name'), option(argv, '--addon-version')))
        if os.path.exists(path):
            out(read(path))
    unsupported('aws', argv)


tool = sys.argv[1]
log(tool, sys.argv[2:])
(kubectl if tool == 'kubectl' else aws)(sys.argv[2:])
