"""Declarative automation: what rebuilds itself, and when (evaluated by `automation_sensor`).

A table is rebuilt when something it is built from changed, never on a clock: a source's
observed data version (the 07:00 schedule observes the files), a table upstream rebuilt, or
its own code version (`Table.code_version` in `lake_assets.core.tables`). So a month whose extract lands
reaches the analytics within minutes of its fact partition, and a day where nothing changed
starts nothing. Each table is rebuilt once per change: the analytics wait for the fact months
that a dimension change makes out of date. New fact months come from `raw_i94_sensor`.

Schedules and sensors start running unless `LAKE_AUTOMATION=off` (`lake ui --no-automation`).
"""

from dagster import (
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
)

from lake_assets.core import settings

SENSOR_STATUS = DefaultSensorStatus.RUNNING if settings.AUTOMATION.flag() else DefaultSensorStatus.STOPPED
SCHEDULE_STATUS = DefaultScheduleStatus(SENSOR_STATUS.value)

# Every Spark step claims a slot of this pool: with the instance's limit of 1 (dagster.yaml of
# `lake ui`), a `lake build` and the daemon's runs never build at the same time.
SPARK_POOL = "spark"

FACT = AssetSelection.assets("fact_immigration")

_changed = (AutomationCondition.any_deps_updated().ignore(AssetSelection.assets("raw_i94"))
            | AutomationCondition.code_version_changed()).with_label("upstream or code changed")
_idle = ~AutomationCondition.any_deps_in_progress() & ~AutomationCondition.in_progress()

DIMENSION = ((AutomationCondition.newly_missing() | _changed).since_last_handled()
             & ~AutomationCondition.any_deps_missing() & _idle).with_label("dimension: missing, or upstream or code changed")

FACT_MONTH = (~AutomationCondition.missing() & _changed.since_last_handled() & _idle).with_label(
    "fact month built before: a dimension or the code changed")

# The analytics do not wait for months that never landed, only for their main input to hold data.
_main_input_has_data = AutomationCondition.any_deps_match(
    ~AutomationCondition.missing() | AutomationCondition.will_be_requested()
).allow(FACT | AssetSelection.assets("metro_arrivals_monthly")).with_label("main input has data")
# A fact month that will be rebuilt: a dimension it reads is being rebuilt, or changed since the month was.
_month_out_of_date = ~AutomationCondition.missing() & (
    AutomationCondition.any_deps_match(AutomationCondition.will_be_requested() | AutomationCondition.in_progress())
    | _changed.since_last_handled())
_fact_up_to_date = ~AutomationCondition.any_deps_match(_month_out_of_date).allow(FACT).with_label(
    "no fact month to rebuild first")
ANALYTICS = (_changed.since_last_handled() & _main_input_has_data & _fact_up_to_date
             & ~AutomationCondition.any_deps_missing().ignore(FACT) & _idle).with_label(
    "analytics: upstream or code changed")

automation_sensor = AutomationConditionSensorDefinition(
    "automation_sensor", target=AssetSelection.all(), default_status=SENSOR_STATUS,
    description="Rebuild what is out of date: dimensions after a source or code change, fact months "
                "after a dimension change, analytics once after both")
