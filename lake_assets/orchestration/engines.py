"""Where an asset's Spark work runs: the `engine` resource, chosen by `LAKE_ENV`.

- `LocalEngine` (local): in this process, one Spark session per run.
- `SubmitEngine` (spark-submit): `spark-submit spark_job.py` from this machine, through Pipes, on
  local Spark or a standalone cluster (`spark://…`).
- `EmrServerlessEngine` (emr-serverless): one EMR Serverless job run per asset, through
  `PipesEMRServerlessClient`.
- `EmrClusterEngine` (emr): one transient EMR-on-EC2 cluster per Dagster run, one step per
  asset, terminated when the run ends (success, failure or cancellation).

Assets call `engine.materialize(context, build)` and do not know which one runs. The Pipes
engines carry every Spark setting as `spark-submit --conf` and the months as Pipes extras;
the EMR engines read Pipes messages from S3. Every engine turns the build's outcomes into
Dagster results by `dagster_results_of`: a monthly build's each under its own month, also
when a single-run backfill builds several.
"""

import hashlib
import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import boto3
from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    Failure,
    InitResourceContext,
    OpExecutionContext,
    PipesClientCompletedInvocation,
    PipesEnvContextInjector,
    PipesSubprocessClient,
    RetryRequested,
    open_pipes_session,
)
from dagster_aws.pipes import PipesEMRServerlessClient, PipesS3MessageReader
from pydantic import PrivateAttr

from lake_assets.core import settings, spark_job
from lake_assets.core.builds import CheckOutcome, Inputs, RetryableBuildError, BuildError, TableOutcome, run_months, run_build
from lake_assets.core.maintenance import maintain
from lake_assets.core.spark_job import BOOTSTRAP_FILE, BOOTSTRAP_SHA256, DEPS_ARCHIVE, JOB_FILE
from lake_assets.orchestration.events import dagster_results, dagster_results_by_partition
from lake_assets.orchestration.resources import LakeResource
from lake_assets.orchestration.spark import JVM_OPTIONS, LOCAL_CONF, local_conf

ENTRY_POINT = spark_job.__file__
MAINTENANCE = "maintenance"  # spark_job.py's argument for lake_maintenance, instead of a build
# Settings the results depend on: passed to every spark-submit (a cluster's defaults differ).
JOB_CONF = {k: LOCAL_CONF[k] for k in (
    "spark.sql.session.timeZone",
    "spark.sql.legacy.timeParserPolicy",
    "spark.sql.parquet.outputTimestampType",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs",
    "spark.sql.extensions",
)} | {"spark.driver.extraJavaOptions": JVM_OPTIONS, "spark.executor.extraJavaOptions": JVM_OPTIONS}


COMMIT_RETRIES = 2  # of a build whose commit the catalog did not take


def partition_keys(context: AssetExecutionContext) -> list[str] | None:
    """Every month of the run (several in a single-run backfill), or None if unpartitioned."""
    return list(context.partition_keys) if context.assets_def.partitions_def else None


def dagster_results_of(context: AssetExecutionContext,
                       outcomes: Iterator[tuple[str | None, list[TableOutcome]]]) -> Iterator:
    """A build's outcomes, (month or None, tables), as Dagster results: each month recorded under
    its own partition, an unpartitioned build as it is. A BuildError fails the step with its message;
    a commit the catalog did not take (RetryableBuildError) retries the step."""
    try:
        if partition_keys(context):
            yield from dagster_results_by_partition(context, outcomes)
        else:
            yield from dagster_results(table for _, tables in outcomes for table in tables)
    except RetryableBuildError as exc:
        raise RetryRequested(max_retries=COMMIT_RETRIES, seconds_to_wait=30) from exc
    except BuildError as exc:
        raise Failure(str(exc)) from None


class PipesMessagesUnderPrefix(PipesS3MessageReader):
    """Pipes messages under `pipes/` of the lake bucket: the prefix the IAM roles in infra/ allow
    and the bucket's lifecycle expires (dagster-aws puts them at a random top-level key)."""

    @contextmanager
    def get_params(self):
        with super().get_params() as params:
            yield {**params, "key_prefix": f"pipes/{params['key_prefix']}"}


