"""Database engine, the declarative base, and one session per app context.

Services take a session, ``flush()`` and never ``commit()``; views and CLI commands own the
commit. The session is closed at teardown, which rolls back whatever was not committed.

A GET (or HEAD) request reads, through an engine of its own whose connections refuse to
write (PostgreSQL's ``default_transaction_read_only``, SQLite's ``query_only``) and run in
autocommit: each statement is a read-only transaction of its own, with no BEGIN and no
COMMIT or ROLLBACK around it. On PostgreSQL that is what a page saw before (under READ
COMMITTED every statement of a transaction took a snapshot of its own anyway) without two
round trips a page, and with no ROLLBACK, which drops the connection's prepared statements
(psycopg clears them all at every ROLLBACK). A GET view that does write says so with
``@writes``; work that must write or stream from within a GET (a PDF kept on first download,
an export's server-side cursor) takes its connection from ``writer(session)``.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DDL, JSON, DateTime, Executable, MetaData, create_engine, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, CursorResult, Engine, Result, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.errors import NotFound

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time in UTC (a callable for column defaults, never a value)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime: store times in UTC with tzinfo")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON(), list: JSON()}


def make_append_only(table, what: str) -> None:
    """Have the database refuse UPDATE and DELETE on ``table`` (SQLite and PostgreSQL).

    The DDL runs when the table is created from the models (the tests); the migrations carry
    the same statements for real databases.
    """
    name = table.name
    statements = {
        "sqlite": [
            f"CREATE TRIGGER {name}_no_update BEFORE UPDATE ON {name} "
            f"BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END",
            f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {name} "
            f"BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END",
        ],
        "postgresql": [
            f"CREATE OR REPLACE FUNCTION {name}_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{what} are append-only'; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {name}_no_change BEFORE UPDATE OR DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}_append_only()",
        ],
    }
    for dialect, ddl in statements.items():
        for statement in ddl:
            # Trigger DDL has no expression-language form; the statements hold no values.
            trigger = DDL(statement)  # nosemgrep: candor-raw-sql
            event.listen(table, "after_create", trigger.execute_if(dialect=dialect))


def guarded_update_statements(
    name: str,
    what: str,
    frozen: list[str],
    final_when: str,
    released: list[str] | None = None,
    released_when: str | None = None,
    written_once: tuple[str, ...] = (),
) -> dict[str, list[str]]:
    """DDL that lets the database refuse every change to ``name`` but those its rules make:
    the ``frozen`` columns never change, a row for which ``final_when`` (SQL over ``OLD``)
    holds never changes again, and no row is deleted. SQLite and PostgreSQL.

    ``released`` columns change only in an update for which ``released_when`` (SQL over
    ``OLD`` and ``NEW``) holds, final row or not: an erasure replacing a name, once. A
    ``written_once`` column may be set once from NULL (a certificate's PDF, rendered after
    its issue), and changes after that only as ``released_when`` allows."""
    sqlite_columns = ", ".join(frozen)
    pg_changed = " OR ".join(
        f"NEW.{column}::text IS DISTINCT FROM OLD.{column}::text" for column in frozen
    )
    unless = f" AND NOT ({released_when})" if released and released_when else ""
    sqlite_once = [
        f"CREATE TRIGGER {name}_{column}_once BEFORE UPDATE OF {column} ON {name} "
        f"WHEN OLD.{column} IS NOT NULL AND NEW.{column} IS NOT OLD.{column}{unless} "
        f"BEGIN SELECT RAISE(ABORT, '{what}: {column} is written once'); END"
        for column in written_once
    ]
    pg_once = "".join(
        f"IF OLD.{column} IS NOT NULL AND NEW.{column} IS DISTINCT FROM OLD.{column} THEN "
        f"RAISE EXCEPTION '{what}: {column} is written once'; END IF; "
        for column in written_once
    )
    if not released or not released_when:
        return {
            "sqlite": [
                f"CREATE TRIGGER {name}_frozen BEFORE UPDATE OF {sqlite_columns} ON {name} "
                f"BEGIN SELECT RAISE(ABORT, '{what}: these columns never change'); END",
                *sqlite_once,
                f"CREATE TRIGGER {name}_final BEFORE UPDATE ON {name} WHEN {final_when} "
                f"BEGIN SELECT RAISE(ABORT, '{what} are final'); END",
                f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {name} "
                f"BEGIN SELECT RAISE(ABORT, '{what} are never deleted'); END",
            ],
            "postgresql": [
                f"CREATE OR REPLACE FUNCTION {name}_guard() RETURNS trigger AS $$ BEGIN "
                f"IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{what} are never deleted'; END IF; "
                f"IF {pg_changed} THEN RAISE EXCEPTION '{what}: these columns never change'; "
                f"END IF; {pg_once}"
                f"IF {final_when} THEN RAISE EXCEPTION '{what} are final'; END IF; "
                f"RETURN NEW; END; $$ LANGUAGE plpgsql",
                f"CREATE TRIGGER {name}_guard BEFORE UPDATE OR DELETE ON {name} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}_guard()",
            ],
        }
    sqlite_released = ", ".join(released)
    pg_released = " OR ".join(
        f"NEW.{column}::text IS DISTINCT FROM OLD.{column}::text" for column in released
    )
    return {
        "sqlite": [
            f"CREATE TRIGGER {name}_frozen BEFORE UPDATE OF {sqlite_columns} ON {name} "
            f"BEGIN SELECT RAISE(ABORT, '{what}: these columns never change'); END",
            f"CREATE TRIGGER {name}_released BEFORE UPDATE OF {sqlite_released} ON {name} "
            f"WHEN NOT ({released_when}) "
            f"BEGIN SELECT RAISE(ABORT, '{what}: these columns change only by an erasure'); END",
            *sqlite_once,
            f"CREATE TRIGGER {name}_final BEFORE UPDATE ON {name} "
            f"WHEN ({final_when}) AND NOT ({released_when}) "
            f"BEGIN SELECT RAISE(ABORT, '{what} are final'); END",
            f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {name} "
            f"BEGIN SELECT RAISE(ABORT, '{what} are never deleted'); END",
        ],
        "postgresql": [
            f"CREATE OR REPLACE FUNCTION {name}_guard() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{what} are never deleted'; END IF; "
            f"IF {pg_changed} THEN RAISE EXCEPTION '{what}: these columns never change'; "
            f"END IF; "
            f"IF ({released_when}) THEN RETURN NEW; END IF; "
            f"IF {pg_released} THEN "
            f"RAISE EXCEPTION '{what}: these columns change only by an erasure'; END IF; "
            f"{pg_once}"
            f"IF {final_when} THEN RAISE EXCEPTION '{what} are final'; END IF; "
            f"RETURN NEW; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {name}_guard BEFORE UPDATE OR DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}_guard()",
        ],
    }


def guard_updates(
    table,
    what: str,
    frozen: list[str],
    final_when: str,
    released: list[str] | None = None,
    released_when: str | None = None,
    written_once: tuple[str, ...] = (),
) -> None:
    """Install :func:`guarded_update_statements` when ``table`` is created from the models
    (the tests); the migrations carry the same statements for real databases."""
    statements = guarded_update_statements(
        table.name, what, frozen, final_when, released, released_when, written_once
    )
    for dialect, ddl in statements.items():
        for statement in ddl:
            trigger = DDL(statement)  # nosemgrep: candor-raw-sql (fixed DDL, no values)
            event.listen(table, "after_create", trigger.execute_if(dialect=dialect))


# Names sort the way people's languages sort them ("Ígor" with "Igor", not after "Zoë"):
# ICU's root collation (the Unicode Collation Algorithm with CLDR's defaults), which
# PostgreSQL names "und-x-icu". SQLite has no such collation, so each SQLite connection gets
# one of the same name from PyICU, over the same ICU library: both backends give one order.
NAME_COLLATION = "und-x-icu"


def _collator() -> Any:
    import icu

    return icu.Collator.createInstance(icu.Locale.getRoot())


def _icu_compare() -> Any:
    return _collator().compare


_SORT_COLLATOR: list[Any] = []


def name_sort_key(text: str) -> bytes:
    """``text``'s key in ``NAME_COLLATION``: sorts in Python as the database sorts."""
    if not _SORT_COLLATOR:
        _SORT_COLLATOR.append(_collator())
    return bytes(_SORT_COLLATOR[0].getSortKey(text))


