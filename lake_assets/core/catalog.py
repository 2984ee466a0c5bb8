"""The lake's Apache Iceberg catalog: where its tables are registered, for Spark and for Python.

A lake is a warehouse (`<lake>`, a folder or an `s3://` prefix; each table at `<lake>/<table>`)
and a catalog that records each table's current snapshot:

- a local lake: the SQLite file `<lake>/catalog.db` (Iceberg's JDBC catalog; no server);
- `LAKE_CATALOG=/path/to/catalog.db`: that SQLite file; for a lake on S3 only in tests
  (`LAKE_ALLOW_LOCAL_CATALOG=1`): two machines would keep two catalogs over the same files;
- `LAKE_CATALOG=glue`: the AWS Glue Data Catalog, which Athena and EMR read (the default on S3).
  Off AWS (tests: moto) `LAKE_GLUE_ENDPOINT` and `LAKE_S3_ENDPOINT` name the servers.

Tables are `<namespace>.<table>` (`LAKE_NAMESPACE`, default `lake`); in Spark, under the catalog
`lake`. Commits are atomic compare-and-swaps in the catalog, so concurrent writers never
corrupt a table. A table registered at a location outside the lake (another lake sharing the
namespace) is refused, never read or written. Python readers (`lake query`, `tables`,
`history`, the report) read snapshots through pyiceberg, which shares the SQLite catalog's
tables with Iceberg's JDBC catalog.
No Spark and no Dagster here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from lake_assets.core import settings
from lake_assets.core.s3 import is_s3

SPARK_CATALOG = "lake"  # the catalog's name in Spark SQL: lake.<namespace>.<table>
GLUE = "glue"
EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
# Every table: format v2, write-audit-publish (writes with a wap.id stay off `main` until
# cherry-picked), one file per task with neither a shuffle nor a sort before the write (a
# write is one month, one partition: fanout costs nothing), snappy as Spark writes parquet,
# and new columns of a transform accepted as schema evolution.
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.wap.enabled": "true",
    "write.distribution-mode": "none",
    "write.spark.fanout.enabled": "true",
    "write.parquet.compression-codec": "snappy",
    "write.spark.accept-any-schema": "true",
    "write.delete.mode": "copy-on-write",
    "write.update.mode": "copy-on-write",
    "write.merge.mode": "copy-on-write",
}


class CatalogError(Exception):
    """The catalog cannot be reached or a table is not in it: one line for the user."""


@dataclass(frozen=True)
class Catalog:
    """A lake's warehouse, catalog and namespace."""

    warehouse: str
    location: str  # a SQLite file, or "glue"
    namespace: str = "lake"

    @classmethod
    def for_lake(cls, lake: str | Path, location: str | None = None, namespace: str | None = None) -> "Catalog":
        """The catalog of the lake at `lake`: `location`, else `$LAKE_CATALOG`, else `<lake>/catalog.db`
        for a local lake and Glue for a lake on S3."""
        warehouse = str(lake).rstrip("/") if is_s3(lake) else str(Path(lake).absolute())
        location = location or settings.CATALOG.value() or (GLUE if is_s3(lake) else f"{warehouse}/catalog.db")
        if location != GLUE:
            location = str(Path(location).absolute())
            if is_s3(lake) and not settings.ALLOW_LOCAL_CATALOG.flag():
                raise CatalogError(f"a lake on S3 needs a shared catalog: LAKE_CATALOG=glue, not the SQLite file "
                                   f"{location} (two machines would keep two catalogs of the same tables)")
        return cls(warehouse, location, namespace or settings.NAMESPACE.value())

    @property
    def glue(self) -> bool:
        return self.location == GLUE

    def table_location(self, table: str) -> str:
        return f"{self.warehouse}/{table}"

    def check_location(self, table: str, location: str) -> None:
        """Refuse a table the catalog holds outside this lake: another lake shares the namespace
        (a table's location is fixed when it is created)."""
        if not _plain(location).startswith(_plain(self.warehouse) + "/"):
            raise CatalogError(f"table {self.namespace}.{table} is at {location}, outside the lake {self.warehouse}: "
                               "another lake uses this catalog namespace (give each lake its own LAKE_NAMESPACE)")

    def identifier(self, table: str) -> str:
        """The table's name in Spark SQL."""
        return f"{SPARK_CATALOG}.{self.namespace}.{table}"

    def spark_conf(self) -> dict[str, str]:
        """The `spark.sql.catalog.lake*` settings of this catalog."""
        prefix = f"spark.sql.catalog.{SPARK_CATALOG}"
        conf = {prefix: "org.apache.iceberg.spark.SparkCatalog", f"{prefix}.warehouse": self.warehouse}
        if self.glue:  # Iceberg's own S3 client, as AWS documents for EMR
            conf |= {f"{prefix}.type": "glue", f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO"}
            return conf | {f"{prefix}.{key}": value for key, value in _aws_properties(java=True).items()}
        self.create()
        return conf | {
            f"{prefix}.type": "jdbc",
            f"{prefix}.uri": f"jdbc:sqlite:{self.location}",
            # Iceberg's JDBC catalog checks for its tables with a metadata query whose result
            # it never closes: on SQLite that holds a read lock for the life of the process,
            # and every other process's commit then fails with SQLITE_BUSY. `create()` made
            # the tables, so the check is skipped.
            f"{prefix}.jdbc.init-catalog-tables": "false",
            # A commit of another process holds the lock for milliseconds: wait for it.
            f"{prefix}.jdbc.busy_timeout": "60000",
        }

    def create(self) -> None:
        """Create the SQLite catalog's tables if they are missing (pyiceberg's, which Iceberg's
        JDBC catalog shares); safe when several processes start a new lake at once."""
        from sqlalchemy.exc import OperationalError

        Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            try:
                self._sqlite()
                return
            except OperationalError as exc:  # another process created a table between check and create
                if "already exists" not in str(exc) or attempt == 2:
                    raise

    @property
    def key(self) -> str:
        return hashlib.sha1(f"{self.warehouse}|{self.location}|{self.namespace}".encode()).hexdigest()[:12]

    # ------------------------------------------------------------ Python readers

    def python(self):
        """This catalog through pyiceberg (reads snapshots; writes stay with Spark)."""
        if self.glue:
            return _glue_catalog(self.warehouse, tuple(sorted(_aws_properties(java=False).items())))
        if not Path(self.location).is_file():
            elsewhere = "" if self.location == f"{self.warehouse}/catalog.db" else f" (no catalog {self.location})"
            raise CatalogError(f"no lake at {self.warehouse}{elsewhere}: build one with `lake build` or pass --lake")
        return self._sqlite()

    def _sqlite(self):
        return _load_catalog(self.warehouse, type="sql", uri=f"sqlite:///{self.location}", **_aws_properties(java=False))

    def tables(self) -> list[str]:
        """The names of the lake's tables."""
        catalog = self.python()
        try:
            return sorted(name for _, name in catalog.list_tables(self.namespace))
        except Exception as exc:  # noqa: BLE001 - a missing namespace, an unreachable catalog
            if "does not exist" in str(exc) or "NoSuchNamespace" in type(exc).__name__:
                return []
            raise CatalogError(f"cannot read the catalog {self.location}: {exc}") from None

    def load(self, table: str):
        """A table as pyiceberg reads it."""
        try:
            loaded = self.python().load_table((self.namespace, table))
        except Exception as exc:  # noqa: BLE001
            if "NoSuchTable" in type(exc).__name__:
                raise CatalogError(f"table {table!r} is not in the lake at {self.warehouse}") from None
            raise
        self.check_location(table, loaded.location())
        return loaded


def _load_catalog(warehouse: str, **properties: str):
    from pyiceberg.catalog import load_catalog

    return load_catalog(SPARK_CATALOG, warehouse=warehouse, **properties)


@lru_cache(maxsize=4)
def _glue_catalog(warehouse: str, properties: tuple[tuple[str, str], ...]):
    """pyiceberg's Glue catalog, made once per warehouse and settings in a process: making its boto3
    client reads botocore's service files (~0.3 s of CPU), which a read of every table paid per table."""
    return _load_catalog(warehouse, type="glue", **dict(properties))


def _plain(location: str) -> str:
    """A location as one spelling: `s3a://` as `s3://`, `file:/x` as `/x`, no trailing slash."""
    for scheme, plain in (("s3a://", "s3://"), ("file://", ""), ("file:", "")):
        if location.startswith(scheme):
            location = plain + location[len(scheme):]
    return location.rstrip("/")


def _aws_properties(java: bool) -> dict[str, str]:
    """Iceberg's AWS settings from the environment `lake_assets.core.s3` reads, for Spark's GlueCatalog
    and S3FileIO (`java`) or for pyiceberg. Unset on AWS: the SDKs' default chains then find the
    region and the credentials (on EMR, the instance role); Spark's Glue client always takes
    its credentials from that chain."""
    names = {"access_key": "access-key-id", "secret_key": "secret-access-key", "session_token": "session-token"}
    props = {f"s3.{names[key]}": value for key, value in settings.aws_credentials().items()}
    if settings.S3_ENDPOINT.value():  # a non-AWS server: path-style requests
        props["s3.endpoint"] = settings.S3_ENDPOINT.value()
        props |= {"s3.path-style-access": "true"} if java else {"s3.force-virtual-addressing": "false"}
    if settings.GLUE_ENDPOINT.value():
        props["glue.endpoint"] = settings.GLUE_ENDPOINT.value()
    region = settings.aws_region()
    if java:
        return props | ({"client.region": region} if region else {})
    return props | {"s3.region": region or "us-east-1", "glue.region": region or "us-east-1"}


# ---------------------------------------------------------------- write-audit-publish ids


def wap_id(run_id: str, month: str | None, write: str) -> str:
    """The id a staged write carries (`wap.id`, then `published-wap-id` on `main`): the Dagster
    run, the month (a range of months: `month_label`; - for none) and the write, so every
    snapshot says which run and months it holds."""
    return f"{run_id}/{month or '-'}/{write}"


def month_label(months: list[str | None]) -> str | None:
    """The month part of a write's id: its month ('2016-04'), a range of months
    ('2016-01..2016-12', contiguous), or None for an unpartitioned table."""
    if months[0] is None:
        return None
    return months[0] if len(months) == 1 else f"{months[0]}..{months[-1]}"


def months_of(label: str) -> list[str]:
    """The months a write's month part names (none for '-')."""
    if label == "-":
        return []
    first, _, last = label.partition("..")
    year, month = int(first[:4]), int(first[5:7])
    months = [first]
    while last and months[-1] < last:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        months.append(f"{year}-{month:02d}")
    return months


def snapshot_origin(summary: dict) -> tuple[str, str]:
    """(run id, month or range of months) of a snapshot written by a build, ("-", "-") for others
    (maintenance, rollback)."""
    wap = summary.get("wap.id") or summary.get("published-wap-id")
    if not wap or wap.count("/") != 2:
        return "-", "-"
    run, month, _ = wap.split("/")
    return run, month


def timestamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
