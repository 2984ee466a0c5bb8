"""Resources, chosen per environment in one place (`LAKE_ENV`, default `local`)."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource
from pyspark.sql import SparkSession

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
        return get_spark(self.spark_master, self.driver_memory)

    def lake(self) -> Lake:
        return Lake(self.spark(), self.lake_dir)

    @property
    def cache_dir(self) -> str:
        """Where sources that Spark cannot read directly (.sas7bdat) are converted to parquet."""
        return str(lake_home() / "cache")


def resources_for(env: str | None = None, raw_dir: str | None = None, lake_dir: str | None = None) -> dict:
    """The resources of `env` (default `$LAKE_ENV` or local); paths default to `$LAKE_RAW_DIR`,
    `$LAKE_DIR`, then the state folder."""
    env = env or os.getenv("LAKE_ENV", "local")
    home = lake_home()
    by_env = {
        "local": {
            "lake": LakeResource(
                raw_dir=raw_dir or os.getenv("LAKE_RAW_DIR", str(home / "raw")),
                lake_dir=lake_dir or os.getenv("LAKE_DIR", str(home / "lake")),
                spark_master=os.getenv("LAKE_SPARK_MASTER", "local[*]"),
                driver_memory=os.getenv("LAKE_SPARK_DRIVER_MEMORY", "4g"),
            ),
        },
    }
    if env not in by_env:
        raise ValueError(f"LAKE_ENV={env!r} is not one of {', '.join(by_env)}")
    return by_env[env]
