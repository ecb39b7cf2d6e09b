"""Searching people whatever the accents: "igor" finds "Ígor" in the grid, the list, the
assignment picker, the employee list and the admin's user list; kept on every write."""

from __future__ import annotations

import pytest
from helpers import csrf_token, login
from sqlalchemy import select

from app.models import Role, User
from app.training.assignments import assign

FLAGSHIP = "ai-in-the-contact-center"


@pytest.fixture
def people(db, make_user, courses):
    hr = make_user(roles={Role.HR})
    igor = make_user(name="Ígor Ørsted", email="io@example.test", employee_id="É-42")
    zoe = make_user(name="Zoë Åberg", email="za@example.test")
    assign(db, hr, courses[FLAGSHIP], "people", user_ids=[igor.id, zoe.id], due_days=10)
    db.commit()
    return hr, igor, zoe


@pytest.mark.parametrize("path", ["/hr/grid?search=", "/hr/status?search=", "/hr/employees?q="])
@pytest.mark.parametrize(
    ("typed", "found"),
    [("igor ors", "Ígor Ørsted"), ("ABERG", "Zoë Åberg"), ("e-42", "Ígor Ørsted")],
)
def test_hr_finds_people_without_typing_accents(client, people, path, typed, found):
    hr, _, _ = people
    login(client, hr)
    page = client.get(path + typed).get_data(as_text=True)
    assert found in page
    other = "Zoë Åberg" if found == "Ígor Ørsted" else "Ígor Ørsted"
    assert other not in page


def test_the_picker_and_the_admin_list_fold_too(client, db, make_user, people):
    login(client, make_user(roles={Role.ADMIN}))
    page = client.get("/admin/users?q=zoe").get_data(as_text=True)
    assert "Zoë Åberg" in page and "Ígor Ørsted" not in page
    picked = client.post(
        "/hr/assignments/new",
        data={"csrf_token": csrf_token(client), "action": "find", "find": "igor"},
    ).get_data(as_text=True)
    assert "Ígor Ørsted" in picked and "Zoë Åberg" not in picked


def test_the_key_follows_an_edit(db, people):
    _, igor, _ = people
    igor.name = "Ígor Ñúñez"
    db.commit()
    assert db.scalar(select(User.search_key).where(User.id == igor.id)).startswith("igor nunez")


LONG = "x" * 101


@pytest.mark.parametrize(
    "path", ["/hr/grid?search=", "/hr/status?search=", "/hr/employees?q=", "/admin/users?q="]
)
def test_every_people_search_refuses_the_same_too_long_text_saying_why(
    client, make_user, people, path
):
    login(client, make_user(roles={Role.ADMIN}))
    response = client.get(path + LONG)
    assert response.status_code == 400
    assert "A search is at most 100 characters; this one has 101." in response.get_data(
        as_text=True
    )


def test_the_picker_says_why_beside_its_box_and_keeps_who_was_ticked(client, people):
    hr, igor, _ = people
    login(client, hr)
    response = client.post(
        "/hr/assignments/new",
        data={"csrf_token": csrf_token(client), "action": "find", "find": LONG, "people": igor.id},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="find-error" role="alert">A search is at most 100 characters' in page
    assert f'value="{igor.id}" checked' in page


def test_the_people_list_is_in_the_language_s_order(client, make_user, people):
    login(client, make_user(roles={Role.ADMIN}))
    make_user(name="Ana Zubiri", email="az@example.test")
    page = client.get("/admin/users?q=example.test").get_data(as_text=True)
    assert page.index("Ana Zubiri") < page.index("Ígor Ørsted") < page.index("Zoë Åberg")
