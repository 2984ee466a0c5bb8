"""The landing-zone sensor, the daily schedule and the failure mail."""

from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import AssetMaterialization, DagsterInstance, SensorResult, build_sensor_context
from dagster._core.test_utils import freeze_time

from lake_assets.core import s3 as lake_s3
from lake_assets.core.sources import file_stamps, stamps_version
from lake_assets.orchestration.resources import LakeResource
from lake_assets.orchestration.sensors import RETRIES, daily_refresh_schedule, extract_observation, raw_i94_sensor


def write_month(raw: str, name: str, rows: int) -> None:
    """An I94 extract of `rows` rows under `<raw>/i94/` (local folder or S3 prefix)."""
    table = pa.table({"i94yr": [2016.0] * rows, "i94mon": [4.0] * rows, "cicid": [float(i) for i in range(rows)]})
    if lake_s3.is_s3(raw):
        pq.write_table(table, f"{lake_s3.split(raw)}/i94/{name}", filesystem=lake_s3.filesystem())
    else:
        (Path(raw) / "i94" / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, f"{raw}/i94/{name}")


def evaluate(raw: str, cursor: str | None, instance: DagsterInstance | None = None) -> SensorResult:
    lake = LakeResource(raw_dir=raw, lake_dir=f"{raw}-lake")
    context = build_sensor_context(cursor=cursor, resources={"lake": lake},
                                   instance=instance or DagsterInstance.ephemeral())
    return raw_i94_sensor(context)


@pytest.mark.parametrize("where", ["local", "s3"])
def test_sensor_one_run_per_new_or_changed_monthly_file(where, tmp_path, request):
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


def test_sensor_waits_until_a_parquet_folder_is_complete(tmp_path):
    raw = str(tmp_path / "raw")
    write_month(raw, "i94_apr16_sub/part-0.parquet", rows=3)
    first = evaluate(raw, None)
    assert first.run_requests == []  # parts may still be arriving
    write_month(raw, "i94_apr16_sub/part-1.parquet", rows=3)  # they were
    still = evaluate(raw, first.cursor)
    assert still.run_requests == []
    stable = evaluate(raw, still.cursor)  # unchanged since the last tick
    assert [r.partition_key for r in stable.run_requests] == ["2016-04-01"]

    write_month(raw, "i94_may16_sub/part-0.parquet", rows=2)
    (tmp_path / "raw" / "i94" / "i94_may16_sub" / "_SUCCESS").touch()  # complete at once
    assert [r.partition_key for r in evaluate(raw, stable.cursor).run_requests] == ["2016-05-01"]


def test_sensor_leaves_retries_to_dagster_and_mails_an_overdue_month_once(tmp_path, smtp):
    """Watching since 2016-06-01: May, due by 2016-06-15 plus the margin, is overdue on 2016-06-23
    and mailed once; January to March were due before the sensor watched, and are not."""
    raw = str(tmp_path / "raw")
    write_month(raw, "i94_apr16_sub.parquet", rows=3)
    with freeze_time(datetime(2016, 6, 1, tzinfo=timezone.utc)):
        first = evaluate(raw, None)
    (request,) = first.run_requests
    assert request.tags["dagster/max_retries"] == str(RETRIES)  # a failed run is Dagster's to retry
    assert smtp.messages == []
    with freeze_time(datetime(2016, 6, 23, tzinfo=timezone.utc)):
        late = evaluate(raw, first.cursor)
        again = evaluate(raw, late.cursor)
    (mail,) = smtp.messages  # mailed once
    body = mail.get_content()
    assert "the I94 extract of 2016-05 is overdue: due by 2016-06-15" in body
    assert not any(f"2016-0{m} is overdue" in body for m in (1, 2, 3, 4, 6))
    assert again.run_requests == [] and "2016-05 is overdue" in again.skip_reason.skip_message


def test_a_fresh_sensor_on_a_past_year_mails_no_month_as_overdue(tmp_path, smtp, capfd):
    """A first `lake ui` on the 2016 lake years later: the months with no extract were due long
    before the sensor watched; one log line names them, no mail."""
    raw = str(tmp_path / "raw")
    write_month(raw, "i94_apr16_sub.parquet", rows=3)
    first = evaluate(raw, None)
    again = evaluate(raw, first.cursor)
    assert smtp.messages == [] and again.skip_reason is None
    (line,) = [line for line in capfd.readouterr().err.splitlines() if "due before" in line]
    assert "no I94 extract for 2016-01, 2016-02, 2016-03, 2016-05" in line and "not mailed" in line


