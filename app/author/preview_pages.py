"""Preview as a learner: the draft through the learner's own templates, and a trial assessment
whose state travels signed in the page (nothing is stored)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, redirect, render_template, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from app.author.draft_pages import _viewed, draft_asset
from app.author.views import STUDIO, bp
from app.authoring.drafts import check_draft
from app.authoring.preview import TrialAttempt, preview_of, trial_choose, trial_grade
from app.content.versions import newest_version
from app.db import get_session
from app.errors import DomainError
from app.organisation.details import current_values
from app.quizzes.grading import Incomplete
from app.quizzes.grading.answers import AnswerError
from app.quizzes.sheet import build_sheet, decode_answers, decode_choice
from app.quizzes.standing import pass_mark
from app.security import allow

TRIAL_MAX_AGE = 12 * 3600
IGNORED_FIELDS = {"csrf_token", "trial"}


@dataclass(frozen=True)
class PreviewLinks:
    """Where the learner's module template links to in a preview."""

    slug: str

    def module(self, stem: str) -> str:
        return url_for("author.preview_module", slug=self.slug, stem=stem)


@dataclass(frozen=True)
class TrialLinks:
    """Where the learner's attempt and result templates post to in a trial."""

    slug: str
    token: str

    def converse(self, conversation_id: str) -> str:
        return url_for("author.trial_converse", slug=self.slug, conversation_id=conversation_id)

    @property
    def submit(self) -> str:
        return url_for("author.trial_submit", slug=self.slug)

    @property
    def again(self) -> str:
        return url_for("author.trial", slug=self.slug)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="candor.trial")


def _preview(slug: str):
    course, found = _viewed(slug)
    check = check_draft(found, slug)
    if check.source is None:
        raise DomainError(
            f"The draft has {len(check.problems)} problem(s): fix them to preview it.", status=409
        )
    latest = newest_version(get_session(), course.id)
    return course, preview_of(
        check.source, (latest.number if latest else 0) + 1, current_values(get_session())
    )


@bp.get("/courses/<slug>/preview")
@allow(*STUDIO)
def preview(slug: str):
    course, found = _viewed(slug)
    check = check_draft(found, slug)
    version = None
    if check.source is not None:
        latest = newest_version(get_session(), course.id)
        version = preview_of(
            check.source, (latest.number if latest else 0) + 1, current_values(get_session())
        )
    return render_template("author/preview.html", course=course, version=version, check=check)


@bp.get("/courses/<slug>/preview/<stem>")
@allow(*STUDIO)
def preview_module(slug: str, stem: str):
    course, version = _preview(slug)
    module = version.module(stem)
    index = version.modules.index(module)
    return render_template(
        "learn/module.html",
        module=module,
        version=version,
        previous=version.modules[index - 1] if index > 0 else None,
        following=version.modules[index + 1] if index + 1 < len(version.modules) else None,
        preview=PreviewLinks(slug),
    )


@bp.get("/courses/<slug>/preview/assets/<name>")
@allow(*STUDIO)
def preview_asset(slug: str, name: str):
    return draft_asset(slug, name)


def _trial_from(token: str) -> TrialAttempt:
    try:
        return TrialAttempt.from_state(_serializer().loads(token, max_age=TRIAL_MAX_AGE))
    except BadData:
        raise AnswerError("This trial is too old or damaged: start another trial.") from None


def _quiz(version):
    if version.quiz is None:
        raise DomainError("This draft has no quiz.md: there is no assessment to try.", 404)
    return version.quiz


def _render_trial(slug, version, trial, *, answers=None, missing=(), error=None, status=200):
    quiz = _quiz(version)
    token = _serializer().dumps(trial.state())
    return render_template(
        "learn/attempt.html",
        attempt=trial,
        version=version,
        sheet=build_sheet(quiz, trial.plan(quiz), trial.paths),
        answers=answers or {},
        missing=set(missing),
        error=error,
        pass_mark=pass_mark(version, quiz),
        trial=TrialLinks(slug, token),
    ), status


@bp.get("/courses/<slug>/preview/assessment")
@allow(*STUDIO)
def trial(slug: str):
    course, version = _preview(slug)
    token = request.args.get("trial")
    return _render_trial(slug, version, _trial_from(token) if token else TrialAttempt.new())


@bp.post("/courses/<slug>/preview/assessment/conversations/<conversation_id>")
@allow(*STUDIO)
def trial_converse(slug: str, conversation_id: str):
    course, version = _preview(slug)
    quiz = _quiz(version)
    trial = _trial_from(request.form.get("trial", ""))
    choice = decode_choice(
        quiz,
        trial.plan(quiz),
        conversation_id,
        trial.paths.get(conversation_id, []),
        request.form.get("choice", ""),
    )
    trial = trial_choose(quiz, trial, conversation_id, choice)
    token = _serializer().dumps(trial.state())
    return redirect(
        url_for("author.trial", slug=slug, trial=token, _anchor=f"unit-{conversation_id}"),
        code=303,
    )


@bp.post("/courses/<slug>/preview/assessment/submit")
@allow(*STUDIO)
def trial_submit(slug: str):
    course, version = _preview(slug)
    quiz = _quiz(version)
    trial = _trial_from(request.form.get("trial", ""))
    answers = {k: v for k, v in request.form.lists() if k not in IGNORED_FIELDS}
    decoded = decode_answers(trial.plan(quiz), answers)
    if {u.id for u in trial.plan(quiz).units if u.kind == "conversation"} & set(decoded):
        raise AnswerError("Conversation choices are made step by step, not in the final form.")
    mark = pass_mark(version, quiz)
    try:
        graded, result = trial_grade(quiz, trial, decoded, mark)
    except Incomplete as error:
        return _render_trial(
            slug,
            version,
            trial,
            answers=answers,
            missing=error.missing,
            error=error.message,
            status=400,
        )
    return render_template(
        "learn/result.html",
        attempt=graded,
        version=version,
        quiz=quiz,
        result=result,
        pass_mark=mark,
        completed=False,
        attempts_left=None,
        can_retake=False,
        earlier_cycle=False,
        contact="",
        trial=TrialLinks(slug, ""),
    )
