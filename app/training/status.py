"""Where a person stands on a course: one rule over the facts of their current cycle.

The rule is written once, as a decision table (``RULE``): branches tried in order, the first
whose conditions all hold gives the status. Two readers interpret the same table:
``course_status`` in Python over ``StatusFacts`` (labels, a person's own page, unit tests) and
``status_case`` as one SQL ``CASE`` over the columns holding the same facts (the matrix, the
dashboard, exports, reminders), so the database computes the status of 100,000 rows without
loading them, and no second copy of the rule exists. Every condition compares one fact with
``now`` shifted by a number of days (the thresholds), so both readers compare the same
values; ``tests/unit/test_status.py`` checks that they agree at every boundary.

No clock: callers pass ``now`` (UTC, timezone-aware).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, and_, case, literal

from app.dates import format_date

DUE_SOON_DAYS = 14


class Status(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    EXPIRED = "expired"
    REVOKED = "revoked"  # a revoked certificate reopened the cycle: due again


# Most urgent first, when sorting by status.
URGENCY: Final = (
    Status.OVERDUE,
    Status.EXPIRED,
    Status.REVOKED,
    Status.DUE_SOON,
    Status.IN_PROGRESS,
    Status.NOT_STARTED,
    Status.COMPLETED,
)


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """The facts of one person's current cycle on one course (all UTC)."""

    assigned_at: datetime | None = None
    due_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    # When the completion stops being valid (app.dates.expiry_of, always 00:00 UTC of the
    # expiry date); None if it never expires.
    expires_at: datetime | None = None
    # When a revoked certificate reopened the cycle; None if it was not reopened that way.
    revoked_at: datetime | None = None


