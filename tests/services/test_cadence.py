"""The reminder cadence (``app.training.cadence``): the one SQL rule run by the database, at
every boundary, with a frozen ``now``, on SQLite and PostgreSQL; and the form's parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, String, literal, select

from app.db import UTCDateTime
from app.errors import DomainError
from app.training.cadence import DEFAULT, LATE, Cadence, milestone, parse_cadence
from app.training.status import StatusFacts, course_status

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)  # a Sunday morning
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def end_of(day: int) -> datetime:
    """The last second of January ``day``, 2027: how a due date is stored."""
    return datetime(2027, 1, day, 23, 59, 59, tzinfo=UTC)


def step(
    db,
    *,
    due_at=None,
    completed_at=None,
    expires_at=None,
    reminded_at=None,
    reminded_deadline=None,
    reminded_days_before=None,
    cadence=DEFAULT,
    now=NOW,
):
    """The step the database gives for these facts at ``now`` (None: no reminder)."""
    status = course_status(
        StatusFacts(due_at=due_at, completed_at=completed_at, expires_at=expires_at), now
    )
    moment = UTCDateTime()
    columns = {
        "due_at": literal(due_at, moment),
        "completed_at": literal(completed_at, moment),
        "expires_at": literal(expires_at, moment),
        "reminded_at": literal(reminded_at, moment),
        "reminded_deadline": literal(reminded_deadline, moment),
        "reminded_days_before": literal(reminded_days_before, Integer()),
        "status": literal(status.value, String()),
    }
    return db.scalar(select(milestone(columns, now, cadence)))


def test_days_before_the_due_date_start_on_that_utc_day(db):
    assert step(db, due_at=end_of(17)) == 7  # due on the 17th: 7 days before is today
    assert step(db, due_at=end_of(17) + SECOND) is None  # due on the 18th: 8 days
    assert step(db, due_at=end_of(16)) == 7  # a step missed is caught up
    assert step(db, due_at=end_of(11)) == 1
    assert step(db, due_at=end_of(10)) == 1  # due today: the nearest step reached
    assert step(db, due_at=end_of(10), cadence=Cadence((7, 1, 0), 7)) == 0
    assert step(db, due_at=end_of(11), cadence=Cadence((), 7)) is None
    assert step(db) is None  # no due date: never


def test_each_step_is_reminded_once_for_the_same_deadline(db):
    due = end_of(17)
    assert step(db, due_at=due, reminded_deadline=due, reminded_days_before=7) is None
    near = end_of(11)
    assert step(db, due_at=near, reminded_deadline=near, reminded_days_before=7) == 1
    assert step(db, due_at=near, reminded_deadline=near, reminded_days_before=1) is None
    # A new deadline (a later due date, a new cycle) starts the cadence again.
    assert step(db, due_at=due, reminded_deadline=near, reminded_days_before=1) == 7
    # A cadence changed since: a step nearer than the last one reminded still comes.
    assert (
        step(
            db,
            due_at=end_of(10),
            reminded_deadline=end_of(10),
            reminded_days_before=1,
            cadence=Cadence((1, 0), 7),
        )
        == 0
    )


def test_late_on_the_first_day_then_every_n_days_by_the_day_of_the_last(db):
    due = NOW - SECOND  # late since a second ago
    assert step(db, due_at=NOW) == 1  # the due moment itself is not late
    assert step(db, due_at=due) == LATE
    assert step(db, due_at=due, reminded_deadline=due, reminded_days_before=1) == LATE
    seen = {"due_at": due, "reminded_deadline": due, "reminded_days_before": LATE}
    assert step(db, **seen, reminded_at=NOW - DAY) is None
    last_day_in = datetime(2027, 1, 4, 0, 0, tzinfo=UTC)  # 6 days before today's date
    assert step(db, **seen, reminded_at=last_day_in) is None
    assert step(db, **seen, reminded_at=last_day_in - SECOND) == LATE  # the 3rd: 7 days
    assert step(db, **seen, reminded_at=NOW - 30 * DAY, cadence=Cadence((7, 1), 0)) is None
    assert step(db, **seen, reminded_at=NOW - DAY, cadence=Cadence((7, 1), 1)) == LATE


def test_a_completion_is_reminded_before_it_expires_and_once_expired(db):
    done = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
    expires = datetime(2027, 1, 17, 0, 0, tzinfo=UTC)  # 00:00 UTC: expired from the 17th
    assert step(db, completed_at=done, expires_at=expires) == 7
    assert step(db, completed_at=done, expires_at=expires + DAY) is None
    assert step(db, completed_at=done) is None  # never expires
    assert step(db, completed_at=done, expires_at=NOW.replace(hour=0)) == LATE
    # A due date left over from before the completion counts no more.
    assert step(db, due_at=end_of(11), completed_at=done, expires_at=expires + 30 * DAY) is None


@pytest.mark.parametrize(
    ("before", "every", "expected"),
    [
        ("7, 1", "7", Cadence((7, 1), 7)),
        ("1 7", "0", Cadence((7, 1), 0)),
        ("", "3", Cadence((), 3)),
        (" 0 , 14 ", "365", Cadence((14, 0), 365)),
    ],
)
def test_the_form_reads_a_cadence(before, every, expected):
    assert parse_cadence(before, every) == expected


@pytest.mark.parametrize(
    ("before", "every", "problem"),
    [
        ("7; 1", "7", "“7;” is not a whole number"),
        ("²", "7", "is not a whole number"),
        ("-1", "7", "is not a whole number"),
        ("366", "7", "between 0 and 365"),
        ("3, 3", "7", "only once"),
        ("1 2 3 4 5 6 7 8 9 10 11", "7", "at most 10"),
        ("7", "x", "Every how many days while late"),
        ("7", "366", "between 0 and 365"),
    ],
)
def test_the_form_refuses_a_bad_cadence_saying_why(before, every, problem):
    with pytest.raises(DomainError, match=problem):
        parse_cadence(before, every)


def test_a_cadence_in_words():
    assert DEFAULT.describe() == (
        "7 days before and 1 day before the due date, then on the first day late and every "
        "7 days while late."
    )
    assert Cadence((0,), 0).describe() == "on the due date, then once, on the first day late."
    with pytest.raises(DomainError):
        Cadence((1, 7), 7)  # stored most distant first
