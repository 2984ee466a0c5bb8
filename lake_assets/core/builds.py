"""Running a build (`lake_assets.core.tables`): stage its tables, check them, publish them or none.

No Dagster here: the same builds run inside the Dagster process (`LAKE_ENV=local`) and in
`spark_job.py` on a cluster, which reports the outcome back through Dagster Pipes. An
outcome is plain data (metadata in the Pipes `{"type", "raw_value"}` form), turned into
Dagster events by `lake_assets.orchestration.events` or sent as Pipes messages by `spark_job`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from lake_assets.core.failures import CommitRetryable, PublishConflict
from lake_assets.core.quality import dangling, observed_metrics, reference_metrics, verdict
from lake_assets.core.staged import Part, Staged
from lake_assets.core.storage import Lake
from lake_assets.core.tables import BUILDS, TABLES
from lake_assets.core.tables.table import Build, Inputs, BuildError, TableOutput


class RetryableBuildError(BuildError):
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


def _measure(lake: Lake, outs: list[TableOutput]) -> tuple[Staged, list[dict]]:
    """Stage a table (or its months: one write); return it and each part's metrics."""
    spec = TABLES[outs[0].table]
    references = {col: ref for check in spec.all_checks() for col, ref in check.references.items()}
    keys = {ref: lake.distinct_values(*ref) for ref in set(references.values())}
    referenced = reference_metrics({col: keys[ref] for col, ref in references.items()})
    staged = lake.stage_parts(spec.name, [
        Part(out.df() if callable(out.df) else out.df, {**observed_metrics(spec, out.params), **referenced},
             out.partition, _month(out.partition)) for out in outs])
    metrics = [{**part.metrics, **dangling(part.metrics, references)} for part in staged.by_part()]
    if spec.keys:
        for found, duplicates in zip(metrics, lake.duplicate_keys(staged, list(spec.keys))):
            found["duplicate_keys"], found["duplicate_examples"] = duplicates
    return staged, metrics


def stage_check_publish(lake: Lake, outputs: list[TableOutput], log: Callable[[str], None] = print) -> list[TableOutcome]:
    """Write every output as an unpublished snapshot, run its checks, then publish all of them, or none.

    If a blocking check fails, nothing is published: each table keeps its last good version
    and its outcome has no metadata; the staged snapshot of a table that failed is named in its
    failed checks' metadata (`rejected_version`), readable until maintenance expires it.
    """
    return stage_check_publish_months(lake, [outputs], log)[0]


def stage_check_publish_months(lake: Lake, months: list[list[TableOutput]],
                               log: Callable[[str], None] = print) -> list[list[TableOutcome]]:
    """A build's outputs over a range of months (each month's outputs, the same tables in the
    same order) in one pass: each table staged in one write with each month's metrics, the keys
    of every month checked in one job, then the months before the first whose blocking checks
    fail published, each table in one commit (a month as `stage_check_publish` does)."""
    staged_all = []
    for outs in zip(*months):
        started = time.monotonic()
        staged_all.append((outs, *_measure(lake, list(outs)), time.monotonic() - started))
    measured = []  # per month: (output, its part of the staged write, metrics shown, outcome) per table
    for i in range(len(months)):
        staged_rows = {outs[i].table: staged.by_part()[i].rows for outs, staged, _, _ in staged_all}
        measured.append([])
        for outs, staged, metrics, seconds in staged_all:
            out, part, found, spec = outs[i], staged.by_part()[i], metrics[i], TABLES[outs[i].table]
            extra = out.extra_metrics(staged_rows) if out.extra_metrics else {}
            found.update(extra)
            checks = []
            for check in spec.all_checks():
                passed, seen = verdict(check, found)
                checks.append(CheckOutcome(out.table, check.name, passed, check.blocking, check.description,
                                           {k: typed(v) for k, v in seen.items()}))
            ok = sum(c.passed or not c.blocking for c in checks)
            within = f" (one write of {len(months)} months)" if len(months) > 1 else ""
            log(f"{out.table}{_where(out)}: {part.rows:,} rows {'unchanged' if part.unchanged else 'staged'} "
                f"in {seconds:.1f}s{within}; checks {ok}/{len(checks)} ok")
            shown = [*spec.reported, *(m for c in spec.all_checks() for m in c.measures), *extra]
            measured[i].append((out, part, {k: found[k] for k in shown}, TableOutcome(out.table, checks)))

    good = next((i for i, month in enumerate(measured) if any(m[3].failed_blocking for m in month)), len(months))
    for _, part, _, outcome in measured[good] if good < len(months) else ():
        for check in outcome.checks:  # left unpublished: inspectable until maintenance expires it
            if check.blocking and not check.passed:
                check.metadata["rejected_version"] = typed(
                    f"snapshot {part.snapshot_id} of {lake.catalog.namespace}.{part.table} "
                    f"(lake query --as-of {part.snapshot_id})")
    if good:
        by_table = [lake.previews(staged.only(staged.by_part()[:good]), TABLES[outs[0].table].safe_columns)
                    for outs, staged, _, _ in staged_all]  # one job per table
        previews = [[table[i] for table in by_table] for i in range(good)]
        snapshots = publish_all(lake, [staged.only(staged.by_part()[:good]) for _, staged, _, _ in staged_all])
        for month, month_previews in zip(measured, previews):
            for (out, part, shown, outcome), preview, snapshot in zip(month, month_previews, snapshots):
                outcome.metadata = {
                    "rows": typed(part.rows),
                    "dagster/row_count": typed(part.rows),
                    "bytes_written": typed(part.bytes),
                    "table": typed(f"{lake.catalog.namespace}.{out.table}"),
                    "snapshot_id": typed(str(snapshot)),
                    "unchanged": typed(part.unchanged),  # the rows `main` held: nothing committed
                    "path": typed(lake.catalog.table_location(out.table), "path"),
                    **({"partition": typed(_where(out).strip(" []"))} if out.partition else {}),
                    **{k: typed(v) for k, v in shown.items()},
                    "preview": typed(_markdown(preview), "md"),
                }
    return [[m[3] for m in month] for month in measured]


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
            raise RetryableBuildError(str(exc)) from None
    if conflict is not None:
        raise BuildError(str(conflict))
    return snapshots


