"""An assignment's page: its rule, changing the due rule (with clear errors), its history;
HR only (a manager and a learner are refused)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import csrf_token, login
from sqlalchemy import select

from app.db import utcnow
from app.models import Enrollment, Role
from app.training.assignments import assign, end_of_day

FLAGSHIP = "ai-in-the-contact-center"


@pytest.fixture
def hr(client, make_user):
    user = make_user(roles={Role.HR}, name="Hugo HR")
    assert login(client, user).status_code == 303
    return user


@pytest.fixture
def rule(db, hr, make_user, courses):
    ann = make_user(name="Ann Agent")
    result = assign(db, hr, courses[FLAGSHIP], "people", user_ids=[ann.id], due_days=30)
    db.commit()
    return result.assignment, ann


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def post(client, assignment_id, **fields):
    return client.post(
        f"/hr/assignments/{assignment_id}/due", data={"csrf_token": csrf_token(client), **fields}
    )


def test_the_list_links_each_assignment_to_its_page(client, rule):
    assignment, _ = rule
    page = client.get("/hr/assignments").get_data(as_text=True)
    assert f'href="/hr/assignments/{assignment.id}#change"' in page


def test_hr_changes_the_due_date_and_the_history_shows_it(client, db, rule):
    assignment, ann = rule
    page = text(client.get(f"/hr/assignments/{assignment.id}"))
    assert "30 days after each person is assigned" in page and "Hugo HR: made it" in page
    new_date = (utcnow() + timedelta(days=10)).date()
    response = post(client, assignment.id, due_kind="date", due_on=new_date.isoformat())
    assert response.status_code == 303
    assert response.location == f"/hr/assignments/{assignment.id}"
    db.expire_all()
    due = db.scalar(select(Enrollment.due_at).where(Enrollment.user_id == ann.id))
    assert due == end_of_day(new_date)
    page = text(client.get(response.location))
    assert "1 people have the new due date; 0 keep a date set for them." in page
    assert f"changed the due rule from 30 days to {new_date.isoformat()}" in page


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"due_kind": "date", "due_on": "2001-01-01"}, "in the past"),
        ({"due_kind": "date", "due_on": "31/12/2027"}, "YYYY-MM-DD"),
        ({"due_kind": "days", "due_days": "0"}, "whole number from 1 to 365"),
        ({"due_kind": "days", "due_days": "²"}, "whole number from 1 to 365"),
        ({"due_kind": "days", "due_days": "30"}, "already has"),
        ({}, "Choose a due date or a number of days"),
    ],
)
def test_a_bad_rule_is_refused_saying_why(client, db, rule, fields, problem):
    assignment, ann = rule
    response = post(client, assignment.id, **fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The due rule was not changed" in page and problem in page


def test_a_cancelled_assignment_cannot_change(client, db, rule):
    assignment, _ = rule
    client.post(f"/hr/assignments/{assignment.id}/cancel", data={"csrf_token": csrf_token(client)})
    page = text(client.get(f"/hr/assignments/{assignment.id}"))
    assert "Change the due rule" not in page and "cancelled it" in page
    response = post(client, assignment.id, due_kind="days", due_days="10")
    assert response.status_code == 409


@pytest.mark.parametrize("who", ["manager", "learner"])
def test_managers_and_learners_are_refused(app, db, make_user, rule, who):
    assignment, ann = rule
    client = app.test_client()
    user = make_user(roles={Role.LEARNER})
    if who == "manager":
        ann.manager_id = user.id
        db.commit()
    assert login(client, user).status_code == 303
    assert client.get(f"/hr/assignments/{assignment.id}").status_code == 403
    assert post(client, assignment.id, due_kind="days", due_days="5").status_code == 403
    db.expire_all()
    assert db.get(type(assignment), assignment.id).due_days == 30


def test_a_missing_assignment_is_a_404(client, hr):
    assert client.get("/hr/assignments/9999").status_code == 404
    assert post(client, 9999, due_kind="days", due_days="5").status_code == 404
