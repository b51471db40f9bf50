"""Seeds a moto server with the Northwind IRSA roles and OIDC providers, one moto account per AWS
account (credentials from sts:AssumeRole into that account, as moto maps them), and writes an AWS
shared-credentials file with a profile `northwind-<account>` per account.

usage: python moto_seed.py <endpoint> <roles.json> <clusters.json> <credentials file out>
"""
import json
import sys

import boto3

endpoint, roles_file, clusters_file, out = sys.argv[1:5]
roles = json.load(open(roles_file))
clusters = json.load(open(clusters_file))
accounts = sorted({r['arn'].split(':')[4] for r in roles} | {c['clusterArn'].split(':')[4] for c in clusters})

sts = boto3.client('sts', endpoint_url=endpoint, region_name='us-east-1',
                   aws_access_key_id='seed', aws_secret_access_key='seed')
profiles = []
for account in accounts:
    creds = sts.assume_role(RoleArn=f'arn:aws:iam::{account}:role/collect-operator', RoleSessionName='seed')['Credentials']
    iam = boto3.client('iam', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id=creds['AccessKeyId'],
                       aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])
    for c in clusters:
        if c['clusterArn'].split(':')[4] == account:
            iam.create_open_id_connect_provider(Url='https://' + c['oidcIssuer'], ClientIDList=['sts.amazonaws.com'],
                                                ThumbprintList=['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'])
    for r in roles:
        if r['arn'].split(':')[4] != account:
            continue
        name = r['arn'].split('/')[-1]
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(r['trustPolicy']))
        for policy, doc in r['inlinePolicies'].items():
            iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(doc))
        for arn in r['managedPolicyArns']:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    profiles.append('[northwind-%s]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n'
                    % (account, creds['AccessKeyId'], creds['SecretAccessKey'], creds['SessionToken']))
with open(out, 'w') as f:
    f.write('\n'.join(profiles))
print(json.dumps(accounts))
