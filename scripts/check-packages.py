"""Lists what the npm tarball and the Python wheel ship, and fails unless it is only the library.

The wheel embeds the npm tarball (jsii's `_jsii/*.tgz`), which is checked the same way. Allowed in
the tarball: package.json, README.md, LICENSE, API.md, .jsii and its rosetta tablet
(.jsii.tabl.json), lib/ (the compiled library and its declarations). Anything else (cdk.out, tests, examples, benchmarks,
scripts, reports, venvs) fails with the list of offending files.
"""
import glob
import io
import re
import sys
import tarfile
import zipfile

ALLOWED_TARBALL = re.compile(r"^package/(package\.json|README\.md|LICENSE|API\.md|CHANGELOG\.md|\.jsii|\.jsii\.tabl\.json|schemas/[a-z]+\.schema\.json|lib/.+\.(js|d\.ts|json))$")
# the operator command's own package (operator/, packed by scripts/pack-operator.sh)
ALLOWED_OPERATOR = re.compile(r"^package/(package\.json|README\.md|LICENSE|lib/[a-z-]+\.(js|d\.ts))$")
ALLOWED_WHEEL = re.compile(r"^(cdk_eks_pod_identity/(__init__\.py|py\.typed|_jsii/__init__\.py|_jsii/cdk-eks-pod-identity@[^/]+\.jsii\.tgz)"
                           r"|cdk_eks_pod_identity-[^/]+\.data/scripts/cdk-eks-pod-identity"
                           r"|cdk_eks_pod_identity-[^/]+\.dist-info/.+)$")


def check_tarball(name, data, allowed=ALLOWED_TARBALL):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
    bad = [n for n in names if not allowed.match(n)]
    print(f"{name}: {len(names)} files ({sum(1 for n in names if n.startswith('package/lib/'))} under lib/)")
    for n in bad:
        print(f"  NOT LIBRARY: {n}")
    return bad


def main():
    tarballs = glob.glob("dist/js/*.tgz")
    wheels = glob.glob("dist/python/*.whl")
    if not tarballs or not wheels:
        print("no packages under dist/: run the build first", file=sys.stderr)
        return 1
    bad = []
    for path in tarballs:
        operator = "/cdk-eks-pod-identity-operator-" in path
        bad += check_tarball(path, open(path, "rb").read(), ALLOWED_OPERATOR if operator else ALLOWED_TARBALL)
    for path in wheels:
        with zipfile.ZipFile(path) as wheel:
            names = sorted(wheel.namelist())
            print(f"{path}: {len(names)} files")
            for n in names:
                if not ALLOWED_WHEEL.match(n):
                    print(f"  NOT LIBRARY: {n}")
                    bad.append(n)
                if n.endswith(".jsii.tgz"):
                    bad += check_tarball(f"{path}!{n}", wheel.read(n))
    print(f"packages: {'only the library' if not bad else f'{len(bad)} files that are not the library'}")
    # before 1.0 the package says it is experimental, in npm's jsii stability and the wheel's classifiers
    stale = []
    for path in wheels:
        with zipfile.ZipFile(path) as wheel:
            metadata = next(wheel.read(n).decode() for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        version = re.search(r"^Version: (.+)$", metadata, re.M).group(1)
        if version.startswith("0.") and "Development Status :: 5 - Production/Stable" in metadata:
            stale.append(f"{path}: version {version} is classified Production/Stable")
    for s in stale:
        print(f"  NOT PRE-1.0: {s}")
    return 1 if bad or stale else 0


if __name__ == "__main__":
    sys.exit(main())
