"""A manager's team: the people who name them as manager (``User.manager_id``), their
training status in tiles and the people x courses grid, and nobody else's.

Any signed-in person may open /team; someone nobody reports to, or who asks for another
manager's team, gets a 404 like a missing page.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.db import get_session
from app.errors import NotFound
from app.people.directory_queries import list_courses, team_size
from app.security import restrict_to
from app.training.grid import GRID_SORTS, status_grid
from app.training.matrix import PAGE_SIZE, MatrixQuery, summary
from app.training.status import SHORT_STATUS, Status

bp = Blueprint("team", __name__, url_prefix="/team")
restrict_to(bp)  # any signed-in person; the team is checked in the view


@bp.get("")
def team():
    db = get_session()
    size = team_size(db, current_user.id)
    query = MatrixQuery.from_args(request.args, GRID_SORTS)
    asked = query.records.manager_id
    if size == 0 or asked not in (None, current_user.id) or query.records.department:
        raise NotFound("There is no such team.")
    # Always this manager's own people, whatever else the filter says.
    query = replace(query, records=replace(query.records, manager_id=current_user.id))
    page = status_grid(
        db, query.records, sort=query.sort, limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE
    )
    return render_template(
        "hr/grid.html",
        team=True,
        endpoint="team.team",
        manager=current_user,
        team_size=size,
        tally=summary(db, record_filter=replace(query.records, status=None)).overall,
        grid=page,
        query=query,
        page_size=PAGE_SIZE,
        short_status=SHORT_STATUS,
        courses=list_courses(db),
        departments=None,
        managers=None,
        statuses=list(Status),
    )
