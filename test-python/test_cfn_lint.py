"""cfn-lint over every template the jest tests synthesized (test-reports/cfn-templates)."""
import glob
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = sorted(glob.glob(os.path.join(REPO, "test-reports", "cfn-templates", "*.template.json")))


def test_jest_wrote_templates():
    assert len(TEMPLATES) >= 20, "run jest first: it writes the templates it synthesizes"


def test_every_jest_template_passes_cfn_lint():
    cfn_lint = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
    result = subprocess.run([cfn_lint, *TEMPLATES], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
