"""Where a person stands on a course: one pure rule over the facts of their current cycle.

No database and no clock: callers pass the facts and ``now`` (UTC, timezone-aware), so every
page, export and reminder computes the same status the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.dates import format_date, is_expired, start_of_day

DUE_SOON_DAYS = 14


class Status(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """The facts of one person's current cycle on one course (all UTC)."""

    assigned_at: datetime | None = None
    due_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    # When the completion stops being valid (app.dates.expiry_of); None if it never expires.
    expires_at: datetime | None = None


def course_status(facts: StatusFacts, now: datetime, due_soon_days: int = DUE_SOON_DAYS) -> Status:
    """The status of a cycle at ``now``; boundaries: due_at itself is still due soon, not late."""
    soon = timedelta(days=due_soon_days)
    if facts.completed_at is not None:
        if facts.expires_at is None:
            return Status.COMPLETED
        if is_expired(facts.expires_at, now):
            return Status.EXPIRED
        if now >= start_of_day(facts.expires_at) - soon:
            return Status.DUE_SOON  # still valid, but recertification is coming
        return Status.COMPLETED
    if facts.due_at is not None:
        if now > facts.due_at:
            return Status.OVERDUE
        if now >= facts.due_at - soon:
            return Status.DUE_SOON
    return Status.IN_PROGRESS if facts.started_at is not None else Status.NOT_STARTED


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
        case Status.IN_PROGRESS:
            return f"In progress{due}"
        case _:
            return f"Not started{due}"
