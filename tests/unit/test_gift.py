"""GIFT to quiz.md: every question is converted, skipped or reported at its line, never dropped.

The samples are read from the shared test data (DESIGN.md §6): the test suite of the GIFT parser
``fuhrmanator/GIFT-grammar-PEG.js`` with that parser's reading of each file, and Moodle's own
examples. Whatever is converted must also be a quiz Candor accepts (``parse_quiz``).
"""

from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path

import pytest

from app.content.gift import GiftConversion, convert_gift
from app.content.loader import load_tree
from app.content.markdown import render_markdown
from app.content.quiz import Question, Quiz, parse_quiz, plain_text

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "gift"
MISSING = f"the shared GIFT samples are not at {SAMPLES} (DESIGN.md §6 keeps them there)"
NAMES = sorted(p.stem for p in SAMPLES.glob("*.gift")) if SAMPLES.is_dir() else []
SAMPLE_NAMES = NAMES or [pytest.param("none", marks=pytest.mark.skip(reason=MISSING))]
MOODLE_FILES = (
    ["examples.txt", "questions.gift.txt"]
    if (SAMPLES / "moodle").is_dir()
    else [pytest.param("none", marks=pytest.mark.skip(reason=MISSING))]
)

CONVERTED_TYPES = {"MC", "TF"}  # the reference parser's MC includes multiple-answer questions
SKIPPED_KINDS = {
    "Essay": "essay",
    "Matching": "matching",
    "Numerical": "numerical",
    "Short": "short-answer",
    "Description": "description",
}
_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][^<>]*>", re.DOTALL)
_IMAGE = re.compile(r"<img\b[^<>]*>", re.IGNORECASE)