Fact = Literal["assigned_at", "due_at", "started_at", "completed_at", "expires_at", "revoked_at"]
FACTS: Final = tuple(f.name for f in fields(StatusFacts))


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of one fact: ``set`` (it is there), ``unset``, or a comparison with ``now``
    moved by ``days`` (``soon`` stands for the due-soon window): ``at_or_before`` is
    fact <= now + days, ``before`` is fact < now + days. A missing fact never compares."""

    fact: Fact
    test: Literal["set", "unset", "at_or_before", "before"]
    days: int | Literal["soon"] = 0

    def moment(self, now: datetime, soon: int) -> datetime:
        return now + timedelta(days=soon if self.days == "soon" else self.days)

    def holds(self, facts: StatusFacts, now: datetime, soon: int) -> bool:
        value = getattr(facts, self.fact)
        if self.test == "set":
            return value is not None
        if self.test == "unset":
            return value is None
        if value is None:
            return False
        if self.test == "at_or_before":
            return bool(value <= self.moment(now, soon))
        return bool(value < self.moment(now, soon))

    def sql(self, columns: Mapping[str, Any], now: datetime, soon: int) -> ColumnElement[bool]:
        column = columns[self.fact]
        if self.test == "set":
            return column.is_not(None)
        if self.test == "unset":
            return column.is_(None)
        # NULL compares to nothing in SQL, as a missing fact in ``holds``.
        if self.test == "at_or_before":
            return column <= self.moment(now, soon)
        return column < self.moment(now, soon)


def _set(fact: Fact) -> Condition:
    return Condition(fact, "set")


def _unset(fact: Fact) -> Condition:
    return Condition(fact, "unset")


# The rule. Boundaries: the due moment itself is still due soon, not late; a completion is
# expired from 00:00 UTC on its expiry date and due for renewal ``soon`` days before it.
RULE: Final[tuple[tuple[Status, tuple[Condition, ...]], ...]] = (
    (Status.COMPLETED, (_set("completed_at"), _unset("expires_at"))),
    (Status.EXPIRED, (_set("completed_at"), Condition("expires_at", "at_or_before"))),
    # still valid, but recertification is coming
    (Status.DUE_SOON, (_set("completed_at"), Condition("expires_at", "at_or_before", "soon"))),
    (Status.COMPLETED, (_set("completed_at"),)),
    (Status.OVERDUE, (Condition("due_at", "before"),)),  # now > due_at
    (Status.REVOKED, (_set("revoked_at"),)),
    (Status.DUE_SOON, (Condition("due_at", "at_or_before", "soon"),)),  # now >= due_at - soon
    (Status.IN_PROGRESS, (_set("started_at"),)),
)
OTHERWISE: Final = Status.NOT_STARTED


def facts_of(row: object) -> StatusFacts:
    """The facts of a row holding them under their names (an ``Enrollment``, a matrix row)."""
    return StatusFacts(**{name: getattr(row, name) for name in FACTS})


def course_status(facts: StatusFacts, now: datetime, due_soon_days: int = DUE_SOON_DAYS) -> Status:
    """The status of a cycle at ``now``: ``RULE`` read in Python."""
    for status, conditions in RULE:
        if all(c.holds(facts, now, due_soon_days) for c in conditions):
            return status
    return OTHERWISE


def status_case(
    columns: Mapping[str, Any], now: datetime, due_soon_days: int = DUE_SOON_DAYS
) -> ColumnElement[str]:
    """The status of a cycle at ``now`` as one SQL CASE (its ``Status`` value): ``RULE`` read
    in SQL over ``columns``, which maps each name of ``FACTS`` to the column holding it."""
    if missing := set(FACTS) - set(columns):
        raise TypeError(f"status_case needs columns for {', '.join(sorted(missing))}")
    return case(
        *(
            (and_(*(c.sql(columns, now, due_soon_days) for c in conditions)), status.value)
            for status, conditions in RULE
        ),
        else_=literal(OTHERWISE.value),
    )


def urgency_case(status: ColumnElement[str]) -> ColumnElement[int]:
    """A status column as its place in ``URGENCY`` (0: most urgent), to sort by."""
    return case({s.value: i for i, s in enumerate(URGENCY)}, value=status, else_=len(URGENCY))


def label(status: Status, facts: StatusFacts) -> str:
    """The status in words, with the date that matters for it."""
    due = f" (due {format_date(facts.due_at)})" if facts.due_at else ""
    match status:
        case Status.COMPLETED:
            if facts.expires_at is None:
                return "Completed"
            return f"Completed (expires {format_date(facts.expires_at)})"
        case Status.EXPIRED:
            if facts.expires_at is None:
                return "Expired"
            return f"Expired on {format_date(facts.expires_at)}"
        case Status.DUE_SOON if facts.completed_at is not None:
            if facts.expires_at is None:
                return "Renewal due"
            return f"Renewal due (expires {format_date(facts.expires_at)})"
        case Status.DUE_SOON:
            return f"Due by {format_date(facts.due_at)}" if facts.due_at else "Due soon"
        case Status.OVERDUE if facts.due_at is not None:
            # Late from the second after the due moment: due by 1 May 23:59:59 is late on 2 May.
            return f"Overdue since {format_date(facts.due_at + timedelta(seconds=1))}"
        case Status.OVERDUE:
            return "Overdue"
        case Status.REVOKED:
            revoked = f"Revoked {format_date(facts.revoked_at)}, " if facts.revoked_at else ""
            return f"{revoked}due again{' by ' + format_date(facts.due_at) if facts.due_at else ''}"
        case Status.IN_PROGRESS:
            return f"In progress{due}"
        case _:
            return f"Not started{due}"


# How a status reads in a grid cell, short enough for ten courses side by side at 1280 px;
# the key under the grid and each cell's hidden text say it in full.
SHORT_STATUS = {
    Status.COMPLETED.value: "Done",
    Status.DUE_SOON.value: "Soon",
    Status.OVERDUE.value: "Late",
    Status.EXPIRED.value: "Exp.",
    Status.REVOKED.value: "Rev.",
    Status.IN_PROGRESS.value: "Going",
    Status.NOT_STARTED.value: "New",
}
