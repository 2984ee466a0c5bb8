"""The fact table of I94 arrivals and its rejects, for one month (no Dagster here).

Every raw row lands in exactly one of the two. A row is rejected only when it cannot be
placed: no `cicid` (the key), no arrival date, an arrival outside the month, or no valid
visa category. Anything else wrong with a row (unknown codes, impossible departure dates,
ages out of range, junk `dtaddto`) is nulled in its column and named in `data_issues`
with the raw value, so nothing is lost.
"""

from __future__ import annotations

import calendar
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lake_assets.core.sources import I94_COLUMNS
from lake_assets.core.transforms.common import digits_date, sas_date

REJECT_REASONS = ("missing_cicid", "missing_arrival_date", "arrival_outside_month", "invalid_visa_category")
GENDERS = ("F", "M", "U", "X")
DATA_ISSUES = (
    "departure_before_arrival", "departure_out_of_range", "unknown_port", "invalid_state",
    "unknown_citizenship_country", "unknown_residence_country", "unknown_mode", "unknown_visa_type",
    "visa_category_mismatch", "invalid_age", "invalid_gender", "invalid_admitted_until",
)
ISSUE_SEPARATOR = "\x1f"  # never in a raw value
MAX_STAY_DAYS = 3 * 365  # a recorded departure later than this after arrival is not plausible
RAW_RENAMED = ("cicid", "i94yr", "i94mon")  # in the rejects as raw_<name>: the key and the partition columns are typed


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def classify(raw: DataFrame, year: int, month: int) -> DataFrame:
    """The raw rows with `arrival_date` and `reject_reason` (null for rows that land).

    The month's first and last day come from a one-row table joined to every row, not from
    literals: Spark writes literals into the code it generates, so each month would compile
    and warm up its own copy (3-5 s a month on two cores); this way every month shares one.
    """
    first, last = month_bounds(year, month)
    bounds = raw.sparkSession.sql(  # an inline table: no Python worker, and not folded back into literals
        f"select * from values (date'{first}', date'{last}', {year}, {month}) "
        "as bounds(_first_day, _last_day, _i94yr, _i94mon)")
    arrival = sas_date("arrdate")
    reason = (
        F.when(F.col("cicid").isNull(), "missing_cicid")
        .when(arrival.isNull(), "missing_arrival_date")
        .when(~arrival.between(F.col("_first_day"), F.col("_last_day")), "arrival_outside_month")
        .when(~F.coalesce(F.col("i94visa").isin(1.0, 2.0, 3.0), F.lit(False)), "invalid_visa_category")
    )
    return raw.crossJoin(F.broadcast(bounds)).withColumns({"arrival_date": arrival, "reject_reason": reason})


def _code_lookup(df: DataFrame, dim: DataFrame, raw: Column, key: str, name: str, *extra: str) -> DataFrame:
    """Left-join a small dimension on `raw == key`; adds `_{name}` (the key, null if unknown)."""
    d = dim.select(F.col(key).alias(f"_{name}"), *extra)
    return df.join(F.broadcast(d), raw == F.col(f"_{name}"), "left")


def _issue(label: str, bad: Column, value: Column | None = None) -> Column:
    text = F.lit(label) if value is None else F.concat(F.lit(label + ":"), value.cast("string"))
    return F.when(bad, text)


