"""HR's help for a stuck person, over HTTP: one more attempt, a later due date, revocation;
each form's bad input is a 400 naming the field, and nothing is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import login, post
from sqlalchemy import select

from app.db import utcnow
from app.models import AuditEvent, Course, Enrollment, Role
from app.training.assignments import assign


@pytest.fixture
def setting(db, make_user, synced):
    hr = make_user(roles={Role.HR}, name="Hana HR")
    learner = make_user(name="Lena Learner", employee_id="L-1")
    course = db.scalar(select(Course).order_by(Course.id))
    assign(db, hr, course, "people", user_ids=[learner.id], due_days=5, now=utcnow())
    db.commit()
    return {"hr": hr, "learner": learner, "course": course}


def enrollment(db, setting) -> Enrollment:
    db.rollback()
    return db.scalar(select(Enrollment).where(Enrollment.user_id == setting["learner"].id))


def test_extra_attempt_and_later_due_date_from_the_person_page(client, db, setting):
    login(client, setting["hr"])
    person = f"/hr/people/{setting['learner'].id}"
    base = f"{person}/courses/{setting['course'].id}"
    page = client.get(person).get_data(as_text=True)
    assert "Grant one more attempt at" in page and "Move the due date of" in page

    refused = post(client, f"{base}/extra-attempt", {"reason": ""})
    assert refused.status_code == 400
    assert "Why (kept in the audit trail): This field is required." in refused.get_data(
        as_text=True
    )
    assert enrollment(db, setting).extra_attempts == 0

    granted = post(client, f"{base}/extra-attempt", {"reason": "Exam clashed with a shift"})
    assert granted.status_code == 303 and granted.location == person
    assert enrollment(db, setting).extra_attempts == 1
    assert "(1 extra attempt granted)" in client.get(person).get_data(as_text=True)

    later = (utcnow() + timedelta(days=60)).date()
    bad = post(client, f"{base}/due-date", {"due_on": "31/12/2026", "reason": "leave"})
    assert bad.status_code == 400 and "New due date" in bad.get_data(as_text=True)
    moved = post(client, f"{base}/due-date", {"due_on": later.isoformat(), "reason": "On leave"})
    assert moved.status_code == 303
    assert enrollment(db, setting).due_at.date() == later
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"enrollment.extra_attempt_granted", "enrollment.due_date_extended"} <= actions


def test_help_for_a_course_the_person_is_not_on_is_a_404(client, db, setting, make_user):
    login(client, setting["hr"])
    stranger = make_user(name="Not Enrolled")
    response = post(
        client,
        f"/hr/people/{stranger.id}/courses/{setting['course'].id}/extra-attempt",
        {"reason": "x"},
    )
    assert response.status_code == 404


def test_who_never_signed_in_gets_a_new_invitation_link(client, db, setting):
    from app.models import Invitation, OutboxMessage, User

    waiting = User(email="new.starter@example.test", name="New Starter", employee_id="N-1")
    db.add(waiting)
    db.commit()
    login(client, setting["hr"])
    page = client.get("/hr/not-activated").get_data(as_text=True)
    assert "New Starter" in page and "N-1 · new.starter@example.test" in page
    assert "Lena Learner" not in page  # she has a password: she can act on a reminder
    response = post(client, f"/hr/people/{waiting.id}/invitation")
    assert response.status_code == 303 and response.location == "/hr/not-activated"
    page = client.get(response.location).get_data(as_text=True)
    assert "A new invitation is on its way to new.starter@example.test" in page
    assert "/invite/" not in page
    db.rollback()
    assert db.scalar(select(Invitation).where(Invitation.user_id == waiting.id)) is not None
    assert [m.kind for m in db.scalars(select(OutboxMessage))] == ["invitation"]
    # Someone with a password cannot be sent an invitation (it would take the account over).
    refused = post(client, f"/hr/people/{setting['learner'].id}/invitation")
    assert refused.status_code == 409
