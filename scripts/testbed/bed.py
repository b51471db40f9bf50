"""The test bed: real Kubernetes clusters with the real EKS pod identity webhook, moto, and the EKS
stand-in, all in one network namespace that has only loopback.

usage:
  python bed.py up   --bin DIR --dir DIR [--fleet FILE] [--netns NAME]
  python bed.py down --dir DIR

`up` starts, per cluster of the fleet file: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok (its nodes, pods Ready) and the webhook (registered with failurePolicy Fail);
then one moto server for every account and the EKS stand-in. A cluster with `recorded` (a folder of
a real fleet's EKS answers, relative to the repository) is a recording to load objects into: only
etcd and kube-apiserver, at the recorded endpoint and OIDC issuer, with EKS answering from the
recording and nothing seeded in IAM (the suite that uses it loads its objects and roles). It writes into DIR:
  bed.json   what runs where (clusters, ports, accounts, profiles, files)
  env.sh     the environment a client needs (KUBECONFIG, AWS_* for moto and the stand-in, PATH)
  pids       the processes in start order; `down` stops them in reverse order (kube-apiserver
             before etcd) and removes the network namespace.
Run a command in the bed with scripts/testbed/exec.sh (it enters the namespace and sources env.sh).
"""
import argparse
import base64
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON_MOTO = os.path.join(ROOT, '.tools', 'moto', 'bin', 'python')
AWS_BIN = os.path.join(ROOT, '.tools', 'awscli', 'bin')
MOTO_PORT, EKS_PORT = 20500, 20600
ADMIN_TOKEN = 'bed-admin-token'


def log(msg):
    sys.stderr.write('testbed: %s\n' % msg)
    sys.stderr.flush()


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


class Bed:
    def __init__(self, d, netns=None):
        self.dir = os.path.abspath(d)
        self.netns = netns

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def start(self, name, argv):
        """Starts a process inside the namespace, in its own session, logging to logs/<name>.log."""
        logf = open(self.path('logs', name + '.log'), 'w')
        full = ['ip', 'netns', 'exec', self.netns, *argv]
        p = subprocess.Popen(full, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        with open(self.path('pids'), 'a') as f:
            f.write('%d\t%s\n' % (p.pid, name))
        return p

    def run(self, argv, check=True, **kw):
        r = subprocess.run(['ip', 'netns', 'exec', self.netns, *argv], capture_output=True, text=True, **kw)
        if check and r.returncode != 0:
            raise SystemExit('testbed: %s failed (%d): %s%s' % (' '.join(argv), r.returncode, r.stderr, r.stdout))
        return r

    def wait(self, what, probe, timeout=90):
        start = time.time()
        while time.time() - start < timeout:
            if probe():
                return
            time.sleep(0.3)
        raise SystemExit('testbed: %s did not come up within %ds (see %s)' % (what, timeout, self.path('logs')))


def certs(bed, clusters):
    """One CA for the bed; a serving certificate for every cluster's endpoint; the service-account signing key."""
    d = bed.path('pki')
    os.makedirs(d, exist_ok=True)
    o = lambda *a: sh('openssl', *a, cwd=d)  # noqa: E731
    o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=bed-ca')
    o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'serving.key', '-out', 'serving.csr', '-subj', '/CN=127.0.0.1')
    with open(os.path.join(d, 'san.ext'), 'w') as f:
        sans = ['IP:127.0.0.1', 'DNS:localhost'] + ['IP:%s' % c['ip'] for c in clusters] + ['DNS:%s' % c['host'] for c in clusters]
        f.write('subjectAltName=%s\nextendedKeyUsage=serverAuth\n' % ','.join(sans))
    o('x509', '-req', '-in', 'serving.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'serving.crt',
      '-days', '30', '-extfile', 'san.ext')
    o('genrsa', '-out', 'sa.key', '2048')
    o('rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub')
    with open(os.path.join(d, 'tokens.csv'), 'w') as f:
        f.write('%s,bed-admin,1,system:masters\n' % ADMIN_TOKEN)
    return d


def kubeconfig(clusters, ca, user_token):
    return {
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': clusters[0]['arn'],
        'clusters': [{'name': c['arn'], 'cluster': {'server': c['endpoint'], 'certificate-authority-data': ca}} for c in clusters],
        'users': [{'name': 'bed-admin', 'user': {'token': user_token}}],
        'contexts': [{'name': c['arn'], 'context': {'cluster': c['arn'], 'user': 'bed-admin'}} for c in clusters],
    }


