"""The agent add-on used from Python, against the installed wheel."""
import json

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Annotations, Match, Template

import cdk_eks_pod_identity
from cdk_eks_pod_identity import (
    AddonConflictResolution,
    AgentStatus,
    ComputeType,
    PodIdentityAgentAddon,
    PodIdentityCluster,
)

ENV = Environment(account="111122223333", region="us-east-1")


def cluster(name, **extra):
    return PodIdentityCluster.from_cluster_attributes(
        cluster_name=name,
        cluster_arn=f"arn:aws:eks:us-east-1:111122223333:cluster/{name}",
        **extra,
    )


def test_imported_from_installed_wheel():
    assert "site-packages" in cdk_eks_pod_identity.__file__


def test_addon_template():
    stack = Stack(App(), "S", env=ENV)
    addon = PodIdentityAgentAddon(
        stack,
        "Agent",
        cluster=cluster("c1"),
        addon_version="v1.3.4-eksbuild.1",
        resolve_conflicts=AddonConflictResolution.NONE,
        configuration_values={"tolerations": [{"operator": "Exists"}]},
    )
    assert addon.installed
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EKS::Addon", 1)
    template.has_resource_properties(
        "AWS::EKS::Addon",
        {
            "AddonName": "eks-pod-identity-agent",
            "ClusterName": "c1",
            "AddonVersion": "v1.3.4-eksbuild.1",
            "ResolveConflicts": "NONE",
            "PreserveOnDelete": True,
            "ConfigurationValues": json.dumps({"tolerations": [{"operator": "Exists"}]}, separators=(",", ":")),
        },
    )


@pytest.mark.parametrize(
    "extra, reason",
    [
        ({"compute_type": ComputeType.AUTO_MODE}, "EKS Auto Mode has the agent built in"),
        ({"agent_status": AgentStatus.PRE_INSTALLED}, "the agent is declared PRE_INSTALLED"),
    ],
)
def test_no_addon_when_the_agent_is_there(extra, reason):
    stack = Stack(App(), "S", env=ENV)
    addon = PodIdentityAgentAddon(stack, "Agent", cluster=cluster("c1", **extra))
    assert not addon.installed
    Template.from_stack(stack).resource_count_is("AWS::EKS::Addon", 0)
    Annotations.from_stack(stack).has_info("/S/Agent", Match.string_like_regexp(reason))


def test_second_addon_for_the_same_cluster_is_an_error():
    app = App()
    first = PodIdentityAgentAddon(Stack(app, "S1", env=ENV), "Agent", cluster=cluster("c1"))
    with pytest.raises(Exception, match="already has a PodIdentityAgentAddon at 'S1/Agent'"):
        PodIdentityAgentAddon(Stack(app, "S2", env=ENV), "Agent", cluster=cluster("c1"))
    assert PodIdentityAgentAddon.for_cluster(app, cluster("c1")).node.path == first.node.path


def test_fargate_is_an_error():
    stack = Stack(App(), "S", env=ENV)
    with pytest.raises(Exception, match="EKS Pod Identity does not support Fargate pods"):
        PodIdentityAgentAddon(stack, "Agent", cluster=cluster("c1", compute_type=ComputeType.FARGATE))


def test_bad_attributes_are_an_error():
    with pytest.raises(Exception, match='invalid clusterArn "arn:aws:eks:us-east-1:1:cluster/c1"'):
        PodIdentityCluster.from_cluster_attributes(cluster_name="c1", cluster_arn="arn:aws:eks:us-east-1:1:cluster/c1")
