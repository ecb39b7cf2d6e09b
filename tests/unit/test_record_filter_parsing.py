"""The one filter of people x courses listings (app/training/filters.py): its keys, its
refusals, and the same bounds in SQL and in Python."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.errors import DomainError
from app.fields import DEPARTMENT_MAX
from app.models import User
from app.training.filters import STATUSES, RecordFilter, keys
from app.training.status import Status


def test_filter_from_query_arguments():
    args = MultiDict(
        {
            "course_id": "3",
            "department": " Sales ",
            "manager_id": "7",
            "status": "overdue",
            "completed_from": "2026-01-01",
            "completed_to": "2026-12-31",
            "include_inactive": "1",
        }
    )
    query = RecordFilter.from_args(args)
    assert query == RecordFilter(
        3, "Sales", 7, Status.OVERDUE, date(2026, 1, 1), date(2026, 12, 31), include_inactive=True
    )
    assert query.to_dict() == {
        "course_id": 3,
        "department": "Sales",
        "manager_id": 7,
        "status": "overdue",
        "completed_from": "2026-01-01",
        "completed_to": "2026-12-31",
        "include_inactive": True,
    }
    assert RecordFilter.from_args(query.args()) == query  # links and forms read back as sent
    assert RecordFilter.from_args({"course_id": "", "status": "  "}) == RecordFilter()
    assert RecordFilter.from_args({"include_inactive": "0"}) == RecordFilter()
    assert RecordFilter.from_args({}).to_dict() == {} == RecordFilter().args()
    assert RecordFilter.from_args(
        {"sort": "name", "status": "expired"}, other_keys=("sort",)
    ) == RecordFilter(status=Status.EXPIRED)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"course_id": "abc"}, "course_id must be a whole number"),
        ({"course_id": "-1"}, "course_id must be a whole number"),
        ({"course_id": "0"}, "course_id must be a whole number"),
        ({"course_id": "1.5"}, "course_id must be a whole number"),
        ({"course_id": "1_0"}, "course_id must be a whole number"),
        ({"course_id": "١٢"}, "course_id must be a whole number"),  # Arabic-Indic digits
        ({"manager_id": "99999999999"}, "manager_id must be a whole number"),
        ({"status": "done"}, "Unknown status 'done': use one of not_started, in_progress"),
        ({"completed_from": "01/12/2026"}, "completed_from must be a date written YYYY-MM-DD"),
        ({"completed_from": "20261201"}, "completed_from must be a date written YYYY-MM-DD"),
        ({"completed_to": "2026-W48-1"}, "completed_to must be a date written YYYY-MM-DD"),
        ({"completed_to": "2026-02-30"}, "completed_to '2026-02-30' is not a date in the calendar"),
        (
            {"completed_from": "2026-12-02", "completed_to": "2026-12-01"},
            "completed_from (2026-12-02) is after completed_to (2026-12-01)",
        ),
        ({"department": "x" * 121}, "The department is longer than 120 characters."),
        ({"department": "Sales\x00"}, "The department contains a control, invisible or text-"),
        ({"department": "Sales\u202e"}, "The department contains a control, invisible or text-"),
        ({"include_inactive": "yes"}, "include_inactive must be 1 or 0, not 'yes'."),
        ({"obligation": "gdpr-art-99"}, "Unknown obligation 'gdpr-art-99': use one of eu-ai-act"),
        ({"departmnet": "Sales"}, "Unknown filter 'departmnet': use course_id, department"),
        (MultiDict([("status", "overdue"), ("status", "completed")]), "Give status at most once"),
    ],
)
def test_bad_filter_input_is_refused_with_a_clear_message(args, message):
    with pytest.raises(DomainError) as caught:
        RecordFilter.from_args(args)
    assert caught.value.status == 400
    assert message in caught.value.message


def test_long_bad_input_is_cut_short_in_the_message():
    with pytest.raises(DomainError) as caught:
        RecordFilter.from_args({"status": "<script>" * 100})
    assert len(caught.value.message) < 200


def test_keys_are_the_field_names_and_every_status_is_offered():
    assert keys() == (
        "course_id",
        "department",
        "manager_id",
        "status",
        "completed_from",
        "completed_to",
        "include_inactive",
        "search",
        "obligation",
    )
    assert STATUSES == tuple(s.value for s in Status)


def test_search_is_trimmed_bounded_and_refuses_hidden_characters():
    assert RecordFilter.from_args({"search": "  E-0042 "}).search == "E-0042"
    assert RecordFilter.from_args({"search": "   "}).search is None
    with pytest.raises(DomainError, match="A search is at most 100 characters; this one has 101"):
        RecordFilter.from_args({"search": "x" * 101})
    with pytest.raises(DomainError, match=r"The search contains a control.*U\+202E"):
        RecordFilter.from_args({"search": "ana\u202e"})
    assert RecordFilter(search="ana").args() == {"search": "ana"}


def test_a_filter_built_in_code_is_checked_like_one_read_from_a_query_string():
    assert RecordFilter(status="overdue").status is Status.OVERDUE
    assert RecordFilter(department="x" * DEPARTMENT_MAX).department == "x" * DEPARTMENT_MAX
    with pytest.raises(DomainError, match="Unknown status 'lost'"):
        RecordFilter(status="lost")
    with pytest.raises(DomainError, match="longer than 120"):
        RecordFilter(department="x" * (DEPARTMENT_MAX + 1))
    with pytest.raises(DomainError, match="is after"):
        RecordFilter(completed_from=date(2027, 1, 2), completed_to=date(2027, 1, 1))


def test_completion_dates_are_whole_utc_days_both_included():
    day = RecordFilter(completed_from=date(2027, 1, 10), completed_to=date(2027, 1, 10))
    first, last = datetime(2027, 1, 10, tzinfo=UTC), datetime(2027, 1, 11, tzinfo=UTC)
    assert day.completed_within(first) and day.completed_within(last - timedelta(seconds=1))
    assert not day.completed_within(first - timedelta(seconds=1))
    assert not day.completed_within(last)
    assert not day.completed_within(None)  # not completed: outside any range
    assert RecordFilter().completed_within(None)  # no range: everyone


def test_the_sql_criteria_are_the_same_bounds():
    person = User.__table__
    completed_at = person.c.created_at  # any timestamp column will do for the statement
    where = RecordFilter(
        course_id=3,
        department="Sales",
        manager_id=7,
        completed_from=date(2027, 1, 10),
        completed_to=date(2027, 1, 10),
    ).criteria(person, person.c.id, completed_at)
    sql = str(select(person.c.id).where(*where).compile(compile_kwargs={"literal_binds": True}))
    assert "users.active IS 1" in sql or "users.active IS true" in sql
    assert "'2027-01-10 00:00:00+00:00'" in sql and "'2027-01-11 00:00:00+00:00'" in sql
    assert ">=" in sql and "users.created_at <" in sql
    everyone = RecordFilter(include_inactive=True).criteria(person, person.c.id)
    assert everyone == []
