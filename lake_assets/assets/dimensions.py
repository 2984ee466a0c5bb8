"""Dimension assets: thin wrappers that read sources, call a transform and publish."""


from dagster import AssetExecutionContext, asset

from lake_assets.assets.publishing import TableOutput, check_specs, publish_tables
from lake_assets.resources import LakeResource
from lake_assets.sources import (
    AIRPORTS_GLOB, DEMOGRAPHICS_FILE, LABELS_FILE, find_file, find_temperature_files, parse_labels,
    read_airports, read_demographics, read_temperatures,
)
from lake_assets.transforms import dimensions as t

DIMENSIONS = "dimensions"


def _labels(lake: LakeResource):
    return parse_labels(find_file(lake.raw_dir, LABELS_FILE, "SAS label file"))


def _label_dimension(name: str, transform, doc: str):
    @asset(name=name, group_name=DIMENSIONS, deps=["raw_labels"], check_specs=check_specs(name), description=doc)
    def _dimension(context: AssetExecutionContext, lake: LakeResource):
        yield from publish_tables(context, lake.lake(), [TableOutput(name, transform(lake.spark(), _labels(lake)))])

    return _dimension


dim_country = _label_dimension("dim_country", t.dim_country, "Country codes of i94cit/i94res, valid or not")
dim_state = _label_dimension("dim_state", t.dim_state, "The valid US state codes of i94addr")
dim_visa = _label_dimension("dim_visa", t.dim_visa, "Visa types and their category (Business, Pleasure, Student)")
dim_travel_mode = _label_dimension("dim_travel_mode", t.dim_travel_mode, "Modes of arrival (Air, Sea, Land, Not reported)")


@asset(group_name=DIMENSIONS, deps=["raw_labels", "raw_demographics", "raw_airports"],
       check_specs=check_specs("dim_city"))
def dim_city(context: AssetExecutionContext, lake: LakeResource):
    """US cities of the ports and the demographics, with coordinates (GeoNames, airports) and population."""
    spark, raw = lake.spark(), lake.raw_dir
    df = t.dim_city(
        spark, _labels(lake),
        read_demographics(spark, find_file(raw, DEMOGRAPHICS_FILE, "demographics CSV")),
        read_airports(spark, find_file(raw, AIRPORTS_GLOB, "airport-codes CSV")),
    )
    yield from publish_tables(context, lake.lake(), [TableOutput("dim_city", df)])


@asset(group_name=DIMENSIONS, deps=["raw_labels", dim_city], check_specs=check_specs("dim_port"))
def dim_port(context: AssetExecutionContext, lake: LakeResource):
    """I94 (CBP) ports of entry with their city, through the label file's 'CITY, ST'."""
    store = lake.lake()
    df = t.dim_port(lake.spark(), _labels(lake), store.read("dim_city"))
    yield from publish_tables(context, store, [TableOutput("dim_port", df)])


@asset(group_name=DIMENSIONS, deps=["raw_temperatures", dim_city], check_specs=check_specs("dim_temperature"))
def dim_temperature(context: AssetExecutionContext, lake: LakeResource):
    """Month-of-year temperature climatology per city (last 30 years of its Berkeley series)."""
    store = lake.lake()
    temperatures = read_temperatures(lake.spark(), find_temperature_files(lake.raw_dir))
    df = t.dim_temperature(temperatures, store.read("dim_city"))
    yield from publish_tables(context, store, [TableOutput("dim_temperature", df)])


dimension_assets = [dim_country, dim_state, dim_visa, dim_travel_mode, dim_city, dim_port, dim_temperature]
