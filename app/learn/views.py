"""The learner's pages: dashboard, course, module, and the course's images."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer

from app.content.versions import find_asset
from app.db import get_session, utcnow
from app.errors import DomainError
from app.models import Role
from app.people.directory_queries import team_size
from app.progress.reading import (
    TooEarly,
    current_version,
    find_course,
    find_module,
    list_course_cards,
    mark_read,
    progress_by_module,
)
from app.quizzes.attempts import assessment_status
from app.security import restrict_to
from app.training.changes import retraining_notice
from app.training.filters import RecordFilter
from app.training.matrix import status_rows
from app.training.renewal import start_renewal

bp = Blueprint("learn", __name__)
restrict_to(bp, Role.LEARNER)

OPENED_MAX_AGE = 24 * 3600


def _opened_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="candor.opened")


def _opened_token(module) -> str:
    # When the page was served, signed: GET writes nothing, yet min_minutes can be enforced.
    return _opened_serializer().dumps([current_user.id, module.id])


def _opened_at(token: str, module) -> datetime:
    try:
        ids, signed_at = _opened_serializer().loads(
            token, max_age=OPENED_MAX_AGE, return_timestamp=True
        )
    except BadData:
        raise DomainError(
            "This page is too old to record your reading. Reload it and try again."
        ) from None
    if ids != [current_user.id, module.id]:
        raise DomainError("This form belongs to another page. Reload it and try again.")
    return signed_at.astimezone(UTC)


@bp.get("/dashboard")
def dashboard():
    db = get_session()
    cards = list_course_cards(db, current_user)
    return render_template(
        "learn/dashboard.html", cards=cards, now=utcnow(), team=team_size(db, current_user.id)
    )


@bp.get("/courses/<slug>")
def course(slug: str):
    db = get_session()
    version = current_version(db, current_user, find_course(db, slug))
    progress = progress_by_module(db, current_user, version)
    standing = status_rows(
        db, RecordFilter(course_id=version.course_id), user_id=current_user.id
    ).rows
    return render_template(
        "learn/course.html",
        version=version,
        progress=progress,
        assessment=assessment_status(db, current_user, version),
        standing=standing[0] if standing else None,
        notice=retraining_notice(db, current_user, version.course),
        contact=current_app.config["SUPPORT_CONTACT"],
    )


@bp.post("/courses/<slug>/renew")
def renew(slug: str):
    db = get_session()
    start_renewal(db, current_user, find_course(db, slug))
    db.commit()
    flash("Your renewal has started: read the course again and pass its assessment.", "info")
    return redirect(url_for("learn.course", slug=slug), code=303)


def _render_module(module, status=200, error=None):
    db = get_session()
    modules = module.version.modules
    index = modules.index(module)
    progress = progress_by_module(db, current_user, module.version).get(module.id)
    return render_template(
        "learn/module.html",
        module=module,
        version=module.version,
        previous=modules[index - 1] if index > 0 else None,
        following=modules[index + 1] if index + 1 < len(modules) else None,
        progress=progress,
        opened=_opened_token(module),
        error=error,
    ), status


@bp.get("/courses/<slug>/v<int:number>/<stem>")
def module(slug: str, number: int, stem: str):
    return _render_module(find_module(get_session(), current_user, slug, number, stem))


@bp.post("/courses/<slug>/v<int:number>/<stem>/read")
def read(slug: str, number: int, stem: str):
    db = get_session()
    module = find_module(db, current_user, slug, number, stem)
    opened_at = _opened_at(request.form.get("opened", ""), module)
    try:
        mark_read(db, current_user, module, opened_at)
    except TooEarly as error:
        return _render_module(module, status=409, error=error.message)
    db.commit()
    following = next((m for m in module.version.modules if m.position > module.position), None)
    if following is None:
        flash("That was the last module.", "success")
        return redirect(url_for("learn.course", slug=slug), code=303)
    return redirect(
        url_for("learn.module", slug=slug, number=number, stem=following.stem), code=303
    )


@bp.get("/courses/<slug>/v<int:number>/assets/<name>")
def asset(slug: str, number: int, name: str):
    found = find_asset(get_session(), slug, number, name)
    response = current_app.response_class(found.data, mimetype=found.media_type)
    # A version never changes, so its images can be cached for good (by this browser only).
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["Content-Disposition"] = "inline"
    return response
