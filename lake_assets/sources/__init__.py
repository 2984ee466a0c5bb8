"""Readers for the raw sources, in the formats their publishers ship (no Dagster here).

A raw folder holds `i94/` (one entry per monthly extract: a `.sas7bdat` file, a folder of
parquet parts, a `.parquet` file or a `.csv`) and, beside it, the label file, the
demographics CSV, the airport-codes CSV and the Berkeley temperature CSVs (plain or
`.gz`, at the top or under `temperature/`). The folder is local or an S3 prefix
(`s3://bucket/raw`, see `lake_assets.s3`). Every problem with a source raises
`SourceError` naming the file and what is wrong.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lake_assets.s3 import S3Path, as_path, download, object_stamps

LABELS_FILE = "I94_SAS_Labels_Descriptions.SAS"
DEMOGRAPHICS_FILE = "us-cities-demographics.csv"
AIRPORTS_GLOB = "airport-codes*.csv"
TEMPERATURE_GLOBS = ("GlobalLandTemperaturesBy*.csv", "GlobalLandTemperaturesBy*.csv.gz")

# The 28 columns of every I94 month, by name; numeric ones arrive as double.
I94_NUMERIC = [
    "cicid", "i94yr", "i94mon", "i94cit", "i94res", "arrdate", "i94mode", "depdate",
    "i94bir", "i94visa", "count", "biryear", "admnum",
]
I94_TEXT = [
    "i94port", "i94addr", "dtadfile", "visapost", "occup", "entdepa", "entdepd", "entdepu",
    "matflag", "dtaddto", "gender", "insnum", "airline", "fltno", "visatype",
]
I94_COLUMNS = [
    "cicid", "i94yr", "i94mon", "i94cit", "i94res", "i94port", "arrdate", "i94mode", "i94addr",
    "depdate", "i94bir", "i94visa", "count", "dtadfile", "visapost", "occup", "entdepa",
    "entdepd", "entdepu", "matflag", "biryear", "dtaddto", "gender", "insnum", "airline",
    "admnum", "fltno", "visatype",
]
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

DEMOGRAPHICS_COLUMNS = [
    "City", "State", "Median Age", "Male Population", "Female Population", "Total Population",
    "Number of Veterans", "Foreign-born", "Average Household Size", "State Code", "Race", "Count",
]
AIRPORT_COLUMNS = [
    "ident", "type", "name", "elevation_ft", "continent", "iso_country", "iso_region",
    "municipality", "gps_code", "iata_code", "local_code", "coordinates",
]
TEMPERATURE_COLUMNS = [
    "dt", "AverageTemperature", "AverageTemperatureUncertainty", "City", "Country",
    "Latitude", "Longitude",
]


class SourceError(Exception):
    """A raw source is missing or malformed: the message names the file and the problem."""

    def __init__(self, path, problem: str, fix: str | None = None):
        self.path = str(path)
        message = f"{path}: {problem}"
        super().__init__(message + (f" ({fix})" if fix else ""))


# ---------------------------------------------------------------- the raw folder


@dataclass(frozen=True)
class I94Month:
    """One monthly I94 extract found under `<raw>/i94/`."""

    month: str  # 'YYYY-MM'
    path: Path | S3Path
    format: str  # 'parquet', 'csv' or 'sas7bdat'


def _i94_format(entry: Path | S3Path) -> str | None:
    name = entry.name.lower()
    if entry.is_dir():
        return "parquet" if any(entry.glob("*.parquet")) else None
    for suffix, fmt in ((".sas7bdat", "sas7bdat"), (".parquet", "parquet"), (".csv", "csv")):
        if name.endswith(suffix):
            return fmt
    return None


def month_from_name(name: str) -> str | None:
    name = name.lower()
    m = re.search(r"(20\d\d)[-_]?(0[1-9]|1[0-2])(?!\d)", name)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    m = re.search(r"(?<![a-z])(" + "|".join(MONTH_NAMES) + r")[a-z]*[-_]?(\d\d)(?!\d)", name)
    if m:
        return f"20{m.group(2)}-{MONTH_NAMES.index(m.group(1)) + 1:02d}"
    return None


def _month_from_content(entry: Path | S3Path, fmt: str) -> str:
    """Read i94yr/i94mon of the first rows of an extract whose name carries no month."""
    import pandas as pd

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            first = entry if entry.is_file() else sorted(entry.glob("*.parquet"))[0]
            with first.open("rb") as f:
                head = pq.ParquetFile(f).read_row_group(0, columns=["i94yr", "i94mon"]).to_pandas()
        elif fmt == "csv":
            with entry.open("rb") as f:
                head = pd.read_csv(f, usecols=["i94yr", "i94mon"], nrows=100)
        else:
            import tempfile

            import pyreadstat

            with tempfile.TemporaryDirectory() as tmp:
                local = entry if isinstance(entry, Path) else download(entry, Path(tmp) / entry.name)
                head, _ = pyreadstat.read_sas7bdat(str(local), usecols=["i94yr", "i94mon"], row_limit=100)
    except Exception as exc:  # the reader's own words say what is wrong
        raise SourceError(entry, f"cannot read i94yr/i94mon to tell its month: {exc}",
                          "name it like i94_apr16_sub.* if it is an extract, or fetch it again") from exc
    pairs = head.dropna().astype(int).value_counts()
    if pairs.empty:
        raise SourceError(entry, "i94yr/i94mon are empty: cannot tell which month it holds",
                          "name the file like i94_apr16_sub.* or 2016-04.*")
    year, month = pairs.index[0]
    return f"{year}-{month:02d}"


def find_i94_months(raw_dir: str | Path | S3Path) -> dict[str, I94Month]:
    """Map 'YYYY-MM' to the extract for that month under `<raw>/i94/`.

    The month comes from the entry's name (`i94_apr16_sub.sas7bdat`, `2016-04.csv`,
    `i94_2016_04/`) or, failing that (`sas_data/`), from the i94yr/i94mon of its first rows.
    The first entry that cannot be placed raises its SourceError (see `scan_i94_months`).
    """
    months, problems = scan_i94_months(raw_dir)
    if problems:
        raise problems[0]
    return months


def scan_i94_months(raw_dir: str | Path | S3Path) -> tuple[dict[str, I94Month], list[SourceError]]:
    """The extracts under `<raw>/i94/` by month, and a SourceError for each entry that cannot be
    placed (its month unreadable, or a month already held by an earlier entry)."""
    i94_dir = as_path(raw_dir) / "i94"
    if not i94_dir.is_dir():
        raise SourceError(i94_dir, "no such folder: the raw folder must hold i94/ with one entry per month",
                          "pass the right --raw folder, or put the monthly extracts in its i94/")
    months: dict[str, I94Month] = {}
    problems: list[SourceError] = []
    for entry in sorted(i94_dir.iterdir()):
        fmt = _i94_format(entry)
        if fmt is None or entry.name.startswith((".", "_")):
            continue
        try:
            month = month_from_name(entry.name) or _month_from_content(entry, fmt)
        except SourceError as exc:
            problems.append(exc)
            continue
        if month in months:
            problems.append(SourceError(entry, f"holds {month} too, like {months[month].path.name}",
                                        "keep one extract per month in i94/"))
        else:
            months[month] = I94Month(month, entry, fmt)
    return months, problems


def find_file(raw_dir: str | Path | S3Path, pattern: str, what: str) -> Path | S3Path:
    """The one file matching `pattern` in the raw folder (or a sub-folder)."""
    raw = as_path(raw_dir)
    found = sorted(raw.glob(pattern)) or sorted(raw.glob(f"*/{pattern}"))
    if not found:
        raise SourceError(raw / pattern, f"missing: the {what} is expected here (or in a sub-folder)",
                          "put the file back or pass the right --raw folder")
    return found[0]


def find_temperature_files(raw_dir: str | Path | S3Path) -> list[Path | S3Path]:
    raw = as_path(raw_dir)
    found = sorted({p for g in TEMPERATURE_GLOBS for p in [*raw.glob(g), *raw.glob(f"temperature/{g}")]})
    if not found:
        raise SourceError(raw / "temperature", "no GlobalLandTemperaturesBy*.csv[.gz] file found",
                          "put the Berkeley Earth temperature CSVs in the raw folder or its temperature/")
    return found


DONE_MARKER = "_SUCCESS"  # a folder of parquet parts holding it is complete


def file_stamps(path: Path | S3Path) -> dict[str, str]:
    """Name -> size and modification time (locally) or size and ETag (on S3) of the file, or of
    each entry of the folder."""
    if isinstance(path, S3Path):
        return object_stamps(path)
    entries = [path] if path.is_file() else sorted(path.iterdir())
    return {p.name: f"{st.st_size}:{st.st_mtime_ns}" for p in entries for st in [p.stat()]}


def stamps_version(stamps: dict[str, str]) -> str:
    """What changes when a source is replaced: a hash of its stamps (the marker aside)."""
    text = ";".join(f"{name}:{stamp}" for name, stamp in sorted(stamps.items()) if name != DONE_MARKER)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- I94 months


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

    local = path if isinstance(path, Path) else None
    if local is None:
        import tempfile

        local = download(path, Path(tempfile.mkdtemp()) / path.name)
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


def check_sources(raw_dir: str | Path | S3Path, months: list[str]) -> None:
    """Check every source a build of `months` reads, before any Spark work: the label file, the
    CSVs (header, rows, UTF-8, whole .gz) and each month's extract (see `check_i94_month`)."""
    parse_labels(find_file(raw_dir, LABELS_FILE, "SAS label file"))
    check_csv(find_file(raw_dir, DEMOGRAPHICS_FILE, "demographics CSV"), DEMOGRAPHICS_COLUMNS, ";")
    check_csv(find_file(raw_dir, AIRPORTS_GLOB, "airport-codes CSV"), AIRPORT_COLUMNS)
    for path in find_temperature_files(raw_dir):
        check_csv(path, TEMPERATURE_COLUMNS)
    extracts = find_i94_months(raw_dir)
    for month in months:
        check_i94_month(extracts[month])


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


