"""Shared fixtures: one Spark session for the whole test run, the real data, the real April lake and
a generated sample lake, the servers; the markers each test gets, and the guard that keeps JVMs out of `not spark`."""

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
# The real source files (never copied into the project): $LAKE_SHARED_DATA or ../shared/data.
SHARED_DATA = Path(os.getenv("LAKE_SHARED_DATA", PROJECT.parent / "shared" / "data"))
APRIL_ROWS = 3_096_313


def table_sql(lake, table: str, snapshot_id: int | None = None) -> str:
    """DuckDB SQL reading a table of the lake at its current snapshot (or `snapshot_id`)."""
    from lake_assets.core.query import snapshots

    return f"({snapshots(lake, only=[table], as_of=snapshot_id)[0].select()})"


# The JVMs that tests start in child processes (`lake build`, worker processes, `lake ui`'s runs,
# `spark-submit`) live seconds on small data: the quick JIT tier alone costs about half the CPU of
# the default's optimizing compiler there. The tests' own session keeps the default (it builds
# the real April month).
QUICK_JIT = "-XX:TieredStopAtLevel=1"


@pytest.fixture(scope="session", autouse=True)
def lake_home(tmp_path_factory) -> Path:
    """LAKE_HOME of the test run, a temporary folder: the Dagster instance `lake build` records into
    and the caches are the run's own, never the checkout's `.lake`. Child JVMs get QUICK_JIT."""
    home = tmp_path_factory.mktemp("lake-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKE_HOME", str(home))
        mp.setenv("SPARK_SUBMIT_OPTS", f"{os.environ.get('SPARK_SUBMIT_OPTS', '')} {QUICK_JIT}".strip())
        yield home


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("LAKE_SPARK_MASTER", "local[2]")
    os.environ.setdefault("LAKE_SPARK_DRIVER_MEMORY", "4g")
    from lake_assets.orchestration.spark import get_spark

    with pytest.MonkeyPatch.context() as mp:  # this JVM lives the whole run: the default JIT
        mp.setenv("SPARK_SUBMIT_OPTS", os.environ["SPARK_SUBMIT_OPTS"].replace(QUICK_JIT, "").strip())
        return get_spark()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "i94").is_dir():
        pytest.fail(f"the real source files are not at {SHARED_DATA}: set LAKE_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def april_lake(spark, shared_data, tmp_path_factory) -> Path:
    """A lake built by `lake build` from the real April 2016 month (built once per test run)."""
    from lake_assets.tools.build import build

    lake = tmp_path_factory.mktemp("april") / "lake"
    report = build(str(shared_data), str(lake), "2016-04")
    assert not report.errors and not report.failed_blocking, report.errors or report.failed_blocking
    return lake


@pytest.fixture(scope="session")
def sample(spark, tmp_path_factory):
    """(raw, lake, dagster_home, home): a generated March–May 2016 (scale 0.0005), the lake `lake build`
    made of it, the instance holding its runs and the LAKE_HOME it recorded into, once per test run
    (support/sample_lake.py). A test may build into it again only where its tables stay as they are
    (a build that stops before publishing, or a rebuild of the same raw folder)."""
    from lake_assets_tests.support.sample_lake import build_sample

    return build_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """A real S3 server (SeaweedFS) on loopback for the whole test run: `.endpoint`, `.bucket`,
    `.access_key`, `.secret_key`, `.env()` (the settings `lake` reads)."""
    from lake_assets_tests.support.s3server import S3Server

    with S3Server(tmp_path_factory.mktemp("s3server")) as server:
        yield server


@pytest.fixture(scope="session")
def workers(s3):
    """Build processes (support/workers.py), each with its own Spark JVM, for the tests of concurrent
    runs: started once, with the `s3` server's settings; each run gets the test's lake settings."""
    from lake_assets_tests.support.workers import Workers

    with Workers(s3.env()) as pool:
        yield pool


@pytest.fixture
def s3_env(s3, monkeypatch):
    """The environment of a client of the `s3` server, for one test; yields the server."""
    from lake_assets.core import s3 as lake_s3

    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    lake_s3.reset()
    yield s3
    lake_s3.reset()


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server (aiosmtpd) on loopback, with the alert settings pointing at it."""
    from lake_assets_tests.support.smtpserver import SMTPServer

    with SMTPServer() as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        yield server


# The fixtures that start a server, or that read the real source files: a test using one (even
# through another fixture) is marked `server` or `real_data`; the rest that are not `slow`, `unit`.
# A test using the session's Spark is marked `spark`, as are those marked so by hand because they
# start a JVM another way (`lake build`, a Dagster run, a subprocess).
SERVER_FIXTURES = {"s3", "s3_env", "s3_server", "smtp", "certificates", "postgres", "standalone", "browser",
                   "moto_endpoint"}
REAL_DATA_FIXTURES = {"shared_data", "april_lake"}
SPARK_FIXTURES = {"spark", "standalone", "workers", "warm_driver"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SERVER_FIXTURES:
            item.add_marker(pytest.mark.server)
        if fixtures & REAL_DATA_FIXTURES:
            item.add_marker(pytest.mark.real_data)
        if fixtures & SPARK_FIXTURES:
            item.add_marker(pytest.mark.spark)
        if not any(item.get_closest_marker(name) for name in ("slow", "server", "real_data")):
            item.add_marker(pytest.mark.unit)


NO_JVM = """#!/bin/sh
echo "lake_assets_tests: this test starts a JVM ($0) but is not marked spark" >&2
touch "$(dirname "$0")/../started"
exit 1
"""


@pytest.fixture(scope="session")
def no_jvm_spark_home(tmp_path_factory) -> Path:
    """A SPARK_HOME whose spark-submit and spark-class refuse to start a JVM."""
    home = tmp_path_factory.mktemp("no-jvm")
    (home / "bin").mkdir()
    for name in ("spark-submit", "spark-class"):
        (home / "bin" / name).write_text(NO_JVM)
        (home / "bin" / name).chmod(0o755)
    return home


@pytest.fixture(autouse=True)
def jvm_only_if_marked_spark(request, monkeypatch):
    """Fail a test not marked `spark` that starts or uses a JVM: in this process (a Spark session) or in
    a child (spark-submit, `lake build`), so `-m "not spark"` stays fast. The refusal may be caught
    (a failed Dagster run); the test fails at its teardown all the same."""
    if request.node.get_closest_marker("spark"):
        yield
        return
    from pyspark.sql import SparkSession

    home, refused = request.getfixturevalue("no_jvm_spark_home"), []

    def refuse(*args, **kwargs):
        refused.append(True)
        raise AssertionError("this test uses Spark but is not marked spark")

    (home / "started").unlink(missing_ok=True)
    monkeypatch.setenv("SPARK_HOME", str(home))
    monkeypatch.setattr(SparkSession, "getActiveSession", refuse)
    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", refuse)
    yield
    if refused or (home / "started").exists():
        pytest.fail("this test starts or uses a JVM: mark it spark", pytrace=False)
