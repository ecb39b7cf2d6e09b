"""Quiz attempts: starting, conversation steps, submitting. Callers own the transaction.

An attempt is pinned to the learner's course version and to the plan it was shown. Grading
uses that version's stored quiz only, never anything the browser sends beyond option ids.
Exactly one graded result per attempt: the submission is a conditional UPDATE, so of two
submissions at once one grades and the other finds the result already there.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.events import record
from app.content.quiz import Quiz
from app.db import utcnow
from app.errors import DomainError, NotFound
from app.models import AttemptStatus, Course, CourseVersion, Enrollment, QuizAttempt, User
from app.progress.completion import all_modules_read, complete_course
from app.progress.reading import find_enrollment
from app.quizzes.grading import (
    AnswerError,
    AttemptPlan,
    Grade,
    check_answers,
    conversation_state,
    grade,
    missing,
    plan_attempt,
)


class NotEligible(DomainError):
    status = 409


class Incomplete(DomainError):
    """Some questions have no answer yet; ``missing`` lists their ids in plan order."""

    status = 400

    def __init__(self, missing_ids: list[str]) -> None:
        count = len(missing_ids)
        super().__init__(f"{count} question{'s' if count != 1 else ''} still "
                         f"need{'s' if count == 1 else ''} an answer.")
        self.missing = missing_ids


def quiz_of(version: CourseVersion) -> Quiz | None:
    """The parsed quiz of a version (versions never change, so it is parsed once)."""
    if version.quiz is None:
        return None
    return _parsed_quiz(version.id, version.content_hash, version.quiz)


# Parsed quizzes by (version id, content hash): versions never change, so parse each once.
_parsed: dict[tuple[int, str], Quiz] = {}


def _parsed_quiz(version_id: int, content_hash: str, data: dict) -> Quiz:
    key = (version_id, content_hash)
    quiz = _parsed.get(key)
    if quiz is None:
        if len(_parsed) > 256:
            _parsed.clear()
        quiz = _parsed[key] = Quiz.from_dict(data)
    return quiz


def pass_mark(version: CourseVersion, quiz: Quiz) -> int:
    return quiz.settings.pass_mark if quiz.settings.pass_mark is not None else version.pass_mark


def attempt_limit(version: CourseVersion, quiz: Quiz) -> int:
    """Attempts allowed per training cycle; 0 means unlimited."""
    if quiz.settings.max_attempts is not None:
        return quiz.settings.max_attempts
    return version.max_attempts


def list_attempts(session: Session, enrollment: Enrollment) -> list[QuizAttempt]:
    """The attempts of the enrollment's current cycle, oldest first."""
    return list(session.scalars(
        select(QuizAttempt)
        .where(QuizAttempt.enrollment_id == enrollment.id,
               QuizAttempt.cycle == enrollment.cycle)
        .order_by(QuizAttempt.number)
    ))


