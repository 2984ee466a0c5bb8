"""The monthly fact table of I94 arrivals and its rejects, written together in one step."""


from dagster import AssetExecutionContext, AssetSpec, BackfillPolicy, multi_asset

from lake_assets.assets.dimensions import dim_city, dim_country, dim_port, dim_state, dim_travel_mode, dim_visa
from lake_assets.assets.publishing import check_specs
from lake_assets.assets.tables import FACT_LAYER, table_attributes
from lake_assets.engines import SparkEngine
from lake_assets.partitions import monthly_partitions

IMMIGRATION = "immigration"
DIMS = [dim_port, dim_city, dim_state, dim_country, dim_travel_mode, dim_visa]


@multi_asset(
    specs=[
        AssetSpec("fact_immigration", group_name=IMMIGRATION, deps=["raw_i94", *DIMS],
                  partitions_def=monthly_partitions,
                  description="One row per I94 arrival, partitioned by i94yr/i94mon",
                  **table_attributes("fact_immigration", FACT_LAYER)),
        AssetSpec("fact_immigration_rejects", group_name=IMMIGRATION, deps=["raw_i94"],
                  partitions_def=monthly_partitions,
                  description="Raw I94 rows that cannot be placed in the fact, with their reason",
                  **table_attributes("fact_immigration_rejects", FACT_LAYER)),
    ],
    check_specs=check_specs("fact_immigration", monthly_partitions)
    + check_specs("fact_immigration_rejects", monthly_partitions),
    partitions_def=monthly_partitions,
    # A backfill of several months is one run (one Spark session or one cluster), month by month.
    backfill_policy=BackfillPolicy.single_run(),
)
def immigration(context: AssetExecutionContext, engine: SparkEngine):
    """Build each month of the run: every raw row lands in the fact or in the rejects, counts reconciled."""
    yield from engine.materialize(context, "immigration")


immigration_assets = [immigration]
