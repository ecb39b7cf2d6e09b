"""Template helpers shared by every page."""

from __future__ import annotations

from datetime import date

from flask import Flask

from app.dates import format_date, format_datetime


def _date(value: date | str | None) -> str:
    # Certificate facts keep their dates as ISO strings (they are signed JSON).
    return format_date(date.fromisoformat(value) if isinstance(value, str) else value)


def heading(value: str) -> str:
    """A title as a heading shows it: its first letter a capital, the rest as written
    ("## Scenario: the audit next week" reads "The audit next week")."""
    for index, char in enumerate(value):
        if char.isalpha():
            return value[:index] + char.upper() + value[index + 1 :]
    return value


def register(app: Flask) -> None:
    """Add the date filters; autoescaping stays on for every template."""
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["heading"] = heading
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
