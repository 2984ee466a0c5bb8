"""The code EMR runs is pinned: `lake package --upload` puts each release under its own
sha256, the engines read that one, and the job refuses any other archive (no Spark, no AWS)."""

import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lake_assets import engines, package
from lake_assets.resources import LakeResource
from lake_assets.spark_job import tree_sha256

JOB_ARGS = ["dim_visa", "--raw", "r", "--lake", "l", "--cache", "c", "--catalog", "glue"]


def unpacked_release(root: Path) -> str:
    """A cluster's working folder: the entry point beside ./deps (a small archive holding its own
    copy); returns the archive's sha256."""
    shutil.copy(engines.ENTRY_POINT, root / "spark_job.py")
    (root / "deps" / "lake_assets").mkdir(parents=True)
    shutil.copy(engines.ENTRY_POINT, root / "deps" / "lake_assets" / "spark_job.py")
    (root / "deps" / "dagster_pipes").mkdir()
    (root / "deps" / "dagster_pipes" / "__init__.py").write_text("# the packaged dependency\n")
    return tree_sha256(root / "deps")


def run_job(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "spark_job.py", *JOB_ARGS, *args], cwd=root,
                          capture_output=True, text=True, timeout=60)


def test_the_job_runs_only_the_archive_it_was_pinned_to(tmp_path):
    sha256 = unpacked_release(tmp_path)
    # the right archive passes the check (and the job goes on: here, no Dagster to talk to)
    assert "not started by Dagster" in run_job(tmp_path, "--artifacts-sha256", sha256).stderr

    other = run_job(tmp_path, "--artifacts-sha256", "0" * 64)
    assert other.returncode == 1 and f"./deps is {sha256}, not the release {'0' * 64}" in other.stderr

    (tmp_path / "deps" / "dagster_pipes" / "__init__.py").write_text("# changed after the release\n")
    changed = run_job(tmp_path, "--artifacts-sha256", sha256)
    assert changed.returncode == 1 and "refusing to run" in changed.stderr


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
    from lake_assets.environments import resources_for

    monkeypatch.setenv("LAKE_S3_BUCKET", "lake")
    monkeypatch.delenv("LAKE_EMR_ARTIFACTS_SHA256", raising=False)
    with pytest.raises(ValueError, match="LAKE_EMR_ARTIFACTS_SHA256"):
        resources_for("emr")
