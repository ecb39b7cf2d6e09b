"""What an attempt in progress shows: the planned units with their options in the shown
order, and each conversation's transcript so far. No answer keys: feedback appears only for
conversation choices already made (the customer's reaction), never for questions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from app.content.quiz import Choice, Conversation, Option, Question, Quiz, Scenario, Step
from app.fields import whole_number
from app.quizzes.grading import AnswerError, AttemptPlan, conversation_state

T = TypeVar("T")


@dataclass(frozen=True)
class ShownQuestion:
    question: Question
    options: tuple[Option, ...]


@dataclass(frozen=True)
class ShownConversation:
    conversation: Conversation
    transcript: tuple[tuple[Step, Choice], ...]
    step: Step | None  # the step awaiting a choice; None once an outcome is reached
    choices: tuple[Choice, ...]

    @property
    def finished(self) -> bool:
        return self.step is None


@dataclass(frozen=True)
class ShownUnit:
    kind: str  # question, scenario or conversation
    id: str
    scenario: Scenario | None = None
    questions: tuple[ShownQuestion, ...] = ()
    conversation: ShownConversation | None = None


@dataclass(frozen=True)
class Sheet:
    units: tuple[ShownUnit, ...]
    open_conversations: tuple[str, ...] = field(default=())

    @property
    def question_count(self) -> int:
        return sum(len(u.questions) for u in self.units)


def build_sheet(quiz: Quiz, plan: AttemptPlan, paths: dict[str, list[str]]) -> Sheet:
    """The attempt as the learner sees it now."""
    units = []
    for planned in plan.units:
        if planned.kind == "conversation":
            units.append(
                ShownUnit(
                    "conversation",
                    planned.id,
                    conversation=_conversation(quiz, plan, planned.id, paths),
                )
            )
            continue
        questions = []
        for pq in planned.questions:
            question = _in_quiz(quiz.question(pq.id), pq.id)
            options = tuple(_in_quiz(question.option(o), o) for o in pq.option_ids)
            questions.append(ShownQuestion(question, options))
        scenario = (
            _in_quiz(quiz.scenario(planned.id), planned.id) if planned.kind == "scenario" else None
        )
        units.append(
            ShownUnit(planned.kind, planned.id, scenario=scenario, questions=tuple(questions))
        )
    open_ids = tuple(u.id for u in units if u.conversation and not u.conversation.finished)
    return Sheet(tuple(units), open_ids)


def _in_quiz(found: T | None, what: str) -> T:
    """What the plan names, found in the quiz; a plan that does not fit is a caller bug."""
    if found is None:
        raise ValueError(f"the attempt plan does not fit this quiz ({what!r})")
    return found


def _conversation(
    quiz: Quiz, plan: AttemptPlan, conversation_id: str, paths: dict[str, list[str]]
) -> ShownConversation:
    conversation = _in_quiz(quiz.conversation(conversation_id), conversation_id)
    path = paths.get(conversation_id, [])
    state = conversation_state(quiz, plan, conversation_id, path)  # checks the path
    transcript: list[tuple[Step, Choice]] = []
    node = conversation.start_id
    for choice_id in path:
        step = _in_quiz(conversation.step(node), node)
        choice = _in_quiz(step.choice(choice_id), choice_id)
        transcript.append((step, choice))
        node = choice.next_id
    if state.step_id is None:  # an outcome is reached
        return ShownConversation(conversation, tuple(transcript), None, ())
    step = _in_quiz(conversation.step(state.step_id), state.step_id)
    return ShownConversation(
        conversation,
        tuple(transcript),
        step,
        tuple(_in_quiz(step.choice(c), c) for c in state.choice_ids),
    )


def _by_position(ids: tuple[str, ...], positions: list[str], what: str) -> list[str]:
    chosen = []
    for position in positions:
        number = whole_number(position, 1, len(ids))
        if number is None:
            raise AnswerError(f"{what}: {str(position)[:20]!r} is not one of the options shown")
        chosen.append(ids[number - 1])
    return chosen


def decode_answers(plan: AttemptPlan, submitted: Mapping[str, list[str]]) -> dict:
    """Turn the form's answers (option positions as shown, 1-based) into option ids.

    The form never carries option ids: they follow the authored order, so with shuffling
    they would tell which option the trainer wrote first.
    """
    answers = {}
    for question_id, positions in submitted.items():
        planned = plan.question(question_id)
        if planned is None:
            answers[question_id] = positions  # not a question of this attempt: grading refuses
            continue
        answers[question_id] = _by_position(planned.option_ids, positions, "answer")
    return answers


def decode_choice(
    quiz: Quiz, plan: AttemptPlan, conversation_id: str, path: list[str], position: str
) -> str:
    """The choice id at ``position`` (1-based, as shown) of the conversation's current step."""
    state = conversation_state(quiz, plan, conversation_id, path)
    return _by_position(state.choice_ids, [position], "reply")[0]


