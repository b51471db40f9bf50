"""STAND-IN for the Amazon EKS API: the part of AWS the test bed has no real or emulated form of
(moto has no pod identity association or add-on API). It speaks EKS's real wire protocol (REST-JSON,
the paths and shapes of the service model), so the real AWS CLI talks to it through
AWS_ENDPOINT_URL_EKS, and it does what EKS's control plane does for a cluster of the bed:

- pod identity associations (create, describe, list with paging, update, delete). An association
  becomes visible (in list and describe, and in the cluster's webhook identities file) `delay`
  seconds after it is created or deleted, as EKS's eventual consistency allows; `never` names
  "cluster/namespace/serviceaccount" whose association never becomes visible;
- the webhook identities file of each cluster ({"identities": [{namespace, serviceAccount}]}), which
  the real EKS pod identity webhook watches (--watch-container-credentials-config);
- add-ons (create, describe, list, update, delete); the eks-pod-identity-agent add-on installs the
  agent DaemonSet into the cluster, an add-on's serviceAccountRoleArn annotates its ServiceAccount,
  and its podIdentityAssociations become associations, as EKS does; when that work in the cluster
  fails, the add-on is DEGRADED with the reason as a health issue;
- the cluster and node group reads `collect` and the runbook scripts make;
- sign-in to the clusters (what aws-iam-authenticator does on EKS): each API server sends the token
  `aws eks get-token` made (k8s-aws-v1.<presigned sts:GetCallerIdentity URL>) to
  /authenticate/<cluster> as a TokenReview; a principal of the cluster's account is answered with
  its role session as the user, and the operator role (platform-operator) with system:masters (as
  the cluster creator's access entry). The signature itself is not checked.

The caller's account is the one its access key was issued in (the bed writes that map); the region
is the one the request is signed for. Nothing else of EKS is served (a call to anything else is a
404 naming it, so a new call the scripts make cannot pass unnoticed).

usage: python eks_standin.py <config.json> <port>
config: {"clusters": [{name, account, region, endpoint, caData, issuer, version, kubeconfig, context,
         identitiesFile, nodegroups: [{name, nodeRole}], computeType}], "accessKeys": {akid: {account, role}},
         "kubectl": path, "state": path, "delay": seconds, "never": ["cluster/ns/sa"]}
A cluster with `recorded` (a folder of a real fleet's answers, as the AWS CLI printed them:
describe-cluster.json, list-nodegroups.json, list-addons.json, describe-addon-<name>.json) is answered
from it, with the bed's CA in place of the recorded one; `recordedAddonConfigurations` (a folder of
<addon>-<version>.json) answers DescribeAddonConfiguration for those versions.
control (not EKS): GET /_bed/state; POST /_bed/config with {"delay": s, "never": [...], "deny": [operation, ...]}
(an operation in `deny`, e.g. "DescribeAddon", is answered AccessDeniedException as IAM would).
"""
import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

CONFIG_FILE, PORT = sys.argv[1], int(sys.argv[2])
CONFIG = json.load(open(CONFIG_FILE))
LOCK = threading.RLock()
STATE = {'associations': [], 'addons': []}
if os.path.exists(CONFIG['state']):
    STATE = json.load(open(CONFIG['state']))

AGENT_ADDON = 'eks-pod-identity-agent'
# the add-ons the bed knows: their default version, and the ServiceAccount EKS manages for them (its
# serviceAccountRoleArn annotates it, its podIdentityAssociations bind it; DescribeAddonConfiguration
# names it with the recommended policies)
ADDONS = {
    AGENT_ADDON: {'version': 'v1.3.8-eksbuild.2'},
    'vpc-cni': {'version': 'v1.20.4-eksbuild.1', 'namespace': 'kube-system', 'serviceAccount': 'aws-node',
                'policies': ['arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy']},
    'aws-ebs-csi-driver': {'version': 'v1.48.0-eksbuild.1', 'namespace': 'kube-system', 'serviceAccount': 'ebs-csi-controller-sa',
                           'policies': ['arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy']},
}


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def save():
    tmp = CONFIG['state'] + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(STATE, f, indent=1)
    os.replace(tmp, CONFIG['state'])


