"""The lake on S3 with the AWS Glue Data Catalog, run for real: moto's Glue on loopback (its
`UpdateTable` made to check `VersionId` as Glue does) and SeaweedFS for S3.

Through Glue: `lake build` of a generated month (a second one built in this process by the same
builds, without Dagster), `lake tables`, `query` (also `--as-of`), `history`, `rollback`, `clean`
and the report; pyiceberg's Glue catalog reads the same rows;
two builds of different months and two of the same month at once. Catalog safety: a SQLite
catalog for a lake on S3 is refused, and so is a table of another lake sharing the namespace.
One moto server and one lake for the module; the tests run in order on that lake.
"""

import datetime as dt
import json
import threading
import uuid
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from pyarrow import fs

from lake_assets.core import s3 as lake_s3
from lake_assets.core.catalog import Catalog, CatalogError
from lake_assets.core.generate import generate_raw
from lake_assets.core.query import connect
from lake_assets.core.tables.dimensions import BUILDS
from lake_assets.tools.cli import main
from lake_assets_tests.core.test_concurrency import both_land, one_whole_version
from lake_assets_tests.core.test_s3 import upload
from lake_assets_tests.support.in_process import build_here
from lake_assets_tests.support.s3server import _free_ports

MONTHS = ["2016-04", "2016-05"]
DIMENSIONS = tuple(b.name for b in BUILDS)
REGION = "us-east-1"
PAIR = ("fact_immigration", "fact_immigration_rejects")
COUNTS = ("select 'fact' as t, i94mon as m, count(*) as n from fact_immigration group by 1, 2 "
          "union all select 'rejects', i94mon, count(*) from fact_immigration_rejects group by 1, 2")


def glue_client(endpoint: str):
    return boto3.client("glue", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def version_checked(update_table):
    """moto 5.2.5's UpdateTable ignores `VersionId`: check it as Glue does, atomically with the
    update (a stale version -> ConcurrentModificationException; none -> no check)."""
    from moto.glue.exceptions import GlueClientError

    lock = threading.Lock()

    def checked(self):
        with lock:
            version, name = self.parameters.get("VersionId"), self.parameters["TableInput"]["Name"]
            current = str(self.glue_backend.get_table(self.parameters["DatabaseName"], name)._current_version)
            if version is not None and version != current:
                raise GlueClientError("ConcurrentModificationException",
                                      f"table {name} is at version {current}, not {version}")
            return update_table(self)

    return checked


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto's Glue on loopback, enforcing `VersionId`."""
    from moto.glue.responses import GlueResponse
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(GlueResponse, "update_table", version_checked(GlueResponse.update_table))
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_ports(1)[0], verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{server._port}"
        finally:
            server.stop()


@pytest.fixture(scope="module")
def lake(s3, moto_endpoint, spark, workers, tmp_path_factory):
    """April of a generated raw folder (two months) built by `lake build` into `s3://…` with
    `LAKE_CATALOG=glue`; this process's settings point at SeaweedFS and moto for the module."""
    root = tmp_path_factory.mktemp("glue")
    manifest = generate_raw(root / "raw", scale=0.0005, months=MONTHS)
    prefix = f"s3://{s3.bucket}/{uuid.uuid4().hex[:8]}"
    system = spark._jvm.java.lang.System
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**s3.env(), "LAKE_CATALOG": "glue", "LAKE_GLUE_ENDPOINT": moto_endpoint,
                           "LAKE_NAMESPACE": "lake"}.items():
            mp.setenv(key, value)
        mp.delenv("LAKE_ALLOW_LOCAL_CATALOG", raising=False)
        # The session's JVM started before these settings: its Glue client finds the credentials
        # where the AWS SDK's default chain looks first (a new JVM reads them from the environment).
        system.setProperty("aws.accessKeyId", s3.access_key)
        system.setProperty("aws.secretAccessKey", s3.secret_key)
        lake_s3.reset()
        upload(root / "raw", f"{prefix}/raw")
        raw, lake_dir = f"{prefix}/raw", f"{prefix}/lake"
        assert main(["build", "--raw", raw, "--lake", lake_dir, "--months", "2016-04"]) == 0
        try:
            yield SimpleNamespace(raw=raw, lake=lake_dir, prefix=prefix, glue=moto_endpoint, cache=root / "cache",
                                  raw_rows={m: manifest["months"][m]["rows"] for m in MONTHS})
        finally:
            system.clearProperty("aws.accessKeyId")
            system.clearProperty("aws.secretAccessKey")
            lake_s3.reset()


