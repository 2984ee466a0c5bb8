"""The lake on a filesystem Hadoop can reach (a local folder, or s3a:// / s3:// on a cluster).

Every write goes to `<lake>/_staging/<id>/` first, with its row count and quality metrics
observed in that same writing pass; only then is it published in place of the old table or
partition by renames. A run that dies while writing leaves the previous version readable.
No Dagster here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

STAGING = "_staging"
TRASH = "_trash"


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
        self.root = root.rstrip("/")
        jvm = spark._jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        self._fs = self._Path(self.root).getFileSystem(spark._jsc.hadoopConfiguration())

    def path(self, table: str, partition: dict | None = None) -> str:
        """`<lake>/<table>` or, for a partition, `<lake>/<table>/k1=v1/k2=v2`."""
        parts = [self.root, table] + [f"{k}={v}" for k, v in (partition or {}).items()]
        return "/".join(parts)

    def exists(self, table: str, partition: dict | None = None) -> bool:
        return self._fs.exists(self._Path(self.path(table, partition)))

    def read(self, table: str) -> DataFrame:
        """Read a published table (partition columns included)."""
        if not self.exists(table):
            raise FileNotFoundError(
                f"table {table!r} is not in the lake at {self.path(table)}: materialize it first"
            )
        return self.spark.read.parquet(self.path(table))

    def stage(self, df: DataFrame, metrics: dict[str, Column] | None = None) -> Staged:
        """Write `df` to a fresh staging folder; count rows and compute `metrics` in that pass."""
        path = f"{self.root}/{STAGING}/{uuid.uuid4().hex}"
        observation = Observation()
        exprs = [F.count(F.lit(1)).alias("rows")] + [c.alias(n) for n, c in (metrics or {}).items()]
        df.observe(observation, *exprs).write.parquet(path)
        return Staged(path, dict(observation.get))

    def publish(self, staged: Staged, table: str, partition: dict | None = None) -> str:
        """Put a staged folder in place of the table (or partition); return its path."""
        target = self._Path(self.path(table, partition))
        trash = self._Path(f"{self.root}/{TRASH}/{uuid.uuid4().hex}")
        if self._fs.exists(target):
            self._fs.mkdirs(trash.getParent())
            self._rename(target, trash)
        self._fs.mkdirs(target.getParent())
        self._rename(self._Path(staged.path), target)
        self._fs.delete(trash, True)
        return str(target)

    def discard(self, staged: Staged) -> None:
        self._fs.delete(self._Path(staged.path), True)

    def size_bytes(self, path: str) -> int:
        return int(self._fs.getContentSummary(self._Path(path)).getLength())

    def duplicate_keys(self, path: str, keys: list[str], examples: int = 5) -> tuple[int, list]:
        """Count key values that occur more than once in a written folder; give a few."""
        dups = self.spark.read.parquet(path).groupBy(*keys).count().where("count > 1")
        row = dups.agg(
            F.count(F.lit(1)).alias("n"),
            F.slice(F.sort_array(F.collect_list(F.struct(*keys))), 1, examples).alias("ex"),
        ).first()
        found = [r[0] if len(keys) == 1 else tuple(r) for r in row["ex"]]
        return int(row["n"]), found

    def preview(self, path: str, rows: int = 5) -> list[dict]:
        return [r.asDict() for r in self.spark.read.parquet(path).limit(rows).collect()]

    def _rename(self, src, dst) -> None:
        if not self._fs.rename(src, dst):
            raise OSError(f"could not rename {src} to {dst}")
