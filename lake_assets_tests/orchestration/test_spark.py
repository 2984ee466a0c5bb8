"""The driver JVM's class archive is named by this Java and pyspark's jars, and used only when it
is there, by every driver started here: a session and spark-submit; stale archives are pruned; the
session that makes it runs every build on a small generated month (no Spark started)."""

import json
import os
from pathlib import Path

from lake_assets.core import builds, storage
from lake_assets.core.tables import BUILDS
from lake_assets.orchestration import spark
from lake_assets.orchestration.engines import SubmitEngine
from lake_assets.orchestration.resources import LakeResource


def test_class_archive_is_keyed_by_the_jars_and_used_only_when_made(tmp_path, monkeypatch):
    package = tmp_path / "pyspark"
    (package / "jars").mkdir(parents=True)
    monkeypatch.setattr(spark.pyspark, "__file__", str(package / "__init__.py"))
    monkeypatch.setenv("LAKE_JAR_CACHE", str(tmp_path / "cache"))
    (package / "jars" / "a.jar").write_bytes(b"a")
    first = spark.class_archive()
    assert first.parent == tmp_path / "cache" and first == spark.class_archive()
    assert "SharedArchiveFile" not in spark.session_conf("local[1]", "1g")["spark.driver.extraJavaOptions"]

    (package / "jars" / "b.jar").write_bytes(b"b")
    archive = spark.class_archive()
    assert archive != first
    archive.parent.mkdir()
    archive.write_bytes(b"")
    assert f"-XX:SharedArchiveFile={archive}" in spark.session_conf("local[1]", "1g")["spark.driver.extraJavaOptions"]
    submit = SubmitEngine(lake=LakeResource(raw_dir="raw", lake_dir="lake", spark_master="local[1]")).submit_command()
    assert f"spark.driver.extraJavaOptions={spark.driver_java_options()}" in submit


def test_stale_archives_and_dead_makes_are_pruned_the_current_and_recently_used_kept(tmp_path):
    now, day = 1_800_000_000, 86_400
    current = tmp_path / "driver-current.jsa"

    def made(name: str, days_unused: float) -> Path:
        path = tmp_path / name
        path.write_bytes(b"")
        os.utime(path, (now - days_unused * day, now - days_unused * day))
        return path

    made(current.name, 30)  # however old, never removed
    recent = [made(f"driver-{i}.jsa", i / 10) for i in range(spark.ARCHIVES_KEPT + 2)]  # used within a day
    unused = made("driver-unused.jsa", spark.ARCHIVE_UNUSED_DAYS + 0.1)
    read = made("driver-read.jsa", 10)
    os.utime(read, (now - 3600, now - 10 * day))  # made long ago, mapped an hour ago: its access time counts
    dead, making = made("driver-x.jsa.1.part", 2 / 24), made("driver-y.jsa.2.part", 0.1 / 24)
    other = made("aws-java-sdk-bundle-1.12.262.jar", 400)

    removed = spark.prune_class_archives(current, now=now)
    assert set(removed) == {unused, dead, *recent[spark.ARCHIVES_KEPT - 2:]}
    kept = {current, read, *recent[:spark.ARCHIVES_KEPT - 2]}
    assert set(tmp_path.glob("driver-*.jsa")) == kept and len(kept) == spark.ARCHIVES_KEPT
    assert making.is_file() and other.is_file()
    assert spark.prune_class_archives(current, now=now) == []


def test_the_warm_session_runs_every_build_on_a_small_generated_month(tmp_path, monkeypatch):
    """What the archive covers: each build `lake build` runs, in order, on a month of a few hundred
    generated rows in a temporary lake that is removed after (Spark, the lake and the builds faked)."""
    ran, seen = [], {}

    class Session:
        def __init__(self, spark_config):
            seen["conf"] = spark_config
            self.spark_session = "spark"

    def run_build(name, inputs):
        seen["raw"] = Path(inputs.raw_dir)
        seen["rows"] = json.loads((seen["raw"] / "generation_manifest.json").read_text())["months"]["2016-04"]["rows"]
        ran.append(name)

    def run_months(name, inputs, keys):
        ran.append((name, keys))
        yield keys[0], []

    monkeypatch.setattr(spark, "LazyPySparkResource", Session)
    monkeypatch.setattr(storage, "Lake", lambda session, root, catalog, run_id: root)
    monkeypatch.setattr(builds, "run_build", run_build)
    monkeypatch.setattr(builds, "run_months", run_months)
    spark.warm_up(tmp_path / "driver.jsa.part")
    assert ran == [(b.name, ["2016-04-01"]) if b.monthly else b.name for b in BUILDS.values()]
    assert f"-XX:ArchiveClassesAtExit={tmp_path / 'driver.jsa.part'}" in seen["conf"]["spark.driver.extraJavaOptions"]
    assert seen["conf"]["spark.master"].startswith("local") and 100 <= seen["rows"] <= 1000
    assert not seen["raw"].exists()  # the generated month and the lake are gone
