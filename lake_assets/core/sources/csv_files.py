"""The CSV sources: demographics, airport codes and temperatures (plain or .gz), checked
through once per version, read on the driver as strings with the names of their checked header
(they are small: the dimensions are computed from them in Python)."""

from __future__ import annotations

import codecs
import csv
import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from lake_assets.core.s3 import S3Path, as_path
from lake_assets.core.sources.published import AIRPORT_COLUMNS, DEMOGRAPHICS_COLUMNS, TEMPERATURE_COLUMNS, SourceError

_CHECKED: dict[tuple, tuple[str, ...]] = {}  # (path, size, mtime) of a CSV read through once -> its header


def check_csv(path, columns: list[str], sep: str = ",") -> tuple[str, ...]:
    """Fail with a SourceError unless the CSV (plain or .gz) has a header holding `columns`,
    at least one row, UTF-8 text and (for .gz) its whole compressed stream; read once per version.
    Returns the header's column names, in the file's order."""
    p = as_path(path)
    if not p.is_file():
        raise SourceError(p, f"missing: expected a CSV with the columns {', '.join(columns)}",
                          "put the file back or pass the right --raw folder")
    stat = p.stat()
    if (str(p), stat.st_size, stat.st_mtime_ns) in _CHECKED:
        return _CHECKED[(str(p), stat.st_size, stat.st_mtime_ns)]
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    done, lines, last, header = 0, 0, "", None
    try:
        with p.open("rb") as raw:
            data = gzip.GzipFile(fileobj=raw) if p.name.endswith(".gz") else raw
            while chunk := data.read(1 << 22):
                text = decoder.decode(chunk)
                if header is None and "\n" in text:
                    header = text.split("\n", 1)[0].rstrip("\r")
                lines, last, done = lines + text.count("\n"), text[-1:] or last, done + len(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise SourceError(p, f"is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} near byte "
                             f"{done + exc.start:,} cannot be decoded (a Latin-1 or Windows export?)",
                          "convert it, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8, and replace it") from None
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise SourceError(p, f"cannot be read to its end: {exc} (a truncated or corrupt download?)",
                          "fetch the file again") from None
    if header is None:  # a single line without a line end
        with p.open("rb") as raw:
            data = gzip.GzipFile(fileobj=raw) if p.name.endswith(".gz") else raw
            header = data.read().decode("utf-8-sig").rstrip("\r\n")
    if not header.strip():
        raise SourceError(p, f"is empty: expected a header line with {', '.join(columns)}",
                          "fetch the file again")
    found = [h.strip() for h in next(csv.reader([header], delimiter=sep))]
    missing = [c for c in columns if c not in found]
    if missing:
        hint = f" (is the separator {sep!r}?)" if len(found) == 1 else ""
        raise SourceError(p, f"missing column(s) {', '.join(missing)}: the header is {header[:200]!r}{hint}",
                          f"use the publisher's file, {sep!r}-separated with the columns {', '.join(columns)}")
    if lines + (last not in ("", "\n")) < 2:
        raise SourceError(p, "has a header but no rows", "fetch the file again")
    _CHECKED[(str(p), stat.st_size, stat.st_mtime_ns)] = tuple(found)
    return tuple(found)


def _read_csv(paths: list, columns: list[str], sep: str = ",", where: tuple[str, str] | None = None) -> pd.DataFrame:
    """The files' `columns` as strings (None where empty), each file read with its checked
    header's names (pyarrow: no Spark job); only the rows whose column `where[0]` is `where[1]`.
    The rows come in the order Spark's scan gave them: the files grouped by header and, in each
    group, the larger first (dim_temperature keeps the first of two copies of a reading)."""
    by_header: dict[tuple[str, ...], list] = {}
    for p in paths:
        by_header.setdefault(check_csv(p, columns, sep), []).append(as_path(p))
    tables = []
    for header, files in by_header.items():
        for p in sorted(files, key=lambda p: -p.stat().st_size):
            with p.open("rb") as raw:
                table = pa_csv.read_csv(
                    gzip.GzipFile(fileobj=raw) if p.name.endswith(".gz") else raw,
                    read_options=pa_csv.ReadOptions(column_names=list(header), skip_rows=1),
                    parse_options=pa_csv.ParseOptions(delimiter=sep),
                    convert_options=pa_csv.ConvertOptions(
                        include_columns=columns, column_types=dict.fromkeys(columns, pa.string()),
                        null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True))
            tables.append(table.filter(pc.equal(table[where[0]], where[1])) if where else table)
    return pa.concat_tables(tables).to_pandas()


def read_demographics(path: str | Path | S3Path) -> pd.DataFrame:
    """The `;`-separated demographics CSV, one row per (City, State, Race); all strings."""
    return _read_csv([path], DEMOGRAPHICS_COLUMNS, sep=";")


def read_airports(path: str | Path | S3Path) -> pd.DataFrame:
    """The airport-codes CSV; `coordinates` is 'longitude, latitude'; all strings."""
    return _read_csv([path], AIRPORT_COLUMNS)


def read_us_temperatures(paths: list) -> pd.DataFrame:
    """The United States rows of one or more Berkeley Earth temperature CSVs (plain or .gz); all strings."""
    return _read_csv(list(paths), TEMPERATURE_COLUMNS, where=("Country", "United States"))
