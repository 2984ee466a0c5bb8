"""The landing-zone sensor, the daily schedule and the failure mail."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import SensorResult, build_sensor_context

from lake_assets import s3 as lake_s3
from lake_assets.resources import LakeResource
from lake_assets.sensors import daily_refresh_schedule, raw_i94_sensor


def write_month(raw: str, name: str, rows: int) -> None:
    """An I94 extract of `rows` rows under `<raw>/i94/` (local folder or S3 prefix)."""
    table = pa.table({"i94yr": [2016.0] * rows, "i94mon": [4.0] * rows, "cicid": [float(i) for i in range(rows)]})
    if lake_s3.is_s3(raw):
        pq.write_table(table, f"{lake_s3.split(raw)}/i94/{name}", filesystem=lake_s3.filesystem())
    else:
        (Path(raw) / "i94").mkdir(parents=True, exist_ok=True)
        pq.write_table(table, f"{raw}/i94/{name}")


def evaluate(raw: str, cursor: str | None) -> SensorResult:
    lake = LakeResource(raw_dir=raw, lake_dir=f"{raw}-lake")
    return raw_i94_sensor(build_sensor_context(cursor=cursor, resources={"lake": lake}))


@pytest.mark.parametrize("where", ["local", "s3"])
def test_one_run_per_new_or_changed_monthly_file(where, tmp_path, request):
    if where == "s3":
        server = request.getfixturevalue("s3_env")
        raw = f"s3://{server.bucket}/{tmp_path.name}/raw"
    else:
        raw = str(tmp_path / "raw")
    write_month(raw, "i94_apr16_sub.parquet", rows=3)

    first = evaluate(raw, None)
    assert raw_i94_sensor.job_name == "immigration_job"
    assert [r.partition_key for r in first.run_requests] == ["2016-04-01"]
    again = evaluate(raw, first.cursor)
    assert again.run_requests == [] and again.cursor == first.cursor

    write_month(raw, "i94_apr16_sub.parquet", rows=5)  # April replaced by a corrected extract
    changed = evaluate(raw, again.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2016-04-01"]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key
    write_month(raw, "i94_may16_sub.parquet", rows=2)  # May lands; April unchanged
    assert [r.partition_key for r in evaluate(raw, changed.cursor).run_requests] == ["2016-05-01"]


def test_sensor_skips_an_unreadable_landing_zone(tmp_path):
    result = evaluate(str(tmp_path / "nowhere"), None)
    assert "cannot read the landing zone" in result.skip_message


def test_daily_schedule_refreshes_dimensions_and_analytics_at_seven():
    from lake_assets.definitions import defs

    assert daily_refresh_schedule.cron_schedule == "0 7 * * *"
    job = defs.resolve_job_def(daily_refresh_schedule.job_name)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"dim_city", "dim_temperature", "metro_arrivals_monthly", "tourism_by_season",
            "arrivals_temperature_correlation"} <= keys
    assert not any(k.startswith("fact_") for k in keys)
