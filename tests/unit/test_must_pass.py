"""Must-pass items: how quiz.md marks them, what `courses check` refuses, how they are drawn
and graded (an attempt that fails one fails whatever its score), and that old stored quizzes
and grades still load."""

from __future__ import annotations

import json

import pytest

from app.content.gift import convert_gift
from app.content.quiz import Quiz, parse_quiz
from app.quizzes.grading import Grade, grade, plan_attempt

QUIZ = """\
## Where may you paste a customer's order history?
- [ ] Into any AI chatbot.
- [x] Only into approved tools.

## A caller asks whether an AI is listening. What do you say?
Must pass: never deny that AI tools are in use.

The AI tool on your line transcribes calls.

- [ ] "No, it's just me."
- [x] "Yes, an AI tool transcribes the call."

## Which of these are personal data? (choose all that apply)
- [x] A caller's name.
- [x] A phone number.
- [ ] The weather.

## Which of these belong in a report? (choose all that apply)
- [x] The case ID.
- [x] The time.
- [ ] The card number.

## Conversation: a robot on the line
Points: 4
Must pass: tell the truth, and honour the opt-out.

### Step: start
"Is a robot listening?"

- [x] "AI tools may analyse this call." → [opt out](#step-opt-out)
- [ ] "No." → [misled](#outcome-misled)

### Step: opt out
"Can I opt out?"

- [x] "Yes, I'll switch it off and note it." → [honoured](#outcome-honoured)
- [ ] "Sure." (and carry on) → [ignored](#outcome-ignored)

### Outcome: honoured
Score: 100%

Honest and respectful.

### Outcome: ignored
Score: 25%
Fails the attempt

An ignored opt-out.

### Outcome: misled
Score: 0%
Fails the attempt

The caller was misled.
"""

PASTE = "where-may-you-paste-a-customers-order-history"
LISTENING = "a-caller-asks-whether-an-ai-is-listening-what-do-you-say"
PERSONAL = "which-of-these-are-personal-data-choose-all-that-apply"
REPORT = "which-of-these-belong-in-a-report-choose-all-that-apply"
ROBOT = "a-robot-on-the-line"


def make(text: str = QUIZ) -> Quiz:
    quiz, problems = parse_quiz(text, "quiz.md")
    assert problems == [], problems
    assert quiz is not None
    return quiz


def messages(text: str) -> list[str]:
    return [f"{p.line}: {p.message}" for p in parse_quiz(text, "quiz.md")[1]]


ALL_RIGHT = {
    PASTE: [f"{PASTE}.b"],
    LISTENING: [f"{LISTENING}.b"],
    PERSONAL: [f"{PERSONAL}.a", f"{PERSONAL}.b"],
    REPORT: [f"{REPORT}.a", f"{REPORT}.b"],
}
HONOURED = [f"{ROBOT}.start.a", f"{ROBOT}.opt-out.a"]
IGNORED = [f"{ROBOT}.start.a", f"{ROBOT}.opt-out.b"]
MISLED = [f"{ROBOT}.start.b"]


# -- the format ---------------------------------------------------------------------------


def test_must_pass_lines_mark_questions_conversations_and_failing_outcomes():
    quiz = make()
    listening, paste = quiz.question(LISTENING), quiz.question(PASTE)
    assert (
        listening.must_pass and listening.must_pass_html == "never deny that AI tools are in use."
    )
    assert not paste.must_pass and paste.must_pass_html is None
    # the mark is not part of what the learner reads under the question
    assert "Must pass" not in listening.body_html and "transcribes calls" in listening.body_html
    robot = quiz.conversation(ROBOT)
    assert robot.must_pass and robot.points == 4
    assert {o.id: o.fails for o in robot.outcomes} == {
        "honoured": False,
        "ignored": True,
        "misled": True,
    }
    assert "Fails the attempt" not in robot.outcome("ignored").explanation_html


def test_must_pass_survives_json_and_old_stored_quizzes_still_load():
    quiz = make()
    stored = json.loads(json.dumps(quiz.to_dict()))
    assert Quiz.from_dict(stored) == quiz
    # a version stored before must-pass existed has none of the new keys
    for item in stored["items"]:
        item.pop("must_pass_html")
        for outcome in item.get("outcomes", []):
            outcome.pop("fails")
    old = Quiz.from_dict(stored)
    assert not any(item.must_pass for item in old.items)


