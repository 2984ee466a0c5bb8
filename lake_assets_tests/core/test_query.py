"""`lake tables` and `lake query` on a small generated lake (DuckDB views, formats, one-line errors);
readers that cannot miscount (delete files, expired history, a column added on S3), the
retention window, and rollback by month on small tables written through `Lake`."""

import csv
import io
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from lake_assets.core.maintenance import maintain
from lake_assets.core.query import connect, history, parse_as_of, table_summaries
from lake_assets.core.storage import Lake
from lake_assets.tools.cli import main
from lake_assets_tests.support.sample_lake import MONTHS

CONTRACT_TABLES = {
    "dim_country", "dim_state", "dim_port", "dim_visa", "dim_travel_mode", "dim_city", "dim_temperature",
    "fact_immigration", "fact_immigration_rejects",
    "metro_arrivals_monthly", "tourism_by_season", "arrivals_temperature_correlation",
}
MONTHLY = "select i94yr, i94mon, count(*) as n from fact_immigration group by i94yr, i94mon order by i94mon"


@pytest.fixture(scope="module")
def lake(sample):
    return sample.lake


def lake_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_tables_lists_every_contract_table(lake, capsys):
    code, out, _ = lake_cli(capsys, "tables", "--lake", str(lake), "--format", "json")
    assert code == 0
    tables = {t["table"]: t for t in json.loads(out)}
    assert set(tables) == CONTRACT_TABLES
    fact = tables["fact_immigration"]
    assert fact["partitions"] == len(MONTHS)
    assert fact["partition_range"] == f"i94yr=2016/i94mon={int(MONTHS[0][5:])} … i94yr=2016/i94mon={int(MONTHS[-1][5:])}"
    assert tables["dim_visa"]["partitions"] == 0 and tables["dim_visa"]["rows"] > 10
    _, out, _ = lake_cli(capsys, "query", MONTHLY, "--lake", str(lake), "--format", "json")
    assert fact["rows"] == sum(r["n"] for r in json.loads(out)) > 0
    assert all(t["columns"] >= 2 and t["rows"] > 0 for t in tables.values() if t["table"] != "fact_immigration_rejects")

    code, out, _ = lake_cli(capsys, "tables", "--lake", str(lake))
    assert code == 0 and out.splitlines()[0].split() == ["table", "snapshot", "partitions", "partition_range", "rows",
                                                         "columns", "note"]
    assert out.rstrip().endswith(f"({len(CONTRACT_TABLES)} rows)")


def test_fact_view_has_contract_columns_and_integer_partitions(lake, capsys):
    code, out, _ = lake_cli(capsys, "query", "describe fact_immigration", "--lake", str(lake), "--format", "json")
    types = {r["column_name"]: r["column_type"] for r in json.loads(out)}
    assert code == 0
    assert types["cicid"] == "BIGINT" and types["arrival_date"] == "DATE" and types["visa_type"] == "VARCHAR"
    assert (types["i94yr"], types["i94mon"]) == ("INTEGER", "INTEGER")
    assert list(types)[-2:] == ["i94yr", "i94mon"]


def test_query_formats_agree(lake, capsys):
    _, as_json, _ = lake_cli(capsys, "query", MONTHLY, "--lake", str(lake), "--format", "json")
    _, as_csv, _ = lake_cli(capsys, "query", MONTHLY, "--lake", str(lake), "--format", "csv")
    _, as_table, _ = lake_cli(capsys, "query", MONTHLY, "--lake", str(lake))
    records = json.loads(as_json)
    assert [r["i94mon"] for r in records] == [int(m[5:]) for m in MONTHS]
    assert [{k: int(v) for k, v in r.items()} for r in csv.DictReader(io.StringIO(as_csv))] == records
    lines = as_table.splitlines()
    assert lines[0].split() == ["i94yr", "i94mon", "n"] and set(lines[1]) == {"-", " "}
    assert [[int(x) for x in line.split()] for line in lines[2:-1]] == [list(r.values()) for r in records]
    assert lines[-1] == f"({len(records)} rows)"


