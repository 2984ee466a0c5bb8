"""The monthly fact table of I94 arrivals and its rejects: one multi-asset, written together."""

from dagster import AssetExecutionContext, AssetSpec, BackfillPolicy, multi_asset

from lake_assets.core.tables import BUILDS
from lake_assets.orchestration.assets.factory import check_specs, table_attributes
from lake_assets.orchestration.automation import SPARK_POOL
from lake_assets.orchestration.engines import SparkEngine
from lake_assets.orchestration.partitions import monthly_partitions

BUILD = BUILDS["immigration"]


@multi_asset(
    name=BUILD.name,
    specs=[AssetSpec(table.name, group_name=BUILD.group, deps=list(table.reads), partitions_def=monthly_partitions,
                     **table_attributes(table, BUILD.group)) for table in BUILD.tables],
    check_specs=[spec for table in BUILD.tables for spec in check_specs(table.name, monthly_partitions)],
    partitions_def=monthly_partitions,
    # A backfill of several months is one run (one Spark session or one cluster), in one pass.
    backfill_policy=BackfillPolicy.single_run(),
    pool=SPARK_POOL,
)
def immigration(context: AssetExecutionContext, engine: SparkEngine):
    """Build each month of the run: every raw row lands in the fact or in the rejects, counts reconciled."""
    yield from engine.materialize(context, BUILD.name)
