"""The lake's tables through Spark, on a local disk or on S3 (`s3://`/`s3a://`, via s3a).

Every write goes to `<lake>/_staging/<id>/` first, with its row count and quality metrics
observed in that same writing pass; only then is it published in place of the old table or
partition (by renames locally, by a manifest on S3: see `lake_assets.lakefiles`). A run that
dies while writing leaves the previous version readable; `lake build` starts by removing
what such a run left (`LakeFiles.recover`). No Dagster here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from lake_assets.lakefiles import LakeFiles

SMALL_TABLE_ROWS = 100_000  # checked on the driver: dimensions and analytics, not the fact


@dataclass
class Staged:
    """A table or partition written to staging, with what its writing pass measured."""

    path: str
    metrics: dict = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.metrics["rows"])


class Lake:
    """Paths, staged writes and atomic publication of the lake's tables under `root`."""

    def __init__(self, spark: SparkSession, root: str):
        self.spark = spark
        self.files = LakeFiles(root)
        self.root = self.files.root
        self._distinct: dict[tuple, list] = {}
        self.files.recover()  # a publish killed half-way: its table back at its last good version

    def path(self, table: str, partition: dict | None = None) -> str:
        """`<lake>/<table>` or, for a partition, `<lake>/<table>/k1=v1/k2=v2`."""
        return self.files.path(table, partition)

    def exists(self, table: str, partition: dict | None = None) -> bool:
        return self.files.exists(table, partition)

    def read(self, table: str) -> DataFrame:
        """Read a table's current version (partition columns included)."""
        files = self.files.current_files(table)
        if not files:
            raise FileNotFoundError(
                f"table {table!r} is not in the lake at {self.path(table)}: materialize it first"
            )
        return self.spark.read.option("basePath", self.path(table)).parquet(*files)

    def distinct_values(self, table: str, column: str) -> list:
        """The distinct values of a column of a (small) table, e.g. a dimension's keys; kept
        until the table's files change, so a run over many months collects them once."""
        files = tuple(self.files.current_files(table))
        key = (table, column, files)
        if key not in self._distinct:
            self._distinct[key] = [r[0] for r in self.read(table).select(column).distinct().collect()]
        return self._distinct[key]

    def stage(self, df: DataFrame, metrics: dict[str, Column] | None = None) -> Staged:
        """Write `df` to a fresh staging folder; count rows and compute `metrics` in that pass."""
        path = self.files.staging_path()
        observation = Observation()
        exprs = [F.count(F.lit(1)).alias("rows")] + [c.alias(n) for n, c in (metrics or {}).items()]
        df.observe(observation, *exprs).write.parquet(path)
        return Staged(path, dict(observation.get))

    def publish(self, staged: Staged, table: str, partition: dict | None = None) -> str:
        """Put a staged folder in place of the table (or partition); return its path."""
        return self.files.publish(staged.path, table, partition)

    def discard(self, staged: Staged) -> None:
        self.files.delete(staged.path)

    def keep_rejected(self, staged: Staged) -> None:
        """Keep a staged folder that failed a blocking check (the next build's clean-up spares it)."""
        self.files.keep_rejected(staged.path)

    def size_bytes(self, path: str) -> int:
        return self.files.size_bytes(path)

    def duplicate_keys(self, path: str, keys: list[str], rows: int, examples: int = 5) -> tuple[int, list]:
        """Count key values that occur more than once in a written folder of `rows` rows; give
        a few. A small table's keys are collected (one job, 0.1 s); a big one's grouped (a
        shuffle, 0.3 s at the least)."""
        written = self.spark.read.parquet(path).select(*keys)
        if rows <= SMALL_TABLE_ROWS:
            counts = Counter(tuple(r) for r in written.collect())
            dups = sorted((k for k, n in counts.items() if n > 1), key=lambda k: [(v is not None, v) for v in k])
            return len(dups), [k[0] if len(keys) == 1 else k for k in dups[:examples]]
        row = written.groupBy(*keys).count().where("count > 1").agg(
            F.count(F.lit(1)).alias("n"),
            F.slice(F.sort_array(F.collect_list(F.struct(*keys))), 1, examples).alias("ex"),
        ).first()
        return int(row["n"]), [r[0] if len(keys) == 1 else tuple(r) for r in row["ex"]]

    def preview(self, path: str, rows: int = 5) -> list[dict]:
        return [r.asDict() for r in self.spark.read.parquet(path).limit(rows).collect()]
