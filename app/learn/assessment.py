"""The learner's assessment pages: start, take page by page (every answer saved as the learner
moves on; conversations step by step), review and submit, result."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user

from app.certificates.codes import grouped
from app.content.quiz import plain_text
from app.db import get_connection, get_session
from app.errors import NotFound
from app.fields import whole_number
from app.learn.views import bp
from app.models import AttemptStatus
from app.progress.completion import certificate_of_attempt
from app.progress.reading import find_course
from app.quizzes.attempts import (
    NotEligible,
    choose,
    find_attempt,
    grade_of,
    plan_of,
    save_answers,
    start_attempt,
    submit_attempt,
)
from app.quizzes.grading import AnswerError, Incomplete
from app.quizzes.in_progress import OpenAttempt, open_attempt
from app.quizzes.sheet import (
    SheetPage,
    build_sheet,
    decode_answers,
    decode_choice,
    paginate,
    resume_page,
)
from app.quizzes.standing import assessment_status, pass_mark, require_quiz
from app.templating import heading

FORM_FIELDS_IGNORED = {"csrf_token"}


@bp.post("/courses/<slug>/assessment")
def start(slug: str):
    db = get_session()
    attempt = start_attempt(db, current_user, find_course(db, slug))
    db.commit()
    return redirect(url_for("learn.attempt", attempt_id=attempt.id), code=303)


def _pages(attempt) -> tuple[SheetPage, ...]:
    quiz = require_quiz(attempt.version)
    return paginate(build_sheet(quiz, plan_of(attempt), attempt.paths))


def _render_page(sheet: OpenAttempt, page: SheetPage):
    return render_template(
        "learn/attempt_page.html",
        attempt=sheet,
        version=sheet.version,
        pages=sheet.pages,
        progress=sheet.progress,
        page=page,
        saved=sheet.saved,
        answers=sheet.answers,
        missing=set(),
        total=sheet.question_total,
        pass_mark=sheet.pass_mark,
    )


def _render_review(sheet: OpenAttempt, *, missing=(), error=None, status=200):
    gaps = {}  # each missing answer: its page, its anchor there, what to do
    for p in sheet.pages:
        for unit in p.units:
            if unit.conversation is not None:
                title = heading(unit.conversation.conversation.title)
                gaps[unit.id] = (p, f"unit-{unit.id}", f"finish the conversation “{title}”")
            for shown in unit.questions:
                question = shown.question
                gaps[question.id] = (p, f"q-{question.id}", plain_text(question.prompt_html))
    return render_template(
        "learn/attempt_review.html",
        attempt=sheet,
        version=sheet.version,
        pages=sheet.pages,
        progress=sheet.progress,
        saved=sheet.saved,
        missing=[gaps[item] for item in missing if item in gaps],
        error=error,
        pass_mark=sheet.pass_mark,
    ), status


@bp.get("/attempts/<int:attempt_id>")
def attempt(attempt_id: int):
    sheet = open_attempt(get_connection(), current_user.id, attempt_id)
    if sheet is None:  # submitted: its result
        return _render_result(find_attempt(get_session(), current_user, attempt_id))
    page = resume_page(sheet.pages, sheet.saved)  # where the learner was: the first page not done
    return _render_page(sheet, page) if page else _render_review(sheet)


def _open_attempt(attempt_id: int):
    """The attempt in progress, its row locked until the request commits."""
    attempt = find_attempt(get_session(), current_user, attempt_id, lock=True)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise NotEligible("This attempt has been submitted; its answers cannot change.")
    return attempt


def _page_of(pages, number: int):
    if not 1 <= number <= len(pages):
        raise NotFound("This assessment has no such page.")
    return pages[number - 1]


@bp.get("/attempts/<int:attempt_id>/pages/<int:page>")
def attempt_page(attempt_id: int, page: int):
    sheet = open_attempt(get_connection(), current_user.id, attempt_id)
    if sheet is None:
        return redirect(url_for("learn.attempt", attempt_id=attempt_id), code=303)
    return _render_page(sheet, _page_of(sheet.pages, page))


@bp.post("/attempts/<int:attempt_id>/pages/<int:page>")
def save_page(attempt_id: int, page: int):
    db = get_session()
    attempt = _open_attempt(attempt_id)
    pages = _pages(attempt)
    shown_page = _page_of(pages, page)
    target = _destination(request.form.get("go", "next"), shown_page.number, len(pages))
    answers = {k: v for k, v in request.form.lists() if k not in FORM_FIELDS_IGNORED | {"go"}}
    answers = decode_answers(plan_of(attempt), answers)
    save_answers(db, attempt, shown_page.question_ids, answers, locked=True)
    db.commit()
    if request.form.get("go") == "stay":
        return "", 204  # saved in the background: the page stays as it is
    if target is None:
        return redirect(url_for("learn.review", attempt_id=attempt.id), code=303)
    return redirect(url_for("learn.attempt_page", attempt_id=attempt.id, page=target), code=303)


def _destination(go: str, current: int, count: int) -> int | None:
    """The page a navigation button leads to; None for the review; the page itself for
    "stay" (attempt.js saving as the learner ticks)."""
    if go == "stay":
        return current
    if go == "review" or (go == "next" and current == count):
        return None
    if go == "next":
        return current + 1
    if go == "previous":
        return max(1, current - 1)
    number = whole_number(go, 1, count)
    if number is None:
        raise AnswerError(f"{go[:20]!r} is not a page of this assessment")
    return number


@bp.get("/attempts/<int:attempt_id>/review")
def review(attempt_id: int):
    sheet = open_attempt(get_connection(), current_user.id, attempt_id)
    if sheet is None:
        return redirect(url_for("learn.attempt", attempt_id=attempt_id), code=303)
    return _render_review(sheet)


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
    page = next(p for p in _pages(attempt) if conversation_id in p.conversation_ids)
    return redirect(
        url_for(
            "learn.attempt_page",
            attempt_id=attempt.id,
            page=page.number,
            _anchor=f"unit-{conversation_id}",
        ),
        code=303,
    )


@bp.post("/attempts/<int:attempt_id>/submit")
def submit(attempt_id: int):
    db = get_session()
    attempt = find_attempt(db, current_user, attempt_id, lock=True)
    form = {k: v for k, v in request.form.lists() if k not in FORM_FIELDS_IGNORED}
    answers = decode_answers(plan_of(attempt), form)
    try:
        submit_attempt(db, attempt, answers, locked=True)
    except Incomplete as error:
        save_answers(db, attempt, list(answers), answers, locked=True)  # what the form had
        db.commit()
        sheet = open_attempt(db, current_user.id, attempt.id)
        if sheet is None:  # submitted meanwhile (another tab): its result
            return redirect(url_for("learn.attempt", attempt_id=attempt.id), code=303)
        return _render_review(sheet, missing=error.missing, error=error.message, status=400)
    db.commit()
    return redirect(url_for("learn.attempt", attempt_id=attempt.id), code=303)


def _render_result(attempt):
    db = get_session()
    version = attempt.version
    quiz = require_quiz(version)
    standing = assessment_status(db, current_user, version)
    certificate = certificate_of_attempt(db, attempt) if attempt.passed else None
    return render_template(
        "learn/result.html",
        attempt=attempt,
        version=version,
        result=grade_of(attempt),
        quiz=quiz,
        pass_mark=pass_mark(version, quiz),
        completed=standing.completed,
        attempts_left=standing.attempts_left,
        can_retake=standing.may_retake(attempt),
        earlier_cycle=attempt.cycle != standing.cycle,
        certificate=certificate,
        certificate_code=grouped(certificate.code) if certificate else None,
        contact=current_app.config["SUPPORT_CONTACT"],
    )