def make_engine(url: str, *, reading: bool = False) -> Engine:
    """Create the engine for ``url``; SQLite connections get foreign keys turned on.
    ``reading``: the engine GET requests read through, its connections read-only and in
    autocommit (see the module docstring)."""
    options: dict = {}
    sqlite = url.startswith("sqlite")
    if sqlite:
        options["connect_args"] = {"timeout": 15}
    else:
        options.update(pool_size=5, max_overflow=5)
    if reading and not sqlite:
        # Added to any server options the URL gives (libpq's ``options``).
        given = make_url(url).query.get("options", "")
        given = " ".join(given) if isinstance(given, tuple) else given
        options.update(
            isolation_level="AUTOCOMMIT",
            connect_args={"options": f"{given} -c default_transaction_read_only=on".strip()},
        )
    engine = create_engine(url, **options)
    if not sqlite:
        _ping_when_idle(engine)
    else:
        event.listen(engine, "connect", _sqlite_on_connect)
        if reading:  # no BEGIN: pysqlite, told to begin nothing itself, runs in autocommit
            event.listen(engine, "connect", _sqlite_query_only)
        else:
            event.listen(engine, "begin", _sqlite_begin)
    return engine


# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out,
# and replaced if the server has dropped it (restarted, or ended idle sessions): SQLAlchemy's
# pre-ping, but not at every checkout. Under traffic no connection stays idle that long, so a
# page pays no round trip for a ping. A connection dropped within this time of its last use
# fails the one request it serves; SQLAlchemy then replaces every connection of the pool.
PING_AFTER_IDLE_SECONDS = 5.0
_LAST_USED = "candor_last_used"


