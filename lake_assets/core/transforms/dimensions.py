"""Dimension tables: pure functions `(spark, sources…) -> DataFrame` (no Dagster here)."""

from __future__ import annotations

import re

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lake_assets.core.sources import Labels
from lake_assets.core.transforms.common import city_id, haversine_km, norm_city

# visa type -> visa category code (1 Business, 2 Pleasure, 3 Student); one-to-one in the data.
VISA_TYPES = {
    "WB": 1, "B1": 1, "E1": 1, "E2": 1, "I": 1, "I1": 1, "GMB": 1,
    "WT": 2, "B2": 2, "GMT": 2, "CP": 2, "CPL": 2, "SBP": 2,
    "F1": 3, "F2": 3, "M1": 3, "M2": 3,
}
VISA_TYPE_NAMES = {
    "WB": "Visa Waiver business", "B1": "Business visitor", "E1": "Treaty trader",
    "E2": "Treaty investor", "I": "Foreign media", "I1": "Foreign media (dependant)",
    "GMB": "Guam-CNMI visa waiver business", "WT": "Visa Waiver tourist", "B2": "Tourist visitor",
    "GMT": "Guam-CNMI visa waiver tourist", "CP": "Continuous transit", "CPL": "Transit (Canada)",
    "SBP": "Transit (Panama)", "F1": "Academic student", "F2": "Academic student's dependant",
    "M1": "Vocational student", "M2": "Vocational student's dependant",
}
RACES = {
    "American Indian and Alaska Native": "american_indian_alaska_native",
    "Asian": "asian",
    "Black or African-American": "black_african_american",
    "Hispanic or Latino": "hispanic_latino",
    "White": "white",
}
INVALID_COUNTRY = re.compile(r"^(INVALID|No Country Code|Collapsed)", re.IGNORECASE)
JUNK_PORT = re.compile(r"^(No PORT Code|Collapsed|INVALID|NOT REPORTED|UNIDENTIFED|UNKNOWN)", re.IGNORECASE)
PLACE_SUFFIX = re.compile(r"\s+(INTL|ARPT|AIRPORT|AIRFIELD|AAF)$", re.IGNORECASE)
STATE_FOR_NAME = {"WASHINGTON": "WA"}  # a full state name seen in a port label
MAX_TEMPERATURE_MATCH_KM = 150.0  # a Berkeley grid point lies within ~80 km of its cities
CLIMATOLOGY_YEARS = 30


def dim_country(spark: SparkSession, labels: Labels) -> DataFrame:
    rows = [(code, name, not INVALID_COUNTRY.match(name)) for code, name in sorted(labels.countries.items())]
    return spark.createDataFrame(rows, "country_code INT, country_name STRING, is_valid BOOLEAN")


def dim_state(spark: SparkSession, labels: Labels) -> DataFrame:
    """The valid US state codes ('99', "all other codes", is not a state)."""
    rows = [(code, name.title()) for code, name in sorted(labels.states.items()) if code.isalpha()]
    return spark.createDataFrame(rows, "state_code STRING, state_name STRING")


def dim_visa(spark: SparkSession, labels: Labels) -> DataFrame:
    rows = [(t, code, labels.visa_categories[code], VISA_TYPE_NAMES[t]) for t, code in VISA_TYPES.items()]
    return spark.createDataFrame(
        rows, "visa_type STRING, visa_category_code INT, visa_category STRING, visa_type_name STRING")


def dim_travel_mode(spark: SparkSession, labels: Labels) -> DataFrame:
    return spark.createDataFrame(sorted(labels.modes.items()), "mode_code INT, mode STRING")


def parse_port_label(label: str, states: dict[str, str]) -> tuple[list[str], str | None]:
    """A port label -> (candidate city names, nearest first; US state code or None).

    'NEWARK/TETERBORO, NJ' -> (['NEWARK', 'TETERBORO'], 'NJ');
    'HULL FIELD, SUGAR LAND ARPT, TX' -> (['SUGAR LAND', 'HULL FIELD'], 'TX');
    'SPRINGFIELD-BRANSON, MO' -> (['SPRINGFIELD-BRANSON', 'SPRINGFIELD', 'BRANSON'], 'MO');
    'WASHINGTON DC' -> (['WASHINGTON'], 'DC'); 'TORONTO, CANADA' -> ([], None).
    """
    names = {name.upper(): code for code, name in states.items()} | STATE_FOR_NAME
    text = re.sub(r"\s+", " ", re.sub(r"\([^)]*\)|#\w+", " ", label)).strip(" ,")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    region = parts[-1].upper() if len(parts) > 1 else None
    if region is None:  # 'MARIPOSA AZ', 'WASHINGTON DC'
        m = re.match(r"^(.*\S)\s+([A-Z]{2})$", text)
        if m and m.group(2) in states:
            parts, region = [m.group(1), m.group(2)], m.group(2)
    state = region if region in states else names.get(region or "")
    if state is None or not state.isalpha() or JUNK_PORT.match(text):
        return [], state if state and state.isalpha() else None
    candidates = []
    for part in reversed(parts[:-1]):
        for piece in re.split(r"/| - ", part):
            for name in (piece, *piece.split("-")):  # 'SPRINGFIELD-BRANSON', then each name
                name = PLACE_SUFFIX.sub("", name.strip())
                if name and name not in candidates:
                    candidates.append(name)
    return candidates, state


