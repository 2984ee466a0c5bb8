"""Quality checks of every table, as data (no Dagster here).

A check is measured in the pass that writes its table (Spark `observe`), references to other
tables included (broadcast lookups of the published dimensions' keys in that pass), except key
uniqueness, which must look at the written result as a whole (a group-by of the key columns
read back from the staged folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from string import Template
from typing import Callable

from pyspark.sql import Column
from pyspark.sql import functions as F

from lake_assets.transforms.immigration import DATA_ISSUES, ISSUE_SEPARATOR, REJECT_REASONS


@dataclass(frozen=True)
class Check:
    """One rule on one table.

    `bad_rows`: SQL true for an offending row (passes when none). `measures`: SQL aggregates
    judged by `passes(metrics)`. `references`: column -> (table, column) that must resolve.
    """

    name: str
    description: str
    blocking: bool = True
    bad_rows: str | None = None
    measures: dict[str, str] = field(default_factory=dict)
    passes: Callable[[dict], bool] | None = None
    references: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    """A table's key (unique, not null; none for rejects), its checks, and the aggregates
    reported in its materialization metadata. SQL may use $first_day/$last_day of a partition."""

    keys: tuple[str, ...]
    checks: tuple[Check, ...]
    reported: dict[str, str] = field(default_factory=dict)

    @property
    def example(self) -> str:
        if not self.keys:
            return "coalesce(cast(cicid as string), 'cicid null')"
        return self.keys[0] if len(self.keys) == 1 else f"concat_ws('/', {', '.join(self.keys)})"

    def all_checks(self) -> tuple[Check, ...]:
        if not self.keys:
            return self.checks
        key = Check(
            "key_unique_not_null", f"({', '.join(self.keys)}) is unique and never null",
            bad_rows=" or ".join(f"{k} is null" for k in self.keys))
        return (key, *self.checks)


def in_range(col: str, low, high) -> str:
    return f"{col} is not null and not ({col} between {low} and {high})"


def share(measure: str, floor: float) -> Callable[[dict], bool]:
    return lambda m: m[measure] is None or m[measure] >= floor


CITY_COVERAGE_FLOOR = 0.80
TEMPERATURE_COVERAGE_FLOOR = 0.50

TABLES: dict[str, TableSpec] = {
    "dim_country": TableSpec(("country_code",), (
        Check("name_present", "every country code has a name", bad_rows="country_name is null"),
    )),
    "dim_state": TableSpec(("state_code",), (
        Check("two_letter_codes", "state codes are two capital letters", bad_rows="not state_code rlike '^[A-Z]{2}$'"),
    )),
    "dim_visa": TableSpec(("visa_type",), (
        Check("category_domain", "visa categories are Business (1), Pleasure (2) or Student (3)",
              bad_rows="not (visa_category_code in (1, 2, 3) and visa_category in ('Business', 'Pleasure', 'Student'))"),
    )),
    "dim_travel_mode": TableSpec(("mode_code",), ()),
    "dim_city": TableSpec(("city_id",), (
        Check("coordinates_in_us", "latitude/longitude lie in the US and its territories (catches lon/lat swaps)",
              bad_rows="latitude is not null and not (latitude between 13 and 72 and "
                       "(longitude between -180 and -64 or longitude between 144 and 146))"),
        Check("population_consistent", "foreign-born ≤ total population ≥ 0", blocking=False,
              bad_rows="total_population < 0 or foreign_born > total_population"),
        Check("coverage", "share of cities with coordinates and with demographics (reported)", blocking=False,
              measures={"with_coordinates": "avg(cast(latitude is not null as int))",
                        "with_demographics": "avg(cast(total_population is not null as int))"},
              passes=lambda m: True),
    )),
    "dim_port": TableSpec(("port_code",), (
        Check("city_resolves", "every city_id is in dim_city", references={"city_id": ("dim_city", "city_id")}),
        Check("us_port_coverage", f"share of US ports with a city ≥ {CITY_COVERAGE_FLOOR:.0%}", blocking=False,
              measures={"us_ports_with_city": "avg(case when is_us then cast(city_id is not null as int) end)"},
              passes=share("us_ports_with_city", CITY_COVERAGE_FLOOR)),
    )),
    "dim_temperature": TableSpec(("city_id", "month"), (
        Check("month_domain", "month is 1–12", bad_rows="not month between 1 and 12"),
        Check("temperature_domain", "avg_temperature_c within −60..60 °C", bad_rows=in_range("avg_temperature_c", -60, 60)),
        Check("years_positive", "each climatology averages at least one year", bad_rows="years < 1"),
        Check("city_resolves", "every city_id is in dim_city", references={"city_id": ("dim_city", "city_id")}),
    )),
    "fact_immigration": TableSpec(("cicid",), (
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
    ), reported={f"rows_with_issue.{i}": f"sum(cast(size(data_issues) > 0 and instr(concat('{ISSUE_SEPARATOR}', "
                                         f"array_join(data_issues, '{ISSUE_SEPARATOR}')), '{ISSUE_SEPARATOR}{i}') > 0 "
                                         "as int))"  # no lambda: see fact_immigration
                 for i in DATA_ISSUES}),
    "fact_immigration_rejects": TableSpec((), (
        Check("reason_domain", "every reject has a known reason",
              bad_rows="reject_reason is null or reject_reason not in ("
                       + ", ".join(f"'{r}'" for r in REJECT_REASONS) + ")"),
    ), reported={f"rejects.{r}": f"sum(cast(reject_reason = '{r}' as int))" for r in REJECT_REASONS}),
    "metro_arrivals_monthly": TableSpec(("i94yr", "i94mon", "city_id", "visa_type"), (
        Check("arrivals_positive", "every group has arrivals", bad_rows="arrivals <= 0"),
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
    )),
    "tourism_by_season": TableSpec(("season", "visa_type", "city_id"), (
        Check("season_domain", "season is winter, spring, summer or autumn",
              bad_rows="season not in ('winter', 'spring', 'summer', 'autumn')"),
        Check("arrivals_positive", "every group has arrivals", bad_rows="arrivals <= 0"),
    )),
    "arrivals_temperature_correlation": TableSpec(("city_id", "visa_category"), (
        Check("r_domain", "pearson_r within −1..1, and only where ≥ 3 months have a temperature",
              bad_rows="pearson_r is not null and (abs(pearson_r) > 1.000001 or months < 3)"),
    )),
}


def _examples(bad: Column, value: Column) -> Column:
    """The smallest and largest value where `bad`, as one string (observed metrics come back as
    plain values). min/max, not collect_set: those are evaluated in generated code, and a
    collecting aggregate would evaluate its input row by row in the interpreter."""
    example = F.when(bad, value.cast("string"))
    return F.array_join(F.array_distinct(F.array(F.min(example), F.max(example))), "\x1f")


def observed_metrics(spec: TableSpec, params: dict | None = None) -> dict[str, Column]:
    """The aggregates the writing pass of a table computes for its checks and metadata."""
    out = {name: F.expr(sql) for name, sql in spec.reported.items()}
    for check in spec.all_checks():
        if check.bad_rows:
            bad = F.expr(Template(f"coalesce({check.bad_rows}, false)").safe_substitute(params or {}))
            out[f"{check.name}.bad_rows"] = F.sum(bad.cast("long"))
            out[f"{check.name}.examples"] = _examples(bad, F.expr(spec.example))
        for measure, sql in check.measures.items():
            out[measure] = F.expr(sql)
    return out


def _sql_literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def reference_metrics(references: dict[str, list]) -> dict[str, Column]:
    """Per column, the aggregates that count its non-null values missing from the keys it
    references (collected from a small dimension) and give a few. A membership test, not a
    join: observed in the writing pass at almost no cost, so the table is not scanned again."""
    aggs = {}
    for column, keys in references.items():
        # As SQL text: isin() would make one Py4J call per key (1 s for the fact's 2,600 keys).
        listed = f"{column} in ({', '.join(map(_sql_literal, keys))})" if keys else "false"
        bad = F.col(column).isNotNull() & ~F.expr(listed)
        aggs[f"dangling.{column}"] = F.sum(bad.cast("long"))
        aggs[f"dangling.{column}.examples"] = _examples(bad, F.col(column))
    return aggs


def dangling(observed: dict, columns) -> dict[str, tuple[int, list]]:
    """Per column, (rows whose value is not in its dimension, a few such values), from the
    metrics observed with `reference_metrics`."""
    return {f"dangling.{c}": (int(observed[f"dangling.{c}"] or 0),
                              [e for e in (observed[f"dangling.{c}.examples"] or "").split("\x1f") if e])
            for c in columns}


def verdict(check: Check, metrics: dict) -> tuple[bool, dict]:
    """Judge a check on its table's metrics; give what it found, for the check's metadata."""
    found: dict = {}
    passed = True
    if check.bad_rows:
        found["offending_rows"] = int(metrics[f"{check.name}.bad_rows"] or 0)
        found["examples"] = [e for e in (metrics[f"{check.name}.examples"] or "").split("\x1f") if e]
        found["rule"] = f"no row where {check.bad_rows}"
        passed = found["offending_rows"] == 0
    if check.name == "key_unique_not_null":
        found["duplicate_keys"] = metrics["duplicate_keys"]
        found["duplicate_examples"] = metrics["duplicate_examples"]
        passed = passed and metrics["duplicate_keys"] == 0
    for column in check.references:
        found[f"{column}_dangling"], found[f"{column}_examples"] = metrics[f"dangling.{column}"]
        passed = passed and found[f"{column}_dangling"] == 0
    for measure in check.measures:
        found[measure] = metrics[measure]
    if check.passes:
        passed = passed and bool(check.passes(metrics))
    return passed, found
