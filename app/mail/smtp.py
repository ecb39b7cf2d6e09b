"""How Candor talks to its SMTP server: the settings, one connection reused for a batch, and
what a failure means (try later, or never). No Flask here."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.fields import one_line

REASON_MAX = 200  # a failure's reason, as reports print it


@dataclass(frozen=True)
class MailSettings:
    """How to reach the SMTP server, and what the messages say about where they come from."""

    host: str = "localhost"
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False  # STARTTLS, with certificate and host name checked
    sender: str = "Candor <candor@localhost>"
    base_url: str = "http://127.0.0.1:5000"
    organisation: str = "Candor"
    timeout: float = 30.0


def mail_settings(config: Mapping[str, Any]) -> MailSettings:
    """The mail settings of an app's configuration (its ``SMTP_*`` keys)."""
    return MailSettings(
        host=config["SMTP_HOST"],
        port=int(config["SMTP_PORT"]),
        username=config["SMTP_USERNAME"],
        password=config["SMTP_PASSWORD"],
        use_tls=bool(config["SMTP_STARTTLS"]),
        sender=config["SMTP_SENDER"],
        base_url=config["BASE_URL"],
        organisation=config["ORGANISATION_NAME"],
    )


class Unavailable(Exception):
    """The SMTP server cannot be reached or will not talk: try again later."""


def is_permanent(exc: BaseException) -> bool:
    """True for a refusal that will not change on a retry (a 5xx answer)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def reason(exc: BaseException) -> str:
    """A failure, in a line fit for a report (no message content, no credentials)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        return f"recipient refused by the server ({', '.join(codes)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"refused by the server ({exc.smtp_code})"
    return one_line(str(exc) or type(exc).__name__, REASON_MAX)


class SmtpConnection:
    """One connection for a batch, opened on first use and reopened after a failure."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        try:
            connection = smtplib.SMTP(self.mail.host, self.mail.port, timeout=self.mail.timeout)
        except OSError as exc:
            raise Unavailable(
                f"cannot connect to {self.mail.host}:{self.mail.port}: {exc}"
            ) from exc
        except smtplib.SMTPException as exc:  # e.g. a 421 greeting
            raise Unavailable(f"the server will not talk: {reason(exc)}") from exc
        try:
            connection.ehlo()
            if self.mail.use_tls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if self.mail.username:
                connection.login(self.mail.username, self.mail.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            connection.close()
            raise Unavailable(f"cannot set up the SMTP session: {reason(exc)}") from exc
        return connection

    def send(self, sender: str, recipients: Sequence[str], message: bytes) -> None:
        """Hand one message to the server; raises what smtplib raises, or Unavailable."""
        if self.connection is None:
            self.connection = self._connect()
        try:
            refused = self.connection.sendmail(sender, list(recipients), message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            raise  # refused by the server: the connection itself is fine
        except (smtplib.SMTPException, OSError):
            self.close()  # the session is in an unknown state: start afresh next time
            raise
        if refused:  # some recipients (a manager in copy) refused, the others accepted
            return

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None
