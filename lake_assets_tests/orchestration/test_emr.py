"""EMR without an AWS account: moto plays the EMR and EMR Serverless control planes, SeaweedFS
is S3, and the Spark command line each request carries is run here, as spark-submit would, on one
warm driver for the file (support/warm_driver.py; the backfills' spark-submits too).

What moto checks is the request; what spark-submit checks is that the command in it builds,
checks and publishes the table and reports back through Pipes (messages via S3)."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from dagster import materialize
from dagster._core.pipes import utils as pipes_utils

from lake_assets.core.generate import generate_raw
from lake_assets.core.query import snapshots
from lake_assets.core.sources import find_i94_months
from lake_assets.core.spark_job import tree_sha256
from lake_assets.orchestration import engines
from lake_assets.orchestration.assets.factory import table_assets
from lake_assets.orchestration.assets.immigration import immigration
from lake_assets.orchestration.environments import resources_for
from lake_assets.orchestration.resources import LakeResource
from lake_assets.orchestration.spark import local_conf
from lake_assets.tools import package
from lake_assets_tests.support.in_process import build_here
from lake_assets_tests.support.recorded import recorded
from lake_assets_tests.support.s3server import _free_ports
from lake_assets_tests.support.warm_driver import WarmDriver

dimension_assets = [a for a in table_assets if a.key.path[0].startswith("dim_")]

REGION, ACCOUNT = "us-east-1", "123456789012"
ARTIFACTS = "artifacts/lake_assets"


def unpack_release(workdir: Path) -> str:
    """The archive a cluster unpacks as ./deps, reduced to the project's code (this environment
    supplies the dependencies); returns its sha256, the release the engines name."""
    shutil.copytree(package.PACKAGE_DIR, workdir / "deps" / "lake_assets", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tree_sha256(workdir / "deps")


with tempfile.TemporaryDirectory() as _workdir:
    RELEASE = unpack_release(Path(_workdir))


# ---------------------------------------------------------------- servers and settings


@pytest.fixture(scope="module")
def s3_server(s3):
    """SeaweedFS on loopback (conftest's `s3`)."""
    return s3


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_ports(1)[0]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(server):
    return boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key, region_name=REGION)


@pytest.fixture(scope="module")
def raw_on_s3(s3_server, tmp_path_factory):
    """A generated raw folder (labels are all the dimension steps here need) uploaded to S3."""
    raw = tmp_path_factory.mktemp("raw")
    generate_raw(raw, scale=0.0002, months=["2016-04"])
    s3 = s3_client(s3_server)
    for path in raw.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), s3_server.bucket, f"raw/{path.relative_to(raw)}")
    return f"s3://{s3_server.bucket}/raw"


@pytest.fixture(scope="module")
def release_on_s3(s3_server):
    """The release's entry point and bootstrap script where the engines look (a cluster starts
    only once its bootstrap script is checked)."""
    s3 = s3_client(s3_server)
    s3.upload_file(engines.ENTRY_POINT, s3_server.bucket, f"{ARTIFACTS}/{RELEASE}/{engines.JOB_FILE}")
    s3.put_object(Bucket=s3_server.bucket, Key=f"{ARTIFACTS}/{RELEASE}/{package.BOOTSTRAP_FILE}",
                  Body=package.BOOTSTRAP.encode())


@pytest.fixture
def aws(s3_server, moto_endpoint, release_on_s3, monkeypatch, tmp_path):
    """This process and its children talk to moto for EMR and to SeaweedFS for S3; the Iceberg
    catalog, Glue's stand-in, is a SQLite file here."""
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    for key, value in {**s3_server.env(), "AWS_DEFAULT_REGION": REGION, "LAKE_CATALOG": str(tmp_path / "catalog.db"),
                       "LAKE_ALLOW_LOCAL_CATALOG": "1",
                       "AWS_ENDPOINT_URL_EMR": moto_endpoint,
                       "AWS_ENDPOINT_URL_EMR_SERVERLESS": moto_endpoint}.items():
        monkeypatch.setenv(key, value)
    from lake_assets.core import s3

    s3.reset()
    boto3.setup_default_session()
    return Requests()


