"""One declaration (`lake_assets.core.tables`) -> its Dagster asset: deps, checks, column schema and
lineage, kinds, owner, code version, automation; the engine runs the build."""

import warnings
from typing import Iterator

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    PreviewWarning,
    asset,
)

from lake_assets.core import query, report
from lake_assets.core.tables import BUILDS, TABLES
from lake_assets.core.tables.table import Build, Table
from lake_assets.orchestration.assets.columns import column_lineage, column_schema
from lake_assets.orchestration.automation import ANALYTICS, DIMENSION, FACT_MONTH, SPARK_POOL
from lake_assets.orchestration.engines import SparkEngine

CATALOG = "lake"
OWNER = "team:data-engineering"
KINDS = {"spark", "iceberg"}
AUTOMATION = {"dimensions": DIMENSION, "immigration": FACT_MONTH, "analytics": ANALYTICS}


def check_specs(table: str, partitions_def: PartitionsDefinition | None = None) -> list[AssetCheckSpec]:
    """The table's checks; with `partitions_def`, evaluated and shown per partition."""
    with warnings.catch_warnings():  # partitioned check specs are a preview feature of dagster 1.13
        warnings.simplefilter("ignore", PreviewWarning)
        return [AssetCheckSpec(c.name, asset=table, blocking=c.blocking, description=c.description,
                               partitions_def=partitions_def)
                for c in TABLES[table].all_checks()]


def table_attributes(table: Table, group: str) -> dict:
    """The arguments of `table`'s @asset or AssetSpec: description, column schema and lineage,
    catalog name, kinds, owner, code version and automation condition."""
    metadata = {"dagster/table_name": f"{CATALOG}.{table.name}", "dagster/column_schema": column_schema(table.columns),
                "dagster/column_lineage": column_lineage(table.columns)}
    return {"description": table.description, "metadata": metadata, "kinds": KINDS, "owners": [OWNER],
            "code_version": table.code_version, "automation_condition": AUTOMATION[group]}


def chart_metadata(lake_dir: str, sections: tuple[str, ...]) -> dict:
    """`chart_<section>` Markdown values for the report's `sections`, read from the lake with DuckDB."""
    wanted = [report.section(key) for key in sections]
    try:
        con = query.connect(lake_dir, only={t for sec in wanted for t in sec.tables})
    except query.LakeQueryError as exc:  # the lake cannot be read here: the table is published all the same
        return {"charts": MetadataValue.text(f"no charts: {exc}")}
    return {f"chart_{sec.key}": MetadataValue.md(report.chart_markdown(sec, query.records(con, sec.sql)))
            for sec in wanted}


def with_charts(results: Iterator, engine: SparkEngine, sections: tuple[str, ...]) -> Iterator:
    """The build's results, its materialization (the table is published by then) with the charts added."""
    for result in results:
        if isinstance(result, MaterializeResult):
            result = result._replace(metadata={**(result.metadata or {}),
                                               **chart_metadata(engine.lake.lake_dir, sections)})
        yield result


def table_asset(build: Build) -> AssetsDefinition:
    """The asset of a build of one unpartitioned table."""
    (table,) = build.tables

    @asset(name=table.name, group_name=build.group, deps=list(table.reads), check_specs=check_specs(table.name),
           pool=SPARK_POOL, **table_attributes(table, build.group))
    def _table(context: AssetExecutionContext, engine: SparkEngine):
        results = engine.materialize(context, build.name)
        yield from with_charts(results, engine, build.charts) if build.charts else results

    return _table


table_assets = [table_asset(build) for build in BUILDS.values() if not build.monthly]
