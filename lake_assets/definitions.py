"""The whole lake as one Dagster code location."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor, map_asset_specs

from lake_assets.assets.analytics import analytics_assets
from lake_assets.assets.dimensions import dimension_assets
from lake_assets.assets.immigration import immigration_assets
from lake_assets.assets.raw import raw_specs
from lake_assets.console import compact_console_logger
from lake_assets.resources import resources_for
from lake_assets.s3 import is_s3
from lake_assets.sensors import refresh_job, schedules, sensors

dimensions_job = define_asset_job("dimensions_job", AssetSelection.groups("dimensions"),
                                  description="Build every dimension table")
immigration_job = define_asset_job("immigration_job", AssetSelection.groups("immigration"),
                                   description="Build one month of the fact table and its rejects")
analytics_job = define_asset_job("analytics_job", AssetSelection.groups("analytics"),
                                 description="Build the analytics tables from every month in the lake")



def build_definitions(resources: dict | None = None) -> Definitions:
    """The code location, with the resources of `$LAKE_ENV` unless others are given."""
    resources = resources or resources_for()
    tables = [*dimension_assets, *immigration_assets, *analytics_assets]
    if is_s3(resources["lake"].lake_dir):  # the kind tells where the tables' files are
        tables = map_asset_specs(lambda spec: spec.merge_attributes(kinds={"s3"}), tables)
    return Definitions(
        assets=[*raw_specs, *tables],
        jobs=[dimensions_job, immigration_job, analytics_job, refresh_job],
        sensors=sensors,
        schedules=schedules,
        resources=resources,
        loggers={"console": compact_console_logger},
        # One process, so one Spark session (one JVM), per run.
        executor=in_process_executor,
    )


defs = build_definitions()
