"""The fleet-file readers take the file's text; a Python user who already parsed it (a dict or a
list) is told at once which type is expected, before anything runs."""
import json

import pytest
from cdk_eks_pod_identity import IrsaInventory, MigrationFiles


@pytest.mark.parametrize("reader, parsed", [
    (MigrationFiles.plan_from_json, {"waves": []}),
    (MigrationFiles.state_from_json, {"waves": {}}),
    (MigrationFiles.clusters_from_json, []),
    (MigrationFiles.collected_roles_from_json, []),
], ids=["plan", "state", "clusters", "roles"])
def test_a_parsed_value_fails_naming_the_expected_type(reader, parsed):
    with pytest.raises(TypeError) as failure:
        reader(parsed)
    assert "type of argument json must be str" in str(failure.value)
    # the same value as text is read
    assert reader(json.dumps(parsed)) is not None


def test_inventory_json_readers_name_the_expected_type():
    with pytest.raises(TypeError) as failure:
        IrsaInventory().add_service_accounts_json("c1", {"apiVersion": "v1", "kind": "List", "items": []})
    assert "must be str" in str(failure.value)
