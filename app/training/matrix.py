"""The people x courses status matrix: each person's current cycle on each course, with its
status, filtered by a ``RecordFilter``, sorted and paged; and the dashboard's tallies over it.

Read-only. The status is computed by the database: ``app.training.status.status_case`` is
the one status rule read as SQL, over the facts each enrollment row keeps. So the status
filter, the sort and the paging all happen in SQL, and a page costs the same whatever the
number of people: one query for a page of rows and its total, one for the dashboard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, case, func, select
from sqlalchemy.orm import Session

from app.db import NAME_COLLATION, name_sort_key, utcnow
from app.errors import DomainError
from app.fields import page_number
from app.models import Course, CourseVersion, Enrollment, User
from app.training.filters import RecordFilter
from app.training.status import (
    DUE_SOON_DAYS,
    URGENCY,
    Status,
    StatusFacts,
    facts_of,
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
        return facts_of(self)

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


@dataclass(frozen=True)
class Catalogue:
    """Every published version, read once per listing (a handful of rows): the titles and
    numbers rows show, and each course's place when sorting by course title."""

    by_id: dict[int, Any]
    newest: dict[int, Any]  # by course id
    rank: dict[int, int]  # course id -> place by the newest title, in the language's order

    @classmethod
    def read(cls, session: Session) -> Catalogue:
        versions = session.execute(
            select(
                CourseVersion.id,
                CourseVersion.course_id,
                CourseVersion.number,
                CourseVersion.title,
                Course.slug,
            )
            .join(Course, Course.id == CourseVersion.course_id)
            .order_by(CourseVersion.course_id, CourseVersion.number)
        ).all()
        newest = {v.course_id: v for v in versions}  # the highest number comes last
        order = sorted(newest.values(), key=lambda v: (name_sort_key(v.title), v.course_id))
        rank = {v.course_id: i for i, v in enumerate(order)}
        return cls({v.id: v for v in versions}, newest, rank)

    def shown(self, course_id: int, version_id: int | None) -> Any:
        """The version a row shows: the one the person is on (or completed), else the newest."""
        if version_id is not None and version_id in self.by_id:
            return self.by_id[version_id]
        return self.newest[course_id]


def record_columns() -> list[ColumnElement[Any]]:
    """What a record of the matrix is: the person and their enrolment (the status apart), for
    every query that lists records (the matrix, reminders)."""
    e = _enrollments.c
    people = _users.c
    return [
        people.id.label("user_id"),
        people.name,
        people.email,
        people.employee_id,
        people.department,
        people.manager_id,
        people.active,
        e.course_id,
        e.version_id,
        e.assigned_at,
        e.due_at,
        e.started_at,
        e.completed_at,
        e.expires_at,
        e.revoked_at,
        e.extra_attempts,
    ]


def records_query(
    record_filter: RecordFilter,
    now: datetime,
    due_soon_days: int,
    catalogue: Catalogue,
    user_ids: Collection[int] | None = None,
) -> Select[Any]:
    """Every record ``record_filter`` admits, with its status, as a subquery-ready SELECT:
    enrollments joined with their people only (versions are looked up in ``Catalogue``, so
    the planner has one join to estimate). A course with no published version has no rows.
    """
    return (
        select(*record_columns(), status_column(now, due_soon_days).label("status"))
        .select_from(_enrollments)
        .join(_users, _users.c.id == _enrollments.c.user_id)
        .where(*record_criteria(record_filter, catalogue, user_ids))
    )


def record_criteria(
    record_filter: RecordFilter, catalogue: Catalogue, user_ids: Collection[int] | None
) -> list[ColumnElement[bool]]:
    e = _enrollments.c
    criteria = record_filter.criteria(_users, e.course_id, e.completed_at)
    if user_ids is not None:
        criteria.append(_users.c.id.in_(list(user_ids)))
    # The published courses as a list of ids: a subquery here costs the planner more than the
    # whole status computation.
    criteria.append(e.course_id.in_(sorted(catalogue.newest)))
    return criteria


def _order(records: Any, sort: str, catalogue: Catalogue) -> list[ColumnElement[Any]]:
    """ORDER BY for ``sort``: its column (blanks last, either direction), then name."""
    c = records.c
    course = case(catalogue.rank, value=c.course_id, else_=len(catalogue.rank))
    keys: dict[str, ColumnElement[Any]] = {
        "name": c.name.collate(NAME_COLLATION),
        "email": c.email,
        "employee_id": c.employee_id,
        "department": c.department.collate(NAME_COLLATION),
        "course": course,
        "status": urgency_case(c.status),
        "assigned": c.assigned_at,
        "due": c.due_at,
        "started": c.started_at,
        "completed": c.completed_at,
        "expires": c.expires_at,
    }
    column = sort.lstrip("-")
    key = keys[column]
    first = key.desc() if sort.startswith("-") else key.asc()
    then = [c.user_id, course] if column == "name" else [keys["name"], c.user_id, course]
    return [first.nulls_last(), *then]


