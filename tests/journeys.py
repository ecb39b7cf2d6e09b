"""Browser steps a learner takes, shared by the browser journeys."""

from __future__ import annotations

from app.content.quiz import Question, Scenario, plain_text


def questions_of(quiz):
    for unit in quiz.items:
        if isinstance(unit, Question):
            yield unit
        elif isinstance(unit, Scenario):
            yield from unit.questions


def answer_every_question(page, quiz, *, right: bool):
    for question in questions_of(quiz):
        group = page.get_by_role("group", name=plain_text(question.prompt_html), exact=True)
        chosen = [o for o in question.options if o.correct == right] or question.options[:1]
        if not question.multiple:
            chosen = chosen[:1]
        for option in chosen:
            group.get_by_label(plain_text(option.text_html), exact=True).check()


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
