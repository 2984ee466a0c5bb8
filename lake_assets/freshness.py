"""Freshness checks: what should have happened by now, as warning checks (they block nothing).

- `fact_immigration` **months_built_in_time**: every extract that landed (the version
  `raw_i94_sensor` recorded) is in the fact within `FACT_BOUND`.
- each analytics table **follows_the_fact**: rebuilt after the newest fact month, within
  `ANALYTICS_BOUND` of it.
- each source file **observed_daily**: observed within `OBSERVED_BOUND` (the 07:00 schedule ran).

`freshness_sensor` evaluates them (no run, no Spark) and records an evaluation when one's
outcome changes; `check_warning_sensor` mails the failures. They can be executed from the UI too.
"""

import json
from datetime import datetime, timedelta, timezone
from typing import Callable

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    asset_check,
    sensor,
)
from dagster._time import get_current_timestamp

from lake_assets.assets.raw import observed_sources
from lake_assets.partitions import monthly_partitions
from lake_assets.sensors import AUTOMATION_ON
from lake_assets.tables import BUILDS

FACT_BOUND = timedelta(hours=3)  # a landed month's run, retries and queue included
ANALYTICS_BOUND = timedelta(hours=1)  # automation_sensor asks within a minute; the run takes minutes
OBSERVED_BOUND = timedelta(hours=25)  # a day and the 07:00 run's slack

Rule = Callable[[DagsterInstance, float], str | None]  # (instance, now) -> what is late, or None


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _hours(bound: timedelta) -> str:
    return f"{bound.total_seconds() / 3600:g} h"


def _latest(fetch, key: str, partition: str | None = None):
    records = fetch(AssetRecordsFilter(asset_key=AssetKey(key), asset_partitions=[partition] if partition else None),
                    limit=1).records
    return records[0] if records else None


def months_not_built(instance: DagsterInstance, now: float) -> str | None:
    """The months whose extract landed more than FACT_BOUND ago and are not built since."""
    late = []
    for month in monthly_partitions.get_partition_keys():
        landed = _latest(instance.fetch_observations, "raw_i94", month)
        if landed and now - landed.timestamp > FACT_BOUND.total_seconds():
            built = _latest(instance.fetch_materializations, "fact_immigration", month)
            if built is None or built.timestamp < landed.timestamp:
                late.append(f"{month[:7]} (landed {_when(landed.timestamp)})")
    return f"not built within {_hours(FACT_BOUND)} of landing: {', '.join(late)}" if late else None


def behind_the_fact(table: str) -> Rule:
    """The table, if older than the newest fact month and that month is more than ANALYTICS_BOUND old."""

    def rule(instance: DagsterInstance, now: float) -> str | None:
        fact = _latest(instance.fetch_materializations, "fact_immigration")
        if fact is None or now - fact.timestamp <= ANALYTICS_BOUND.total_seconds():
            return None
        built = _latest(instance.fetch_materializations, table)
        if built is None or built.timestamp < fact.timestamp:
            return f"not rebuilt within {_hours(ANALYTICS_BOUND)} of the newest fact month ({_when(fact.timestamp)})"
        return None

    return rule


def not_observed(source: str) -> Rule:
    """The source, if last observed more than OBSERVED_BOUND ago (never observed: not yet due)."""

    def rule(instance: DagsterInstance, now: float) -> str | None:
        seen = _latest(instance.fetch_observations, source)
        if seen and now - seen.timestamp > OBSERVED_BOUND.total_seconds():
            return f"last observed {_when(seen.timestamp)}: did the 07:00 schedule run?"
        return None

    return rule


# check -> (what is late, what the check asserts)
RULES: dict[AssetCheckKey, tuple[Rule, str]] = {
    AssetCheckKey(AssetKey("fact_immigration"), "months_built_in_time"): (
        months_not_built, f"Every extract that landed is in the fact within {_hours(FACT_BOUND)}"),
    **{AssetCheckKey(AssetKey(b.name), "follows_the_fact"): (
        behind_the_fact(b.name),
        f"Rebuilt within {_hours(ANALYTICS_BOUND)} of the newest fact month") for b in BUILDS.values()
       if b.layer == "analytics"},
    **{AssetCheckKey(s.key, "observed_daily"): (
        not_observed(s.key.to_user_string()),
        f"Observed in the last {_hours(OBSERVED_BOUND)} (by the 07:00 schedule)") for s in observed_sources},
}


def outcome(key: AssetCheckKey, instance: DagsterInstance) -> dict:
    """The check's evaluation now, as AssetCheckResult / AssetCheckEvaluation arguments."""
    late = RULES[key][0](instance, get_current_timestamp())
    return {"passed": late is None, "severity": AssetCheckSeverity.WARN, "description": late or "in time"}


def _check(key: AssetCheckKey):
    @asset_check(asset=key.asset_key, name=key.name, blocking=False, description=RULES[key][1])
    def _freshness(context) -> AssetCheckResult:
        return AssetCheckResult(**outcome(key, context.instance))

    return _freshness


freshness_checks = [_check(key) for key in RULES]


@sensor(name="freshness_sensor", minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING if AUTOMATION_ON else DefaultSensorStatus.STOPPED,
        description="Evaluate the freshness checks every 5 minutes; record an evaluation when one's outcome changes")
def freshness_sensor(context: SensorEvaluationContext):
    """The cursor holds each check's last recorded outcome (its description)."""
    recorded = json.loads(context.cursor) if context.cursor else {}
    evaluations, current = [], {}
    for key in RULES:
        result = outcome(key, context.instance)
        current[key.to_user_string()] = result["description"]
        if recorded.get(key.to_user_string()) != result["description"]:
            evaluations.append(AssetCheckEvaluation(asset_key=key.asset_key, check_name=key.name, **result))
    return SensorResult(asset_events=evaluations, cursor=json.dumps(current, sort_keys=True))
