"""Freshness checks and the warning mail, without Spark (the stub engine of test_automation):
each failing warning check mailed once per incident, through a real SMTP server on loopback."""

import time
from datetime import timedelta

from dagster import DagsterInstance, build_sensor_context
from dagster._core.test_utils import freeze_time

from lake_assets.freshness import ANALYTICS_BOUND, FACT_BOUND, OBSERVED_BOUND, freshness_sensor
from lake_assets.sensors import check_warning_sensor
from lake_assets_tests import test_automation as automation
from lake_assets_tests.test_automation import ANALYTICS, built  # noqa: F401 (a fixture)


class Sensors:
    """freshness_sensor and check_warning_sensor ticking on one instance, their events recorded
    as the daemon records them."""

    def __init__(self, instance: DagsterInstance):
        self.instance, self.cursors = instance, {}

    def tick(self, at: float | None = None) -> None:
        with freeze_time(at or time.time()):
            for sensor in (freshness_sensor, check_warning_sensor):
                result = sensor(build_sensor_context(cursor=self.cursors.get(sensor.name), instance=self.instance))
                self.cursors[sensor.name] = result.cursor
                for event in result.asset_events:
                    self.instance.report_runless_asset_event(event)


def failing(mail) -> set[str]:
    return {line[2:].split(":")[0] for line in mail.get_content().splitlines() if line.startswith("- ")}


def test_freshness_of_the_fact_and_the_analytics_mailed_once_per_incident(built, smtp):  # noqa: F811
    sensors, late = Sensors(built.instance), FACT_BOUND + timedelta(minutes=1)
    sensors.tick()
    assert smtp.messages == []  # everything in time

    built.land("may", build=False)  # its run never happens
    sensors.tick(time.time() + late.total_seconds())
    sensors.tick(time.time() + late.total_seconds() + 300)
    (mail,) = smtp.messages  # once, not every tick
    assert failing(mail) == {"fact_immigration months_built_in_time"}
    assert "2016-05" in mail.get_content()

    built.run("immigration_job", "2016-05-01")  # May is built; the analytics are not
    sensors.tick(time.time() + (ANALYTICS_BOUND + timedelta(minutes=1)).total_seconds())
    assert failing(smtp.messages[-1]) == {f"{table} follows_the_fact" for table in ANALYTICS}
    built.run("analytics_job")
    sensors.tick()
    assert len(smtp.messages) == 2  # all passed again


def test_freshness_of_the_sources_tells_of_a_daily_observation_that_did_not_happen(built, smtp):  # noqa: F811
    sensors = Sensors(built.instance)
    sensors.tick(time.time() + (OBSERVED_BOUND + timedelta(minutes=1)).total_seconds())
    (mail,) = smtp.messages
    assert failing(mail) == {f"{s} observed_daily" for s in ("raw_labels", "raw_demographics", "raw_airports",
                                                              "raw_temperatures")}
    built.run("observe_sources_job")
    sensors.tick()
    assert len(smtp.messages) == 1


def test_failed_warning_check_mailed_once_until_it_passes_again(built, smtp, monkeypatch):  # noqa: F811
    """A coverage below its floor (a warning: the month is published); a failed blocking check
    fails its run instead, which failure_email_sensor mails."""
    sensors = Sensors(built.instance)
    sensors.tick()
    monkeypatch.setattr(automation, "FAILING_CHECKS", {"city_coverage"})
    built.run("immigration_job", "2016-04-01")
    sensors.tick()
    built.run("immigration_job", "2016-04-01")  # rebuilt, still below its floor
    sensors.tick()
    (mail,) = smtp.messages
    assert failing(mail) == {"fact_immigration 2016-04 city_coverage"}
    monkeypatch.setattr(automation, "FAILING_CHECKS", set())
    built.run("immigration_job", "2016-04-01")
    sensors.tick()
    monkeypatch.setattr(automation, "FAILING_CHECKS", {"city_coverage"})
    built.run("immigration_job", "2016-04-01")  # a new incident
    sensors.tick()
    assert len(smtp.messages) == 2
