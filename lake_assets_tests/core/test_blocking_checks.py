"""A blocking check that fails publishes nothing: the table and everything built on it stay at
their last good snapshot, and `lake build` says which check failed, on which rows, where to look
(the audited snapshot, readable until maintenance expires it)."""

import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from lake_assets.core.query import snapshots
from lake_assets.tools.cli import main

from lake_assets_tests.conftest import table_sql

# dim_temperature and what is built after it (the fact's month run and the analytics)
KEPT = ["dim_temperature", "fact_immigration", "fact_immigration_rejects", "metro_arrivals_monthly",
        "tourism_by_season", "arrivals_temperature_correlation"]


def snapshot(lake: Path, tables: list[str]) -> dict[str, int | None]:
    """The current snapshot of each table."""
    return {t.name: t.snapshot_id for t in snapshots(lake, only=tables)}


def to_fahrenheit(path: Path) -> None:
    """Rewrite a Berkeley temperature file (plain or .gz) with its temperatures in °F."""
    df = pd.read_csv(path)
    df["AverageTemperature"] = df["AverageTemperature"] * 9 / 5 + 32
    df.to_csv(path, index=False)  # compression follows the suffix


def test_failed_blocking_check_keeps_last_good_tables_and_says_where_to_look(sample, tmp_path, capsys):
    """On the test run's sample lake (its build by `lake build` succeeded), a build from a copy of
    its raw folder with the temperatures in Fahrenheit."""
    raw_good, lake = sample.raw, sample.lake
    raw = tmp_path / "raw"
    shutil.copytree(raw_good, raw)
    good = snapshot(lake, KEPT)
    assert set(good) == set(KEPT) and all(good.values())

    for path in (raw / "temperature").iterdir():
        to_fahrenheit(path)
    capsys.readouterr()
    code = main(["build", "--raw", str(raw), "--lake", str(lake)])
    out = capsys.readouterr().out

    assert code == 1
    assert "FAILED (blocking) dim_temperature.temperature_domain" in out
    assert snapshot(lake, KEPT) == good, "a table was replaced although a blocking check failed"
    error = next(line for line in out.splitlines() if line.startswith("ERROR"))
    found = re.search(r"dim_temperature\.temperature_domain: offending rows: (\d+); examples: ([^;]+); "
                      r"rule: ([^;]+); rejected version: snapshot (\d+) of lake\.dim_temperature", error)
    assert found, error  # which check, how many rows, which keys, the rule, where to look
    rows, examples, rule, rejected = found.groups()
    kept = duckdb.sql(f"select city_id || '/' || month from {table_sql(lake, 'dim_temperature', int(rejected))} "
                      f"where {rule.removeprefix('no row where ')}").fetchall()
    assert len(kept) == int(rows) > 0 and set(examples.split(", ")) <= {k for (k,) in kept}
