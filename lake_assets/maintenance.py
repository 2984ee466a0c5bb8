"""Keeping the lake's Iceberg tables bounded, and rolling one back (Spark; no Dagster here).

`maintain` runs Iceberg's own procedures on every table:
- `expire_snapshots`: snapshots older than the retention go, except the last `retain_last` of
  `main`; audited snapshots that failed a check (never published) go with them;
- `remove_orphan_files`: files that no snapshot references (a write that died before its
  commit), older than the retention and never younger than a day (Iceberg's floor: a write
  in progress owns files that no snapshot names yet);
- `rewrite_data_files`: small files of a table or month compacted (a `replace` snapshot).
Iceberg never deletes a file that a retained snapshot reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

from lake_assets.catalog import SPARK_CATALOG
from lake_assets.storage import Lake

RETAIN_DAYS = 7.0
RETAIN_LAST = 5
ORPHAN_MIN_DAYS = 1.0


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
    """Expire, clean and compact every table of the lake; per table, what was removed."""
    check_retention(retain_days, retain_last)
    now = datetime.now(timezone.utc)
    cutoff = (now - timedelta(days=retain_days)).strftime("%Y-%m-%d %H:%M:%S.%f")
    orphan_cutoff = (now - timedelta(days=max(retain_days, ORPHAN_MIN_DAYS))).strftime("%Y-%m-%d %H:%M:%S.%f")
    done = {}
    for table in lake.tables():
        name, call = lake.name(table), f"call {SPARK_CATALOG}.system"
        expired = lake.spark.sql(f"{call}.expire_snapshots(table => '{name}', older_than => timestamp '{cutoff}', "
                                 f"retain_last => {retain_last})").first()
        orphans = lake.spark.sql(f"{call}.remove_orphan_files(table => '{name}', "
                                 f"older_than => timestamp '{orphan_cutoff}')").count()
        rewritten = lake.spark.sql(f"{call}.rewrite_data_files(table => '{name}')").first()
        done[table] = {"expired_data_files": expired["deleted_data_files_count"],
                       "expired_manifests": expired["deleted_manifest_files_count"],
                       "orphan_files": orphans,
                       "compacted_files": rewritten["rewritten_data_files_count"]}
        log(f"{table}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in done[table].items()))
    return done


def rollback(lake: Lake, table: str, snapshot_id: int) -> int:
    """Point the table's `main` back at one of its earlier snapshots; return the snapshot it left."""
    if not lake.exists(table):
        raise RollbackError(f"table {table!r} is not in the lake at {lake.root}")
    previous = lake.current_snapshot(table)
    try:
        lake.spark.sql(f"call {SPARK_CATALOG}.system.rollback_to_snapshot('{lake.name(table)}', {snapshot_id})")
    except Exception as exc:  # noqa: BLE001
        if "ancestor" in str(exc) or "Cannot roll back" in str(exc) or "not found" in str(exc).lower():
            raise RollbackError(f"{table}: snapshot {snapshot_id} is not an earlier version of its main "
                                "(see `lake history`; unpublished snapshots cannot be rolled back to)") from None
        raise
    return previous
