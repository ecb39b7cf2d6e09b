"""HR in a real browser: import employees, assign a course to their department, see the
overdue count fall when one of them completes it, download both exports."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from journeys import answer_every_question, read_every_module
from sqlalchemy import select, update

from app.db import utcnow
from app.models import Enrollment, OutboxMessage, Role, User

pytestmark = pytest.mark.browser
REFRESHER = "ai-data-refresher"
STAFF = (
    "email,name,employee_id,department,manager_email,roles\n"
    "rosa@returns.test,Rosa Parks,R1,Returns,,learner\n"
    "alan@returns.test,Alan Turing,R2,Returns,rosa@returns.test,learner\n"
)


def invitation_link(server, address: str) -> str:
    """The path of the invitation e-mailed to ``address``, read from the outbox (this server
    has no mail worker)."""
    from email import message_from_bytes
    from email.policy import default

    with server.app.extensions["candor.sessionmaker"]() as db:
        bodies = [
            message_from_bytes(m.message, policy=default).get_content()
            for m in db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
            if address in m.recipients
        ]
    [link] = re.findall(r"https?://[^/\s]+(/invite/[\w-]+)", bodies[-1])
    return link


def overdue_count(page) -> str:
    return page.locator(".tile", has_text="overdue").locator(".big").inner_text()


def test_hr_from_a_csv_to_assigned_training_and_exports(
    quick_server, open_page, sign_in, assert_accessible, tmp_path
):
    from playwright.sync_api import expect

    server = quick_server
    hr = open_page(server)
    sign_in(hr, server.add_user(roles=(Role.HR,), name="Helen HR"))

    hr.goto("/hr/employees")
    assert_accessible(hr)
    hr.get_by_role("link", name="Import from CSV").click()
    assert_accessible(hr)
    staff = tmp_path / "returns-team.csv"
    staff.write_text(STAFF)
    hr.get_by_label("CSV file").set_input_files(str(staff))
    hr.get_by_role("button", name="Check the file").click()
    expect(hr.get_by_role("status")).to_contain_text("2 to create")
    assert_accessible(hr)
    hr.get_by_role("button", name="Apply the import").click()
    expect(hr.get_by_role("status")).to_contain_text("2 created")
    assert_accessible(hr)
    link = invitation_link(server, "rosa@returns.test")

    hr.goto("/hr/assignments/new")
    assert_accessible(hr)
    hr.get_by_label("Course").select_option(label=server.courses[REFRESHER].meta.title)
    hr.get_by_label("Who").select_option(label="A department")
    hr.get_by_label("Department").select_option(label="Returns")
    hr.get_by_label("Days").fill("14")
    hr.get_by_role("button", name="Assign").click()
    expect(hr.get_by_role("heading", level=1, name="People × courses")).to_be_visible()
    assert_accessible(hr)
    hr.get_by_label("Department").select_option(label="Returns")
    hr.get_by_role("button", name="Filter").click()
    expect(hr.get_by_text("2 records.")).to_be_visible()
    assert_accessible(hr)

    # A month passes: the assignment is now overdue (other tests' learners share the server).
    with server.app.extensions["candor.sessionmaker"]() as db:
        returns = select(User.id).where(User.department == "Returns")
        db.execute(
            update(Enrollment)
            .where(Enrollment.user_id.in_(returns))
            .values(due_at=utcnow() - timedelta(days=1))
        )
        db.commit()
    hr.goto("/hr/")
    before = int(overdue_count(hr))
    assert before >= 2
    assert_accessible(hr)

    # Rosa sets her password through her invitation and completes the course.
    learner = open_page(server)
    learner.goto(link)
    assert_accessible(learner)
    learner.get_by_label("Choose a password").fill("a long enough password")
    learner.get_by_label("Repeat the password").fill("a long enough password")
    learner.get_by_role("button", name="Set password").click()
    assert_accessible(learner)
    learner.get_by_label("Work e-mail").fill("rosa@returns.test")
    learner.get_by_label("Password").fill("a long enough password")
    learner.get_by_role("button", name="Sign in").click()
    expect(learner.get_by_role("heading", level=2, name="Assigned to you")).to_be_visible()
    assert_accessible(learner)
    read_every_module(learner, server, REFRESHER, assert_accessible)
    learner.get_by_role("button", name="Take the assessment").click()
    assert_accessible(learner)
    answer_every_question(
        learner, server.courses[REFRESHER].quiz, right=True, checked=assert_accessible
    )
    learner.get_by_role("button", name="Submit my answers").click()
    expect(learner.get_by_text("You have completed this course.")).to_be_visible()
    assert_accessible(learner)

    hr.reload()
    assert int(overdue_count(hr)) == before - 1
    assert_accessible(hr)
    hr.get_by_role("link", name="People × courses").click()
    assert_accessible(hr)
    for button, extension in (("CSV", ".csv"), ("Excel (XLSX)", ".xlsx")):
        with hr.expect_download() as download:
            hr.get_by_role("button", name=button, exact=True).click()
        saved = tmp_path / f"export{extension}"
        download.value.save_as(saved)
        assert download.value.suggested_filename.startswith("candor-completions-")
        assert "rosa" not in download.value.suggested_filename.lower()
        if extension == ".csv":
            text = saved.read_text(encoding="utf-8-sig")
            assert "Rosa Parks" in text and "completed" in text
        else:
            assert saved.read_bytes()[:2] == b"PK"
