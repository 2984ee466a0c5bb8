"""`lake`: build the lake from a raw folder through Dagster, and inspect it."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lake_assets.console import user_error_message

PARTITION_MONTHS = [f"2016-{m:02d}" for m in range(1, 13)]
MONTHLY_TABLE = "fact_immigration"  # each of its months carries the seconds the month took


class UsageError(Exception):
    """A wrong argument: printed as one line, exit code 2."""


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
            elif event.event_type_value == "STEP_SUCCESS" and event.step_key != "immigration":
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


def _absolute(path: str) -> str:
    return path if "://" in path else str(Path(path).absolute())


def build(raw: str, lake: str, months_spec: str | None, out=None) -> BuildReport:
    """Materialize the dimensions, the chosen months and the analytics, one Dagster run each;
    print the summary to `out` (default: the current sys.stdout)."""
    out = out or sys.stdout
    from lake_assets.sources import check_sources, find_i94_months

    months = parse_months(months_spec, sorted(find_i94_months(raw)))
    raw, lake = _absolute(raw), _absolute(lake)
    check_sources(raw, months)  # a bad source stops the build here, before any Spark work

    from dagster import DagsterInstance

    from lake_assets.definitions import build_definitions
    from lake_assets.resources import resources_for

    defs = build_definitions(resources_for(raw_dir=raw, lake_dir=lake))
    instance = DagsterInstance.get() if os.getenv("DAGSTER_HOME") else DagsterInstance.ephemeral()
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
        tags = {"dagster/asset_partition_range_start": f"{first}-01",
                "dagster/asset_partition_range_end": f"{last}-01"} if ranged else None
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


def _spark_lake(lake: str):
    """The lake's tables through a Spark session of this process (for commands that commit)."""
    from lake_assets.s3 import configure_spark, is_s3
    from lake_assets.spark import get_spark
    from lake_assets.storage import Lake

    if not is_s3(lake) and not Path(lake, "catalog.db").is_file() and not os.getenv("LAKE_CATALOG"):
        raise UsageError(f"no lake at {lake}: build one with `lake build` or pass --lake")
    spark = get_spark()
    if is_s3(lake):
        configure_spark(spark)
    return Lake(spark, lake)