def _build(name: str, monthly: bool) -> Build:
    if name not in BUILDS:
        raise BuildError(f"unknown build {name!r}: one of {', '.join(BUILDS)}")
    build = BUILDS[name]
    if build.monthly != monthly:
        raise BuildError(f"build {name!r} is {'' if build.monthly else 'not '}monthly")
    return build


def _outputs(build: Build, inputs: Inputs, *args) -> list[TableOutput]:
    """The build's outputs, reading no lake table it did not declare."""
    outputs = build.function(replace(inputs, reads=frozenset(build.reads)), *args)
    undeclared = {out.table for out in outputs} - {t.name for t in build.tables}
    if undeclared:
        raise BuildError(f"build {build.name!r} writes {', '.join(sorted(undeclared))}, not among its tables")
    return outputs


def run_build(name: str, inputs: Inputs) -> list[TableOutcome]:
    """Build, check and publish one build that is not monthly (those go by `run_months`)."""
    build = _build(name, monthly=False)
    return stage_check_publish(inputs.lake, _outputs(build, inputs), inputs.log)


def _consecutive(keys: list[str]) -> list[list[str]]:
    """Month keys ('YYYY-MM…') in runs of consecutive months."""
    runs: list[list[str]] = []
    for key in keys:
        index = int(key[:4]) * 12 + int(key[5:7])
        if runs and index == int(runs[-1][-1][:4]) * 12 + int(runs[-1][-1][5:7]) + 1:
            runs[-1].append(key)
        else:
            runs.append([key])
    return runs


def run_months(name: str, inputs: Inputs, partition_keys: list[str]) -> Iterator[tuple[str, list[TableOutcome]]]:
    """Build, check and publish a monthly build, each run of consecutive months in one pass
    (`stage_check_publish_months`), yielding each month's outcomes: the first month whose blocking
    checks fail is the last (the months before it are published); a month that cannot be built
    (BuildError) ends its range: the months before it are built, then the error is raised."""
    build = _build(name, monthly=True)
    for keys in _consecutive(partition_keys):
        started, outputs, error = time.monotonic(), [], None
        for key in keys:
            try:
                outputs.append(_outputs(build, inputs, key))
            except BuildError as exc:
                error = exc
                break
        results = stage_check_publish_months(inputs.lake, outputs, inputs.log) if outputs else []
        seconds = (time.monotonic() - started) / max(len(outputs), 1)
        for key, outcomes in zip(keys, results):
            for outcome in outcomes:  # the month's share of its range's time
                if outcome.metadata is not None:
                    outcome.metadata["month_seconds"] = typed(seconds)
            yield key, outcomes
            if any(o.failed_blocking for o in outcomes):
                return
        if error is not None:
            raise error
