"""Question statistics against an independent computation (Python's statistics module) on
known data, and the rules for flags and withheld figures."""

from __future__ import annotations

import statistics
from dataclasses import replace
from fractions import Fraction

import pytest

from app.authoring.statistics import MIN_ATTEMPTS, version_statistics
from app.quizzes.grading.grades import (
    ConversationResult,
    Grade,
    OptionResult,
    PathStep,
    QuestionResult,
)


def question(qid: str, chose: str, right: str = "a", options=("a", "b", "c")) -> QuestionResult:
    return QuestionResult(
        question_id=qid,
        scenario_id=None,
        prompt_html=f"<p>Question {qid}?</p>",
        multiple=False,
        options=tuple(
            OptionResult(o, f"Option {o}", o == right, o == chose, None) for o in options
        ),
        answered=True,
        correct=chose == right,
        explanation_html=None,
        points_earned=int(chose == right),
    )


def conversation(score: int) -> ConversationResult:
    step = PathStep(
        "start", "Start", "Hi", "start.a" if score else "start.b", "Reply", bool(score), None, None
    )
    return ConversationResult(
        conversation_id="call",
        title="A call",
        answered=True,
        path=(step,),
        outcome_id="good" if score else "bad",
        outcome_title="Good end" if score else "Bad end",
        outcome_score=score,
        outcome_explanation_html="Why.",
        points_earned=Fraction(score * 3, 100),
        points_possible=3,
    )


# Six attempts: choices for q1, q2 and the conversation's outcome score.
KNOWN = [
    ("a", "a", 100),
    ("a", "b", 100),
    ("b", "a", 50),
    ("a", "a", 0),
    ("b", "b", 0),
    ("a", "c", 100),
]


def attempts(rows=KNOWN) -> list[Grade]:
    grades = []
    for q1, q2, score in rows:
        results = (question("q1", q1), question("q2", q2), conversation(score))
        earned = sum((Fraction(r.points_earned) for r in results), Fraction(0))
        grades.append(Grade(earned, 5, results))
    return grades


def independent(item_index: int, maximum: float, rows=KNOWN):
    """The figures computed the plain way, with the standard library."""
    grades = attempts(rows)
    item = [float(Fraction(g.results[item_index].points_earned)) for g in grades]
    rest = [float(g.points_earned) - x for g, x in zip(grades, item, strict=True)]
    fractions = [x / maximum for x in item]
    return (
        100 * statistics.fmean(fractions),
        100 * statistics.stdev(fractions),
        100 * statistics.correlation(item, rest),
    )


@pytest.mark.parametrize(
    ("index", "item_id", "maximum"), [(0, "q1", 1), (1, "q2", 1), (2, "call", 3)]
)
def test_figures_match_an_independent_computation(index, item_id, maximum):
    stats = {i.item_id: i for i in version_statistics(attempts()).items}
    facility, sd, discrimination = independent(index, maximum)
    item = stats[item_id]
    assert item.attempts == 6
    assert item.facility == pytest.approx(facility, abs=0.05)
    assert item.sd == pytest.approx(sd, abs=0.05)
    assert item.discrimination == pytest.approx(discrimination, abs=0.05)


def test_known_figures_by_hand():
    # q1 right in 4 of 6: facility 66.7%; sd of (1,1,0,1,0,1) = sqrt(4/3 / 5) = 51.6%
    q1 = next(i for i in version_statistics(attempts()).items if i.item_id == "q1")
    assert (q1.facility, q1.sd) == (66.7, 51.6)
    assert [(o.label, o.count, o.percent) for o in q1.options] == [
        ("Option a", 4, 66.7),
        ("Option b", 2, 33.3),
        ("Option c", 0, 0.0),
    ]
    assert "option never chosen: Option c" in q1.flags


def test_conversations_report_outcomes_and_choices():
    call = next(i for i in version_statistics(attempts()).items if i.item_id == "call")
    assert [(o.label, o.count, o.percent) for o in call.outcomes] == [
        ("Good end", 4, 66.7),
        ("Bad end", 2, 33.3),
    ]
    (step_title, shares) = call.steps[0]
    assert step_title == "Start" and sum(s.count for s in shares) == 6


def test_grades_are_read_once_as_a_stream():
    """The page streams grades from the database: one pass, nothing kept per attempt."""
    streamed = version_statistics(iter(attempts()))
    assert streamed == version_statistics(attempts())
    call = next(i for i in streamed.items if i.item_id == "call")
    assert [o.label for o in call.outcomes] == ["Good end", "Bad end"]  # named in that pass
    assert streamed.attempts == 6


def test_easy_and_negatively_discriminating_items_are_flagged():
    rows = [("a", "b", 100), ("a", "b", 100), ("a", "a", 0), ("a", "a", 0), ("a", "b", 100)]
    stats = {i.item_id: i for i in version_statistics(attempts(rows)).items}
    assert stats["q1"].flags[0] == "very easy" and stats["q1"].discrimination is None
    assert any(f.startswith("negative discrimination") for f in stats["q2"].flags)


def test_figures_are_withheld_under_five_attempts():
    stats = version_statistics(attempts(KNOWN[: MIN_ATTEMPTS - 1]))
    assert stats.withheld
    assert all(i.withheld and i.facility is None and not i.options for i in stats.items)


def test_must_pass_items_show_how_often_they_failed_the_attempt():
    grades = attempts()
    marked = [
        Grade(
            g.points_earned,
            g.points_possible,
            (replace(g.results[0], must_pass_html="Never share card numbers."), *g.results[1:]),
        )
        for g in grades
    ]
    q1 = next(i for i in version_statistics(marked).items if i.item_id == "q1")
    assert q1.must_pass and q1.must_pass_failed == 2  # q1 wrong in 2 of 6 attempts
    q2 = next(i for i in version_statistics(marked).items if i.item_id == "q2")
    assert not q2.must_pass and q2.must_pass_failed == 0
