"""The analysts' tables, built on the fact and the dimensions; each shows its report charts."""

from __future__ import annotations

from functools import partial
from typing import Callable

from pyspark.sql import Observation
from pyspark.sql import functions as F

from lake_assets.core.quality import TEMPERATURE_COVERAGE_FLOOR, Check, share
from lake_assets.core.tables.columns import AVG_TEMPERATURE, CITY_ID, STATE_CODE, VISA_CATEGORY, VISA_TYPE
from lake_assets.core.tables.table import Build, Column, Inputs, Table, TableOutput, columns_of
from lake_assets.core.transforms import analytics as ta

GROUP = "analytics"
SEASON = Column("season", "STRING", "winter (DJF), spring (MAM), summer (JJA) or autumn (SON)")
FACT, METRO = partial(columns_of, "fact_immigration"), partial(columns_of, "metro_arrivals_monthly")
ARRIVALS_POSITIVE = Check("arrivals_positive", "every group has arrivals", bad_rows="arrivals <= 0")

metro_arrivals_monthly = Table(
    "metro_arrivals_monthly", "Arrivals per month, city and visa type, with temperature and arrivals per 100k "
                              "inhabitants",
    reads=("fact_immigration", "dim_city", "dim_visa", "dim_temperature"),
    columns=(
        Column("i94yr", "INT", "year of arrival", sources=FACT("i94yr")),
        Column("i94mon", "INT", "month of arrival", sources=FACT("i94mon")),
        CITY_ID.of(*FACT("city_id")),
        VISA_TYPE.of(*FACT("visa_type")),
        Column("arrivals", "BIGINT", "arrivals in the month at the city's ports with this visa type",
               sources=FACT("cicid")),
        VISA_CATEGORY.of(("dim_visa", "visa_category")),
        AVG_TEMPERATURE.of(("dim_temperature", "avg_temperature_c")),
        Column("arrivals_per_100k", "DOUBLE", "arrivals per 100,000 inhabitants of the city",
               sources=(*FACT("cicid"), ("dim_city", "total_population"))),
        Column("city", "STRING", "city name", sources=(("dim_city", "city"),)),
        STATE_CODE.of(("dim_city", "state_code")),
        Column("total_population", "BIGINT", "population of the city", sources=(("dim_city", "total_population"),)),
        Column("foreign_born_share", "DOUBLE", "share of foreign-born residents",
               sources=(("dim_city", "foreign_born"), ("dim_city", "total_population"))),
        SEASON.of(*FACT("i94mon")),
    ),
    keys=("i94yr", "i94mon", "city_id", "visa_type"),
    checks=(
        ARRIVALS_POSITIVE,
        Check("reconciles_with_fact", "sum of arrivals = fact rows with a city and a visa type",
              measures={"total_arrivals": "sum(arrivals)"},
              passes=lambda m: m["total_arrivals"] == m["fact_rows_with_city"]),
        Check("foreign_keys_resolve", "city_id and visa_type resolve",
              references={"city_id": ("dim_city", "city_id"), "visa_type": ("dim_visa", "visa_type")}),
        Check("temperature_coverage", f"share of arrivals with a temperature ≥ {TEMPERATURE_COVERAGE_FLOOR:.0%}",
              blocking=False,
              measures={"share_with_temperature":
                        "sum(case when avg_temperature_c is not null then arrivals else 0 end) / sum(arrivals)"},
              passes=share("share_with_temperature", TEMPERATURE_COVERAGE_FLOOR)),
    ),
)
tourism_by_season = Table(
    "tourism_by_season", "Arrivals per season (DJF, MAM, JJA, SON), visa type and city, beside the season's "
                         "temperature",
    reads=("metro_arrivals_monthly",),
    columns=(
        SEASON.of(*METRO("season")),
        VISA_TYPE.of(*METRO("visa_type")),
        CITY_ID.of(*METRO("city_id")),
        VISA_CATEGORY.of(*METRO("visa_category")),
        Column("arrivals", "BIGINT", "arrivals in the season's months", sources=METRO("arrivals")),
        Column("avg_temperature_c", "DOUBLE", "mean of the season's monthly temperatures, °C",
               sources=METRO("avg_temperature_c")),
        Column("months", "INT", "months of data in the season", sources=METRO("i94yr", "i94mon")),
        Column("city", "STRING", "city name", sources=METRO("city")),
        STATE_CODE.of(*METRO("state_code")),
    ),
    keys=("season", "visa_type", "city_id"),
    checks=(
        Check("season_domain", "season is winter, spring, summer or autumn",
              bad_rows="season not in ('winter', 'spring', 'summer', 'autumn')"),
        ARRIVALS_POSITIVE,
    ),
)
arrivals_temperature_correlation = Table(
    "arrivals_temperature_correlation", "Pearson correlation of monthly arrivals with temperature per city and "
                                        "visa category",
    reads=("metro_arrivals_monthly",),
    columns=(
        CITY_ID.of(*METRO("city_id")),
        VISA_CATEGORY.of(*METRO("visa_category")),
        Column("months", "INT", "months with a temperature", sources=METRO("i94yr", "i94mon", "avg_temperature_c")),
        Column("pearson_r", "DOUBLE", "Pearson r of monthly arrivals and temperature; null under 3 months",
               sources=METRO("arrivals", "avg_temperature_c")),
        Column("arrivals", "BIGINT", "arrivals over all months", sources=METRO("arrivals")),
    ),
    keys=("city_id", "visa_category"),
    checks=(Check("r_domain", "pearson_r within −1..1, and only where ≥ 3 months have a temperature",
                  bad_rows="pearson_r is not null and (abs(pearson_r) > 1.000001 or months < 3)"),),
)


def _metro_arrivals_monthly(inputs: Inputs) -> list[TableOutput]:
    placed = Observation()
    fact = inputs.read("fact_immigration").observe(
        placed, F.sum(F.expr("cast(city_id is not null and visa_type is not null as long)")).alias("n"))
    df = ta.metro_arrivals_monthly(fact, inputs.read("dim_city"), inputs.read("dim_visa"),
                                   inputs.read("dim_temperature"))
    return [TableOutput("metro_arrivals_monthly", df,
                        extra_metrics=lambda _: {"fact_rows_with_city": placed.get["n"] or 0})]


def _from_metro(table: Table, transform) -> Callable[[Inputs], list[TableOutput]]:
    return lambda inputs: [TableOutput(table.name, transform(inputs.read("metro_arrivals_monthly")))]


BUILDS = (
    Build(metro_arrivals_monthly.name, GROUP, (metro_arrivals_monthly,), _metro_arrivals_monthly,
          charts=("monthly", "destinations")),
    Build(tourism_by_season.name, GROUP, (tourism_by_season,),
          _from_metro(tourism_by_season, ta.tourism_by_season), charts=("season",)),
    Build(arrivals_temperature_correlation.name, GROUP, (arrivals_temperature_correlation,),
          _from_metro(arrivals_temperature_correlation, ta.arrivals_temperature_correlation), charts=("correlation",)),
)
