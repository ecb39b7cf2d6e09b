"""Managers' digests: after a reminder run, one e-mail to each manager of someone the run
reminded of late training, listing those people and their late courses (instead of a copy of
each reminder). Walked by manager in batches of ``MANAGERS_PER_BATCH``; each digest is claimed
by its ``ReminderDigest`` row (unique per run and manager) with its outbox message, so a
manager gets one per run. Callers own the transaction. No Flask here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.fields import EMAIL_MAX, one_line
from app.mail.outbox import queue_mail
from app.mail.smtp import MailSettings
from app.models import Reminder, ReminderDigest, User
from app.training.matrix import StatusRow, status_rows
from app.training.reminder_mail import LATE_STATUSES, Report, compose_digest

MANAGERS_PER_BATCH = 50  # managers whose digests are composed at a time


@dataclass
class Digests:
    """What the digests of a run did: how many were queued, and the managers whose address
    could not be used (id, address, reason)."""

    sent: int = 0
    failed: list[tuple[int, str, str]] = field(default_factory=list)


def count_active(session: Session, ids: set[int]) -> int:
    if not ids:
        return 0
    return int(
        session.scalar(select(func.count()).where(User.id.in_(sorted(ids)), User.active.is_(True)))
        or 0
    )


def send_digests(session: Session, mail: MailSettings, run_id: int, now: datetime) -> Digests:
    """One e-mail to each active manager of someone run ``run_id`` reminded of late
    training, listing those people; walked by manager in batches."""
    result = Digests()
    last = 0
    reminded = aliased(User.__table__, name="reminded")
    while True:
        managers = session.execute(
            select(User.id, User.name, User.email)
            .where(
                User.active.is_(True),
                User.id > last,
                User.id.in_(
                    select(reminded.c.manager_id)
                    .join(Reminder, Reminder.user_id == reminded.c.id)
                    .where(
                        Reminder.run_id == run_id,
                        Reminder.overdue.is_(True),
                        reminded.c.manager_id != reminded.c.id,
                    )
                ),
            )
            .order_by(User.id)
            .limit(MANAGERS_PER_BATCH)
        ).all()
        if not managers:
            return result
        last = managers[-1].id
        teams = _late_reports(session, run_id, [m.id for m in managers], now)
        for manager in managers:
            reports = teams.get(manager.id, [])
            if reports:
                _digest(session, mail, run_id, manager, reports, now, result)


def _late_reports(
    session: Session, run_id: int, manager_ids: list[int], now: datetime
) -> dict[int, list[Report]]:
    """The people of these managers reminded of late training in run ``run_id``, with their
    late courses, by manager, by name."""
    people = session.execute(
        select(User.id, User.manager_id)
        .join(Reminder, Reminder.user_id == User.id)
        .where(
            Reminder.run_id == run_id,
            Reminder.overdue.is_(True),
            User.manager_id.in_(manager_ids),
        )
    ).all()
    manager_of = {p.id: p.manager_id for p in people}
    rows: dict[int, list[StatusRow]] = defaultdict(list)
    for row in status_rows(session, user_ids=sorted(manager_of), now=now, sort="name").rows:
        if row.status in LATE_STATUSES:
            rows[row.user_id].append(row)
    teams: dict[int, list[Report]] = defaultdict(list)
    for user_id, late in rows.items():  # in name order: status_rows sorted them
        person = late[0]
        teams[manager_of[user_id]].append(Report(person.name, person.employee_id, late))
    return teams


def _digest(
    session: Session,
    mail: MailSettings,
    run_id: int,
    manager: Any,
    reports: list[Report],
    now: datetime,
    result: Digests,
) -> None:
    try:
        message = compose_digest(mail, manager.name, manager.email, reports, now)
    except ValueError as exc:
        address = one_line(manager.email, EMAIL_MAX)
        result.failed.append((manager.id, address, f"unusable manager address: {exc}"))
        return
    try:
        with session.begin_nested():
            session.execute(
                insert(ReminderDigest).values(
                    run_id=run_id, manager_id=manager.id, sent_at=now, reports=len(reports)
                )
            )
            queue_mail(session, message, kind="digest")
    except IntegrityError:
        return
    result.sent += 1