# ---------------------------------------------------------------- the label file


@dataclass(frozen=True)
class Labels:
    """The code lists of I94_SAS_Labels_Descriptions.SAS."""

    countries: dict[int, str]
    ports: dict[str, str]
    modes: dict[int, str]
    states: dict[str, str]
    visa_categories: dict[int, str]


_PAIR = re.compile(r"(?:'([^']*)'|(-?\d+))\s*=\s*'([^']*)'")


def _block(text: str, name: str, path: Path) -> dict:
    m = re.search(r"\bvalue\s+\$?" + name + r"\b", text, re.IGNORECASE)
    if not m:
        raise SourceError(path, f"no 'value {name}' block: expected one with its code = 'label' pairs",
                          "use the label file as published; fetch it again")
    body, quoted = [], False
    for ch in text[m.end():]:
        if ch == "'":
            quoted = not quoted
        elif ch == ";" and not quoted:
            break
        body.append(ch)
    else:
        raise SourceError(path, f"block 'value {name}' is cut off: no closing ';'",
                          "the file looks truncated; fetch it again")
    pairs = {}
    for code_str, code_num, label in _PAIR.findall("".join(body)):
        pairs[code_str.strip() if code_num == "" else int(code_num)] = label.strip()
    if not pairs:
        raise SourceError(path, f"block 'value {name}' has no code = 'label' pairs",
                          "use the label file as published; fetch it again")
    return pairs


