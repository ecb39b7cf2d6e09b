"""The status rule read as SQL (``status_case``) gives what it gives in Python
(``course_status``), on SQLite and PostgreSQL, at every boundary of the rule, with a frozen
``now``: both are readings of the one decision table ``app.training.status.RULE``."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from app.db import UTCDateTime
from app.training.status import FACTS, RULE, Status, StatusFacts, course_status, status_case

NOW = datetime(2027, 3, 17, 10, 30, tzinfo=UTC)
SECOND = timedelta(seconds=1)
SOON = 14


def boundary_values() -> list[datetime | None]:
    """Every moment where a condition of the rule turns, and one second either side."""
    values: list[datetime | None] = [None]
    for _, conditions in RULE:
        for condition in conditions:
            edge = condition.moment(NOW, SOON)
            values += [edge - SECOND, edge, edge + SECOND]
    return sorted(set(v for v in values if v is not None)) + [None]


def cases() -> list[StatusFacts]:
    """Facts covering every branch and every boundary: each fact absent, or at each edge."""
    edges = boundary_values()
    day_starts = [None, *(e.replace(hour=0, minute=0, second=0) for e in edges if e)]
    found = []
    for completed, revoked, started in itertools.product(
        [None, NOW - 30 * 24 * 3600 * SECOND], [None, NOW - SECOND], [None, NOW - 2 * SECOND]
    ):
        for due in edges:
            found.append(StatusFacts(NOW, due, started, completed, None, revoked))
        if completed is not None:
            for expires in [*edges, *day_starts]:
                found.append(StatusFacts(NOW, None, started, completed, expires, revoked))
    return found


def test_sql_and_python_agree_at_every_boundary(db):
    metadata = MetaData()
    table = Table(
        "status_facts_probe",
        metadata,
        Column("id", Integer, primary_key=True),
        *(Column(name, UTCDateTime()) for name in FACTS),
    )
    connection = db.connection()
    metadata.create_all(connection)
    try:
        facts = cases()
        connection.execute(
            insert(table),
            [{"id": i, **{n: getattr(f, n) for n in FACTS}} for i, f in enumerate(facts)],
        )
        sql = status_case({n: table.c[n] for n in FACTS}, NOW, SOON)
        got = dict(connection.execute(select(table.c.id, sql)).all())
        mismatches = [
            (f, got[i], course_status(f, NOW, SOON).value)
            for i, f in enumerate(facts)
            if got[i] != course_status(f, NOW, SOON).value
        ]
        assert mismatches == []
        # Every status of the rule is reached by some boundary case.
        assert {Status(v) for v in got.values()} == set(Status)
    finally:
        metadata.drop_all(connection)
        db.rollback()
