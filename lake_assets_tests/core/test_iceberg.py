"""The lake's tables as Iceberg tables: write-audit-publish, history, time travel, rollback and
maintenance, on a small table of one month written through `Lake` as the steps write theirs."""

import time

import pytest
from pyspark.sql import functions as F

from lake_assets.core.catalog import SPARK_CATALOG
from lake_assets.core.failures import PublishConflict
from lake_assets.core.maintenance import RollbackError, maintain, rollback
from lake_assets.core.query import connect, history, parse_as_of
from lake_assets.core.storage import Lake
from lake_assets.tools.cli import main

APRIL = {"i94yr": 2016, "i94mon": 4}


def write(lake: Lake, values: list[int], publish: bool = True):
    df = lake.spark.createDataFrame([(v, 2016, 4) for v in values], "v int, i94yr int, i94mon int")
    staged = lake.stage("t", df, partition=APRIL, month="2016-04")
    return staged, lake.publish(staged) if publish else None


def values(lake_dir, as_of=None) -> list[int]:
    return sorted(v for (v,) in connect(lake_dir, as_of=as_of).execute("select v from t").fetchall())


@pytest.fixture
def lake(spark, tmp_path):
    return Lake(spark, str(tmp_path / "lake"), run_id="run-1")


def test_staged_snapshot_is_invisible_until_published_and_history_says_what_each_is(lake, tmp_path):
    first, v1 = write(lake, [1, 2])
    time.sleep(0.05)
    second, v2 = write(lake, [3])
    rejected, _ = write(lake, [9, 9], publish=False)  # as a failed check leaves it

    assert values(lake.root) == [3]  # main: the second version only
    assert values(lake.root, as_of=rejected.snapshot_id) == [9, 9]  # inspectable by its id
    columns, rows = history(lake.root, "t")
    by_id = {int(r[1]): dict(zip(columns, r)) for r in rows}
    assert by_id[v1]["state"] == "main" and by_id[v2]["state"] == "current"
    assert by_id[rejected.snapshot_id]["state"] == "staged, not published"
    assert {(r["run"], r["month"]) for r in by_id.values()} == {("run-1", "2016-04")}
    assert (by_id[v2]["rows_added"], by_id[v2]["rows_removed"]) == (1, 2)  # the month replaced whole


def test_a_month_staged_by_two_runs_lands_once_the_same_rows_or_the_second_stops(lake):
    """Two runs stage the same month from one `main`: the first publishes; the second's
    cherry-pick fails validation. Same rows: it succeeds as the first's; other rows: one line."""
    write(lake, [1])
    first, _ = write(lake, [2, 3], publish=False)
    same, _ = write(lake, [3, 2], publish=False)
    other, _ = write(lake, [4], publish=False)
    published = lake.publish(first)
    assert lake.publish(same) == published
    with pytest.raises(PublishConflict, match=r"^t \[i94yr=2016, i94mon=4\]: another run committed a different"):
        lake.publish(other)
    assert values(lake.root) == [2, 3]


def test_a_small_table_with_the_rows_main_holds_commits_nothing(lake):
    """An unpartitioned small table built again with the same rows (in any order) writes and
    commits nothing, yet is measured; other rows commit; an unchanged build whose table another
    run changed meanwhile stops."""
    def stage(rows):
        return lake.stage("s", lake.spark.createDataFrame([(v,) for v in rows], "v int"), {"top": F.max("v")})

    first = lake.publish(stage([1, 2]))
    again = stage([2, 1])
    assert again.unchanged and (again.rows, again.metrics["top"], again.bytes) == (2, 2, 0)
    assert lake.publish(again) == first
    assert len(list(lake._java_table("s").snapshots())) == 2  # the first build's staged and published ones
    later = stage([2, 1])
    changed = lake.publish(stage([3]))
    assert changed != first and not stage([2, 1]).unchanged
    with pytest.raises(PublishConflict, match=r"^s: another run committed a different version"):
        lake.publish(later)


def test_a_small_table_compacted_since_its_build_still_commits_nothing_when_unchanged(lake):
    """Compaction rewrites files, not rows: the same rows built after it write nothing."""
    def stage(rows):
        return lake.stage("s", lake.spark.createDataFrame([(v,) for v in rows], "v int"), {})

    lake.publish(stage([1, 2]))
    lake.spark.sql(f"call {SPARK_CATALOG}.system.rewrite_data_files(table => '{lake.name('s')}', "
                   "options => map('rewrite-all', 'true'))").first()
    compacted = lake._java_table("s").currentSnapshot()
    assert compacted.operation() == "replace"
    again = stage([2, 1])
    assert again.unchanged and lake.publish(again) == compacted.snapshotId()


def test_time_travel_and_rollback(lake, capsys):
    _, v1 = write(lake, [1, 2])
    between = time.time()
    time.sleep(0.05)
    write(lake, [3])
    assert values(lake.root, as_of=parse_as_of(str(v1))) == [1, 2]
    assert values(lake.root, as_of=between * 1000) == [1, 2]

    assert main(["query", "select count(*) as n from t", "--lake", lake.root, "--as-of", str(v1), "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "2"]
    v3 = lake.current_snapshot("t")
    rollback(lake, "t", v1)
    assert values(lake.root) == [1, 2]
    for unknown_or_later in (12345, v3):  # Iceberg's ValidationException, by its class
        with pytest.raises(RollbackError, match="not an earlier version"):
            rollback(lake, "t", unknown_or_later)


def test_a_table_another_run_created_a_moment_ago_is_used_and_other_errors_are_raised(lake, monkeypatch):
    from types import SimpleNamespace

    from pyspark.errors import AnalysisException

    write(lake, [1])
    spark = lake.spark  # as if the other run created it between `if not exists` and the create
    monkeypatch.setattr(lake, "spark", SimpleNamespace(sql=lambda sql: spark.sql(sql.replace("if not exists ", ""))))
    df = spark.createDataFrame([(2, 2016, 4)], "v int, i94yr int, i94mon int")
    lake._create("t", df, APRIL)  # Spark's TableAlreadyExistsException, by its error class
    with pytest.raises(AnalysisException):
        lake._create("no such table", df, APRIL)
    monkeypatch.undo()
    assert values(lake.root) == [1]


def test_maintenance_expires_old_and_unpublished_snapshots_and_keeps_live_files(lake):
    write(lake, [1])
    write(lake, [2])
    rejected, _ = write(lake, [7], publish=False)
    _, current = write(lake, [3, 4])
    before = {r[1] for r in history(lake.root, "t")[1]}

    done = maintain(lake, retain_days=0, retain_last=1, log=lambda _: None)

    after = {int(r[1]) for r in history(lake.root, "t")[1]}
    assert after == {current} and len(before) == 7  # 3 staged and their 3 commits on main, 1 rejected
    assert rejected.snapshot_id not in after  # the audited-but-rejected snapshot is gone
    assert done["t"]["expired_data_files"] >= 3
    assert values(lake.root) == [3, 4]  # every file of the live snapshot is still there
