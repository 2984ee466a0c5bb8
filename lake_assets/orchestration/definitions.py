"""The whole lake as one Dagster code location: its jobs, schedules and sensors around the assets."""

from pathlib import Path

from dagster import (
    AssetSelection,
    Config,
    Definitions,
    OpExecutionContext,
    ScheduleDefinition,
    apply_freshness_policy,
    define_asset_job,
    definitions,
    in_process_executor,
    job,
    load_from_defs_folder,
    map_asset_specs,
    op,
)
from pydantic import model_validator

from lake_assets.core.maintenance import RETAIN_DAYS, RETAIN_LAST, check_retention
from lake_assets.core.s3 import is_s3
from lake_assets.orchestration.assets.factory import table_assets
from lake_assets.orchestration.assets.immigration import immigration
from lake_assets.orchestration.assets.raw import raw_specs
from lake_assets.orchestration.automation import SCHEDULE_STATUS, automation_sensor
from lake_assets.orchestration.console import compact_console_logger
from lake_assets.orchestration.engines import SparkEngine
from lake_assets.orchestration.environments import resources_for
from lake_assets.orchestration.freshness import ANALYTICS_FRESHNESS, freshness_checks
from lake_assets.orchestration.sensors import observe_sources_job, schedules, sensors

dimensions_job = define_asset_job("dimensions_job", AssetSelection.groups("dimensions"),
                                  description="Build every dimension table")
# A run of months leaves the fact's (unpartitioned) freshness check to raw_i94_sensor.
immigration_job = define_asset_job("immigration_job",
                                   AssetSelection.groups("immigration") - AssetSelection.checks(*freshness_checks),
                                   description="Build one month of the fact table and its rejects")
analytics_job = define_asset_job("analytics_job", AssetSelection.groups("analytics"),
                                 description="Build the analytics tables from every month in the lake")


class MaintenanceConfig(Config):
    """The retention of `lake_maintenance`; one that would erase the promised history is refused."""

    retain_days: float = RETAIN_DAYS  # snapshots and unreferenced files younger than this are kept
    retain_last: int = RETAIN_LAST  # snapshots of main kept whatever their age

    @model_validator(mode="after")
    def _keeps_history(self):
        check_retention(self.retain_days, self.retain_last)
        return self


@op(description="Expire old snapshots (and unpublished ones), remove orphan files, compact small files")
def expire_clean_compact(context: OpExecutionContext, config: MaintenanceConfig, engine: SparkEngine) -> None:
    engine.maintain(context, config.retain_days, config.retain_last)


@job(description="Iceberg maintenance of every table of the lake")
def lake_maintenance():
    expire_clean_compact()


maintenance_schedule = ScheduleDefinition(
    name="weekly_maintenance_schedule", job=lake_maintenance, cron_schedule="0 3 * * 0",
    default_status=SCHEDULE_STATUS,
    description="Sundays 03:00: lake_maintenance, so no table's history or files grow without bound")


def build_definitions(resources: dict | None = None) -> Definitions:
    """The code location, with the resources of `$LAKE_ENV` unless others are given."""
    resources = resources or resources_for()
    tables = [*table_assets, immigration]
    if is_s3(resources["lake"].lake_dir):  # the kind tells where the tables' files are
        tables = map_asset_specs(lambda spec: spec.merge_attributes(kinds={"s3"}), tables)
    tables = map_asset_specs(lambda spec: apply_freshness_policy(spec, ANALYTICS_FRESHNESS)
                             if spec.group_name == "analytics" else spec, tables)
    return Definitions(
        assets=[*raw_specs, *tables],
        jobs=[dimensions_job, immigration_job, analytics_job, observe_sources_job, lake_maintenance],
        asset_checks=freshness_checks,
        sensors=[*sensors, automation_sensor],
        schedules=[*schedules, maintenance_schedule],
        resources=resources,
        loggers={"console": compact_console_logger},
        # One process, so one Spark session (one JVM), per run.
        executor=in_process_executor,
    )


@definitions
def defs() -> Definitions:
    """The code location of workspace.yaml, `dg` and the deployment: what the defs folder holds."""
    return load_from_defs_folder(path_within_project=Path(__file__).parents[1])
