"""The driver JVM's class archive is named by this Java and pyspark's jars, and used only when it
is there, by every driver started here: a session and spark-submit (no Spark started)."""

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
