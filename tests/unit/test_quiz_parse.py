"""Parsing and validating quiz.md: what a trainer writes, what Candor stores, what it refuses."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from app.content.quiz import (
    Conversation,
    Question,
    Quiz,
    QuizSettings,
    Scenario,
    parse_quiz,
    slugify,
)
from app.quizzes.grading import format_points, grade, plan_attempt

PATH = "courses/demo/quiz.md"

# Verbatim from DESIGN.md §4.
DESIGN_EXAMPLE = """\
+++
shuffle = true
draw = 10        # questions per attempt, drawn from the pool (default: all)
+++

## Scenario: the curious caller
A customer phoning about a return asks: "Is a robot listening to this call?"

### What do you say first?
- [ ] "No, it's only me on the line."
  > Never deny that AI tools are in use.
- [x] "This call may be recorded and analysed by AI tools that help us serve you. Would you like to know more?"
  > Honest, plain, and it offers a choice.

### The caller asks you not to use AI on this call. Which steps are right? (choose all that apply)
- [x] Follow the documented opt-out procedure.
- [ ] Agree, then carry on as before.
- [x] Note the request as your procedure says.

> Opt-outs are only real if they are honoured every time.

## Where may you paste a customer's order history?
- [ ] Into any AI chatbot, if it helps you answer faster.
- [x] Only into tools your company has approved for customer data.
"""  # noqa: E501

CONVERSATION = """\
## Conversation: is a robot listening?
Points: 3

You answer a call about a late parcel.

### Step: start
"Before we go on: is a robot listening to this call?"

