"""The raw sources, as external assets: they show in the lineage, with the columns their readers
return (where the tables' column lineage starts); nothing materializes them.

Each has a data version, what changes when it is replaced (`stamps_version` of its files):
`raw_i94_sensor` records the version of each month's extract as it asks for the month's build;
the other four are observed (by the 07:00 schedule, or *Observe sources* in the UI). A
dimension built from an older version than the one observed shows stale, and is rebuilt.
"""

import warnings

from dagster import AssetSpec, BetaWarning, DataVersion, observable_source_asset

from lake_assets.orchestration.assets.columns import column_schema
from lake_assets.orchestration.partitions import monthly_partitions
from lake_assets.orchestration.resources import LakeResource
from lake_assets.core.sources import (
    AIRPORTS_GLOB, DEMOGRAPHICS_FILE, LABELS_FILE, file_stamps, find_file, find_temperature_files, stamps_version,
)
from lake_assets.core.tables.raw import RAW_COLUMNS

RAW = "raw"


def _schema(name: str) -> dict:
    """The source's columns as its reader returns them (`lake_assets.core.tables.raw`)."""
    return {"dagster/column_schema": column_schema(RAW_COLUMNS[name])}


raw_i94 = AssetSpec("raw_i94", group_name=RAW, partitions_def=monthly_partitions, metadata=_schema("raw_i94"),
                    description="Monthly I94 extracts under <raw>/i94/ (.sas7bdat, parquet folder or CSV)")


def _observed_files(name: str, files, description: str):
    """An observable source whose data version is that of `files(raw_dir)`."""
    with warnings.catch_warnings():  # observable source assets are beta in dagster 1.13
        warnings.simplefilter("ignore", BetaWarning)

        @observable_source_asset(name=name, group_name=RAW, description=description, metadata=_schema(name))
        def _source(lake: LakeResource) -> DataVersion:
            return DataVersion(stamps_version({k: v for path in files(lake.raw_dir) for k, v in file_stamps(path).items()}))

    return _source


raw_labels = _observed_files("raw_labels", lambda raw: [find_file(raw, LABELS_FILE, "SAS label file")],
                             "I94_SAS_Labels_Descriptions.SAS: the code lists")
raw_demographics = _observed_files(
    "raw_demographics", lambda raw: [find_file(raw, DEMOGRAPHICS_FILE, "demographics CSV")],
    "us-cities-demographics.csv (';'-separated, one row per city and race)")
raw_airports = _observed_files("raw_airports", lambda raw: [find_file(raw, AIRPORTS_GLOB, "airport-codes CSV")],
                               "airport-codes*.csv (coordinates as 'lon, lat')")
raw_temperatures = _observed_files("raw_temperatures", find_temperature_files,
                                   "Berkeley Earth GlobalLandTemperaturesBy*.csv[.gz]")

observed_sources = [raw_labels, raw_demographics, raw_airports, raw_temperatures]
raw_specs = [raw_i94, *observed_sources]
