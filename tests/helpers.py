"""Helpers shared by tests: forms posted with a CSRF token read from a page, like a browser;
records made as the app makes them."""

from __future__ import annotations

import re
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from flask import Flask

PASSWORD = "correct horse battery"
# Test users sign in hundreds of times a run. The hash of PASSWORD they share is scrypt with a
# lower work factor than werkzeug's default (N=2**10 instead of 2**15): the app checks it with
# the same code, check_password_hash reading the cost from the hash, in about 2 ms instead of
# 95. Passwords the app sets itself (CLI, demo, invitations, password changes) keep the full
# cost, which test_auth.test_the_app_hashes_passwords_at_full_cost pins.
PASSWORD_METHOD = "scrypt:1024:8:1"
# A real 1 x 1 PNG: course assets are decoded before they are accepted.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
    "9c63f8ffff3f0005fe02fe0def46b80000000049454e44ae426082"
)
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@contextmanager
def statements_run(bind):
    """The SQL statements run inside the block on ``bind``, an engine or an app (its engine
    and the one its GETs read through), as a list filled as they run (SQLite's explicit
    BEGIN, which app/db.py sends, is not a query and is not counted)."""
    from sqlalchemy import event

    from app.db import READ_ENGINE

    if isinstance(bind, Flask):
        engines = [bind.extensions["candor.engine"], bind.extensions[READ_ENGINE]]
    else:
        engines = [bind]
    engines = [engine for engine in engines if engine is not None]
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement != "BEGIN":
            seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listen)


def page_statements(app, client, path: str, *, warm: bool = False) -> int:
    """How many SQL statements ``client``'s GET of ``path`` runs (it must answer 200).
    ``warm``: asked once before, as on a worker that has served it already (caches filled)."""
    if warm:
        client.get(path)
    with statements_run(app) as seen:
        assert client.get(path).status_code == 200
    return len(seen)


def run_together(app, work, n: int = 4):
    """Race: ``work(session)`` in ``n`` threads at once, each with its own session, committed
    on success and rolled back on an error; the results and the errors, collected. Each
    session begins as a request that writes does (``db.begin_writing``)."""
    import threading

    from app.db import begin_writing

    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        with app.extensions["candor.sessionmaker"]() as session:
            barrier.wait()
            begin_writing(session)
            try:
                results.append(work(session))
                session.commit()
            except Exception as error:  # noqa: BLE001 (collected for the test to assert)
                session.rollback()
                errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def csrf_token(client, path: str = "/login") -> str:
    """A valid CSRF token for ``client``'s session, read from a page as a browser would."""
    response = client.get(path)
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, user_or_email, password: str = PASSWORD):
    email = getattr(user_or_email, "email", user_or_email)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )


def post(client, path: str, data: dict | None = None, **kwargs):
    """POST a form with a valid CSRF token.

    Buffered: the whole body is read and the response closed, as a WSGI server does, so a
    streamed response (the exports) ends its request and releases its database session.
    """
    kwargs.setdefault("buffered", True)
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def assert_sent_to_login(response, path: str) -> None:
    """The request was answered with the way to the sign-in page, not with ``path``."""
    assert response.status_code == 303, response.status_code
    target = urlsplit(response.location)
    assert target.path == "/login"
    assert parse_qs(target.query).get("next") == [path]


def record_completion(db, user, version, at):
    """Record ``user``'s completion of ``version`` at ``at`` as the app does (enrollment pinned
    to the version, an append-only Completion), without rendering a certificate."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.dates import expiry_of
    from app.models import Completion, Enrollment

    enrollment = db.scalar(
        select(Enrollment).where(
            Enrollment.user_id == user.id, Enrollment.course_id == version.course_id
        )
    )
    if enrollment is None:
        enrollment = Enrollment(user_id=user.id, course_id=version.course_id)
        db.add(enrollment)
    enrollment.version_id = version.id
    enrollment.started_at = enrollment.started_at or at - timedelta(hours=1)
    enrollment.completed_at = at
    enrollment.expires_at = expiry_of(at, version.recertify_months)
    db.flush()
    completion = Completion(
        user_id=user.id,
        course_id=version.course_id,
        version_id=version.id,
        enrollment_id=enrollment.id,
        cycle=enrollment.cycle,
        completed_at=at,
        score=90,
    )
    db.add(completion)
    db.flush()
    return completion


def read_in_turn(db, user, modules, minutes: int = 30) -> None:
    """Mark ``modules`` read as a learner does, one after another, ``minutes`` each, the last
    one finished now (reading time is counted once: modules read side by side share it)."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from app.db import utcnow
    from app.models import ModuleProgress
    from app.progress.reading import mark_read

    modules = list(modules)
    start = utcnow() - timedelta(minutes=minutes * len(modules), seconds=1)
    # After anything the learner read before (an earlier cycle), as time goes.
    earlier = db.scalar(
        select(func.max(ModuleProgress.completed_at)).where(ModuleProgress.user_id == user.id)
    )
    if earlier is not None and earlier >= start:
        start = earlier + timedelta(seconds=1)
    for index, module in enumerate(modules):
        opened = start + timedelta(minutes=minutes * index)
        mark_read(db, user, module, opened_at=opened, now=opened + timedelta(minutes=minutes))


