"""Seeds the test bed's moto with the Northwind fleet's IAM, as its accounts hold it: the IRSA roles
(trust, inline and managed policies) and each recorded cluster's OIDC provider, one moto account per
AWS account (credentials from sts:AssumeRole into that account, as moto maps them). Writes an AWS
shared-credentials file with a profile `northwind-<account>` per account (IAM reads; the EKS calls go
through the bed's own profiles, which the EKS stand-in knows).

It can run again on the same bed (what exists is kept).

usage: python seed_iam.py <endpoint> <roles.json> <recorded clusters folder> <credentials file out>
"""
import glob
import os
import json
import sys

import boto3
from botocore.exceptions import ClientError

endpoint, roles_file, recorded, out = sys.argv[1:5]
roles = json.load(open(roles_file))
clusters = [json.load(open(f))['cluster'] for f in sorted(glob.glob(os.path.join(recorded, '*', 'describe-cluster.json')))]
accounts = sorted({r['arn'].split(':')[4] for r in roles} | {c['arn'].split(':')[4] for c in clusters})



def existing(create, **kw):
    try:
        create(**kw)
    except ClientError as e:
        if e.response['Error']['Code'] != 'EntityAlreadyExists':
            raise


sts = boto3.client('sts', endpoint_url=endpoint, region_name='us-east-1',
                   aws_access_key_id='seed', aws_secret_access_key='seed')
profiles = []
for account in accounts:
    creds = sts.assume_role(RoleArn=f'arn:aws:iam::{account}:role/collect-operator', RoleSessionName='seed')['Credentials']
    iam = boto3.client('iam', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id=creds['AccessKeyId'],
                       aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])
    for c in clusters:
        if c['arn'].split(':')[4] == account:
            existing(iam.create_open_id_connect_provider, Url=c['identity']['oidc']['issuer'], ClientIDList=['sts.amazonaws.com'],
                     ThumbprintList=['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'])
    for r in roles:
        if r['arn'].split(':')[4] != account:
            continue
        name = r['arn'].split('/')[-1]
        existing(iam.create_role, RoleName=name, AssumeRolePolicyDocument=json.dumps(r['trustPolicy']))
        for policy, doc in r['inlinePolicies'].items():
            iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(doc))
        for arn in r['managedPolicyArns']:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    profiles.append('[northwind-%s]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n'
                    % (account, creds['AccessKeyId'], creds['SecretAccessKey'], creds['SessionToken']))
with open(out, 'w') as f:
    f.write('\n'.join(profiles))
print(json.dumps(accounts))
