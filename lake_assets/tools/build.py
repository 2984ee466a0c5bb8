"""Building a lake from a raw folder through Dagster, as `lake build` and `lake bench` do:
months chosen, sources checked, one Dagster run per job, and a report of what was written.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lake_assets.core import settings
from lake_assets.core.tables import BUILDS
from lake_assets.orchestration.console import user_error_message


PARTITION_MONTHS = [f"2016-{m:02d}" for m in range(1, 13)]
DAGSTER_YAML = """\
# Written by `lake ui` or `lake build` (kept if you edit it). See https://docs.dagster.io/deployment/oss/dagster-yaml
telemetry:
  enabled: false
nux:
  enabled: false
event_log_storage:  # one SQLite file, so a sensor can read the events after a cursor (check_warning_sensor)
  module: dagster.core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir: <HOME>/event_log  # absolute: after moving the folder, delete this file (lake writes it again)
run_retries:
  enabled: true  # a run tagged dagster/max_retries (the landing-zone sensor's) is retried that often
run_launcher:  # Dagster's default, telling run monitoring when a run's process is gone
  module: lake_assets.orchestration.instance_storage
  class: LocalRunLauncher
run_monitoring:  # the daemon fails runs whose process is gone or stuck starting or cancelling,
  enabled: true  # and frees the pool slots of ended runs
  start_timeout_seconds: 300
  cancel_timeout_seconds: 300
  max_resume_run_attempts: 0  # a run is never resumed: it fails, and Dagster's run retries apply
  free_slots_after_run_end_seconds: 60
run_queue:
  dequeue_interval_seconds: 1  # a queued run (the UI's, a sensor's, a backfill's) starts within a second, not five
concurrency:
  runs:
    max_concurrent_runs: 1  # each run starts its own Spark: one at a time on one machine
  pools:
    default_limit: 1  # one Spark step at a time (pool "spark"), `lake build` and the daemon's runs alike
"""
MONTHLY_TABLE = "fact_immigration"  # each of its months carries the seconds the month took
# Each run of `lake build` names its process, so a later build can tell a run whose process was
# killed (still STARTED, its `spark` pool slot claimed) from one still going.
BUILD_HOST_TAG, BUILD_PID_TAG = "lake/build_host", "lake/build_pid"


class UsageError(Exception):
    """A wrong argument: printed as one line, exit code 2."""


def instance_dir() -> Path:
    """The Dagster instance of `lake ui` and `lake build`: `<LAKE_HOME>/dagster`."""
    return settings.lake_home() / "dagster"


def prepare_instance(home: Path) -> Path:
    """Create the instance folder with a dagster.yaml unless it has one already."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML.replace("<HOME>", str(home.absolute())))
    return home


def parse_months(spec: str | None, available: list[str]) -> list[str]:
    """'2016-04', '2016-01..2016-03', '2016-01,2016-05' or None (every month found in raw)."""
    if not spec:
        months = [m for m in available if m in PARTITION_MONTHS]
        if not months:
            raise UsageError("no 2016 I94 extract found in the raw folder's i94/")
        return months
    months: list[str] = []
    for part in spec.split(","):
        first, _, last = part.strip().partition("..")
        for m in (first, last or first):
            if m not in PARTITION_MONTHS:
                raise UsageError(f"month {m!r} is not one of 2016-01 … 2016-12")
        months += PARTITION_MONTHS[PARTITION_MONTHS.index(first):PARTITION_MONTHS.index(last or first) + 1]
    missing = [m for m in months if m not in available]
    if missing:
        raise UsageError(f"no I94 extract for {', '.join(missing)} in the raw folder's i94/ "
                         f"(found: {', '.join(available) or 'none'})")
    return sorted(set(months))


