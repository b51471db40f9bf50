/**
 * The roles collected from IAM (roles.json): an adopted role's plan entry must mean what IAM holds;
 * a role without an entry takes the collected permissions.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { FLEET, northwindProps, synthNorthwind, templates } from './northwind';
import { MigrationFiles, PodIdentityMigration } from '../../src';

describe('collected roles', () => {
  test('Northwind: the plan\'s entries mean what IAM holds; the CNI roles, with no entry, take the collected managed policy', () => {
    const { assembly } = synthNorthwind();
    const roles = Object.values(templates(assembly)).flatMap((t) => Object.values<any>(t.Resources ?? {})).filter((r) => r.Type === 'AWS::IAM::Role');
    const cni = roles.find((r) => r.Properties.RoleName === 'AmazonEKS_CNI_tenant-a-use1');
    expect(cni.Properties.ManagedPolicyArns).toEqual(['arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy']);
    expect(cni.Properties.Policies).toBeUndefined();
  });

  test('a plan entry that differs from IAM fails synthesis with the difference', () => {
    const props = northwindProps();
    const plan = { ...props.plan, roles: { ...props.plan.roles, 'opensearch-writer': { account: '111122223333', statements: [{ Effect: 'Allow', Action: ['es:ESHttpGet'], Resource: 'arn:aws:es:*:111122223333:domain/catalog/*' }] } } };
    expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, plan })).toThrow(
      "PodIdentityMigration at 'Northwind': role arn:aws:iam::111122223333:role/opensearch-writer: the plan's roles[\"opensearch-writer\"] differs from what IAM holds (collected): "
      + 'statement {"Action":["es:ESHttpGet","es:ESHttpPost","es:ESHttpPut"],"Effect":"Allow","Resource":["arn:aws:es:*:111122223333:domain/catalog/*"]} is in IAM, not in the plan; '
      + 'statement {"Action":["es:ESHttpGet"],"Effect":"Allow","Resource":["arn:aws:es:*:111122223333:domain/catalog/*"]} is in the plan, not in IAM. '
      + 'Adopting the role as declared would change what it may do today: make roles["opensearch-writer"] say what IAM holds, or remove it to take the collected permissions.');
    // a pattern entry is checked against each role it covers
    const collected = props.collectedRoles!.map((r) => (r.arn.endsWith('/cluster-autoscaler-batch-use1') ? { ...r, managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] } : r));
    expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, collectedRoles: collected })).toThrow(
      'role arn:aws:iam::111122223333:role/cluster-autoscaler-batch-use1: the plan\'s roles["cluster-autoscaler-*"] differs from what IAM holds (collected): '
      + 'managed policy arn:aws:iam::aws:policy/ReadOnlyAccess is attached in IAM, not in the plan. Adopting the role as declared would change what it may do today: make roles["cluster-autoscaler-*"] say what IAM holds.');
  });

  test('a role neither declared nor collected', () => {
    const props = northwindProps();
    const collected = props.collectedRoles!.filter((r) => !r.arn.endsWith('/AmazonEKS_CNI_batch-use1'));
    expect(() => new PodIdentityMigration(new App(), 'Northwind', { ...props, collectedRoles: collected })).toThrow(
      "PodIdentityMigration at 'Northwind': role \"AmazonEKS_CNI_batch-use1\" has no permissions in the plan and was not collected. Adopting it would replace what it may do today with nothing: "
      + 'declare roles["AmazonEKS_CNI_batch-use1"] with its statements and managedPolicyArns (what the role may do today), collect it into roles.json, or exclude its service accounts.');
  });

  test('roles.json: checked against its schema; a role listed twice', () => {
    const text = fs.readFileSync(path.join(FLEET, 'roles.json'), 'utf8');
    expect(MigrationFiles.collectedRolesFromJson(text)).toHaveLength(32);
    expect(() => MigrationFiles.collectedRolesFromJson('[{"arn": "arn:aws:iam::111122223333:role/x", "trustPolicy": {}, "inlinePolicies": {}}]', 'roles.json')).toThrow(
      /^MigrationFiles: roles.json: \$\[0\]: missing "managedPolicyArns"/);
    const one = { arn: 'arn:aws:iam::111122223333:role/x', trustPolicy: {}, inlinePolicies: {}, managedPolicyArns: [] };
    expect(() => MigrationFiles.collectedRolesFromJson(JSON.stringify([one, one]), 'roles.json')).toThrow(
      'MigrationFiles: roles.json: $[1].arn: arn:aws:iam::111122223333:role/x is listed twice; give each role once.');
  });
});