def cluster_of(name, account, region):
    for c in CONFIG['clusters']:
        if c['name'] == name and c['account'] == account and c['region'] == region:
            return c
    raise ApiError(404, 'ResourceNotFoundException', 'No cluster found for name: %s.' % name)


def key_of(a):
    return '%s/%s/%s' % (a['clusterName'], a['namespace'], a['serviceAccount'])


def visible(a, now):
    """Whether EKS shows the association now: created and not deleted, each `delay` seconds ago."""
    if key_of(a) in CONFIG.get('never', []):
        return False
    delay = CONFIG.get('delay', 0)
    if now < a['createdAt'] + delay:
        return False
    return a.get('deletedAt') is None or now < a['deletedAt'] + delay


def write_identities():
    """What EKS's control plane keeps in step with the associations: the webhook's identities file."""
    now = time.time()
    with LOCK:
        for c in CONFIG['clusters']:
            ids = sorted({(a['namespace'], a['serviceAccount']) for a in STATE['associations']
                          if a['clusterName'] == c['name'] and a['account'] == c['account'] and visible(a, now)})
            text = json.dumps({'identities': [{'namespace': n, 'serviceAccount': s} for n, s in ids]}, indent=1)
            old = open(c['identitiesFile']).read() if os.path.exists(c['identitiesFile']) else None
            if text != old:
                tmp = c['identitiesFile'] + '.tmp'
                with open(tmp, 'w') as f:
                    f.write(text)
                os.replace(tmp, c['identitiesFile'])
        # forget deletions once they are visible
        STATE['associations'] = [a for a in STATE['associations'] if a.get('deletedAt') is None or visible(a, now)]