def parse_labels(path: str | Path | S3Path) -> Labels:
    """Parse every block of the SAS label file, incl. the visa categories in a comment."""
    path = as_path(path)
    if not path.is_file():
        raise SourceError(path, "missing: the SAS label file is expected here",
                          "put the file back or pass the right --raw folder")
    try:
        text = path.read_text(encoding="latin-1").replace("\r\n", "\n")
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc}", "check the file's permissions") from exc
    no_comments = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    blocks = {name: _block(no_comments, name, path) for name in ("i94cntyl", "i94prtl", "i94model", "i94addrl")}
    visa = re.search(r"/\*\s*I94VISA(.*?)\*/", text, re.S | re.IGNORECASE)
    if not visa:
        raise SourceError(path, "no I94VISA comment with the visa categories: expected /* I94VISA ... */",
                          "use the label file as published; fetch it again")
    categories = {int(c): n.strip() for c, n in re.findall(r"(\d+)\s*=\s*([A-Za-z]+)", visa.group(1))}
    if not categories:
        raise SourceError(path, "the I94VISA comment lists no 'code = category' lines",
                          "use the label file as published; fetch it again")
    return Labels(
        countries=blocks["i94cntyl"],
        ports=blocks["i94prtl"],
        modes=blocks["i94model"],
        states=blocks["i94addrl"],
        visa_categories=categories,
    )


