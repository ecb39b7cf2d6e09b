"""Helping a person who is stuck: HR grants one more attempt, or a later due date, on one
person's course, with a reason; and a revoked certificate reopens the cycle it completed.

Each is one guarded UPDATE on the enrollment and one audit event (ids and the reason, which
HR wrote for the record). Callers own the transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final, cast

from sqlalchemy import ColumnElement, Table, or_, select, update
from sqlalchemy.orm import Session

from app.audit.events import record
from app.certificates.service import revoke_certificate
from app.db import rowcount, utcnow
from app.errors import DomainError, NotFound
from app.fields import NOTE_MAX, sentence, text_problem
from app.models import Certificate, Completion, Enrollment, User
from app.training.assignments import GRACE_DAYS, MAX_DUE_DAYS, check_due_on, end_of_day
from app.training.cycles import NEW_CYCLE

MAX_EXTRA_ATTEMPTS: Final = 20  # per cycle: a limit a typing slip cannot get past
REASON_MAX: Final = NOTE_MAX

_enrollments = cast(Table, Enrollment.__table__)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if problem := text_problem("reason", reason, REASON_MAX, multiline=True):
        raise DomainError(sentence(problem))
    return reason


def find_course_enrollment(session: Session, user_id: int, course_id: int) -> Enrollment:
    """The person's enrollment on the course; NotFound if they are not on it."""
    enrollment = session.scalar(
        select(Enrollment).where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)
    )
    if enrollment is None:
        raise NotFound("This person is not on that course.")
    return enrollment


def _update_open_cycle(
    session: Session, enrollment: Enrollment, values: dict, *conditions: ColumnElement[bool]
) -> None:
    """One UPDATE on the enrollment's cycle as it was read, still open, and ``conditions``
    still true; a 409 when another request changed it meanwhile (a completion, a renewal, a
    revocation, or HR on another tab), so nothing is audited that did not happen."""
    changed = rowcount(
        session.execute(
            update(_enrollments)
            .where(
                _enrollments.c.id == enrollment.id,
                _enrollments.c.cycle == enrollment.cycle,
                _enrollments.c.completed_at.is_(None),
                *conditions,
            )
            .values(**values)
        )
    )
    session.refresh(enrollment)
    if changed != 1:
        raise DomainError(
            "This person's course changed while you were on this page. Nothing was changed: "
            "reload the page to see where they are now.",
            status=409,
        )


def grant_extra_attempt(
    session: Session, actor: User, enrollment: Enrollment, reason: str
) -> Enrollment:
    """One more attempt at the assessment in the person's current cycle."""
    reason = _reason(reason)
    if enrollment.completed_at is not None:
        raise DomainError("This course is completed: there is nothing to retake.", status=409)
    if enrollment.extra_attempts >= MAX_EXTRA_ATTEMPTS:
        raise DomainError(
            f"This person already has {MAX_EXTRA_ATTEMPTS} extra attempts in this cycle.",
            status=409,
        )
    _update_open_cycle(
        session,
        enrollment,
        {"extra_attempts": _enrollments.c.extra_attempts + 1},
        _enrollments.c.extra_attempts < MAX_EXTRA_ATTEMPTS,
    )
    record(
        session,
        "enrollment.extra_attempt_granted",
        actor=actor,
        subject=enrollment,
        user_id=enrollment.user_id,
        course_id=enrollment.course_id,
        cycle=enrollment.cycle,
        extra_attempts=enrollment.extra_attempts,
        reason=reason,
    )
    return enrollment


def extend_due_date(
    session: Session,
    actor: User,
    enrollment: Enrollment,
    due_on: date,
    reason: str,
    now: datetime | None = None,
) -> Enrollment:
    """Move the person's due date later, to the end of ``due_on`` (UTC)."""
    now = now or utcnow()
    reason = _reason(reason)
    check_due_on(due_on, now)
    if due_on > (now + timedelta(days=MAX_DUE_DAYS)).date():
        raise DomainError(f"The due date is more than {MAX_DUE_DAYS} days away.")
    if enrollment.completed_at is not None:
        raise DomainError("This course is completed: there is no due date to move.", status=409)
    due = end_of_day(due_on)
    before = enrollment.due_at
    if before is not None and due <= before:
        raise DomainError("Choose a date later than the current due date.")
    _update_open_cycle(
        session,
        enrollment,
        {"due_at": due},
        or_(_enrollments.c.due_at.is_(None), _enrollments.c.due_at < due),
    )
    record(
        session,
        "enrollment.due_date_extended",
        actor=actor,
        subject=enrollment,
        user_id=enrollment.user_id,
        course_id=enrollment.course_id,
        cycle=enrollment.cycle,
        due_before=before.isoformat() if before else None,
        due_at=due.isoformat(),
        reason=reason,
    )
    return enrollment


def revoke_and_reopen(
    session: Session,
    actor: User,
    certificate_id: int,
    reason: str,
    note: str = "",
    now: datetime | None = None,
) -> Certificate:
    """Revoke a certificate; if it is the one of the person's current cycle, that completion
    no longer counts: a new cycle starts, marked revoked, due in ``GRACE_DAYS`` days, and the
    person can take the course again."""
    now = now or utcnow()
    certificate = revoke_certificate(session, actor, certificate_id, reason, note)
    completion = session.get_one(Completion, certificate.completion_id)
    enrollment = session.get(Enrollment, completion.enrollment_id)
    if enrollment is None or enrollment.cycle != completion.cycle:
        return certificate  # an older cycle's certificate: the current one stands
    due = end_of_day((now + timedelta(days=GRACE_DAYS)).date())
    reopened = rowcount(
        session.execute(
            update(_enrollments)
            .where(_enrollments.c.id == enrollment.id, _enrollments.c.cycle == completion.cycle)
            .values(cycle=completion.cycle + 1, **{**NEW_CYCLE, "revoked_at": now}, due_at=due)
        )
    )
    session.refresh(enrollment)
    if reopened == 1:
        record(
            session,
            "enrollment.reopened",
            actor=actor,
            subject=enrollment,
            certificate_id=certificate.id,
            cycle=enrollment.cycle,
            due_at=due.isoformat(),
        )
    return certificate
