"""The bed's AWS endpoint: moto's server (IAM, STS, SSM, for real moto), with two STAND-IN actions.

CloudFormation DescribeStackResource answers from the test deployer's records ($1/stacks), since the
test deployer, not moto's CloudFormation, deploys the stacks (the OIDC provider steps' verify.sh asks
whether a stack holds the provider).

IAM SimulatePrincipalPolicy, which moto lacks: the runbook's preflight asks whether a node role allows
eks-auth:AssumeRoleForPodIdentity. The stand-in evaluates the principal's identity policies (inline and
attached, moto's own copies) by IAM's rules for Action/NotAction and Resource/NotResource with
wildcards, explicit deny first; it ignores conditions, permission boundaries and SCPs, and says so in
every answer's MatchedStatements being empty.

CloudTrail LookupEvents, which moto lacks: answered from <test bed dir>/cloudtrail.jsonl, the events
the bed's other stand-ins record (the container stand-in records the agent's
AssumeRoleForPodIdentity), by account, region, EventName and StartTime/EndTime.

A control of the bed, not AWS: the IAM actions named in <test bed dir>/iam-deny.json (a JSON list,
e.g. ["GetAccountAuthorizationDetails"]) are answered AccessDenied, as IAM answers a principal whose
policies do not allow them; a test writes and removes that file.

usage: python aws_server.py <port> <test bed dir>
"""
import fnmatch
import json
import os
import sys

# IAM's AWS managed policies exist in every account, as in AWS (roles attach AmazonEKS_CNI_Policy and others)
os.environ.setdefault('MOTO_IAM_LOAD_MANAGED_POLICIES', 'true')
from urllib.parse import unquote
from xml.sax.saxutils import escape

from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudtrail.responses import CloudTrailResponse
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse
from moto.server import ThreadedMotoServer


def _list(v):
    return v if isinstance(v, list) else [v]


def _matches(patterns, value, case):
    return any(fnmatch.fnmatchcase(value.lower() if not case else value, p.lower() if not case else p) for p in _list(patterns))


def _applies(st, action, resource):
    if 'Action' in st and not _matches(st['Action'], action, False):
        return False
    if 'NotAction' in st and _matches(st['NotAction'], action, False):
        return False
    if 'Resource' in st and not _matches(st['Resource'], resource, True):
        return False
    if 'NotResource' in st and _matches(st['NotResource'], resource, True):
        return False
    return True


def _documents(backend, role_name):
    docs = []
    for name in backend.list_role_policies(role_name):
        docs.append(backend.get_role_policy(role_name, name)[1])
    for p in backend.list_attached_role_policies(role_name)[0]:
        policy = backend.get_policy(p.arn)
        docs.append(backend.get_policy_version(p.arn, policy.default_version_id).document)
    return [json.loads(unquote(d)) if isinstance(d, str) else d for d in docs]


def _members(query, name):
    """The values of a query-protocol list (Name.member.1, Name.member.2, ...), in order."""
    keys = sorted((int(k.rsplit('.', 1)[1]), k) for k in query if k.startswith(name + '.member.'))
    return [query[k][0] for _, k in keys]


def simulate_principal_policy(self):
    arn = self._get_param('PolicySourceArn')
    account = arn.split(':')[4]
    backend = iam_backends[account]['global']
    role_name = arn.split('/')[-1]
    backend.get_role(role_name)  # NoSuchEntity as IAM says it
    actions = _members(self.querystring, 'ActionNames')
    resources = _members(self.querystring, 'ResourceArns') or ['*']
    statements = [st for d in _documents(backend, role_name) for st in _list(d.get('Statement', []))]
    members = []
    for action in actions:
        for resource in resources:
            hits = [st for st in statements if _applies(st, action, resource)]
            decision = 'explicitDeny' if any(st.get('Effect') == 'Deny' for st in hits) else \
                'allowed' if any(st.get('Effect') == 'Allow' for st in hits) else 'implicitDeny'
            members.append('<member><EvalActionName>%s</EvalActionName><EvalResourceName>%s</EvalResourceName>'
                           '<EvalDecision>%s</EvalDecision><MatchedStatements/><MissingContextValues/></member>'
                           % (escape(action), escape(resource), decision))
    return ('<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            '<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>%s</EvaluationResults>'
            '</SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>bed</RequestId></ResponseMetadata>'
            '</SimulatePrincipalPolicyResponse>' % ''.join(members))


