"""Read the lake with DuckDB (no Spark): every table a view under its own name.

`connect(lake)` opens an in-memory DuckDB connection with one view per table folder of the
lake (Hive-partitioned parquet for the fact tables; the `_staging`/`_trash` internals are
ignored). A lake on S3 (`s3://bucket/lake`) is read through pyarrow, each table's current
version as its manifests list it (see `lake_assets.lakefiles`); `run(con, sql)` gives (columns, rows) or a one-line `LakeQueryError`. Used by
`lake tables`, `lake query` and the report.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import duckdb

from lake_assets.s3 import is_s3

FORMATS = ("table", "csv", "json")


class LakeQueryError(Exception):
    """A missing lake, a missing table or wrong SQL: one line for the user."""


@dataclass(frozen=True)
class Table:
    """A table folder of the lake and its partition folders (`i94yr=2016/i94mon=4`, …)."""

    name: str
    path: Path | str
    partitions: tuple[str, ...]

    def select(self) -> str:
        """SQL reading every parquet file of the table; partition keys last, in folder order,
        typed INTEGER when every value is an integer (as Spark reads them)."""
        path = str(self.path).replace("'", "''")
        if not self.partitions:
            return f"select * from read_parquet('{path}/*.parquet', hive_partitioning = false)"
        values = [dict(kv.split("=", 1) for kv in p.split("/")) for p in self.partitions]
        keys = list(values[0])
        types = ", ".join(f"'{k}': 'INTEGER'" for k in keys
                          if all(v.get(k, "").lstrip("-").isdigit() and abs(int(v[k])) < 2**31 for v in values))
        quoted = ", ".join(f'"{k}"' for k in keys)
        return (f"select * exclude ({quoted}), {quoted} from read_parquet('{path}/**/*.parquet', "
                f"hive_partitioning = true, union_by_name = true{f', hive_types = {{{types}}}' if types else ''})")


def default_lake() -> Path | str:
    """`$LAKE_DIR` (a folder or an s3:// URI), else the lake in the project's state folder."""
    if os.getenv("LAKE_DIR"):
        return os.environ["LAKE_DIR"] if is_s3(os.environ["LAKE_DIR"]) else Path(os.environ["LAKE_DIR"])
    from lake_assets.resources import lake_home

    return lake_home() / "lake"


def _partition_order(partition: str) -> tuple:
    values = [kv.partition("=")[2] for kv in partition.split("/")]
    return tuple((0, int(v), "") if v.lstrip("-").isdigit() else (1, 0, v) for v in values)


def find_tables(lake: str | Path) -> list[Table]:
    """The lake's tables: folders holding parquet files, except internals (`_…`, `.…`)."""
    if is_s3(lake):
        return _find_s3_tables(str(lake))
    root = Path(lake)
    if not root.is_dir():
        raise LakeQueryError(f"no lake at {root}: build one with `lake build` or pass --lake")
    tables = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name[0] not in "_."):
        files = list(folder.rglob("*.parquet"))
        if not files:
            continue
        leaves = {f.parent.relative_to(folder).as_posix() for f in files} - {"."}
        tables.append(Table(folder.name, folder, tuple(sorted(leaves, key=_partition_order))))
    if not tables:
        raise LakeQueryError(f"no tables in the lake at {root}: build it with `lake build`")
    return tables


def _find_s3_tables(lake: str) -> list[Table]:
    from lake_assets.lakefiles import LakeFiles

    files = LakeFiles(lake)
    try:
        found = {name: files.current_files(name) for name in files.tables()}
    except OSError as exc:
        raise LakeQueryError(str(exc)) from None
    tables = [Table(name, files.path(name), tuple(sorted(
                  {f[len(files.path(name)) + 1:].rpartition("/")[0] for f in parts} - {""}, key=_partition_order)))
              for name, parts in found.items() if parts]
    if not tables:
        raise LakeQueryError(f"no tables in the lake at {lake}: build it with `lake build`")
    return tables


def connect(lake: str | Path | None = None, only: Iterable[str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per table of the lake (default `default_lake()`),
    or of the tables in `only`."""
    lake = lake or default_lake()
    con = duckdb.connect()
    for table in find_tables(lake):
        if only is not None and table.name not in only:
            continue
        if is_s3(lake):  # DuckDB scans the pyarrow dataset of the table's current files
            from lake_assets.lakefiles import LakeFiles

            con.register(f"{table.name}__s3", LakeFiles(str(lake)).dataset(table.name))
            con.execute(f'create view "{table.name}" as select * from "{table.name}__s3"')
        else:
            con.execute(f'create view "{table.name}" as {table.select()}')
    return con


def one_line(error: Exception) -> str:
    """A DuckDB error as one line: its first line and any 'Did you mean …' hint."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:1] + [line for line in lines[1:] if line.startswith("Did you mean")])


def run(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    """Execute SQL on the lake's views; (column names, rows), or LakeQueryError in one line."""
    try:
        result = con.execute(sql)
        if result.description is None:
            return [], []
        return [d[0] for d in result.description], result.fetchall()
    except duckdb.Error as exc:
        raise LakeQueryError(one_line(exc)) from None


def records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    """The rows of a query as dicts (column -> value)."""
    columns, rows = run(con, sql)
    return [dict(zip(columns, row)) for row in rows]


def table_summaries(lake: str | Path) -> tuple[list[str], list[tuple]]:
    """Per table: its partitions (count, first … last), rows and number of columns."""
    tables = find_tables(lake)
    con = connect(lake)
    rows = []
    for table in tables:
        (count,), = run(con, f'select count(*) from "{table.name}"')[1]
        columns = run(con, f'select * from "{table.name}" limit 0')[0]
        parts = table.partitions
        span = "" if not parts else parts[0] if len(parts) == 1 else f"{parts[0]} … {parts[-1]}"
        rows.append((table.name, len(parts), span, count, len(columns)))
    return ["table", "partitions", "partition_range", "rows", "columns"], rows


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_rows(columns: list[str], rows: list[tuple], fmt: str = "table") -> str:
    """Rows as an aligned text table (numbers right-aligned, 6 significant digits), CSV or JSON records."""
    if fmt == "json":
        return json.dumps([{c: _json_value(v) for c, v in zip(columns, row)} for row in rows],
                          ensure_ascii=False, default=str, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        return out.getvalue().rstrip("\n")
    if fmt != "table":
        raise LakeQueryError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [bool(rows) and all(isinstance(r[i], (int, float, decimal.Decimal)) or r[i] is None for r in rows)
               for i in range(len(columns))]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    body = [line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells]
    return "\n".join(body + [f"({len(rows)} row{'' if len(rows) == 1 else 's'})"])


def emit(text: str) -> None:
    """Print to stdout; a reader that stops early (`| head`) ends the output quietly."""
    try:
        print(text, flush=True)
    except BrokenPipeError:  # as the Python docs advise: no second error when stdout is closed at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
