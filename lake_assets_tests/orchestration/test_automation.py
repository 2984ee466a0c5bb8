"""Declarative automation and staleness, without Spark: the engine is a stub that records the
steps it is asked for and reports every table built and every check passed."""

import threading
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context, evaluate_automation_conditions
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from lake_assets.core.builds import CheckOutcome, TableOutcome, typed
from lake_assets.core.sources import AIRPORTS_GLOB, DEMOGRAPHICS_FILE, LABELS_FILE
from lake_assets.core.tables import TABLES
from lake_assets.orchestration.automation import SPARK_POOL
from lake_assets.orchestration.definitions import build_definitions
from lake_assets.orchestration.engines import SparkEngine, dagster_results_of, partition_keys
from lake_assets.orchestration.resources import LakeResource
from lake_assets.orchestration.sensors import RETRIES, raw_i94_sensor
from lake_assets.tools.build import prepare_instance
from lake_assets_tests.orchestration.test_sensors import write_month

SPARK_STEPS: list[str] = []  # the steps the stub engine was asked for: each would be a Spark job
FAILING_CHECKS: set[str] = set()  # checks the stub engine reports failed
LABEL_READERS = {"dim_country", "dim_state", "dim_visa", "dim_travel_mode", "dim_city", "dim_port"}
ANALYTICS = {"metro_arrivals_monthly", "tourism_by_season", "arrivals_temperature_correlation"}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


class StubEngine(SparkEngine):
    """Records the step; every table of it published, every check passed but FAILING_CHECKS."""

    def materialize(self, context, build):
        SPARK_STEPS.append(build)
        tables = ["fact_immigration", "fact_immigration_rejects"] if build == "immigration" else [build]
        outcomes = lambda: [TableOutcome(t, [  # noqa: E731
            CheckOutcome(t, c.name, c.name not in FAILING_CHECKS, c.blocking, c.description, {"share": typed(0.72)})
            for c in TABLES[t].all_checks()], {"rows": typed(1)}) for t in tables]
        keys = partition_keys(context)
        yield from dagster_results_of(context, [(k, outcomes()) for k in keys] if keys else [(None, outcomes())])


