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
from collections.abc import Mapping, Sequence

from sqlalchemy import Executable, Text, bindparam, cast, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.events import record
from app.db import rowcount, utcnow
from app.errors import DomainError, NotFound
from app.models import (
    AttemptAnswer,
    AttemptStatus,
    Course,
    QuizAttempt,
    User,
)
from app.progress.completion import complete_course
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
from app.quizzes.standing import (
    list_attempts,
    pass_mark,
    require_quiz,
    standing_in,
)


class NotEligible(DomainError):
    """The learner may not start an attempt now (modules unread, completed, no attempts left)."""

    status = 409


def start_attempt(session: Session, user: User, course: Course) -> QuizAttempt:
    """The learner's open attempt, or a new one if they may take another."""
    enrollment = find_enrollment(session, user, course)
    version = enrollment.version if enrollment is not None else None
    if enrollment is None or version is None:
        raise NotEligible("Read the course's modules first; the assessment comes after them.")
    quiz = require_quiz(version)
    status = standing_in(session, user, enrollment, version, quiz)
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
