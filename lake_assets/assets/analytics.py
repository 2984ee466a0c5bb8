"""Analytics tables for the analysts, built on the fact and the dimensions.

Each materialization also carries the report's charts of its table (`lake_assets.report`)
as Markdown with an embedded PNG, computed by DuckDB from the small published table.
"""

from typing import Iterator

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from lake_assets import query, report
from lake_assets.assets.dimensions import dim_city, dim_temperature, dim_visa
from lake_assets.assets.publishing import check_specs
from lake_assets.assets.tables import ANALYTICS_LAYER, table_attributes
from lake_assets.engines import SparkEngine

ANALYTICS = "analytics"


def chart_metadata(lake_dir: str, sections: tuple[str, ...]) -> dict:
    """`chart_<section>` Markdown values for the report's `sections`, read from the lake with DuckDB."""
    wanted = [report.section(key) for key in sections]
    try:
        con = query.connect(lake_dir, only={t for sec in wanted for t in sec.tables})
    except query.LakeQueryError as exc:  # the lake cannot be read here: the table is published all the same
        return {"charts": MetadataValue.text(f"no charts: {exc}")}
    return {f"chart_{sec.key}": MetadataValue.md(report.chart_markdown(sec, query.records(con, sec.sql)))
            for sec in wanted}


def with_charts(results: Iterator, engine: SparkEngine, sections: tuple[str, ...]) -> Iterator:
    """The step's results, its materialization (the table is published by then) with the charts added."""
    for result in results:
        if isinstance(result, MaterializeResult):
            result = result._replace(metadata={**(result.metadata or {}),
                                               **chart_metadata(engine.lake.lake_dir, sections)})
        yield result


@asset(group_name=ANALYTICS, deps=["fact_immigration", dim_city, dim_visa, dim_temperature],
       check_specs=check_specs("metro_arrivals_monthly"),
       **table_attributes("metro_arrivals_monthly", ANALYTICS_LAYER))
def metro_arrivals_monthly(context: AssetExecutionContext, engine: SparkEngine):
    """Arrivals per month, city and visa type, with temperature and arrivals per 100k inhabitants."""
    yield from with_charts(engine.materialize(context, "metro_arrivals_monthly"), engine, ("monthly", "destinations"))


@asset(group_name=ANALYTICS, deps=[metro_arrivals_monthly], check_specs=check_specs("tourism_by_season"),
       **table_attributes("tourism_by_season", ANALYTICS_LAYER))
def tourism_by_season(context: AssetExecutionContext, engine: SparkEngine):
    """Arrivals per season (DJF, MAM, JJA, SON), visa type and city, beside the season's temperature."""
    yield from with_charts(engine.materialize(context, "tourism_by_season"), engine, ("season",))


@asset(group_name=ANALYTICS, deps=[metro_arrivals_monthly], check_specs=check_specs("arrivals_temperature_correlation"),
       **table_attributes("arrivals_temperature_correlation", ANALYTICS_LAYER))
def arrivals_temperature_correlation(context: AssetExecutionContext, engine: SparkEngine):
    """Pearson correlation of monthly arrivals with temperature per city and visa category."""
    yield from with_charts(engine.materialize(context, "arrivals_temperature_correlation"), engine, ("correlation",))


analytics_assets = [metro_arrivals_monthly, tourism_by_season, arrivals_temperature_correlation]
