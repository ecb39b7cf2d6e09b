"""What a learner who must retrain is told: the new version's release notes and which
modules are new, changed or gone since the version they completed. Read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from app.content.versions import newest_version
from app.models import Completion, Course, CourseVersion, Enrollment, Module, User


class _Version(Protocol):
    """A version as a notice shows it (a ``CourseVersion``, or the cache's ``PublishedVersion``)."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> int: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def release_notes(self) -> str: ...


class _Numbered(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def number(self) -> int: ...


@dataclass
class RetrainingNotice:
    completed: _Numbered  # the version the learner was trained on
    current: _Version  # the version they must take now
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


def last_completed_numbers(
    bind: Session | Connection, user_id: int, course_ids: list[int]
) -> dict[int, int]:
    """The number of the newest version the user completed, by course (one query)."""
    if not course_ids:
        return {}
    return dict(
        bind.execute(
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
    if enrollment is None:
        return None
    current = enrollment.version or newest_version(session, course.id)
    if current is None:
        return None
    return notice_of(session, user.id, course.id, enrollment, current)


class _Enrolled(_Cycle, Protocol):
    @property
    def due_at(self) -> datetime | None: ...


def notice_of(
    bind: Session | Connection,
    user_id: int,
    course_id: int,
    enrollment: _Enrolled,
    current: _Version,
) -> RetrainingNotice | None:
    """The notice for ``user_id``, whose enrolment on the course is ``enrollment`` and who
    reads ``current``, or None; no statement unless they are on a new cycle not yet completed,
    two when they are (the version last completed; the modules of both versions)."""
    if enrollment.cycle < 2 or enrollment.completed_at is not None:
        return None  # not on a new cycle: the rule below would say no anyway
    last = bind.execute(
        select(CourseVersion.id, CourseVersion.number)
        .join(Completion, Completion.version_id == CourseVersion.id)
        .where(Completion.user_id == user_id, Completion.course_id == course_id)
        .order_by(Completion.completed_at.desc(), Completion.id.desc())
        .limit(1)
    ).one_or_none()
    if last is None or not asks_to_retrain(enrollment, current.number, last.number):
        return None
    notice = RetrainingNotice(completed=last, current=current, due_at=enrollment.due_at)
    modules: dict[int, dict[str, tuple[str, str]]] = {last.id: {}, current.id: {}}
    for version_id, stem, title, source in bind.execute(
        select(Module.version_id, Module.stem, Module.title, Module.source)
        .where(Module.version_id.in_([last.id, current.id]))
        .order_by(Module.version_id, Module.position)
    ):
        modules[version_id][stem] = (title, source)
    before, after = modules[last.id], modules[current.id]
    for stem, (title, source) in after.items():
        if stem not in before:
            notice.new.append(title)
        elif before[stem][1] != source:
            notice.changed.append(title)
    notice.removed = [title for stem, (title, _) in before.items() if stem not in after]
    return notice