# ---------------------------------------------------------------- the CSV sources


_CHECKED: set = set()  # (path, size, mtime) of CSV files read through once already


def check_csv(path, columns: list[str], sep: str = ",") -> None:
    """Fail with a SourceError unless the CSV (plain or .gz) has a header holding `columns`,
    at least one row, UTF-8 text and (for .gz) its whole compressed stream; read once per version."""
    p = as_path(path)
    if not p.is_file():
        raise SourceError(p, f"missing: expected a CSV with the columns {', '.join(columns)}",
                          "put the file back or pass the right --raw folder")
    stat = p.stat()
    if (str(p), stat.st_size, stat.st_mtime_ns) in _CHECKED:
        return
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
    found = [h.strip().strip('"') for h in header.split(sep)]
    missing = [c for c in columns if c not in found]
    if missing:
        hint = f" (is the separator {sep!r}?)" if len(found) == 1 else ""
        raise SourceError(p, f"missing column(s) {', '.join(missing)}: the header is {header[:200]!r}{hint}",
                          f"use the publisher's file, {sep!r}-separated with the columns {', '.join(columns)}")
    if lines + (last not in ("", "\n")) < 2:
        raise SourceError(p, "has a header but no rows", "fetch the file again")
    _CHECKED.add((str(p), stat.st_size, stat.st_mtime_ns))


def _read_csv(spark: SparkSession, paths: list, columns: list[str], sep: str = ",") -> DataFrame:
    for p in paths:
        check_csv(p, columns, sep)
    df = (spark.read.option("header", True).option("sep", sep).option("quote", '"')
          .option("escape", '"').csv([str(p) for p in paths]))
    return df.select([F.col(f"`{c}`") for c in columns])


def read_demographics(spark: SparkSession, path: str | Path | S3Path) -> DataFrame:
    """The `;`-separated demographics CSV, one row per (City, State, Race); all strings."""
    return _read_csv(spark, [path], DEMOGRAPHICS_COLUMNS, sep=";")


def read_airports(spark: SparkSession, path: str | Path | S3Path) -> DataFrame:
    """The airport-codes CSV; `coordinates` is 'longitude, latitude'; all strings."""
    return _read_csv(spark, [path], AIRPORT_COLUMNS)


def read_temperatures(spark: SparkSession, paths: list) -> DataFrame:
    """One or more Berkeley Earth temperature CSVs (plain or .gz); all strings."""
    return _read_csv(spark, list(paths), TEMPERATURE_COLUMNS)
