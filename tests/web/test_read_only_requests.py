"""A GET reads through connections that refuse to write (PostgreSQL's read-only transactions,
SQLite's query_only), in autocommit: each statement a read-only transaction of its own, with
no BEGIN, COMMIT or ROLLBACK (on PostgreSQL a ROLLBACK drops the connection's prepared
statements, so the server planned every statement of every page again). A GET view that
writes says so with ``db.writes``."""

from __future__ import annotations

import pytest
from flask import g
from flask_login import current_user
from helpers import list_courses, read_in_turn
from quiz_course import SLUG
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from app.content.sync import sync_courses
from app.db import READ_ENGINE, get_connection, get_session, session_is_open, writer, writes
from app.models import Role, User
from app.progress.reading import current_version, find_course
from app.quizzes.attempts import start_attempt
from app.security import public


@pytest.fixture
def routes(app):
    """Test-only GET routes (added before the app serves its first request)."""

    @public
    def rename_quietly():
        get_session().execute(update(User).values(name="Written by a GET"))
        get_session().commit()  # nosemgrep: candor-get-route-commits (what is tested)
        return "written"

    @public
    @writes
    def rename_openly():
        return rename_quietly()

    @public
    def prepared():
        return str(get_session().scalar(text("SELECT count(*) FROM pg_prepared_statements")))

    @public
    def in_transaction():
        session = get_session()
        session.execute(text("SELECT 1"))
        return str(session.connection().connection.dbapi_connection.in_transaction)

    @public
    def transactions():
        session = get_session()
        session.execute(text("SELECT 1"))
        alone = session.scalar(text("SELECT transaction_timestamp() = statement_timestamp()"))
        return f"{alone} {session.scalar(text('SHOW transaction_read_only'))}"

    for view in (rename_quietly, rename_openly, prepared, in_transaction, transactions):
        app.add_url_rule(f"/test/{view.__name__}", view.__name__, view)
    return app


def names(db) -> list[str]:
    db.rollback()
    return list(db.scalars(select(User.name)))


@pytest.mark.usefixtures("routes")
def test_a_get_that_writes_without_saying_so_is_refused_and_writes_nothing(client, db, make_user):
    make_user(name="Ada Example")
    assert client.get("/test/rename_quietly").status_code == 500
    assert names(db) == ["Ada Example"]


@pytest.mark.usefixtures("routes")
def test_a_get_declared_as_writing_writes(client, db, make_user):
    make_user(name="Ada Example")
    assert client.get("/test/rename_openly").status_code == 200
    assert names(db) == ["Written by a GET"]


@pytest.mark.postgres_only
@pytest.mark.usefixtures("routes", "courses")
def test_pages_keep_their_prepared_statements(app, client, signed_in):
    signed_in()
    assert client.get("/test/prepared").get_data(as_text=True) == "0"
    for _ in range(6):  # psycopg prepares a statement on its fifth execution
        assert client.get("/dashboard").status_code == 200
    assert int(client.get("/test/prepared").get_data(as_text=True)) > 0


@pytest.mark.postgres_only
@pytest.mark.usefixtures("routes")
def test_each_statement_of_a_get_is_a_read_only_transaction_of_its_own(client):
    # Its second statement began a transaction of its own (no BEGIN before the first), read-only.
    assert client.get("/test/transactions").get_data(as_text=True) == "True on"


@pytest.mark.sqlite_only
@pytest.mark.usefixtures("routes")
def test_a_get_on_sqlite_reads_outside_any_transaction(client):
    assert client.get("/test/in_transaction").get_data(as_text=True) == "False"


def test_what_must_write_within_a_get_writes_through_the_app_engine(app, db, make_user):
    user = make_user(name="Ada Example")
    db.commit()
    with app.test_request_context("/", method="GET"):
        session = get_session()
        assert session.get_bind() is app.extensions[READ_ENGINE]
        assert writer(session) is app.extensions["candor.engine"]
        with writer(session).begin() as connection:  # as a PDF kept on first download is
            connection.execute(update(User).where(User.id == user.id).values(name="Kept"))
    assert names(db) == ["Kept"]


def test_a_get_reads_rows_without_an_orm_session_and_closes_the_connection(app):
    with app.test_request_context("/", method="GET"):
        connection = get_connection()
        assert connection is get_connection()  # one per request
        assert connection.engine is app.extensions[READ_ENGINE]
        assert connection.execute(text("SELECT 1")).scalar() == 1
        assert "db_session" not in g
        with pytest.raises(DBAPIError):  # it reads, never writes
            connection.execute(update(User).values(name="Written by a GET"))
    assert connection.closed


def test_a_request_with_a_session_reads_rows_in_its_transaction(app, make_user):
    user = make_user(name="Ada Example")
    with app.test_request_context("/", method="POST"):
        session = get_session()
        session.get(User, user.id).name = "Renamed"
        session.flush()
        assert get_connection() is session.connection()
        assert get_connection().scalar(select(User.name).where(User.id == user.id)) == "Renamed"
        session.rollback()
    with app.test_request_context("/", method="GET"):
        session = get_session()  # a signed-in user is loaded through it before the view runs
        assert get_connection() is session.connection()


@pytest.fixture
def sessions_opened(app, monkeypatch):
    """How many ORM sessions the app opens (a list, one entry each)."""
    opened: list[int] = []
    make = app.extensions["candor.sessionmaker"]

    def counting(**options):
        opened.append(1)
        return make(**options)

    monkeypatch.setitem(app.extensions, "candor.sessionmaker", counting)
    return opened


def test_learner_pages_read_without_an_orm_session(
    client, db, quiz_demo, signed_in, sessions_opened
):
    """The pages a learner opens most read rows in Core, the account included: no ORM session
    is made (or closed) for them at all."""
    sync_courses(db, quiz_demo)
    list_courses(db)
    db.commit()
    user = signed_in()
    version = current_version(db, user, find_course(db, SLUG))
    read_in_turn(db, user, version.modules)
    attempt = start_attempt(db, user, find_course(db, SLUG))
    db.commit()
    pages = [
        "/dashboard",
        f"/courses/{SLUG}",
        f"/courses/{SLUG}/v{version.number}/{version.modules[0].stem}",
        f"/attempts/{attempt.id}",
    ]
    sessions_opened.clear()
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert "Sign out" in response.get_data(as_text=True)  # signed in: the account was read
    assert sessions_opened == []


@pytest.fixture
def adoption(app):
    @public
    def adopted():
        user = current_user._get_current_object()  # loaded now (the route is public)
        before = session_is_open()
        session = get_session()
        same = session.get(User, user.id) is user  # the session's own object, no statement
        roles = sorted(link.role.value for link in user.role_links)  # a lazy load through it
        return f"{before} {same} {roles} {user.has_role(Role.HR)}"

    app.add_url_rule("/test/adopted", "adopted", adopted)
    return app


@pytest.mark.usefixtures("adoption")
def test_an_account_read_in_core_is_the_sessions_own_once_it_opens(client, signed_in):
    signed_in(roles={Role.LEARNER, Role.HR})
    assert client.get("/test/adopted").get_data(as_text=True) == "False True ['hr', 'learner'] True"


def test_an_account_that_changed_since_is_not_signed_in(client, db, signed_in):
    user = signed_in()
    assert client.get("/dashboard").status_code == 200
    db.get(User, user.id).active = False
    db.commit()
    response = client.get("/dashboard")
    assert response.status_code == 303 and "/login" in response.headers["Location"]
