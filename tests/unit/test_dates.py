"""The date rules: months arithmetic, expiry as a calendar date, and the wording of dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.dates import (
    add_months,
    expiry_of,
    format_date,
    format_datetime,
    format_day_month,
    is_expired,
    start_of_day,
)


def test_add_months_keeps_the_day_or_takes_the_months_last():
    start = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert add_months(start, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert add_months(start, 12) == datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    assert add_months(datetime(2027, 8, 31, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)


def test_expiry_is_the_start_of_the_same_day_months_later():
    completed = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
    assert expiry_of(completed, 12) == datetime(2027, 1, 10, tzinfo=UTC)
    assert expiry_of(completed, 0) is None
    assert expiry_of(None, 12) is None


def test_expired_from_the_first_moment_of_the_expiry_date():
    # The case the matrix and the verify page once disagreed on: completed 10 January 2026
    # at 15:00 with 12 months' validity, looked at on 10 January 2027 at 09:00.
    expires = expiry_of(datetime(2026, 1, 10, 15, 0, tzinfo=UTC), 12)
    assert is_expired(expires, datetime(2027, 1, 10, 9, 0, tzinfo=UTC))
    assert is_expired(expires, datetime(2027, 1, 10, 0, 0, tzinfo=UTC))
    assert not is_expired(expires, datetime(2027, 1, 9, 23, 59, 59, tzinfo=UTC))
    # A date (as printed and signed) and a stored moment with a time of day agree.
    assert is_expired(date(2027, 1, 10), datetime(2027, 1, 10, 9, 0, tzinfo=UTC))
    assert is_expired(
        datetime(2027, 1, 10, 15, 0, tzinfo=UTC), datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    )
    assert not is_expired(None, datetime(2999, 1, 1, tzinfo=UTC))


def test_start_of_day_takes_the_utc_date():
    evening_in_new_york = datetime(2027, 1, 9, 23, 30, tzinfo=UTC) - timedelta(hours=5)
    assert start_of_day(evening_in_new_york) == datetime(2027, 1, 9, tzinfo=UTC)
    assert start_of_day(date(2027, 1, 9)) == datetime(2027, 1, 9, tzinfo=UTC)


def test_dates_read_the_same_whatever_the_locale():
    moment = datetime(2027, 12, 1, 14, 5, tzinfo=UTC)
    assert format_date(moment) == "1 December 2027"
    assert format_date(date(2027, 3, 14)) == "14 March 2027"
    assert format_date(None) == ""
    assert format_datetime(moment) == "1 December 2027, 14:05 UTC"
    assert format_day_month(date(2027, 12, 1)) == "1 Dec"
