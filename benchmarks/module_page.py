"""The module page benchmark: a signed-in learner's module page against a bare page of its size.

Per backend: a fresh database, migrated and synced from ``courses/``, one learner; Candor under
gunicorn; a real sign-in; then wrk on module 2 of the flagship course, and wrk on the bare app
(``bare_app.py``) serving a page of exactly as many bytes.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from harness import ROOT, BenchError, Browser, gunicorn, wrk

COURSE = "ai-in-the-contact-center"
EMAIL = "bench.learner@example.com"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "candor_bench"


def candor_env(database_url: str) -> dict[str, str]:
    """The environment for ``flask`` and gunicorn: ours, minus any CANDOR_* of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update(CANDOR_DATABASE_URL=database_url, CANDOR_SECRET_KEY=secrets.token_urlsafe(32))
    return env


@contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory(prefix="candor-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'candor.sqlite3'}"


@contextmanager
def postgres_database():
    """A freshly created ``candor_bench`` database on the server of CANDOR_BENCH_POSTGRES_URL.

    Raises ``Unavailable`` if the server does not answer. The database is left in place
    (re-created by the next run) so that it can be looked at.
    """
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(os.environ.get("CANDOR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        reason = " ".join(str(error).split())
        raise Unavailable(f"PostgreSQL at {url!r} is not reachable ({reason})") from None
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    yield url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


class Unavailable(Exception):
    """A backend that cannot be benchmarked here (it is skipped, not failed)."""


def _flask(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BenchError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def prepare(env: dict[str, str]) -> str:
    """Migrate, sync the courses, create the learner; return the learner's password."""
    password = secrets.token_urlsafe(18)
    _flask(env, "db", "upgrade")
    _flask(env, "courses", "sync", "courses/")
    _flask(
        env,
        "users",
        "create",
        EMAIL,
        "--name",
        "Bench Learner",
        "--role",
        "learner",
        "--password-stdin",
        stdin=password + "\n",
    )
    return password


def sign_in(browser: Browser, password: str) -> None:
    status, _, page = browser.request("GET", "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if status != 200 or token is None:
        raise BenchError(f"GET /login gave {status} without a csrf_token")
    status, headers, _ = browser.request(
        "POST",
        "/login",
        form={"csrf_token": token.group(1), "email": EMAIL, "password": password, "next": ""},
    )
    if status != 303 or headers.get("Location", "").endswith("/login"):
        raise BenchError(f"POST /login gave {status} (Location: {headers.get('Location')})")


def find_module_two(browser: Browser) -> tuple[str, str]:
    """The path and (escaped) title of the course's second module, from the course page."""
    status, _, page = browser.request("GET", f"/courses/{COURSE}")
    if status != 200:
        raise BenchError(f"GET /courses/{COURSE} gave {status}")
    links: dict[str, str] = {}
    pattern = rf'<a href="(/courses/{COURSE}/v\d+/(?!assets/)[^"/]+)">([^<]+)</a>'
    for path, title in re.findall(pattern, page):
        links.setdefault(path, title)
    if len(links) < 2:
        raise BenchError(f"the course page links fewer than 2 modules: {list(links)}")
    return list(links.items())[1]


def fetch_checked(browser: Browser, path: str, title: str) -> int:
    """GET the module page; it must be a 200 showing the module's title. Returns its size."""
    status, _, page = browser.request("GET", path)
    if status != 200 or f"<h1>{title}</h1>" not in page:
        raise BenchError(
            f"GET {path} gave {status} without the title {html.unescape(title)!r}"
            " (a redirect to sign-in, or an error page?)"
        )
    return len(page.encode("utf-8"))


def run(database, *, wrk_options: dict) -> dict:
    """Benchmark Candor on ``database`` (a context manager yielding a URL), then the bare app."""
    with database() as url:
        env = candor_env(url)
        password = prepare(env)
        with gunicorn("app:create_app()", env) as port:
            browser = Browser(port)
            sign_in(browser, password)
            path, title = find_module_two(browser)
            fetch_checked(browser, path, title)  # once more below: the cookie is now settled
            size = fetch_checked(browser, path, title)
            cookie = f"Cookie: {browser.cookie_header()}"
            candor = wrk(port, path, headers=(cookie,), **wrk_options)
            fetch_checked(browser, path, title)  # still signed in after the run
    bare_env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    bare_env["BENCH_PAGE_BYTES"] = str(size)
    with gunicorn(
        "bare_app:create_app()", bare_env, "--pythonpath", str(Path(__file__).parent)
    ) as port:
        status, _, page = Browser(port).request("GET", "/")
        if status != 200 or len(page.encode()) != size:
            raise BenchError(f"the bare app gave {status} with {len(page)} bytes, not {size}")
        bare = wrk(port, "/", **wrk_options)
    return {
        "path": path,
        "module_title": html.unescape(title),
        "page_bytes": size,
        "candor": candor,
        "bare": bare,
        "ratio": round(candor["requests_per_s"] / bare["requests_per_s"], 3),
    }
