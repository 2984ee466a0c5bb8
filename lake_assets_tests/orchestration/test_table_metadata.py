"""Every table asset's definition metadata tells the truth: the contract's columns with their
types, and exactly the columns the transforms produce."""

import re

import pandas as pd
import pytest
from dagster import AssetKey

from lake_assets.core.tables import TABLES
from lake_assets.defs.lake import defs
from lake_assets_tests.conftest import SHARED_DATA

CONTRACT = SHARED_DATA.parent / "docs" / "LAKE_CONTRACT.md"
GROUPS = {"dim_": "dimensions", "fact_": "immigration"}


def _spec(table: str):
    return defs.resolve_asset_graph().get(AssetKey(table)).to_asset_spec()


def _schema(table: str) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in _spec(table).metadata["dagster/column_schema"].columns]


def contract_columns() -> dict[str, set[tuple[str, str]]]:
    """table -> the (column, TYPE) pairs LAKE_CONTRACT.md requires."""
    if not CONTRACT.is_file():
        pytest.fail(f"the lake contract is not at {CONTRACT}: set LAKE_SHARED_DATA")
    required = {}
    for table, columns in re.findall(r"^\| `(\w+)` \|[^|]*\|(.*)\|$", CONTRACT.read_text(), re.MULTILINE):
        required[table] = set(re.findall(r"(\w+) (INT|BIGINT|STRING|DOUBLE|BOOLEAN|DATE)\b", columns))
    return required


def test_every_table_asset_carries_its_schema_catalog_name_kinds_owner_and_group():
    for table in TABLES:
        spec = _spec(table)
        assert spec.metadata["dagster/table_name"] == f"lake.{table}"
        assert {"spark", "iceberg"} <= spec.kinds and len(spec.kinds) <= 3
        assert spec.owners == ["team:data-engineering"]
        assert spec.group_name == next((group for prefix, group in GROUPS.items() if table.startswith(prefix)),
                                          "analytics")
        assert all(c.description for c in spec.metadata["dagster/column_schema"].columns)


def test_the_contracts_columns_are_in_each_schema_with_their_type():
    required = contract_columns()
    assert set(required) == set(TABLES)
    for table, columns in required.items():
        assert columns <= set(_schema(table)), f"{table}: {columns - set(_schema(table))} missing"


def test_each_schema_is_what_the_transforms_produce(spark, tmp_path):
    """The tiny inputs through every transform (no gazetteer rows: the schema is the same)."""
    from lake_assets.core.sources import AIRPORT_COLUMNS, DEMOGRAPHICS_COLUMNS, TEMPERATURE_COLUMNS, parse_labels
    from lake_assets.core.transforms import analytics as ta
    from lake_assets.core.transforms import dimensions as td
    from lake_assets.core.transforms.immigration import fact_immigration
    from lake_assets_tests.support.tiny_inputs import I94_SCHEMA, i94_rows, write_labels

    def strings(columns: list[str]) -> pd.DataFrame:  # a CSV source as read: every column a string
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})

    labels = parse_labels(write_labels(tmp_path / "labels.SAS"))
    tables = {name: getattr(td, name)(spark, labels) for name in ("dim_country", "dim_state", "dim_visa", "dim_travel_mode")}
    tables["dim_city"] = td.dim_city(spark, labels, strings(DEMOGRAPHICS_COLUMNS), strings(AIRPORT_COLUMNS), [])
    tables["dim_port"] = td.dim_port(spark, labels, tables["dim_city"])
    tables["dim_temperature"] = td.dim_temperature(spark, strings(TEMPERATURE_COLUMNS), tables["dim_city"])
    fact, rejects = fact_immigration(
        spark.createDataFrame(i94_rows({}), I94_SCHEMA), 2016, 4,
        *(tables[name] for name in ("dim_port", "dim_state", "dim_country", "dim_travel_mode", "dim_visa")))
    tables["fact_immigration"], tables["fact_immigration_rejects"] = fact, rejects
    tables["metro_arrivals_monthly"] = ta.metro_arrivals_monthly(
        tables["fact_immigration"], tables["dim_city"], tables["dim_visa"], tables["dim_temperature"])
    for name in ("tourism_by_season", "arrivals_temperature_correlation"):
        tables[name] = getattr(ta, name)(tables["metro_arrivals_monthly"])

    assert set(tables) == set(TABLES)
    for table, df in tables.items():
        assert _schema(table) == [(f.name, f.dataType.simpleString().upper()) for f in df.schema.fields], table


def test_tables_on_s3_have_the_s3_kind():
    from lake_assets.orchestration.definitions import build_definitions
    from lake_assets.orchestration.environments import resources_for

    on_s3 = build_definitions(resources_for("local", "s3://bucket/raw", "s3://bucket/lake")).resolve_asset_graph()
    for table in TABLES:
        assert on_s3.get(AssetKey(table)).to_asset_spec().kinds == {"spark", "iceberg", "s3"}
    assert "s3" not in _spec("dim_city").kinds  # the default lake is a local folder


def _upstream_columns(key: AssetKey) -> set[str]:
    return {c.name for c in defs.resolve_asset_graph().get(key).to_asset_spec().metadata["dagster/column_schema"].columns}


def test_column_lineage_resolves_to_real_upstream_columns_back_to_the_raw_sources():
    """`dagster/column_lineage` is on every fact and analytics asset, and on each dimension: every
    dep names one of the asset's deps and a column in that dep's `dagster/column_schema`; every
    column of the fact and the analytics traces back to a raw source's column."""
    lineage = {}
    for table in TABLES:
        spec = _spec(table)
        deps = {dep.asset_key for dep in spec.deps}
        by_column = spec.metadata["dagster/column_lineage"].deps_by_column
        assert set(by_column) <= {name for name, _ in _schema(table)}
        for column, column_deps in by_column.items():
            for dep in column_deps:
                assert dep.asset_key in deps, (table, column, dep.asset_key)
                assert dep.column_name in _upstream_columns(dep.asset_key), (table, column, dep)
        lineage |= {(table, column): [(d.asset_key.to_user_string(), d.column_name) for d in column_deps]
                    for column, column_deps in by_column.items()}

    def raw_sources(node: tuple[str, str]) -> set[tuple[str, str]]:
        return {node} if node[0].startswith("raw_") else {r for up in lineage.get(node, []) for r in raw_sources(up)}

    for table in TABLES:
        if _spec(table).group_name in ("immigration", "analytics"):
            untraced = [column for column, _ in _schema(table) if not raw_sources((table, column))]
            assert untraced == [], (table, untraced)
    assert raw_sources(("tourism_by_season", "city_id")) >= {("raw_i94", "i94port"), ("raw_labels", "i94prtl")}


def test_the_raw_sources_schemas_are_what_their_readers_return():
    from lake_assets.core.sources import AIRPORT_COLUMNS, DEMOGRAPHICS_COLUMNS, I94_COLUMNS, I94_NUMERIC, TEMPERATURE_COLUMNS

    published = {"raw_i94": I94_COLUMNS, "raw_demographics": DEMOGRAPHICS_COLUMNS, "raw_airports": AIRPORT_COLUMNS,
                 "raw_temperatures": TEMPERATURE_COLUMNS}
    for source, columns in published.items():
        assert [c.name for c in _spec(source).metadata["dagster/column_schema"].columns] == columns, source
    assert {name for name, type_ in _schema("raw_i94") if type_ == "DOUBLE"} == set(I94_NUMERIC)
