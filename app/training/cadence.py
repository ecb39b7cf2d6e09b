"""When a learner is reminded of a course: the cadence HR sets, and the one rule that reads it.

The cadence is a list of days before the deadline (e.g. 7 and 1) and, once the deadline has
passed, a reminder on the first day late and then every N days. The deadline of a record is
its due date, or, for a completion that expires, its expiry (a renewal). The cadence is stored
in the database (``ReminderSettings``, one row; ``DEFAULT`` until HR saves one).

The rule is ``milestone`` : one SQL ``CASE`` over an enrollment's columns that gives the step
of the cadence the record has reached and not yet been reminded of (days before the deadline,
or ``LATE``), or NULL when no reminder is due. The preview, the run (each batch) and the tests
all read that one expression, so who would be reminded and who is reminded cannot differ.
Every comparison is a column against a moment computed here from ``now`` (or two columns),
so SQLite and PostgreSQL compare the same values. After a reminder the run stores the step
reached (``reminded_days_before``), the deadline (``reminded_deadline``) and the moment
(``reminded_at``) on the enrollment: a run that is missed (a weekend, a stopped worker) is
caught up by the next one, a step is reminded of once, and a new deadline (a later due date,
a new cycle) starts the cadence again.

Days are UTC days, as every date in Candor: "7 days before" is the run on the day whose date
is the due date's minus 7. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, case, literal, null, or_, select
from sqlalchemy.orm import Session

from app.audit.events import record
from app.dates import start_of_day
from app.db import utcnow
from app.errors import DomainError
from app.fields import whole_number
from app.models import ReminderSettings, User
from app.training.status import Status

LATE: Final = -1  # the step "late" in reminded_days_before and in ``milestone``
MAX_DAYS_BEFORE: Final = 365
MAX_STEPS: Final = 10
MAX_EVERY_DAYS: Final = 365
COLUMNS: Final = (
    "due_at",
    "completed_at",
    "expires_at",
    "reminded_at",
    "reminded_deadline",
    "reminded_days_before",
    "status",
)


@dataclass(frozen=True)
class Cadence:
    """Remind ``days_before`` the deadline (most distant first), then on the first day late
    and every ``overdue_every_days`` after it (0: only on the first day late)."""

    days_before: tuple[int, ...]
    overdue_every_days: int

    def __post_init__(self) -> None:
        if problem := cadence_problem(self.days_before, self.overdue_every_days):
            raise DomainError(problem)

    def describe(self) -> str:
        """The cadence in words, for pages and e-mails."""
        before = [_days_text(d) for d in self.days_before]
        parts = [f"{_join(before)} the due date" if before else "nothing before the due date"]
        if self.overdue_every_days:
            parts.append(
                f"then on the first day late and every {self.overdue_every_days} "
                f"day{'s' if self.overdue_every_days != 1 else ''} while late"
            )
        else:
            parts.append("then once, on the first day late")
        return ", ".join(parts) + "."


def _days_text(days: int) -> str:
    if days == 0:
        return "on"
    return f"{days} day{'s' if days != 1 else ''} before"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def step_text(step: int) -> str:
    """A step of the cadence in words ("7 days before", "on the day", "late")."""
    if step == LATE:
        return "late"
    return "on the day" if step == 0 else f"{_days_text(step)}"


def cadence_problem(days_before: tuple[int, ...], overdue_every_days: int) -> str | None:
    """What is wrong with a cadence, as a sentence; None if nothing."""
    if len(days_before) > MAX_STEPS:
        return f"Give at most {MAX_STEPS} reminders before the due date."
    for days in days_before:
        if isinstance(days, bool) or not isinstance(days, int):
            return "Days before the due date must be whole numbers."
        if not 0 <= days <= MAX_DAYS_BEFORE:
            return f"Days before the due date must be between 0 and {MAX_DAYS_BEFORE}."
    if len(set(days_before)) != len(days_before):
        return "Each number of days before the due date may appear only once."
    if list(days_before) != sorted(days_before, reverse=True):
        return "List the days before the due date from the most distant to the nearest."
    if isinstance(overdue_every_days, bool) or not isinstance(overdue_every_days, int):
        return "The days between reminders while late must be a whole number."
    if not 0 <= overdue_every_days <= MAX_EVERY_DAYS:
        return f"The days between reminders while late must be between 0 and {MAX_EVERY_DAYS}."
    return None


DEFAULT: Final = Cadence(days_before=(7, 1), overdue_every_days=7)


def parse_cadence(days_before: str, overdue_every_days: str) -> Cadence:
    """A cadence from a form: "7, 1" (commas or spaces) and "7"; a DomainError says what is
    wrong, naming the field."""
    values: list[int] = []
    for part in days_before.replace(",", " ").split():
        number = whole_number(part, 0, 1_000_000)
        if number is None:
            raise DomainError(
                f"Days before the due date: “{part[:20]}” is not a whole number of days."
            )
        values.append(number)
    every = whole_number(overdue_every_days.strip(), 0, 1_000_000)
    if every is None:
        raise DomainError(
            "Every how many days while late: give a whole number of days (0: only once)."
        )
    # The order people type them in does not matter; duplicates are still refused.
    ordered = tuple(sorted(values, reverse=True))
    if problem := cadence_problem(ordered, every):
        raise DomainError(problem)
    return Cadence(ordered, every)


def read_cadence(session: Session) -> Cadence:
    """The cadence in force: the one HR saved, else ``DEFAULT``."""
    row = session.scalar(select(ReminderSettings).order_by(ReminderSettings.id).limit(1))
    if row is None:
        return DEFAULT
    return Cadence(tuple(int(d) for d in row.days_before), int(row.overdue_every_days))


def save_cadence(
    session: Session, actor: User, cadence: Cadence, now: datetime | None = None
) -> Cadence:
    """Store ``cadence`` for every later run (the button, the command, the schedule), on the
    audit trail with the one it replaced."""
    before = read_cadence(session)
    row = session.scalar(select(ReminderSettings).order_by(ReminderSettings.id).limit(1))
    if row is None:
        row = ReminderSettings(days_before=[], overdue_every_days=0)
        session.add(row)
    row.days_before = list(cadence.days_before)
    row.overdue_every_days = cadence.overdue_every_days
    row.updated_at = now or utcnow()
    row.updated_by_id = actor.id
    session.flush()
    record(
        session,
        "reminders.cadence_changed",
        actor=actor,
        days_before=list(cadence.days_before),
        overdue_every_days=cadence.overdue_every_days,
        was_days_before=list(before.days_before),
        was_overdue_every_days=before.overdue_every_days,
    )
    return cadence


def deadline(columns: Mapping[str, Any]) -> ColumnElement[Any]:
    """A record's deadline: the expiry of its completion if completed (NULL: never expires),
    else its due date (NULL: none)."""
    return case(
        (columns["completed_at"].is_not(None), columns["expires_at"]), else_=columns["due_at"]
    )


def milestone(
    columns: Mapping[str, Any], now: datetime, cadence: Cadence
) -> ColumnElement[int | None]:
    """The step of ``cadence`` a record has reached at ``now`` and not yet been reminded of:
    days before its deadline, or ``LATE``; NULL when no reminder is due. ``columns`` maps
    each name of ``COLUMNS`` to a column (``status``: the record's status at ``now``)."""
    if missing := set(COLUMNS) - set(columns):
        raise TypeError(f"milestone needs columns for {', '.join(sorted(missing))}")
    due = deadline(columns)
    step = columns["reminded_days_before"]
    # No reminder yet for this deadline (a new cycle or a new due date starts again).
    fresh = or_(
        columns["reminded_deadline"].is_(None),
        columns["reminded_deadline"] != due,
        step.is_(None),
    )
    today = start_of_day(now)
    late = columns["status"].in_((Status.OVERDUE.value, Status.EXPIRED.value))
    again: list[ColumnElement[bool]] = [fresh, step >= 0]
    if cadence.overdue_every_days:
        # The last reminder was on a day at least N days before today.
        again.append(
            columns["reminded_at"] < today + timedelta(days=1 - cadence.overdue_every_days)
        )
    whens: list[tuple[ColumnElement[bool], Any]] = [
        (due.is_(None), null()),
        (and_(late, or_(*again)), literal(LATE)),
        (late, null()),
    ]
    for days in sorted(cadence.days_before):  # nearest step first: the latest one reached
        reached = due < today + timedelta(days=days + 1)  # the deadline's day <= today + days
        whens.append((and_(reached, or_(fresh, step > days)), literal(days)))
        whens.append((reached, null()))
    return case(*whens, else_=null())