def list_courses(session) -> None:
    """List every course (a new course is hidden until a trainer lists it), as a trainer would
    in the studio, so that any learner may open it."""
    from sqlalchemy import update

    from app.models import Course, Visibility

    session.execute(update(Course).values(visibility=Visibility.LISTED))


def run_jobs(app) -> int:
    """Run every job task waiting on ``app``'s queue here, as a worker would; return how many.

    The suite runs the embedded queue (SQLite, one file per test); this is the worker's loop
    without its threads, so a test sees each job end before it looks.
    """
    huey = app.extensions["candor.jobs"].huey
    ran = 0
    while (task := huey.dequeue()) is not None:
        if not huey.ready_to_run(task):
            huey.add_schedule(task)  # a retry for later: the consumer's scheduler keeps it
            continue
        huey.execute(task)
        ran += 1
    return ran


def make_job(db, owner, kind: str = "completions.csv"):
    """A queued job of ``owner``'s, as an export too big to stream would record it."""
    from app.jobs.records import create_job

    job = create_job(db, kind, owner, {"filter": {}, "at": "2026-12-01T09:00:00+00:00"}, 0)
    db.commit()
    return job


def add_learners(db, count: int, course_ids, prefix: str = "bulk") -> None:
    """``count`` learners, each enrolled on every course of ``course_ids``, inserted in bulk
    (Core executemany): an export of many rows without building ORM objects."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from app.models import Enrollment, User

    assigned = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    db.execute(
        insert(User.__table__),
        [
            {"email": f"{prefix}{n}@example.test", "name": f"Bulk Learner {n:06d}"}
            for n in range(count)
        ],
    )
    ids = db.scalars(select(User.id).where(User.email.like(f"{prefix}%@example.test"))).all()
    db.execute(
        insert(Enrollment.__table__),
        [
            {"user_id": user_id, "course_id": course_id, "assigned_at": assigned, "cycle": 1}
            for user_id in ids
            for course_id in course_ids
        ],
    )
    db.commit()


@contextmanager
def worker(server):
    """Huey's consumer in this process (threads), as `flask jobs worker` runs it."""
    consumer = server.app.extensions["candor.jobs"].huey.create_consumer(
        workers=1, periodic=False, initial_delay=0.05, max_delay=0.5
    )
    consumer.start()
    try:
        yield
    finally:
        consumer.stop(graceful=True)


def attempt_pages(client, attempt_url: str) -> list[str]:
    """Every page of an attempt in progress, as the learner's browser gets them, then its
    review page."""
    first = client.get(f"{attempt_url}/pages/1").get_data(as_text=True)
    found = re.search(r"Page 1 of (\d+)\.", first)
    assert found, "no page count on the first page of the attempt"
    pages = [first]
    for number in range(2, int(found.group(1)) + 1):
        pages.append(client.get(f"{attempt_url}/pages/{number}").get_data(as_text=True))
    return [*pages, client.get(f"{attempt_url}/review").get_data(as_text=True)]


def link_in_mail(collector, address: str, path: str) -> str:
    """The path (from ``path`` on) of the last link e-mailed to ``address`` whose path starts
    with ``path``, as the person would open it from their inbox."""
    found = [
        match.group(1)
        for received in collector.received
        if str(received.message["To"]).endswith(f"<{address}>")
        for match in re.finditer(
            rf"https?://[^/\s]+({re.escape(path)}[A-Za-z0-9_-]+)", received.message.get_content()
        )
    ]
    assert found, f"no {path} link e-mailed to {address}"
    return found[-1]


def tamper(db, table: str, statement: str, **params) -> None:
    """Run SQL past the database's own guards, as someone with the database's keys could."""
    from sqlalchemy import text

    bind = db.get_bind()
    if bind.dialect.name == "postgresql":
        db.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        db.execute(text(statement), params)
        db.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    else:
        triggers = db.scalars(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table},
        ).all()
        names = db.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table},
        ).all()
        for name in names:
            db.execute(text(f"DROP TRIGGER {name}"))
        db.execute(text(statement), params)
        for sql in triggers:
            db.execute(text(sql))
    db.commit()
