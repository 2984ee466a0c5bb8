"""`lake bench` runs on a tiny generated input and ends with its figures as one JSON line
(no timing asserts: it is a benchmark); the reference check it made cheap still finds
dangling values in the writing pass."""

import json



def test_bench_tiny_scale_prints_json_figures(spark, capsys):
    from lake_assets.tools.cli import main

    assert main(["bench", "--scale", "0.0002", "--months", "2016-04"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"months", "repeat", "spark_start_s", "build_wall_s", "builds", "peak_rss_bytes", "total_wall_s",
            "assets", "facts", "build_vs_spark_start", "build_vs_duckdb_months", "dimension_seconds",
            "slowest_dimension_s"} <= set(figures)
    assert set(figures["dimension_seconds"]) == {"dim_country", "dim_state", "dim_visa", "dim_travel_mode",
                                                 "dim_city", "dim_port", "dim_temperature"}
    assert figures["months"] == ["2016-04"] and figures["peak_rss_bytes"] > 0
    assets = {a["asset"] for a in figures["assets"]}
    assert {"dim_city", "dim_port", "immigration", "metro_arrivals_monthly"} <= assets
    assert {"asset", "partition", "seconds", "rows", "rows_per_s", "bytes"} <= set(figures["assets"][0])
    (fact,) = figures["facts"]
    assert {"month", "spark_s", "duckdb_s", "ratio", "rows", "reject_rows"} <= set(fact)
    assert fact["same_counts"], fact


def test_references_are_checked_in_the_writing_pass(spark, tmp_path):
    from lake_assets.core.quality import dangling, reference_metrics
    from lake_assets.core.storage import Lake

    df = spark.createDataFrame([(1, "a"), (2, "zz"), (3, None), (4, "zz"), (5, "b")], "id int, code string")
    lake = Lake(spark, str(tmp_path / "lake"))
    staged = lake.stage("t", df, reference_metrics({"code": ["a", "b"]}))
    assert dangling(staged.metrics, {"code": ("dim", "code")}) == {"dangling.code": (2, ["zz"])}
    assert staged.rows == 5 and spark.read.option("snapshot-id", staged.snapshot_id).table(lake.name("t")).columns \
        == ["id", "code"]


def test_duplicate_keys_are_found_the_same_way_on_small_and_big_tables(spark, tmp_path):
    from lake_assets.core.storage import Lake

    lake = Lake(spark, str(tmp_path / "lake"))
    df = spark.createDataFrame([("b", 1), ("a", 2), ("b", 1), (None, 3), (None, 3), ("c", 4), ("a", 2), ("a", 2)],
                               "k string, m int")
    staged = lake.stage("t", df)
    small = lake.duplicate_keys(staged, ["k", "m"])  # collected on the driver
    staged.metrics["rows"] = 10**9
    big = lake.duplicate_keys(staged, ["k", "m"])  # grouped by Spark
    assert small == big == [(3, [(None, 3), ("a", 2), ("b", 1)])]  # one part: the table
    assert lake.duplicate_keys(staged, ["m"]) == [(3, [1, 2, 3])]
