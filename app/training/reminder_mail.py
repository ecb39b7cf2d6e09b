"""The e-mails of a reminder run: a learner's reminder and a manager's digest.

Plain text from our own Jinja environment (no HTML escaping of text, StrictUndefined); names
and titles are cut to one bounded line; addresses go through ``app.mail.addresses``, so no
name can add a recipient. No Flask here: settings arrive as a plain ``MailSettings``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.fields import TITLE_MAX, one_line
from app.mail.addresses import mail_address, sender_address
from app.mail.smtp import MailSettings
from app.training.matrix import StatusRow
from app.training.status import Status

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
# A name in a greeting or a header is cut shorter than the field allows (fields.NAME_MAX):
# the message stays readable whatever the directory holds.
SHOWN_NAME_MAX = 100
DIGEST_PEOPLE_MAX = 200  # people a digest lists; the rest are counted


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
    return mail_address(name, email)


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


LATE_STATUSES = frozenset({Status.OVERDUE, Status.EXPIRED})


def is_late(rows: Sequence[StatusRow]) -> bool:
    """Whether any of ``rows`` is past its deadline (overdue, or a completion expired)."""
    return any(r.status in LATE_STATUSES for r in rows)


def _urgency(row: StatusRow) -> tuple:
    moment = row.expires_at if row.completed_at is not None else row.due_at
    return (row.status not in LATE_STATUSES, moment is None, moment, row.course_title)


def _stamp(message: EmailMessage, mail: MailSettings, now: datetime) -> None:
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=_domain(mail.sender))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please


def compose(
    mail: MailSettings,
    person: StatusRow,
    rows: Sequence[StatusRow],
    now: datetime,
    manager_told: bool = False,
) -> EmailMessage:
    """The reminder for one person; raises ValueError for an address that cannot be used."""
    rows = sorted(rows, key=_urgency)
    overdue = is_late(rows)
    base = mail.base_url.rstrip("/")
    count = f"{len(rows)} course" + ("s" if len(rows) != 1 else "")
    message = EmailMessage()
    message["Subject"] = (
        f"Overdue training: {count} to complete" if overdue else f"Training due soon: {count}"
    )
    message["From"] = sender_address(mail.sender)
    message["To"] = _address(person.name, person.email)
    _stamp(message, mail, now)
    body = (
        _environment()
        .get_template("reminder.txt")
        .render(
            name=one_line(person.name, SHOWN_NAME_MAX),
            overdue=overdue,
            manager_told=manager_told,
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


@dataclass(frozen=True)
class Report:
    """One late person in a manager's digest, with their late courses."""

    name: str
    employee_id: str | None
    rows: Sequence[StatusRow]


def compose_digest(
    mail: MailSettings,
    manager_name: str,
    manager_email: str,
    reports: Sequence[Report],
    now: datetime,
) -> EmailMessage:
    """A manager's digest of their late reports; raises ValueError for an unusable address."""
    base = mail.base_url.rstrip("/")
    shown = list(reports)[:DIGEST_PEOPLE_MAX]
    count = len(reports)
    message = EmailMessage()
    message["Subject"] = (
        f"Your team: {count} {'person' if count == 1 else 'people'} with overdue training"
    )
    message["From"] = sender_address(mail.sender)
    message["To"] = _address(manager_name, manager_email)
    _stamp(message, mail, now)
    body = (
        _environment()
        .get_template("digest.txt")
        .render(
            name=one_line(manager_name, SHOWN_NAME_MAX),
            people=[
                {
                    "name": one_line(r.name, SHOWN_NAME_MAX),
                    "employee_id": one_line(r.employee_id, SHOWN_NAME_MAX)
                    if r.employee_id
                    else None,
                    "courses": [
                        {"title": one_line(row.course_title, TITLE_MAX), "label": row.label}
                        for row in sorted(r.rows, key=_urgency)
                    ],
                }
                for r in shown
            ],
            more=count - len(shown),
            team_url=f"{base}/team",
            organisation=one_line(mail.organisation, TITLE_MAX),
        )
    )
    message.set_content(body)
    return message
