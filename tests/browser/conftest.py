"""Browser tests: Debian's Chromium driven by Playwright, with axe-core checking every page.

Nothing here downloads a browser. Without ``/usr/bin/chromium``, axe-core (``npm install``)
or Playwright the tests skip with the reason; with ``CANDOR_REQUIRE_BROWSER=1`` (CI) they fail.

Fixtures:

- ``live_server``: the app on a SQLite file, serving the shipped ``courses/`` as they are.
- ``quick_server``: the same, on a copy of ``courses/`` with ``min_minutes`` taken out, so a
  module can be marked as read at once.
- ``open_page(server, viewport=...)``: a page in a fresh browser context (its own cookies)
  whose base URL is the server. A JavaScript dialog (the XSS oracle), a request leaving the
  server, a 5xx answer, or a loaded page that was never given to ``assert_accessible`` fails
  the test.
- ``assert_accessible(page)``: axe-core, WCAG 2.0/2.1 A and AA; any serious or critical
  violation fails the test, naming each rule and the offending elements.
- ``sign_in(page, account)``: the sign-in form, filled by its labels (both pages checked).

Both servers live for the whole session; each test makes its own users (``server.add_user``),
so tests never see each other's progress.
"""

from __future__ import annotations

import base64
import itertools
import os
import re
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from helpers import PASSWORD, list_courses
from sqlalchemy.orm import Session
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.content.loader import CourseSource, LoadedTree, load_tree
from app.content.sync import sync_courses
from app.db import Base, dispose_engines, make_engine
from app.models import Role, User

ROOT = Path(__file__).resolve().parents[2]
COURSES = ROOT / "courses"
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
REQUIRE_BROWSER = os.environ.get("CANDOR_REQUIRE_BROWSER", "") == "1"
# The machine has no outside network: without these flags Chromium keeps trying to reach
# Google's services and floods the log with refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000  # generous: CI machines and this one are shared


# ---------------------------------------------------------------------------------------------
# Prerequisites and the browser


def _missing_prerequisites() -> list[str]:
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE_JS.is_file():
        missing.append(f"no axe-core at {AXE_JS.relative_to(ROOT)} (run npm install, or make test)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python is not installed (pip install -e '.[dev]')")
    return missing


@pytest.fixture(scope="session")
def browser():
    missing = _missing_prerequisites()
    if missing:
        reason = "browser tests cannot run: " + "; ".join(missing)
        if REQUIRE_BROWSER:
            pytest.fail(reason + " (CANDOR_REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


# ---------------------------------------------------------------------------------------------
# Live servers


@dataclass
class Account:
    email: str
    password: str
    name: str


@dataclass
class LiveServer:
    """The app served on 127.0.0.1 in a thread, on its own SQLite file and course tree."""

    url: str
    app: object
    course_tree: Path
    courses: dict[str, CourseSource]
    password_hash: str  # of helpers.PASSWORD, made once per run (conftest.password_hash)
    _serial: itertools.count = field(default_factory=lambda: itertools.count(1))

    def add_user(self, roles=(Role.LEARNER,), name: str | None = None) -> Account:
        """Create an account whose password is ``helpers.PASSWORD``."""
        number = next(self._serial)
        email = f"person{number}@example.test"
        name = name or f"Browser Tester {number}"
        with self.app.extensions["candor.sessionmaker"]() as db:
            user = User(email=email, name=name)
            user.roles = set(roles)
            user.password_hash = self.password_hash
            db.add(user)
            db.commit()
        return Account(email=email, password=PASSWORD, name=name)


class _QuietHandler(WSGIRequestHandler):
    """Logs nothing per request; the app still logs its own errors."""

    def log_request(self, code="-", size="-"):
        pass


# axe.min.js is served beside the app (by this wrapper, not by Candor) so that Chromium caches
# and compiles it once per context: add_script_tag(path=...) sends its 550 kB through the
# Playwright pipe and compiles it afresh on every page, which costs ~0.3 s a page here.
AXE_URL = "/__browser-tests__/axe.min.js"


def _with_axe(app):
    """The app, plus axe.min.js at AXE_URL for the tests to inject."""
    body = AXE_JS.read_bytes() if AXE_JS.is_file() else b""

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == AXE_URL:
            start_response(
                "200 OK",
                [
                    ("Content-Type", "text/javascript; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "public, max-age=3600, immutable"),
                ],
            )
            return [body]
        return app(environ, start_response)

    return wsgi


@contextmanager
def _serve(
    workdir: Path,
    course_tree: Path,
    password_hash: str,
    tree: LoadedTree | None = None,
    **overrides,
):
    """Serve ``course_tree`` (``tree``, when it has been read already), with configuration
    ``overrides``."""
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{workdir / 'candor.sqlite3'}"
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    tree = tree or load_tree(course_tree)
    assert not tree.problems, "\n".join(str(p) for p in tree.problems)
    with Session(engine) as db:
        sync_courses(db, tree)
        list_courses(db)
        db.commit()
    engine.dispose()

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-test-secret-key",
            "DATABASE_URL": database_url,
            "RATELIMIT_STORAGE_URL": "memory://",
            # Given, so that nothing is generated into the real instance/ folder.
            "CERTIFICATE_SIGNING_KEY": base64.b64encode(
                Ed25519PrivateKey.generate().private_bytes_raw()
            ).decode(),
            **overrides,
        }
    )
    app.instance_path = str(workdir / "instance")
    server = make_server(
        "127.0.0.1", 0, _with_axe(app), threaded=True, request_handler=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name=f"live-{workdir.name}", daemon=True)
    thread.start()
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{server.server_port}",
            app=app,
            course_tree=course_tree,
            courses={c.slug: c for c in tree.courses},
            password_hash=password_hash,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        dispose_engines(app)


