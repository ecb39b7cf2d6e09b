"""Template helpers shared by every page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

from flask import Flask, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from app.dates import format_date, format_datetime
from app.session_cookies import csrf_token


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


# Where the sign-out form's token goes in a site header rendered once for many sessions.
_CSRF_SLOT = "\x00csrf_token\x00"


def site_header_for(app: Flask) -> Callable[[], Markup]:
    """``site_header()`` as an app's pages call it: the skip link, the brand and the menu
    (``_site_header.html``). Every page has one and it is the same for everyone with the same
    roles on the same page, but it is a dozen links, role checks and its own template's
    worth of work: so each combination of its inputs (the request's script root, whether
    someone is signed in and with which roles, the endpoint and blueprint that mark the
    current page) is rendered once per app, up to 1,024 of them, and only the sign-out form's
    CSRF token, the session's own, is put in on each page."""

    @functools.lru_cache(maxsize=1024)
    def rendered(
        script_root: str,
        authenticated: bool,
        roles: frozenset[str],
        endpoint: str | None,
        blueprint: str | None,
    ) -> str:
        del script_root  # a key only: url_for reads it from the request
        template = app.jinja_env.get_template("_site_header.html")
        return template.render(
            authenticated=authenticated,
            roles=roles,
            endpoint=endpoint,
            blueprint=blueprint,
            csrf_slot=_CSRF_SLOT,
        )

    def site_header() -> Markup:
        user = current_user
        signed_in = bool(user.is_authenticated)
        roles = user.roles if signed_in else frozenset()
        html = rendered(request.script_root, signed_in, roles, request.endpoint, request.blueprint)
        if signed_in:
            html = html.replace(_CSRF_SLOT, str(escape(csrf_token())))
        return Markup(html)  # noqa: S704  # nosec B704 (autoescaped template; token escaped)

    return site_header


def register(app: Flask) -> None:
    """Add the date filters, the remembering ``url_for`` and the site header; autoescaping
    stays on for every template. After the blueprints (it trims their context processors)."""
    app.jinja_env.globals["url_for"] = remembering_url_for()
    app.jinja_env.globals["site_header"] = site_header_for(app)
    # Flask-WTF's ``csrf_token`` signs a token on every page; session_cookies.csrf_token once per
    # session. Flask-Login and Flask-WTF each put theirs (``current_user``, ``csrf_token``) in
    # every template's context, worked out for every page whether it shows them or not: they
    # are globals here instead, which a template looks up only when it uses them (Flask-Login's
    # proxy loads the user then), and their processors go.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_user"] = current_user
    processors = app.template_context_processors
    processors[None] = [
        processor
        for processor in processors[None]
        if processor.__module__.partition(".")[0] not in ("flask_login", "flask_wtf")
    ]
    # Each blueprint brings Flask's default processor (g, request, session) again, which the
    # app's already runs for every template: once is enough.
    for name in [name for name in processors if name is not None]:
        processors[name] = [p for p in processors[name] if p not in processors[None]]
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["heading"] = heading
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
