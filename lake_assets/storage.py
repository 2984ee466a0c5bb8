"""The lake's Iceberg tables through Spark: staged writes, audits, and commits (no Dagster here).

Write-audit-publish: a table (or a month of it) is written as a snapshot that is not on the
table's `main` branch (`spark.wap.id`), with its row count and quality metrics observed in
that same writing pass. Readers of `main` do not see it. Once its checks pass it is published
by cherry-picking it onto `main`: one atomic commit in the catalog, which either lands whole
or not at all. A month's rewrite is a dynamic partition overwrite, so it replaces exactly that
month, and two runs committing different months both land. Of two runs committing the same
table or month, the second's cherry-pick fails validation: if the first committed the same rows
the second has nothing to add and succeeds, else it stops with `PublishConflict`. A snapshot that
failed a check stays in the table's metadata, inspectable by its id, until maintenance expires it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from lake_assets.catalog import EXTENSIONS, SPARK_CATALOG, TABLE_PROPERTIES, Catalog, wap_id

SMALL_TABLE_ROWS = 100_000  # checked on the driver: dimensions and analytics, not the fact


class PublishConflict(Exception):
    """Another run committed the same table or month first: this run published nothing of it."""


@dataclass
class Staged:
    """A table or partition written as an unpublished snapshot, with what its writing pass measured."""

    table: str
    partition: dict | None
    snapshot_id: int | None  # None when no row was written (no snapshot then)
    metrics: dict = field(default_factory=dict)
    bytes: int = 0
    collected: list | None = field(default=None, repr=False)  # a small table's rows, kept on the driver

    @property
    def rows(self) -> int:
        return int(self.metrics["rows"])

    def where(self) -> str:
        """SQL selecting the partition (every row of an unpartitioned table)."""
        return " and ".join(f"{k} = {v}" for k, v in (self.partition or {}).items()) or "true"


_ACTIVE: dict[int, str] = {}  # Spark session -> the catalog `lake` points at


class Lake:
    """The lake's tables under `root` through Spark: read, stage, audit, publish.

    `run_id` (the Dagster run) and the month go into every snapshot this writes."""

    def __init__(self, spark: SparkSession, root: str, catalog: Catalog | None = None, run_id: str = "-"):
        self.spark = spark
        self.catalog = catalog or Catalog.for_lake(root)
        self.root = self.catalog.warehouse
        self.run_id = run_id
        self._distinct: dict[tuple, list] = {}
        self._use()

    def _use(self) -> None:
        """Point the session's `lake` catalog at this lake (a test process may hold several)."""
        if _ACTIVE.get(id(self.spark)) == self.catalog.key:
            return
        if EXTENSIONS not in (self.spark.conf.get("spark.sql.extensions", None) or ""):
            raise RuntimeError(f"the Spark session lacks Iceberg's SQL extensions ({EXTENSIONS})")
        for key, value in self.catalog.spark_conf().items():
            self.spark.conf.set(key, value)
        self.spark._jsparkSession.sessionState().catalogManager().reset()  # reload `lake` with these settings
        self.spark.sql(f"create namespace if not exists {SPARK_CATALOG}.{self.catalog.namespace}")
        _ACTIVE[id(self.spark)] = self.catalog.key

    def name(self, table: str) -> str:
        return self.catalog.identifier(table)

    def _java_table(self, table: str):
        self._use()
        jvm = self.spark._jvm
        return jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(self.spark._jsparkSession, self.name(table))

    def tables(self) -> list[str]:
        """The lake's tables (CatalogError if the namespace holds one of another lake)."""
        self._use()
        names = sorted(r.tableName for r in self.spark.sql(f"show tables in {SPARK_CATALOG}.{self.catalog.namespace}")
                       .collect())
        return [name for name in names if self.exists(name)]

    def exists(self, table: str) -> bool:
        """Whether the lake has the table (one of another lake in the namespace is refused: CatalogError)."""
        self._use()
        if not self.spark.catalog.tableExists(self.name(table)):
            return False
        self.catalog.check_location(table, self._java_table(table).location())
        return True

    def current_snapshot(self, table: str) -> int | None:
        snapshot = self._java_table(table).currentSnapshot()
        return None if snapshot is None else snapshot.snapshotId()

    def read(self, table: str) -> DataFrame:
        """The table as `main` holds it now."""
        if not self.exists(table):
            raise FileNotFoundError(f"table {table!r} is not in the lake at {self.root}: materialize it first")
        return self.spark.table(self.name(table))

    def distinct_values(self, table: str, column: str) -> list:
        """The distinct values of a column of a (small) table, e.g. a dimension's keys; kept
        until the table's snapshot changes, so a run over many months collects them once."""
        key = (table, column, self.current_snapshot(table))
        if key not in self._distinct:
            self._distinct[key] = [r[0] for r in self.read(table).select(column).distinct().collect()]
        return self._distinct[key]

    # ------------------------------------------------------------ write, audit, publish

    def _create(self, table: str, df: DataFrame, partition: dict | None) -> None:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in df.schema.fields)
        properties = ", ".join(f"'{k}' = '{v}'" for k, v in TABLE_PROPERTIES.items())
        partitioned = f"partitioned by ({', '.join(partition)})" if partition else ""
        try:
            self.spark.sql(f"create table if not exists {self.name(table)} ({columns}) using iceberg {partitioned} "
                           f"location '{self.catalog.table_location(table)}' tblproperties ({properties})")
        except Exception as exc:  # noqa: BLE001 - another run created it a moment ago
            if "already exists" not in str(exc).lower():
                raise

    def _add_missing_properties(self, table: str) -> None:
        """Give a table made before a property joined TABLE_PROPERTIES the ones it lacks."""
        have = self._java_table(table).properties()
        missing = ", ".join(f"'{k}' = '{v}'" for k, v in TABLE_PROPERTIES.items() if k not in have)
        if missing:
            self.spark.sql(f"alter table {self.name(table)} set tblproperties ({missing})")

    def stage(self, table: str, df: DataFrame, metrics: dict[str, Column] | None = None,
              partition: dict | None = None, month: str | None = None) -> Staged:
        """Write `df` as an unpublished snapshot replacing the table (or its `partition`); count
        rows and compute `metrics` in that pass. An unpartitioned table of at most
        SMALL_TABLE_ROWS rows is computed once onto the driver and written from there: its key
        check and preview then read those rows, not the snapshot."""
        self._use()
        collected = None
        if partition is None:
            collected = df.limit(SMALL_TABLE_ROWS + 1).collect()
            if len(collected) > SMALL_TABLE_ROWS:
                collected = None
            else:
                df = self.spark.createDataFrame(collected, df.schema)
        if not self.exists(table):
            self._create(table, df, partition)
        self._add_missing_properties(table)
        wap = wap_id(self.run_id, month, uuid.uuid4().hex[:8])
        observation = Observation()
        exprs = [F.count(F.lit(1)).alias("rows")] + [c.alias(n) for n, c in (metrics or {}).items()]
        self.spark.conf.set("spark.wap.id", wap)
        try:
            df.observe(observation, *exprs).writeTo(self.name(table)).option("merge-schema", "true") \
                .overwritePartitions()
        finally:
            self.spark.conf.unset("spark.wap.id")
        metrics = dict(observation.get)
        if not metrics["rows"]:  # Iceberg commits no snapshot for an empty overwrite
            return Staged(table, partition, None, metrics)
        snapshot = self._staged_snapshot(table, wap)
        return Staged(table, partition, snapshot.snapshotId(), metrics,
                      int(snapshot.summary().get("added-files-size") or 0), collected)

    def _staged_snapshot(self, table: str, wap: str):
        snapshots = list(self._java_table(table).snapshots())
        return next(s for s in reversed(snapshots) if s.summary().get("wap.id") == wap)

    def _staged_rows(self, staged: Staged) -> DataFrame:
        return self.spark.read.option("snapshot-id", staged.snapshot_id).table(self.name(staged.table)) \
            .where(staged.where())

    def publish(self, staged: Staged) -> int:
        """Make a staged snapshot the table's (or partition's) content on `main`; return the
        snapshot `main` then points at. If another run committed the same table or month since
        this one was staged, its version stands: when it holds the same rows this run's is
        published as it (the runs did the same work), else PublishConflict."""
        self._use()
        try:
            if staged.rows == 0:  # an empty overwrite replaces nothing: empty the partition instead
                self.spark.sql(f"delete from {self.name(staged.table)} where {staged.where()}")
            else:
                self.spark.sql(f"call {SPARK_CATALOG}.system.cherrypick_snapshot("
                               f"'{self.name(staged.table)}', {staged.snapshot_id})")
        except Exception as exc:  # noqa: BLE001
            text = str(exc)
            if "Cannot cherry-pick" not in text and "CommitFailedException" not in text:
                raise
            if not self._same_rows(staged):
                where = f" [{', '.join(f'{k}={v}' for k, v in staged.partition.items())}]" if staged.partition else ""
                raise PublishConflict(
                    f"{staged.table}{where}: another run committed a different version of it while this run "
                    f"was checking its own (snapshot {staged.snapshot_id}, not published); the table holds the "
                    "other run's complete version: build it again if this run's should win") from None
        return self.current_snapshot(staged.table)

    def _same_rows(self, staged: Staged) -> bool:
        """Whether `main` holds exactly the staged rows in the staged table or partition."""
        mine = self._staged_rows(staged)
        current = self.read(staged.table).where(staged.where())
        if sorted(current.columns) != sorted(mine.columns) or current.count() != staged.rows:
            return False
        return mine.exceptAll(current.select(*mine.columns)).isEmpty()

    # ------------------------------------------------------------ audits of a staged snapshot

    def duplicate_keys(self, staged: Staged, keys: list[str], examples: int = 5) -> tuple[int, list]:
        """Count key values that occur more than once in a staged table or partition; give a few.
        A small table's keys are counted on the driver (from its rows kept there, else collected
        in one job); a big one's grouped (a shuffle)."""
        if staged.snapshot_id is None:
            return 0, []
        if staged.rows <= SMALL_TABLE_ROWS:
            written = staged.collected or self._staged_rows(staged).select(*keys).collect()
            counts = Counter(tuple(r[k] for k in keys) for r in written)
            dups = sorted((k for k, n in counts.items() if n > 1), key=lambda k: [(v is not None, v) for v in k])
            return len(dups), [k[0] if len(keys) == 1 else k for k in dups[:examples]]
        row = self._staged_rows(staged).select(*keys).groupBy(*keys).count().where("count > 1").agg(
            F.count(F.lit(1)).alias("n"),
            F.slice(F.sort_array(F.collect_list(F.struct(*keys))), 1, examples).alias("ex"),
        ).first()
        return int(row["n"]), [r[0] if len(keys) == 1 else tuple(r) for r in row["ex"]]

    def preview(self, staged: Staged, columns: tuple[str, ...], rows: int = 5) -> list[dict]:
        """A few rows of a staged snapshot, in `columns` only: those declared safe to show (not
        person-level; a column nobody declared is not shown either)."""
        if staged.snapshot_id is None:
            return []
        if staged.collected is not None:
            return [{c: r[c] for c in columns} for r in staged.collected[:rows]]
        df = self._staged_rows(staged)
        return [r.asDict() for r in df.select(*columns).limit(rows).collect()]
