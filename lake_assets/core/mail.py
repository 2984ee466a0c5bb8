"""The operators' mail: SMTP settings from the environment and one send that either delivers
or raises MailError, a one-line reason (a refused certificate, a refused connection, a
timeout, a login the server refused). Credentials are sent only over TLS. No Dagster here.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from lake_assets.core import settings

TIMEOUT_SECONDS = 30


def smtp_settings() -> dict | None:
    """The SMTP settings of the environment, or None when alerts are not configured.

    LAKE_SMTP_HOST, LAKE_SMTP_PORT (default 25), LAKE_ALERT_TO (comma list), LAKE_ALERT_FROM
    (default lake@<host>), optional LAKE_SMTP_USER, LAKE_SMTP_PASSWORD, LAKE_SMTP_STARTTLS=1 or
    LAKE_SMTP_IMPLICIT_TLS=1 (the default on port 465), LAKE_SMTP_CA_FILE (the CA bundle, PEM,
    that the server's certificate must chain to, instead of the system's).
    """
    host, to = settings.SMTP_HOST.value(), settings.ALERT_TO.value()
    if not host or not to:
        return None
    port = int(settings.SMTP_PORT.value())
    return {
        "host": host, "port": port,
        "to": [a.strip() for a in to.split(",") if a.strip()],
        "from": settings.ALERT_FROM.value() or f"lake@{host}",
        "user": settings.SMTP_USER.value(), "password": settings.SMTP_PASSWORD.value(),
        "implicit_tls": settings.SMTP_IMPLICIT_TLS.flag() if settings.SMTP_IMPLICIT_TLS.value() else port == 465,
        "starttls": settings.SMTP_STARTTLS.flag(),
        "ca_file": settings.SMTP_CA_FILE.value(),
    }


class MailError(Exception):
    """An alert that could not be sent, in one line: what failed, where, how to fix it."""


def send_mail(settings: dict, subject: str, body: str) -> None:
    """Send one plain-text mail with `settings` (see `smtp_settings`), or raise MailError.

    TLS (implicit or STARTTLS) verifies the server's certificate and host name; a login is
    never sent without TLS.
    """
    host, port = settings["host"], settings["port"]
    if settings["user"] and not (settings["implicit_tls"] or settings["starttls"]):
        raise MailError(f"alert not sent: LAKE_SMTP_USER is set but {host}:{port} is plain SMTP, and the password "
                        "is never sent in clear; set LAKE_SMTP_STARTTLS=1 or LAKE_SMTP_IMPLICIT_TLS=1")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings["from"], ", ".join(settings["to"]), subject
    message.set_content(body)
    tls = ssl.create_default_context(cafile=settings["ca_file"])
    try:
        if settings["implicit_tls"]:
            server = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=tls)
        else:
            server = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
        with server:
            if settings["starttls"]:
                server.starttls(context=tls)
            if settings["user"]:
                server.login(settings["user"], settings["password"] or "")
            server.send_message(message)
    except ssl.SSLCertVerificationError as exc:
        raise MailError(
            f"alert not sent: the TLS certificate of the SMTP server {host}:{port} was refused "
            f"({exc.verify_message.rstrip('.')}); set LAKE_SMTP_HOST to a name the certificate is issued for, "
            "or LAKE_SMTP_CA_FILE to the CA bundle (PEM) of the server's private CA") from None
    except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, TLS failed, login or recipients refused
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise MailError(f"alert not sent: the SMTP server {host}:{port} failed: {reason}") from None