@pytest.fixture
def no_late_messages(monkeypatch):
    """A step that ends without Pipes' closing message (the fake cluster's steps run nothing):
    Dagster waits 10 s for late messages before it reports the failure; here none can come. (A
    step run here sends its closing message: Dagster stops reading once it has it.)"""
    monkeypatch.setattr(pipes_utils, "WAIT_FOR_LOGS_AFTER_EXECUTION_INTERVAL", 0)


class Requests:
    """Every EMR / EMR Serverless request this process sends, as sent (service, operation, params)."""

    def __init__(self):
        self.sent: list[tuple[str, str, dict]] = []
        boto3.DEFAULT_SESSION.events.register("provide-client-params.emr.*", self._record)
        boto3.DEFAULT_SESSION.events.register("provide-client-params.emr-serverless.*", self._record)

    def _record(self, params, model, **_):
        self.sent.append((model.service_model.service_name, model.name, dict(params)))

    def of(self, operation: str) -> list[dict]:
        return [p for _, op, p in self.sent if op == operation]


def emr_backend():
    from moto.emr.models import emr_backends

    return emr_backends[ACCOUNT][REGION]


def cluster_engine(s3_server, raw: str, **settings) -> engines.EmrClusterEngine:
    lake = LakeResource(raw_dir=raw, lake_dir=f"s3://{s3_server.bucket}/lake")
    return engines.EmrClusterEngine(
        lake=lake, bucket=s3_server.bucket, artifacts_uri=f"s3://{s3_server.bucket}/{ARTIFACTS}",
        logs_uri=f"s3://{s3_server.bucket}/emr-logs/", service_role="LakeEmrServiceRole",
        instance_profile="LakeEmrInstanceProfile", **{"message_interval_seconds": 0.5, "poll_interval_seconds": 0.5,
                                                      "artifacts_sha256": RELEASE, **settings})


# ---------------------------------------------------------------- running a request's command here


@pytest.fixture(scope="module")
def warm_driver(tmp_path_factory):
    """The Spark driver every command line of this file runs on, one after another: started
    once on this machine's settings (`spark.local_conf`: the driver JVM's options with its class
    archive, no UI) and the job's (`engines.JOB_CONF`); a request's other settings are set for
    its run, or refused."""
    with WarmDriver(tmp_path_factory.mktemp("driver"), {**engines.JOB_CONF, **local_conf()}) as driver:
        yield driver


@pytest.fixture
def submit_here(warm_driver, monkeypatch):
    """The spark-submit engine's `spark-submit`, the warm driver's."""
    monkeypatch.setattr(engines, "spark_submit", lambda: warm_driver.spark_submit)


def run_here(driver: WarmDriver, args: list[str], driver_env_prefix: str) -> subprocess.CompletedProcess:
    """Run the spark-submit command line of an EMR request on this machine, as the cluster would:
    client mode on local[2] (the warm driver), on this machine's settings and the request's own;
    the driver's environment from `<prefix>X=v` confs (Pipes variables on EMR Serverless); the
    entry point fetched from S3. The cluster's Python settings (the packaged ./deps and its
    interpreter) are replaced by this environment's, but the job still checks the release it is
    given against a ./deps holding its own copy."""
    assert args[0] == "spark-submit", args
    command = [engines.spark_submit(), "--master", "local[2]", "--driver-memory", "1g",
               *(a for k, v in local_conf().items() for a in ("--conf", f"{k}={v}"))]
    env = {}
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--deploy-mode":
            next(rest)
        elif arg == "--conf":
            key, value = next(rest).split("=", 1)
            name = key[len(driver_env_prefix):] if key.startswith(driver_env_prefix) else None
            if key in ("spark.archives", "spark.jars", "spark.driver.extraJavaOptions") \
                    or key.startswith("spark.executorEnv.") or name == "PYSPARK_PYTHON":
                continue
            if name:
                env[name] = value
            else:
                command += ["--conf", f"{key}={value}"]
        elif arg.startswith("s3://") and arg.endswith(".py"):
            local = Path(os.environ["EMR_TEST_WORKDIR"]) / Path(arg).name
            bucket, key = arg[5:].split("/", 1)
            boto3.client("s3", endpoint_url=os.environ["LAKE_S3_ENDPOINT"]).download_file(bucket, key, str(local))
            command += [str(local), *rest]
        else:
            command.append(arg)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", **env}
    workdir = Path(os.environ["EMR_TEST_WORKDIR"])
    unpack_release(workdir)
    return driver.submit(command, env, str(workdir))


