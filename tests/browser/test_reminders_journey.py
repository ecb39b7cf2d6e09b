"""HR's Reminders page, as HR uses it: sees who would be reminded, sets the cadence, presses
"Send now", follows the run (the page refreshes itself, no script needed) and finds it in the
history; axe-clean at every step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import worker
from sqlalchemy import select

from app.db import utcnow
from app.models import Course, Role, User
from app.training.assignments import assign

pytestmark = pytest.mark.browser


def test_hr_previews_sets_the_cadence_sends_now_and_sees_the_run(
    live_server, open_page, sign_in, assert_accessible
):
    from playwright.sync_api import expect

    server = live_server
    hr_account = server.add_user(roles=(Role.HR,), name="Rita Reminders")
    late = server.add_user(roles=(Role.LEARNER,), name="Lorenzo Late-Learner")
    soon = server.add_user(roles=(Role.LEARNER,), name="Sofía Soon-Learner")
    with server.app.extensions["candor.sessionmaker"]() as db:
        hr = db.scalar(select(User).where(User.email == hr_account.email))
        course = db.scalar(select(Course).where(Course.slug == "ai-in-the-contact-center"))
        ids = {
            a.email: db.scalar(select(User.id).where(User.email == a.email)) for a in (late, soon)
        }
        now = utcnow()
        assign(
            db,
            hr,
            course,
            "people",
            user_ids=[ids[late.email]],
            due_days=1,
            now=now - timedelta(days=4),
        )
        assign(db, hr, course, "people", user_ids=[ids[soon.email]], due_days=10, now=now)
        db.commit()

    page = open_page(server)
    sign_in(page, hr_account)
    page.get_by_role("link", name="HR", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Training at a glance")
    assert_accessible(page)
    page.get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reminders")
    expect(page.get_by_role("link", name="Lorenzo Late-Learner")).to_be_visible()
    expect(page.get_by_role("link", name="Sofía Soon-Learner")).to_have_count(0)  # 10 days
    assert_accessible(page)

    # A cadence that reaches Sofía (10 days before), typed in any order; a bad one first.
    page.get_by_label("Days before the due date").fill("3, x")
    page.get_by_role("button", name="Save the cadence").click()
    expect(page.get_by_role("alert")).to_contain_text("“x” is not a whole number of days")
    assert_accessible(page)
    page.get_by_label("Days before the due date").fill("1, 10")
    page.get_by_label("While late, remind every how many days").fill("3")
    page.get_by_role("button", name="Save the cadence").click()
    expect(page.get_by_role("status")).to_contain_text("Saved. Reminders go 10 days before")
    expect(page.get_by_role("link", name="Sofía Soon-Learner")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Send reminders now").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reminder run")
    expect(page.locator("#run-state")).to_contain_text("Queued")
    assert_accessible(page)
    with worker(server):
        # The page refreshes itself every few seconds while the run is under way.
        expect(page.locator("#run-state")).to_contain_text("Done", timeout=30_000)
    expect(page.get_by_role("link", name="Lorenzo Late-Learner")).to_be_visible()
    expect(page.get_by_role("link", name="Sofía Soon-Learner")).to_be_visible()
    expect(page.locator("#run-counts")).to_contain_text("reminders naming")
    assert_accessible(page)

    page.get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reminder runs")
    expect(page.get_by_role("cell", name="Rita Reminders")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Reminders").first.click()
    expect(page.get_by_role("link", name="Lorenzo Late-Learner")).to_have_count(0)  # done
    assert_accessible(page)
