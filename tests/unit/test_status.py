"""The status rule: every transition, with boundaries exactly on the dates that matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.dates import expiry_of, start_of_day
from app.training.status import Status, StatusFacts, course_status, label

SECOND = timedelta(seconds=1)
ASSIGNED = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
DUE = datetime(2027, 3, 31, 23, 59, 59, tzinfo=UTC)
STARTED = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
COMPLETED = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
EXPIRES = datetime(2027, 12, 1, tzinfo=UTC)  # expiry_of(COMPLETED, 12): the day, from 00:00


def facts(**fields) -> StatusFacts:
    return StatusFacts(**{"assigned_at": ASSIGNED, **fields})


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ASSIGNED, Status.NOT_STARTED),
        (DUE - timedelta(days=14) - SECOND, Status.NOT_STARTED),
        (DUE - timedelta(days=14), Status.DUE_SOON),
        (DUE, Status.DUE_SOON),
        (DUE + SECOND, Status.OVERDUE),
        (DUE + timedelta(days=400), Status.OVERDUE),
    ],
)
def test_not_started_with_a_due_date(now, expected):
    assert course_status(facts(due_at=DUE), now) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (STARTED, Status.IN_PROGRESS),
        (DUE - timedelta(days=14) - SECOND, Status.IN_PROGRESS),
        (DUE - timedelta(days=14), Status.DUE_SOON),
        (DUE, Status.DUE_SOON),
        (DUE + SECOND, Status.OVERDUE),
    ],
)
def test_in_progress_with_a_due_date(now, expected):
    assert course_status(facts(due_at=DUE, started_at=STARTED), now) is expected


def test_without_a_due_date_nothing_is_ever_late():
    far = DUE + timedelta(days=3650)
    assert course_status(StatusFacts(), far) is Status.NOT_STARTED
    assert course_status(StatusFacts(started_at=STARTED), far) is Status.IN_PROGRESS


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (COMPLETED, Status.COMPLETED),
        (EXPIRES - timedelta(days=14) - SECOND, Status.COMPLETED),
        (EXPIRES - timedelta(days=14), Status.DUE_SOON),
        (EXPIRES - SECOND, Status.DUE_SOON),
        (EXPIRES, Status.EXPIRED),
        (EXPIRES + timedelta(days=1), Status.EXPIRED),
    ],
)
def test_completed_then_due_for_renewal_then_expired(now, expected):
    done = facts(due_at=DUE, started_at=STARTED, completed_at=COMPLETED, expires_at=EXPIRES)
    assert course_status(done, now) is expected


def test_a_completion_ignores_the_due_date_even_if_it_came_late():
    late = facts(
        due_at=DUE, completed_at=DUE + timedelta(days=5), expires_at=DUE + timedelta(days=370)
    )
    assert course_status(late, DUE + timedelta(days=10)) is Status.COMPLETED


def test_a_completion_that_never_expires_stays_completed():
    done = facts(completed_at=COMPLETED, expires_at=None)
    assert course_status(done, COMPLETED + timedelta(days=36500)) is Status.COMPLETED


def test_the_due_soon_window_is_configurable():
    now = DUE - timedelta(days=20)
    assert course_status(facts(due_at=DUE), now) is Status.NOT_STARTED
    assert course_status(facts(due_at=DUE), now, due_soon_days=30) is Status.DUE_SOON
    assert course_status(facts(due_at=DUE), DUE, due_soon_days=0) is Status.DUE_SOON
    assert course_status(facts(due_at=DUE), DUE - SECOND, due_soon_days=0) is Status.NOT_STARTED


def test_expiry_adds_calendar_months():
    assert expiry_of(COMPLETED, 12) == EXPIRES
    # Expiries are day starts (certificates issued before the rule was one are brought to
    # the start of their day by migration 0007 when copied to the enrollment).
    assert start_of_day(EXPIRES) == EXPIRES
    assert expiry_of(datetime(2027, 1, 31, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)
    assert expiry_of(datetime(2027, 8, 31, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)
    assert expiry_of(COMPLETED, 0) is None
    assert expiry_of(None, 12) is None


def test_labels_name_the_date_that_matters():
    done = facts(completed_at=COMPLETED, expires_at=EXPIRES)
    assert label(Status.COMPLETED, done) == "Completed (expires 1 December 2027)"
    assert label(Status.COMPLETED, facts(completed_at=COMPLETED)) == "Completed"
    assert label(Status.DUE_SOON, done) == "Renewal due (expires 1 December 2027)"
    assert label(Status.EXPIRED, done) == "Expired on 1 December 2027"
    assert label(Status.DUE_SOON, facts(due_at=DUE)) == "Due by 31 March 2027"
    # Due by the end of 31 March: late from 1 April on.
    assert label(Status.OVERDUE, facts(due_at=DUE)) == "Overdue since 1 April 2027"
    afternoon = datetime(2027, 3, 31, 15, 0, tzinfo=UTC)
    assert label(Status.OVERDUE, facts(due_at=afternoon)) == "Overdue since 31 March 2027"
    assert label(Status.IN_PROGRESS, facts(due_at=DUE)) == "In progress (due 31 March 2027)"
    assert label(Status.IN_PROGRESS, facts()) == "In progress"
    assert label(Status.NOT_STARTED, facts(due_at=DUE)) == "Not started (due 31 March 2027)"
    assert label(Status.NOT_STARTED, facts()) == "Not started"


def test_status_values_are_stable_strings():
    assert [s.value for s in Status] == [
        "not_started",
        "in_progress",
        "completed",
        "due_soon",
        "overdue",
        "expired",
        "revoked",
    ]
    assert Status("overdue") is Status.OVERDUE
