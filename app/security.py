"""Who may do what: sessions, access policies, throttling and safe redirects.

Every endpoint has a declared policy. A blueprint is locked with one line,
``restrict_to(bp, Role.HR)``; a view open to anyone says so with ``@public``. One hook checks
the policy of every request, and refuses endpoints that declare none (deny by default).

Sessions: the id Flask-Login keeps in the cookie is ``<user id>:<session generation>``;
rotating the generation (logout, password change, deactivation, "sign out everywhere") makes
every copy of every cookie of that user worthless (SECURITY.md finding 1).
"""

from __future__ import annotations

import functools
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, request, session, url_for
from flask_login import LoginManager, current_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.db import adopt, from_row, get_connection, get_session, reads_on_its_own, session_is_open
from app.errors import DomainError
from app.fields import whole_number
from app.models import Role, User, UserRole
from app.session_cookies import CSRF_TOKENS, SessionCookies

login_manager = LoginManager()


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


# A staff member signing in without the authenticator app their role requires is sent to
# enrol one, and can reach nothing else (but public pages and signing out) until they have.
MUST_ENROL = "must_enrol_two_factor"
_ENROLMENT_ENDPOINTS = frozenset(
    {"auth.two_factor", "auth.two_factor_start", "auth.two_factor_confirm", "auth.logout"}
)
# Between the password and the code: who, with which session generation, since when.
SECOND_STEP = "second_step"
SECOND_STEP_SECONDS = 300


def begin_second_step(user: User, next_target: str | None) -> None:
    """Remember, on a fresh session, that ``user`` gave the right password and now owes a
    code (for SECOND_STEP_SECONDS)."""
    session.clear()
    session[SECOND_STEP] = {
        "u": user.id,
        "g": user.session_generation,
        "t": int(time.time()),
        "n": (next_target or "")[:2000],
    }


def second_step_user() -> tuple[User, str] | None:
    """The account that owes a code on this session, and where to go next; None when none
    does, or it has taken too long, or the account's sessions have ended meanwhile."""
    pending = session.get(SECOND_STEP)
    if not isinstance(pending, dict) or not isinstance(pending.get("u"), int):
        return None
    if time.time() - float(pending.get("t", 0)) > SECOND_STEP_SECONDS:
        return None
    user = get_session().get(User, pending["u"])
    if user is None or not user.active or user.session_generation != pending.get("g"):
        return None
    return user, str(pending.get("n", ""))


def _enforce_policy():
    if request.endpoint is None:
        return None  # 404 / 405: let routing answer
    policy = policy_for(current_app, request.endpoint)
    if policy is None:
        current_app.logger.error("endpoint %s declares no access policy", request.endpoint)
        abort(403)
    if (
        session.get(MUST_ENROL)
        and current_user.is_authenticated
        and request.endpoint not in _ENROLMENT_ENDPOINTS
        and not policy.anonymous  # public pages (sign-in, verify, static) stay open
    ):
        return redirect(url_for("auth.two_factor"), code=303)
    if policy.allows(current_user):
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), code=303)
    abort(403)


@functools.cache
def _user_query():
    """The account ``:id`` and its roles in one statement, a row per role (``role_links``
    left unloaded: the ORM's collection for it cost more than the rest of the load); built
    once, as every request signed in runs it."""
    return (
        select(User, UserRole.role)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(User.id == bindparam("id"))
        .options(lazyload(User.role_links))
    )


@functools.cache
def _user_row_query():
    """``_user_query`` in Core: the account's columns (by attribute name) and its roles."""
    columns = [column.label(key) for key, column in User.__mapper__.columns.items()]
    return (
        select(*columns, UserRole.role.label("_role"))
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(User.id == bindparam("id"))
    )


