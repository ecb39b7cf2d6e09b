"""A learner's way through a course: which version they are on, and what they have read.

A learner who has started a course is pinned to that version and stays on it when a newer one
is published; one who has not started sees the newest. Callers own the transaction.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Executable, Row, Select, bindparam, func, join, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.util.typing import TupleAny

from app.content.published import PublishedModule, PublishedVersion, published_version
from app.content.versions import newest_version
from app.db import connection_of, utcnow
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
from app.progress.completion import all_modules_read, complete_course, read_in_joined_cycle
from app.training.changes import asks_to_retrain, last_completed_numbers
from app.training.status import Status, StatusFacts, course_status, facts_of

# Time on a page longer than this is not counted as reading (the tab was left open).
MAX_COUNTED_SECONDS = 4 * 3600


class TooEarly(DomainError):
    """The module asks for more reading time before it can be marked as read."""

    status = 409

    def __init__(self, module: Module, remaining: timedelta, ready_at: datetime) -> None:
        super().__init__(
            f"This module asks for at least {module.min_minutes} minutes of reading. "
            f"You can mark it as read in {format_wait(remaining)}."
        )
        self.remaining = remaining
        self.ready_at = ready_at


def format_wait(remaining: timedelta) -> str:
    """Time still to wait as people read it: "4 min 10 s", "35 s" (at least 1 s)."""
    seconds = max(1, math.ceil(remaining.total_seconds()))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


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
    facts: StatusFacts = StatusFacts()  # of the current cycle, for the one status rule
    retrain: bool = False  # a material new version asks the learner to retrain

    def training_status(self, now: datetime) -> Status:
        """Where the learner stands on the course (``training.status``, the one rule)."""
        return course_status(self.facts, now)

    @property
    def status(self) -> str:
        if self.completed_at is not None:
            return "Completed"
        return "In progress" if self.started else "Not started"

    @property
    def percent(self) -> int:
        return self.modules_read * 100 // self.modules_total if self.modules_total else 0


def list_course_cards(bind: Session | Connection, user: User) -> list[CourseCard]:
    """Every course the user can take, assigned first (by due date), with their progress: one
    statement for the courses, their enrolments, the versions they read and how many modules
    of each they read in this cycle (and one for the versions last completed, for a learner on
    a later cycle); the versions themselves from the process's cache."""
    rows = [
        row
        for row in connection_of(bind).execute(_dashboard_query(), {"user_id": user.id})
        if row.reads_id is not None
        and _may_see(row.visibility, row if row.enrollment_id is not None else None)
    ]
    if not rows:
        return []
    versions = {
        row.course_id: published_version(bind, row.reads_id, row.content_hash) for row in rows
    }
    last = last_completed_numbers(
        bind, user.id, [r.course_id for r in rows if r.enrollment_id is not None and r.cycle > 1]
    )
    cards = []
    for row in rows:
        version = versions[row.course_id]
        taken = row if row.enrollment_id is not None else None
        cards.append(
            CourseCard(
                slug=version.course.slug,
                title=version.title,
                summary=version.summary,
                estimated_minutes=version.estimated_minutes,
                version_number=version.number,
                modules_total=len(version.modules),
                modules_read=row.modules_read,
                assigned=taken is not None and taken.assigned_at is not None,
                due_at=taken.due_at if taken else None,
                started=taken is not None and taken.version_id is not None,
                completed_at=taken.completed_at if taken else None,
                facts=facts_of(taken) if taken else StatusFacts(),
                retrain=asks_to_retrain(taken, version.number, last.get(row.course_id)),
            )
        )
    far_future = datetime.max.replace(tzinfo=utcnow().tzinfo)
    cards.sort(key=lambda c: (not c.assigned, c.due_at or far_future, c.title))
    return cards


