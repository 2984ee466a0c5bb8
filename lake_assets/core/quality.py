"""Quality checks as data, and how they are measured and judged (no Dagster here).

Each table declares its checks (`lake_assets.core.tables`).

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


def in_range(col: str, low, high) -> str:
    """SQL true for a value of `col` outside [low, high]."""
    return f"{col} is not null and not ({col} between {low} and {high})"


def share(measure: str, floor: float) -> Callable[[dict], bool]:
    """A pass rule: `measure` is at least `floor` (or unmeasured)."""
    return lambda m: m[measure] is None or m[measure] >= floor


CITY_COVERAGE_FLOOR = 0.80
TEMPERATURE_COVERAGE_FLOOR = 0.50

def _examples(bad: Column, value: Column) -> Column:
    """The smallest and largest value where `bad`, as one string (observed metrics come back as
    plain values). min/max, not collect_set: those are evaluated in generated code, and a
    collecting aggregate would evaluate its input row by row in the interpreter."""
    example = F.when(bad, value.cast("string"))
    return F.array_join(F.array_distinct(F.array(F.min(example), F.max(example))), "\x1f")


def observed_metrics(spec, params: dict | None = None) -> dict[str, Column]:
    """The aggregates the writing pass of a table (a `lake_assets.core.tables.Table`) computes for
    its checks and metadata."""
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
