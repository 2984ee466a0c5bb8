"""The lake's Iceberg tables through Spark: staged writes, audits, and commits (no Dagster here).

Write-audit-publish: a table (or a month of it) is written as a snapshot that is not on the
table's `main` branch (`spark.wap.id`), with its row count and quality metrics observed in
that same writing pass. Readers of `main` do not see it, nor its new columns. Once its checks
pass it is published: its files committed onto `main` as the table's (or month's) content,
one atomic commit in the catalog, which either lands whole or not at all. Two runs committing
different months both land. Of two runs committing the same table or month, the second's
commit fails Iceberg's validation: if the first committed the same rows the second has
nothing to add and succeeds, else it stops with `PublishConflict`. Compaction in between is
no conflict. A month's second table (the rejects) follows its first (the fact): it is made
the version of the run whose fact `main` holds. A range of months is one staged write and
one commit (month by month when another run committed one of its months meanwhile). A
snapshot that failed a check stays in the table's metadata, inspectable by its id, until
maintenance expires it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from functools import reduce

from py4j.protocol import Py4JJavaError

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from lake_assets.core.catalog import (
    EXTENSIONS, SPARK_CATALOG, TABLE_PROPERTIES, Catalog, month_label, months_of, snapshot_origin, wap_id,
)
from lake_assets.core.failures import CommitRetryable, PublishConflict, already_exists, classified
from lake_assets.core.staged import (CONTENT, Part, Staged, committed_by, content_hash, main_content, months, published_write,
                                     summary_tag, where_text)

SMALL_TABLE_ROWS = 100_000  # checked on the driver: dimensions and analytics, not the fact
COMMIT_ATTEMPTS = 5  # of a follower's month, each after another run's commit to it
FOLLOWS = "follows-wap-id"  # in a follower's commit: the leader's write (published-wap-id) it goes with

_ACTIVE: dict[int, str] = {}  # Spark session -> the catalog `lake` points at
# (catalog, table) -> (snapshot of `main`, the rows it holds): a small table as this process last
# published it, so a later build reads its keys from these rows instead of running a job.
_PUBLISHED: dict[tuple[str, str], tuple[int, list]] = {}


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
        prefix = f"spark.sql.catalog.{SPARK_CATALOG}"
        for key, _ in self.spark.sql("set").collect():  # every setting of the session (no Spark job)
            if key.startswith(prefix + "."):  # another catalog's settings (Glue's S3FileIO …)
                self.spark.conf.unset(key)
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
        until the table's snapshot changes, so a run over many months collects them once; taken
        from the rows of a small table this process published (no Spark job) while `main` holds them."""
        key = (table, column, self.current_snapshot(table))
        if key not in self._distinct:
            snapshot, rows = _PUBLISHED.get((self.catalog.key, table), (None, []))
            self._distinct[key] = list(dict.fromkeys(r[column] for r in rows)) if snapshot == key[2] else \
                [r[0] for r in self.read(table).select(column).distinct().collect()]
        return self._distinct[key]

    # ------------------------------------------------------------ write, audit, publish

    def _create(self, table: str, df: DataFrame, partition: dict | None) -> None:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in df.schema.fields)
        properties = ", ".join(f"'{k}' = '{v}'" for k, v in TABLE_PROPERTIES.items())
        partitioned = f"partitioned by ({', '.join(partition)})" if partition else ""
        try:
            self.spark.sql(f"create table if not exists {self.name(table)} ({columns}) using iceberg {partitioned} "
                           f"location '{self.catalog.table_location(table)}' tblproperties ({properties})")
        except (AnalysisException, Py4JJavaError) as exc:  # another run created it a moment ago
            if not already_exists(exc):
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
        rows and compute `metrics` in that pass."""
        return self.stage_parts(table, [Part(df, metrics or {}, partition, month)])

    def stage_parts(self, table: str, parts: list[Part]) -> Staged:
        """Write the parts (a table, a month, or a range of months: one dynamic partition
        overwrite of them all) as one unpublished snapshot; count each part's rows and compute its
        metrics in that pass. A range's Staged has each month's as `parts`. Each month's rows come
        from its own input splits, so a task writes one month (one open file) and no shuffle is
        needed. An unpartitioned table of at most SMALL_TABLE_ROWS rows is computed once onto
        the driver and written from there: its key check and preview then read those rows, not
        the snapshot; if `main` holds the same rows (the `content_hash` in its snapshot's
        summary), nothing is written (`Staged.unchanged`)."""
        self._use()
        collected = content = None
        df = parts[0].df
        if parts[0].partition is None:
            with self._setting("spark.sql.limit.initialNumPartitions", str(SMALL_TABLE_ROWS)):  # one job, not 2
                collected = df.limit(SMALL_TABLE_ROWS + 1).collect()
            if len(collected) > SMALL_TABLE_ROWS:
                collected = None
            else:
                df = self.spark.createDataFrame(collected, df.schema)
                parts = [replace(parts[0], df=df)]
                content = content_hash(df.schema, collected)
        if not self.exists(table):
            self._create(table, parts[0].df, parts[0].partition)
        elif content is not None:
            current = self._refreshed(table)
            if main_content(current) == content:  # `main` holds these rows: measure them, write nothing
                exprs = [F.count(F.lit(1)).alias("rows")] + [c.alias(n) for n, c in parts[0].metrics.items()]
                snapshot_id = current.currentSnapshot().snapshotId()
                return Staged(table, None, snapshot_id, df.select(*exprs).first().asDict(), base=snapshot_id,
                              collected=collected, content=content, unchanged=True)
        self._add_missing_properties(table)
        before = self._refreshed(table)
        base, schema = before.currentSnapshot(), before.schema().schemaId()
        base = None if base is None else base.snapshotId()
        write = uuid.uuid4().hex[:8]
        wap = wap_id(self.run_id, month_label([p.month for p in parts]), write)
        observations = [Observation() for _ in parts]
        observed = [p.df.observe(o, F.count(F.lit(1)).alias("rows"), *[c.alias(n) for n, c in p.metrics.items()])
                    for p, o in zip(parts, observations)]
        writer = reduce(DataFrame.unionByName, observed).writeTo(self.name(table)).option("merge-schema", "true")
        if content is not None:
            writer = writer.option(f"snapshot-property.{CONTENT}", content)
        # The months' code is the same: one class, not one per month (compiled and warmed up 12
        # times: the union numbers each month's codegen stages, and the class name holds the number).
        with self._setting("spark.wap.id", wap), self._setting("spark.sql.codegen.useIdInClassName", "false"):
            writer.overwritePartitions()
        self._restore_schema(table, schema)
        measured = [dict(o.get) for o in observations]
        snapshot = self._staged_snapshot(table, wap) if any(m["rows"] for m in measured) else None
        sizes = self._sizes(table, snapshot)  # Iceberg commits no snapshot for an empty overwrite
        staged = [Staged(table, p.partition, snapshot.snapshotId() if m["rows"] else None, m,
                         sizes.get("/".join(f"{k}={v}" for k, v in (p.partition or {}).items()), 0),
                         wap_id(self.run_id, p.month, write), base, collected, content)
                  for p, m in zip(parts, measured)]
        if len(staged) == 1:
            return staged[0]
        return Staged(table, tuple(p.partition for p in parts), None if snapshot is None else snapshot.snapshotId(),
                      {"rows": sum(m["rows"] for m in measured)}, sum(sizes.values()), wap, base, parts=tuple(staged))

    @contextmanager
    def _setting(self, key: str, value: str):
        """The session's setting `key` at `value` for a block, then as it was."""
        before = self.spark.conf.get(key, None)
        self.spark.conf.set(key, value)
        try:
            yield
        finally:
            self.spark.conf.unset(key) if before is None else self.spark.conf.set(key, before)

    def _sizes(self, table: str, snapshot) -> dict[str, int]:
        """Bytes a snapshot added per partition ('i94yr=2016/i94mon=4'; '' unpartitioned)."""
        if snapshot is None:
            return {}
        t, sizes = self._java_table(table), Counter()
        for file in snapshot.addedDataFiles(t.io()):
            sizes[t.specs().get(file.specId()).partitionToPath(file.partition())] += file.fileSizeInBytes()
        return sizes

    def _restore_schema(self, table: str, schema_id: int) -> None:
        """Give `main` back the schema it had before a staged write that evolved it (Spark's
        `merge-schema` commits new columns at once): they reach `main` with the snapshot that
        holds them, when it is published."""
        self._set_schema(self._refreshed(table), schema_id)

    def _set_schema(self, table, schema_id: int) -> None:
        """Make one of the table's schemas its current one (a metadata commit, no snapshot)."""
        if table.schema().schemaId() == schema_id:
            return
        operations = table.operations()
        current = operations.current()
        try:
            operations.commit(current, self.spark._jvm.org.apache.iceberg.TableMetadata.buildFrom(current)
                              .setCurrentSchema(schema_id).build())
        except Py4JJavaError as exc:
            raise classified(exc, table.name()) from None

    def _staged_snapshot(self, table: str, wap: str):
        snapshots = list(self._java_table(table).snapshots())
        return next(s for s in reversed(snapshots) if s.summary().get("wap.id") == wap)

    def _staged_rows(self, staged: Staged) -> DataFrame:
        # `version as of` reads with the snapshot's schema (its new columns too), unlike the option
        return self.spark.sql(f"select * from {self.name(staged.table)} version as of {staged.snapshot_id}") \
            .where(staged.where())

    def publish(self, staged: Staged) -> int:
        """Make a staged snapshot the table's (or partition's) content on `main`; return the
        snapshot `main` then points at. If another run committed the same table or month since
        this one was staged, its version stands: when it holds the same rows this run's counts
        as published (the runs did the same work), else PublishConflict. Maintenance (compaction)
        in between is no conflict. A range of months is one commit, unless another run committed
        one of its months since: then each month is published on its own."""
        table = self._refreshed(staged.table)
        if staged.unchanged:  # nothing to commit, if `main` still holds the same rows
            if main_content(table) != staged.content:
                raise PublishConflict(f"{staged.table}: another run committed a different version of it while "
                                      "this run was checking its own (the same as the table held): build it again")
            return self._remember(staged)
        if published_write(self._month_commit(table, staged)) == staged.wap or \
                staged.snapshot_id is None and not self._has_rows(table, staged):
            return self.current_snapshot(staged.table)  # published before, or nothing to commit
        base = self._staged_parent(table, staged)
        other = self._committed_since(table, staged, base)
        if other is None:
            try:
                self._commit(table, staged, staged.snapshot_id, staged.wap, base)
                return self._remember(staged)
            except PublishConflict:
                other = self._month_commit(table, staged)
        if staged.parts:
            return self._each_part(self.publish, staged)
        if not self._same_rows(staged):
            run = committed_by(other)
            raise PublishConflict(
                f"{staged.table}{where_text(staged)}: another run committed a different version of it while this run "
                f"was checking its own (snapshot {staged.snapshot_id}, not published); the table holds "
                + (f"run {run}'s version" if run else "what its main now holds (it moved since this run staged: "
                   "a rollback?)") + ": build it again if this run's should win") from None
        return self.current_snapshot(staged.table)

    def _remember(self, staged: Staged) -> int:
        """The snapshot `main` holds; if it holds a small table's collected rows (the same
        `content_hash`), they are kept for `distinct_values`."""
        table = self._refreshed(staged.table)
        current = table.currentSnapshot()
        if staged.collected is not None and main_content(table) == staged.content:
            _PUBLISHED[(self.catalog.key, staged.table)] = (current.snapshotId(), staged.collected)
        return None if current is None else current.snapshotId()

    def _each_part(self, publish, staged: Staged) -> int:
        """Publish a range month by month (`publish` each part); the first conflict raised after all."""
        conflicts = []
        for part in staged.parts:
            try:
                publish(part)
            except PublishConflict as exc:
                conflicts.append(exc)
        if conflicts:
            raise conflicts[0]
        return self.current_snapshot(staged.table)

    def follow(self, staged: Staged, leader: str) -> int:
        """Publish a table's month so that it comes from the same run as `leader`'s month on
        `main` (the rejects follow the fact): this run's staged version if the leader's month is
        this run's, else the other run's staged version of it, which it wrote before publishing
        its leader. Repeated until both agree: a month is never left mixed by a live run. A range
        whose months the leader holds from one write is one commit, else each month follows on its own."""
        for _ in range(COMMIT_ATTEMPTS):
            table = self._refreshed(staged.table)
            base = table.currentSnapshot()
            owners = self._month_commits(self._refreshed(leader), staged)
            if len({published_write(owner) for owner in owners.values()}) > 1:
                return self._each_part(lambda part: self.follow(part, leader), staged)
            owner = next(iter(owners.values()))
            run = committed_by(owner) or self.run_id
            follows = published_write(owner) or ""  # the leader's write `main` holds for the month
            mine = self._month_commits(table, staged)
            if all(summary_tag(commit, FOLLOWS) == follows for commit in mine.values()):
                return self.current_snapshot(staged.table)
            mine = next((commit for commit in mine.values() if commit is not None), None)
            source = staged if run == self.run_id else self._staged_by(table, staged, run)
            if source.snapshot_id is None and mine is None and not self._has_rows(table, staged):
                return self.current_snapshot(staged.table)  # never any row in this month: commit nothing
            try:
                self._commit(table, staged, source.snapshot_id, source.wap,
                             None if base is None else base.snapshotId(), strict=True, follows=follows)
            except PublishConflict:
                continue  # another commit to this month since `base`: look again
        raise CommitRetryable(f"{staged.table}{where_text(staged)}: its month kept changing under this run: "
                              "build it again")

    # ------------------------------------------------------------ the commits behind publish

    def _refreshed(self, table: str):
        t = self._java_table(table)
        t.refresh()
        return t

    def _staged_parent(self, table, staged: Staged) -> int | None:
        """The `main` snapshot the staged write was based on (the current one if none was written)."""
        if staged.snapshot_id is not None:
            parent = table.snapshot(staged.snapshot_id).parentId()
            return None if parent is None else int(parent)
        return staged.base

    def _ancestors(self, table, until: int | None = None):
        snapshot = table.currentSnapshot()
        while snapshot is not None and snapshot.snapshotId() != until:
            yield snapshot
            parent = snapshot.parentId()
            snapshot = None if parent is None else table.snapshot(parent)

    def _month_commit(self, table, staged: Staged):
        """The newest build commit on `main` of the staged table's month or months (None if none)."""
        return self._committed_since(table, staged, None)

    def _committed_since(self, table, staged: Staged, base: int | None):
        """The newest build commit of the staged month (or of any of its months) on `main` after
        snapshot `base`; not maintenance, which commits without a run (compaction changes files,
        not rows)."""
        return next(iter(self._month_commits(table, staged, base, first=True).values()), None)

    def _month_commits(self, table, staged: Staged, base: int | None = None, first: bool = False) -> dict:
        """Per month of the staged write, the newest build commit of it on `main` after `base`
        (None if none), in one walk of `main`'s history; `first`: only the newest of them all."""
        found = dict.fromkeys(months(staged.month))
        for snapshot in self._ancestors(table, base):
            tag = published_write(snapshot)
            for month in months(snapshot_origin({"wap.id": tag})[1]) if tag else ():
                if month in found and found[month] is None:
                    found[month] = snapshot
                    if first:
                        return {month: snapshot}
            if all(commit is not None for commit in found.values()):
                break
        return {} if first else found

    def _staged_by(self, table, staged: Staged, run: str) -> Staged:
        """Run `run`'s staged version of this table's month or months (no snapshot: it staged no row)."""
        wanted = set(months_of(staged.month))
        for snapshot in reversed(list(table.snapshots())):
            wap = summary_tag(snapshot, "wap.id") or ""
            if wap.startswith(f"{run}/") and wanted <= set(months_of(wap.split("/")[1])):
                return replace(staged, snapshot_id=snapshot.snapshotId(),
                               wap=wap_id(run, staged.month, wap.rsplit("/", 1)[1]), parts=())
        return replace(staged, snapshot_id=None, wap=wap_id(run, staged.month, "-"), parts=())

    def _filter(self, staged: Staged):
        expressions = self.spark._jvm.org.apache.iceberg.expressions.Expressions
        result = expressions.alwaysFalse() if staged.partitions else expressions.alwaysTrue()
        for partition in staged.partitions:
            month = expressions.alwaysTrue()
            for column, value in partition.items():
                month = getattr(expressions, "and")(month, expressions.equal(column, value))
            result = getattr(expressions, "or")(result, month)
        return result

    def _has_rows(self, table, staged: Staged) -> bool:
        return table.newScan().filter(self._filter(staged)).planFiles().iterator().hasNext()

    def _commit(self, table, staged: Staged, source: int | None, wap: str, base: int | None,
                strict: bool = False, follows: str | None = None) -> None:
        """One atomic commit replacing the staged month on `main` with snapshot `source`'s files
        (none: emptying it), tagged with `wap` as a cherry-pick would be
        (and a follower's with the leader's write it `follows`);
        it fails if a write added rows to the month since `base` (and, `strict`, if any commit
        removed some: compaction too). New columns of the staged write become `main`'s just
        before (a metadata commit: its checks have passed)."""
        if source is not None:  # the staged write's new columns, with the field ids its files carry
            schema = table.schemas().get(table.snapshot(source).schemaId())
            if {f.fieldId() for f in table.schema().columns()} < {f.fieldId() for f in schema.columns()}:
                self._set_schema(table, schema.schemaId())
        overwrite = table.newOverwrite().overwriteByRowFilter(self._filter(staged)) \
            .validateNoConflictingData().set("published-wap-id", wap)
        if strict:
            overwrite.validateNoConflictingDeletes()
        if follows is not None:
            overwrite.set(FOLLOWS, follows)
        if base is not None:
            overwrite.validateFromSnapshot(base)
        if source is not None:
            overwrite.set("source-snapshot-id", str(source))
            if summary_tag(table.snapshot(source), CONTENT):  # a small table's hash, for its next build to compare
                overwrite.set(CONTENT, summary_tag(table.snapshot(source), CONTENT))
            paths = {"/".join(f"{k}={v}" for k, v in p.items()) for p in staged.partitions} or {""}
            for file in table.snapshot(source).addedDataFiles(table.io()):  # those of the staged months
                if table.specs().get(file.specId()).partitionToPath(file.partition()) in paths:
                    overwrite.addFile(file)
        try:
            overwrite.commit()
        except Py4JJavaError as exc:
            raise classified(exc, f"{staged.table}{where_text(staged)}") from None

    def _same_rows(self, staged: Staged) -> bool:
        """Whether `main` holds exactly the staged rows in the staged table or partition."""
        current = self.read(staged.table).where(staged.where())
        if staged.snapshot_id is None:
            return current.isEmpty()
        mine = self._staged_rows(staged)
        if sorted(current.columns) != sorted(mine.columns) or current.count() != staged.rows:
            return False
        return mine.exceptAll(current.select(*mine.columns)).isEmpty()

    # ------------------------------------------------------------ audits of a staged snapshot

    def duplicate_keys(self, staged: Staged, keys: list[str], examples: int = 5) -> list[tuple[int, list]]:
        """Per part of a staged write (one, or each month of a range, in one job): how many key
        values occur more than once in it, and a few. Up to SMALL_TABLE_ROWS rows, the keys are
        counted on the driver (a small table's rows kept there, else collected); beyond, grouped
        (a shuffle)."""
        parts = staged.by_part()
        written = tuple(p for p in parts if p.snapshot_id is not None)
        found: dict[tuple, tuple[int, list]] = {}
        if written:
            at, source = list(written[0].partition or {}), staged.only(written) if staged.parts else staged
            shown = (lambda k: k[0]) if len(keys) == 1 else tuple
            if source.rows <= SMALL_TABLE_ROWS:
                rows = source.collected or self._staged_rows(source).select(*at, *keys).collect()
                counts = Counter((tuple(r[c] for c in at), tuple(r[k] for k in keys)) for r in rows)
                dups: dict[tuple, list] = {}
                for part, key in sorted((pk for pk, n in counts.items() if n > 1),
                                        key=lambda pk: [(v is not None, v) for v in pk[1]]):
                    dups.setdefault(part, []).append(key)
                found = {part: (len(ks), [shown(k) for k in ks[:examples]]) for part, ks in dups.items()}
            else:
                grouped = self._staged_rows(source).select(*at, *keys).groupBy(*at, *keys).count() \
                    .where("count > 1").groupBy(*at).agg(
                        F.count(F.lit(1)).alias("n"),
                        F.slice(F.sort_array(F.collect_list(F.struct(*keys))), 1, examples).alias("ex"))
                found = {tuple(r[c] for c in at): (int(r["n"]), [shown(tuple(e)) for e in r["ex"]])
                         for r in grouped.collect()}
        return [found.get(tuple((p.partition or {}).values()), (0, [])) for p in parts]

    def previews(self, staged: Staged, columns: tuple[str, ...], rows: int = 5) -> list[list[dict]]:
        """A few rows of each part of a staged write (each month of a range, in one job), in
        `columns` only: those declared safe to show (not person-level; a column nobody declared
        is not shown either). A small table's come from its rows on the driver."""
        parts = staged.by_part()
        written = [p for p in parts if p.snapshot_id is not None]
        if staged.collected is not None and written:
            return [[{c: r[c] for c in columns} for r in staged.collected[:rows]]]
        if not written:
            return [[] for _ in parts]
        at = list(written[0].partition or {})
        shown = list(dict.fromkeys([*at, *columns]))
        everything = self.spark.sql(f"select * from {self.name(staged.table)} version as of {written[0].snapshot_id}")
        found: dict[tuple, list[dict]] = {}
        with self._setting("spark.sql.adaptive.enabled", "false"):  # adaptive: a job per month's limit
            for r in reduce(DataFrame.unionByName, [everything.where(p.where()).select(*shown).limit(rows)
                                                    for p in written]).collect():
                found.setdefault(tuple(r[c] for c in at), []).append({c: r[c] for c in columns})
        return [found.get(tuple((p.partition or {}).values()), []) for p in parts]