@functools.cache
def _cards_query() -> Select[*TupleAny]:
    """Every course, with ``:user_id``'s enrolment on it and the version they read there (the
    one they started, else the newest), a row each."""
    later = aliased(CourseVersion)
    newest = (
        select(later.id)
        .where(later.course_id == Course.id)
        .order_by(later.number.desc())
        .limit(1)
        .correlate(Course)
        .scalar_subquery()
    )
    enrolled = (Enrollment.course_id == Course.id) & (Enrollment.user_id == bindparam("user_id"))
    return (
        select(
            Course.id.label("course_id"),
            Course.visibility,
            Enrollment.id.label("enrollment_id"),
            Enrollment.version_id,
            Enrollment.cycle,
            Enrollment.extra_attempts,
            Enrollment.assigned_at,
            Enrollment.due_at,
            Enrollment.started_at,
            Enrollment.completed_at,
            Enrollment.expires_at,
            Enrollment.revoked_at,
            CourseVersion.id.label("reads_id"),
            CourseVersion.content_hash,
        )
        .select_from(Course)
        .outerjoin(Enrollment, enrolled)
        .outerjoin(CourseVersion, CourseVersion.id == func.coalesce(Enrollment.version_id, newest))
    )


@functools.cache
def _dashboard_query() -> Executable:
    """``_cards_query`` with, on each row, how many modules of the version it names
    ``:user_id`` has read in the current cycle (``modules_read``, by
    ``completion.read_in_joined_cycle``)."""
    modules_read = (
        select(func.count())
        .select_from(ModuleProgress)
        .join(Module, Module.id == ModuleProgress.module_id)
        .where(
            Module.version_id == CourseVersion.id,
            ModuleProgress.user_id == bindparam("user_id"),
            read_in_joined_cycle(),
        )
        .correlate(CourseVersion, Enrollment)
        .scalar_subquery()
    )
    return _cards_query().add_columns(modules_read.label("modules_read"))


def find_course(session: Session, slug: str) -> Course:
    """The course ``slug``; NotFound if there is none."""
    course = session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        raise NotFound("There is no such course.")
    return course


@functools.cache
def _enrollment_query() -> Select:
    return select(Enrollment).where(
        Enrollment.user_id == bindparam("user_id"), Enrollment.course_id == bindparam("course_id")
    )


def find_enrollment(session: Session, user: User, course: Course) -> Enrollment | None:
    """The user's enrollment on the course, or None."""
    return session.scalar(_enrollment_query(), {"user_id": user.id, "course_id": course.id})


class _Enrolled(Protocol):
    @property
    def version_id(self) -> int | None: ...
    @property
    def completed_at(self) -> datetime | None: ...


def _may_see(visibility: Visibility, enrollment: _Enrolled | None) -> bool:
    """Whether a learner sees a course: a listed one always; a hidden one when assigned or
    started; a retired one only to finish or keep what they started (no new starts)."""
    if visibility is Visibility.LISTED:
        return True
    if enrollment is None:
        return False
    if visibility is Visibility.RETIRED:
        return enrollment.version_id is not None or enrollment.completed_at is not None
    return True


def _check_may_see(visibility: Visibility, enrollment: _Enrolled | None) -> None:
    """NotFound, saying why, unless a learner with ``enrollment`` sees the course."""
    if not _may_see(visibility, enrollment):
        if visibility is Visibility.RETIRED:
            raise NotFound("This course is retired: it takes no new learners.")
        raise NotFound("There is no such course.")


def current_version(session: Session, user: User, course: Course) -> CourseVersion:
    """The version ``user`` reads: the one they started, else the newest (NotFound when the
    course is hidden from them, or retired before they started it)."""
    enrollment = find_enrollment(session, user, course)
    _check_may_see(course.visibility, enrollment)
    if enrollment is not None and enrollment.version is not None:
        return enrollment.version
    version = newest_version(session, course.id)
    if version is None:
        raise NotFound("There is no such course.")
    return version


