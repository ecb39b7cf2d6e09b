"""The two readers of two rules agree on SQLite and PostgreSQL: how a time reads in a CSV
(``exports.times``) and whether a certificate is valid, expired or revoked
(``certificates.validity``), in Python and as computed by the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, literal, select

from app.certificates.validity import certificate_status, certificate_status_sql
from app.db import UTCDateTime
from app.exports.times import iso_utc, iso_utc_sql

MOMENTS = (
    datetime(2026, 12, 1, 9, 15, tzinfo=UTC),
    datetime(2026, 12, 1, 9, 15, 59, 999_999, tzinfo=UTC),  # cut, never rounded up
    datetime(2026, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
    datetime(2024, 2, 29, 0, 0, 0, 1, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
)


def _time(moment: datetime | None):
    """A time as the database holds one (a bound value of the columns' type)."""
    return literal(moment, UTCDateTime())


def test_the_database_writes_a_time_as_iso_utc_does(db):
    written = [db.scalar(select(iso_utc_sql(_time(m)))) for m in MOMENTS]
    assert written == [iso_utc(m) for m in MOMENTS]


def test_a_missing_time_stays_missing(db):
    assert db.scalar(select(iso_utc_sql(_time(None)))) is None


def test_the_database_reads_the_certificate_rule_as_python_does(db):
    expiry = datetime(2027, 3, 12, tzinfo=UTC)  # as stored: 00:00 UTC of the expiry date
    for now in (expiry - timedelta(microseconds=1), expiry, expiry + timedelta(days=400)):
        for revoked in (False, True):
            for expires in (expiry, None):
                rule = certificate_status_sql(literal(revoked, Boolean()), _time(expires), now)
                assert db.scalar(select(rule)) == certificate_status(revoked, expires, now)
