"""An I94 month written as parquet parts, CSV or SAS, with its manifest entry."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lake_assets.core.generate.i94_facts import I94_COLUMNS, JUNE_EXTRA, MONTH_ABBR
from lake_assets.core.generate.i94_rows import draw_chunk, plan_traps

CHUNK_ROWS = 250_000  # rows per generated chunk (one parquet part each)
SAS_APT_COMMAND = "apt-get update && apt-get install -y readstat"


def write_sas7bdat(df: pd.DataFrame, path: str | Path) -> None:
    """Write `df` as SAS7BDAT: a Stata file by pyreadstat, converted by ReadStat's `readstat` tool.

    No Python library writes sas7bdat. Numbers become SAS doubles, text SAS strings (a null
    string is blank). Raises RuntimeError when `readstat` is not on PATH.
    """
    import pyreadstat

    exe = shutil.which("readstat")
    if exe is None:
        raise RuntimeError("writing .sas7bdat needs ReadStat's command-line tool `readstat`, "
                           f"which is not on PATH: install it with `{SAS_APT_COMMAND}`")
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        dta, out = Path(tmp) / "data.dta", Path(tmp) / "data.sas7bdat"
        # Column labels: without them pandas.read_sas misreads the last names of the
        # column-text block readstat writes (e.g. 'visatype' comes back empty).
        pyreadstat.write_dta(df, str(dta), column_labels=[c.upper() for c in df.columns])
        done = subprocess.run([exe, str(dta), str(out)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"readstat failed converting to {path.name}: {done.stderr.strip()}")
        shutil.move(out, path)


def _month_path(month: str, fmt: str) -> str:
    suffix = {"parquet": ".parquet", "csv": ".csv", "sas7bdat": ".sas7bdat"}[fmt]
    return f"i94/i94_{MONTH_ABBR[int(month[5:]) - 1]}16_sub{suffix}"


def write_month(out: Path, month: str, rows: int, fmt: str, seed: int, progress) -> tuple[dict, list]:
    """Write one month in `fmt`, CHUNK_ROWS at a time; return its manifest entry and files."""
    rng = np.random.default_rng([seed, 2016, int(month[5:])])
    plan = plan_traps(rng, rows)
    target = out / _month_path(month, fmt)
    for old in (out / "i94").glob(f"i94_{MONTH_ABBR[int(month[5:]) - 1]}16_sub*"):
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    if fmt == "parquet":
        target.mkdir(parents=True)
    traps: dict[str, int] = {}
    nulls: dict[str, int] = {}
    tables, files, cicid = [], [], 0.0
    for part, start in enumerate(range(0, rows, CHUNK_ROWS)):
        n = min(CHUNK_ROWS, rows - start)
        table, found, empty = draw_chunk(rng, month, start, n, cicid, plan)
        cicid = pc.max(table["cicid"]).as_py()
        traps = {k: traps.get(k, 0) + v for k, v in found.items()}
        nulls = {k: nulls.get(k, 0) + v for k, v in empty.items()}
        if fmt == "parquet":
            files.append(target / f"part-{part:05d}.snappy.parquet")
            pq.write_table(table, files[-1], compression="snappy")
        elif fmt == "csv":  # like immigration_data_sample.csv: an unnamed index column, CRLF
            df = table.to_pandas()
            df.index = pd.RangeIndex(start, start + n)
            with open(target, "a" if start else "w", newline="") as f:
                df.to_csv(f, header=start == 0, lineterminator="\r\n")
        else:
            tables.append(table)
        progress(f"{month}: {start + n:,}/{rows:,} rows ({fmt})")
    if fmt == "sas7bdat":
        write_sas7bdat(pa.concat_tables(tables).to_pandas(), target)
        progress(f"{month}: converted to {target.name}")
    if fmt != "parquet":
        files.append(target)
    entry = {"rows": rows, "path": _month_path(month, fmt), "format": fmt,
             "columns": len(I94_COLUMNS) + (len(JUNE_EXTRA) if month == "2016-06" else 0),
             "traps": traps, "nulls": nulls}
    return entry, files