def port_candidates(spark: SparkSession, labels: Labels) -> DataFrame:
    """One row per (port, candidate city name): port_code, port_name, state_code, is_us, pos, city_norm."""
    rows = []
    for code, label in sorted(labels.ports.items()):
        candidates, state = parse_port_label(label, labels.states)
        rows.append((code, label, state, state is not None, candidates))
    ports = spark.createDataFrame(
        rows, "port_code STRING, port_name STRING, state_code STRING, is_us BOOLEAN, candidates ARRAY<STRING>")
    return ports.select(
        "port_code", "port_name", "state_code", "is_us",
        F.posexplode_outer("candidates").alias("pos", "candidate"),
    ).withColumn("city_norm", norm_city("candidate"))


def _pick_port_city(candidates: DataFrame, known: DataFrame) -> DataFrame:
    """Per port, the first candidate that is a known (city_norm, state_code), else the first."""
    matched = candidates.join(
        known.select("city_norm", "state_code", F.lit(True).alias("known")).distinct(),
        ["city_norm", "state_code"], "left")
    order = Window.partitionBy("port_code").orderBy(F.col("known").asc_nulls_last(), F.col("pos").asc_nulls_last())
    return matched.withColumn("rank", F.row_number().over(order)).where("rank = 1").drop("rank")


def pivot_demographics(demographics: DataFrame) -> DataFrame:
    """One row per (city, state): city values taken once, race counts pivoted (never summed)."""
    num = lambda c, t="bigint": F.max(F.col(f"`{c}`").cast(t))  # noqa: E731 - same value on every race row
    races = [F.sum(F.when(F.col("Race") == race, F.col("Count").cast("bigint"))).alias(col)
             for race, col in RACES.items()]
    return (
        demographics.withColumn("city_norm", norm_city("City"))
        .groupBy("city_norm", F.col("`State Code`").alias("state_code"))
        .agg(
            F.first("City").alias("demographics_city"),
            num("Median Age", "double").alias("median_age"),
            num("Male Population").alias("male_population"),
            num("Female Population").alias("female_population"),
            num("Total Population").alias("total_population"),
            num("Number of Veterans").alias("veterans"),
            num("Foreign-born").alias("foreign_born"),
            num("Average Household Size", "double").alias("average_household_size"),
            *races,
        )
    )


