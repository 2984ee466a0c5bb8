"""The monthly fact table of I94 arrivals and its rejects, built together: each month's outputs,
written with the other months of its range in one pass (`builds.stage_check_publish_months`)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from pyspark.sql import Observation
from pyspark.sql import functions as F

from lake_assets.core.quality import CITY_COVERAGE_FLOOR, Check, in_range, share
from lake_assets.core.sources import read_i94_month, scan_i94_months
from lake_assets.core.tables.raw import I94 as RAW_I94
from lake_assets.core.tables.table import Build, Column, Inputs, BuildError, Table, TableOutput, columns_of, partition_params
from lake_assets.core.transforms.immigration import (
    DATA_ISSUES, ISSUE_SEPARATOR, RAW_RENAMED, REJECT_REASONS, classify, month_bounds, place,
)

_raw = partial(columns_of, "raw_i94")


def _as_read(column: Column) -> Column:
    """A raw column in the rejects, as read: the key and the partition columns as raw_<name>."""
    if column.name in RAW_RENAMED:
        return replace(column, name=f"raw_{column.name}", description=f"{column.name} as read: {column.description}",
                       sources=_raw(column.name))
    return column.of(*_raw(column.name))


DIMENSIONS = ("dim_port", "dim_city", "dim_state", "dim_country", "dim_travel_mode", "dim_visa")

fact_immigration = Table(
    "fact_immigration", "One row per I94 arrival, partitioned by i94yr/i94mon",
    reads=("raw_i94", *DIMENSIONS),
    columns=(
        Column("cicid", "BIGINT", "record id, unique within its month", sources=_raw("cicid")),
        Column("arrival_date", "DATE", "date of arrival, inside the partition's month", sources=_raw("arrdate")),
        Column("departure_date", "DATE", "date of departure; null if none or implausible",
               sources=_raw("depdate", "arrdate")),
        Column("stay_days", "INT", "days from arrival to departure", sources=_raw("depdate", "arrdate")),
        Column("port_code", "STRING", "port of entry (dim_port)", sources=(*_raw("i94port"), ("dim_port", "port_code"))),
        Column("city_id", "STRING", "city of the port of entry (dim_city)",
               sources=(*_raw("i94port"), ("dim_port", "city_id"))),
        Column("address_state_code", "STRING", "US state of the address (dim_state)",
               sources=(*_raw("i94addr"), ("dim_state", "state_code"))),
        Column("citizenship_country_code", "INT", "country of citizenship (dim_country)",
               sources=(*_raw("i94cit"), ("dim_country", "country_code"))),
        Column("residence_country_code", "INT", "country of residence (dim_country)",
               sources=(*_raw("i94res"), ("dim_country", "country_code"))),
        Column("mode_code", "INT", "mode of arrival (dim_travel_mode)",
               sources=(*_raw("i94mode"), ("dim_travel_mode", "mode_code"))),
        Column("visa_category_code", "INT", "1 Business, 2 Pleasure, 3 Student", sources=_raw("i94visa")),
        Column("visa_type", "STRING", "visa type (dim_visa)", sources=(*_raw("visatype"), ("dim_visa", "visa_type"))),
        Column("age", "INT", "age in years, 0-120", sources=_raw("i94bir")),
        Column("gender", "STRING", "F, M, U or X", sources=_raw("gender")),
        Column("admission_number", "BIGINT", "I94 admission number (11 digits)", personal=True, sources=_raw("admnum")),
        Column("birth_year", "INT", "year of birth", personal=True, sources=_raw("biryear")),
        Column("admitted_until", "DATE", "admitted until (dtaddto); null for D/S and junk", sources=_raw("dtaddto")),
        Column("admitted_duration_of_status", "BOOLEAN", "admitted for the duration of status (dtaddto D/S)",
               sources=_raw("dtaddto")),
        Column("file_date", "DATE", "date the record was filed", sources=_raw("dtadfile")),
        Column("airline", "STRING", "airline of arrival", sources=_raw("airline")),
        Column("flight_number", "STRING", "flight number of arrival", personal=True, sources=_raw("fltno")),
        Column("visa_post", "STRING", "State Department office that issued the visa", sources=_raw("visapost")),
        Column("arrival_flag", "STRING", "arrival flag (entdepa)", sources=_raw("entdepa")),
        Column("departure_flag", "STRING", "departure flag (entdepd)", sources=_raw("entdepd")),
        Column("match_flag", "STRING", "match flag of arrival and departure records (matflag)", sources=_raw("matflag")),
        Column("data_issues", "ARRAY<STRING>", "what was nulled in this row and its raw value, e.g. invalid_state:XX",
               sources=_raw("depdate", "i94port", "i94addr", "i94cit", "i94res", "i94mode", "visatype", "i94visa",
                            "i94bir", "gender", "dtaddto")),
        Column("i94yr", "INT", "year of arrival (partition)", sources=_raw("i94yr")),
        Column("i94mon", "INT", "month of arrival (partition)", sources=_raw("i94mon")),
    ),
    keys=("cicid",),
    checks=(
        Check("arrival_in_partition", "arrival_date lies inside the partition's month",
              bad_rows="arrival_date is null or arrival_date < date'$first_day' or arrival_date > date'$last_day'"),
        Check("domains", "visa category 1–3, age 0–120, gender F/M/U/X, stay ≥ 0",
              bad_rows="visa_category_code not in (1, 2, 3) or " + in_range("age", 0, 120)
                       + " or gender not in ('F', 'M', 'U', 'X') or stay_days < 0"),
        Check("foreign_keys_resolve", "every code is in its dimension or null", references={
            "port_code": ("dim_port", "port_code"), "city_id": ("dim_city", "city_id"),
            "address_state_code": ("dim_state", "state_code"),
            "citizenship_country_code": ("dim_country", "country_code"),
            "residence_country_code": ("dim_country", "country_code"),
            "mode_code": ("dim_travel_mode", "mode_code"), "visa_type": ("dim_visa", "visa_type")}),
        Check("reconciles_with_raw", "raw rows = fact rows + reject rows",
              passes=lambda m: m["raw_rows"] == m["rows"] + m["reject_rows"]),
        Check("city_coverage", f"share of arrivals with a city ≥ {CITY_COVERAGE_FLOOR:.0%}", blocking=False,
              measures={"share_with_city": "avg(cast(city_id is not null as int))"},
              passes=share("share_with_city", CITY_COVERAGE_FLOOR)),
    ),
    # No lambda in these aggregates: Spark would evaluate it row by row in the interpreter.
    reported={f"rows_with_issue.{i}": f"sum(cast(size(data_issues) > 0 and instr(concat('{ISSUE_SEPARATOR}', "
                                      f"array_join(data_issues, '{ISSUE_SEPARATOR}')), '{ISSUE_SEPARATOR}{i}') > 0 "
                                      "as int))"
              for i in DATA_ISSUES},
)
fact_immigration_rejects = Table(
    "fact_immigration_rejects", "Raw I94 rows that cannot be placed in the fact, with their reason",
    reads=("raw_i94",),
    columns=(
        Column("cicid", "BIGINT", "record id, null when missing", sources=_raw("cicid")),
        *map(_as_read, RAW_I94),
        Column("reject_reason", "STRING", "missing_cicid, missing_arrival_date, arrival_outside_month or "
                                          "invalid_visa_category", sources=_raw("cicid", "arrdate", "i94visa")),
        Column("i94yr", "INT", "year of the extract (partition)", sources=_raw("i94yr")),
        Column("i94mon", "INT", "month of the extract (partition)", sources=_raw("i94mon")),
    ),
    checks=(Check("reason_domain", "every reject has a known reason",
                  bad_rows="reject_reason is null or reject_reason not in ("
                           + ", ".join(f"'{r}'" for r in REJECT_REASONS) + ")"),),
    reported={f"rejects.{r}": f"sum(cast(reject_reason = '{r}' as int))" for r in REJECT_REASONS},
)


def _extract(inputs: Inputs, key: str):
    """The raw extract of month `key` ('YYYY-MM'), or a BuildError saying what is there instead."""
    extracts, problems = scan_i94_months(inputs.raw_dir)  # another month's unreadable entry is not ours
    if any(key in str(problem) for problem in problems):
        raise BuildError(next(str(problem) for problem in problems if key in str(problem)))
    if key not in extracts:
        unplaced = f"; entries whose month cannot be told: {'; '.join(map(str, problems))}" if problems else ""
        raise BuildError(f"no I94 extract for {key} in {inputs.raw_dir}/i94 "
                        f"(found: {', '.join(sorted(extracts)) or 'none'}){unplaced}")
    return extracts[key]


def _immigration(inputs: Inputs, key: str) -> list[TableOutput]:
    """One month ('YYYY-MM' or a partition key 'YYYY-MM-01'): every raw row lands in the fact
    or in the rejects, counts reconciled."""
    key = key[:7]
    year, month = int(key[:4]), int(key[5:7])
    extract = _extract(inputs, key)
    inputs.log(f"reading {extract.path} ({extract.format})")
    raw = read_i94_month(inputs.spark, extract, inputs.cache_dir)
    dims = [inputs.read(name) for name in ("dim_port", "dim_state", "dim_country", "dim_travel_mode", "dim_visa")]
    # Raw rows and rows to reject are counted in the fact's pass; when there are none to
    # reject (the usual case), the rejects partition is written empty without reading the
    # raw month again.
    counted = Observation()
    classified = classify(raw, year, month)
    fact, _ = place(classified.observe(counted, F.count(F.lit(1)).alias("raw"),
                                       F.count("reject_reason").alias("rejects")), *dims)
    _, rejects = place(classified, *dims)
    partition = {"i94yr": year, "i94mon": month}
    reconcile = lambda rows: {"raw_rows": counted.get["raw"], "reject_rows": rows["fact_immigration_rejects"]}  # noqa: E731
    return [
        TableOutput("fact_immigration", fact, partition, partition_params(*month_bounds(year, month)), reconcile),
        TableOutput("fact_immigration_rejects", lambda: rejects if counted.get["rejects"] else rejects.limit(0),
                    partition),
    ]


BUILDS = (
    Build("immigration", "immigration", (fact_immigration, fact_immigration_rejects), _immigration,
          monthly=True),
)
