"""HR erases a person in a real browser: from their page, through the confirmation page (a
reason required), to their page under a pseudonym; their session ends, and their certificate's
public page says the holder was erased."""

from __future__ import annotations

import pytest
from journeys import answer_every_question, read_every_module
from sqlalchemy import select

from app.certificates.codes import grouped
from app.models import Certificate, Role, User

pytestmark = pytest.mark.browser
REFRESHER = "ai-data-refresher"


def test_hr_erases_a_person(quick_server, open_page, sign_in, assert_accessible):
    from playwright.sync_api import expect

    server = quick_server
    person = server.add_user(name="Esme Erasable")
    learner = open_page(server)
    sign_in(learner, person)
    read_every_module(learner, server, REFRESHER, assert_accessible)
    learner.get_by_role("button", name="Take the assessment").click()
    assert_accessible(learner)
    answer_every_question(
        learner, server.courses[REFRESHER].quiz, right=True, checked=assert_accessible
    )
    learner.get_by_role("button", name="Submit my answers").click()
    expect(learner.get_by_text("You have completed this course.")).to_be_visible()
    assert_accessible(learner)

    hr = open_page(server)
    sign_in(hr, server.add_user(roles=(Role.HR,), name="Hugo HR"))
    hr.goto("/hr/employees")
    assert_accessible(hr)
    hr.get_by_label("Search by name, e-mail, employee id or department").fill("Esme")
    hr.get_by_role("button", name="Search").click()
    assert_accessible(hr)
    hr.get_by_role("link", name="Esme Erasable").click()
    assert_accessible(hr)
    hr.get_by_role("link", name="erase Esme Erasable").click()
    expect(hr.get_by_role("heading", level=1, name="Erase Esme Erasable")).to_be_visible()
    assert_accessible(hr)

    hr.get_by_role("button", name="Erase Esme Erasable").click()  # no reason, not confirmed
    expect(hr.get_by_role("alert")).to_contain_text("Give the reason.")
    assert_accessible(hr)
    hr.get_by_label("Why is this person erased?").fill("Asked to be forgotten after leaving.")
    hr.get_by_label("I understand").check()
    hr.get_by_role("button", name="Erase Esme Erasable").click()
    expect(hr.get_by_text("Erased on")).to_be_visible()
    assert_accessible(hr)
    heading = hr.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Erased person ")
    assert "Esme" not in hr.content()

    learner.goto("/dashboard")  # her session ended
    expect(learner.get_by_role("button", name="Sign in")).to_be_visible()
    assert_accessible(learner)

    with server.app.extensions["candor.sessionmaker"]() as db:
        user_id = db.scalar(select(User.id).where(User.name == heading))
        code = db.scalar(select(Certificate.code).where(Certificate.user_id == user_id))
    hr.goto(f"/verify/{grouped(code)}")
    expect(hr.get_by_text("The holder was erased")).to_be_visible()
    assert "Esme" not in hr.content()
    assert_accessible(hr)
