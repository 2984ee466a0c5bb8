"""A real SMTP server for tests: aiosmtpd on a free loopback port, keeping what it receives."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Inbox:
    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


class SMTPServer:
    """`with SMTPServer() as smtp:` then `smtp.port`, `smtp.messages`, `smtp.env(to=...)`."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.inbox = _Inbox()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    def env(self, to: str = "ops@example.com") -> dict[str, str]:
        """The settings `lake_assets.sensors` reads to send alerts here."""
        return {"LAKE_SMTP_HOST": "127.0.0.1", "LAKE_SMTP_PORT": str(self.port), "LAKE_ALERT_TO": to,
                "LAKE_ALERT_FROM": "lake@example.com"}

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