IamResponse.simulate_principal_policy = simulate_principal_policy
STACKS = os.path.join(sys.argv[2], 'stacks') if len(sys.argv) > 2 else None


def describe_stack_resource(self):
    stack, logical = self._get_param('StackName'), self._get_param('LogicalResourceId')
    record = os.path.join(STACKS or '', '%s-%s-%s.json' % (self.current_account, self.region, stack))
    ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/'

    def error(message):
        return ('<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>%s</Message></Error>'
                '<RequestId>bed</RequestId></ErrorResponse>' % (ns, escape(message)), {'status': 400})
    if not STACKS or not os.path.exists(record):
        return error('Stack with id %s does not exist' % stack)
    r = json.load(open(record))['resources'].get(logical)
    if r is None:
        return error('Resource %s does not exist for stack %s' % (logical, stack))
    return ('<DescribeStackResourceResponse xmlns="%s"><DescribeStackResourceResult><StackResourceDetail>'
            '<StackName>%s</StackName><StackId>arn:aws:cloudformation:%s:%s:stack/%s/bed</StackId><LogicalResourceId>%s</LogicalResourceId>'
            '<PhysicalResourceId>%s</PhysicalResourceId><ResourceType>%s</ResourceType><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp>'
            '<ResourceStatus>%s</ResourceStatus></StackResourceDetail></DescribeStackResourceResult>'
            '<ResponseMetadata><RequestId>bed</RequestId></ResponseMetadata></DescribeStackResourceResponse>'
            % (ns, escape(stack), self.region, self.current_account, escape(stack), escape(logical), escape(r['ref']), r['type'],
               'IMPORT_COMPLETE' if r.get('imported') else 'CREATE_COMPLETE'))


CloudFormationResponse.describe_stack_resource = describe_stack_resource


def lookup_events(self):
    query = json.loads(self.body or '{}')
    names = [a['AttributeValue'] for a in query.get('LookupAttributes', []) if a.get('AttributeKey') == 'EventName']
    start, end = float(query.get('StartTime') or 0), float(query.get('EndTime') or 1e12)
    events = []
    path = os.path.join(sys.argv[2], 'cloudtrail.jsonl') if len(sys.argv) > 2 else ''
    for line in (open(path).read().splitlines() if path and os.path.exists(path) else []):
        e = json.loads(line)
        if e['account'] == self.current_account and e['region'] == self.region and start <= e['time'] <= end \
                and (not names or e['event']['eventName'] in names):
            events.append({'EventId': '%s-%d' % (e['event']['eventName'], len(events)), 'EventName': e['event']['eventName'],
                           'EventTime': e['time'], 'EventSource': e['event']['eventSource'], 'ReadOnly': 'false',
                           'CloudTrailEvent': json.dumps(e['event'])})
    return json.dumps({'Events': list(reversed(events))})


CloudTrailResponse.lookup_events = lookup_events
_iam_call_action = IamResponse.call_action


def iam_call_action(self):
    deny = os.path.join(sys.argv[2], 'iam-deny.json') if len(sys.argv) > 2 else ''
    action = self._get_action()
    if deny and os.path.exists(deny) and action in json.load(open(deny)):
        message = 'User: arn:aws:sts::%s:assumed-role/platform-operator/operator is not authorized to perform: iam:%s on resource: *' % (
            self.current_account, action)
        return 403, {}, ('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                         '<Code>AccessDenied</Code><Message>%s</Message></Error><RequestId>bed</RequestId></ErrorResponse>' % escape(message))
    return _iam_call_action(self)


IamResponse.call_action = iam_call_action

if __name__ == '__main__':
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False)
    server.start()
    server._thread.join()
