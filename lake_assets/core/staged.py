"""A staged write: what `storage.Lake.stage_parts` wrote as an unpublished snapshot and measured
in that pass (a table, a month, or a range of months with each month's own), and what is
written (`Part`). No Dagster here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from pyspark.sql import Column, DataFrame

from lake_assets.core.catalog import month_label, months_of, snapshot_origin, wap_id


CONTENT = "lake-content-sha256"  # in a small table's snapshot summary: `content_hash` of its rows


def summary_tag(snapshot, name: str) -> str | None:
    """One property of a snapshot's summary (None for no snapshot)."""
    return None if snapshot is None else snapshot.summary().get(name)


def main_content(table) -> str | None:
    """The `content_hash` of the rows a table's `main` holds: its snapshot's, or, after
    compaction (a "replace": other files, the same rows), that of the snapshot it compacted."""
    snapshot = table.currentSnapshot()
    while snapshot is not None and not summary_tag(snapshot, CONTENT) and snapshot.operation() == "replace" \
            and snapshot.parentId() is not None:
        snapshot = table.snapshot(snapshot.parentId())
    return summary_tag(snapshot, CONTENT)


def published_write(snapshot) -> str | None:
    """The write a snapshot of `main` published (a fast-forwarded one is that write itself);
    None for no snapshot or maintenance."""
    return summary_tag(snapshot, "published-wap-id") or summary_tag(snapshot, "wap.id")


def committed_by(snapshot) -> str | None:
    """The run that committed a snapshot of `main` (None for no snapshot or maintenance)."""
    tag = published_write(snapshot)
    return snapshot_origin({"wap.id": tag})[0] if tag else None


def content_hash(schema, rows: list) -> str:
    """A small table's content: a hash of its schema and of its rows, in any order."""
    digest = hashlib.sha256(schema.simpleString().encode())
    for line in sorted(repr(tuple(row)) for row in rows):
        digest.update(f"\n{line}".encode())
    return digest.hexdigest()


def months(label: str) -> list[str]:
    """The months of a write's month part; ['-'] for an unpartitioned table's."""
    return months_of(label) or [label]


def _clause(partition: dict) -> str:
    return " and ".join(f"{k} = {v}" for k, v in partition.items())


@dataclass
class Staged:
    """A table, a partition or a range of partitions (months) written as an unpublished snapshot,
    with what its writing pass measured (for a range, each partition's own: `parts`)."""

    table: str
    partition: dict | tuple[dict, ...] | None  # a range: one dict per month
    snapshot_id: int | None  # None when no row was written (no snapshot then)
    metrics: dict = field(default_factory=dict)
    bytes: int = 0
    wap: str = ""  # the write's id: run/month/write
    base: int | None = None  # `main`'s snapshot when it was staged
    collected: list | None = field(default=None, repr=False)  # a small table's rows, kept on the driver
    content: str | None = None  # the collected rows' `content_hash` (storage.py)
    unchanged: bool = False  # the rows are what `main` holds: nothing was written, nothing to commit
    parts: tuple[Staged, ...] = field(default=(), repr=False)  # a range's partitions, each a Staged

    @property
    def rows(self) -> int:
        return int(self.metrics["rows"])

    @property
    def month(self) -> str:
        """The month part of its write's id: a month, a range of months or -."""
        return self.wap.split("/")[1]

    @property
    def partitions(self) -> tuple[dict, ...]:
        return self.partition if isinstance(self.partition, tuple) else (self.partition,) if self.partition else ()

    def where(self) -> str:
        """SQL selecting the partition or partitions (every row of an unpartitioned table)."""
        clauses = [_clause(p) for p in self.partitions]
        return " or ".join(f"({c})" for c in clauses) if len(clauses) > 1 else clauses[0] if clauses else "true"

    def by_part(self) -> tuple[Staged, ...]:
        """Each partition's Staged (itself unless a range)."""
        return self.parts or (self,)

    def only(self, parts: tuple[Staged, ...]) -> Staged:
        """The write of some of a range's consecutive parts, as one Staged (one part: itself)."""
        if len(parts) == 1 or len(parts) == len(self.parts):
            return parts[0] if len(parts) == 1 else self
        run, _, write = self.wap.split("/")
        return replace(self, partition=tuple(p.partition for p in parts), parts=parts,
                       snapshot_id=self.snapshot_id if any(p.snapshot_id for p in parts) else None,
                       metrics={"rows": sum(p.rows for p in parts)}, bytes=sum(p.bytes for p in parts),
                       wap=wap_id(run, month_label([p.month for p in parts]), write))


@dataclass
class Part:
    """One partition's rows to stage (or a whole table's), and the metrics to observe on them."""

    df: DataFrame
    metrics: dict[str, Column] = field(default_factory=dict)
    partition: dict | None = None
    month: str | None = None


def where_text(staged: Staged) -> str:
    """The staged partition or months, as log and error messages show them ('' for a table)."""
    if isinstance(staged.partition, tuple):
        return f" [{staged.month}]"
    return f" [{', '.join(f'{k}={v}' for k, v in staged.partition.items())}]" if staged.partition else ""
