"""The deployment's Dagster instance (infra/dagster.yaml) against a real PostgreSQL server.

The server is Debian's PostgreSQL (installed by scripts/setup.sh), started here on loopback
with password authentication and TLS (the deployment requires TLS to RDS), run as the
`postgres` user when the tests run as root. Step logs go to a real S3 server (SeaweedFS); the
password is in a Secrets Manager secret played by moto.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
import psycopg2
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    MaterializeResult,
    asset,
    define_asset_job,
    execute_job,
    in_process_executor,
    reconstructable,
)
from moto.server import ThreadedMotoServer

from lake_assets.orchestration.partitions import monthly_partitions
from lake_assets_tests.support.s3server import S3Server

PROJECT = Path(__file__).resolve().parents[2]
PASSWORD = "local-test-password"
LOGS_BUCKET = "lake-logs-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect_when_ready(server: subprocess.Popen, dsn: dict, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited with {server.returncode}")
        try:
            return psycopg2.connect(**dsn)
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server on 127.0.0.1 (free port, socket and data in a temporary folder) with
    a `dagster` database and user, password (SCRAM) authentication and TLS; stopped afterwards."""
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not bindirs:
        pytest.fail("PostgreSQL is not installed: run scripts/setup.sh (as root, it installs Debian's postgresql)")
    bindir = Path(bindirs[-1])
    as_root = os.geteuid() == 0
    run_as = {"user": "postgres", "group": "postgres", "extra_groups": []} if as_root else {}
    home = Path(tempfile.mkdtemp(prefix="lake-pg-"))
    (home / "pw").write_text(PASSWORD)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(home / "server.key"),
                    "-out", str(home / "server.crt")], check=True, capture_output=True)
    (home / "server.key").chmod(0o600)
    if as_root:
        shutil.chown(home, "postgres", "postgres")
        for path in home.iterdir():
            shutil.chown(path, "postgres", "postgres")
    subprocess.run([str(bindir / "initdb"), "-D", str(home / "data"), "-U", "dagster",
                    "--auth=scram-sha-256", f"--pwfile={home / 'pw'}", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True, **run_as)
    port = free_port()
    server = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(home / "data"), "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={home}",
         "-c", "ssl=on", "-c", f"ssl_cert_file={home / 'server.crt'}",
         "-c", f"ssl_key_file={home / 'server.key'}", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **run_as)
    try:
        dsn = dict(host="127.0.0.1", port=port, user="dagster", password=PASSWORD, sslmode="require")
        conn = connect_when_ready(server, {**dsn, "dbname": "postgres"})
        conn.autocommit = True
        conn.cursor().execute("create database dagster")
        conn.close()
        yield {**dsn, "dbname": "dagster"}
    finally:
        server.send_signal(signal.SIGINT)  # a "fast" shutdown: ends open sessions
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A real S3 server (SeaweedFS) on loopback holding the logs bucket; stopped afterwards."""
    with S3Server(tmp_path_factory.mktemp("s3"), bucket=LOGS_BUCKET) as server:
        client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                              aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key)
        # boto3 (the step-log manager) reaches the server through the standard endpoint variable.
        yield {"client": client, "env": {**server.env(), "AWS_ENDPOINT_URL_S3": server.endpoint}}


@asset(partitions_def=monthly_partitions)
def monthly_probe(context) -> MaterializeResult:
    """A trivial monthly asset: prints a line (a step log) and reports its month."""
    print(f"probe for {context.partition_key}")
    return MaterializeResult(metadata={"month": context.partition_key})


def probe_job():
    return Definitions(
        assets=[monthly_probe],
        jobs=[define_asset_job("probe_job", [monthly_probe])],
        executor=in_process_executor,  # as the lake's own jobs
    ).resolve_job_def("probe_job")


@pytest.fixture(scope="module")
def secrets():
    """A Secrets Manager (moto) on loopback holding the database password as RDS keeps it
    (JSON with `username` and `password`): `arn`, `put(password)`, `endpoint`."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")

    def value(password: str) -> str:
        return json.dumps({"username": "dagster", "password": password})

    arn = client.create_secret(Name="rds!db-test", SecretString=value(PASSWORD))["ARN"]
    try:
        yield {"arn": arn, "endpoint": endpoint,
               "put": lambda password: client.put_secret_value(SecretId=arn, SecretString=value(password))}
    finally:
        server.stop()


