"""The resources of each environment, chosen in one place (`LAKE_ENV`, default `local`).

local: Spark in the Dagster process; spark-submit: each asset a spark-submit of spark_job.py
on this machine (through Pipes, like a cluster); emr-serverless / emr: on AWS EMR, lake on S3.
"""

from __future__ import annotations

from lake_assets.core import settings
from lake_assets.orchestration import engines
from lake_assets.orchestration.resources import LakeResource

ENVS = ("local", "spark-submit", "emr-serverless", "emr")


def resources_for(env: str | None = None, raw_dir: str | None = None, lake_dir: str | None = None) -> dict:
    """The resources of `env` (default `$LAKE_ENV`); paths default to `$LAKE_RAW_DIR`,
    `$LAKE_DIR`, then the state folder (on EMR: the bucket)."""
    env = env or settings.ENV.value()
    if env not in ENVS:
        raise ValueError(f"LAKE_ENV={env!r} is not one of {', '.join(ENVS)}")
    if env in ("local", "spark-submit"):
        home = settings.lake_home()
        lake = LakeResource(raw_dir=raw_dir or settings.RAW_DIR.value() or str(home / "raw"),
                            lake_dir=lake_dir or settings.LAKE_DIR.value() or str(home / "lake"),
                            spark_master=settings.SPARK_MASTER.value(),
                            driver_memory=settings.SPARK_DRIVER_MEMORY.value())
        if env == "local":
            return {"lake": lake, "engine": engines.LocalEngine(lake=lake)}
        return {"lake": lake, "engine": engines.SubmitEngine(
            lake=lake, deps_archive=settings.DEPS_ARCHIVE.value(), executor_python=settings.EXECUTOR_PYTHON.value())}

    # On EMR the raw landing zone, the lake and the job's artifacts are on S3.
    need = [settings.S3_BUCKET, settings.EMR_ARTIFACTS_SHA256] + (
        [settings.EMR_SERVERLESS_APPLICATION_ID, settings.EMR_EXECUTION_ROLE_ARN] if env == "emr-serverless" else [])
    missing = [s.name for s in need if not s.value()]
    if missing:
        raise ValueError(f"LAKE_ENV={env} needs {', '.join(missing)} (see docs/aws.md)")
    bucket = settings.S3_BUCKET.value()
    s3 = f"s3://{bucket}"
    lake = LakeResource(raw_dir=raw_dir or settings.RAW_DIR.value() or f"{s3}/raw",
                        lake_dir=lake_dir or settings.LAKE_DIR.value() or f"{s3}/lake")
    shared = dict(lake=lake, bucket=bucket,
                  artifacts_uri=settings.EMR_ARTIFACTS.value() or f"{s3}/artifacts/lake_assets",
                  artifacts_sha256=settings.EMR_ARTIFACTS_SHA256.value(),
                  logs_uri=settings.EMR_LOGS_URI.value() or f"{s3}/emr-logs/",
                  python=settings.EMR_PYTHON.value())
    if env == "emr-serverless":
        engine = engines.EmrServerlessEngine(application_id=settings.EMR_SERVERLESS_APPLICATION_ID.value(),
                                             execution_role_arn=settings.EMR_EXECUTION_ROLE_ARN.value(),
                                             maintenance_role_arn=settings.EMR_MAINTENANCE_ROLE_ARN.value(), **shared)
    else:
        engine = engines.EmrClusterEngine(
            release_label=settings.EMR_RELEASE.value(), instance_type=settings.EMR_INSTANCE_TYPE.value(),
            core_instance_count=int(settings.EMR_CORE_INSTANCES.value()),
            service_role=settings.EMR_SERVICE_ROLE.value(), instance_profile=settings.EMR_INSTANCE_PROFILE.value(),
            maintenance_instance_profile=settings.EMR_MAINTENANCE_INSTANCE_PROFILE.value(),
            subnet_id=settings.EMR_SUBNET_ID.value(), **shared)
    return {"lake": lake, "engine": engine}
