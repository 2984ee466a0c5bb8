"""Declared columns (`lake_assets.core.tables`) as Dagster table metadata: the column schema, with
person-level columns tagged, and the column lineage the UI draws from the raw sources on."""

from dagster import AssetKey, TableColumn, TableColumnDep, TableColumnLineage, TableSchema

from lake_assets.core.tables.table import Column

PERSONAL = {"person-level": ""}  # the tag of a person-level column


def column_schema(columns: tuple[Column, ...]) -> TableSchema:
    """The `dagster/column_schema` of declared columns; person-level ones tagged `person-level`."""
    return TableSchema(columns=[TableColumn(c.name, c.type, c.description, tags=PERSONAL if c.personal else {})
                                for c in columns])


def column_lineage(columns: tuple[Column, ...]) -> TableColumnLineage:
    """The `dagster/column_lineage` of declared columns: the upstream columns each comes from."""
    return TableColumnLineage(deps_by_column={
        c.name: [TableColumnDep(asset_key=AssetKey(asset), column_name=name) for asset, name in dict.fromkeys(c.sources)]
        for c in columns if c.sources})
