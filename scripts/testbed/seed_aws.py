"""Seeds the bed's moto with what every account of the fleet has before the migration: each cluster's
IAM OIDC provider (IRSA) and its node role (allowing eks-auth:AssumeRoleForPodIdentity, as
AmazonEKSWorkerNodePolicy does). Writes an AWS CLI config and credentials with a profile
`bed-<account>` per account (credentials from sts:AssumeRole into it, which moto maps to that
account; `default` is the first account), and `bed-<account>-readonly` (a principal the clusters give
no Kubernetes rights), and prints {access key id: {account, role}} for the EKS stand-in.

usage: python seed_aws.py <endpoint> <clusters json> <out dir>
"""
import json
import os
import sys

import boto3

endpoint, clusters, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
accounts = sorted({c['account'] for c in clusters})
sts = boto3.client('sts', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id='seed', aws_secret_access_key='seed')
keys, creds_text, config_text = {}, [], []
for i, account in enumerate(accounts):
    creds = sts.assume_role(RoleArn='arn:aws:iam::%s:role/platform-operator' % account, RoleSessionName='operator')['Credentials']
    iam = boto3.client('iam', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id=creds['AccessKeyId'],
                       aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])
    for c in clusters:
        if c['account'] != account or c.get('recorded'):
            continue
        iam.create_open_id_connect_provider(Url=c['issuer'], ClientIDList=['sts.amazonaws.com'],
                                            ThumbprintList=['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'])
        name = 'eks-node-%s' % c['name']
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [
            {'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))
        iam.put_role_policy(RoleName=name, PolicyName='AmazonEKSWorkerNodePolicy', PolicyDocument=json.dumps({
            'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': ['ec2:Describe*', 'eks:DescribeCluster',
                                                                                  'eks-auth:AssumeRoleForPodIdentity'], 'Resource': '*'}]}))
    keys[creds['AccessKeyId']] = {'account': account, 'role': 'platform-operator'}
    body = 'aws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n' % (
        creds['AccessKeyId'], creds['SecretAccessKey'], creds['SessionToken'])
    creds_text.append('[bed-%s]\n%s' % (account, body))
    config_text.append('[profile bed-%s]\nregion = us-east-1\noutput = json\n' % account)
    ro = sts.assume_role(RoleArn='arn:aws:iam::%s:role/platform-readonly' % account, RoleSessionName='operator')['Credentials']
    keys[ro['AccessKeyId']] = {'account': account, 'role': 'platform-readonly'}
    creds_text.append('[bed-%s-readonly]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n' % (
        account, ro['AccessKeyId'], ro['SecretAccessKey'], ro['SessionToken']))
    config_text.append('[profile bed-%s-readonly]\nregion = us-east-1\noutput = json\n' % account)
    if i == 0:
        creds_text.append('[default]\n' + body)
        config_text.append('[default]\nregion = us-east-1\noutput = json\n')
with open(os.path.join(out, 'credentials'), 'w') as f:
    f.write('\n'.join(creds_text))
with open(os.path.join(out, 'config'), 'w') as f:
    f.write('\n'.join(config_text))
print(json.dumps(keys))
