"""Question statistics per course version, the way Moodle's quiz statistics report does it.

For each question or conversation, over the submitted attempts that showed it:

- facility index: the mean score on it, as a percentage of its maximum;
- standard deviation of that score (sample SD, n - 1), as a percentage of its maximum;
- discrimination index: the Pearson correlation, as a percentage, between the item's score and
  the score on the rest of the attempt (the attempt's points without this item's).

Per option, the share of attempts that chose it; per conversation, the outcomes reached and the
choices made at each step. Items are flagged when very easy or very hard, when discrimination
is low or negative, or when an option is never chosen. Below ``MIN_ATTEMPTS`` attempts the
figures are withheld. Only aggregates leave this module: it never reads who answered.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from app.db import streamed
from app.quizzes.grading.grades import ConversationResult, Grade, QuestionResult

MIN_ATTEMPTS = 5
VERY_EASY = 90  # facility at or above: flagged (Moodle calls 90-94 "very easy")
VERY_HARD = 20  # facility below: flagged (Moodle: under 20 "difficult" or worse)
LOW_DISCRIMINATION = 20  # below: flagged (Moodle calls under 20 "very weak")

_TAG = re.compile(r"<[^>]+>")


def plain(fragment: str | None) -> str:
    return html.unescape(_TAG.sub("", fragment or "")).strip()


@dataclass
class Share:
    label: str
    count: int
    percent: float
    right: bool = False


@dataclass
class ItemStatistics:
    item_id: str
    kind: str  # "question" or "conversation"
    title: str
    attempts: int
    facility: float | None = None
    sd: float | None = None
    discrimination: float | None = None
    options: list[Share] = field(default_factory=list)
    outcomes: list[Share] = field(default_factory=list)
    steps: list[tuple[str, list[Share]]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    must_pass: bool = False  # failing it fails the attempt (quiz format: must-pass items)
    must_pass_failed: int = 0  # attempts it failed

    @property
    def withheld(self) -> bool:
        return self.attempts < MIN_ATTEMPTS


@dataclass
class VersionStatistics:
    attempts: int
    items: list[ItemStatistics]

    @property
    def withheld(self) -> bool:
        return self.attempts < MIN_ATTEMPTS


@dataclass
class _Moments:
    """An item's score and rest-of-attempt score, summed as they come (Welford's method), so
    facility, SD and discrimination need one pass and no list of every attempt."""

    n: int = 0
    mean_x: float = 0.0
    mean_y: float = 0.0
    m2_x: float = 0.0
    m2_y: float = 0.0
    c_xy: float = 0.0

    def add(self, x: float, y: float) -> None:
        self.n += 1
        dx, dy = x - self.mean_x, y - self.mean_y
        self.mean_x += dx / self.n
        self.mean_y += dy / self.n
        self.m2_x += dx * (x - self.mean_x)
        self.m2_y += dy * (y - self.mean_y)
        self.c_xy += dx * (y - self.mean_y)

    def sd(self) -> float | None:
        return math.sqrt(self.m2_x / (self.n - 1)) if self.n > 1 else None

    def correlation(self) -> float | None:
        if self.m2_x <= 0 or self.m2_y <= 0:
            return None  # no spread: no correlation to speak of
        return self.c_xy / math.sqrt(self.m2_x * self.m2_y)


@dataclass
class _Labels:
    """A conversation's outcome, choice and step titles, as the grades name them."""

    outcomes: dict[str, str] = field(default_factory=dict)
    choices: dict[str, tuple[str, bool]] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)


def _share(label: str, count: int, total: int, right: bool = False) -> Share:
    return Share(label, count, round(100 * count / total, 1) if total else 0.0, right)


def version_statistics(grades: Iterable[Grade]) -> VersionStatistics:
    """Statistics of every item over ``grades`` (one per counted attempt), read once, in
    order, as they are streamed: memory grows with the items, not with the attempts."""
    moments: dict[str, _Moments] = {}
    first: dict[str, QuestionResult | ConversationResult] = {}
    must_pass_failed: Counter[str] = Counter()
    chosen: dict[str, Counter[str]] = {}
    outcomes: dict[str, Counter[str]] = {}
    steps: dict[str, dict[str, Counter[str]]] = {}
    labels: dict[str, _Labels] = {}
    attempts = 0
    for graded in grades:
        attempts += 1
        total = Fraction(graded.points_earned)
        for result in graded.results:
            if isinstance(result, QuestionResult):
                key = result.question_id
                earned, possible = Fraction(result.points_earned), result.points_possible
                counter = chosen.setdefault(key, Counter())
                for option in result.options:
                    if option.chosen:
                        counter[option.id] += 1
            else:
                key = result.conversation_id
                earned, possible = result.points_earned, result.points_possible
                outcomes.setdefault(key, Counter())[result.outcome_id or ""] += 1
                by_step = steps.setdefault(key, {})
                named = labels.setdefault(key, _Labels())
                if result.outcome_id:
                    named.outcomes[result.outcome_id] = result.outcome_title or result.outcome_id
                for taken in result.path:
                    by_step.setdefault(taken.step_id, Counter())[taken.choice_id] += 1
                    named.choices[taken.choice_id] = (plain(taken.choice_html), taken.recommended)
                    named.steps[taken.step_id] = taken.step_title
            first.setdefault(key, result)
            if result.fails_attempt:
                must_pass_failed[key] += 1
            moments.setdefault(key, _Moments()).add(float(earned / possible), float(total - earned))
    items = [
        _item(key, first[key], m, chosen.get(key), outcomes.get(key), steps.get(key), labels)
        for key, m in moments.items()
    ]
    for item in items:
        item.must_pass = first[item.item_id].must_pass_html is not None
        if item.must_pass and not item.withheld:
            item.must_pass_failed = must_pass_failed[item.item_id]
    return VersionStatistics(attempts, items)


