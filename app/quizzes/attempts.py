"""Quiz attempts: starting, conversation steps, submitting. Callers own the transaction.

An attempt is pinned to the learner's course version and to the plan it was shown. Grading
uses that version's stored quiz only, never anything the browser sends beyond option ids.
Exactly one graded result per attempt: the submission is a conditional UPDATE, so of two
submissions at once one grades and the other finds the result already there.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Executable, Text, bindparam, cast, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.events import record
from app.content.published import published_quiz
from app.content.quiz import Quiz
from app.db import connection_of, rowcount, utcnow
from app.errors import DomainError, NotFound
from app.models import (
    AttemptAnswer,
    AttemptStatus,
    Course,
    CourseVersion,
    Enrollment,
    QuizAttempt,
    User,
)
from app.progress.completion import all_modules_read, complete_course
from app.progress.reading import find_enrollment
from app.quizzes.grading import (
    AnswerError,
    AttemptPlan,
    Grade,
    QuestionResult,
    check_answers,
    conversation_state,
    grade_submission,
    plan_attempt,
)
from app.quizzes.grading.answers import shown


class NotEligible(DomainError):
    """The learner may not start an attempt now (modules unread, completed, no attempts left)."""

    status = 409


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


def _standing(
    session: Session, user: User, enrollment: Enrollment, version: CourseVersion, quiz: Quiz
) -> AssessmentStatus[Any]:
    return standing_of(
        version,
        quiz,
        enrollment,
        lambda: list_attempts(session, enrollment),
        lambda: all_modules_read(session, user, version.id, enrollment),
    )


def start_attempt(session: Session, user: User, course: Course) -> QuizAttempt:
    """The learner's open attempt, or a new one if they may take another."""
    enrollment = find_enrollment(session, user, course)
    version = enrollment.version if enrollment is not None else None
    if enrollment is None or version is None:
        raise NotEligible("Read the course's modules first; the assessment comes after them.")
    quiz = require_quiz(version)
    status = _standing(session, user, enrollment, version, quiz)
    if status.completed:
        raise NotEligible("You have already completed this course.")
    if not status.ready:
        raise NotEligible("Read every module first; the assessment comes after them.")
    if status.open_attempt is not None:
        return status.open_attempt
    if status.attempts_left == 0:
        raise NotEligible(f"You have used all {status.limit} attempts at this assessment.")
    seed = secrets.randbits(62)
    attempt = QuizAttempt(
        enrollment_id=enrollment.id,
        user_id=user.id,
        version_id=version.id,
        cycle=enrollment.cycle,
        number=len(status.attempts) + 1,
        seed=seed,
        plan=plan_attempt(quiz, seed).to_dict(),
        paths={},
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        # Another request started this attempt number at the same moment: use theirs.
        winner = list_attempts(session, enrollment)[-1]
        if winner.status == AttemptStatus.IN_PROGRESS:
            return winner
        raise NotEligible(
            "Another attempt was just started or submitted. Reload the course page."
        ) from None
    record(
        session,
        "quiz.attempt_started",
        actor=user,
        subject=attempt,
        version_id=version.id,
        number=attempt.number,
    )
    return attempt


def find_attempt(
    session: Session, user: User, attempt_id: int, *, lock: bool = False
) -> QuizAttempt:
    """The user's own attempt; someone else's is "not found", like one that does not exist.
    ``lock``: read afresh with its row locked (``_held_open``), for a request that changes it,
    with its enrollment (which a passing submission completes)."""
    if lock:
        attempt = session.scalars(_locked_attempt_query(), {"attempt_id": attempt_id}).first()
    else:  # the identity map first: no statement if this request has it already
        attempt = session.get(
            QuizAttempt, attempt_id, options=[joinedload(QuizAttempt.version, innerjoin=True)]
        )
    if attempt is None or attempt.user_id != user.id:
        raise NotFound("There is no such attempt.")
    return attempt


@functools.cache
def _locked_attempt_query() -> Executable:
    """``find_attempt(lock=True)``'s statement (built once: every submission runs it): the
    attempt read afresh, its row locked, with its version (every caller reads it) and its
    enrollment (which a passing submission completes)."""
    return (
        select(QuizAttempt)
        .options(
            joinedload(QuizAttempt.version, innerjoin=True),
            joinedload(QuizAttempt.enrollment, innerjoin=True),
        )
        .where(QuizAttempt.id == bindparam("attempt_id"))
        .with_for_update(of=QuizAttempt)
        .execution_options(populate_existing=True)
    )


def plan_of(attempt: QuizAttempt) -> AttemptPlan:
    """The plan stored with the attempt."""
    return AttemptPlan.from_dict(attempt.plan)


def choose(session: Session, attempt: QuizAttempt, conversation_id: str, option_id: str) -> None:
    """Take one step in a conversation; the choice is final."""
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise NotEligible("This attempt has been submitted; its answers cannot change.")
    quiz, plan = require_quiz(attempt.version), plan_of(attempt)
    # The stored paths as text: the step is written only if they are still exactly these, so
    # of several replies sent at once (tabs, double clicks, a script) one wins and the others
    # are refused, instead of each overwriting the last.
    seen = session.scalar(_paths_query(), {"attempt_id": attempt.id})
    paths = json.loads(seen) if seen else {}
    path = list(paths.get(conversation_id, []))
    state = conversation_state(quiz, plan, conversation_id, path)
    if state.finished:
        raise AnswerError("This conversation has already reached its outcome.")
    if option_id not in state.choice_ids:
        raise AnswerError("That is not one of the choices at this point of the conversation.")
    won = rowcount(
        session.execute(
            _step_statement(),
            {
                "attempt_id": attempt.id,
                "seen_paths": seen,
                "new_paths": {**paths, conversation_id: [*path, option_id]},
            },
        )
    )
    if won != 1:
        raise DomainError(
            "Another reply to this conversation was recorded first. Reload the page to see it.",
            status=409,
        )
    session.expire(attempt, ["paths"])
    # Every change to an attempt is audited: its steps here, its submission below.
    record(
        session,
        "quiz.conversation_step",
        actor=session.get(User, attempt.user_id),
        subject=attempt,
        conversation=conversation_id,
        choice=option_id,
    )


@functools.cache
def _saved_answers_query() -> Executable:
    return select(AttemptAnswer.question_id, AttemptAnswer.option_ids).where(
        AttemptAnswer.attempt_id == bindparam("attempt_id")
    )


@functools.cache
def _paths_query() -> Executable:
    return select(cast(QuizAttempt.paths, Text)).where(QuizAttempt.id == bindparam("attempt_id"))


@functools.cache
def _step_statement() -> Executable:
    """The UPDATE that records a conversation step: ``:new_paths`` if the attempt is still in
    progress and its paths are still ``:seen_paths`` (as text). Built once, as every step
    runs it."""
    return (
        update(QuizAttempt)
        .where(
            QuizAttempt.id == bindparam("attempt_id"),
            QuizAttempt.status == AttemptStatus.IN_PROGRESS,
            cast(QuizAttempt.paths, Text) == bindparam("seen_paths", type_=Text),
        )
        .values(paths=bindparam("new_paths", type_=QuizAttempt.__table__.c.paths.type))
        .execution_options(synchronize_session=False)
    )


@functools.cache
def _answers_of_page_query() -> Executable:
    return select(AttemptAnswer).where(
        AttemptAnswer.attempt_id == bindparam("attempt_id"),
        AttemptAnswer.question_id.in_(bindparam("question_ids", expanding=True)),
    )


def saved_answers(session: Session, attempt: QuizAttempt) -> dict[str, tuple[str, ...]]:
    """The answers saved so far in an attempt in progress, by question id (one query)."""
    return {
        question_id: tuple(option_ids)
        for question_id, option_ids in session.execute(
            _saved_answers_query(), {"attempt_id": attempt.id}
        )
    }


def _held_open(session: Session, attempt: QuizAttempt, locked: bool) -> bool:
    """Lock the attempt's row (PostgreSQL; SQLite has one writer), so that saving and
    submitting take turns; True while it is still in progress. ``locked``: the caller read
    it with ``find_attempt(lock=True)`` in this transaction, so its status is the row's."""
    if locked:
        return attempt.status == AttemptStatus.IN_PROGRESS
    status = session.scalar(
        select(QuizAttempt.status).where(QuizAttempt.id == attempt.id).with_for_update()
    )
    return status == AttemptStatus.IN_PROGRESS


def save_answers(
    session: Session,
    attempt: QuizAttempt,
    question_ids: Sequence[str],
    answers: Mapping[str, Sequence[str]],
    *,
    locked: bool = False,
) -> None:
    """Save the answers to ``question_ids`` (the questions of one page), checked by the
    grading rules; a question left without an answer loses the one saved before. ``locked``:
    the attempt was read with ``find_attempt(lock=True)`` in this transaction."""
    if not _held_open(session, attempt, locked):
        raise NotEligible("This attempt has been submitted; its answers cannot change.")
    quiz, plan = require_quiz(attempt.version), plan_of(attempt)
    for key in answers:
        if key not in question_ids or plan.question(key) is None:
            raise AnswerError(f"{shown(key)} is not a question of this page")
    checked = check_answers(quiz, plan, answers)
    stored = {
        a.question_id: a
        for a in session.scalars(
            _answers_of_page_query(),
            {"attempt_id": attempt.id, "question_ids": list(question_ids)},
        )
    }
    now = utcnow()
    for question_id in question_ids:
        chosen, row = checked.get(question_id), stored.get(question_id)
        if chosen and row is not None:
            row.option_ids, row.saved_at = list(chosen), now
        elif chosen:
            session.add(
                AttemptAnswer(
                    attempt_id=attempt.id,
                    question_id=question_id,
                    option_ids=list(chosen),
                    saved_at=now,
                )
            )
        elif row is not None:
            session.delete(row)
    session.flush()


def submit_attempt(
    session: Session,
    attempt: QuizAttempt,
    answers: Mapping[str, Sequence[str]],
    *,
    locked: bool = False,
) -> QuizAttempt:
    """Grade the attempt once, on the answers saved as it went and ``answers`` (which take
    precedence); a repeated or concurrent submission gets the same result. ``locked``: the
    attempt was read with ``find_attempt(lock=True)`` in this transaction."""
    if attempt.status == AttemptStatus.SUBMITTED:
        return attempt
    version = attempt.version
    quiz, plan = require_quiz(version), plan_of(attempt)
    conversations = {u.id for u in plan.units if u.kind == "conversation"}
    if conversations & set(answers):
        raise AnswerError("Conversation choices are made step by step, not in the final form.")
    if not _held_open(session, attempt, locked):
        session.refresh(attempt)
        return attempt  # graded by a concurrent submission: show that result
    saved = saved_answers(session, attempt)
    result, merged = grade_submission(quiz, plan, {**saved, **answers}, attempt.paths)
    passed = result.passed(pass_mark(version, quiz))
    graded = {
        "status": AttemptStatus.SUBMITTED,
        "submitted_at": utcnow(),
        "answers": {k: list(v) for k, v in merged.items()},
        "percent": result.percent,
        "passed": passed,
        "must_pass_failed": len(result.must_pass_failures),
        "result": result.to_dict(),
    }
    claimed = rowcount(
        session.execute(
            _grading_statement(),
            {"attempt_id": attempt.id, **{f"graded_{k}": v for k, v in graded.items()}},
        )
    )
    if claimed != 1:
        session.refresh(attempt)
        return attempt  # graded by a concurrent submission: show that result
    for column, value in graded.items():  # what the UPDATE wrote, without reading it back
        set_committed_value(attempt, column, value)
    user = session.get_one(User, attempt.user_id)
    record(
        session,
        "quiz.attempt_submitted",
        actor=user,
        subject=attempt,
        percent=result.percent,
        passed=passed,
        must_pass_failed=[
            r.question_id if isinstance(r, QuestionResult) else r.conversation_id
            for r in result.must_pass_failures
        ],
    )
    if passed:
        complete_course(session, user, attempt.enrollment, attempt)
    return attempt


_GRADED = ("status", "submitted_at", "answers", "percent", "passed", "must_pass_failed", "result")


@functools.cache
def _grading_statement() -> Executable:
    """The UPDATE that grades ``:attempt_id`` if it is still in progress, with the values
    ``:graded_<column>``: built once, as building it (its values and its cache key) cost a
    submission more than running it."""
    columns = QuizAttempt.__table__.c
    return (
        update(QuizAttempt)
        .where(
            QuizAttempt.id == bindparam("attempt_id"),
            QuizAttempt.status == AttemptStatus.IN_PROGRESS,
        )
        .values({name: bindparam(f"graded_{name}", type_=columns[name].type) for name in _GRADED})
        .execution_options(synchronize_session=False)
    )


def grade_of(attempt: QuizAttempt) -> Grade | None:
    """The stored grade of a submitted attempt; None while it is in progress."""
    return Grade.from_dict(attempt.result) if attempt.result is not None else None


def list_submitted_attempts(session: Session, user_id: int) -> list[QuizAttempt]:
    """Every graded attempt of a person, newest first (for their transcript)."""
    return list(
        session.scalars(
            select(QuizAttempt)
            .where(QuizAttempt.user_id == user_id, QuizAttempt.status == AttemptStatus.SUBMITTED)
            .order_by(QuizAttempt.submitted_at.desc())
        )
    )
