"""Failure mail: a failed run reaches the operators through a real SMTP server on loopback;
TLS (STARTTLS and implicit) verifies the server's certificate and host name; no password goes
out without TLS; and a mail that cannot go never fails the landing-zone sensor's tick."""

import socket
from contextlib import contextmanager

import pytest
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context, job, op

from lake_assets.core.mail import MailError, send_mail, smtp_settings
from lake_assets.orchestration.definitions import build_definitions
from lake_assets.orchestration.environments import resources_for
from lake_assets.orchestration.sensors import FAILED_RUNS_METRIC, failure_email_sensor, failure_metric_sensor
from lake_assets_tests.orchestration.test_sensors import evaluate, write_month
from lake_assets_tests.support.smtpserver import PASSWORD, USER, SMTPServer, write_certificates


def mail_run_failure(instance: DagsterInstance, run, sensor=failure_email_sensor) -> None:
    """Evaluate a failure sensor on a failed run, as the daemon would."""
    event = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)[-1]
    context = build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=run,
        dagster_event=event.dagster_event).for_run_failure()
    sensor(context)


@pytest.mark.spark  # the local engine starts Spark before it finds no raw folder
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


@pytest.mark.spark  # the local engine starts Spark before it finds no raw folder
def test_no_settings_no_mail(smtp, tmp_path, monkeypatch):
    monkeypatch.delenv("LAKE_SMTP_HOST")
    job = build_definitions(resources_for("local", str(tmp_path / "raw"), str(tmp_path / "lake"))).resolve_job_def(
        "immigration_job")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, partition_key="2016-04-01", raise_on_error=False)
        mail_run_failure(instance, result.dagster_run)
    assert smtp.messages == []


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return write_certificates(tmp_path_factory.mktemp("tls"))


@contextmanager
def tls_server(tls: str, certificate: tuple, monkeypatch):
    """An SMTP server with TLS (`starttls` or `implicit`), the alert settings pointing at it."""
    with SMTPServer(tls=tls, certificate=certificate) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        yield server


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_accepts_a_certificate_from_a_trusted_ca(tls, certificates, monkeypatch):
    monkeypatch.setenv("LAKE_SMTP_CA_FILE", str(certificates["ca"][0]))
    with tls_server(tls, certificates["trusted"], monkeypatch) as smtp:
        send_mail(smtp_settings(), "[lake] test", "over TLS")
    (mail,) = smtp.messages
    assert mail["Subject"] == "[lake] test"
    assert smtp.logins == ["lake"]


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
@pytest.mark.parametrize("certificate, trusts_ca, refusal", [
    ("self_signed", False, "self-signed certificate"),  # the system's CAs, as deployed
    ("other_host", True, "IP address mismatch, certificate is not valid for '127.0.0.1'"),
])
def test_tls_refuses_an_unverified_certificate(tls, certificate, trusts_ca, refusal, certificates, monkeypatch):
    if trusts_ca:
        monkeypatch.setenv("LAKE_SMTP_CA_FILE", str(certificates["ca"][0]))
    with tls_server(tls, certificates[certificate], monkeypatch) as smtp, pytest.raises(MailError) as refused:
        send_mail(smtp_settings(), "[lake] test", "never sent")
    assert smtp.messages == [] and smtp.logins == []  # no password went out
    assert str(refused.value) == (
        f"alert not sent: the TLS certificate of the SMTP server 127.0.0.1:{smtp.port} was refused ({refusal}); "
        "set LAKE_SMTP_HOST to a name the certificate is issued for, or LAKE_SMTP_CA_FILE to the CA bundle "
        "(PEM) of the server's private CA")


def test_no_password_goes_out_without_tls(monkeypatch):
    """A server that would take a login in clear (aiosmtpd, AUTH allowed without TLS) never gets it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    logins = []

    def authenticate(server, session, envelope, mechanism, login):
        logins.append(login.login.decode())
        return AuthResult(success=True)

    with SMTPServer() as smtp:
        smtp.controller.stop()
        smtp.controller = Controller(smtp.inbox, hostname="127.0.0.1", port=smtp.port, authenticator=authenticate,
                                     auth_require_tls=False)
        smtp.controller.start()
        for key, value in {**smtp.env(), "LAKE_SMTP_USER": USER, "LAKE_SMTP_PASSWORD": PASSWORD}.items():
            monkeypatch.setenv(key, value)
        with pytest.raises(MailError) as refused:
            send_mail(smtp_settings(), "[lake] test", "never sent")
    assert logins == [] and smtp.messages == []
    assert str(refused.value) == (
        f"alert not sent: LAKE_SMTP_USER is set but 127.0.0.1:{smtp.port} is plain SMTP, and the password is never "
        "sent in clear; set LAKE_SMTP_STARTTLS=1 or LAKE_SMTP_IMPLICIT_TLS=1")


@pytest.mark.parametrize("failure", ["refused_certificate", "refused_connection"])
def test_a_mail_that_cannot_go_does_not_stall_the_sensor(failure, certificates, tmp_path, monkeypatch, capfd):
    """raw_i94_sensor's tick still asks for its runs and logs the mail failure in one line; the
    problems are mailed again at the next tick."""
    raw = str(tmp_path / "raw")
    write_month(raw, "i94_apr16_sub.parquet", rows=3)
    write_month(raw, "i94_dec15_sub.parquet", rows=3)  # outside the lake's months: mailed
    with tls_server("starttls", certificates["self_signed"], monkeypatch) as smtp:
        if failure == "refused_connection":  # a port nothing listens on
            with socket.socket() as closed:
                closed.bind(("127.0.0.1", 0))
                monkeypatch.setenv("LAKE_SMTP_PORT", str(closed.getsockname()[1]))
        capfd.readouterr()
        result = evaluate(raw, None)
        assert [r.partition_key for r in result.run_requests] == ["2016-04-01"]
        assert smtp.messages == [] and smtp.logins == []
        (error,) = [line for line in capfd.readouterr().err.splitlines() if " - ERROR - " in line]
        assert error.split(" - ERROR - ")[1].startswith(
            "landing-zone problems not mailed (again at the next tick): alert not sent: ")
        again = evaluate(raw, result.cursor)
        assert again.run_requests == [] and smtp.messages == []
        assert len([line for line in capfd.readouterr().err.splitlines() if " - ERROR - " in line]) == 1


@op
def broken():
    raise RuntimeError("broken on purpose")


@job
def broken_job():
    broken()


def test_tls_refusal_is_one_line_in_the_sensor_log(certificates, monkeypatch, capfd):
    with tls_server("starttls", certificates["self_signed"], monkeypatch) as smtp, \
            DagsterInstance.ephemeral() as instance:
        result = broken_job.execute_in_process(instance=instance, raise_on_error=False)
        capfd.readouterr()
        mail_run_failure(instance, result.dagster_run)
    (line,) = capfd.readouterr().err.splitlines()
    assert line.endswith(
        f" - dagster - ERROR - alert not sent: the TLS certificate of the SMTP server 127.0.0.1:{smtp.port} was "
        "refused (self-signed certificate); set LAKE_SMTP_HOST to a name the certificate is issued for, "
        "or LAKE_SMTP_CA_FILE to the CA bundle (PEM) of the server's private CA")


@pytest.mark.spark  # the local engine starts Spark before it finds no raw folder
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
