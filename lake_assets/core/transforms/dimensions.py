"""Dimension tables: pure functions `(spark, sources…) -> DataFrame` (no Dagster here)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from lake_assets.core.sources import Labels
from lake_assets.core.transforms.places import (
    city_id, haversine_km, initcap, norm_city, round_half_up, to_double, to_long,
)

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
AIRPORT_WEIGHTS = {"large_airport": 3, "medium_airport": 2}  # any other type: 1
MAX_TEMPERATURE_MATCH_KM = 150.0  # a Berkeley grid point lies within ~80 km of its cities
CLIMATOLOGY_YEARS = 30
DIM_CITY_SCHEMA = (
    "city_id STRING, city STRING, state_code STRING, latitude DOUBLE, longitude DOUBLE, total_population BIGINT, "
    "foreign_born BIGINT, median_age DOUBLE, coordinates_source STRING, male_population BIGINT, "
    "female_population BIGINT, veterans BIGINT, average_household_size DOUBLE, "
    + ", ".join(f"{race} BIGINT" for race in RACES.values()))
DIM_TEMPERATURE_SCHEMA = ("city_id STRING, month INT, avg_temperature_c DOUBLE, years INT, source_city STRING, "
                          "source_latitude DOUBLE, source_longitude DOUBLE, distance_km DOUBLE")
DATE = r"^(\d{4}-\d\d-\d\d)(?:[ T].*)?$"  # a date as Spark casts one: the day, then maybe a time


def _first(*values):
    """The first value that is not None (SQL's coalesce)."""
    return next((v for v in values if v is not None), None)


def _nulls_first(row: tuple) -> tuple:
    """Sort key: by the first field, None first (SQL's ascending order)."""
    return row[0] is not None, row[0]


def _mean(values: list[float]) -> float:
    """Their mean, from their exactly rounded sum: the same in any order (Spark's avg adds them in
    the order its shuffle delivers them, which moves the last bits with the partition count)."""
    return math.fsum(values) / len(values)


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


def port_candidates(labels: Labels) -> list[tuple]:
    """Per port (by code): (port_code, port_name, state_code, is_us, [(candidate, city_norm), …])."""
    ports = []
    for code, label in sorted(labels.ports.items()):
        candidates, state = parse_port_label(label, labels.states)
        ports.append((code, label, state, state is not None, [(c, norm_city(c)) for c in candidates]))
    return ports


def _pick_port_city(candidates: list[tuple], state: str | None, known) -> tuple:
    """The first candidate that is a known (city_norm, state_code), else the first; (None, None) if none."""
    return next((c for c in candidates if (c[1], state) in known), candidates[0] if candidates else (None, None))


def _key(city_norm: str | None, state_code: str | None) -> tuple | None:
    """A (city_norm, state_code) join key; None (matching nothing, as a SQL join) if either is null."""
    return None if city_norm is None or state_code is None else (city_norm, state_code)


def _best(rows, key, rank) -> dict:
    """Per key (not None), the first row of the highest rank (None lowest)."""
    best: dict = {}
    for row in rows:
        k = key(row)
        if k not in best or (rank(row) is not None and (rank(best[k]) is None or rank(row) > rank(best[k]))):
            best[k] = row
    return best


def pivot_demographics(demographics: pd.DataFrame) -> dict[tuple, dict]:
    """One entry per (city_norm, state_code): the city's values taken once (they repeat on every
    race row; the largest if they differ), race counts pivoted (never summed across cities)."""
    numbers = {"median_age": ("Median Age", to_double), "male_population": ("Male Population", to_long),
               "female_population": ("Female Population", to_long),
               "total_population": ("Total Population", to_long), "veterans": ("Number of Veterans", to_long),
               "foreign_born": ("Foreign-born", to_long),
               "average_household_size": ("Average Household Size", to_double)}
    cities: dict[tuple, dict] = {}
    for row in demographics.to_dict("records"):
        city = cities.setdefault((norm_city(row["City"]), row["State Code"]), {
            "demographics_city": row["City"], **dict.fromkeys([*numbers, *RACES.values()])})
        for name, (column, cast) in numbers.items():
            value = cast(row[column])
            if value is not None and (city[name] is None or value > city[name]):
                city[name] = value
        count, race = to_long(row["Count"]), RACES.get(row["Race"])
        if race and count is not None:
            city[race] = count + (city[race] or 0)
    return cities


def gazetteer_cities(rows: list[tuple]) -> dict[tuple, tuple]:
    """US cities of the GeoNames gazetteer (`sources.read_gazetteer`'s rows), one per (city_norm,
    state): the most populous."""
    return _best(rows, lambda r: (norm_city(r[0]), r[1]), lambda r: r[4])


def airport_places(airports: pd.DataFrame) -> dict[tuple, tuple[float, float]]:
    """US airport municipalities' (latitude, longitude) ('longitude, latitude' in the source),
    per (city_norm, state code): of the largest airport."""
    places = []
    for row in airports[(airports["iso_country"] == "US") & airports["municipality"].notna()].to_dict("records"):
        lon_lat = re.split(r",[ \t\n\x0b\f\r]*", row["coordinates"]) if row["coordinates"] is not None else []
        lat, lon = (to_double(lon_lat[i]) if len(lon_lat) > i else None for i in (1, 0))
        if lat is not None and lon is not None:
            region = row["iso_region"]
            state = None if region is None else (m.group(1) if (m := re.fullmatch(r"US-([A-Z]{2})", region)) else "")
            places.append(((norm_city(row["municipality"]), state), (lat, lon), AIRPORT_WEIGHTS.get(row["type"], 1)))
    return {k: r[1] for k, r in _best(places, lambda r: r[0], lambda r: r[2]).items()}


def dim_city(spark: SparkSession, labels: Labels, demographics: pd.DataFrame, airports: pd.DataFrame,
             gazetteer: list[tuple]) -> DataFrame:
    """US cities of the ports and of the demographics, with coordinates and population."""
    demo, gaz, places = pivot_demographics(demographics), gazetteer_cities(gazetteer), airport_places(airports)
    known = demo.keys() | gaz.keys()
    port_city: dict[tuple, str] = {}
    for _, _, state, is_us, candidates in port_candidates(labels):
        if is_us and candidates:
            candidate, city_norm = _pick_port_city(candidates, state, known)
            name = initcap(candidate)
            port_city[(city_norm, state)] = min(port_city.get((city_norm, state), name), name)
    rows = []
    for city_norm, state in dict.fromkeys([*demo, *port_city]):
        key = _key(city_norm, state)
        d, g, a = demo.get(key, {}), gaz.get(key), places.get(key)
        g_lat, g_lon, a_lat, a_lon = (*(g[2:4] if g else (None, None)), *(a or (None, None)))
        rows.append((
            city_id(state, city_norm), _first(d.get("demographics_city"), g and g[0], port_city.get(key)), state,
            _first(g_lat, a_lat), _first(g_lon, a_lon), d.get("total_population"), d.get("foreign_born"),
            d.get("median_age"), "geonames" if g_lat is not None else "airports" if a_lat is not None else None,
            *(d.get(c) for c in ("male_population", "female_population", "veterans", "average_household_size",
                                 *RACES.values())),
        ))
    return spark.createDataFrame(sorted(rows, key=_nulls_first), DIM_CITY_SCHEMA)


def dim_port(spark: SparkSession, labels: Labels, cities: DataFrame) -> DataFrame:
    """Ports of the label file (CBP codes, not IATA) with their city through (city, state)."""
    known = {_key(norm_city(r.city), r.state_code): (r.city_id, r.city)
             for r in cities.select("city_id", "city", "state_code").collect()}
    known.pop(None, None)  # a city without a name or state matches no port
    rows = []
    for code, label, state, is_us, candidates in port_candidates(labels):
        candidate, city_norm = _pick_port_city(candidates, state, known)
        found_id, found_city = known.get(_key(city_norm, state), (None, None))
        rows.append((code, label, _first(found_city, initcap(candidate)), state, is_us, found_id))
    return spark.createDataFrame(rows, "port_code STRING, port_name STRING, city STRING, state_code STRING, "
                                       "is_us BOOLEAN, city_id STRING")


def _each_distinct(texts: pd.Series, parse) -> pd.Series:
    """`parse` of each text (None stays None), called once per distinct text; as floats."""
    codes, distinct = pd.factorize(texts)
    return pd.Series(np.array([*map(parse, distinct), None], dtype=float)[codes], index=texts.index)


def parse_coordinate(text: str | None) -> float | None:
    """'57.05N' -> 57.05, '10.33W' -> -10.33."""
    m = re.match(r"[0-9.]+", text) if text is not None else None
    value = to_double(m.group(0)) if m else None
    return -value if value is not None and text[-1:] in ("S", "W") else value


def dim_temperature(spark: SparkSession, temperatures: pd.DataFrame, cities: DataFrame) -> DataFrame:
    """Month-of-year climatology per city, over the last 30 years of its matched series.

    `temperatures`: the US rows of the Berkeley files (`read_us_temperatures`). A Berkeley city
    carries no state: it is matched to the city of the same name whose coordinates lie nearest its
    grid point, within MAX_TEMPERATURE_MATCH_KM. A reading given twice (two files holding the same
    series) counts once: the first.
    """
    t = pd.DataFrame({
        "City": temperatures["City"],
        "t_lat": _each_distinct(temperatures["Latitude"], parse_coordinate),
        "t_lon": _each_distinct(temperatures["Longitude"], parse_coordinate),
        "dt": pd.to_datetime(temperatures["dt"].str.extract(DATE, expand=False), format="%Y-%m-%d", errors="coerce"),
        "temperature": _each_distinct(temperatures["AverageTemperature"], to_double),
    })
    series = ["City", "t_lat", "t_lon"]
    t = t.dropna().drop_duplicates([*series, "dt"])  # a null key matches no city: its rows make no output
    t["year"], t["month"] = t["dt"].dt.year, t["dt"].dt.month
    t = t[t["year"] > t.groupby(series)["year"].transform("max") - CLIMATOLOGY_YEARS]
    climatology: dict[tuple, list] = {}
    for *key, month, year, temperature in t[[*series, "month", "year", "temperature"]].itertuples(index=False):
        climatology.setdefault(tuple(key), {}).setdefault(month, []).append((year, temperature))
    by_name: dict[str, list] = {}
    located = cities.where("latitude is not null and longitude is not null")
    for city in located.select("city_id", "city", "latitude", "longitude").collect():
        by_name.setdefault(norm_city(city.city), []).append(city)
    nearest: dict[str, tuple] = {}
    for key in climatology:
        for city in by_name.get(norm_city(key[0]), []):
            km = haversine_km(key[1], key[2], city.latitude, city.longitude)
            if km <= MAX_TEMPERATURE_MATCH_KM and (city.city_id not in nearest or km < nearest[city.city_id][1]):
                nearest[city.city_id] = (key, km)
    rows = [(cid, month, _mean([v for _, v in readings]), len({y for y, _ in readings}), *key,
             round_half_up(km, 1))
            for cid, (key, km) in nearest.items() for month, readings in climatology[key].items()]
    return spark.createDataFrame(sorted(rows, key=lambda r: r[:2]), DIM_TEMPERATURE_SCHEMA)
