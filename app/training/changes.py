"""What a learner who must retrain is told: the new version's release notes and which
modules are new, changed or gone since the version they completed. Read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.content.versions import newest_version
from app.models import Completion, Course, CourseVersion, Enrollment, Module, User


@dataclass
class RetrainingNotice:
    completed: CourseVersion  # the version the learner was trained on
    current: CourseVersion  # the version they must take now
    due_at: datetime | None
    new: list[str] = field(default_factory=list)  # module titles
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class _Cycle(Protocol):
    @property
    def cycle(self) -> int: ...
    @property
    def completed_at(self) -> datetime | None: ...


def asks_to_retrain(
    enrollment: _Cycle | None, current_number: int, last_completed: int | None
) -> bool:
    """True when a learner on a new cycle must take a newer version (``current_number``) than
    the one they last completed: a material new version asks them to retrain."""
    return (
        enrollment is not None
        and enrollment.cycle > 1
        and enrollment.completed_at is None
        and last_completed is not None
        and current_number > last_completed
    )


def last_completed_numbers(session: Session, user_id: int, course_ids: list[int]) -> dict[int, int]:
    """The number of the newest version the user completed, by course (one query)."""
    if not course_ids:
        return {}
    return dict(
        session.execute(
            select(Completion.course_id, func.max(CourseVersion.number))
            .join(CourseVersion, CourseVersion.id == Completion.version_id)
            .where(Completion.user_id == user_id, Completion.course_id.in_(course_ids))
            .group_by(Completion.course_id)
        ).all()
    )


def retraining_notice(session: Session, user: User, course: Course) -> RetrainingNotice | None:
    """The notice for a learner on a new cycle after completing an older version, or None."""
    enrollment = session.scalar(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )
    if enrollment is None or enrollment.cycle < 2 or enrollment.completed_at is not None:
        return None  # not on a new cycle: the rule below would say no anyway
    last = session.scalar(
        select(Completion)
        .where(Completion.user_id == user.id, Completion.course_id == course.id)
        .order_by(Completion.completed_at.desc(), Completion.id.desc())
        .limit(1)
    )
    current = enrollment.version or newest_version(session, course.id)
    if last is None or current is None:
        return None
    if not asks_to_retrain(enrollment, current.number, last.version.number):
        return None
    notice = RetrainingNotice(completed=last.version, current=current, due_at=enrollment.due_at)
    before = _modules(session, last.version)
    after = _modules(session, current)
    for stem, (title, source) in after.items():
        if stem not in before:
            notice.new.append(title)
        elif before[stem][1] != source:
            notice.changed.append(title)
    notice.removed = [title for stem, (title, _) in before.items() if stem not in after]
    return notice


def _modules(session: Session, version: CourseVersion) -> dict[str, tuple[str, str]]:
    rows = session.execute(
        select(Module.stem, Module.title, Module.source)
        .where(Module.version_id == version.id)
        .order_by(Module.position)
    )
    return {stem: (title, source) for stem, title, source in rows}
