"""A small table's keys, as the references of another table's checks read them: from the rows
this process published while `main` holds them (no Spark job), else read from the table."""

from lake_assets.core.storage import Lake


def jobs_of(spark, group: str, call):
    spark.sparkContext.setJobGroup(group, group)
    try:
        result = call()
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    return result, list(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_a_small_tables_keys_come_from_its_published_rows_until_main_moves(spark, tmp_path):
    lake = Lake(spark, str(tmp_path / "lake"), run_id="run-1")
    lake.publish(lake.stage("t", spark.createDataFrame([(1, "a"), (2, "b"), (3, None), (4, "a")], "k int, v string")))

    values, jobs = jobs_of(spark, "published", lambda: Lake(spark, lake.root).distinct_values("t", "v"))
    assert sorted(values, key=str) == sorted((r.v for r in lake.read("t").select("v").distinct().collect()), key=str)
    assert jobs == []

    spark.createDataFrame([(5, "c")], "k int, v string").writeTo(lake.name("t")).append()  # main moved: read it
    values, jobs = jobs_of(spark, "moved", lambda: Lake(spark, lake.root).distinct_values("t", "v"))
    assert sorted(values, key=str) == [None, "a", "b", "c"]
    assert jobs
