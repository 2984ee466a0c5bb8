"""The fact, its rejects and the analytics on tiny hand-made rows that carry the I94 traps."""

from datetime import date

import numpy as np
import pytest

from lake_assets.core.sources import I94_COLUMNS, parse_labels
from lake_assets.core.transforms import analytics as a
from lake_assets.core.transforms import dimensions as d
from lake_assets.core.transforms.immigration import DATA_ISSUES, REJECT_REASONS, fact_immigration
from lake_assets_tests.support.tiny_inputs import APR_1, APR_30, I94_SCHEMA, MAR_31, MAY_1, i94_rows, write_labels


def sas_day(day: date) -> float:
    return float((day - date(1960, 1, 1)).days)


ARRIVAL = date(2016, 4, 6)  # arrdate 20550 of VALID_ROW

# cicid -> the raw values that differ from a valid April row (tiny_inputs.VALID_ROW)
ROWS = {
    1: {},
    2: {"arrdate": float(APR_1), "depdate": None, "dtaddto": "D/S", "gender": None, "i94addr": None},
    3: {"arrdate": float(APR_30), "depdate": sas_day(date(2016, 4, 20))},  # departure before arrival
    4: {"depdate": sas_day(date(1920, 1, 1))},  # absurd, before arrival
    5: {"depdate": sas_day(date(2092, 1, 1))},  # absurd, decades later
    6: {"i94addr": "XX", "i94cit": 999.0, "i94res": 123.0},  # invalid state; INVALID country; unknown code
    7: {"i94addr": "99", "i94port": "SFR", "i94mode": 0.0},  # 'all other codes'; CBP port; mode 0
    8: {"i94port": "ZZZ", "i94mode": None, "i94bir": -1.0, "gender": "Q"},
    9: {"i94port": "TOR", "i94bir": 130.0, "dtaddto": "13452016"},  # foreign port; month 13
    10: {"visatype": "ZZ", "dtaddto": "ABCDEFGH"},
    11: {"visatype": "B2", "i94visa": 1.0},  # the category of B2 is Pleasure
    12: {"visatype": "F1", "i94visa": 3.0, "dtaddto": "D/S", "i94port": "NYC"},
    # rejects
    13: {"arrdate": float(MAR_31)},
    14: {"arrdate": float(MAY_1), "i94visa": None},  # both wrong: the arrival comes first
    15: {"arrdate": None},
    16: {"i94visa": None},
    17: {"i94visa": 4.0},
    None: {"cicid": None, "arrdate": None},
}


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    return parse_labels(write_labels(tmp_path_factory.mktemp("labels") / "I94_SAS_Labels_Descriptions.SAS"))


@pytest.fixture(scope="module")
def april(spark, labels):
    """(raw, fact rows by cicid, reject rows) of the tiny April."""
    rows = i94_rows(*({"cicid": None if c is None else float(c), **o} for c, o in ROWS.items()))
    raw = spark.createDataFrame(rows, I94_SCHEMA)
    ports = spark.createDataFrame(
        [("LOS", "CA-los-angeles"), ("SFR", "CA-san-francisco"), ("NYC", "NY-new-york"), ("TOR", None)],
        "port_code STRING, city_id STRING")
    fact, rejects = fact_immigration(
        raw, 2016, 4, ports, d.dim_state(spark, labels), d.dim_country(spark, labels),
        d.dim_travel_mode(spark, labels), d.dim_visa(spark, labels))
    return raw, {r.cicid: r for r in fact.collect()}, rejects.collect()


def test_nothing_lost_and_only_unplaceable_rows_rejected(april):
    raw, fact, rejects = april
    assert len(fact) + len(rejects) == raw.count() == len(ROWS)
    assert set(fact) == set(range(1, 13))
    assert {r.raw_cicid: r.reject_reason for r in rejects} == {
        13.0: "arrival_outside_month", 14.0: "arrival_outside_month", 15.0: "missing_arrival_date",
        16.0: "invalid_visa_category", 17.0: "invalid_visa_category", None: "missing_cicid"}
    assert {r.reject_reason for r in rejects} <= set(REJECT_REASONS)


def test_rejects_keep_the_raw_values(april):
    _, _, rejects = april
    raw = [f"raw_{c}" if c in ("cicid", "i94yr", "i94mon") else c for c in I94_COLUMNS]
    assert rejects[0].__fields__ == ["cicid", *raw, "reject_reason", "i94yr", "i94mon"]
    assert {(r.i94yr, r.i94mon) for r in rejects} == {(2016, 4)}  # the extract's month, the partition
    r = next(r for r in rejects if r.cicid == 13)
    assert (r.arrdate, r.i94port, r.visatype, r.admnum, r.dtaddto) == (MAR_31, "LOS", "B2", 56582674633.0, "07052016")


