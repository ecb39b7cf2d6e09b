"""HR's grid and list at a contact centre's width: ten courses, every key column visible at
1280 px with nothing to scroll sideways, axe-clean at phone and desktop size, and a person
found by employee id with the keyboard alone (a plain GET form: no JavaScript needed)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.models import Course, CourseVersion, Role, User
from app.training.assignments import assign

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def centre(grid_server):
    """Ten published courses with long titles, 60 people on all of them."""
    with grid_server.app.extensions["candor.sessionmaker"]() as db:
        shipped = len(list(db.scalars(select(Course))))
        for number in range(shipped + 1, 11):  # up to a contact centre's ten courses
            course = Course(slug=f"extra-course-{number}")
            db.add(course)
            db.flush()
            db.add(
                CourseVersion(
                    course_id=course.id,
                    number=1,
                    content_hash=f"{number:064d}",
                    title=f"Course {number}: responsible AI in customer conversations",
                    summary="",
                    estimated_minutes=20,
                    pass_mark=80,
                    max_attempts=3,
                    recertify_months=12,
                    metadata_source="",
                )
            )
        for number in range(1, 61):
            agent = User(
                email=f"agent{number}@centre.test",
                name=f"Agent Maximiliana Featherstonehaugh {number}",
                employee_id=f"CC-{number:05d}",
                department="Inbound customer care, second line",
            )
            agent.roles = {Role.LEARNER}
            db.add(agent)
        db.flush()
        hr = db.scalar(select(User).where(User.email == "agent1@centre.test"))
        for course in db.scalars(select(Course)):
            assign(db, hr, course, "everyone", due_days=20, now=utcnow())
        db.commit()
    return grid_server


def table_overflow(page) -> int:
    """How far the table sticks out of its scrolling box, in px (0: all of it is visible)."""
    return page.evaluate(
        "() => { const w = document.querySelector('.table-wrap');"
        " return w.scrollWidth - w.clientWidth; }"
    )


def test_grid_and_list_show_every_column_at_1280_px(centre, open_page, sign_in, assert_accessible):
    from playwright.sync_api import expect

    page = open_page(centre)
    sign_in(page, centre.add_user(roles=(Role.HR,), name="Helen HR"))
    for path in ("/hr/grid", "/hr/status"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1, name="People × courses")).to_be_visible()
        page.set_viewport_size(DESKTOP)
        assert table_overflow(page) <= 0, f"{path}: columns hidden off to the side at 1280 px"
        assert_accessible(page)
        page.set_viewport_size(PHONE)
        assert_accessible(page)
        page.set_viewport_size(DESKTOP)

    # Found by employee id, with the keyboard only.
    page.goto("/hr/grid")
    assert_accessible(page)
    page.get_by_label("Name, e-mail or employee id").fill("CC-00042")
    page.keyboard.press("Enter")
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Agent Maximiliana Featherstonehaugh 42")
    expect(rows.first).to_contain_text("agent42@centre.test")
    columns = page.locator("table.grid thead th.cell").count()
    assert columns >= 10
    expect(rows.first.locator("td.cell")).to_have_count(columns)
    assert_accessible(page)


def test_hr_helps_a_stuck_learner_then_revokes_the_certificate(
    quick_server, open_page, sign_in, assert_accessible, tmp_path
):
    """HR finds a person by employee id in the grid and grants an extra attempt; the learner
    retakes and passes; HR revokes the certificate, and the grid, the person page and the
    export all say revoked."""
    from journeys import answer_every_question, read_every_module
    from playwright.sync_api import expect

    server = quick_server
    refresher = "ai-data-refresher"
    helen = server.add_user(roles=(Role.HR,), name="Helen Helper")
    stuck = server.add_user(name="Sam Stuckley")
    with server.app.extensions["candor.sessionmaker"]() as db:
        person = db.scalar(select(User).where(User.email == stuck.email))
        person.employee_id = "STUCK-77"
        hr_user = db.scalar(select(User).where(User.email == helen.email))
        course = db.scalar(select(Course).where(Course.slug == refresher))
        assign(db, hr_user, course, "people", user_ids=[person.id], due_days=20, now=utcnow())
        db.commit()

    learner = open_page(server)
    sign_in(learner, stuck)
    read_every_module(learner, server, refresher, assert_accessible)
    quiz = server.courses[refresher].quiz
    learner.get_by_role("button", name="Take the assessment").click()
    for attempt in (1, 2, 3):
        assert_accessible(learner)
        answer_every_question(learner, quiz, right=False, checked=assert_accessible)
        learner.get_by_role("button", name="Submit my answers").click()
        expect(learner.get_by_role("heading", level=1)).to_contain_text(f"Attempt {attempt}")
        assert_accessible(learner)
        if attempt < 3:
            learner.get_by_role("button", name="Take the assessment again").click()
    expect(learner.get_by_text("You have no attempts left.")).to_be_visible()

    hr = open_page(server)
    sign_in(hr, helen)
    hr.goto("/hr/grid")
    assert_accessible(hr)
    hr.get_by_label("Name, e-mail or employee id").fill("STUCK-77")
    hr.get_by_role("button", name="Filter").click()
    expect(hr.locator("table.grid tbody tr")).to_have_count(1)
    assert_accessible(hr)
    hr.get_by_role("link", name="Sam Stuckley").click()
    expect(hr.get_by_role("heading", level=1, name="Sam Stuckley")).to_be_visible()
    assert_accessible(hr)
    title = server.courses[refresher].meta.title
    hr.locator("details summary").filter(has_text=title).click()
    hr.get_by_label("Why (kept in the audit trail)").first.fill("Fire alarm during attempt 3")
    hr.get_by_role("button", name="Grant one more attempt at", exact=False).click()
    expect(hr.get_by_role("status")).to_contain_text("can take the assessment once more")
    assert_accessible(hr)

    learner.goto(f"/courses/{refresher}")
    assert_accessible(learner)
    learner.get_by_role("button", name="Take the assessment").click()
    assert_accessible(learner)
    answer_every_question(learner, quiz, right=True, checked=assert_accessible)
    learner.get_by_role("button", name="Submit my answers").click()
    expect(learner.get_by_text("You have completed this course.")).to_be_visible()
    assert_accessible(learner)

    hr.reload()
    assert_accessible(hr)
    hr.get_by_text("Revoke this certificate").click()
    hr.get_by_label("Reason", exact=False).select_option(label="The training was not valid")
    hr.get_by_role("button", name="Revoke").click()
    expect(hr.get_by_role("status")).to_contain_text("is revoked")
    expect(hr.locator(".pill-revoked")).to_contain_text("Revoked")
    assert_accessible(hr)

    hr.goto("/hr/grid?search=STUCK-77")
    expect(hr.locator("table.grid tbody td.cell .dot-revoked")).to_have_count(1)
    assert_accessible(hr)
    with hr.expect_download() as download:
        hr.get_by_role("button", name="CSV", exact=True).click()
    saved = tmp_path / "revoked.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [(r["name"], r["status"], r["certificate_status"]) for r in rows] == [
        ("Sam Stuckley", "revoked", "revoked")
    ]


def test_a_manager_signs_in_and_sees_only_their_team(
    quick_server, open_page, sign_in, assert_accessible
):
    from playwright.sync_api import expect

    server = quick_server
    boss = server.add_user(name="Bea Boss")
    report = server.add_user(name="Rory Report")
    outsider = server.add_user(name="Olga Outsider")
    with server.app.extensions["candor.sessionmaker"]() as db:
        by_email = {
            u.email: u
            for u in db.scalars(
                select(User).where(User.email.in_([boss.email, report.email, outsider.email]))
            )
        }
        by_email[report.email].manager_id = by_email[boss.email].id
        course = db.scalar(select(Course).order_by(Course.id))
        ids = [by_email[report.email].id, by_email[outsider.email].id]
        assign(db, by_email[boss.email], course, "people", user_ids=ids, due_days=9, now=utcnow())
        db.commit()

    page = open_page(server)
    sign_in(page, boss)
    page.get_by_role("link", name="Your team's training (1 person)").click()
    expect(page.get_by_role("heading", level=1, name="Your team")).to_be_visible()
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Rory Report")
    expect(page.get_by_text("Olga Outsider")).to_have_count(0)
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        assert_accessible(page)
