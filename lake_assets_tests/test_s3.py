"""The raw landing zone and the lake on a real S3 server (SeaweedFS on loopback)."""

import copy
import json
import uuid
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import fs

from lake_assets import s3 as lake_s3
from lake_assets.lakefiles import MANIFEST, LakeFiles


def upload(local_dir, uri: str) -> None:
    fs.copy_files(str(local_dir), lake_s3.split(uri), source_filesystem=fs.LocalFileSystem(),
                  destination_filesystem=lake_s3.filesystem())


@pytest.fixture(scope="module")
def s3_april(s3, spark, tmp_path_factory):
    """A generated April (scale 0.0005) uploaded to S3 and built by `lake build` into a lake on S3."""
    from lake_assets.cli import build
    from lake_assets.generate import generate_raw

    raw_dir = tmp_path_factory.mktemp("raw-april")
    manifest = generate_raw(raw_dir, scale=0.0005, months=["2016-04"])
    with pytest.MonkeyPatch.context() as mp:
        for key, value in s3.env().items():
            mp.setenv(key, value)
        lake_s3.reset()
        prefix = f"s3://{s3.bucket}/{uuid.uuid4().hex[:8]}"
        upload(raw_dir, f"{prefix}/raw")
        # s3a:// names the same objects as s3://
        report = build(f"{prefix}/raw", f"s3a://{prefix.removeprefix('s3://')}/lake", "2016-04")
        yield SimpleNamespace(raw_dir=raw_dir, raw=f"{prefix}/raw", lake=f"{prefix}/lake",
                              manifest=manifest, report=report)
    lake_s3.reset()


def test_april_build_with_raw_and_lake_on_s3(s3_april, tmp_path):
    from lake_assets.query import connect, run, table_summaries
    from lake_assets.report import write_report

    report = s3_april.report
    assert not report.errors and not report.failed_blocking, report.errors or report.failed_blocking
    raw_rows = s3_april.manifest["months"]["2016-04"]["rows"]
    rows = {table: n for table, _, n in report.tables}
    assert rows["fact_immigration"] + rows["fact_immigration_rejects"] == raw_rows

    # Read back without Spark: pyarrow through the manifests, DuckDB (as `lake query` does),
    # and a plain reader of the bare prefix, as the lake contract promises.
    lake = LakeFiles(s3_april.lake)
    fact = lake.dataset("fact_immigration").to_table()
    assert fact.num_rows == rows["fact_immigration"]
    assert set(pa.compute.unique(fact["i94mon"]).to_pylist()) == {4}
    con = connect(s3_april.lake)
    (n, arrivals), = run(con, "select count(*), sum(arrivals) from metro_arrivals_monthly")[1]
    assert n == rows["metro_arrivals_monthly"] and arrivals > 0
    (n,), = run(con, "select count(*) from fact_immigration where i94yr = 2016 and i94mon = 4")[1]
    assert n == rows["fact_immigration"]
    plain = pq.read_table(lake_s3.split(f"{s3_april.lake}/dim_city"), filesystem=lake_s3.filesystem())
    assert plain.num_rows == rows["dim_city"]
    assert lake.tables() == sorted(rows)  # no _staging or _trash left beside the tables
    summary = {r[0]: r for r in table_summaries(s3_april.lake)[1]}
    assert summary["fact_immigration"][1:4] == (1, "i94yr=2016/i94mon=4", rows["fact_immigration"])
    assert s3_april.lake in write_report(s3_april.lake, tmp_path / "report.html").read_text()


def _files(lake: LakeFiles, table: str) -> dict[str, tuple]:
    selector = fs.FileSelector(lake_s3.split(lake.path(table)), recursive=True)
    return {i.path: (i.size, i.mtime_ns) for i in lake.fs.get_file_info(selector) if i.type == fs.FileType.File}


