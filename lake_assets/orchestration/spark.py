"""The Spark session: one per process, shared by every asset of a run, made by dagster-pyspark.

Its settings are written here once; `engines.JOB_CONF` hands the same ones to spark-submit.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyspark

from dagster_pyspark import LazyPySparkResource
from pyspark.sql import SparkSession

from lake_assets.core import settings
from lake_assets.core.catalog import EXTENSIONS

LOG4J2 = Path(__file__).with_name("log4j2.properties")

# The code Spark generates for the fact's stage has methods bigger than HotSpot compiles by
# default: without this flag they stay interpreted, 5x slower. For every JVM that runs tasks.
JVM_OPTIONS = "-XX:-DontCompileHugeMethods"

# C2, HotSpot's optimizing compiler, only for methods ten times as hot as its defaults ask: a
# build of small tables spent most of its JVM's CPU compiling Spark's planner, Iceberg and Parquet
# with C2 for the few seconds they ran; a big month's row loops still reach C2 within a few
# percent of their rows (docs/performance.md, "2026-12-07, night").
C2_THRESHOLDS = ("-XX:Tier4InvocationThreshold=50000 -XX:Tier4MinInvocationThreshold=6000 "
                 "-XX:Tier4CompileThreshold=150000 -XX:Tier4BackEdgeThreshold=400000")

# Settings that suit one machine (ParallelGC for throughput, C2_THRESHOLDS); on EMR the cluster's
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
    "spark.driver.extraJavaOptions": f"{JVM_OPTIONS} {C2_THRESHOLDS} -XX:+UseParallelGC "
                                     f"-Dlog4j2.configurationFile={LOG4J2}",
}


def class_archive() -> Path:
    """The driver JVM's class-data-sharing archive (JDK 17 AppCDS) under the jar cache, named by a
    hash of this Java and pyspark's jars/ (names, sizes, times): a changed JVM or jar never meets a
    stale archive (the JVM would refuse it and start without sharing)."""
    home = os.environ.get("JAVA_HOME")
    java = (Path(home, "bin", "java") if home else Path(shutil.which("java") or "java")).resolve()
    release = java.parent.parent / "release"
    digest = hashlib.sha1(f"{java}\n".encode() + (release.read_bytes() if release.is_file() else b""))
    for jar in sorted((Path(pyspark.__file__).parent / "jars").glob("*.jar")):
        stat = jar.stat()
        digest.update(f"{jar.name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    cache = Path(settings.JAR_CACHE.value() or Path.home() / ".cache" / "lake_assets" / "jars")
    return cache / f"driver-{digest.hexdigest()[:16]}.jsa"


def driver_java_options(archive_at_exit: Path | None = None) -> str:
    """The local driver JVM's options: the class archive shared when there is one, or, with
    `archive_at_exit`, the classes it loads written there when it exits."""
    archive = class_archive()
    sharing = (f" -XX:ArchiveClassesAtExit={archive_at_exit}" if archive_at_exit
               else f" -XX:SharedArchiveFile={archive}" if archive.is_file() else "")
    return LOCAL_CONF["spark.driver.extraJavaOptions"] + sharing


# Another checkout's archive (each has its own: its jars' times differ) is removed once no JVM
# has mapped it for ARCHIVE_UNUSED_DAYS, and beyond the ARCHIVES_KEPT most recently used.
ARCHIVE_UNUSED_DAYS = 2
ARCHIVES_KEPT = 8
PART_HOURS = 1  # a `.part` this old is a make that died (make_class_archive's timeout: 30 min)


def _last_use(path: Path) -> float | None:
    """When a JVM last mapped the archive (its access time: Linux's relatime updates it at least
    daily) or it was made; None once another process removed it."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return max(stat.st_atime, stat.st_mtime)