class FakeCluster(threading.Thread):
    """Plays the EC2 cluster: each new step is handed to `act(step)`, which returns its end state."""

    def __init__(self, act):
        super().__init__(daemon=True)
        self.act, self.seen, self.done, self.errors = act, set(), threading.Event(), []

    def run(self):
        while not self.done.is_set():
            for cluster in list(emr_backend().clusters.values()):
                for step in cluster.steps:
                    if step.id not in self.seen and cluster.state not in engines.CLUSTER_ENDED:
                        self.seen.add(step.id)
                        try:
                            state = self.act(step)
                        except Exception as exc:  # shown by the test
                            self.errors.append(exc)
                            state = "FAILED"
                        if state:
                            step.state = state
            time.sleep(0.2)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join(10)


def step_run_here(driver: WarmDriver):
    """A FakeCluster's `act`: each step's command line run here."""
    def run(step) -> str:
        done = run_here(driver, list(step.args), "spark.yarn.appMasterEnv.")
        assert done.returncode == 0, done.stderr[-3000:]
        return "COMPLETED"

    return run


def cluster_states() -> list[str]:
    return [c.state for c in emr_backend().clusters.values()]


# ---------------------------------------------------------------- EMR on EC2


@pytest.mark.spark  # the step's spark-submit runs here
def test_transient_cluster_runs_the_step_here_and_is_terminated_on_success(aws, s3_server, raw_on_s3, warm_driver,
                                                                           tmp_path, monkeypatch):
    monkeypatch.setenv("EMR_TEST_WORKDIR", str(tmp_path))
    engine = cluster_engine(s3_server, raw_on_s3, spark_conf={"spark.sql.shuffle.partitions": "4"})
    with FakeCluster(step_run_here(warm_driver)) as cluster:
        result = materialize([*dimension_assets], resources={"engine": engine}, selection=["dim_visa", "dim_travel_mode"],
                             raise_on_error=False)
    assert not cluster.errors, cluster.errors
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    # the asset and its checks came back through Pipes, from the step's own command line
    rows = {m.asset_key.to_user_string(): m.metadata["rows"].value for m in result.asset_materializations_for_node("dim_visa")}
    assert rows["dim_visa"] > 0
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert {(c.asset_key.to_user_string(), c.passed) for c in checks} >= {("dim_visa", True), ("dim_travel_mode", True)}
    s3 = boto3.client("s3", endpoint_url=s3_server.endpoint)
    assert s3.list_objects_v2(Bucket=s3_server.bucket, Prefix="lake/dim_visa/")["KeyCount"] > 0

    # one cluster for the run, with exactly these settings, and terminated at the end
    (flow,) = aws.of("RunJobFlow")
    assert flow["ReleaseLabel"] == "emr-7.13.0" and flow["Applications"] == [{"Name": "Spark"}]
    assert (flow["ServiceRole"], flow["JobFlowRole"]) == ("LakeEmrServiceRole", "LakeEmrInstanceProfile")
    assert flow["LogUri"] == f"s3://{s3_server.bucket}/emr-logs/"
    assert flow["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    assert [(g["InstanceRole"], g["InstanceType"], g["InstanceCount"]) for g in flow["Instances"]["InstanceGroups"]] == [
        ("MASTER", "m5.xlarge", 1), ("CORE", "m5.xlarge", 2)]
    assert flow["AutoTerminationPolicy"] == {"IdleTimeout": 3600}
    assert flow["BootstrapActions"][0]["ScriptBootstrapAction"] == {
        "Path": f"s3://{s3_server.bucket}/{ARTIFACTS}/{RELEASE}/bootstrap.sh", "Args": ["python3.11"]}
    tags = {t["Key"]: t["Value"] for t in flow["Tags"]}
    assert tags["project"] == "lake_assets" and tags["dagster/run_id"] == result.run_id
    # Spark settings as --conf only (a spark-defaults configuration would drop Pipes' variables,
    # defect 2); the one configuration enables EMR's own Iceberg
    assert flow["Configurations"] == [engines.EMR_ICEBERG]

    steps = aws.of("AddJobFlowSteps")
    assert sorted(s["Steps"][0]["Name"] for s in steps) == ["dim_travel_mode", "dim_visa"]
    args = next(s["Steps"][0] for s in steps if s["Steps"][0]["Name"] == "dim_visa")["HadoopJarStep"]["Args"]
    entry = args.index(f"s3://{s3_server.bucket}/{ARTIFACTS}/{RELEASE}/spark_job.py")
    assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    confs = dict(a.split("=", 1) for a in args[4:entry:2])
    assert confs == {**engines.JOB_CONF, "spark.sql.shuffle.partitions": "4",
                     "spark.archives": f"s3://{s3_server.bucket}/{ARTIFACTS}/{RELEASE}/lake_deps.tar.gz#deps",
                     **{f"{prefix}{name}": value for prefix in ("spark.yarn.appMasterEnv.", "spark.executorEnv.")
                        for name, value in (("PYSPARK_PYTHON", "python3.11"), ("PYTHONDONTWRITEBYTECODE", "1"))},
                     "spark.executorEnv.PYTHONPATH": "./deps"}  # the driver's path: only once checked
    assert args[entry + 1:entry + 14] == ["dim_visa", "--raw", raw_on_s3, "--lake", f"s3://{s3_server.bucket}/lake",
                                          "--cache", "/tmp/lake_assets_cache", "--catalog", os.environ["LAKE_CATALOG"],
                                          "--namespace", "lake", "--artifacts-sha256", RELEASE]
    assert args[entry + 14] == "--dagster-pipes-context" and args[entry + 16] == "--dagster-pipes-messages"
    assert cluster_states() == ["TERMINATED"]
    assert aws.of("TerminateJobFlows") == [{"JobFlowIds": list(emr_backend().clusters)}]


