import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import {
  CrossAccountPodRole, DualTrustRole, MigrationPhase, NamespaceScopedPolicy,
  PodIdentityAgentAddon, PodIdentityBinding, PodIdentityChecks, PodIdentityCluster, PodIdentityMigration,
} from '../src';
import { northwindProps } from './migration/northwind';
import { templateOf } from './util/synth';

/**
 * cdk-nag's AwsSolutions pack over an app that uses every construct. Every finding that remains is
 * suppressed here with its reason; anything else fails the test.
 */
describe('cdk-nag AwsSolutionsChecks', () => {
  test('no unexplained finding on an app using every construct', () => {
    // GIVEN
    const app = new App();
    const stack = new Stack(app, 'Platform', { env: { account: '111122223333', region: 'us-east-1' } });
    const data = new Stack(app, 'Data', { env: { account: '444455556666', region: 'us-east-1' } });
    const cluster = PodIdentityCluster.fromClusterAttributes({
      clusterName: 'platform',
      clusterArn: 'arn:aws:eks:us-east-1:111122223333:cluster/platform',
      oidcIssuer: 'oidc.eks.us-east-1.amazonaws.com/id/DF75D6E91EF1EBC6E151576E19DDAE75',
    });
    new PodIdentityAgentAddon(stack, 'Agent', { cluster });
    const role = new DualTrustRole(stack, 'Checkout', {
      phase: MigrationPhase.POD_IDENTITY,
      roleName: 'payments-checkout',
      irsaTrusts: [{ cluster, namespace: 'payments', serviceAccount: 'checkout' }],
    });
    new PodIdentityBinding(stack, 'CheckoutBinding', { cluster, namespace: 'payments', serviceAccount: 'checkout', role });
    const tenantData = new NamespaceScopedPolicy(stack, 'TenantData', {
      namespacePrefixes: ['tenant-'],
      statements: [NamespaceScopedPolicy.s3ObjectsUnderNamespacePrefix('arn:aws:s3:::tenant-data', ['s3:GetObject'])],
      roles: [role],
    });
    const chain = new CrossAccountPodRole(stack, 'Ingest', {
      cluster,
      namespace: 'data-pipeline',
      serviceAccount: 'ingest',
      targetStack: data,
      targetInlinePolicies: {
        ingest: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::ingest-bucket/*'] })] }),
      },
    });
    Aspects.of(app).add(new PodIdentityChecks());
    Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));

    // Explained findings (the README lists them too)
    NagSuppressions.addResourceSuppressions(tenantData, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The object wildcard is under ${aws:PrincipalTag/kubernetes-namespace}/: each namespace reaches only its own prefix (ABAC by session tags).',
      appliesTo: ['Resource::arn:aws:s3:::tenant-data/<aws:PrincipalTag/kubernetes-namespace>/*'],
    }], true);
    NagSuppressions.addResourceSuppressions(chain.targetRole, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The user-supplied target permissions write objects under one bucket; not a construct default.',
      appliesTo: ['Resource::arn:aws:s3:::ingest-bucket/*'],
    }], true);

    // WHEN
    for (const s of [stack, data]) {
      templateOf(s);
    }

    // THEN
    for (const s of [stack, data]) {
      const findings = [
        ...Annotations.fromStack(s).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ...Annotations.fromStack(s).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ].map((m) => `${m.id}: ${m.entry.data}`);
      expect(findings).toEqual([]);
      expect(Annotations.fromStack(s).findError('*', Match.anyValue())).toEqual([]);
    }
  });
});

describe('cdk-nag AwsSolutionsChecks on the Northwind migration', () => {
  test('every finding is on the permissions the plan declares for adopted roles, none on what the library adds', () => {
    // GIVEN every wave at POD_IDENTITY (the most resources: dual trusts and associations)
    const app = new App();
    const migration = new PodIdentityMigration(app, 'Northwind', northwindProps({
      canary: MigrationPhase.POD_IDENTITY, wave1: MigrationPhase.POD_IDENTITY, wave2: MigrationPhase.POD_IDENTITY, wave3: MigrationPhase.POD_IDENTITY,
    }));
    Aspects.of(app).add(new AwsSolutionsChecks());

    // WHEN
    app.synth();

    // THEN
    const findings = migration.stacks.flatMap((s) => [
      ...Annotations.fromStack(s).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...Annotations.fromStack(s).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ]);
    expect(findings.length).toBeGreaterThan(0);
    // what the plan declares, or IAM holds for the roles the plan has no entry for (the collected roles)
    const props = northwindProps();
    const declared = JSON.stringify([props.plan.roles, props.collectedRoles!.map((r) => [r.inlinePolicies, r.managedPolicyArns])]);
    for (const f of findings) {
      // e.g. "AwsSolutions-IAM5[Resource::*]: ...": the rule, and what it flags
      const [, rule, flagged] = /^(AwsSolutions-IAM[45])\[(?:Resource|Policy)::([^\]]+)\]/.exec(String(f.entry.data)) ?? [];
      // IAM5 on the plan's statements (today's wildcards), IAM4 on the plan's AWS managed policy
      const onPlanPermissions = rule !== undefined && /^\/Northwind\/Roles\/\d{12}\/[^/]+\/Resource$/.test(f.id) && declared.includes(JSON.stringify(flagged));
      expect([f.id, String(f.entry.data).slice(0, 80), onPlanPermissions]).toEqual([f.id, String(f.entry.data).slice(0, 80), true]);
    }
  });
});
