"""Requests that write, at the same time, on SQLite: each takes the write lock as it begins
(BEGIN IMMEDIATE), so none fails with "database is locked" because another wrote between its
first read and its first write."""

from __future__ import annotations

import threading
import time

import pytest
from helpers import statements_run
from sqlalchemy import select, text

from app.db import get_session
from app.models import User

pytestmark = pytest.mark.sqlite_only  # the lock is SQLite's; PostgreSQL needs none


def test_a_request_that_may_write_begins_immediate_and_a_read_does_not(app):
    engine = app.extensions["candor.engine"]
    seen_begins = []

    def begins(method):
        with app.test_request_context("/", method=method), statements_run(engine) as seen:
            get_session().execute(select(User.id)).all()
        seen_begins.append([s for s in seen if s.startswith("BEGIN")])

    # statements_run leaves out SQLite's plain BEGIN; an immediate one is kept.
    begins("POST")
    begins("GET")
    assert seen_begins == [["BEGIN IMMEDIATE"], []]


def test_two_writers_that_read_first_both_commit(app, db, make_user):
    """The failure this prevents: A reads, B writes and commits, A writes. With deferred
    transactions A's write fails at once; with immediate ones B waits for A's commit."""
    user = make_user(name="Before")
    db.commit()
    a_has_read, b_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer(name: str, first: bool) -> None:
        try:
            with app.test_request_context("/", method="POST"):
                if not first:
                    b_started.set()
                session = get_session()
                session.execute(select(User.name).where(User.id == user.id)).one()
                if first:
                    a_has_read.set()
                    b_started.wait(5)
                    time.sleep(0.5)  # B reads and writes now, or waits for A's lock
                session.execute(
                    text("UPDATE users SET name = :name WHERE id = :id"),
                    {"name": name, "id": user.id},
                )
                session.commit()
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    first = threading.Thread(target=writer, args=("A", True))
    first.start()
    assert a_has_read.wait(5)
    second = threading.Thread(target=writer, args=("B", False))
    second.start()
    first.join(20)
    second.join(20)
    assert errors == []
    db.expire_all()
    assert db.get(User, user.id).name == "B"  # A committed first, then B
