"""Read the lake with DuckDB (no Spark): every table a view under its own name.

`connect(lake)` opens an in-memory DuckDB connection with one view per Iceberg table of the
lake, over the data files of the table's current snapshot as the catalog lists them
(pyiceberg), never a bare folder: a write in progress, a rejected or an expired version is not
read. `as_of` reads every table as it was at a time, or at a snapshot id. A lake on S3 is read
through pyarrow. `run(con, sql)` gives (columns, rows) or a one-line `LakeQueryError`. Used by
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
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import duckdb

from lake_assets.core import settings
from lake_assets.core.catalog import Catalog, CatalogError, months_of, snapshot_origin, timestamp
from lake_assets.core.s3 import is_s3

FORMATS = ("table", "csv", "json")
TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")  # the lake's table names (lake_assets.core.tables); nothing else is read


class LakeQueryError(Exception):
    """A missing lake, a missing table or wrong SQL: one line for the user."""


class UnreadableSnapshot(LakeQueryError):
    """A snapshot these readers would miscount (it has delete files): one line for the user."""


@dataclass(frozen=True)
class Snapshot:
    """One table as one snapshot holds it: its data files, partitions and row count."""

    name: str
    snapshot_id: int | None
    files: tuple[str, ...]
    partitions: tuple[str, ...]  # 'i94yr=2016/i94mon=4', …
    rows: int
    schema: object  # pyarrow schema of the snapshot's table

    def select(self) -> str:
        """SQL reading the snapshot's files (columns by name: older files may lack newer columns);
        for a table with no rows, its columns with no row."""
        if not self.files:
            columns = ", ".join(f"cast(null as {_duckdb_type(f.type)}) as {quoted(f.name)}" for f in self.schema)
            return f"select {columns} where false"
        paths = ", ".join("'" + f.removeprefix("file:").replace("'", "''") + "'" for f in self.files)
        return f"select * from read_parquet([{paths}], union_by_name = true, hive_partitioning = false)"


def quoted(name: str) -> str:
    """`name` as a DuckDB identifier, whatever it holds."""
    return '"' + name.replace('"', '""') + '"'


def _duckdb_type(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _duckdb_type(arrow_type.value_type) + "[]"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    return {"int32": "INTEGER", "int64": "BIGINT", "double": "DOUBLE", "float": "FLOAT", "string": "VARCHAR",
            "large_string": "VARCHAR", "bool": "BOOLEAN", "date32[day]": "DATE"}[str(arrow_type)]


def default_lake() -> Path | str:
    """`$LAKE_DIR` (a folder or an s3:// URI), else the lake in the project's state folder."""
    lake = settings.LAKE_DIR.value()
    if lake:
        return lake if is_s3(lake) else Path(lake)
    return settings.lake_home() / "lake"


def _partition_order(partition: str) -> tuple:
    values = [kv.partition("=")[2] for kv in partition.split("/")]
    return tuple((0, int(v), "") if v.lstrip("-").isdigit() else (1, 0, v) for v in values)


def parse_as_of(text: str | None) -> int | float | None:
    """A snapshot id (digits) or a time ('2016-05-01 12:00', ISO, UTC unless it says): the
    snapshot id as int, the time as epoch milliseconds (float)."""
    if text is None:
        return None
    if text.isdigit() and len(text) > 12:
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise LakeQueryError(f"--as-of {text!r} is neither a snapshot id nor a time like 2026-11-29T07:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp() * 1000


def snapshots(lake: str | Path, only: Iterable[str] | None = None, as_of: int | float | None = None) -> list[Snapshot]:
    """The lake's tables (or those in `only`) at their current snapshot, or as of a time or snapshot id."""
    catalog = Catalog.for_lake(lake)
    try:
        names = [n for n in catalog.tables() if only is None or n in only]
        crafted = [n for n in names if not TABLE_NAME.fullmatch(n)]
        if crafted:
            raise LakeQueryError(f"the catalog of {lake} lists a table named {crafted[0]!r}, which no lake table is "
                                 "called (lowercase letters, digits, _): not read; drop it from the catalog")
        tables = {name: catalog.load(name) for name in names}
    except CatalogError as exc:
        raise LakeQueryError(str(exc)) from None
    if not tables:
        raise LakeQueryError(f"no tables in the lake at {lake}: build it with `lake build`")
    at: dict[str, int | None] = {name: _snapshot_at(t, as_of) for name, t in tables.items()}
    if isinstance(as_of, int):
        owner = next((n for n, t in tables.items() if t.snapshot_by_id(as_of) is not None), None)
        if owner is None:
            raise LakeQueryError(f"no table of the lake has a snapshot {as_of} (see `lake history TABLE`)")
        when = tables[owner].snapshot_by_id(as_of).timestamp_ms
        _check_readable([t for n, t in tables.items() if n != owner], when)
        at = {name: (as_of if name == owner else _snapshot_at(t, when)) for name, t in tables.items()}
    elif as_of is not None:
        _check_readable(tables.values(), as_of)
    return [_read_snapshot(name, tables[name], at[name]) for name in names]


def _oldest_readable(table) -> int | None:
    """The first time (epoch ms) whose state of `main` the table still knows, when maintenance
    expired the snapshots before it; None when it keeps its whole history (before its first
    snapshot it was empty)."""
    log = table.metadata.snapshot_log
    if not log:  # the log was cleared: only the current snapshot is known, since the last change
        return table.metadata.last_updated_ms if table.current_snapshot() else None
    first = table.snapshot_by_id(log[0].snapshot_id)
    return log[0].timestamp_ms if first is None or first.parent_snapshot_id is not None else None


def _check_readable(tables: Iterable, when: float) -> None:
    """Stop when a table's state at `when` was expired, naming the oldest time every table can be read."""
    oldest = max((t for t in map(_oldest_readable, tables) if t is not None), default=None)
    if oldest is not None and when < oldest:
        first = timestamp(-(-oldest // 1000) * 1000)  # rounded up to the second: a time that can be read
        raise LakeQueryError(f"--as-of {timestamp(int(when))} is before the oldest state the lake can read, "
                             f"{first} UTC (maintenance expired what came before)")


def _snapshot_at(table, as_of: int | float | None) -> int | None:
    """The snapshot of `main` at a time (None: now); None if the table had none then."""
    if as_of is None or isinstance(as_of, int):
        current = table.current_snapshot()
        return current.snapshot_id if current else None
    entry = table.snapshot_as_of_timestamp(int(as_of))
    return entry.snapshot_id if entry else None


def _read_snapshot(name: str, table, snapshot_id: int | None) -> Snapshot:
    files, partitions = [], set()
    snapshot = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    if snapshot is not None:
        spec = table.spec()
        equality = int(snapshot.summary.get("total-equality-deletes") or 0)  # pyiceberg cannot plan these
        tasks = [] if equality else list(table.scan(snapshot_id=snapshot_id).plan_files())
        if equality or any(task.delete_files for task in tasks):  # merge-on-read: rows deleted in other files
            raise UnreadableSnapshot(
                f"{name}: snapshot {snapshot_id} has deletes in delete files (a merge-on-read delete, update or "
                "merge), which this reader does not apply: `lake clean` folds them into its data files")
        for task in tasks:
            files.append(task.file.file_path)
            if spec.fields:
                partitions.add("/".join(f"{f.name}={task.file.partition[i]}" for i, f in enumerate(spec.fields)))
    rows = int(snapshot.summary.get("total-records") or 0) if snapshot else 0
    schema = table.metadata.schema_by_id(snapshot.schema_id) if snapshot and snapshot.schema_id is not None else None
    return Snapshot(name, snapshot_id, tuple(sorted(files)), tuple(sorted(partitions, key=_partition_order)), rows,
                    (schema or table.schema()).as_arrow())


def connect(lake: str | Path | None = None, only: Iterable[str] | None = None,
            as_of: int | float | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per table of the lake (default `default_lake()`),
    or of the tables in `only`, each at its current snapshot or as of `as_of`."""
    lake = lake or default_lake()
    con = duckdb.connect()
    for table in snapshots(lake, only, as_of):
        if is_s3(lake) and table.files:  # DuckDB scans a pyarrow dataset of the snapshot's files
            import pyarrow.dataset as ds

            from lake_assets.core import s3

            # the table's schema, not the first file's: older files lack the columns added since
            dataset = ds.dataset([s3.split(f) for f in table.files], filesystem=s3.filesystem(str(lake)),
                                 format="parquet", schema=table.schema)
            con.register(f"{table.name}__s3", dataset)
            con.execute(f"create view {quoted(table.name)} as select * from {quoted(table.name + '__s3')}")
        else:
            con.execute(f"create view {quoted(table.name)} as {table.select()}")
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


def main_snapshots(table) -> list:
    """The snapshots of a (pyiceberg) table's `main`, newest first: its current one and its ancestors."""
    found, snapshot = [], table.current_snapshot()
    while snapshot is not None:
        found.append(snapshot)
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    return found


def month_runs(lake: str | Path, table: str) -> dict[str, str]:
    """The Dagster run whose commit `main` holds for each month of a table (newest commit wins)."""
    runs: dict[str, str] = {}
    for snapshot in main_snapshots(Catalog.for_lake(lake).load(table)):
        run, months = snapshot_origin(dict(snapshot.summary.additional_properties))
        for month in months_of(months):
            runs.setdefault(month, run)
    return runs


def history(lake: str | Path, table: str) -> tuple[list[str], list[tuple]]:
    """One row per snapshot of a table, oldest first: when, id, operation, rows added and
    removed, the run and month that wrote it, and where it stands (current, on main, rolled back
    (it was main's, then a rollback left it), or staged: published as another snapshot, or never
    published: it failed a check or lost a conflict)."""
    try:
        t = Catalog.for_lake(lake).load(table)
    except CatalogError as exc:
        raise LakeQueryError(str(exc)) from None
    current = t.current_snapshot()
    ancestors = {s.snapshot_id: s for s in main_snapshots(t)}
    was_main = {entry.snapshot_id for entry in t.metadata.snapshot_log}
    published_as = {int(s.summary["source-snapshot-id"]): sid for sid, s in ancestors.items()
                    if s.summary.get("source-snapshot-id")}
    rows = []
    for s in sorted(t.metadata.snapshots, key=lambda s: s.timestamp_ms):
        summary = dict(s.summary.additional_properties)
        run, month = snapshot_origin(summary)
        state = ("current" if current and s.snapshot_id == current.snapshot_id else "main" if s.snapshot_id in ancestors
                 else "rolled back" if s.snapshot_id in was_main
                 else f"staged, published as {published_as[s.snapshot_id]}" if s.snapshot_id in published_as
                 else "staged, not published")
        rows.append((timestamp(s.timestamp_ms), str(s.snapshot_id), s.summary.operation.value,
                     int(summary.get("added-records", 0)), int(summary.get("deleted-records", 0)), run, month, state))
    return ["committed_utc", "snapshot", "operation", "rows_added", "rows_removed", "run", "month", "state"], rows


def table_summaries(lake: str | Path) -> tuple[list[str], list[tuple]]:
    """Per table: its snapshot, partitions (count, first … last), rows and number of columns;
    for the fact, the months whose fact and rejects come from different runs."""
    tables = snapshots(lake)
    names = {t.name for t in tables}
    mixed = []
    if {"fact_immigration", "fact_immigration_rejects"} <= names:
        facts, rejects = month_runs(lake, "fact_immigration"), month_runs(lake, "fact_immigration_rejects")
        mixed = sorted(m for m in facts.keys() & rejects.keys() if facts[m] != rejects[m])
    rows = []
    for table in tables:
        parts = table.partitions
        span = "" if not parts else parts[0] if len(parts) == 1 else f"{parts[0]} … {parts[-1]}"
        note = (f"fact and rejects from different runs: {', '.join(mixed)}"
                if mixed and table.name.startswith("fact_immigration") else "")
        rows.append((table.name, str(table.snapshot_id or "-"), len(parts), span, table.rows, len(table.schema), note))
    return ["table", "snapshot", "partitions", "partition_range", "rows", "columns", "note"], rows


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
