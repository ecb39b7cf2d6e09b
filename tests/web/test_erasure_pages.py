"""HR erases a person from their page: a confirmation page with a required reason, then the
person, their certificates' verification pages and the ledger as an auditor sees them."""

from __future__ import annotations

from flask.testing import FlaskClient
from helpers import csrf_token, list_courses, login, post, read_in_turn
from sqlalchemy import select

from app.audit.ledger import verify
from app.certificates.codes import grouped
from app.content.sync import sync_courses
from app.models import AuditEvent, Certificate, Role, User
from app.progress.reading import current_version, find_course

NAME, EMAIL = "Ana Silva", "ana.silva@example.test"


def _certified(db, make_user, tree) -> User:
    sync_courses(db, tree)
    list_courses(db)
    db.commit()
    ana = make_user(name=NAME, email=EMAIL, employee_id="E-4711")
    read_in_turn(db, ana, current_version(db, ana, find_course(db, "ai-data-refresher")).modules)
    db.commit()
    return ana


def test_hr_erases_a_person_with_a_reason(app, client, db, make_user, refresher_without_quiz):
    ana = _certified(db, make_user, refresher_without_quiz)
    code = grouped(db.scalar(select(Certificate.code).where(Certificate.user_id == ana.id)))
    hr = make_user(roles={Role.HR}, name="Hana Reyes")  # commits: the test holds no snapshot
    learner: FlaskClient = app.test_client()
    login(learner, ana)
    assert learner.get("/dashboard").status_code == 200
    login(client, hr)

    page = client.get(f"/hr/people/{ana.id}").get_data(as_text=True)
    assert f'href="/hr/people/{ana.id}/erase"' in page
    confirm = client.get(f"/hr/people/{ana.id}/erase")
    assert confirm.status_code == 200 and "can no longer sign in" in confirm.get_data(as_text=True)

    refused = post(client, f"/hr/people/{ana.id}/erase", {"reason": ""})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "Give the reason." in body and "Tick the box to confirm." in body
    naming = post(client, f"/hr/people/{ana.id}/erase", {"reason": f"{NAME} left", "confirm": "y"})
    assert naming.status_code == 400 and "must not name the person" in naming.get_data(as_text=True)
    assert db.get(User, ana.id).erased_at is None
    db.rollback()

    done = post(client, f"/hr/people/{ana.id}/erase", {"reason": "Left; asked", "confirm": "y"})
    assert done.status_code == 303 and done.location == f"/hr/people/{ana.id}"
    db.expire_all()
    pseudonym = db.get(User, ana.id).name
    person = client.get(done.location).get_data(as_text=True)
    assert "Erased on" in person and pseudonym in person
    assert NAME not in person and EMAIL not in person and "E-4711" not in person
    assert f"/hr/people/{ana.id}/erase" not in person

    # Her session ended; she cannot sign in again.
    assert learner.get("/dashboard").status_code in (302, 303)
    assert "/dashboard" not in (login(learner, ana).location or "")

    public = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "The holder was erased" in public and "in force" in public
    assert NAME not in public and pseudonym not in public
    data = client.get(f"/verify/{code}.json").get_json()
    assert data["status"] == "valid" and data["holder_erased"] is True
    assert "holder_name" not in data["certificate"] and "signature" not in data

    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "person.erased"))
    assert event.details["reason"] == "Left; asked" and event.details["via"] == "form"
    assert verify(db).problems == []
    again = post(client, f"/hr/people/{ana.id}/erase", {"reason": "Again", "confirm": "y"})
    assert again.status_code == 409 and "already erased" in again.get_data(as_text=True)


def test_nobody_erases_themselves(client, db, make_user):
    hr = make_user(roles={Role.HR}, name="Hana Reyes")
    login(client, hr)
    page = client.get(f"/hr/people/{hr.id}/erase")
    assert page.status_code == 200 and "You cannot erase yourself" in page.get_data(as_text=True)
    refused = post(client, f"/hr/people/{hr.id}/erase", {"reason": "Testing", "confirm": "y"})
    assert refused.status_code == 409
    assert db.get(User, hr.id).erased_at is None


def test_learners_and_trainers_cannot_erase_and_the_form_needs_its_token(
    app, client, db, make_user
):
    ana = make_user(name=NAME, email=EMAIL)
    people = [make_user(roles=roles) for roles in ({Role.LEARNER}, {Role.TRAINER}, {Role.HR})]
    for someone in people[:2]:
        other = app.test_client()
        login(other, someone)
        assert other.get(f"/hr/people/{ana.id}/erase").status_code == 403
        form = {"reason": "Left", "confirm": "y", "csrf_token": csrf_token(other)}
        assert other.post(f"/hr/people/{ana.id}/erase", data=form).status_code == 403
    login(client, people[2])
    tokenless = client.post(f"/hr/people/{ana.id}/erase", data={"reason": "Left", "confirm": "y"})
    assert tokenless.status_code == 400
    assert db.get(User, ana.id).erased_at is None


def test_an_erased_account_cannot_be_reactivated_or_edited(client, db, make_user):
    from app.privacy.erasure import erase_person

    admin = make_user(roles={Role.ADMIN}, name="Ada Admin")
    ana = make_user(name=NAME, email=EMAIL)
    ana.active = False
    db.commit()
    erase_person(db, admin, ana.id, "Asked to be forgotten.")
    db.commit()
    login(client, admin)
    users = client.get("/admin/users", query_string={"q": "Erased"}).get_data(as_text=True)
    assert "Erased " in users and f"/admin/users/{ana.id}/reactivate" not in users
    refused = post(client, f"/admin/users/{ana.id}/reactivate")
    assert refused.status_code == 409 and "was erased" in refused.get_data(as_text=True)
    edit = post(client, f"/hr/employees/{ana.id}/edit", {"name": NAME, "email": EMAIL})
    assert edit.status_code == 409
    db.expire_all()
    assert (
        db.get(User, ana.id).name.startswith("Erased person ") and not db.get(User, ana.id).active
    )