def lake_cli(capsys, *args: str) -> tuple[int, str, str]:
    """`lake ARGS…`: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def query(capsys, lake: str, sql: str, *options: str) -> list[dict]:
    code, out, err = lake_cli(capsys, "query", sql, "--lake", lake, "--format", "json", *options)
    assert code == 0, err
    return json.loads(out)


def counted(rows: list[dict]) -> dict[tuple[str, int], int]:
    return {(r["t"], r["m"]): r["n"] for r in rows}


def month_counts(lake: str) -> dict[tuple[str, int], int]:
    """Rows per (table, month) of the fact and its rejects, read as `lake query` reads them (only
    these two tables loaded)."""
    with connect(lake, only=PAIR) as con:
        return {(t, m): n for t, m, n in con.execute(COUNTS).fetchall()}


def test_moto_glue_refuses_a_stale_version_id(moto_endpoint):
    glue = glue_client(moto_endpoint)
    database = f"version_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={"Name": "t", "Parameters": {"v": "1"}})
    version = glue.get_table(DatabaseName=database, Name="t")["Table"]["VersionId"]
    glue.update_table(DatabaseName=database, TableInput={"Name": "t", "Parameters": {"v": "2"}}, VersionId=version)
    with pytest.raises(ClientError) as stale:
        glue.update_table(DatabaseName=database, TableInput={"Name": "t", "Parameters": {"v": "3"}}, VersionId=version)
    assert stale.value.response["Error"]["Code"] == "ConcurrentModificationException"
    assert glue.get_table(DatabaseName=database, Name="t")["Table"]["Parameters"] == {"v": "2"}


def test_a_build_through_glue_reads_back_with_every_reader(lake, capsys, tmp_path):
    tables = glue_client(lake.glue).get_tables(DatabaseName="lake")["TableList"]
    fact = next(t for t in tables if t["Name"] == "fact_immigration")
    assert fact["Parameters"]["table_type"].upper() == "ICEBERG"
    assert fact["Parameters"]["metadata_location"].startswith(f"{lake.lake}/fact_immigration/metadata/")

    code, out, err = lake_cli(capsys, "tables", "--lake", lake.lake, "--format", "json")
    assert code == 0, err
    summary = {t["table"]: t for t in json.loads(out)}
    assert {"dim_country", "fact_immigration", "fact_immigration_rejects", "metro_arrivals_monthly"} <= set(summary)
    counts = counted(query(capsys, lake.lake, COUNTS))
    assert counts == month_counts(lake.lake)
    assert counts[("fact", 4)] + counts[("rejects", 4)] == lake.raw_rows["2016-04"]

    # pyiceberg's Glue catalog reads the same rows.
    catalog = Catalog.for_lake(lake.lake).python()
    assert type(catalog).__name__ == "GlueCatalog"
    assert catalog.load_table(("lake", "fact_immigration")).scan().to_arrow().num_rows == counts[("fact", 4)]

    code, out, err = lake_cli(capsys, "report", "--lake", lake.lake, "--out", str(tmp_path / "report.html"))
    assert code == 0, err
    assert lake.lake in (tmp_path / "report.html").read_text()


def test_history_as_of_rollback_and_clean_through_glue(lake, capsys, spark):
    """A second month built through Glue; the lake as of before it; both tables rolled back."""
    code, out, err = lake_cli(capsys, "tables", "--lake", lake.lake, "--format", "json")
    assert code == 0, err
    first = {t["table"]: t["snapshot"] for t in json.loads(out)}
    before, built = month_counts(lake.lake), dt.datetime.now(dt.timezone.utc)
    build_here(spark, lake.raw, lake.lake, str(lake.cache), months=["2016-05"], skip=DIMENSIONS, run_id=uuid.uuid4().hex)
    now = month_counts(lake.lake)
    assert now[("fact", 5)] + now.get(("rejects", 5), 0) == lake.raw_rows["2016-05"]
    assert counted(query(capsys, lake.lake, COUNTS, "--as-of", built.strftime("%Y-%m-%dT%H:%M:%S.%f"))) == before

    history = {}
    for table in PAIR:
        code, out, err = lake_cli(capsys, "history", table, "--lake", lake.lake, "--format", "json")
        assert code == 0, err
        history[table] = {h["snapshot"]: (h["state"], h["month"]) for h in json.loads(out)}
        assert history[table][first[table]][0] in ("main", "current")  # the rejects move only if May has some
    assert ("current", "2016-05") in history["fact_immigration"].values()
    code, out, err = lake_cli(capsys, "rollback", "fact_immigration", "--to", first["fact_immigration"],
                              "--lake", lake.lake)
    assert code == 0, err  # the rejects go back with the fact, to the same run's version
    assert month_counts(lake.lake) == before

    code, out, err = lake_cli(capsys, "clean", "--lake", lake.lake, "--retain-days", "1", "--retain-last", "1")
    assert code == 0, err
    assert month_counts(lake.lake) == before


@pytest.mark.slow  # a Spark process per run, as test_concurrency.py
def test_two_builds_of_different_months_at_once_both_land_through_glue(lake, workers):
    both_land(workers, lake.raw, lake.lake, lake.raw_rows, lake.cache)


@pytest.mark.slow  # a Spark process per run, as test_concurrency.py
def test_two_builds_of_one_month_at_once_leave_one_whole_version_through_glue(lake, workers):
    one_whole_version(workers, lake.raw, lake.lake, lake.raw_rows, lake.cache, "2016-05")


def test_a_lake_sharing_the_namespace_is_refused_and_left_alone(lake, capsys):
    """Two lakes, one Glue database: lake B must neither write into nor read lake A's tables."""
    other = f"{lake.prefix}/other-lake"
    before = month_counts(lake.lake)
    code, out, err = lake_cli(capsys, "build", "--raw", lake.raw, "--lake", other, "--months", "2016-04")
    assert code == 2 and len(err.strip().splitlines()) == 1, err  # refused before Dagster starts
    assert f"is at {lake.lake}/" in err and f"outside the lake {other}" in err
    assert month_counts(lake.lake) == before
    written = fs.FileSelector(lake_s3.split(other), recursive=True, allow_not_found=True)
    assert lake_s3.filesystem(other).get_file_info(written) == []

    for command in (["query", "select 1"], ["clean"]):  # neither read nor maintained as lake B's
        code, out, err = lake_cli(capsys, *command, "--lake", other)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "outside the lake" in err, err


def test_a_sqlite_catalog_for_a_lake_on_s3_is_refused_outside_tests(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LAKE_CATALOG", str(tmp_path / "catalog.db"))
    monkeypatch.delenv("LAKE_ALLOW_LOCAL_CATALOG", raising=False)
    code, out, err = lake_cli(capsys, "tables", "--lake", "s3://bucket/lake")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "LAKE_CATALOG=glue" in err, err
    with pytest.raises(CatalogError, match="LAKE_CATALOG=glue"):  # as Spark jobs get it: --catalog
        Catalog.for_lake("s3://bucket/lake", str(tmp_path / "catalog.db"))
    monkeypatch.setenv("LAKE_ALLOW_LOCAL_CATALOG", "1")  # how tests opt in
    assert Catalog.for_lake("s3://bucket/lake").location == str(tmp_path / "catalog.db")
