"""The Spark session: one per process, shared by every asset of a run, made by dagster-pyspark.

Its settings are written here once; `engines.JOB_CONF` hands the same ones to spark-submit.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster_pyspark import LazyPySparkResource
from pyspark.sql import SparkSession

from lake_assets import settings
from lake_assets.catalog import EXTENSIONS

LOG4J2 = Path(__file__).with_name("log4j2.properties")

# The code Spark generates for the fact's stage has methods bigger than HotSpot compiles by
# default: without this flag they stay interpreted, 5x slower. For every JVM that runs tasks.
JVM_OPTIONS = "-XX:-DontCompileHugeMethods"

# Settings that suit one machine (ParallelGC for throughput); on EMR the cluster's
# spark-defaults apply instead, plus the few of engines.JOB_CONF.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    # No _SUCCESS markers beside files Spark writes itself (the .sas7bdat cache).
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # Iceberg's SQL (CALL procedures, time travel); its runtime jar is in pyspark's jars/ (setup.sh).
    "spark.sql.extensions": EXTENSIONS,
    "spark.driver.extraJavaOptions": f"{JVM_OPTIONS} -XX:+UseParallelGC -Dlog4j2.configurationFile={LOG4J2}",
}


def session_conf(master: str | None = None, driver_memory: str | None = None) -> dict[str, str]:
    """The settings of a session on this machine: `master` and `driver_memory` default to
    `$LAKE_SPARK_MASTER` and `$LAKE_SPARK_DRIVER_MEMORY`."""
    return {"spark.app.name": "lake_assets", "spark.master": master or settings.SPARK_MASTER.value(),
            "spark.driver.memory": driver_memory or settings.SPARK_DRIVER_MEMORY.value(), **LOCAL_CONF}


def get_spark(master: str | None = None, driver_memory: str | None = None) -> SparkSession:
    """Return the process's Spark session, started on first use by dagster-pyspark's resource
    with `session_conf(master, driver_memory)`; later calls return it as it is."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = LazyPySparkResource(spark_config=session_conf(master, driver_memory)).spark_session
    spark.sparkContext.setLogLevel("ERROR")
    return spark
