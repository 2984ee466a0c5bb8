"""The lake as a Dagster resource: its folders and the run's Spark session (`environments` picks one per environment)."""

from __future__ import annotations

from dagster import ConfigurableResource
from pyspark.sql import SparkSession

from lake_assets.core import settings
from lake_assets.core.catalog import Catalog
from lake_assets.core.s3 import configure_spark, is_s3
from lake_assets.core.storage import Lake
from lake_assets.orchestration.spark import get_spark


class LakeResource(ConfigurableResource):
    """Where the raw sources are, where the lake is written, and the Spark that writes it."""

    raw_dir: str
    lake_dir: str
    spark_master: str = settings.SPARK_MASTER_DEFAULT
    driver_memory: str = settings.SPARK_DRIVER_MEMORY_DEFAULT

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
        return str(settings.lake_home() / "cache")