def find_module(session: Session, user: User, slug: str, number: int, stem: str) -> Module:
    """The module ``stem`` of version ``number``, if that is the version ``user`` reads."""
    course = find_course(session, slug)
    version = current_version(session, user, course)
    if version.number != number:
        raise NotFound("That version of the course is not the one you are on.")
    module = next((m for m in version.modules if m.stem == stem), None)
    if module is None:
        raise NotFound("There is no such module.")
    # The session holds loaded rows weakly: tie the ones the page reads to the module, or
    # each would be read again once this function returns (course, version, its modules).
    set_committed_value(version, "course", course)
    set_committed_value(module, "version", version)
    return module


@dataclass(frozen=True)
class ModulePage:
    """What a learner's module page shows: the module of the version they read, whether they
    read it in this cycle, and what the reading clock counts from."""

    version: PublishedVersion
    module: PublishedModule
    read_at: datetime | None  # when they read it in the current cycle; None if not yet
    kept_opening: datetime | None  # the opening an early "Mark as read" stored
    last_finished: datetime | None  # their last module finished in this cycle (another one)

    @property
    def previous(self) -> PublishedModule | None:
        index = self.version.modules.index(self.module)
        return self.version.modules[index - 1] if index > 0 else None

    @property
    def following(self) -> PublishedModule | None:
        index = self.version.modules.index(self.module)
        return self.version.modules[index + 1] if index + 1 < len(self.version.modules) else None

    def clock(self, opened_at: datetime, now: datetime | None = None) -> ReadingClock:
        return _clock_of(
            self.module.min_minutes, self.kept_opening, opened_at, self.last_finished,
            now or utcnow(),
        )  # fmt: skip


@functools.cache
def _reader_query() -> Executable:
    """The row of ``_cards_query`` of the course ``:slug`` with a read of ``:user_id``'s (any
    cycle's) of a module of the version it names: a row for each such read, or one row
    without a read when there is none. The course, the enrolment, the version and the reads
    in one statement: a round trip fewer on every page of a course."""
    reads = join(ModuleProgress, Module, Module.id == ModuleProgress.module_id)
    return (
        _cards_query()
        .add_columns(
            ModuleProgress.module_id.label("read_module_id"),
            ModuleProgress.first_opened_at.label("read_opened_at"),
            ModuleProgress.completed_at.label("read_completed_at"),
        )
        .outerjoin(
            reads,
            (Module.version_id == CourseVersion.id)
            & (ModuleProgress.user_id == bindparam("user_id")),
        )
        .where(Course.slug == bindparam("slug"))
    )


@dataclass(frozen=True)
class ModuleRead:
    """A learner's read of one module, as stored (any cycle's)."""

    module_id: int
    first_opened_at: datetime
    completed_at: datetime | None


def module_page(
    bind: Session | Connection, user_id: int, slug: str, number: int, stem: str
) -> ModulePage:
    """The module ``stem`` of version ``number`` of course ``slug`` as ``user_id`` reads it,
    in one statement: the course, their enrolment, the version they read (the one they
    started, else the newest) and their reads of its modules. The version's modules come
    from the process's cache. The rules of ``find_module`` and ``read_in_cycle``."""
    # Core execution (the connection's): rows, not objects, and none of the ORM's bookkeeping.
    row, reads = reader_row_and_reads(bind, user_id, slug)
    version = published_version(bind, row.reads_id, row.content_hash)
    if version.number != number:
        raise NotFound("That version of the course is not the one you are on.")
    module = version.module(stem)
    if module is None:
        raise NotFound("There is no such module.")
    in_cycle = reads_in_cycle(reads, row)
    mine = next((r for r in reads if r.module_id == module.id), None)
    others = [at for module_id, at in in_cycle.items() if module_id != module.id]
    started = row.started_at if row.enrollment_id is not None else None
    return ModulePage(
        version=version,
        module=module,
        read_at=in_cycle.get(module.id),
        kept_opening=_kept_opening(mine),
        last_finished=max(others) if others and started is not None else None,
    )


