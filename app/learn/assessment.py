"""The learner's assessment pages: start, take (conversations step by step), result."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user

from app.db import get_session
from app.learn.views import bp
from app.models import AttemptStatus
from app.progress.reading import find_course
from app.quizzes.attempts import (
    Incomplete,
    assessment_status,
    choose,
    find_attempt,
    grade_of,
    pass_mark,
    plan_of,
    require_quiz,
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
    quiz = require_quiz(attempt.version)
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
    choice = decode_choice(
        require_quiz(attempt.version),
        plan_of(attempt),
        conversation_id,
        attempt.paths.get(conversation_id, []),
        request.form.get("choice", ""),
    )
    choose(db, attempt, conversation_id, choice)
    db.commit()
    return redirect(
        url_for("learn.attempt", attempt_id=attempt.id, _anchor=f"unit-{conversation_id}"), code=303
    )


@bp.post("/attempts/<int:attempt_id>/submit")
def submit(attempt_id: int):
    db = get_session()
    attempt = find_attempt(db, current_user, attempt_id)
    answers = {k: v for k, v in request.form.lists() if k not in FORM_FIELDS_IGNORED}
    try:
        submit_attempt(db, attempt, decode_answers(plan_of(attempt), answers))
    except Incomplete as error:
        return _render_sheet(
            attempt, answers=answers, missing=error.missing, error=error.message, status=400
        )
    db.commit()
    return redirect(url_for("learn.attempt", attempt_id=attempt.id), code=303)


def _render_result(attempt):
    version = attempt.version
    standing = assessment_status(get_session(), current_user, version)
    return render_template(
        "learn/result.html",
        attempt=attempt,
        version=version,
        result=grade_of(attempt),
        pass_mark=pass_mark(version, require_quiz(version)),
        completed=standing.completed,
        attempts_left=standing.attempts_left,
        can_retake=standing.may_retake(attempt),
        earlier_cycle=attempt.cycle != standing.cycle,
        contact=current_app.config["SUPPORT_CONTACT"],
    )
