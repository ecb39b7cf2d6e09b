"""The signed session cookie and the CSRF token its forms carry, each worked out once per
process rather than on every request.

``security.init_app`` installs :class:`SessionCookies` as the app's session interface and
makes the store of signed tokens :func:`csrf_token` keeps; templates call ``csrf_token()``
(``templating``).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict

from flask import Flask, current_app, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with the signing serializer made once per secret key
    (and fallbacks) rather than on every request twice (opening, saving), and each cookie's
    signature checked and its payload decoded once per process rather than on every request
    (a twentieth of a module page's work).

    A cookie's check and decoding depend on nothing but the cookie and the keys, so the
    outcome is kept for the cookie as sent (up to SESSION_COOKIES_KEPT of them, the least
    recently used going first), by serializer (a new secret key starts afresh), with the
    time it was signed; its age is checked on every request, as itsdangerous checks it. A
    cookie that fails its check is never kept. Each request gets its own copy of the data."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if key not in self._serializers:
            self._serializers[key] = super().get_signing_serializer(app)
        return self._serializers[key]

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data, signed_at = _checked_cookie(serializer, value)
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed_at
        if not 0 <= age <= int(app.permanent_session_lifetime.total_seconds()):
            return self.session_class()  # expired (or from the future): as itsdangerous
        return self.session_class(_copy(data))


SESSION_COOKIES_KEPT = 4096


@functools.lru_cache(maxsize=SESSION_COOKIES_KEPT)
def _checked_cookie(serializer: URLSafeTimedSerializer, value: str) -> tuple[dict, int]:
    """The data of a session cookie whose signature is good, and when it was signed (Unix
    seconds); BadSignature (never kept) otherwise. Shared: callers copy the data."""
    data, signed = serializer.loads(value, return_timestamp=True)
    return data, int(signed.timestamp())


def _copy(value):
    """A copy of session data deep enough that changing it (``flash`` appends to a list in
    place) never changes the data kept for the cookie: dicts and lists are copied, the
    rest (strings, numbers, dates) cannot be changed."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_copy(item) for item in value)
    return value


# Signed CSRF tokens kept per process, by session secret (see ``csrf_token``).
CSRF_TOKENS = "candor.csrf_tokens"
CSRF_TOKENS_KEPT = 10_000


def csrf_token() -> str:
    """The CSRF token for the page's forms, as Flask-WTF's ``generate_csrf`` makes it, but
    signed once per session secret in each process rather than on every page: every page
    signed one for its "Sign out" form, a fifteenth of a module page's work. With
    WTF_CSRF_TIME_LIMIT=None (app/config.py) the token's timestamp is never checked, so a
    token signed earlier for the same secret is as good as a new one; with a time limit,
    each page signs its own."""
    if current_app.config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    tokens: OrderedDict[str, str] = current_app.extensions[CSRF_TOKENS]
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    secret = session.get(field)
    token = tokens.get(secret) if isinstance(secret, str) else None
    if token is None:
        token = generate_csrf()  # gives the session a secret if it has none, and signs it
        if len(tokens) >= CSRF_TOKENS_KEPT:
            tokens.popitem(last=False)  # the oldest
        tokens[session[field]] = token
    return token
