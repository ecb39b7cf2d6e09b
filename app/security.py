"""Who may do what: sessions, access policies, throttling and safe redirects.

Every endpoint has a declared policy. A blueprint is locked with one line,
``restrict_to(bp, Role.HR)``; a view open to anyone says so with ``@public``. One hook checks
the policy of every request, and refuses endpoints that declare none (deny by default).

Sessions: the id Flask-Login keeps in the cookie is ``<user id>:<session generation>``;
rotating the generation (logout, password change, deactivation, "sign out everywhere") makes
every copy of every cookie of that user worthless (SECURITY.md finding 1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.db import get_session
from app.models import Role, User

login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@dataclass(frozen=True)
class Policy:
    """Who may reach an endpoint: anyone, any signed-in user, or holders of given roles."""

    name: str
    roles: frozenset[Role] = frozenset()
    anonymous: bool = False

    def allows(self, user) -> bool:
        if self.anonymous:
            return True
        if not user.is_authenticated:
            return False
        return not self.roles or user.has_role(*self.roles)


PUBLIC = Policy("anyone", anonymous=True)
SIGNED_IN = Policy("signed-in user")

_blueprint_policies: dict[str, Policy] = {}


def restrict_to(bp: Blueprint, *roles: Role) -> None:
    """Lock every view of ``bp`` to holders of ``roles`` (any signed-in user if none given)."""
    _blueprint_policies[bp.name] = (
        Policy(" or ".join(r.value for r in roles), frozenset(roles)) if roles else SIGNED_IN
    )


def allow(*roles: Role):
    """Open a view to holders of ``roles`` only: the per-route form of ``restrict_to``."""
    policy = Policy(" or ".join(r.value for r in roles), frozenset(roles))

    def declare(view):
        view._candor_policy = policy
        return view

    return declare


def public(view):
    """Open a view to anyone, signed in or not."""
    view._candor_policy = PUBLIC
    return view


def policy_for(app: Flask, endpoint: str) -> Policy | None:
    """The declared policy of ``endpoint``, or None if it has none."""
    if endpoint == "static":
        return PUBLIC
    view = app.view_functions.get(endpoint)
    if (declared := getattr(view, "_candor_policy", None)) is not None:
        return declared
    blueprint = endpoint.rpartition(".")[0]
    return _blueprint_policies.get(blueprint)


def _enforce_policy():
    if request.endpoint is None:
        return None  # 404 / 405: let routing answer
    policy = policy_for(current_app, request.endpoint)
    if policy is None:
        current_app.logger.error("endpoint %s declares no access policy", request.endpoint)
        abort(403)
    if policy.allows(current_user):
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), code=303)
    abort(403)


def _load_user(token: str) -> User | None:
    user_id, _, generation = token.partition(":")
    if not user_id.isdigit() or not generation:
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.active or user.session_generation != generation:
        return None
    started = session.get("signed_in_at", 0)
    if time.time() - started > current_app.config["SESSION_MAX_HOURS"] * 3600:
        return None
    return user


def sign_out_here() -> None:
    logout_user()
    session.clear()


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a relative path to one of our own GET pages, else None. Never raises."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if target.startswith(("//", "/\\")) or any(c in target for c in "\\\r\n\t\0"):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(parts.path, method="GET")
    except RequestRedirect:
        return None
    except HTTPException:
        return None
    return target


# Sign-in throttling (SECURITY.md "brute force"). Browsers that have signed in to an account
# before carry a signed device cookie and get their own budget, so an attacker who exhausts
# the account's budget for unknown browsers cannot lock its owner out.
DEVICE_COOKIE = "candor_device"
DEVICE_MAX_AGE = 180 * 24 * 3600


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="candor.device")


def device_cookie_for(user: User) -> str:
    """A signed token saying "this browser has signed in as ``user``"."""
    return _device_serializer().dumps({"u": user.id})


def _submitted_email() -> str:
    return request.form.get("email", "").strip().lower()[:254]


def _trusted_device_user_id() -> int | None:
    token = request.cookies.get(DEVICE_COOKIE)
    if not token:
        return None
    try:
        return _device_serializer().loads(token, max_age=DEVICE_MAX_AGE).get("u")
    except (BadSignature, AttributeError):
        return None


def _device_matches_account() -> bool:
    user_id = _trusted_device_user_id()
    if user_id is None:
        return False
    email = get_session().scalar(select(User.email).where(User.id == user_id))
    return email is not None and email == _submitted_email()


def _account_key() -> str:
    return "account:" + _submitted_email()


def _device_key() -> str:
    return f"device:{_submitted_email()}:{request.cookies.get(DEVICE_COOKIE, '')[-24:]}"


def _failed(response) -> bool:
    return response.status_code != 303 and response.status_code != 302


def login_limits(view):
    """Throttle sign-in per address, per account for unknown browsers, and per known device."""
    view = limiter.limit(
        lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
        methods=["POST"],
        key_func=get_remote_address,
        deduct_when=_failed,
        scope="login-address",
    )(view)
    view = limiter.limit(
        lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
        methods=["POST"],
        key_func=_account_key,
        deduct_when=_failed,
        exempt_when=_device_matches_account,
        scope="login-account",
    )(view)
    view = limiter.limit(
        lambda: current_app.config["LOGIN_LIMIT_KNOWN_DEVICE"],
        methods=["POST"],
        key_func=_device_key,
        deduct_when=_failed,
        exempt_when=lambda: not _device_matches_account(),
        scope="login-device",
    )(view)
    return view


def init_app(app: Flask) -> None:
    """Set up sessions, the policy check and the limiter on ``app``."""
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # sessions are ended by generation, see above
    limiter.init_app(app)
    app.before_request(_enforce_policy)