def test_valid_row_in_contract_types(april):
    r = april[1][1]
    assert (r.cicid, r.arrival_date, r.departure_date, r.stay_days) == (1, ARRIVAL, date(2016, 4, 16), 10)
    assert (r.port_code, r.city_id, r.address_state_code) == ("LOS", "CA-los-angeles", "CA")
    assert (r.citizenship_country_code, r.residence_country_code, r.mode_code) == (111, 135, 1)
    assert (r.visa_category_code, r.visa_type, r.age, r.gender) == (2, "B2", 40, "F")
    assert r.admission_number == 56582674633  # 11 digits: bigint
    assert (r.birth_year, r.admitted_until, r.admitted_duration_of_status) == (1976, date(2016, 7, 5), False)
    assert (r.file_date, r.airline, r.flight_number) == (date(2016, 4, 6), "AF", "00066")
    assert r.data_issues == []
    assert april[1][2].arrival_date == date(2016, 4, 1)  # the month's first and last day belong to it
    assert april[1][3].arrival_date == date(2016, 4, 30)


def test_bad_departure_dates_nulled_and_flagged(april):
    fact = april[1]
    assert (fact[2].departure_date, fact[2].stay_days, fact[2].data_issues) == (None, None, [])  # not departed
    for cicid, issue in [(3, "departure_before_arrival:2016-04-20"), (4, "departure_before_arrival:1920-01-01"),
                         (5, "departure_out_of_range:2092-01-01")]:
        r = fact[cicid]
        assert (r.departure_date, r.stay_days, r.data_issues) == (None, None, [issue])


def test_duration_of_status_and_junk_admitted_until(april):
    fact = april[1]
    for cicid in (2, 12):  # 'D/S': no date, not an issue
        assert (fact[cicid].admitted_until, fact[cicid].admitted_duration_of_status) == (None, True)
        assert not any(i.startswith("invalid_admitted_until") for i in fact[cicid].data_issues)
    assert (fact[9].admitted_until, fact[9].admitted_duration_of_status) == (None, False)
    assert "invalid_admitted_until:13452016" in fact[9].data_issues
    assert "invalid_admitted_until:ABCDEFGH" in fact[10].data_issues


def test_invalid_codes_flagged_never_dropped(april):
    fact = april[1]
    r = fact[6]
    assert (r.address_state_code, r.citizenship_country_code, r.residence_country_code) == (None, 999, None)
    assert r.data_issues == ["invalid_state:XX", "unknown_residence_country:123"]  # 999 is a listed code
    r = fact[7]
    assert (r.address_state_code, r.mode_code, r.port_code, r.city_id) == (None, None, "SFR", "CA-san-francisco")
    assert r.data_issues == ["invalid_state:99", "unknown_mode:0"]
    r = fact[8]
    assert (r.port_code, r.city_id, r.mode_code, r.age, r.gender) == (None, None, None, None, None)
    assert r.data_issues == ["unknown_port:ZZZ", "invalid_age:-1.0", "invalid_gender:Q"]
    r = fact[9]
    assert (r.port_code, r.city_id, r.age) == ("TOR", None, None)  # a foreign port has no city
    assert r.data_issues == ["invalid_age:130.0", "invalid_admitted_until:13452016"]
    assert (fact[10].visa_type, fact[10].visa_category_code) == (None, 2)
    assert fact[10].data_issues[0] == "unknown_visa_type:ZZ"
    assert (fact[11].visa_type, fact[11].visa_category_code, fact[11].data_issues) == (
        "B2", 1, ["visa_category_mismatch"])
    assert (fact[12].visa_type, fact[12].city_id, fact[12].data_issues) == ("F1", "NY-new-york", [])
    assert (fact[2].address_state_code, fact[2].gender) == (None, None)  # nulls are not issues
    issues = {i.split(":")[0] for r in fact.values() for i in r.data_issues}
    assert issues <= set(DATA_ISSUES)


def test_other_month_bounds(spark, labels):
    """A row is placed by its month's own bounds (January: 20454..20484)."""
    raw = spark.createDataFrame(i94_rows({"arrdate": 20454.0, "i94mon": 1.0}, {"cicid": 8.0, "arrdate": 20485.0},
                                         {"cicid": 9.0, "arrdate": 20453.0}), I94_SCHEMA)
    empty = spark.createDataFrame([], "port_code STRING, city_id STRING")
    fact, rejects = fact_immigration(raw, 2016, 1, empty, d.dim_state(spark, labels), d.dim_country(spark, labels),
                                     d.dim_travel_mode(spark, labels), d.dim_visa(spark, labels))
    assert [(r.cicid, r.arrival_date) for r in fact.collect()] == [(7, date(2016, 1, 1))]
    assert sorted((r.cicid, r.reject_reason) for r in rejects.collect()) == [
        (8, "arrival_outside_month"), (9, "arrival_outside_month")]


