"""HR: assigning courses to everyone, a department, or chosen people; the courses and their
versions, and requiring retraining after a material change."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.dates import format_date, parse_day
from app.db import get_or_404, get_session
from app.errors import DomainError
from app.fields import sentence, whole_number
from app.hr.forms import AssignmentForm
from app.hr.matrix_page import matrix_url
from app.hr.views import bp
from app.models import Course, CourseVersion
from app.people.directory_queries import (
    PICKED_MAX,
    find_people_to_pick,
    list_courses,
    list_departments,
    list_versions,
    people_by_ids,
)
from app.training.assignments import MAX_DUE_DAYS, assign, cancel_assignment, list_assignments
from app.training.renewal import require_retraining


def _form() -> AssignmentForm:
    db = get_session()
    form = AssignmentForm()
    form.course.choices = [(str(v.course_id), v.title) for v in list_courses(db)]
    form.department.choices = [(d, d) for d in list_departments(db)]
    return form


def _picked_ids(form: AssignmentForm) -> list[int]:
    """The ids of the people ticked so far (digits only, each once, at most PICKED_MAX)."""
    picked = (whole_number(i) for i in (form.people.data or []))
    ids = list(dict.fromkeys(n for n in picked if n is not None))
    if len(ids) > PICKED_MAX:
        raise DomainError(
            f"Choose at most {PICKED_MAX} people at once; for more, assign a department."
        )
    return ids


def _render_form(form: AssignmentForm, status: int = 200):
    """The form, with the people ticked so far and, after a search, the people found."""
    db = get_session()
    picked = people_by_ids(db, _picked_ids(form))
    chosen = {p.id for p in picked}
    text = (request.form.get("find") or "").strip()
    found, find_error = [], None
    try:
        found = [p for p in find_people_to_pick(db, text) if p.id not in chosen]
    except DomainError as error:  # text no search takes: said beside the box
        find_error, status = error.message, error.status
    return render_template(
        "hr/assignment_form.html",
        form=form,
        picked=picked,
        found=found,
        find=text,
        find_error=find_error,
    ), status


@bp.get("/assignments")
def assignments():
    return render_template("hr/assignments.html", rules=list_assignments(get_session()))


@bp.post("/assignments/<int:assignment_id>/cancel")
def cancel(assignment_id: int):
    """Stop an assignment from reaching anyone new; who has it keeps it, and the rule stays
    listed (cancelled, by whom, when)."""
    db = get_session()
    assignment = cancel_assignment(db, current_user, assignment_id)
    db.commit()
    flash(f"The assignment of {assignment.course.slug} is cancelled.", "info")
    return redirect(url_for("hr.assignments"), code=303)


@bp.route("/assignments/new", methods=["GET", "POST"])
def new_assignment():
    form = _form()
    if request.method == "POST" and request.form.get("action") == "find":
        return _render_form(form)  # the picker's search: nothing is assigned yet
    if not form.validate_on_submit():
        return _render_form(form, 400 if request.method == "POST" else 200)
    db = get_session()
    course = get_or_404(db, Course, whole_number(form.course.data) or 0, "There is no such course.")
    try:
        result = assign(
            db,
            current_user,
            course,
            form.audience.data,
            department=form.department.data if form.audience.data == "department" else None,
            user_ids=_picked_ids(form) if form.audience.data == "people" else (),
            due_on=form.due_on.data if form.due_kind.data == "date" else None,
            due_days=whole_number(form.due_days.data.strip(), 1, MAX_DUE_DAYS)
            if form.due_kind.data == "days"
            else None,
        )
    except DomainError as error:
        form.form_errors.append(error.message)
        return _render_form(form, error.status)
    db.commit()
    flash(
        f"Assigned to {result.assigned} people ({result.already_assigned} already had it, "
        f"{result.skipped_completed} have a valid completion).",
        "info",
    )
    return redirect(matrix_url(course_id=course.id), code=303)


@bp.get("/courses")
def courses():
    return render_template("hr/courses.html", versions=list_versions(get_session()))


@bp.post("/courses/versions/<int:version_id>/retraining")
def retraining(version_id: int):
    db = get_session()
    version = get_or_404(db, CourseVersion, version_id, "There is no such course version.")
    try:
        due_on = parse_day("The date by which people must retrain", request.form.get("due_on", ""))
    except ValueError as error:
        raise DomainError(sentence(str(error))) from None
    count = require_retraining(db, current_user, version, due_on)
    db.commit()
    flash(
        f"{count} people trained on earlier versions must now take version "
        f"{version.number}, by {format_date(due_on)}.",
        "info",
    )
    return redirect(url_for("hr.courses"), code=303)
