"""HR: the people x courses matrix. Which records it lists is the shared ``RecordFilter``
(app/training/filters.py, its keys documented there); this page adds only its view: the
sort order and the page. Its "export these records" forms post the same filter keys.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from flask import render_template, request, url_for

from app.db import get_session
from app.hr.views import bp
from app.obligations.registry import REGISTRY as OBLIGATIONS
from app.people.directory_queries import list_courses, list_departments, list_managers
from app.training.filters import RecordFilter
from app.training.grid import GRID_SORTS, status_grid
from app.training.matrix import PAGE_SIZE, MatrixQuery, status_rows
from app.training.status import SHORT_STATUS, Status

_FILTER_KEYS = frozenset(f.name for f in fields(RecordFilter))


@bp.app_template_global("hr_matrix_url")
def matrix_url(**filters: Any) -> str:
    """The matrix listing the records these filter keys select, for links from pages
    (``hr_matrix_url(status="overdue")`` in templates) and redirects.

    The values are not checked here but when the link is followed: a department stored
    before today's rules that they refuse must not keep the dashboard from showing; its link
    answers 400 naming the problem.
    """
    if unknown := set(filters) - _FILTER_KEYS:
        raise TypeError(f"not RecordFilter keys: {', '.join(sorted(unknown))}")
    args: dict[str, Any] = {k: str(v) for k, v in filters.items() if v not in (None, "")}
    return url_for("hr.matrix", **args)


@bp.get("/grid")
def grid():
    """People x courses: one row per person, a column per course, a status in each cell."""
    db = get_session()
    query = MatrixQuery.from_args(request.args, GRID_SORTS)
    page = status_grid(
        db, query.records, sort=query.sort, limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE
    )
    return render_template(
        "hr/grid.html",
        team=False,
        endpoint="hr.grid",
        grid=page,
        query=query,
        page_size=PAGE_SIZE,
        short_status=SHORT_STATUS,
        courses=list_courses(db),
        departments=list_departments(db),
        managers=list_managers(db),
        statuses=list(Status),
        obligations=list(OBLIGATIONS.values()),
    )


@bp.get("/status")
def matrix():
    db = get_session()
    query = MatrixQuery.from_args(request.args)
    page = status_rows(
        db, query.records, sort=query.sort, limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE
    )
    return render_template(
        "hr/matrix.html",
        page=page,
        query=query,
        page_size=PAGE_SIZE,
        courses=list_courses(db),
        departments=list_departments(db),
        managers=list_managers(db),
        statuses=list(Status),
        obligations=list(OBLIGATIONS.values()),
    )