# ---------------------------------------------------------------- analytics


@pytest.fixture(scope="module")
def metro(spark, labels):
    arrivals = {  # (month, city, visa type) -> rows in the fact
        (1, "NY-new-york", "WT"): 3, (1, "NY-new-york", "B2"): 1, (4, "NY-new-york", "WT"): 5,
        (7, "NY-new-york", "WT"): 7, (7, "NY-new-york", "F1"): 2, (12, "NY-new-york", "WT"): 1,
        (4, "HI-honolulu", "WT"): 2, (4, None, "WT"): 4, (4, "NY-new-york", None): 4,
    }
    fact = spark.createDataFrame([(2016, m, c, v) for (m, c, v), n in arrivals.items() for _ in range(n)],
                                 "i94yr INT, i94mon INT, city_id STRING, visa_type STRING")
    cities = spark.createDataFrame([("NY-new-york", "New York", "NY", 8_000_000, 3_200_000),
                                    ("HI-honolulu", "Honolulu", "HI", None, None)],
                                   "city_id STRING, city STRING, state_code STRING, total_population BIGINT, "
                                   "foreign_born BIGINT")
    temperature = spark.createDataFrame([("NY-new-york", 1, 0.0), ("NY-new-york", 4, 10.0), ("NY-new-york", 7, 25.0)],
                                        "city_id STRING, month INT, avg_temperature_c DOUBLE")
    metro = a.metro_arrivals_monthly(fact, cities, d.dim_visa(spark, labels), temperature).cache()
    yield metro
    metro.unpersist()


def test_metro_arrivals_monthly(metro):
    rows = {(r.i94mon, r.city_id, r.visa_type): r for r in metro.collect()}
    assert {k: r.arrivals for k, r in rows.items()} == {
        (1, "NY-new-york", "B2"): 1, (1, "NY-new-york", "WT"): 3, (4, "HI-honolulu", "WT"): 2,
        (4, "NY-new-york", "WT"): 5, (7, "NY-new-york", "F1"): 2, (7, "NY-new-york", "WT"): 7,
        (12, "NY-new-york", "WT"): 1}  # rows without a city or a visa type are not counted
    r = rows[(1, "NY-new-york", "WT")]
    assert (r.visa_category, r.avg_temperature_c, r.season, r.city, r.state_code) == (
        "Pleasure", 0.0, "winter", "New York", "NY")
    assert r.arrivals_per_100k == pytest.approx(3 * 100_000 / 8_000_000) and r.foreign_born_share == 0.4
    student = rows[(7, "NY-new-york", "F1")]
    assert (student.visa_category, student.season) == ("Student", "summer")
    hi = rows[(4, "HI-honolulu", "WT")]
    assert (hi.avg_temperature_c, hi.arrivals_per_100k, hi.season) == (None, None, "spring")
    december = rows[(12, "NY-new-york", "WT")]
    assert (december.season, december.avg_temperature_c) == ("winter", None)


def test_tourism_by_season(metro):
    rows = {(r.season, r.visa_type, r.city_id): r for r in a.tourism_by_season(metro).collect()}
    winter = rows[("winter", "WT", "NY-new-york")]  # January and December
    assert (winter.arrivals, winter.months, winter.avg_temperature_c, winter.visa_category) == (4, 2, 0.0, "Pleasure")
    assert rows[("summer", "WT", "NY-new-york")].arrivals == 7
    assert rows[("spring", "WT", "HI-honolulu")].avg_temperature_c is None
    assert len(rows) == 6


def test_arrivals_temperature_correlation(metro):
    rows = {(r.city_id, r.visa_category): r for r in a.arrivals_temperature_correlation(metro).collect()}
    ny = rows[("NY-new-york", "Pleasure")]
    expected = np.corrcoef([1 + 3, 5, 7], [0.0, 10.0, 25.0])[0, 1]  # December has no temperature
    assert (ny.months, ny.arrivals) == (3, 17) and ny.pearson_r == pytest.approx(expected)
    assert (rows[("NY-new-york", "Student")].months, rows[("NY-new-york", "Student")].pearson_r) == (1, None)
    assert (rows[("HI-honolulu", "Pleasure")].months, rows[("HI-honolulu", "Pleasure")].pearson_r) == (0, None)
