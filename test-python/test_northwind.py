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
    # 2 foundation, 3 role, 11 cluster, 11 add-on (vpc-cni) and 9 wave-record stacks
    assert len(ts) == 36
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
    assert "| canary | POD_IDENTITY | platform-prod-use1-blue | observability/telemetry-shipper |" in index
    assert "| wave1 | DUAL_TRUST | platform-prod-use1-blue | kube-system/cluster-autoscaler |" in index
    wave1 = open(os.path.join(outdirs[0], "runbooks", "wave1.md")).read()
    assert "| DUAL_TRUST → POD_IDENTITY **(next)** | `cdk.out/runbooks/wave1/DUAL_TRUST-to-POD_IDENTITY/` |" in wave1
    assert "cdk.out/runbooks/wave1/DUAL_TRUST-to-POD_IDENTITY/apply.sh --contexts contexts.tsv" in wave1
    assert "NO_PROXY=localhost,127.0.0.1,.svc,.cluster.local,169.254.169.254,169.254.170.23,[fd00:ec2::23]" in wave1
    assert len(wave1.splitlines()) < 120
    # the wave's scripts, executable, written by the Python app too: each runs the operator command (no lib.sh)
    for step in ("preflight", "apply", "verify", "rollback"):
        script = os.path.join(outdirs[1], "runbooks", "wave1", "DUAL_TRUST-to-POD_IDENTITY", step + ".sh")
        assert os.access(script, os.X_OK), script
        assert "cdk-eks-pod-identity-operator" in open(script).read(), script
    assert not os.path.exists(os.path.join(outdirs[1], "runbooks", "lib.sh"))


def test_scripts_deploy_the_wave_from_the_assembly_with_the_cdk_cli(outdirs):
    """apply.sh runs `cdk deploy --app <assembly> '<migration>/<wave>/*'`: the real CDK CLI selects the same
    stacks from the synthesized assembly as from the app, without synthesizing again."""
    from_app = sorted(line.split(" ")[0] for line in cdk_ls("Northwind/wave1/*").stdout.splitlines() if line.startswith("Northwind/"))
    result = subprocess.run(["npx", "cdk", "ls", "--app", outdirs[0], "Northwind/wave1/*"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    from_assembly = sorted(line.split(" ")[0] for line in result.stdout.splitlines() if line.startswith("Northwind/"))
    assert from_assembly == from_app


def cdk_ls(*args):
    app = "npx ts-node --project tsconfig.dev.json examples/northwind/main.ts"
    result = subprocess.run(["npx", "cdk", "ls", "--app", app, *args], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_runbook_stack_pattern_selects_the_wave_with_the_cdk_cli():
    """The runbooks' `cdk deploy '<migration>/<wave>/*'` selects the wave's phase records with the real CDK CLI,
    together with the role and association stacks they depend on (what `cdk deploy` deploys first)."""
    listed = sorted(line.split(" ")[0] for line in cdk_ls("Northwind/wave1/*").stdout.splitlines() if line.startswith("Northwind/"))
    assert [s for s in listed if not s.startswith(("Northwind/Roles/", "Northwind/Clusters/", "Northwind/Foundation/"))] == [
        "Northwind/wave1/111122223333-eu-west-1", "Northwind/wave1/111122223333-us-east-1"]
    assert "Northwind/Roles/111122223333" in listed
    assert len([s for s in listed if s.startswith("Northwind/Clusters/")]) == 11
    # no wave name is a prefix of another's pattern; the canary selects its one cluster, its roles and the agents there
    canary = sorted(line.split(" ")[0] for line in cdk_ls("Northwind/canary/*").stdout.splitlines() if line.startswith("Northwind/"))
    assert canary == [
        "Northwind/Clusters/platform-prod-use1-blue-111122223333-us-east-1",
        "Northwind/Foundation/111122223333-us-east-1",
        "Northwind/Roles/111122223333",
        "Northwind/Roles/999988887777",
        "Northwind/canary/111122223333-us-east-1",
    ]


def test_a_wave_name_typo_in_context_fails_the_cli():
    app = "npx ts-node --project tsconfig.dev.json examples/northwind/main.ts"
    result = subprocess.run(["npx", "cdk", "ls", "--app", app, "-c", "pod-identity-migration:wave-1=POD_IDENTITY"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert "context pod-identity-migration:wave-1=POD_IDENTITY names no wave of this migration; the waves are canary, wave1, wave2, wave3, cni." in result.stderr
