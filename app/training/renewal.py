"""Retraining and renewal: starting a new cycle for people who hold a completion.

``require_retraining`` puts everyone who completed an older version of a course on a new
cycle after a material change; ``start_renewal`` lets a holder renew a completion that is
due for renewal or expired. Callers own the transaction: these functions flush and never
commit; each cycle change is one guarded, set-based UPDATE.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from app.audit.events import record
from app.dates import format_date
from app.db import rowcount, utcnow
from app.errors import DomainError
from app.models import Course, CourseVersion, Enrollment, User, Visibility
from app.training.assignments import GRACE_DAYS, check_due_on, end_of_day
from app.training.cycles import NEW_CYCLE
from app.training.status import DUE_SOON_DAYS, Status, StatusFacts, course_status

_enrollments = cast(Table, Enrollment.__table__)  # set-based statements use the table


def require_retraining(
    session: Session, actor: User, version: CourseVersion, due_on: date, now: datetime | None = None
) -> int:
    """Start a new cycle for everyone whose current completion is of an older version."""
    now = now or utcnow()
    if not version.material:
        raise DomainError(
            f"Version {version.number} is not a material change: completions "
            "of earlier versions stay valid."
        )
    check_due_on(due_on, now)
    session.flush()
    older = select(CourseVersion.id).where(
        CourseVersion.course_id == version.course_id, CourseVersion.number < version.number
    )
    changed = rowcount(
        session.execute(
            update(_enrollments)
            .where(
                _enrollments.c.course_id == version.course_id,
                _enrollments.c.completed_at.is_not(None),
                _enrollments.c.version_id.in_(older.scalar_subquery()),
            )
            .values(
                cycle=_enrollments.c.cycle + 1,
                **NEW_CYCLE,
                due_at=end_of_day(due_on),
                assigned_at=now,
                assigned_by_id=actor.id,
            )
        )
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Enrollment) and obj.course_id == version.course_id:
            session.expire(obj)
    record(
        session,
        "course.retraining_required",
        actor=actor,
        subject=version,
        course_id=version.course_id,
        version_number=version.number,
        due_on=due_on.isoformat(),
        enrollments=changed,
    )
    return changed


def renewal_open(facts: StatusFacts, now: datetime, visibility: Visibility) -> bool:
    """Whether a holder may renew now: a completion due for renewal or expired, of a course
    that is not retired (a retired course takes no new cycle)."""
    return (
        visibility is not Visibility.RETIRED
        and facts.completed_at is not None
        and course_status(facts, now) in (Status.DUE_SOON, Status.EXPIRED)
    )


def start_renewal(
    session: Session, user: User, course: Course, now: datetime | None = None
) -> Enrollment:
    """Start a new cycle, on the newest version, for a completion due for renewal or expired."""
    now = now or utcnow()
    session.flush()
    enrollment = session.scalar(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )
    if enrollment is None or enrollment.completed_at is None:
        raise DomainError("You have no completion of this course to renew.", status=409)
    if course.visibility is Visibility.RETIRED:
        raise DomainError("This course is retired: it cannot be renewed.", status=409)
    # The enrollment holds its cycle's completion and expiry as completing set them.
    expires = enrollment.expires_at
    facts = StatusFacts(completed_at=enrollment.completed_at, expires_at=expires)
    if expires is None:
        raise DomainError("Your completion of this course does not expire.", status=409)
    if not renewal_open(facts, now, course.visibility):
        opens = expires - timedelta(days=DUE_SOON_DAYS)
        raise DomainError(
            f"Your completion expires on {format_date(expires)}; you can "
            f"renew it from {format_date(opens)}.",
            status=409,
        )
    # Due by the last moment the old completion is valid (the end of the day before expiry).
    due = expires - timedelta(seconds=1) if expires > now else now + timedelta(days=GRACE_DAYS)
    old_cycle = enrollment.cycle
    # Guarded by the cycle: of two renewals at once, one starts the cycle, the other no-ops.
    claimed = rowcount(
        session.execute(
            update(_enrollments)
            .where(
                _enrollments.c.id == enrollment.id,
                _enrollments.c.cycle == old_cycle,
                _enrollments.c.completed_at.is_not(None),
            )
            .values(cycle=old_cycle + 1, **NEW_CYCLE, due_at=due)
        )
    )
    session.refresh(enrollment)
    if claimed == 1:
        record(
            session,
            "course.renewal_started",
            actor=user,
            subject=enrollment,
            course_id=course.id,
            cycle=enrollment.cycle,
            due_at=due.isoformat(),
        )
    return enrollment