_MIN_MINUTES_LINE = re.compile(r"^min_minutes\s*=.*\n", re.MULTILINE)


def _without_min_minutes(source: Path, target: Path) -> Path:
    """Copy the course tree, taking every ``min_minutes`` out of the modules' front matter."""
    shutil.copytree(source, target)
    for path in target.glob("*/*.md"):
        text = path.read_text(encoding="utf-8")
        if not text.startswith("+++\n"):
            continue
        end = text.index("\n+++\n", 3)
        front = _MIN_MINUTES_LINE.sub("", text[4 : end + 1])
        rest = text[end + len("\n+++\n") :]
        path.write_text(f"+++\n{front}+++\n{rest}" if front.strip() else rest, encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, password_hash, shipped_courses):
    """The shipped courses as they are (modules ask for their reading time)."""
    with _serve(
        tmp_path_factory.mktemp("live-shipped"), COURSES, password_hash, shipped_courses
    ) as server:
        yield server


@pytest.fixture(scope="session")
def grid_server(tmp_path_factory, password_hash, shipped_courses):
    """The shipped courses, to which the HR grid's tests add eight more (a contact centre's
    ten): a server of their own, so that no other test sees them."""
    with _serve(
        tmp_path_factory.mktemp("live-grid"), COURSES, password_hash, shipped_courses
    ) as server:
        yield server


@dataclass
class MailServer:
    """A live server whose e-mail goes to the suite's SMTP server; ``deliver()`` is its worker
    (runs what the job queue holds: reset requests, then the outbox)."""

    live: LiveServer
    mailbox: object  # smtp_server.Collector

    def deliver(self) -> None:
        from helpers import run_jobs

        run_jobs(self.live.app)

    def link_to(self, address: str, path: str) -> str:
        """The path of the last link to ``path`` e-mailed to ``address``, sent now."""
        from helpers import link_in_mail

        self.deliver()
        return link_in_mail(self.mailbox, address, path)


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory, password_hash, shipped_courses):
    """The shipped courses, with e-mail delivered to an SMTP server the tests read."""
    from smtp_server import start_server

    controller, collector = start_server()
    workdir = tmp_path_factory.mktemp("live-mail")
    try:
        with _serve(
            workdir,
            COURSES,
            password_hash,
            shipped_courses,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=controller.port,
        ) as server:
            server.app.config["BASE_URL"] = server.url  # links in e-mails lead here
            yield MailServer(server, collector)
    finally:
        controller.stop()


@dataclass
class SsoServer:
    """A live server whose single sign-on is a real OpenID provider (``oidc_provider``)."""

    live: LiveServer
    provider: object  # oidc_provider.Provider


@pytest.fixture(scope="session")
def sso_server(tmp_path_factory, password_hash, shipped_courses):
    """The shipped courses, with single sign-on through the npm ``oidc-provider``, whose
    accounts are ``SSO_ACCOUNTS`` (sub -> claims)."""
    from oidc_provider import CLIENT_ID, CLIENT_SECRET, missing, start_provider
    from smtp_server import free_port

    if (reason := missing()) is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"the OpenID provider cannot run: {reason}", pytrace=False)
        pytest.skip(f"the OpenID provider cannot run: {reason}")
    port = free_port()
    with _serve(
        tmp_path_factory.mktemp("live-sso"),
        COURSES,
        password_hash,
        shipped_courses,
        OIDC_ISSUER=f"http://127.0.0.1:{port}",  # read when someone first uses it
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET=CLIENT_SECRET,
    ) as server:
        server.app.config["BASE_URL"] = server.url
        provider = start_provider([f"{server.url}/login/sso/callback"], SSO_ACCOUNTS, port=port)
        try:
            yield SsoServer(server, provider)
        finally:
            provider.stop()


SSO_ACCOUNTS = {
    "grace-sub": {"email": "grace@example.test", "email_verified": True, "name": "Grace H"},
}


@pytest.fixture(scope="session")
def quick_server(tmp_path_factory, password_hash):
    """The shipped courses without ``min_minutes``: any module can be marked as read at once."""
    workdir = tmp_path_factory.mktemp("live-quick")
    tree = _without_min_minutes(COURSES, workdir / "courses")
    with _serve(workdir, tree, password_hash) as server:
        slow = [
            f"{c.slug}/{m.stem}"
            for c in server.courses.values()
            for m in c.modules
            if m.min_minutes
        ]
        assert not slow, f"min_minutes survived the copy: {slow}"
        yield server


