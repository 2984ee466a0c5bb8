"""Analytics tables built on the fact and the dimensions (no Dagster here)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
           6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}
MIN_CORRELATION_MONTHS = 3


def season(month_col: str) -> F.Column:
    expr = F.create_map(*[F.lit(x) for kv in SEASONS.items() for x in kv])
    return expr[F.col(month_col)]


def metro_arrivals_monthly(fact: DataFrame, cities: DataFrame, visas: DataFrame, temperature: DataFrame) -> DataFrame:
    """Arrivals per (year, month, city, visa type), beside the city's temperature and population."""
    arrivals = (fact.where("city_id is not null and visa_type is not null")
                .groupBy("i94yr", "i94mon", "city_id", "visa_type")
                .agg(F.count(F.lit(1)).alias("arrivals")))
    return (
        arrivals
        .join(F.broadcast(visas.select("visa_type", "visa_category")), "visa_type", "left")
        .join(F.broadcast(temperature.select("city_id", F.col("month").alias("i94mon"), "avg_temperature_c")),
              ["city_id", "i94mon"], "left")
        .join(F.broadcast(cities.select("city_id", "city", "state_code", "total_population", "foreign_born")),
              "city_id", "left")
        .select(
            "i94yr", "i94mon", "city_id", "visa_type", "arrivals", "visa_category", "avg_temperature_c",
            (F.col("arrivals") * F.lit(100000.0) / F.col("total_population")).alias("arrivals_per_100k"),
            "city", "state_code", "total_population",
            (F.col("foreign_born") / F.col("total_population")).alias("foreign_born_share"),
            season("i94mon").alias("season"),
        )
        .orderBy("i94yr", "i94mon", "city_id", "visa_type")
    )


def tourism_by_season(metro: DataFrame) -> DataFrame:
    """Arrivals per (season, visa type, city) with the season's mean monthly temperature."""
    return (
        metro.groupBy("season", "visa_type", "city_id")
        .agg(
            F.first("visa_category").alias("visa_category"),
            F.sum("arrivals").cast("bigint").alias("arrivals"),
            F.avg("avg_temperature_c").alias("avg_temperature_c"),
            F.countDistinct("i94yr", "i94mon").cast("int").alias("months"),
            F.first("city").alias("city"),
            F.first("state_code").alias("state_code"),
        )
        .orderBy("season", "visa_type", "city_id")
    )


def arrivals_temperature_correlation(metro: DataFrame) -> DataFrame:
    """Pearson r of monthly arrivals and temperature per (city, visa category)."""
    monthly = (metro.groupBy("city_id", "visa_category", "i94yr", "i94mon")
               .agg(F.sum("arrivals").alias("arrivals"), F.first("avg_temperature_c").alias("t")))
    with_t = F.col("t").isNotNull()
    r = F.corr(F.when(with_t, F.col("arrivals").cast("double")), F.when(with_t, F.col("t")))
    months = F.sum(with_t.cast("int")).cast("int")
    return (
        monthly.groupBy("city_id", "visa_category")
        .agg(months.alias("months"), r.alias("r"), F.sum("arrivals").cast("bigint").alias("arrivals"))
        .select("city_id", "visa_category", "months",
                F.when((F.col("months") >= MIN_CORRELATION_MONTHS) & ~F.isnan("r"), F.col("r")).alias("pearson_r"), "arrivals")
        .orderBy("city_id", "visa_category")
    )
