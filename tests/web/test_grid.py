"""The people x courses grid: one row per person, one column per course, found by name,
e-mail or employee id, names in the language's order; and the same search on the list."""

from __future__ import annotations

import html
import re

import pytest
from helpers import login
from sqlalchemy import select

from app.db import utcnow
from app.models import Course, Role, User
from app.training.assignments import assign
from app.training.grid import status_grid
from app.training.matrix import status_rows

ROW_NAME = re.compile(r'<th scope="row" class="who">\s*<a href="/hr/people/\d+">([^<]*)</a>')
CELL = re.compile(r'<td class="cell"><span class="dot dot-(\w+)"')


@pytest.fixture
def people(db, make_user, synced):
    hr = make_user(roles={Role.HR}, name="Hana HR", department="People")
    names = ["Zoë Adams", "Ígor Brandt", "igor Abel", "Émile Zola", "Ann Lee", "Ann Lee"]
    made = []
    for number, name in enumerate(names, start=1):
        user = User(
            name=name,
            email=f"person{number}@example.test",
            employee_id=f"E-{number:04d}",
            department="Support",
        )
        user.roles = {Role.LEARNER}
        db.add(user)
        made.append(user)
    db.flush()
    courses = list(db.scalars(select(Course).order_by(Course.id)))
    assign(db, hr, courses[0], "everyone", due_days=10, now=utcnow())
    assign(db, hr, courses[1], "people", user_ids=[made[0].id], due_days=10, now=utcnow())
    db.commit()
    return {"hr": hr, "people": made, "courses": courses}


def grid_names(client, **args) -> list[str]:
    response = client.get("/hr/grid", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return [html.unescape(n) for n in ROW_NAME.findall(response.get_data(as_text=True))]


def test_one_row_per_person_one_column_per_course(client, people):
    login(client, people["hr"])
    response = client.get("/hr/grid", query_string={"search": "E-0001"})
    page = response.get_data(as_text=True)
    assert grid_names(client, search="E-0001") == ["Zoë Adams"]
    # Zoë holds two courses: two status cells in her row, one column per published course.
    columns = len(re.findall(r'<th scope="col" class="cell">', page))
    assert columns == len(people["courses"])
    assert CELL.findall(page) == ["due_soon", "due_soon"]  # due in 10 days
    assert "person1@example.test" in page and "E-0001" in page


def test_names_sort_the_way_the_language_sorts_them(client, people):
    login(client, people["hr"])
    names = grid_names(client, department="Support")
    assert names == ["Ann Lee", "Ann Lee", "Émile Zola", "igor Abel", "Ígor Brandt", "Zoë Adams"]
    assert grid_names(client, department="Support", sort="-name")[0] == "Zoë Adams"


def test_two_people_with_one_name_are_told_apart(client, people):
    login(client, people["hr"])
    page = client.get("/hr/grid", query_string={"search": "ann lee"}).get_data(as_text=True)
    assert "E-0005 · person5@example.test" in page and "E-0006 · person6@example.test" in page
    listed = client.get("/hr/status", query_string={"search": "ann lee"}).get_data(as_text=True)
    assert "E-0005 · person5@example.test" in listed and "E-0006 · person6@example.test" in listed


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("e-0004", ["Émile Zola"]),
        ("PERSON2@", ["Ígor Brandt"]),
        ("igor", ["igor Abel", "Ígor Brandt"]),  # contains, whatever the case and accents
        ("ADAMS", ["Zoë Adams"]),
        ("100%", []),  # % is searched for as itself
    ],
)
def test_search_by_name_email_or_employee_id(client, people, search, expected):
    login(client, people["hr"])
    assert grid_names(client, search=search) == expected


def test_grid_and_list_agree_and_page_by_people(db, people):
    grid = status_grid(db, limit=2, offset=0)
    assert grid.total == 6  # every learner (HR's account is not assigned "everyone")
    assert len(grid.people) == 2
    rows = status_rows(db, sort=None).rows
    cells = sum(len(p.cells) for p in status_grid(db, limit=100).people)
    assert cells == len(rows)


def test_a_bad_grid_sort_or_page_is_a_400(client, people):
    login(client, people["hr"])
    assert client.get("/hr/grid?sort=due").status_code == 400
    assert client.get("/hr/grid?page=x").status_code == 400
    assert client.get("/hr/grid?search=" + "x" * 101).status_code == 400


def test_learners_cannot_see_the_grid(client, make_user, synced):
    login(client, make_user())
    assert client.get("/hr/grid").status_code in (403, 404)