def test_failed_step_fails_the_run_and_the_cluster_is_terminated(aws, s3_server, no_late_messages):
    engine = cluster_engine(s3_server, f"s3://{s3_server.bucket}/raw")
    with FakeCluster(lambda step: "FAILED"):
        result = materialize([*dimension_assets], resources={"engine": engine}, selection=["dim_visa"],
                             raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "ended FAILED" in failure.step_failure_data.error.message
    assert cluster_states() == ["TERMINATED"]


def test_cancelled_run_terminates_the_cluster(aws, s3_server, no_late_messages):
    """SIGINT (what a run cancellation sends) while a step runs: the cluster goes too."""
    engine = cluster_engine(s3_server, f"s3://{s3_server.bucket}/raw")

    def interrupt(step):
        os.kill(os.getpid(), signal.SIGINT)  # and the step stays RUNNING

    with FakeCluster(interrupt):
        try:
            result = materialize([*dimension_assets], resources={"engine": engine}, selection=["dim_visa"],
                                 raise_on_error=False)
            assert not result.success
        except KeyboardInterrupt:
            pass
    assert cluster_states() == ["TERMINATED"]


# ---------------------------------------------------------------- guards for dagster-aws' known defects


class Polls:
    """time.sleep stand-in for the test's thread: counts polls as simulated time and can act at a
    given poll. Other threads (py4j's, when a Spark session is alive) really sleep."""

    def __init__(self, at: int, act, give_up: int = 500):
        self.n, self.at, self.act, self.give_up = 0, at, act, give_up
        self.thread, self.real_sleep = threading.current_thread(), time.sleep

    def __call__(self, seconds):
        if threading.current_thread() is not self.thread:
            return self.real_sleep(seconds)
        self.n += 1
        if self.n == self.at:
            self.act()
        if self.n > self.give_up:
            raise AssertionError(f"still polling after {self.n} polls")


def _cluster_with_step(engine, context_run_id="r" * 36):
    emr = boto3.client("emr")
    cluster_id = emr.run_job_flow(**engine.run_job_flow_params(type("C", (), {"run": type("R", (), {"run_id": context_run_id})})(), "dim_visa"))["JobFlowId"]
    step_id = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[engine.step_params("dim_visa", {}, None)])["StepIds"][0]
    return emr, cluster_id, step_id