# ---------------------------------------------------------------------------------------------
# Pages, the XSS oracle and axe


@dataclass
class _Watch:
    """What one page did that the test must answer for."""

    origin: str
    # Other servers the test sends the browser to on purpose (an OpenID provider): reaching
    # them is expected, and their pages are not Candor's to check with axe.
    others: tuple[str, ...] = ()
    dialogs: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    checked: set[int] = field(default_factory=set)

    def unchecked(self) -> list[str]:
        return [
            url
            for i, url in enumerate(self.loads)
            if i not in self.checked and not url.startswith(self.others)
        ]


_WATCH_KEY = "_candor_watch"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item._candor_call_passed = report.passed
    return report


@pytest.fixture
def open_page(browser, request):
    """Factory: ``open_page(server, viewport=DESKTOP)`` -> a Playwright page, fresh cookies."""
    contexts = []
    watches: list[_Watch] = []

    def open_(server: LiveServer, viewport: dict | None = None, others: tuple[str, ...] = ()):
        context = browser.new_context(
            base_url=server.url,
            bypass_csp=True,  # axe is injected as a script; the app allows 'self' only
            viewport=viewport or DESKTOP,
            locale="en-GB",
            timezone_id="UTC",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        watch = _Watch(origin=server.url, others=tuple(f"{o}/" for o in others))
        watches.append(watch)
        setattr(page, _WATCH_KEY, watch)

        def on_dialog(dialog):
            watch.dialogs.append(f"{dialog.type} {dialog.message!r} on {page.url}")
            dialog.dismiss()

        def on_request(request):
            url = request.url
            if not (
                url.startswith((watch.origin + "/", *watch.others))
                or url.startswith(("data:", "about:"))
            ):
                watch.foreign_requests.append(url)

        def on_response(response):
            if response.status >= 500:
                watch.server_errors.append(
                    f"{response.status} for {response.request.method} {response.url}"
                )

        def on_load(loaded):
            if not loaded.url.startswith("about:"):
                watch.loads.append(loaded.url)

        page.on("dialog", on_dialog)
        page.on("request", on_request)
        page.on("response", on_response)
        page.on("load", on_load)
        return page

    yield open_

    for context in contexts:
        context.close()
    problems = []
    for watch in watches:
        problems += [f"a JavaScript dialog opened (script injection?): {d}" for d in watch.dialogs]
        problems += [
            f"a page requested something outside Candor: {u}" for u in watch.foreign_requests
        ]
        problems += [f"the server failed: {e}" for e in watch.server_errors]
        if getattr(request.node, "_candor_call_passed", False):
            # Only worth saying when nothing else went wrong first.
            problems += [
                f"page loaded but never checked with assert_accessible: {u}"
                for u in watch.unchecked()
            ]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def _fail_on_oracles(watch: _Watch) -> None:
    if watch.dialogs:
        pytest.fail(
            "a JavaScript dialog opened (script injection?): " + "; ".join(watch.dialogs),
            pytrace=False,
        )
    if watch.server_errors:
        pytest.fail("the server failed: " + "; ".join(watch.server_errors), pytrace=False)


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            target = " ".join(" ".join(t) if isinstance(t, list) else t for t in node["target"])
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
        if len(v["nodes"]) > 10:
            lines.append(f"    ... and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


def check_accessible(page) -> None:
    """Run axe on the page as it is now; fail on serious or critical WCAG 2.1 AA violations."""
    watch: _Watch | None = getattr(page, _WATCH_KEY, None)
    page.wait_for_load_state("load")
    if watch is not None:
        _fail_on_oracles(watch)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE_URL)
    # Only the violations come back: axe's passes and incomplete lists, unused here, made each
    # answer tens of kilobytes that the driver and Python parsed for nothing.
    results = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                      resultTypes: ['violations']})
                     .then(results => ({violations: results.violations}))""",
        AXE_TAGS,
    )
    if watch is not None and watch.loads:
        watch.checked.add(len(watch.loads) - 1)
    failing = [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]
    if failing:
        title = page.title()
        pytest.fail(
            f"axe found {len(failing)} serious/critical WCAG 2.1 AA violation(s) on "
            f"{page.url} ({title!r}):\n{_describe(failing)}",
            pytrace=False,
        )


@pytest.fixture
def assert_accessible():
    """``assert_accessible(page)``: axe-core on the page; serious/critical violations fail."""
    return check_accessible


# ---------------------------------------------------------------------------------------------
# Signing in, as a user does


@pytest.fixture
def sign_in(browser, assert_accessible):
    """``sign_in(page, account)``: fill the sign-in form by its labels and submit it."""
    from playwright.sync_api import expect

    def sign_in_(page, account: Account, *, start: str = "/login"):
        page.goto(start)
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
        assert_accessible(page)
        page.get_by_label("Work e-mail").fill(account.email)
        page.get_by_label("Password").fill(account.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
        assert_accessible(page)

    return sign_in_
