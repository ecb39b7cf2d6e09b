"""What a learner who must retrain is told: the new version's release notes and which
modules are new, changed or gone since the version they completed. Read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
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


def retraining_notice(session: Session, user: User, course: Course) -> RetrainingNotice | None:
    """The notice for a learner on a new cycle after completing an older version, or None."""
    enrollment = session.scalar(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )
    if enrollment is None or enrollment.cycle < 2 or enrollment.completed_at is not None:
        return None
    last = session.scalar(
        select(Completion)
        .where(Completion.user_id == user.id, Completion.course_id == course.id)
        .order_by(Completion.completed_at.desc(), Completion.id.desc())
        .limit(1)
    )
    current = enrollment.version or newest_version(session, course.id)
    if last is None or current is None or current.number <= last.version.number:
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
