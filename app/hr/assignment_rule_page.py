"""HR: one assignment's page: its rule, a form to change its due rule, and its history."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.content.versions import newest_versions
from app.dates import parse_day
from app.db import get_or_404, get_session
from app.errors import DomainError
from app.fields import sentence, whole_number
from app.hr.views import bp
from app.models import Assignment
from app.training.assignments import MAX_DUE_DAYS
from app.training.due_rules import assignment_history, change_due_rule


def _page(assignment: Assignment, status: int = 200, error: str | None = None, form=None):
    db = get_session()
    titles = {v.course_id: v.title for v in db.scalars(newest_versions())}
    return render_template(
        "hr/assignment.html",
        a=assignment,
        title=titles.get(assignment.course_id, assignment.course.slug),
        history=assignment_history(db, assignment.id),
        error=error,
        form=form
        or {
            "due_kind": "date" if assignment.due_on else "days",
            "due_on": assignment.due_on.isoformat() if assignment.due_on else "",
            "due_days": str(assignment.due_days or ""),
        },
    ), status


@bp.get("/assignments/<int:assignment_id>")
def assignment(assignment_id: int):
    db = get_session()
    return _page(get_or_404(db, Assignment, assignment_id, "There is no such assignment."))


@bp.post("/assignments/<int:assignment_id>/due")
def change_due(assignment_id: int):
    """A new due date or number of days; the people who still have the old rule's date move."""
    db = get_session()
    found = get_or_404(db, Assignment, assignment_id, "There is no such assignment.")
    form = {k: (request.form.get(k) or "").strip()[:40] for k in ("due_kind", "due_on", "due_days")}
    due_on, due_days = None, None
    try:
        if form["due_kind"] == "date":
            due_on = parse_day("The due date", form["due_on"])
        elif form["due_kind"] == "days":
            due_days = whole_number(form["due_days"], 1, MAX_DUE_DAYS)
            if due_days is None:
                raise ValueError(
                    f"the number of days must be a whole number from 1 to {MAX_DUE_DAYS}"
                )
        else:
            raise ValueError("choose a due date or a number of days")
        result = change_due_rule(db, current_user, found.id, due_on=due_on, due_days=due_days)
    except ValueError as error:
        return _page(found, 400, sentence(str(error)), form)
    except DomainError as error:
        return _page(found, error.status, error.message, form)
    db.commit()
    flash(
        f"The due rule is changed: {result.moved} people have the new due date; "
        f"{result.kept} keep a date set for them.",
        "info",
    )
    return redirect(url_for("hr.assignment", assignment_id=found.id), code=303)