@pytest.fixture
def deployment_env(postgres, s3, secrets, tmp_path, monkeypatch):
    """DAGSTER_HOME with infra/dagster.yaml and the environment the ECS task definition sets."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "infra" / "dagster.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": postgres["host"], "DAGSTER_PG_PORT": str(postgres["port"]),
        "DAGSTER_PG_DB": postgres["dbname"], "DAGSTER_PG_USERNAME": postgres["user"],
        "DAGSTER_PG_PASSWORD_SECRET_ARN": secrets["arn"], "PGSSLMODE": "require",
        "DAGSTER_COMPUTE_LOGS_BUCKET": LOGS_BUCKET, **s3["env"],
        # on AWS the task role's credentials; moto takes any
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": secrets["endpoint"],
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return home


def test_partitioned_run_recorded_in_postgres(deployment_env, postgres, s3):
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_ref().storage_data.class_name == "SecretPostgresStorage"
        result = execute_job(reconstructable(probe_job), instance=instance, tags={"dagster/partition": "2016-04-01"})
        assert result.success
        run_id = result.run_id

    # A fresh instance (new connections) reads the run and its events back from the server.
    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == "2016-04-01"
        event = instance.get_latest_materialization_event(AssetKey("monthly_probe"))
        assert event.run_id == run_id
        materialization = event.asset_materialization
        assert materialization.partition == "2016-04-01"
        assert materialization.metadata["month"].value == "2016-04-01"
        assert instance.get_materialized_partitions(AssetKey("monthly_probe")) == {"2016-04-01"}

    with psycopg2.connect(**postgres) as conn, conn.cursor() as cur:
        cur.execute("select status from runs where run_id = %s", (run_id,))
        assert cur.fetchone() == ("SUCCESS",)
        cur.execute("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        assert cur.fetchone() == (True,)

    logs = s3["client"].list_objects_v2(Bucket=LOGS_BUCKET, Prefix=f"dagster/compute-logs/storage/{run_id}/")
    body = b"".join(s3["client"].get_object(Bucket=LOGS_BUCKET, Key=o["Key"])["Body"].read()
                    for o in logs.get("Contents", []))
    assert b"probe for 2016-04-01" in body


def set_password(postgres: dict, old: str, new: str) -> None:
    with psycopg2.connect(**{**postgres, "password": old}) as conn, conn.cursor() as cur:
        cur.execute("alter user dagster password %s", (new,))


def test_password_rotation_keeps_the_instance_working(deployment_env, postgres, secrets):
    """RDS's rotation: the database's password changes, then its secret; the instance in use,
    which read the old password, records the next run (its refused login reads the secret again)."""
    rotated = "rotated-test-password"
    with DagsterInstance.get() as instance:
        before = execute_job(reconstructable(probe_job), instance=instance, tags={"dagster/partition": "2016-04-01"})
        assert before.success
        try:
            set_password(postgres, PASSWORD, rotated)
            secrets["put"](rotated)
            after = execute_job(reconstructable(probe_job), instance=instance, tags={"dagster/partition": "2016-05-01"})
            assert after.success
            assert instance.get_run_by_id(after.run_id).status == DagsterRunStatus.SUCCESS
            assert instance.get_materialized_partitions(AssetKey("monthly_probe")) >= {"2016-04-01", "2016-05-01"}
        finally:
            set_password(postgres, rotated, PASSWORD)
            secrets["put"](PASSWORD)


def test_the_containers_own_login_runs_the_instance(deployment_env, postgres, secrets, monkeypatch):
    """The one-off task (python -m lake_assets.orchestration.instance_storage, as the master) creates the
    containers' login with the password of its secret and hands it the database and its tables
    (also those the master made before); the instance then runs as that login. Run again (a new
    password), it changes the password."""
    import sys

    client = boto3.client("secretsmanager", endpoint_url=secrets["endpoint"], region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    app = client.create_secret(Name="lake-test/dagster-app-database",
                               SecretString=json.dumps({"username": "dagster_app", "password": "app-password-1"}))["ARN"]
    with DagsterInstance.get() as instance:  # tables made by the master, as before the login existed
        assert execute_job(reconstructable(probe_job), instance=instance, tags={"dagster/partition": "2016-04-01"}).success

    def grant() -> str:
        env = {**os.environ, "DAGSTER_PG_USERNAME": "dagster_app", "DAGSTER_PG_PASSWORD_SECRET_ARN": app,
               "DAGSTER_PG_MASTER_USERNAME": postgres["user"], "DAGSTER_PG_MASTER_PASSWORD": postgres["password"]}
        done = subprocess.run([sys.executable, "-m", "lake_assets.orchestration.instance_storage"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "database login dagster_app" in grant()
    client.put_secret_value(SecretId=app, SecretString=json.dumps({"username": "dagster_app", "password": "app-password-2"}))
    grant()  # again, with the new password
    monkeypatch.setenv("DAGSTER_PG_USERNAME", "dagster_app")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD_SECRET_ARN", app)
    with DagsterInstance.get() as instance:
        result = execute_job(reconstructable(probe_job), instance=instance, tags={"dagster/partition": "2016-06-01"})
        assert result.success
    with psycopg2.connect(**{**postgres, "user": "dagster_app", "password": "app-password-2"}) as conn, conn.cursor() as cur:
        cur.execute("select current_user, (select tableowner from pg_tables where tablename = 'runs')")
        assert cur.fetchone() == ("dagster_app", "dagster_app")
        cur.execute("select count(*) from runs where run_id = %s", (result.run_id,))
        assert cur.fetchone() == (1,)
