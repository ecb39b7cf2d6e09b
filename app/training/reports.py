"""Figures for the HR dashboard. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.dates import format_day_month
from app.db import utcnow
from app.models import Completion


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


def completions_by_week(
    session: Session, weeks: int = 12, now: datetime | None = None
) -> list[Bar]:
    """Completions in each of the last ``weeks`` weeks (Monday to Sunday), oldest first."""
    now = now or utcnow()
    this_monday = now.date() - timedelta(days=now.weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    counts = dict.fromkeys((first + timedelta(weeks=i) for i in range(weeks)), 0)
    # One column over a bounded window: grouping by week portably is simpler in Python.
    for (completed_at,) in session.execute(
        select(Completion.completed_at).where(Completion.completed_at >= start)
    ):
        day: date = completed_at.date()
        monday = day - timedelta(days=day.weekday())
        if monday in counts:
            counts[monday] += 1
    return [Bar(format_day_month(monday), count) for monday, count in counts.items()]