- [ ] "No, it's only me." → [caller presses](#step-caller-presses)
  > "Really? Your website says calls are analysed by AI."
- [x] "AI tools may analyse this call to help us. Would you like to know more?" → [opt out](#step-opt-out)
  > "Oh. Can I say no to that?"

### Step: caller presses
- [x] "You're right, I'm sorry: AI tools may analyse this call." -> [opt out](#opt-out)
- [ ] "I'm not sure what the website says." → [misled](#Outcome-Misled)

> Owning a mistake at once keeps the caller's trust.

### Step: opt out
"Can I opt out?"

- [x] "Yes. I'll note it and follow our opt-out procedure." → [honest](#outcome-honest)
- [ ] "Sure." → [misled](#outcome-misled)
  > The caller hears the AI notice again on the next call.

### Outcome: honest
Score: 100%

You told the truth and honoured the opt-out.

### Outcome: misled
Score: 0%

The caller was misled about AI on the call.
"""  # noqa: E501


def parse(text: str) -> Quiz:
    quiz, problems = parse_quiz(textwrap.dedent(text), PATH)
    assert problems == []
    assert quiz is not None
    return quiz


def assert_problems(text: str, *expected: tuple[int, str], line_offset: int = 0) -> None:
    """Exactly these problems: each at its line, its message containing the phrase."""
    quiz, problems = parse_quiz(textwrap.dedent(text), PATH, line_offset)
    assert quiz is None
    assert all(p.path == PATH for p in problems)
    left = [(p.line, p.message) for p in problems]
    for line, phrase in expected:
        match = next((item for item in left if item[0] == line and phrase in item[1]), None)
        assert match is not None, f"no problem at line {line} with {phrase!r} in {left}"
        left.remove(match)
    assert left == [], f"unexpected problems: {left}"


TWO = "- [x] right\n- [ ] wrong\n"


# --------------------------------------------------------------------------------------------
# The DESIGN.md example


def test_design_example_as_written_only_fails_on_draw_larger_than_its_two_units():
    quiz, problems = parse_quiz(DESIGN_EXAMPLE, PATH)
    assert quiz is None
    assert [str(p) for p in problems] == [
        f"{PATH}:3: draw = 10 but the quiz has only 2 unit(s) to draw from (a standalone "
        "question, a scenario and a conversation count as one unit each): lower draw, or "
        "remove it to show everything"
    ]


def test_design_example_parses_into_scenario_and_standalone_question():
    quiz = parse(DESIGN_EXAMPLE.replace("draw = 10", "draw = 2"))
    assert quiz.settings == QuizSettings(shuffle=True, draw=2)
    assert quiz.unit_count == 2
    assert quiz.points_possible == 3

    scenario, standalone = quiz.items
    assert isinstance(scenario, Scenario)
    assert scenario.id == "the-curious-caller"
    assert scenario.title == "the curious caller"
    assert scenario.line == 6
    assert scenario.stem_html == (
        '<p>A customer phoning about a return asks: "Is a robot listening to this call?"</p>'
    )

    first, second = scenario.questions
    assert first.id == "what-do-you-say-first"
    assert first.prompt_html == "What do you say first?"
    assert first.line == 9
    assert not first.multiple
    assert [(o.id, o.correct) for o in first.options] == [
        ("what-do-you-say-first.a", False),
        ("what-do-you-say-first.b", True),
    ]
    assert first.options[0].text_html == '"No, it\'s only me on the line."'
    assert first.options[0].feedback_html == "<p>Never deny that AI tools are in use.</p>"
    assert first.options[1].feedback_html == "<p>Honest, plain, and it offers a choice.</p>"
    assert first.explanation_html is None

    assert second.id == "the-caller-asks-you-not-to-use-ai-on-this-call-which-steps-a"
    assert second.multiple
    assert [o.correct for o in second.options] == [True, False, True]
    assert all(o.feedback_html is None for o in second.options)
    assert second.explanation_html == (
        "<p>Opt-outs are only real if they are honoured every time.</p>"
    )
    assert second.correct_option_ids == {second.id + ".a", second.id + ".c"}

    assert isinstance(standalone, Question)
    assert standalone.id == "where-may-you-paste-a-customers-order-history"
    assert standalone.prompt_html == "Where may you paste a customer's order history?"
    assert standalone.body_html == ""
    assert standalone.line == 22
    assert [o.correct for o in standalone.options] == [False, True]
    assert quiz.question(first.id) is first
    assert quiz.unit(scenario.id) is scenario


# --------------------------------------------------------------------------------------------
# Questions


def test_one_correct_option_is_single_answer_and_several_make_it_multiple():
    quiz = parse("""\
        ## One?
        - [x] a
        - [ ] b

        ## Several?
        - [x] a
        - [X] b
        - [ ] c
        """)
    single, multiple = quiz.items
    assert isinstance(single, Question) and isinstance(multiple, Question)
    assert not single.multiple
    assert multiple.multiple
    assert [o.correct for o in multiple.options] == [True, True, False]


def test_star_and_plus_markers_and_capital_x_are_accepted():
    quiz = parse("## Which?\n* [X] a\n* [ ] b\n+ [ ] c\n")
    question = quiz.items[0]
    assert isinstance(question, Question)
    assert [(o.text_html, o.correct) for o in question.options] == [
        ("a", True),
        ("b", False),
        ("c", False),
    ]


def test_paragraphs_before_the_options_are_the_body_and_a_quote_there_stays_in_it():
    quiz = parse("""\
        ## What do you do?
        The caller says:

        > "Just paste my details into ChatGPT."

        - [x] Refuse politely.
        - [ ] Do it.
        """)
    question = quiz.items[0]
    assert isinstance(question, Question)
    assert question.body_html.startswith("<p>The caller says:</p>")
    assert "<blockquote>" in question.body_html
    assert question.explanation_html is None
    assert all(o.feedback_html is None for o in question.options)


def test_feedback_spans_lines_and_attaches_to_its_own_option():
    quiz = parse("""\
        ## Which?
        - [x] First,
          continued.
          > Good: this
          > spans lines.
          >
          > And has a second paragraph.
        - [ ] Second
          > Not this one.

        > Why: because.
        > Still the explanation.
        """)
    question = quiz.items[0]
    assert isinstance(question, Question)
    first, second = question.options
    assert first.text_html == "First,\ncontinued."
    assert first.feedback_html == (
        "<p>Good: this\nspans lines.</p>\n<p>And has a second paragraph.</p>"
    )
    assert second.feedback_html == "<p>Not this one.</p>"
    assert question.explanation_html == "<p>Why: because.\nStill the explanation.</p>"


def test_ids_are_heading_slugs_cut_at_60_and_option_ids_carry_the_question_id():
    long_heading = "Which of these " + "very " * 20 + "long options?"
    quiz = parse(f"## Où est l’IA ?\n{TWO}\n## {long_heading}\n{TWO}")
    short, long_one = quiz.items
    assert isinstance(short, Question) and isinstance(long_one, Question)
    assert short.id == "ou-est-lia"
    assert [o.id for o in short.options] == ["ou-est-lia.a", "ou-est-lia.b"]
    assert len(long_one.id) <= 60
    assert long_one.id == slugify(long_heading)
    assert long_one.id.startswith("which-of-these-very-very")
    assert not long_one.id.endswith("-")


def test_a_closing_hash_run_is_not_part_of_the_heading_but_c_sharp_is():
    quiz = parse(f"## Which is right? ##\n{TWO}\n## Who writes C#\n{TWO}")
    first, second = quiz.items
    assert isinstance(first, Question) and isinstance(second, Question)
    assert (first.id, first.prompt_html) == ("which-is-right", "Which is right?")
    assert (second.id, second.prompt_html) == ("who-writes-c", "Who writes C#")


def test_headings_and_options_inside_code_fences_and_comments_are_not_structure():
    quiz = parse("""\
        # Quiz title for readers on GitHub

        <!-- trainer's note: checked with legal, March
        ## not a question -->
        ## What does this prompt leak?
        ```
        ## Customer: Jane Doe
        - [x] card 4111 1111 1111 1111
        ```

        - [x] The customer's name and card number.
        - [ ] Nothing.
        """)
    assert len(quiz.items) == 1
    question = quiz.items[0]
    assert isinstance(question, Question)
    assert "<pre><code>## Customer: Jane Doe" in question.body_html
    assert len(question.options) == 2


def test_front_matter_settings_are_read_and_default_to_unset():
    assert parse(f"## Q?\n{TWO}").settings == QuizSettings()
    quiz = parse(
        f"+++\nshuffle = true\npass_mark = 90\nmax_attempts = 0\ndraw = 1\n+++\n## Q?\n{TWO}"
    )
    assert quiz.settings == QuizSettings(shuffle=True, draw=1, pass_mark=90, max_attempts=0)


def test_crlf_line_endings_and_a_bom_keep_line_numbers():
    text = "\ufeff## Q?\r\n- [x] a\r\n\r\n## R?\r\n- [ ] a\r\n- [ ] b\r\n"
    quiz, problems = parse_quiz(text, PATH)
    assert quiz is None
    assert [str(p) for p in problems] == [
        f"{PATH}:1: question has only one option: add at least one more (- [ ] for a wrong one)",
        f"{PATH}:4: question has no correct option: mark at least one with - [x]",
    ]


# --------------------------------------------------------------------------------------------
# Validation: every problem, at its line


def test_problem_strings_are_path_line_message():
    quiz, problems = parse_quiz("## Q?\n- [ ] a\n- [ ] b\n", PATH)
    assert quiz is None
    assert [str(p) for p in problems] == [
        f"{PATH}:1: question has no correct option: mark at least one with - [x]"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "+++\nshufle = true\n+++\n## Q?\n" + TWO,
            [
                (
                    2,
                    "unknown key 'shufle': did you mean shuffle? (known keys: draw, "
                    "max_attempts, pass_mark, shuffle)",
                )
            ],
            id="unknown-key",
        ),
        pytest.param(
            "+++\nshuffle = 'yes'\n+++\n## Q?\n" + TWO,
            [(2, "shuffle must be true or false")],
            id="shuffle-type",
        ),
        pytest.param(
            "+++\n\ndraw = 0\n+++\n## Q?\n" + TWO,
            [(3, "draw must be a whole number of at least 1")],
            id="draw-zero",
        ),
        pytest.param(
            "+++\ndraw = true\n+++\n## Q?\n" + TWO,
            [(2, "draw must be a whole number of at least 1")],
            id="draw-bool",
        ),
        pytest.param(
            "+++\npass_mark = 101\n+++\n## Q?\n" + TWO,
            [(2, "pass_mark must be a whole number from 0 to 100")],
            id="pass-mark",
        ),
        pytest.param(
            "+++\nmax_attempts = 2.5\n+++\n## Q?\n" + TWO,
            [(2, "max_attempts must be a whole number from 0 to 100")],
            id="max-attempts",
        ),
        pytest.param(
            "+++\n[limits]\nx = 1\n+++\n## Q?\n" + TWO, [(2, "unknown key 'limits'")], id="table"
        ),
        pytest.param(
            "+++\nshuffle = true\ndraw = = 2\n+++\n## Q?\n" + TWO,
            [(3, "invalid TOML: Invalid value")],
            id="bad-toml",
        ),
        pytest.param(
            "+++\nshuffle = true\n\n## Q?\n" + TWO,
            [(1, "front matter opened with +++ on line 1 is never closed")],
            id="unclosed",
        ),
        pytest.param(
            "---\nshuffle: true\n---\n## Q?\n" + TWO,
            [
                (1, "front matter is TOML between +++ lines, not YAML"),
                (1, "text before the first question"),
            ],
            id="yaml",
        ),
        pytest.param(
            "+++\ndraw = 3\n+++\n## Q?\n" + TWO + "## R?\n" + TWO,
            [(2, "draw = 3 but the quiz has only 2 unit(s) to draw from")],
            id="draw-too-large",
        ),
        pytest.param(
            "## Q?\nJust words.\n",
            [
                (
                    1,
                    "question has no options: list them under it, - [x] for a correct "
                    "one and - [ ] for a wrong one",
                )
            ],
            id="no-options",
        ),
        pytest.param(
            "## Q?\n- right\n- wrong\n",
            [(1, "(list items need a checkbox: - [ ] or - [x])")],
            id="options-without-checkboxes",
        ),
        pytest.param(
            "## Q?\n- [ ] a\n- [ ] b\n",
            [(1, "question has no correct option: mark at least one with - [x]")],
            id="no-correct",
        ),
        pytest.param(
            "## Q?\n- [x] a\n",
            [(1, "question has only one option: add at least one more")],
            id="one-option",
        ),
        pytest.param(
            "## Q?\n- [x] [ ] a\n- [ ] b\n",
            [(2, "option is marked twice: keep one checkbox")],
            id="marked-twice",
        ),
        pytest.param(
            "## Q?\n- [x] a\n- [y] b\n-[ ] c\n- [] d\n1. [x] e\n[x] f\n- ( ) g\n",
            [
                (3, "malformed checkbox in '- [y] b'"),
                (4, "malformed checkbox"),
                (5, "malformed checkbox"),
                (6, "malformed checkbox"),
                (7, "malformed checkbox"),
                (8, "malformed checkbox"),
            ],
            id="malformed-checkboxes",
        ),
        pytest.param(
            "## Q?\n- [x]\n- [ ] b\n",
            [(2, "option has no text: write it after the checkbox")],
            id="empty-option",
        ),
        pytest.param(
            "## Q?\n- [x] Same\n- [ ] same\n",
            [(3, "option repeats the one on line 2")],
            id="repeated-option",
        ),
        pytest.param(
            "## Q?\n- [x] a\n- plain\n- [ ] b\n",
            [(3, "list item without a checkbox among the options")],
            id="plain-item",
        ),
        pytest.param(
            "## What now?\n" + TWO + "## What now?\n" + TWO,
            [(4, "duplicate heading 'What now?' (also on line 1)")],
            id="duplicate-heading",
        ),
        pytest.param(
            "## What now?\n" + TWO + "## Scenario: s\n### What, now!\n" + TWO,
            [(5, "heading makes the id 'what-now', already made by the heading on line 1")],
            id="id-clash-in-scenario",
        ),
        pytest.param(
            "## ???\n" + TWO,
            [(1, "heading has no letters or digits to make an id from")],
            id="no-id",
        ),
        pytest.param(
            "## Scenario: lonely\nA stem and nothing else.\n",
            [(1, "scenario has no questions: add ### question headings")],
            id="scenario-without-questions",
        ),
        pytest.param(
            "## Scenario:\n### Q?\n" + TWO,
            [(1, "scenario has no title")],
            id="scenario-without-title",
        ),
        pytest.param(
            "## Scenario: s\n- [x] a\n### Q?\n" + TWO,
            [(2, "options in a scenario's stem")],
            id="options-in-stem",
        ),
        pytest.param(
            "Welcome to the quiz.\n\n## Q?\n" + TWO,
            [(1, "text before the first question")],
            id="preamble",
        ),
        pytest.param("### Q?\n" + TWO, [(1, "### heading outside a scenario")], id="h3-first"),
        pytest.param(
            "## Q?\n" + TWO + "### Sub?\n" + TWO,
            [(4, "### heading under a standalone question")],
            id="h3-under-question",
        ),
        pytest.param(
            "## Q?\n" + TWO + "#### deeper\n",
            [(4, "#### headings are not part of a quiz")],
            id="h4",
        ),
        pytest.param(
            "## Q?\n" + TWO + "# Late title\n", [(4, "a # heading inside the quiz")], id="late-h1"
        ),
        pytest.param(
            "## Q?\n" + TWO + "\nAn afterthought.\n\nAnother one.\n",
            [
                (5, "text after the options of this question"),
                (7, "text after the options of this question"),
            ],
            id="text-after-options",
        ),
        pytest.param(
            "## Q?\n" + TWO + "\n> Why.\n\nStray.\n",
            [(7, "text after the explanation of this question")],
            id="text-after-explanation",
        ),
        pytest.param(
            "## Q?\n- [x] a\n> meant as feedback\n- [ ] b\n",
            [(4, "option after the explanation")],
            id="unindented-feedback",
        ),
        pytest.param(
            "## Q?\n- [x] a\n  > ok\n\n  more\n- [ ] b\n",
            [(5, "text under an option after its feedback")],
            id="text-after-feedback",
        ),
        pytest.param(
            "## Q?\n- [x] a\n  >\n- [ ] b\n\n>   \n",
            [(3, "empty feedback: write the feedback after the >"), (6, "empty explanation")],
            id="empty-quotes",
        ),
        pytest.param(
            "## Q?\n- [x] a → [next](#step-b)\n- [ ] b\n",
            [(2, "a jump (→ [..](#..)) only belongs to a choice in a ### Step:")],
            id="jump-in-question",
        ),
        pytest.param("", [(1, "quiz has no questions")], id="empty-file"),
        pytest.param(
            "## Q?\n" + "".join(f"- [{'x' if i == 0 else ' '}] o{i}\n" for i in range(27)),
            [(1, "question has 27 options, at most 26")],
            id="too-many-options",
        ),
    ],
)
def test_each_problem_is_reported_at_its_line(text, expected):
    assert_problems(text, *expected)


def test_every_problem_is_collected_in_one_pass_with_line_offset():
    text = """\
        +++
        shuffle = 1
        +++
        Intro.

        ## Q?
        - [ ] a
        - [ ] b

        ## Scenario: s

        ## Q?
        - [x] a
        """
    assert_problems(
        text,
        (2 + 10, "shuffle must be true or false"),
        (4 + 10, "text before the first question"),
        (6 + 10, "no correct option"),
        (10 + 10, "scenario has no questions"),
        (12 + 10, "duplicate heading 'Q?' (also on line 16)"),
        (12 + 10, "only one option"),
        line_offset=10,
    )


def test_oversized_quiz_is_refused_before_parsing():
    quiz, problems = parse_quiz("## Q?\n" + "x" * 1_000_001, PATH)
    assert quiz is None
    assert len(problems) == 1 and problems[0].line == 1
    assert "quiz is too large" in problems[0].message


# --------------------------------------------------------------------------------------------
# Sanitising


def test_markup_in_quiz_text_is_sanitised_everywhere():
    quiz = parse("""\
        ## Scenario: <script>alert(1)</script>Caller
        <script>alert(2)</script>A stem <iframe src="https://evil.test"></iframe>

        ### Why <img src=x onerror=alert(3)>?
        <a href="javascript:alert(4)">body link</a>

        - [x] <script>alert(5)</script>Right <b onclick="alert(6)">bold</b>
          > <script>alert(7)</script>feedback [link](javascript:alert(8))
        - [ ] Wrong <style>body{display:none}</style>

        > <form action="https://evil.test"><input></form>explanation
        """)
    stored = json.dumps(quiz.to_dict())
    for needle in (
        "<script",
        "alert(",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
        "<style",
        "<form",
        "<input",
        "evil.test",
    ):
        assert needle not in stored
    scenario = quiz.items[0]
    assert isinstance(scenario, Scenario)
    assert scenario.title == "Caller"
    assert scenario.questions[0].options[0].text_html == "Right <b>bold</b>"


def test_an_option_that_is_only_unsafe_markup_is_a_problem():
    assert_problems(
        "## Q?\n- [x] <script>alert(1)</script>\n- [ ] b\n",
        (2, "option has no visible text once unsafe markup is removed"),
    )


# --------------------------------------------------------------------------------------------
# Conversations


def test_conversation_parses_steps_jumps_reactions_and_outcomes():
    quiz = parse(CONVERSATION)
    conversation = quiz.items[0]
    assert isinstance(conversation, Conversation)
    assert conversation.id == "is-a-robot-listening"
    assert conversation.title == "is a robot listening?"
    assert conversation.points == 3
    assert conversation.stem_html == "<p>You answer a call about a late parcel.</p>"
    assert conversation.start_id == "start"
    assert [s.id for s in conversation.steps] == ["start", "caller-presses", "opt-out"]
    assert [(o.id, o.score) for o in conversation.outcomes] == [("honest", 100), ("misled", 0)]
    assert quiz.points_possible == 3

    start = conversation.steps[0]
    assert start.line == 6
    assert start.customer_html == ('<p>"Before we go on: is a robot listening to this call?"</p>')
    assert [(c.id, c.recommended, c.next_id) for c in start.choices] == [
        ("is-a-robot-listening.start.a", False, "caller-presses"),
        ("is-a-robot-listening.start.b", True, "opt-out"),
    ]
    # the jump is for the file, not for the learner: it is not part of the text shown
    assert start.choices[0].text_html == '"No, it\'s only me."'
    assert start.choices[0].reaction_html == (
        '<p>"Really? Your website says calls are analysed by AI."</p>'
    )
    presses = conversation.steps[1]
    # "->", a bare "#opt-out" and a differently cased anchor are accepted too
    assert [c.next_id for c in presses.choices] == ["opt-out", "misled"]
    assert presses.note_html == "<p>Owning a mistake at once keeps the caller's trust.</p>"
    honest = conversation.outcome("honest")
    assert honest is not None
    assert honest.explanation_html == "<p>You told the truth and honoured the opt-out.</p>"
    assert "Score" not in honest.explanation_html


def test_conversation_is_worth_two_points_by_default():
    quiz = parse(CONVERSATION.replace("Points: 3\n", ""))
    conversation = quiz.items[0]
    assert isinstance(conversation, Conversation)
    assert conversation.points == 2
    assert conversation.stem_html == "<p>You answer a call about a late parcel.</p>"


def test_loops_are_allowed_while_an_outcome_stays_reachable():
    quiz = parse("""\
        ## Conversation: repeat
        ### Step: ask
        "Is it a robot?"

        - [ ] Change the subject. → [again](#step-ask)
        - [x] Tell the truth. → [done](#outcome-done)

        ### Outcome: done
        Score: 100%

        Good.
        """)
    conversation = quiz.items[0]
    assert isinstance(conversation, Conversation)
    assert [c.next_id for c in conversation.steps[0].choices] == ["ask", "done"]


def conversation_text(steps: str, points: str = "") -> str:
    return f"## Conversation: c\n{points}\n{textwrap.dedent(steps)}"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param(
            """\
            ### Step: s
            - [x] a → [x](#step-nowhere)
            - [ ] b → [x](#outcome-o)
            ### Outcome: o
            Score: 50%
            Fine.
            """,
            [
                (
                    4,
                    "jump to #step-nowhere: this conversation has no step or outcome with "
                    "that anchor; its anchors are #step-s, #outcome-o",
                )
            ],
            id="missing-target",
        ),
        pytest.param(
            """\
            ### Step: s
            - [x] a
            - [ ] b [x](#outcome-o)
            - [ ] c → [x](#outcome-o) and then
            ### Outcome: o
            Score: 50%
            Fine.
            """,
            [
                (
                    4,
                    "choice has no jump: end it with → [next](#step-NAME) or → "
                    "[end](#outcome-NAME)",
                ),
                (5, "(put → before the link)"),
                (6, "(the jump must end the choice)"),
            ],
            id="no-jump",
        ),
        pytest.param(
            """\
            ### Step: s
            - [x] a → [x](#outcome-o)
            - [ ] b → [x](#outcome-o)
            ### Step: lost
            - [x] a → [x](#outcome-o)
            - [ ] b → [x](#outcome-o)
            ### Outcome: o
            Score: 50%
            Fine.
            ### Outcome: never
            Score: 0%
            Never.
            """,
            [
                (6, "step 'lost' is never reached: no choice jumps to it"),
                (12, "outcome 'never' is never reached"),
            ],
            id="unreachable",
        ),
        pytest.param(
            """\
            ### Step: s
            - [x] a → [x](#step-round)
            - [ ] b → [x](#outcome-o)
            ### Step: round
            - [x] a → [x](#step-about)
            - [ ] b → [x](#step-round)
            ### Step: about
            - [x] a → [x](#step-round)
            - [ ] b → [x](#step-about)
            ### Outcome: o
            Score: 50%
            Fine.
            """,
            [
                (
                    6,
                    "from step 'round' no choices ever lead to an outcome, so the "
                    "conversation would loop forever",
                ),
                (9, "from step 'about' no choices ever lead to an outcome"),
            ],
            id="loop",
        ),
        pytest.param(
            """\
            ### Step: s
            - [x] a → [x](#step-s)
            - [ ] b → [x](#step-s)
            """,
            [(1, "conversation has no outcome: add at least one ### Outcome:")],
            id="no-outcome",
        ),
        pytest.param(
            "Just an introduction.\n",
            [
                (1, "conversation has no start: add a ### Step: NAME heading"),
                (1, "conversation has no outcome"),
            ],
            id="no-steps",
        ),
        pytest.param(
            """\
            ### Outcome: o
            Score: 50%
            Fine.
            ### Step: s
            - [x] a → [x](#outcome-o)
            - [ ] b → [x](#outcome-o)
            """,
            [
                (
                    3,
                    "a conversation starts at its first ### Step:, so that must come "
                    "before any ### Outcome:",
                )
            ],
            id="outcome-first",
        ),
        pytest.param(
            """\
            ### Step: s
            - [x] a → [x](#outcome-o)
            - [ ] b → [x](#outcome-p)
            ### Outcome: o
            Fine.
            ### Outcome: p
            Score: 120%
            Hm.
            ### Outcome: q
            Score: 10%
            """,
            [
                (6, "outcome has no score: put a line like Score: 100% right under its heading"),
                (9, "outcome score must be a whole percentage from 0 to 100"),
                (11, "outcome has no explanation"),
                (11, "outcome 'q' is never reached"),
            ],
            id="scores",
        ),
        pytest.param(
            """\
            ### Step: s
            - [x] a → [x](#outcome-o)
            ### Outcome: o
            Score: 50%
            Fine.
            """,
            [(3, "step has only one option")],
            id="one-choice",
        ),
        pytest.param(
            """\
            ### Step: s
            - [ ] a → [x](#outcome-o)
            - [ ] b → [x](#outcome-o)
            ### Outcome: o
            Score: 50%
            Fine.
            """,
            [(3, "step has no recommended choice: mark the best one(s) with - [x]")],
            id="no-recommended",
        ),
        pytest.param(
            """\
            ### Step: s
            - [x] a → [x](#outcome-o)
            - [ ] b → [x](#outcome-o)
            ### Step: S
            - [x] a → [x](#outcome-o)
            - [ ] b → [x](#outcome-o)
            ### Outcome: o
            Score: 50%
            Fine.
            - [x] an option in an outcome
            """,
            [
                (6, "step name 'S' makes the id 's', already used on line 3"),
                (12, "an outcome ends the conversation and has no choices"),
            ],
            id="duplicate-name-and-options-in-outcome",
        ),
        pytest.param(
            """\
            ### Question?
            - [x] a
            ### Step: s
            - [x] a → [x](#outcome-o)
            - [ ] b → [x](#outcome-o)
              >
            ### Outcome: o
            Score: 50%
            Fine.
            """,
            [(3, "inside a conversation, use ### Step: NAME"), (8, "empty customer's reaction")],
            id="other-heading-and-empty-reaction",
        ),
    ],
)
def test_each_conversation_problem_is_reported_at_its_line(steps, expected):
    assert_problems(conversation_text(steps), *expected)


@pytest.mark.parametrize("points", ["Points: 0", "Points: 101", "Points: two"])
def test_conversation_points_must_be_1_to_100(points):
    steps = """\
        ### Step: s
        - [x] a → [x](#outcome-o)
        - [ ] b → [x](#outcome-o)
        ### Outcome: o
        Score: 50%
        Fine.
        """
    assert_problems(
        conversation_text(steps, points),
        (2, "conversation points must be a whole number from 1 to 100"),
    )


@pytest.mark.parametrize("heading", ["## Step: s", "## Outcome: o"])
def test_steps_and_outcomes_need_a_conversation(heading):
    assert_problems(f"{heading}\n{TWO}", (1, "is only used inside a ## Conversation:"))


def test_steps_in_a_scenario_are_a_problem():
    assert_problems(
        "## Scenario: s\n### Step: one\n" + TWO,
        (2, "### Step: belongs in a ## Conversation:, not a scenario"),
        (1, "scenario has no questions"),
    )


# --------------------------------------------------------------------------------------------
# Storage


def test_to_dict_is_json_and_from_dict_restores_the_quiz_exactly():
    text = DESIGN_EXAMPLE.replace("draw = 10", "draw = 3") + "\n" + CONVERSATION
    quiz = parse(text)
    stored = json.loads(json.dumps(quiz.to_dict()))
    restored = Quiz.from_dict(stored)
    assert restored == quiz
    assert restored.to_dict() == quiz.to_dict()
    assert [type(item) for item in restored.items] == [Scenario, Question, Conversation]
    assert restored.question("what-do-you-say-first") is not None


def test_from_dict_refuses_what_to_dict_did_not_make():
    quiz = parse(f"## Q?\n{TWO}")
    stored = quiz.to_dict()
    with pytest.raises(ValueError, match="unsupported stored quiz format"):
        Quiz.from_dict({**stored, "format": 99})
    with pytest.raises(ValueError, match="not a stored quiz"):
        Quiz.from_dict({"format": 1, "settings": stored["settings"], "items": [{"kind": "x"}]})


# --------------------------------------------------------------------------------------------
# The trainers' documentation


DOC = Path(__file__).resolve().parents[2] / "docs" / "quiz-format.md"


def doc_examples() -> list[str]:
    return re.findall(
        r"^```markdown\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE
    )


def test_every_markdown_example_in_the_quiz_format_doc_is_a_valid_quiz():
    examples = doc_examples()
    assert len(examples) == 6
    for example in examples:
        parse(example)


@pytest.mark.parametrize(
    ("choices", "outcome", "points"),
    [
        (["start.b", "opt-out.a"], "opt-out-honoured", "3"),
        (["start.a", "caller-pushes-back.a", "opt-out.a"], "opt-out-honoured", "3"),
        (["start.c", "start.b", "opt-out.b"], "opt-out-ignored", "0.75"),
        (["start.a", "caller-pushes-back.b"], "misled", "0"),
    ],
)
def test_the_documented_conversation_scores_as_its_table_says(choices, outcome, points):
    quiz = parse(next(e for e in doc_examples() if "## Conversation:" in e))
    conversation = quiz.items[0]
    assert isinstance(conversation, Conversation)
    path = [f"{conversation.id}.{choice}" for choice in choices]
    result = grade(quiz, plan_attempt(quiz, seed=0), {conversation.id: path})
    (only,) = result.results
    assert only.outcome_id == outcome  # type: ignore[union-attr]
    assert format_points(result.points_earned) == points
