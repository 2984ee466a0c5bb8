"""A month's fact and rejects come from one run, whatever the order of two runs' commits; a run
killed between them leaves a mixed month that `lake tables` shows and the next build repairs;
compaction is no conflict, a month without rejects commits nothing to them, an audit that fails
leaves `main`'s schema as it was, and commit failures are told apart by their Java class.

Each run is the four commits `builds.publish_all` makes of a month (stage fact, stage rejects,
publish fact, rejects follow), driven one by one from this process on the session's Spark. The 70
orders run side by side, one month each, slot by slot: a slot's stages of one run and table are one
staged write of those months, based on `main` as the slots before left each month."""

from itertools import combinations, groupby

import pytest
from py4j.protocol import Py4JJavaError

from lake_assets.core.builds import stage_check_publish
from lake_assets.core.catalog import Catalog
from lake_assets.core.failures import CommitRetryable, PublishConflict, classified
from lake_assets.core.quality import Check
from lake_assets.core.query import month_runs, table_summaries
from lake_assets.core.staged import Part
from lake_assets.core.storage import Lake
from lake_assets.core.tables import TABLES
from lake_assets.core.tables.table import Column, Table, TableOutput
from lake_assets_tests.support.frames import month_frame

FACT, REJECTS = "fact_immigration", "fact_immigration_rejects"
# Two runs' versions of the same raw month 1..4: rows kept in the fact, rows rejected.
RUNS = {"run-a": ([1, 2, 3], [4]), "run-b": ([1, 2], [3, 4])}


