"""Pooled PostgreSQL connections the server has dropped (a restart, an idle-session timeout)
are found by a ping before use, but only after they have been idle a while: under traffic a
page pays no round trip for a ping."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import db as database
from app.db import make_engine

pytestmark = pytest.mark.postgres_only


@pytest.fixture(params=[False, True], ids=["writing", "reading"])
def engine(request, database_url):
    engine = make_engine(database_url, reading=request.param)
    yield engine
    engine.dispose()


def _drop_pooled_connection(engine) -> int:
    """End, from another connection, the server process of the pool's one idle connection."""
    with engine.connect() as connection:
        pid = connection.scalar(text("SELECT pg_backend_pid()"))
    killer = make_engine(engine.url.render_as_string(hide_password=False))
    with killer.begin() as other:
        other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    return pid


def test_a_connection_dropped_while_idle_is_replaced_before_use(engine, monkeypatch):
    dropped = _drop_pooled_connection(engine)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle long

    with engine.connect() as connection:
        assert connection.scalar(text("SELECT 1")) == 1
        assert connection.scalar(text("SELECT pg_backend_pid()")) != dropped


def test_a_connection_used_a_moment_ago_is_not_pinged_and_a_drop_fails_once(engine):
    # What is traded for no ping per page: a drop within seconds of the last use fails the
    # one statement that meets it; the pool is then renewed, and the next one works.
    _drop_pooled_connection(engine)

    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.scalar(text("SELECT 1"))
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT 1")) == 1
