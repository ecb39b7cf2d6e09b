"""The e-mails of a reminder run: a learner's reminder and a manager's digest.

Both are plain-text messages from ``templates/email/`` built by ``app.mail.messages.
text_message`` (addresses checked, names and titles one bounded line). Raises ValueError for
an address that cannot be used. No Flask here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from app.fields import TITLE_MAX, one_line
from app.mail.messages import SHOWN_NAME_MAX, text_message
from app.mail.smtp import MailSettings
from app.training.matrix import StatusRow
from app.training.status import Status

DIGEST_PEOPLE_MAX = 200  # people a digest lists; the rest are counted
LATE_STATUSES = frozenset({Status.OVERDUE, Status.EXPIRED})


def is_late(rows: Sequence[StatusRow]) -> bool:
    """Whether any of ``rows`` is past its deadline (overdue, or a completion expired)."""
    return any(r.status in LATE_STATUSES for r in rows)


def _urgency(row: StatusRow) -> tuple:
    moment = row.expires_at if row.completed_at is not None else row.due_at
    return (row.status not in LATE_STATUSES, moment is None, moment, row.course_title)


def compose(
    mail: MailSettings,
    person: StatusRow,
    rows: Sequence[StatusRow],
    now: datetime,
    manager_told: bool = False,
) -> EmailMessage:
    """The reminder for one person, the most urgent course first."""
    rows = sorted(rows, key=_urgency)
    overdue = is_late(rows)
    base = mail.base_url.rstrip("/")
    count = f"{len(rows)} course" + ("s" if len(rows) != 1 else "")
    return text_message(
        mail,
        to_name=person.name,
        to_email=person.email,
        subject=f"Overdue training: {count} to complete"
        if overdue
        else f"Training due soon: {count}",
        template="reminder.txt",
        now=now,
        overdue=overdue,
        manager_told=manager_told,
        courses=[
            {
                "title": one_line(r.course_title, TITLE_MAX),
                "label": r.label,
                "url": f"{base}/courses/{r.course_slug}",
            }
            for r in rows
        ],
    )


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
    """A manager's digest of their late reports (at most ``DIGEST_PEOPLE_MAX`` listed)."""
    shown = list(reports)[:DIGEST_PEOPLE_MAX]
    count = len(reports)
    return text_message(
        mail,
        to_name=manager_name,
        to_email=manager_email,
        subject=f"Your team: {count} {'person' if count == 1 else 'people'} with overdue training",
        template="digest.txt",
        now=now,
        people=[
            {
                "name": one_line(r.name, SHOWN_NAME_MAX),
                "employee_id": one_line(r.employee_id, SHOWN_NAME_MAX) if r.employee_id else None,
                "courses": [
                    {"title": one_line(row.course_title, TITLE_MAX), "label": row.label}
                    for row in sorted(r.rows, key=_urgency)
                ],
            }
            for r in shown
        ],
        more=count - len(shown),
        team_url=f"{mail.base_url.rstrip('/')}/team",
    )
