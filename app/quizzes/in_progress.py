"""An attempt in progress as its pages show it (resuming, a page, the review): read in two
statements, the attempt with its version's key and the answers saved so far, with the version
and its parsed quiz from the process's cache (``content.published``). Read-only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Executable, bindparam, select
from sqlalchemy.orm import Session

from app.content.published import PublishedVersion, published_version
from app.content.quiz import Quiz
from app.errors import NotFound
from app.models import AttemptAnswer, AttemptStatus, CourseVersion, QuizAttempt
from app.quizzes.attempts import pass_mark
from app.quizzes.grading import AttemptPlan
from app.quizzes.sheet import SheetPage, build_sheet, encode_answers, paginate


@dataclass(frozen=True)
class OpenAttempt:
    """An attempt in progress: who sees it is checked, its answers are those saved so far."""

    id: int
    number: int
    version: PublishedVersion
    plan: AttemptPlan
    paths: dict[str, list[str]]
    saved: dict[str, tuple[str, ...]]  # question id -> option ids

    @property
    def quiz(self) -> Quiz:
        if self.version.quiz is None:  # an attempt exists only for a version with a quiz
            raise NotFound("This course has no assessment.")
        return self.version.quiz

    @cached_property
    def pages(self) -> tuple[SheetPage, ...]:
        """The attempt as the learner sees it now, in pages (``quizzes.sheet``)."""
        return paginate(build_sheet(self.quiz, self.plan, self.paths))

    @property
    def pass_mark(self) -> int:
        return pass_mark(self.version, self.quiz)

    @property
    def answers(self) -> dict:
        """The saved answers as the form shows them (positions, ``sheet.encode_answers``)."""
        return encode_answers(self.plan, self.saved)

    @property
    def question_total(self) -> int:
        return sum(len(p.question_ids) for p in self.pages)


@functools.cache
def _attempt_query() -> Executable:
    """Attempt ``:attempt_id`` and the key of its version."""
    return (
        select(
            QuizAttempt.user_id,
            QuizAttempt.number,
            QuizAttempt.status,
            QuizAttempt.plan,
            QuizAttempt.paths,
            QuizAttempt.version_id,
            CourseVersion.content_hash,
        )
        .join(CourseVersion, CourseVersion.id == QuizAttempt.version_id)
        .where(QuizAttempt.id == bindparam("attempt_id"))
    )


@functools.cache
def _saved_query() -> Executable:
    """The answers saved in attempt ``:attempt_id``."""
    return select(AttemptAnswer.question_id, AttemptAnswer.option_ids).where(
        AttemptAnswer.attempt_id == bindparam("attempt_id")
    )


def open_attempt(session: Session, user_id: int, attempt_id: int) -> OpenAttempt | None:
    """``user_id``'s attempt ``attempt_id`` if it is in progress; None once it is submitted.
    Someone else's is "not found", like one that does not exist (``attempts.find_attempt``).
    Two statements, on the session's connection: the attempt, then its saved answers."""
    connection = session.connection()
    row = connection.execute(_attempt_query(), {"attempt_id": attempt_id}).one_or_none()
    if row is None or row.user_id != user_id:
        raise NotFound("There is no such attempt.")
    if row.status != AttemptStatus.IN_PROGRESS:
        return None
    saved = {
        question_id: tuple(option_ids)
        for question_id, option_ids in connection.execute(
            _saved_query(), {"attempt_id": attempt_id}
        )
    }
    return OpenAttempt(
        id=attempt_id,
        number=row.number,
        version=published_version(session, row.version_id, row.content_hash),
        plan=AttemptPlan.from_dict(row.plan),
        paths=row.paths,
        saved=saved,
    )
