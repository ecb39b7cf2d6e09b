"""Configuration: every key with its default, then ``CANDOR_*`` environment variables.

``CANDOR_SECRET_KEY=...`` sets ``SECRET_KEY``; values are parsed as JSON where they can be
(``CANDOR_SESSION_IDLE_HOURS=4`` is the integer 4). An unknown ``CANDOR_`` variable stops the app,
so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

DEV_SECRET_KEY = "candor-development-key-do-not-use-in-production"  # noqa: S105 (refused outside debug)

# Variables that configure the test suite and the benchmarks, not the app.
HARNESS_KEYS = {"TEST_POSTGRES_URL", "TEST_REDIS_URL", "REQUIRE_BROWSER", "BENCH_POSTGRES_URL"}


class Defaults:
    """Every configuration key Candor reads, with a safe development default."""

    # Signs session cookies and tokens. Outside debug/testing the development key is refused;
    # when unset, ``instance/secret_key`` is used if it exists (``make run`` writes one).
    SECRET_KEY = DEV_SECRET_KEY
    # SQLAlchemy URL; None means a SQLite file ``instance/candor.sqlite3``.
    # PostgreSQL: postgresql+psycopg://user:password@host/dbname
    DATABASE_URL: str | None = None
    # Where the public reaches Candor; links in certificates and e-mails are built on it.
    # An https URL also turns on Secure, __Host- session cookies.
    BASE_URL = "http://127.0.0.1:5000"
    # How many reverse proxies stand in front of Candor (nginx, a load balancer). Only that many
    # X-Forwarded-For / X-Forwarded-Proto values are believed (Werkzeug's ProxyFix), from the
    # right: 0 (the default) believes none, so a client cannot pick the address its sign-in
    # attempts are counted against. Behind the nginx of deploy/nginx.conf: 1.
    PROXY_HOPS = 0
    # Rate-limit counters (limits): memory:// for one process, redis://host:6379 for many.
    RATELIMIT_STORAGE_URL = "memory://"
    # What the throttle's keys in that storage start with (installations sharing one Redis).
    RATELIMIT_KEY_PREFIX = "candor"
    # Sign-in throttling: per client address, and per account for browsers that have never
    # signed in to it (a browser that has signed in before keeps its own, looser budget, so an
    # attacker cannot lock the real user out).
    LOGIN_LIMIT_PER_ADDRESS = "30 per minute;300 per hour"
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_LIMIT_KNOWN_DEVICE = "20 per 15 minutes"
    # Password reset by e-mail: requests allowed per client address, and per account (the
    # address typed; past that, nothing more is sent, and the answer stays the same); how long
    # a reset link works.
    RESET_LIMIT_PER_ADDRESS = "10 per 15 minutes;30 per day"
    RESET_LIMIT_PER_ACCOUNT = "3 per hour"
    PASSWORD_RESET_MINUTES = 60
    # Codes typed at sign-in's second step (authenticator app or recovery code), per account.
    TWO_FACTOR_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    # Single sign-on with OpenID Connect: the provider's issuer URL (its discovery document is
    # <issuer>/.well-known/openid-configuration) and Candor's client there, registered with
    # the redirect URI <BASE_URL>/login/sso/callback. Unset: no single sign-on.
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_SCOPES = "openid email profile"
    # A claim that carries the employee id (matched to the directory's), e.g. "employee_id".
    OIDC_EMPLOYEE_ID_CLAIM: str | None = None
    # Create a learner account on first sign-in when none matches (needs a verified e-mail).
    OIDC_CREATE_ACCOUNTS = False
    # False: accounts single sign-on covers (linked on their first SSO sign-in) can no longer
    # sign in, or reset, with a password.
    OIDC_PASSWORD_LOGIN = True
    # Certificate look-ups allowed per client address (public pages).
    VERIFY_LIMIT = "60 per minute"
    # A signed-in session lasts this long after the last request, and never longer than
    # SESSION_MAX_HOURS after sign-in.
    SESSION_IDLE_HOURS = 2
    SESSION_MAX_HOURS = 12
    # The organisation that trains its people; printed on certificates as their issuer.
    ORGANISATION_NAME = "Candor"
    # Ed25519 key that signs certificates: a PEM, or the base64 of its 32 raw bytes. When
    # unset, one is generated once into instance/certificate_signing_key. Instances behind a
    # load balancer must all be given the same key.
    CERTIFICATE_SIGNING_KEY: str | None = None
    # Build the certificate renderer's fonts and lay out one certificate when the app starts
    # (in each gunicorn worker, after the fork), so no request pays for it (about a second).
    # deploy/gunicorn.conf.py turns it on; off by default, so commands and tests start fast.
    PDF_WARM_UP = False
    # The mail server every e-mail goes through (sent by the job workers, from the outbox).
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    SMTP_SENDER = "Candor <candor@localhost>"
    # The job queue (exports, e-mail, PDFs): unset means a SQLite file instance/jobs.sqlite3,
    # which needs no server (one machine: ``make run`` starts its worker); redis://host:6379/0
    # lets any number of workers on any number of machines share it. Run workers with
    # ``flask --app app jobs worker``.
    JOBS_URL: str | None = None
    # The queue's name: instances and workers of one Candor share it (and keep it apart from
    # another Candor on the same Redis).
    JOBS_QUEUE_NAME = "candor"
    # Exports of up to this many rows stream in the response; bigger ones become jobs.
    JOBS_DIRECT_EXPORT_MAX_ROWS = 5000
    # How long a job's file can be downloaded, in hours.
    JOBS_RESULT_HOURS = 24
    # A running job that shows no sign of life for this long is taken as dead (its worker
    # was killed): it is queued again, up to JOBS_MAX_ATTEMPTS attempts, then failed.
    JOBS_STALE_SECONDS = 120
    JOBS_MAX_ATTEMPTS = 3
    # E-mail the SMTP server did not take (down, or a 4xx answer) is tried again after
    # JOBS_MAIL_RETRY_SECONDS, doubling each time (at most an hour), up to
    # JOBS_MAIL_MAX_ATTEMPTS attempts.
    JOBS_MAIL_RETRY_SECONDS = 30
    JOBS_MAIL_MAX_ATTEMPTS = 10
    # A delivered (or failed) e-mail is kept this many days, then deleted by the workers: its
    # text and address are personal data, and the reminders' own records say what was sent.
    OUTBOX_KEEP_DAYS = 30
    # A leaver's identity is kept this many years after their account was deactivated, then
    # the workers erase it (privacy.erasure: a pseudonym, no way back). Their training records
    # and the audit trail stay, under the pseudonym, as the organisation's evidence and links
    # of the ledger. Six years: an employment claim's limitation period in much of Europe, and
    # two ISO certification cycles. 0: never (the organisation erases by hand).
    RETENTION_LEAVER_YEARS = 6
    # When the workers run the reminder run (crontab fields: minute hour day month weekday,
    # in UTC); empty: never (run ``flask reminders send`` from cron instead).
    JOBS_REMINDERS_CRONTAB = "0 8 * * 1-5"
    # Who learners should turn to (shown when they run out of quiz attempts).
    SUPPORT_CONTACT = "your HR team or trainer"
    # Largest request body accepted, in bytes.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024


def load_config(app, overrides: dict | None) -> None:
    """Fill ``app.config`` from the defaults, the environment and ``overrides``, then check it."""
    app.config.from_object(Defaults)
    unknown = sorted(
        name.removeprefix("CANDOR_")
        for name in os.environ
        if name.startswith("CANDOR_")
        and name.removeprefix("CANDOR_") not in HARNESS_KEYS
        and not hasattr(Defaults, name.removeprefix("CANDOR_"))
    )
    if unknown:
        raise RuntimeError(
            "Unknown configuration: "
            + ", ".join(f"CANDOR_{k}" for k in unknown)
            + ". See the configuration table in README.md."
        )
    app.config.from_prefixed_env("CANDOR")
    for name in HARNESS_KEYS:
        app.config.pop(name, None)
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    if "CANDOR_SECRET_KEY" not in os.environ and not (overrides or {}).get("SECRET_KEY"):
        key_file = instance / "secret_key"
        if key_file.is_file():
            app.config["SECRET_KEY"] = key_file.read_text().strip()
    if app.config["SECRET_KEY"] == DEV_SECRET_KEY and not (app.debug or app.testing):
        raise RuntimeError(
            "Refusing to start with the development secret key. Set CANDOR_SECRET_KEY "
            "(or run with --debug on a development machine)."
        )
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'candor.sqlite3'}"

    _check_sso(app)
    minutes = app.config["PASSWORD_RESET_MINUTES"]
    if type(minutes) is not int or not 5 <= minutes <= 24 * 60:
        raise RuntimeError(
            f"CANDOR_PASSWORD_RESET_MINUTES must be a whole number from 5 to 1440, not {minutes!r}."
        )
    _positive_hours(app, "SESSION_MAX_HOURS")
    hops = app.config["PROXY_HOPS"]
    if type(hops) is not int or not 0 <= hops <= 5:
        raise RuntimeError(f"CANDOR_PROXY_HOPS must be a whole number from 0 to 5, not {hops!r}.")
    secure = str(app.config["BASE_URL"]).startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="__Host-candor" if secure else "candor",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=_positive_hours(app, "SESSION_IDLE_HOURS")),
        REMEMBER_COOKIE_DURATION=0,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
        # Checked by app._check_csrf, for the methods it guards only: Flask-WTF's own hook
        # looked up the view's exemption on every GET before looking at the method.
        WTF_CSRF_CHECK_DEFAULT=False,
    )


def _check_sso(app) -> None:
    """Refuse a half-configured single sign-on, or one whose issuer is not HTTPS (but on this
    machine, for development and the tests)."""
    issuer = app.config["OIDC_ISSUER"]
    if not issuer:
        return
    if not app.config["OIDC_CLIENT_ID"] or not app.config["OIDC_CLIENT_SECRET"]:
        raise RuntimeError(
            "CANDOR_OIDC_ISSUER is set: set CANDOR_OIDC_CLIENT_ID and CANDOR_OIDC_CLIENT_SECRET."
        )
    local = str(issuer).startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))
    if not (str(issuer).startswith("https://") or local):
        raise RuntimeError(f"CANDOR_OIDC_ISSUER must be an https:// URL, not {issuer!r}.")
    if "openid" not in str(app.config["OIDC_SCOPES"]).split():
        raise RuntimeError("CANDOR_OIDC_SCOPES must include openid.")


def _positive_hours(app, key: str) -> float:
    """A number of hours from the configuration (0.5 is half an hour, never 0); refuses
    anything that is not a positive number, so a typo never means "sessions last no time"."""
    value = app.config[key]
    if type(value) not in (int, float) or not 0 < value <= 24 * 366:
        raise RuntimeError(f"CANDOR_{key} must be a positive number of hours, not {value!r}.")
    return float(value)