def authn_file(bed, c):
    """The token webhook of a cluster: the EKS stand-in's authenticator (as aws-iam-authenticator on EKS)."""
    f = bed.path(c['name'] + '-authn.json')
    with open(f, 'w') as out:
        json.dump({'apiVersion': 'v1', 'kind': 'Config',
                   'clusters': [{'name': 'eks', 'cluster': {'server': 'http://127.0.0.1:%d/authenticate/%s' % (EKS_PORT, c['name'])}}],
                   'users': [{'name': 'apiserver', 'user': {}}],
                   'contexts': [{'name': 'eks', 'context': {'cluster': 'eks', 'user': 'apiserver'}}], 'current-context': 'eks'}, out)
    return f


def webhook_registration(port, ca):
    return {
        'apiVersion': 'admissionregistration.k8s.io/v1', 'kind': 'MutatingWebhookConfiguration',
        'metadata': {'name': 'pod-identity-webhook'},
        'webhooks': [{
            'name': 'pod-identity-webhook.amazonaws.com',
            # Fail, not the upstream Ignore: a webhook that does not answer must not let a test pass
            'failurePolicy': 'Fail',
            'clientConfig': {'url': 'https://127.0.0.1:%d/mutate' % port, 'caBundle': ca},
            'objectSelector': {'matchExpressions': [{'key': 'eks.amazonaws.com/skip-pod-identity-webhook', 'operator': 'DoesNotExist'}]},
            'rules': [{'operations': ['CREATE'], 'apiGroups': [''], 'apiVersions': ['v1'], 'resources': ['pods']}],
            'sideEffects': 'None',
            'timeoutSeconds': 5,
            # v0.6.17 answers only v1beta1 reviews
            'admissionReviewVersions': ['v1beta1'],
        }],
    }


