"""Reminder e-mails for training due soon or overdue: one per person, at most once a day.

Callers own the transaction (a CLI command commits after the run). Each e-mail is claimed by
inserting its Reminder row (unique per person and day) in a savepoint before it is sent: two
runs at once cannot both send to someone, and a failed send rolls its claim back, so nothing
is recorded for it. No Flask here: SMTP settings arrive as a plain ``MailSettings``.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import utcnow
from app.fields import EMAIL_MAX, TITLE_MAX, UNSAFE_IN_LINE, one_line
from app.models import Reminder, User
from app.training.cycles import CHUNK
from app.training.matrix import StatusRow, status_rows
from app.training.status import DUE_SOON_DAYS, Status

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
REMINDED = frozenset({Status.DUE_SOON, Status.OVERDUE})
# A name in a greeting or a header is cut shorter than the field allows (fields.NAME_MAX):
# the message stays readable whatever the directory holds.
SHOWN_NAME_MAX = 100
REASON_MAX = 200  # a failure's reason, as the report prints it


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


@dataclass(frozen=True)
class ReminderMessage:
    """One reminder, sent or (in a dry run) to be sent."""

    user_id: int
    to: str
    cc: str | None
    subject: str
    course_ids: tuple[int, ...]
    overdue: bool


@dataclass(frozen=True)
class ReminderFailure:
    user_id: int
    to: str
    reason: str


@dataclass
class ReminderReport:
    """What a run sent (or, in a dry run, would send), what failed, and whom it skipped."""

    dry_run: bool = False
    sent: list[ReminderMessage] = field(default_factory=list)
    failed: list[ReminderFailure] = field(default_factory=list)
    already_reminded: int = 0
    # Never signed in (no password yet): a reminder is no use to them; HR's "Never signed
    # in" page gives them a new invitation instead.
    not_activated: int = 0

    def summary(self) -> str:
        """A few lines for the command line."""
        verb = "Would send" if self.dry_run else "Sent"
        copied = sum(m.cc is not None for m in self.sent)
        lines = [
            f"{verb} {len(self.sent)} reminder(s), {copied} with the manager copied; "
            f"{len(self.failed)} failed; {self.already_reminded} already reminded today."
        ]
        if self.not_activated:
            lines.append(
                f"{self.not_activated} never signed in: no reminder (send them an invitation)."
            )
        lines += [f"failed: user {f.user_id} <{f.to}>: {f.reason}" for f in self.failed]
        return "\n".join(lines)


@cache
def _environment() -> Environment:
    # Our own environment: plain text is not HTML-escaped; an .html template would be.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "xml"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _address(name: str, email: str) -> Address:
    if UNSAFE_IN_LINE.search(email) or any(c.isspace() for c in email):
        raise ValueError("the e-mail address contains spaces or control characters")
    return Address(display_name=one_line(name, SHOWN_NAME_MAX), addr_spec=email)


def _usable(email: str) -> bool:
    try:
        _address("", email)
    except ValueError:
        return False
    return True


def _domain(sender: str) -> str:
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2]
    return domain if re.fullmatch(r"[A-Za-z0-9.-]{1,253}", domain) else "candor.invalid"


def _urgency(row: StatusRow) -> tuple:
    moment = row.expires_at if row.completed_at is not None else row.due_at
    return (row.status is not Status.OVERDUE, moment is None, moment, row.course_title)


def compose(
    mail: MailSettings,
    person: StatusRow,
    rows: Sequence[StatusRow],
    manager: User | None,
    now: datetime,
) -> EmailMessage:
    """The reminder for one person; raises ValueError for an address that cannot be used."""
    rows = sorted(rows, key=_urgency)
    overdue = any(r.status is Status.OVERDUE for r in rows)
    base = mail.base_url.rstrip("/")
    count = f"{len(rows)} course" + ("s" if len(rows) != 1 else "")
    message = EmailMessage()
    message["Subject"] = (
        f"Overdue training: {count} to complete" if overdue else f"Training due soon: {count}"
    )
    message["From"] = mail.sender
    message["To"] = _address(person.name, person.email)
    if manager is not None:
        message["Cc"] = _address(manager.name, manager.email)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=_domain(mail.sender))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    body = (
        _environment()
        .get_template("reminder.txt")
        .render(
            name=one_line(person.name, SHOWN_NAME_MAX),
            overdue=overdue,
            manager_copied=manager is not None,
            base_url=base,
            organisation=one_line(mail.organisation, TITLE_MAX),
            courses=[
                {
                    "title": one_line(r.course_title, TITLE_MAX),
                    "label": r.label,
                    "url": f"{base}/courses/{r.course_slug}",
                }
                for r in rows
            ],
        )
    )
    message.set_content(body)
    return message


class _Unavailable(Exception):
    """The SMTP server cannot be reached: no point trying the remaining messages."""


class _Smtp:
    """One connection for the whole run, opened on first use and reopened after a failure."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        try:
            connection = smtplib.SMTP(self.mail.host, self.mail.port, timeout=self.mail.timeout)
        except OSError as exc:
            raise _Unavailable(
                f"cannot connect to {self.mail.host}:{self.mail.port}: {exc}"
            ) from exc
        try:
            connection.ehlo()
            if self.mail.use_tls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if self.mail.username:
                connection.login(self.mail.username, self.mail.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            connection.close()
            raise _Unavailable(f"cannot set up the SMTP session: {exc}") from exc
        return connection

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            raise  # refused by the server: the connection itself is fine
        except (smtplib.SMTPException, OSError):
            self.close()  # the session is in an unknown state: start afresh next time
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        return f"recipient refused by the server ({', '.join(codes)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"refused by the server ({exc.smtp_code})"
    return one_line(str(exc) or type(exc).__name__, REASON_MAX)


def _reminded_on(session: Session, day: date) -> set[int]:
    return set(session.scalars(select(Reminder.user_id).where(Reminder.sent_on == day)))


def send_reminders(
    session: Session,
    mail: MailSettings,
    now: datetime | None = None,
    dry_run: bool = False,
    due_soon_days: int = DUE_SOON_DAYS,
) -> ReminderReport:
    """E-mail each person with training due soon or overdue, once a day; manager copied if late."""
    now = now or utcnow()
    today = now.date()
    report = ReminderReport(dry_run=dry_run)
    everyone = status_rows(session, now=now, due_soon_days=due_soon_days, sort=None).rows
    by_person: dict[int, list[StatusRow]] = defaultdict(list)
    for row in everyone:
        if row.status in REMINDED:
            by_person[row.user_id].append(row)
    if not by_person:
        return report
    # Only people who can act on a reminder: someone who never set a password cannot sign in.
    waiting = (
        set(
            session.scalars(
                select(User.id).where(User.password_hash.is_(None), User.id.in_(list(by_person)))
            )
        )
        if len(by_person) <= CHUNK
        else set(session.scalars(select(User.id).where(User.password_hash.is_(None))))
    )
    for user_id in waiting & by_person.keys():
        del by_person[user_id]
        report.not_activated += 1
    if not by_person:
        return report
    reminded = _reminded_on(session, today)
    late_managers = sorted(
        {
            rows[0].manager_id
            for rows in by_person.values()
            if rows[0].manager_id is not None and any(r.status is Status.OVERDUE for r in rows)
        }
    )
    managers: dict[int, User] = {}
    for start in range(0, len(late_managers), CHUNK):
        chunk = late_managers[start : start + CHUNK]
        managers.update(
            (m.id, m)
            for m in session.scalars(select(User).where(User.id.in_(chunk), User.active.is_(True)))
        )

    outbox: list[tuple[ReminderMessage, EmailMessage]] = []
    for user_id, rows in sorted(by_person.items()):
        person = rows[0]
        if user_id in reminded:
            report.already_reminded += 1
            continue
        overdue = any(r.status is Status.OVERDUE for r in rows)
        manager = managers.get(person.manager_id) if overdue and person.manager_id else None
        if manager is not None and (manager.id == user_id or not _usable(manager.email)):
            manager = None  # a manager's unusable address must not hold up the reminder
        try:
            message = compose(mail, person, rows, manager, now)
        except ValueError as exc:
            report.failed.append(
                ReminderFailure(
                    user_id, one_line(person.email, EMAIL_MAX), f"unusable address: {exc}"
                )
            )
            continue
        meta = ReminderMessage(
            user_id=user_id,
            to=person.email,
            cc=manager.email if manager else None,
            subject=str(message["Subject"]),
            course_ids=tuple(sorted(r.course_id for r in rows)),
            overdue=overdue,
        )
        outbox.append((meta, message))

    if dry_run:
        report.sent.extend(meta for meta, _ in outbox)
        return report
    smtp = _Smtp(mail)
    try:
        for position, (meta, message) in enumerate(outbox):
            try:
                with session.begin_nested():
                    sent = Reminder(
                        user_id=meta.user_id,
                        sent_on=today,
                        sent_at=now,
                        courses=list(meta.course_ids),
                        manager_copied=meta.cc is not None,
                    )
                    session.add(sent)
                    session.flush()  # claims today's reminder, or fails if already claimed
                    # On the audit trail too (ids only), rolled back with the claim on failure.
                    record(
                        session,
                        "reminder.sent",
                        subject=sent,
                        user_id=meta.user_id,
                        course_ids=list(meta.course_ids),
                        manager_copied=meta.cc is not None,
                    )
                    smtp.send(message)  # an exception here rolls the claim back
            except IntegrityError:
                report.already_reminded += 1
            except _Unavailable as exc:
                report.failed.extend(
                    ReminderFailure(m.user_id, m.to, str(exc)) for m, _ in outbox[position:]
                )
                break
            except (smtplib.SMTPException, OSError) as exc:
                report.failed.append(ReminderFailure(meta.user_id, meta.to, _reason(exc)))
            else:
                report.sent.append(meta)
    finally:
        smtp.close()
    return report
