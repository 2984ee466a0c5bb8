"""Freshness: Dagster's own for the analytics, a check for what it has no form for.

- Each analytics table has a `FreshnessPolicy` (`ANALYTICS_FRESHNESS`): a month lands every
  month, and the analytics follow it; the daemon evaluates it and the UI shows its status.
- The fact's **months_built_in_time** (a warning): every extract that landed (the version
  `raw_i94_sensor` recorded) is in the fact within `FACT_BOUND`. `raw_i94_sensor` records it
  when its outcome changes; `check_warning_sensor` mails a failure.
"""

from datetime import datetime, timedelta, timezone

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    FreshnessPolicy,
    asset_check,
)
from dagster._time import get_current_timestamp  # what dagster's freeze_time moves in tests

from lake_assets.orchestration.partitions import monthly_partitions

FACT_BOUND = timedelta(hours=3)  # a landed month's run, retries and queue included
ANALYTICS_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(days=35), warn_window=timedelta(days=32))
CHECK = "months_built_in_time"
DESCRIPTION = f"Every extract that landed is in the fact within {FACT_BOUND.total_seconds() / 3600:g} h"


def _latest(fetch, key: str, partition: str):
    records = fetch(AssetRecordsFilter(asset_key=AssetKey(key), asset_partitions=[partition]), limit=1).records
    return records[0] if records else None


def months_not_built(instance: DagsterInstance, now: float) -> str:
    """The months whose extract landed more than FACT_BOUND ago and are not built since ('' if none)."""
    late = []
    for month in monthly_partitions.get_partition_keys():
        landed = _latest(instance.fetch_observations, "raw_i94", month)
        if landed and now - landed.timestamp > FACT_BOUND.total_seconds():
            built = _latest(instance.fetch_materializations, "fact_immigration", month)
            if built is None or built.timestamp < landed.timestamp:
                when = datetime.fromtimestamp(landed.timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
                late.append(f"{month[:7]} (landed {when})")
    return f"not built within {FACT_BOUND.total_seconds() / 3600:g} h of landing: {', '.join(late)}" if late else ""


def _outcome(late: str) -> dict:
    return {"passed": not late, "severity": AssetCheckSeverity.WARN, "description": late or "in time"}


def built_in_time(late: str) -> AssetCheckEvaluation:
    """The check's evaluation for what `months_not_built` found."""
    return AssetCheckEvaluation(asset_key=AssetKey("fact_immigration"), check_name=CHECK, **_outcome(late))


@asset_check(asset="fact_immigration", name=CHECK, blocking=False, description=DESCRIPTION)
def months_built_in_time(context) -> AssetCheckResult:
    """The check run from the UI: the same evaluation as the sensor's."""
    return AssetCheckResult(**_outcome(months_not_built(context.instance, get_current_timestamp())))


freshness_checks = [months_built_in_time]
