"""The monthly I94 extracts: checked without Spark, read by Spark in the 28 standard columns
(a .sas7bdat converted to parquet first)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lake_assets.core.s3 import S3Path, download
from lake_assets.core.sources.folder import I94Month
from lake_assets.core.sources.published import I94_COLUMNS, I94_NUMERIC, SourceError


def sas_to_parquet(path: Path | S3Path, cache_dir: Path) -> Path:
    """Convert a .sas7bdat to a parquet folder once (keyed by path, size and mtime).

    A file on S3 is downloaded beside its conversion first (pyreadstat reads local files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyreadstat

    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    out = cache_dir / f"{path.stem}-{key}"
    if (out / "_DONE").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    local = path if isinstance(path, Path) else download(path, out / f"_{path.name}")
    try:
        chunks = pyreadstat.read_file_in_chunks(pyreadstat.read_sas7bdat, str(local), chunksize=500_000)
        for i, (chunk, _) in enumerate(chunks):
            pq.write_table(pa.Table.from_pandas(chunk, preserve_index=False), out / f"part-{i:05d}.parquet")
    except Exception as exc:
        raise SourceError(path, f"not a readable SAS7BDAT file: {exc}", "fetch the extract again") from exc
    if local != path:
        local.unlink()
    (out / "_DONE").touch()
    return out


def _check_parquet(path) -> None:
    """Read the footer of every part, so that a broken one fails by name, not mid-build in Spark."""
    import pyarrow.parquet as pq

    for part in [path] if path.is_file() else sorted(path.glob("*.parquet")):
        try:
            with part.open("rb") as f:
                pq.read_schema(f)
        except (OSError, ValueError) as exc:
            raise SourceError(part, f"not a readable parquet file: {exc} (a truncated or corrupt copy?)",
                              "fetch the extract again") from exc


_NUMBER_TYPES = ("double", "float", "int", "bigint", "smallint", "tinyint", "string")


def _i94_head(extract: I94Month, rows: int = 100):
    """The column names (as written) and the first rows of an extract, read without Spark."""
    import pandas as pd

    path = extract.path
    if extract.format == "parquet":
        import pyarrow.parquet as pq

        _check_parquet(path)
        first = path if path.is_file() else sorted(path.glob("*.parquet"))[0]
        with first.open("rb") as f:
            table = pq.ParquetFile(f)
            schema = table.schema_arrow
            head = (table.read_row_group(0).slice(0, rows).to_pandas() if table.num_row_groups
                    else pd.DataFrame(columns=schema.names))
        return {n: str(schema.field(n).type) for n in schema.names}, head
    if extract.format == "csv":
        with path.open("rb") as f:
            try:
                head = pd.read_csv(f, nrows=rows, dtype=str)
            except (ValueError, UnicodeDecodeError) as exc:  # pandas' EmptyDataError is a ValueError
                raise SourceError(path, f"is not a readable CSV: {exc}", "fetch the extract again") from None
        return {c: "string" for c in head.columns}, head
    import pyreadstat

    with tempfile.TemporaryDirectory(prefix="lake_sas_") as tmp:  # an S3 extract's copy goes with it
        local = path if isinstance(path, Path) else download(path, Path(tmp) / path.name)
        try:
            head, meta = pyreadstat.read_sas7bdat(str(local), row_limit=rows)
        except Exception as exc:
            raise SourceError(path, f"not a readable SAS7BDAT file: {exc}", "fetch the extract again") from None
    return {c: ("double" if t == "double" else "string") for c, t in meta.readstat_variable_types.items()}, head


def check_i94_month(extract: I94Month) -> None:
    """Fail with a SourceError unless the extract opens, holds the 28 columns with numbers where
    numbers belong, and its first rows are of its month; without Spark (footers, first rows)."""
    import pandas as pd

    path = extract.path
    types, head = _i94_head(extract)
    by_lower = {c.lower(): c for c in types}
    missing = [c for c in I94_COLUMNS if c not in by_lower]
    if missing:
        raise SourceError(path, f"not an I94 extract: missing column(s) {', '.join(missing)}; "
                                f"found {', '.join(list(types)[:40]) or 'no columns'}",
                          "use the extract as published, with its 28 standard columns")
    wrong = [f"{c} is {types[by_lower[c]]}" for c in I94_NUMERIC
             if not types[by_lower[c]].startswith(_NUMBER_TYPES)]
    if wrong:
        raise SourceError(path, f"wrong column types: {', '.join(wrong)}; expected numbers (SAS dates as "
                                "days since 1960-01-01)", "use the extract as published")
    if head.empty:
        raise SourceError(path, "holds no rows", "fetch the extract again")
    year, month = (pd.to_numeric(head[by_lower[c]], errors="coerce") for c in ("i94yr", "i94mon"))
    found = sorted({f"{int(y)}-{int(m):02d}" for y, m in zip(year, month) if y == y and m == m})
    if found and extract.month not in found:
        raise SourceError(path, f"holds rows of {', '.join(found[:3])} (i94yr/i94mon of its first rows), "
                                f"not of {extract.month} as its name says",
                          "name it after the month it holds, or fetch the extract of that month")



def read_i94_month(spark: SparkSession, extract: I94Month, cache_dir: str | Path) -> DataFrame:
    """Read one month's extract with the 28 standard columns, by name, in standard types.

    Numeric columns come out as double (NaN as null) and text ones as string, whatever the
    format; columns beyond the 28 (June's six) are dropped; a missing column is an error.
    """
    path = extract.path
    check_i94_month(extract)
    if extract.format == "csv":
        df = spark.read.option("header", True).option("mode", "PERMISSIVE").csv(str(path))
    elif extract.format == "sas7bdat":
        df = spark.read.parquet(str(sas_to_parquet(path, Path(cache_dir))))
    else:
        df = spark.read.parquet(str(path))
    by_lower = {c.lower(): c for c in df.columns}
    types = dict(df.dtypes)

    def standard(name: str):
        col, dtype = F.col(f"`{by_lower[name]}`"), types[by_lower[name]]
        if name in I94_NUMERIC:  # NaN (pandas' null in parquet and CSV) is no value: null
            number = col.cast("double")
            return F.when(F.isnan(number), None).otherwise(number).alias(name)
        if dtype in ("double", "float", "int", "bigint"):  # codes like dtadfile stored as numbers
            return col.cast("bigint").cast("string").alias(name)
        return F.nullif(F.trim(col.cast("string")), F.lit("")).alias(name)

    return df.select([standard(c) for c in I94_COLUMNS])
