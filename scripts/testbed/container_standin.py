"""STAND-IN for a container that runs `aws sts get-caller-identity` (verify.sh --sts): containers never
execute under kwok. Called by container-standin/kubectl for `kubectl run <pod> ... -- sts
get-caller-identity ...`, it does what that command does around the container, for real, and what
the container would do, from what the real parts made:

1. the real kubectl creates the pod with the same arguments (less -i, --rm, --quiet,
   --pod-running-timeout): the real API server admits it, the real webhook mutates it;
2. the container's credentials are those the webhook gave it, resolved as the AWS SDK's chain does:
   - AWS_CONTAINER_CREDENTIALS_FULL_URI (Pod Identity): the agent calls eks-auth
     AssumeRoleForPodIdentity for the pod's service account. The association comes from the EKS
     stand-in; the role must exist in moto and trust pods.eks.amazonaws.com with sts:AssumeRole and
     sts:TagSession. With a target role (cross-account), EKS then assumes the target with the
     association role's session: the target must exist in moto and trust that role (an AWS
     principal naming its ARN) with sts:AssumeRole and sts:TagSession. The call is recorded as a CloudTrail event of the cluster's account and region
     (<bed>/cloudtrail.jsonl, which the bed's cloudtrail lookup-events answers from);
   - AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (IRSA): sts AssumeRoleWithWebIdentity. The role
     must trust the cluster's OIDC provider, with a `<issuer>:sub` condition (StringEquals or
     StringLike) that matches system:serviceaccount:<namespace>:<name>;
   - neither: the node's role from the instance metadata;
3. it prints the assumed-role ARN as `--query Arn --output text` would (or the error, exit 1), and
   deletes the pod (as --rm does).
"""
import fnmatch
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid

import boto3
from botocore.exceptions import ClientError

argv = sys.argv[1:]
BED = json.load(open(os.path.join(os.environ['TESTBED_DIR'], 'bed.json')))
REAL = os.path.join(BED['bin'], 'kubectl')
DROP = ('-i', '--rm', '--quiet', '--stdin', '--attach')


def option(name):
    for i, a in enumerate(argv):
        if a == name:
            return argv[i + 1]
        if a.startswith(name + '='):
            return a.split('=', 1)[1]
    return None


def fail(message):
    sys.stdout.write('\n%s\n' % message)
    sys.exit(1)


def iam(account):
    session = boto3.Session(profile_name=BED['profiles'][account])
    return session.client('iam', region_name='us-east-1')


def trust_of(role_arn):
    account, name = role_arn.split(':')[4], role_arn.split('/')[-1]
    if account not in BED['profiles']:
        return None
    try:
        return iam(account).get_role(RoleName=name)['Role']['AssumeRolePolicyDocument']
    except ClientError as e:  # a role that does not exist trusts no one; anything else is a defect of the bed
        if e.response['Error']['Code'] != 'NoSuchEntity':
            raise
        return None


def statements(doc):
    st = doc.get('Statement', [])
    return st if isinstance(st, list) else [st]


def names_role(st, role_arn):
    """Whether a statement's AWS principal names the role: its ARN, or its account (root ARN or id)."""
    account = role_arn.split(':')[4]
    return any(p in (role_arn, 'arn:aws:iam::%s:root' % account, account) for p in listed(st.get('Principal', {}).get('AWS', [])))


def conditions_hold(condition, values):
    """The condition operators a chain's trust uses (StringEquals, StringLike, ArnEquals, ArnLike), on the
    session's keys; any other operator or key does not hold (fails closed)."""
    for op, keys in condition.items():
        for k, wanted in keys.items():
            have = values.get(k)
            if have is None or op not in ('StringEquals', 'StringLike', 'ArnEquals', 'ArnLike'):
                return False
            like = op in ('StringLike', 'ArnLike')
            if not any(fnmatch.fnmatchcase(have, w) if like else have == w for w in listed(wanted)):
                return False
    return True


def listed(v):
    return v if isinstance(v, list) else [v]


context, namespace = option('--context'), option('-n') or option('--namespace') or 'default'
cluster = next(c for c in BED['clusters'] if c['arn'] == context or 'readonly@' + c['arn'] == context)
run = [a for a in argv if a not in DROP and not a.startswith('--pod-running-timeout')]
made = subprocess.run([REAL] + run, capture_output=True, text=True)
if made.returncode != 0:
    sys.stderr.write(made.stderr)
    sys.exit(made.returncode)