def test_sensor_reports_unreadable_and_out_of_range_extracts_once_and_builds_the_others(tmp_path, smtp):
    raw = str(tmp_path / "raw")
    write_month(raw, "i94_apr16_sub.parquet", rows=3)
    write_month(raw, "i94_dec15_sub.parquet", rows=3)  # outside the lake's 2016 partitions
    broken = tmp_path / "raw" / "i94" / "sas_data"  # no month in its name, and unreadable
    broken.mkdir()
    (broken / "part-0.parquet").write_bytes(b"not parquet")

    first = evaluate(raw, None)
    assert [r.partition_key for r in first.run_requests] == ["2016-04-01"]
    (mail,) = smtp.messages
    body = mail.get_content()
    assert f"{broken}: cannot read i94yr/i94mon" in body
    assert "i94_dec15_sub.parquet: holds 2015-12, outside the lake's months 2016-01..2016-12" in body
    again = evaluate(raw, first.cursor)
    assert again.run_requests == [] and len(smtp.messages) == 1  # mailed once
    assert "holds 2015-12" in again.skip_reason.skip_message and "sas_data" in again.skip_reason.skip_message


def test_sensor_sees_an_s3_reupload_of_the_same_size(s3_env, tmp_path):
    """S3 keeps whole seconds of modification time: the ETag tells the two uploads apart."""
    raw = f"s3://{s3_env.bucket}/{tmp_path.name}/raw"

    def upload(content: bytes) -> None:
        with lake_s3.filesystem().open_output_stream(f"{lake_s3.split(raw)}/i94/i94_apr16_sub.csv") as out:
            out.write(content)

    upload(b"cicid\n1\n")
    first = evaluate(raw, None)
    upload(b"cicid\n2\n")
    assert [r.partition_key for r in evaluate(raw, first.cursor).run_requests] == ["2016-04-01"]


def test_daily_schedule_observes_the_source_files_at_seven():
    """Observations only: what a changed file feeds is rebuilt by automation_sensor (test_automation)."""
    from lake_assets.defs.lake import defs

    assert daily_refresh_schedule.cron_schedule == "0 7 * * *"
    job = defs.resolve_job_def(daily_refresh_schedule.job_name)
    keys = job.asset_layer.executable_asset_keys
    assert {k.to_user_string() for k in keys} == {"raw_labels", "raw_demographics", "raw_airports", "raw_temperatures"}
    assert all(defs.resolve_asset_graph().get(k).is_observable for k in keys)


def test_sensor_records_the_version_of_each_extract_it_asks_for(tmp_path):
    raw = str(tmp_path / "raw")
    write_month(raw, "i94_apr16_sub.parquet", rows=3)
    first = evaluate(raw, None)
    (observation,) = first.asset_events
    assert (observation.asset_key.to_user_string(), observation.partition) == ("raw_i94", "2016-04-01")
    assert observation.tags["dagster/data_version"] == stamps_version(file_stamps(tmp_path / "raw" / "i94" / "i94_apr16_sub.parquet"))
    assert evaluate(raw, first.cursor).asset_events == []


def _built_by_lake_build(instance, extract) -> None:
    """What `lake build` records of April's extract it built: the extract's version, then the fact's month."""
    instance.report_runless_asset_event(extract_observation("2016-04", stamps_version(file_stamps(extract))))
    instance.report_runless_asset_event(AssetMaterialization("fact_immigration", partition="2016-04-01"))


def test_sensor_does_not_build_again_a_version_lake_build_built(tmp_path):
    """`lake build` records each extract's version before building it, in the instance of `lake ui`."""
    raw, instance = str(tmp_path / "raw"), DagsterInstance.ephemeral()
    write_month(raw, "i94_apr16_sub.parquet", rows=3)
    _built_by_lake_build(instance, tmp_path / "raw" / "i94" / "i94_apr16_sub.parquet")
    first = evaluate(raw, None, instance)
    assert first.run_requests == [] and first.asset_events == []
    write_month(raw, "i94_apr16_sub.parquet", rows=5)  # a corrected extract: built
    assert [r.partition_key for r in evaluate(raw, first.cursor, instance).run_requests] == ["2016-04-01"]


def test_sensor_does_not_build_again_a_folder_lake_build_built_once_it_is_stable(tmp_path):
    """A folder of parts without a marker waits a tick to be complete; then it is a version `lake build` built."""
    raw, instance = str(tmp_path / "raw"), DagsterInstance.ephemeral()
    write_month(raw, "i94_apr16_sub/part-0.parquet", rows=3)
    _built_by_lake_build(instance, tmp_path / "raw" / "i94" / "i94_apr16_sub")
    first = evaluate(raw, None, instance)
    assert first.run_requests == [] and evaluate(raw, first.cursor, instance).run_requests == []
