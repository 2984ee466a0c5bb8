"""`lake`: build the lake from a raw folder through Dagster, and inspect it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lake_assets.core import settings
from lake_assets.tools.build import UsageError, build, generate, instance_dir


def _spark_lake(lake: str):
    """The lake's tables through a Spark session of this process (for commands that commit)."""
    from lake_assets.core.s3 import configure_spark, is_s3
    from lake_assets.core.storage import Lake
    from lake_assets.orchestration.spark import get_spark

    if not is_s3(lake) and not Path(lake, "catalog.db").is_file() and not settings.CATALOG.value():
        raise UsageError(f"no lake at {lake}: build one with `lake build` or pass --lake")
    spark = get_spark()
    if is_s3(lake):
        configure_spark(spark)
    return Lake(spark, lake)


def _rollback_by_month(args) -> bool:
    """Whether `lake rollback` got --month M --to-run RUN (else TABLE --to SNAPSHOT_ID)."""
    by_table, by_month = (args.table, args.to is not None), (args.month, args.to_run)
    if all(by_table) and not any(by_month) or all(by_month) and not any(by_table):
        return all(by_month)
    raise UsageError("rollback takes TABLE --to SNAPSHOT_ID, or --month MONTH --to-run RUN")


def parser() -> argparse.ArgumentParser:
    """The `lake` command line: its commands and their options."""
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
    u.add_argument("--no-automation", dest="automation", action="store_false",
                   help="start the schedules, sensors and automation stopped (default: running, unless LAKE_AUTOMATION=off)")
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
    rb = sub.add_parser("rollback", help="point a table back at one of its earlier snapshots (see lake history); "
                                         "the fact and its rejects together, at one run's snapshots of a month")
    rb.add_argument("table", nargs="?", help="e.g. dim_city (not with --month)")
    rb.add_argument("--to", type=int, metavar="SNAPSHOT_ID", help="an earlier snapshot of its main")
    rb.add_argument("--month", help="with --to-run: the month (2016-04) whose fact and rejects go back")
    rb.add_argument("--to-run", metavar="RUN", help="the Dagster run whose snapshots of --month they go back to")
    rb.add_argument("--lake", help="the lake folder or s3:// URI (default $LAKE_DIR or .lake/lake)")
    cl = sub.add_parser("clean", help="expire old snapshots, remove orphan files, compact small files")
    cl.add_argument("--lake", help="the lake folder or s3:// URI (default $LAKE_DIR or .lake/lake)")
    cl.add_argument("--retain-days", type=float, default=7.0,
                    help="keep snapshots and unreferenced files younger than this (default 7, at least 1)")
    cl.add_argument("--retain-last", type=int, default=5, help="keep at least this many snapshots of main (default 5, at least 1)")
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
    src.add_argument("--suite", action="store_true", help="time the whole test suite instead (pytest)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one `lake` command; its exit code (2: a wrong argument or an input it cannot use)."""
    args = parser().parse_args(argv)

    from lake_assets.core.catalog import CatalogError
    from lake_assets.core.maintenance import RollbackError
    from lake_assets.core.query import LakeQueryError, UnreadableSnapshot
    from lake_assets.core.s3 import S3Error
    from lake_assets.core.sources import SourceError

    try:
        if args.command in ("tables", "query", "history"):
            from lake_assets.core import query

            lake = args.lake or query.default_lake()
            if args.command == "tables":
                columns, rows = query.table_summaries(lake)
            elif args.command == "history":
                columns, rows = query.history(lake, args.table)
            else:
                columns, rows = query.run(query.connect(lake, as_of=query.parse_as_of(args.as_of)), args.sql)
            query.emit(query.format_rows(columns, rows, args.format))
        if args.command in ("rollback", "clean"):
            from lake_assets.core import maintenance, query

            if args.command == "clean":
                try:
                    maintenance.check_retention(args.retain_days, args.retain_last)
                except ValueError as exc:
                    raise UsageError(f"clean: {exc}") from None
            by_month = args.command == "rollback" and _rollback_by_month(args)
            lake = _spark_lake(str(args.lake or query.default_lake()))
            if args.command == "rollback":
                done = (maintenance.rollback_month(lake, args.month, args.to_run) if by_month
                        else maintenance.rollback(lake, args.table, args.to))
                for table, (left, now) in done.items():
                    print(f"rollback: {table} now at snapshot {now} (was {left})")
            else:
                maintenance.maintain(lake, args.retain_days, args.retain_last,
                                     log=lambda line: print(f"clean: {line}"))
        if args.command == "report":
            from lake_assets.core.report import write_report

            print(f"report: {write_report(args.lake, args.out)}")
        if args.command == "ui":
            from lake_assets.tools.ui import serve

            return serve(args.port, args.raw, args.lake, automation=args.automation and settings.AUTOMATION.flag())
        if args.command == "build":
            # recorded in the instance `lake ui` shows (unless DAGSTER_HOME names another)
            report = build(args.raw, args.lake, args.months, home=None if settings.dagster_home() else instance_dir())
            return 1 if report.failed_blocking or report.errors else 0
        if args.command == "bench":
            from lake_assets.tools.bench import bench, suite

            if args.suite:
                return suite()
            bench(args.raw, args.scale, args.months, args.repeat)
        if args.command == "generate":
            generate(args.out, args.scale, args.months, args.seed)
        if args.command == "package":
            from lake_assets.tools import package

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
        return 1 if isinstance(exc, UnreadableSnapshot) else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
