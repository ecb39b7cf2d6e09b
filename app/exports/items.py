"""Item-level export: every answer of every submitted attempt. For HR and admins only, and
only with an audit event (SECURITY.md: HR sees quiz answers only through this export).

Rows are read from each attempt's stored grade (``Grade.to_dict()`` in
``app/quizzes/grading.py``) by one streamed Core query. A question's row has its prompt in
words, the option ids chosen (in the order shown, space-separated) and their text (joined by
" | "), whether it was right, and its points (0 or 1); a conversation's row has its title,
its path of choice ids (in order, joined by " > ") and the choices in words, no right or
wrong, and its points as an exact decimal. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.content.quiz.text import plain_text
from app.content.versions import newest_versions
from app.db import streamed
from app.errors import DomainError
from app.exports.completions import YIELD_PER, Bind
from app.models import AttemptStatus, CourseVersion, QuizAttempt, User
from app.training.filters import RecordFilter

ITEM_COLUMNS: Final = (
    "employee_id",
    "name",
    "email",
    "department",
    "account",  # active or deactivated, as in the completion export
    "course",
    "course_version",
    "attempt",
    "submitted_at",
    "item_id",
    "kind",
    "question",
    "chosen",
    "chosen_text",
    "correct",
    "points",
)


def _item_statement(record_filter: RecordFilter) -> Select[Any]:
    if record_filter.status is not None:
        raise DomainError(
            "The item export cannot be filtered by status; filter by course, "
            "department, manager or dates instead."
        )
    person = User.__table__.alias("person")
    attempt = QuizAttempt.__table__.alias("attempt")
    pinned = CourseVersion.__table__.alias("pinned")  # the version the attempt was on
    current = newest_versions().subquery("current")  # the course's title today
    source = (
        attempt.join(person, person.c.id == attempt.c.user_id)
        .join(pinned, pinned.c.id == attempt.c.version_id)
        .join(current, current.c.course_id == pinned.c.course_id)
    )
    # For answers, the date range applies to when the attempt was submitted.
    where = [
        attempt.c.status == AttemptStatus.SUBMITTED,
        *record_filter.criteria(person, pinned.c.course_id, attempt.c.submitted_at),
    ]
    return (
        select(
            person.c.employee_id,
            person.c.name,
            person.c.email,
            person.c.department,
            person.c.active,
            current.c.title,
            pinned.c.number,
            attempt.c.number,
            attempt.c.submitted_at,
            attempt.c.result,
        )
        .select_from(source)
        .where(*where)
        .order_by(
            person.c.name, person.c.id, pinned.c.course_id, attempt.c.submitted_at, attempt.c.id
        )
        .execution_options(yield_per=YIELD_PER)
    )


def _points(value: object) -> int | Decimal | float:
    if isinstance(value, int):
        return value
    text = str(value)
    try:
        return Decimal(text)  # whole hundredths, as format_points writes them
    except InvalidOperation:
        return float(Fraction(text))


def _items(result: dict[str, Any] | None) -> Iterator[tuple[object, ...]]:
    """(item id, kind, question, chosen ids, chosen in words, correct, points) for each
    result of a stored grade: the words as the learner saw them (the grade keeps them)."""
    for item in (result or {}).get("results", ()):
        if item["kind"] == "conversation":
            steps = item["path"]
            yield (
                item["conversation_id"],
                "conversation",
                plain_text(item.get("title") or ""),
                " > ".join(step["choice_id"] for step in steps),
                " > ".join(plain_text(step.get("choice_html") or "") for step in steps),
                None,
                _points(item["points_earned"]),
            )
        else:
            chosen = [option for option in item["options"] if option["chosen"]]
            yield (
                item["question_id"],
                "question",
                plain_text(item.get("prompt_html") or ""),
                " ".join(option["id"] for option in chosen),
                " | ".join(plain_text(option.get("text_html") or "") for option in chosen),
                bool(item["correct"]),
                _points(item["points_earned"]),
            )


def item_rows(bind: Bind, record_filter: RecordFilter) -> Iterator[tuple]:
    """Stream one row per answer of each submitted attempt, with the columns of ITEM_COLUMNS."""
    # Built now, so a refused filter raises before a streamed response has sent its status.
    return _item_stream(bind, _item_statement(record_filter))


def _item_stream(bind: Bind, statement: Select[Any]) -> Iterator[tuple]:
    with streamed(bind, statement) as result:
        for (
            employee_id,
            name,
            email,
            department,
            active,
            course,
            version_number,
            number,
            submitted_at,
            grade,
        ) in result:
            person = (
                employee_id,
                name,
                email,
                department,
                "active" if active else "deactivated",
                course,
                version_number,
                number,
                submitted_at,
            )
            for item in _items(grade):
                yield person + item


def count_item_rows(bind: Bind, record_filter: RecordFilter) -> int:
    """How many rows ``item_rows`` gives for the same filter: one aggregate query, counted by
    the database from each attempt's stored results (nothing is read into Python, so the
    check that decides whether an export is a job costs little whatever its size)."""
    attempts = _item_statement(record_filter).subquery()
    results = attempts.c.result
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    if engine.dialect.name == "postgresql":
        answers = func.json_array_length(results.op("->")("results"))
    else:
        answers = func.json_array_length(results, "$.results")
    return bind.execute(select(func.coalesce(func.sum(answers), 0))).scalar_one()