def start_attempt(session: Session, user: User, course: Course) -> QuizAttempt:
    """The learner's open attempt, or a new one if they may take another."""
    enrollment = find_enrollment(session, user, course)
    if enrollment is None or enrollment.version_id is None:
        raise NotEligible("Read the course's modules first; the assessment comes after them.")
    version = enrollment.version
    quiz = quiz_of(version)
    if quiz is None:
        raise NotFound("This course has no assessment.")
    if enrollment.completed_at is not None:
        raise NotEligible("You have already completed this course.")
    if not all_modules_read(session, user, version.id, enrollment):
        raise NotEligible("Read every module first; the assessment comes after them.")
    attempts = list_attempts(session, enrollment)
    if attempts and attempts[-1].status == AttemptStatus.IN_PROGRESS:
        return attempts[-1]
    limit = attempt_limit(version, quiz)
    if limit and len(attempts) >= limit:
        raise NotEligible(f"You have used all {limit} attempts at this assessment.")
    seed = secrets.randbits(62)
    attempt = QuizAttempt(
        enrollment_id=enrollment.id, user_id=user.id, version_id=version.id,
        cycle=enrollment.cycle, number=len(attempts) + 1, seed=seed,
        plan=plan_attempt(quiz, seed).to_dict(), paths={},
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        # Another request started this attempt number at the same moment: use theirs.
        winner = list_attempts(session, enrollment)[-1]
        if winner.status == AttemptStatus.IN_PROGRESS:
            return winner
        raise NotEligible("Another attempt was just started or submitted. Reload the course "
                          "page.") from None
    record(session, "quiz.attempt_started", actor=user, subject=attempt,
           version_id=version.id, number=attempt.number)
    return attempt


def find_attempt(session: Session, user: User, attempt_id: int) -> QuizAttempt:
    """The user's own attempt; someone else's is "not found", like one that does not exist."""
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise NotFound("There is no such attempt.")
    return attempt


def plan_of(attempt: QuizAttempt) -> AttemptPlan:
    return AttemptPlan.from_dict(attempt.plan)


def choose(session: Session, attempt: QuizAttempt, conversation_id: str, option_id: str) -> None:
    """Take one step in a conversation; the choice is final."""
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise NotEligible("This attempt has been submitted; its answers cannot change.")
    quiz, plan = quiz_of(attempt.version), plan_of(attempt)
    path = list(attempt.paths.get(conversation_id, []))
    state = conversation_state(quiz, plan, conversation_id, path)
    if state.finished:
        raise AnswerError("This conversation has already reached its outcome.")
    if option_id not in state.choice_ids:
        raise AnswerError("That is not one of the choices at this point of the conversation.")
    attempt.paths = {**attempt.paths, conversation_id: [*path, option_id]}
    session.flush()


def submit_attempt(session: Session, attempt: QuizAttempt,
                   answers: Mapping[str, Sequence[str]]) -> QuizAttempt:
    """Grade the attempt once; a repeated or concurrent submission gets the same result."""
    if attempt.status == AttemptStatus.SUBMITTED:
        return attempt
    version = attempt.version
    quiz, plan = quiz_of(version), plan_of(attempt)
    conversations = {u.id for u in plan.units if u.kind == "conversation"}
    if conversations & set(answers):
        raise AnswerError("Conversation choices are made step by step, not in the final form.")
    merged = {**check_answers(quiz, plan, answers), **attempt.paths}
    if gaps := missing(plan, merged, quiz):
        raise Incomplete(gaps)
    result: Grade = grade(quiz, plan, merged)
    passed = result.passed(pass_mark(version, quiz))
    claimed = session.execute(
        update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.status == AttemptStatus.IN_PROGRESS)
        .values(status=AttemptStatus.SUBMITTED, submitted_at=utcnow(),
                answers={k: list(v) for k, v in merged.items()}, percent=result.percent,
                passed=passed, result=result.to_dict())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(attempt)
    if claimed != 1:
        return attempt  # graded by a concurrent submission: show that result
    user = session.get(User, attempt.user_id)
    record(session, "quiz.attempt_submitted", actor=user, subject=attempt,
           percent=result.percent, passed=passed)
    if passed:
        complete_course(session, user, session.get(Enrollment, attempt.enrollment_id), attempt)
    return attempt


def grade_of(attempt: QuizAttempt) -> Grade | None:
    return Grade.from_dict(attempt.result) if attempt.result is not None else None


def attempts_used(session: Session, enrollment: Enrollment) -> int:
    return session.scalar(
        select(func.count()).select_from(QuizAttempt)
        .where(QuizAttempt.enrollment_id == enrollment.id, QuizAttempt.cycle == enrollment.cycle)
    )


@dataclass(frozen=True)
class AssessmentStatus:
    """What a course page says about the assessment for one learner."""

    has_quiz: bool
    attempts: tuple[QuizAttempt, ...] = ()
    limit: int = 0
    completed: bool = False
    ready: bool = False  # every module read

    @property
    def open_attempt(self) -> QuizAttempt | None:
        last = self.attempts[-1] if self.attempts else None
        return last if last is not None and last.status == AttemptStatus.IN_PROGRESS else None

    @property
    def attempts_left(self) -> int | None:
        return None if not self.limit else max(0, self.limit - len(self.attempts))

    @property
    def can_start(self) -> bool:
        return (self.has_quiz and self.ready and not self.completed
                and (self.open_attempt is not None or self.attempts_left != 0))


def assessment_status(session: Session, user: User, version: CourseVersion) -> AssessmentStatus:
    """The learner's standing on the assessment of ``version``."""
    quiz = quiz_of(version)
    if quiz is None:
        return AssessmentStatus(has_quiz=False)
    enrollment = find_enrollment(session, user, version.course)
    if enrollment is None or enrollment.version_id != version.id:
        return AssessmentStatus(has_quiz=True, limit=attempt_limit(version, quiz))
    return AssessmentStatus(
        has_quiz=True,
        attempts=tuple(list_attempts(session, enrollment)),
        limit=attempt_limit(version, quiz),
        completed=enrollment.completed_at is not None,
        ready=all_modules_read(session, user, version.id, enrollment),
    )


def list_submitted_attempts(session: Session, user_id: int) -> list[QuizAttempt]:
    """Every graded attempt of a person, newest first (for their transcript)."""
    return list(session.scalars(
        select(QuizAttempt)
        .where(QuizAttempt.user_id == user_id, QuizAttempt.status == AttemptStatus.SUBMITTED)
        .order_by(QuizAttempt.submitted_at.desc())
    ))