class SparkEngine(ConfigurableResource):
    """Runs a build (`lake_assets.core.builds`) for an asset and yields its Dagster results."""

    lake: LakeResource

    def materialize(self, context: AssetExecutionContext, build: str) -> Iterator:
        raise NotImplementedError

    def maintain(self, context: OpExecutionContext, retain_days: float, retain_last: int) -> None:
        """Iceberg maintenance of every table (`lake_assets.core.maintenance`)."""
        raise NotImplementedError


class LocalEngine(SparkEngine):
    """In this process, on the run's one Spark session."""

    def materialize(self, context: AssetExecutionContext, build: str) -> Iterator:
        lake = self.lake
        inputs = Inputs(lake.spark(), lake.lake(context.run.run_id), lake.raw_dir, lake.cache_dir, log=context.log.info)
        yield from dagster_results_of(context, built_here(build, inputs, partition_keys(context)))

    def maintain(self, context: OpExecutionContext, retain_days: float, retain_last: int) -> None:
        maintain(self.lake.lake(context.run.run_id), retain_days, retain_last, log=context.log.info)


def built_here(build: str, inputs: Inputs, keys: list[str] | None) -> Iterator[tuple[str | None, list[TableOutcome]]]:
    """A build run in this process: its months (a range in one pass), or at once."""
    if keys:
        yield from run_months(build, inputs, keys)
    else:
        yield None, run_build(build, inputs)


class PipesEngine(SparkEngine):
    """A spark-submit of `spark_job.py` per asset, reporting back through Dagster Pipes."""

    spark_conf: dict[str, str] = {}  # more `--conf`s (never EMR configurations: they drop Pipes' variables)

    def job_arguments(self, build: str) -> list[str]:
        catalog = self.lake.catalog()
        return [build, "--raw", self.lake.raw_dir, "--lake", self.lake.lake_dir, "--cache", self.job_cache_dir(),
                "--catalog", catalog.location, "--namespace", catalog.namespace]

    def job_cache_dir(self) -> str:
        return self.lake.cache_dir

    def conf_arguments(self, conf: dict[str, str]) -> list[str]:
        return [a for k, v in {**JOB_CONF, **conf, **self.spark_conf}.items() for a in ("--conf", f"{k}={v}")]

    def launch(self, context: AssetExecutionContext, build: str, extras: dict) -> PipesClientCompletedInvocation:
        raise NotImplementedError

    def maintain(self, context: OpExecutionContext, retain_days: float, retain_last: int) -> None:
        self.launch(context, MAINTENANCE, {"retain_days": retain_days, "retain_last": retain_last}).get_results()

    def materialize(self, context: AssetExecutionContext, build: str) -> Iterator:
        # Pipes gives the external process no partition range for a run over several
        # partitions (single-run backfill): send the months ourselves.
        keys = partition_keys(context)
        invocation = self.launch(context, build, {"partition_keys": keys} if keys else {})
        yield from dagster_results_of(context, reported(invocation))


def reported(invocation: PipesClientCompletedInvocation) -> Iterator[tuple[str | None, list[TableOutcome]]]:
    """What spark_job reported, in order: (month or None, tables); a reported error is raised
    where it came (retryable as in this process). The launch's own metadata (EMR job run,
    cluster, step) goes with each table."""
    launched = {k: {"type": "text", "raw_value": str(v.value)} for k, v in invocation.metadata.items()}
    for message in invocation.get_custom_messages():
        if "error" in message:
            raise (RetryableBuildError if message.get("retryable") else BuildError)(message["error"])
        yield message["partition"], [
            TableOutcome(o["table"], [CheckOutcome(**c) for c in o["checks"]],
                         None if o["metadata"] is None else {**o["metadata"], **launched})
            for o in message["outcomes"]]


def spark_submit() -> str:
    import pyspark

    return os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-submit")


