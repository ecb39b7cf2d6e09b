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

from sqlalchemy import ColumnElement, FromClause, Select, and_, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.audit.events import record
from app.certificates.codes import grouped
from app.content.versions import newest_versions
from app.dates import is_expired
from app.db import streamed
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


def _completion_query(record_filter: RecordFilter, now: datetime) -> _Query:
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
    columns = (
        person.c.employee_id,
        person.c.name,
        person.c.email,
        person.c.department,
        manager.c.name,
        current.c.title,
        pinned.c.number,
        pinned.c.content_hash,
        person.c.active,
        status,
        enrollment.c.assigned_at,
        enrollment.c.due_at,
        enrollment.c.started_at,
        completed_at,
        done.c.score,
        func.coalesce(tries.c.n, 0),
        certificate.c.code,
        certificate.c.revoked_at,
        enrollment.c.expires_at,
        enrollment.c.revoked_at,
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
    return _completion_stream(bind, _rows_statement(_completion_query(record_filter, now)), now)


def certificate_status(
    code: str | None,
    certificate_revoked_at: datetime | None,
    expires_at: datetime | None,
    cycle_revoked_at: datetime | None,
    now: datetime,
) -> str | None:
    """valid, expired or revoked: the current cycle's certificate, or the revoked one that
    reopened the cycle; None when there is neither."""
    if cycle_revoked_at is not None or certificate_revoked_at is not None:
        return "revoked"
    if code is None:
        return None
    return "expired" if is_expired(expires_at, now) else "valid"


def _completion_stream(bind: Bind, statement: Select[Any], now: datetime) -> Iterator[tuple]:
    with streamed(bind, statement) as result:
        for (
            employee_id,
            name,
            email,
            department,
            manager,
            course,
            version_number,
            content_hash,
            active,
            status,
            assigned_at,
            due_at,
            started_at,
            completed_at,
            score,
            attempts,
            code,
            certificate_revoked_at,
            expires_at,
            revoked_at,
        ) in result:
            yield (
                employee_id,
                name,
                email,
                department,
                manager,
                course,
                version_number,
                content_hash[:SHORT_HASH] if content_hash else None,
                "active" if active else "deactivated",
                status,
                assigned_at,
                due_at,
                started_at,
                completed_at,
                score,
                attempts,
                grouped(code) if code else None,
                certificate_status(code, certificate_revoked_at, expires_at, revoked_at, now),
                expires_at,
                revoked_at,
            )


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
