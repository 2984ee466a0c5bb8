"""The monthly fact table of I94 arrivals and its rejects, written together in one step."""


from dagster import AssetExecutionContext, AssetSpec, Failure, multi_asset
from pyspark.sql import Observation
from pyspark.sql import functions as F

from lake_assets.assets.dimensions import dim_city, dim_country, dim_port, dim_state, dim_travel_mode, dim_visa
from lake_assets.assets.publishing import TableOutput, check_specs, partition_params, publish_tables
from lake_assets.partitions import monthly_partitions
from lake_assets.resources import LakeResource
from lake_assets.sources import find_i94_months, read_i94_month
from lake_assets.transforms.immigration import fact_immigration, month_bounds

IMMIGRATION = "immigration"
DIMS = [dim_port, dim_city, dim_state, dim_country, dim_travel_mode, dim_visa]


@multi_asset(
    specs=[
        AssetSpec("fact_immigration", group_name=IMMIGRATION, deps=["raw_i94", *DIMS],
                  partitions_def=monthly_partitions,
                  description="One row per I94 arrival, partitioned by i94yr/i94mon"),
        AssetSpec("fact_immigration_rejects", group_name=IMMIGRATION, deps=["raw_i94"],
                  partitions_def=monthly_partitions,
                  description="Raw I94 rows that cannot be placed in the fact, with their reason"),
    ],
    check_specs=check_specs("fact_immigration") + check_specs("fact_immigration_rejects"),
    partitions_def=monthly_partitions,
)
def immigration(context: AssetExecutionContext, lake: LakeResource):
    """Build one month: every raw row lands in the fact or in the rejects, counts reconciled."""
    start = context.partition_time_window.start
    year, month = start.year, start.month
    key = f"{year}-{month:02d}"
    extracts = find_i94_months(lake.raw_dir)
    if key not in extracts:
        raise Failure(f"no I94 extract for {key} in {lake.raw_dir}/i94 "
                      f"(found: {', '.join(sorted(extracts)) or 'none'})")
    spark, store = lake.spark(), lake.lake()
    context.log.info(f"reading {extracts[key].path} ({extracts[key].format})")
    raw_count = Observation()
    raw = read_i94_month(spark, extracts[key], lake.cache_dir).observe(raw_count, F.count(F.lit(1)).alias("n"))
    fact, rejects = fact_immigration(
        raw, year, month, *(store.read(name) for name in
                            ("dim_port", "dim_state", "dim_country", "dim_travel_mode", "dim_visa")))
    partition = {"i94yr": year, "i94mon": month}
    reconcile = lambda rows: {"raw_rows": raw_count.get["n"], "reject_rows": rows["fact_immigration_rejects"]}  # noqa: E731
    yield from publish_tables(context, store, [
        TableOutput("fact_immigration_rejects", rejects, partition),
        TableOutput("fact_immigration", fact, partition, partition_params(*month_bounds(year, month)), reconcile),
    ])


immigration_assets = [immigration]