def test_nulls_dates_and_lists_in_each_format(lake, capsys):
    sql = ("select cast(null as int) as nothing, date '2016-04-01' as day, [1, 2] as list, 0.5 as half, "
           "'a,b' as text")
    _, as_json, _ = lake_cli(capsys, "query", sql, "--lake", str(lake), "--format", "json")
    assert json.loads(as_json) == [{"nothing": None, "day": "2016-04-01", "list": [1, 2], "half": 0.5, "text": "a,b"}]
    _, as_csv, _ = lake_cli(capsys, "query", sql, "--lake", str(lake), "--format", "csv")
    assert as_csv.splitlines()[1] == ',2016-04-01,"[1, 2]",0.5,"a,b"'
    _, as_table, _ = lake_cli(capsys, "query", sql, "--lake", str(lake))
    assert as_table.splitlines()[2].split()[:2] == ["NULL", "2016-04-01"]


def test_default_lake_is_lake_dir(lake, capsys, monkeypatch):
    monkeypatch.setenv("LAKE_DIR", str(lake))
    code, out, _ = lake_cli(capsys, "query", "select count(*) as n from dim_visa", "--format", "csv")
    assert code == 0 and int(out.splitlines()[1]) > 10


@pytest.mark.parametrize("sql, expected", [
    ("select * from no_such_table", "Catalog Error: Table with name no_such_table does not exist!"),
    ("selec 1", "Parser Error: syntax error"),
    ("select no_such_column from dim_visa", "Binder Error"),
])
def test_wrong_sql_is_one_line(lake, capsys, sql, expected):
    code, out, err = lake_cli(capsys, "query", sql, "--lake", str(lake))
    assert code == 2 and out == ""
    assert err.startswith(f"lake: {expected}") and err.count("\n") == 1


