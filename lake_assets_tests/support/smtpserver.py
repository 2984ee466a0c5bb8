"""A real SMTP server for tests: aiosmtpd on a free loopback port, keeping what it receives."""

from __future__ import annotations

import socket
import ssl
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "lake", "smtp-test-password"


class _Inbox:
    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


class SMTPServer:
    """`with SMTPServer() as smtp:` then `smtp.port`, `smtp.messages`, `smtp.env(to=...)`.

    With `tls="starttls"` or `tls="implicit"` (port-465 style) and `certificate=(cert, key)`
    files it speaks TLS and takes the login USER/PASSWORD (STARTTLS first: required);
    `smtp.logins` lists the user names it was sent.
    """

    def __init__(self, tls: str | None = None, certificate: tuple[Path, Path] | None = None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.tls = tls
        self.inbox = _Inbox()
        self.logins: list[str] = []
        options = {}
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            options = {"ssl_context": context, "auth_require_tls": False} if tls == "implicit" else {
                "tls_context": context, "require_starttls": True}
            options["authenticator"] = self._authenticate
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)

    def _authenticate(self, server, session, envelope, mechanism, login) -> AuthResult:
        self.logins.append(login.login.decode())
        return AuthResult(success=(login.login.decode(), login.password.decode()) == (USER, PASSWORD))

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    def env(self, to: str = "ops@example.com") -> dict[str, str]:
        """The settings `lake_assets.orchestration.sensors` reads to send alerts here."""
        env = {"LAKE_SMTP_HOST": "127.0.0.1", "LAKE_SMTP_PORT": str(self.port), "LAKE_ALERT_TO": to,
               "LAKE_ALERT_FROM": "lake@example.com"}
        if self.tls:
            env |= {"LAKE_SMTP_USER": USER, "LAKE_SMTP_PASSWORD": PASSWORD,
                    "LAKE_SMTP_STARTTLS" if self.tls == "starttls" else "LAKE_SMTP_IMPLICIT_TLS": "1"}
        return env

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def write_certificates(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Test certificates as PEM (cert, key) files, made now and valid for a day: `ca` (a CA),
    `trusted` (by the CA, for 127.0.0.1), `other_host` (by the CA, for mail.example.com) and
    `self_signed` (for 127.0.0.1)."""
    ca = _certificate(folder, "ca", "lake test CA", None, is_ca=True)
    return {
        "ca": ca,
        "trusted": _certificate(folder, "trusted", "127.0.0.1", x509.IPAddress(IPv4Address("127.0.0.1")), issuer=ca),
        "other_host": _certificate(folder, "other_host", "mail.example.com", x509.DNSName("mail.example.com"),
                                   issuer=ca),
        "self_signed": _certificate(folder, "self_signed", "127.0.0.1", x509.IPAddress(IPv4Address("127.0.0.1"))),
    }


def _certificate(folder: Path, name: str, common_name: str, alt_name: x509.GeneralName | None,
                 issuer: tuple[Path, Path] | None = None, is_ca: bool = False) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    if issuer:
        issuer_cert = x509.load_pem_x509_certificate(issuer[0].read_bytes())
        issuer_key = serialization.load_pem_private_key(issuer[1].read_bytes(), password=None)
    else:
        issuer_cert, issuer_key = None, key
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if alt_name:
        builder = builder.add_extension(x509.SubjectAlternativeName([alt_name]), critical=False)
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file
