"""An enrollment's current cycle as the database records it: the completion that counts and
how long the version completed stays valid. Read-only; shared by assigning, renewal and the
status matrix, so each reads a completion the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from app.models import Completion, CourseVersion, Enrollment, User

# What starting a new cycle clears on an enrollment (with ``cycle`` + 1 and a new due date):
# the version is chosen again, nothing is read or completed yet, and HR's grants and a
# revocation belonged to the cycle before. Every cycle change (renewal, retraining, an expired
# completion reassigned, a revocation) sets these values, so none forgets one.
NEW_CYCLE: Final = {
    "version_id": None,
    "started_at": None,
    "completed_at": None,
    "expires_at": None,
    "revoked_at": None,
    "extra_attempts": 0,
    "reminded_at": None,
    "reminded_deadline": None,
    "reminded_days_before": None,
}

# Ids per IN (...) list: far below SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 1000


def chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    """``ids`` in slices of at most ``CHUNK``, one IN (...) list each."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def recertify_months(session: Session, course_id: int | None = None) -> dict[int, int]:
    """Each version's months of validity (0: never expires), by version id."""
    query = select(CourseVersion.id, CourseVersion.recertify_months)
    if course_id is not None:
        query = query.where(CourseVersion.course_id == course_id)
    return {vid: months for vid, months in session.execute(query)}


def cycle_completions(
    session: Session, *criteria: ColumnElement[bool]
) -> dict[int, tuple[datetime, int]]:
    """The latest completion of each enrollment's current cycle: (completed_at, version_id),
    by enrollment id, for enrollments matching ``criteria`` (over Enrollment and User)."""
    rows = session.execute(
        select(Completion.enrollment_id, Completion.completed_at, Completion.version_id)
        .join(
            Enrollment,
            and_(Enrollment.id == Completion.enrollment_id, Enrollment.cycle == Completion.cycle),
        )
        .join(User, User.id == Enrollment.user_id)
        .where(*criteria)
        .order_by(Completion.id)
    )
    # Completions are append-only, a correction is a newer record: the last one wins.
    return {eid: (completed_at, vid) for eid, completed_at, vid in rows}
