"""The studio's publish and history pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.author.draft_pages import _draft, _revision, _viewed
from app.author.views import STUDIO, bp
from app.authoring.diffs import folder_diff
from app.authoring.drafts import check_draft, files_of
from app.authoring.history import compare_versions, version_history
from app.authoring.publishing import Retraining, publish_draft
from app.content.folders import version_files
from app.content.versions import newest_version
from app.dates import format_date
from app.db import get_session, utcnow
from app.errors import DomainError
from app.fields import whole_number
from app.progress.reading import find_course
from app.security import allow


def _material(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


@bp.get("/courses/<slug>/publish")
@allow(*STUDIO)
def publish_form(slug: str):
    db = get_session()
    course, found = _viewed(slug)
    previous = newest_version(db, course.id)
    before = version_files(db, previous) if previous is not None else {}
    return render_template(
        "author/publish.html",
        course=course,
        draft=found,
        previous=previous,
        check=check_draft(found, slug),
        changes=folder_diff(before, files_of(found)),
        form=request.args,
    )


@bp.post("/courses/<slug>/publish")
@allow(*STUDIO)
def publish(slug: str):
    db, course, found = _draft(slug)
    form = request.form
    material = _material(form.get("material", ""))
    retraining = None
    if material and newest_version(db, course.id) is not None:
        retraining = Retraining.from_form(
            form.get("retrain", ""),
            form.get("due_on", ""),
            form.get("days", "").strip(),
            form.get("reason", ""),
            utcnow(),
        )
    result = publish_draft(
        db,
        current_user,
        course,
        found,
        revision=_revision(),
        notes=form.get("notes", ""),
        material=material,
        retraining=retraining,
    )
    db.commit()
    message = f"Published version {result.version.number} of {slug}."
    if result.retrained:
        message += f" {result.retrained} people must retrain"
        if retraining is not None and retraining.due_on is not None:
            message += f" by {format_date(retraining.due_on)}"
        message += "."
    flash(message, "success")
    return redirect(url_for("author.history", slug=slug), code=303)


@bp.get("/courses/<slug>/history")
@allow(*STUDIO)
def history(slug: str):
    db = get_session()
    course = find_course(db, slug)
    found = version_history(db, course)
    changes = None
    older = newer = None
    if request.args.get("from") and request.args.get("to"):
        first, second = whole_number(request.args["from"]), whole_number(request.args["to"])
        if first is None or second is None:
            raise DomainError("Choose two versions to compare.", status=400)
        older, newer, changes = compare_versions(db, slug, first, second)
    return render_template(
        "author/history.html",
        course=course,
        versions=found.versions,
        on_version=found.on_version,
        completed=found.completed,
        publishers=found.publishers,
        changes=changes,
        older=older,
        newer=newer,
    )
