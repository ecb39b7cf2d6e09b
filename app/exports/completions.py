"""Completion records for export: one row per person and course, streamed. Callers own the
transaction.

Which records an export holds is a ``RecordFilter`` (app/training/filters.py), the filter of
the HR matrix: an export with the matrix's filter holds the matrix's rows. Every row comes
from one Core statement run with ``yield_per`` (a server-side cursor on PostgreSQL), so memory
stays flat and the number of queries does not grow with the rows. Statuses come from
``app.training.matrix.status_column`` (the one status rule, read as SQL) at a ``now`` the
caller passes, so the rows, their count and the audit event all describe the same moment, by
the same rule as pages; the status filter is applied in SQL too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.audit.events import record
from app.certificates.codes import grouped
from app.certificates.validity import certificate_status_sql
from app.content.versions import newest_versions
from app.db import streamed
from app.exports.times import iso_utc_sql
from app.models import (
    AttemptStatus,
    AuditEvent,
    Certificate,
    Completion,
    CourseVersion,
    Enrollment,
    QuizAttempt,
    User,
)
from app.training.filters import RecordFilter
from app.training.matrix import status_column

COLUMNS: Final = (
    "employee_id",
    "name",
    "email",
    "department",
    "manager",
    "course",
    "course_version",
    "content_hash",
    "account",
    "status",
    "assigned_at",
    "due_at",
    "started_at",
    "completed_at",
    "score",
    "attempts",
    "certificate_code",
    "certificate_status",
    "expires_at",
    "revoked_at",
)
EXPORT_KINDS: Final = ("completions.csv", "completions.xlsx", "items.csv", "certificates.zip")
YIELD_PER: Final = 1000
SHORT_HASH: Final = 12  # as CourseVersion.short_hash and the certificates print it

Bind = Session | Connection
T = TypeVar("T")


@dataclass(frozen=True)
class _Query:
    """The FROM clause of the completion export, its filter, and the columns it reads."""

    source: FromClause
    where: tuple[ColumnElement[bool], ...]
    columns: tuple[ColumnElement[Any], ...]
    order_by: tuple[ColumnElement[Any], ...]


def _as_is(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return column


def _completion_query(record_filter: RecordFilter, now: datetime, as_text: bool = False) -> _Query:
    person = User.__table__.alias("person")
    manager = User.__table__.alias("manager")
    enrollment = Enrollment.__table__
    completion = Completion.__table__
    attempt = QuizAttempt.__table__
    version = CourseVersion.__table__

    # Aggregates per (enrollment, cycle) are grouped once over their tables and joined, so a
    # row costs no query of its own, and no correlated subquery runs per row either.
    latest = (
        select(
            completion.c.enrollment_id, completion.c.cycle, func.max(completion.c.id).label("id")
        )
        .group_by(completion.c.enrollment_id, completion.c.cycle)
        .subquery("latest")
    )
    done = completion.alias("done")
    tries = (
        select(attempt.c.enrollment_id, attempt.c.cycle, func.count().label("n"))
        .where(attempt.c.status == AttemptStatus.SUBMITTED)
        .group_by(attempt.c.enrollment_id, attempt.c.cycle)
        .subquery("tries")
    )
    current = newest_versions().subquery("current")  # the course's title today
    pinned = version.alias("pinned")  # the version completed, or the one they are on
    certificate = Certificate.__table__.alias("certificate")

    source = (
        enrollment.join(person, person.c.id == enrollment.c.user_id)
        .outerjoin(manager, manager.c.id == person.c.manager_id)
        .outerjoin(
            latest,
            and_(latest.c.enrollment_id == enrollment.c.id, latest.c.cycle == enrollment.c.cycle),
        )
        .outerjoin(done, done.c.id == latest.c.id)
        .outerjoin(certificate, certificate.c.completion_id == done.c.id)
        .outerjoin(
            tries,
            and_(tries.c.enrollment_id == enrollment.c.id, tries.c.cycle == enrollment.c.cycle),
        )
        .outerjoin(current, current.c.course_id == enrollment.c.course_id)
        .outerjoin(pinned, pinned.c.id == func.coalesce(done.c.version_id, enrollment.c.version_id))
    )
    completed_at = func.coalesce(done.c.completed_at, enrollment.c.completed_at)
    where = record_filter.criteria(person, enrollment.c.course_id, completed_at)
    status = status_column(now)
    if record_filter.status is not None:
        where.append(status == record_filter.status.value)
    # A course with no published version has no rows, as in the matrix. (Said this way
    # rather than as an inner join to ``current``: SQLite then plans the join worse.)
    where.append(enrollment.c.course_id.in_(select(version.c.course_id)))
    revoked = or_(certificate.c.revoked_at.is_not(None), enrollment.c.revoked_at.is_not(None))
    moment = iso_utc_sql if as_text else _as_is
    columns = (
        person.c.employee_id,
        person.c.name,
        person.c.email,
        person.c.department,
        manager.c.name,
        current.c.title,
        pinned.c.number,
        func.substr(pinned.c.content_hash, 1, SHORT_HASH),
        case((person.c.active, literal("active")), else_=literal("deactivated")),
        status,
        moment(enrollment.c.assigned_at),
        moment(enrollment.c.due_at),
        moment(enrollment.c.started_at),
        moment(completed_at),
        done.c.score,
        func.coalesce(tries.c.n, 0),
        certificate.c.code,
        # The current cycle's certificate, or the revoked one that reopened the cycle; none
        # when there is neither (certificates.validity: the one rule, read in SQL here).
        case(
            (and_(certificate.c.code.is_(None), enrollment.c.revoked_at.is_(None)), null()),
            else_=certificate_status_sql(revoked, enrollment.c.expires_at, now),
        ),
        moment(enrollment.c.expires_at),
        moment(enrollment.c.revoked_at),
    )
    return _Query(
        source, tuple(where), columns, order_by=(person.c.name, person.c.id, enrollment.c.course_id)
    )


def _rows_statement(query: _Query) -> Select[Any]:
    return (
        select(*query.columns)
        .select_from(query.source)
        .where(*query.where)
        .order_by(*query.order_by)
        .execution_options(yield_per=YIELD_PER)
    )


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")


def completion_rows(bind: Bind, record_filter: RecordFilter, now: datetime) -> Iterator[tuple]:
    """Stream one row per enrollment matching the filter, with the columns of ``COLUMNS``."""
    # Checked now, not at the first row: a streamed response has sent its status by then.
    _check_now(now)
    return _completion_stream(bind, _rows_statement(_completion_query(record_filter, now)))


def completion_text_rows(bind: Bind, record_filter: RecordFilter, now: datetime) -> Iterator[tuple]:
    """The rows of ``completion_rows``, with every time already as CSV text (``iso_utc``,
    formatted by the database): what the CSV writes, without a datetime made per cell."""
    _check_now(now)
    statement = _rows_statement(_completion_query(record_filter, now, as_text=True))
    return _completion_stream(bind, statement)


_CODE = COLUMNS.index("certificate_code")


def _completion_stream(bind: Bind, statement: Select[Any]) -> Iterator[tuple]:
    # Everything but the code's grouping is computed by the database (the statuses, the short
    # hash, the account): a row costs Python one tuple.
    with streamed(bind, statement) as result:
        for row in result:
            code = row[_CODE]
            yield tuple(row) if code is None else (*row[:_CODE], grouped(code), *row[_CODE + 1 :])


def count_rows(bind: Bind, record_filter: RecordFilter, now: datetime) -> int:
    """How many rows ``completion_rows`` gives for the same filter and ``now``; one query."""
    _check_now(now)
    query = _completion_query(record_filter, now)
    return int(
        bind.execute(
            select(func.count()).select_from(query.source).where(*query.where)
        ).scalar_one()
    )


# --------------------------------------------------------------------------------------------
# Audit and delivery


def record_export(
    session: Session, actor: User, kind: str, record_filter: RecordFilter, row_count: int
) -> AuditEvent:
    """Record who exported which records with which filter, and how many rows."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    return record(
        session,
        "export.created",
        actor=actor,
        kind=kind,
        filter=record_filter.to_dict(),
        row_count=row_count,
    )


def counted(rows: Iterable[T], on_done: Callable[[int], object]) -> Iterator[T]:
    """Pass ``rows`` through, then call ``on_done(count)`` once they are exhausted."""
    # Not called when the consumer stops early (a dropped download closes the generator):
    # audit before streaming, and use this only for what may be lost with the download.
    count = 0
    for row in rows:
        count += 1
        yield row
    on_done(count)


def export_filename(kind: str, now: datetime) -> str:
    """An attachment name with the kind and the UTC time, and no personal data."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    _check_now(now)
    stem, extension = kind.split(".")
    return f"candor-{stem}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.{extension}"
