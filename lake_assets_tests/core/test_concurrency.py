"""Concurrent runs on one lake, with no lock of ours: Iceberg's optimistic commits decide.

Each run is a process of its own (its own Spark JVM) that commits a dimension and a month of the
fact, as two Dagster runs would (the session's `workers`: a process serves one run at a time).
On a local lake and on S3 (SeaweedFS, with the catalog in a SQLite file: a file-based catalog is
not safe on S3):
- two runs committing different months at once both land;
- two runs committing the same month at once: both land in turn, or the loser stops with one
  line and publishes nothing of that month; after a run killed with its files written but not
  committed, nothing of it shows;
and afterwards every month reads back whole (raw = fact + rejects, no duplicate key), and no
dimension holds a key twice.
"""

import json
import uuid
from pathlib import Path

import pytest

from lake_assets.core import s3 as lake_s3
from lake_assets.core.generate import generate_raw
from lake_assets.core.query import connect, month_runs
from lake_assets_tests.support.in_process import build_here

pytestmark = pytest.mark.slow
MONTHS = ["2016-04", "2016-05"]


def fact_files(lake: str) -> set[str]:
    """The fact's data files as the writers see them (local folder or S3 prefix)."""
    from pyarrow import fs

    if lake_s3.is_s3(lake):
        selector = fs.FileSelector(f"{lake_s3.split(lake)}/fact_immigration/data", recursive=True, allow_not_found=True)
        return {i.path for i in lake_s3.filesystem(lake).get_file_info(selector) if i.path.endswith(".parquet")}
    return {str(p) for p in Path(lake, "fact_immigration", "data").rglob("*.parquet")}


def assert_whole(lake: str, raw_rows: dict[str, int]) -> None:
    """Every month: fact + rejects = raw rows, keys unique; every dimension's keys unique."""
    con = connect(lake)
    for month, rows in raw_rows.items():
        where = f"i94yr = {month[:4]} and i94mon = {int(month[5:])}"
        fact, distinct = con.execute(f"select count(*), count(distinct cicid) from fact_immigration where {where}").fetchone()
        (rejects,) = con.execute(f"select count(*) from fact_immigration_rejects where {where}").fetchone()
        assert fact + rejects == rows and distinct == fact, (month, fact, rejects, rows)
    (dups,) = con.execute("select count(*) - count(distinct country_code) from dim_country").fetchone()
    assert dups == 0


@pytest.fixture(scope="module")
def raw_folder(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """Two generated months, one raw folder for both lakes, and each month's raw rows."""
    root = tmp_path_factory.mktemp("concurrent-raw")
    manifest = generate_raw(root, scale=0.0005, months=MONTHS)
    return root, {m: manifest["months"][m]["rows"] for m in MONTHS}


@pytest.fixture(scope="module", params=["local", "s3"])
def lake(request, raw_folder, spark, workers, lake_home, tmp_path_factory):
    """The raw folder (uploaded for S3) and the lake to build (folder or S3 prefix), as `lake build`
    would begin it: the dimensions the fact reads, then April committed by a run as the tests'
    runs commit it (with `dim_country`: its first version). The cache is the session's, as
    `lake build`'s (the gazetteer's rows parsed once)."""
    root = tmp_path_factory.mktemp(f"concurrent-{request.param}")
    raw_dir, raw_rows = raw_folder
    raw, lake_dir, cache = str(raw_dir), str(root / "lake"), lake_home / "cache"
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "s3":
            from lake_assets_tests.core.test_s3 import upload

            server = request.getfixturevalue("s3")  # the session's SeaweedFS
            for key, value in server.env().items():
                mp.setenv(key, value)
            mp.setenv("LAKE_CATALOG", str(root / "catalog.db"))
            mp.setenv("LAKE_ALLOW_LOCAL_CATALOG", "1")  # a test's own catalog (Glue's path: test_glue.py)
            lake_s3.reset()
            prefix = f"s3://{server.bucket}/{uuid.uuid4().hex[:8]}"
            upload(raw_dir, f"{prefix}/raw")
            raw, lake_dir = f"{prefix}/raw", f"{prefix}/lake"
        build_here(spark, raw, lake_dir, str(cache), skip=("dim_country", "dim_temperature"), run_id="first")
        code, _, err = workers.start(raw, lake_dir, "2016-04", cache).finish()
        assert code == 0, err[-2000:]
        yield raw, lake_dir, raw_rows, cache
    lake_s3.reset()


def both_land(workers, raw: str, lake_dir: str, raw_rows: dict[str, int], cache: Path) -> None:
    """Two runs committing different months at once: both land, each month from its run."""
    april, may = (workers.start(raw, lake_dir, m, cache) for m in MONTHS)
    results = [april.finish(), may.finish()]
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    assert_whole(lake_dir, raw_rows)
    runs = {m: month_runs(lake_dir, t)[m] for t in ("fact_immigration", "fact_immigration_rejects") for m in MONTHS}
    assert runs == {"2016-04": april.run_id, "2016-05": may.run_id}


def one_whole_version(workers, raw: str, lake_dir: str, raw_rows: dict[str, int], cache: Path, month: str) -> None:
    """Two runs committing `month` at once: one or both land; a loser says so in one line."""
    runs = [workers.start(raw, lake_dir, month, cache) for _ in range(2)]
    results = {run.run_id: run.finish() for run in runs}
    landed = [run_id for run_id, (code, _, _) in results.items() if code == 0]
    for code, _, err in results.values():
        if code != 0:  # the loser: one line, what happened and what to do
            lines = err.strip().splitlines()
            assert code == 3 and len(lines) == 1 and "another run committed a different version" in lines[0], err[-2000:]
            assert "Traceback" not in err
    assert landed, json.dumps({k: v[2][-1500:] for k, v in results.items()})
    assert_whole(lake_dir, raw_rows)
    assert month_runs(lake_dir, "fact_immigration")[month] in landed


def test_concurrent_runs_on_different_months_both_land(lake, workers):
    both_land(workers, *lake)


def test_concurrent_runs_on_one_month_leave_one_whole_version_after_a_killed_one(lake, workers):
    raw, lake_dir, raw_rows, cache = lake
    # A run killed with its files written, not committed (it holds before publishing the fact):
    # the lake shows nothing of it.
    before = fact_files(lake_dir)
    killed = workers.start(raw, lake_dir, "2016-04", cache, hold="fact_immigration")
    assert killed.wait_held(), killed.finish(timeout=5)[2][-2000:]
    assert fact_files(lake_dir) - before and killed.alive  # its files written, nothing committed
    killed.kill()
    assert_whole(lake_dir, raw_rows)

    # Two runs on the same month at once, with no repair before them.
    one_whole_version(workers, raw, lake_dir, raw_rows, cache, "2016-04")
