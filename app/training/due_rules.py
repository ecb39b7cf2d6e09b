"""Changing an assignment's due rule (a fixed date, or N days after each person is assigned),
with its history kept: the change is audited with the rule before and after, and the
assignment's page lists every audited event about it.

Who follows the new rule: the people whose open enrollment the assignment governs and whose
due date is still the one the old rule gave them. A date HR set for one person (a later due
date, with its reason) and the grace a late joiner got stay as they are, and are counted.
Earlier or later: HR changes the rule on purpose, so the date moves either way. A new due
date starts the reminder cadence again (``app.training.cadence``). Callers own the
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.models import Assignment, AuditEvent, Enrollment, User
from app.training.assignments import _check_due, end_of_day

_enrollments = cast(Table, Enrollment.__table__)
HISTORY_MAX = 200  # events an assignment's page lists


@dataclass(frozen=True)
class DueChange:
    assignment: Assignment
    moved: int  # people whose due date follows the new rule
    kept: int  # people whose own due date (set by HR for them, or a joiner's grace) stays


def _rule_due(due_on: date | None, due_days: int | None, assigned_at: datetime | None):
    if due_on is not None:
        return end_of_day(due_on)
    if due_days is not None and assigned_at is not None:
        return assigned_at + timedelta(days=due_days)
    return None


def change_due_rule(
    session: Session,
    actor: User,
    assignment_id: int,
    *,
    due_on: date | None = None,
    due_days: int | None = None,
    now: datetime | None = None,
) -> DueChange:
    """Give assignment ``assignment_id`` a new due rule and move the due dates it gave."""
    now = now or utcnow()
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("There is no such assignment.")
    if not assignment.active:
        raise DomainError("This assignment is cancelled: its due rule cannot change.", status=409)
    _check_due(due_on, due_days, now)
    if (assignment.due_on, assignment.due_days) == (due_on, due_days):
        raise DomainError("That is the due rule the assignment already has.")
    before = (assignment.due_on, assignment.due_days)
    e = _enrollments.c
    rows = session.execute(
        select(e.id, e.assigned_at, e.due_at).where(
            e.assignment_id == assignment.id, e.completed_at.is_(None)
        )
    ).all()
    moves: list[dict] = []
    kept = 0
    for enrollment_id, assigned_at, due_at in rows:
        if due_at is None or due_at != _rule_due(*before, assigned_at):
            kept += 1  # HR set this person's date, or they joined late: theirs stays
            continue
        new = _rule_due(due_on, due_days, assigned_at)
        if new != due_at:
            moves.append({"eid": enrollment_id, "due": new})
    if moves:
        # One executemany: each person's new date (N days after their own assignment).
        session.execute(
            update(_enrollments)
            .where(e.id == bindparam("eid"), e.completed_at.is_(None))
            .values(due_at=bindparam("due")),
            moves,
        )
    assignment.due_on, assignment.due_days = due_on, due_days
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Enrollment):
            session.expire(obj)
    record(
        session,
        "assignment.due_changed",
        actor=actor,
        subject=assignment,
        due_on_before=before[0].isoformat() if before[0] else None,
        due_days_before=before[1],
        due_on=due_on.isoformat() if due_on else None,
        due_days=due_days,
        moved=len(moves),
        kept=kept,
    )
    return DueChange(assignment, len(moves), kept)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    action: str
    actor: str | None
    details: dict


def assignment_history(session: Session, assignment_id: int) -> list[HistoryLine]:
    """Every audited event about an assignment, oldest first (created, due rule changed,
    cancelled), with who did it."""
    rows = session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.subject_type == Assignment.__tablename__,
            AuditEvent.subject_id == str(assignment_id),
        )
        .order_by(AuditEvent.id)
        .limit(HISTORY_MAX)
    ).all()
    return [
        HistoryLine(event.occurred_at, event.action, name, event.details) for event, name in rows
    ]