def up(args):
    bed = Bed(args.dir, args.netns)
    if os.path.exists(bed.path('pids')):
        raise SystemExit('testbed: %s already holds a bed; run down first' % bed.dir)
    os.makedirs(bed.path('logs'), exist_ok=True)
    open(bed.path('pids'), 'w').close()
    binp = lambda n: os.path.join(args.bin, n)  # noqa: E731
    fleet = json.load(open(args.fleet))
    subprocess.run(['ip', 'netns', 'add', bed.netns], check=True)
    with open(bed.path('netns'), 'w') as f:
        f.write(bed.netns + '\n')
    bed.run(['ip', 'link', 'set', 'lo', 'up'])
    clusters = []
    for i, c in enumerate(fleet['clusters']):
        base = 21000 + 100 * i
        if c.get('recorded'):
            c = {**c, 'recorded': os.path.join(ROOT, c['recorded']), 'nodes': [], 'nodegroup': None}
            described = json.load(open(os.path.join(c['recorded'], 'describe-cluster.json')))['cluster']
            c['oidcId'] = described['identity']['oidc']['issuer'].split('/')[-1]
            host = described['endpoint'].split('//')[1]
        else:
            host = '%s.gr7.%s.eks.amazonaws.com' % (c['oidcId'], c['region'])
        clusters.append({
            **c,
            'arn': 'arn:aws:eks:%s:%s:cluster/%s' % (c['region'], c['account'], c['name']),
            'issuer': 'https://oidc.eks.%s.amazonaws.com/id/%s' % (c['region'], c['oidcId']),
            # each API server on its own loopback address, at the name EKS gives it (the namespace's hosts file)
            'ip': '127.0.0.%d' % (10 + i), 'host': host, 'endpoint': 'https://' + host,
            'ports': {'etcd': base + 1, 'etcdPeer': base + 2, 'apiserver': 443, 'webhook': base + 44,
                      'webhookMetrics': base + 45, 'kwok': base + 47, 'controllerManager': base + 57, 'scheduler': base + 59},
            'identitiesFile': bed.path(c['name'], 'identities.json'),
        })
    os.makedirs('/etc/netns/' + bed.netns, exist_ok=True)
    with open('/etc/netns/%s/hosts' % bed.netns, 'w') as f:
        f.write('127.0.0.1 localhost\n::1 localhost\n' + ''.join('%s %s\n' % (c['ip'], c['host']) for c in clusters))
    pki = certs(bed, clusters)
    ca_b64 = base64.b64encode(open(os.path.join(pki, 'ca.crt'), 'rb').read()).decode()
    for c in clusters:
        c['caData'] = ca_b64
    # the bed's own components (and the EKS stand-in) use a static admin token
    kc = kubeconfig(clusters, ca_b64, ADMIN_TOKEN)
    admin_kc = bed.path('admin-kubeconfig')
    with open(admin_kc, 'w') as f:
        json.dump(kc, f, indent=1)

    # AWS: moto for every account, credentials per account from sts:AssumeRole (moto maps them to the account)
    bed.start('aws', [PYTHON_MOTO, os.path.join(HERE, 'aws_server.py'), str(MOTO_PORT), bed.dir])
    moto = 'http://127.0.0.1:%d' % MOTO_PORT
    bed.wait('moto', lambda: bed.run(['curl', '-sf', moto + '/moto-api/'], check=False).returncode == 0)
    accounts = sorted({c['account'] for c in clusters})
    seed = bed.run([PYTHON_MOTO, os.path.join(HERE, 'seed_aws.py'), moto, json.dumps(clusters), bed.path('aws')]).stdout
    live = [c for c in clusters if not c.get('recorded')]  # the clusters with every part, not recordings
    access_keys = json.loads(seed)

    # the EKS stand-in
    eks_config = {'clusters': [{**c, 'kubeconfig': admin_kc, 'context': c['arn'],
                                'nodegroups': [{'name': c['nodegroup'], 'nodeRole': 'arn:aws:iam::%s:role/eks-node-%s' % (c['account'], c['name'])}]}
                               for c in clusters],
                  'recordedAddonConfigurations': fleet.get('recordedAddonConfigurations') and os.path.join(ROOT, fleet['recordedAddonConfigurations']),
                  'accessKeys': access_keys, 'kubectl': binp('kubectl'), 'state': bed.path('eks-state.json'),
                  'delay': args.delay, 'never': []}
    for c in clusters:
        os.makedirs(bed.path(c['name']), exist_ok=True)
        with open(c['identitiesFile'], 'w') as f:
            f.write('{"identities": []}')
    with open(bed.path('eks-config.json'), 'w') as f:
        json.dump(eks_config, f, indent=1)
    bed.start('eks', [sys.executable, os.path.join(HERE, 'eks_standin.py'), bed.path('eks-config.json'), str(EKS_PORT)])

    # kubectl as the bed's admin: `probe` for the waits (a failure means not yet), `kube` where a failure stops the bed
    probe = lambda c, *a: bed.run([binp('kubectl'), '--kubeconfig', admin_kc, '--context', c['arn'], *a], check=False)  # noqa: E731
    kube = lambda c, *a, **kw: bed.run([binp('kubectl'), '--kubeconfig', admin_kc, '--context', c['arn'], *a], **kw)  # noqa: E731
    for c in clusters:
        d, p, n = bed.path(c['name']), c['ports'], c['name']
        bed.start(n + '-etcd', [binp('etcd'), '--name', n, '--data-dir', os.path.join(d, 'etcd'),
                                '--listen-client-urls', 'http://127.0.0.1:%d' % p['etcd'], '--advertise-client-urls', 'http://127.0.0.1:%d' % p['etcd'],
                                '--listen-peer-urls', 'http://127.0.0.1:%d' % p['etcdPeer'],
                                '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % p['etcdPeer'],
                                '--initial-cluster', '%s=http://127.0.0.1:%d' % (n, p['etcdPeer']), '--log-level', 'warn'])
    for c in clusters:
        p, n = c['ports'], c['name']
        bed.start(n + '-apiserver', [
            binp('kube-apiserver'), '--etcd-servers', 'http://127.0.0.1:%d' % p['etcd'],
            '--bind-address', c['ip'], '--advertise-address', c['ip'], '--secure-port', str(p['apiserver']),
            '--endpoint-reconciler-type', 'none', '--tls-cert-file', os.path.join(pki, 'serving.crt'),
            '--tls-private-key-file', os.path.join(pki, 'serving.key'), '--client-ca-file', os.path.join(pki, 'ca.crt'),
            '--token-auth-file', os.path.join(pki, 'tokens.csv'), '--authorization-mode', 'RBAC',
            # IAM principals sign in as on EKS: `aws eks get-token`, checked by the EKS stand-in's authenticator
            '--authentication-token-webhook-config-file', authn_file(bed, c), '--authentication-token-webhook-version', 'v1',
            '--service-account-key-file', os.path.join(pki, 'sa.pub'), '--service-account-signing-key-file', os.path.join(pki, 'sa.key'),
            # the cluster's OIDC issuer, as EKS sets it: projected tokens carry it
            '--service-account-issuer', c['issuer'],
            '--api-audiences', 'https://kubernetes.default.svc,sts.amazonaws.com,pods.eks.amazonaws.com',
            '--service-cluster-ip-range', '10.100.0.0/16', '--allow-privileged=true'])
    for c in clusters:
        bed.wait(c['name'] + ' kube-apiserver', lambda c=c: probe(c, 'get', '--raw', '/readyz').returncode == 0, timeout=120)
    for c in live:
        p, n, d = c['ports'], c['name'], bed.path(c['name'])
        ckc = os.path.join(d, 'kubeconfig')
        with open(ckc, 'w') as f:
            json.dump({**kc, 'current-context': c['arn'],
                       'clusters': [{**e, 'cluster': {**e['cluster'], 'server': 'https://%s' % c['ip']}} if e['name'] == c['arn'] else e
                                    for e in kc['clusters']]}, f)
        bed.start(n + '-controller-manager', [
            binp('kube-controller-manager'), '--kubeconfig', ckc, '--bind-address', '127.0.0.1', '--secure-port', str(p['controllerManager']),
            '--leader-elect=false', '--service-account-private-key-file', os.path.join(pki, 'sa.key'),
            '--root-ca-file', os.path.join(pki, 'ca.crt'), '--use-service-account-credentials=false',
            '--controllers', '*,-node-ipam-controller,-node-lifecycle-controller,-persistentvolume-binder-controller,-persistentvolume-attach-detach-controller'])
        bed.start(n + '-scheduler', [binp('kube-scheduler'), '--kubeconfig', ckc, '--bind-address', '127.0.0.1',
                                     '--secure-port', str(p['scheduler']), '--leader-elect=false'])
        bed.start(n + '-kwok', [binp('kwok'), '--kubeconfig', ckc, '--config', binp('kwok-stages.yaml'),
                                '--manage-nodes-with-annotation-selector', 'kwok.x-k8s.io/node=fake',
                                '--server-address', '127.0.0.1:%d' % p['kwok'], '--cidr', '10.%d.0.1/16' % (200 + clusters.index(c))])
        bed.start(n + '-webhook', [
            binp('amazon-eks-pod-identity-webhook'), '--in-cluster=false', '--kubeconfig', ckc,
            '--tls-cert', os.path.join(pki, 'serving.crt'), '--tls-key', os.path.join(pki, 'serving.key'),
            '--port', str(p['webhook']), '--metrics-port', str(p['webhookMetrics']), '--aws-default-region', c['region'],
            '--sts-regional-endpoint=true', '--service-account-lookup-grace-period=2s',
            '--watch-container-credentials-config', c['identitiesFile']])
    for c in live:
        reg = webhook_registration(c['ports']['webhook'], ca_b64)
        kube(c, 'apply', '-f', '-', input=json.dumps(reg))
        nodes = [{'apiVersion': 'v1', 'kind': 'Node',
                  'metadata': {'name': node, 'annotations': {'kwok.x-k8s.io/node': 'fake'},
                               'labels': {'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux', 'type': 'kwok',
                                          'eks.amazonaws.com/nodegroup': c['nodegroup'], 'topology.kubernetes.io/region': c['region']}}}
                 for node in c['nodes']]
        kube(c, 'apply', '-f', '-', input=json.dumps({'apiVersion': 'v1', 'kind': 'List', 'items': nodes}))
    for c in live:
        bed.wait(c['name'] + ' webhook', lambda c=c: bed.run(['curl', '-skf', 'https://127.0.0.1:%d/healthz' % c['ports']['webhook']],
                                                           check=False).returncode == 0)
        bed.wait(c['name'] + ' default service account', lambda c=c: probe(c, 'get', 'serviceaccount', 'default').returncode == 0)
        bed.wait(c['name'] + ' nodes Ready', lambda c=c: probe(c, 'get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}')
                 .stdout.split() == ['True'] * len(c['nodes']))
        # the node lifecycle controller is off (kwok sends no heartbeats): lift the not-ready taint it would lift
        # (a probe: kubectl fails when the taint is already gone)
        for node in c['nodes']:
            probe(c, 'taint', 'nodes', node, 'node.kubernetes.io/not-ready:NoSchedule-')

    env = {
        'KUBECONFIG': bed.path('kubeconfig'),
        'AWS_CONFIG_FILE': bed.path('aws', 'config'),
        'AWS_SHARED_CREDENTIALS_FILE': bed.path('aws', 'credentials'),
        'AWS_ENDPOINT_URL': moto,
        'AWS_ENDPOINT_URL_EKS': 'http://127.0.0.1:%d' % EKS_PORT,
        'AWS_EC2_METADATA_DISABLED': 'true',
        'PATH': '%s:%s:%s' % (args.bin, AWS_BIN, os.environ.get('PATH', '')),
        'TESTBED_DIR': bed.dir,
        'TESTBED_NETNS': bed.netns,
        'TESTBED_BIN': args.bin,
        # verify.sh runs the operator command as built in this clone (operator/lib), not the published one
        'CDK_EKS_POD_IDENTITY_OPERATOR': os.path.join(ROOT, 'operator', 'lib', 'cli.js'),
    }
    # the operator's kubeconfig, written by the real AWS CLI from the EKS stand-in's describe-cluster
    kc_file = env['KUBECONFIG']
    for c in clusters:
        for profile, alias in (('bed-' + c['account'], c['arn']), ('bed-%s-readonly' % c['account'], 'readonly@' + c['arn'])):
            bed.run([os.path.join(AWS_BIN, 'aws'), 'eks', 'update-kubeconfig', '--name', c['name'], '--region', c['region'],
                     '--profile', profile, '--alias', alias, '--user-alias', alias, '--kubeconfig', kc_file], env={**os.environ, **env})
    bed.run([binp('kubectl'), '--kubeconfig', kc_file, 'config', 'use-context', clusters[0]['arn']])
    with open(bed.path('env.sh'), 'w') as f:
        for k, v in env.items():
            f.write('export %s=%s\n' % (k, shlex.quote(v)))
    info = {'netns': bed.netns, 'bin': args.bin, 'kubeconfig': kc_file, 'adminKubeconfig': admin_kc, 'moto': moto, 'eks': env['AWS_ENDPOINT_URL_EKS'],
            'env': env, 'accounts': accounts, 'profiles': {a: 'bed-' + a for a in accounts}, 'clusters': clusters,
            'readonlyContexts': {c['name']: 'readonly@' + c['arn'] for c in clusters},
            'readonlyProfiles': {a: 'bed-%s-readonly' % a for a in accounts}}
    with open(bed.path('bed.json'), 'w') as f:
        json.dump(info, f, indent=1)
    log('up: %d clusters (%s), moto %s, EKS stand-in %s; env in %s' % (
        len(clusters), ', '.join(c['name'] for c in clusters), moto, env['AWS_ENDPOINT_URL_EKS'], bed.path('env.sh')))


