"""Browser steps a learner takes, shared by the browser journeys."""

from __future__ import annotations

import re

from app.content.quiz import Question, Scenario, plain_text

FORWARD = re.compile(r"^(Save and continue|Continue|Save and review my answers|Review my answers)$")


def questions_of(quiz):
    for unit in quiz.items:
        if isinstance(unit, Question):
            yield unit
        elif isinstance(unit, Scenario):
            yield from unit.questions


def answer_shown_questions(page, quiz, *, right: bool) -> int:
    """Tick the answers of the questions on the page; how many there were."""
    answered = 0
    for question in questions_of(quiz):
        group = page.get_by_role("group", name=plain_text(question.prompt_html), exact=True)
        if not group.count():
            continue
        chosen = [o for o in question.options if o.correct == right] or question.options[:1]
        if not question.multiple:
            chosen = chosen[:1]
        # Every box as chosen: one ticked earlier (a learner resuming) is unticked if it is
        # not among them, or a "right" answer would carry a wrong tick along.
        for option in question.options if question.multiple else chosen:
            box = group.get_by_label(plain_text(option.text_html), exact=True)
            box.set_checked(option in chosen)
        answered += 1
    return answered


def answer_every_question(page, quiz, *, right: bool, checked, converse=None):
    """Answer every question of the assessment: on the studio's one-page trial at once; on a
    learner's attempt page by page (``converse()`` takes each conversation met), up to the
    review page, whose "Submit my answers" is left to the caller."""
    from playwright.sync_api import expect

    if not page.get_by_role("navigation", name="Pages of the assessment").count():
        answer_shown_questions(page, quiz, right=right)
        return
    while True:
        if page.get_by_role("button", name="Reply").count():
            assert converse is not None, "a conversation, but no way to converse given"
            converse()
        answer_shown_questions(page, quiz, right=right)
        # The page before also reads "Assessment, attempt N": wait for the next one to load,
        # or the check below runs on a page that is going away.
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name=FORWARD).click()
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_contain_text(re.compile(r"Assessment, attempt \d+"))
        page.wait_for_load_state("load")
        checked(page)
        if "review and submit" in heading.inner_text():
            return


def read_every_module(page, server, slug, assert_accessible):
    from playwright.sync_api import expect

    course = server.courses[slug]
    page.goto(f"/courses/{slug}")
    assert_accessible(page)
    page.get_by_role("link", name="Start the course").click()
    for module in course.modules:
        expect(page.get_by_role("heading", level=1, name=module.title)).to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_text("You have read every module of this course.")).to_be_visible()
    assert_accessible(page)
