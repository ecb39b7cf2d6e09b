"""Assigning at a contact centre's size: a people picker that searches (a plain form, no
JavaScript), "everyone" meaning the learners, cancelling with the history kept, and an
assignment list whose queries do not grow with its rows."""

from __future__ import annotations

import html

import pytest
from helpers import login, post, statements_run
from sqlalchemy import select

from app.models import Assignment, AuditEvent, Course, Enrollment, Role, User


@pytest.fixture
def office(db, make_user, synced):
    hr = make_user(roles={Role.HR}, name="Hana HR")
    admin = make_user(roles={Role.ADMIN}, name="Adam Admin")
    learners = [
        make_user(name=f"Learner {n}", email=f"l{n}@example.test", employee_id=f"EMP-{n:03d}")
        for n in range(1, 6)
    ]
    course = db.scalar(select(Course).order_by(Course.id))
    db.commit()
    return {"hr": hr, "admin": admin, "learners": learners, "course": course}


def form(office, **fields):
    return {
        "course": str(office["course"].id),
        "audience": "people",
        "due_kind": "days",
        "due_days": "30",
        **fields,
    }


def test_the_picker_finds_people_and_keeps_those_ticked(client, db, office):
    login(client, office["hr"])
    page = client.get("/hr/assignments/new").get_data(as_text=True)
    assert "Find people by name, e-mail or employee id" in page
    assert page.count('name="people"') == 0  # nobody listed until HR searches

    found = post(client, "/hr/assignments/new", form(office, action="find", find="emp-003"))
    assert found.status_code == 200
    text = html.unescape(found.get_data(as_text=True))
    third = office["learners"][2]
    assert f'value="{third.id}"' in text and "EMP-003 · l3@example.test" in text
    assert "Learner 1" not in text
    assert db.scalar(select(Assignment)) is None  # a search assigns nothing

    # Ticked people stay ticked across another search.
    again = post(
        client, "/hr/assignments/new", form(office, action="find", find="l5@", people=[third.id])
    )
    text = again.get_data(as_text=True)
    assert f'id="person-{third.id}" name="people" value="{third.id}" checked' in text
    fifth = office["learners"][4]
    assert f'value="{fifth.id}"' in text

    done = post(
        client, "/hr/assignments/new", form(office, action="assign", people=[third.id, fifth.id])
    )
    assert done.status_code == 303
    db.rollback()
    assert sorted(db.scalars(select(Enrollment.user_id))) == sorted([third.id, fifth.id])


def test_everyone_means_the_people_who_hold_the_learner_role(client, db, office):
    login(client, office["hr"])
    response = post(client, "/hr/assignments/new", form(office, audience="everyone"))
    assert response.status_code == 303
    db.rollback()
    assigned = set(db.scalars(select(Enrollment.user_id)))
    assert assigned == {p.id for p in office["learners"]}
    assert office["hr"].id not in assigned and office["admin"].id not in assigned


def test_cancelling_keeps_the_history_and_stops_newcomers(client, db, office, make_user):
    login(client, office["hr"])
    post(client, "/hr/assignments/new", form(office, audience="everyone"))
    db.rollback()
    assignment = db.scalar(select(Assignment))
    response = post(client, f"/hr/assignments/{assignment.id}/cancel")
    assert response.status_code == 303
    listing = html.unescape(client.get("/hr/assignments").get_data(as_text=True))
    assert "Everyone (learners)" in listing and "Cancelled" in listing and "by Hana HR" in listing
    assert post(client, f"/hr/assignments/{assignment.id}/cancel").status_code == 409
    assert post(client, "/hr/assignments/999999/cancel").status_code == 404
    db.rollback()
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "assignment.cancelled"))
    # Those who had it keep it.
    assert len(list(db.scalars(select(Enrollment)))) == len(office["learners"])


def test_the_assignment_list_costs_the_same_queries_for_one_rule_or_many(client, app, office):
    login(client, office["hr"])

    def queries() -> int:
        with statements_run(app) as seen:
            assert client.get("/hr/assignments").status_code == 200
        return len(seen)

    post(client, "/hr/assignments/new", form(office, people=[office["learners"][0].id]))
    one = queries()
    for learner in office["learners"][1:]:
        post(client, "/hr/assignments/new", form(office, people=[learner.id], due_days="40"))
    assert queries() == one


def test_picking_an_unknown_or_deactivated_person_is_refused(client, db, office):
    login(client, office["hr"])
    gone = office["learners"][0]
    gone_user = db.get(User, gone.id)
    gone_user.active = False
    db.commit()
    response = post(client, "/hr/assignments/new", form(office, people=[gone.id, 999999]))
    assert response.status_code == 400
    assert "2 of the chosen people do not exist or are not active" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize("typed", ["0", "366", "+5", "5_0", "\uff15", "30 days", "-1"])
def test_a_number_of_days_that_is_not_plain_digits_in_range_is_refused_saying_so(
    client, db, office, typed
):
    login(client, office["hr"])
    learner = office["learners"][0]
    response = post(
        client, "/hr/assignments/new", form(office, people=[learner.id], due_days=typed)
    )
    assert response.status_code == 400
    assert "The number of days must be a whole number from 1 to 365" in html.unescape(
        response.get_data(as_text=True)
    )
    assert db.scalar(select(Assignment)) is None


def test_a_number_of_days_may_come_with_spaces(client, db, office):
    login(client, office["hr"])
    learner = office["learners"][0]
    response = post(
        client, "/hr/assignments/new", form(office, people=[learner.id], due_days=" 45 ")
    )
    assert response.status_code == 303
    assert db.scalar(select(Assignment.due_days)) == 45