def kubectl(c, *args, stdin=None):
    r = subprocess.run([CONFIG['kubectl'], '--kubeconfig', c['kubeconfig'], '--context', c['context'], *args],
                       input=stdin, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.stderr.write('eks stand-in: kubectl %s: %s\n' % (' '.join(args), r.stderr))
    return r


def agent_daemonset():
    return json.dumps({
        'apiVersion': 'apps/v1', 'kind': 'DaemonSet',
        'metadata': {'name': AGENT_ADDON, 'namespace': 'kube-system',
                     'labels': {'app.kubernetes.io/name': AGENT_ADDON, 'app.kubernetes.io/managed-by': 'EKS'}},
        'spec': {'selector': {'matchLabels': {'app.kubernetes.io/name': AGENT_ADDON}},
                 'template': {'metadata': {'labels': {'app.kubernetes.io/name': AGENT_ADDON}},
                              'spec': {'hostNetwork': True, 'tolerations': [{'operator': 'Exists'}],
                                       'containers': [{'name': AGENT_ADDON, 'image': 'eks/eks-pod-identity-agent:bed',
                                                       'args': ['--port', '80', '--cluster-name', 'bed']}]}}}})


def public(a):
    return {k: v for k, v in a.items() if k not in ('account', 'deletedAt')}


def summary(a):
    return {k: a[k] for k in ('clusterName', 'namespace', 'serviceAccount', 'associationArn', 'associationId')
            if k in a} | ({'ownerArn': a['ownerArn']} if a.get('ownerArn') else {})


def create_association(c, body, owner=None):
    for k in ('namespace', 'serviceAccount', 'roleArn'):
        if not body.get(k):
            raise ApiError(400, 'InvalidParameterException', '%s is required.' % k)
    if not re.match(r'^arn:aws[a-z-]*:iam::\d{12}:role/.+', body['roleArn']):
        raise ApiError(400, 'InvalidParameterException', 'Invalid role ARN: %s' % body['roleArn'])
    with LOCK:
        for a in STATE['associations']:
            if (a['account'], a['clusterName'], a['namespace'], a['serviceAccount']) == \
                    (c['account'], c['name'], body['namespace'], body['serviceAccount']) and a.get('deletedAt') is None:
                raise ApiError(409, 'ResourceInUseException',
                               'Association already exists: %s for namespace %s and service account %s'
                               % (a['associationId'], body['namespace'], body['serviceAccount']))
        aid = 'a-' + uuid.uuid4().hex[:17]
        now = round(time.time(), 3)  # EKS's timestamps have milliseconds
        a = {'clusterName': c['name'], 'namespace': body['namespace'], 'serviceAccount': body['serviceAccount'],
             'roleArn': body['roleArn'], 'associationId': aid,
             'associationArn': 'arn:aws:eks:%s:%s:podidentityassociation/%s/%s' % (c['region'], c['account'], c['name'], aid),
             'tags': body.get('tags') or {}, 'createdAt': now, 'modifiedAt': now,
             'disableSessionTags': bool(body.get('disableSessionTags', False)), 'account': c['account']}
        if body.get('targetRoleArn'):
            a['targetRoleArn'] = body['targetRoleArn']
            a['externalId'] = str(uuid.uuid4())
        if body.get('policy'):
            a['policy'] = body['policy']
        if owner:
            a['ownerArn'] = owner
        STATE['associations'].append(a)
        save()
    return a


def find_association(c, aid, now):
    with LOCK:
        for a in STATE['associations']:
            if a['associationId'] == aid and a['clusterName'] == c['name'] and a['account'] == c['account'] and visible(a, now):
                return a
    raise ApiError(404, 'ResourceNotFoundException', 'Could not find pod identity association: %s' % aid)


def delete_association(a):
    with LOCK:
        a['deletedAt'] = time.time()
        save()


def addon_of(c, name):
    for x in STATE['addons']:
        if x['clusterName'] == c['name'] and x['account'] == c['account'] and x['addonName'] == name:
            return x
    raise ApiError(404, 'ResourceNotFoundException', 'No addon: %s found in cluster: %s' % (name, c['name']))


def apply_addon(c, x, old_role=None):
    """What EKS does in the cluster for an add-on: the agent DaemonSet, the role annotation. What
    fails makes the add-on DEGRADED with the reason as a health issue, as EKS reports it."""
    results = []
    if x['addonName'] == AGENT_ADDON:
        results.append(kubectl(c, 'apply', '-f', '-', stdin=agent_daemonset()))
    known = ADDONS.get(x['addonName'], {})
    if 'serviceAccount' in known and x.get('serviceAccountRoleArn') != old_role:
        ann = 'eks.amazonaws.com/role-arn'
        arg = '%s=%s' % (ann, x['serviceAccountRoleArn']) if x.get('serviceAccountRoleArn') else ann + '-'
        results.append(kubectl(c, '-n', known['namespace'], 'annotate', '--overwrite', 'serviceaccount', known['serviceAccount'], arg))
    issues = [{'code': 'ConfigurationConflict', 'message': r.stderr.strip(), 'resourceIds': []} for r in results if r.returncode != 0]
    with LOCK:
        x['status'], x['health'] = ('DEGRADED' if issues else 'ACTIVE'), {'issues': issues}
        save()


def addon_associations(c, x, wanted):
    arns = []
    for p in wanted or []:
        a = create_association(c, {'namespace': ADDONS.get(x['addonName'], {}).get('namespace', 'kube-system'),
                                   'serviceAccount': p['serviceAccount'], 'roleArn': p['roleArn']}, owner=x['addonArn'])
        arns.append(a['associationArn'])
    return arns


def page(items, qs, key):
    start = int(qs.get('nextToken', ['0'])[0] or 0)
    size = int(qs.get('maxResults', ['100'])[0])
    chunk = items[start:start + size]
    out = {key: chunk}
    if start + size < len(items):
        out['nextToken'] = str(start + size)
    return out


def read(path):
    with open(path) as f:
        return json.load(f)


def operation(method, p):
    """The EKS operation a request is (for `deny`), or None."""
    if p == ['addons', 'configuration-schemas']:
        return 'DescribeAddonConfiguration'
    if p[:1] != ['clusters'] or len(p) < 2:
        return None
    names = {(2, ''): 'DescribeCluster', (3, 'node-groups'): 'ListNodegroups', (4, 'node-groups'): 'DescribeNodegroup',
             (3, 'addons'): 'ListAddons', (4, 'addons'): 'DescribeAddon', (3, 'pod-identity-associations'): 'ListPodIdentityAssociations',
             (4, 'pod-identity-associations'): 'DescribePodIdentityAssociation'}
    return names.get((len(p), p[2] if len(p) > 2 else '')) if method == 'GET' else None


def route(method, path, qs, body, account, region):
    now = time.time()
    p = [unquote(x) for x in path.strip('/').split('/')]
    op = operation(method, p)
    if op and op in CONFIG.get('deny', []):
        target = 'arn:aws:eks:%s:%s:cluster/%s' % (region, account, p[1]) if len(p) > 1 and p[0] == 'clusters' else '*'
        raise ApiError(403, 'AccessDeniedException', 'User: arn:aws:sts::%s:assumed-role/platform-operator/operator is not authorized '
                       'to perform: eks:%s on resource: %s' % (account, op, target))
    if method == 'GET' and p == ['addons', 'configuration-schemas']:
        name, version = qs.get('addonName', [''])[0], qs.get('addonVersion', [''])[0]
        recorded = os.path.join(CONFIG.get('recordedAddonConfigurations') or '', '%s-%s.json' % (name, version))
        if CONFIG.get('recordedAddonConfigurations') and os.path.exists(recorded):
            return read(recorded)
        if name not in ADDONS or not version:
            raise ApiError(404, 'ResourceNotFoundException', 'No addon version found for addon: %s version: %s' % (name, version))
        out = {'addonName': name, 'addonVersion': version, 'configurationSchema': '{"$schema":"http://json-schema.org/draft-06/schema#","type":"object"}'}
        if 'serviceAccount' in ADDONS[name]:
            out['podIdentityConfiguration'] = [{'serviceAccount': ADDONS[name]['serviceAccount'], 'recommendedManagedPolicies': ADDONS[name]['policies']}]
        return out
    if method == 'GET' and p == ['clusters']:
        return page([c['name'] for c in CONFIG['clusters'] if c['account'] == account and c['region'] == region], qs, 'clusters')
    if p[:1] != ['clusters'] or len(p) < 2:
        raise ApiError(404, 'NotFoundException', 'eks stand-in: %s %s is not served' % (method, path))
    c = cluster_of(p[1], account, region)
    arn = 'arn:aws:eks:%s:%s:cluster/%s' % (region, account, c['name'])
    rec = c.get('recorded')
    if rec and method == 'GET' and len(p) == 2:
        doc = read(os.path.join(rec, 'describe-cluster.json'))
        doc['cluster']['certificateAuthority'] = {'data': c['caData']}  # the bed's CA signs its endpoint
        return doc
    if rec and method == 'GET' and p[2:] == ['node-groups']:
        return read(os.path.join(rec, 'list-nodegroups.json'))
    if rec and method == 'GET' and len(p) == 4 and p[2] == 'addons' and os.path.exists(os.path.join(rec, 'describe-addon-%s.json' % p[3])):
        return read(os.path.join(rec, 'describe-addon-%s.json' % p[3]))
    if method == 'GET' and len(p) == 2:
        return {'cluster': {
            'name': c['name'], 'arn': arn, 'version': c.get('version', '1.37'), 'endpoint': c['endpoint'],
            'status': 'ACTIVE', 'platformVersion': 'eks.1', 'createdAt': 1767225600.0,
            'roleArn': 'arn:aws:iam::%s:role/eks-cluster-%s' % (account, c['name']),
            'certificateAuthority': {'data': c['caData']},
            'identity': {'oidc': {'issuer': c['issuer']}},
            'accessConfig': {'authenticationMode': 'API_AND_CONFIG_MAP'},
            'computeConfig': {'enabled': c.get('computeType') == 'AUTO_MODE'},
            'tags': {}}}
    what = p[2] if len(p) > 2 else ''
    if what == 'node-groups':
        groups = c.get('nodegroups', [])
        if method == 'GET' and len(p) == 3:
            return page([g['name'] for g in groups], qs, 'nodegroups')
        if method == 'GET' and len(p) == 4:
            for g in groups:
                if g['name'] == p[3]:
                    return {'nodegroup': {'nodegroupName': g['name'], 'clusterName': c['name'], 'status': 'ACTIVE',
                                          'nodeRole': g['nodeRole'], 'nodegroupArn': '%s/%s' % (arn.replace(':cluster/', ':nodegroup/'), g['name'])}}
            raise ApiError(404, 'ResourceNotFoundException', 'No node group found for name: %s.' % p[3])
    if what == 'fargate-profiles' and method == 'GET' and len(p) == 3:
        return page([], qs, 'fargateProfileNames')
    if what == 'pod-identity-associations':
        if method == 'GET' and len(p) == 3:
            with LOCK:
                items = [summary(a) for a in STATE['associations'] if a['clusterName'] == c['name'] and a['account'] == account
                         and visible(a, now)
                         and a['namespace'] == qs.get('namespace', [a['namespace']])[0]
                         and a['serviceAccount'] == qs.get('serviceAccount', [a['serviceAccount']])[0]]
            return page(items, qs, 'associations')
        if method == 'POST' and len(p) == 3:
            return {'association': public(create_association(c, body))}
        if len(p) == 4:
            a = find_association(c, p[3], now)
            if method == 'GET':
                return {'association': public(a)}
            if a.get('deletedAt') is not None:  # deleted, and still shown for a while: nothing more to change
                raise ApiError(404, 'ResourceNotFoundException', 'Could not find pod identity association: %s' % p[3])
            if method == 'DELETE':
                if a.get('ownerArn'):
                    raise ApiError(400, 'InvalidRequestException', 'The association is owned by %s and cannot be deleted directly.' % a['ownerArn'])
                delete_association(a)
                return {'association': public(a)}
            if method == 'POST':
                with LOCK:
                    for k in ('roleArn', 'disableSessionTags', 'targetRoleArn', 'policy'):
                        if k in body:
                            a[k] = body[k]
                    a['modifiedAt'] = time.time()
                    save()
                return {'association': public(a)}
    if what == 'addons':
        if method == 'GET' and len(p) == 3:
            recorded = read(os.path.join(rec, 'list-addons.json'))['addons'] if rec else []
            with LOCK:
                return page(recorded + [x['addonName'] for x in STATE['addons'] if x['clusterName'] == c['name'] and x['account'] == account],
                            qs, 'addons')
        if method == 'POST' and len(p) == 3:
            with LOCK:
                try:
                    addon_of(c, body.get('addonName'))
                    raise ApiError(409, 'ResourceInUseException', 'Addon already exists: %s' % body.get('addonName'))
                except ApiError as e:
                    if e.status != 404:
                        raise
                x = {'addonName': body['addonName'], 'clusterName': c['name'], 'status': 'ACTIVE',
                     'addonVersion': body.get('addonVersion') or ADDONS.get(body['addonName'], {}).get('version', 'v1.0.0-eksbuild.1'), 'health': {'issues': []},
                     'addonArn': 'arn:aws:eks:%s:%s:addon/%s/%s/bed' % (region, account, c['name'], body['addonName']),
                     'createdAt': now, 'modifiedAt': now, 'tags': body.get('tags') or {}, 'owner': 'aws',
                     'publisher': 'eks', 'account': account}
                for k in ('serviceAccountRoleArn', 'configurationValues'):
                    if body.get(k):
                        x[k] = body[k]
                x['podIdentityAssociations'] = addon_associations(c, x, body.get('podIdentityAssociations'))
                STATE['addons'].append(x)
                save()
            apply_addon(c, x)
            return {'addon': public(x)}
        if len(p) >= 4:
            x = addon_of(c, p[3])
            if method == 'GET' and len(p) == 4:
                return {'addon': public(x)}
            if method == 'DELETE' and len(p) == 4:
                with LOCK:
                    STATE['addons'].remove(x)
                    for a in STATE['associations']:
                        if a.get('ownerArn') == x['addonArn'] and a.get('deletedAt') is None:
                            a['deletedAt'] = now
                    save()
                if x['addonName'] == AGENT_ADDON and 'preserve' not in qs:
                    kubectl(c, '-n', 'kube-system', 'delete', 'daemonset', AGENT_ADDON, '--ignore-not-found')
                return {'addon': public(x)}
            if method == 'POST' and len(p) == 5 and p[4] == 'update':
                old = x.get('serviceAccountRoleArn')
                with LOCK:
                    for k in ('addonVersion', 'serviceAccountRoleArn', 'configurationValues'):
                        if k in body:
                            x[k] = body[k]
                    if x.get('serviceAccountRoleArn') == '':  # the role removed: EKS no longer shows one
                        del x['serviceAccountRoleArn']
                    if 'podIdentityAssociations' in body:
                        for a in STATE['associations']:
                            if a.get('ownerArn') == x['addonArn'] and a.get('deletedAt') is None:
                                a['deletedAt'] = now
                        x['podIdentityAssociations'] = addon_associations(c, x, body['podIdentityAssociations'])
                    x['modifiedAt'] = now
                    save()
                apply_addon(c, x, old)
                return {'update': {'id': str(uuid.uuid4()), 'status': 'Successful', 'type': 'AddonUpdate', 'createdAt': now}}
    raise ApiError(404, 'NotFoundException', 'eks stand-in: %s %s is not served' % (method, path))


def token_review(cluster, review):
    """A TokenReview of a token from `aws eks get-token`: who signed the presigned GetCallerIdentity URL."""
    token = review.get('spec', {}).get('token', '')
    status = {'authenticated': False}
    if token.startswith('k8s-aws-v1.'):
        raw = token[len('k8s-aws-v1.'):]
        url = urlparse(base64.urlsafe_b64decode(raw + '=' * (-len(raw) % 4)).decode())
        q = parse_qs(url.query)
        akid = q.get('X-Amz-Credential', [''])[0].split('/')[0]
        signed = q.get('X-Amz-SignedHeaders', [''])[0].split(';')
        principal = CONFIG['accessKeys'].get(akid)
        c = next((x for x in CONFIG['clusters'] if x['name'] == cluster), None)
        if principal and c and principal['account'] == c['account'] and 'x-k8s-aws-id' in signed \
                and q.get('Action') == ['GetCallerIdentity']:
            status = {'authenticated': True, 'user': {
                'username': 'arn:aws:sts::%s:assumed-role/%s/{{SessionName}}' % (principal['account'], principal['role']),
                'uid': 'aws-iam-authenticator:%s:%s' % (principal['account'], akid),
                'groups': ['system:authenticated'] + (['system:masters'] if principal['role'] == 'platform-operator' else [])}}
    return {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenReview', 'status': status}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, value, headers=()):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        url = urlparse(self.path)
        length = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(length) if length else b''
        try:
            body = json.loads(raw) if raw else {}
            if url.path == '/_bed/state':
                with LOCK:
                    return self.answer(200, STATE)
            if url.path == '/_bed/config' and method == 'POST':
                with LOCK:
                    CONFIG.update({k: body[k] for k in ('delay', 'never', 'deny') if k in body})
                write_identities()
                return self.answer(200, {k: CONFIG.get(k) for k in ('delay', 'never', 'deny')})
            if url.path.startswith('/authenticate/') and method == 'POST':
                return self.answer(200, token_review(url.path.split('/')[2], body))
            m = re.search(r'Credential=([^/]+)/\d{8}/([^/]+)/eks/', self.headers.get('Authorization', ''))
            if not m:
                raise ApiError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
            principal = CONFIG['accessKeys'].get(m.group(1))
            if principal is None:
                raise ApiError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
            account = principal['account']
            out = route(method, url.path, parse_qs(url.query), body, account, m.group(2))
            write_identities()
            self.answer(200, out)
        except ApiError as e:
            self.answer(e.status, {'message': e.message}, [('x-amzn-ErrorType', e.code)])
        except Exception as e:  # a defect of the stand-in: say so loudly
            sys.stderr.write('eks stand-in: %r\n' % e)
            self.answer(500, {'message': 'eks stand-in: %r' % e}, [('x-amzn-ErrorType', 'ServerException')])

    def do_GET(self):
        self.handle_any('GET')

    def do_POST(self):
        self.handle_any('POST')

    def do_DELETE(self):
        self.handle_any('DELETE')


def ticker():
    while True:
        time.sleep(0.5)
        try:
            write_identities()
        except Exception as e:
            sys.stderr.write('eks stand-in: identities: %r\n' % e)


if __name__ == '__main__':
    write_identities()
    threading.Thread(target=ticker, daemon=True).start()
    ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
