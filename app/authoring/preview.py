"""The draft as a learner would see it, and a trial of its assessment that is stored nowhere.

The preview is built from the checked draft exactly as ``courses sync`` builds a version:
each module rendered and sanitised by ``content.markdown.render_markdown``. A trial attempt
is planned, walked and graded by the learner's own pure functions (``quizzes.grading``);
its state (the seed and the conversation choices so far) travels in the page, signed, so no
row is written and no learner record or statistic can ever count it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.content.details import fill, used_values
from app.content.loader import CourseSource
from app.content.markdown import render_markdown
from app.content.quiz import Quiz
from app.errors import DomainError
from app.quizzes.grading.answers import AnswerError, conversation_state
from app.quizzes.grading.grades import Grade, grade_submission
from app.quizzes.grading.plans import AttemptPlan, plan_attempt


@dataclass(frozen=True)
class PreviewCourse:
    slug: str


@dataclass(frozen=True)
class PreviewModule:
    id: int
    position: int
    stem: str
    title: str
    html: str
    min_minutes: int


@dataclass
class PreviewVersion:
    """The attributes of a ``CourseVersion`` the learner's templates read."""

    course: PreviewCourse
    number: int
    title: str
    summary: str
    estimated_minutes: int
    pass_mark: int
    max_attempts: int
    release_notes: str
    quiz: Quiz | None
    modules: list[PreviewModule] = field(default_factory=list)

    def module(self, stem: str) -> PreviewModule:
        found = next((m for m in self.modules if m.stem == stem), None)
        if found is None:
            raise DomainError("There is no such module in this draft.", status=404)
        return found


def preview_of(
    source: CourseSource, next_number: int, values: Mapping[str, str | None]
) -> PreviewVersion:
    """The draft as the version publishing would make of it, with the organisation's details
    (``values``) filled in as publishing fills them."""
    meta = source.meta
    details = used_values([m.body for m in source.modules], values)
    return PreviewVersion(
        course=PreviewCourse(source.slug),
        number=next_number,
        title=meta.title,
        summary=meta.summary,
        estimated_minutes=meta.estimated_minutes,
        pass_mark=meta.pass_mark,
        max_attempts=meta.max_attempts,
        release_notes=meta.release_notes,
        quiz=source.quiz,
        modules=[
            PreviewModule(
                -i - 1,
                m.position,
                m.stem,
                m.title,
                render_markdown(fill(m.body, details)),
                m.min_minutes,
            )
            for i, m in enumerate(source.modules)
        ],
    )


@dataclass(frozen=True)
class TrialAttempt:
    """What the learner's attempt and result templates read of an attempt."""

    seed: int
    paths: dict[str, list[str]]
    number: int = 0
    percent: int | None = None
    passed: bool | None = None

    @classmethod
    def new(cls) -> TrialAttempt:
        return cls(seed=secrets.randbits(62), paths={})

    def plan(self, quiz: Quiz) -> AttemptPlan:
        return plan_attempt(quiz, self.seed)

    def state(self) -> dict:
        return {"s": self.seed, "p": self.paths}

    @classmethod
    def from_state(cls, state: object) -> TrialAttempt:
        if (
            not isinstance(state, dict)
            or not isinstance(state.get("s"), int)
            or not isinstance(state.get("p"), dict)
        ):
            raise AnswerError("This trial's state is damaged: start another trial.")
        return cls(seed=state["s"], paths=state["p"])


def trial_choose(quiz: Quiz, trial: TrialAttempt, conversation_id: str, option_id: str):
    """The trial with ``option_id`` chosen at the conversation's current step."""
    plan = trial.plan(quiz)
    path = list(trial.paths.get(conversation_id, []))
    state = conversation_state(quiz, plan, conversation_id, path)
    if option_id not in state.choice_ids:
        raise AnswerError("That reply is not offered at this step of the conversation.")
    return TrialAttempt(trial.seed, {**trial.paths, conversation_id: [*path, option_id]})


def trial_grade(
    quiz: Quiz, trial: TrialAttempt, answers: Mapping[str, Sequence[str]], pass_mark: int
) -> tuple[TrialAttempt, Grade]:
    """Grade the trial as ``submit_attempt`` grades an attempt; Incomplete if unanswered."""
    result, _ = grade_submission(quiz, trial.plan(quiz), answers, trial.paths)
    graded = TrialAttempt(
        trial.seed, trial.paths, percent=result.percent, passed=result.passed(pass_mark)
    )
    return graded, result