def _load_user(token: str) -> User | None:
    user_id, _, generation = token.partition(":")
    if (number := whole_number(user_id)) is None or not generation:
        return None
    # A page that only reads gets the account in Core, on the request's connection, and no
    # ORM session unless the page opens one (which then adopts it): a session made for the
    # account alone cost a module page 7% of its work.
    in_core = not session_is_open() and reads_on_its_own()
    if in_core:
        found = get_connection().execute(_user_row_query(), {"id": number}).mappings().all()
        user = _user_of(found[0]) if found else None
        roles = [row["_role"] for row in found]
    else:
        rows = get_session().execute(_user_query(), {"id": number}).all()
        user = rows[0][0] if rows else None
        roles = [role for _, role in rows]
    if user is None or not user.active or user.session_generation != generation:
        return None
    started = session.get("signed_in_at", 0)
    if time.time() - started > current_app.config["SESSION_MAX_HOURS"] * 3600:
        return None
    user.remember_roles(role for role in roles if role is not None)
    if in_core:
        adopt(user)
    return user


def _user_of(row) -> User:
    return from_row(User, {key: row[key] for key in User.__mapper__.columns.keys()})


def _keep_session_alive() -> None:
    if not session.permanent:
        return
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    now = int(time.time())
    if now - session.get("refreshed_at", 0) >= min(300, lifetime / 10):
        session["refreshed_at"] = now  # modified: signed again, so its age starts again


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


# Sign-in throttling (SECURITY.md "brute force"). A browser that has signed in to an account
# carries a signed device cookie naming it (and up to DEVICE_ACCOUNTS_MAX accounts in all, for
# PCs that agents share). Such a browser signing in to one of its accounts spends only its own
# budget: neither the address limit (behind a proxy or a contact centre's NAT, everyone shares
# one address) nor the account's limit for unknown browsers can lock it out. Any other
# attempt spends the address's budget and the account's.
#
# Each attempt is counted before the password is checked, by one atomic increment per budget
# (the limits library's fixed window: INCR in Redis, a lock in memory), so forty attempts at
# once let exactly the budget through; a successful sign-in is refunded.
DEVICE_COOKIE = "candor_device"
DEVICE_MAX_AGE = 180 * 24 * 3600
DEVICE_ACCOUNTS_MAX = 10


@dataclass(frozen=True)
class DeviceCookie:
    """What a browser's device cookie says: its own random id and the accounts it signed in to."""

    device_id: str
    user_ids: tuple[int, ...]


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="candor.device")


