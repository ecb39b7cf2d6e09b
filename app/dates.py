"""Dates as Candor reckons and words them: months arithmetic, expiry, and how a date reads.

No clock and no locale: callers pass ``now`` (UTC, timezone-aware), and dates read the same
on every page, PDF, export and e-mail whatever the server's locale.

**Expiry is a calendar date.** A completion with ``recertify_months`` of validity expires on
the same day that many months later (UTC), and it is expired from the first moment of that
day: the certificate prints "Expires 10 January 2027", and on 10 January it is expired, on
the verify page, the CLI, the HR matrix, the exports and the reminders alike.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time

from app.fields import shown

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# The days a date typed or sent from outside may name: wide enough for any training record,
# narrow enough that adding a day, a month or a year of validity never leaves the calendar
# (date.max is 9999-12-31, and one day more raises).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def day_problem(label: str, value: object) -> str | None:
    """Why ``value`` (a string or a date) is not a day Candor accepts, or None."""
    if isinstance(value, str):
        # date.fromisoformat also takes "20261201" and week dates: accept one spelling only.
        if not _ISO_DAY.fullmatch(value):
            return (
                f"{label} must be a date written YYYY-MM-DD, like 2026-12-01, "
                f"not {shown(value, 40)}"
            )
        try:
            day: object = date.fromisoformat(value)
        except ValueError:
            return f"{label} {shown(value, 40)} is not a date in the calendar"
        value = day
    if not isinstance(value, date) or not FIRST_DAY <= value <= LAST_DAY:
        return f"{label} must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
    return None


def parse_day(label: str, value: str) -> date:
    """``value`` as a date, or ValueError with :func:`day_problem`'s message."""
    if (problem := day_problem(label, value)) is not None:
        raise ValueError(problem)
    return date.fromisoformat(value)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def start_of_day(day: date | datetime) -> datetime:
    """00:00 UTC on ``day`` (a datetime's own UTC date)."""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date()
    return datetime.combine(day, time.min, tzinfo=UTC)


def expiry_of(completed_at: datetime | None, recertify_months: int) -> datetime | None:
    """When a completion stops being valid: the start of its expiry date; None if it was not
    completed or never expires."""
    if completed_at is None or recertify_months <= 0:
        return None
    return start_of_day(add_months(completed_at.astimezone(UTC), recertify_months))


def is_expired(expires: date | datetime | None, now: datetime) -> bool:
    """Whether something that expires on ``expires``'s date has expired at ``now``."""
    return expires is not None and now >= start_of_day(expires)


def format_date(value: date | datetime | None) -> str:
    """A date as people write it, e.g. "1 December 2027" ("" for None)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def format_datetime(value: datetime | None) -> str:
    """A moment as people read it, e.g. "1 December 2027, 14:05 UTC" ("" for None)."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{format_date(value)}, {value:%H:%M} UTC"


def format_day_month(value: date) -> str:
    """A short day for a chart axis, e.g. "1 Dec"."""
    return f"{value.day} {MONTHS[value.month - 1][:3]}"
