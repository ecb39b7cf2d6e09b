"""Shared fixtures: an app on a fresh database per test, on SQLite and (when
``CANDOR_TEST_POSTGRES_URL`` is set) on PostgreSQL; factories for users and courses."""

from __future__ import annotations

import base64
import gc
import itertools
import os
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from helpers import PASSWORD, login
from sqlalchemy import text

from app import create_app
from app.content.loader import load_tree
from app.content.sync import sync_courses
from app.db import Base, make_engine
from app.models import Role, User

ROOT = Path(__file__).resolve().parent.parent
COURSES = ROOT / "courses"
POSTGRES_URL = os.environ.get("CANDOR_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
# One signing key per run, so that no test writes a key into the real instance/ folder.
TEST_SIGNING_KEY = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()


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


def _truncate_postgres(engine) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    # A response an earlier test never finished reading can still hold its request's session
    # (and its locks) until it is collected: collect it, and end any such straggler, so that
    # every test starts from an empty database instead of waiting on a dead one.
    gc.collect()
    with engine.begin() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state LIKE 'idle in transaction%'"))
    with engine.begin() as connection:
        # A session some earlier test left open would make TRUNCATE wait for ever: fail fast.
        connection.execute(text("SET LOCAL lock_timeout = '20s'"))
        # TRUNCATE fires no row triggers, so the append-only audit table can be emptied here.
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A URL for an empty database with the current schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'candor.sqlite3'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        return url
    engine = request.getfixturevalue("postgres_engine")
    _truncate_postgres(engine)
    return POSTGRES_URL


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URL": "memory://",
        "CERTIFICATE_SIGNING_KEY": TEST_SIGNING_KEY,
    })
    app.instance_path = str(tmp_path / "instance")
    yield app
    app.extensions["candor.engine"].dispose()


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
def make_user(db):
    """Factory: ``make_user(roles={Role.HR})`` returns a saved user whose password is PASSWORD."""
    serial = itertools.count(1)

    def make(roles=frozenset({Role.LEARNER}), **fields):
        number = next(serial)
        fields.setdefault("email", f"user{number}@example.test")
        fields.setdefault("name", f"Test User {number}")
        user = User(**fields)
        user.roles = set(roles)
        user.set_password(PASSWORD)
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
def synced(db):
    """Publish the shipped courses; returns the sync report."""
    report = sync_courses(db, load_tree(COURSES))
    db.commit()
    return report


@pytest.fixture
def signed_in(client, make_user):
    """Factory: ``signed_in(roles={Role.HR})`` creates a user and signs ``client`` in as them."""

    def sign_in(roles=frozenset({Role.LEARNER}), **fields):
        user = make_user(roles=roles, **fields)
        response = login(client, user)
        assert response.status_code == 303, response.get_data(as_text=True)
        return user

    return sign_in