def _step(cluster_id, step_id):
    return next(s for s in emr_backend().clusters[cluster_id].steps if s.id == step_id)


def test_a_cluster_that_ended_with_errors_is_a_failure(aws, s3_server, monkeypatch):
    """Defect 1: PipesEMRClient reads TERMINATED_WITH_ERRORS as success."""
    engine = cluster_engine(s3_server, "s3://b/raw", poll_interval_seconds=30)
    emr, cluster_id, step_id = _cluster_with_step(engine)

    def crash():
        emr_backend().clusters[cluster_id].state = "TERMINATED_WITH_ERRORS"

    monkeypatch.setattr(time, "sleep", Polls(at=3, act=crash))
    with pytest.raises(Exception, match="TERMINATED_WITH_ERRORS"):
        engine.wait_for_step(emr, cluster_id, step_id)


def test_a_step_longer_than_the_30_minute_waiter_limit_is_waited_for(aws, s3_server, monkeypatch):
    """Defect 4: boto3's EMR waiters give up after 30 minutes (60 polls of 30 s)."""
    engine = cluster_engine(s3_server, "s3://b/raw", poll_interval_seconds=30)
    emr, cluster_id, step_id = _cluster_with_step(engine)
    polls = Polls(at=90, act=lambda: setattr(_step(cluster_id, step_id), "state", "COMPLETED"))
    monkeypatch.setattr(time, "sleep", polls)
    engine.wait_for_step(emr, cluster_id, step_id)  # 45 simulated minutes
    assert polls.n == 90


@pytest.mark.parametrize("retryable", [True, False])
def test_a_commit_the_catalog_did_not_take_is_retried_through_pipes_as_in_process(retryable, monkeypatch):
    """spark_job reports a build's RetryableBuildError (CommitRetryable) as a retryable error; the
    Pipes engine then asks Dagster to retry the step, as the local engine does; other errors fail it."""
    from types import SimpleNamespace

    from dagster import Failure, RetryRequested

    from lake_assets.core import builds, spark_job

    def run_build(build, inputs):
        raise (builds.RetryableBuildError if retryable else builds.BuildError)(f"{build}: what happened")

    monkeypatch.setattr(builds, "run_build", run_build)
    messages = []
    spark_job.report_months(SimpleNamespace(report_custom_message=messages.append),
                            spark_job.step_outcomes("dim_city", inputs=None))
    assert messages == [{"error": "dim_city: what happened", "retryable": retryable}]
    invocation = SimpleNamespace(metadata={}, get_custom_messages=lambda: messages)  # what the engine reads back
    unpartitioned = SimpleNamespace(assets_def=SimpleNamespace(partitions_def=None))
    with pytest.raises(RetryRequested if retryable else Failure) as raised:
        list(engines.dagster_results_of(unpartitioned, engines.reported(invocation)))
    assert retryable or str(raised.value.description) == "dim_city: what happened"


