"""Spark entry point for one build of the lake, reporting back through Dagster Pipes.

    spark-submit [--conf ...] lake_assets/core/spark_job.py BUILD --raw RAW --lake LAKE --cache CACHE \
        [--artifacts-sha256 SHA256] [--dagster-pipes-context ... --dagster-pipes-messages ...]

Runs the same build, checks and publication as the in-process assets (`lake_assets.core.builds`)
and reports the outcomes (tables' metadata, check results) as Pipes custom messages, which
the engine turns into Dagster results by the same code as in-process builds
(`lake_assets.orchestration.engines`). The months of a monthly build come from the Pipes extras
(`partition_keys`): Pipes itself sends no partition range for a run over several
partitions. The range is built in one pass, then each month is reported on its own, so that
Dagster records it under its own partition; a month (or step) that cannot be built is reported
as an error after the months before it (the job then ends normally: Dagster fails the step, or
retries it for a commit the catalog did not take). Imports no Dagster, only `dagster-pipes`.
On EMR the code comes from `lake package`'s archive, unpacked as ./deps: given
`--artifacts-sha256`, the job refuses to run unless ./deps hashes to it, and only then puts
./deps on its path. The driver starts without ./deps on PYTHONPATH (engines.py), so nothing in
the archive (a `sitecustomize.py`, an `argparse.py`) can run before the check.
Pipes parameters come from the command line when given there (EMR on EC2 steps), else from
the environment; messages go to S3 when Dagster reads them from S3, else to a local file.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING
import traceback
from dataclasses import asdict

if TYPE_CHECKING:
    from dagster_pipes import PipesContext

# pipes writes messages to S3 this often (and once more when the step ends)
MESSAGE_INTERVAL_SECONDS = 5
# Where spark.archives unpacks `lake package`'s archive beside the driver (`#deps` in engines.py).
DEPS_DIR = "deps"
# The release `lake package` builds and the engines run: its files, and the bootstrap
# action EMR on EC2 runs on each node (the engine starts no cluster unless it hashes to
# BOOTSTRAP_SHA256).
JOB_FILE, DEPS_ARCHIVE, BOOTSTRAP_FILE = "spark_job.py", "lake_deps.tar.gz", "bootstrap.sh"
BOOTSTRAP = """#!/bin/bash
# EMR bootstrap action: the Python that runs lake_assets' Spark jobs ($1, default python3.11).
set -euo pipefail
py="${1:-python3.11}"
command -v "$py" >/dev/null || sudo dnf install -y "$py"
"""
BOOTSTRAP_SHA256 = hashlib.sha256(BOOTSTRAP.encode()).hexdigest()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="spark_job.py", description="Run one build of the lake")
    parser.add_argument("build", help="the asset (or multi-asset) to build, e.g. dim_city or immigration; "
                                     "or maintenance (lake_maintenance)")
    parser.add_argument("--raw", required=True, help="the raw landing zone")
    parser.add_argument("--lake", required=True, help="the lake's root")
    parser.add_argument("--cache", required=True, help="where .sas7bdat extracts are converted to parquet")
    parser.add_argument("--catalog", required=True, help="the Iceberg catalog: 'glue' or a SQLite file")
    parser.add_argument("--namespace", default="lake", help="the tables' namespace (Glue database)")
    parser.add_argument("--artifacts-sha256", help=f"run only if ./{DEPS_DIR} hashes to this (tree_sha256)")
    args, _ = parser.parse_known_args(argv)  # the rest are Pipes' own arguments
    return args


def tree_sha256(root: Path) -> str:
    """The sha256 of a folder's files (relative paths and contents, in path order): of `lake
    package`'s archive before it is packed, and of the same archive as a cluster unpacked it."""
    digest = hashlib.sha256()
    for name, path in sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file()):
        digest.update(f"{name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def check_artifacts(expected_sha256: str) -> None:
    """Refuse to run code other than the release the engine named: the archive this container
    unpacked must hash to `expected_sha256`, and this entry point must be the archive's own copy.
    Then, and only then, the archive's packages become importable."""
    deps = Path(DEPS_DIR)
    found = tree_sha256(deps) if deps.is_dir() else "missing"
    if found != expected_sha256:
        sys.exit(f"spark_job: refusing to run: ./{DEPS_DIR} is {found}, not the release {expected_sha256}")
    own_copy = deps / "lake_assets" / "core" / "spark_job.py"
    if not own_copy.is_file() or own_copy.read_bytes() != Path(__file__).read_bytes():
        sys.exit(f"spark_job: refusing to run: this entry point is not the one of release {expected_sha256}")
    sys.path.insert(0, str(deps.resolve()))


def open_pipes() -> PipesContext:
    from dagster_pipes import (
        DAGSTER_PIPES_CONTEXT_ENV_VAR,
        PipesCliArgsParamsLoader,
        PipesDefaultMessageWriter,
        PipesEnvVarParamsLoader,
        PipesS3MessageWriter,
        open_dagster_pipes,
    )

    cli = PipesCliArgsParamsLoader()
    params_loader = cli if cli.is_dagster_pipes_process() else PipesEnvVarParamsLoader()
    if not params_loader.is_dagster_pipes_process():
        sys.exit(f"spark_job: not started by Dagster (no --dagster-pipes-context nor ${DAGSTER_PIPES_CONTEXT_ENV_VAR})")
    if "bucket" in params_loader.load_messages_params():
        import boto3

        from lake_assets.core import settings

        s3 = boto3.client("s3", endpoint_url=settings.S3_ENDPOINT.value())
        writer = PipesS3MessageWriter(client=s3, interval=MESSAGE_INTERVAL_SECONDS)
    else:
        writer = PipesDefaultMessageWriter()
    return open_dagster_pipes(params_loader=params_loader, message_writer=writer)


def partition_keys(pipes: PipesContext) -> list[str] | None:
    """The months to build: from the extras, else the run's one partition, else none."""
    keys = pipes.extras.get("partition_keys")
    if keys:
        return list(keys)
    return [pipes.partition_key] if pipes.is_partition_step else None


def report(pipes: PipesContext, partition: str | None, outcomes) -> None:
    """A build's outcomes, or one month's, as one custom message."""
    pipes.report_custom_message({"partition": partition, "outcomes": [asdict(o) for o in outcomes]})


def report_months(pipes: PipesContext, months) -> None:
    """Each month's outcomes (or the step's) once it is done; then, if one could not be built, its
    error, `retryable` for a commit the catalog did not take (the engine then retries the step)."""
    from lake_assets.core.builds import RetryableBuildError

    try:
        for key, outcomes in months:
            report(pipes, key, outcomes)
    except Exception as exc:  # the months before it are published: Dagster must still record them
        traceback.print_exc()
        pipes.report_custom_message({"error": str(exc), "retryable": isinstance(exc, RetryableBuildError)})


def step_outcomes(build: str, inputs):
    """A step that is not monthly, built when iterated, as `run_months` yields a month."""
    from lake_assets.core.builds import run_build

    yield None, run_build(build, inputs)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.artifacts_sha256:
        check_artifacts(args.artifacts_sha256)
    from pyspark.sql import SparkSession

    from lake_assets.core.builds import Inputs, run_months
    from lake_assets.core.catalog import Catalog
    from lake_assets.core.maintenance import maintain
    from lake_assets.core.s3 import configure_spark, is_s3
    from lake_assets.core.storage import Lake

    with open_pipes() as pipes:
        # Every setting comes from spark-submit (--master, --conf): the command line is the whole config.
        spark = SparkSession.builder.appName(f"lake_assets {args.build}").getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        if is_s3(args.raw) or is_s3(args.lake):
            configure_spark(spark)  # s3a settings on local or standalone Spark; EMR's own S3 otherwise
        lake = Lake(spark, args.lake, Catalog.for_lake(args.lake, args.catalog, args.namespace), pipes.run_id)
        if args.build == "maintenance":
            maintain(lake, pipes.extras["retain_days"], pipes.extras["retain_last"], log=pipes.log.info)
        else:
            inputs = Inputs(spark, lake, args.raw, args.cache, log=pipes.log.info)
            keys = partition_keys(pipes)
            report_months(pipes, run_months(args.build, inputs, keys) if keys else step_outcomes(args.build, inputs))
    spark.stop()


if __name__ == "__main__":
    main()
