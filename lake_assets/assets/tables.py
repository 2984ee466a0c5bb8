"""What the UI shows of a lake table before it is built: columns, catalog name, kinds, owner, layer."""

from dagster import TableColumn, TableSchema

from lake_assets.automation import ANALYTICS, DIMENSION, FACT_MONTH
from lake_assets.columns import COLUMNS

CATALOG = "lake"
OWNER = "team:data-engineering"
KINDS = {"spark", "iceberg"}
DIMENSION_LAYER, FACT_LAYER, ANALYTICS_LAYER = "dimension", "fact", "analytics"
AUTOMATION = {DIMENSION_LAYER: DIMENSION, FACT_LAYER: FACT_MONTH, ANALYTICS_LAYER: ANALYTICS}
# Bump a table's version when what builds it changes (its step, transform or checks): the table
# and what is built from it then show stale, and the automation rebuilds them.
CODE_VERSIONS = {
    "dim_country": "1", "dim_state": "1", "dim_visa": "1", "dim_travel_mode": "1", "dim_city": "1",
    "dim_port": "1", "dim_temperature": "1", "fact_immigration": "1", "fact_immigration_rejects": "1",
    "metro_arrivals_monthly": "1", "tourism_by_season": "1", "arrivals_temperature_correlation": "1",
}


def table_attributes(table: str, layer: str) -> dict:
    """The arguments of `table`'s @asset or AssetSpec: its column schema and catalog name,
    kinds, owner, `layer` tag (dimension, fact or analytics), code version and automation condition."""
    schema = TableSchema(columns=[TableColumn(name, type_, description) for name, type_, description in COLUMNS[table]])
    metadata = {"dagster/table_name": f"{CATALOG}.{table}", "dagster/column_schema": schema}
    return {"metadata": metadata, "kinds": KINDS, "owners": [OWNER], "tags": {"layer": layer},
            "code_version": CODE_VERSIONS[table], "automation_condition": AUTOMATION[layer]}