def test_own_spark_settings_in_emr_configurations_would_drop_the_pipes_variables():
    """Defect 2, upstream: why the engines pass Spark settings as --conf and Pipes' parameters
    on the command line. If this starts failing, dagster-aws fixed its merge."""
    from dagster_aws.pipes.clients.utils import emr_inject_pipes_env_vars

    class Session:
        def get_bootstrap_env_vars(self):
            return {"DAGSTER_PIPES_CONTEXT": "ctx", "DAGSTER_PIPES_MESSAGES": "msg"}

    ours = [{"Classification": "spark-defaults", "Properties": {"spark.sql.shuffle.partitions": "4"}}]
    merged = emr_inject_pipes_env_vars(Session(), ours, emr_flavor="standard")
    defaults = next(c for c in merged if c["Classification"] == "spark-defaults")
    assert "spark.yarn.appMasterEnv.DAGSTER_PIPES_CONTEXT" not in defaults["Properties"]


# ---------------------------------------------------------------- EMR Serverless


@pytest.mark.spark  # the job run's spark-submit runs here
def test_serverless_job_run_request_run_here_materializes_with_checks(aws, s3_server, raw_on_s3, warm_driver,
                                                                     tmp_path, monkeypatch):
    import moto.emrserverless.models as serverless

    monkeypatch.setenv("EMR_TEST_WORKDIR", str(tmp_path))
    monkeypatch.setattr(serverless, "JOB_STATUS", "PENDING")  # moto would succeed at once: we run it
    client = boto3.client("emr-serverless")
    app = client.create_application(name="lake", releaseLabel="emr-7.13.0", type="SPARK")["applicationId"]
    monkeypatch.setenv("LAKE_S3_BUCKET", s3_server.bucket)
    monkeypatch.setenv("LAKE_EMR_ARTIFACTS_SHA256", RELEASE)
    monkeypatch.setenv("LAKE_EMR_SERVERLESS_APPLICATION_ID", app)
    monkeypatch.setenv("LAKE_EMR_EXECUTION_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/lake-emr-job")
    monkeypatch.setenv("LAKE_RAW_DIR", raw_on_s3)
    resources = resources_for("emr-serverless")
    engine = resources["engine"].model_copy(update={"poll_interval_seconds": 0.5, "message_interval_seconds": 0.5})

    def play():
        backend = serverless.emrserverless_backends[ACCOUNT][REGION]
        while not stop.is_set():
            for run in [r for runs in backend.job_runs.values() for r in runs if r.state == "PENDING"]:
                submit = run.job_driver["sparkSubmit"]
                args = ["spark-submit", *shlex.split(submit["sparkSubmitParameters"]), submit["entryPoint"],
                        *submit["entryPointArguments"]]
                done = run_here(warm_driver, args, "spark.emr-serverless.driverEnv.")
                outputs.append(done)
                run.state = "SUCCESS" if done.returncode == 0 else "FAILED"
            time.sleep(0.2)

    stop, outputs = threading.Event(), []
    player = threading.Thread(target=play, daemon=True)
    player.start()
    try:
        result = materialize([*dimension_assets], resources={"engine": engine}, selection=["dim_country"],
                             raise_on_error=False)
    finally:
        stop.set()
        player.join(10)
    assert result.success, [o.stderr[-3000:] for o in outputs]
    (mat,) = result.asset_materializations_for_node("dim_country")
    assert mat.metadata["rows"].value > 0
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert checks and all(c.passed for c in checks)

    (start,) = aws.of("StartJobRun")
    assert start["applicationId"] == app and start["executionRoleArn"].endswith(":role/lake-emr-job")
    release = f"s3://{s3_server.bucket}/{ARTIFACTS}/{RELEASE}"
    assert start["jobDriver"]["sparkSubmit"]["entryPoint"] == f"{release}/spark_job.py"
    assert start["jobDriver"]["sparkSubmit"]["entryPointArguments"] == [
        "dim_country", "--raw", raw_on_s3, "--lake", f"s3://{s3_server.bucket}/lake", "--cache", "/tmp/lake_assets_cache",
        "--catalog", os.environ["LAKE_CATALOG"], "--namespace", "lake", "--artifacts-sha256", RELEASE]
    params = start["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"]
    assert f"--conf spark.archives={release}/lake_deps.tar.gz#deps" in params
    assert "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=python3.11" in params
    assert f"--conf spark.jars={engines.EMR_ICEBERG_JAR}" in params  # EMR's own Iceberg runtime
    assert "--conf spark.emr-serverless.driverEnv.DAGSTER_PIPES_CONTEXT=" in params
    assert start["configurationOverrides"] == {"monitoringConfiguration": {"s3MonitoringConfiguration": {
        "logUri": f"s3://{s3_server.bucket}/emr-logs/"}}}
    assert start["tags"]["dagster/run_id"] == result.run_id and start["executionTimeoutMinutes"] == 720


