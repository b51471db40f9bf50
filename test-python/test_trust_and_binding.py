"""Each trust and binding construct used once from Python, against the installed wheel."""
import json

import pytest
from aws_cdk import App, Aspects, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template

from cdk_eks_pod_identity import (
    AgentStatus,
    CrossAccountPodRole,
    DualTrustRole,
    MigrationPhase,
    NamespaceScopedPolicy,
    PodIdentityBinding,
    PodIdentityChecks,
    PodIdentityCluster,
    ServiceAccountRef,
)

ACCOUNT = "111122223333"
ENV = Environment(account=ACCOUNT, region="us-east-1")
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/DF75D6E91EF1EBC6E151576E19DDAE75"


def cluster():
    return PodIdentityCluster.from_cluster_attributes(
        cluster_name="platform",
        cluster_arn=f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/platform",
        oidc_issuer=ISSUER,
        agent_status=AgentStatus.PRE_INSTALLED,
    )


def test_dual_trust_role_and_binding():
    stack = Stack(App(), "S", env=ENV)
    c = cluster()
    role = DualTrustRole(
        stack, "Checkout",
        phase=MigrationPhase.POD_IDENTITY,
        role_name="payments-checkout",
        irsa_trusts=[ServiceAccountRef(cluster=c, namespace="payments", service_account="checkout")],
    )
    PodIdentityBinding(stack, "Binding", cluster=c, namespace="payments", service_account="checkout", role=role)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {
        "RoleName": "payments-checkout",
        "AssumeRolePolicyDocument": {"Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:payments:checkout", f"{ISSUER}:aud": "sts.amazonaws.com"}},
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {"StringEquals": {
                    "aws:SourceAccount": ACCOUNT,
                    "aws:RequestTag/kubernetes-namespace": "payments",
                    "aws:RequestTag/kubernetes-service-account": "checkout",
                }},
            },
        ]},
    })
    template.has_resource_properties("AWS::EKS::PodIdentityAssociation", {"Namespace": "payments", "ServiceAccount": "checkout"})
    assert 0 < role.trust_policy_length <= role.trust_policy_max_length


def test_session_policy_needs_tags_off():
    stack = Stack(App(), "S", env=ENV)
    role = DualTrustRole(stack, "R", phase=MigrationPhase.POD_IDENTITY_ONLY, pin_service_accounts=False)
    with pytest.raises(Exception, match="`sessionPolicy` requires `sessionTags: false`"):
        PodIdentityBinding(stack, "B", cluster=cluster(), namespace="payments", service_account="checkout", role=role,
                           session_policy=iam.PolicyDocument())


def test_cross_account_pod_role():
    app = App()
    platform = Stack(app, "Platform", env=ENV)
    data = Stack(app, "Data", env=Environment(account="444455556666", region="us-east-1"))
    chain = CrossAccountPodRole(platform, "Ingest", cluster=cluster(), namespace="data-pipeline", service_account="ingest",
                                target_stack=data, session_tags=False, association_role_name="pod-id-ingest",
                                target_role_name="cross-acct-ingest")
    assert chain.external_id == f"us-east-1/{ACCOUNT}/platform/data-pipeline/ingest"
    Template.from_stack(data).has_resource_properties("AWS::IAM::Role", {
        "RoleName": "cross-acct-ingest",
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/pod-id-ingest"},
                "StringEquals": {"sts:ExternalId": chain.external_id},
            },
        })]},
    })
    Template.from_stack(platform).has_resource_properties("AWS::EKS::PodIdentityAssociation", {"DisableSessionTags": True})


def test_namespace_scoped_policy():
    stack = Stack(App(), "S", env=ENV)
    NamespaceScopedPolicy(
        stack, "Tenants",
        namespace_prefixes=["tenant-a-"],
        deny_namespaces=["tenant-a-internal"],
        statements=[NamespaceScopedPolicy.s3_objects_under_namespace_prefix("arn:aws:s3:::tenant-data", ["s3:GetObject"])],
    )
    document = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy"))
    assert '"StringLike": {"aws:PrincipalTag/kubernetes-namespace": ["tenant-a-*"]}' in document
    assert '"Effect": "Deny"' in document
    assert "${aws:PrincipalTag/kubernetes-namespace}/*" in document


def test_pod_identity_checks_flags_a_trust_without_tag_session():
    from aws_cdk import aws_eks as eks
    app = App()
    stack = Stack(app, "S", env=ENV)
    Aspects.of(app).add(PodIdentityChecks())
    role = iam.CfnRole(stack, "Role", assume_role_policy_document={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    })
    eks.CfnPodIdentityAssociation(stack, "Assoc", cluster_name="c1", namespace="payments", service_account="checkout", role_arn=role.attr_arn)
    Annotations.from_stack(stack).has_error("/S/Assoc", Match.string_like_regexp("does not allow pods.eks.amazonaws.com to sts:TagSession"))
