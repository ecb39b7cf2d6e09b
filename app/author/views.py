"""The trainer studio: trainers and admins only, declared on every route (``@allow``)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.authoring.overview import course_rows
from app.authoring.visibility import MEANING, set_visibility
from app.content.folders import version_files, zip_folder
from app.content.versions import find_version
from app.db import get_session
from app.headers import attachment
from app.models import Role, Visibility
from app.progress.reading import find_course
from app.security import allow

bp = Blueprint("author", __name__, url_prefix="/author")
STUDIO = (Role.TRAINER, Role.ADMIN)


@bp.get("/courses")
@allow(*STUDIO)
def courses():
    return render_template("author/courses.html", rows=course_rows(get_session()), meaning=MEANING)


@bp.post("/courses/<slug>/visibility")
@allow(*STUDIO)
def visibility(slug: str):
    db = get_session()
    course = find_course(db, slug)
    changed = set_visibility(db, current_user, course, request.form.get("visibility", ""))
    db.commit()
    if changed:
        state = Visibility(course.visibility)
        flash(f"{slug} is now {state.value}: {MEANING[state]}.", "success")
    return redirect(url_for("author.courses"), code=303)


@bp.get("/courses/<slug>/v<int:number>.zip")
@allow(*STUDIO)
def version_zip(slug: str, number: int):
    db = get_session()
    version = find_version(db, slug, number)
    data = zip_folder(version_files(db, version), slug)
    response = current_app.response_class(data, mimetype="application/zip")
    return attachment(response, f"{slug}-v{number}.zip")
