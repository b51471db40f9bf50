"""The package check (scripts/check-packages.py, run by scripts/test-all.sh) can fail: a tarball with
the demo's cdk.out, tests or examples is refused, the library alone passes."""
import importlib.util
import io
import os
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("check_packages", os.path.join(REPO, "scripts", "check-packages.py"))
check_packages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_packages)


def tarball(*names):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    return data.getvalue()


def test_the_library_alone_passes():
    assert check_packages.check_tarball("t.tgz", tarball(
        "package/package.json", "package/README.md", "package/LICENSE", "package/API.md", "package/.jsii",
        "package/.jsii.tabl.json", "package/lib/index.js", "package/lib/index.d.ts", "package/schemas/plan.schema.json")) == []


def test_cdk_out_tests_and_examples_are_refused():
    bad = check_packages.check_tarball("t.tgz", tarball(
        "package/lib/index.js", "package/cdk.out/manifest.json", "package/test/x.test.ts",
        "package/examples/northwind/main.ts", "package/.venv/bin/python"))
    assert bad == ["package/.venv/bin/python", "package/cdk.out/manifest.json", "package/examples/northwind/main.ts", "package/test/x.test.ts"]
