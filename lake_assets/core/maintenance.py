"""Keeping the lake's Iceberg tables bounded, and rolling one back (Spark; no Dagster here).

`maintain` runs Iceberg's own procedures on every table:
- `expire_snapshots`: snapshots older than the retention go, except the last `retain_last` of
  `main` and every snapshot that was `main`'s during the retention (the one current when it
  began too, however old), so any time of the last `retain_days` can be read; audited
  snapshots that failed a check (never published) go with them;
- `remove_orphan_files`: files that no snapshot references (a write that died before its
  commit), older than the retention and never younger than a day (Iceberg's floor: a write
  in progress owns files that no snapshot names yet);
- `rewrite_data_files`: small files of a table or month compacted, and any delete files (a
  merge-on-read writer's) folded into the data files they apply to (a `replace` snapshot).
Iceberg never deletes a file that a retained snapshot reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import dropwhile
from typing import Callable

from py4j.protocol import Py4JJavaError

from lake_assets.core.catalog import SPARK_CATALOG, months_of, snapshot_origin
from lake_assets.core.failures import ICEBERG, java_classes
from lake_assets.core.storage import Lake

RETAIN_DAYS = 7.0
RETAIN_LAST = 5
ORPHAN_MIN_DAYS = 1.0
MONTH_TABLES = ("fact_immigration", "fact_immigration_rejects")  # a month's rows: one run's fact and rejects


def check_retention(retain_days: float, retain_last: int) -> None:
    """ValueError (one line) for a retention that would erase the promised history: under a day, or no snapshot kept."""
    if not retain_days >= 1:
        raise ValueError(f"retain_days must be at least 1 (got {retain_days}): a shorter one erases the history")
    if retain_last < 1:
        raise ValueError(f"retain_last must be at least 1 (got {retain_last}): the current snapshot is always kept")


class RollbackError(Exception):
    """A rollback that cannot be done: one line for the user."""


def maintain(lake: Lake, retain_days: float = RETAIN_DAYS, retain_last: int = RETAIN_LAST,
             log: Callable[[str], None] = print) -> dict[str, dict]:
    """Expire, clean and compact every table of the lake; per table, what was removed. The
    retention is taken as given: `lake clean` and `lake_maintenance` refuse one under the floor
    (`check_retention`) before they call this."""
    now = datetime.now(timezone.utc)
    window_start = int((now - timedelta(days=retain_days)).timestamp() * 1000)
    orphan_cutoff = _utc((now - timedelta(days=max(retain_days, ORPHAN_MIN_DAYS))).timestamp() * 1000)
    done = {}
    for table in lake.tables():
        name, call = lake.name(table), f"call {SPARK_CATALOG}.system"
        cutoff = _utc(_expire_before(lake, name, window_start))
        expired = lake.spark.sql(f"{call}.expire_snapshots(table => '{name}', older_than => timestamp '{cutoff}', "
                                 f"retain_last => {retain_last})").first()
        orphans = lake.spark.sql(f"{call}.remove_orphan_files(table => '{name}', "
                                 f"older_than => timestamp '{orphan_cutoff}')").count()
        rewritten = lake.spark.sql(f"{call}.rewrite_data_files(table => '{name}', options => map("
                                   "'delete-file-threshold', '1'))").first()
        done[table] = {"expired_data_files": expired["deleted_data_files_count"],
                       "expired_manifests": expired["deleted_manifest_files_count"],
                       "orphan_files": orphans,
                       "compacted_files": rewritten["rewritten_data_files_count"]}
        log(f"{table}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in done[table].items()))
    return done


def _expire_before(lake: Lake, name: str, window_start: int) -> int:
    """The time (epoch ms) before which snapshots may expire and every state of `main` since
    `window_start` stays readable: the oldest commit among the snapshots `main` held then or since."""
    made = lake.spark.sql(f"select unix_millis(h.made_current_at) as made, unix_millis(s.committed_at) as committed "
                          f"from {name}.history h join {name}.snapshots s using (snapshot_id)").collect()
    earlier = [r for r in made if r.made < window_start]
    held = [r for r in made if r.made >= window_start] + ([max(earlier, key=lambda r: r.made)] if earlier else [])
    return min([window_start] + [r.committed for r in held])


def _utc(ms: float) -> str:
    """Epoch milliseconds as a Spark timestamp literal (the session's time zone is UTC)."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def rollback(lake: Lake, table: str, snapshot_id: int) -> dict[str, tuple[int | None, int]]:
    """Point the table's `main` back at one of its earlier snapshots; for the fact or its rejects,
    the other one too, at the snapshot the same run wrote for the same month (see `_partner`).
    Per table rolled back: (the snapshot it left, the one it is at)."""
    if not lake.exists(table):
        raise RollbackError(f"table {table!r} is not in the lake at {lake.root}")
    targets = {table: snapshot_id}
    if table in MONTH_TABLES:
        run, month = _origin(lake, table, snapshot_id)
        targets |= {other: _partner(lake, other, run, month, table, snapshot_id)
                    for other in MONTH_TABLES if other != table}
    return _rollback(lake, targets)


def rollback_month(lake: Lake, month: str, run: str) -> dict[str, tuple[int | None, int]]:
    """Point the fact and its rejects back at the snapshots one run wrote for one month ('2016-04')."""
    fact, rejects = MONTH_TABLES
    fact_snapshot = _run_snapshot(lake, fact, run, month)
    if fact_snapshot is None:
        raise RollbackError(f"{fact}: no snapshot of its main was written by run {run} for {month} "
                            f"(see `lake history {fact}`)")
    return _rollback(lake, {fact: fact_snapshot, rejects: _partner(lake, rejects, run, month, fact, fact_snapshot)})


def _origin(lake: Lake, table: str, snapshot_id: int) -> tuple[str, str]:
    """(run, month) of a snapshot of the table's `main`, or of the build's snapshot it compacted."""
    older = list(dropwhile(lambda s: s.snapshot_id != snapshot_id, _main_snapshots(lake, table)))
    if not older:
        raise RollbackError(_not_earlier(table, snapshot_id))
    run, month = next((o for o in (snapshot_origin(s.summary.additional_properties) for s in older) if o[0] != "-"),
                      ("-", "-"))
    if month == "-":
        raise RollbackError(f"{table}: snapshot {snapshot_id} was not written by a build of a month, so the "
                            f"{' and '.join(MONTH_TABLES)} snapshots to pair with it are unknown")
    return run, month


def _run_snapshot(lake: Lake, table: str, run: str, month: str) -> int | None:
    """The newest snapshot of the table's `main` that `run` wrote for `month`."""
    return next((s.snapshot_id for s in _main_snapshots(lake, table)
                 if _of(snapshot_origin(s.summary.additional_properties), run, month)), None)


def _of(origin: tuple[str, str], run: str, month: str) -> bool:
    """Whether a snapshot's (run, months) is `run`'s and holds `month` (a month or a range of them)."""
    return origin[0] == run and set(months_of(month)) <= set(months_of(origin[1]))


def _main_snapshots(lake: Lake, table: str) -> list:
    """The table's `main`, newest first, as pyiceberg reads it (imported here: a cluster's
    maintenance has neither pyiceberg nor DuckDB, and never rolls back)."""
    from lake_assets.core.query import main_snapshots

    return main_snapshots(lake.catalog.load(table))


def _partner(lake: Lake, table: str, run: str, month: str, paired: str, paired_snapshot: int) -> int:
    """The snapshot of `table` to pair with `paired_snapshot` of `paired`: the one `run` wrote for
    `month`; if it wrote none (a month with no rejects commits none), the one `main` held when
    `paired_snapshot` became `paired`'s (a run publishes a month's fact, then its rejects)."""
    found = _run_snapshot(lake, table, run, month)
    if found is not None:
        return found
    made = next((e.timestamp_ms for e in lake.catalog.load(paired).metadata.snapshot_log
                 if e.snapshot_id == paired_snapshot), None)
    then = lake.catalog.load(table).snapshot_as_of_timestamp(made) if made is not None else None
    if then is None:
        raise RollbackError(f"{table}: neither a snapshot of run {run} for {month} nor its state when "
                            f"{paired} took snapshot {paired_snapshot} is known (see `lake history {table}`)")
    return then.snapshot_id


def _not_earlier(table: str, snapshot_id: int) -> str:
    return (f"{table}: snapshot {snapshot_id} is not an earlier version of its main "
            "(see `lake history`; unpublished snapshots cannot be rolled back to)")


def _rollback(lake: Lake, targets: dict[str, int]) -> dict[str, tuple[int | None, int]]:
    done = {}
    for table, snapshot_id in targets.items():
        previous = lake.current_snapshot(table)
        try:
            lake.spark.sql(f"call {SPARK_CATALOG}.system.rollback_to_snapshot('{lake.name(table)}', {snapshot_id})")
        except Py4JJavaError as exc:  # Iceberg refuses an unknown snapshot, or one not an ancestor of main
            if ICEBERG + "ValidationException" in java_classes(exc):
                raise RollbackError(_not_earlier(table, snapshot_id)) from None
            raise
        done[table] = (previous, snapshot_id)
    return done
