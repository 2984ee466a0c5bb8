"""Every setting of the lake, read from the environment here and nowhere else (no Dagster here).

Each `LAKE_*` variable is a `Setting` below with its default and meaning; a value is read
when asked for, so a test or the CLI may set the variable at any time before. `lake_home()`
is the project's state folder; the Spark defaults are written once, here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (None: unset) and what it means."""

    name: str
    default: str | None
    meaning: str

    def value(self) -> str | None:
        """The variable's value; its default when unset or empty."""
        return os.environ.get(self.name) or self.default

    def flag(self) -> bool:
        """The value read as a yes/no (1, true, yes, on)."""
        return (self.value() or "").lower() in ("1", "true", "yes", "on")


SPARK_MASTER_DEFAULT = "local[*]"
SPARK_DRIVER_MEMORY_DEFAULT = "4g"

# Where things are
HOME = Setting("LAKE_HOME", None, "the state folder: raw data, lake, Dagster instance (default ./.lake)")
ENV = Setting("LAKE_ENV", "local", "where Spark runs: local, spark-submit, emr-serverless or emr")
RAW_DIR = Setting("LAKE_RAW_DIR", None, "the raw folder (default <home>/raw, or s3://<bucket>/raw on EMR)")
LAKE_DIR = Setting("LAKE_DIR", None, "the lake (default <home>/lake, or s3://<bucket>/lake on EMR)")
CATALOG = Setting("LAKE_CATALOG", None, "the Iceberg catalog: a SQLite file or 'glue' (default: "
                                        "<lake>/catalog.db, Glue for a lake on S3)")
NAMESPACE = Setting("LAKE_NAMESPACE", "lake", "the catalog namespace (Glue database) of the tables")
ALLOW_LOCAL_CATALOG = Setting("LAKE_ALLOW_LOCAL_CATALOG", None, "1: accept a SQLite catalog for a lake on S3 "
                                                                "(tests; else refused: use LAKE_CATALOG=glue)")
S3_ENDPOINT = Setting("LAKE_S3_ENDPOINT", None, "an S3 server other than AWS (e.g. http://127.0.0.1:8333)")
GLUE_ENDPOINT = Setting("LAKE_GLUE_ENDPOINT", None, "a Glue Data Catalog other than AWS's (tests: moto's server)")
# Spark
SPARK_MASTER = Setting("LAKE_SPARK_MASTER", SPARK_MASTER_DEFAULT, "Spark's master for local runs")
SPARK_DRIVER_MEMORY = Setting("LAKE_SPARK_DRIVER_MEMORY", SPARK_DRIVER_MEMORY_DEFAULT, "the driver's memory")
DEPS_ARCHIVE = Setting("LAKE_DEPS_ARCHIVE", None, "spark-submit: the packed environment for executors")
EXECUTOR_PYTHON = Setting("LAKE_EXECUTOR_PYTHON", "python3", "spark-submit: the executors' Python")
JAR_CACHE = Setting("LAKE_JAR_CACHE", None, "the Maven jars and the driver's class archive "
                                           "(default ~/.cache/lake_assets/jars)")
# EMR
S3_BUCKET = Setting("LAKE_S3_BUCKET", None, "EMR: the bucket of raw data, lake, artifacts and logs")
EMR_ARTIFACTS = Setting("LAKE_EMR_ARTIFACTS", None, "EMR: where `lake package` uploaded the job "
                                                    "(default s3://<bucket>/artifacts/lake_assets)")
EMR_ARTIFACTS_SHA256 = Setting("LAKE_EMR_ARTIFACTS_SHA256", None, "EMR: the uploaded artifacts' hash")
EMR_LOGS_URI = Setting("LAKE_EMR_LOGS_URI", None, "EMR: where EMR writes logs (default s3://<bucket>/emr-logs/)")
EMR_PYTHON = Setting("LAKE_EMR_PYTHON", "python3.11", "EMR: the Python the job runs with")
EMR_SERVERLESS_APPLICATION_ID = Setting("LAKE_EMR_SERVERLESS_APPLICATION_ID", None, "EMR Serverless: the application")
EMR_EXECUTION_ROLE_ARN = Setting("LAKE_EMR_EXECUTION_ROLE_ARN", None, "EMR Serverless: the job's role")
EMR_MAINTENANCE_ROLE_ARN = Setting("LAKE_EMR_MAINTENANCE_ROLE_ARN", None,
                                   "EMR Serverless: lake_maintenance's role, the one that may delete (default: the job's)")