def read_device_cookie() -> DeviceCookie | None:
    """The request's valid device cookie, or None."""
    token = request.cookies.get(DEVICE_COOKIE)
    if not token or len(token) > 2000:
        return None
    try:
        data = _device_serializer().loads(token, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    ids = data.get("u")
    ids = [ids] if isinstance(ids, int) else ids  # cookies from before several accounts
    if not isinstance(ids, list) or not all(type(i) is int for i in ids):
        return None
    device_id = data.get("d")
    if not isinstance(device_id, str) or not device_id:
        device_id = token[-24:]
    return DeviceCookie(device_id, tuple(ids[:DEVICE_ACCOUNTS_MAX]))


def device_cookie_for(user: User) -> str:
    """A signed token saying "this browser has signed in as ``user``" (and as the accounts its
    cookie named already, most recent first, up to DEVICE_ACCOUNTS_MAX)."""
    known = read_device_cookie()
    device_id = known.device_id if known else secrets.token_urlsafe(16)
    earlier = [i for i in (known.user_ids if known else ()) if i != user.id]
    ids = [user.id, *earlier][:DEVICE_ACCOUNTS_MAX]
    return _device_serializer().dumps({"d": device_id, "u": ids})


def set_device_cookie(response, user: User) -> None:
    """Remember on ``response`` that this browser has signed in as ``user``."""
    response.set_cookie(
        DEVICE_COOKIE,
        device_cookie_for(user),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=configured_secure() or request.is_secure,
    )


def configured_secure() -> bool:
    """True when Candor is configured to be reached over HTTPS (``BASE_URL``)."""
    return bool(current_app.config.get("SESSION_COOKIE_SECURE"))


def _submitted_email() -> str:
    return request.form.get("email", "").strip().lower()[:254]


def _known_device_for(email: str) -> DeviceCookie | None:
    """The device cookie when it names the account of ``email``, else None."""
    device = read_device_cookie()
    if device is None or not email or not device.user_ids:
        return None
    user_id = get_session().scalar(select(User.id).where(User.email == email))
    return device if user_id in device.user_ids else None


@dataclass(frozen=True)
class SignInAttempt:
    """The budgets one sign-in attempt was counted against (to refund it on success)."""

    spent: tuple[tuple[RateLimitItem, tuple[str, ...]], ...]

    def refund(self) -> None:
        storage = _rate_limits().storage
        for item, keys in self.spent:
            storage.incr(item.key_for(*keys), item.get_expiry(), amount=-1)


def _budgets(email: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    config = current_app.config
    prefix = config["RATELIMIT_KEY_PREFIX"]
    if (device := _known_device_for(email)) is not None:
        return [
            (item, (prefix, "login-device", f"device:{email}:{device.device_id}"))
            for item in _limit_items(config["LOGIN_LIMIT_KNOWN_DEVICE"])
        ]
    address = request.remote_addr or "unknown"
    return [
        *(
            (item, (prefix, "login-address", address))
            for item in _limit_items(config["LOGIN_LIMIT_PER_ADDRESS"])
        ),
        *(
            (item, (prefix, "login-account", f"account:{email}"))
            for item in _limit_items(config["LOGIN_LIMIT_PER_ACCOUNT"])
        ),
    ]


def _spend(budgets: list[tuple[RateLimitItem, tuple[str, ...]]]) -> SignInAttempt | None:
    """Count one hit against each budget, atomically each; None (and nothing stays counted)
    when one of them is spent."""
    strategy = _rate_limits().strategy
    spent: list[tuple[RateLimitItem, tuple[str, ...]]] = []
    for item, keys in budgets:
        spent.append((item, keys))
        if not strategy.hit(item, *keys):
            SignInAttempt(tuple(spent)).refund()
            return None
    return SignInAttempt(tuple(spent))


def count_sign_in_attempt() -> SignInAttempt:
    """Count this sign-in attempt against every budget that applies, before the password is
    checked; 429 (TooManyAttempts) when one is spent, and then nothing stays counted."""
    if (attempt := _spend(_budgets(_submitted_email()))) is None:
        raise TooManyAttempts()
    return attempt


def count_reset_request(email: str) -> bool:
    """Count a password-reset request against the client address's budget (429 when spent)
    and the account's, keyed on the address typed, known or not (so the answer reveals
    nothing); False when the account's budget is spent: then nothing should be sent, and the
    asker is told the same as ever, so nobody can tell or use up another's budget by its
    answer."""
    config = current_app.config
    prefix = config["RATELIMIT_KEY_PREFIX"]
    address = request.remote_addr or "unknown"
    per_address: list[tuple[RateLimitItem, tuple[str, ...]]] = [
        (item, (prefix, "reset-address", address))
        for item in _limit_items(config["RESET_LIMIT_PER_ADDRESS"])
    ]
    if _spend(per_address) is None:
        raise TooManyAttempts()
    per_account: list[tuple[RateLimitItem, tuple[str, ...]]] = [
        (item, (prefix, "reset-account", f"account:{email}"))
        for item in _limit_items(config["RESET_LIMIT_PER_ACCOUNT"])
    ]
    return _spend(per_account) is not None


def count_second_step_attempt(user: User) -> None:
    """Count a code typed at the second step against the account's budget (429 when spent):
    a password alone must not let anyone try a million codes."""
    config = current_app.config
    budget: list[tuple[RateLimitItem, tuple[str, ...]]] = [
        (item, (config["RATELIMIT_KEY_PREFIX"], "second-step", f"user:{user.id}"))
        for item in _limit_items(config["TWO_FACTOR_LIMIT_PER_ACCOUNT"])
    ]
    if _spend(budget) is None:
        raise TooManyAttempts()


def count_look_up() -> None:
    """Count a request to a verification endpoint against the client address's budget
    (``VERIFY_LIMIT``; 429 when spent): one budget over the page, its JSON, the form and the
    keys. Only the endpoints it guards call it, so no other page pays for the bookkeeping."""
    config = current_app.config
    address = request.remote_addr or "unknown"
    budget: list[tuple[RateLimitItem, tuple[str, ...]]] = [
        (item, (config["RATELIMIT_KEY_PREFIX"], "verify", address))
        for item in _limit_items(config["VERIFY_LIMIT"])
    ]
    if _spend(budget) is None:
        raise TooManyAttempts("Too many look-ups in a short time. Wait a minute, then try again.")


class TooManyAttempts(DomainError):
    """A budget is spent: answered 429 with the "Too many attempts" page."""

    status = 429

    def __init__(
        self,
        message: str = "Too many attempts in a short time. Wait a few minutes, then try again.",
    ) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class RateLimits:
    """The app's counters (``RATELIMIT_STORAGE_URL``: memory:// per process, redis:// shared)
    and the fixed-window strategy, whose counters let a sign-in be refunded."""

    storage: Storage
    strategy: FixedWindowRateLimiter


def _rate_limits() -> RateLimits:
    return current_app.extensions["candor.rate_limits"]


@functools.lru_cache(maxsize=64)
def _limit_items(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


class _Alive:
    """Stands in for MemoryStorage's timer: always running, so the storage never starts one."""

    @staticmethod
    def is_alive() -> bool:
        return True

    @staticmethod
    def cancel() -> None:
        return None


class MemoryCounts(MemoryStorage):
    """The limits library's memory storage (memory://) without its sweeper thread.

    The library starts a new ``threading.Timer`` for every hit that comes more than 10 ms
    after the last sweep: under steady traffic that is a thread start every few requests, and
    on a busy verify page most of the request's time. Counting needs no sweeper (``get``
    drops a window that has ended before counting in it); only keys nobody asks about again
    need sweeping, and this sweeps them in line, at most once every ``SWEEP_SECONDS``."""

    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()
        self.timer = _Alive()  # type: ignore[assignment]
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.SWEEP_SECONDS
            now = time.time()
            for ended in [k for k, at in list(self.expirations.items()) if at <= now]:
                self.get(ended)  # drops the ended window's count
        return super().incr(key, expiry, amount)


def _storage(url: str) -> Storage:
    scheme = url.partition(":")[0]  # never the rest: it may hold a password
    if scheme == "memory":
        return MemoryCounts()
    try:
        storage = storage_from_string(url)
    except ConfigurationError:  # its message repeats the URL, password and all
        raise RuntimeError(
            f"CANDOR_RATELIMIT_STORAGE_URL ({scheme}:...) is not a storage Candor can count "
            "in: use memory:// (one process) or redis://host:6379 (several)"
        ) from None
    if not isinstance(storage, Storage):
        raise RuntimeError(
            f"CANDOR_RATELIMIT_STORAGE_URL ({scheme}:...) names an asynchronous storage: "
            "use memory:// or redis://"
        )
    return storage


def init_app(app: Flask) -> None:
    """Set up sessions, the policy check and the rate-limit counters on ``app``."""
    app.session_interface = SessionCookies()
    app.extensions[CSRF_TOKENS] = OrderedDict()
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # sessions are ended by generation, see above
    storage = _storage(str(app.config["RATELIMIT_STORAGE_URL"]))
    app.extensions["candor.rate_limits"] = RateLimits(storage, FixedWindowRateLimiter(storage))
    if str(app.config["RATELIMIT_STORAGE_URL"]).startswith("memory:") and not (
        app.debug or app.testing
    ):
        # Each gunicorn worker would count on its own: N workers, N budgets.
        app.logger.warning(
            "CANDOR_RATELIMIT_STORAGE_URL is memory://: sign-in and look-up limits are counted "
            "per process. With several workers or machines, use redis://."
        )
    # The idle timeout is the signed cookie's age: a signed-in session's cookie is signed again
    # when it is older than a tenth of SESSION_IDLE_HOURS (at most five minutes), not on
    # every response, which cost every page a signature and a Set-Cookie header.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.before_request(_keep_session_alive)
    app.before_request(_enforce_policy)
