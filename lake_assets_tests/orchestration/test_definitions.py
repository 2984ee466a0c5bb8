"""The whole code location loads, with the lineage, partitions and checks the UI shows."""

from dagster import AssetKey, DailyPartitionsDefinition

from lake_assets.core.tables import TABLES
from lake_assets.defs.lake import defs

LAKE_TABLES = set(TABLES)


def test_definitions_load_with_every_table_as_an_asset():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert LAKE_TABLES <= keys
    assert {"raw_i94", "raw_labels", "raw_demographics", "raw_airports", "raw_temperatures"} <= keys


def test_fact_is_monthly_partitioned_for_2016():
    graph = defs.resolve_asset_graph()
    for table in ("fact_immigration", "fact_immigration_rejects"):
        partitions = graph.get(AssetKey(table)).partitions_def
        assert not isinstance(partitions, DailyPartitionsDefinition)
        assert partitions.get_partition_keys()[0] == "2016-01-01"
        assert len(partitions.get_partition_keys()) == 12


def test_lineage_from_raw_to_analytics():
    graph = defs.resolve_asset_graph()
    parents = lambda t: {k.to_user_string() for k in graph.get(AssetKey(t)).parent_keys}  # noqa: E731
    assert {"raw_i94", "dim_port", "dim_city", "dim_visa"} <= parents("fact_immigration")
    assert {"fact_immigration", "dim_temperature", "dim_city"} <= parents("metro_arrivals_monthly")
    assert parents("tourism_by_season") == {"metro_arrivals_monthly"}
    assert {"raw_temperatures", "dim_city"} <= parents("dim_temperature")


def test_every_table_has_checks_and_blocking_ones_where_bad_data_would_poison():
    graph = defs.resolve_asset_graph()
    checks = {}
    for key in graph.asset_check_keys:
        checks.setdefault(key.asset_key.to_user_string(), []).append(key.name)
    assert set(checks) == LAKE_TABLES
    assert "reconciles_with_raw" in checks["fact_immigration"]
    assert "key_unique_not_null" in checks["dim_city"]


def test_runs_execute_in_one_process():
    for name in ("dimensions_job", "immigration_job", "analytics_job"):
        assert defs.resolve_job_def(name).executor_def.name == "in_process"