def _alt(image: re.Match) -> str:
    """An image is shown by its alt text: a GIFT file cannot carry the image itself."""
    alt = re.search(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", image.group())
    return html.escape((alt.group(1) or alt.group(2) or "") if alt else "")


# --------------------------------------------------------------------------------------------
# Helpers


def convert(text: str) -> GiftConversion:
    return convert_gift(text, "bank.gift")


def quiz_of(result: GiftConversion) -> Quiz:
    quiz, problems = parse_quiz(result.markdown, "quiz.md")
    assert problems == [], "\n".join(map(str, problems)) + "\n" + result.markdown
    assert quiz is not None
    return quiz


def only_question(text: str) -> Question:
    result = convert(text)
    assert (result.problems, result.skipped) == ([], [])
    (question,) = quiz_of(result).questions
    return question


def messages(problems: list) -> list[str]:
    return [str(p) for p in problems]


def squash(text: str) -> str:
    return "".join(text.split())


def visible(fragment_html: str | None) -> str | None:
    """What a learner reads, whitespace left out (the two sides break lines differently), and
    without the "(address)" that follows a link's text where HTML could not become Markdown."""
    if fragment_html is None:
        return None
    return squash(re.sub(r" \((?:https?://|mailto:)[^\s()]*\)", "", plain_text(fragment_html)))


def reference(text: dict | None) -> str | None:
    """What the reference parser's reading of a text shows, whitespace left out."""
    if text is None:
        return None
    if text["format"] == "markdown":
        shown = plain_text(render_markdown(text["text"]))
    elif text["format"] == "plain":
        shown = text["text"]
    else:  # html, and Moodle's own format, which Moodle renders as HTML
        shown = html.unescape(_TAG.sub("", _IMAGE.sub(_alt, text["text"])))
    return squash(shown) or None


def question_starts(text: str) -> list[int]:
    """The first line of each question: blank lines separate them, // lines are comments."""
    starts: list[int] = []
    in_question = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            in_question = False
        elif not stripped.startswith("//") and not in_question:
            starts.append(number)
            in_question = True
    return starts


def sample(name: str) -> tuple[str, list[dict], list[int]]:
    text = (SAMPLES / f"{name}.gift").read_text(encoding="utf-8")
    expected = json.loads((SAMPLES / "expected" / f"{name}.json").read_text(encoding="utf-8"))
    starts = question_starts(text)
    assert len(starts) == len(expected), "the sample's questions and its reading disagree"
    return text, expected, starts


# --------------------------------------------------------------------------------------------
# The samples


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_questions_are_converted_or_skipped_at_their_lines(name):
    text, expected, starts = sample(name)
    result = convert_gift(text, f"{name}.gift")

    assert result.problems == []
    assert result.converted == sum(q["type"] in CONVERTED_TYPES for q in expected)
    skipped = [
        (start, SKIPPED_KINDS[q["type"]])
        for q, start in zip(expected, starts, strict=True)
        if q["type"] in SKIPPED_KINDS
    ]
    assert [(p.line, re.match(r"skipped (\S+)", p.message)[1]) for p in result.skipped] == skipped
    assert all(p.path == f"{name}.gift" for p in result.skipped + result.notes)
    categories = [
        start for q, start in zip(expected, starts, strict=True) if q["type"] == "Category"
    ]
    assert [p.line for p in result.notes if "category" in p.message] == categories
    assert (result.markdown == "") == (result.converted == 0)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_conversions_parse_as_candor_quizzes(name):
    text, _, _ = sample(name)
    result = convert_gift(text, f"{name}.gift")
    if result.converted:  # otherwise the markdown is "", as the test above checks
        assert len(quiz_of(result).questions) == result.converted


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_conversions_keep_text_answers_and_feedback(name):
    text, expected, starts = sample(name)
    result = convert_gift(text, f"{name}.gift")
    wanted = [
        (q, start)
        for q, start in zip(expected, starts, strict=True)
        if q["type"] in CONVERTED_TYPES
    ]
    questions = quiz_of(result).questions if result.converted else ()
    multiple_notes = {p.line for p in result.notes if "weights are not kept" in p.message}

    for question, (ref, start) in zip(questions, wanted, strict=True):
        prompt = re.sub(r" \(\d+\)$", "", plain_text(question.prompt_html))  # renamed twins
        stem = reference(ref["stem"])
        if ref["title"]:
            assert prompt == ref["title"]
            assert visible(question.body_html) == stem or squash(ref["title"]) == stem
        else:
            assert stem in (squash(prompt), visible(question.body_html))
        assert visible(question.explanation_html) == reference(ref["globalFeedback"])

        if ref["type"] == "TF":
            assert [plain_text(o.text_html) for o in question.options] == ["True", "False"]
            true, false = question.options
            assert (true.correct, false.correct) == (ref["isTrue"], not ref["isTrue"])
            right, wrong = (true, false) if ref["isTrue"] else (false, true)
            # The reference parser names the two feedbacks by position ("trueFeedback" is the
            # first); Moodle shows the first after a wrong answer and the second after a right one.
            assert visible(wrong.feedback_html) == reference(ref["trueFeedback"])
            assert visible(right.feedback_html) == reference(ref["falseFeedback"])
            continue

        choices = ref["choices"]
        assert [visible(o.text_html) for o in question.options] == [
            reference(c["text"]) for c in choices
        ]
        assert [visible(o.feedback_html) for o in question.options] == [
            reference(c["feedback"]) for c in choices
        ]
        single = any(c["isCorrect"] for c in choices)
        weights = [c["weight"] or 0 for c in choices]
        if single:  # one "=": only fully right answers count
            right = [c["isCorrect"] or w >= 100 for c, w in zip(choices, weights, strict=True)]
        else:  # no "=": every answer with a positive weight is one of the right ones
            right = [w > 0 for w in weights]
        assert [o.correct for o in question.options] == right
        assert (start in multiple_notes) == (not single)


MOODLE_EXPECTED = {
    # Read by hand with Moodle's importer rules (question/format/gift/format.php).
    "examples.txt": {
        8: "converted",
        10: "converted",
        12: "converted",
        14: "short-answer",
        16: "numerical",
        25: "converted",
        27: "converted",
        29: "converted",
        35: "converted",
        43: "short-answer",
        45: "short-answer",
        49: "converted",
        51: "converted",
        55: "matching",
        61: "matching",
        70: "numerical",
        72: "numerical",
        74: "numerical",
        76: "numerical",
        85: "numerical",
        90: "short-answer",
        93: "converted",
        98: "converted",
        103: "short-answer",
        108: "short-answer",
        113: "converted",
        115: "converted",
        117: "converted",
        123: "short-answer",
        130: "converted",
        136: "converted",
        143: "converted",
        148: "converted",
        167: "converted",
        169: "converted",
        171: "converted",
        173: "short-answer",
        175: "numerical",
        177: "matching",
        184: "converted",
        190: "converted",
        195: "short-answer",
        202: "numerical",
    },
    "questions.gift.txt": {
        2: "essay",
        5: "matching",
        14: "converted",
        22: "converted",
        31: "numerical",
        34: "short-answer",
        41: "converted",
        46: "converted",
        49: "converted",
    },
}


@pytest.mark.parametrize("name", MOODLE_FILES)
def test_moodle_examples_are_all_accounted_for(name):
    text = (SAMPLES / "moodle" / name).read_text(encoding="utf-8")
    result = convert_gift(text, name)
    expected = MOODLE_EXPECTED[name]

    assert sorted(expected) == question_starts(text)
    assert result.problems == []
    assert result.converted == list(expected.values()).count("converted")
    assert [(p.line, re.match(r"skipped (\S+)", p.message)[1]) for p in result.skipped] == [
        (line, kind) for line, kind in expected.items() if kind != "converted"
    ]
    assert len(quiz_of(result).questions) == result.converted


def test_moodle_true_false_with_general_feedback():
    if not (SAMPLES / "moodle").is_dir():
        pytest.skip(MISSING)
    result = convert_gift((SAMPLES / "moodle" / "questions.gift.txt").read_text(), "q.gift")
    q1 = next(q for q in quiz_of(result).questions if q.id == "q1")
    true, false = q1.options
    assert not true.correct and false.correct
    assert plain_text(true.feedback_html) == "42 is the Ultimate Answer."
    assert plain_text(false.feedback_html) == "You gave the right answer."
    assert "Hitchiker's Guide" in plain_text(q1.explanation_html)
    # the fixture is cut from PHP source: '";' follows the block, so Moodle too reads a gap
    assert plain_text(q1.body_html) == '42 is the Absolute Answer to everything._____";'
    assert 'heading "2-08 TSL" is already used by the question on line 46' in "".join(
        p.message for p in result.notes if p.line == 49
    )


# --------------------------------------------------------------------------------------------
# Each construct


def test_the_quiz_format_of_a_titled_question_with_feedback():
    gift = """// Exported from Moodle
::Order history::Where may you paste a customer's order history?{
    ~Into any AI chatbot, if it helps you answer faster.#Never: it leaves the company.
    =Only into tools your company has approved for customer data.#Right.
    ####Approved tools come with a data agreement.
}
"""
    result = convert(gift)
    assert (
        result.markdown
        == """## Order history

Where may you paste a customer's order history?

- [ ] Into any AI chatbot, if it helps you answer faster.
  > Never: it leaves the company.
- [x] Only into tools your company has approved for customer data.
  > Right.

> Approved tools come with a data agreement.
"""
    )
    assert (result.converted, result.skipped, result.notes, result.problems) == (1, [], [], [])
    quiz_of(result)


def test_without_a_title_the_text_is_the_heading():
    result = convert("Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}")
    assert result.markdown == (
        "## Who's buried in Grant's tomb?\n\n- [ ] Grant\n- [ ] Jefferson\n- [x] no one\n"
    )


def test_a_text_wrapped_over_lines_is_still_one_heading():
    question = only_question(
        "Japanese characters originally\ncame from what country? {\n~India\n=China\n}"
    )
    assert plain_text(question.prompt_html) == (
        "Japanese characters originally came from what country?"
    )
    assert question.body_html == ""


def test_a_long_text_gets_a_heading_from_its_first_sentence_and_stays_whole():
    text = (
        "A caller asks whether the call is analysed by AI. "
        + "Context. " * 20
        + "What do you say first?"
    )
    question = only_question(text + "{~Nothing =The truth}")
    assert plain_text(question.prompt_html) == "A caller asks whether the call is analysed by AI."
    assert plain_text(question.body_html) == text


def test_a_long_sentence_is_cut_for_the_heading():
    text = "Which of these " + "very " * 60 + "long options is right?"
    question = only_question(text + "{~a =b}")
    prompt = plain_text(question.prompt_html)
    assert len(prompt) <= 100 and prompt.endswith("…") and prompt.startswith("Which of these")
    assert plain_text(question.body_html) == text


def test_a_title_that_repeats_the_text_is_not_repeated_in_the_body():
    question = only_question("::Is it safe?::Is it safe?{T}")
    assert plain_text(question.prompt_html) == "Is it safe?"
    assert question.body_html == ""


def test_a_multiline_text_keeps_its_paragraphs():
    question = only_question("::Two\\nparagraphs::First line\\n\\nSecond paragraph{T}")
    assert plain_text(question.prompt_html) == "Two paragraphs"
    assert question.body_html.count("<p>") == 2


def test_multiple_answer_weights_mark_positive_options_and_are_noted():
    result = convert("Hello\n\nWhich are continents?{\n~%50%Africa\n~%50%Asia\n~%-100%China\n}")
    (question,) = quiz_of(result).questions
    assert [(plain_text(o.text_html), o.correct) for o in question.options] == [
        ("Africa", True),
        ("Asia", True),
        ("China", False),
    ]
    assert question.multiple
    (note,) = [p for p in result.notes if p.line == 3]
    assert "multiple-answer" in note.message and "weights are not kept" in note.message
    assert len(result.skipped) == 1  # "Hello" is a description


def test_partial_credit_in_a_single_answer_question_is_noted():
    result = convert("Pick one.{~wrong ~%50%half credit =full credit}")
    (question,) = quiz_of(result).questions
    assert [o.correct for o in question.options] == [False, False, True]
    assert not question.multiple
    assert ["partial credit" in p.message for p in result.notes] == [True]


def test_several_fully_right_answers_are_noted():
    result = convert("Seasons?{=spring =summer ~easter}")
    (question,) = quiz_of(result).questions
    assert [o.correct for o in question.options] == [True, True, False]
    assert ["all of them must be chosen" in p.message for p in result.notes] == [True]


@pytest.mark.parametrize(
    ("answer", "true_right", "true_feedback", "false_feedback"),
    [
        ("T", True, None, None),
        ("TRUE", True, None, None),
        ("F", False, None, None),
        ("FALSE", False, None, None),
        # Moodle: the first feedback follows a wrong answer, the second a right one
        ("T#Not so.#Yes.", True, "Yes.", "Not so."),
        ("TRUE#Not so.", True, None, "Not so."),
        ("FALSE#Not so.#Yes.", False, "Not so.", "Yes."),
        ("F# #Yes.", False, None, "Yes."),
        ("TRUE#Not so.#Yes.####Because.", True, "Yes.", "Not so."),
    ],
)
def test_true_false(answer, true_right, true_feedback, false_feedback):
    question = only_question(f"The sun rises in the east.{{{answer}}}")
    true, false = question.options
    assert [plain_text(true.text_html), plain_text(false.text_html)] == ["True", "False"]
    assert (true.correct, false.correct) == (true_right, not true_right)
    assert (true.feedback_html and plain_text(true.feedback_html)) == true_feedback
    assert (false.feedback_html and plain_text(false.feedback_html)) == false_feedback
    assert (question.explanation_html is not None) == ("####" in answer)


def test_lower_case_true_is_a_short_answer_as_in_moodle():
    (skipped,) = convert("Is it?{true}").skipped
    assert "short-answer" in skipped.message and "in capitals" in skipped.message


def test_escapes():
    question = only_question(
        "::Esc\\:apes::Is \\{x\\} \\= 1 \\~ 2 \\# 3 \\: 4 \\\\ 5 \\\\{=one \\= two#fb \\# here"
        " ~a\\nb}"
    )
    assert plain_text(question.prompt_html) == "Esc:apes"
    assert plain_text(question.body_html) == "Is {x} = 1 ~ 2 # 3 : 4 \\ 5 \\"
    one, other = question.options
    assert plain_text(one.text_html) == "one = two" and one.correct
    assert plain_text(one.feedback_html) == "fb # here"
    assert plain_text(other.text_html) == "a b"  # \n in an option: the option is one line


def test_a_backslash_before_other_characters_is_kept():
    question = only_question("Path C:\\temp\\x?{=\\ ~\\d}")
    assert plain_text(question.prompt_html) == "Path C:\\temp\\x?"
    assert [plain_text(o.text_html) for o in question.options] == ["\\", "\\d"]


def test_comments_are_dropped_wherever_they_are():
    result = convert("// a comment\nQ?{\n// about the answers\n~a\n=b\n}\n// after")
    assert "comment" not in result.markdown and "about" not in result.markdown
    (question,) = quiz_of(result).questions
    assert [plain_text(o.text_html) for o in question.options] == ["a", "b"]
    assert question.line == 1


def test_categories_are_notes_and_write_nothing():
    result = convert("$CATEGORY: $course$/top/Ethics\n\nQ?{~a =b}\n")
    assert messages(result.notes) == [
        'bank.gift:1: category "$course$/top/Ethics" not kept: Candor quizzes have no categories'
    ]
    assert "Ethics" not in result.markdown and result.converted == 1


def test_a_category_line_directly_above_a_question():
    result = convert("$CATEGORY: Ethics\n::Q::Q?{~a =b}")
    assert result.converted == 1
    assert [p.line for p in result.notes] == [1, 2]


def test_windows_line_endings_and_a_bom_read_like_plain_lines():
    gift = "// c\n::T::Q\nwrapped?{\n~a\n=b#fb\n####why\n}\n\nEssay?{}\n"
    plain = convert(gift)
    windows = convert("\ufeff" + gift.replace("\n", "\r\n"))
    assert windows.markdown == plain.markdown and "\r" not in windows.markdown
    assert messages(windows.skipped) == messages(plain.skipped)
    assert windows.skipped[0].line == 9


@pytest.mark.parametrize(
    "text",
    [
        "# Not a heading?",
        "## Not a question either?",
        "- [x] not an option?",
        "[x] not a checkbox?",
        "1. not a list?",
        "- not a list?",
        "> not a quote?",
        "--- not a rule?",
        "Use *stars*, _underscores_, `ticks`, ~tildes~ and a | pipe?",
        "A [link](https://example.org) or ![image](x.png)?",
        "Is <b>bold</b> &amp; &lt; shown as typed?",
        "Scenario: the caller asks?",
        "Step: what next?",
        "C#",
        "!!! note",
    ],
)
def test_plain_text_never_turns_into_markdown(text):
    question = only_question(f"[plain]{text}{{~a =b}}")
    assert plain_text(question.prompt_html) == text
    assert question.body_html == ""


def test_lines_of_a_body_never_start_markdown_blocks():
    body = "First line\n- [x] trap\n## heading trap\n===\n1. list trap\n> quote trap"
    question = only_question("::T::" + body.replace("\n", "\\n") + "{~a =b}")
    assert [plain_text(o.text_html) for o in question.options] == ["a", "b"]
    assert "<h" not in question.body_html and "<li>" not in question.body_html
    assert "<blockquote>" not in question.body_html
    assert squash(plain_text(question.body_html)) == squash(body)


def test_moodle_format_keeps_its_html():
    question = only_question("What's the <b>answer</b> &amp; why?{~a =<em>b</em>}")
    assert plain_text(question.prompt_html) == "What's the answer & why?"
    assert "answer" in question.body_html
    assert "<em>b</em>" in question.options[1].text_html


def test_html_is_passed_through_for_candor_to_sanitise():
    question = only_question(
        "[html]<p>Which is <strong>right</strong>?</p>"
        "<script>alert(1)</script>{~<p>a</p> =<p>b *not emphasis*</p>"
        "#<em>yes</em>}"
    )
    assert plain_text(question.prompt_html) == "Which is right?"
    assert "<strong>right</strong>" in question.body_html and "script" not in question.body_html
    assert plain_text(question.options[1].text_html) == "b *not emphasis*"
    assert question.options[1].feedback_html == "<p><em>yes</em></p>"


def test_a_simple_html_paragraph_is_just_the_heading():
    question = only_question("[html]<p>Grant is buried in Grant's tomb.</p>{FALSE}")
    assert plain_text(question.prompt_html) == "Grant is buried in Grant's tomb."
    assert question.body_html == ""


def test_markdown_is_passed_through():
    question = only_question(
        "[markdown]Who's buried in **Grant's tomb**?{=no one#**Right** ~someone}"
    )
    assert question.prompt_html == "Who's buried in <strong>Grant's tomb</strong>?"
    assert question.options[0].feedback_html == "<p><strong>Right</strong></p>"


def test_markdown_headings_and_checkboxes_in_a_body_are_defused():
    question = only_question("::T::[markdown]Intro\\n## Section\\n- [x] task\\n```\\ncode{~a =b}")
    assert [plain_text(o.text_html) for o in question.options] == ["a", "b"]
    assert "<strong>Section</strong>" in question.body_html
    assert "<code>code" in question.body_html  # the unclosed fence is closed


def test_missing_word_questions_show_the_gap():
    question = only_question("Grant is {~buried =entombed ~living} in Grant's tomb.")
    assert plain_text(question.prompt_html) == "Grant is _____ in Grant's tomb."


def test_duplicate_headings_are_renamed_and_noted():
    result = convert("Same?{~a =b}\n\nSame?{~c =d}\n\nsame?{~e =f}\n")
    quiz = quiz_of(result)
    assert [plain_text(q.prompt_html) for q in quiz.questions] == [
        "Same?",
        "Same? (2)",
        "same? (3)",
    ]
    assert messages(result.notes) == [
        'bank.gift:3: heading "Same?" is already used by the question on line 1: renamed to '
        '"Same? (2)"',
        'bank.gift:5: heading "same?" is already used by the question on line 1: renamed to '
        '"same? (3)"',
    ]


def test_long_headings_stay_unique_where_ids_are_cut():
    text = "Which of the following statements about customer data " + "and AI " * 8 + "?"
    result = convert(f"{text}{{~a =b}}\n\n{text}{{~c =d}}")
    quiz = quiz_of(result)
    assert len({q.id for q in quiz.questions}) == 2
    assert plain_text(quiz.questions[1].prompt_html).endswith("(2)")


def test_a_heading_without_letters_gets_one():
    result = convert("¿?{~a =b}")
    (question,) = quiz_of(result).questions
    assert plain_text(question.prompt_html) == "Question at line 1"
    assert plain_text(question.body_html) == "¿?"
    assert len(result.notes) == 1


@pytest.mark.parametrize(
    ("gift", "kind"),
    [
        ("Write about it.{}", "essay"),
        ("::Bio::Write about it.{####general feedback}", "essay"),
        ("::Match the terms::Match the terms.{=a -> 1 =b -> 2}", "matching"),
        ("When?{#1822:1}", "numerical"),
        ("Pi?{#\n=3.14:0.01\n~#Wrong}", "numerical"),
        ("Who?{=no one =nobody}", "short-answer"),
        ("How do you write 1? {One}", "short-answer"),
        ("{=Asia} is the largest continent.", "short-answer"),
        ("::Intro::Use pencil and paper for these.", "description"),
    ],
)
def test_unsupported_types_are_skipped_with_their_line_and_type(gift, kind):
    result = convert(f"Q?{{~a =b}}\n\n// {kind}\n{gift}\n\nR?{{~c =d}}")
    assert result.converted == 2 and result.problems == []
    (skipped,) = result.skipped
    assert skipped.line == 4
    what = "description" if kind == "description" else f"{kind} question"
    assert skipped.message.startswith(f"skipped {what} ")


def test_the_skip_message():
    result = convert("Q?{~a =b}\n\n::Match the terms::Match them.{=a -> 1 =b -> 2}")
    assert messages(result.skipped) == [
        'bank.gift:3: skipped matching question "Match the terms" — Candor quizzes have no '
        "matching questions"
    ]


def test_nothing_convertible_gives_no_markdown():
    result = convert("// only an essay\nWrite.{}")
    assert (result.markdown, result.converted, len(result.skipped)) == ("", 0, 1)
    assert convert("").markdown == "" and convert("\n\n// nothing\n").skipped == []


@pytest.mark.parametrize(
    ("gift", "line", "message"),
    [
        ("Q?{~a =b", 1, "never closed with }"),
        ("Q?\n{\n~a\n=b\n", 2, "never closed with }"),
        ("Q? ~a =b}", 1, "} without an answer block"),
        ("Q?{~a\n{=b}", 2, "{ inside an answer block"),
        ("Q?{~a =b} and {~c =d}", 1, "a second answer block"),
        ("::Title Q?{~a =b}", 1, "never closed with ::"),
        ("Q?{~}", 1, "at least two answers"),
        ("Q?{~only}", 1, "at least two answers"),
        ("Q?{=}", 1, "no answers"),
        ("Q?{#}", 1, "no answers"),
        ("Q?{~a ~b}", 1, "no answer is right"),
        ("Q?{~%0%a ~%-50%b}", 1, "no answer is right"),
        ("Q?{\n~a\n~#feedback only\n=b}", 3, "an answer has no text"),
        ("Q?{\n=a\n~A\n}", 3, "repeats the one on line 4"),
        ("Q?{junk ~a =b}", 1, "text before the first answer"),
        ("{~a =b}", 1, "no text"),
    ],
)
def test_malformed_questions_are_problems_at_their_line(gift, line, message):
    result = convert(f"Before?{{~a =b}}\n\n{gift}\n\nAfter?{{~c =d}}")
    (problem,) = result.problems
    assert problem.line == line + 2 and message in problem.message
    assert result.converted == 2 and result.skipped == []
    quiz_of(result)


def test_a_question_right_after_another_without_a_blank_line():
    result = convert("Q1?{~a =b}\n::Second::Q2?{~c =d}\n// and\n::Third::Q3?{~e =f}")
    assert result.converted == 3
    assert [p.line for p in result.notes] == [2, 4]


def test_html_images_become_their_alt_text_and_are_noted():
    result = convert(
        '[html]<p>Look: <img src="@@PLUGINFILE@@/chart.png" alt="the chart"></p>{~a =b}'
    )
    (question,) = quiz_of(result).questions
    assert plain_text(question.prompt_html) == "Look: the chart"
    assert "<img" not in result.markdown
    assert ["images (a GIFT file does not carry" in p.message for p in result.notes] == [True]


def test_html_links_become_markdown_links():
    # "=" in an attribute is escaped, as Moodle's export does: it would start an answer
    question = only_question(
        '[html]Read <a href\\="https://example.org/policy">the policy</a>.{'
        '=<a href\\="https://example.org/a?x\\=1&amp;y\\=2">yes</a>'
        '#<a href\\="javascript:alert(1)">never</a> ~no}'
    )
    assert plain_text(question.prompt_html) == "Read the policy."
    assert '<a href="https://example.org/policy"' in question.body_html
    assert '<a href="https://example.org/a?x=1&amp;y=2"' in question.options[0].text_html
    assert plain_text(question.options[0].feedback_html) == "never"
    assert "javascript" not in question.options[0].feedback_html


def test_html_links_in_html_blocks_keep_their_address_as_text():
    question = only_question(
        '::T::[html]<p>See <a href="https://example.org">this</a>.</p><p>Then answer.</p>{~a =b}'
    )
    assert plain_text(question.body_html) == "See this (https://example.org).Then answer."
    assert "<a " not in question.body_html


def test_embedded_content_is_left_out_and_noted():
    result = convert(
        "[html]<p>Watch <iframe src='https://video.example'></iframe>"
        "<script>alert(1)</script>this.</p>{~a =b}"
    )
    (question,) = quiz_of(result).questions
    assert plain_text(question.prompt_html) == "Watch this."
    assert "alert" not in result.markdown and "iframe" not in result.markdown
    assert ["embedded content" in p.message for p in result.notes] == [True]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_conversions_pass_the_course_check(name, tmp_path):
    """Candor's loader also refuses what parse_quiz alone accepts (raw HTML links, images)."""
    result = convert_gift(sample(name)[0], f"{name}.gift")
    if not result.converted:
        return
    course = tmp_path / "converted"
    course.mkdir()
    (course / "course.toml").write_text(
        'title = "Converted"\nsummary = "From GIFT."\nestimated_minutes = 5\n', encoding="utf-8"
    )
    (course / "01-intro.md").write_text("# Intro\n\nRead this first.\n", encoding="utf-8")
    (course / "quiz.md").write_text(result.markdown, encoding="utf-8")
    tree = load_tree(tmp_path)
    assert messages(tree.problems) == []
    (loaded,) = tree.courses
    assert len(loaded.quiz.questions) == result.converted


# --------------------------------------------------------------------------------------------
# Any text at all


_AWKWARD = list("abcé 12*_`[]()<>&!?|~#-+.=:{}\\/\"';\n") + [
    "&amp;",
    "&lt;",
    "<b>",
    "1. ",
    "- ",
    "> ",
    "## ",
    "---",
    "!!!",
    "???",
    "```",
    "<!--",
    "[x] ",
    "Scenario:",
    "https://example.org",
    "@@PLUGINFILE@@",
    "    ",
]


def _gift_escaped(text: str) -> str:
    return "".join("\\n" if c == "\n" else "\\" + c if c in "~=#{}:\\" else c for c in text)


@pytest.mark.parametrize("seed", range(4))
def test_plain_text_of_any_characters_reads_exactly_as_written(seed):
    rng = random.Random(seed)
    for _ in range(50):
        text = "".join(rng.choice(_AWKWARD) for _ in range(rng.randint(1, 30))).strip()
        answer = "".join(rng.choice(_AWKWARD) for _ in range(rng.randint(1, 8))).strip()
        if not text or not answer or text.startswith(("//", "[")) or not re.search(r"\w", text):
            continue
        result = convert(
            f"[plain]{_gift_escaped(text)}{{={_gift_escaped(answer)} ~other#{_gift_escaped(text)}}}"
        )
        if result.problems:  # e.g. the answer repeats "other": reported, never dropped
            continue
        (question,) = quiz_of(result).questions
        shown = question.body_html or question.prompt_html
        assert squash(plain_text(shown)) == squash(text), result.markdown
        assert plain_text(question.options[0].text_html) == " ".join(answer.split())
        assert squash(plain_text(question.options[1].feedback_html)) == squash(text)


_PIECES = _AWKWARD + [
    "~",
    "=",
    "#",
    "{",
    "}",
    "::",
    "\\n",
    "%50%",
    "%-100%",
    "T",
    "FALSE",
    "->",
    "//",
    "$CATEGORY:",
    "[html]",
    "[markdown]",
    "[moodle]",
    "<p>",
    "</p>",
    "\n\n",
]


@pytest.mark.parametrize("seed", range(4))
def test_any_input_converts_to_a_valid_quiz_or_is_reported(seed):
    rng = random.Random(seed)
    for _ in range(100):
        gift = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 40)))
        result = convert(gift)
        if result.converted:
            assert len(quiz_of(result).questions) == result.converted
        else:
            assert result.markdown == ""


def test_a_question_candor_would_refuse_is_a_problem_not_broken_markdown():
    # Markdown passes through, and "→ [..](#..)" is a conversation's jump in Candor
    result = convert("Fine?{~a =b}\n\n[markdown]Go?{=on -> [there](\\#step-2) ~back}")
    assert result.converted == 1 and result.markdown.count("## ") == 1
    (problem,) = result.problems
    assert problem.line == 3 and "would not be valid in Candor: a jump" in problem.message
