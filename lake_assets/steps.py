"""What each asset computes, as plain functions: read, transform, stage, check, publish.

No Dagster here: the same steps run inside the Dagster process (`LAKE_ENV=local`) and in
`spark_job.py` on a cluster, which reports the outcome back through Dagster Pipes. An
outcome is plain data (metadata in the Pipes `{"type", "raw_value"}` form), turned into
Dagster events by `assets.publishing` or sent as Pipes messages by `spark_job`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterator

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from lake_assets.quality import TABLES, dangling, observed_metrics, reference_metrics, verdict
from lake_assets.sources import (
    AIRPORTS_GLOB, DEMOGRAPHICS_FILE, LABELS_FILE, find_file, find_temperature_files, parse_labels, read_airports,
    read_demographics, read_i94_month, read_temperatures, scan_i94_months,
)
from lake_assets.storage import Lake, PublishConflict, Staged
from lake_assets.transforms import analytics as ta
from lake_assets.transforms import dimensions as td
from lake_assets.transforms.immigration import classify, month_bounds, place


@dataclass
class Inputs:
    """Where a step reads and writes, and how it logs."""

    spark: SparkSession
    lake: Lake
    raw_dir: str
    cache_dir: str
    log: Callable[[str], None] = print


@dataclass
class TableOutput:
    """A DataFrame to publish as `table` (or one partition of it)."""

    table: str
    df: DataFrame | Callable[[], DataFrame]  # a callable is called when the outputs before it are staged
    partition: dict | None = None
    params: dict | None = None  # values for $first_day/$last_day in the table's check SQL
    # Measured elsewhere in the same pass (e.g. raw rows): called once every output of the
    # step is staged, with the rows staged per table.
    extra_metrics: Callable[[dict[str, int]], dict] | None = None


@dataclass
class CheckOutcome:
    table: str
    name: str
    passed: bool
    blocking: bool
    description: str
    metadata: dict


@dataclass
class TableOutcome:
    """A table's checks and, if it was published, its materialization metadata."""

    table: str
    checks: list[CheckOutcome]
    metadata: dict | None = None  # None: not published

    @property
    def failed_blocking(self) -> list[str]:
        """One line per failed blocking check: what it found (counts, examples, rule) and where
        the rejected version is kept."""
        return [f"{self.table}.{c.name}: " + "; ".join(f"{k.replace('_', ' ')}: {_text(v)}"
                                                       for k, v in _plain(c.metadata).items())
                for c in self.checks if c.blocking and not c.passed]


class StepError(Exception):
    """A step cannot run (missing input): the message says what to do."""


# ---------------------------------------------------------------- metadata values


def typed(value, kind: str | None = None) -> dict:
    """A metadata value in the Pipes form; `kind` is inferred unless given (md, path)."""
    if kind is None:
        if isinstance(value, bool):
            kind = "bool"
        elif isinstance(value, int):
            kind = "int"
        elif isinstance(value, float):
            kind, value = "float", round(value, 6)
        elif isinstance(value, (list, tuple, dict)):
            kind, value = "json", list(value) if isinstance(value, tuple) else value
        elif value is None:
            kind = "null"
        else:
            kind, value = "text", str(value)
    return {"type": kind, "raw_value": value}


def _plain(metadata: dict) -> dict:
    return {k: v["raw_value"] for k, v in metadata.items()}


def _text(value) -> str:
    return (", ".join(map(str, value)) or "none") if isinstance(value, (list, tuple)) else str(value)