def test_a_scenario_question_can_be_must_pass_and_makes_its_scenario_must_pass():
    quiz = make(
        "## Scenario: a chat\nA customer types card details.\n\n"
        "### What do you do?\nMust pass: never repeat card details.\n\n"
        "- [x] Mask it.\n- [ ] Repeat it.\n\n"
        "### Who do you tell?\n- [x] Security.\n- [ ] Nobody.\n"
    )
    (scenario,) = quiz.items
    assert scenario.must_pass
    assert [q.must_pass for q in scenario.questions] == [True, False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "## Q?\nMust pass:\n\n- [x] a\n- [ ] b\n",
            "2: must pass has no text: say what the learner must get right, like "
            "Must pass: never deny that AI tools are in use",
        ),
        (
            QUIZ.replace("Score: 25%\nFails the attempt\n", "Score: 25%\n").replace(
                "Score: 0%\nFails the attempt\n", "Score: 0%\n"
            ),
            "23: must-pass conversation has no failing outcome: add a line Fails the attempt "
            "under the Score: of each outcome that fails it",
        ),
        (
            QUIZ.replace("Score: 100%\n", "Score: 100%\nFails the attempt\n"),
            "39: outcome 'honoured' fails the attempt but scores 100%: lower its Score:, or "
            "remove Fails the attempt",
        ),
        (
            QUIZ.replace("Must pass: tell the truth, and honour the opt-out.\n", ""),
            "43: outcome 'ignored' fails the attempt, but the conversation is not must-pass: add "
            "a line Must pass: WHAT THE LEARNER MUST DO under its ## Conversation: heading",
        ),
        (
            "## Scenario: s\nMust pass: all of it.\n\nStem.\n\n### Q?\n- [x] a\n- [ ] b\n",
            "2: Must pass: does not go under a scenario: put it first under the ### question "
            "that must be passed",
        ),
        (
            QUIZ.replace('### Step: opt out\n"Can', '### Step: opt out\nMust pass: this.\n"Can'),
            "34: Must pass: does not go under a step: put it under the ## Conversation: heading, "
            "next to Points:",
        ),
        (
            "+++\ndraw = 1\n+++\n" + QUIZ,
            "2: draw = 1 but 2 unit(s) hold must-pass items, and every attempt shows all of "
            "them: raise draw to at least 2, or remove it",
        ),
    ],
)
def test_check_reports_must_pass_mistakes_at_their_line(text, expected):
    assert expected in messages(text)


def test_a_must_pass_conversation_where_every_outcome_fails_is_refused():
    text = QUIZ.replace("Score: 100%\n", "Score: 90%\nFails the attempt\n")
    assert any("so nobody could pass" in m for m in messages(text))


def test_a_gift_question_whose_text_starts_with_must_pass_is_not_made_must_pass():
    stem = "Must pass: the fire drill. " + "This question goes on for long enough. " * 5
    converted = convert_gift(stem + "{=yes ~no}\n", "quiz.gift")
    quiz = make(converted.markdown)
    (question,) = quiz.questions
    assert not question.must_pass
    assert "Must pass: the fire drill." in question.body_html


# -- drawing and grading -------------------------------------------------------------------


def test_must_pass_units_are_in_every_drawn_attempt():
    quiz = make("+++\ndraw = 3\nshuffle = true\n+++\n" + QUIZ)
    for seed in range(40):
        drawn = {unit.id for unit in plan_attempt(quiz, seed).units}
        assert {LISTENING, ROBOT} <= drawn and len(drawn) == 3


def test_without_must_pass_items_the_draw_is_unchanged():
    plain = QUIZ.replace("Must pass: never deny that AI tools are in use.\n", "")
    plain = plain.replace("Must pass: tell the truth, and honour the opt-out.\n", "")
    plain = plain.replace("Fails the attempt\n", "")
    quiz = make("+++\ndraw = 2\n+++\n" + plain)
    drawn = [tuple(u.id for u in plan_attempt(quiz, seed).units) for seed in range(30)]
    assert len(set(drawn)) > 3  # still drawn from every unit


def grade_with(answers, path):
    quiz = make()
    return grade(quiz, plan_attempt(quiz, 7), {**answers, ROBOT: path})


def test_all_right_passes():
    result = grade_with(ALL_RIGHT, HONOURED)
    assert result.percent == 100 and result.passed(80) and result.must_pass_failures == ()


def test_misleading_the_customer_fails_whatever_the_score():
    result = grade_with(ALL_RIGHT, MISLED)
    assert result.percent == 50 and result.reaches(50)
    assert not result.passed(50) and not result.passed(0)
    (failure,) = result.must_pass_failures
    assert failure.conversation_id == ROBOT and failure.outcome_id == "misled"
    assert failure.must_pass_html == "tell the truth, and honour the opt-out."


def test_an_ignored_opt_out_fails_even_with_points_above_the_pass_mark():
    result = grade_with(ALL_RIGHT, IGNORED)
    assert result.percent == 62 and result.reaches(60) and not result.passed(60)


def test_a_wrong_must_pass_question_fails_an_attempt_that_reaches_the_pass_mark():
    answers = {**ALL_RIGHT, LISTENING: [f"{LISTENING}.a"]}
    result = grade_with(answers, HONOURED)
    assert result.percent == 87 and result.reaches(80) and not result.passed(80)
    (failure,) = result.must_pass_failures
    assert failure.question_id == LISTENING


def test_a_wrong_ordinary_question_only_costs_its_point():
    answers = {**ALL_RIGHT, PASTE: [f"{PASTE}.a"]}
    result = grade_with(answers, HONOURED)
    assert result.percent == 87 and result.passed(80)


def test_failures_survive_json_and_old_stored_grades_still_load():
    result = grade_with(ALL_RIGHT, MISLED)
    stored = json.loads(json.dumps(result.to_dict()))
    again = Grade.from_dict(stored)
    assert again == result and not again.passed(0)
    for item in stored["results"]:
        item.pop("must_pass_html")
        item.pop("outcome_fails", None)
    old = Grade.from_dict(stored)
    assert old.must_pass_failures == () and old.passed(50)
