"""Spark entry point for one step of the lake, reporting back through Dagster Pipes.

    spark-submit [--conf ...] lake_assets/spark_job.py STEP --raw RAW --lake LAKE --cache CACHE \
        [--dagster-pipes-context ... --dagster-pipes-messages ...]

Runs the same build, checks and publication as the in-process assets (`lake_assets.steps`),
then reports each published table's metadata and every check result to Dagster. The months
of a monthly step come from the Pipes extras (`partition_keys`): Pipes itself sends no
partition range for a run over several partitions. Imports no Dagster, only `dagster-pipes`.
Pipes parameters come from the command line when given there (EMR on EC2 steps), else from
the environment; messages go to S3 when Dagster reads them from S3, else to a local file.
"""

from __future__ import annotations

import argparse
import os
import sys

from dagster_pipes import (
    DAGSTER_PIPES_CONTEXT_ENV_VAR,
    PipesCliArgsParamsLoader,
    PipesContext,
    PipesDefaultMessageWriter,
    PipesEnvVarParamsLoader,
    PipesS3MessageWriter,
    open_dagster_pipes,
)

# pipes writes messages to S3 this often (and once more when the step ends)
MESSAGE_INTERVAL_SECONDS = 5


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="spark_job.py", description="Build one step of the lake")
    parser.add_argument("step", help="the asset (or multi-asset) to build, e.g. dim_city or immigration")
    parser.add_argument("--raw", required=True, help="the raw landing zone")
    parser.add_argument("--lake", required=True, help="the lake's root")
    parser.add_argument("--cache", required=True, help="where .sas7bdat extracts are converted to parquet")
    args, _ = parser.parse_known_args(argv)  # the rest are Pipes' own arguments
    return args


def open_pipes() -> PipesContext:
    cli = PipesCliArgsParamsLoader()
    params_loader = cli if cli.is_dagster_pipes_process() else PipesEnvVarParamsLoader()
    if not params_loader.is_dagster_pipes_process():
        sys.exit(f"spark_job: not started by Dagster (no --dagster-pipes-context nor ${DAGSTER_PIPES_CONTEXT_ENV_VAR})")
    if "bucket" in params_loader.load_messages_params():
        import boto3

        s3 = boto3.client("s3", endpoint_url=os.getenv("LAKE_S3_ENDPOINT") or None)
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


def report(pipes: PipesContext, outcomes) -> None:
    for outcome in outcomes:
        if outcome.metadata is not None:
            pipes.report_asset_materialization(asset_key=outcome.table, metadata=outcome.metadata)
        for check in outcome.checks:
            pipes.report_asset_check(check_name=check.name, asset_key=check.table, passed=check.passed,
                                     severity="ERROR" if check.blocking else "WARN", metadata=check.metadata)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from pyspark.sql import SparkSession

    from lake_assets.s3 import configure_spark, is_s3
    from lake_assets.steps import Inputs, run_step
    from lake_assets.storage import Lake

    with open_pipes() as pipes:
        # Every setting comes from spark-submit (--master, --conf): the command line is the whole config.
        spark = SparkSession.builder.appName(f"lake_assets {args.step}").getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        if is_s3(args.raw) or is_s3(args.lake):
            configure_spark(spark)  # s3a settings on local or standalone Spark; EMR's own S3 otherwise
        inputs = Inputs(spark, Lake(spark, args.lake), args.raw, args.cache, log=pipes.log.info)
        report(pipes, run_step(args.step, inputs, partition_keys(pipes)))
    spark.stop()


if __name__ == "__main__":
    main()