def encode_answers(plan: AttemptPlan, answers: Mapping[str, Sequence[str]]) -> dict:
    """Saved answers (option ids) as the form shows them: positions, 1-based, as strings."""
    encoded = {}
    for question_id, chosen in answers.items():
        planned = plan.question(question_id)
        if planned is not None:
            encoded[question_id] = [
                str(n) for n, option_id in enumerate(planned.option_ids, 1) if option_id in chosen
            ]
    return encoded


# Standalone questions shown together on one page; a scenario or a conversation is a page.
QUESTIONS_PER_PAGE = 3


@dataclass(frozen=True)
class SheetPage:
    """One page of an attempt: a scenario, a conversation, or a few standalone questions.
    ``first_question`` numbers its first question across the whole attempt (1-based)."""

    number: int
    units: tuple[ShownUnit, ...]
    first_question: int

    # Cached: the navigator asks every page of the attempt for them on every page shown.
    @cached_property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.question.id for u in self.units for q in u.questions)

    @cached_property
    def conversation_ids(self) -> tuple[str, ...]:
        return tuple(u.id for u in self.units if u.conversation)

    @cached_property
    def conversation(self) -> ShownConversation | None:
        return next((u.conversation for u in self.units if u.conversation), None)

    def answered(self, answers: Mapping[str, object]) -> int:
        """How many of its questions (or its conversation, as one) have an answer."""
        count = sum(1 for q in self.question_ids if answers.get(q))
        conversation = self.conversation
        return count + (1 if conversation is not None and conversation.finished else 0)

    @cached_property
    def size(self) -> int:
        """How many answers the page asks for."""
        return len(self.question_ids) + (1 if self.conversation is not None else 0)

    def complete(self, answers: Mapping[str, object]) -> bool:
        return self.answered(answers) == self.size


def paginate(sheet: Sheet) -> tuple[SheetPage, ...]:
    """The sheet in pages, in plan order: each scenario and conversation a page of its own,
    standalone questions grouped by ``QUESTIONS_PER_PAGE``."""
    groups: list[list[ShownUnit]] = []
    for unit in sheet.units:
        last = groups[-1] if groups else None
        if (
            unit.kind == "question"
            and last is not None
            and all(u.kind == "question" for u in last)
            and len(last) < QUESTIONS_PER_PAGE
        ):
            last.append(unit)
        else:
            groups.append([unit])
    pages, counted = [], 1
    for number, group in enumerate(groups, 1):
        pages.append(SheetPage(number, tuple(group), counted))
        counted += sum(len(u.questions) for u in group)
    return tuple(pages)


@dataclass(frozen=True)
class PageProgress:
    """How far one page of an attempt is answered, as the navigator shows it."""

    number: int
    done: int  # answers given (a finished conversation counts as one)
    size: int  # answers the page asks for

    @property
    def complete(self) -> bool:
        return self.done == self.size

    @property
    def state(self) -> str:
        """``complete``, ``partly`` or ``empty``."""
        return "complete" if self.complete else ("partly" if self.done else "empty")


def page_progress(pages: Sequence[SheetPage], answers: Mapping[str, object]) -> list[PageProgress]:
    """How far each page is answered, in page order."""
    return [PageProgress(p.number, p.answered(answers), p.size) for p in pages]


def resume_page(pages: Sequence[SheetPage], answers: Mapping[str, object]) -> SheetPage | None:
    """Where a learner coming back picks up: the first page not fully answered (None: every
    page is, so the review comes next)."""
    return next((page for page in pages if not page.complete(answers)), None)
