"""Each table of the real April lake has the schema its declaration gives (`lake_assets.core.tables`):
the same columns in the same order with the same Spark types."""

import pytest
from pyspark.testing import assertSchemaEqual

from lake_assets.core.storage import Lake
from lake_assets.core.tables import TABLES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("table", sorted(TABLES))
def test_table_schema_is_the_declared_one(spark, april_lake, table):
    declared = spark.createDataFrame([], ", ".join(f"`{c.name}` {c.type}" for c in TABLES[table].columns))
    assertSchemaEqual(Lake(spark, str(april_lake)).read(table).schema, declared.schema)
