"""The check `lake build` runs before any Spark work: every source a build reads."""

from __future__ import annotations

from pathlib import Path

from lake_assets.core.s3 import S3Path
from lake_assets.core.sources.csv_files import check_csv
from lake_assets.core.sources.folder import find_file, find_i94_months, find_temperature_files
from lake_assets.core.sources.i94 import check_i94_month
from lake_assets.core.sources.labels import parse_labels
from lake_assets.core.sources.published import (
    AIRPORT_COLUMNS, AIRPORTS_GLOB, DEMOGRAPHICS_COLUMNS, DEMOGRAPHICS_FILE, LABELS_FILE, TEMPERATURE_COLUMNS,
)


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
