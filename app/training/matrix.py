"""The people x courses status matrix: each person's current cycle on each course, with its
status, filtered by a ``RecordFilter``, sorted and paged; and the dashboard's tallies over it.

Read-only. The status of every row is the one rule of ``app.training.status``, at a ``now``
the caller may pass, so the matrix, the dashboard, reminders and the learner's course page
agree with each other and with the exports.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.orm import Session

from app.content.versions import newest_versions
from app.dates import expiry_of
from app.db import utcnow
from app.errors import DomainError
from app.models import Course, CourseVersion, Enrollment, User
from app.training.cycles import cycle_completions
from app.training.filters import RecordFilter
from app.training.status import DUE_SOON_DAYS, Status, StatusFacts, course_status, label

_users = cast(Table, User.__table__)

# Most urgent first, when sorting by status.
STATUS_ORDER = {
    s: i
    for i, s in enumerate(
        (
            Status.OVERDUE,
            Status.EXPIRED,
            Status.DUE_SOON,
            Status.IN_PROGRESS,
            Status.NOT_STARTED,
            Status.COMPLETED,
        )
    )
}


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One person on one course: the facts of their current cycle and its status."""

    user_id: int
    name: str
    email: str
    department: str | None
    manager_id: int | None
    course_id: int
    course_slug: str
    course_title: str
    version_number: int
    assigned_at: datetime | None
    due_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    status: Status

    @property
    def facts(self) -> StatusFacts:
        return StatusFacts(
            self.assigned_at, self.due_at, self.started_at, self.completed_at, self.expires_at
        )

    @property
    def label(self) -> str:
        return label(self.status, self.facts)


@dataclass(frozen=True)
class StatusPage:
    rows: list[StatusRow]
    total: int  # rows matching the filters, before paging


_SORT_KEYS: dict[str, Any] = {
    "name": lambda r: r.name.casefold(),
    "email": lambda r: r.email,
    "department": lambda r: r.department.casefold() if r.department else None,
    "course": lambda r: r.course_title.casefold(),
    "status": lambda r: STATUS_ORDER[r.status],
    "assigned": lambda r: r.assigned_at,
    "due": lambda r: r.due_at,
    "started": lambda r: r.started_at,
    "completed": lambda r: r.completed_at,
    "expires": lambda r: r.expires_at,
}
SORTS = frozenset(_SORT_KEYS) | {f"-{k}" for k in _SORT_KEYS}


def _sorted(rows: list[StatusRow], sort: str) -> list[StatusRow]:
    key = _SORT_KEYS[sort.lstrip("-")]
    rows = sorted(rows, key=lambda r: (r.name.casefold(), r.course_title.casefold(), r.user_id))
    present = [r for r in rows if key(r) is not None]
    absent = [r for r in rows if key(r) is None]  # blanks last, whichever the direction
    return sorted(present, key=key, reverse=sort.startswith("-")) + absent


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
) -> StatusPage:
    """The people x courses matrix: every enrollment ``record_filter`` admits (by default,
    of every active person), of one person only if ``user_id`` is given (of those in
    ``user_ids``, if given: a caller walking everyone in batches), filtered and paged.

    Four queries whatever the number of rows. Status is computed in Python (it depends on
    ``now`` and on each version's validity), so the status and completion-date filters, the
    sort and the paging are applied after it, over every row the other filters match.
    ``sort`` is a column name from ``SORTS``, "-" first for descending, blanks always last;
    None leaves rows unsorted. A course with no published version has no rows.
    """
    now = now or utcnow()
    if record_filter is None:
        record_filter = RecordFilter()
    if offset < 0 or (limit is not None and limit < 0):
        raise DomainError("Paging must not be negative.")
    if sort is not None and sort not in SORTS:
        raise DomainError("Unknown sort order.")
    criteria: list[ColumnElement[bool]] = record_filter.criteria(_users, Enrollment.course_id)
    if user_id is not None:
        criteria.append(User.id == user_id)
    if user_ids is not None:
        criteria.append(User.id.in_(list(user_ids)))

    versions = session.execute(
        select(
            CourseVersion.id,
            CourseVersion.number,
            CourseVersion.title,
            CourseVersion.recertify_months,
        )
    ).all()
    by_id: dict[int, Any] = {v.id: v for v in versions}
    newest = {v.course_id: v for v in session.scalars(newest_versions())}
    completions = cycle_completions(session, *criteria)
    enrolled = session.execute(
        select(
            User.id,
            User.name,
            User.email,
            User.department,
            User.manager_id,
            Enrollment.id,
            Enrollment.course_id,
            Enrollment.version_id,
            Enrollment.assigned_at,
            Enrollment.due_at,
            Enrollment.started_at,
            Enrollment.completed_at,
            Course.slug,
        )
        .select_from(Enrollment)
        .join(User, User.id == Enrollment.user_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(*criteria)
    )
    rows: list[StatusRow] = []
    # Plain tuple unpacking: attribute access on 20,000 result rows costs more than the query.
    for (
        person_id,
        name,
        email,
        department,
        manager_id,
        enrollment_id,
        enrolled_on,
        version_id,
        assigned_at,
        due_at,
        started_at,
        completed_at,
        slug,
    ) in enrolled:
        done_on = version_id
        if completed_at is not None and enrollment_id in completions:
            completed_at, done_on = completions[enrollment_id]
        version = by_id[version_id] if version_id in by_id else newest.get(enrolled_on)
        if version is None:
            continue  # a course with no published version has nothing to show
        if not record_filter.completed_within(completed_at):
            continue
        months = by_id[done_on].recertify_months if done_on in by_id else 0
        expires = expiry_of(completed_at, months)
        facts = StatusFacts(assigned_at, due_at, started_at, completed_at, expires)
        row_status = course_status(facts, now, due_soon_days)
        if not record_filter.admits(row_status):
            continue
        rows.append(
            StatusRow(
                person_id,
                name,
                email,
                department,
                manager_id,
                enrolled_on,
                slug,
                version.title,
                version.number,
                assigned_at,
                due_at,
                started_at,
                completed_at,
                expires,
                row_status,
            )
        )
    if sort is not None:
        rows = _sorted(rows, sort)
    end = None if limit is None else offset + limit
    return StatusPage(rows=rows[offset:end], total=len(rows))


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
    """The completion rate overall and by department, and how much is overdue."""
    # Count combinations first: a handful of keys, however many rows.
    combinations = Counter(
        (row.department, row.status, row.completed_at is not None)
        for row in status_rows(session, now=now, sort=None).rows
    )
    result = Summary()
    departments: dict[str | None, Tally] = defaultdict(Tally)
    for (department, status, completed), count in combinations.items():
        result.overall.add(status, completed, count)
        departments[department].add(status, completed, count)
    result.by_department = dict(
        sorted(departments.items(), key=lambda item: (item[0] is None, item[0] or ""))
    )
    return result
