"""A migration state written in Python with plain values: a wave's history may hold phase names,
MigrationPhase members, PhaseRecord structs or dicts; anything else fails synthesis at once, naming
the wave and the entry (not in a jsii deserialization tree)."""
import os
import tempfile

import pytest
from aws_cdk import App
from cdk_eks_pod_identity import (IrsaInventory, MigrationPhase, MigrationPlan, MigrationState, MigrationWave, OidcProviderStep,
                                  PhaseRecord, PodIdentityCluster, PodIdentityMigration, ServiceAccountSelector)

CLUSTER = PodIdentityCluster.from_cluster_attributes(
    cluster_name="c", cluster_arn="arn:aws:eks:us-east-1:111122223333:cluster/c", oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/" + "A" * 32)


def migrate(placement, state):
    inventory = IrsaInventory()
    inventory.add_entry(cluster="c", namespace="apps", service_account="web", role_arn="arn:aws:iam::111122223333:role/web")
    app = App(outdir=tempfile.mkdtemp())
    migration = PodIdentityMigration(app, "M", clusters=[CLUSTER], inventory=inventory, state=state, placement_file=placement,
                                     plan=MigrationPlan(waves=[MigrationWave(name="apps", select=[ServiceAccountSelector(namespace="apps")])],
                                                        roles={"web": {"statements": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}))
    app.synth()
    return migration


@pytest.mark.parametrize("second", ["DUAL_TRUST", MigrationPhase.DUAL_TRUST, PhaseRecord(phase=MigrationPhase.DUAL_TRUST, note="CHG-1"),
                                    {"phase": "DUAL_TRUST", "note": "CHG-1"}], ids=["name", "enum", "struct", "dict"])
def test_history_entries_as_plain_values(second):
    placement = os.path.join(tempfile.mkdtemp(), "placement.json")
    migrate(placement, MigrationState(waves={"apps": ["IRSA_ONLY"]}))
    assert migrate(placement, MigrationState(waves={"apps": ["IRSA_ONLY", second]})).phase_of("apps") == MigrationPhase.DUAL_TRUST


def test_provider_steps_as_names():
    # read as steps: ADOPTED is refused while the wave's role still trusts the cluster's provider
    placement = os.path.join(tempfile.mkdtemp(), "placement.json")
    migrate(placement, MigrationState(waves={"apps": ["IRSA_ONLY"]}))
    for adopted in ["ADOPTED", OidcProviderStep.ADOPTED, {"step": "ADOPTED"}]:
        with pytest.raises(Exception) as failure:
            migrate(placement, MigrationState(waves={"apps": ["IRSA_ONLY"]}, oidc_providers={"c": ["KEPT", adopted]}))
        assert 'the OIDC provider of cluster "c" cannot be at ADOPTED (recorded in the state): still used by role arn:aws:iam::111122223333:role/web' in str(failure.value)
    assert migrate(placement, MigrationState(waves={"apps": ["IRSA_ONLY"]}, oidc_providers={"c": ["KEPT", OidcProviderStep.KEPT]})).phase_of("apps") == MigrationPhase.IRSA_ONLY


def test_anything_else_fails_naming_the_wave_and_the_entry():
    placement = os.path.join(tempfile.mkdtemp(), "placement.json")
    with pytest.raises(Exception) as failure:
        migrate(placement, MigrationState(waves={"apps": ["IRSA_ONLY", 2]}))
    assert 'the state of wave "apps", entry 2: expected a phase name or { "phase": ..., "note"?: ... }; got 2.' in str(failure.value)
    assert "Unable to deserialize" not in str(failure.value)
