"""The reading journey, in a real browser: sign in, read, sign out, sign back in, see progress.

Every page the tests reach goes through axe (the ``open_page`` fixture fails a test that loads
a page it never checked), and any JavaScript dialog fails the test.
"""

from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture says what is missing (a failure in CI)
    expect = None

pytestmark = pytest.mark.browser

FLAGSHIP = "ai-in-the-contact-center"
FLAGSHIP_TITLE = "AI in the contact centre: lessons from the Patagonia lawsuit"


def module_rows(page):
    """The items of the course page's module list (the one list in <main>), one per module."""
    return page.get_by_role("main").get_by_role("list").get_by_role("listitem")


def test_learner_reads_two_modules_and_finds_progress_after_signing_back_in(
    quick_server, open_page, sign_in, assert_accessible
):
    course = quick_server.courses[FLAGSHIP]
    total = len(course.modules)
    first, second, third = course.modules[:3]
    learner = quick_server.add_user()
    page = open_page(quick_server)

    # Anyone who opens the site lands on the sign-in page.
    sign_in(page, learner, start="/")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", level=1, name="My courses")).to_be_visible()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=FLAGSHIP_TITLE))
    expect(card).to_contain_text(f"0 of {total} modules read")
    expect(card).to_contain_text("Not started")

    # The flagship course: every module unread.
    card.get_by_role("link", name=FLAGSHIP_TITLE).click()
    expect(page.get_by_role("heading", level=1, name=FLAGSHIP_TITLE)).to_be_visible()
    assert_accessible(page)
    rows = module_rows(page)
    expect(rows).to_have_count(total)
    for row, module in zip(rows.all(), course.modules, strict=True):
        expect(row.get_by_role("link", name=module.title)).to_be_visible()
        expect(row).to_contain_text("Not read yet")

    # Read the first two modules.
    page.get_by_role("link", name="Start the course").click()
    for number, module in enumerate((first, second), start=1):
        expect(page.get_by_role("heading", level=1, name=module.title)).to_be_visible()
        expect(page.get_by_text(f"Module {number} of {total}")).to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name="Mark as read and continue").click()
    expect(page.get_by_role("heading", level=1, name=third.title)).to_be_visible()
    assert_accessible(page)

    # Sign out; the pages are closed to the signed-out browser.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("You are signed out.")
    assert_accessible(page)
    page.goto(f"/courses/{FLAGSHIP}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert_accessible(page)

    # Sign back in: the progress is there.
    sign_in(page, learner)
    card = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=FLAGSHIP_TITLE))
    expect(card).to_contain_text(f"2 of {total} modules read")
    expect(card).to_contain_text("In progress")
    expect(card.get_by_role("progressbar", name=f"Progress in {FLAGSHIP_TITLE}")).to_have_attribute(
        "value", str(2 * 100 // total)
    )

    card.get_by_role("link", name=FLAGSHIP_TITLE).click()
    expect(page.get_by_role("heading", level=1, name=FLAGSHIP_TITLE)).to_be_visible()
    assert_accessible(page)
    rows = module_rows(page)
    for index, (row, module) in enumerate(zip(rows.all(), course.modules, strict=True)):
        expect(row.get_by_role("link", name=module.title)).to_be_visible()
        expect(row).to_contain_text(
            re.compile(r"Read \d{1,2} \w+ \d{4}") if index < 2 else re.compile("Not read yet")
        )
    expect(page.get_by_role("link", name=f"Continue with “{third.title}”")).to_be_visible()

    # A module already read says so and offers no button.
    rows.first.get_by_role("link", name=first.title).click()
    expect(page.get_by_role("heading", level=1, name=first.title)).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"You read this module on \d{1,2} \w+ \d{4}\."))
    ).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Mark as read"))).to_have_count(0)
    assert_accessible(page)


def test_marking_as_read_too_early_is_refused(live_server, open_page, sign_in, assert_accessible):
    course = live_server.courses[FLAGSHIP]
    first = course.modules[0]
    assert first.min_minutes > 0, "the flagship's first module no longer asks for reading time"
    learner = live_server.add_user()
    page = open_page(live_server)
    sign_in(page, learner)

    page.goto(f"/courses/{FLAGSHIP}")
    assert_accessible(page)
    page.get_by_role("link", name="Start the course").click()
    expect(page.get_by_role("heading", level=1, name=first.title)).to_be_visible()
    expect(
        page.get_by_text(
            f"this module can be marked as read after {first.min_minutes} minutes on the page"
        )
    ).to_be_visible()
    assert_accessible(page)

    # The countdown runs: the time left goes down as the learner reads.
    clock = page.locator("#reading-clock")
    expect(clock).to_contain_text(re.compile(r"You can mark it as read in \d+ min \d+ s\."))
    shown = clock.inner_text()
    expect(clock).not_to_have_text(shown)
    assert "(from" not in clock.inner_text()  # the script's wording replaced the page's

    page.get_by_role("button", name="Mark as read and continue").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        re.compile(
            rf"This module asks for at least {first.min_minutes} minutes of reading\. "
            r"You can mark it as read in \d+ min \d+ s\."
        )
    )
    # The error is where the learner clicked, next to the button, and has the focus.
    expect(alert).to_be_focused()
    expect(alert).to_be_in_viewport()
    expect(page.get_by_role("button", name="Mark as read and continue")).to_be_in_viewport()
    # Still on the same module, and the button is still there to try again later.
    expect(page.get_by_role("heading", level=1, name=first.title)).to_be_visible()
    expect(page.get_by_role("button", name="Mark as read and continue")).to_be_visible()
    assert_accessible(page)

    # A reload does not restart the clock: the time left keeps going down from where it was.
    left = _seconds_left(clock.inner_text())
    page.reload()
    expect(clock).to_contain_text("You can mark it as read in")
    assert _seconds_left(clock.inner_text()) <= left
    assert_accessible(page)

    # Nothing was read: the course is still not started.
    page.get_by_role("link", name=course.meta.title).click()
    expect(page.get_by_role("heading", level=1, name=course.meta.title)).to_be_visible()
    expect(module_rows(page).first).to_contain_text("Not read yet")
    expect(page.get_by_role("link", name="Start the course")).to_be_visible()
    assert_accessible(page)


def _seconds_left(text: str) -> int:
    found = re.search(r"in (?:(\d+) min )?(\d+) s", text)
    assert found, text
    return int(found.group(1) or 0) * 60 + int(found.group(2))