SORT_COLUMNS = (
    "name",
    "email",
    "employee_id",
    "department",
    "course",
    "status",
    "assigned",
    "due",
    "started",
    "completed",
    "expires",
)
SORTS = frozenset(SORT_COLUMNS) | {f"-{k}" for k in SORT_COLUMNS}


def status_rows(
    session: Session,
    record_filter: RecordFilter | None = None,
    *,
    user_id: int | None = None,
    user_ids: Collection[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
    sort: str | None = "name",
    now: datetime | None = None,
    due_soon_days: int = DUE_SOON_DAYS,
    catalogue: Catalogue | None = None,
) -> StatusPage:
    """The people x courses matrix: every enrollment ``record_filter`` admits (by default,
    of every active person), of one person only if ``user_id`` is given (of these people if
    ``user_ids`` is: a caller walking everyone in batches), filtered and paged.
    ``catalogue``: the versions, if already read.

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
    catalogue = catalogue or Catalogue.read(session)
    people = (
        [user_id] if user_id is not None else (list(user_ids) if user_ids is not None else None)
    )
    records = records_query(record_filter, now, due_soon_days, catalogue, people).subquery(
        "records"
    )
    admitted: list[ColumnElement[bool]] = []
    if record_filter.status is not None:
        admitted.append(records.c.status == record_filter.status.value)
    query = select(records).where(*admitted)
    if sort is not None:
        query = query.order_by(*_order(records, sort, catalogue))
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    rows: list[StatusRow] = []
    for (
        person_id,
        name,
        email,
        employee_id,
        department,
        manager_id,
        active,
        course_id,
        version_id,
        assigned_at,
        due_at,
        started_at,
        completed_at,
        expires_at,
        revoked_at,
        extra_attempts,
        status,
    ) in session.execute(query):
        version = catalogue.shown(course_id, version_id)
        rows.append(
            StatusRow(
                person_id,
                name,
                email,
                employee_id,
                department,
                manager_id,
                active,
                course_id,
                version.slug,
                version.title,
                version.number,
                assigned_at,
                due_at,
                started_at,
                completed_at,
                expires_at,
                revoked_at,
                extra_attempts,
                Status(status),
            )
        )
    if limit is None or (not offset and len(rows) < limit):
        return StatusPage(rows=rows, total=len(rows))  # every row is here: nothing to count
    # Counted apart: a window count over the page query would carry every row to the end.
    return StatusPage(
        rows=rows, total=_count(session, record_filter, now, due_soon_days, catalogue, people)
    )


def _count(
    session: Session,
    record_filter: RecordFilter,
    now: datetime,
    due_soon_days: int,
    catalogue: Catalogue,
    user_ids: list[int] | None,
) -> int:
    """How many records the filter admits; the status is computed only to filter by it."""
    e = _enrollments.c
    criteria = record_criteria(record_filter, catalogue, user_ids)
    if record_filter.status is not None:
        criteria.append(status_column(now, due_soon_days) == record_filter.status.value)
    query = (
        select(func.count())
        .select_from(_enrollments)
        .join(_users, _users.c.id == e.user_id)
        .where(*criteria)
    )
    return int(session.execute(query).scalar_one())


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


def summary(
    session: Session, now: datetime | None = None, record_filter: RecordFilter | None = None
) -> Summary:
    """The completion rate overall and by department, and how much is overdue: one query,
    counted by the database over the records of active people (``RecordFilter()``), or over
    those ``record_filter`` admits (a manager's team)."""
    catalogue = Catalogue.read(session)
    records = records_query(
        record_filter or RecordFilter(), now or utcnow(), DUE_SOON_DAYS, catalogue
    ).subquery("records")
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


PAGE_SIZE = 50  # rows per page of the matrix and the grid, HR's and a manager's
VIEW_KEYS = ("sort", "page")


@dataclass(frozen=True)
class MatrixQuery:
    """The matrix's and the grid's query string (HR's, and a manager's team): the records to
    list, then how to show them."""

    records: RecordFilter = field(default_factory=RecordFilter)
    sort: str = "name"  # a key of app.training.matrix.SORTS
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, Any], sorts: frozenset[str] = SORTS) -> MatrixQuery:
        """The filter and view in ``args``; DomainError (400) for anything the page cannot
        send, with the same message an export gives for the same filter. ``sorts``: the
        page's sort orders (the list's, or the grid's)."""
        sort = (args.get("sort") or "name").strip()
        if sort not in sorts:
            raise DomainError("Unknown sort order.")
        page = page_number(args.get("page"))
        return cls(RecordFilter.from_args(args, other_keys=VIEW_KEYS), sort, page)

    def args(self, **changes: Any) -> dict[str, str]:
        """The query string for this page with ``changes`` to sort or page (for links)."""
        view = replace(self, **changes)
        values = {**view.records.args(), "sort": view.sort}
        if view.page != 1:
            values["page"] = str(view.page)
        return values
