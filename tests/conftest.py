"""Shared fixtures: an app on a fresh database per test, on SQLite and (when
``CANDOR_TEST_POSTGRES_URL`` is set) on PostgreSQL; factories for users and courses.

What costs the same for every test is done once per run: the scrypt hash of
``helpers.PASSWORD`` (at a lower cost, see helpers.PASSWORD_METHOD), the shipped ``courses/``
read into immutable objects,
and, on SQLite, the empty schema and the schema with the shipped courses published, each
built once into a template file that every test copies.
"""

from __future__ import annotations

import base64
import gc
import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from helpers import PASSWORD, PASSWORD_METHOD, list_courses, login
from jinja2 import BytecodeCache
from quiz_course import write_quiz_course
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app import create_app
from app.content.loader import LoadedTree, load_tree
from app.content.sync import SyncReport, sync_courses
from app.db import Base, dispose_engines, make_engine
from app.models import Course, CourseVersion, Role, User

ROOT = Path(__file__).resolve().parent.parent
COURSES = ROOT / "courses"
REFRESHER = "ai-data-refresher"
POSTGRES_URL = os.environ.get("CANDOR_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
# One signing key per run, so that no test writes a key into the real instance/ folder.
TEST_SIGNING_KEY = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()


def pytest_configure(config):
    """Collect garbage ten times less often than Python's default (every 700 allocations).

    Every test allocates heavily (an app, its URL map and templates, SQLAlchemy statements,
    WeasyPrint documents), so the default threshold ran the collector thousands of times a
    run. What tests free is collected as before, only later; PostgreSQL's cleanup collects at
    once when a straggler needs it.
    """
    gc.set_threshold(10_000, 10, 10)


def pytest_collection_modifyitems(config, items):
    """A test marked ``postgres_only`` (``sqlite_only``) runs against that database alone: its
    copy for the other is left out (deselected, so nothing is reported as skipped)."""
    only = {"postgres_only": "postgresql", "sqlite_only": "sqlite"}

    def other_backend(item) -> bool:
        callspec = getattr(item, "callspec", None)
        return callspec is not None and any(
            item.get_closest_marker(marker) and callspec.params.get("database_url") != backend
            for marker, backend in only.items()
        )

    left_out = [item for item in items if other_backend(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not other_backend(item)]


def pytest_collection_finish(session):
    """Keep what collection imported out of every later full collection: it lives for the
    run, and walking it again each time cost several seconds."""
    gc.collect()
    gc.freeze()


def pytest_report_header(config):
    if POSTGRES_URL:
        return "database backends: sqlite, postgresql"
    return "database backends: sqlite only (set CANDOR_TEST_POSTGRES_URL for PostgreSQL)"


@pytest.fixture(scope="session")
def postgres_engine():
    """One engine for the PostgreSQL test database, its schema created once per run."""
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


_IN_TRANSACTION = (
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND state LIKE 'idle in transaction%'"
)


def _truncate_postgres(engine) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    # A response an earlier test never finished reading can still hold its request's session
    # (and its locks) until it is collected: collect it, and end any such straggler, so that
    # every test starts from an empty database instead of waiting on a dead one. A full
    # collection costs about 0.1 s, so it runs only when some session is in a transaction.
    with engine.begin() as connection:
        stragglers = connection.scalar(text(f"SELECT count(*) {_IN_TRANSACTION}"))
    if stragglers:
        gc.collect()
        with engine.begin() as connection:
            connection.execute(text(f"SELECT pg_terminate_backend(pid) {_IN_TRANSACTION}"))
    with engine.begin() as connection:
        # A session some earlier test left open would make TRUNCATE wait for ever: fail fast.
        connection.execute(text("SET LOCAL lock_timeout = '20s'"))
        # TRUNCATE fires no row triggers, so the append-only audit table can be emptied here.
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The hash of PASSWORD every test user shares, made once (see helpers.PASSWORD_METHOD)."""
    return generate_password_hash(PASSWORD, method=PASSWORD_METHOD)


@pytest.fixture(scope="session")
def shipped_courses() -> LoadedTree:
    """The shipped courses/, read once: the loader returns immutable objects."""
    tree = load_tree(COURSES)
    assert not tree.problems, "\n".join(str(p) for p in tree.problems)
    return tree


@pytest.fixture(scope="session")
def refresher_without_quiz(tmp_path_factory) -> LoadedTree:
    """The shipped refresher with its quiz taken out, read once: reading it to the end
    completes it and issues the certificate."""
    target = tmp_path_factory.mktemp("no-quiz")
    shutil.copytree(
        COURSES / REFRESHER, target / REFRESHER, ignore=shutil.ignore_patterns("quiz.md")
    )
    tree = load_tree(target)
    assert not tree.problems, "\n".join(str(p) for p in tree.problems)
    assert [c.quiz for c in tree.courses] == [None]
    return tree


@pytest.fixture(scope="session")
def quiz_demo(tmp_path_factory) -> LoadedTree:
    """The quiz demo course of ``quiz_course.py`` (every kind of quiz unit), read once."""
    root = tmp_path_factory.mktemp("quiz-demo")
    write_quiz_course(root)
    tree = load_tree(root)
    assert not tree.problems, "\n".join(str(p) for p in tree.problems)
    return tree


@dataclass(frozen=True)
class SQLiteTemplates:
    empty: Path
    published: Path  # the shipped courses synced into an empty database
    report_lines: tuple[str, ...]  # what that sync reported
    published_ids: tuple[int, ...]  # the course versions it published


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory, shipped_courses) -> SQLiteTemplates:
    """Two SQLite files every test starts from a copy of: creating the schema and publishing
    the courses cost far more than copying a file."""
    folder = tmp_path_factory.mktemp("sqlite-templates")
    empty, published = folder / "empty.sqlite3", folder / "published.sqlite3"
    for path in (empty, published):
        engine = make_engine(f"sqlite:///{path}")
        Base.metadata.create_all(engine)
        if path == published:
            with Session(engine) as session:
                report = sync_courses(session, shipped_courses)
                list_courses(session)
                session.commit()
                published_ids = tuple(version.id for version in report.published)
        engine.dispose()  # the last connection checkpoints the WAL back into the file
        assert not path.with_name(path.name + "-wal").exists()
    return SQLiteTemplates(
        empty=empty,
        published=published,
        report_lines=tuple(report.lines),
        published_ids=published_ids,
    )


def _starts_published(request) -> bool:
    """True when a test's SQLite database is copied with the shipped courses already in it,
    which is the state ``synced`` promises."""
    return (
        "synced" in request.fixturenames
        and request.node.callspec.params.get("database_url") == "sqlite"
    )


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A URL for an empty database with the current schema (with the shipped courses
    published, on SQLite, when the test asks for ``synced``)."""
    if request.param == "sqlite":
        templates = request.getfixturevalue("sqlite_templates")
        path = tmp_path / "candor.sqlite3"
        shutil.copyfile(
            templates.published if _starts_published(request) else templates.empty, path
        )
        return f"sqlite:///{path}"
    engine = request.getfixturevalue("postgres_engine")
    _truncate_postgres(engine)
    return POSTGRES_URL


class _RunBytecodeCache(BytecodeCache):
    """Compiled templates kept in memory for the run. Every test's app compiles the same
    templates with the same settings (create_app's), which otherwise costs each test ~10 ms;
    Jinja compares the source's checksum before it uses a stored template."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if (compiled := self._compiled.get(bucket.key)) is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _RunBytecodeCache()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": database_url,
            "RATELIMIT_STORAGE_URL": "memory://",
            "CERTIFICATE_SIGNING_KEY": TEST_SIGNING_KEY,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    app.jinja_env.bytecode_cache = _TEMPLATES
    yield app
    dispose_engines(app)


@pytest.fixture
def build_app(app):
    """Factory: a second app on the same database with some configuration overridden."""
    built = []

    def build(**overrides):
        other = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": app.config["SECRET_KEY"],
                "DATABASE_URL": app.config["DATABASE_URL"],
                "RATELIMIT_STORAGE_URL": "memory://",
                "CERTIFICATE_SIGNING_KEY": TEST_SIGNING_KEY,
                **overrides,
            }
        )
        other.instance_path = app.instance_path
        other.jinja_env.bytecode_cache = _TEMPLATES
        built.append(other)
        return other

    yield build
    for other in built:
        dispose_engines(other)


@pytest.fixture
def db(app):
    """A session of the test's own, on the app's database."""
    session = app.extensions["candor.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(db, password_hash):
    """Factory: ``make_user(roles={Role.HR})`` returns a saved user whose password is PASSWORD."""
    serial = itertools.count(1)

    def make(roles=frozenset({Role.LEARNER}), **fields):
        number = next(serial)
        fields.setdefault("email", f"user{number}@example.test")
        fields.setdefault("name", f"Test User {number}")
        user = User(**fields)
        user.roles = set(roles)
        user.password_hash = password_hash
        db.add(user)
        db.commit()
        return user

    return make


@pytest.fixture
def course_tree(tmp_path):
    """A copy of the shipped courses/ that a test may change."""
    target = tmp_path / "courses"
    shutil.copytree(COURSES, target)
    return target


@pytest.fixture
def synced(request, db, shipped_courses):
    """Publish the shipped courses; returns the sync report.

    On SQLite the test's database was copied from a template that has them published already
    (see ``database_url``), so only the report is left to give.
    """
    if _starts_published(request):
        templates = request.getfixturevalue("sqlite_templates")
        report = SyncReport(
            lines=list(templates.report_lines),
            published=[db.get(CourseVersion, i) for i in templates.published_ids],
        )
        db.commit()  # as after a sync: no transaction left open to hide what the app writes
        return report
    report = sync_courses(db, shipped_courses)
    list_courses(db)
    db.commit()
    return report


@pytest.fixture
def courses(db, synced):
    """The shipped courses, published, by slug."""
    return {c.slug: c for c in db.scalars(select(Course))}


@pytest.fixture
def signed_in(client, make_user):
    """Factory: ``signed_in(roles={Role.HR})`` creates a user and signs ``client`` in as them."""

    def sign_in(roles=frozenset({Role.LEARNER}), **fields):
        user = make_user(roles=roles, **fields)
        response = login(client, user)
        assert response.status_code == 303, response.get_data(as_text=True)
        return user

    return sign_in


@pytest.fixture
def mailbox(app):
    """The suite's SMTP server (``smtp_server``), the app set to send to it; yields what it
    received (``Collector``). ``helpers.run_jobs(app)`` is the worker that sends."""
    from smtp_server import start_server

    controller, collector = start_server()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    yield collector
    controller.stop()
