"""Failure mail: a failed run reaches the operators through a real SMTP server on loopback."""

from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context

from lake_assets.definitions import build_definitions
from lake_assets.resources import resources_for
from lake_assets.sensors import FAILED_RUNS_METRIC, failure_email_sensor, failure_metric_sensor


def mail_run_failure(instance: DagsterInstance, run, sensor=failure_email_sensor) -> None:
    """Evaluate a failure sensor on a failed run, as the daemon would."""
    event = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)[-1]
    context = build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=run,
        dagster_event=event.dagster_event).for_run_failure()
    sensor(context)


def test_failed_run_mails_the_operators(smtp, tmp_path):
    job = build_definitions(resources_for("local", str(tmp_path / "raw"), str(tmp_path / "lake"))).resolve_job_def(
        "immigration_job")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, partition_key="2016-04-01", raise_on_error=False)
        assert not result.success
        mail_run_failure(instance, result.dagster_run)

    (mail,) = smtp.messages
    assert mail["To"] == mail["X-Envelope-To"] == "ops@example.com"
    assert mail["Subject"] == "[lake] immigration_job 2016-04 failed"
    body = mail.get_content()
    assert f"The run {result.run_id} of immigration_job 2016-04 failed." in body
    assert f"- immigration: {tmp_path / 'raw' / 'i94'}: no such folder" in body


def test_no_settings_no_mail(smtp, tmp_path, monkeypatch):
    monkeypatch.delenv("LAKE_SMTP_HOST")
    job = build_definitions(resources_for("local", str(tmp_path / "raw"), str(tmp_path / "lake"))).resolve_job_def(
        "immigration_job")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, partition_key="2016-04-01", raise_on_error=False)
        mail_run_failure(instance, result.dagster_run)
    assert smtp.messages == []


def test_failed_run_is_counted_for_the_alarm(tmp_path, monkeypatch):
    """FailedRuns in LAKE_METRICS_NAMESPACE, the metric the deployment's alarm watches."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("LAKE_METRICS_NAMESPACE", "lake/test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    job = build_definitions(resources_for("local", str(tmp_path / "raw"), str(tmp_path / "lake"))).resolve_job_def(
        "immigration_job")
    with DagsterInstance.ephemeral() as instance, mock_aws():
        result = job.execute_in_process(instance=instance, partition_key="2016-04-01", raise_on_error=False)
        mail_run_failure(instance, result.dagster_run, failure_metric_sensor)
        metrics = boto3.client("cloudwatch").list_metrics(Namespace="lake/test")["Metrics"]
    assert [m["MetricName"] for m in metrics] == [FAILED_RUNS_METRIC]
