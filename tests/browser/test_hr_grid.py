"""HR's grid and list at a contact centre's width: ten courses, every key column visible at
1280 px with nothing to scroll sideways, axe-clean at phone and desktop size, and a person
found by employee id with the keyboard alone (a plain GET form: no JavaScript needed)."""

from __future__ import annotations

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
        for number in range(3, 11):
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
            db.add(
                User(
                    email=f"agent{number}@centre.test",
                    name=f"Agent Maximiliana Featherstonehaugh {number}",
                    employee_id=f"CC-{number:05d}",
                    department="Inbound customer care, second line",
                )
            )
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
    expect(rows.first.locator("td.cell")).to_have_count(10)
    assert_accessible(page)
