"""The example app's templates: one agent add-on per cluster that needs one, and cfn-lint clean."""
import glob
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("agent-addon")
    subprocess.run(
        ["npx", "ts-node", "--project", "tsconfig.dev.json", "examples/agent-addon/main.ts", str(outdir)],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    return outdir


def templates(outdir):
    return sorted(glob.glob(os.path.join(str(outdir), "*.template.json")))


def test_one_addon_per_cluster_that_needs_one(assembly):
    clusters = json.load(open(os.path.join(REPO, "examples/northwind/fleet/clusters.json")))
    expected = sorted(c["name"] for c in clusters if c["podIdentityAgent"] == "NOT_INSTALLED")
    addons = []
    for path in templates(assembly):
        for resource in json.load(open(path))["Resources"].values():
            if resource["Type"] == "AWS::EKS::Addon":
                assert resource["Properties"]["AddonName"] == "eks-pod-identity-agent"
                addons.append(resource["Properties"]["ClusterName"])
    assert sorted(addons) == expected
    assert "tenant-c-use1" not in addons  # Auto Mode


def test_templates_pass_cfn_lint(assembly):
    paths = templates(assembly)
    assert len(paths) == 2
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