class Lake:
    """Definitions over a raw folder with the four source files, on an ephemeral instance, with
    the automation sensor's cursor carried from tick to tick."""

    def __init__(self, tmp_path: Path, instance: DagsterInstance | None = None):
        self.raw = tmp_path / "raw"
        self.raw.mkdir()
        for name in (LABELS_FILE, DEMOGRAPHICS_FILE, AIRPORTS_GLOB.replace("*", ""),
                     "GlobalLandTemperaturesByCity.csv"):
            (self.raw / name).write_text("v1")
        lake = LakeResource(raw_dir=str(self.raw), lake_dir=str(tmp_path / "lake"))
        self.defs = build_definitions({"lake": lake, "engine": StubEngine(lake=lake)})
        self.instance = instance or DagsterInstance.ephemeral()
        self.cursor, self.sensor_cursor = None, None

    def run(self, job: str, partition_key: str | None = None, tags: dict | None = None) -> None:
        assert self.defs.resolve_job_def(job).execute_in_process(
            instance=self.instance, partition_key=partition_key, tags=tags).success

    def land(self, month: str, build: bool = True) -> str:
        """An extract of `month` ('apr') lands and raw_i94_sensor ticks, as the daemon would: its
        observation recorded, the month it asks for built (unless not `build`); the partition key."""
        write_month(str(self.raw), f"i94_{month}16_sub.parquet", rows=3)
        (request,) = self.sense().run_requests
        if build:
            self.run("immigration_job", request.partition_key)
        return request.partition_key

    def sense(self):
        """One tick of raw_i94_sensor, its events recorded as the daemon records them."""
        context = build_sensor_context(cursor=self.sensor_cursor, instance=self.instance,
                                       resources={"lake": LakeResource(raw_dir=str(self.raw), lake_dir="-")})
        result = raw_i94_sensor(context)
        self.sensor_cursor = result.cursor
        for event in result.asset_events:
            self.instance.report_runless_asset_event(event)
        return result

    def tick(self) -> dict[str, set]:
        """One tick of automation_sensor: the requested partitions by asset."""
        result = evaluate_automation_conditions(self.defs, self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        return {key.to_user_string(): result.get_requested_partitions(key)
                for key in self.defs.resolve_asset_graph().materializable_asset_keys
                if result.get_num_requested(key)}

    def stale(self) -> set[str]:
        """The tables (and fact months) Dagster shows stale."""
        graph = self.defs.resolve_asset_graph()
        resolver = CachingStaleStatusResolver(self.instance, graph, LoadingContextForTest(self.instance))
        return {f"{key.to_user_string()}{'@' + p[:7] if p else ''}"
                for key in graph.materializable_asset_keys
                for p in (graph.get(key).partitions_def.get_partition_keys() if graph.get(key).is_partitioned else [None])
                if resolver.get_status(key, p) == StaleStatus.STALE}


@pytest.fixture
def built(tmp_path) -> Lake:
    """Sources observed, dimensions, April and the analytics built; the automation ticked once."""
    lake = Lake(tmp_path)
    lake.run("observe_sources_job")
    lake.run("dimensions_job")
    lake.land("apr")
    lake.run("analytics_job")
    assert lake.tick() == {} and lake.stale() == set()
    SPARK_STEPS.clear()
    return lake


def test_automation_brings_a_landed_month_to_the_analytics(built):
    assert built.land("may") == "2016-05-01"
    SPARK_STEPS.clear()
    assert built.tick() == {t: {None} for t in ANALYTICS}  # at the next tick, not at 07:00
    assert built.stale() == set()


def test_noop_daily_refresh_starts_no_spark_job_and_leaves_nothing_stale(built):
    built.run("observe_sources_job")  # 07:00: nothing changed
    assert built.tick() == {} and SPARK_STEPS == []
    assert built.stale() == set()


def test_automation_rebuilds_what_a_changed_label_file_feeds_once(built):
    (built.raw / LABELS_FILE).write_text("v2, corrected")
    built.run("observe_sources_job")
    assert built.stale() == LABEL_READERS  # dim_temperature, the fact, the analytics: once those are rebuilt
    # the dimensions and what is built with them in one run; the analytics wait for the fact months
    assert built.tick() == {d: {None} for d in LABEL_READERS | {"dim_temperature"}}
    built.run("dimensions_job")
    assert built.stale() == {"fact_immigration@2016-04", "metro_arrivals_monthly"}
    assert built.tick() == {"fact_immigration": {"2016-04-01"}, "fact_immigration_rejects": {"2016-04-01"}}
    built.run("immigration_job", "2016-04-01")
    assert built.tick() == {t: {None} for t in ANALYTICS}  # once, after the month they read
    built.run("analytics_job")
    assert built.stale() == set() and built.tick() == {}


def test_automation_twelve_extracts_landing_in_one_tick_start_one_run(tmp_path):
    lake = Lake(tmp_path)
    lake.run("observe_sources_job")
    lake.run("dimensions_job")
    for month in MONTHS:
        write_month(str(lake.raw), f"i94_{month}16_sub.parquet", rows=3)
    result = lake.sense()
    (request,) = result.run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2016-01-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2016-12-01"
    assert request.tags["dagster/max_retries"] == str(RETRIES)  # Dagster retries a failed run
    assert len(result.asset_events) == 12  # each month's data version observed
    SPARK_STEPS.clear()
    lake.run("immigration_job", tags=request.tags)
    assert SPARK_STEPS == ["immigration"]  # one Spark job for the twelve months
    assert lake.stale() == set()


def test_a_build_waits_while_a_daemon_run_holds_the_spark_pool(tmp_path):
    """`lake build` and the daemon's runs use one instance (`lake ui`'s dagster.yaml): its pool
    "spark" of one slot lets one Spark step run at a time, whichever run it belongs to."""
    with DagsterInstance.from_config(str(prepare_instance(tmp_path / "dagster"))) as instance:
        storage = instance.event_log_storage
        lake = Lake(tmp_path, instance)
        lake.run("observe_sources_job")  # no Spark: no slot needed
        storage.initialize_concurrency_limit_to_default(SPARK_POOL)
        assert storage.claim_concurrency_slot(SPARK_POOL, "daemon-run", "dim_city").is_claimed
        SPARK_STEPS.clear()
        build = threading.Thread(target=lake.run, args=("dimensions_job",), daemon=True)
        build.start()
        try:  # the build's run captures its output through `tail -F` processes until it ends
            deadline = time.monotonic() + 120
            while not storage.get_concurrency_info(SPARK_POOL).pending_run_ids:
                assert build.is_alive() and time.monotonic() < deadline, "the build's step never asked for a slot"
                time.sleep(0.2)
            time.sleep(1)  # a step that ran without its slot would be recorded by now
            assert build.is_alive() and SPARK_STEPS == []  # waiting for the slot
        finally:
            storage.free_concurrency_slots_for_run("daemon-run")
            build.join(timeout=120)
        assert not build.is_alive() and "dim_city" in SPARK_STEPS


def test_a_killed_builds_run_is_released_so_the_next_build_does_not_wait_for_it(tmp_path):
    """A `lake build` killed mid-run leaves its run STARTED with its `spark` slot claimed; the
    next build marks it failed and frees the slot (a live build's run is left alone)."""
    import os
    import socket
    import subprocess

    from dagster import DagsterRun, DagsterRunStatus

    from lake_assets.tools.build import BUILD_HOST_TAG, BUILD_PID_TAG, release_dead_builds

    dead = subprocess.Popen(["true"])
    dead.wait()
    with DagsterInstance.from_config(str(prepare_instance(tmp_path / "dagster"))) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(SPARK_POOL)
        runs = {}
        for name, pid in (("killed", dead.pid), ("alive", os.getppid())):
            run = DagsterRun(job_name="dimensions_job", status=DagsterRunStatus.STARTED,
                             tags={BUILD_HOST_TAG: socket.gethostname(), BUILD_PID_TAG: str(pid)})
            instance.add_run(run)
            runs[name] = run.run_id
        assert storage.claim_concurrency_slot(SPARK_POOL, runs["killed"], "dim_city").is_claimed

        assert release_dead_builds(instance) == [runs["killed"]]
        assert instance.get_run_by_id(runs["killed"]).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(runs["alive"]).status == DagsterRunStatus.STARTED
        assert storage.claim_concurrency_slot(SPARK_POOL, "next-build", "dim_city").is_claimed


def test_a_daemon_run_whose_process_was_killed_is_failed_by_run_monitoring_and_its_slot_freed(tmp_path):
    """The local dagster.yaml's run launcher tells Dagster's run monitoring that a run's process
    is gone: the daemon marks the run failed (never resumed), and frees its `spark` slot a minute
    after; a run whose process lives, or that has none yet, is left alone."""
    import logging
    import os
    import subprocess
    from types import SimpleNamespace

    from dagster import DagsterRun, DagsterRunStatus
    from dagster._core.events import EngineEventData
    from dagster._core.test_utils import freeze_time
    from dagster._daemon.monitoring.concurrency import execute_concurrency_slots_iteration
    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    killed = subprocess.Popen(["true"])
    killed.wait()
    with DagsterInstance.from_config(str(prepare_instance(tmp_path / "dagster"))) as instance:
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(SPARK_POOL)
        runs = {}
        for name, pid in (("killed", killed.pid), ("alive", os.getpid()), ("not started", None)):
            runs[name] = run = DagsterRun(job_name="immigration_job", status=DagsterRunStatus.STARTED)
            instance.add_run(run)
            if pid:  # as the code server records a run's process
                instance.report_engine_event(f"Started process for run (pid: {pid}).", run,
                                             EngineEventData.in_process(pid))
        assert storage.claim_concurrency_slot(SPARK_POOL, runs["killed"].run_id, "immigration").is_claimed

        for run in runs.values():  # one pass of the daemon's run monitoring
            monitor_started_run(instance, None, instance.get_run_record_by_id(run.run_id), logging.getLogger("test"))
        status = {name: instance.get_run_by_id(run.run_id).status for name, run in runs.items()}
        assert status == {"killed": DagsterRunStatus.FAILURE, "alive": DagsterRunStatus.STARTED,
                          "not started": DagsterRunStatus.STARTED}
        ended = instance.get_run_record_by_id(runs["killed"].run_id).end_time
        with freeze_time(ended + instance.run_monitoring_settings["free_slots_after_run_end_seconds"] + 1):
            list(execute_concurrency_slots_iteration(SimpleNamespace(instance=instance), logging.getLogger("test")))
        assert storage.claim_concurrency_slot(SPARK_POOL, "next-run", "immigration").is_claimed
