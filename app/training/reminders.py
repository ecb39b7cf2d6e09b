"""Reminder e-mails for training due soon or overdue: one per person, at most once a day.

Callers own the transaction (a CLI command or a scheduled task commits after the run). The
run streams: it walks people in batches of ``PEOPLE_PER_BATCH`` and puts each reminder in the
outbox (``app.mail.queue_mail``) as it goes, so memory stays flat however many are due, and
nothing waits on the SMTP server: workers send the outbox after the commit, with retries.
Each reminder is claimed by inserting its Reminder row (unique per person and day) in a
savepoint together with its outbox message: two runs at once cannot both remind someone.
No Flask here: SMTP settings arrive as a plain ``MailSettings``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import utcnow
from app.fields import EMAIL_MAX, TITLE_MAX, UNSAFE_IN_LINE, one_line
from app.mail.outbox import queue_mail
from app.mail.smtp import MailSettings
from app.models import Enrollment, Reminder, User
from app.training.matrix import StatusRow, status_rows
from app.training.status import DUE_SOON_DAYS, Status

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
REMINDED = frozenset({Status.DUE_SOON, Status.OVERDUE})
# A name in a greeting or a header is cut shorter than the field allows (fields.NAME_MAX):
# the message stays readable whatever the directory holds.
SHOWN_NAME_MAX = 100
PEOPLE_PER_BATCH = 500  # people read, composed and queued at a time
FAILURES_LISTED = 100  # unusable addresses a report names; the rest are counted


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
    """What a run queued (or, in a dry run, would queue), what failed, and whom it skipped.

    Counts, not lists, so that a run's memory does not grow with the number of e-mails;
    ``send_reminders(on_message=...)`` hears of each message as it is queued.
    """

    dry_run: bool = False
    queued: int = 0
    copied: int = 0  # of those, with the manager copied
    failed: list[ReminderFailure] = field(default_factory=list)  # the first FAILURES_LISTED
    failed_count: int = 0
    already_reminded: int = 0
    # Never signed in (no password yet): a reminder is no use to them; HR's "Never signed
    # in" page gives them a new invitation instead.
    not_activated: int = 0

    def add(self, message: ReminderMessage) -> None:
        self.queued += 1
        self.copied += message.cc is not None

    def fail(self, failure: ReminderFailure) -> None:
        self.failed_count += 1
        if len(self.failed) < FAILURES_LISTED:
            self.failed.append(failure)

    def summary(self) -> str:
        """A few lines for the command line."""
        verb = "Would send" if self.dry_run else "Queued"
        lines = [
            f"{verb} {self.queued} reminder(s), {self.copied} with the manager copied; "
            f"{self.failed_count} failed; {self.already_reminded} already reminded today."
        ]
        if self.not_activated:
            lines.append(
                f"{self.not_activated} never signed in: no reminder (send them an invitation)."
            )
        lines += [f"failed: user {f.user_id} <{f.to}>: {f.reason}" for f in self.failed]
        if self.failed_count > len(self.failed):
            lines.append(f"... and {self.failed_count - len(self.failed)} more failures.")
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


def _reminded_on(session: Session, day: date, user_ids: Sequence[int]) -> set[int]:
    return set(
        session.scalars(
            select(Reminder.user_id).where(Reminder.sent_on == day, Reminder.user_id.in_(user_ids))
        )
    )


def _people_batches(session: Session) -> Iterator[list[int]]:
    """The ids of active people with an enrollment, in batches, by keyset (no offset scan)."""
    last = 0
    while True:
        batch = list(
            session.scalars(
                select(Enrollment.user_id)
                .join(User, User.id == Enrollment.user_id)
                .where(User.active.is_(True), Enrollment.user_id > last)
                .group_by(Enrollment.user_id)
                .order_by(Enrollment.user_id)
                .limit(PEOPLE_PER_BATCH)
            )
        )
        if not batch:
            return
        yield batch
        last = batch[-1]


def send_reminders(
    session: Session,
    mail: MailSettings,
    now: datetime | None = None,
    dry_run: bool = False,
    due_soon_days: int = DUE_SOON_DAYS,
    on_message: Callable[[ReminderMessage], object] | None = None,
) -> ReminderReport:
    """Queue an e-mail to each person with training due soon or overdue, once a day; their
    manager copied if late. Workers send them once the caller commits."""
    now = now or utcnow()
    today = now.date()
    report = ReminderReport(dry_run=dry_run)
    for batch in _people_batches(session):
        rows = status_rows(
            session, user_ids=batch, now=now, due_soon_days=due_soon_days, sort=None
        ).rows
        by_person: dict[int, list[StatusRow]] = defaultdict(list)
        for row in rows:
            if row.status in REMINDED:
                by_person[row.user_id].append(row)
        # Only people who can act on a reminder: someone who never set a password cannot
        # sign in (HR's "Never signed in" page gives them an invitation instead).
        waiting = set(
            session.scalars(
                select(User.id).where(User.password_hash.is_(None), User.id.in_(list(by_person)))
            )
        )
        for user_id in waiting:
            del by_person[user_id]
        report.not_activated += len(waiting)
        if not by_person:
            continue
        reminded = _reminded_on(session, today, sorted(by_person))
        late_managers = sorted(
            {
                rows[0].manager_id
                for rows in by_person.values()
                if rows[0].manager_id is not None and any(r.status is Status.OVERDUE for r in rows)
            }
        )
        managers = {
            m.id: m
            for m in session.scalars(
                select(User).where(User.id.in_(late_managers), User.active.is_(True))
            )
        }
        for user_id, person_rows in sorted(by_person.items()):
            if user_id in reminded:
                report.already_reminded += 1
                continue
            _remind(session, mail, person_rows, managers, now, report, dry_run, on_message)
    return report


def _remind(
    session: Session,
    mail: MailSettings,
    rows: list[StatusRow],
    managers: dict[int, User],
    now: datetime,
    report: ReminderReport,
    dry_run: bool,
    on_message: Callable[[ReminderMessage], object] | None,
) -> None:
    person = rows[0]
    overdue = any(r.status is Status.OVERDUE for r in rows)
    manager = managers.get(person.manager_id) if overdue and person.manager_id else None
    if manager is not None and (manager.id == person.user_id or not _usable(manager.email)):
        manager = None  # a manager's unusable address must not hold up the reminder
    try:
        message = compose(mail, person, rows, manager, now)
    except ValueError as exc:
        report.fail(
            ReminderFailure(
                person.user_id, one_line(person.email, EMAIL_MAX), f"unusable address: {exc}"
            )
        )
        return
    meta = ReminderMessage(
        user_id=person.user_id,
        to=person.email,
        cc=manager.email if manager else None,
        subject=str(message["Subject"]),
        course_ids=tuple(sorted(r.course_id for r in rows)),
        overdue=overdue,
    )
    if not dry_run:
        try:
            with session.begin_nested():
                # Claims today's reminder (or fails: another run has it), with its e-mail.
                session.execute(
                    insert(Reminder).values(
                        user_id=meta.user_id,
                        sent_on=now.date(),
                        sent_at=now,
                        courses=list(meta.course_ids),
                        manager_copied=meta.cc is not None,
                    )
                )
                queue_mail(session, message, kind="reminder")
                # On the audit trail too (ids only), undone with the claim if it fails.
                record(
                    session,
                    "reminder.sent",
                    user_id=meta.user_id,
                    course_ids=list(meta.course_ids),
                    manager_copied=meta.cc is not None,
                )
        except IntegrityError:
            report.already_reminded += 1
            return
    report.add(meta)
    if on_message is not None:
        on_message(meta)