@dataclass
class BuildReport:
    """What the runs of a build materialized and how their checks went."""

    tables: list[tuple[str, str, int | None]] = field(default_factory=list)  # (table, partition, rows)
    checks: list[tuple[str, str, bool, bool]] = field(default_factory=list)  # (table, check, passed, blocking)
    errors: list[str] = field(default_factory=list)
    steps: list[tuple[str, str, float]] = field(default_factory=list)  # (step, partition, seconds)
    bytes_written: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, partition) -> bytes

    def add_run(self, result) -> None:
        for event in result.all_events:
            if event.event_type_value == "ASSET_MATERIALIZATION":
                mat = event.event_specific_data.materialization
                rows, size = mat.metadata.get("rows"), mat.metadata.get("bytes_written")
                self.tables.append((mat.asset_key.to_user_string(), mat.partition or "",
                                    rows.value if rows is not None else None))
                if size is not None:
                    self.bytes_written[(mat.asset_key.to_user_string(), mat.partition or "")] = size.value
                if "month_seconds" in mat.metadata and mat.asset_key.to_user_string() == MONTHLY_TABLE:
                    self.steps.append(("immigration", mat.partition, mat.metadata["month_seconds"].value))
            elif event.event_type_value == "STEP_SUCCESS" and event.step_key in BUILDS and not BUILDS[event.step_key].monthly:
                self.steps.append((event.step_key, result.dagster_run.tags.get("dagster/partition", ""),
                                   event.event_specific_data.duration_ms / 1000))
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                ev = event.event_specific_data
                self.checks.append((ev.asset_key.to_user_string(), ev.check_name, ev.passed,
                                    ev.severity.value == "ERROR"))
            elif event.event_type_value == "STEP_FAILURE":
                self.errors.append(user_error_message(event.step_failure_data.error))

    @property
    def failed_blocking(self) -> list[str]:
        return [f"{t}.{c}" for t, c, passed, blocking in self.checks if blocking and not passed]

    def print(self, out=sys.stdout) -> None:
        print("\ntable                              partition   rows", file=out)
        for table, partition, rows in self.tables:
            print(f"  {table:<33}{partition:<12}{rows if rows is None else f'{rows:,}':>12}", file=out)
        passed = sum(1 for c in self.checks if c[2])
        print(f"\nchecks: {passed}/{len(self.checks)} passed", file=out)
        for table, check, ok, blocking in self.checks:
            if not ok:
                print(f"  FAILED {'(blocking) ' if blocking else '(warning)  '}{table}.{check}", file=out)
        for error in dict.fromkeys(self.errors):  # once each, in order
            print(f"ERROR {error}", file=out)


def month_ranges(months: list[str]) -> list[tuple[str, str]]:
    """Sorted months as runs of consecutive ones: ['2016-01', '2016-02', '2016-05'] ->
    [('2016-01', '2016-02'), ('2016-05', '2016-05')]."""
    ranges: list[list[str]] = []
    for month in months:
        if ranges and PARTITION_MONTHS.index(month) == PARTITION_MONTHS.index(ranges[-1][1]) + 1:
            ranges[-1][1] = month
        else:
            ranges.append([month, month])
    return [tuple(r) for r in ranges]


def absolute(path: str) -> str:
    """A local path made absolute; an URI as it is."""
    return path if "://" in path else str(Path(path).absolute())


def release_dead_builds(instance, out=sys.stderr) -> list[str]:
    """Mark failed the runs of `lake build`s on this machine whose process is gone (killed mid-run)
    and free the `spark` pool slots they held, which nothing else frees without a daemon: every
    later build would wait for them forever. Returns their run ids."""
    from dagster import DagsterRunStatus, RunsFilter

    from lake_assets.orchestration.instance_storage import process_alive

    unfinished = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    released = []
    for run in instance.get_runs(RunsFilter(statuses=unfinished, tags={BUILD_HOST_TAG: socket.gethostname()})):
        pid = int(run.tags.get(BUILD_PID_TAG, "0"))
        if pid and pid != os.getpid() and not process_alive(pid):
            instance.report_run_failed(run, f"its lake build (process {pid}) ended before the run did")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            print(f"lake build: run {run.run_id} of a killed build marked failed; its Spark slot freed", file=out)
            released.append(run.run_id)
    return released


def check_catalog(lake: str) -> None:
    """Refuse, before any Dagster run, a catalog the lake must not be built in (CatalogError, one
    line): a SQLite file for a lake on S3, or one holding a table of the namespace outside the lake."""
    from lake_assets.core.catalog import Catalog

    catalog = Catalog.for_lake(lake)
    if catalog.glue or Path(catalog.location).is_file():  # a new local lake has no catalog yet
        for table in catalog.tables():
            catalog.load(table)