def month(i: int) -> dict:
    return {"i94yr": 2000 + i // 12, "i94mon": i % 12 + 1}


def key(partition: dict) -> str:
    return f"{partition['i94yr']}-{partition['i94mon']:02d}"


class Run:
    """One run's four commits of a month, as `publish_all` makes them, one call each."""

    def __init__(self, lake: Lake, fact: list[int], rejects: list[int], partition: dict):
        self.lake, self.rows, self.partition = lake, {FACT: fact, REJECTS: rejects}, partition
        self.staged, self.failed = {}, None

    def part(self, table: str) -> Part:
        """This run's rows of `table` in its month, to stage."""
        return Part(month_frame(self.lake.spark, self.rows[table], self.partition), {}, self.partition, key(self.partition))

    def step(self, n: int) -> None:
        table = (FACT, REJECTS)[n % 2]
        if n < 2:
            part = self.part(table)
            self.staged[table] = self.lake.stage(table, part.df, partition=part.partition, month=part.month)
            return
        try:
            if table == FACT:
                self.lake.publish(self.staged[FACT])
            else:
                self.lake.follow(self.staged[REJECTS], FACT)
        except PublishConflict as exc:
            self.failed = exc

    def build(self) -> "Run":
        for n in range(4):
            self.step(n)
        return self


def stage_together(runs: list[Run], n: int) -> None:
    """Stage `n` (0: the fact, 1: the rejects) of runs of one lake on consecutive months, as one
    staged write of those months (a range, as a backfill stages it): each run gets its month's part."""
    table = (FACT, REJECTS)[n]
    staged = runs[0].lake.stage_parts(table, [run.part(table) for run in runs])
    for run, part in zip(runs, staged.by_part()):
        run.staged[table] = part


def month_rows(lake: Lake, table: str) -> dict[str, list[int]]:
    rows = {}
    for r in lake.read(table).collect():
        rows.setdefault(key(r.asDict()), []).append(r.v)
    return {m: sorted(v) for m, v in rows.items()}


@pytest.fixture
def lakes(spark, tmp_path):
    root = str(tmp_path / "lake")
    return {run: Lake(spark, root, run_id=run) for run in RUNS}


@pytest.mark.slow  # 70 orders: 280 publishes and follows, 38 staged writes
def test_every_order_of_two_runs_commits_leaves_each_month_whole_from_one_run(lakes):
    cases = list(combinations(range(8), 4))  # the positions of run-a's four commits among the eight
    orders = [{run: Run(lake, *RUNS[run], month(i)) for run, lake in lakes.items()} for i in range(len(cases))]
    done = [dict.fromkeys(RUNS, 0) for _ in cases]
    for slot in range(8):  # each order's step of this slot; orders touch only their own month
        steps = [(i, "run-a" if slot in positions else "run-b") for i, positions in enumerate(cases)]
        for (run, n), group in groupby(sorted(steps, key=lambda s: (s[1], done[s[0]][s[1]], s[0])),
                                       key=lambda s: (s[1], done[s[0]][s[1]])):
            months = [i for i, _ in group]
            if n < 2:  # the stages of consecutive months: one write each
                for _, block in groupby(enumerate(months), key=lambda e: e[1] - e[0]):
                    stage_together([orders[i][run] for _, i in block], n)
            else:
                for i in months:
                    orders[i][run].step(n)
        for i, run in steps:
            done[i][run] += 1
    outcomes = {key(month(i)): {run: r.failed for run, r in runs.items()} for i, runs in enumerate(orders)}

    lake = lakes["run-a"]
    facts, rejects = month_rows(lake, FACT), month_rows(lake, REJECTS)
    fact_runs, reject_runs = month_runs(lake.root, FACT), month_runs(lake.root, REJECTS)
    for m, failed in outcomes.items():
        winner = fact_runs[m]
        assert reject_runs[m] == winner, m
        assert (facts[m], rejects[m]) == RUNS[winner], m  # raw = fact + rejects, of one run
        assert failed[winner] is None, m  # the run whose version stands ended green
        for run, exc in failed.items():
            assert exc is None or "another run committed a different version" in str(exc), (m, run, exc)
    assert all(r[-1] == "" for r in table_summaries(lake.root)[1])


def test_a_run_killed_between_fact_and_rejects_shows_and_the_next_build_repairs(spark, tmp_path):
    root, april = str(tmp_path / "lake"), month(3)
    Run(Lake(spark, root, run_id="run-0"), [1, 2, 3], [4], april).build()
    killed = Run(Lake(spark, root, run_id="run-a"), *RUNS["run-a"], april)
    for n in range(3):  # staged both, published the fact, died
        killed.step(n)
    notes = {r[0]: r[-1] for r in table_summaries(root)[1]}
    assert notes[FACT] == "fact and rejects from different runs: 2000-04"

    Run(Lake(spark, root, run_id="run-b"), *RUNS["run-b"], april).build()
    lake = Lake(spark, root)
    assert (month_rows(lake, FACT)["2000-04"], month_rows(lake, REJECTS)["2000-04"]) == RUNS["run-b"]
    assert month_runs(root, FACT)["2000-04"] == month_runs(root, REJECTS)["2000-04"] == "run-b"
    assert all(r[-1] == "" for r in table_summaries(root)[1])


def test_a_month_without_rejects_commits_nothing_to_them_and_is_never_shown_mixed(spark, tmp_path):
    root = str(tmp_path / "lake")
    Run(Lake(spark, root, run_id="run-0"), [1], [2], month(0)).build()  # the rejects table exists
    lake = Lake(spark, root, run_id="run-1")
    before = lake.current_snapshot(REJECTS)
    Run(lake, [1, 2], [], month(1)).build()
    assert lake.current_snapshot(REJECTS) == before  # no empty snapshot

    Run(Lake(spark, root, run_id="run-2"), [1], [2], month(1)).build()
    Run(Lake(spark, root, run_id="run-3"), [1, 2], [], month(1)).build()  # removes run-2's rejects
    assert "2000-02" not in month_rows(lake, REJECTS)
    assert month_runs(root, REJECTS)["2000-02"] == month_runs(root, FACT)["2000-02"] == "run-3"
    Run(Lake(spark, root, run_id="run-4"), [1, 2], [], month(1)).build()  # once it had rejects: says whose
    assert month_runs(root, REJECTS)["2000-02"] == month_runs(root, FACT)["2000-02"] == "run-4"
    assert all(r[-1] == "" for r in table_summaries(root)[1])


def test_compaction_between_stage_and_publish_is_no_conflict(spark, tmp_path):
    lake = Lake(spark, str(tmp_path / "lake"), run_id="run-1")
    Run(lake, [1, 2], [3], month(0)).build()
    Run(lake, [1, 2], [3], month(1)).build()
    run = Run(lake, [1], [2, 3], month(0))
    run.step(0)
    run.step(1)
    lake.spark.sql(f"call lake.system.rewrite_data_files(table => '{lake.name(FACT)}', "
                   "options => map('rewrite-all', 'true'))").collect()
    run.step(2)
    run.step(3)
    assert run.failed is None
    assert (month_rows(lake, FACT)["2000-01"], month_rows(lake, REJECTS)["2000-01"]) == ([1], [2, 3])
    assert month_rows(lake, FACT)["2000-02"] == [1, 2]  # the compacted month next to it is intact


def test_a_build_that_adds_a_column_and_fails_a_check_leaves_mains_schema(spark, tmp_path, monkeypatch):
    monkeypatch.setitem(TABLES, "t", Table("t", "a test table", (), (Column("v", "int", ""),),
                                           keys=("v",), checks=(Check("positive", "v > 0", bad_rows="v <= 0"),)))
    lake = Lake(spark, str(tmp_path / "lake"), run_id="run-1")
    assert stage_check_publish(lake, [TableOutput("t", spark.createDataFrame([(1,)], "v int"))], log=print)[0].metadata

    added = spark.createDataFrame([(-1, "x")], "v int, w string")  # a transform that adds a column, rows failing
    outcome = stage_check_publish(lake, [TableOutput("t", added)], log=print)[0]
    assert outcome.failed_blocking and outcome.metadata is None
    assert lake.read("t").columns == ["v"] and Catalog.for_lake(lake.root).load("t").schema().column_names == ["v"]

    staged = lake.stage("t", spark.createDataFrame([(2, "y")], "v int, w string"))
    assert lake.previews(staged, ("v", "w")) == [[{"v": 2, "w": "y"}]] and lake.read("t").columns == ["v"]  # what the checks read
    lake.publish(staged)
    assert [tuple(r) for r in lake.read("t").collect()] == [(2, "y")]


@pytest.mark.parametrize("java_class, kind", [
    ("CommitFailedException", CommitRetryable), ("CommitStateUnknownException", CommitRetryable),
    ("ValidationException", PublishConflict), ("CherrypickAncestorCommitException", PublishConflict)])
def test_commit_failures_are_told_apart_by_their_java_class(spark, java_class, kind):
    jvm, no_args = spark._jvm, spark.sparkContext._gateway.new_array(spark._jvm.java.lang.Object, 0)
    cause = jvm.java.lang.RuntimeException("the catalog's answer")
    cls = getattr(jvm.org.apache.iceberg.exceptions, java_class)
    java = {"CherrypickAncestorCommitException": lambda: cls(1),
            "ValidationException": lambda: cls(cause, "conflict", no_args)}.get(java_class, lambda: cls(cause))()
    assert isinstance(classified(Py4JJavaError("commit", java), "t"), kind)
