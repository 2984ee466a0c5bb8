"""The Spark session: one per process, shared by every asset of a run (no Dagster here)."""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import SparkSession

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


def get_spark(master: str | None = None, driver_memory: str | None = None) -> SparkSession:
    """Return the process's Spark session, starting it on first use.

    `master` defaults to `$LAKE_SPARK_MASTER` or `local[*]`; `driver_memory` to
    `$LAKE_SPARK_DRIVER_MEMORY` or 4g. Both only matter for the first call of a process.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName("lake_assets").master(
        master or os.getenv("LAKE_SPARK_MASTER", "local[*]")
    )
    conf = dict(LOCAL_CONF, **{"spark.driver.memory": driver_memory or os.getenv("LAKE_SPARK_DRIVER_MEMORY", "4g")})
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
