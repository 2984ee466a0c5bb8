"""A synthetic raw folder shaped like the real sources (see ../shared/docs/DATA_NOTES.md).

`generate_raw` writes the I94 months (`i94/i94_<mon>16_sub`: parquet parts, CSV or SAS), the
label file, demographics, airports, two temperature files and generation_manifest.json, from
the facts in `i94_facts` and `place_facts` (never from the real files). Every DATA_NOTES trap
is planted; the manifest counts each one as found in the written rows.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Callable

from lake_assets.core.generate.i94_facts import JUNE_EXTRA, MONTH_ROWS, PORTS, UNLISTED_PORTS
from lake_assets.core.generate.i94_files import SAS_APT_COMMAND, write_month, write_sas7bdat
from lake_assets.core.generate.i94_rows import _sas_day
from lake_assets.core.generate.other_sources import write_other_sources

# What other modules, scripts/demo.sh and the tests take from here.
__all__ = ["DEFAULT_SCALE", "DEFAULT_FORMATS", "FORMATS", "JUNE_EXTRA", "MONTH_ROWS", "PORTS",
           "UNLISTED_PORTS", "_sas_day", "generate_raw", "write_sas7bdat"]

DEFAULT_SCALE = 0.0025  # the whole year is ~102k rows
FORMATS = ("parquet", "csv", "sas7bdat")
DEFAULT_FORMATS = {"2016-01": "sas7bdat", "2016-02": "csv", "2016-10": "csv"}  # others: parquet


def generate_raw(out_dir: str | Path, scale: float = DEFAULT_SCALE, months: list[str] | None = None,
                 seed: int = 42, progress: Callable[[str], None] | None = None,
                 formats: dict[str, str] | None = None) -> dict:
    """Write a synthetic raw folder laid out like ../shared/data into `out_dir`; return its manifest.

    Each month 'YYYY-MM' of 2016 in `months` (default: all twelve) gets round(2016 volume ×
    `scale`) rows in its format (DEFAULT_FORMATS, then `formats`; parquet when a sas7bdat month
    finds no `readstat`); the same seed gives the same rows. The manifest, also written as
    generation_manifest.json: {"seed", "scale", "months": {month: {"rows", "path", "format",
    "columns", "traps", "nulls"}}, "files"}, paths relative to `out_dir`; "traps" counts the rows
    of each planted trap, "nulls" the null values per column.
    """
    progress = progress or (lambda message: None)
    chosen = _month_formats(scale, months, formats)
    out = Path(out_dir)
    (out / "i94").mkdir(parents=True, exist_ok=True)
    manifest: dict = {"seed": seed, "scale": scale, "months": {}, "files": []}
    files: list[Path] = []
    for month, fmt in chosen.items():
        rows = max(1, math.floor(MONTH_ROWS[month] * scale + 0.5))
        if fmt == "sas7bdat" and shutil.which("readstat") is None:
            progress(f"{month}: `readstat` is not on PATH ({SAS_APT_COMMAND}): writing parquet instead")
            fmt = "parquet"
        entry, written = write_month(out, month, rows, fmt, seed, progress)
        manifest["months"][month] = entry
        files += written

    files += write_other_sources(out, seed)
    progress("labels, demographics, airports and temperatures written")

    manifest["files"] = [p.relative_to(out).as_posix() for p in files]
    (out / "generation_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _month_formats(scale: float, months: list[str] | None, formats: dict[str, str] | None) -> dict[str, str]:
    """{month: format} in month order, after checking scale, months and formats."""
    if not scale > 0:
        raise ValueError(f"scale must be a positive number, not {scale}")
    months = sorted(MONTH_ROWS) if months is None else sorted(set(months))
    unknown = [m for m in months if m not in MONTH_ROWS]
    if unknown:
        raise ValueError(f"months must be 'YYYY-MM' of 2016, not {unknown}")
    chosen = {m: "parquet" for m in months} | {m: f for m, f in DEFAULT_FORMATS.items() if m in months}
    chosen |= {m: f for m, f in (formats or {}).items() if m in months}
    bad = {m: f for m, f in chosen.items() if f not in FORMATS}
    if bad:
        raise ValueError(f"formats must be one of {FORMATS}, not {bad}")
    return chosen
