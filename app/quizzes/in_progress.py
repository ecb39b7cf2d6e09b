"""An attempt in progress as its pages show it (resuming, a page, the review): read in two
statements, the attempt with its version's key and the answers saved so far, with the version
and its parsed quiz from the process's cache (``content.published``). Read-only.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from sqlalchemy import Connection, Executable, Text, bindparam, cast, select
from sqlalchemy.orm import Session

from app.content.published import PublishedVersion, derived, published_version
from app.content.quiz import Quiz
from app.db import connection_of
from app.errors import NotFound
from app.models import AttemptAnswer, AttemptStatus, CourseVersion, QuizAttempt
from app.quizzes.grading import AttemptPlan
from app.quizzes.sheet import (
    PageProgress,
    SheetPage,
    build_sheet,
    encode_answers,
    page_progress,
    paginate,
)
from app.quizzes.standing import pass_mark


@dataclass(frozen=True)
class OpenAttempt:
    """An attempt in progress: who sees it is checked, its answers are those saved so far."""

    id: int
    number: int
    version: PublishedVersion
    plan: AttemptPlan
    pages: tuple[SheetPage, ...]  # the attempt as the learner sees it now (``quizzes.sheet``)
    saved: dict[str, tuple[str, ...]]  # question id -> option ids

    @property
    def pass_mark(self) -> int:
        return pass_mark(self.version, _quiz(self.version))

    @property
    def answers(self) -> dict:
        """The saved answers as the form shows them (positions, ``sheet.encode_answers``)."""
        return encode_answers(self.plan, self.saved)

    @property
    def progress(self) -> list[PageProgress]:
        """How far each page is answered (``sheet.page_progress``)."""
        return page_progress(self.pages, self.saved)

    @property
    def question_total(self) -> int:
        return sum(len(p.question_ids) for p in self.pages)


def _quiz(version: PublishedVersion) -> Quiz:
    if version.quiz is None:  # an attempt exists only for a version with a quiz
        raise NotFound("This course has no assessment.")
    return version.quiz


@functools.cache
def _attempt_query() -> Executable:
    """Attempt ``:attempt_id`` and the key of its version."""
    return (
        select(
            QuizAttempt.user_id,
            QuizAttempt.number,
            QuizAttempt.status,
            # As stored, the key of the pages made from them (decoded only to make them).
            cast(QuizAttempt.plan, Text).label("plan"),
            cast(QuizAttempt.paths, Text).label("paths"),
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


def open_attempt(bind: Session | Connection, user_id: int, attempt_id: int) -> OpenAttempt | None:
    """``user_id``'s attempt ``attempt_id`` if it is in progress; None once it is submitted.
    Someone else's is "not found", like one that does not exist (``attempts.find_attempt``).
    Two statements: the attempt, then its saved answers. Its pages are made once per process
    for the same version, plan and conversation paths."""
    connection = connection_of(bind)
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
    version = published_version(bind, row.version_id, row.content_hash)
    plan, pages = derived(
        bind,
        ("attempt pages", row.version_id, row.content_hash, row.plan, row.paths),
        lambda: _pages(version, row.plan, row.paths),
    )
    return OpenAttempt(attempt_id, row.number, version, plan, pages, saved)


def _pages(
    version: PublishedVersion, plan_json: str, paths_json: str | None
) -> tuple[AttemptPlan, tuple[SheetPage, ...]]:
    plan = AttemptPlan.from_dict(json.loads(plan_json))
    paths = json.loads(paths_json) if paths_json else {}
    return plan, paginate(build_sheet(_quiz(version), plan, paths))
