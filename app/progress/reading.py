"""A learner's way through a course: which version they are on, and what they have read.

A learner who has started a course is pinned to that version and stays on it when a newer one
is published; one who has not started sees the newest. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.content.versions import newest_version, newest_versions
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.models import (
    Course,
    CourseVersion,
    Enrollment,
    Module,
    ModuleProgress,
    User,
    Visibility,
)
from app.progress.completion import all_modules_read, complete_course, read_in_cycle

# Time on a page longer than this is not counted as reading (the tab was left open).
MAX_COUNTED_SECONDS = 4 * 3600


class TooEarly(DomainError):
    """The module asks for more reading time before it can be marked as read."""

    status = 409

    def __init__(self, module: Module, remaining: timedelta) -> None:
        seconds = max(1, int(remaining.total_seconds()))
        minutes, rest = divmod(seconds, 60)
        wait = f"{minutes} min {rest} s" if minutes else f"{rest} s"
        super().__init__(
            f"This module asks for at least {module.min_minutes} minutes of reading. "
            f"You can mark it as read in {wait}."
        )
        self.remaining = remaining


@dataclass(frozen=True)
class CourseCard:
    """What a dashboard shows of one course for one learner."""

    slug: str
    title: str
    summary: str
    estimated_minutes: int
    version_number: int
    modules_total: int
    modules_read: int
    assigned: bool
    due_at: datetime | None
    started: bool
    completed_at: datetime | None = None

    @property
    def status(self) -> str:
        if self.completed_at is not None:
            return "Completed"
        return "In progress" if self.started else "Not started"

    @property
    def percent(self) -> int:
        return self.modules_read * 100 // self.modules_total if self.modules_total else 0


def list_course_cards(session: Session, user: User) -> list[CourseCard]:
    """Every course the user can take, assigned first (by due date), with their progress."""
    enrollments = {
        e.course_id: e
        for e in session.scalars(select(Enrollment).where(Enrollment.user_id == user.id))
    }
    visibility = dict(session.execute(select(Course.id, Course.visibility)).all())
    versions = {
        v.course_id: v
        for v in session.scalars(newest_versions())
        if _may_see(visibility[v.course_id], enrollments.get(v.course_id))
    }
    for enrollment in enrollments.values():
        if enrollment.version is not None:
            versions[enrollment.course_id] = enrollment.version
    if not versions:
        return []
    version_ids = [v.id for v in versions.values()]
    totals = dict(
        session.execute(
            select(Module.version_id, func.count())
            .where(Module.version_id.in_(version_ids))
            .group_by(Module.version_id)
        ).all()
    )
    course_of = {v.id: course_id for course_id, v in versions.items()}
    read: dict[int, int] = {}
    for version_id, completed_at in session.execute(
        select(Module.version_id, ModuleProgress.completed_at)
        .join(ModuleProgress, ModuleProgress.module_id == Module.id)
        .where(
            Module.version_id.in_(version_ids),
            ModuleProgress.user_id == user.id,
            ModuleProgress.completed_at.is_not(None),
        )
    ):
        reader = enrollments.get(course_of[version_id])
        start = reader.started_at if reader else None
        # reads of earlier cycles do not count
        if start is not None and completed_at is not None and completed_at >= start:
            read[version_id] = read.get(version_id, 0) + 1
    slugs = dict(
        session.execute(select(Course.id, Course.slug).where(Course.id.in_(list(versions)))).all()
    )
    cards = []
    for course_id, version in versions.items():
        taken = enrollments.get(course_id)
        cards.append(
            CourseCard(
                slug=slugs[course_id],
                title=version.title,
                summary=version.summary,
                estimated_minutes=version.estimated_minutes,
                version_number=version.number,
                modules_total=totals.get(version.id, 0),
                modules_read=read.get(version.id, 0),
                assigned=taken is not None and taken.assigned_at is not None,
                due_at=taken.due_at if taken else None,
                started=taken is not None and taken.version_id is not None,
                completed_at=taken.completed_at if taken else None,
            )
        )
    far_future = datetime.max.replace(tzinfo=utcnow().tzinfo)
    cards.sort(key=lambda c: (not c.assigned, c.due_at or far_future, c.title))
    return cards


def find_course(session: Session, slug: str) -> Course:
    """The course ``slug``; NotFound if there is none."""
    course = session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        raise NotFound("There is no such course.")
    return course


def find_enrollment(session: Session, user: User, course: Course) -> Enrollment | None:
    """The user's enrollment on the course, or None."""
    return session.scalar(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )


