"""Template helpers shared by every page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

from flask import Flask, request, url_for

from app.dates import format_date, format_datetime
from app.security import csrf_token


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


def remembering_url_for() -> Callable[..., str]:
    """``url_for`` as an app's templates call it, remembered: a page builds a dozen links (the
    stylesheet, the menu, its own), the same on every request, and Werkzeug builds each one
    afresh. Only a plain relative link is remembered (by the request's script root, the
    endpoint and its values with their types: ``page=True`` is not ``page=1``); one with an
    option (``_external``, ``_anchor``...), a relative endpoint or a value that cannot be a key
    is built as ever. At most 4,096 links per app."""

    @functools.lru_cache(maxsize=4096)
    def built(script_root: str, endpoint: str, values: tuple) -> str:
        return url_for(endpoint, **{name: value for name, _, value in values})

    def remembered(endpoint: str, **values) -> str:
        if endpoint[:1] == "." or any(name[:1] == "_" for name in values):
            return url_for(endpoint, **values)
        key = tuple(sorted((name, type(value), value) for name, value in values.items()))
        try:
            return built(request.script_root, endpoint, key)
        except TypeError:  # an unhashable value (a list of query arguments)
            return url_for(endpoint, **values)

    return remembered


_CSRF_CONTEXT = {"csrf_token": csrf_token}


def register(app: Flask) -> None:
    """Add the date filters and the remembering ``url_for``; autoescaping stays on for every
    template."""
    app.jinja_env.globals["url_for"] = remembering_url_for()
    # Flask-WTF's ``csrf_token`` signs a token on every page; security.csrf_token once per
    # session. CSRFProtect also puts its own in every template's context: this processor,
    # registered after it, replaces it there.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: _CSRF_CONTEXT)
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["heading"] = heading
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
