"""The raw folder: which I94 extract holds which month, where the other files are, and the
stamps that tell when a source was replaced."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from lake_assets.core.s3 import S3Path, as_path, download, object_stamps
from lake_assets.core.sources.published import MONTH_NAMES, TEMPERATURE_GLOBS, SourceError


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
    """'YYYY-MM' from an extract's name (`i94_apr16_sub`, `2016-04`, `i94_201611`), or None."""
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
    """The Berkeley Earth temperature CSVs (plain or .gz) in the raw folder or its temperature/."""
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