def prune_class_archives(current: Path, now: float | None = None) -> list[Path]:
    """Remove the other checkouts' archives beside `current` unused for ARCHIVE_UNUSED_DAYS or
    beyond the ARCHIVES_KEPT most recently used (`current` counted), and dead makes' `.part`
    files; return them. Age is the rule (a checkout in use keeps its archive); the count bounds a
    day of many checkouts. A JVM mapping a removed archive keeps it (Linux): only the next start
    of its checkout is slower, until that checkout's setup makes it again."""
    now = time.time() if now is None else now
    used = {p: _last_use(p) for p in current.parent.glob("driver-*.jsa") if p != current}
    others = sorted((p for p in used if used[p] is not None), key=used.get, reverse=True)
    stale = [p for i, p in enumerate(others)
             if i >= ARCHIVES_KEPT - 1 or now - used[p] > ARCHIVE_UNUSED_DAYS * 86400]
    stale += [p for p in current.parent.glob("driver-*.jsa.*.part")
              if now - (_last_use(p) or now) > PART_HOURS * 3600]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def warm_up(part: Path) -> None:
    """The session whose loaded classes make the archive: the builds `lake build` runs (the seven
    dimensions, a month of the fact, the analytics) through the Dagster-free core on a generated
    month of ~300 rows in a temporary lake, so every later driver maps the classes of Iceberg's
    staged writes and commits, the JDBC catalog, Parquet and CSV reads, joins, aggregates and
    code generation instead of loading them (docs/performance.md)."""
    from lake_assets.core.builds import Inputs, run_build, run_months
    from lake_assets.core.catalog import Catalog
    from lake_assets.core.generate import generate_raw
    from lake_assets.core.storage import Lake
    from lake_assets.core.tables import BUILDS

    with tempfile.TemporaryDirectory(prefix="class-archive-") as tmp:
        raw, lake = f"{tmp}/raw", f"{tmp}/lake"
        generate_raw(raw, scale=0.0001, months=["2016-04"])
        conf = session_conf(settings.SPARK_MASTER_DEFAULT, archive_at_exit=part)
        spark = LazyPySparkResource(spark_config=conf).spark_session
        catalog = Catalog.for_lake(lake, f"{lake}/catalog.db", "lake")
        inputs = Inputs(spark, Lake(spark, lake, catalog, run_id="class-archive"), raw, f"{tmp}/cache",
                        log=lambda line: None)
        for build in BUILDS.values():  # in dependency order
            if build.monthly:
                list(run_months(build.name, inputs, ["2016-04-01"]))
            else:
                run_build(build.name, inputs)


def make_class_archive() -> Path:
    """Make the class archive once (scripts/setup.sh), after pruning stale ones: run `warm_up` in a
    process whose JVM writes the classes it loaded at exit, wait for that JVM to end, then move
    the archive into place atomically."""
    archive = class_archive()
    archive.parent.mkdir(parents=True, exist_ok=True)
    prune_class_archives(archive)
    if archive.is_file():
        return archive
    part = archive.with_name(f"{archive.name}.{os.getpid()}.part")
    warm = f"from lake_assets.orchestration import spark as s\ns.warm_up(s.Path({str(part)!r}))\n"
    # The JVM outlives the Python process and writes the archive as it ends: run() returns when the
    # last holder of the output pipes, the JVM, has closed them.
    subprocess.run([sys.executable, "-c", warm], check=True, capture_output=True, timeout=1800,
                   env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
    if not part.is_file():
        raise RuntimeError(f"the driver JVM wrote no class archive at {part}")
    part.replace(archive)
    return archive


def local_conf(archive_at_exit: Path | None = None) -> dict[str, str]:
    """LOCAL_CONF for a driver started on this machine (a session, spark-submit): it shares the
    class archive."""
    return {**LOCAL_CONF, "spark.driver.extraJavaOptions": driver_java_options(archive_at_exit)}


def session_conf(master: str | None = None, driver_memory: str | None = None,
                 archive_at_exit: Path | None = None) -> dict[str, str]:
    """The settings of a session on this machine: `master` and `driver_memory` default to
    `$LAKE_SPARK_MASTER` and `$LAKE_SPARK_DRIVER_MEMORY`; the driver shares the class archive."""
    return {"spark.app.name": "lake_assets", "spark.master": master or settings.SPARK_MASTER.value(),
            "spark.driver.memory": driver_memory or settings.SPARK_DRIVER_MEMORY.value(),
            **local_conf(archive_at_exit)}


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