EMR_RELEASE = Setting("LAKE_EMR_RELEASE", "emr-7.13.0", "EMR on EC2: the release label")
EMR_INSTANCE_TYPE = Setting("LAKE_EMR_INSTANCE_TYPE", "m5.xlarge", "EMR on EC2: the instance type")
EMR_CORE_INSTANCES = Setting("LAKE_EMR_CORE_INSTANCES", "2", "EMR on EC2: the number of core nodes")
EMR_SERVICE_ROLE = Setting("LAKE_EMR_SERVICE_ROLE", "EMR_DefaultRole", "EMR on EC2: the service role")
EMR_INSTANCE_PROFILE = Setting("LAKE_EMR_INSTANCE_PROFILE", "EMR_EC2_DefaultRole", "EMR on EC2: the nodes' profile")
EMR_MAINTENANCE_INSTANCE_PROFILE = Setting("LAKE_EMR_MAINTENANCE_INSTANCE_PROFILE", None,
                                           "EMR on EC2: lake_maintenance's nodes' profile (default: the nodes')")
EMR_SUBNET_ID = Setting("LAKE_EMR_SUBNET_ID", None, "EMR on EC2: the subnet (default: EMR's choice)")
# Automation and alerts
AUTOMATION = Setting("LAKE_AUTOMATION", "on", "'off': schedules, sensors and automation start stopped "
                                              "(`lake ui --no-automation`); they can be switched on in the UI")
SCHEDULE_TIMEZONE = Setting("LAKE_SCHEDULE_TIMEZONE", "UTC", "the time zone of the 07:00 schedule")
UI_URL = Setting("LAKE_UI_URL", None, "the UI's address, for links in alert mails")
METRICS_NAMESPACE = Setting("LAKE_METRICS_NAMESPACE", None, "a CloudWatch namespace for failure metrics")
SMTP_HOST = Setting("LAKE_SMTP_HOST", None, "the mail server of alerts (no alerts when unset)")
SMTP_PORT = Setting("LAKE_SMTP_PORT", "25", "its port")
SMTP_USER = Setting("LAKE_SMTP_USER", None, "its user, if it asks for one")
SMTP_PASSWORD = Setting("LAKE_SMTP_PASSWORD", None, "that user's password")
SMTP_STARTTLS = Setting("LAKE_SMTP_STARTTLS", None, "1: STARTTLS on a plain port")
SMTP_IMPLICIT_TLS = Setting("LAKE_SMTP_IMPLICIT_TLS", None, "1: TLS from the start (the default on port 465)")
SMTP_CA_FILE = Setting("LAKE_SMTP_CA_FILE", None, "a CA bundle (PEM) the server's certificate must chain to")
ALERT_TO = Setting("LAKE_ALERT_TO", None, "who gets alerts (a comma list; no alerts when unset)")
ALERT_FROM = Setting("LAKE_ALERT_FROM", None, "the alerts' sender (default lake@<smtp host>)")
# The UI's guard behind the load balancer (lake_assets/tools/guard.py)
GUARD_ALB_ARN = Setting("LAKE_GUARD_ALB_ARN", None, "the load balancer whose signed sign-in header the guard trusts")
GUARD_OPERATORS_GROUP = Setting("LAKE_GUARD_OPERATORS_GROUP", "operators", "the Cognito group allowed to change "
                                                                            "anything in the UI")
GUARD_KEY_URL = Setting("LAKE_GUARD_KEY_URL", "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}",
                        "where the load balancer's public keys are read ({region}, {kid})")

SETTINGS = [value for value in dict(globals()).values() if isinstance(value, Setting)]

# AWS's own variables, read by the S3 clients that do not read them themselves.
AWS_CREDENTIALS = {"access_key": "AWS_ACCESS_KEY_ID", "secret_key": "AWS_SECRET_ACCESS_KEY",
                   "session_token": "AWS_SESSION_TOKEN"}


def lake_home() -> Path:
    """The project's state folder: generated raw data, the lake, the Dagster instance."""
    return Path(HOME.value() or Path.cwd() / ".lake").absolute()


def aws_region() -> str | None:
    """`$AWS_REGION`, else `$AWS_DEFAULT_REGION`."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def aws_credentials() -> dict[str, str]:
    """The AWS credentials set in the environment: access_key, secret_key, session_token."""
    return {key: os.environ[env] for key, env in AWS_CREDENTIALS.items() if os.environ.get(env)}


def dagster_home() -> str | None:
    """`$DAGSTER_HOME`: the Dagster instance runs are recorded in (None: an ephemeral one)."""
    return os.environ.get("DAGSTER_HOME") or None
