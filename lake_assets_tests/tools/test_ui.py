"""`lake ui` for real: webserver and daemon on a free loopback port, driven through GraphQL;
and a backfill of two months as one run, each month recorded under its own partition."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lake_assets.core.storage import Lake
from lake_assets_tests.support.recorded import recorded

MONTHS = [f"2016-{m:02d}-01" for m in range(1, 13)]
NEEDED_FOR_A_MONTH = ["dim_country", "dim_state", "dim_visa", "dim_travel_mode", "dim_city", "dim_port",
                      "fact_immigration", "fact_immigration_rejects"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"})  # past the guard
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=60) as response:
        body = json.load(response)
    assert "errors" not in body, body["errors"]
    return body["data"]


def _session_processes(sid: int) -> list[str]:
    """Live processes of session `sid` (the `lake ui` process and everything it started); one
    that has ended and waits to be reaped (a zombie, whose parent may be outside the session) is not."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in "ZX":  # after "(comm)": state, ppid, pgrp, session
            found.append(stat.parent.name)
    return found


def _still_running(sid: int, timeout: float) -> list[str]:
    """The command lines of session `sid`'s processes still running after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (pids := _session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    commands = []
    for pid in pids:
        try:
            commands.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
        except OSError:  # ended in the meantime
            pass
    return commands


@pytest.fixture
def tiny_raw(tmp_path) -> Path:
    from lake_assets.core.generate import generate_raw

    raw = tmp_path / "raw"
    generate_raw(raw, scale=0.0005, months=["2016-04"])
    return raw


@pytest.fixture
def lake_ui(tmp_path, tiny_raw):
    """`lake ui` on a free port (its own session, so the test can see all it started); its port,
    process and log. Stopped at the end whatever happens."""
    port = _free_port()
    env = dict(os.environ, LAKE_HOME=str(tmp_path / "home"), LAKE_ENV="local", LAKE_AUTOMATION="off",
               LAKE_SPARK_MASTER="local[2]", LAKE_SPARK_DRIVER_MEMORY=os.getenv("LAKE_SPARK_DRIVER_MEMORY", "2g"))
    log = (tmp_path / "ui.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lake_assets.tools.cli", "ui", "--port", str(port),
         "--raw", str(tiny_raw), "--lake", str(tmp_path / "lake")],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield port, proc, tmp_path / "ui.log"
    finally:
        for pid in _session_processes(proc.pid):  # only if the test failed before stopping it: `lake ui`
            try:  # and the `dagster dev` process group it started
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        log.close()


def _wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"lake ui exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
        try:
            if _gql(port, "{ assetNodes { id } }")["assetNodes"]:  # the code location is loaded
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"lake ui not ready in {timeout}s:\n{log.read_text()[-3000:]}")


def _launch(port: int, assets: list[str], partition: str) -> str:
    data = _gql(port, """
        mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
          __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
          ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }""",
                {"params": {
                    "selector": {"repositoryLocationName": "lake_assets", "repositoryName": "__repository__",
                                 "jobName": "__ASSET_JOB", "assetSelection": [{"path": [a]} for a in assets]},
                    "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]}}})
    launched = data["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _wait_run(port: int, run_id: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _gql(port, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                      {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(0.5)
    pytest.fail(f"run {run_id} not finished in {timeout}s")


@pytest.mark.spark  # the UI's run of a month starts Spark in its own process
def test_lake_ui_shows_lineage_and_partitions_runs_a_month_and_stops_on_sigterm(lake_ui, tmp_path):
    from lake_assets.core.tables import TABLES
    from lake_assets.defs.lake import defs

    port, proc, log = lake_ui
    _wait_ready(port, proc, log)

    # Every lake asset, with the dependencies of the code location.
    nodes = {tuple(n["assetKey"]["path"]): n for n in _gql(port, """{ assetNodes {
        assetKey { path } dependencyKeys { path } partitionKeys } }""")["assetNodes"]}
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = nodes[tuple(key.path)]
        assert {tuple(d["path"]) for d in node["dependencyKeys"]} == {tuple(k.path) for k in graph.get(key).parent_keys}
    assert {(t,) for t in TABLES} <= set(nodes)
    assert nodes["fact_immigration",]["partitionKeys"] == MONTHS
    assert {("raw_i94",), *((d,) for d in NEEDED_FOR_A_MONTH[:6])} <= {
        tuple(d["path"]) for d in nodes["fact_immigration",]["dependencyKeys"]}

    # One month, with the dimensions it needs, launched as from the UI: it succeeds and shows.
    run_id = _launch(port, NEEDED_FOR_A_MONTH, "2016-04-01")
    assert _wait_run(port, run_id) == "SUCCESS", log.read_text()[-3000:]
    status = _gql(port, """{ assetNodeOrError(assetKey: {path: ["fact_immigration"]}) { ... on AssetNode {
        assetPartitionStatuses { ... on TimePartitionStatuses { ranges { status startKey endKey } } } } } }""")
    ranges = status["assetNodeOrError"]["assetPartitionStatuses"]["ranges"]
    assert ranges == [{"status": "MATERIALIZED", "startKey": "2016-04-01", "endKey": "2016-04-01"}]
    assert any((tmp_path / "lake" / "fact_immigration" / "data" / "i94yr=2016" / "i94mon=4").iterdir())  # Iceberg data files
    assert (tmp_path / "home" / "dagster" / "dagster.yaml").is_file()  # the persistent instance

    # SIGTERM stops it, and everything it started: `lake ui` kills what is left of its process group
    # before it exits; a process in a group of its own (PySpark's worker daemon) ends once its JVM is
    # gone, seconds on a loaded machine. 30 s is under the 45 s after which an orphaned code server
    # would end by itself, so a process left to that still fails the test.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0, log.read_text()[-3000:]
    assert _still_running(proc.pid, timeout=30) == []


@pytest.fixture(scope="module")
def march_april(sample):
    """Definitions over the test run's sample lake (March to May 2016, built; a backfill of its months
    from the same raw folder leaves its tables as they are), and an instance of their own."""
    from dagster import DagsterInstance

    from lake_assets.orchestration.definitions import build_definitions
    from lake_assets.orchestration.environments import resources_for

    defs = build_definitions(resources_for("local", str(sample.raw), str(sample.lake)))
    return defs, DagsterInstance.ephemeral(), sample.lake


def _backfill(defs, instance, first: str, last: str):
    """One run over a month range, as a single-run backfill launched from the UI makes it."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    return defs.resolve_job_def("immigration_job").execute_in_process(
        instance=instance, raise_on_error=False,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last})


