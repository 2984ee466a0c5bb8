"""What a run of the monthly fact build recorded in Dagster, per table and month."""


def recorded(result) -> tuple[dict, set]:
    """{(table, partition): materialization metadata}, {(table, check, partition, passed)}."""
    materializations = {(m.asset_key.to_user_string(), m.partition): m.metadata
                        for m in result.asset_materializations_for_node("immigration")}
    checks = {(e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name,
               e.event_specific_data.partition, e.event_specific_data.passed)
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    return materializations, checks
