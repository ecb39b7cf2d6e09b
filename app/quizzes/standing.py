"""The assessment's rules for a learner: its quiz, pass mark and attempt limits, and where the
learner stands on it (attempts used, whether they may start, retake or have completed).
Reads only; ``attempts`` starts, steps through and grades attempts on these rules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Executable, bindparam, select
from sqlalchemy.orm import Session

from app.content.published import published_quiz
from app.content.quiz import Quiz
from app.db import connection_of
from app.errors import NotFound
from app.models import (
    AttemptStatus,
    CourseVersion,
    Enrollment,
    QuizAttempt,
    User,
)
from app.progress.completion import all_modules_read
from app.progress.reading import find_enrollment


def quiz_of(version: CourseVersion) -> Quiz | None:
    """The version's quiz, or None if the course has no assessment: parsed once per process
    (``content.published``), so a page neither loads nor decodes the stored JSON again."""
    return published_quiz(version)


def require_quiz(version: CourseVersion) -> Quiz:
    """The version's quiz; NotFound if the course has no assessment."""
    quiz = quiz_of(version)
    if quiz is None:
        raise NotFound("This course has no assessment.")
    return quiz


class _Settings(Protocol):
    """What the assessment rules read of a version (a ``CourseVersion``, or the cache's
    ``PublishedVersion``)."""

    @property
    def id(self) -> int: ...
    @property
    def pass_mark(self) -> int: ...
    @property
    def max_attempts(self) -> int: ...


def pass_mark(version: _Settings, quiz: Quiz) -> int:
    """The percentage needed to pass: the quiz's own, else the course's."""
    return quiz.settings.pass_mark if quiz.settings.pass_mark is not None else version.pass_mark


def attempt_limit(version: _Settings, quiz: Quiz) -> int:
    """Attempts allowed per training cycle; 0 means unlimited."""
    if quiz.settings.max_attempts is not None:
        return quiz.settings.max_attempts
    return version.max_attempts


def cycle_limit(version: _Settings, quiz: Quiz, extra_attempts: int) -> int:
    """Attempts allowed in the enrollment's current cycle: the course's limit and those HR
    granted (``Enrollment.extra_attempts``); 0 means unlimited."""
    limit = attempt_limit(version, quiz)
    return limit + extra_attempts if limit else 0


def list_attempts(session: Session, enrollment: Enrollment) -> list[QuizAttempt]:
    """The attempts of the enrollment's current cycle, oldest first."""
    return list(
        session.scalars(
            select(QuizAttempt)
            .where(
                QuizAttempt.enrollment_id == enrollment.id, QuizAttempt.cycle == enrollment.cycle
            )
            .order_by(QuizAttempt.number)
        )
    )


@dataclass(frozen=True)
class AttemptSummary:
    """What a course page lists of an attempt (none of its plan, answers or result)."""

    id: int
    number: int
    status: AttemptStatus
    cycle: int
    percent: int | None
    passed: bool | None
    submitted_at: datetime | None


@functools.cache
def _summaries_query() -> Executable:
    """The attempts of enrolment ``:enrollment_id``'s cycle ``:cycle``, oldest first."""
    return (
        select(
            QuizAttempt.id,
            QuizAttempt.number,
            QuizAttempt.status,
            QuizAttempt.cycle,
            QuizAttempt.percent,
            QuizAttempt.passed,
            QuizAttempt.submitted_at,
        )
        .where(
            QuizAttempt.enrollment_id == bindparam("enrollment_id"),
            QuizAttempt.cycle == bindparam("cycle"),
        )
        .order_by(QuizAttempt.number)
    )


def list_attempt_summaries(
    bind: Session | Connection, enrollment_id: int, cycle: int
) -> list[AttemptSummary]:
    """The attempts of the enrolment's cycle ``cycle``, oldest first, as summaries (one
    statement)."""
    rows = connection_of(bind).execute(
        _summaries_query(), {"enrollment_id": enrollment_id, "cycle": cycle}
    )
    return [AttemptSummary(*row) for row in rows]


class _Attempt(Protocol):
    @property
    def status(self) -> AttemptStatus: ...
    @property
    def cycle(self) -> int: ...
    @property
    def passed(self) -> bool | None: ...
    @property
    def submitted_at(self) -> datetime | None: ...


