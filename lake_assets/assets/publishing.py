"""Stage, check and publish tables from inside an asset: the one way every asset writes."""


import time
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
)
from pyspark.sql import DataFrame

from lake_assets.quality import TABLES, dangling, verdict, observed_metrics
from lake_assets.storage import Lake, Staged


@dataclass
class TableOutput:
    """A DataFrame to publish as `table` (or one partition of it)."""

    table: str
    df: DataFrame
    partition: dict | None = None
    params: dict | None = None  # values for $first_day/$last_day in the table's check SQL
    # Measured elsewhere in the same pass (e.g. raw rows): called once this table is staged,
    # with the rows staged so far per table.
    extra_metrics: Callable[[dict[str, int]], dict] | None = None


def check_specs(table: str) -> list[AssetCheckSpec]:
    return [AssetCheckSpec(c.name, asset=table, blocking=c.blocking, description=c.description)
            for c in TABLES[table].all_checks()]


def partition_params(first: date, last: date) -> dict:
    return {"first_day": first.isoformat(), "last_day": last.isoformat()}


def _markdown(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def _metadata_value(value):
    if isinstance(value, (list, tuple, dict)):
        return MetadataValue.json(list(value) if isinstance(value, tuple) else value)
    if isinstance(value, float):
        return MetadataValue.float(round(value, 6))
    return value


def _measure(lake: Lake, out: TableOutput, staged_rows: dict[str, int]) -> tuple[Staged, dict, list[str]]:
    """Stage a table; return it, its metrics, and the names of those shown as metadata."""
    spec = TABLES[out.table]
    staged = lake.stage(out.df, observed_metrics(spec, out.params))
    staged_rows[out.table] = staged.rows
    extra = out.extra_metrics(staged_rows) if out.extra_metrics else {}
    metrics = {**staged.metrics, **extra}
    shown = [*spec.reported, *(m for c in spec.all_checks() for m in c.measures), *extra]
    if spec.keys:
        metrics["duplicate_keys"], metrics["duplicate_examples"] = lake.duplicate_keys(staged.path, list(spec.keys))
    references = {col: ref for check in spec.all_checks() for col, ref in check.references.items()}
    if references:
        found = dangling(lake.spark.read.parquet(staged.path),
                         {col: lake.read(table).select(key) for col, (table, key) in references.items()})
        metrics.update({f"dangling.{col}": value for col, value in found.items()})
    return staged, metrics, shown


def publish_tables(context: AssetExecutionContext, lake: Lake, outputs: list[TableOutput]) -> Iterator:
    """Write every output to staging, run its checks, then publish all of them, or none.

    If a blocking check fails, nothing is published (each table keeps its last good
    version), the check results are recorded and the step fails, so downstream assets do
    not run. Otherwise yields one MaterializeResult per table with its check results.
    """
    measured, staged_rows = [], {}
    for out in outputs:
        started = time.monotonic()
        staged, metrics, shown = _measure(lake, out, staged_rows)
        results, failures = [], []
        for check in TABLES[out.table].all_checks():
            passed, found = verdict(check, metrics)
            results.append(AssetCheckResult(
                asset_key=out.table, check_name=check.name, passed=passed,
                severity=AssetCheckSeverity.ERROR if check.blocking else AssetCheckSeverity.WARN,
                description=check.description,
                metadata={k: _metadata_value(v) for k, v in found.items()}))
            if check.blocking and not passed:
                failures.append(f"{out.table}.{check.name}: {found}")
        context.log.info(f"{out.table}{_where(out)}: {staged.rows:,} rows staged in "
                         f"{time.monotonic() - started:.1f}s; checks {len(results) - len(failures)}/{len(results)} ok")
        measured.append((out, staged, {k: metrics[k] for k in shown}, results, failures))

    failures = [f for m in measured for f in m[4]]
    if failures:
        for _, staged, _, results, _ in measured:
            lake.discard(staged)
        for m in measured:
            yield from m[3]
        raise Failure(
            description="blocking check failed, nothing published (tables keep their last good version): "
                        + "; ".join(failures),
            metadata={"failed_checks": MetadataValue.json(failures)})

    for out, staged, shown, results, _ in measured:
        size = lake.size_bytes(staged.path)
        preview = lake.preview(staged.path)
        path = lake.publish(staged, out.table, out.partition)

        yield MaterializeResult(
            asset_key=out.table,
            metadata={
                "rows": MetadataValue.int(staged.rows),
                "bytes_written": MetadataValue.int(size),
                "path": MetadataValue.path(path),
                **({"partition": _where(out).strip(" []")} if out.partition else {}),
                **{k: _metadata_value(v) for k, v in shown.items()},
                "preview": MetadataValue.md(_markdown(preview)),
            },
            check_results=results,
        )


def _where(out: TableOutput) -> str:
    return f" [{', '.join(f'{k}={v}' for k, v in out.partition.items())}]" if out.partition else ""