class SubmitEngine(PipesEngine):
    """`spark-submit spark_job.py` from this machine (client mode: the driver runs here), on
    local Spark or on a cluster's master (`spark://…`), whose executors run `executor_python`
    with `lake package`'s archive as ./deps."""

    deps_archive: str | None = None  # lake_deps.tar.gz of `lake package`: what a cluster's executors import
    executor_python: str = "python3"  # the executors' interpreter on a cluster

    def cluster_conf(self) -> dict[str, str]:
        """The executors' Python and packages when they run elsewhere; none on a local master."""
        master = self.lake.spark_master
        if master.startswith("local"):
            return {}
        if not self.deps_archive:
            raise Failure(f"Spark master {master}: its executors need `lake package`'s archive "
                          "(set LAKE_DEPS_ARCHIVE to its lake_deps.tar.gz)")
        return {"spark.archives": f"{self.deps_archive}#deps", "spark.executorEnv.PYTHONPATH": "./deps",
                "spark.pyspark.python": self.executor_python, "spark.pyspark.driver.python": sys.executable}

    def submit_command(self) -> list[str]:
        """spark-submit with every option, without the application."""
        return [spark_submit(), "--master", self.lake.spark_master, "--driver-memory", self.lake.driver_memory,
                *self.conf_arguments({**local_conf(), **self.cluster_conf()})]

    def command(self, build: str) -> list[str]:
        return [*self.submit_command(), ENTRY_POINT, *self.job_arguments(build)]

    def environment(self) -> dict[str, str]:
        """spark-submit's environment beyond this process's: the driver's Python and address."""
        return {"PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
                "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1")}

    def launch(self, context: AssetExecutionContext, build: str, extras: dict) -> PipesClientCompletedInvocation:
        return PipesSubprocessClient(env=self.environment()).run(context=context, command=self.command(build),
                                                                 extras=extras)


class EmrEngine(PipesEngine):
    """What both EMR engines share: the S3 artifacts of `lake package`, logs and Pipes messages."""

    bucket: str  # Pipes messages are written here
    artifacts_uri: str  # s3://… prefix under which `lake package --upload` puts each release
    artifacts_sha256: str  # the release to run: its folder under artifacts_uri, checked by the job
    logs_uri: str
    python: str = "python3.11"  # the interpreter on the nodes (dagster-pipes needs >= 3.10)
    message_interval_seconds: float = 10
    tags: dict[str, str] = {"project": "lake_assets"}
    # .sas7bdat extracts are converted here, on the driver's disk: on a multi-node cluster,
    # land the I94 months as parquet or CSV instead.
    cache_dir: str = "/tmp/lake_assets_cache"

    def job_cache_dir(self) -> str:
        return self.cache_dir

    def job_arguments(self, build: str) -> list[str]:
        return [*super().job_arguments(build), "--artifacts-sha256", self.artifacts_sha256]

    @property
    def release_uri(self) -> str:
        """s3://… folder of the release: spark_job.py, lake_deps.tar.gz, bootstrap.sh."""
        return f"{self.artifacts_uri.rstrip('/')}/{self.artifacts_sha256}"

    def message_reader(self) -> PipesS3MessageReader:
        s3 = boto3.client("s3", endpoint_url=settings.S3_ENDPOINT.value())
        return PipesMessagesUnderPrefix(bucket=self.bucket, client=s3,
                                        interval=self.message_interval_seconds)

    def python_conf(self, driver_env: str) -> dict[str, str]:
        """The packaged dependencies, unpacked as ./deps beside the driver and each executor
        (no bytecode written into it: it stays what the job checked). The driver starts without
        ./deps on its path: the job puts it there once the archive hashes to the release
        (`spark_job.check_artifacts`); executors start only after that, from the same archive."""
        env = {"PYSPARK_PYTHON": self.python, "PYTHONDONTWRITEBYTECODE": "1"}
        return {"spark.archives": f"{self.release_uri}/{DEPS_ARCHIVE}#deps",
                **{f"{driver_env}{k}": v for k, v in env.items()},
                **{f"spark.executorEnv.{k}": v for k, v in {**env, "PYTHONPATH": "./deps"}.items()}}

    @property
    def entry_point(self) -> str:
        return f"{self.release_uri}/{JOB_FILE}"

    def run_tags(self, context: AssetExecutionContext, build: str) -> dict[str, str]:
        return {**self.tags, "dagster/run_id": context.run.run_id, "dagster/step": build}