def _item(key, result, moments: _Moments, chosen, reached, by_step, labels) -> ItemStatistics:
    n = moments.n
    if isinstance(result, QuestionResult):
        item = ItemStatistics(key, "question", plain(result.prompt_html), n)
    else:
        item = ItemStatistics(key, "conversation", result.title, n)
    if item.withheld:
        return item
    item.facility = round(100 * moments.mean_x, 1)
    sd = moments.sd()
    item.sd = round(100 * sd, 1) if sd is not None else None
    r = moments.correlation()
    item.discrimination = round(100 * r, 1) if r is not None else None
    if isinstance(result, QuestionResult):
        for option in result.options:
            count = (chosen or Counter())[option.id]
            item.options.append(_share(plain(option.text_html), count, n, option.correct))
            if count == 0:
                item.flags.append(f"option never chosen: {plain(option.text_html)[:80]}")
    else:
        named = labels.get(key, _Labels())
        titles, choices, steps_titles = named.outcomes, named.choices, named.steps
        for outcome_id, count in sorted((reached or Counter()).items(), key=lambda kv: -kv[1]):
            item.outcomes.append(_share(titles.get(outcome_id, outcome_id), count, n))
        for step_id, counter in (by_step or {}).items():
            total = sum(counter.values())
            item.steps.append(
                (
                    steps_titles.get(step_id, step_id),
                    [
                        _share(choices.get(c, (c, False))[0], k, total, choices.get(c, ("", 0))[1])
                        for c, k in counter.most_common()
                    ],
                )
            )
    if item.facility >= VERY_EASY:
        item.flags.insert(0, "very easy")
    elif item.facility < VERY_HARD:
        item.flags.insert(0, "very hard")
    if item.discrimination is not None and item.discrimination < 0:
        item.flags.append("negative discrimination: stronger learners do worse on it")
    elif item.discrimination is not None and item.discrimination < LOW_DISCRIMINATION:
        item.flags.append("low discrimination")
    return item


CSV_HEADER = (
    "item",
    "kind",
    "title",
    "attempts",
    "facility_percent",
    "sd_percent",
    "discrimination_percent",
    "must_pass",
    "must_pass_failed",
    "option_or_outcome",
    "right",
    "chosen",
    "chosen_percent",
    "flags",
)


def csv_rows(stats: VersionStatistics):
    """One row per option or outcome (the item's figures repeated), for a spreadsheet."""
    for item in stats.items:
        base = (
            item.item_id,
            item.kind,
            item.title,
            item.attempts,
            item.facility,
            item.sd,
            item.discrimination,
            item.must_pass,
            item.must_pass_failed if not item.withheld else None,
        )
        shares = item.options or item.outcomes
        flags = "; ".join(item.flags) if not item.withheld else "withheld: fewer than 5 attempts"
        if item.withheld or not shares:
            yield (*base, None, None, None, None, flags)
            continue
        for share in shares:
            yield (*base, share.label, share.right, share.count, share.percent, flags)


def counted_grades(session, version_id: int, *, first_only: bool) -> Iterator[Grade]:
    """The grades of the version's submitted attempts (first attempts only, or all), streamed
    in batches. Only the stored results are read, never who made them."""
    from sqlalchemy import select

    from app.models import AttemptStatus, QuizAttempt

    query = select(QuizAttempt.result).where(
        QuizAttempt.version_id == version_id,
        QuizAttempt.status == AttemptStatus.SUBMITTED,
        QuizAttempt.result.is_not(None),
    )
    if first_only:
        query = query.where(QuizAttempt.number == 1)
    with streamed(session, query.order_by(QuizAttempt.id).execution_options(yield_per=500)) as rows:
        for (result,) in rows:
            yield Grade.from_dict(result)
