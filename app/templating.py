"""Template helpers shared by every page."""

from __future__ import annotations

from datetime import datetime

from flask import Flask


def format_date(value: datetime | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""


def format_datetime(value: datetime | None) -> str:
    return value.strftime("%-d %B %Y, %H:%M UTC") if value else ""


def register(app: Flask) -> None:
    """Add the date filters; autoescaping stays on for every template."""
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
