"""End to end on the real April 2016 month: the contract, nothing lost, identical rebuilds."""

import duckdb
import pytest

from lake_assets_tests.conftest import APRIL_ROWS, table_sql

pytestmark = pytest.mark.slow

# The required columns of ../shared/docs/LAKE_CONTRACT.md, as DuckDB reads their parquet types.
CONTRACT = {
    "dim_country": {"country_code": "INTEGER", "country_name": "VARCHAR", "is_valid": "BOOLEAN"},
    "dim_state": {"state_code": "VARCHAR", "state_name": "VARCHAR"},
    "dim_port": {"port_code": "VARCHAR", "port_name": "VARCHAR", "city": "VARCHAR", "state_code": "VARCHAR",
                 "is_us": "BOOLEAN", "city_id": "VARCHAR"},
    "dim_visa": {"visa_type": "VARCHAR", "visa_category_code": "INTEGER", "visa_category": "VARCHAR"},
    "dim_travel_mode": {"mode_code": "INTEGER", "mode": "VARCHAR"},
    "dim_city": {"city_id": "VARCHAR", "city": "VARCHAR", "state_code": "VARCHAR", "latitude": "DOUBLE",
                 "longitude": "DOUBLE", "total_population": "BIGINT", "foreign_born": "BIGINT",
                 "median_age": "DOUBLE"},
    "dim_temperature": {"city_id": "VARCHAR", "month": "INTEGER", "avg_temperature_c": "DOUBLE",
                        "years": "INTEGER"},
    "fact_immigration": {
        "cicid": "BIGINT", "arrival_date": "DATE", "departure_date": "DATE", "stay_days": "INTEGER",
        "port_code": "VARCHAR", "city_id": "VARCHAR", "address_state_code": "VARCHAR",
        "citizenship_country_code": "INTEGER", "residence_country_code": "INTEGER", "mode_code": "INTEGER",
        "visa_category_code": "INTEGER", "visa_type": "VARCHAR", "age": "INTEGER", "gender": "VARCHAR",
        "admission_number": "BIGINT", "i94yr": "INTEGER", "i94mon": "INTEGER"},
    "fact_immigration_rejects": {"cicid": "BIGINT", "reject_reason": "VARCHAR", "i94yr": "INTEGER", "i94mon": "INTEGER"},
    "metro_arrivals_monthly": {"i94yr": "INTEGER", "i94mon": "INTEGER", "city_id": "VARCHAR", "visa_type": "VARCHAR",
                               "arrivals": "BIGINT", "visa_category": "VARCHAR", "avg_temperature_c": "DOUBLE",
                               "arrivals_per_100k": "DOUBLE"},
    "tourism_by_season": {"season": "VARCHAR", "visa_type": "VARCHAR", "city_id": "VARCHAR",
                          "visa_category": "VARCHAR", "arrivals": "BIGINT", "avg_temperature_c": "DOUBLE"},
    "arrivals_temperature_correlation": {"city_id": "VARCHAR", "visa_category": "VARCHAR", "months": "INTEGER",
                                         "pearson_r": "DOUBLE"},
}


scan = table_sql


def fingerprint(lake, table: str, where: str = "true") -> tuple:
    """Row count and an order-independent hash of every row: equal tables, equal fingerprints."""
    con = duckdb.connect()
    columns = [r[0] for r in con.sql(f"describe select * from {scan(lake, table)}").fetchall()]
    return con.execute(f"select count(*), sum(hash({', '.join(columns)})::hugeint) from {scan(lake, table)} "
                       f"where {where}").fetchone()


def test_every_table_has_the_contract_columns_and_types(april_lake):
    con = duckdb.connect()
    for table, required in CONTRACT.items():
        found = {r[0]: r[1] for r in con.sql(f"describe select * from {scan(april_lake, table)}").fetchall()}
        wrong = {c: (t, found.get(c)) for c, t in required.items() if found.get(c) != t}
        assert not wrong, f"{table}: expected vs found {wrong}"


def test_nothing_lost_fact_plus_rejects_is_the_raw_month(april_lake):
    con = duckdb.connect()
    fact = con.execute(f"select count(*) from {scan(april_lake, 'fact_immigration')}").fetchone()[0]
    rejects = con.execute(f"select count(*) from {scan(april_lake, 'fact_immigration_rejects')}").fetchone()[0]
    assert fact + rejects == APRIL_ROWS
    dates = con.execute(f"select min(arrival_date), max(arrival_date) from {scan(april_lake, 'fact_immigration')}").fetchone()
    assert str(dates[0]) >= "2016-04-01" and str(dates[1]) <= "2016-04-30"


def test_real_traps_are_flagged_not_dropped(april_lake):
    con = duckdb.connect()
    issues = dict(con.sql(f"""select split_part(i, ':', 1), count(*) from
        (select unnest(data_issues) i from {scan(april_lake, 'fact_immigration')}) group by 1""").fetchall())
    assert issues["departure_before_arrival"] == 375  # DATA_NOTES: 375 in April
    assert issues["invalid_state"] > 0 and issues["departure_out_of_range"] > 0
    students = con.execute(f"select count(*) from {scan(april_lake, 'fact_immigration')} "
                       "where admitted_duration_of_status").fetchone()[0]
    assert students > 40_000  # D/S


def test_big_cbp_ports_map_to_their_cities_not_to_iata_airports(april_lake):
    con = duckdb.connect()
    ports = dict(con.sql(f"select port_code, city_id from {scan(april_lake, 'dim_port')} "
                         "where port_code in ('LOS', 'SFR', 'NYC', 'CHI', 'HHW', 'NEW', 'WAS', 'LAG')").fetchall())
    assert ports == {"LOS": "CA-los-angeles", "SFR": "CA-san-francisco", "NYC": "NY-new-york",
                     "CHI": "IL-chicago", "HHW": "HI-honolulu", "NEW": "NJ-newark", "WAS": "DC-washington",
                     "LAG": "NY-new-york"}


def test_rebuild_gives_identical_tables_and_touches_only_its_month(april_lake, spark):
    """April built again into the same lake: every table identical, a month it does not build
    (a March planted in the rejects for the test, then removed) untouched."""
    from lake_assets.core.storage import Lake
    from lake_assets.tools.build import build

    from lake_assets_tests.conftest import SHARED_DATA

    lake = Lake(spark, str(april_lake))
    rejects = lake.name("fact_immigration_rejects")
    schema = spark.table(rejects).schema
    planted = [{**{f.name: None for f in schema}, "cicid": n, "reject_reason": "missing_cicid", "i94yr": 2016,
                "i94mon": 3} for n in range(3)]
    spark.createDataFrame(planted, schema).writeTo(rejects).append()
    before = {t: fingerprint(april_lake, t) for t in CONTRACT}
    march = fingerprint(april_lake, "fact_immigration_rejects", "i94mon = 3")
    try:
        report = build(str(SHARED_DATA), str(april_lake), "2016-04")
        assert not report.failed_blocking and not report.errors
        assert {t: fingerprint(april_lake, t) for t in before} == before
        assert fingerprint(april_lake, "fact_immigration_rejects", "i94mon = 3") == march
    finally:
        Lake(spark, str(april_lake))
        spark.sql(f"delete from {rejects} where i94mon = 3")
