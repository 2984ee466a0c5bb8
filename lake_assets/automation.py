"""Declarative automation: what rebuilds itself, and when (evaluated by `automation_sensor`).

A table is rebuilt when something it is built from changed, never on a clock: a source's
observed data version (the 07:00 schedule observes the files), a table upstream rebuilt, or
its own code version (`Table.code_version` in `lake_assets.tables`). So a month whose extract lands
reaches the analytics within minutes of its fact partition, and a day where nothing changed
starts nothing. New fact months come from `raw_i94_sensor`, not from here.
"""

from dagster import AssetSelection, AutomationCondition, AutomationConditionSensorDefinition, DefaultSensorStatus

from lake_assets.sensors import AUTOMATION_ON

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
ANALYTICS = (_changed.since_last_handled() & _main_input_has_data
             & ~AutomationCondition.any_deps_missing().ignore(FACT) & _idle).with_label(
    "analytics: upstream or code changed")

automation_sensor = AutomationConditionSensorDefinition(
    "automation_sensor", target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING if AUTOMATION_ON else DefaultSensorStatus.STOPPED,
    description="Rebuild what is out of date: dimensions after a source or code change, fact months "
                "after a dimension change, analytics after a new fact month")
