"""ServiceAccountChart from Python: the package exports it lazily (lib/index.js loads cdk8s only
when it is first used, scripts/lazy-exports.ts), and through jsii it works as any other class."""
import json

import cdk8s

from cdk_eks_pod_identity import IrsaInventory, MigrationPhase, ServiceAccountChart

ROLE = "arn:aws:iam::111122223333:role/web-api"


def inventory():
    inv = IrsaInventory()
    inv.add_service_accounts_json("c1", json.dumps({
        "kind": "List",
        "items": [
            {"kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "web", "labels": {"team": "web"},
                                                    "annotations": {"eks.amazonaws.com/role-arn": ROLE}}},
            {"kind": "ServiceAccount", "metadata": {"name": "autoscaler", "namespace": "kube-system",
                                                    "labels": {"app.kubernetes.io/managed-by": "Helm"},
                                                    "annotations": {"meta.helm.sh/release-name": "autoscaler",
                                                                    "eks.amazonaws.com/role-arn": ROLE}}},
        ],
    }))
    return inv.service_accounts


def test_chart_renders_the_phase_annotation():
    kept = ServiceAccountChart(cdk8s.App(), "c1-pod-identity", service_accounts=inventory(), phase=MigrationPhase.POD_IDENTITY)
    removed = ServiceAccountChart(cdk8s.App(), "c1-removed", service_accounts=inventory(), phase=MigrationPhase.ANNOTATION_REMOVED)
    assert [m["metadata"] for m in kept.to_json()] == [
        {"name": "api", "namespace": "web", "labels": {"team": "web"}, "annotations": {"eks.amazonaws.com/role-arn": ROLE}},
    ]
    assert [m["metadata"] for m in removed.to_json()] == [{"name": "api", "namespace": "web", "labels": {"team": "web"}}]
    assert [sa.service_account for sa in removed.helm_managed] == ["autoscaler"]


def test_static_helpers():
    assert ServiceAccountChart.no_proxy_value("10.0.0.0/8") == "10.0.0.0/8,169.254.170.23,[fd00:ec2::23]"
    sa = inventory()[1]
    assert json.loads(ServiceAccountChart.helm_patch(sa, MigrationPhase.ANNOTATION_REMOVED)) == {
        "metadata": {"annotations": {"eks.amazonaws.com/role-arn": None}},
    }