# EMR Serverless ships Iceberg's runtime here (no other runtime is uploaded).
EMR_ICEBERG_JAR = "/usr/share/aws/iceberg/lib/iceberg-spark3-runtime.jar"


class EmrServerlessEngine(EmrEngine):
    """One EMR Serverless job run per asset on an existing application."""

    application_id: str
    execution_role_arn: str  # builds: adds files and commits tables, deletes nothing under lake/
    maintenance_role_arn: str | None = None  # lake_maintenance: may delete what it expires
    timeout_minutes: int = 720
    poll_interval_seconds: float = 10

    def start_job_run_params(self, context: AssetExecutionContext, build: str) -> dict:
        conf = self.conf_arguments({**self.python_conf("spark.emr-serverless.driverEnv."), "spark.jars": EMR_ICEBERG_JAR})
        return {
            "applicationId": self.application_id,
            "executionRoleArn": (self.maintenance_role_arn if build == MAINTENANCE else None)
                                or self.execution_role_arn,
            "name": f"lake_assets {build} {context.run.run_id[:8]}",
            "jobDriver": {"sparkSubmit": {
                "entryPoint": self.entry_point,
                "entryPointArguments": self.job_arguments(build),
                "sparkSubmitParameters": " ".join(conf),
            }},
            "configurationOverrides": {"monitoringConfiguration": {
                "s3MonitoringConfiguration": {"logUri": self.logs_uri}}},
            "executionTimeoutMinutes": self.timeout_minutes,
            "tags": self.run_tags(context, build),
        }

    def launch(self, context: AssetExecutionContext, build: str, extras: dict) -> PipesClientCompletedInvocation:
        client = PipesEMRServerlessClient(client=boto3.client("emr-serverless"), message_reader=self.message_reader(),
                                          poll_interval=self.poll_interval_seconds)
        return client.run(context=context, start_job_run_params=self.start_job_run_params(context, build),
                          extras=extras)


STEP_DONE = {"COMPLETED"}
# EMR 7 ships Iceberg: enabled on a cluster by this classification (the runtime on its classpath).
EMR_ICEBERG = {"Classification": "iceberg-defaults", "Properties": {"iceberg.enabled": "true"}}
STEP_FAILED = {"CANCELLED", "FAILED", "INTERRUPTED"}
CLUSTER_ENDED = {"TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"}