def reader_row_and_reads(
    bind: Session | Connection, user_id: int, slug: str
) -> tuple[Row[TupleAny], list[ModuleRead]]:
    """The row of ``_cards_query`` of the course ``slug`` for ``user_id``, and their reads of
    the modules of the version it names, any cycle's (NotFound when the course is hidden from
    them, retired before they started it, or has no version). One statement."""
    rows = connection_of(bind).execute(_reader_query(), {"slug": slug, "user_id": user_id}).all()
    if not rows:
        raise NotFound("There is no such course.")
    row = rows[0]
    _check_may_see(row.visibility, row if row.enrollment_id is not None else None)
    if row.reads_id is None:
        raise NotFound("There is no such course.")
    reads = [
        ModuleRead(r.read_module_id, r.read_opened_at, r.read_completed_at)
        for r in rows
        if r.read_module_id is not None
    ]
    return row, reads


def reads_in_cycle(reads: Iterable[ModuleRead], row: Row[TupleAny]) -> dict[int, datetime]:
    """When each module was read in the current cycle of ``row`` (a ``_reader_query`` row),
    by module id: ``read_in_cycle``'s rule, in Python."""
    started = row.started_at if row.enrollment_id is not None else None
    return {
        r.module_id: r.completed_at
        for r in reads
        if r.completed_at is not None
        and (row.enrollment_id is None or (started is not None and r.completed_at >= started))
    }


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


@dataclass(frozen=True)
class ReadingClock:
    """How a module's reading time stands: it runs from ``counted_from``, the later of the
    module's opening and the learner's last finished module of the course."""

    required: timedelta
    opened_at: datetime  # the earliest opening known: stored, signed in the page, or now
    counted_from: datetime
    now: datetime

    @property
    def spent(self) -> timedelta:
        return max(self.now - self.counted_from, timedelta(0))

    @property
    def remaining(self) -> timedelta:
        """Reading time still to go (zero when the module may be marked as read)."""
        return max(self.required - self.spent, timedelta(0))

    @property
    def ready_at(self) -> datetime:
        """The moment the module may be marked as read."""
        return self.counted_from + self.required


def _read_in_this_cycle(progress: ModuleProgress | None, enrollment: Enrollment | None) -> bool:
    return (
        progress is not None
        and progress.completed_at is not None
        and enrollment is not None
        and enrollment.started_at is not None
        and progress.completed_at >= enrollment.started_at
    )


class _Read(Protocol):
    @property
    def first_opened_at(self) -> datetime: ...
    @property
    def completed_at(self) -> datetime | None: ...


def _kept_opening(progress: _Read | None) -> datetime | None:
    """The opening stored for the read in progress; None when the row only records a read
    already finished (an earlier cycle's), whose opening no longer counts."""
    if progress is None:
        return None
    if progress.completed_at is not None and progress.first_opened_at <= progress.completed_at:
        return None
    return progress.first_opened_at


@functools.cache
def _progress_query() -> Select:
    return select(ModuleProgress).where(
        ModuleProgress.user_id == bindparam("user_id"),
        ModuleProgress.module_id == bindparam("module_id"),
    )


def _find_progress(session: Session, user: User, module: Module) -> ModuleProgress | None:
    return session.scalar(_progress_query(), {"user_id": user.id, "module_id": module.id})


@functools.cache
def _last_finished_query() -> Select:
    """When the learner last finished another module of the version in the cycle begun at
    ``:started_at``."""
    return (
        select(func.max(ModuleProgress.completed_at))
        .join(Module, Module.id == ModuleProgress.module_id)
        .where(
            ModuleProgress.user_id == bindparam("user_id"),
            Module.version_id == bindparam("version_id"),
            ModuleProgress.module_id != bindparam("module_id"),
            ModuleProgress.completed_at
            >= bindparam("started_at", type_=ModuleProgress.__table__.c.completed_at.type),
        )
    )