pod_name = run[run.index('run') + 1]
try:
    pod = json.loads(subprocess.run([REAL, '--context', context, '-n', namespace, 'get', 'pod', pod_name, '-o', 'json'],
                                    capture_output=True, text=True, check=True).stdout)
    env = {e['name']: e.get('value') for e in pod['spec']['containers'][0].get('env', [])}
    sa = pod['spec'].get('serviceAccountName', 'default')
    if env.get('AWS_CONTAINER_CREDENTIALS_FULL_URI'):
        state = json.loads(urllib.request.urlopen(BED['eks'] + '/_bed/state').read())
        found = [a for a in state['associations'] if a['clusterName'] == cluster['name'] and a['account'] == cluster['account']
                 and a['namespace'] == namespace and a['serviceAccount'] == sa and a.get('deletedAt') is None]
        if not found:
            fail('Error when retrieving credentials from container-role: Error retrieving metadata: Received non 200 response (400) '
                 'from container metadata: {"errorCode":"InvalidParameterException","errorMessage":"no association"}')
        role = found[0].get('targetRoleArn') or found[0]['roleArn']
        trust = trust_of(found[0]['roleArn'])
        allowed = trust and any(st.get('Effect') == 'Allow' and 'pods.eks.amazonaws.com' in listed(st.get('Principal', {}).get('Service', []))
                                and {'sts:AssumeRole', 'sts:TagSession'} <= set(listed(st.get('Action', []))) for st in statements(trust))
        if not allowed:
            fail('Error when retrieving credentials from container-role: Error retrieving metadata: Received non 200 response (400) '
                 'from container metadata: {"errorCode":"AccessDeniedException","errorMessage":"Unauthorized Exception! EKS does not have '
                 'permissions to assume the associated role."}')
        target = found[0].get('targetRoleArn')
        if target:
            target_trust = trust_of(target)
            tags = {'aws:PrincipalArn': found[0]['roleArn'], 'aws:RequestTag/kubernetes-namespace': namespace,
                    'aws:RequestTag/kubernetes-service-account': sa, 'aws:RequestTag/eks-cluster-arn': cluster['arn'],
                    'aws:RequestTag/eks-cluster-name': cluster['name'], 'aws:RequestTag/kubernetes-pod-name': pod_name}
            chained = target_trust and any(st.get('Effect') == 'Allow' and names_role(st, found[0]['roleArn'])
                                           and {'sts:AssumeRole', 'sts:TagSession'} <= set(listed(st.get('Action', [])))
                                           and conditions_hold(st.get('Condition', {}), tags) for st in statements(target_trust))
            if not chained:
                fail('Error when retrieving credentials from container-role: Error retrieving metadata: Received non 200 response (400) '
                     'from container metadata: {"errorCode":"AccessDeniedException","errorMessage":"Unauthorized Exception! EKS does not have '
                     'permissions to assume the target role."}')
        with open(os.path.join(os.environ['TESTBED_DIR'], 'cloudtrail.jsonl'), 'a') as f:
            f.write(json.dumps({'account': cluster['account'], 'region': cluster['region'], 'time': time.time(), 'event': {
                'eventSource': 'eks-auth.amazonaws.com', 'eventName': 'AssumeRoleForPodIdentity', 'awsRegion': cluster['region'],
                'requestParameters': {'clusterName': cluster['name']}}}) + '\n')
        session = 'eks-%s-%s-%s' % (cluster['name'], pod_name, uuid.uuid4())
    elif env.get('AWS_ROLE_ARN') and env.get('AWS_WEB_IDENTITY_TOKEN_FILE'):
        role = env['AWS_ROLE_ARN']
        issuer = cluster['issuer'].replace('https://', '')
        provider = 'arn:aws:iam::%s:oidc-provider/%s' % (cluster['account'], issuer)
        subject = 'system:serviceaccount:%s:%s' % (namespace, sa)

        def matches(st):
            if st.get('Effect') != 'Allow' or provider not in listed(st.get('Principal', {}).get('Federated', [])):
                return False
            if 'sts:AssumeRoleWithWebIdentity' not in listed(st.get('Action', [])):
                return False
            cond = st.get('Condition', {})
            subs = [(op, v) for op in ('StringEquals', 'StringLike') for k, v in cond.get(op, {}).items() if k == issuer + ':sub']
            return bool(subs) and all(any(fnmatch.fnmatchcase(subject, p) if op == 'StringLike' else subject == p for p in listed(v))
                                      for op, v in subs)
        trust = trust_of(role)
        if not trust or not any(matches(st) for st in statements(trust)):
            fail('An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform '
                 'sts:AssumeRoleWithWebIdentity')
        session = 'botocore-session-%d' % int(time.time())
    else:
        role = 'arn:aws:iam::%s:role/eks-node-%s' % (cluster['account'], cluster['name'])
        session = 'i-0123456789abcdef0'  # the instance's id, as the metadata service names the session
    sys.stdout.write('arn:aws:sts::%s:assumed-role/%s/%s\n' % (role.split(':')[4], role.split('/')[-1], session))
finally:
    subprocess.run([REAL, '--context', context, '-n', namespace, 'delete', 'pod', pod_name, '--wait=true', '--timeout=60s'], capture_output=True)
