"""Analytics tables for the analysts, built on the fact and the dimensions."""


from dagster import AssetExecutionContext, asset
from pyspark.sql import Observation
from pyspark.sql import functions as F

from lake_assets.assets.dimensions import dim_city, dim_temperature, dim_visa
from lake_assets.assets.publishing import TableOutput, check_specs, publish_tables
from lake_assets.resources import LakeResource
from lake_assets.transforms import analytics as t

ANALYTICS = "analytics"


@asset(group_name=ANALYTICS, deps=["fact_immigration", dim_city, dim_visa, dim_temperature],
       check_specs=check_specs("metro_arrivals_monthly"))
def metro_arrivals_monthly(context: AssetExecutionContext, lake: LakeResource):
    """Arrivals per month, city and visa type, with temperature and arrivals per 100k inhabitants."""
    store = lake.lake()
    placed = Observation()
    fact = store.read("fact_immigration").observe(
        placed, F.sum(F.expr("cast(city_id is not null and visa_type is not null as long)")).alias("n"))
    df = t.metro_arrivals_monthly(fact, store.read("dim_city"), store.read("dim_visa"), store.read("dim_temperature"))
    yield from publish_tables(context, store, [TableOutput(
        "metro_arrivals_monthly", df, extra_metrics=lambda _: {"fact_rows_with_city": placed.get["n"] or 0})])


@asset(group_name=ANALYTICS, deps=[metro_arrivals_monthly], check_specs=check_specs("tourism_by_season"))
def tourism_by_season(context: AssetExecutionContext, lake: LakeResource):
    """Arrivals per season (DJF, MAM, JJA, SON), visa type and city, beside the season's temperature."""
    store = lake.lake()
    yield from publish_tables(context, store, [
        TableOutput("tourism_by_season", t.tourism_by_season(store.read("metro_arrivals_monthly")))])


@asset(group_name=ANALYTICS, deps=[metro_arrivals_monthly], check_specs=check_specs("arrivals_temperature_correlation"))
def arrivals_temperature_correlation(context: AssetExecutionContext, lake: LakeResource):
    """Pearson correlation of monthly arrivals with temperature per city and visa category."""
    store = lake.lake()
    yield from publish_tables(context, store, [TableOutput(
        "arrivals_temperature_correlation", t.arrivals_temperature_correlation(store.read("metro_arrivals_monthly")))])


analytics_assets = [metro_arrivals_monthly, tourism_by_season, arrivals_temperature_correlation]