def _clock(
    session: Session,
    user: User,
    module: Module,
    enrollment: Enrollment | None,
    progress: ModuleProgress | None,
    opened_at: datetime,
    now: datetime,
) -> ReadingClock:
    last_finished = None
    if enrollment is not None and enrollment.started_at is not None:
        last_finished = session.scalar(
            _last_finished_query(),
            {
                "user_id": user.id,
                "version_id": module.version_id,
                "module_id": module.id,
                "started_at": enrollment.started_at,
            },
        )
    return _clock_of(module.min_minutes, _kept_opening(progress), opened_at, last_finished, now)


def _clock_of(
    min_minutes: int,
    kept: datetime | None,
    opened_at: datetime,
    last_finished: datetime | None,
    now: datetime,
) -> ReadingClock:
    """The clock from what is known: the opening stored (``kept``) or this one, whichever is
    earlier, counted from the last module finished if that came later."""
    opening = min(opened_at, now, *((kept,) if kept is not None else ()))
    counted_from = max(opening, last_finished) if last_finished is not None else opening
    return ReadingClock(timedelta(minutes=min_minutes), opening, counted_from, now)


def mark_read(
    session: Session, user: User, module: Module, opened_at: datetime, now: datetime | None = None
) -> ModuleProgress:
    """Record that ``user`` finished reading ``module``; starting the course pins its version.

    Reading time is counted once: a module's time runs from when it was first opened or from
    when the learner last finished another module of the course, whichever is later, so
    modules opened side by side in several tabs do not each count the same minutes.

    Too early: the opening is kept (flushed, for the caller to commit) and ``TooEarly`` is
    raised, so a click before the time is up never restarts the clock.
    """
    now = now or utcnow()
    version = module.version
    enrollment = find_enrollment(session, user, version.course)
    if enrollment is not None:
        _lock(session, enrollment)
        if enrollment.version_id is not None and enrollment.version_id != version.id:
            raise NotFound("That version of the course is not the one you are on.")
    progress = _find_progress(session, user, module)
    if progress is not None and _read_in_this_cycle(progress, enrollment):
        return progress
    clock = _clock(session, user, module, enrollment, progress, opened_at, now)
    progress = _get_or_create(
        session,
        lambda: _find_progress(session, user, module),
        lambda: ModuleProgress(
            user_id=user.id, module_id=module.id, first_opened_at=clock.opened_at
        ),
    )
    progress.first_opened_at = clock.opened_at  # the earliest opening of this read
    if clock.remaining:
        session.flush()
        raise TooEarly(module, clock.remaining, clock.ready_at)
    if enrollment is None:
        enrollment = _get_or_create(
            session,
            lambda: find_enrollment(session, user, version.course),
            lambda: Enrollment(user_id=user.id, course_id=version.course_id),
        )
        _lock(session, enrollment)
    if enrollment.version_id is None:
        enrollment.version_id = version.id
        enrollment.started_at = now
    elif enrollment.version_id != version.id:
        raise NotFound("That version of the course is not the one you are on.")
    progress.completed_at = now
    progress.seconds_spent = min(int(clock.spent.total_seconds()), MAX_COUNTED_SECONDS)
    session.flush()
    if version.quiz is None and all_modules_read(session, user, version.id, enrollment):
        complete_course(session, user, enrollment)  # no assessment: reading completes it
    return progress


def _lock(session: Session, enrollment: Enrollment) -> None:
    # One reader of a course at a time (PostgreSQL row lock; SQLite has one writer anyway):
    # two modules marked read at the same moment are counted one after the other.
    session.execute(_lock_query(), {"enrollment_id": enrollment.id})
    session.refresh(enrollment)


@functools.cache
def _lock_query() -> Select:
    return (
        select(Enrollment.id).where(Enrollment.id == bindparam("enrollment_id")).with_for_update()
    )
