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
