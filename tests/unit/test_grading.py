"""Planning attempts, walking conversations and grading: what a learner's score depends on."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from app.content.quiz import Quiz, parse_quiz
from app.errors import DomainError
from app.quizzes.grading import (
    AnswerError,
    AttemptPlan,
    ConversationResult,
    Grade,
    QuestionResult,
    check_answers,
    conversation_state,
    format_points,
    grade,
    missing,
    plan_attempt,
)

QUIZ = """\
+++
shuffle = true
+++

## Scenario: the curious caller
A customer asks: "Is a robot listening?"

### What do you say first?
- [ ] "No, it's only me."
  > Never deny that AI tools are in use.
- [x] "AI tools may analyse this call. Would you like to know more?"
  > Honest, plain, and it offers a choice.

### Which steps are right? (choose all that apply)
- [x] Follow the opt-out procedure.
- [ ] Agree, then carry on as before.
- [x] Note the request.

> Opt-outs are only real if they are honoured every time.

## Where may you paste a customer's order history?
- [ ] Into any AI chatbot.
- [x] Only into approved tools.
  > Right: approved tools only.

## Conversation: a robot on the line
Points: 4

### Step: start
"Is a robot listening?"

- [x] "AI tools may analyse this call." → [opt out](#step-opt-out)
  > "Can I say no to that?"
- [ ] "No." → [misled](#outcome-misled)
  > "Oh, good."
- [ ] "Let me check our notice first." → [again](#step-start)
  > "Well? Is it?"

### Step: opt out
"Can I opt out?"

- [x] "Yes, I'll follow our opt-out procedure." → [honest](#outcome-honest)
- [ ] "Sure." → [half](#outcome-half)

### Outcome: honest
Score: 100%

Honest, and the opt-out is honoured.

### Outcome: half
Score: 50%

Honest, but the opt-out was not recorded.

### Outcome: misled
Score: 0%

You denied that AI was in use.
"""

SCENARIO = "the-curious-caller"
Q1 = "what-do-you-say-first"
Q2 = "which-steps-are-right-choose-all-that-apply"
Q3 = "where-may-you-paste-a-customers-order-history"
CONV = "a-robot-on-the-line"
PATHS = {
    "honest": [f"{CONV}.start.a", f"{CONV}.opt-out.a"],
    "half": [f"{CONV}.start.a", f"{CONV}.opt-out.b"],
    "misled": [f"{CONV}.start.b"],
    "looped": [f"{CONV}.start.c", f"{CONV}.start.c", f"{CONV}.start.a", f"{CONV}.opt-out.a"],
}
ALL_RIGHT = {
    Q1: [f"{Q1}.b"],
    Q2: [f"{Q2}.a", f"{Q2}.c"],
    Q3: [f"{Q3}.b"],
    CONV: PATHS["honest"],
}


def make_quiz(text: str) -> Quiz:
    quiz, problems = parse_quiz(text, "quiz.md")
    assert problems == []
    assert quiz is not None
    return quiz


@pytest.fixture
def quiz() -> Quiz:
    return make_quiz(QUIZ)


@pytest.fixture
def plan(quiz: Quiz) -> AttemptPlan:
    return plan_attempt(quiz, seed=7)


def pool(count: int, front_matter: str) -> Quiz:
    questions = "".join(
        f"## Question {n}?\n- [x] right {n}\n- [ ] wrong {n}\n- [ ] other {n}\n- [ ] fourth {n}\n\n"
        for n in range(count)
    )
    return make_quiz(f"+++\n{front_matter}\n+++\n{questions}")


def unit_order(plan: AttemptPlan) -> tuple[str, ...]:
    return tuple(unit.id for unit in plan.units)


# --------------------------------------------------------------------------------------------
# Plans


def test_without_shuffle_or_draw_the_plan_is_the_authored_order():
    quiz = make_quiz(QUIZ.replace("shuffle = true", "shuffle = false"))
    plan = plan_attempt(quiz, seed=1)
    assert [(u.kind, u.id) for u in plan.units] == [
        ("scenario", SCENARIO),
        ("question", Q3),
        ("conversation", CONV),
    ]
    assert plan.answer_ids == (Q1, Q2, Q3, CONV)
    assert [q.option_ids for q in plan.units[0].questions] == [
        (f"{Q1}.a", f"{Q1}.b"),
        (f"{Q2}.a", f"{Q2}.b", f"{Q2}.c"),
    ]
    assert [(s.id, s.choice_ids) for s in plan.units[2].steps] == [
        ("start", (f"{CONV}.start.a", f"{CONV}.start.b", f"{CONV}.start.c")),
        ("opt-out", (f"{CONV}.opt-out.a", f"{CONV}.opt-out.b")),
    ]


def test_the_same_seed_gives_the_same_plan_and_the_plan_survives_json(quiz):
    first = plan_attempt(quiz, seed=42)
    assert plan_attempt(quiz, seed=42) == first
    stored = json.loads(json.dumps(first.to_dict()))
    assert AttemptPlan.from_dict(stored) == first


def test_different_seeds_give_different_orders_on_a_bigger_pool():
    quiz = pool(20, "shuffle = true\ndraw = 10")
    plans = [plan_attempt(quiz, seed) for seed in range(20)]
    assert len({unit_order(p) for p in plans}) == 20
    option_orders = {p.units[0].questions[0].option_ids[0][-1] for p in plans}
    assert option_orders == {"a", "b", "c", "d"}  # any option may come first
    drawn = {unit_id for p in plans for unit_id in unit_order(p)}
    assert len(drawn) == 20  # no question is left out of every draw
    assert all(len(p.units) == 10 for p in plans)


def test_draw_without_shuffle_keeps_the_authored_order_of_what_it_draws():
    quiz = pool(12, "draw = 5")
    authored = [item.id for item in quiz.items]
    for seed in range(10):
        plan = plan_attempt(quiz, seed)
        order = list(unit_order(plan))
        assert len(order) == 5
        assert order == sorted(order, key=authored.index)
        assert all(q.option_ids[0].endswith(".a") for u in plan.units for q in u.questions)
    assert len({unit_order(plan_attempt(quiz, seed)) for seed in range(10)}) > 1


def test_draw_takes_scenarios_and_conversations_whole(quiz):
    quiz = make_quiz(QUIZ.replace("shuffle = true", "shuffle = true\ndraw = 2"))
    seen = set()
    for seed in range(40):
        plan = plan_attempt(quiz, seed)
        assert len(plan.units) == 2
        seen.add(frozenset(unit_order(plan)))
        for unit in plan.units:
            if unit.kind == "scenario":
                assert [q.id for q in unit.questions] == [Q1, Q2]  # whole, in authored order
            if unit.kind == "conversation":
                assert [s.id for s in unit.steps] == ["start", "opt-out"]
    assert len(seen) == 3  # every pair of the three units gets drawn


def test_shuffle_moves_options_but_never_a_scenarios_questions(quiz):
    first_options = set()
    for seed in range(30):
        plan = plan_attempt(quiz, seed)
        scenario = plan.unit(SCENARIO)
        assert scenario is not None
        assert [q.id for q in scenario.questions] == [Q1, Q2]
        question = scenario.questions[1]
        assert sorted(question.option_ids) == [f"{Q2}.a", f"{Q2}.b", f"{Q2}.c"]
        first_options.add(question.option_ids[0])
    assert len(first_options) == 3


def test_plan_attempt_needs_an_int_seed(quiz):
    with pytest.raises(TypeError):
        plan_attempt(quiz, "7")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Grading questions


def test_all_right_scores_every_point_and_passes(quiz, plan):
    result = grade(quiz, plan, ALL_RIGHT)
    assert (result.points_earned, result.points_possible, result.percent) == (7, 7, 100)
    assert result.passed(100)
    assert [r.correct for r in result.results if isinstance(r, QuestionResult)] == [True] * 3


def test_results_follow_the_plan_and_show_choice_feedback_explanation_and_answer(quiz, plan):
    answers = {Q1: [f"{Q1}.a"], Q2: [f"{Q2}.c", f"{Q2}.a"], Q3: [f"{Q3}.b"]}
    result = grade(quiz, plan, answers)
    ids = [
        r.question_id if isinstance(r, QuestionResult) else r.conversation_id
        for r in result.results
    ]
    assert ids == list(plan.answer_ids)

    by_id = {r.question_id: r for r in result.results if isinstance(r, QuestionResult)}
    wrong = by_id[Q1]
    assert not wrong.correct and wrong.answered
    assert wrong.scenario_id == SCENARIO
    assert wrong.chosen_option_ids == (f"{Q1}.a",)
    assert wrong.correct_option_ids == (f"{Q1}.b",)
    assert [o.feedback_html for o in wrong.chosen_options] == [
        "<p>Never deny that AI tools are in use.</p>"
    ]
    assert wrong.points_earned == 0
    shown = plan.question(Q2)
    assert shown is not None
    assert [o.id for o in by_id[Q2].options] == list(shown.option_ids)
    assert by_id[Q2].correct
    assert by_id[Q2].explanation_html == (
        "<p>Opt-outs are only real if they are honoured every time.</p>"
    )
    assert by_id[Q3].scenario_id is None
    assert by_id[Q3].chosen_options[0].feedback_html == "<p>Right: approved tools only.</p>"


@pytest.mark.parametrize(
    ("chosen", "right"),
    [
        pytest.param(["a", "c"], True, id="exactly-the-right-ones"),
        pytest.param(["c", "a"], True, id="any-order"),
        pytest.param(["a"], False, id="partial"),
        pytest.param(["a", "b", "c"], False, id="one-too-many"),
        pytest.param(["b"], False, id="wrong"),
    ],
)
def test_multiple_answer_is_right_only_when_exactly_right(quiz, plan, chosen, right):
    result = grade(quiz, plan, {Q2: [f"{Q2}.{letter}" for letter in chosen]})
    question = next(
        r for r in result.results if isinstance(r, QuestionResult) and r.question_id == Q2
    )
    assert question.correct is right
    assert result.points_earned == (1 if right else 0)


def test_missing_answers_score_zero_and_are_listed_in_plan_order(quiz, plan):
    answers = {Q2: [f"{Q2}.a", f"{Q2}.c"], Q1: []}
    assert missing(plan, answers) == [a for a in plan.answer_ids if a != Q2]
    result = grade(quiz, plan, answers)
    assert result.points_earned == 1
    unanswered = [r for r in result.results if not r.answered]
    assert len(unanswered) == 3
    assert all(r.points_earned == 0 for r in unanswered)


def test_missing_with_the_quiz_counts_an_unfinished_conversation(quiz, plan):
    answers = {**ALL_RIGHT, CONV: PATHS["honest"][:1]}
    assert missing(plan, answers) == []
    assert missing(plan, answers, quiz) == [CONV]
    assert missing(plan, ALL_RIGHT, quiz) == []


def test_percent_rounds_down_and_passing_is_exact():
    quiz = pool(3, "shuffle = false")
    plan = plan_attempt(quiz, seed=0)
    ids = plan.answer_ids
    result = grade(quiz, plan, {ids[0]: [f"{ids[0]}.a"], ids[1]: [f"{ids[1]}.a"]})
    assert (result.points_earned, result.points_possible) == (2, 3)
    assert result.percent == 66
    assert result.passed(66)
    assert not result.passed(67)  # 66.67% rounds down for display, but is below 67
    with pytest.raises(ValueError):
        result.passed(101)
    with pytest.raises(ValueError):
        result.passed(True)


def test_check_answers_returns_choices_in_shown_order(quiz, plan):
    shown = plan.question(Q2)
    assert shown is not None
    checked = check_answers(quiz, plan, {Q2: list(reversed(shown.option_ids))[:2], Q1: []})
    assert checked == {Q2: tuple(o for o in shown.option_ids if o in checked[Q2])}
    assert Q1 not in checked


# --------------------------------------------------------------------------------------------
# Conversations


@pytest.mark.parametrize(
    ("path", "outcome", "points"),
    [
        pytest.param("honest", "honest", Fraction(4), id="honest"),
        pytest.param("half", "half", Fraction(2), id="half"),
        pytest.param("misled", "misled", Fraction(0), id="misled"),
        pytest.param("looped", "honest", Fraction(4), id="loop-then-honest"),
    ],
)
def test_each_path_reaches_its_outcome_and_scores_its_share_of_the_points(
    quiz, plan, path, outcome, points
):
    result = grade(quiz, plan, {CONV: PATHS[path]})
    conversation = next(r for r in result.results if isinstance(r, ConversationResult))
    assert conversation.outcome_id == outcome
    assert conversation.points_earned == points
    assert conversation.points_possible == 4
    assert result.points_earned == points
    assert result.points_possible == 7


def test_a_conversation_result_keeps_the_path_with_the_customers_reactions(quiz, plan):
    result = grade(quiz, plan, {CONV: PATHS["looped"]})
    conversation = next(r for r in result.results if isinstance(r, ConversationResult))
    assert [(p.step_id, p.choice_id, p.recommended) for p in conversation.path] == [
        ("start", f"{CONV}.start.c", False),
        ("start", f"{CONV}.start.c", False),
        ("start", f"{CONV}.start.a", True),
        ("opt-out", f"{CONV}.opt-out.a", True),
    ]
    assert conversation.path[0].reaction_html == '<p>"Well? Is it?"</p>'
    assert conversation.path[0].customer_html == '<p>"Is a robot listening?"</p>'
    assert conversation.outcome_title == "honest"
    assert conversation.outcome_score == 100
    assert conversation.outcome_explanation_html == ("<p>Honest, and the opt-out is honoured.</p>")


def test_conversation_points_are_exact_fractions_of_its_worth():
    quiz = make_quiz(QUIZ.replace("Points: 4", "Points: 3"))
    plan = plan_attempt(quiz, seed=3)
    result = grade(quiz, plan, {**ALL_RIGHT, CONV: PATHS["half"]})
    assert result.points_earned == Fraction(9, 2)  # 3 questions + 50% of 3 points
    assert result.points_possible == 6
    assert result.percent == 75
    assert result.passed(75)
    assert format_points(result.points_earned) == "4.5"


def test_conversation_state_walks_one_choice_at_a_time_in_the_planned_order(quiz, plan):
    planned = plan.unit(CONV)
    assert planned is not None
    state = conversation_state(quiz, plan, CONV, [])
    assert (state.step_id, state.outcome_id, state.finished) == ("start", None, False)
    assert state.choice_ids == planned.steps[0].choice_ids
    state = conversation_state(quiz, plan, CONV, PATHS["honest"][:1])
    assert state.step_id == "opt-out"
    assert state.choice_ids == planned.steps[1].choice_ids
    state = conversation_state(quiz, plan, CONV, PATHS["honest"])
    assert (state.step_id, state.outcome_id, state.finished) == (None, "honest", True)
    with pytest.raises(AnswerError, match="goes on after it has reached an outcome"):
        conversation_state(quiz, plan, CONV, [*PATHS["misled"], f"{CONV}.start.a"])
    with pytest.raises(AnswerError, match="is not a conversation of this attempt"):
        conversation_state(quiz, plan, Q1, [])


def test_a_conversation_left_out_of_the_draw_cannot_be_walked():
    quiz = make_quiz(QUIZ.replace("shuffle = true", "draw = 1"))
    plan = next(p for p in (plan_attempt(quiz, s) for s in range(50)) if p.unit(CONV) is None)
    with pytest.raises(AnswerError, match="is not a conversation of this attempt"):
        conversation_state(quiz, plan, CONV, [])
    with pytest.raises(AnswerError, match="is not a question of this attempt"):
        grade(quiz, plan, {CONV: PATHS["honest"]})


# --------------------------------------------------------------------------------------------
# Tampering


LONG = "x" * 10_000


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        pytest.param(
            {"no-such-question": ["no-such-question.a"]},
            "'no-such-question' is not a question of this attempt",
            id="unknown-question",
        ),
        pytest.param(
            {SCENARIO: [f"{Q1}.a"]}, "is not a question of this attempt", id="scenario-id"
        ),
        pytest.param(
            {"score": ["100"]}, "'score' is not a question of this attempt", id="extra-field"
        ),
        pytest.param(
            {Q1: [f"{Q3}.b"]},
            f"option '{Q3}.b' does not belong to question '{Q1}'",
            id="other-question",
        ),
        pytest.param(
            {Q1: ["other-quiz-question.a"]}, "does not belong to question", id="other-quiz"
        ),
        pytest.param(
            {Q2: [f"{Q2}.a", f"{Q2}.a"]}, f"option '{Q2}.a' is chosen twice", id="duplicate"
        ),
        pytest.param(
            {Q1: [f"{Q1}.a", f"{Q1}.b"]},
            f"question '{Q1}' takes a single answer, but 2 options were chosen",
            id="two-for-single",
        ),
        pytest.param({Q1: f"{Q1}.b"}, "must be a list of option ids", id="string-not-list"),
        pytest.param({Q1: {f"{Q1}.b": True}}, "must be a list of option ids", id="mapping"),
        pytest.param({Q1: 3}, "must be a list of option ids", id="number"),
        pytest.param({Q1: [3]}, "an option id must be a string", id="non-string-option"),
        pytest.param({Q1: [None]}, "an option id must be a string", id="none-option"),
        pytest.param({7: [f"{Q1}.b"]}, "a question id must be a string", id="non-string-key"),
        pytest.param({LONG: [f"{Q1}.b"]}, "a question id is far too long", id="huge-key"),
        pytest.param({Q1: [LONG]}, "an option id is far too long", id="huge-option"),
        pytest.param({Q2: [f"{Q2}.a"] * 10_000}, "has far too many option ids", id="huge-list"),
        pytest.param(
            {CONV: [f"{CONV}.opt-out.a"]},
            f"'{CONV}.opt-out.a' is not a choice at step 'start'",
            id="skipped-step",
        ),
        pytest.param(
            {CONV: [f"{CONV}.start.b", f"{CONV}.start.a"]},
            "goes on after it has reached an outcome",
            id="past-the-outcome",
        ),
        pytest.param(
            {CONV: PATHS["honest"][:1]},
            f"conversation '{CONV}' is unfinished: its path stops at step 'opt-out'",
            id="unfinished",
        ),
        pytest.param(
            {CONV: [f"{Q1}.b"]}, "is not a choice at step 'start'", id="question-option-in-path"
        ),
        pytest.param(
            {CONV: set(PATHS["misled"])}, "must be a list of option ids", id="unordered-path"
        ),
        pytest.param(
            {CONV: [f"{CONV}.start.c"] * 201}, "has far too many option ids", id="endless-loop"
        ),
    ],
)
def test_tampered_answers_are_refused_with_a_specific_message(quiz, plan, answers, message):
    with pytest.raises(AnswerError) as caught:
        grade(quiz, plan, answers)
    assert message in caught.value.message
    assert caught.value.status == 400
    assert isinstance(caught.value, DomainError)


def test_answers_must_be_a_mapping(quiz, plan):
    with pytest.raises(AnswerError, match="answers must map question ids"):
        grade(quiz, plan, [(Q1, [f"{Q1}.b"])])  # type: ignore[arg-type]


def test_a_refused_id_is_shown_cut_short(quiz, plan):
    with pytest.raises(AnswerError) as caught:
        grade(quiz, plan, {Q1: ["y" * 150]})
    assert len(caught.value.message) < 150


def test_a_plan_for_another_quiz_is_a_caller_bug(quiz):
    other = pool(3, "shuffle = false")
    with pytest.raises(ValueError, match="does not fit this quiz"):
        grade(quiz, plan_attempt(other, seed=1), {})
    edited = make_quiz(QUIZ.replace("- [ ] Agree, then carry on as before.\n", ""))
    with pytest.raises(ValueError, match="does not fit this quiz"):
        grade(edited, plan_attempt(quiz, seed=1), {})


# --------------------------------------------------------------------------------------------
# Storage


def test_grade_survives_json_exactly(quiz, plan):
    result = grade(quiz, plan, {**ALL_RIGHT, Q1: [f"{Q1}.a"], CONV: PATHS["half"]})
    stored = json.loads(json.dumps(result.to_dict()))
    assert stored["points_earned"] == "4"
    assert stored["percent"] == 57
    restored = Grade.from_dict(stored)
    assert restored == result
    assert restored.percent == result.percent

    halves = make_quiz(QUIZ.replace("Points: 4", "Points: 3"))
    result = grade(halves, plan_attempt(halves, 1), {CONV: PATHS["half"]})
    stored = json.loads(json.dumps(result.to_dict()))
    assert stored["points_earned"] == "1.5"
    assert Grade.from_dict(stored) == result
    with pytest.raises(ValueError, match="unsupported stored grade format"):
        Grade.from_dict({**stored, "format": 2})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(2), "2"),
        (Fraction(3, 2), "1.5"),
        (Fraction(3, 4), "0.75"),
        (Fraction(101, 100), "1.01"),
        (Fraction(0), "0"),
        (Fraction(1, 3), "1/3"),
    ],
)
def test_format_points_is_exact(value, text):
    assert format_points(value) == text
    assert Fraction(text) == value
