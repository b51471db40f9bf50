"""The wheel installs the package's command, `cdk-eks-pod-identity` (jsii runs the npm package's bin
script, lib/collect/cli.js, on Node.js): its usage, and a clear error with exit 1 for a context the
kubeconfig does not have (with the real kubectl when the tools are installed, else none on PATH)."""
import os
import shutil
import subprocess
import sys

import pytest

COMMAND = os.path.join(os.path.dirname(sys.executable), "cdk-eks-pod-identity")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBECTL = os.path.join(REPO, ".tools", "kubernetes-client", "usr", "bin", "kubectl")


def run(*args, env=None):
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, env=env, timeout=300)


def test_the_command_is_installed_and_prints_its_usage():
    assert os.access(COMMAND, os.X_OK)
    r = run("--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: cdk-eks-pod-identity collect --context <kubeconfig context> [--context ...] --out <fleet folder>")


def test_a_usage_error_exits_2():
    r = run("collect", "--context", "a")
    assert r.returncode == 2
    assert "\ncollect: --out is missing: give the fleet folder to write.\nusage: " in f"\n{r.stderr}"


@pytest.mark.skipif(not os.path.exists(KUBECTL), reason="kubectl is installed by scripts/install-tools.sh")
def test_a_missing_context_exits_1_naming_it(tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text('{"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(KUBECTL, bin_dir / "kubectl")
    env = {**os.environ, "KUBECONFIG": str(config), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    r = run("collect", "--context", "prod", "--out", str(tmp_path / "fleet"), env=env)
    assert r.returncode == 1, r.stderr
    # the last line (jsii's kernel may warn about the Node.js version before it)
    assert r.stderr.strip().splitlines()[-1] == (f'collect: context "prod" is not in the kubeconfig ({config}); it has no contexts. '
                                'Add it with: aws eks update-kubeconfig --name <cluster> --region <region> --alias prod')
    assert not (tmp_path / "fleet").exists()
    assert shutil.which("kubectl", path=env["PATH"]) == str(bin_dir / "kubectl")
