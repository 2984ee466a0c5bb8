"""The raw sources, as external assets: they show in the lineage; nothing materializes them."""

from dagster import AssetSpec

from lake_assets.partitions import monthly_partitions

RAW = "raw"

raw_i94 = AssetSpec("raw_i94", group_name=RAW, partitions_def=monthly_partitions,
                    description="Monthly I94 extracts under <raw>/i94/ (.sas7bdat, parquet folder or CSV)")
raw_labels = AssetSpec("raw_labels", group_name=RAW, description="I94_SAS_Labels_Descriptions.SAS: the code lists")
raw_demographics = AssetSpec("raw_demographics", group_name=RAW,
                             description="us-cities-demographics.csv (';'-separated, one row per city and race)")
raw_airports = AssetSpec("raw_airports", group_name=RAW, description="airport-codes*.csv (coordinates as 'lon, lat')")
raw_temperatures = AssetSpec("raw_temperatures", group_name=RAW,
                             description="Berkeley Earth GlobalLandTemperaturesBy*.csv[.gz]")

raw_specs = [raw_i94, raw_labels, raw_demographics, raw_airports, raw_temperatures]