class EmrClusterEngine(EmrEngine):
    """One transient EMR-on-EC2 cluster per Dagster run: started by the run's first asset,
    one step per asset, terminated when the run ends, however it ends (resource teardown);
    it also terminates itself after `idle_timeout_seconds` if the Dagster process dies."""

    release_label: str = "emr-7.13.0"  # Spark 3.5.6, as here
    instance_type: str = "m5.xlarge"
    core_instance_count: int = 2
    service_role: str = "EMR_DefaultRole"
    instance_profile: str = "EMR_EC2_DefaultRole"  # builds: add files and commit tables, delete nothing
    maintenance_instance_profile: str | None = None  # a lake_maintenance run's cluster: may delete
    subnet_id: str | None = None
    idle_timeout_seconds: int = 3600
    poll_interval_seconds: float = 30
    _cluster_id: str | None = PrivateAttr(default=None)

    def run_job_flow_params(self, context: AssetExecutionContext, build: str) -> dict:
        groups = [{"Name": "primary", "InstanceRole": "MASTER", "InstanceType": self.instance_type, "InstanceCount": 1}]
        if self.core_instance_count:
            groups.append({"Name": "core", "InstanceRole": "CORE", "InstanceType": self.instance_type,
                           "InstanceCount": self.core_instance_count})
        return {
            "Name": f"lake_assets run {context.run.run_id[:8]}",
            "ReleaseLabel": self.release_label,
            "Applications": [{"Name": "Spark"}],
            "LogUri": self.logs_uri,
            "ServiceRole": self.service_role,
            "JobFlowRole": (self.maintenance_instance_profile if build == MAINTENANCE else None)
                           or self.instance_profile,
            "Instances": {
                "InstanceGroups": groups,
                "KeepJobFlowAliveWhenNoSteps": True,
                "TerminationProtected": False,
                **({"Ec2SubnetId": self.subnet_id} if self.subnet_id else {}),
            },
            "Configurations": [EMR_ICEBERG],
            "BootstrapActions": [{"Name": "python", "ScriptBootstrapAction": {
                "Path": f"{self.release_uri}/{BOOTSTRAP_FILE}", "Args": [self.python]}}],
            "AutoTerminationPolicy": {"IdleTimeout": self.idle_timeout_seconds},
            "VisibleToAllUsers": True,
            "Tags": [{"Key": k, "Value": v} for k, v in {**self.tags, "dagster/run_id": context.run.run_id}.items()],
        }

    def step_params(self, build: str, pipes_arguments: dict[str, str], keys: list[str] | None) -> dict:
        args = ["spark-submit", "--deploy-mode", "cluster", *self.conf_arguments(self.python_conf("spark.yarn.appMasterEnv.")),
                self.entry_point, *self.job_arguments(build), *(a for kv in pipes_arguments.items() for a in kv)]
        months = f" {keys[0]}..{keys[-1]}" if keys else ""
        return {"Name": f"{build}{months}", "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args}}

    def check_bootstrap(self) -> None:
        """Start no node unless the release's bootstrap.sh (run as root) is the one this code ships."""
        bucket, _, key = f"{self.release_uri}/{BOOTSTRAP_FILE}".removeprefix("s3://").partition("/")
        s3 = boto3.client("s3", endpoint_url=settings.S3_ENDPOINT.value())
        found = hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
        if found != BOOTSTRAP_SHA256:
            raise Failure(f"refusing to start an EMR cluster: s3://{bucket}/{key} is {found}, "
                          f"not the bootstrap of this release ({BOOTSTRAP_SHA256})")

    def cluster_id(self, context: AssetExecutionContext, build: str) -> str:
        """The run's cluster, started on first use (by `build`: lake_maintenance's gets its own profile)."""
        if self._cluster_id is None:
            self.check_bootstrap()
            self._cluster_id = boto3.client("emr").run_job_flow(**self.run_job_flow_params(context, build))["JobFlowId"]
            context.log.info(f"EMR cluster {self._cluster_id} starting for this run")
        return self._cluster_id

    def launch(self, context: AssetExecutionContext, build: str, extras: dict) -> PipesClientCompletedInvocation:
        emr = boto3.client("emr")
        with open_pipes_session(context=context, message_reader=self.message_reader(),
                                context_injector=PipesEnvContextInjector(), extras=extras) as session:
            cluster_id = self.cluster_id(context, build)
            # Pipes' parameters go on the step's command line: EMR configurations would be
            # merged with ours and lose them.
            params = self.step_params(build, session.get_bootstrap_cli_arguments(), extras.get("partition_keys"))
            step_id = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[params])["StepIds"][0]
            context.log.info(f"EMR step {step_id} ({params['Name']}) added to cluster {cluster_id}")
            self.wait_for_step(emr, cluster_id, step_id)
            return PipesClientCompletedInvocation(session, metadata={"EMR cluster": cluster_id, "EMR step": step_id})

    def wait_for_step(self, emr, cluster_id: str, step_id: str) -> None:
        """Poll until the step ends, for as long as it takes (boto3's waiters stop after 30
        minutes); a failed step or a cluster that ended first is an error."""
        while True:
            status = emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]["Status"]
            if status["State"] in STEP_DONE:
                return
            if status["State"] in STEP_FAILED:
                raise Failure(f"EMR step {step_id} on cluster {cluster_id} ended {status['State']}: "
                              f"{status.get('FailureDetails', {}).get('Message', 'see the step logs')}")
            cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]
            if cluster["State"] in CLUSTER_ENDED:
                reason = cluster.get("StateChangeReason", {})
                raise Failure(f"EMR cluster {cluster_id} is {cluster['State']} while step {step_id} was "
                              f"{status['State']}: {reason.get('Code', '')} {reason.get('Message', '')}".rstrip())
            time.sleep(self.poll_interval_seconds)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._cluster_id is not None:
            boto3.client("emr").terminate_job_flows(JobFlowIds=[self._cluster_id])
            context.log.info(f"EMR cluster {self._cluster_id} terminating: the run is over")