def test_failed_blocking_check_on_s3_keeps_the_tables_and_mails_the_operators(
        s3_april, s3_env, smtp, tmp_path, monkeypatch):
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from lake_assets.cli import build
    from lake_assets_tests.test_alerts import mail_run_failure

    lake = LakeFiles(s3_april.lake)
    kept = ["dim_temperature", "fact_immigration", "fact_immigration_rejects", "metro_arrivals_monthly",
            "tourism_by_season", "arrivals_temperature_correlation"]
    before = {table: _files(lake, table) for table in kept}
    # The temperatures land again in °F: dim_temperature's blocking domain check fails.
    for path in (s3_april.raw_dir / "temperature").iterdir():
        df = pd.read_csv(path)
        df["AverageTemperature"] = df["AverageTemperature"] * 9 / 5 + 32
        df.to_csv(tmp_path / path.name, index=False)
        upload(tmp_path / path.name, f"{s3_april.raw}/temperature/{path.name}")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # the runs recorded, as the daemon sees them

    report = build(s3_april.raw, s3_april.lake, "2016-04")
    assert report.failed_blocking == ["dim_temperature.temperature_domain"]
    assert {table: _files(lake, table) for table in kept} == before, "a table changed on a failed check"

    instance = DagsterInstance.get()
    (run,) = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
    mail_run_failure(instance, run)
    (mail,) = smtp.messages
    assert mail["Subject"] == "[lake] dimensions_job failed"
    assert "dim_temperature.temperature_domain" in mail.get_content()


def _write_staged(lake: LakeFiles, values: list[int]) -> str:
    staged = lake.staging_path()
    pq.write_table(pa.table({"v": values}), f"{lake_s3.split(staged)}/part-00000.parquet", filesystem=lake.fs)
    return staged


def test_s3_publish_keeps_the_last_version_readable_until_the_manifest_flips(s3_env):
    lake = LakeFiles(f"s3://{s3_env.bucket}/{uuid.uuid4().hex[:8]}/lake")
    lake.publish(_write_staged(lake, [1, 2]), "t")
    first = lake.current_files("t")
    assert lake.dataset("t").to_table()["v"].to_pylist() == [1, 2]

    # A publish that dies before its manifest is written: readers keep the old version.
    broken = copy.copy(lake)
    broken.fs = _Failing(lake.fs)
    with pytest.raises(OSError, match="network down"):
        broken.publish(_write_staged(lake, [7, 8, 9]), "t")
    assert lake.current_files("t") == first
    assert lake.dataset("t").to_table()["v"].to_pylist() == [1, 2]

    # The next publish flips the manifest and deletes every file it does not list.
    lake.publish(_write_staged(lake, [3]), "t")
    assert lake.dataset("t").to_table()["v"].to_pylist() == [3]
    key = lake_s3.split(lake.path("t"))
    left = sorted(i.base_name for i in lake.fs.get_file_info(fs.FileSelector(key)) if i.type == fs.FileType.File)
    manifest = json.loads(lake.fs.open_input_stream(f"{key}/{MANIFEST}").read())
    assert left == sorted([MANIFEST, *manifest["files"]]) and len(manifest["files"]) == 1


class _Failing:
    """A filesystem whose writes of manifests fail (as a lost connection would)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def open_output_stream(self, path, *args, **kwargs):
        if path.endswith(MANIFEST):
            raise OSError("network down")
        return self._inner.open_output_stream(path, *args, **kwargs)


def test_wrong_credentials_give_one_line(s3, monkeypatch, capsys):
    from lake_assets.cli import main

    for key, value in {**s3.env(), "AWS_SECRET_ACCESS_KEY": "not-the-secret"}.items():
        monkeypatch.setenv(key, value)
    lake_s3.reset()
    try:
        code = main(["build", "--raw", f"s3://{s3.bucket}/raw", "--lake", f"s3://{s3.bucket}/lake"])
    finally:
        lake_s3.reset()
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"lake: s3://{s3.bucket}/raw/i94: access denied by S3 ({s3.endpoint})"), err
    assert "AWS_SECRET_ACCESS_KEY" in err
