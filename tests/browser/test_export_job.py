"""HR exports everything as a job in a real browser: the progress page follows the job (with
JavaScript, then again without it), the download is offered when the file is whole, and the
file parses with openpyxl."""

from __future__ import annotations

import re
from contextlib import contextmanager

import openpyxl
import pytest
from helpers import worker
from sqlalchemy import select

from app.db import utcnow
from app.models import Course, Enrollment, Role, User

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@contextmanager
def every_export_is_a_job(server):
    config = server.app.config
    before = config["JOBS_DIRECT_EXPORT_MAX_ROWS"]
    config["JOBS_DIRECT_EXPORT_MAX_ROWS"] = -1
    try:
        yield
    finally:
        config["JOBS_DIRECT_EXPORT_MAX_ROWS"] = before


def fits(page, assert_accessible) -> None:
    """axe-clean, and no sideways scrolling, at phone and desktop widths."""
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        assert_accessible(page)
        width, inner = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width <= inner, f"{page.url} scrolls sideways at {inner}px"


def start_export(page, assert_accessible, button: str) -> None:
    page.goto("/hr/status?include_inactive=1")
    assert_accessible(page)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(re.compile(r"/hr/jobs/\d+$"))


def download(page, tmp_path, name: str):
    from playwright.sync_api import expect

    button = page.get_by_role("button", name=re.compile(r"^Download candor-completions-"))
    expect(button).to_be_visible()
    with page.expect_download() as done:
        button.click()
    saved = tmp_path / name
    done.value.save_as(saved)
    return done.value, saved


def test_hr_watches_an_xlsx_export_of_everything_and_downloads_it(
    live_server, open_page, sign_in, assert_accessible, tmp_path
):
    from playwright.sync_api import expect

    server = live_server
    learners = [server.add_user(roles=(Role.LEARNER,)).email for _ in range(3)]
    with server.app.extensions["candor.sessionmaker"]() as db:
        users = db.scalars(select(User).where(User.email.in_(learners))).all()
        for course_id in db.scalars(select(Course.id)):
            db.add_all(
                Enrollment(user_id=u.id, course_id=course_id, assigned_at=utcnow()) for u in users
            )
        db.commit()
    hr = open_page(server)
    sign_in(hr, server.add_user(roles=(Role.HR,), name="Helen HR"))
    with every_export_is_a_job(server):
        start_export(hr, assert_accessible, "Excel (XLSX)")
        expect(hr.get_by_role("heading", level=1)).to_have_text("Export completions.xlsx")
        expect(hr.get_by_role("status")).to_contain_text("rows written")
        expect(hr.locator('[data-job-field="state"]')).to_have_text("queued")
        assert_accessible(hr)
        with worker(server):
            # jobs.js follows the job and reloads the page once it is done.
            expect(hr.locator('[data-job-field="state"]')).to_have_text("done")
            saved_download, saved = download(hr, tmp_path, "everything.xlsx")
        fits(hr, assert_accessible)
        hr.get_by_role("link", name="Your exports").click()
        expect(hr.get_by_role("link", name=re.compile(r"^completions\.xlsx #\d+$"))).to_be_visible()
        fits(hr, assert_accessible)
    assert saved_download.suggested_filename.startswith("candor-completions-")
    sheet = openpyxl.load_workbook(saved, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("employee_id", "name", "email")
    names = {row[1] for row in rows[1:]}
    assert names >= {f"Browser Tester {email[6:-13]}" for email in learners}
    assert all(len(row) == len(rows[0]) for row in rows)


def test_without_javascript_the_progress_page_reloads_itself(live_server, browser, tmp_path):
    """The same pages as above (axe-checked there; axe itself needs JavaScript), followed by
    a browser with JavaScript off: the page's own refresh brings the download."""
    from playwright.sync_api import expect

    server = live_server
    account = server.add_user(roles=(Role.HR,))
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("Work e-mail").fill(account.email)
        page.get_by_label("Password").fill(account.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
        with every_export_is_a_job(server):
            page.goto("/hr/status?include_inactive=1")
            page.get_by_role("button", name="CSV", exact=True).click()
            page.wait_for_url(re.compile(r"/hr/jobs/\d+$"))
            expect(page.locator('[data-job-field="state"]')).to_have_text("queued")
            with worker(server):
                # No script runs: only the <noscript> refresh can bring "done".
                expect(page.locator('[data-job-field="state"]')).to_have_text("done")
                _, saved = download(page, tmp_path, "everything.csv")
        assert saved.read_text(encoding="utf-8-sig").startswith('"employee_id","name"')
    finally:
        context.close()