def test_missing_lake_is_one_line_from_the_command(tmp_path):
    done = subprocess.run([str(Path(sys.executable).parent / "lake"), "query", "select 1", "--lake", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"lake: no lake at {tmp_path / 'nowhere'}: build one with `lake build` or pass --lake\n"


def test_a_crafted_table_name_in_the_catalog_is_refused_before_any_sql(tmp_path):
    """Table names come from the catalog: one that is not a plain name is refused, never run as SQL."""
    import pyarrow as pa

    from lake_assets.core.catalog import Catalog
    from lake_assets.core.query import LakeQueryError, connect

    catalog = Catalog.for_lake(tmp_path / "lake")
    catalog.create()
    written = tmp_path / "written.csv"
    crafted = f"""t" as select 1; copy (select 42) to '{written}'; create view "u"""
    iceberg = catalog.python()
    iceberg.create_namespace(catalog.namespace)
    for name in ("dim_state", crafted):
        iceberg.create_table((catalog.namespace, name), pa.schema([pa.field("state_code", pa.string())]))
    with pytest.raises(LakeQueryError, match="lists a table named .* not read"):
        connect(tmp_path / "lake")
    assert not written.exists()
    assert connect(tmp_path / "lake", only={"dim_state"}).execute("select count(*) from dim_state").fetchone() == (0,)


def test_build_refuses_a_catalog_it_must_not_use_in_one_line_before_dagster_starts(tmp_path, capsys, monkeypatch):
    """A SQLite catalog for a lake on S3, or a table of the namespace outside the lake: exit 2, no run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lake_assets.core.catalog import Catalog

    raw = tmp_path / "raw"
    (raw / "i94").mkdir(parents=True)
    pq.write_table(pa.table({"i94yr": [2016.0], "i94mon": [4.0]}), raw / "i94" / "i94_apr16_sub.parquet")
    monkeypatch.setenv("LAKE_HOME", str(tmp_path / "home"))  # where `lake build` would record a run
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("LAKE_ALLOW_LOCAL_CATALOG", raising=False)
    monkeypatch.setenv("LAKE_CATALOG", str(tmp_path / "shared.db"))
    other = Catalog.for_lake(tmp_path / "other")  # another lake in the same catalog and namespace
    other.create()
    other.python().create_namespace(other.namespace)
    other.python().create_table((other.namespace, "dim_state"), pa.schema([pa.field("state_code", pa.string())]),
                                location=other.table_location("dim_state"))

    for lake, refusal in (("s3://bucket/lake", "LAKE_CATALOG=glue"), (str(tmp_path / "lake"), "outside the lake")):
        code, _, err = lake_cli(capsys, "build", "--raw", str(raw), "--lake", lake)
        assert code == 2 and len(err.strip().splitlines()) == 1 and refusal in err, err
    assert not (tmp_path / "home").exists()  # refused before Dagster recorded anything


# ------------------------------------------------------------ small tables written through `Lake`


def put(lake: Lake, table: str, values: list[int], month: int = 4, extra: str | None = None) -> int:
    """Stage and publish one month of a table of `v` (and a string column `extra`); the snapshot of main."""
    columns = "v int, i94yr int, i94mon int" + (f", {extra} string" if extra else "")
    rows = [(v, 2016, month) + ((f"x{v}",) if extra else ()) for v in values]
    staged = lake.stage(table, lake.spark.createDataFrame(rows, columns), partition={"i94yr": 2016, "i94mon": month},
                        month=f"2016-{month:02d}")
    return lake.publish(staged)


def ints(lake_dir, sql: str, as_of=None) -> list[int]:
    return sorted(v for (v,) in connect(lake_dir, as_of=as_of).execute(sql).fetchall())


@pytest.fixture
def small(spark, tmp_path):
    return Lake(spark, str(tmp_path / "lake"), run_id="run-1")


def test_tables_pin_copy_on_write_and_a_merge_on_read_delete_is_refused(small, capsys):
    put(small, "t", list(range(10)))
    properties = {r.key: r.value for r in small.spark.sql(f"show tblproperties {small.name('t')}").collect()}
    assert {properties[f"write.{op}.mode"] for op in ("delete", "update", "merge")} == {"copy-on-write"}
    small.spark.sql(f"alter table {small.name('t')} unset tblproperties ('write.merge.mode')")
    put(small, "t", list(range(10)))  # a table made before the pin gets it at its next write
    assert small.spark.sql(f"show tblproperties {small.name('t')} ('write.merge.mode')").first().value == "copy-on-write"

    small.spark.sql(f"alter table {small.name('t')} set tblproperties ('write.delete.mode' = 'merge-on-read')")
    small.spark.sql(f"delete from {small.name('t')} where v % 2 = 0")
    assert small.spark.table(small.name("t")).count() == 5
    for command in (["query", "select count(*) from t"], ["tables"]):
        code, out, err = lake_cli(capsys, *command, "--lake", small.root)
        assert (code, out) == (1, "") and err.count("\n") == 1
        assert err.startswith("lake: t: snapshot ") and "has deletes in delete files" in err
    maintain(small, log=lambda _: None)  # folds the deletes into the data files
    assert ints(small.root, "select v from t") == [1, 3, 5, 7, 9]


def test_as_of_before_the_expired_history_names_the_oldest_time_it_can_read(small, capsys):
    put(small, "t", [1])
    time.sleep(0.05)
    before = time.time()
    put(small, "t", [2])
    put(small, "t", [3])
    maintain(small, retain_days=0, retain_last=1, log=lambda _: None)  # the snapshot log before [3] is cleared

    code, out, err = lake_cli(capsys, "query", "select v from t", "--lake", small.root, "--as-of",
                              time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(before)))
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert "is before the oldest state the lake can read" in err
    oldest = err.split("can read, ")[1].split(" UTC")[0]
    assert ints(small.root, "select v from t", as_of=parse_as_of(oldest)) == [3]


def test_maintenance_keeps_every_state_of_the_retention_window_whatever_the_number_of_snapshots(small):
    first = put(small, "t", [1])
    second = put(small, "t", [2])  # main's state from here until [3]
    time.sleep(2)
    before_3 = time.time()
    put(small, "t", [3])
    retain_days = (time.time() - before_3 + 1.0) / 86400  # the window starts after [2] was published

    maintain(small, retain_days=retain_days, retain_last=1, log=lambda _: None)

    assert ints(small.root, "select v from t", as_of=before_3 * 1000) == [2]
    kept = {row[1] for row in history(small.root, "t")[1]}
    assert str(first) not in kept and str(second) in kept  # [1] expired, [2] kept although older than the window


def test_s3_reader_takes_the_tables_schema_not_its_first_files(s3_env, spark, tmp_path, monkeypatch):
    from lake_assets.core.s3 import configure_spark

    monkeypatch.setenv("LAKE_CATALOG", str(tmp_path / "catalog.db"))
    monkeypatch.setenv("LAKE_ALLOW_LOCAL_CATALOG", "1")  # a test's own catalog (Glue's path: test_glue.py)
    configure_spark(spark)
    lake = Lake(spark, f"s3://{s3_env.bucket}/{uuid.uuid4().hex[:8]}/lake", run_id="run-1")
    put(lake, "t", [1, 2], month=4)
    put(lake, "t", [3], month=5, extra="w")  # a column added: April's file lacks it

    rows = connect(lake.root).execute("select v, w from t order by v").fetchall()
    assert rows == [(1, None), (2, None), (3, "x3")]


def test_rollback_by_month_moves_the_fact_and_its_rejects_together_and_history_says_so(spark, tmp_path, capsys):
    root = str(tmp_path / "lake")
    fact, rejects = {}, {}
    for run, n in (("run-a", 1), ("run-d", 4), ("run-b", 2), ("run-c", 3)):
        lake = Lake(spark, root, run_id=run)
        fact[run] = put(lake, "fact_immigration", [n] * 10)
        if run != "run-d":  # run-d's month had no rejects: it committed none
            rejects[run] = put(lake, "fact_immigration_rejects", [n])

    def read() -> tuple[list[int], list[int]]:
        return ints(root, "select v from fact_immigration"), ints(root, "select v from fact_immigration_rejects")

    code, out, _ = lake_cli(capsys, "rollback", "--month", "2016-04", "--to-run", "run-b", "--lake", root)
    assert code == 0 and out.splitlines() == [
        f"rollback: fact_immigration now at snapshot {fact['run-b']} (was {fact['run-c']})",
        f"rollback: fact_immigration_rejects now at snapshot {rejects['run-b']} (was {rejects['run-c']})"]
    assert read() == ([2] * 10, [2])
    assert lake_cli(capsys, "rollback", "--month", "2016-04", "--to-run", "run-d", "--lake", root)[0] == 0
    assert read() == ([4] * 10, [1])  # the rejects as they were when run-d published its fact

    assert lake_cli(capsys, "rollback", "fact_immigration", "--to", str(fact["run-a"]), "--lake", root)[0] == 0
    assert read() == ([1] * 10, [1])
    assert all(note == "" for *_, note in table_summaries(root)[1])  # no mixed month
    states = {r[1]: r[-1] for r in history(root, "fact_immigration_rejects")[1]}
    assert [states[str(rejects[run])] for run in ("run-a", "run-b", "run-c")] == ["current", "rolled back",
                                                                                   "rolled back"]

    code, _, err = lake_cli(capsys, "rollback", "--month", "2016-05", "--to-run", "run-b", "--lake", root)
    assert code == 2 and err == ("lake: fact_immigration: no snapshot of its main was written by run run-b for "
                                 "2016-05 (see `lake history fact_immigration`)\n")
    code, _, err = lake_cli(capsys, "rollback", "fact_immigration", "--month", "2016-04", "--lake", root)
    assert code == 2 and err == "lake: rollback takes TABLE --to SNAPSHOT_ID, or --month MONTH --to-run RUN\n"
