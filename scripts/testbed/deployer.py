"""STAND-IN for `cdk deploy` (the CDK CLI and CloudFormation) in the test bed: moto's CloudFormation
skips EKS resources and ignores trust changes on update, so this applies a cloud assembly's stacks
itself, as CloudFormation would, to the bed's real moto (IAM, SSM) and to the EKS stand-in.

  deploy --app <cloud assembly> <pattern...> [--exclusively] [cdk options, ignored]
  import --app <cloud assembly> <stack> --resource-mapping <file>

- `import` adopts existing resources into a stack as `cdk import` does: the mapping names each
  resource's physical id (e.g. {"checkout6505257B": {"RoleName": "checkout"}}); the resource must
  exist, and it is not changed (CloudFormation records the template's properties; the next deploy
  that changes them updates the resource). AWS::IAM::Role, AWS::IAM::OIDCProvider ({"Arn": ...})
  and AWS::EKS::Addon ({"ClusterName": ..., "AddonName": ...}) are importable here, with
  DeletionPolicy Retain as CloudFormation requires.

- Stacks are selected as the CDK CLI selects them: a pattern matches a stack's hierarchical id
  (`*` within one path segment, `**` across), and the stacks they depend on are deployed first
  (unless --exclusively), in dependency order.
- Each stack deploys to its environment's account (profile bed-<account>) and region. What a stack
  deployed is kept in $TESTBED_DIR/stacks/<account>-<region>-<stack>.json; a resource that leaves the
  template is deleted, unless its DeletionPolicy was Retain when it was last changed (a change of the
  policy alone is not applied, as in CloudFormation; IAM then keeps the role as it was), and
  a changed resource is updated in place (a role's trust and policies; an association's role; an
  add-on's version and role) or replaced when CloudFormation would replace it.
- Resource types: AWS::IAM::Role, AWS::IAM::Policy, AWS::IAM::OIDCProvider, AWS::EKS::PodIdentityAssociation,
  AWS::EKS::Addon, AWS::SSM::Parameter, AWS::CloudFormation::WaitConditionHandle, AWS::CDK::Metadata.
  Any other type fails the deploy naming it (nothing is silently skipped).
- Intrinsics: Ref (resources, parameters, pseudo parameters), Fn::GetAtt (Arn), Fn::Join, Fn::Sub,
  Fn::Select, Fn::Split, Fn::If, and the conditions of the template.
Exit status 0 when every selected stack deployed, 1 otherwise (as `cdk deploy`).
"""
import json
import os
import re
import sys
import time

import boto3
import botocore.config
import botocore.exceptions

STACKS_DIR = os.path.join(os.environ.get('TESTBED_DIR', '/tmp'), 'stacks')


