"""The spark-submit engine on a real multi-process Spark cluster: a standalone master and a
worker, separate JVMs on 127.0.0.1 (`spark_cluster.py`), whose executors run a bare Python
that has nothing but `lake package`'s archive (./deps); raw and lake on S3 (SeaweedFS), the
only storage the driver and the executors share."""

import json
import os
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from dagster import materialize

from lake_assets.core import s3 as lake_s3
from lake_assets.core.generate import generate_raw
from lake_assets.core.query import connect, run, snapshots
from lake_assets.orchestration.assets.factory import table_assets
from lake_assets.orchestration.assets.immigration import immigration
from lake_assets.orchestration.engines import SubmitEngine
from lake_assets.orchestration.resources import LakeResource
from lake_assets.tools import package
from lake_assets_tests.core.test_s3 import upload
from lake_assets_tests.support.in_process import build_here
from lake_assets_tests.support.spark_cluster import SparkCluster, bare_python

dimension_assets = [a for a in table_assets if a.key.path[0].startswith("dim_")]

pytestmark = pytest.mark.slow

# The archive's wheels here: dagster-pipes and markupsafe (a small wheel with a compiled module:
# it must suit this machine's Python and architecture); `lake package` adds pyarrow, pandas,
# numpy, boto3 … the same way.
EXECUTOR_PACKAGES = ["dagster-pipes", "markupsafe"]
EXECUTOR_IMPORTS = Path(__file__).parents[1] / "support" / "executor_imports.py"


@pytest.fixture(scope="module")
def standalone(s3, tmp_path_factory):
    """A cluster of one worker (1 core, 1g), the archive, a bare Python for the executors, a
    generated April on S3, and the engine that submits to the cluster (`.engine`, `.engine_for(raw)`).
    The cluster's JVMs boot while pip fetches the archive's wheels and the raw folder is written."""
    tmp = tmp_path_factory.mktemp("standalone")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    cluster = SparkCluster(tmp / "cluster", cores=1, memory="1g").launch()
    try:
        with ThreadPoolExecutor(2) as pool, pytest.MonkeyPatch.context() as mp:
            packaged = pool.submit(package.build, tmp / "package", python=python, arch=platform.machine(),
                                   requirements=package.cluster_requirements(EXECUTOR_PACKAGES))
            executor_python = pool.submit(bare_python, tmp / "python")
            raw_dir = tmp / "raw"
            manifest = generate_raw(raw_dir, scale=0.0002, months=["2016-04"])
            for key, value in s3.env().items():
                mp.setenv(key, value)
            mp.setenv("LAKE_CATALOG", str(tmp / "catalog.db"))  # the Iceberg catalog: on the driver's machine
            mp.setenv("LAKE_ALLOW_LOCAL_CATALOG", "1")  # a test's own catalog (Glue's path: test_glue.py)
            lake_s3.reset()
            prefix = f"s3://{s3.bucket}/standalone"
            upload(raw_dir, f"{prefix}/raw")
            cluster.wait_ready()
            archive, executor_python = packaged.result()[0][package.DEPS_ARCHIVE], executor_python.result()
            # The executors' JVMs live seconds, as the drivers' do: the JIT options the tests give those.
            executor_jit = {"spark.executor.defaultJavaOptions": os.environ["SPARK_SUBMIT_OPTS"]}

            def lake(raw: str = f"{prefix}/raw", master: str = cluster.master_url) -> LakeResource:
                return LakeResource(raw_dir=raw, lake_dir=f"{prefix}/lake", spark_master=master, driver_memory="1g")

            def engine(raw: str = f"{prefix}/raw") -> SubmitEngine:
                return SubmitEngine(lake=lake(raw), deps_archive=str(archive), executor_python=executor_python,
                                    spark_conf=executor_jit)

            yield SimpleNamespace(engine=engine(), engine_for=engine, lake=lake, cluster=cluster, raw_dir=raw_dir,
                                  prefix=prefix, manifest=manifest)
    finally:
        cluster.stop()
    lake_s3.reset()
    assert not cluster.running(), "a process of the Spark cluster outlived it"


@pytest.fixture(scope="module")
def april(standalone, spark):
    """April built on the cluster (one spark-submit), on dimensions built in this process (the
    test session's local Spark) into the same lake: every spark-submit costs two JVMs here."""
    lake = standalone.lake()
    build_here(spark, lake.raw_dir, lake.lake_dir, lake.cache_dir, skip=("dim_temperature",))
    before = applications(standalone.cluster)
    month = materialize([*dimension_assets, immigration], resources={"engine": standalone.engine},
                        selection=[immigration], partition_key="2016-04-01", raise_on_error=False)
    return SimpleNamespace(result=month, applications=applications(standalone.cluster) - before)