def _markdown(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- stage, check, publish


def partition_params(first: date, last: date) -> dict:
    return {"first_day": first.isoformat(), "last_day": last.isoformat()}


def _where(out: TableOutput) -> str:
    return f" [{', '.join(f'{k}={v}' for k, v in out.partition.items())}]" if out.partition else ""


def _month(partition: dict | None) -> str | None:
    return f"{partition['i94yr']}-{partition['i94mon']:02d}" if partition else None


def _measure(lake: Lake, out: TableOutput) -> tuple[Staged, dict]:
    """Stage a table; return it and its metrics."""
    spec = TABLES[out.table]
    references = {col: ref for check in spec.all_checks() for col, ref in check.references.items()}
    keys = {ref: lake.distinct_values(*ref) for ref in set(references.values())}
    staged = lake.stage(out.table, out.df() if callable(out.df) else out.df,
                        {**observed_metrics(spec, out.params),
                         **reference_metrics({col: keys[ref] for col, ref in references.items()})},
                        out.partition, _month(out.partition))
    metrics = {**staged.metrics, **dangling(staged.metrics, references)}
    if spec.keys:
        metrics["duplicate_keys"], metrics["duplicate_examples"] = lake.duplicate_keys(staged, list(spec.keys))
    return staged, metrics


def stage_check_publish(lake: Lake, outputs: list[TableOutput], log: Callable[[str], None] = print) -> list[TableOutcome]:
    """Write every output as an unpublished snapshot, run its checks, then publish all of them, or none.

    If a blocking check fails, nothing is published: each table keeps its last good version
    and its outcome has no metadata; the staged snapshot of a table that failed is named in its
    failed checks' metadata (`rejected_version`), readable until maintenance expires it.
    """
    staged_all = []
    for out in outputs:
        started = time.monotonic()
        staged_all.append((out, *_measure(lake, out), time.monotonic() - started))
    staged_rows = {out.table: staged.rows for out, staged, _, _ in staged_all}
    measured = []
    for out, staged, metrics, seconds in staged_all:
        spec = TABLES[out.table]
        extra = out.extra_metrics(staged_rows) if out.extra_metrics else {}
        metrics.update(extra)
        checks = []
        for check in spec.all_checks():
            passed, found = verdict(check, metrics)
            checks.append(CheckOutcome(out.table, check.name, passed, check.blocking, check.description,
                                       {k: typed(v) for k, v in found.items()}))
        ok = sum(c.passed or not c.blocking for c in checks)
        log(f"{out.table}{_where(out)}: {staged.rows:,} rows staged in {seconds:.1f}s; checks {ok}/{len(checks)} ok")
        shown = [*spec.reported, *(m for c in spec.all_checks() for m in c.measures), *extra]
        measured.append((out, staged, {k: metrics[k] for k in shown}, TableOutcome(out.table, checks)))

    if any(m[3].failed_blocking for m in measured):
        for _, staged, _, outcome in measured:  # left unpublished: inspectable until maintenance expires them
            for check in outcome.checks:
                if check.blocking and not check.passed:
                    check.metadata["rejected_version"] = typed(
                        f"snapshot {staged.snapshot_id} of {lake.catalog.namespace}.{staged.table} "
                        f"(lake query --as-of {staged.snapshot_id})")
        return [m[3] for m in measured]

    for out, staged, shown, outcome in measured:
        preview = lake.preview(staged)
        try:
            snapshot = lake.publish(staged)
        except PublishConflict as exc:
            raise StepError(str(exc)) from None
        outcome.metadata = {
            "rows": typed(staged.rows),
            "dagster/row_count": typed(staged.rows),
            "bytes_written": typed(staged.bytes),
            "table": typed(f"{lake.catalog.namespace}.{out.table}"),
            "snapshot_id": typed(str(snapshot)),
            "path": typed(lake.catalog.table_location(out.table), "path"),
            **({"partition": typed(_where(out).strip(" []"))} if out.partition else {}),
            **{k: typed(v) for k, v in shown.items()},
            "preview": typed(_markdown(preview), "md"),
        }
    return [m[3] for m in measured]


# ---------------------------------------------------------------- the steps


def _labels(inputs: Inputs):
    return parse_labels(find_file(inputs.raw_dir, LABELS_FILE, "SAS label file"))


def _label_dimension(name: str, transform) -> Callable[[Inputs], list[TableOutput]]:
    return lambda inputs: [TableOutput(name, transform(inputs.spark, _labels(inputs)))]


def _dim_city(inputs: Inputs) -> list[TableOutput]:
    spark, raw = inputs.spark, inputs.raw_dir
    return [TableOutput("dim_city", td.dim_city(
        spark, _labels(inputs),
        read_demographics(spark, find_file(raw, DEMOGRAPHICS_FILE, "demographics CSV")),
        read_airports(spark, find_file(raw, AIRPORTS_GLOB, "airport-codes CSV")),
    ))]


def _dim_port(inputs: Inputs) -> list[TableOutput]:
    return [TableOutput("dim_port", td.dim_port(inputs.spark, _labels(inputs), inputs.lake.read("dim_city")))]


def _dim_temperature(inputs: Inputs) -> list[TableOutput]:
    temperatures = read_temperatures(inputs.spark, find_temperature_files(inputs.raw_dir))
    return [TableOutput("dim_temperature", td.dim_temperature(temperatures, inputs.lake.read("dim_city")))]


def _immigration(inputs: Inputs, key: str) -> list[TableOutput]:
    """One month ('YYYY-MM' or a partition key 'YYYY-MM-01'): every raw row lands in the fact
    or in the rejects, counts reconciled."""
    key = key[:7]
    year, month = int(key[:4]), int(key[5:7])
    extracts, problems = scan_i94_months(inputs.raw_dir)  # another month's unreadable entry is not ours
    if any(key in str(problem) for problem in problems):
        raise StepError(next(str(problem) for problem in problems if key in str(problem)))
    if key not in extracts:
        unplaced = f"; entries whose month cannot be told: {'; '.join(map(str, problems))}" if problems else ""
        raise StepError(f"no I94 extract for {key} in {inputs.raw_dir}/i94 "
                        f"(found: {', '.join(sorted(extracts)) or 'none'}){unplaced}")
    store = inputs.lake
    inputs.log(f"reading {extracts[key].path} ({extracts[key].format})")
    raw = read_i94_month(inputs.spark, extracts[key], inputs.cache_dir)
    dims = [store.read(name) for name in ("dim_port", "dim_state", "dim_country", "dim_travel_mode", "dim_visa")]
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


def _metro_arrivals_monthly(inputs: Inputs) -> list[TableOutput]:
    store = inputs.lake
    placed = Observation()
    fact = store.read("fact_immigration").observe(
        placed, F.sum(F.expr("cast(city_id is not null and visa_type is not null as long)")).alias("n"))
    df = ta.metro_arrivals_monthly(fact, store.read("dim_city"), store.read("dim_visa"), store.read("dim_temperature"))
    return [TableOutput("metro_arrivals_monthly", df,
                        extra_metrics=lambda _: {"fact_rows_with_city": placed.get["n"] or 0})]


def _from_metro(name: str, transform) -> Callable[[Inputs], list[TableOutput]]:
    return lambda inputs: [TableOutput(name, transform(inputs.lake.read("metro_arrivals_monthly")))]


# Step name (the asset, or the multi-asset for the fact) -> its outputs; monthly steps take the month.
STEPS: dict[str, Callable[..., list[TableOutput]]] = {
    "dim_country": _label_dimension("dim_country", td.dim_country),
    "dim_state": _label_dimension("dim_state", td.dim_state),
    "dim_visa": _label_dimension("dim_visa", td.dim_visa),
    "dim_travel_mode": _label_dimension("dim_travel_mode", td.dim_travel_mode),
    "dim_city": _dim_city,
    "dim_port": _dim_port,
    "dim_temperature": _dim_temperature,
    "immigration": _immigration,
    "metro_arrivals_monthly": _metro_arrivals_monthly,
    "tourism_by_season": _from_metro("tourism_by_season", ta.tourism_by_season),
    "arrivals_temperature_correlation": _from_metro("arrivals_temperature_correlation",
                                                    ta.arrivals_temperature_correlation),
}
MONTHLY = {"immigration"}


def run_step(step: str, inputs: Inputs) -> list[TableOutcome]:
    """Build, check and publish one step that is not monthly (those go by `run_months`)."""
    if step not in STEPS:
        raise StepError(f"unknown step {step!r}: one of {', '.join(STEPS)}")
    if step in MONTHLY:
        raise StepError(f"step {step!r} is monthly: give the month(s) to build")
    return stage_check_publish(inputs.lake, STEPS[step](inputs), inputs.log)


def run_months(step: str, inputs: Inputs, partition_keys: list[str]) -> Iterator[tuple[str, list[TableOutcome]]]:
    """Build, check and publish a monthly step month by month, yielding each month's outcomes
    as it is done (the first month whose blocking checks fail is the last)."""
    if step not in MONTHLY:
        raise StepError(f"step {step!r} is not monthly")
    for key in partition_keys:
        started = time.monotonic()
        outcomes = stage_check_publish(inputs.lake, STEPS[step](inputs, key), inputs.log)
        for outcome in outcomes:  # what the month took, whether it ran alone or in a range
            if outcome.metadata is not None:
                outcome.metadata["month_seconds"] = typed(time.monotonic() - started)
        yield key, outcomes
        if any(o.failed_blocking for o in outcomes):
            return