A = TypeVar("A", bound=_Attempt)


@dataclass(frozen=True)
class AssessmentStatus(Generic[A]):
    """Where a learner stands on a course's assessment. The one home of the attempts-left and
    retake rules: the course page, the result page and ``start_attempt`` all read them here."""

    has_quiz: bool
    attempts: tuple[A, ...] = ()  # of the current cycle, oldest first
    limit: int = 0  # attempts per cycle; 0 means unlimited
    completed: bool = False  # the current cycle is completed
    ready: bool = False  # every module read in the current cycle
    cycle: int | None = None  # the current cycle, if the learner is on this version

    @property
    def open_attempt(self) -> A | None:
        """The attempt in progress, if the last one is."""
        last = self.attempts[-1] if self.attempts else None
        return last if last is not None and last.status == AttemptStatus.IN_PROGRESS else None

    @property
    def graded(self) -> list[A]:
        """The attempts of this cycle submitted and graded, oldest first."""
        return [a for a in self.attempts if a.submitted_at is not None]

    @property
    def attempts_left(self) -> int | None:
        """Attempts still allowed in this cycle; None when they are unlimited."""
        return None if not self.limit else max(0, self.limit - len(self.attempts))

    @property
    def can_start(self) -> bool:
        """True when the learner may continue an attempt or start a new one."""
        return (
            self.has_quiz
            and self.ready
            and not self.completed
            and (self.open_attempt is not None or self.attempts_left != 0)
        )

    def may_retake(self, attempt: _Attempt) -> bool:
        """True when the learner may try again after ``attempt``: it failed, it belongs to the
        current cycle (not one before a renewal), the course is not completed and attempts are
        left."""
        return (
            not attempt.passed
            and self.cycle is not None
            and attempt.cycle == self.cycle
            and not self.completed
            and self.attempts_left != 0
        )


class _Enrolment(Protocol):
    """What the rules read of an enrolment (an ``Enrollment``, or a row holding its columns)."""

    @property
    def version_id(self) -> int | None: ...
    @property
    def cycle(self) -> int: ...
    @property
    def extra_attempts(self) -> int: ...
    @property
    def completed_at(self) -> datetime | None: ...


def standing_of(
    version: _Settings,
    quiz: Quiz | None,
    enrollment: _Enrolment | None,
    attempts: Callable[[], Sequence[A]],
    ready: Callable[[], bool],
) -> AssessmentStatus[A]:
    """The learner's standing on the assessment of ``version`` from their ``enrollment`` on
    the course (None: none yet); ``attempts`` (those of the current cycle) and ``ready``
    (every module read in it) are asked only of a learner on this version."""
    if quiz is None:
        return AssessmentStatus(has_quiz=False)
    if enrollment is None or enrollment.version_id != version.id:
        return AssessmentStatus(
            has_quiz=True,
            limit=attempt_limit(version, quiz),
            completed=enrollment is not None and enrollment.completed_at is not None,
        )
    return AssessmentStatus(
        has_quiz=True,
        attempts=tuple(attempts()),
        limit=cycle_limit(version, quiz, enrollment.extra_attempts),
        completed=enrollment.completed_at is not None,
        ready=ready(),
        cycle=enrollment.cycle,
    )


# Of QuizAttempt, but written AssessmentStatus[Any]: mypy checks a type argument against its
# bound before it has analysed the model's mapped attributes, and keeps that "no".
def assessment_status(
    session: Session, user: User, version: CourseVersion
) -> AssessmentStatus[Any]:
    """The learner's standing on the assessment of ``version``."""
    quiz = quiz_of(version)
    enrollment = find_enrollment(session, user, version.course) if quiz is not None else None
    return standing_of(
        version,
        quiz,
        enrollment,
        lambda: list_attempts(session, enrollment) if enrollment is not None else [],
        lambda: all_modules_read(session, user, version.id, enrollment),
    )


def standing_in(
    session: Session, user: User, enrollment: Enrollment, version: CourseVersion, quiz: Quiz
) -> AssessmentStatus[Any]:
    return standing_of(
        version,
        quiz,
        enrollment,
        lambda: list_attempts(session, enrollment),
        lambda: all_modules_read(session, user, version.id, enrollment),
    )