# ---------------------------------------------------------------- spark-submit here, a range of months


@pytest.fixture(scope="module")
def months_lake(spark, tmp_path_factory):
    """A generated raw folder with March, April (CSV), June, July with a repeated cicid (its fact
    fails the blocking key check) and August, no May; the dimensions built in the test session's
    Spark. Its LakeResource."""
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("months")
    raw = root / "raw"
    generate_raw(raw, scale=0.0002, months=["2016-03", "2016-04", "2016-06", "2016-07", "2016-08"],
                 formats={"2016-04": "csv"})
    july = find_i94_months(raw)["2016-07"].path
    rows = pq.read_table(july)
    shutil.rmtree(july)
    july.mkdir()
    pq.write_table(pa.concat_tables([rows, rows.slice(0, 1)]), july / "part-00000.parquet")
    lake = LakeResource(raw_dir=str(raw), lake_dir=str(root / "lake"), spark_master="local[2]",
                        driver_memory=os.getenv("LAKE_SPARK_DRIVER_MEMORY", "2g"))
    build_here(spark, lake.raw_dir, lake.lake_dir, lake.cache_dir, skip=("dim_temperature",))
    return lake


def pipes_backfill(lake: LakeResource, first: str, last: str):
    """One run of the fact over the months first..last through `spark-submit spark_job.py` (the
    warm driver's, `submit_here`), as a single-run backfill makes it (Pipes sends no range: the
    months go as extras)."""
    return materialize([*dimension_assets, immigration], resources={"engine": engines.SubmitEngine(lake=lake)},
                       selection=[immigration], raise_on_error=False,
                       tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})


def partition_rows(lake: LakeResource, table: str, month: int) -> int:
    from lake_assets.core.query import connect

    return connect(lake.lake_dir, only=[table]).execute(f"select count(*) from {table} where i94mon = {month}").fetchone()[0]


def fact_months(lake: LakeResource) -> set[str]:
    (fact,) = snapshots(lake.lake_dir, only=["fact_immigration"])
    return {p.rpartition("=")[2] for p in fact.partitions}


def test_pipes_backfill_of_two_months_records_each_month_with_its_own_rows_and_checks(months_lake, submit_here):
    result = pipes_backfill(months_lake, "2016-03-01", "2016-04-01")
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    materializations, checks = recorded(result)
    tables = ("fact_immigration", "fact_immigration_rejects")
    assert set(materializations) == {(t, f"2016-{m:02d}-01") for t in tables for m in (3, 4)}
    for table in tables:
        for month in (3, 4):
            metadata = materializations[table, f"2016-{month:02d}-01"]
            assert metadata["partition"].value == f"i94yr=2016, i94mon={month}"
            assert metadata["rows"].value == partition_rows(months_lake, table, month)
    assert materializations["fact_immigration", "2016-03-01"]["rows"].value != \
        materializations["fact_immigration", "2016-04-01"]["rows"].value
    expected = {(k.asset_key.to_user_string(), k.name, p) for k in immigration.check_keys
                for p in ("2016-03-01", "2016-04-01")}
    assert {c[:3] for c in checks} == expected  # all blocking ones passed: the run succeeded