def applications(cluster: SparkCluster) -> set[str]:
    """The applications the cluster's worker ran executors for."""
    return {p.name for p in (cluster.workdir / "work").glob("app-*")}


def failures(result) -> list[str]:
    """The error of each failed step."""
    return [e.step_failure_data.error.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]


def check_results(result) -> list:
    return [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]


def test_standalone_executors_import_lake_assets_only_from_the_archive(standalone):
    """An application submitted as the engine submits its steps: each executor's Python is the
    bare one, runs in the worker's work dir, finds lake_assets and the archive's packages in
    its own ./deps, and nothing of this environment (dagster, pyarrow are installed here)."""
    engine, work = standalone.engine, standalone.cluster.workdir / "work"
    done = subprocess.run([*engine.submit_command(), str(EXECUTOR_IMPORTS), "lake_assets.core.spark_job", "dagster_pipes",
                           "markupsafe._speedups", "dagster", "pyarrow"],
                          env={**os.environ, **engine.environment()}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    executors = [json.loads(line.removeprefix("EXECUTOR ")) for line in done.stdout.splitlines()
                 if line.startswith("EXECUTOR ")]
    assert len(executors) == 2
    for executor in executors:
        deps = f"{executor['cwd']}/deps/"
        assert executor["python"] == engine.executor_python
        assert Path(executor["cwd"]).is_relative_to(work), executor["cwd"]
        modules = executor["modules"]
        assert modules["lake_assets.core.spark_job"] == f"{deps}lake_assets/core/spark_job.py"
        assert modules["dagster_pipes"] == f"{deps}dagster_pipes/__init__.py"
        compiled = Path(modules["markupsafe._speedups"])  # _speedups.cpython-3XX-<arch>-linux-gnu.so
        assert compiled.parent == Path(f"{deps}markupsafe") and compiled.suffix == ".so", compiled
        assert modules["dagster"].startswith("ImportError") and modules["pyarrow"].startswith("ImportError")


def test_standalone_cluster_builds_a_generated_month_with_its_checks_through_pipes(standalone, april):
    result = april.result
    assert result.success, failures(result)
    assert len(april.applications) == 1  # the step ran on the cluster
    built = {m.asset_key.to_user_string(): m.metadata["rows"].value
             for m in result.asset_materializations_for_node("immigration")}
    checks = check_results(result)
    assert {c.asset_key.to_user_string() for c in checks} == set(built) == {"fact_immigration", "fact_immigration_rejects"}
    assert all(c.passed for c in checks if c.severity.value == "ERROR")

    # Read back without Spark, as analysts do (`lake query`): every raw row is in the fact or the rejects.
    (fact, rejects), = run(connect(standalone.engine.lake.lake_dir),
                           "select (select count(*) from fact_immigration where i94mon = 4), "
                           "(select count(*) from fact_immigration_rejects)")[1]
    assert (fact, rejects) == (built["fact_immigration"], built["fact_immigration_rejects"])
    assert fact + rejects == standalone.manifest["months"]["2016-04"]["rows"]


def test_standalone_failed_blocking_check_fails_the_step(standalone, april, tmp_path):
    """Temperatures land in °F: dim_temperature's domain check fails on the cluster, comes back
    through Pipes, fails the step, and nothing is published."""
    for path in (standalone.raw_dir / "temperature").iterdir():
        df = pd.read_csv(path)
        df["AverageTemperature"] = df["AverageTemperature"] * 9 / 5 + 32
        df.to_csv(tmp_path / path.name, index=False)
    upload(tmp_path, f"{standalone.prefix}/raw-fahrenheit/temperature")
    engine = standalone.engine_for(f"{standalone.prefix}/raw-fahrenheit")
    result = materialize([*dimension_assets], resources={"engine": engine}, selection=["dim_temperature"],
                         raise_on_error=False)

    assert not result.success
    assert any("dim_temperature.temperature_domain" in message for message in failures(result))
    failed = [c for c in check_results(result) if not c.passed and c.severity.value == "ERROR"]
    assert [(c.asset_key.to_user_string(), c.check_name, c.severity.value) for c in failed] == [
        ("dim_temperature", "temperature_domain", "ERROR")]
    assert failed[0].metadata["offending_rows"].value > 0
    published = {t.name: t.snapshot_id for t in snapshots(engine.lake.lake_dir)}
    assert published.get("dim_temperature") is None  # the table may exist: no snapshot of it was published