def test_a_backfill_of_two_months_is_one_run_recording_each_month_apart(march_april, spark):
    defs, instance, lake = march_april
    result = _backfill(defs, instance, "2016-03-01", "2016-04-01")
    assert result.success
    materializations, checks = recorded(result)
    tables = ("fact_immigration", "fact_immigration_rejects")
    assert set(materializations) == {(t, k) for t in tables for k in ("2016-03-01", "2016-04-01")}
    for month in (3, 4):
        metadata = materializations["fact_immigration", f"2016-{month:02d}-01"]
        assert metadata["partition"].value == f"i94yr=2016, i94mon={month}"
        assert metadata["rows"].value == Lake(spark, str(lake)).read("fact_immigration").where(f"i94mon = {month}").count()
    check_keys = defs.resolve_job_def("immigration_job").asset_layer.asset_graph.asset_check_keys
    expected = {(k.asset_key.to_user_string(), k.name, p) for k in check_keys
                if k.asset_key.to_user_string() in tables for p in ("2016-03-01", "2016-04-01")}
    assert {c[:3] for c in checks} == expected


def test_a_backfill_stopped_by_a_missing_month_records_only_the_months_it_published(march_april):
    defs, instance, _ = march_april
    result = _backfill(defs, instance, "2016-05-01", "2016-06-01")  # no June extract in the raw folder
    assert not result.success
    materializations, checks = recorded(result)
    assert set(materializations) == {("fact_immigration", "2016-05-01"), ("fact_immigration_rejects", "2016-05-01")}
    assert {partition for _, _, partition, _ in checks} == {"2016-05-01"}
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no I94 extract for 2016-06" in failure.step_failure_data.error.message


def test_a_month_failing_a_blocking_check_ends_the_backfill_after_recording_the_months_before():
    """The reporting alone (no Spark): April publishes, May fails a blocking check, June is never built."""
    from dagster import AssetSpec, DagsterInstance, materialize, multi_asset
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from lake_assets.core.builds import CheckOutcome, TableOutcome, typed
    from lake_assets.core.tables import TABLES
    from lake_assets.orchestration.assets.factory import check_specs
    from lake_assets.orchestration.events import dagster_results_by_partition
    from lake_assets.orchestration.partitions import monthly_partitions

    def month(key: str) -> list[TableOutcome]:
        ok = key != "2016-05-01"
        checks = [CheckOutcome("fact_immigration", c.name, ok or not c.blocking, c.blocking, c.description,
                               {"found": typed(1)}) for c in TABLES["fact_immigration"].all_checks()]
        return [TableOutcome("fact_immigration", checks, {"rows": typed(int(key[5:7]))} if ok else None)]

    @multi_asset(specs=[AssetSpec("fact_immigration", partitions_def=monthly_partitions)],
                 check_specs=check_specs("fact_immigration", monthly_partitions), partitions_def=monthly_partitions)
    def immigration(context):
        yield from dagster_results_by_partition(context, ((key, month(key)) for key in context.partition_keys))

    result = materialize([immigration], instance=DagsterInstance.ephemeral(), raise_on_error=False,
                         tags={ASSET_PARTITION_RANGE_START_TAG: "2016-04-01", ASSET_PARTITION_RANGE_END_TAG: "2016-06-01"})
    assert not result.success
    materializations, checks = recorded(result)
    assert {k: m["rows"].value for k, m in materializations.items()} == {("fact_immigration", "2016-04-01"): 4}
    blocking = {c.name for c in TABLES["fact_immigration"].all_checks() if c.blocking}
    assert {(name, partition) for _, name, partition, passed in checks if not passed} == {
        (name, "2016-05-01") for name in blocking}
    assert {partition for _, _, partition, _ in checks} == {"2016-04-01", "2016-05-01"}
