"""What a lake table is declared with, and what its build is handed (no Dagster here).

A `Table` is one lake table: its columns, key, checks and code version. A `Build` is what one
asset computes (the fact's multi-asset builds two tables): its group, the sources and tables
its tables read (the assets' deps, and the only lake tables its function may read) and the
function.
Assets are made from these by `lake_assets.orchestration.assets.factory`; the engines run the function.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Callable

from pyspark.sql import DataFrame, SparkSession

from lake_assets.core.quality import Check
from lake_assets.core.storage import Lake

Source = tuple[str, str]  # (upstream asset: a raw source or a lake table, its column)


@dataclass(frozen=True)
class Column:
    """A column: its name, Spark SQL type and description; whether its values are person-level
    (never shown in previews, check examples, logs or mails: only columns declared safe are);
    and the upstream columns it is computed from (its column lineage)."""

    name: str
    type: str
    description: str
    personal: bool = False
    sources: tuple[Source, ...] = ()

    def of(self, *sources: Source) -> Column:
        """The same column, computed from `sources`."""
        return replace(self, sources=sources)


def columns_of(asset: str, *names: str) -> tuple[Source, ...]:
    """Sources in one upstream asset: `(asset, name)` for each name."""
    return tuple((asset, name) for name in names)


@dataclass(frozen=True)
class Table:
    """A lake table: what it is computed from, its columns, its key (unique, not null; none for rejects), its checks, the
    aggregates reported in its metadata, and its code version (bump it when what builds it
    changes: the table and what is built from it then show stale, and the automation rebuilds
    them). Check SQL may use $first_day/$last_day of a partition."""

    name: str
    description: str
    reads: tuple[str, ...]  # raw sources (raw_*) and lake tables it is computed from: its asset's deps
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    reported: dict[str, str] = field(default_factory=dict)
    code_version: str = "1"

    def __post_init__(self):
        shown = {*self.keys, *(column for check in self.checks for column in check.references)}
        personal = {c.name for c in self.columns if c.personal}
        undeclared = shown - {c.name for c in self.columns}
        if shown & personal or undeclared:
            raise ValueError(f"{self.name}: check examples show only declared, non-personal columns, "
                             f"not {', '.join(sorted(shown & personal | undeclared))}")

    @property
    def safe_columns(self) -> tuple[str, ...]:
        """The columns that previews, examples, logs and mails may show: those not person-level."""
        return tuple(c.name for c in self.columns if not c.personal)

    @property
    def example(self) -> str:
        """SQL naming a row in a check's examples (its key)."""
        if not self.keys:
            return "coalesce(cast(cicid as string), 'cicid null')"
        return self.keys[0] if len(self.keys) == 1 else f"concat_ws('/', {', '.join(self.keys)})"

    def all_checks(self) -> tuple[Check, ...]:
        """Its checks, the key's first."""
        if not self.keys:
            return self.checks
        key = Check(
            "key_unique_not_null", f"({', '.join(self.keys)}) is unique and never null",
            bad_rows=" or ".join(f"{k} is null" for k in self.keys))
        return (key, *self.checks)


@dataclass(frozen=True)
class Build:
    """What one asset computes: `function(inputs)` (monthly: `function(inputs, month)`) returns
    the outputs of its `tables`, reading no lake table that they do not declare."""

    name: str
    group: str  # the asset group: dimensions, immigration or analytics
    tables: tuple[Table, ...]
    function: Callable[..., list[TableOutput]]
    monthly: bool = False
    charts: tuple[str, ...] = ()  # sections of the report shown on each materialization

    @property
    def reads(self) -> tuple[str, ...]:
        """What its tables read, together."""
        return tuple(dict.fromkeys(name for table in self.tables for name in table.reads))


class BuildError(Exception):
    """A build cannot run (missing input, undeclared read): the message says what to do."""


@dataclass
class Inputs:
    """Where a build reads and writes, and how it logs. `reads`: the lake tables it may read."""

    spark: SparkSession
    lake: Lake
    raw_dir: str
    cache_dir: str
    log: Callable[[str], None] = print
    reads: frozenset[str] | None = None  # None: any (outside a build)

    def read(self, table: str) -> DataFrame:
        """A lake table, if the build declared it among what it reads."""
        if self.reads is not None and table not in self.reads:
            raise BuildError(f"the build reads {table} but does not declare it (lake_assets.core.tables)")
        return self.lake.read(table)


@dataclass
class TableOutput:
    """A DataFrame to publish as `table` (or one partition of it)."""

    table: str
    df: DataFrame | Callable[[], DataFrame]  # a callable is called when the outputs before it are staged
    partition: dict | None = None
    params: dict | None = None  # values for $first_day/$last_day in the table's check SQL
    # Measured elsewhere in the same pass (e.g. raw rows): called once every output of the
    # build is staged, with the rows staged per table.
    extra_metrics: Callable[[dict[str, int]], dict] | None = None


def partition_params(first: date, last: date) -> dict:
    """The check SQL's $first_day/$last_day of a month."""
    return {"first_day": first.isoformat(), "last_day": last.isoformat()}
