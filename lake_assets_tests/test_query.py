"""`lake tables` and `lake query` on a small generated lake (DuckDB views, formats, one-line errors)."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lake_assets.cli import main
from lake_assets_tests.sample_lake import MONTHS, sample_lake

CONTRACT_TABLES = {
    "dim_country", "dim_state", "dim_port", "dim_visa", "dim_travel_mode", "dim_city", "dim_temperature",
    "fact_immigration", "fact_immigration_rejects",
    "metro_arrivals_monthly", "tourism_by_season", "arrivals_temperature_correlation",
}
MONTHLY = "select i94yr, i94mon, count(*) as n from fact_immigration group by i94yr, i94mon order by i94mon"


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    return sample_lake(tmp_path_factory)[0]


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

    from lake_assets.catalog import Catalog
    from lake_assets.query import LakeQueryError, connect

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
