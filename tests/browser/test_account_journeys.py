"""Finding one's own way in, in a real browser, with e-mail through the suite's SMTP server:
a learner resets a forgotten password from the e-mail; a person HR adds activates their
account from the invitation e-mail."""

from __future__ import annotations

import pytest

from app.models import Role

pytestmark = pytest.mark.browser
NEW_PASSWORD = "seven tired otters sing"  # noqa: S105 (a test password)


def choose_password(page, assert_accessible, button: str) -> None:
    assert_accessible(page)
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name=button).click()


def sign_in_with(page, email: str) -> None:
    page.get_by_label("Work e-mail").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_learner_resets_a_forgotten_password_from_the_email(
    mail_server, open_page, sign_in, assert_accessible
):
    from playwright.sync_api import expect

    server = mail_server.live
    account = server.add_user(name="Forgetful Learner")
    elsewhere = open_page(server)
    sign_in(elsewhere, account)  # a session on another device, to be ended

    page = open_page(server)
    page.goto("/login")
    assert_accessible(page)
    page.get_by_role("link", name="Forgotten your password?").click()
    expect(page.get_by_role("heading", level=1, name="Forgotten password")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Work e-mail").fill(account.email)
    page.get_by_role("button", name="E-mail me a link").click()
    expect(page.get_by_role("heading", level=1, name="Check your e-mail")).to_be_visible()
    assert_accessible(page)

    page.goto(mail_server.link_to(account.email, "/reset-password/"))
    expect(page.get_by_role("heading", level=1, name="Choose a new password")).to_be_visible()
    choose_password(page, assert_accessible, "Set the new password")
    expect(page.get_by_text("Your new password is set")).to_be_visible()
    assert_accessible(page)
    sign_in_with(page, account.email)
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    assert_accessible(page)

    elsewhere.reload()  # the other device's session ended with the reset
    expect(elsewhere.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    assert_accessible(elsewhere)


def test_an_invited_person_activates_from_the_email(
    mail_server, open_page, sign_in, assert_accessible
):
    from playwright.sync_api import expect

    server = mail_server.live
    hr = open_page(server)
    sign_in(hr, server.add_user(roles=(Role.HR,), name="Helen HR"))
    hr.goto("/hr/employees/new")
    assert_accessible(hr)
    hr.get_by_label("Full name").fill("Ada Newcomer")
    hr.get_by_label("Work e-mail").fill("ada.newcomer@example.test")
    hr.get_by_role("button", name="Add and e-mail an invitation").click()
    expect(hr.get_by_role("status")).to_contain_text("on its way to ada.newcomer@example.test")
    assert_accessible(hr)

    person = open_page(server)
    person.goto(mail_server.link_to("ada.newcomer@example.test", "/invite/"))
    expect(person.get_by_role("heading", level=1, name="Welcome to Candor")).to_be_visible()
    choose_password(person, assert_accessible, "Set password")
    expect(person.get_by_text("Your password is set")).to_be_visible()
    assert_accessible(person)
    sign_in_with(person, "ada.newcomer@example.test")
    expect(person.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    assert_accessible(person)

    # The link is spent: opening it again says so, and how to get in.
    person.goto(mail_server.link_to("ada.newcomer@example.test", "/invite/"))
    expect(person.get_by_role("heading", level=1, name="This link cannot be used")).to_be_visible()
    expect(person.get_by_text("If you have set your password, sign in")).to_be_visible()
    assert_accessible(person)
