"""The learner's pages: dashboard, course, module, and the course's images."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer

from app.content.versions import find_asset
from app.db import get_connection, get_session, utcnow
from app.errors import DomainError
from app.models import Role
from app.people.directory_queries import team_size
from app.progress.reading import (
    ModulePage,
    TooEarly,
    find_course,
    find_module,
    format_wait,
    list_course_cards,
    mark_read,
    module_page,
)
from app.progress.standing import course_standing
from app.security import restrict_to
from app.training.renewal import start_renewal

bp = Blueprint("learn", __name__)
restrict_to(bp, Role.LEARNER)

OPENED_MAX_AGE = 24 * 3600
# Module openings remembered in the (signed) session cookie, so that a reload does not restart
# the reading clock though a GET writes nothing; an early "Mark as read" stores it for good.
REMEMBERED_OPENINGS = 20


def _opened_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="candor.opened")


def _opened_token(module, opened_at: datetime) -> str:
    # When the module was opened, signed: GET writes nothing, yet min_minutes can be enforced.
    return _opened_serializer().dumps([current_user.id, module.id, int(opened_at.timestamp())])


def _opened_at(token: str, module) -> datetime:
    try:
        ids = _opened_serializer().loads(token, max_age=OPENED_MAX_AGE)
    except BadData:
        raise DomainError(
            "This page is too old to record your reading. Reload it and try again."
        ) from None
    if not isinstance(ids, list) or ids[:2] != [current_user.id, module.id] or len(ids) != 3:
        raise DomainError("This form belongs to another page. Reload it and try again.")
    return datetime.fromtimestamp(ids[2], UTC)


def _remembered_opening(module) -> datetime:
    """When this browser first opened the module (now, the first time)."""
    openings = dict(session.get("openings", {}))
    key = f"{current_user.id}:{module.id}"
    if key not in openings:
        openings[key] = int(utcnow().timestamp())
        session["openings"] = dict(list(openings.items())[-REMEMBERED_OPENINGS:])
    return datetime.fromtimestamp(openings[key], UTC)


@bp.get("/dashboard")
def dashboard():
    connection = get_connection()
    cards = list_course_cards(connection, current_user)
    return render_template(
        "learn/dashboard.html",
        cards=cards,
        now=utcnow(),
        team=team_size(connection, current_user.id),
    )


@bp.get("/courses/<slug>")
def course(slug: str):
    page = course_standing(get_connection(), current_user.id, slug)
    return render_template(
        "learn/course.html",
        page=page,
        version=page.version,
        notice=page.notice,
        contact=current_app.config["SUPPORT_CONTACT"],
    )


@bp.post("/courses/<slug>/renew")
def renew(slug: str):
    db = get_session()
    start_renewal(db, current_user, find_course(db, slug))
    db.commit()
    flash("Your renewal has started: read the course again and pass its assessment.", "info")
    return redirect(url_for("learn.course", slug=slug), code=303)


def _render_module(page: ModulePage, opened_at: datetime, status=200, error=None):
    clock = page.clock(opened_at)
    return render_template(
        "learn/module.html",
        module=page.module,
        version=page.version,
        previous=page.previous,
        following=page.following,
        read_at=page.read_at,
        clock=clock,
        wait=format_wait(clock.remaining) if clock.remaining else None,
        # The form that sends it back is there only while the module is unread.
        opened=None if page.read_at else _opened_token(page.module, clock.opened_at),
        error=error,
    ), status


@bp.get("/courses/<slug>/v<int:number>/<stem>")
def module(slug: str, number: int, stem: str):
    page = module_page(get_connection(), current_user.id, slug, number, stem)
    return _render_module(page, _remembered_opening(page.module))


@bp.post("/courses/<slug>/v<int:number>/<stem>/read")
def read(slug: str, number: int, stem: str):
    db = get_session()
    module = find_module(db, current_user, slug, number, stem)
    opened_at = _opened_at(request.form.get("opened", ""), module)
    try:
        mark_read(db, current_user, module, opened_at)
    except TooEarly as error:
        db.commit()  # the opening is kept: trying too early never restarts the clock
        page = module_page(db, current_user.id, slug, number, stem)
        return _render_module(page, opened_at, status=409, error=error.message)
    db.commit()
    following = next((m for m in module.version.modules if m.position > module.position), None)
    # An explicit fragment: a redirect without one keeps the form's (#read-box).
    if following is None:
        flash("That was the last module.", "success")
        return redirect(url_for("learn.course", slug=slug, _anchor="main"), code=303)
    return redirect(
        url_for("learn.module", slug=slug, number=number, stem=following.stem, _anchor="main"),
        code=303,
    )


@bp.get("/courses/<slug>/v<int:number>/assets/<name>")
def asset(slug: str, number: int, name: str):
    found = find_asset(get_session(), slug, number, name)
    response = current_app.response_class(found.data, mimetype=found.media_type)
    # A version never changes, so its images can be cached for good (by this browser only).
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["Content-Disposition"] = "inline"
    return response