def test_pipes_backfill_stopped_by_a_missing_month_records_the_months_published_before(months_lake, submit_here):
    result = pipes_backfill(months_lake, "2016-04-01", "2016-06-01")  # no May extract
    assert not result.success
    materializations, checks = recorded(result)
    assert set(materializations) == {("fact_immigration", "2016-04-01"), ("fact_immigration_rejects", "2016-04-01")}
    assert materializations["fact_immigration", "2016-04-01"]["rows"].value == partition_rows(
        months_lake, "fact_immigration", 4)
    assert {partition for _, _, partition, _ in checks} == {"2016-04-01"}
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no I94 extract for 2016-05" in failure.step_failure_data.error.message
    assert "6" not in fact_months(months_lake)


def test_pipes_backfill_stopped_by_a_blocking_check_records_the_months_before_only(months_lake, submit_here):
    result = pipes_backfill(months_lake, "2016-06-01", "2016-08-01")  # July repeats a cicid
    assert not result.success
    materializations, checks = recorded(result)
    assert set(materializations) == {("fact_immigration", "2016-06-01"), ("fact_immigration_rejects", "2016-06-01")}
    assert {(table, name, partition) for table, name, partition, passed in checks if not passed} == {
        ("fact_immigration", "key_unique_not_null", "2016-07-01")}
    assert {partition for _, _, partition, _ in checks} == {"2016-06-01", "2016-07-01"}
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "2016-07 fact_immigration.key_unique_not_null" in failure.step_failure_data.error.message
    months = fact_months(months_lake)
    assert "6" in months and not {"7", "8"} & months


# ---------------------------------------------------------------- packaging


def test_package_builds_the_archive_for_the_cluster_and_uploads_it(aws, s3_server, tmp_path):
    """The cluster's wheels (here only dagster-pipes, to keep the download small) with the
    project, the entry point and the bootstrap script, put where the engines look."""
    import tarfile

    from lake_assets.tools import package

    artifacts, sha256 = package.build(tmp_path / "emr", python="3.11", arch="aarch64",
                                      requirements=["dagster-pipes==1.13.27"])
    with tarfile.open(artifacts[package.DEPS_ARCHIVE]) as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path / "unpacked", filter="data")
    assert tree_sha256(tmp_path / "unpacked") == sha256  # what the job will check on the cluster
    assert {"lake_assets/core/spark_job.py", "lake_assets/core/builds.py", "dagster_pipes/__init__.py"} <= names
    assert not any(n.startswith("dagster/") for n in names)
    assert (tmp_path / "emr" / "spark_job.py").read_text() == Path(engines.ENTRY_POINT).read_text()

    prefix = f"s3://{s3_server.bucket}/{ARTIFACTS}"
    assert package.upload(artifacts, prefix, sha256) == [
        f"{prefix}/{sha256}/{n}" for n in ("spark_job.py", "lake_deps.tar.gz", "bootstrap.sh")]
    engine = cluster_engine(s3_server, "s3://b/raw", artifacts_sha256=sha256)
    assert engine.entry_point == f"{prefix}/{sha256}/spark_job.py"
    assert engine.python_conf("x.")["spark.archives"] == f"{prefix}/{sha256}/lake_deps.tar.gz#deps"

    with pytest.raises(package.PackageError, match="cp39"):  # dagster-pipes needs Python >= 3.10
        package.build(tmp_path / "old", python="3.9", requirements=["dagster-pipes==1.13.27"])
