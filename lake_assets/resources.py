"""Resources, chosen per environment in one place (`LAKE_ENV`, default `local`)."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource
from pyspark.sql import SparkSession

from lake_assets.catalog import Catalog
from lake_assets.s3 import configure_spark, is_s3
from lake_assets.spark import get_spark
from lake_assets.storage import Lake


def lake_home() -> Path:
    """The project's state folder: generated raw data, the lake, the Dagster instance."""
    return Path(os.getenv("LAKE_HOME", Path.cwd() / ".lake")).absolute()


class LakeResource(ConfigurableResource):
    """Where the raw sources are, where the lake is written, and the Spark that writes it."""

    raw_dir: str
    lake_dir: str
    spark_master: str = "local[*]"
    driver_memory: str = "4g"

    def spark(self) -> SparkSession:
        """The run's one Spark session (started on first use, shared by every asset)."""
        spark = get_spark(self.spark_master, self.driver_memory)
        if is_s3(self.raw_dir) or is_s3(self.lake_dir):
            configure_spark(spark)
        return spark

    def catalog(self) -> Catalog:
        """The lake's Iceberg catalog (`$LAKE_CATALOG`, else beside a local lake, else Glue)."""
        return Catalog.for_lake(self.lake_dir)

    def lake(self, run_id: str = "-") -> Lake:
        """The lake's tables through the run's Spark session; `run_id` marks what it commits."""
        return Lake(self.spark(), self.lake_dir, self.catalog(), run_id)

    @property
    def cache_dir(self) -> str:
        """Where sources that Spark cannot read directly (.sas7bdat) are converted to parquet."""
        return str(lake_home() / "cache")


# local: Spark in the Dagster process; spark-submit: each asset a spark-submit of spark_job.py
# on this machine (through Pipes, like a cluster); emr-serverless / emr: on AWS EMR, lake on S3.
ENVS = ("local", "spark-submit", "emr-serverless", "emr")


def resources_for(env: str | None = None, raw_dir: str | None = None, lake_dir: str | None = None) -> dict:
    """The resources of `env` (default `$LAKE_ENV` or local); paths default to `$LAKE_RAW_DIR`,
    `$LAKE_DIR`, then the state folder."""
    from lake_assets import engines

    env = env or os.getenv("LAKE_ENV", "local")
    if env not in ENVS:
        raise ValueError(f"LAKE_ENV={env!r} is not one of {', '.join(ENVS)}")
    if env in ("local", "spark-submit"):
        home = lake_home()
        lake = LakeResource(
            raw_dir=raw_dir or os.getenv("LAKE_RAW_DIR", str(home / "raw")),
            lake_dir=lake_dir or os.getenv("LAKE_DIR", str(home / "lake")),
            spark_master=os.getenv("LAKE_SPARK_MASTER", "local[*]"),
            driver_memory=os.getenv("LAKE_SPARK_DRIVER_MEMORY", "4g"),
        )
        if env == "local":
            return {"lake": lake, "engine": engines.LocalEngine(lake=lake)}
        return {"lake": lake, "engine": engines.SubmitEngine(
            lake=lake, deps_archive=os.getenv("LAKE_DEPS_ARCHIVE") or None,
            executor_python=os.getenv("LAKE_EXECUTOR_PYTHON", "python3"))}

    # On EMR the raw landing zone, the lake and the job's artifacts are on S3.
    need = ["LAKE_S3_BUCKET", "LAKE_EMR_ARTIFACTS_SHA256"] + (
        ["LAKE_EMR_SERVERLESS_APPLICATION_ID", "LAKE_EMR_EXECUTION_ROLE_ARN"] if env == "emr-serverless" else [])
    missing = [name for name in need if not os.getenv(name)]
    if missing:
        raise ValueError(f"LAKE_ENV={env} needs {', '.join(missing)} (see the README's 'Running on EMR')")
    s3 = f"s3://{os.environ['LAKE_S3_BUCKET']}"
    lake = LakeResource(raw_dir=raw_dir or os.getenv("LAKE_RAW_DIR", f"{s3}/raw"),
                        lake_dir=lake_dir or os.getenv("LAKE_DIR", f"{s3}/lake"))
    shared = dict(lake=lake, bucket=os.environ["LAKE_S3_BUCKET"],
                  artifacts_uri=os.getenv("LAKE_EMR_ARTIFACTS", f"{s3}/artifacts/lake_assets"),
                  artifacts_sha256=os.environ["LAKE_EMR_ARTIFACTS_SHA256"],
                  logs_uri=os.getenv("LAKE_EMR_LOGS_URI", f"{s3}/emr-logs/"),
                  python=os.getenv("LAKE_EMR_PYTHON", "python3.11"))
    if env == "emr-serverless":
        engine = engines.EmrServerlessEngine(
            application_id=os.environ["LAKE_EMR_SERVERLESS_APPLICATION_ID"],
            execution_role_arn=os.environ["LAKE_EMR_EXECUTION_ROLE_ARN"], **shared)
    else:
        engine = engines.EmrClusterEngine(
            release_label=os.getenv("LAKE_EMR_RELEASE", "emr-7.13.0"),
            instance_type=os.getenv("LAKE_EMR_INSTANCE_TYPE", "m5.xlarge"),
            core_instance_count=int(os.getenv("LAKE_EMR_CORE_INSTANCES", "2")),
            service_role=os.getenv("LAKE_EMR_SERVICE_ROLE", "EMR_DefaultRole"),
            instance_profile=os.getenv("LAKE_EMR_INSTANCE_PROFILE", "EMR_EC2_DefaultRole"),
            subnet_id=os.getenv("LAKE_EMR_SUBNET_ID") or None, **shared)
    return {"lake": lake, "engine": engine}
