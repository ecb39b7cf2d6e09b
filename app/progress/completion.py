"""Completing a course: recorded once per training cycle, bound to the version read.

Callers own the transaction.
"""

from __future__ import annotations

import functools

from sqlalchemy import Executable, bindparam, false, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.events import record
from app.certificates.service import certificate_issued, new_certificate
from app.dates import expiry_of
from app.db import rowcount, utcnow
from app.models import (
    Certificate,
    Completion,
    CourseVersion,
    Enrollment,
    Module,
    ModuleProgress,
    QuizAttempt,
    User,
)


def read_in_cycle(enrollment: Enrollment | None):
    """The condition for a module read counting in the enrollment's current training cycle:
    reads from an earlier cycle (before a renewal or retraining began) do not."""
    condition = ModuleProgress.completed_at.is_not(None)
    if enrollment is None:
        return condition  # reading starts an enrollment, so there are no reads to count
    if enrollment.started_at is None:
        return false()  # a new cycle not begun yet: every read there is belongs to an old one
    return condition & (ModuleProgress.completed_at >= enrollment.started_at)


def read_in_joined_cycle():
    """``read_in_cycle`` for a query that joins ``Enrollment`` (outer-joined, it may be
    missing): a read counts from the start of the enrolment's current cycle, and none counts
    before that start or without an enrolment (reading starts one)."""
    return ModuleProgress.completed_at >= Enrollment.started_at


def all_modules_read(
    session: Session, user: User, version_id: int, enrollment: Enrollment | None
) -> bool:
    """True when ``user`` has read every module of the version in the current cycle."""
    total = session.execute(
        select(func.count()).select_from(Module).where(Module.version_id == version_id)
    ).scalar_one()
    read = session.execute(
        select(func.count())
        .select_from(ModuleProgress)
        .join(Module)
        .where(
            Module.version_id == version_id,
            ModuleProgress.user_id == user.id,
            read_in_cycle(enrollment),
        )
    ).scalar_one()
    return total > 0 and read >= total


def complete_course(
    session: Session, user: User, enrollment: Enrollment, attempt: QuizAttempt | None = None
) -> Completion | None:
    """Record the completion of the learner's current cycle, once; None if already recorded."""
    now = utcnow()
    version = session.get_one(CourseVersion, enrollment.version_id)
    completed = {
        "completed_at": now,
        "expires_at": expiry_of(now, version.recertify_months),
        "revoked_at": None,
    }
    # The conditional UPDATE is the guard: of two requests completing at once, one changes the
    # row and records the completion, the other changes nothing.
    claimed = rowcount(
        session.execute(
            _completing_statement(),
            {
                "enrollment_id": enrollment.id,
                "enrollment_cycle": enrollment.cycle,
                "new_completed_at": completed["completed_at"],
                "new_expires_at": completed["expires_at"],
            },
        )
    )
    if claimed != 1:
        return None
    for column, value in completed.items():  # what the UPDATE wrote, without reading it back
        set_committed_value(enrollment, column, value)
    completion = Completion(
        user_id=user.id,
        course_id=enrollment.course_id,
        version_id=enrollment.version_id,
        enrollment_id=enrollment.id,
        cycle=enrollment.cycle,
        attempt_id=attempt.id if attempt is not None else None,
        completed_at=now,
        score=attempt.percent if attempt is not None else None,
    )
    # Never a completion without its certificate; this one is new, so none can exist yet.
    # Both are written by one flush (the certificate adds its completion to the session).
    certificate = new_certificate(session, completion)
    session.flush()
    record(
        session,
        "course.completed",
        actor=user,
        subject=completion,
        version_id=completion.version_id,
        attempt_id=completion.attempt_id,
        score=completion.score,
    )
    certificate_issued(session, certificate)
    return completion


@functools.cache
def _completing_statement() -> Executable:
    """The UPDATE that completes cycle ``:enrollment_cycle`` of ``:enrollment_id`` if it is
    not complete yet: built once (building it cost more than running it)."""
    columns = Enrollment.__table__.c
    return (
        update(Enrollment)
        .where(
            Enrollment.id == bindparam("enrollment_id"),
            Enrollment.cycle == bindparam("enrollment_cycle"),
            Enrollment.completed_at.is_(None),
        )
        .values(
            completed_at=bindparam("new_completed_at", type_=columns.completed_at.type),
            expires_at=bindparam("new_expires_at", type_=columns.expires_at.type),
            revoked_at=None,
        )
        .execution_options(synchronize_session=False)
    )


def certificate_of_attempt(session: Session, attempt: QuizAttempt) -> Certificate | None:
    """The certificate a passed attempt earned (through its completion), if any."""
    return session.scalar(
        select(Certificate)
        .join(Completion, Completion.id == Certificate.completion_id)
        .where(Completion.attempt_id == attempt.id)
    )
