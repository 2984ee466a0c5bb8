"""What the UI shows of a lake table before it is built: columns, catalog name, kinds, owner, layer."""

from dagster import TableColumn, TableSchema

from lake_assets.columns import COLUMNS

CATALOG = "lake"
OWNER = "team:data-engineering"
KINDS = {"spark", "iceberg"}
DIMENSION_LAYER, FACT_LAYER, ANALYTICS_LAYER = "dimension", "fact", "analytics"


def table_attributes(table: str, layer: str) -> dict:
    """The arguments of `table`'s @asset or AssetSpec: its column schema and catalog name,
    kinds, owner and `layer` tag (dimension, fact or analytics)."""
    schema = TableSchema(columns=[TableColumn(name, type_, description) for name, type_, description in COLUMNS[table]])
    metadata = {"dagster/table_name": f"{CATALOG}.{table}", "dagster/column_schema": schema}
    return {"metadata": metadata, "kinds": KINDS, "owners": [OWNER], "tags": {"layer": layer}}
