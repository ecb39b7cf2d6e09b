"""A manager's team: the people who name them as manager, and nobody else's."""

from __future__ import annotations

import html
import re

import pytest
from helpers import login
from sqlalchemy import select

from app.db import utcnow
from app.models import Course, Role, User
from app.training.assignments import assign

ROW_NAME = re.compile(r'<th scope="row" class="who">\s*([^<]*?)\s*(?:<span|</th>)')


@pytest.fixture
def teams(db, make_user, synced):
    hr = make_user(roles={Role.HR}, name="Hana HR")
    mona = make_user(name="Mona Manager")
    omar = make_user(name="Omar Other")
    loner = make_user(name="Lone Learner")
    people = {}
    for name, manager in (
        ("Ada Mona-team", mona),
        ("Ben Mona-team", mona),
        ("Cy Omar-team", omar),
    ):
        user = User(name=name, email=f"{name.split()[0].lower()}@example.test", manager=manager)
        user.roles = {Role.LEARNER}
        db.add(user)
        people[name] = user
    db.flush()
    course = db.scalar(select(Course).order_by(Course.id))
    assign(db, hr, course, "everyone", due_days=5, now=utcnow())
    db.commit()
    return {"mona": mona, "omar": omar, "loner": loner, "people": people}


def names(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return [html.unescape(n) for n in ROW_NAME.findall(response.get_data(as_text=True))]


def test_a_manager_sees_their_own_team_only(client, teams):
    login(client, teams["mona"])
    dashboard = html.unescape(client.get("/dashboard").get_data(as_text=True))
    assert "Your team's training (2 people)" in dashboard
    response = client.get("/team")
    assert names(response) == ["Ada Mona-team", "Ben Mona-team"]
    page = response.get_data(as_text=True)
    assert "Cy Omar-team" not in page
    assert "/hr/people/" not in page and "/hr/exports/" not in page  # no HR pages, no exports
    assert "0 of 2 assignments" in page  # the tiles count the team only
    assert names(client.get("/team", query_string={"search": "ben"})) == ["Ben Mona-team"]
    assert names(client.get("/team", query_string={"manager_id": teams["mona"].id})) == [
        "Ada Mona-team",
        "Ben Mona-team",
    ]


def test_a_manager_trying_another_team_gets_a_404(client, teams):
    login(client, teams["mona"])
    assert client.get("/team", query_string={"manager_id": teams["omar"].id}).status_code == 404
    assert client.get("/team", query_string={"department": "Sales"}).status_code == 404
    # Searching for someone else's report finds nobody.
    assert names(client.get("/team", query_string={"search": "Cy Omar"})) == []
    # HR pages stay closed to a manager who is only a learner.
    assert client.get("/hr/grid").status_code == 403
    assert client.get(f"/hr/people/{teams['people']['Ada Mona-team'].id}").status_code == 403


def test_someone_nobody_reports_to_has_no_team(client, teams):
    login(client, teams["loner"])
    assert client.get("/team").status_code == 404
    assert "Your team" not in client.get("/dashboard").get_data(as_text=True)
