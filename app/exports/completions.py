"""Completion records for export: one row per person and course, streamed. Callers own the
transaction.

Every row comes from one Core statement run with ``yield_per`` (a server-side cursor on
PostgreSQL), so memory stays flat and the number of queries does not grow with the rows.
Statuses come from ``app.training.status.course_status`` at a ``now`` the caller passes, so the
rows, their count and the audit event all describe the same moment, by the same rule as pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, FromClause, Select, and_, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.audit.events import record
from app.certificates.codes import grouped
from app.errors import DomainError
from app.models import (
    AttemptStatus,
    AuditEvent,
    Certificate,
    Completion,
    Course,
    CourseVersion,
    Enrollment,
    QuizAttempt,
    User,
)
from app.training.status import Status, StatusFacts, course_status

COLUMNS: Final = (
    "employee_id", "name", "email", "department", "manager", "course", "course_version",
    "content_hash", "status", "assigned_at", "due_at", "started_at", "completed_at", "score",
    "attempts", "certificate_code", "expires_at",
)
STATUSES: Final = tuple(status.value for status in Status)
EXPORT_KINDS: Final = ("completions.csv", "completions.xlsx", "items.csv")
YIELD_PER: Final = 1000
SHORT_HASH: Final = 12  # as CourseVersion.short_hash and the certificates print it

MAX_ID: Final = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
MAX_DEPARTMENT: Final = 120  # users.department's length
_DIGITS = re.compile(r"[0-9]{1,10}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Bind = Session | Connection
T = TypeVar("T")


def _shown(value: str) -> str:
    """Input quoted and cut short, safe to put in a message."""
    return repr(value[:40] + ("…" if len(value) > 40 else ""))


@dataclass(frozen=True)
class ExportFilter:
    """Which records an export holds; every field left as None means "any"."""

    course_id: int | None = None
    department: str | None = None
    manager_id: int | None = None
    status: str | None = None
    completed_from: date | None = None
    completed_to: date | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise DomainError(f"Unknown status {_shown(self.status)}: use one of "
                              f"{', '.join(STATUSES)}.")
        if (self.completed_from is not None and self.completed_to is not None
                and self.completed_from > self.completed_to):
            raise DomainError(f"completed_from ({self.completed_from.isoformat()}) is after "
                              f"completed_to ({self.completed_to.isoformat()}).")

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> ExportFilter:
        """Parse query-string arguments; DomainError (400) names the first bad one."""
        # Unknown keys are refused rather than ignored: a misspelt filter would otherwise
        # export everyone's records.
        known = [f.name for f in fields(cls)]
        for key in args:
            if key not in known:
                raise DomainError(f"Unknown filter {_shown(str(key))}: use "
                                  f"{', '.join(known)}.")
        values: dict[str, str] = {}
        getlist = getattr(args, "getlist", None)
        for key in known:
            if key not in args:
                continue
            if getlist is not None and len(getlist(key)) > 1:
                raise DomainError(f"Give {key} at most once.")
            raw = args[key]
            text = "" if raw is None else str(raw).strip()
            if text:
                values[key] = text
        return cls(
            course_id=_parse_id(values, "course_id"),
            department=_parse_department(values),
            manager_id=_parse_id(values, "manager_id"),
            status=values.get("status"),
            completed_from=_parse_date(values, "completed_from"),
            completed_to=_parse_date(values, "completed_to"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The filter as JSON for the audit log: only the fields set, dates as ISO strings."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value.isoformat() if isinstance(value, date) else value
        return out


def _parse_id(values: Mapping[str, str], key: str) -> int | None:
    text = values.get(key)
    if text is None:
        return None
    # int() would also take " 1", "1_0" and non-ASCII digits: accept plain digits only.
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_ID:
        raise DomainError(f"{key} must be a whole number from 1 to {MAX_ID}, not "
                          f"{_shown(text)}.")
    return int(text)


def _parse_department(values: Mapping[str, str]) -> str | None:
    text = values.get("department")
    if text is None:
        return None
    if len(text) > MAX_DEPARTMENT:
        raise DomainError(f"department is {len(text)} characters long; department names "
                          f"have at most {MAX_DEPARTMENT}.")
    if _CONTROL.search(text):
        raise DomainError("department contains control characters.")
    return text


def _parse_date(values: Mapping[str, str], key: str) -> date | None:
    text = values.get(key)
    if text is None:
        return None
    # date.fromisoformat also takes "20261201" and week dates: accept one spelling only.
    if not _ISO_DATE.fullmatch(text):
        raise DomainError(f"{key} must be a date written YYYY-MM-DD, like 2026-12-01, not "
                          f"{_shown(text)}.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"{key} {_shown(text)} is not a date in the calendar.") from None


# --------------------------------------------------------------------------------------------
# Rows


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class _Query:
    """The FROM clause of the completion export, its filter, and the columns it reads."""

    source: FromClause
    where: tuple[ColumnElement[bool], ...]
    columns: tuple[ColumnElement[Any], ...]
    order_by: tuple[ColumnElement[Any], ...]


def _completion_query(export_filter: ExportFilter) -> _Query:
    person = User.__table__.alias("person")
    manager = User.__table__.alias("manager")
    enrollment = Enrollment.__table__
    course = Course.__table__
    completion = Completion.__table__
    attempt = QuizAttempt.__table__
    version = CourseVersion.__table__

    # Aggregates per (enrollment, cycle) are grouped once over their tables and joined, so a
    # row costs no query of its own, and no correlated subquery runs per row either.
    latest = (
        select(completion.c.enrollment_id, completion.c.cycle,
               func.max(completion.c.id).label("id"))
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
    newest = (
        select(version.c.course_id, func.max(version.c.number).label("number"))
        .group_by(version.c.course_id)
        .subquery("newest")
    )
    current = version.alias("current")  # the newest version: the course's title today
    pinned = version.alias("pinned")  # the version completed, or the one they are on
    certificate = Certificate.__table__.alias("certificate")

    source = (
        enrollment
        .join(person, person.c.id == enrollment.c.user_id)
        .join(course, course.c.id == enrollment.c.course_id)
        .outerjoin(manager, manager.c.id == person.c.manager_id)
        .outerjoin(latest, and_(latest.c.enrollment_id == enrollment.c.id,
                                latest.c.cycle == enrollment.c.cycle))
        .outerjoin(done, done.c.id == latest.c.id)
        .outerjoin(certificate, certificate.c.completion_id == done.c.id)
        .outerjoin(tries, and_(tries.c.enrollment_id == enrollment.c.id,
                               tries.c.cycle == enrollment.c.cycle))
        .outerjoin(newest, newest.c.course_id == enrollment.c.course_id)
        .outerjoin(current, and_(current.c.course_id == newest.c.course_id,
                                 current.c.number == newest.c.number))
        .outerjoin(pinned, pinned.c.id == func.coalesce(done.c.version_id,
                                                        enrollment.c.version_id))
    )
    completed_at = func.coalesce(done.c.completed_at, enrollment.c.completed_at)
    where: list[ColumnElement[bool]] = []
    if export_filter.course_id is not None:
        where.append(enrollment.c.course_id == export_filter.course_id)
    if export_filter.department is not None:
        where.append(person.c.department == export_filter.department)
    if export_filter.manager_id is not None:
        where.append(person.c.manager_id == export_filter.manager_id)
    if export_filter.completed_from is not None:
        where.append(completed_at >= start_of_day(export_filter.completed_from))
    if export_filter.completed_to is not None:
        where.append(completed_at < start_of_day(export_filter.completed_to + timedelta(days=1)))
    columns = (
        person.c.employee_id, person.c.name, person.c.email, person.c.department,
        manager.c.name, func.coalesce(current.c.title, course.c.slug), pinned.c.number,
        pinned.c.content_hash, enrollment.c.assigned_at, enrollment.c.due_at,
        enrollment.c.started_at, completed_at, done.c.score, func.coalesce(tries.c.n, 0),
        certificate.c.code, certificate.c.expires_at,
    )
    return _Query(source, tuple(where), columns,
                  order_by=(person.c.name, person.c.id, enrollment.c.course_id))


def _rows_statement(query: _Query) -> Select[Any]:
    return (
        select(*query.columns).select_from(query.source).where(*query.where)
        .order_by(*query.order_by)
        .execution_options(yield_per=YIELD_PER)
    )


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")


def completion_rows(bind: Bind, export_filter: ExportFilter, now: datetime) -> Iterator[tuple]:
    """Stream one row per enrollment matching the filter, with the columns of ``COLUMNS``."""
    # Checked now, not at the first row: a streamed response has sent its status by then.
    _check_now(now)
    return _completion_stream(bind, _rows_statement(_completion_query(export_filter)),
                              export_filter.status, now)


def _completion_stream(bind: Bind, statement: Select[Any], wanted: str | None,
                       now: datetime) -> Iterator[tuple]:
    result = bind.execute(statement)
    try:
        for (employee_id, name, email, department, manager, course, version_number,
             content_hash, assigned_at, due_at, started_at, completed_at, score, attempts,
             code, expires_at) in result:
            # The one status rule of app/training/status, as pages and reminders use it.
            facts = StatusFacts(assigned_at=assigned_at, due_at=due_at, started_at=started_at,
                                completed_at=completed_at, expires_at=expires_at)
            status = course_status(facts, now).value
            if wanted is not None and status != wanted:
                continue
            yield (
                employee_id, name, email, department, manager, course, version_number,
                content_hash[:SHORT_HASH] if content_hash else None, status, assigned_at,
                due_at, started_at, completed_at, score, attempts,
                grouped(code) if code else None, expires_at,
            )
    finally:
        # Also when the client goes away mid-download: frees the server-side cursor.
        result.close()


def count_rows(bind: Bind, export_filter: ExportFilter, now: datetime) -> int:
    """How many rows ``completion_rows`` gives for the same filter and ``now``; one query."""
    _check_now(now)
    if export_filter.status is not None:
        # The status is computed in Python only, so that exports and their counts can never
        # apply different rules.
        return sum(1 for _ in completion_rows(bind, export_filter, now))
    query = _completion_query(export_filter)
    return int(bind.execute(
        select(func.count()).select_from(query.source).where(*query.where)
    ).scalar_one())


# --------------------------------------------------------------------------------------------
# Audit and delivery


def record_export(session: Session, actor: User, kind: str, export_filter: ExportFilter,
                  row_count: int) -> AuditEvent:
    """Record who exported which records with which filter, and how many rows."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    return record(session, "export.created", actor=actor, kind=kind,
                  filter=export_filter.to_dict(), row_count=row_count)


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