def generate(out_dir: str, scale: float | None, months_spec: str | None, seed: int, out=None) -> dict:
    """Write a synthetic raw folder (lake_assets.generate), following its progress on stderr."""
    from lake_assets.generate import DEFAULT_SCALE, generate_raw

    scale = DEFAULT_SCALE if scale is None else scale
    if not scale > 0:
        raise UsageError(f"--scale must be a positive number, not {scale}")
    months = parse_months(months_spec, PARTITION_MONTHS)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"  {time.monotonic() - started:6.1f}s {message}", file=sys.stderr, flush=True)

    print(f"generating {len(months)} month(s) at scale {scale} (seed {seed}) into {_absolute(out_dir)} …",
          file=sys.stderr, flush=True)
    try:
        manifest = generate_raw(out_dir, scale, months, seed, progress)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or out_dir}: {exc.strerror or exc}") from exc
    rows = sum(m["rows"] for m in manifest["months"].values())
    print(f"raw: {_absolute(out_dir)}  ({rows:,} I94 rows written in {len(months)} month(s), "
          f"{time.monotonic() - started:.0f}s)", file=out or sys.stdout)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lake", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the lake from a raw folder")
    b.add_argument("--raw", required=True, help="raw folder (i94/ and the other sources beside it)")
    b.add_argument("--lake", required=True, help="where the lake's tables are written")
    b.add_argument("--months", help="2016-04, 2016-01..2016-12 or a comma list (default: every month in raw)")
    g = sub.add_parser("generate", help="write a synthetic raw folder (the real formats, planted traps)")
    g.add_argument("--out", required=True, help="the raw folder to write (e.g. .lake/raw)")
    g.add_argument("--scale", type=float, help="share of the real 2016 volumes: 1 gives 40.8 million "
                                               "rows (default 0.0025: ~102k rows)")
    g.add_argument("--months", help="2016-04, 2016-01..2016-12 or a comma list (default: all twelve)")
    g.add_argument("--seed", type=int, default=42, help="the same seed gives the same files (default 42)")
    u = sub.add_parser("ui", help="the Dagster UI and daemon on 127.0.0.1 (lineage, partitions, backfills)")
    u.add_argument("--port", type=int, default=3000, help="webserver port (default 3000)")
    u.add_argument("--raw", help="raw folder the runs read (default $LAKE_RAW_DIR or .lake/raw)")
    u.add_argument("--lake", help="where the runs write the lake (default $LAKE_DIR or .lake/lake)")
    for name, help_text in (("tables", "the lake's tables: snapshot, partitions, rows, columns"),
                            ("query", "run SQL on the lake with DuckDB (every table a view)"),
                            ("history", "one line per snapshot of a table: when, operation, rows, run, month")):
        r = sub.add_parser(name, help=help_text)
        if name == "query":
            r.add_argument("sql", help='e.g. "select visa_type, count(*) from fact_immigration group by 1"')
            r.add_argument("--as-of", metavar="TIME|SNAPSHOT_ID",
                           help="read every table as it was then (UTC time, e.g. 2026-11-29T07:00), or at a "
                                "snapshot id (its table at it, the others as of its commit)")
        if name == "history":
            r.add_argument("table", help="e.g. fact_immigration")
        r.add_argument("--lake", help="the lake folder or s3:// URI (default $LAKE_DIR or .lake/lake)")
        r.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output (default table)")
    rb = sub.add_parser("rollback", help="point a table back at one of its earlier snapshots (see lake history)")
    rb.add_argument("table", help="e.g. dim_city")
    rb.add_argument("--to", required=True, type=int, metavar="SNAPSHOT_ID", help="an earlier snapshot of its main")
    rb.add_argument("--lake", help="the lake folder or s3:// URI (default $LAKE_DIR or .lake/lake)")
    cl = sub.add_parser("clean", help="expire old snapshots, remove orphan files, compact small files")
    cl.add_argument("--lake", help="the lake folder or s3:// URI (default $LAKE_DIR or .lake/lake)")
    cl.add_argument("--retain-days", type=float, default=7.0,
                    help="keep snapshots and unreferenced files younger than this (default 7)")
    cl.add_argument("--retain-last", type=int, default=5, help="keep at least this many snapshots of main (default 5)")
    pk = sub.add_parser("package", help="build the archive EMR runs spark_job.py with (and upload it to S3)")
    pk.add_argument("--out", default="dist/emr", help="where the artifacts are written (default dist/emr)")
    pk.add_argument("--python", default="3.11", help="the cluster's Python (default 3.11)")
    pk.add_argument("--arch", default="x86_64", help="the cluster's architecture: x86_64 (default) or aarch64")
    pk.add_argument("--upload", metavar="S3_PREFIX",
                    help="put them under s3://bucket/prefix/<sha256> (prefix: LAKE_EMR_ARTIFACTS)")
    rp = sub.add_parser("report", help="write the analysts' HTML report (charts) from the analytics tables")
    rp.add_argument("--lake", help="the lake folder (default $LAKE_DIR or .lake/lake)")
    rp.add_argument("--out", help="the HTML file to write (default .lake/report.html)")
    bn = sub.add_parser("bench", help="time a build per asset, its peak memory, and each fact build against DuckDB")
    src = bn.add_mutually_exclusive_group()
    src.add_argument("--raw", help="raw folder to build from (default: generate one at --scale into a temp folder)")
    src.add_argument("--scale", type=float, help="generate the raw folder at this scale (default 0.0025)")
    bn.add_argument("--months", help="2016-04, 2016-01..2016-12 or a comma list (default: every month)")
    bn.add_argument("--repeat", type=int, default=1, help="builds to run; the best time of each asset is shown")
    args = parser.parse_args(argv)

    from lake_assets.catalog import CatalogError
    from lake_assets.maintenance import RollbackError
    from lake_assets.query import LakeQueryError
    from lake_assets.s3 import S3Error
    from lake_assets.sources import SourceError

    try:
        if args.command in ("tables", "query", "history"):
            from lake_assets import query

            lake = args.lake or query.default_lake()
            if args.command == "tables":
                columns, rows = query.table_summaries(lake)
            elif args.command == "history":
                columns, rows = query.history(lake, args.table)
            else:
                columns, rows = query.run(query.connect(lake, as_of=query.parse_as_of(args.as_of)), args.sql)
            query.emit(query.format_rows(columns, rows, args.format))
        if args.command in ("rollback", "clean"):
            from lake_assets import maintenance, query

            lake = _spark_lake(str(args.lake or query.default_lake()))
            if args.command == "rollback":
                left = maintenance.rollback(lake, args.table, args.to)
                print(f"rollback: {args.table} now at snapshot {args.to} (was {left})")
            else:
                maintenance.maintain(lake, args.retain_days, args.retain_last,
                                     log=lambda line: print(f"clean: {line}"))
        if args.command == "report":
            from lake_assets.report import write_report

            print(f"report: {write_report(args.lake, args.out)}")
        if args.command == "ui":
            from lake_assets.ui import serve

            return serve(args.port, args.raw, args.lake)
        if args.command == "build":
            report = build(args.raw, args.lake, args.months)
            return 1 if report.failed_blocking or report.errors else 0
        if args.command == "bench":
            from lake_assets.bench import bench

            bench(args.raw, args.scale, args.months, args.repeat)
        if args.command == "generate":
            generate(args.out, args.scale, args.months, args.seed)
        if args.command == "package":
            from lake_assets import package

            try:
                artifacts, sha256 = package.build(args.out, args.python, args.arch)
                for path in artifacts.values():
                    print(f"package: {path}  ({path.stat().st_size / 1e6:.1f} MB)")
                for uri in package.upload(artifacts, args.upload, sha256) if args.upload else []:
                    print(f"uploaded: {uri}")
                print(f"release: {sha256}  (LAKE_EMR_ARTIFACTS_SHA256; the orchestrator stack's ArtifactsSha256)")
            except package.PackageError as exc:
                raise UsageError(str(exc)) from None
    except (UsageError, SourceError, LakeQueryError, S3Error, CatalogError, RollbackError) as exc:
        print(f"lake: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
