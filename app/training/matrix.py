"""The people x courses status matrix: each person's current cycle on each course, with its
status, filtered by a ``RecordFilter``, sorted and paged; and the dashboard's tallies over it.

Read-only. The status is computed by the database: ``app.training.status.status_case`` is
the one status rule read as SQL, over the facts each enrollment row keeps. So the status
filter, the sort and the paging all happen in SQL, and a page costs the same whatever the
number of people: two queries for a page of rows, one for the dashboard.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, func, select
from sqlalchemy.orm import Session

from app.content.versions import newest_versions
from app.db import NAME_COLLATION, utcnow
from app.errors import DomainError
from app.models import Course, CourseVersion, Enrollment, User
from app.training.filters import RecordFilter
from app.training.status import (
    DUE_SOON_DAYS,
    URGENCY,
    Status,
    StatusFacts,
    label,
    status_case,
    urgency_case,
)

_users = cast(Table, User.__table__)
_enrollments = cast(Table, Enrollment.__table__)

# Most urgent first, when sorting by status.
STATUS_ORDER = {s: i for i, s in enumerate(URGENCY)}


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One person on one course: the facts of their current cycle and its status."""

    user_id: int
    name: str
    email: str
    employee_id: str | None
    department: str | None
    manager_id: int | None
    active: bool
    course_id: int
    course_slug: str
    course_title: str
    version_number: int
    assigned_at: datetime | None
    due_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    extra_attempts: int
    status: Status

    @property
    def facts(self) -> StatusFacts:
        return StatusFacts(
            self.assigned_at,
            self.due_at,
            self.started_at,
            self.completed_at,
            self.expires_at,
            self.revoked_at,
        )

    @property
    def label(self) -> str:
        return label(self.status, self.facts)


@dataclass(frozen=True)
class StatusPage:
    rows: list[StatusRow]
    total: int  # rows matching the filters, before paging


def status_column(now: datetime, due_soon_days: int = DUE_SOON_DAYS) -> ColumnElement[str]:
    """The status of each enrollment row at ``now``, as SQL (the one rule, ``status_case``)."""
    e = _enrollments.c
    return status_case(
        {
            "assigned_at": e.assigned_at,
            "due_at": e.due_at,
            "started_at": e.started_at,
            "completed_at": e.completed_at,
            "expires_at": e.expires_at,
            "revoked_at": e.revoked_at,
        },
        now,
        due_soon_days,
    )


def _records(
    record_filter: RecordFilter,
    now: datetime,
    due_soon_days: int,
    user_id: int | None = None,
) -> Select[Any]:
    """Every record ``record_filter`` admits, with its status, as a subquery-ready SELECT.

    A course with no published version has no rows; the version shown is the one the person
    is on (or completed), else the course's newest.
    """
    current = newest_versions().subquery("current")
    shown = cast(Table, CourseVersion.__table__).alias("shown")
    e = _enrollments.c
    criteria = record_filter.criteria(_users, e.course_id, e.completed_at)
    if user_id is not None:
        criteria.append(_users.c.id == user_id)
    return (
        select(
            _users.c.id.label("user_id"),
            _users.c.name,
            _users.c.email,
            _users.c.employee_id,
            _users.c.department,
            _users.c.manager_id,
            _users.c.active,
            e.course_id,
            Course.slug.label("course_slug"),
            shown.c.title.label("course_title"),
            shown.c.number.label("version_number"),
            e.assigned_at,
            e.due_at,
            e.started_at,
            e.completed_at,
            e.expires_at,
            e.revoked_at,
            e.extra_attempts,
            status_column(now, due_soon_days).label("status"),
        )
        .select_from(_enrollments)
        .join(_users, _users.c.id == e.user_id)
        .join(Course, Course.id == e.course_id)
        .join(current, current.c.course_id == e.course_id)
        .join(shown, shown.c.id == func.coalesce(e.version_id, current.c.id))
        .where(*criteria)
    )