def say(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


class DeployError(Exception):
    pass


def glob_re(pattern):
    out = ''
    i = 0
    while i < len(pattern):
        if pattern.startswith('**', i):
            out += '.*'
            i += 2
        elif pattern[i] == '*':
            out += '[^/]*'
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile('^' + out + '$')


def select(manifest, patterns, exclusively):
    stacks = {k: a for k, a in manifest['artifacts'].items() if a['type'] == 'aws:cloudformation:stack'}
    chosen = [k for k, a in stacks.items() if any(glob_re(p).match(a.get('displayName', k)) or p == k for p in patterns)]
    if not chosen:
        raise DeployError('No stack found matching %s' % ' '.join(patterns))
    order, seen = [], set()

    def visit(k):
        if k in seen:
            return
        seen.add(k)
        for d in stacks[k].get('dependencies', []):
            if d in stacks and not exclusively:
                visit(d)
        order.append(k)
    for k in sorted(chosen):
        visit(k)
    return [(k, stacks[k]) for k in order]


class Stack:
    def __init__(self, app, key, artifact):
        env = artifact['environment'].replace('aws://', '').split('/')
        self.account, self.region = env[0], env[1]
        self.name = artifact['properties'].get('stackName', key)
        self.template = json.load(open(os.path.join(app, artifact['properties']['templateFile'])))
        session = boto3.Session(profile_name='bed-' + self.account, region_name=self.region)
        self.iam = session.client('iam')
        # CloudFormation removes an add-on's role with serviceAccountRoleArn "" (as the Go SDK sends it),
        # which botocore's client-side validation (minimum length 1) would refuse
        self.eks = session.client('eks', config=botocore.config.Config(parameter_validation=False))
        self.ssm = session.client('ssm')
        self.state_file = os.path.join(STACKS_DIR, '%s-%s-%s.json' % (self.account, self.region, self.name))
        self.old = json.load(open(self.state_file)) if os.path.exists(self.state_file) else {'resources': {}}
        self.new = {'resources': {}}
        self.params = {k: v.get('Default') for k, v in self.template.get('Parameters', {}).items()}

    # intrinsics ---------------------------------------------------------------------------
    def pseudo(self, name):
        return {'AWS::AccountId': self.account, 'AWS::Region': self.region, 'AWS::Partition': 'aws',
                'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': self.name, 'AWS::NoValue': None}[name]

    def condition(self, name):
        return bool(self.resolve(self.template['Conditions'][name]))

    def resolve(self, v):
        if isinstance(v, list):
            return [x for x in (self.resolve(i) for i in v) if x is not None]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, a), = v.items()
            if k == 'Ref':
                if a.startswith('AWS::'):
                    return self.pseudo(a)
                if a in self.params:
                    return self.params[a]
                return self.attr(a, 'Ref')
            if k == 'Fn::GetAtt':
                return self.attr(*(a if isinstance(a, list) else a.split('.', 1)))
            if k == 'Fn::Join':
                return a[0].join(str(x) for x in self.resolve(a[1]))
            if k == 'Fn::Select':
                return self.resolve(a[1])[int(self.resolve(a[0]))]
            if k == 'Fn::Split':
                return self.resolve(a[1]).split(a[0])
            if k == 'Fn::If':
                return self.resolve(a[1] if self.condition(a[0]) else a[2])
            if k == 'Fn::Sub':
                text, extra = (a, {}) if isinstance(a, str) else (a[0], self.resolve(a[1]))
                return re.sub(r'\$\{([^}!]+)\}', lambda m: str(extra[m.group(1)] if m.group(1) in extra else self.resolve(
                    {'Ref': m.group(1)} if '.' not in m.group(1) else {'Fn::GetAtt': m.group(1).split('.', 1)})), text)
            if k == 'Fn::Equals':
                return self.resolve(a[0]) == self.resolve(a[1])
            if k == 'Fn::Not':
                return not self.resolve(a[0])
            if k == 'Fn::And':
                return all(self.resolve(x) for x in a)
            if k == 'Fn::Or':
                return any(self.resolve(x) for x in a)
            if k == 'Fn::Contains':
                return self.resolve(a[1]) in self.resolve(a[0])
            if k == 'Condition':
                return self.condition(a)
            if k.startswith('Fn::'):
                raise DeployError('%s: intrinsic %s is not supported by the test deployer' % (self.name, k))
        resolved = {k: self.resolve(x) for k, x in v.items()}
        return {k: x for k, x in resolved.items() if x is not None}

    def attr(self, logical, name):
        r = self.new['resources'].get(logical) or self.old['resources'].get(logical)
        if r is None:
            raise DeployError('%s: %s refers to %s, not deployed yet' % (self.name, name, logical))
        return r['ref'] if name == 'Ref' else r['attrs'][name]

    # resources -------------------------------------------------------------------------------
    def adopt(self, mapping):
        resources = self.template.get('Resources', {})
        for logical, ids in mapping.items():
            r = resources.get(logical)
            if r is None or r['Type'] not in ('AWS::IAM::Role', 'AWS::IAM::OIDCProvider', 'AWS::EKS::Addon'):
                raise DeployError('%s: %s is not an AWS::IAM::Role, AWS::IAM::OIDCProvider or AWS::EKS::Addon of the template' % (self.name, logical))
            if r.get('DeletionPolicy') not in ('Retain', 'RetainExceptOnCreate'):
                raise DeployError('%s: %s: an imported resource needs DeletionPolicy Retain' % (self.name, logical))
            if r['Type'] == 'AWS::IAM::Role':
                arn = self.iam.get_role(RoleName=ids['RoleName'])['Role']['Arn']
                ref, attrs = ids['RoleName'], {'Arn': arn, 'RoleId': ids['RoleName']}
            elif r['Type'] == 'AWS::EKS::Addon':
                a = self.eks.describe_addon(clusterName=ids['ClusterName'], addonName=ids['AddonName'])['addon']
                ref, attrs = ids['AddonName'], {'Arn': a['addonArn']}
            else:
                self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ids['Arn'])
                ref, attrs = ids['Arn'], {'Arn': ids['Arn']}
            self.old['resources'][logical] = {'type': r['Type'], 'props': self.resolve(r.get('Properties', {})), 'ref': ref,
                                              'attrs': attrs, 'retain': True, 'metadata': r.get('Metadata'), 'imported': True}
        os.makedirs(STACKS_DIR, exist_ok=True)
        with open(self.state_file, 'w') as f:
            json.dump(self.old, f, indent=1)

    def deploy(self):
        resources = self.template.get('Resources', {})
        for logical in self.order(resources):
            r = resources[logical]
            if 'Condition' in r and not self.condition(r['Condition']):
                continue
            props = self.resolve(r.get('Properties', {}))
            old = self.old['resources'].get(logical)
            done = self.apply(logical, r['Type'], props, old)
            # CloudFormation applies a new DeletionPolicy only with another change to the resource
            # (its properties or metadata); a change of the policy alone is not recorded
            changed = old is None or old.get('props') != props or old.get('metadata') != r.get('Metadata')
            done['retain'] = r.get('DeletionPolicy') in ('Retain', 'RetainExceptOnCreate') if changed else old.get('retain', False)
            done['metadata'] = r.get('Metadata')
            self.new['resources'][logical] = done
        for logical, old in self.old['resources'].items():
            if logical not in self.new['resources'] and not old.get('retain'):
                self.remove(old)
        os.makedirs(STACKS_DIR, exist_ok=True)
        with open(self.state_file, 'w') as f:
            json.dump(self.new, f, indent=1)

    def order(self, resources):
        deps = {k: set(_refs(v) & set(resources)) | set(_list(v.get('DependsOn', []))) for k, v in resources.items()}
        out, seen = [], set()

        def visit(k):
            if k not in seen:
                seen.add(k)
                for d in sorted(deps[k]):
                    visit(d)
                out.append(k)
        for k in sorted(resources):
            visit(k)
        return out

    def apply(self, logical, kind, props, old):
        same = old is not None and old['type'] == kind
        if kind in ('AWS::CloudFormation::WaitConditionHandle', 'AWS::CDK::Metadata'):
            return {'type': kind, 'props': props, 'ref': logical, 'attrs': {}}
        if kind == 'AWS::IAM::Role':
            return self.role(props, old if same else None)
        if kind == 'AWS::IAM::Policy':
            for role in props.get('Roles', []):
                self.iam.put_role_policy(RoleName=role, PolicyName=props['PolicyName'], PolicyDocument=json.dumps(props['PolicyDocument']))
            if same:
                for role in set(old['props'].get('Roles', [])) - set(props.get('Roles', [])):
                    self.iam.delete_role_policy(RoleName=role, PolicyName=old['props']['PolicyName'])
            return {'type': kind, 'props': props, 'ref': props['PolicyName'], 'attrs': {}}
        if kind == 'AWS::IAM::OIDCProvider':
            if same and old['props'].get('Url') == props.get('Url'):
                return {**old, 'props': props}
            arn = self.iam.create_open_id_connect_provider(Url=props['Url'], ClientIDList=props.get('ClientIdList', []),
                                                          ThumbprintList=props.get('ThumbprintList', []))['OpenIDConnectProviderArn']
            if same:
                self.remove(old)
            return {'type': kind, 'props': props, 'ref': arn, 'attrs': {'Arn': arn}}
        if kind == 'AWS::EKS::PodIdentityAssociation':
            replace = not same or any(old['props'].get(k) != props.get(k) for k in ('ClusterName', 'Namespace', 'ServiceAccount'))
            if not replace:
                if any(old['props'].get(k) != props.get(k) for k in ('RoleArn', 'TargetRoleArn', 'DisableSessionTags', 'Policy')):
                    self.eks.update_pod_identity_association(clusterName=props['ClusterName'], associationId=old['attrs']['AssociationId'],
                                                             **_assoc_args(props, update=True))
                return {**old, 'props': props}
            a = self.eks.create_pod_identity_association(clusterName=props['ClusterName'], **_assoc_args(props))['association']
            if same:
                self.remove(old)
            return {'type': kind, 'props': props, 'ref': a['associationArn'],
                    'attrs': {'AssociationArn': a['associationArn'], 'AssociationId': a['associationId']}}
        if kind == 'AWS::EKS::Addon':
            args = {'addonVersion': props.get('AddonVersion'), 'serviceAccountRoleArn': props.get('ServiceAccountRoleArn'),
                    'configurationValues': props.get('ConfigurationValues'),
                    'podIdentityAssociations': [{'serviceAccount': p['ServiceAccount'], 'roleArn': p['RoleArn']}
                                                for p in props.get('PodIdentityAssociations', [])] or None}
            args = {k: v for k, v in args.items() if v is not None}
            if same and old['props'].get('ClusterName') == props['ClusterName'] and old['props'].get('AddonName') == props['AddonName']:
                if old['props'] != props:
                    if 'ServiceAccountRoleArn' in old['props'] and 'serviceAccountRoleArn' not in args:
                        args['serviceAccountRoleArn'] = ''
                    if old['props'].get('PodIdentityAssociations') and 'podIdentityAssociations' not in args:
                        args['podIdentityAssociations'] = []
                    self.eks.update_addon(clusterName=props['ClusterName'], addonName=props['AddonName'], **args)
                return {**old, 'props': props}
            a = self.eks.create_addon(clusterName=props['ClusterName'], addonName=props['AddonName'], **args)['addon']
            return {'type': kind, 'props': props, 'ref': props['AddonName'], 'attrs': {'Arn': a['addonArn']}}
        if kind == 'AWS::SSM::Parameter':
            self.ssm.put_parameter(Name=props['Name'], Value=props['Value'], Type=props.get('Type', 'String'), Overwrite=True)
            return {'type': kind, 'props': props, 'ref': props['Name'], 'attrs': {'Value': props['Value']}}
        raise DeployError('%s: resource type %s is not supported by the test deployer' % (self.name, kind))

    def role(self, p, old):
        name = p['RoleName']
        if old is not None and old['props']['RoleName'] != name:
            self.remove(old)
            old = None
        trust = json.dumps(p['AssumeRolePolicyDocument'])
        try:
            arn = self.iam.get_role(RoleName=name)['Role']['Arn']
            if old is None:
                # CloudFormation refuses to create a role whose name exists (a retained role must be imported)
                raise DeployError('%s: %s already exists (cdk import adopts a retained role)' % (self.name, name))
            self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        except self.iam.exceptions.NoSuchEntityException:
            arn = self.iam.create_role(RoleName=name, Path=p.get('Path', '/'), AssumeRolePolicyDocument=trust,
                                       Description=p.get('Description', ''), MaxSessionDuration=int(p.get('MaxSessionDuration', 3600)))['Role']['Arn']
        before = old['props'] if old else {}
        inline = {x['PolicyName']: x['PolicyDocument'] for x in p.get('Policies', [])}
        for n, doc in inline.items():
            self.iam.put_role_policy(RoleName=name, PolicyName=n, PolicyDocument=json.dumps(doc))
        for n in {x['PolicyName'] for x in before.get('Policies', [])} - set(inline):
            self.iam.delete_role_policy(RoleName=name, PolicyName=n)
        managed, was = set(p.get('ManagedPolicyArns', [])), set(before.get('ManagedPolicyArns', []))
        for m in managed - was:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=m)
        for m in was - managed:
            self.iam.detach_role_policy(RoleName=name, PolicyArn=m)
        return {'type': 'AWS::IAM::Role', 'props': p, 'ref': name, 'attrs': {'Arn': arn, 'RoleId': name}}

    def remove(self, old):
        kind, p = old['type'], old['props']
        try:
            if kind == 'AWS::IAM::Role':
                for n in self.iam.list_role_policies(RoleName=p['RoleName'])['PolicyNames']:
                    self.iam.delete_role_policy(RoleName=p['RoleName'], PolicyName=n)
                for m in self.iam.list_attached_role_policies(RoleName=p['RoleName'])['AttachedPolicies']:
                    self.iam.detach_role_policy(RoleName=p['RoleName'], PolicyArn=m['PolicyArn'])
                self.iam.delete_role(RoleName=p['RoleName'])
            elif kind == 'AWS::IAM::Policy':
                for role in p.get('Roles', []):
                    self.iam.delete_role_policy(RoleName=role, PolicyName=p['PolicyName'])
            elif kind == 'AWS::IAM::OIDCProvider':
                self.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=old['ref'])
            elif kind == 'AWS::EKS::PodIdentityAssociation':
                self.eks.delete_pod_identity_association(clusterName=p['ClusterName'], associationId=old['attrs']['AssociationId'])
            elif kind == 'AWS::EKS::Addon':
                self.eks.delete_addon(clusterName=p['ClusterName'], addonName=p['AddonName'])
            elif kind == 'AWS::SSM::Parameter':
                self.ssm.delete_parameter(Name=p['Name'])
        except botocore.exceptions.ClientError as e:
            if e.response['Error']['Code'] not in ('NoSuchEntity', 'ResourceNotFoundException', 'ParameterNotFound'):
                raise


