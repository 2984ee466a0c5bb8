"""A range of months in one pass: each table staged in one write with each month's own metrics,
keys checked per month, each table published in one commit; a month whose blocking check fails
publishes only the months before it; a range that another run's commit of one of its months
overtook is published month by month, each month's two tables from one run."""

import pytest

from lake_assets.core.builds import stage_check_publish_months
from lake_assets.core.failures import PublishConflict
from lake_assets.core.quality import Check
from lake_assets.core.query import history, month_runs
from lake_assets.core.staged import Part
from lake_assets.core.storage import Lake
from lake_assets.core.tables import TABLES
from lake_assets.core.tables.table import Column, Table, TableOutput
from lake_assets_tests.support.frames import month_frame

FACT, REJECTS = "t", "t_rejects"
MONTHS = [{"i94yr": 2016, "i94mon": m} for m in (3, 4, 5)]
COLUMNS = (Column("v", "int", ""), Column("i94yr", "int", ""), Column("i94mon", "int", ""))


@pytest.fixture
def tables(monkeypatch):
    monkeypatch.setitem(TABLES, FACT, Table(FACT, "a fact", (), COLUMNS, keys=("v",),
                                            checks=(Check("positive", "v > 0", bad_rows="v <= 0"),)))
    monkeypatch.setitem(TABLES, REJECTS, Table(REJECTS, "its rejects", (), COLUMNS))


def outputs(spark, facts: list[list[int]], rejects: list[list[int]]) -> list[list[TableOutput]]:
    return [[TableOutput(FACT, month_frame(spark, f, p), p), TableOutput(REJECTS, month_frame(spark, r, p), p)]
            for f, r, p in zip(facts, rejects, MONTHS)]


def month_rows(lake: Lake, table: str) -> dict[int, list[int]]:
    rows: dict[int, list[int]] = {}
    for r in lake.read(table).collect():
        rows.setdefault(r.i94mon, []).append(r.v)
    return {m: sorted(v) for m, v in rows.items()}


def commits(root: str, table: str) -> list[tuple]:
    return [row for row in history(root, table)[1] if row[-1] in ("current", "main")]


def test_a_range_is_one_write_and_one_commit_per_table_with_each_months_own_results(spark, tmp_path, tables):
    root = str(tmp_path / "lake")
    lake = Lake(spark, root, run_id="run-1")
    results = stage_check_publish_months(lake, outputs(spark, [[1, 2], [1, 2, 3], [7]], [[9], [], [8, 9]]), print)

    assert [[o.metadata["rows"]["raw_value"] for o in month] for month in results] == [[2, 1], [3, 0], [1, 2]]
    assert [month[0].metadata["partition"]["raw_value"] for month in results] == [
        "i94yr=2016, i94mon=3", "i94yr=2016, i94mon=4", "i94yr=2016, i94mon=5"]
    assert all(c.passed for month in results for o in month for c in o.checks)
    assert [[o.metadata["preview"]["raw_value"].count(f"| 2016 | {m} |") for o in month]  # each month's own rows
            for m, month in zip((3, 4, 5), results)] == [[2, 1], [3, 0], [1, 2]]
    for table in (FACT, REJECTS):
        snapshots = history(root, table)[1]
        assert [row[6] for row in snapshots] == ["2016-03..2016-05"] * 2  # staged once, published once
        assert len(commits(root, table)) == 1
    assert month_rows(lake, FACT) == {3: [1, 2], 4: [1, 2, 3], 5: [7]}
    assert month_rows(lake, REJECTS) == {3: [9], 5: [8, 9]}
    assert month_runs(root, FACT) == month_runs(root, REJECTS) == {m: "run-1" for m in ("2016-03", "2016-04", "2016-05")}


def test_a_month_failing_a_blocking_check_publishes_only_the_months_before_it(spark, tmp_path, tables):
    root = str(tmp_path / "lake")
    lake = Lake(spark, root, run_id="run-1")
    results = stage_check_publish_months(lake, outputs(spark, [[1, 2], [5, 5, -1], [7, 7]], [[9], [], []]), print)

    assert [bool(month[0].failed_blocking) for month in results] == [False, True, True]
    april = {c.name: c for c in results[1][0].checks}
    found = {k: v["raw_value"] for k, v in april["key_unique_not_null"].metadata.items()}
    assert (found["duplicate_keys"], found["duplicate_examples"]) == (1, [5])  # April's own, not May's
    assert {k: v["raw_value"] for k, v in april["positive"].metadata.items()}["offending_rows"] == 1
    assert "rejected_version" in april["positive"].metadata
    assert results[0][0].metadata is not None and all(o.metadata is None for m in results[1:] for o in m)
    assert month_rows(lake, FACT) == {3: [1, 2]} and month_rows(lake, REJECTS) == {3: [9]}
    assert [row[6] for row in commits(root, FACT)] == ["2016-03"]  # one commit of the months before


def test_a_range_overtaken_on_one_month_publishes_month_by_month_each_month_from_one_run(spark, tmp_path, tables):
    root = str(tmp_path / "lake")
    mine, other = Lake(spark, root, run_id="run-a"), Lake(spark, root, run_id="run-b")
    staged = {table: mine.stage_parts(table, [Part(month_frame(spark, values, p), partition=p, month=f"2016-{m:02d}")
                                               for values, p, m in zip(rows, MONTHS, (3, 4, 5))])
              for table, rows in ((FACT, [[1], [1, 2], [3]]), (REJECTS, [[], [3], []]))}
    april = MONTHS[1]
    overtaking = {table: other.stage(table, month_frame(spark, rows, april), partition=april, month="2016-04")
                  for table, rows in ((FACT, [1]), (REJECTS, [2, 3]))}
    other.publish(overtaking[FACT])
    other.follow(overtaking[REJECTS], FACT)

    with pytest.raises(PublishConflict, match="another run committed a different version"):
        mine.publish(staged[FACT])
    mine.follow(staged[REJECTS], FACT)
    assert month_rows(mine, FACT) == {3: [1], 4: [1], 5: [3]}
    assert month_rows(mine, REJECTS) == {4: [2, 3]}
    assert month_runs(root, FACT) == {"2016-03": "run-a", "2016-04": "run-b", "2016-05": "run-a"}
    assert month_runs(root, REJECTS) == {"2016-04": "run-b"}  # months never with rejects: nothing committed


def test_a_ranges_keys_are_checked_per_month_in_one_job_the_same_way_small_or_big(spark, tmp_path):
    lake = Lake(spark, str(tmp_path / "lake"), run_id="run-1")
    staged = lake.stage_parts(FACT, [Part(month_frame(spark, values, p), partition=p, month=f"2016-{p['i94mon']:02d}")
                                     for values, p in zip([[1, 1, 2], [], [3, 4, 4, 5, 5]], MONTHS)])
    small = lake.duplicate_keys(staged, ["v"])  # collected on the driver
    staged.metrics["rows"] = 10**9
    big = lake.duplicate_keys(staged, ["v"])  # grouped by Spark, by month
    assert small == big == [(1, [1]), (0, []), (2, [4, 5])]