def _order(records: Any, sort: str) -> list[ColumnElement[Any]]:
    """ORDER BY for ``sort``: its column (blanks last, either direction), then name."""
    c = records.c
    keys: dict[str, ColumnElement[Any]] = {
        "name": c.name.collate(NAME_COLLATION),
        "email": c.email,
        "employee_id": c.employee_id,
        "department": c.department.collate(NAME_COLLATION),
        "course": c.course_title.collate(NAME_COLLATION),
        "status": urgency_case(c.status),
        "assigned": c.assigned_at,
        "due": c.due_at,
        "started": c.started_at,
        "completed": c.completed_at,
        "expires": c.expires_at,
    }
    key = keys[sort.lstrip("-")]
    first = key.desc() if sort.startswith("-") else key.asc()
    return [
        first.nulls_last(),
        c.name.collate(NAME_COLLATION),
        c.user_id,
        c.course_title.collate(NAME_COLLATION),
        c.course_id,
    ]


SORTS = frozenset(
    ("name", "email", "employee_id", "department", "course", "status")
    + ("assigned", "due", "started", "completed", "expires")
)
SORTS = SORTS | {f"-{k}" for k in SORTS}


def status_rows(
    session: Session,
    record_filter: RecordFilter | None = None,
    *,
    user_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
    sort: str | None = "name",
    now: datetime | None = None,
    due_soon_days: int = DUE_SOON_DAYS,
) -> StatusPage:
    """The people x courses matrix: every enrollment ``record_filter`` admits (by default,
    of every active person), of one person only if ``user_id`` is given, filtered and paged.

    ``sort`` is a column name from ``SORTS``, "-" first for descending, blanks always last,
    names in the language's order (``NAME_COLLATION``); None leaves rows unsorted. One query
    for the rows and their total (a second only for a page past the end).
    """
    now = now or utcnow()
    if record_filter is None:
        record_filter = RecordFilter()
    if offset < 0 or (limit is not None and limit < 0):
        raise DomainError("Paging must not be negative.")
    if sort is not None and sort not in SORTS:
        raise DomainError("Unknown sort order.")
    records = _records(record_filter, now, due_soon_days, user_id).subquery("records")
    admitted: list[ColumnElement[bool]] = []
    if record_filter.status is not None:
        admitted.append(records.c.status == record_filter.status.value)
    query = select(records, func.count().over().label("total")).where(*admitted)
    if sort is not None:
        query = query.order_by(*_order(records, sort))
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    rows: list[StatusRow] = []
    total = 0
    for row in session.execute(query):
        values = tuple(row)
        total = values[-1]
        rows.append(StatusRow(*values[:-2], Status(values[-2])))
    if not rows and offset:
        total = session.execute(
            select(func.count()).select_from(records).where(*admitted)
        ).scalar_one()
    return StatusPage(rows=rows, total=total)


@dataclass
class Tally:
    """Counts over a set of status rows."""

    total: int = 0
    completed: int = 0  # holding a valid completion of the current cycle
    overdue: int = 0
    expired: int = 0
    due_soon: int = 0

    @property
    def rate(self) -> float:
        """Share of rows with a valid completion, 0 to 1 (0 when there are none)."""
        return self.completed / self.total if self.total else 0.0

    def add(self, status: Status, completed: bool, count: int = 1) -> None:
        self.total += count
        self.completed += count if completed and status is not Status.EXPIRED else 0
        self.overdue += count if status is Status.OVERDUE else 0
        self.expired += count if status is Status.EXPIRED else 0
        self.due_soon += count if status is Status.DUE_SOON else 0


@dataclass
class Summary:
    """Completion over every active person x course enrollment, overall and by department."""

    overall: Tally = field(default_factory=Tally)
    by_department: dict[str | None, Tally] = field(default_factory=dict)  # None: no department

    @property
    def overdue(self) -> int:
        return self.overall.overdue


def summary(session: Session, now: datetime | None = None) -> Summary:
    """The completion rate overall and by department, and how much is overdue: one query,
    counted by the database over the records of active people (``RecordFilter()``)."""
    records = _records(RecordFilter(), now or utcnow(), DUE_SOON_DAYS).subquery("records")
    completed = records.c.completed_at.is_not(None)
    counts = session.execute(
        select(records.c.department, records.c.status, completed, func.count()).group_by(
            records.c.department, records.c.status, completed
        )
    )
    result = Summary()
    departments: dict[str | None, Tally] = defaultdict(Tally)
    for department, status, done, count in counts:
        result.overall.add(Status(status), bool(done), count)
        departments[department].add(Status(status), bool(done), count)
    result.by_department = dict(
        sorted(departments.items(), key=lambda item: (item[0] is None, item[0] or ""))
    )
    return result