def down(args):
    bed = Bed(args.dir)
    pids = []
    if os.path.exists(bed.path('pids')):
        pids = [line.split('\t') for line in open(bed.path('pids')).read().splitlines() if line]
    # reverse start order: webhooks, kwok, schedulers, controller-managers, API servers, etcd, EKS, moto
    for pid, name in reversed(pids):
        try:
            os.killpg(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            continue
        for _ in range(100):
            try:
                os.killpg(int(pid), 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    if os.path.exists(bed.path('netns')):
        ns = open(bed.path('netns')).read().strip()
        subprocess.run(['ip', 'netns', 'del', ns], check=False)
        shutil.rmtree('/etc/netns/' + ns, ignore_errors=True)
    if os.path.isdir(bed.dir):
        shutil.rmtree(bed.dir, ignore_errors=True)
    log('down: %d processes stopped' % len(pids))


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['up', 'down'])
    ap.add_argument('--dir', required=True)
    ap.add_argument('--bin')
    ap.add_argument('--fleet', default=os.path.join(HERE, 'fleet.json'))
    ap.add_argument('--netns', default='cdk-eks-pi-bed')
    ap.add_argument('--delay', type=float, default=2.0, help='seconds before an association becomes visible')
    a = ap.parse_args()
    (up if a.command == 'up' else down)(a)
