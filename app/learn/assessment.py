"""The learner's assessment pages: start, take (conversations step by step), result."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user

from app.db import get_session
from app.learn.views import bp
from app.models import AttemptStatus
from app.progress.reading import find_course, find_enrollment
from app.quizzes.attempts import (
    Incomplete,
    attempt_limit,
    attempts_used,
    choose,
    find_attempt,
    grade_of,
    pass_mark,
    plan_of,
    quiz_of,
    start_attempt,
    submit_attempt,
)
from app.quizzes.sheet import build_sheet, decode_answers, decode_choice

FORM_FIELDS_IGNORED = {"csrf_token"}


@bp.post("/courses/<slug>/assessment")
def start(slug: str):
    db = get_session()
    attempt = start_attempt(db, current_user, find_course(db, slug))
    db.commit()
    return redirect(url_for("learn.attempt", attempt_id=attempt.id), code=303)


def _render_sheet(attempt, *, answers=None, missing=(), error=None, status=200):
    quiz = quiz_of(attempt.version)
    return render_template(
        "learn/attempt.html",
        attempt=attempt,
        version=attempt.version,
        sheet=build_sheet(quiz, plan_of(attempt), attempt.paths),
        answers=answers or {},
        missing=set(missing),
        error=error,
        pass_mark=pass_mark(attempt.version, quiz),
    ), status


@bp.get("/attempts/<int:attempt_id>")
def attempt(attempt_id: int):
    attempt = find_attempt(get_session(), current_user, attempt_id)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        return _render_sheet(attempt)
    return _render_result(attempt)


@bp.post("/attempts/<int:attempt_id>/conversations/<conversation_id>")
def converse(attempt_id: int, conversation_id: str):
    db = get_session()
    attempt = find_attempt(db, current_user, attempt_id)
    choice = decode_choice(quiz_of(attempt.version), plan_of(attempt), conversation_id,
                           attempt.paths.get(conversation_id, []), request.form.get("choice", ""))
    choose(db, attempt, conversation_id, choice)
    db.commit()
    return redirect(url_for("learn.attempt", attempt_id=attempt.id,
                            _anchor=f"unit-{conversation_id}"), code=303)


@bp.post("/attempts/<int:attempt_id>/submit")
def submit(attempt_id: int):
    db = get_session()
    attempt = find_attempt(db, current_user, attempt_id)
    answers = {k: v for k, v in request.form.lists() if k not in FORM_FIELDS_IGNORED}
    try:
        submit_attempt(db, attempt, decode_answers(plan_of(attempt), answers))
    except Incomplete as error:
        return _render_sheet(attempt, answers=answers, missing=error.missing,
                             error=error.message, status=400)
    db.commit()
    return redirect(url_for("learn.attempt", attempt_id=attempt.id), code=303)


def _render_result(attempt):
    db = get_session()
    version = attempt.version
    quiz = quiz_of(version)
    enrollment = find_enrollment(db, current_user, version.course)
    limit = attempt_limit(version, quiz)
    used = attempts_used(db, enrollment)
    return render_template(
        "learn/result.html",
        attempt=attempt,
        version=version,
        result=grade_of(attempt),
        pass_mark=pass_mark(version, quiz),
        completed=enrollment.completed_at is not None,
        attempts_left=None if not limit else max(0, limit - used),
        can_retake=not attempt.passed and enrollment.completed_at is None
        and (not limit or used < limit) and enrollment.cycle == attempt.cycle,
        contact=current_app.config["SUPPORT_CONTACT"],
    )
