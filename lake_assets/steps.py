"""Running a build (`lake_assets.tables`): stage its tables, check them, publish them or none.

No Dagster here: the same builds run inside the Dagster process (`LAKE_ENV=local`) and in
`spark_job.py` on a cluster, which reports the outcome back through Dagster Pipes. An
outcome is plain data (metadata in the Pipes `{"type", "raw_value"}` form), turned into
Dagster events by `lake_assets.events` or sent as Pipes messages by `spark_job`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from lake_assets.quality import dangling, observed_metrics, reference_metrics, verdict
from lake_assets.storage import CommitRetryable, Lake, PublishConflict, Staged
from lake_assets.tables import BUILDS, TABLES
from lake_assets.tables.table import Build, Inputs, StepError, TableOutput


class RetryableStepError(StepError):
    """A commit the catalog did not take or confirm: the same build can simply run again."""


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
        log(f"{out.table}{_where(out)}: {staged.rows:,} rows {'unchanged' if staged.unchanged else 'staged'} "
            f"in {seconds:.1f}s; checks {ok}/{len(checks)} ok")
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

    previews = [lake.preview(staged, TABLES[out.table].safe_columns) for out, staged, _, _ in measured]
    snapshots = publish_all(lake, [staged for _, staged, _, _ in measured])
    for (out, staged, shown, outcome), preview, snapshot in zip(measured, previews, snapshots):
        outcome.metadata = {
            "rows": typed(staged.rows),
            "dagster/row_count": typed(staged.rows),
            "bytes_written": typed(staged.bytes),
            "table": typed(f"{lake.catalog.namespace}.{out.table}"),
            "snapshot_id": typed(str(snapshot)),
            "unchanged": typed(staged.unchanged),  # the rows `main` held: nothing committed
            "path": typed(lake.catalog.table_location(out.table), "path"),
            **({"partition": typed(_where(out).strip(" []"))} if out.partition else {}),
            **{k: typed(v) for k, v in shown.items()},
            "preview": typed(_markdown(preview), "md"),
        }
    return [m[3] for m in measured]


def publish_all(lake: Lake, staged_all: list[Staged]) -> list[int]:
    """Publish a build's staged tables; return the snapshot each table's `main` then holds.

    A month's first table (the fact) leads: its publish decides which run's version the month
    holds. The month's other tables (the rejects) follow it: each is made the same run's
    version, this run's or the other's, so a month's tables always come from one run. A
    conflict on the leader is raised once the followers agree with the run that won."""
    leader = next((staged.table for staged in staged_all if staged.partition), None)
    snapshots, conflict = [], None
    for staged in staged_all:
        try:
            if staged.partition and staged.table != leader:
                snapshots.append(lake.follow(staged, leader))
            else:
                snapshots.append(lake.publish(staged))
        except PublishConflict as exc:
            conflict = conflict or exc
        except CommitRetryable as exc:
            raise RetryableStepError(str(exc)) from None
    if conflict is not None:
        raise StepError(str(conflict))
    return snapshots


def _build(name: str, monthly: bool) -> Build:
    if name not in BUILDS:
        raise StepError(f"unknown build {name!r}: one of {', '.join(BUILDS)}")
    build = BUILDS[name]
    if build.monthly != monthly:
        raise StepError(f"build {name!r} is {'' if build.monthly else 'not '}monthly")
    return build


def _outputs(build: Build, inputs: Inputs, *args) -> list[TableOutput]:
    """The build's outputs, reading no lake table it did not declare."""
    outputs = build.function(replace(inputs, reads=frozenset(build.reads)), *args)
    undeclared = {out.table for out in outputs} - {t.name for t in build.tables}
    if undeclared:
        raise StepError(f"build {build.name!r} writes {', '.join(sorted(undeclared))}, not among its tables")
    return outputs


def run_step(step: str, inputs: Inputs) -> list[TableOutcome]:
    """Build, check and publish one build that is not monthly (those go by `run_months`)."""
    build = _build(step, monthly=False)
    return stage_check_publish(inputs.lake, _outputs(build, inputs), inputs.log)


def run_months(step: str, inputs: Inputs, partition_keys: list[str]) -> Iterator[tuple[str, list[TableOutcome]]]:
    """Build, check and publish a monthly build month by month, yielding each month's outcomes
    as it is done (the first month whose blocking checks fail is the last)."""
    build = _build(step, monthly=True)
    for key in partition_keys:
        started = time.monotonic()
        outcomes = stage_check_publish(inputs.lake, _outputs(build, inputs, key), inputs.log)
        for outcome in outcomes:  # what the month took, whether it ran alone or in a range
            if outcome.metadata is not None:
                outcome.metadata["month_seconds"] = typed(time.monotonic() - started)
        yield key, outcomes
        if any(o.failed_blocking for o in outcomes):
            return
