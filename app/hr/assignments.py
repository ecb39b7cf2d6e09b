"""HR: assigning courses to everyone, a department, or chosen people."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.dates import format_date
from app.db import get_session
from app.errors import DomainError, NotFound
from app.hr.forms import AssignmentForm
from app.hr.views import bp
from app.models import Assignment, Course, CourseVersion, User
from app.people.directory_queries import list_courses, list_departments
from app.training.assignments import assign, require_retraining


def _form() -> AssignmentForm:
    db = get_session()
    form = AssignmentForm()
    form.course.choices = [(str(v.course_id), v.title) for v in list_courses(db)]
    form.department.choices = [(d, d) for d in list_departments(db)]
    form.people.choices = [(str(u.id), f"{u.name} ({u.email})") for u in db.scalars(
        select(User).where(User.active.is_(True)).order_by(User.name))]
    return form


@bp.get("/assignments")
def assignments():
    rules = get_session().scalars(select(Assignment).order_by(Assignment.created_at.desc())
                                  .limit(200)).all()
    return render_template("hr/assignments.html", rules=rules)


@bp.route("/assignments/new", methods=["GET", "POST"])
def new_assignment():
    form = _form()
    if not form.validate_on_submit():
        return render_template("hr/assignment_form.html", form=form), \
            400 if request.method == "POST" else 200
    db = get_session()
    course = db.get(Course, int(form.course.data))
    try:
        result = assign(
            db, current_user, course, form.audience.data,
            department=form.department.data if form.audience.data == "department" else None,
            user_ids=[int(i) for i in form.people.data if i.isdigit()]
            if form.audience.data == "people" else (),
            due_on=form.due_on.data if form.due_kind.data == "date" else None,
            due_days=form.due_days.data if form.due_kind.data == "days" else None,
        )
    except DomainError as error:
        form.form_errors.append(error.message)
        return render_template("hr/assignment_form.html", form=form), error.status
    db.commit()
    flash(f"Assigned to {result.assigned} people ({result.already_assigned} already had it, "
          f"{result.skipped_completed} have a valid completion).", "info")
    return redirect(url_for("hr.matrix", course=course.id), code=303)


@bp.get("/courses")
def courses():
    versions = get_session().scalars(
        select(CourseVersion).order_by(CourseVersion.course_id, CourseVersion.number.desc())
    ).all()
    return render_template("hr/courses.html", versions=versions)


@bp.post("/courses/versions/<int:version_id>/retraining")
def retraining(version_id: int):
    db = get_session()
    version = db.get(CourseVersion, version_id)
    if version is None:
        raise NotFound("There is no such course version.")
    try:
        due_on = date.fromisoformat(request.form.get("due_on", ""))
    except ValueError:
        raise DomainError("Give the date by which people must retrain.") from None
    count = require_retraining(db, current_user, version, due_on)
    db.commit()
    flash(f"{count} people trained on earlier versions must now take version "
          f"{version.number}, by {format_date(due_on)}.", "info")
    return redirect(url_for("hr.courses"), code=303)