def _may_see(visibility: Visibility, enrollment: Enrollment | None) -> bool:
    """Whether a learner sees a course: a listed one always; a hidden one when assigned or
    started; a retired one only to finish or keep what they started (no new starts)."""
    if visibility is Visibility.LISTED:
        return True
    if enrollment is None:
        return False
    if visibility is Visibility.RETIRED:
        return enrollment.version_id is not None or enrollment.completed_at is not None
    return True


def current_version(session: Session, user: User, course: Course) -> CourseVersion:
    """The version ``user`` reads: the one they started, else the newest (NotFound when the
    course is hidden from them, or retired before they started it)."""
    enrollment = find_enrollment(session, user, course)
    if not _may_see(course.visibility, enrollment):
        if course.visibility is Visibility.RETIRED:
            raise NotFound("This course is retired: it takes no new learners.")
        raise NotFound("There is no such course.")
    if enrollment is not None and enrollment.version is not None:
        return enrollment.version
    version = newest_version(session, course.id)
    if version is None:
        raise NotFound("There is no such course.")
    return version


def find_module(session: Session, user: User, slug: str, number: int, stem: str) -> Module:
    """The module ``stem`` of version ``number``, if that is the version ``user`` reads."""
    version = current_version(session, user, find_course(session, slug))
    if version.number != number:
        raise NotFound("That version of the course is not the one you are on.")
    module = session.scalar(
        select(Module).where(Module.version_id == version.id, Module.stem == stem)
    )
    if module is None:
        raise NotFound("There is no such module.")
    return module


def progress_by_module(
    session: Session, user: User, version: CourseVersion
) -> dict[int, ModuleProgress]:
    """The user's reads of each module of ``version`` in the current cycle, by module id."""
    enrollment = find_enrollment(session, user, version.course)
    rows = session.scalars(
        select(ModuleProgress)
        .join(Module)
        .where(
            Module.version_id == version.id,
            ModuleProgress.user_id == user.id,
            read_in_cycle(enrollment),
        )
    )
    return {p.module_id: p for p in rows}


def _get_or_create(session: Session, find: Callable[[], object | None], make: Callable[[], object]):
    # Two requests at once may both miss and both insert; the unique constraint lets one win
    # and the other takes the winner's row.
    existing = find()
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            created = make()
            session.add(created)
        return created
    except IntegrityError:
        return find()


def mark_read(
    session: Session, user: User, module: Module, opened_at: datetime, now: datetime | None = None
) -> ModuleProgress:
    """Record that ``user`` finished reading ``module``; starting the course pins its version."""
    now = now or utcnow()
    opened_at = min(opened_at, now)
    spent = now - opened_at
    required = timedelta(minutes=module.min_minutes)
    version = module.version
    enrollment = _get_or_create(
        session,
        lambda: find_enrollment(session, user, version.course),
        lambda: Enrollment(user_id=user.id, course_id=version.course_id),
    )
    if enrollment.version_id is None:
        enrollment.version_id = version.id
        enrollment.started_at = now
    elif enrollment.version_id != version.id:
        raise NotFound("That version of the course is not the one you are on.")
    progress = _get_or_create(
        session,
        lambda: session.scalar(
            select(ModuleProgress).where(
                ModuleProgress.user_id == user.id, ModuleProgress.module_id == module.id
            )
        ),
        lambda: ModuleProgress(user_id=user.id, module_id=module.id, first_opened_at=opened_at),
    )
    if progress.completed_at is not None and (
        enrollment.started_at is None or progress.completed_at >= enrollment.started_at
    ):
        return progress  # already read in this cycle
    if spent < required:
        raise TooEarly(module, required - spent)
    if progress.completed_at is None:
        progress.first_opened_at = min(progress.first_opened_at, opened_at)
    progress.completed_at = now
    progress.seconds_spent = min(int(spent.total_seconds()), MAX_COUNTED_SECONDS)
    session.flush()
    if version.quiz is None and all_modules_read(session, user, version.id, enrollment):
        complete_course(session, user, enrollment)  # no assessment: reading completes it
    return progress