def build(raw: str, lake: str, months_spec: str | None, out=None, home: Path | None = None) -> BuildReport:
    """Materialize the dimensions, the chosen months and the analytics, one Dagster run each,
    recorded in the instance at `home` (default: $DAGSTER_HOME, else an ephemeral one); print the
    summary to `out` (default: the current sys.stdout)."""
    out = out or sys.stdout
    from lake_assets.core.sources import check_sources, file_stamps, find_i94_months, stamps_version

    extracts = find_i94_months(raw)
    months = parse_months(months_spec, sorted(extracts))
    raw, lake = absolute(raw), absolute(lake)
    check_catalog(lake)
    check_sources(raw, months)  # a bad source stops the build here, before any Spark work

    from dagster import DagsterInstance

    from lake_assets.orchestration.definitions import build_definitions
    from lake_assets.orchestration.environments import resources_for
    from lake_assets.orchestration.sensors import extract_observation

    defs = build_definitions(resources_for(raw_dir=raw, lake_dir=lake))
    if home:
        instance = DagsterInstance.from_config(str(prepare_instance(home)))
    else:
        instance = DagsterInstance.get() if settings.dagster_home() else DagsterInstance.ephemeral()
    release_dead_builds(instance)
    for month in months:  # the versions built, so raw_i94_sensor does not build them again
        instance.report_runless_asset_event(extract_observation(month, stamps_version(file_stamps(extracts[month].path))))
    report = BuildReport()
    # The months of a contiguous range are one run (one Spark session, the dimensions' keys
    # collected once), as the fact's single-run backfill policy makes a backfill.
    runs = [("dimensions_job", None)] + [("immigration_job", r) for r in month_ranges(months)] + [("analytics_job", None)]
    started = time.monotonic()
    for i, (job_name, (first, last)) in enumerate(((j, r or (None, None)) for j, r in runs), 1):
        label = job_name + (f" {first}" if first == last and first else f" {first}..{last}" if first else "")
        print(f"[{i}/{len(runs)}] {label} …", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        ranged = first and first != last
        tags = {BUILD_HOST_TAG: socket.gethostname(), BUILD_PID_TAG: str(os.getpid())}
        if ranged:
            tags |= {"dagster/asset_partition_range_start": f"{first}-01",
                     "dagster/asset_partition_range_end": f"{last}-01"}
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, tags=tags, partition_key=None if ranged or not first else f"{first}-01",
            raise_on_error=False,
            run_config={"loggers": {"console": {}}})  # the compact logger of the definitions
        report.add_run(result)
        print(f"[{i}/{len(runs)}] {label} {'done' if result.success else 'FAILED'} in {time.monotonic() - t0:.1f}s",
              file=sys.stderr, flush=True)
        if not result.success:
            break
    report.print(out)
    print(f"\nlake: {lake}  ({time.monotonic() - started:.0f}s)", file=out)
    return report


def generate(out_dir: str, scale: float | None, months_spec: str | None, seed: int, out=None) -> dict:
    """Write a synthetic raw folder (lake_assets.core.generate), following its progress on stderr."""
    from lake_assets.core.generate import DEFAULT_SCALE, generate_raw

    scale = DEFAULT_SCALE if scale is None else scale
    if not scale > 0:
        raise UsageError(f"--scale must be a positive number, not {scale}")
    months = parse_months(months_spec, PARTITION_MONTHS)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"  {time.monotonic() - started:6.1f}s {message}", file=sys.stderr, flush=True)

    print(f"generating {len(months)} month(s) at scale {scale} (seed {seed}) into {absolute(out_dir)} …",
          file=sys.stderr, flush=True)
    try:
        manifest = generate_raw(out_dir, scale, months, seed, progress)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or out_dir}: {exc.strerror or exc}") from exc
    rows = sum(m["rows"] for m in manifest["months"].values())
    print(f"raw: {absolute(out_dir)}  ({rows:,} I94 rows written in {len(months)} month(s), "
          f"{time.monotonic() - started:.0f}s)", file=out or sys.stdout)
    return manifest
