"""Dimension assets: thin wrappers; the engine runs their step (`lake_assets.steps`)."""


from dagster import AssetExecutionContext, asset

from lake_assets.assets.publishing import check_specs
from lake_assets.assets.tables import DIMENSION_LAYER, table_attributes
from lake_assets.engines import SparkEngine

DIMENSIONS = "dimensions"


def _label_dimension(name: str, doc: str):
    @asset(name=name, group_name=DIMENSIONS, deps=["raw_labels"], check_specs=check_specs(name), description=doc,
           **table_attributes(name, DIMENSION_LAYER))
    def _dimension(context: AssetExecutionContext, engine: SparkEngine):
        yield from engine.materialize(context, name)

    return _dimension


dim_country = _label_dimension("dim_country", "Country codes of i94cit/i94res, valid or not")
dim_state = _label_dimension("dim_state", "The valid US state codes of i94addr")
dim_visa = _label_dimension("dim_visa", "Visa types and their category (Business, Pleasure, Student)")
dim_travel_mode = _label_dimension("dim_travel_mode", "Modes of arrival (Air, Sea, Land, Not reported)")


@asset(group_name=DIMENSIONS, deps=["raw_labels", "raw_demographics", "raw_airports"],
       check_specs=check_specs("dim_city"), **table_attributes("dim_city", DIMENSION_LAYER))
def dim_city(context: AssetExecutionContext, engine: SparkEngine):
    """US cities of the ports and the demographics, with coordinates (GeoNames, airports) and population."""
    yield from engine.materialize(context, "dim_city")


@asset(group_name=DIMENSIONS, deps=["raw_labels", dim_city], check_specs=check_specs("dim_port"),
       **table_attributes("dim_port", DIMENSION_LAYER))
def dim_port(context: AssetExecutionContext, engine: SparkEngine):
    """I94 (CBP) ports of entry with their city, through the label file's 'CITY, ST'."""
    yield from engine.materialize(context, "dim_port")


@asset(group_name=DIMENSIONS, deps=["raw_temperatures", dim_city], check_specs=check_specs("dim_temperature"),
       **table_attributes("dim_temperature", DIMENSION_LAYER))
def dim_temperature(context: AssetExecutionContext, engine: SparkEngine):
    """Month-of-year temperature climatology per city (last 30 years of its Berkeley series)."""
    yield from engine.materialize(context, "dim_temperature")


dimension_assets = [dim_country, dim_state, dim_visa, dim_travel_mode, dim_city, dim_port, dim_temperature]
