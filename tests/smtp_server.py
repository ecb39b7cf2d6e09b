"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): it keeps what it receives, refuses
chosen recipients, and while ``busy`` answers "try again later"."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Collector:
    """An aiosmtpd handler that keeps what it receives, refuses chosen recipients, and while
    ``busy`` answers every recipient "try again later"."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.busy = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.busy:
            return "451 4.3.0 Try again later"
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(
            envelope.original_content or envelope.content, policy=default_policy
        )
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def body(self, address: str) -> str:
        return self.to(address).message.get_content().replace("\r\n", "\n")

    def to(self, address: str) -> Received:
        [found] = [r for r in self.received if str(r.message["To"]).endswith(f"<{address}>")]
        return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int | None = None, **options) -> tuple[Controller, Collector]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    return controller, collector