def _ping_when_idle(engine: Engine) -> None:
    """Have ``engine``'s pool ping a connection idle for PING_AFTER_IDLE_SECONDS or more when
    it is checked out (a DisconnectionError makes the pool take a new one)."""

    def in_use(_dbapi_connection, record, *_proxy) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        last_used = record.info.get(_LAST_USED, 0.0)
        if time.monotonic() - last_used < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the driver raises: a new connection is taken
            raise DisconnectionError(f"a pooled connection did not answer: {error}") from error
        in_use(dbapi_connection, record)

    event.listen(engine, "connect", in_use)
    event.listen(engine, "checkin", in_use)
    event.listen(engine, "checkout", ping_if_idle)


def _reading_engine(url: str) -> Engine | None:
    """The engine GETs read through, or None where they read through the app's own: an
    in-memory SQLite database is one per connection, so another engine would not see it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return None
    return make_engine(url, reading=True)


# The execution option that makes SQLite begin a transaction IMMEDIATE (``get_session`` sets it
# for requests that may write): a deferred transaction that read before another connection
# committed a write can never write itself ("database is locked" at once, whatever the busy
# timeout), which made simultaneous submissions fail; an immediate one takes the write lock at
# BEGIN, waiting its turn for up to the busy timeout, while readers go on (WAL).
SQLITE_IMMEDIATE = "candor_sqlite_immediate"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# app.extensions key: the engine GET requests read through (None: the app's own, for an
# in-memory SQLite database).
READ_ENGINE = "candor.read_engine"
# Each reading engine's engine for writes (see ``writer``).
_WRITERS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _sqlite_begin(connection) -> None:
    if connection.get_execution_options().get(SQLITE_IMMEDIATE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # nosemgrep: candor-raw-sql (fixed)
    else:
        connection.exec_driver_sql("BEGIN")  # nosemgrep: candor-raw-sql (a fixed statement)


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # pysqlite begins a transaction only before the first write, so a SAVEPOINT taken first
    # would be released as a commit of everything; SQLAlchemy emits BEGIN itself instead
    # (_sqlite_begin), as its documentation recommends.
    dbapi_connection.isolation_level = None
    # SQLite ignores foreign keys unless told so on every connection; WAL lets readers and a
    # writer work at the same time (several gunicorn workers on one file).
    dbapi_connection.create_collation(NAME_COLLATION, _icu_compare())
    cursor = dbapi_connection.cursor()
    # SQLite pragmas have no expression-language form; fixed statements, no values.
    cursor.execute("PRAGMA foreign_keys = ON")  # nosemgrep: candor-raw-sql
    cursor.execute("PRAGMA journal_mode = WAL")  # nosemgrep: candor-raw-sql
    cursor.execute("PRAGMA synchronous = NORMAL")  # nosemgrep: candor-raw-sql
    cursor.close()


def _sqlite_query_only(dbapi_connection, _record) -> None:
    # After _sqlite_on_connect (which may have to switch the file to WAL): from here on, any
    # write on this connection fails ("attempt to write a readonly database").
    dbapi_connection.execute("PRAGMA query_only = ON")  # nosemgrep: candor-raw-sql


def init_app(app: Flask, info: dict | None = None) -> None:
    """Give the app its engine and sessionmaker, and close the session at teardown.

    ``info`` lands in every session's ``info``, and every connection's (``get_connection``):
    the app's certificate issuer and its cache of published versions travel there, so domain
    services reach them without importing Flask.
    """
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["candor.engine"] = engine
    # GETs read through an engine whose connections refuse to write (see the docstring).
    reading = _reading_engine(app.config["DATABASE_URL"])
    if reading is not None:
        _WRITERS[reading] = engine
    app.extensions[READ_ENGINE] = reading
    shared = info or {}
    app.extensions["candor.sessionmaker"] = sessionmaker(
        engine, expire_on_commit=False, info=shared
    )
    for each in (engine, reading):  # and every connection's, for views that read in Core
        if each is not None:
            event.listen(each, "connect", lambda _dbapi, record: record.info.update(shared))
    app.teardown_appcontext(_close_session)


def begin_writing(session: Session) -> Session:
    """Begin ``session``'s transaction as one that will write: on SQLite it takes the write
    lock now, waiting its turn (see SQLITE_IMMEDIATE); PostgreSQL ignores the option."""
    session.connection(execution_options={SQLITE_IMMEDIATE: True})
    return session


def writes(view):
    """Declare that a GET view writes (the single sign-on callback, which links an identity or
    makes an account): its transaction is not begun read-only."""
    view._candor_writes = True
    return view


def get_session() -> Session:
    """Return the session bound to the current app context, opening it on first use."""
    if "db_session" not in g:
        make_session = current_app.extensions["candor.sessionmaker"]
        if not has_request_context():
            session = make_session()
        elif request.method not in SAFE_METHODS:
            session = begin_writing(make_session())  # a request that may write
        elif reads_on_its_own():
            session = make_session(bind=current_app.extensions[READ_ENGINE])
        else:
            session = make_session()
        for obj in g.pop("db_adopted", ()):
            session.add(obj)  # detached, with its identity: no statement
        g.db_session = session
    return g.db_session


def connection_of(bind: Session | Connection) -> Connection:
    """The connection ``bind`` reads through: a session's own, or ``bind`` itself. Services that
    only read rows take either, so a page can read without opening a session."""
    return bind.connection() if isinstance(bind, Session) else bind


def session_is_open() -> bool:
    """Whether this request (or app context) has opened its ORM session."""
    return "db_session" in g


def from_row(model: type[T], values: dict[str, Any]) -> T:
    """An object of ``model`` made from a row read with Core (every column, by attribute
    name), as if the ORM had loaded it and the session had then let it go: detached, with
    its identity, nothing pending. Reading it runs no statement; to change it, or reach
    what it relates to, ``adopt`` it first."""
    obj = sa_inspect(model).class_manager.new_instance()  # as the ORM's loading makes it
    obj.__dict__.update(values)  # no attribute events: nothing is changed, it is as read
    make_transient_to_detached(obj)
    return obj


def adopt(obj: object) -> None:
    """Have this request's ORM session hold ``obj`` (from ``from_row``), now if the session is
    open, else when it opens; no statement either way. Code that then meets it through the
    session (``session.get``, a lazy load, a change to commit) finds the session's own object,
    as if it had loaded it."""
    if "db_session" in g:
        g.db_session.add(obj)
    else:
        g.setdefault("db_adopted", []).append(obj)


def get_connection() -> Connection:
    """A Core connection for the current request, for views that read rows, never objects.

    A GET that has not opened its ORM session (a page for anyone, such as verification) gets
    a connection of its own from the reading engine, with no session and no transaction
    around it: a one-statement page spent a tenth of its work making and closing them. It is
    closed at teardown. Any other request (or a GET whose session is open, or that declares
    ``@writes``) reads through its session's connection, in its transaction."""
    if "db_connection" in g:
        return g.db_connection
    if "db_session" in g or not reads_on_its_own():
        return get_session().connection()
    g.db_connection = current_app.extensions[READ_ENGINE].connect()
    return g.db_connection