def fact_immigration(raw: DataFrame, year: int, month: int, *dims: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(fact rows, reject rows) of one month's raw extract, mapped through the dimensions
    (ports, states, countries, modes, visas)."""
    return place(classify(raw, year, month), *dims)


def _looked_up(df: DataFrame, ports: DataFrame, states: DataFrame, countries: DataFrame, modes: DataFrame,
               visas: DataFrame) -> DataFrame:
    """The rows with each code looked up in its dimension (`_port`, `_state`, `_cit`, `_res`,
    `_mode`, `_visa`: null when not there)."""
    df = _code_lookup(df, ports, F.col("i94port"), "port_code", "port", "city_id")
    df = _code_lookup(df, states, F.col("i94addr"), "state_code", "state")
    df = _code_lookup(df, countries, F.col("i94cit").cast("int"), "country_code", "cit")
    df = _code_lookup(df, countries, F.col("i94res").cast("int"), "country_code", "res")
    df = _code_lookup(df, modes, F.col("i94mode").cast("int"), "mode_code", "mode")
    return _code_lookup(df, visas, F.col("visatype"), "visa_type", "visa",
                        F.col("visa_category_code").alias("_visa_category"))


def _data_issues(departure: Column, age_ok: Column, admitted_until: Column) -> Column:
    """What was nulled in a row, as `<issue>:<raw value>` strings (an empty array if nothing)."""
    dtaddto = F.col("dtaddto")
    # Joined into one string, then split: array functions that take a lambda (array_compact,
    # filter) are evaluated row by row outside Spark's generated code, 2x slower here.
    issues_text = F.concat_ws(
        ISSUE_SEPARATOR,
        _issue("departure_before_arrival", departure < F.col("arrival_date"), departure),
        _issue("departure_out_of_range", departure > F.date_add("arrival_date", MAX_STAY_DAYS), departure),
        _issue("unknown_port", F.col("i94port").isNotNull() & F.col("_port").isNull(), F.col("i94port")),
        _issue("invalid_state", F.col("i94addr").isNotNull() & F.col("_state").isNull(), F.col("i94addr")),
        _issue("unknown_citizenship_country", F.col("i94cit").isNotNull() & F.col("_cit").isNull(),
               F.col("i94cit").cast("bigint")),
        _issue("unknown_residence_country", F.col("i94res").isNotNull() & F.col("_res").isNull(),
               F.col("i94res").cast("bigint")),
        _issue("unknown_mode", F.col("i94mode").isNotNull() & F.col("_mode").isNull(),
               F.col("i94mode").cast("bigint")),
        _issue("unknown_visa_type", F.col("visatype").isNotNull() & F.col("_visa").isNull(), F.col("visatype")),
        _issue("visa_category_mismatch", F.col("_visa_category") != F.col("i94visa").cast("int")),
        _issue("invalid_age", F.col("i94bir").isNotNull() & ~age_ok, F.col("i94bir")),
        _issue("invalid_gender", F.col("gender").isNotNull() & ~F.col("gender").isin(*GENDERS), F.col("gender")),
        _issue("invalid_admitted_until", dtaddto.isNotNull() & (dtaddto != "D/S") & admitted_until.isNull(), dtaddto),
    )
    return F.when(issues_text == "", F.array().cast("array<string>")).otherwise(F.split(issues_text, ISSUE_SEPARATOR))


def place(
    classified: DataFrame,
    ports: DataFrame,
    states: DataFrame,
    countries: DataFrame,
    modes: DataFrame,
    visas: DataFrame,
) -> tuple[DataFrame, DataFrame]:
    """(fact rows, reject rows) of a month's `classify`-ed raw rows, each with the month's
    partition columns `i94yr`, `i94mon` (the rejects keep the raw values as `raw_i94yr`, `raw_i94mon`)."""
    month = [F.col("_i94yr").alias("i94yr"), F.col("_i94mon").alias("i94mon")]
    rejects = classified.where("reject_reason is not null").select(
        F.col("cicid").cast("bigint").alias("cicid"),
        *[F.col(c).alias(f"raw_{c}") if c in RAW_RENAMED else c for c in I94_COLUMNS],
        "reject_reason",
        *month,
    )
    df = _looked_up(classified.where("reject_reason is null"), ports, states, countries, modes, visas)
    # Parsed once as columns: used several times below, they would be parsed again in each use.
    df = df.withColumns({"_departure": sas_date("depdate"), "_admitted_until": digits_date("dtaddto", "MMddyyyy")})
    departure = F.col("_departure")
    departure_ok = departure.between(F.col("arrival_date"), F.date_add("arrival_date", MAX_STAY_DAYS))
    age = F.col("i94bir").cast("int")
    age_ok = age.between(0, 120)
    dtaddto = F.col("dtaddto")
    admitted_until = F.col("_admitted_until")  # null unless 8 digits of a real date
    issues = _data_issues(departure, age_ok, admitted_until)
    fact = df.select(
        F.col("cicid").cast("bigint").alias("cicid"),
        "arrival_date",
        F.when(departure_ok, departure).alias("departure_date"),
        F.when(departure_ok, F.datediff(departure, F.col("arrival_date"))).alias("stay_days"),
        F.col("_port").alias("port_code"),
        "city_id",
        F.col("_state").alias("address_state_code"),
        F.col("_cit").alias("citizenship_country_code"),
        F.col("_res").alias("residence_country_code"),
        F.col("_mode").alias("mode_code"),
        F.col("i94visa").cast("int").alias("visa_category_code"),
        F.col("_visa").alias("visa_type"),
        F.when(age_ok, age).alias("age"),
        F.when(F.col("gender").isin(*GENDERS), F.col("gender")).alias("gender"),
        F.col("admnum").cast("bigint").alias("admission_number"),
        F.col("biryear").cast("int").alias("birth_year"),
        admitted_until.alias("admitted_until"),
        (dtaddto == "D/S").alias("admitted_duration_of_status"),
        digits_date("dtadfile", "yyyyMMdd").alias("file_date"),
        "airline",
        F.col("fltno").alias("flight_number"),
        F.col("visapost").alias("visa_post"),
        F.col("entdepa").alias("arrival_flag"),
        F.col("entdepd").alias("departure_flag"),
        F.col("matflag").alias("match_flag"),
        issues.alias("data_issues"),
        *month,
    )
    return fact, rejects
