"""No person-level values (admission numbers, birth years, flight numbers) in what the Dagster
instance records: materialization metadata (the previews included) and check results, which
the UI, the event log in PostgreSQL and the failure mails show."""

import re

from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

from lake_assets.storage import PERSONAL_COLUMNS
from lake_assets_tests.sample_lake import sample_lake


def recorded_text(instance: DagsterInstance) -> list[tuple[str, str]]:
    """(asset, every metadata entry as text) of every materialization and check evaluation."""
    found = []
    for event_type in (DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION):
        for record in instance.get_event_records(EventRecordsFilter(event_type=event_type), limit=10_000):
            data = record.event_log_entry.dagster_event.event_specific_data
            entry = getattr(data, "materialization", data)
            found += [(entry.asset_key.to_user_string(), f"{key}: {value.value}") for key, value in entry.metadata.items()]
    return found


def test_recorded_metadata_holds_no_person_level_column(spark, tmp_path_factory):
    lake, home = sample_lake(tmp_path_factory)
    with DagsterInstance.from_config(str(home)) as instance:
        texts = recorded_text(instance)
    previews = [text for asset, text in texts if text.startswith("preview:")]
    assert any(asset == "fact_immigration" for asset, text in texts if text.startswith("preview:"))
    assert len(previews) >= 10  # every table's preview was looked at
    named = [(asset, column) for asset, text in texts for column in PERSONAL_COLUMNS
             if re.search(rf"\b{column}\b", text)]
    assert named == [], named[:5]
