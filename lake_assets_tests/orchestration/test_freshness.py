"""Freshness without Spark (the stub engine of test_automation): Dagster's policy on the
analytics, and the one check it has no form for, mailed once per incident through a real SMTP
server on loopback."""

import time
from datetime import timedelta

from dagster import build_sensor_context
from dagster._core.test_utils import freeze_time

from lake_assets.defs.lake import defs
from lake_assets.orchestration.freshness import ANALYTICS_FRESHNESS, FACT_BOUND
from lake_assets.orchestration.sensors import check_warning_sensor
from lake_assets_tests.orchestration import test_automation as automation
from lake_assets_tests.orchestration.test_automation import ANALYTICS, built  # noqa: F401 (a fixture)


class Sensors:
    """raw_i94_sensor and check_warning_sensor ticking on the lake's instance, as the daemon would."""

    def __init__(self, lake: automation.Lake):
        self.lake, self.cursor = lake, None

    def tick(self, at: float | None = None) -> None:
        with freeze_time(at or time.time()):
            self.lake.sense()
            result = check_warning_sensor(build_sensor_context(cursor=self.cursor, instance=self.lake.instance))
            self.cursor = result.cursor


def warnings(smtp) -> list[set[str]]:
    """The failing checks of each check-warning mail."""
    return [{line[2:].split(":")[0] for line in mail.get_content().splitlines() if line.startswith("- ")}
            for mail in smtp.messages if "check warning" in mail["Subject"]]


def test_the_analytics_have_dagsters_freshness_policy():
    graph = defs.resolve_asset_graph()
    with_policy = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).freshness_policy}
    assert with_policy == ANALYTICS
    assert all(graph.get(k).freshness_policy == ANALYTICS_FRESHNESS for k in graph.get_all_asset_keys()
               if k.to_user_string() in ANALYTICS)


def test_a_landed_month_not_built_in_time_is_mailed_once(built, smtp):  # noqa: F811
    sensors, late = Sensors(built), (FACT_BOUND + timedelta(minutes=1)).total_seconds()
    sensors.tick()
    assert warnings(smtp) == []  # everything in time

    built.land("may", build=False)  # its run never happens
    sensors.tick(time.time() + late)
    sensors.tick(time.time() + late + 300)
    assert warnings(smtp) == [{"fact_immigration months_built_in_time"}]  # once, not every tick
    assert "2016-05" in smtp.messages[-1].get_content()

    built.run("immigration_job", "2016-05-01")
    sensors.tick(time.time() + late + 600)
    assert len(warnings(smtp)) == 1  # passed again


def test_failed_warning_check_mailed_once_until_it_passes_again(built, smtp, monkeypatch):  # noqa: F811
    """A coverage below its floor (a warning: the month is published); a failed blocking check
    fails its run instead, which failure_email_sensor mails."""
    sensors = Sensors(built)
    sensors.tick()
    monkeypatch.setattr(automation, "FAILING_CHECKS", {"city_coverage"})
    built.run("immigration_job", "2016-04-01")
    sensors.tick()
    built.run("immigration_job", "2016-04-01")  # rebuilt, still below its floor
    sensors.tick()
    assert warnings(smtp) == [{"fact_immigration 2016-04 city_coverage"}]
    monkeypatch.setattr(automation, "FAILING_CHECKS", set())
    built.run("immigration_job", "2016-04-01")
    sensors.tick()
    monkeypatch.setattr(automation, "FAILING_CHECKS", {"city_coverage"})
    built.run("immigration_job", "2016-04-01")  # a new incident
    sensors.tick()
    assert len(warnings(smtp)) == 2


def test_an_instance_folder_with_a_per_run_event_log_mails_its_warnings_too(tmp_path, smtp, monkeypatch):
    """An instance folder written before `lake` chose the consolidated event log: Dagster's
    default SQLite storage, a database per run, which refuses a cursor across runs."""
    from dagster import DagsterInstance

    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.event_log_storage.is_run_sharded
        lake, cursor = automation.Lake(tmp_path, instance), None
        for failing in ({"city_coverage"}, {"city_coverage"}, set(), {"city_coverage"}):
            monkeypatch.setattr(automation, "FAILING_CHECKS", failing)
            lake.run("immigration_job", "2016-04-01")
            cursor = check_warning_sensor(build_sensor_context(cursor=cursor, instance=instance)).cursor
    assert warnings(smtp) == [{"fact_immigration 2016-04 city_coverage"}] * 2  # once per incident