def _assoc_args(p, update=False):
    out = {'roleArn': p['RoleArn']}
    if not update:
        out.update(namespace=p['Namespace'], serviceAccount=p['ServiceAccount'])
        if p.get('Tags'):
            out['tags'] = {t['Key']: t['Value'] for t in p['Tags']}
    for k, a in (('TargetRoleArn', 'targetRoleArn'), ('DisableSessionTags', 'disableSessionTags'), ('Policy', 'policy')):
        if k in p:
            out[a] = p[k]
    return out


def _list(v):
    return v if isinstance(v, list) else [v]


def _refs(v):
    out = set()
    if isinstance(v, dict):
        for k, x in v.items():
            if k == 'Ref' and isinstance(x, str):
                out.add(x)
            elif k == 'Fn::GetAtt':
                out.add(x[0] if isinstance(x, list) else x.split('.')[0])
            elif k == 'Fn::Sub':
                text = x if isinstance(x, str) else x[0]
                out |= {m.split('.')[0] for m in re.findall(r'\$\{([^}!]+)\}', text)}
            out |= _refs(x)
    elif isinstance(v, list):
        for x in v:
            out |= _refs(x)
    return out


def main(argv):
    if argv[:1] not in (['deploy'], ['import']):
        say('test deployer: only `deploy --app <assembly> <patterns>` and `import` are served; got: %s' % ' '.join(argv))
        return 2
    app, patterns, exclusively, mapping, i = None, [], argv[0] == 'import', None, 1
    while i < len(argv):
        a = argv[i]
        if a in ('--app', '-a'):
            app, i = argv[i + 1], i + 2
        elif a == '--resource-mapping':
            mapping, i = json.load(open(argv[i + 1])), i + 2
        elif a in ('--exclusively', '-e'):
            exclusively, i = True, i + 1
        elif a in ('--require-approval', '--method', '--progress', '--profile'):
            i += 2
        elif a.startswith('-'):
            i += 1
        else:
            patterns.append(a)
            i += 1
    try:
        manifest = json.load(open(os.path.join(app, 'manifest.json')))
        stacks = select(manifest, patterns, exclusively)
        for key, artifact in stacks:
            s = Stack(app, key, artifact)
            if mapping is not None:
                s.adopt(mapping)
                say(' ✅  %s: imported %s' % (artifact.get('displayName', key), ', '.join(sorted(mapping))))
                continue
            start = time.time()
            say('%s: deploying... [%s/%s]' % (artifact.get('displayName', key), s.account, s.region))
            s.deploy()
            say(' ✅  %s (%.1fs)' % (artifact.get('displayName', key), time.time() - start))
    except (DeployError, botocore.exceptions.ClientError) as e:
        say(' ❌  deployment failed: %s' % e)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
