"""The people x courses grid: one row per person, one column per course, the status of each
person's current cycle on each course in its cell.

The same records as the matrix list (``status_rows``): a ``RecordFilter`` chooses them, the
one status rule (read as SQL) gives each cell. People are paged, not records: a page is three
queries (the course catalogue, the page of people with their total, the cells of those
people), whatever the number of people or courses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, exists, func, select
from sqlalchemy.orm import Session

from app.db import NAME_COLLATION, utcnow
from app.errors import DomainError
from app.models import Enrollment, User
from app.training.filters import RecordFilter
from app.training.matrix import (
    Catalogue,
    StatusRow,
    record_criteria,
    status_column,
    status_rows,
)
from app.training.status import DUE_SOON_DAYS

GRID_SORT_COLUMNS = ("name", "employee_id", "email", "department")
GRID_SORTS = frozenset(GRID_SORT_COLUMNS) | {f"-{k}" for k in GRID_SORT_COLUMNS}


@dataclass(frozen=True)
class GridCourse:
    course_id: int
    title: str


@dataclass
class GridPerson:
    user_id: int
    name: str
    email: str
    employee_id: str | None
    department: str | None
    active: bool
    cells: dict[int, StatusRow] = field(default_factory=dict)  # by course id


@dataclass(frozen=True)
class GridPage:
    courses: list[GridCourse]  # the columns, by title in the language's order
    people: list[GridPerson]
    total: int  # people with a record the filter admits, before paging


def status_grid(
    session: Session,
    record_filter: RecordFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    sort: str = "name",
    now: datetime | None = None,
    due_soon_days: int = DUE_SOON_DAYS,
) -> GridPage:
    """A page of the grid: the people with at least one record ``record_filter`` admits,
    sorted by ``sort`` (a key of ``GRID_SORTS``, "-" first for descending; names in the
    language's order), each with the admitted records as cells."""
    now = now or utcnow()
    record_filter = record_filter or RecordFilter()
    if offset < 0 or limit < 0:
        raise DomainError("Paging must not be negative.")
    if sort not in GRID_SORTS:
        raise DomainError("Unknown sort order.")
    catalogue = Catalogue.read(session)
    # People with at least one admitted record: a semi-join from the people, so the status
    # is computed only when filtering by it, and only until one record of a person matches.
    users = cast(Table, User.__table__).c
    enrollments = cast(Table, Enrollment.__table__).c
    match = record_criteria(record_filter, catalogue, None)
    if record_filter.status is not None:
        match.append(status_column(now, due_soon_days) == record_filter.status.value)
    people = select(
        users.id, users.name, users.email, users.employee_id, users.department, users.active
    ).where(exists(select(enrollments.id).where(enrollments.user_id == users.id, *match)))
    keys: dict[str, Any] = {
        "name": users.name.collate(NAME_COLLATION),
        "employee_id": users.employee_id,
        "email": users.email,
        "department": users.department.collate(NAME_COLLATION),
    }
    column = sort.lstrip("-")
    key = keys[column].desc() if sort.startswith("-") else keys[column].asc()
    then = [users.id] if column == "name" else [keys["name"], users.id]
    page = session.execute(
        people.order_by(key.nulls_last(), *then).limit(limit).offset(offset)
    ).all()
    total = len(page) + offset
    if len(page) == limit or (offset and not page):
        total = int(
            session.execute(select(func.count()).select_from(people.subquery())).scalar_one()
        )
    found = [GridPerson(*row) for row in page]
    by_id = {p.user_id: p for p in found}
    if by_id:
        cells = status_rows(
            session,
            record_filter,
            user_ids=list(by_id),
            sort=None,
            now=now,
            due_soon_days=due_soon_days,
            catalogue=catalogue,
        ).rows
        for cell in cells:
            by_id[cell.user_id].cells[cell.course_id] = cell
    courses = [
        GridCourse(course_id, catalogue.newest[course_id].title)
        for course_id in sorted(catalogue.rank, key=catalogue.rank.__getitem__)
        if record_filter.course_id in (None, course_id)
    ]
    return GridPage(courses, found, total)
