"""The raw landing zone and the lake on a real S3 server (SeaweedFS on loopback)."""

import shutil
import tempfile
import uuid
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from pyarrow import fs

from lake_assets.core import s3 as lake_s3
from lake_assets.core.query import snapshots


def upload(local_dir, uri: str) -> None:
    fs.copy_files(str(local_dir), lake_s3.split(uri), source_filesystem=fs.LocalFileSystem(),
                  destination_filesystem=lake_s3.filesystem())


@pytest.fixture(scope="module")
def s3_april(s3, spark, tmp_path_factory):
    """A generated April (scale 0.0002) uploaded to S3 and built by `lake build` into a lake on S3,
    its Iceberg catalog a local SQLite file (safe under concurrent commits, unlike a file catalog on S3)."""
    from lake_assets.core.generate import generate_raw
    from lake_assets.tools.build import build

    raw_dir = tmp_path_factory.mktemp("raw-april")
    manifest = generate_raw(raw_dir, scale=0.0002, months=["2016-04"])
    with pytest.MonkeyPatch.context() as mp:
        for key, value in s3.env().items():
            mp.setenv(key, value)
        mp.setenv("LAKE_CATALOG", str(tmp_path_factory.mktemp("catalog") / "catalog.db"))
        mp.setenv("LAKE_ALLOW_LOCAL_CATALOG", "1")  # a test's own catalog (Glue's path: test_glue.py)
        lake_s3.reset()
        prefix = f"s3://{s3.bucket}/{uuid.uuid4().hex[:8]}"
        upload(raw_dir, f"{prefix}/raw")
        # s3a:// names the same objects as s3://
        report = build(f"{prefix}/raw", f"s3a://{prefix.removeprefix('s3://')}/lake", "2016-04")
        yield SimpleNamespace(raw_dir=raw_dir, raw=f"{prefix}/raw", lake=f"{prefix}/lake",
                              manifest=manifest, report=report)
    lake_s3.reset()


def test_april_build_with_raw_and_lake_on_s3(s3_april, tmp_path):
    from lake_assets.core.query import connect, run, table_summaries
    from lake_assets.core.report import write_report

    report = s3_april.report
    assert not report.errors and not report.failed_blocking, report.errors or report.failed_blocking
    raw_rows = s3_april.manifest["months"]["2016-04"]["rows"]
    rows = {table: n for table, _, n in report.tables}
    assert rows["fact_immigration"] + rows["fact_immigration_rejects"] == raw_rows

    # Read back without Spark: the snapshot's files through pyarrow, DuckDB (as `lake query` does).
    (fact,) = snapshots(s3_april.lake, only=["fact_immigration"])
    assert all(f.startswith(("s3://", "s3a://")) for f in fact.files) and fact.rows == rows["fact_immigration"]
    data = ds.dataset([lake_s3.split(f) for f in fact.files], filesystem=lake_s3.filesystem()).to_table()
    assert set(pa.compute.unique(data["i94mon"]).to_pylist()) == {4}
    con = connect(s3_april.lake)
    (n, arrivals), = run(con, "select count(*), sum(arrivals) from metro_arrivals_monthly")[1]
    assert n == rows["metro_arrivals_monthly"] and arrivals > 0
    (n,), = run(con, "select count(*) from fact_immigration where i94yr = 2016 and i94mon = 4")[1]
    assert n == rows["fact_immigration"]
    summary = {r[0]: r for r in table_summaries(s3_april.lake)[1]}
    assert sorted(summary) == sorted(rows)
    assert summary["fact_immigration"][2:5] == (1, "i94yr=2016/i94mon=4", rows["fact_immigration"])
    assert s3_april.lake in write_report(s3_april.lake, tmp_path / "report.html").read_text()


def test_failed_blocking_check_on_s3_keeps_the_tables_and_mails_the_operators(
        s3_april, s3_env, smtp, tmp_path, monkeypatch):
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from lake_assets.tools.build import build
    from lake_assets_tests.orchestration.test_alerts import mail_run_failure

    kept = ["dim_temperature", "fact_immigration", "fact_immigration_rejects", "metro_arrivals_monthly",
            "tourism_by_season", "arrivals_temperature_correlation"]
    before = {t.name: t.snapshot_id for t in snapshots(s3_april.lake, only=kept)}
    # The temperatures land again in °F: dim_temperature's blocking domain check fails.
    for path in (s3_april.raw_dir / "temperature").iterdir():
        df = pd.read_csv(path)
        df["AverageTemperature"] = df["AverageTemperature"] * 9 / 5 + 32
        df.to_csv(tmp_path / path.name, index=False)
        upload(tmp_path / path.name, f"{s3_april.raw}/temperature/{path.name}")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # the runs recorded, as the daemon sees them

    report = build(s3_april.raw, s3_april.lake, "2016-04")
    assert report.failed_blocking == ["dim_temperature.temperature_domain"]
    assert {t.name: t.snapshot_id for t in snapshots(s3_april.lake, only=kept)} == before, \
        "a table changed on a failed check"

    instance = DagsterInstance.get()
    (run,) = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
    mail_run_failure(instance, run)
    (mail,) = smtp.messages
    assert mail["Subject"] == "[lake] dimensions_job failed"
    assert "dim_temperature.temperature_domain" in mail.get_content()


def test_wrong_credentials_give_one_line(s3, monkeypatch, capsys):
    from lake_assets.tools.cli import main

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


@pytest.mark.skipif(shutil.which("readstat") is None, reason="ReadStat's `readstat` writes .sas7bdat")
def test_sas7bdat_extract_on_s3_is_checked_without_leaving_a_copy(s3_env, tmp_path, monkeypatch):
    """Checking a .sas7bdat month on S3 downloads it to read its head: the copy goes afterwards."""
    from lake_assets.core.generate import write_sas7bdat
    from lake_assets.core.sources import I94_COLUMNS, I94_NUMERIC, check_i94_month, find_i94_months
    from lake_assets_tests.support.tiny_inputs import VALID_ROW

    frame = pd.DataFrame([VALID_ROW])[I94_COLUMNS]
    for c in frame.columns:  # SAS has doubles and strings
        frame[c] = frame[c].astype(float) if c in I94_NUMERIC else frame[c].fillna("")
    (tmp_path / "raw" / "i94").mkdir(parents=True)
    write_sas7bdat(frame, tmp_path / "raw" / "i94" / "i94_apr16_sub.sas7bdat")
    prefix = f"s3://{s3_env.bucket}/{uuid.uuid4().hex[:8]}"
    upload(tmp_path / "raw", f"{prefix}/raw")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    extract = find_i94_months(f"{prefix}/raw")["2016-04"]
    assert extract.format == "sas7bdat"
    check_i94_month(extract)
    assert list(scratch.iterdir()) == []