def gazetteer_cities(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    """US cities of the GeoNames gazetteer (`sources.read_gazetteer`'s rows), one per (name, state):
    the most populous."""
    df = spark.createDataFrame(rows, "name STRING, state_code STRING, latitude DOUBLE, longitude DOUBLE, population BIGINT")
    best = Window.partitionBy("city_norm", "state_code").orderBy(F.desc("population"))
    return (df.withColumn("city_norm", norm_city("name"))
            .withColumn("rank", F.row_number().over(best)).where("rank = 1").drop("rank"))


def airport_places(airports: DataFrame) -> DataFrame:
    """US airport municipalities with coordinates ('longitude, latitude' in the source)."""
    lon_lat = F.split(F.col("coordinates"), r",\s*")
    weight = F.when(F.col("type") == "large_airport", 3).when(F.col("type") == "medium_airport", 2).otherwise(1)
    best = Window.partitionBy("city_norm", "state_code").orderBy(F.desc("weight"))
    return (
        airports.where((F.col("iso_country") == "US") & F.col("municipality").isNotNull())
        .select(
            norm_city("municipality").alias("city_norm"),
            F.regexp_extract("iso_region", r"^US-([A-Z]{2})$", 1).alias("state_code"),
            lon_lat[1].cast("double").alias("latitude"),
            lon_lat[0].cast("double").alias("longitude"),
            weight.alias("weight"),
        )
        .where("latitude is not null and longitude is not null")
        .withColumn("rank", F.row_number().over(best)).where("rank = 1").drop("rank", "weight")
    )


def dim_city(spark: SparkSession, labels: Labels, demographics: DataFrame, airports: DataFrame,
             gazetteer: list[tuple]) -> DataFrame:
    """US cities of the ports and of the demographics, with coordinates and population."""
    demo = pivot_demographics(demographics)
    gaz = gazetteer_cities(spark, gazetteer)
    known = demo.select("city_norm", "state_code").unionByName(gaz.select("city_norm", "state_code"))
    port_cities = (_pick_port_city(port_candidates(spark, labels).where("is_us and candidate is not null"), known)
                   .select("city_norm", "state_code", F.initcap("candidate").alias("port_city")))
    keys = demo.select("city_norm", "state_code").unionByName(port_cities.select("city_norm", "state_code")).distinct()
    places = airport_places(airports)
    port_name = port_cities.groupBy("city_norm", "state_code").agg(F.min("port_city").alias("port_city"))
    return (
        keys.join(demo, ["city_norm", "state_code"], "left")
        .join(gaz.select("city_norm", "state_code", "name", F.col("latitude").alias("g_lat"),
                         F.col("longitude").alias("g_lon")), ["city_norm", "state_code"], "left")
        .join(places.select("city_norm", "state_code", F.col("latitude").alias("a_lat"),
                            F.col("longitude").alias("a_lon")), ["city_norm", "state_code"], "left")
        .join(port_name, ["city_norm", "state_code"], "left")
        .select(
            city_id(F.col("state_code"), F.col("city_norm")).alias("city_id"),
            F.coalesce("demographics_city", "name", "port_city").alias("city"),
            "state_code",
            F.coalesce("g_lat", "a_lat").alias("latitude"),
            F.coalesce("g_lon", "a_lon").alias("longitude"),
            "total_population", "foreign_born", "median_age",
            F.when(F.col("g_lat").isNotNull(), "geonames").when(F.col("a_lat").isNotNull(), "airports")
            .alias("coordinates_source"),
            "male_population", "female_population", "veterans", "average_household_size",
            *RACES.values(),
        )
        .orderBy("city_id")
    )


def dim_port(spark: SparkSession, labels: Labels, cities: DataFrame) -> DataFrame:
    """Ports of the label file (CBP codes, not IATA) with their city through (city, state)."""
    known = cities.select(norm_city("city").alias("city_norm"), "state_code", "city_id", F.col("city").alias("city_name"))
    picked = _pick_port_city(port_candidates(spark, labels), known.select("city_norm", "state_code"))
    return (
        picked.join(known, ["city_norm", "state_code"], "left")
        .select("port_code", "port_name", F.coalesce("city_name", F.initcap("candidate")).alias("city"),
                "state_code", "is_us", "city_id")
        .orderBy("port_code")
    )


def parse_coordinate(col: str) -> F.Column:
    """'57.05N' -> 57.05, '10.33W' -> -10.33."""
    value = F.regexp_extract(F.col(col), r"^([0-9.]+)", 1).cast("double")
    return F.when(F.col(col).rlike("[SW]$"), -value).otherwise(value)


def dim_temperature(temperatures: DataFrame, cities: DataFrame) -> DataFrame:
    """Month-of-year climatology per city, over the last 30 years of its matched series.

    A Berkeley city carries no state: it is matched to the city of the same name whose
    coordinates lie nearest its grid point, within MAX_TEMPERATURE_MATCH_KM.
    """
    t = (
        temperatures.where(F.col("Country") == "United States")
        .select(
            "City",
            parse_coordinate("Latitude").alias("t_lat"),
            parse_coordinate("Longitude").alias("t_lon"),
            F.to_date("dt").alias("dt"),
            F.col("AverageTemperature").cast("double").alias("temperature"),
        )
        .where("temperature is not null and dt is not null")
        .dropDuplicates(["City", "t_lat", "t_lon", "dt"])
    )
    last_year = F.max(F.year("dt")).over(Window.partitionBy("City", "t_lat", "t_lon"))
    recent = t.withColumn("last_year", last_year).where(F.year("dt") > F.col("last_year") - CLIMATOLOGY_YEARS)
    climatology = recent.groupBy("City", "t_lat", "t_lon", F.month("dt").alias("month")).agg(
        F.avg("temperature").alias("avg_temperature_c"),
        F.countDistinct(F.year("dt")).cast("int").alias("years"),
    )
    series = climatology.select("City", "t_lat", "t_lon").distinct().withColumn("city_norm", norm_city("City"))
    candidates = cities.where("latitude is not null").select(
        "city_id", norm_city("city").alias("city_norm"), "latitude", "longitude")
    nearest = Window.partitionBy("city_id").orderBy("distance_km")
    matched = (
        series.join(candidates, "city_norm")
        .withColumn("distance_km", haversine_km(F.col("t_lat"), F.col("t_lon"), F.col("latitude"), F.col("longitude")))
        .where(F.col("distance_km") <= MAX_TEMPERATURE_MATCH_KM)
        .withColumn("rank", F.row_number().over(nearest)).where("rank = 1")
    )
    return (
        climatology.join(matched.select("City", "t_lat", "t_lon", "city_id", "distance_km"), ["City", "t_lat", "t_lon"])
        .select(
            "city_id", "month", "avg_temperature_c", "years",
            F.col("City").alias("source_city"), F.col("t_lat").alias("source_latitude"),
            F.col("t_lon").alias("source_longitude"), F.round("distance_km", 1).alias("distance_km"),
        )
        .orderBy("city_id", "month")
    )