def reads_on_its_own() -> bool:
    """True for a request that reads through the reading engine (see ``get_session``)."""
    return (
        has_request_context()
        and request.method in SAFE_METHODS
        and current_app.extensions[READ_ENGINE] is not None
        and not _declares_writes(request.endpoint)
    )


def _declares_writes(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "_candor_writes", False)


def writer(bind: Session | Connection | Engine) -> Engine:
    """The engine to write (or stream with a server-side cursor) through, from wherever
    ``bind`` reads: a GET request's session reads through a read-only engine in autocommit,
    which can do neither."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    if isinstance(engine, Connection):
        engine = engine.engine
    return _WRITERS.get(engine, engine)


def get_or_404(session: Session, model: type[T], ident: object, message: str = "Not found.") -> T:
    """The row of ``model`` with primary key ``ident``; NotFound (404) when there is none."""
    row = session.get(model, ident)
    if row is None:
        raise NotFound(message)
    return row


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (its result is a cursor result; typing forgets)."""
    return cast(CursorResult[Any], result).rowcount


@contextmanager
def stream_reader(bind: Session | Connection) -> Iterator[Session | Connection]:
    """What a stream reads through, closed when the stream ends (read to the end, dropped by
    the client, or failed).

    A stream outlives the request that started it: rows read through the request's session
    after its commit left that connection "idle in transaction", holding locks, until the
    session was collected (minutes). So given a Session, the stream reads on a connection of
    its own from the session's ``writer`` (a transaction, which a server-side cursor needs),
    which is closed (its transaction rolled back, the connection returned to the pool) at the
    end. Given a Connection, or a session bound to one, its owner closes it.
    """
    if not isinstance(bind, Session) or not isinstance(bind.get_bind(), Engine):
        yield bind
        return
    with writer(bind).connect() as connection:
        yield connection


@contextmanager
def streamed(bind: Session | Connection, statement: Executable) -> Iterator[Any]:
    """Run ``statement`` for a stream, and close what it opened when the stream ends: read to
    the end, dropped by the client, or failed. It reads through ``db.stream_reader``: a
    connection of its own, closed at the end (no session left "idle in transaction")."""
    with stream_reader(bind) as reader:
        result = reader.execute(statement)
        try:
            yield result
        finally:
            # Also when the client goes away mid-download: frees the server-side cursor.
            result.close()


def dispose_engines(app: Flask) -> None:
    """Close the pooled connections of ``app``'s engines: its own and the one its GETs read
    through (an app that is done with, in tests and commands)."""
    for engine in (app.extensions["candor.engine"], app.extensions[READ_ENGINE]):
        if engine is not None:
            engine.dispose()


def get_engine() -> Engine:
    """The current app's engine."""
    return current_app.extensions["candor.engine"]


def _close_session(exc: BaseException | None) -> None:
    if (session := g.pop("db_session", None)) is not None:
        session.close()
    if (connection := g.pop("db_connection", None)) is not None:
        connection.close()
