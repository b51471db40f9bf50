"""The Northwind demo: TypeScript and Python synthesize identical templates; templates pass cfn-lint;
manifests validate against the Kubernetes schema."""
import glob
import json
import os
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBERNETES_VERSION = "1.33"


@pytest.fixture(scope="module")
def outdirs(tmp_path_factory):
    ts_out = str(tmp_path_factory.mktemp("northwind-ts"))
    py_out = str(tmp_path_factory.mktemp("northwind-py"))
    subprocess.run(["npx", "ts-node", "--project", "tsconfig.dev.json", "examples/northwind/main.ts", ts_out],
                   cwd=REPO, check=True, capture_output=True, text=True)
    result = subprocess.run([sys.executable, "examples/northwind/main.py", py_out], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return ts_out, py_out


def load_templates(outdir):
    return {os.path.basename(p): json.load(open(p)) for p in glob.glob(os.path.join(outdir, "*.template.json"))}


def test_python_demo_synthesizes_identical_templates(outdirs):
    ts, py = (load_templates(d) for d in outdirs)
    assert len(ts) == 8
    assert sorted(ts) == sorted(py)
    for name in ts:
        assert ts[name] == py[name], name


def test_python_demo_writes_the_same_manifests_and_runbooks(outdirs):
    ts_out, py_out = outdirs
    for sub in ("k8s", "runbooks", "import"):
        ts_files = sorted(os.path.relpath(p, ts_out) for p in glob.glob(os.path.join(ts_out, sub, "**", "*"), recursive=True) if os.path.isfile(p))
        py_files = sorted(os.path.relpath(p, py_out) for p in glob.glob(os.path.join(py_out, sub, "**", "*"), recursive=True) if os.path.isfile(p))
        assert ts_files and ts_files == py_files
        for rel in ts_files:
            assert open(os.path.join(ts_out, rel)).read() == open(os.path.join(py_out, rel)).read(), rel


def test_demo_templates_pass_cfn_lint(outdirs):
    paths = sorted(glob.glob(os.path.join(outdirs[0], "*.template.json")))
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifests_validate_against_the_kubernetes_schema(outdirs):
    manifests = glob.glob(os.path.join(outdirs[0], "k8s", "*", "*.yaml"))
    assert len(manifests) >= 11
    count = 0
    for path in manifests:
        for doc in yaml.safe_load_all(open(path)):
            if doc is None:
                continue
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            assert doc["kind"] == "ServiceAccount"
            count += 1
    assert count > 0


def test_schema_validation_can_fail():
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"},
                                      "automountServiceAccountToken": "yes"}, KUBERNETES_VERSION, strict=True)


def test_runbooks_and_plan_index(outdirs):
    index = open(os.path.join(outdirs[0], "runbooks", "index.md")).read()
    assert "| wave1 | POD_IDENTITY | platform-prod-use1-blue | kube-system/cluster-autoscaler |" in index
    wave1 = open(os.path.join(outdirs[0], "runbooks", "wave1.md")).read()
    assert "npx cdk deploy -c pod-identity-migration:wave1=ANNOTATION_REMOVED 'Northwind/wave1-*'" in wave1
    assert "NO_PROXY=localhost,127.0.0.1,.svc,.cluster.local,169.254.169.254,169.254.170.23,[fd00:ec2::23]" in wave1


def test_runbook_stack_pattern_selects_the_wave_with_the_cdk_cli():
    """The deploy commands of the runbooks select the wave's stacks with the real CDK CLI."""
    app = "npx ts-node --project tsconfig.dev.json examples/northwind/main.ts"
    result = subprocess.run(["npx", "cdk", "ls", "--app", app, "-c", "pod-identity-migration:wave2=POD_IDENTITY", "Northwind/wave2-*"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    listed = sorted(line.split(" ")[0] for line in result.stdout.splitlines() if line.startswith("Northwind/"))
    # the wave's stacks (the association stack of eu-west-1 appears with POD_IDENTITY) and what they depend on
    assert "Northwind/wave2-111122223333-eu-west-1" in listed
    assert "Northwind/wave2-444455556666-us-east-1" in listed
    assert not any(s.startswith("Northwind/wave3") for s in listed)
